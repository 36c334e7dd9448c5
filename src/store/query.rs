//! Reads: offsets, running commands, the log, a branch's status.

use std::rc::Rc;
use std::sync::LazyLock;

use anyhow::Result;
use rusqlite::{OptionalExtension, Row, params};

use super::Store;
use super::filing::{MILESTONE_COLUMN, open_span_sql};
use crate::event::{Event, EventKind, Phase, RunState, Source, Stored, rfc3339};

/// Which commands `log` returns.
#[derive(Debug, Clone, Default)]
pub struct BranchFilter {
    pub repo: Option<String>,
    pub branch: Option<String>,
}

/// One branch's open span, as `mt status` shows it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Status {
    /// Finished (and unfinished) runs; running ones are not counted.
    pub counts: super::Counts,
    pub first_us: Option<i64>,
    pub intervals: Vec<(i64, i64)>,
    /// Edits and markers: points on the timeline.
    pub points: Vec<i64>,
    /// Every event of the span (running ones too), to tell it from what
    /// was recorded elsewhere.
    #[serde(skip)]
    pub ids: foldhash::HashSet<i64>,
}

/// A branch's open span, commands and points, from the covering index.
// Flags computed in SQL: no string crosses into Rust per row. The failure
// flag is `event::succeeded` negated, for a finished row.
static STATUS_SQL: LazyLock<String> = LazyLock::new(|| {
    open_span_sql(
        "start_us, end_us, state = 'running', source IN ('hook', 'typed'),
        state = 'unfinished' OR signal IS NOT NULL OR COALESCE(exit_code, 0) != 0, id,
        kind = 'command'",
        "1",
    )
});

/// A branch's open commands and edits, as `open_spans` sums them.
static OPEN_SPANS_SQL: LazyLock<String> = LazyLock::new(|| {
    open_span_sql(
        "id, start_us, end_us, state = 'running', kind = 'command'",
        "kind != 'marker'",
    )
});

/// Whether a branch has an open command or edit, without reading its span.
static HAS_OPEN_WORK_SQL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT EXISTS ({})", open_span_sql("1", "kind != 'marker'")));

/// A branch's open span, every column `mt close` reads.
static SPAN_SQL: LazyLock<String> = LazyLock::new(|| {
    open_span_sql(
        "id, source, kind, command, start_us, end_us, exit_code, signal, state, phase, tool, head,
        untracked, agent",
        "1",
    )
});

/// Everything in a time window, from the covering index alone.
const ELSEWHERE_SQL: &str =
    "SELECT id, start_us, end_us, repo IS ?3 FROM events INDEXED BY events_by_time
     WHERE start_us BETWEEN ?1 AND ?2";

/// The first few signals after a time (the next one ends the span's last
/// gap), from the same index.
const NEXT_SQL: &str =
    "SELECT id, start_us, end_us, repo IS ?3 FROM events INDEXED BY events_by_time
     WHERE start_us > ?1 AND start_us <= ?2 ORDER BY start_us LIMIT 16";

/// What `event` reads, but the milestone (`MILESTONE_COLUMN` after it).
const COLUMNS: &str =
    "id, source, kind, argv, command, cwd, repo, branch, head, session, start_us, end_us,
    exit_code, signal, pipestatus, state, phase, tool, user_us, sys_us, maxrss_kib, agent";

fn ms(us: Option<i64>) -> Option<f64> {
    us.map(|v| v as f64 / 1000.0)
}

fn event(row: &Row<'_>) -> rusqlite::Result<Event> {
    let argv: Option<Vec<u8>> = row.get(3)?;
    let start_us: i64 = row.get(10)?;
    let end_us: Option<i64> = row.get(11)?;
    let pipestatus: Option<String> = row.get(14)?;
    Ok(Event {
        id: row.get(0)?,
        source: row.get::<_, Stored<_>>(1)?.0,
        kind: row.get::<_, Stored<_>>(2)?.0,
        argv_b64: argv.as_ref().map(|a| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(a)
        }),
        argv: argv
            .map(|a| {
                a.split(|&b| b == 0)
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default(),
        command: row.get(4)?,
        cwd: row.get(5)?,
        repo: row.get(6)?,
        branch: row.get(7)?,
        head: row.get(8)?,
        session: row.get(9)?,
        start: rfc3339(start_us),
        end: end_us.map(rfc3339),
        duration_ms: ms(end_us.map(|e| e - start_us)),
        exit_code: row.get(12)?,
        signal: row.get(13)?,
        pipestatus: pipestatus.map(|p| {
            p.split_whitespace()
                .filter_map(|s| s.parse().ok())
                .collect()
        }),
        state: row.get::<_, Stored<_>>(15)?.0,
        phase: row.get_ref(16)?.as_str_or_null()?.and_then(Phase::parse),
        tool: row.get(17)?,
        user_ms: ms(row.get(18)?),
        sys_ms: ms(row.get(19)?),
        max_rss_kib: row.get(20)?,
        agent: row.get(21)?,
        milestone: row.get(22)?,
        start_us,
        end_us,
    })
}

impl Store {
    /// How far `file` was read, and which inode that offset belongs to.
    pub fn offset(&self, file: &str) -> Result<Option<(u64, u64)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT inode, offset FROM spool_offsets WHERE file = ?1")?
            .query_row([file], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })
            .optional()?)
    }

    /// Every spool file with a stored offset.
    pub fn offsets(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT file, offset FROM spool_offsets")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Commands started by `mt exec` whose end has not been read: (id, wrapper pid).
    pub fn running(&self) -> Result<Vec<(i64, i64)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, COALESCE(pid, 0) FROM events WHERE state = 'running'")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Newest first.
    pub fn log(&self, filter: &BranchFilter, limit: usize) -> Result<Vec<Event>> {
        let sql = format!(
            "SELECT {COLUMNS}, {MILESTONE_COLUMN} FROM events
             WHERE kind = 'command' AND (?1 IS NULL OR repo = ?1) AND (?2 IS NULL OR branch = ?2)
             ORDER BY start_us DESC, id DESC LIMIT ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![filter.repo, filter.branch, limit as i64], event)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The open span of one branch: everything not yet in a milestone.
    pub fn status(&self, repo: &str, branch: &str) -> Result<Status> {
        let mut st = Status::default();
        let mut stmt = self.conn.prepare_cached(&STATUS_SQL)?;
        let mut rows = stmt.query([repo, branch])?;
        while let Some(r) = rows.next()? {
            let start: i64 = r.get(0)?;
            st.ids.insert(r.get(5)?);
            st.first_us = Some(st.first_us.map_or(start, |f| f.min(start)));
            if !r.get::<_, bool>(6)? {
                st.points.push(start);
                continue;
            }
            if r.get::<_, bool>(2)? {
                continue; // still running: listed below, not counted
            }
            st.counts.add(r.get(3)?, r.get(4)?);
            if let Some(end) = r.get::<_, Option<i64>>(1)? {
                st.intervals.push((start, end));
            }
        }
        // The index gives the span in id order; the timeline wants time.
        st.intervals.sort_unstable();
        st.points.sort_unstable();
        Ok(st)
    }

    /// Commands of `branch` in `repo` still running, oldest first.
    pub fn running_on(&self, repo: &str, branch: &str) -> Result<Vec<Event>> {
        let sql = format!(
            "SELECT {COLUMNS}, {MILESTONE_COLUMN} FROM events
             WHERE state = 'running' AND repo = ?1 AND branch = ?2
             ORDER BY start_us"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([repo, branch], event)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Lines set aside so far.
    pub fn set_aside_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM set_aside", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Stored commands.
    pub fn count(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM events WHERE kind = 'command'",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }
}

/// One stored command or marker of a branch's open span. Its texts are
/// shared with the span's other rows that repeat them (`Texts`).
#[derive(Debug, Clone)]
pub struct SpanRow {
    pub id: i64,
    pub source: Source,
    pub kind: EventKind,
    pub command: Rc<str>,
    pub start_us: i64,
    pub end_us: Option<i64>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub state: RunState,
    /// The phase given with the run (`--phase`) or the marker's.
    pub phase: Option<Phase>,
    pub tool: Option<Rc<str>>,
    /// The commit checked out when it ran.
    pub head: Option<Rc<str>>,
    /// An edit of a file git did not track (a run's output, if one ran).
    pub untracked: bool,
    /// The coding agent, for source `agent`.
    pub agent: Option<Rc<str>>,
}

/// One copy of each text a span's rows repeat: a branch of 100,000 runs
/// repeats a far smaller set of commands, phases, tools and HEADs, and
/// allocating (and at exit freeing) four strings a row was a third of the
/// time `mt close` spent reading the span (BENCHMARKS.md).
#[derive(Default)]
struct Texts(foldhash::HashSet<Rc<str>>);

impl Texts {
    fn get(&mut self, text: Option<&str>) -> Option<Rc<str>> {
        let text = text?;
        if let Some(t) = self.0.get(text) {
            return Some(t.clone());
        }
        let t: Rc<str> = text.into();
        self.0.insert(t.clone());
        Some(t)
    }
}

/// One branch's open span, in brief.
#[derive(Debug, Clone, Default)]
pub struct OpenSpan {
    /// The worktree it was recorded in.
    pub repo: String,
    pub branch: String,
    /// Finished commands.
    pub runs: u64,
    /// Edits: a branch with edits and no command is work too.
    pub edits: u64,
    /// Finished commands' intervals (µs).
    pub intervals: Vec<(i64, i64)>,
    /// The HEAD commits recorded first and last.
    pub first_head: Option<String>,
    pub last_head: Option<String>,
}

/// One open command or edit, as an `OpenSpan` sums it.
struct Brief {
    id: i64,
    start: i64,
    end: Option<i64>,
    running: bool,
    command: bool,
}

impl OpenSpan {
    /// The span of `branch` in `repo` in brief, from its rows as
    /// `Store::span` reads them; none when it has no command or edit.
    pub fn of(repo: &str, branch: &str, rows: &[SpanRow]) -> Option<OpenSpan> {
        let work: Vec<&SpanRow> = (rows.iter())
            .filter(|r| r.kind != EventKind::Marker)
            .collect();
        let brief: Vec<Brief> = (work.iter())
            .map(|r| Brief {
                id: r.id,
                start: r.start_us,
                end: r.end_us,
                running: r.state == RunState::Running,
                command: r.kind == EventKind::Command,
            })
            .collect();
        if brief.is_empty() {
            return None;
        }
        let head = |r: &&&SpanRow| r.head.is_some();
        let text = |r: &&SpanRow| r.head.as_deref().map(str::to_owned);
        Some(OpenSpan {
            first_head: work.iter().find(head).and_then(text),
            last_head: work.iter().rev().find(head).and_then(text),
            ..OpenSpan::brief(repo, branch.to_owned(), &brief)
        })
    }

    /// Counts, and intervals of commands in time order; no HEAD.
    fn brief(repo: &str, branch: String, rows: &[Brief]) -> OpenSpan {
        let mut span = OpenSpan {
            repo: repo.to_owned(),
            branch,
            ..OpenSpan::default()
        };
        for r in rows.iter().filter(|r| !r.running) {
            if !r.command {
                span.edits += 1;
                continue;
            }
            span.runs += 1;
            if let Some(end) = r.end {
                span.intervals.push((r.start, end));
            }
        }
        span
    }
}

impl Store {
    /// Every branch of `repo` with commands or edits not yet in a milestone. A
    /// branch `listed_only` names comes with its repo and branch alone,
    /// its events unread: the default branch, which never finishes and
    /// whose span can hold most of the store.
    pub fn open_spans(
        &self,
        repo: &str,
        listed_only: impl Fn(&str) -> bool,
    ) -> Result<Vec<OpenSpan>> {
        // One read transaction for every branch's queries: one snapshot,
        // and SQLite's locks taken once, not per statement.
        let tx = self.conn.unchecked_transaction()?;
        let mut spans = Vec::new();
        for branch in self.branches(repo)? {
            let span = if listed_only(&branch) {
                self.has_open_work(repo, &branch)?.then(|| OpenSpan {
                    repo: repo.to_owned(),
                    branch,
                    ..OpenSpan::default()
                })
            } else {
                self.open_span(repo, branch)?
            };
            spans.extend(span);
        }
        tx.finish()?;
        Ok(spans)
    }

    fn has_open_work(&self, repo: &str, branch: &str) -> Result<bool> {
        let mut stmt = self.conn.prepare_cached(&HAS_OPEN_WORK_SQL)?;
        Ok(stmt.query_row([repo, branch], |r| r.get(0))?)
    }

    /// One branch's open commands and edits in brief; none when it has
    /// neither. Read from the covering index; the table only for the first
    /// and last HEAD.
    fn open_span(&self, repo: &str, branch: String) -> Result<Option<OpenSpan>> {
        let mut stmt = self.conn.prepare_cached(&OPEN_SPANS_SQL)?;
        let rows = stmt.query_map([repo, &branch], |r| {
            Ok(Brief {
                id: r.get(0)?,
                start: r.get(1)?,
                end: r.get(2)?,
                running: r.get(3)?,
                command: r.get(4)?,
            })
        })?;
        let mut rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        if rows.is_empty() {
            return Ok(None);
        }
        rows.sort_unstable_by_key(|r| (r.start, r.id));
        let first_head = self.first_head(rows.iter().map(|r| r.id))?;
        let last_head = self.first_head(rows.iter().rev().map(|r| r.id))?;
        let span = OpenSpan::brief(repo, branch, &rows);
        Ok(Some(OpenSpan {
            first_head,
            last_head,
            ..span
        }))
    }

    /// The HEAD recorded with the first of `ids` that has one.
    fn first_head(&self, ids: impl Iterator<Item = i64>) -> Result<Option<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT head FROM events WHERE id = ?1")?;
        for id in ids {
            let head: Option<String> = stmt.query_row([id], |r| r.get(0))?;
            if head.is_some() {
                return Ok(head);
            }
        }
        Ok(None)
    }

    /// Everything on `branch` in `repo` not yet in a milestone, oldest first.
    pub fn span(&self, repo: &str, branch: &str) -> Result<Vec<SpanRow>> {
        let mut stmt = self.conn.prepare_cached(&SPAN_SQL)?;
        let mut texts = Texts::default();
        let rows = stmt.query_map([repo, branch], |r| {
            let mut text = |i| Ok::<_, rusqlite::Error>(texts.get(r.get_ref(i)?.as_str_or_null()?));
            Ok(SpanRow {
                id: r.get(0)?,
                source: r.get::<_, Stored<_>>(1)?.0,
                kind: r.get::<_, Stored<_>>(2)?.0,
                command: text(3)?.unwrap_or_default(),
                start_us: r.get(4)?,
                end_us: r.get(5)?,
                exit_code: r.get(6)?,
                signal: r.get(7)?,
                state: r.get::<_, Stored<_>>(8)?.0,
                phase: r.get_ref(9)?.as_str_or_null()?.and_then(Phase::parse),
                tool: text(10)?,
                head: text(11)?,
                untracked: r.get::<_, Option<i64>>(12)? == Some(1),
                agent: text(13)?,
            })
        })?;
        let mut rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.sort_unstable_by_key(|r| (r.start_us, r.id));
        Ok(rows)
    }

    /// Everything recorded from `from_us` to `to_us` except the events
    /// `ours` (the span being measured), and the first signals after it
    /// within `reach_us` (the next one ends the span's last gap, which is
    /// the span's when it is in another repository), as intervals, each
    /// with whether it was in `repo` too: on the one timeline these take
    /// their own moments and the gaps they end (docs/metrics.md). Read from
    /// the covering index `events_by_time`; running commands count as
    /// points.
    pub fn elsewhere(
        &self,
        ours: &foldhash::HashSet<i64>,
        repo: &str,
        (from_us, to_us): (i64, i64),
        reach_us: i64,
    ) -> Result<Vec<(i64, i64, bool)>> {
        let mut out = Vec::new();
        self.intervals(ELSEWHERE_SQL, ours, repo, (from_us, to_us), &mut out)?;
        if reach_us > 0 {
            // Never what the range above read, nor before it.
            let after = (to_us.max(from_us - 1), to_us.saturating_add(reach_us));
            self.intervals(NEXT_SQL, ours, repo, after, &mut out)?;
        }
        Ok(out)
    }

    fn intervals(
        &self,
        sql: &str,
        ours: &foldhash::HashSet<i64>,
        repo: &str,
        (a, b): (i64, i64),
        out: &mut Vec<(i64, i64, bool)>,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params![a, b, repo])?;
        while let Some(r) = rows.next()? {
            if ours.contains(&r.get(0)?) {
                continue;
            }
            let start: i64 = r.get(1)?;
            let end = r.get::<_, Option<i64>>(2)?.unwrap_or(start);
            out.push((start, end, r.get(3)?));
        }
        Ok(())
    }

    /// Commands and edits of each coding agent since `since_us`.
    pub fn agent_counts(&self, since_us: i64) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT COALESCE(agent, 'agent'), COUNT(*) FROM events INDEXED BY events_by_time
             WHERE start_us > ?1 AND source = 'agent' GROUP BY 1 ORDER BY 2 DESC",
        )?;
        let rows = stmt.query_map([since_us], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Worktree roots with something recorded since `since_us`, with the
    /// latest time (a restarted daemon watches these again).
    pub fn recent_repos(&self, since_us: i64) -> Result<std::collections::BTreeMap<String, i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT repo, MAX(start_us) FROM events INDEXED BY events_by_time
             WHERE start_us > ?1 AND repo IS NOT NULL GROUP BY repo",
        )?;
        let rows = stmt.query_map([since_us], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Store {
    /// SQLite's `PRAGMA quick_check`: "ok", or what is damaged (its first
    /// five findings, a line each).
    pub fn quick_check(&self) -> Result<String> {
        let mut stmt = self.conn.prepare("PRAGMA quick_check(5)")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?.join("\n"))
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;

    #[test]
    fn the_timeline_window_reads_only_its_index() {
        assert_eq!(
            crate::store::plan(ELSEWHERE_SQL, rusqlite::params![1, 2, "/r"])[0],
            "SEARCH events USING COVERING INDEX events_by_time (start_us>? AND start_us<?)"
        );
    }

    /// `mt status` from scratch and `mt close` read the span after the
    /// latest filing as a range of one index, whatever was filed before.
    #[test]
    fn the_open_span_is_a_range_after_the_latest_filing() {
        let covering = "SEARCH events USING COVERING INDEX events_by_branch_id";
        let table = "SEARCH events USING INDEX events_by_branch_id";
        for (sql, range) in [(&*STATUS_SQL, covering), (&*SPAN_SQL, table)] {
            let plan = crate::store::plan(sql, ["r", "b"]);
            assert_eq!(plan[2], format!("{range} (repo=? AND branch=? AND id>?)"));
            assert!(
                !plan.iter().any(|l| l.starts_with("SCAN events")),
                "{plan:?}"
            );
        }
    }
}
