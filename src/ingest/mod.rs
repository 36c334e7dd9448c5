//! Spool → store: read what is new in each spool file, parse, drop ignored
//! commands, redact secrets, resolve repo and branch, and commit the events
//! together with each file's new offset in one transaction.
//!
//! Run by the daemon, or by a reader that holds the ingest lock because no
//! daemon runs: there is one writer at a time. Re-reading is harmless
//! (events are keyed by their record's id), so a crash anywhere loses
//! nothing and stores nothing twice.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::Result;
use rusqlite::TransactionBehavior;

use crate::event::{EventKind, Source, display_command};

mod files;
mod resolve;

pub(crate) use files::alive;
pub use files::sweep_scratch;
use files::{list, read_file, remove_dead_scratch, remove_drained, watch_list};
use resolve::HeadRead;

use crate::redact::Filters;
use crate::spool::record::Record;
use crate::spool::records::{Edit, Hook, Marker, Place, Spooled, Start};
use crate::spool::writer::SHARED;
use crate::store::{self, Finish, NewEvent, Store};
use resolve::Resolver;

/// What one pass did.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Commands and markers newly stored (or completed).
    pub stored: u64,
    /// Lines set aside as malformed.
    pub set_aside: u64,
    /// More bytes are waiting: run again.
    pub more: bool,
    /// Processes whose exit should trigger a pass: wrappers of running
    /// commands and shells whose spool files are still open.
    pub watch: Vec<i32>,
    /// Worktree roots something new was recorded in, with the latest
    /// time recorded there (the edit watcher watches recent ones).
    pub active: std::collections::BTreeMap<String, i64>,
}

/// Ingest until the spool is drained.
pub fn drain(store: &mut Store, spool: &Path, filters: &Filters) -> Result<Summary> {
    let mut total = Summary::default();
    loop {
        let s = pass(store, spool, filters)?;
        total.stored += s.stored;
        total.set_aside += s.set_aside;
        total.watch = s.watch;
        for (root, t) in s.active {
            let latest = total.active.entry(root).or_insert(t);
            *latest = (*latest).max(t);
        }
        if !s.more {
            return Ok(total);
        }
    }
}

/// One pass over every spool file.
pub fn pass(store: &mut Store, spool: &Path, filters: &Filters) -> Result<Summary> {
    // Wrappers already dead before we read: any end record they wrote is in
    // the files now, so a start still running after this pass never ends.
    let dead: Vec<i64> = store
        .running()?
        .into_iter()
        .filter(|&(_, pid)| !alive(pid as i32))
        .map(|(id, _)| id)
        .collect();
    let mut reads = Vec::new();
    let mut summary = Summary::default();
    // One directory listing serves the whole pass.
    let mut listing = list(spool)?;
    for name in &listing.logs {
        let stored = store.offset(name)?;
        if let Some(read) = read_file(spool, name, stored)? {
            summary.more |= read.more;
            reads.push(read);
        }
    }
    let mut resolver = Resolver::default();
    let now = crate::clock::now().micros();
    let tx = store
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut scrub = Vec::new();
    for read in &reads {
        let mut aside_here = 0u64;
        let mut first_why = None;
        for line in &read.lines {
            match &line.parsed {
                Ok(rec) => {
                    let done = apply(&tx, rec, filters, &mut resolver, &mut summary.active)?;
                    summary.stored += u64::from(done.stored);
                    if done.scrub {
                        scrub.push((read.name.as_str(), read.inode, line.offset, line.len));
                    }
                }
                Err(why) => {
                    store::write::set_aside(
                        &tx,
                        now,
                        &read.name,
                        line.offset,
                        line.len,
                        &why.to_string(),
                    )?;
                    summary.set_aside += 1;
                    aside_here += 1;
                    first_why.get_or_insert_with(|| format!("{}: {why}", line.offset));
                }
            }
        }
        // One log line per file and pass, however many lines were bad.
        if let Some(first) = first_why {
            crate::log_line!(
                "mt daemon: set aside {aside_here} malformed line(s) of {} (first at offset {first})",
                read.name
            );
        }
        store::write::put_offset(&tx, &read.name, read.inode, read.end)?;
    }
    store::write::mark_unfinished(&tx, &dead)?;
    store::write::worktrees(&tx, &resolver.commons)?;
    if summary.set_aside > 0 {
        store::write::prune_set_aside(&tx)?;
    }
    tx.commit()?;
    files::scrub(spool, &scrub);
    remove_finished(store, spool, &reads, &mut listing.logs)?;
    summary.watch = watch_list(store, &listing.logs, &listing.scratch)?;
    remove_dead_scratch(spool, &listing.scratch);
    Ok(summary)
}

/// Remove the files read to their end whose writers can add no more (the
/// shared file is locked by each writer): they leave the listing too.
fn remove_finished(
    store: &mut Store,
    spool: &Path,
    reads: &[files::FileRead],
    logs: &mut Vec<String>,
) -> Result<()> {
    for read in reads {
        if read.drained
            && (read.writer_gone || read.name == SHARED)
            && remove_drained(store, spool, &read.name, read.inode, read.end)?
        {
            logs.retain(|n| *n != read.name);
        }
    }
    Ok(())
}

/// What storing one record did.
struct Applied {
    /// It stored or completed something.
    stored: bool,
    /// Its command was masked or ignored: the spool's raw copy goes.
    scrub: bool,
}

/// Store one record.
fn apply(
    tx: &rusqlite::Transaction<'_>,
    rec: &Record,
    filters: &Filters,
    resolver: &mut Resolver,
    active: &mut std::collections::BTreeMap<String, i64>,
) -> Result<Applied> {
    let stored = |stored| Applied {
        stored,
        scrub: false,
    };
    match Spooled::decode(rec) {
        None => Ok(stored(false)),
        Some(Spooled::End(end)) => {
            let f = Finish {
                end_us: end.time.micros(),
                exit_code: end.exit,
                signal: end.signal,
                core_dumped: end.core_dumped,
                pipestatus: None,
                user_us: end.user_us,
                sys_us: end.sys_us,
                maxrss_kib: end.max_rss_kib,
            };
            store::write::finish(tx, &end.id, &f).map(stored)
        }
        Some(spooled) => {
            let command = matches!(spooled, Spooled::Start(_) | Spooled::Hook(_));
            match new_event(spooled, filters, resolver) {
                Some(e) if agent_already_has(tx, &e)? => Ok(Applied {
                    stored: false,
                    scrub: false,
                }),
                Some(e) => {
                    if let Some(repo) = &e.repo {
                        let latest = active.entry(repo.clone()).or_insert(e.start_us);
                        *latest = (*latest).max(e.start_us);
                    }
                    let scrub = command && crate::redact::masked(&e.command);
                    if let (EventKind::Edit, Source::Agent, Some(repo)) =
                        (e.kind, e.source, &e.repo)
                    {
                        store::write::agent_saved(tx, repo, &e.command, e.start_us)?;
                    }
                    Ok(Applied {
                        stored: store::write::insert(tx, &e)?,
                        scrub,
                    })
                }
                None => Ok(Applied {
                    stored: false,
                    scrub: command,
                }),
            }
        }
    }
}

/// The watcher's edit of a save a coding agent already reported: the
/// agent's, stored once, as the agent's.
fn agent_already_has(tx: &rusqlite::Transaction<'_>, e: &NewEvent) -> Result<bool> {
    match (e.kind, e.source, &e.repo) {
        (EventKind::Edit, Source::Watch, Some(repo)) => {
            store::write::saved_by_agent(tx, repo, &e.command, e.start_us)
        }
        _ => Ok(false),
    }
}

/// The event a start, hook or marker record stores; `None` when the
/// command is ignored or the record is empty.
fn new_event(rec: Spooled, filters: &Filters, resolver: &mut Resolver) -> Option<NewEvent> {
    let (mut e, place, during) = match rec {
        Spooled::Start(s) => started(s, filters)?,
        Spooled::Hook(h) => hooked(h, filters)?,
        Spooled::Marker(m) => marked(m),
        Spooled::Edit(w) => edited(w, filters)?,
        Spooled::End(_) => return None,
    };
    let hint = place.root.as_ref().map(|r| resolve::Hint {
        root: Path::new(std::ffi::OsStr::from_bytes(r)),
        head: place.head.clone(),
        commit: place.commit.clone(),
    });
    let cwd = Path::new(std::ffi::OsStr::from_bytes(&place.cwd));
    let found = resolver.resolve(cwd, hint, e.start_us, during);
    e.cwd = String::from_utf8_lossy(&place.cwd).into_owned();
    // The repository's own `.mt.toml` rules, on top of the user's.
    if let Some(own) = found.repo.as_deref().and_then(|r| resolver.repo_filters(r))
        && e.kind == crate::event::EventKind::Command
    {
        if own.ignored(&e.command) {
            return None;
        }
        e.command = own.text(&e.command);
        e.argv = e.argv.take().map(|a| {
            let args: Vec<Vec<u8>> = a.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
            own.argv(&args).join(&0u8)
        });
    }
    e.repo = found.repo;
    e.branch = found.branch;
    e.head = found.commit;
    Some(e)
}

/// What `new_event` builds on: the event so far, where it ran, and the
/// span in which to look for a HEAD move (fish reads HEAD after the run).
type Parts = (NewEvent, Place, HeadRead);

fn started(s: Start, filters: &Filters) -> Option<Parts> {
    if s.argv.is_empty() || filters.ignored(&display_command(&s.argv)) {
        return None;
    }
    let argv = filters.argv(&s.argv);
    let e = NewEvent {
        uid: s.id,
        session: s.session,
        phase: s.phase,
        tool: s.tool,
        start_us: s.time.micros(),
        command: display_command(&argv),
        argv: Some(argv.join(&0u8)),
        source: s.source,
        agent: s.agent,
        kind: EventKind::Command,
        pid: Some(s.pid),
        ..NewEvent::default()
    };
    Some((e, s.place, HeadRead::Written))
}

fn hooked(h: Hook, filters: &Filters) -> Option<Parts> {
    // An empty text is a line the shell kept out of its history
    // (ignorespace): the run counts, its text is not kept.
    let text = String::from_utf8_lossy(&h.command);
    if runs_wrapper(&text) || filters.ignored(&text) {
        return None;
    }
    let start = h.time.micros();
    let end = start + h.duration_us;
    let command = filters.text(&text);
    // The fish hook reads HEAD after the command: for a git command that
    // moved HEAD itself, that is the branch it moved to, so look for the
    // move inside the run. bash and zsh read it at the prompt before: a
    // switch made elsewhere since is in the reflog.
    // An agent's environment reads it as its command starts.
    let during = if h.agent.is_some() && !h.head_after {
        HeadRead::Written
    } else if !h.head_after {
        HeadRead::Prompt { start_us: start }
    } else if command.contains("git") {
        HeadRead::RunEnd {
            start_us: start,
            end_us: end,
        }
    } else {
        HeadRead::Written
    };
    let e = NewEvent {
        uid: h.id,
        session: h.session,
        start_us: start,
        command,
        source: if h.agent.is_some() {
            Source::Agent
        } else {
            Source::Hook
        },
        agent: h.agent,
        kind: EventKind::Command,
        finish: Some(Finish {
            end_us: end,
            exit_code: h.exit,
            pipestatus: h.pipestatus,
            ..Finish::default()
        }),
        ..NewEvent::default()
    };
    Some((e, h.place, during))
}

fn edited(w: Edit, filters: &Filters) -> Option<Parts> {
    let path = String::from_utf8_lossy(&w.path).into_owned();
    // A path the ignore rules name, or one redaction would change (a
    // secret in a file name), is not stored at all.
    if filters.ignored(&path) || filters.text(&path) != path {
        return None;
    }
    let e = NewEvent {
        uid: w.id,
        start_us: w.time.micros(),
        command: path,
        source: if w.agent.is_some() {
            Source::Agent
        } else {
            Source::Watch
        },
        agent: w.agent,
        kind: EventKind::Edit,
        untracked: w.untracked,
        finish: Some(Finish {
            end_us: w.time.micros(),
            ..Finish::default()
        }),
        ..NewEvent::default()
    };
    Some((e, w.place, HeadRead::Written))
}

fn marked(m: Marker) -> Parts {
    let e = NewEvent {
        uid: m.id,
        session: m.session,
        phase: Some(m.phase),
        start_us: m.time.micros(),
        command: format!("mt phase {}", m.phase.as_str()),
        source: Source::Exec,
        kind: EventKind::Marker,
        finish: Some(Finish {
            end_us: m.time.micros(),
            ..Finish::default()
        }),
        ..NewEvent::default()
    };
    (e, m.place, HeadRead::Written)
}

/// A hook line that runs `mt exec …` is recorded by the wrapper, not twice.
fn runs_wrapper(text: &str) -> bool {
    let mut words = text
        .split_whitespace()
        .skip_while(|w| w.contains('=') && !w.starts_with('='));
    matches!(words.next(), Some(w) if w == "mt" || w.ends_with("/mt"))
        && words.next() == Some("exec")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapper_lines() {
        assert!(runs_wrapper("mt exec make"));
        assert!(runs_wrapper("FOO=1 ~/.cargo/bin/mt exec -- make"));
        assert!(!runs_wrapper("mt log"));
        assert!(!runs_wrapper("make mt exec"));
    }
}
