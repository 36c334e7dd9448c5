-- Edits and markers of open spans: points on the timeline that `mt status`
-- reads beside the commands (`events_open_span` covers commands only).
CREATE INDEX events_open_points ON events (repo, branch, start_us)
    WHERE milestone IS NULL AND kind != 'command';
