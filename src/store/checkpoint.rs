//! `mt status`'s checkpoints (migration 0005): per branch, what was summed
//! for the events that started before `upto_us`. Triggers delete a
//! checkpoint in the transaction that inserts, changes or deletes an event
//! starting before its `upto_us`, so one that exists is never stale; reads
//! then need only the events from `upto_us` on (the tail).

use std::sync::LazyLock;

use anyhow::Result;
use rusqlite::{ErrorCode, OptionalExtension, params};

use super::Store;
use super::filing::is_open_sql;

/// A span's run counts, as `mt status` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub runs: u64,
    pub automated: u64,
    pub manual: u64,
    pub failures: u64,
}

impl Counts {
    /// Count one finished (or unfinished) run.
    pub fn add(&mut self, manual: bool, failed: bool) {
        self.runs += 1;
        self.manual += u64::from(manual);
        self.automated += u64::from(!manual);
        self.failures += u64::from(failed);
    }

    pub fn minus(self, o: Counts) -> Counts {
        Counts {
            runs: self.runs - o.runs,
            automated: self.automated - o.automated,
            manual: self.manual - o.manual,
            failures: self.failures - o.failures,
        }
    }
}

/// What a branch's open span amounts to over the events that started
/// before `upto_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// The idle timeout it was summed with; another one means start over.
    pub idle_us: i64,
    pub upto_us: i64,
    /// The latest end of the span's signals so far.
    pub to_us: Option<i64>,
    /// The timeline sweep where it stopped: coverage and active time.
    pub covered_us: Option<i64>,
    pub active_us: i64,
    pub counts: Counts,
    pub first_us: Option<i64>,
}

/// One event of the span, as a resumed sum takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailRow {
    pub id: i64,
    pub start_us: i64,
    pub end_us: Option<i64>,
    /// A command (else an edit or marker).
    pub command: bool,
    pub running: bool,
    pub manual: bool,
    pub failed: bool,
}

/// The span's events from a time on: a range of `events_by_branch` (the
/// tail is about a minute of events), each tested for being open.
static SINCE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id, start_us, end_us, kind = 'command', state = 'running', source = 'hook',
            state = 'unfinished' OR signal IS NOT NULL OR COALESCE(exit_code, 0) != 0
         FROM events INDEXED BY events_by_branch
         WHERE repo = ?1 AND branch = ?2 AND start_us >= ?3 AND {}",
        is_open_sql()
    )
});

impl Store {
    /// Run `read` on one snapshot of the store and keep the checkpoint it
    /// returns, unless something was written since the snapshot was taken
    /// (SQLite then refuses the write, and the next call sums again).
    pub fn on_snapshot<'k, T>(
        &self,
        read: impl FnOnce(&Store) -> Result<(T, Option<(&'k str, &'k str, Checkpoint)>)>,
    ) -> Result<T> {
        self.conn.execute_batch("BEGIN DEFERRED")?;
        let result = read(self).and_then(|(value, keep)| {
            if let Some((repo, branch, cp)) = keep {
                self.save_checkpoint(repo, branch, &cp)?;
            }
            Ok(value)
        });
        match result {
            Ok(v) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                // Best effort: the error being returned is the one that matters.
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    pub fn checkpoint(&self, repo: &str, branch: &str) -> Result<Option<Checkpoint>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT idle_us, upto_us, to_us, covered_us, active_us,
                runs, automated, manual, failures, first_us
             FROM status_checkpoints WHERE repo = ?1 AND branch = ?2",
        )?;
        Ok(stmt
            .query_row([repo, branch], |r| {
                Ok(Checkpoint {
                    idle_us: r.get(0)?,
                    upto_us: r.get(1)?,
                    to_us: r.get(2)?,
                    covered_us: r.get(3)?,
                    active_us: r.get(4)?,
                    counts: Counts {
                        runs: r.get::<_, i64>(5)? as u64,
                        automated: r.get::<_, i64>(6)? as u64,
                        manual: r.get::<_, i64>(7)? as u64,
                        failures: r.get::<_, i64>(8)? as u64,
                    },
                    first_us: r.get(9)?,
                })
            })
            .optional()?)
    }

    /// The events of `branch`'s open span in `repo` that started at or
    /// after `from_us`. An edit or marker is a point: no end, no flags.
    pub fn span_since(&self, repo: &str, branch: &str, from_us: i64) -> Result<Vec<TailRow>> {
        let mut stmt = self.conn.prepare_cached(&SINCE_SQL)?;
        let rows = stmt.query_map(params![repo, branch, from_us], |r| {
            let start_us = r.get(1)?;
            let command: bool = r.get(3)?;
            Ok(TailRow {
                id: r.get(0)?,
                start_us,
                end_us: if command { r.get(2)? } else { Some(start_us) },
                command,
                running: command && r.get(4)?,
                manual: command && r.get(5)?,
                failed: command && r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Forget every checkpoint (the next status sums from scratch).
    pub fn drop_checkpoints(&self) -> Result<()> {
        self.conn.execute("DELETE FROM status_checkpoints", [])?;
        Ok(())
    }

    fn save_checkpoint(&self, repo: &str, branch: &str, cp: &Checkpoint) -> Result<()> {
        let saved = self
            .conn
            .prepare_cached(
                "INSERT OR REPLACE INTO status_checkpoints (repo, branch, idle_us, upto_us,
                    to_us, covered_us, active_us, runs, automated, manual, failures, first_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                repo,
                branch,
                cp.idle_us,
                cp.upto_us,
                cp.to_us,
                cp.covered_us,
                cp.active_us,
                cp.counts.runs as i64,
                cp.counts.automated as i64,
                cp.counts.manual as i64,
                cp.counts.failures as i64,
                cp.first_us,
            ]);
        match saved {
            Ok(_) => Ok(()),
            // A writer came first, or the store is read-only: the checkpoint
            // is only a shortcut, and the next call sums again.
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::ReadOnly
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(sql: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let mut stmt = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let rows = stmt.query_map(params!["r", "b", 1], |r| r.get::<_, String>(3));
        rows.unwrap().map(Result::unwrap).collect()
    }

    /// A resumed sum reads a range of the span's newest events, not the
    /// span: one index seek, then a look-up of the latest filing.
    #[test]
    fn the_span_since_a_time_is_a_range_of_its_index() {
        let plan = plan(&SINCE_SQL);
        assert_eq!(
            plan[0],
            "SEARCH events USING INDEX events_by_branch (repo=? AND branch=? AND start_us>?)"
        );
        assert!(
            !plan.iter().any(|l| l.starts_with("SCAN events")),
            "{plan:?}"
        );
    }
}
