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

use crate::event::{Source, display_command};

mod files;
mod resolve;

pub(crate) use files::alive;
use files::{list, read_file, remove_dead_scratch, remove_drained, watch_list};

use crate::redact::Filters;
use crate::spool::record::{Kind, Record};
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
}

/// Ingest until the spool is drained.
pub fn drain(store: &mut Store, spool: &Path, filters: &Filters) -> Result<Summary> {
    let mut total = Summary::default();
    loop {
        let s = pass(store, spool, filters)?;
        total.stored += s.stored;
        total.set_aside += s.set_aside;
        total.watch = s.watch;
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
    let now = now_us();
    let tx = store
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    for read in &reads {
        let mut aside_here = 0u64;
        let mut first_why = None;
        for line in &read.lines {
            match &line.parsed {
                Ok(rec) => summary.stored += apply(&tx, rec, filters, &mut resolver)? as u64,
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
            eprintln!(
                "mt daemon: set aside {aside_here} malformed line(s) of {} (first at offset {first})",
                read.name
            );
        }
        store::write::put_offset(&tx, &read.name, read.inode, read.end)?;
    }
    store::write::mark_unfinished(&tx, &dead)?;
    if summary.set_aside > 0 {
        store::write::prune_set_aside(&tx)?;
    }
    tx.commit()?;
    for read in &reads {
        if read.drained
            && (read.writer_gone || read.name == SHARED)
            && remove_drained(store, spool, &read.name, read.inode, read.end)?
        {
            listing.logs.retain(|n| *n != read.name);
        }
    }
    summary.watch = watch_list(store, &listing.logs, &listing.scratch)?;
    remove_dead_scratch(spool, &listing.scratch);
    Ok(summary)
}

pub(crate) fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Store one record; returns whether it stored or completed something.
fn apply(
    tx: &rusqlite::Transaction<'_>,
    rec: &Record,
    filters: &Filters,
    resolver: &mut Resolver,
) -> Result<bool> {
    let Some(uid) = rec.text("id") else {
        return Ok(false);
    };
    match rec.kind {
        Kind::End => {
            let signal = rec.int("sig").map(|s| s as i32);
            let f = Finish {
                end_us: rec.int("t").unwrap_or(0),
                exit_code: if signal.is_some() {
                    None
                } else {
                    rec.int("exit").map(|c| c as i32)
                },
                signal,
                core_dumped: rec.int("core") == Some(1),
                pipestatus: None,
                user_us: rec.int("ut"),
                sys_us: rec.int("st"),
                maxrss_kib: rec.int("rss"),
            };
            store::write::finish(tx, &uid, &f)
        }
        Kind::Start | Kind::Hook | Kind::Phase => {
            let Some(e) = new_event(rec, uid, filters, resolver) else {
                return Ok(false);
            };
            store::write::insert(tx, &e)
        }
    }
}

fn new_event(
    rec: &Record,
    uid: String,
    filters: &Filters,
    resolver: &mut Resolver,
) -> Option<NewEvent> {
    let start_us = rec.int("t")?;
    let cwd = rec.get("cwd").unwrap_or(b"");
    let mut e = NewEvent {
        uid,
        cwd: String::from_utf8_lossy(cwd).into_owned(),
        session: rec.text("sid"),
        phase: rec.text("phase").filter(|p| !p.is_empty()),
        tool: rec.text("tool").filter(|t| !t.is_empty()),
        start_us,
        ..NewEvent::default()
    };
    match rec.kind {
        Kind::Start => {
            let argv: Vec<Vec<u8>> = rec.all("a").map(<[u8]>::to_vec).collect();
            if argv.is_empty() || filters.ignored(&display_command(&argv)) {
                return None;
            }
            let argv = filters.argv(&argv);
            e.command = display_command(&argv);
            e.argv = Some(argv.join(&0u8));
            e.source = if rec.get("src") == Some(b"ci") {
                Source::Ci
            } else {
                Source::Exec
            }
            .as_str();
            e.kind = "command";
            e.pid = rec.int("pid");
        }
        Kind::Hook => {
            // An empty text is a line the shell kept out of its history
            // (ignorespace): the run counts, its text is not kept.
            let text = rec.text("cmd").unwrap_or_default();
            if runs_wrapper(&text) || filters.ignored(&text) {
                return None;
            }
            e.command = filters.text(&text);
            e.source = Source::Hook.as_str();
            e.kind = "command";
            let code = rec.int("exit").map(|c| c as i32);
            e.finish = Some(Finish {
                end_us: start_us + rec.int("dur").unwrap_or(0).max(0),
                exit_code: code,
                pipestatus: rec.text("ps").filter(|p| !p.is_empty()),
                ..Finish::default()
            });
        }
        Kind::Phase => {
            let phase = e.phase.clone()?;
            e.command = format!("mt phase {phase}");
            e.source = Source::Exec.as_str();
            e.kind = "marker";
            e.finish = Some(Finish {
                end_us: start_us,
                ..Finish::default()
            });
        }
        Kind::End => return None,
    }
    let hint = rec
        .get("root")
        .map(|r| (Path::new(std::ffi::OsStr::from_bytes(r)), rec.text("head")));
    // The fish hook reads HEAD after the command (`hend=1`): for a git
    // command that moved HEAD itself, that is the branch it moved to, so
    // look for the move inside the run. (bash and zsh read it at the prompt.)
    let during = e
        .finish
        .as_ref()
        .filter(|_| rec.get("hend") == Some(b"1") && e.command.contains("git"))
        .map(|f| (start_us, f.end_us));
    let place = resolver.resolve(
        Path::new(std::ffi::OsStr::from_bytes(cwd)),
        hint,
        start_us,
        during,
    );
    e.repo = place.repo;
    e.branch = place.branch;
    e.head = place.commit;
    Some(e)
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
