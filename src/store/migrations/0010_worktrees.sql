-- Which repository each recorded worktree root belongs to (its shared git
-- dir), written at ingest: a worktree removed since (`git worktree remove`)
-- keeps its open spans listed and closable from any other worktree.
CREATE TABLE worktrees (
    root   TEXT PRIMARY KEY,
    common TEXT NOT NULL
) WITHOUT ROWID;
