//! `mt status`'s checkpoints (migrations 0005, 0008): per branch, a ladder
//! of what was summed for the events that started before each `upto_us`.
//! Triggers delete a checkpoint in the transaction that inserts, changes or
//! deletes an event starting before its `upto_us`, so one that exists is
//! never stale; a sum resumes from the newest left and reads only the
//! events from its `upto_us` on (the tail).

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
    /// The timeline sweep where it stopped: coverage, whose signal reached
    /// it, and active time.
    pub covered_us: Option<i64>,
    pub covered_by: crate::metrics::timeline::Owner,
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
        "SELECT id, start_us, end_us, kind = 'command', state = 'running', source IN ('hook', 'typed'),
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

    /// The branch's newest checkpoint: where a sum resumes.
    pub fn checkpoint(&self, repo: &str, branch: &str) -> Result<Option<Checkpoint>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT idle_us, upto_us, to_us, covered_us, active_us,
                runs, automated, manual, failures, first_us, covered_by
             FROM status_checkpoints WHERE repo = ?1 AND branch = ?2
             ORDER BY upto_us DESC LIMIT 1",
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
                    covered_by: crate::metrics::timeline::Owner::from_code(r.get(10)?),
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

    /// Keep `cp` as the branch's newest checkpoint and prune the ladder
    /// behind it (`ladder`); checkpoints of another idle timeout go.
    fn save_checkpoint(&self, repo: &str, branch: &str, cp: &Checkpoint) -> Result<()> {
        let saved = (self.insert_checkpoint(repo, branch, cp))
            .and_then(|()| self.prune_ladder(repo, branch, cp));
        match saved {
            Ok(()) => Ok(()),
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

    /// With `cp` the newest: drop newer ones and those of another idle
    /// timeout, then what `ladder` leaves out.
    fn prune_ladder(&self, repo: &str, branch: &str, cp: &Checkpoint) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "DELETE FROM status_checkpoints
                 WHERE repo = ?1 AND branch = ?2 AND (idle_us != ?3 OR upto_us > ?4)",
            )?
            .execute(params![repo, branch, cp.idle_us, cp.upto_us])?;
        let uptos: Vec<i64> = self
            .conn
            .prepare_cached(
                "SELECT upto_us FROM status_checkpoints WHERE repo = ?1 AND branch = ?2
                 ORDER BY upto_us DESC",
            )?
            .query_map(params![repo, branch], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut drop = self.conn.prepare_cached(
            "DELETE FROM status_checkpoints WHERE repo = ?1 AND branch = ?2 AND upto_us = ?3",
        )?;
        for upto in ladder(&uptos) {
            drop.execute(params![repo, branch, upto])?;
        }
        Ok(())
    }

    fn insert_checkpoint(&self, repo: &str, branch: &str, cp: &Checkpoint) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO status_checkpoints (repo, branch, idle_us, upto_us,
                    to_us, covered_us, active_us, runs, automated, manual, failures, first_us,
                    covered_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
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
                cp.covered_by.code(),
            ])?;
        Ok(())
    }
}

/// The ladder's first band: checkpoints less than this behind the newest.
const RUNG_US: i64 = 60 * 1_000_000;

/// Which of a branch's checkpoints (`uptos`, newest first) to drop. Kept:
/// the newest, and in each age band behind it — under a minute, then
/// [1, 2), [2, 4), [4, 8)… minutes — the oldest. As checkpoints age they
/// move up the bands, so whatever a late record voids, one at most about
/// twice its age behind the newest is left; a branch keeps about
/// log2(span / 1 min) of them.
fn ladder(uptos: &[i64]) -> Vec<i64> {
    let Some(&newest) = uptos.first() else {
        return Vec::new();
    };
    let band = |upto: i64| {
        let age = (newest - upto) / RUNG_US;
        if age == 0 { 0 } else { 1 + age.ilog2() }
    };
    let mut drop = Vec::new();
    // Oldest last: a checkpoint is dropped when the next one is older and
    // in the same band.
    for pair in uptos[1..].windows(2) {
        if band(pair[0]) == band(pair[1]) {
            drop.push(pair[0]);
        }
    }
    drop
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resumed sum reads a range of the span's newest events, not the
    /// span: one index seek, then a look-up of the latest filing.
    #[test]
    fn the_span_since_a_time_is_a_range_of_its_index() {
        let plan = crate::store::plan(&SINCE_SQL, params!["r", "b", 1]);
        assert_eq!(
            plan[0],
            "SEARCH events USING INDEX events_by_branch (repo=? AND branch=? AND start_us>?)"
        );
        assert!(
            !plan.iter().any(|l| l.starts_with("SCAN events")),
            "{plan:?}"
        );
    }

    /// The newest, then the oldest of each band: under 1 min, [1, 2),
    /// [2, 4), [4, 8) min… behind the newest.
    #[test]
    fn the_ladder_keeps_the_oldest_of_each_band() {
        let min = |m: f64| (m * 60e6) as i64;
        let newest = min(1000.0);
        let ages = [0.0, 0.2, 0.5, 1.0, 1.5, 1.9, 2.5, 3.9, 9.0, 15.0, 15.5];
        let uptos: Vec<i64> = ages.iter().map(|&a| newest - min(a)).collect();
        let dropped: Vec<f64> = (ladder(&uptos).iter())
            .map(|&u| (newest - u) as f64 / 60e6)
            .collect();
        assert_eq!(dropped, vec![0.2, 1.0, 1.5, 2.5, 9.0, 15.0]);
        assert!(ladder(&[]).is_empty());
        assert!(ladder(&[newest]).is_empty());
    }
}
