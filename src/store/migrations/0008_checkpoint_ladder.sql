-- A late record (a long command's, written when it ends) voided a branch's
-- one checkpoint, and the next `mt status` summed the whole span again
-- (83 ms at 100,000 runs). A branch now keeps a ladder of checkpoints at
-- growing distances behind its newest (`Store::save_checkpoint` prunes
-- it), so a late record voids only the ones after its start and the sum
-- resumes from the newest one left. Checkpoints are sums, not data: the
-- table is made anew.
DROP TABLE status_checkpoints;
CREATE TABLE status_checkpoints (
    repo       TEXT    NOT NULL,
    branch     TEXT    NOT NULL,
    idle_us    INTEGER NOT NULL,
    upto_us    INTEGER NOT NULL,
    to_us      INTEGER,
    covered_us INTEGER,
    active_us  INTEGER NOT NULL,
    runs       INTEGER NOT NULL,
    automated  INTEGER NOT NULL,
    manual     INTEGER NOT NULL,
    failures   INTEGER NOT NULL,
    first_us   INTEGER,
    PRIMARY KEY (repo, branch, upto_us)
);
CREATE INDEX status_checkpoints_by_upto ON status_checkpoints (upto_us);
