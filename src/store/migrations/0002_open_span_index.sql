-- `mt status` reads a branch's whole open span: a covering index over the
-- open commands only (closed spans leave it), so the read never touches the
-- table.
CREATE INDEX events_open_span ON events (repo, branch, start_us, end_us, source, exit_code, signal, state, kind, milestone)
    WHERE milestone IS NULL AND kind = 'command';
