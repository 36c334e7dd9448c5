-- The paths each open branch's own commits changed, kept between git hook
-- runs: a commit never changes, and its tree diff is the costly part of
-- telling which branches a pull could have finished.
CREATE TABLE commit_paths (
    commit_id TEXT PRIMARY KEY,
    paths     TEXT NOT NULL
) WITHOUT ROWID;
