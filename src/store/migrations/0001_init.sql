-- Recorded commands and phase markers. One row per invocation: an `mt exec`
-- start inserts it as running, its end completes it; a hook record arrives
-- complete. `uid` makes re-reading a spool file harmless.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    uid         TEXT    NOT NULL UNIQUE,
    source      TEXT    NOT NULL,            -- exec | hook | ci
    kind        TEXT    NOT NULL,            -- command | marker
    argv        BLOB,                        -- NUL-separated, exact bytes after redaction
    command     TEXT    NOT NULL,            -- display text, redacted
    cwd         TEXT    NOT NULL,
    repo        TEXT,
    branch      TEXT,
    head        TEXT,
    session     TEXT,
    phase       TEXT,
    tool        TEXT,
    start_us    INTEGER NOT NULL,            -- UTC, microseconds since the epoch
    end_us      INTEGER,
    exit_code   INTEGER,
    signal      INTEGER,
    core_dumped INTEGER NOT NULL DEFAULT 0,
    pipestatus  TEXT,
    user_us     INTEGER,
    sys_us      INTEGER,
    maxrss_kib  INTEGER,
    state       TEXT    NOT NULL,            -- running | done | unfinished
    pid         INTEGER,                     -- the wrapper, while running
    milestone   TEXT
);
CREATE INDEX events_by_branch ON events (repo, branch, start_us);
CREATE INDEX events_by_start ON events (start_us);
CREATE INDEX events_running ON events (state) WHERE state = 'running';

-- How far each spool file has been read; committed with the events it yielded.
CREATE TABLE spool_offsets (
    file   TEXT    PRIMARY KEY,
    inode  INTEGER NOT NULL,
    offset INTEGER NOT NULL
);

-- Lines that could not be parsed: where, how long, why. Their bytes are not
-- kept, since a cut line may hold a secret the redactor cannot recognise.
CREATE TABLE set_aside (
    id     INTEGER PRIMARY KEY,
    at_us  INTEGER NOT NULL,
    file   TEXT    NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    reason TEXT    NOT NULL
);
