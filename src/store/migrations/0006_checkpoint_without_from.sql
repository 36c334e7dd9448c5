-- status_checkpoints.from_us (the timeline window's start) was written and
-- never read: a resumed sum needs only what comes after upto_us.
ALTER TABLE status_checkpoints DROP COLUMN from_us;
