//! Starting a daemon when none runs (std only: `mt exec` calls this).
//!
//! Under `start.lock` so that fifty parallel first calls start one daemon;
//! the daemon itself also exits at once if another holds the ingest lock.
//! Detached (new session, cwd `/`, stdin and stdout on /dev/null, stderr to
//! the daemon log) so that `mt exec true | cat` and `$(mt exec echo hi)`
//! never wait for it. Never waits for the daemon to come up.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::error::{Context, Result};

use crate::paths::{self, Paths};
use crate::secure;

/// Does anything accept connections on the socket? One `connect`, no
/// round trip (after `mt exec`, only when the ingest lock is free).
pub fn listening(paths: &Paths) -> bool {
    UnixStream::connect(&paths.socket).is_ok()
}

/// Who holds the ingest lock: `None` when nobody does, else the build the
/// holder wrote into it (empty for a reader catching up, or a daemon of a
/// build before this one). The daemon holds the lock for its whole life,
/// so this tells that one runs without waking it, where a `connect` makes
/// its accept loop run after every `mt exec` (BENCHMARKS.md).
fn lock_holder(paths: &Paths) -> Option<String> {
    use std::io::Read;
    let file = held_open(&paths.ingest_lock())?;
    let mut build = String::new();
    let _ = file.take(128).read_to_string(&mut build);
    Some(build)
}

/// Write this build into the ingest lock the daemon holds, so `mt exec`
/// can tell a daemon of another build without asking it.
pub fn sign_lock(lock: &mut File, build: &str) {
    use std::io::Write;
    let _ = lock.set_len(0);
    let _ = lock.write_all(build.as_bytes());
}

/// Is a daemon on its way? One holds the start lock from its spawn until
/// its socket listens, which can take seconds when it must first wait for
/// a catch-up's ingest lock.
pub fn starting(paths: &Paths) -> bool {
    held(&paths.start_lock())
}

/// A lock file that is missing or cannot be opened says no.
fn held(lock: &std::path::Path) -> bool {
    held_open(lock).is_some()
}

/// The lock file, open, when someone holds it.
fn held_open(lock: &std::path::Path) -> Option<File> {
    let file = File::open(lock).ok()?;
    matches!(
        file.try_lock_shared(),
        Err(std::fs::TryLockError::WouldBlock)
    )
    .then_some(file)
}

/// Start a daemon unless one runs or auto-start is off. The lock probe
/// comes first; the socket is tried only when the lock is free, since
/// systemd may hold the socket for a daemon it starts on the first
/// connection (and a catch-up ingest, which also takes the lock, is brief:
/// the next run checks again).
///
/// A daemon of another build (an upgrade installed while it ran; it signed
/// the lock) is replaced: ours retires it as it starts, the old one drains
/// the spool as it stops, so no record is lost and the next one is stored
/// under this build's rules. `ours` is this build's identity
/// (`mt --version`'s text).
pub fn ensure(paths: &Paths, ours: &str) -> Result<()> {
    if paths::no_autostart() {
        return Ok(());
    }
    match lock_holder(paths) {
        Some(build) if build.is_empty() || build == ours => Ok(()),
        // Ours retires it as it starts (`daemon::run`); the front asks
        // nothing of the socket itself.
        Some(_) => start(paths, Listening::Replace),
        None if listening(paths) => Ok(()),
        None => spawn(paths),
    }
}

/// What a start does when a daemon already answers on the socket.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listening {
    /// Leave it: it is ours.
    Keep,
    /// Start ours anyway: the one answering is another build's.
    Replace,
}

/// Start a detached daemon now (under the start lock); returns at once.
pub fn spawn(paths: &Paths) -> Result<()> {
    start(paths, Listening::Keep)
}

fn start(paths: &Paths, listening_one: Listening) -> Result<()> {
    secure::private_dir(&paths.spool)?;
    let Some(lock) = secure::try_lock(&paths.start_lock(), "start")? else {
        return Ok(()); // someone else is starting one right now
    };
    if listening_one == Listening::Keep && listening(paths) {
        return Ok(());
    }
    secure::private_dir(&paths.state)?;
    rotate(&paths.daemon_log());
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(paths.daemon_log())
        .context("could not open the daemon log")?;
    let exe = std::env::current_exe().context("could not find the mt binary")?;
    let mut cmd = Command::new(exe);
    cmd.args(["daemon", "run"])
        .envs(paths::absolute_overrides())
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: setsid and close are async-signal-safe. setsid detaches the
    // daemon from our terminal and process group, so Ctrl-C and hang-ups
    // aimed at the user's command never reach it. Every descriptor above
    // stderr is closed: a shell hands its own to what it starts (a prompt
    // theme's saved copy of the terminal, say), and a daemon that kept one
    // would hold the terminal open after the shell exits (an ssh logout
    // that hangs). Rust's own exec-error pipe goes with them, so a failed
    // exec looks like a start that did not come up; `mt daemon start`
    // waits for the socket and says so.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()?;
            close_from(3);
            Ok(())
        });
    }
    cmd.spawn().context("could not start the daemon")?;
    drop::<File>(lock);
    Ok(())
}

/// The daemon log is kept under `LOG_LIMIT`: past it, it becomes
/// `daemon.log.1` (replacing the previous one) when the next daemon starts.
const LOG_LIMIT: u64 = 1 << 20;

fn rotate(log: &std::path::Path) {
    if std::fs::metadata(log).is_ok_and(|m| m.len() > LOG_LIMIT) {
        let _ = std::fs::rename(log, log.with_extension("log.1"));
    }
}

/// Close every descriptor from `first` up: close_range(2) where the kernel
/// has it (5.9), else one close per number below the soft limit's usual
/// 1024.
fn close_from(first: u32) {
    // SAFETY: raw system calls on descriptor numbers only, in the child
    // between fork and exec (async-signal-safe; nothing else runs).
    unsafe {
        if libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32) == 0 {
            return;
        }
        for fd in first..1024 {
            libc::close(fd as libc::c_int);
        }
    }
}
