-- `mt status` keeps, per branch, what it summed for the events that started
-- before upto_us (counts and the resumable timeline tally), so the next call
-- reads only what is newer. The triggers delete a checkpoint in the same
-- transaction that inserts, changes or deletes an event starting before its
-- upto_us (which is always after the span's first signal), so a checkpoint
-- that exists always matches the events under it.
CREATE TABLE status_checkpoints (
    repo       TEXT    NOT NULL,
    branch     TEXT    NOT NULL,
    idle_us    INTEGER NOT NULL,
    upto_us    INTEGER NOT NULL,
    from_us    INTEGER NOT NULL,
    to_us      INTEGER,
    covered_us INTEGER,
    active_us  INTEGER NOT NULL,
    runs       INTEGER NOT NULL,
    automated  INTEGER NOT NULL,
    manual     INTEGER NOT NULL,
    failures   INTEGER NOT NULL,
    first_us   INTEGER,
    PRIMARY KEY (repo, branch)
);
CREATE INDEX status_checkpoints_by_upto ON status_checkpoints (upto_us);

CREATE TRIGGER status_checkpoints_after_insert AFTER INSERT ON events BEGIN
    DELETE FROM status_checkpoints WHERE upto_us > NEW.start_us;
END;
-- Filing an event under a milestone, moving it to another branch or
-- deleting it changes where that branch's span begins, whenever it started.
CREATE TRIGGER status_checkpoints_after_update AFTER UPDATE ON events BEGIN
    DELETE FROM status_checkpoints
    WHERE upto_us > MIN(OLD.start_us, NEW.start_us)
       OR ((OLD.milestone IS NOT NEW.milestone OR OLD.repo IS NOT NEW.repo
            OR OLD.branch IS NOT NEW.branch)
           AND ((repo = OLD.repo AND branch = OLD.branch)
                OR (repo = NEW.repo AND branch = NEW.branch)));
END;
CREATE TRIGGER status_checkpoints_after_delete AFTER DELETE ON events BEGIN
    DELETE FROM status_checkpoints
    WHERE upto_us > OLD.start_us OR (repo = OLD.repo AND branch = OLD.branch);
END;
