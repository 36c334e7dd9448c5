//! Which events are still open, and filing a span under a milestone
//! (migration 0007).
//!
//! A filing is one row: the branch's events up to `upto_id` are in its
//! milestone, except `kept` — the runs still going when it was closed,
//! which stay for the next span. Event ids only grow and an event never
//! changes branch, so a branch's open span is its events after its latest
//! filing's `upto_id`, plus that filing's `kept`: a range of one index and
//! a short list, whatever the size of what was filed before. Filing writes
//! no event, so closing a span of 100,000 runs costs one insert.

use std::collections::HashMap;

use anyhow::Result;
use rusqlite::params;

use super::{SpanRow, Store};
use crate::event::RunState;

/// The latest filing's `upto_id` for repo ?1, branch ?2 (0: none yet).
const LAST_UPTO: &str = "COALESCE((SELECT upto_id FROM filings f
    WHERE f.repo = ?1 AND f.branch = ?2 ORDER BY upto_id DESC, id DESC LIMIT 1), 0)";

/// The ids the latest filing of repo ?1, branch ?2 left open.
const LAST_KEPT: &str = "(SELECT value FROM json_each(COALESCE((SELECT kept FROM filings f
    WHERE f.repo = ?1 AND f.branch = ?2 ORDER BY upto_id DESC, id DESC LIMIT 1), '[]')))";

/// `SELECT cols` over the open span of repo ?1, branch ?2, where `cond`
/// also holds: the range after the latest filing from the covering index
/// `events_by_branch_id`, then the runs it kept. Unordered.
pub(super) fn open_span_sql(cols: &str, cond: &str) -> String {
    format!(
        "SELECT {cols} FROM events INDEXED BY events_by_branch_id
         WHERE repo = ?1 AND branch = ?2 AND id > {LAST_UPTO} AND {cond}
         UNION ALL
         SELECT {cols} FROM events
         WHERE id IN {LAST_KEPT} AND repo = ?1 AND branch = ?2 AND {cond}"
    )
}

/// The open-span test for one row of repo ?1, branch ?2, when the rows
/// come from another range (a time window).
pub(super) fn is_open_sql() -> String {
    format!("(id > {LAST_UPTO} OR id IN {LAST_KEPT})")
}

/// An event's milestone, as a column of `SELECT … FROM events`: the one it
/// carries (filed before migration 0007), else the first filing taking it.
pub(super) const MILESTONE_COLUMN: &str =
    "COALESCE(milestone, (SELECT NULLIF(f.milestone, '') FROM filings f
    WHERE f.repo = events.repo AND f.branch = events.branch AND f.upto_id >= events.id
      AND events.id NOT IN (SELECT value FROM json_each(f.kept))
    ORDER BY f.upto_id, f.id LIMIT 1))";

/// What a milestone takes from a branch's span, as it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filing {
    pub repo: String,
    pub branch: String,
    /// The finished events: the milestone's.
    pub ids: Vec<i64>,
    /// The runs still going, left for the next span.
    pub kept: Vec<i64>,
    /// The branch's tip when it was filed, if known.
    pub tip: Option<String>,
}

/// The milestone id of a discarded span: its events are in none.
pub const DISCARDED: &str = "";

impl Filing {
    /// What closing `rows`, a branch's span as read, files: the finished
    /// events, keeping the runs still going.
    pub fn of(repo: &str, branch: &str, rows: &[SpanRow]) -> Filing {
        let (kept, done): (Vec<&SpanRow>, Vec<&SpanRow>) =
            rows.iter().partition(|r| r.state == RunState::Running);
        Filing {
            repo: repo.to_owned(),
            branch: branch.to_owned(),
            ids: done.iter().map(|r| r.id).collect(),
            kept: kept.iter().map(|r| r.id).collect(),
            tip: None,
        }
    }
}

impl Store {
    /// File the span under a milestone, so new work starts a new span. An
    /// event recorded after the span was read has a higher id than any of
    /// it, so it stays open. The branch's checkpoint goes in the same
    /// transaction (the update trigger does not see a filing).
    pub fn close_span(&mut self, filing: &Filing, milestone_id: &str) -> Result<()> {
        let read_upto = (filing.ids.iter().chain(&filing.kept)).max().copied();
        let Some(read_upto) = read_upto else {
            return Ok(());
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Never below the latest filing's: a span read after it holds only
        // newer events and the ones it kept.
        tx.prepare_cached(&format!(
            "INSERT INTO filings (repo, branch, milestone, upto_id, kept, tip)
             VALUES (?1, ?2, ?3, MAX(?4, {LAST_UPTO}), ?5, ?6)"
        ))?
        .execute(params![
            filing.repo,
            filing.branch,
            milestone_id,
            read_upto,
            serde_json::to_string(&filing.kept)?,
            filing.tip,
        ])?;
        tx.prepare_cached("DELETE FROM status_checkpoints WHERE repo = ?1 AND branch = ?2")?
            .execute(params![filing.repo, filing.branch])?;
        tx.commit()?;
        Ok(())
    }

    /// The tip of the branch when its newest milestone was filed (not a
    /// discard).
    pub fn filed_tip(&self, repo: &str, branch: &str) -> Result<Option<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT tip FROM filings WHERE repo = ?1 AND branch = ?2 AND milestone <> ''
             ORDER BY upto_id DESC, id DESC LIMIT 1",
        )?;
        let tip = stmt.query_row(params![repo, branch], |r| r.get(0));
        match tip {
            Ok(t) => Ok(t),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Paths of commits kept by the last git hook's check.
    pub fn commit_paths(&self) -> Result<HashMap<String, Vec<String>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT commit_id, paths FROM commit_paths")?;
        let rows = stmt.query_map([], |r| {
            let paths: String = r.get(1)?;
            Ok((r.get(0)?, paths.split('\n').map(str::to_owned).collect()))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Keep exactly `paths` for the next check (only the open branches'
    /// commits: the table never grows past them).
    pub fn keep_commit_paths(&mut self, paths: &HashMap<String, Vec<String>>) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM commit_paths", [])?;
        {
            let mut stmt =
                tx.prepare_cached("INSERT INTO commit_paths (commit_id, paths) VALUES (?1, ?2)")?;
            for (commit, list) in paths {
                stmt.execute(params![commit, list.join("\n")])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every worktree root recorded for the repository whose shared git
    /// dir is `common`, removed ones included.
    pub fn worktrees_of(&self, common: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT root FROM worktrees WHERE common = ?1 ORDER BY root")?;
        let rows = stmt.query_map([common], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every branch with something recorded in `repo`: one index seek per
    /// branch (a loose scan of `events_by_branch`), not a read of its events.
    pub(super) fn branches(&self, repo: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "WITH RECURSIVE b(name) AS (
                 SELECT MIN(branch) FROM events WHERE repo = ?1 AND branch IS NOT NULL
                 UNION ALL
                 SELECT (SELECT MIN(branch) FROM events WHERE repo = ?1 AND branch > b.name)
                 FROM b WHERE b.name IS NOT NULL)
             SELECT name FROM b WHERE name IS NOT NULL",
        )?;
        let rows = stmt.query_map([repo], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Finish, NewEvent, write};

    fn add(store: &Store, uid: &str, branch: &str, start_us: i64, done: bool) -> i64 {
        let e = NewEvent {
            uid: uid.into(),
            command: "cargo test".into(),
            cwd: "/r".into(),
            repo: Some("/r".into()),
            branch: Some(branch.into()),
            start_us,
            finish: done.then(|| Finish {
                end_us: start_us + 1,
                exit_code: Some(0),
                ..Finish::default()
            }),
            ..NewEvent::default()
        };
        let tx = store.conn.unchecked_transaction().unwrap();
        write::insert(&tx, &e).unwrap();
        let id = tx.last_insert_rowid();
        tx.commit().unwrap();
        id
    }

    fn open_ids(store: &Store, branch: &str) -> Vec<i64> {
        let mut ids: Vec<i64> = store
            .span("/r", branch)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// What a filing takes leaves the span; a run it kept, a late record
    /// that started before the close and other branches stay; a second
    /// filing takes the kept run once it has ended.
    #[test]
    fn a_filing_takes_what_was_read_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let a = add(&store, "a", "b1", 10, true);
        let running = add(&store, "r", "b1", 20, false);
        let other = add(&store, "o", "b2", 15, true);
        let filing = Filing {
            repo: "/r".into(),
            branch: "b1".into(),
            ids: vec![a],
            kept: vec![running],
            tip: None,
        };
        store.close_span(&filing, "m1").unwrap();
        let late = add(&store, "late", "b1", 5, true);
        assert_eq!(open_ids(&store, "b1"), vec![running, late]);
        assert_eq!(open_ids(&store, "b2"), vec![other]);
        assert_eq!(store.branches("/r").unwrap(), vec!["b1", "b2"]);

        let tx = store.conn.unchecked_transaction().unwrap();
        let ended = Finish {
            end_us: 30,
            exit_code: Some(0),
            ..Finish::default()
        };
        write::finish(&tx, "r", &ended).unwrap();
        tx.commit().unwrap();
        let second = Filing {
            ids: vec![running, late],
            kept: vec![],
            ..filing
        };
        store.close_span(&second, "m2").unwrap();
        assert_eq!(open_ids(&store, "b1"), Vec::<i64>::new());
        let milestones: Vec<(i64, Option<String>)> = store
            .conn
            .prepare(&format!(
                "SELECT id, {MILESTONE_COLUMN} FROM events ORDER BY id"
            ))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            milestones,
            vec![
                (a, Some("m1".into())),
                (running, Some("m2".into())),
                (other, None),
                (late, Some("m2".into())),
            ]
        );
    }

    /// Filing is one row however many events it takes: closing a span
    /// never rewrites its events (a guard that counts, not times).
    #[test]
    fn filing_a_thousand_events_writes_one_row() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let ids: Vec<i64> = (0..1000)
            .map(|n| add(&store, &format!("u{n}"), "b1", n, true))
            .collect();
        let changes = |store: &Store| -> i64 {
            (store.conn)
                .query_row("SELECT total_changes()", [], |r| r.get(0))
                .unwrap()
        };
        let before = changes(&store);
        let filing = Filing {
            repo: "/r".into(),
            branch: "b1".into(),
            ids,
            kept: vec![],
            tip: None,
        };
        store.close_span(&filing, "m1").unwrap();
        assert_eq!(changes(&store) - before, 1);
        assert!(open_ids(&store, "b1").is_empty());
    }

    /// A store filed the old way (a milestone in each event) keeps its
    /// spans: what was not filed, before or after what was, stays open.
    #[test]
    fn migration_7_keeps_what_was_filed_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            for sql in &crate::store::MIGRATIONS[..6] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 6).unwrap();
            let mut add = conn
                .prepare(
                    "INSERT INTO events (uid, source, kind, command, cwd, repo, branch,
                        start_us, end_us, state, milestone)
                     VALUES (?1, 'hook', 'command', 'make', '/r', '/r', ?2, ?3, ?3, 'done', ?4)",
                )
                .unwrap();
            for (uid, branch, start, milestone) in [
                ("filed", "b1", 1, Some("m0")),
                ("late", "b1", 2, None),
                ("filed2", "b1", 3, Some("m0")),
                ("after", "b1", 4, None),
                ("other", "b2", 5, None),
            ] {
                add.execute(params![uid, branch, start, milestone]).unwrap();
            }
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(open_ids(&store, "b1"), vec![2, 4]);
        assert_eq!(open_ids(&store, "b2"), vec![5]);
        let shown: Vec<Option<String>> = store
            .conn
            .prepare(&format!(
                "SELECT {MILESTONE_COLUMN} FROM events ORDER BY id"
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let m0 = Some("m0".to_owned());
        assert_eq!(shown, vec![m0.clone(), None, m0, None, None]);
    }
}
