//! Writes, all inside the ingest transaction.

use anyhow::Result;
use rusqlite::{Transaction, params};

use crate::event::{EventKind, Phase, RunState, Source, Stored};

/// A command (or phase marker) as ingest hands it to the store.
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    pub uid: String,
    pub source: Source,
    pub kind: EventKind,
    pub argv: Option<Vec<u8>>,
    pub command: String,
    pub cwd: String,
    pub repo: Option<String>,
    pub branch: Option<String>,
    pub head: Option<String>,
    pub session: Option<String>,
    pub phase: Option<Phase>,
    pub tool: Option<String>,
    pub start_us: i64,
    pub pid: Option<i64>,
    /// An edit of a file git did not track (see migration 0012).
    pub untracked: bool,
    /// The coding agent that ran it (source `agent`).
    pub agent: Option<String>,
    /// Present when the record arrives complete (hooks, markers).
    pub finish: Option<Finish>,
}

/// How a command ended.
#[derive(Debug, Clone, Default)]
pub struct Finish {
    pub end_us: i64,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub core_dumped: bool,
    pub pipestatus: Option<String>,
    pub user_us: Option<i64>,
    pub sys_us: Option<i64>,
    pub maxrss_kib: Option<i64>,
}

/// Insert unless `uid` is already stored (re-reading a spool is harmless).
pub(crate) fn insert(tx: &Transaction<'_>, e: &NewEvent) -> Result<bool> {
    let f = e.finish.clone().unwrap_or_default();
    let done = e.finish.is_some();
    let n = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO events (uid, source, kind, argv, command, cwd, repo, branch, head,
                session, phase, tool, start_us, end_us, exit_code, signal, core_dumped, pipestatus,
                user_us, sys_us, maxrss_kib, state, pid, untracked, agent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
        )?
        .execute(params![
            e.uid,
            Stored(e.source),
            Stored(e.kind),
            e.argv,
            e.command,
            e.cwd,
            e.repo,
            e.branch,
            e.head,
            e.session,
            e.phase.map(Stored),
            e.tool,
            e.start_us,
            done.then_some(f.end_us),
            f.exit_code,
            f.signal,
            f.core_dumped,
            f.pipestatus,
            f.user_us,
            f.sys_us,
            f.maxrss_kib,
            Stored(if done { RunState::Done } else { RunState::Running }),
            e.pid,
            e.untracked.then_some(1),
            e.agent,
        ])?;
    Ok(n == 1)
}

/// How far apart an agent's report of a write and the watcher's edit of
/// that file may be and still be one save: the hook runs as the tool call
/// ends, the watcher's edit waits for the file to go quiet.
const AGENT_SAVE_US: i64 = 3_000_000;

const AGENT_SAVE_SQL: &str = "FROM events INDEXED BY events_by_time
     WHERE start_us BETWEEN ?3 - ?4 AND ?3 + ?4
       AND kind = 'edit' AND repo = ?1 AND command = ?2";

/// A coding agent reported writing `path` in `repo` at `at_us`: the
/// watcher's edit of that save is the agent's, not the person's.
pub(crate) fn agent_saved(tx: &Transaction<'_>, repo: &str, path: &str, at_us: i64) -> Result<()> {
    tx.prepare_cached(&format!("DELETE {AGENT_SAVE_SQL} AND source = 'watch'"))?
        .execute(params![repo, path, at_us, AGENT_SAVE_US])?;
    Ok(())
}

/// Whether an agent reported the save the watcher saw (`path` in `repo`
/// at `at_us`).
pub(crate) fn saved_by_agent(
    tx: &Transaction<'_>,
    repo: &str,
    path: &str,
    at_us: i64,
) -> Result<bool> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 {AGENT_SAVE_SQL} AND source = 'agent')"
        ))?
        .query_row(params![repo, path, at_us, AGENT_SAVE_US], |r| r.get(0))?)
}

/// Complete a running command; `false` when no start was stored for `uid`
/// (it was ignored by a filter).
pub(crate) fn finish(tx: &Transaction<'_>, uid: &str, f: &Finish) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE events SET end_us = ?2, exit_code = ?3, signal = ?4, core_dumped = ?5,
                user_us = ?6, sys_us = ?7, maxrss_kib = ?8, state = 'done', pid = NULL
             WHERE uid = ?1",
        )?
        .execute(params![
            uid,
            f.end_us,
            f.exit_code,
            f.signal,
            f.core_dumped,
            f.user_us,
            f.sys_us,
            f.maxrss_kib
        ])?;
    Ok(n == 1)
}

/// Remember which repository each worktree root resolved this pass
/// belongs to.
pub(crate) fn worktrees(
    tx: &Transaction<'_>,
    commons: &std::collections::HashMap<String, String>,
) -> Result<()> {
    let mut stmt =
        tx.prepare_cached("INSERT OR REPLACE INTO worktrees (root, common) VALUES (?1, ?2)")?;
    for (root, common) in commons {
        stmt.execute([root, common])?;
    }
    Ok(())
}

/// Close commands whose wrapper died without an end record.
pub(crate) fn mark_unfinished(tx: &Transaction<'_>, ids: &[i64]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "UPDATE events SET state = 'unfinished', pid = NULL WHERE id = ?1 AND state = 'running'",
    )?;
    for id in ids {
        stmt.execute([id])?;
    }
    Ok(())
}

/// Count a line that could not be parsed.
pub(crate) fn set_aside(
    tx: &Transaction<'_>,
    at_us: i64,
    file: &str,
    offset: u64,
    length: usize,
    reason: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO set_aside (at_us, file, offset, length, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![at_us, file, offset as i64, length as i64, reason])?;
    Ok(())
}

/// How many set-aside lines are remembered; older ones are dropped, so a
/// spool full of garbage cannot grow the database without bound.
pub(crate) const SET_ASIDE_KEPT: i64 = 10_000;

/// Keep only the newest `SET_ASIDE_KEPT` set-aside rows.
pub(crate) fn prune_set_aside(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "DELETE FROM set_aside WHERE id <= (SELECT max(id) FROM set_aside) - ?1",
        params![SET_ASIDE_KEPT],
    )?;
    Ok(())
}

/// Record how far `file` has been read.
pub(crate) fn put_offset(tx: &Transaction<'_>, file: &str, inode: u64, offset: u64) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO spool_offsets (file, inode, offset) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![file, inode as i64, offset as i64])?;
    Ok(())
}

/// Forget a file that is about to be removed.
pub(crate) fn drop_offset(tx: &Transaction<'_>, file: &str) -> Result<()> {
    tx.prepare_cached("DELETE FROM spool_offsets WHERE file = ?1")?
        .execute([file])?;
    Ok(())
}
