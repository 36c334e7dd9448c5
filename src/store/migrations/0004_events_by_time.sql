-- The one timeline: `mt status` and `mt close` read everything recorded
-- around a span as (id, start, end), from this index alone (the rowid
-- comes with it), so the table is not touched per row.
DROP INDEX events_by_start;
CREATE INDEX events_by_time ON events (start_us, end_us);
