//! Appending records: what `mt exec` and `mt phase` do (std only).
//!
//! `exec.log` is shared by every wrapper. A writer holds a shared `flock`
//! while it appends and checks that the file it opened is still the one at
//! the path; the daemon removes a drained file only under the exclusive
//! lock. So no record is ever written into a file that was just removed.
//! Each record goes out in one `write` on an `O_APPEND` descriptor, so
//! concurrent writers never interleave. `mt exec` keeps the file open,
//! unlocked, between its start and end records (`Appender`).

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::secure;

/// The file all wrappers share.
pub const SHARED: &str = "exec.log";

/// Append one encoded record to the shared spool file in `dir`.
pub fn append(dir: &Path, record: &[u8]) -> Result<()> {
    Appender::new(dir).append(record)
}

/// Appends records to the shared spool file of `dir`, keeping the file
/// open between them: `mt exec` writes a start and an end record around
/// its child, and opening the file again and checking the directory again
/// were a tenth of its system calls.
pub struct Appender {
    dir: PathBuf,
    /// The file last written to, unlocked: the daemon may drain and remove
    /// it meanwhile, which the next append sees and opens the new one.
    /// Close-on-exec, as std opens every file: the child never sees it.
    file: Option<File>,
    dir_checked: bool,
}

impl Appender {
    pub fn new(dir: &Path) -> Appender {
        Appender {
            dir: dir.to_owned(),
            file: None,
            dir_checked: false,
        }
    }

    pub fn append(&mut self, record: &[u8]) -> Result<()> {
        let _guard = NoSigxfsz::new();
        if !self.dir_checked {
            secure::private_dir(&self.dir)?;
            self.dir_checked = true;
        }
        let path = self.dir.join(SHARED);
        let deadline = Instant::now() + Duration::from_millis(100);
        loop {
            let file = match self.file.take() {
                Some(file) => file,
                None => match open_shared(&path)? {
                    Some(file) => file,
                    None => return append_private(&self.dir, record),
                },
            };
            match lock(&file, &path, deadline)? {
                Locked::Current { len } => {
                    write_record(&file, len, record)?;
                    file.unlock()?;
                    self.file = Some(file);
                    return Ok(());
                }
                Locked::Replaced => continue,
                Locked::Unusable => return append_private(&self.dir, record),
            }
        }
    }
}

/// The shared file opened; `None` when something other than a file took
/// its name (a directory, a link): the record then goes to a file of the
/// writer's own, and doctor names the intruder.
fn open_shared(path: &Path) -> io::Result<Option<File>> {
    match open_unchecked(path) {
        Ok(file) => Ok(Some(file)),
        Err(_) if fs::symlink_metadata(path).is_ok_and(|m| !m.is_file()) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What taking the shared lock on a file opened at `path` found.
enum Locked {
    /// Locked, and still the file at `path`, of this length.
    Current { len: u64 },
    /// The daemon removed it (or put another in its place) since it was
    /// opened: open the one at `path` now.
    Replaced,
    /// Not to be written: a FIFO took the name, or the daemon holds the
    /// file much longer than it ever should (stopped, say).
    Unusable,
}

fn lock(file: &File, path: &Path, deadline: Instant) -> io::Result<Locked> {
    if !lock_shared(file, deadline)? {
        return Ok(Locked::Unusable);
    }
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(Locked::Unusable);
    }
    match fs::metadata(path) {
        Ok(m) if (m.dev(), m.ino()) == (meta.dev(), meta.ino()) => {
            Ok(Locked::Current { len: meta.len() })
        }
        Ok(_) => Ok(Locked::Replaced),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Locked::Replaced),
        Err(e) => Err(e),
    }
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

/// Append to a shell session's own file (`h-<pid>-<sid>.log`); no lock:
/// the daemon leaves it alone while that shell lives.
pub fn append_session(dir: &Path, name: &str, record: &[u8]) -> Result<()> {
    secure::private_dir(dir)?;
    append_to(&dir.join(name), record)
}

/// A file only this process writes: `x-<pid>-<nanos>.log`. The daemon
/// drains it and removes it once the process is gone.
fn append_private(dir: &Path, record: &[u8]) -> Result<()> {
    let nanos = crate::clock::since_epoch().as_nanos();
    let path = dir.join(format!("x-{}-{nanos}.log", std::process::id()));
    append_to(&path, record)
}

/// Append `record` to the file at `path`, a file only this writer appends
/// to (no lock).
fn append_to(path: &Path, record: &[u8]) -> Result<()> {
    let (file, len) = open(path)?;
    write_record(&file, len, record)?;
    Ok(())
}

/// The file at `path` opened for appending, and its length; an error when
/// it is not a regular file.
fn open(path: &Path) -> io::Result<(File, u64)> {
    let file = open_unchecked(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file; remove it",
            path.display()
        )));
    }
    Ok((file, meta.len()))
}

fn open_unchecked(path: &Path) -> io::Result<File> {
    // Readable too: a writer looks at the last byte to start on a fresh line.
    // Never blocks on a FIFO put in the spool's place, never follows a link.
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
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
/// `len` is the file's length as the caller found it.
fn write_record(file: &File, len: u64, record: &[u8]) -> io::Result<()> {
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
