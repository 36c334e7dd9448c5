//! Appending records: what `mt exec` and `mt phase` do (std only).
//!
//! `exec.log` is shared by every wrapper. A writer holds a shared `flock`
//! while it appends and checks that the file it opened is still the one at
//! the path; the daemon removes a drained file only under the exclusive
//! lock. So no record is ever written into a file that was just removed.
//! Each record goes out in one `write` on an `O_APPEND` descriptor, so
//! concurrent writers never interleave.

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::secure;

/// The file all wrappers share.
pub const SHARED: &str = "exec.log";

/// Append one encoded record to the shared spool file in `dir`.
pub fn append(dir: &Path, record: &[u8]) -> anyhow::Result<()> {
    let _guard = NoSigxfsz::new();
    append_shared(dir, record)
}

/// While alive, a write past `RLIMIT_FSIZE` fails with EFBIG instead of
/// killing mt with SIGXFSZ: recording must never change the outcome. The
/// previous disposition comes back on drop, so the child inherits the
/// caller's.
struct NoSigxfsz(Option<SigAction>);

impl NoSigxfsz {
    fn new() -> NoSigxfsz {
        let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
        // SAFETY: SIG_IGN runs no code in the handler; the old disposition
        // comes back in drop.
        NoSigxfsz(unsafe { sigaction(Signal::SIGXFSZ, &ignore) }.ok())
    }
}

impl Drop for NoSigxfsz {
    fn drop(&mut self) {
        if let Some(old) = &self.0 {
            // SAFETY: restoring the disposition saved in new().
            let _ = unsafe { sigaction(Signal::SIGXFSZ, old) };
        }
    }
}

fn append_shared(dir: &Path, record: &[u8]) -> anyhow::Result<()> {
    secure::private_dir(dir)?;
    let path = dir.join(SHARED);
    // Something other than a file took the shared file's name (a FIFO, a
    // directory): record in a file of our own; doctor names the intruder.
    if fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
        return append_private(dir, record);
    }
    let deadline = Instant::now() + Duration::from_millis(100);
    loop {
        let file = open(&path)?;
        if !lock_shared(&file, deadline)? {
            // The daemon holds the file much longer than it ever should
            // (stopped, say): write to a file of our own instead of waiting.
            return append_private(dir, record);
        }
        // The daemon may have removed the file between our open and our lock.
        match fs::metadata(&path) {
            Ok(m) if m.ino() == file.metadata()?.ino() => {}
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        }
        write_record(&file, record)?;
        return Ok(());
    }
}

/// Append to a shell session's own file (`h-<pid>-<sid>.log`); no lock:
/// the daemon leaves it alone while that shell lives.
pub fn append_session(dir: &Path, name: &str, record: &[u8]) -> anyhow::Result<()> {
    secure::private_dir(dir)?;
    write_record(&open(&dir.join(name))?, record)?;
    Ok(())
}

/// A file only this process writes: `x-<pid>-<nanos>.log`. The daemon
/// drains it and removes it once the process is gone.
fn append_private(dir: &Path, record: &[u8]) -> anyhow::Result<()> {
    let nanos = crate::clock::since_epoch().as_nanos();
    let path = dir.join(format!("x-{}-{nanos}.log", std::process::id()));
    write_record(&open(&path)?, record)?;
    Ok(())
}

fn open(path: &Path) -> io::Result<File> {
    // Readable too: a writer looks at the last byte to start on a fresh line.
    // Never blocks on a FIFO put in the spool's place, never follows a link.
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file; remove it",
            path.display()
        )));
    }
    Ok(file)
}

fn lock_shared(file: &File, deadline: Instant) -> io::Result<bool> {
    loop {
        match file.try_lock_shared() {
            Ok(()) => return Ok(true),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// Write `record` in one call, on a fresh line even if an earlier writer
/// was cut off mid-record (its remains then stay a line of their own).
fn write_record(file: &File, record: &[u8]) -> io::Result<()> {
    let len = file.metadata()?.len();
    let mut last = [b'\n'];
    if len > 0 {
        file.read_exact_at(&mut last, len - 1)?;
    }
    if last[0] == b'\n' {
        (&*file).write_all(record)
    } else {
        let mut buf = Vec::with_capacity(record.len() + 1);
        buf.push(b'\n');
        buf.extend_from_slice(record);
        (&*file).write_all(&buf)
    }
}
