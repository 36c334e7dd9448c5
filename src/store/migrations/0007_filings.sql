-- Closing a span used to write its milestone into every event of it: on a
-- 100,000-run span that rewrote every row and its index entries (tens of
-- MB through the WAL) and fired the update trigger per row, 260 ms and
-- more. A filing is now one row: the branch's events up to `upto_id` are
-- in the milestone, except the runs still going when it was closed
-- (`kept`, a JSON array of ids), which stay for the next span. Event ids
-- only grow and an event never changes branch, so a branch's open span is
-- its events after its latest filing's `upto_id` plus that filing's
-- `kept`; an event's milestone is that of the first filing that takes it.
-- `events.milestone` stays for what was filed before this migration.
CREATE TABLE filings (
    id        INTEGER PRIMARY KEY,
    repo      TEXT    NOT NULL,
    branch    TEXT    NOT NULL,
    milestone TEXT    NOT NULL,
    upto_id   INTEGER NOT NULL,
    kept      TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX filings_by_branch ON filings (repo, branch, upto_id);

-- What was filed before: one filing per branch up to its newest filed
-- event, keeping every older event that was not filed. Its milestone is
-- never shown (those events carry their own), but it is the real one.
INSERT INTO filings (repo, branch, milestone, upto_id)
SELECT repo, branch, milestone, MAX(id) FROM events
WHERE milestone IS NOT NULL AND repo IS NOT NULL AND branch IS NOT NULL
GROUP BY repo, branch;
UPDATE filings SET kept = (
    SELECT json_group_array(e.id) FROM events e
    WHERE e.repo = filings.repo AND e.branch = filings.branch
      AND e.id <= filings.upto_id AND e.milestone IS NULL);

-- The open span is now a range of ids per branch: one covering index reads
-- it (commands, edits and markers) without touching the table.
DROP INDEX events_open_span;
DROP INDEX events_open_points;
CREATE INDEX events_by_branch_id ON events
    (repo, branch, id, kind, start_us, end_us, source, exit_code, signal, state);

-- Filing writes no event now, and an update of the events left no other
-- reason to watch `milestone`: the trigger watches every other column
-- (firing it for nothing cost 2 µs an update), and `Store::close_span`
-- deletes the branch's checkpoint itself in the same transaction. Filing
-- changes no other branch's sum: the timeline reads every event, filed
-- or not.
DROP TRIGGER status_checkpoints_after_update;
CREATE TRIGGER status_checkpoints_after_update
AFTER UPDATE OF uid, source, kind, argv, command, cwd, repo, branch, head, session,
    phase, tool, start_us, end_us, exit_code, signal, core_dumped, pipestatus,
    user_us, sys_us, maxrss_kib, state, pid
ON events BEGIN
    DELETE FROM status_checkpoints
    WHERE upto_us > MIN(OLD.start_us, NEW.start_us)
       OR ((OLD.repo IS NOT NEW.repo OR OLD.branch IS NOT NEW.branch)
           AND ((repo = OLD.repo AND branch = OLD.branch)
                OR (repo = NEW.repo AND branch = NEW.branch)));
END;
