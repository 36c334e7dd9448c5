//! The store: one SQLite file (WAL, `synchronous=NORMAL`), schema versioned
//! by `PRAGMA user_version` with forward migrations in `migrations/`.
//!
//! One writer at a time — the daemon, or a reader that holds the ingest lock
//! because no daemon runs. Readers open their own connections; WAL lets them
//! read while the writer commits.

mod checkpoint;
mod filing;
mod forget;
mod query;
pub(crate) mod write;

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rusqlite::Connection;

pub use checkpoint::{Checkpoint, Counts, TailRow};
pub use filing::{DISCARDED, Filing};
pub use query::{BranchFilter, OpenSpan, SpanRow, Status};
pub use write::{Finish, NewEvent};

/// Forward migrations; entry N takes `user_version` from N to N+1.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_open_span_index.sql"),
    include_str!("migrations/0003_open_points_index.sql"),
    include_str!("migrations/0004_events_by_time.sql"),
    include_str!("migrations/0005_status_checkpoints.sql"),
    include_str!("migrations/0006_checkpoint_without_from.sql"),
    include_str!("migrations/0007_filings.sql"),
    include_str!("migrations/0008_checkpoint_ladder.sql"),
    include_str!("migrations/0009_filed_tip.sql"),
    include_str!("migrations/0010_worktrees.sql"),
    include_str!("migrations/0011_commit_paths.sql"),
    include_str!("migrations/0012_edits_and_one_timeline.sql"),
    include_str!("migrations/0013_agents.sql"),
];

/// The schema version this mt writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
}

impl Store {
    /// Open (creating if needed, mode 0600 in a 0700 dir) and migrate.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
        }
        // Create the file ourselves so that it is 0600 from the first byte;
        // SQLite gives the -wal and -shm files the same mode.
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("could not open the database {}", path.display()))?;
        let conn = Connection::open(path)
            .with_context(|| format!("could not open the database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The status_checkpoints triggers make an UPDATE keep a statement
        // journal; in memory it costs ~1 µs a row, in a temp file ~8 µs.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Freed space is zeroed on every write, ingest's included: a page
        // that splits leaves no copy of a cell behind for `mt forget` to
        // miss.
        conn.pragma_update(None, "secure_delete", true)?;
        let mut store = Store { conn };
        store
            .migrate()
            .with_context(|| format!("could not migrate the database {}", path.display()))?;
        Ok(store)
    }

    /// The schema version of the open file.
    pub fn version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<()> {
        let current = self.version()?;
        if current > SCHEMA_VERSION {
            bail!(
                "the database has schema version {current}, newer than this mt knows ({SCHEMA_VERSION}); upgrade mt"
            );
        }
        if current == SCHEMA_VERSION {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Re-check inside the write transaction: another process may have migrated.
        let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (n, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", n as i64 + 1)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// SQLite's plan for `sql` on a fresh store, a line per step: what the
/// plan tests of `query` and `checkpoint` assert on.
#[cfg(test)]
fn plan(sql: &str, params: impl rusqlite::Params) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let mut stmt = store
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap();
    let rows = stmt.query_map(params, |r| r.get::<_, String>(3));
    rows.unwrap().map(Result::unwrap).collect()
}
