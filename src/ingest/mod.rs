//! Spool → store: read what is new in each spool file, parse, drop ignored
//! commands, redact secrets, resolve repo and branch, and commit the events
//! together with each file's new offset in one transaction.
//!
//! Run by the daemon, or by a reader that holds the ingest lock because no
//! daemon runs: there is one writer at a time. Re-reading is harmless
//! (events are keyed by their record's id), so a crash anywhere loses
//! nothing and stores nothing twice.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::TransactionBehavior;

use crate::event::{Source, display_command};

mod resolve;
use crate::redact::Filters;
use crate::spool::record::{Kind, MAX_RECORD, Malformed, Record};
use crate::spool::writer::SHARED;
use crate::store::{self, Finish, NewEvent, Store};
use resolve::Resolver;

/// Most bytes read from one file in one pass; the rest waits for the next.
const CHUNK: u64 = 64 << 20;

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

/// One line read from a spool file.
struct Line {
    offset: u64,
    len: usize,
    parsed: Result<Record, Malformed>,
}

/// What was read from one file.
struct FileRead {
    name: String,
    inode: u64,
    end: u64,
    lines: Vec<Line>,
    writer_gone: bool,
    /// Everything read was consumed: nothing cut off is waiting.
    drained: bool,
    /// The read stopped at `CHUNK`: more is waiting.
    more: bool,
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
    for name in spool_files(spool)? {
        let stored = store.offset(&name)?;
        if let Some(read) = read_file(spool, &name, stored)? {
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
                    eprintln!(
                        "mt daemon: set aside {} bytes at {}:{}: {why}",
                        line.len, read.name, line.offset
                    );
                }
            }
        }
        store::write::put_offset(&tx, &read.name, read.inode, read.end)?;
    }
    store::write::mark_unfinished(&tx, &dead)?;
    tx.commit()?;
    for read in &reads {
        if read.drained && (read.writer_gone || read.name == SHARED) {
            remove_drained(store, spool, &read.name, read.inode, read.end)?;
        }
    }
    summary.watch = watch_list(store, spool)?;
    remove_dead_scratch(spool);
    Ok(summary)
}

fn spool_files(spool: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(spool) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("could not read the spool {}", spool.display()));
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".log") && !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

/// The pid in `h-<pid>-…` (shell session) and `x-<pid>-…` (one wrapper) names.
fn writer_pid(name: &str) -> Option<i32> {
    let rest = name
        .strip_prefix("h-")
        .or_else(|| name.strip_prefix("x-"))?;
    rest.split(['-', '.']).next()?.parse().ok()
}

pub(crate) fn alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid, 0) == 0 || *libc::__errno_location() == libc::EPERM };
    // A zombie has exited; its parent just has not collected it yet. The
    // pidfd fires at exit, so a zombie must count as gone.
    exists
        && !fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        })
}

/// Try to take the shared file's exclusive lock: held, no wrapper is mid-write.
fn lock_exclusive(file: &File) -> bool {
    // SAFETY: flock on a descriptor we own; released when `file` closes.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

fn read_file(spool: &Path, name: &str, stored: Option<(u64, u64)>) -> Result<Option<FileRead>> {
    let path = spool.join(name);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("could not open {}", path.display())),
    };
    let meta = file.metadata()?;
    let inode = meta.ino();
    // An offset belongs to one inode: a new file under an old name starts at 0.
    let start = match stored {
        Some((ino, off)) if ino == inode && off <= meta.len() => off,
        _ => 0,
    };
    let mut writer_gone = match writer_pid(name) {
        Some(pid) => !alive(pid),
        None if name == SHARED => false,
        None => true,
    };
    let mut buf = read_from(&mut file, start)?;
    let complete = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if complete < buf.len() && name == SHARED && lock_exclusive(&file) {
        // No wrapper is mid-write: whatever tail is there now is final.
        writer_gone = true;
        buf = read_from(&mut file, start)?;
    }
    let more = buf.len() as u64 >= CHUNK;
    let mut lines = Vec::new();
    let mut pos = 0;
    while let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') {
        let line = &buf[pos..pos + nl];
        if !line.is_empty() {
            lines.push(Line {
                offset: start + pos as u64,
                len: line.len(),
                parsed: Record::parse(line),
            });
        }
        pos += nl + 1;
    }
    let tail = buf.len() - pos;
    // A cut-off last record stays while its writer may still finish it; once
    // the writer is gone (or no record could be that long) it is set aside.
    let whole_chunk_one_line = more && pos == 0;
    if tail > 0 && (whole_chunk_one_line || (!more && (writer_gone || tail > MAX_RECORD))) {
        let why = if tail > MAX_RECORD || whole_chunk_one_line {
            Malformed::TooLong
        } else {
            Malformed::Truncated
        };
        lines.push(Line {
            offset: start + pos as u64,
            len: tail,
            parsed: Err(why),
        });
        pos = buf.len();
    }
    Ok(Some(FileRead {
        name: name.to_owned(),
        inode,
        end: start + pos as u64,
        lines,
        writer_gone,
        drained: !more && pos == buf.len(),
        more,
    }))
}

fn read_from(file: &mut File, start: u64) -> Result<Vec<u8>> {
    file.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::new();
    file.take(CHUNK).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Remove a file that is read to its end and that no writer can append to.
fn remove_drained(store: &mut Store, spool: &Path, name: &str, inode: u64, end: u64) -> Result<()> {
    let path = spool.join(name);
    let Ok(file) = File::open(&path) else {
        return Ok(());
    };
    // For the shared file, the exclusive lock keeps wrappers out until the
    // file is gone; they then reopen the path and make a new one.
    if name == SHARED && !lock_exclusive(&file) {
        return Ok(());
    }
    let meta = file.metadata()?;
    if meta.ino() != inode || meta.len() != end {
        return Ok(());
    }
    // Forget the offset first: if we die before the unlink, the file is read
    // again from 0, which stores nothing twice; the reverse could let a new
    // file that reuses the inode number skip its first records.
    let tx = store.conn.transaction()?;
    store::write::drop_offset(&tx, name)?;
    tx.commit()?;
    fs::remove_file(&path).with_context(|| format!("could not remove {}", path.display()))?;
    Ok(())
}

/// The bash hook's scratch file `.t-<pid>` outlives its shell; remove it then.
fn remove_dead_scratch(spool: &Path) {
    let Ok(entries) = fs::read_dir(spool) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(".t-"))
            .and_then(|p| p.parse().ok())
        else {
            continue;
        };
        if !alive(pid) {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn watch_list(store: &Store, spool: &Path) -> Result<Vec<i32>> {
    let mut pids: Vec<i32> = store
        .running()?
        .into_iter()
        .map(|(_, p)| p as i32)
        .collect();
    pids.extend(spool_files(spool)?.iter().filter_map(|n| writer_pid(n)));
    if let Ok(entries) = fs::read_dir(spool) {
        let scratch = entries.flatten().filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix(".t-")?
                .parse::<i32>()
                .ok()
        });
        pids.extend(scratch);
    }
    pids.retain(|&p| p > 0);
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
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

    #[test]
    fn writer_pids() {
        assert_eq!(writer_pid("h-1234-1700000000.123.log"), Some(1234));
        assert_eq!(writer_pid("x-99-123.log"), Some(99));
        assert_eq!(writer_pid("exec.log"), None);
    }
}
