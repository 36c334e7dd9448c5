-- An edit of a file git did not track when it was written: if a command
-- of its branch ran then, the file is that run's output (a coverage
-- report, __pycache__/), not the person's edit. `mt close` leaves those
-- out; the flag is NULL for every other row.
ALTER TABLE events ADD COLUMN untracked INTEGER;

-- The one timeline tells a gap between two repositories from one inside a
-- repository (docs/metrics.md, "One timeline"): the index it is read from
-- holds the repository too, and the checkpoints keep whose signal the
-- sweep stopped at. Checkpoints summed by the earlier rule are dropped
-- (they are a cache: the next `mt status` sums from scratch).
DROP INDEX events_by_time;
CREATE INDEX events_by_time ON events (start_us, end_us, repo);
ALTER TABLE status_checkpoints ADD COLUMN covered_by INTEGER;
DELETE FROM status_checkpoints;
