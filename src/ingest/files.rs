//! Reading spool files: from the stored offset (bound to an inode), line by
//! line; a cut last line waits while its writer lives; drained files of
//! gone writers are removed. Writer liveness: the shared file's `flock`,
//! or the pid in a per-writer file's name.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context, Result};

use crate::spool::record::{MAX_RECORD, Malformed, Record};
use crate::spool::writer::SHARED;
use crate::store::{self, Store};

/// Most bytes read from one file in one pass; the rest waits for the next.
const CHUNK: u64 = 64 << 20;

/// One line read from a spool file.
pub(super) struct Line {
    pub(super) offset: u64,
    pub(super) len: usize,
    pub(super) parsed: Result<Record, Malformed>,
}

/// What was read from one file.
pub(super) struct FileRead {
    pub(super) name: String,
    pub(super) inode: u64,
    pub(super) end: u64,
    pub(super) lines: Vec<Line>,
    pub(super) writer_gone: bool,
    /// Everything read was consumed: nothing cut off is waiting.
    pub(super) drained: bool,
    /// The read stopped at `CHUNK`: more is waiting.
    pub(super) more: bool,
}

/// What the spool dir holds, listed once per pass: record files (sorted)
/// and the pids of the bash hook's scratch files `.t-<pid>`.
#[derive(Debug, Default)]
pub(super) struct Listing {
    pub(super) logs: Vec<String>,
    pub(super) scratch: Vec<i32>,
}

pub(super) fn list(spool: &Path) -> Result<Listing> {
    let entries = match fs::read_dir(spool) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Listing::default()),
        Err(e) => {
            return Err(e).with_context(|| format!("could not read the spool {}", spool.display()));
        }
    };
    let mut listing = Listing::default();
    // Only regular files: a FIFO would block a read for good, a directory
    // fail every pass. And only the user's own: a file another user put in
    // a spool directory left writable is not the user's commands. `mt
    // doctor` names what is skipped.
    let me = nix::unistd::geteuid().as_raw();
    for name in entries
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            use std::os::unix::fs::MetadataExt;
            e.metadata().is_ok_and(|m| m.uid() == me)
        })
        .filter_map(|e| e.file_name().into_string().ok())
    {
        if let Some(pid) = scratch_pid(&name) {
            listing.scratch.push(pid);
        } else if name.ends_with(".log") && !name.starts_with('.') {
            listing.logs.push(name);
        }
    }
    listing.logs.sort();
    Ok(listing)
}

/// The pid in `h-<pid>-…` (shell session) and `x-<pid>-…` (one wrapper) names.
pub(super) fn writer_pid(name: &str) -> Option<i32> {
    let rest = name
        .strip_prefix("h-")
        .or_else(|| name.strip_prefix("x-"))?;
    rest.split(['-', '.']).next()?.parse().ok()
}

pub(crate) fn alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // No signal: only whether the process exists (EPERM: it does, not ours).
    let exists = matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
        Ok(()) | Err(nix::errno::Errno::EPERM)
    );
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
    file.try_lock().is_ok()
}

/// Open a spool file for reading without following a symlink or blocking
/// on a FIFO swapped in after the listing; `None` if it is no regular file.
fn open_regular(path: &Path) -> std::io::Result<Option<File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    Ok(file.metadata()?.is_file().then_some(file))
}

pub(super) fn read_file(
    spool: &Path,
    name: &str,
    stored: Option<(u64, u64)>,
) -> Result<Option<FileRead>> {
    let path = spool.join(name);
    let mut file = match open_regular(&path) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(None),
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
        push_line(&mut lines, start + pos as u64, &buf[pos..pos + nl]);
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

/// One line read, or two: a record glued onto a cut-off one is stored, and
/// only the cut part set aside.
fn push_line(lines: &mut Vec<Line>, offset: u64, line: &[u8]) {
    if line.is_empty() {
        return;
    }
    let parsed = Record::parse(line);
    let glued = parsed
        .as_ref()
        .err()
        .and_then(|_| Record::glued_start(line));
    let Some(at) = glued else {
        lines.push(Line {
            offset,
            len: line.len(),
            parsed,
        });
        return;
    };
    lines.push(Line {
        offset,
        len: at,
        parsed: Err(Malformed::Truncated),
    });
    let rest = &line[at..];
    lines.push(Line {
        offset: offset + at as u64,
        len: rest.len(),
        parsed: Record::parse(rest),
    });
}

/// Overwrite the command text of lines already stored (`(file, inode,
/// offset, len)`), in place and with as many bytes, so offsets hold and a
/// writer appending meanwhile loses nothing. Best effort: the store is
/// committed, and a file gone or replaced (another inode) is left alone.
pub(super) fn scrub(spool: &Path, lines: &[(&str, u64, u64, usize)]) {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    let mut open: Option<(&str, File)> = None;
    for &(name, inode, offset, len) in lines {
        if open.as_ref().is_none_or(|(n, _)| *n != name) {
            open = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(spool.join(name))
                .ok()
                .filter(|f| f.metadata().is_ok_and(|m| m.ino() == inode))
                .map(|f| (name, f));
        }
        let Some((_, file)) = &open else { continue };
        let mut line = vec![0; len];
        if file.read_exact_at(&mut line, offset).is_err() {
            continue;
        }
        for span in Record::command_spans(&line) {
            line[span].fill(b'*');
        }
        let _ = file.write_all_at(&line, offset);
    }
}

fn read_from(file: &mut File, start: u64) -> Result<Vec<u8>> {
    file.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::new();
    file.take(CHUNK).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Remove a file that is read to its end and that no writer can append to.
pub(super) fn remove_drained(
    store: &mut Store,
    spool: &Path,
    name: &str,
    inode: u64,
    end: u64,
) -> Result<bool> {
    let path = spool.join(name);
    let Ok(Some(file)) = open_regular(&path) else {
        return Ok(false);
    };
    // For the shared file, the exclusive lock keeps wrappers out until the
    // file is gone; they then reopen the path and make a new one.
    if name == SHARED && !lock_exclusive(&file) {
        return Ok(false);
    }
    let meta = file.metadata()?;
    if meta.ino() != inode || meta.len() != end {
        return Ok(false);
    }
    // Forget the offset first: if we die before the unlink, the file is read
    // again from 0, which stores nothing twice; the reverse could let a new
    // file that reuses the inode number skip its first records.
    let tx = store.conn.transaction()?;
    store::write::drop_offset(&tx, name)?;
    tx.commit()?;
    fs::remove_file(&path).with_context(|| format!("could not remove {}", path.display()))?;
    Ok(true)
}

/// The bash hook's scratch files `.t-<pid>` in `dir` (the runtime dir)
/// whose shells have exited.
pub fn sweep_scratch(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let pids: Vec<i32> = entries
        .filter_map(|e| scratch_pid(&e.ok()?.file_name().into_string().ok()?))
        .collect();
    remove_dead_scratch(dir, &pids);
}

/// The shell's pid in a scratch file's name, `.t-<pid>`.
fn scratch_pid(name: &str) -> Option<i32> {
    name.strip_prefix(".t-")?.parse().ok()
}

/// The bash hook's scratch file `.t-<pid>` outlives its shell; remove it then.
pub(super) fn remove_dead_scratch(dir: &Path, scratch: &[i32]) {
    for &pid in scratch {
        if !alive(pid) {
            let _ = fs::remove_file(dir.join(format!(".t-{pid}")));
        }
    }
}

pub(super) fn watch_list(store: &Store, logs: &[String], scratch: &[i32]) -> Result<Vec<i32>> {
    let mut pids: Vec<i32> = store
        .running()?
        .into_iter()
        .map(|(_, p)| p as i32)
        .collect();
    pids.extend(logs.iter().filter_map(|n| writer_pid(n)));
    pids.extend(scratch);
    pids.retain(|&p| p > 0);
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_pids() {
        assert_eq!(writer_pid("h-1234-1700000000.123.log"), Some(1234));
        assert_eq!(writer_pid("x-99-123.log"), Some(99));
        assert_eq!(writer_pid("exec.log"), None);
    }
}
