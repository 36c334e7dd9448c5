//! Running a command as if bare: the process side of `mt exec`.
//!
//! Rules (docs/transparency.md): the child inherits stdio (closed ones
//! stay closed), tty, process group, environment, cwd, umask, rlimits,
//! signal mask and the dispositions mt itself started with. While it runs,
//! mt passes on SIGINT and SIGQUIT only when the tty did not already send
//! them to the child, and forwards TERM, HUP, USR1, USR2 and ALRM. std and
//! libc only: nothing here may start threads or allocate much before the
//! fork, or the child's max RSS would include it.

use std::ffi::{CStr, OsString};
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

const FORWARDED: [libc::c_int; 5] = [
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
];

/// Job-control stops. mt does not stop on its own when the tty sends one
/// (the child may ignore it); it stops when the child stops, the same way.
const STOPS: [libc::c_int; 3] = [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU];

static CHILD: AtomicI32 = AtomicI32::new(0);
static PENDING: AtomicI32 = AtomicI32::new(0);
static PIPE_IGNORED: AtomicBool = AtomicBool::new(false);

/// Runs before Rust's runtime sets SIGPIPE to ignored and reopens closed
/// stdio on /dev/null, so we can hand the child what our caller gave us (as
/// `env` does).
#[used]
#[unsafe(link_section = ".init_array")]
static CAPTURE_AT_START: extern "C" fn() = capture_at_start;

extern "C" fn capture_at_start() {
    PIPE_IGNORED.store(is_ignored(libc::SIGPIPE), Ordering::Relaxed);
    // The runtime also opens /dev/null on a closed stdin/stdout/stderr; the
    // child must see them closed, as it would under the bare command.
    let mut closed = 0u8;
    for fd in 0..3 {
        // SAFETY: F_GETFD only asks whether the descriptor is open.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            closed |= 1 << fd;
        }
    }
    CLOSED_STDIO.store(closed, Ordering::Relaxed);
}

/// What Rust's runtime does before `main` that the `mt` front binary, which
/// starts at C's `main` (`front::main`), still needs: SIGPIPE ignored, so a
/// closed stderr is an error and not death, and /dev/null standing in for a
/// closed stdin, stdout or stderr, so no file mt opens lands there. The
/// child gets both as mt's caller left them (`CLOSED_STDIO`,
/// `PIPE_IGNORED`, captured before this runs).
pub fn runtime_defaults() {
    let closed = CLOSED_STDIO.load(Ordering::Relaxed);
    for fd in 0..3 {
        if closed & (1 << fd) != 0 {
            // SAFETY: opening a path; every lower descriptor is open, so the
            // lowest free one, which open returns, is `fd`.
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
    set_handler(libc::SIGPIPE, libc::SIG_IGN);
}

/// Bit n set: descriptor n was closed when mt started.
static CLOSED_STDIO: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

fn is_ignored(sig: libc::c_int) -> bool {
    // SAFETY: querying a disposition with a null new action changes nothing.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &raw mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

fn set_handler(sig: libc::c_int, handler: libc::sighandler_t) {
    install(sig, handler, 0);
}

/// `sigaction` with SA_RESTART plus `flags`, nothing blocked in the handler.
fn install(sig: libc::c_int, handler: libc::sighandler_t, flags: libc::c_int) {
    // SAFETY: installing a handler (or SIG_IGN/SIG_DFL) whose code is
    // async-signal-safe: it reads atomics and calls kill/getpgid/getpgrp.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = handler;
        act.sa_flags = libc::SA_RESTART | flags;
        libc::sigemptyset(&raw mut act.sa_mask);
        libc::sigaction(sig, &raw const act, std::ptr::null_mut());
    }
}

/// SIGINT/SIGQUIT while the child runs. From the terminal they reach the
/// whole foreground process group, so the child has its own already; one
/// sent by a process (`kill -INT`, `timeout -s INT`) reached only mt and is
/// passed on, as is a terminal's when the child left mt's process group.
fn set_interrupt_handler(sig: libc::c_int) {
    install(
        sig,
        interrupt as *const () as libc::sighandler_t,
        libc::SA_SIGINFO,
    );
}

extern "C" fn interrupt(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let code = unsafe { (*info).si_code };
    // SI_USER, SI_QUEUE, SI_TKILL…: zero or negative means a process sent it.
    let from_process = code <= 0;
    let pid = CHILD.load(Ordering::SeqCst);
    // SAFETY: plain syscalls on our own child and process group.
    let child_left = pid > 0 && unsafe { libc::getpgid(pid) != libc::getpgrp() };
    if from_process || child_left {
        forward(sig);
    }
}

extern "C" fn forward(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    } else {
        // No child yet (or we are the child before exec): deliver after spawn.
        PENDING.store(sig, Ordering::SeqCst);
    }
}

/// How the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal { signal: i32, core_dumped: bool },
}

/// What running the command gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit: Exit,
    pub wall: Duration,
    pub user: Duration,
    pub system: Duration,
    pub max_rss_kib: i64,
}

/// The command could not be started; `code` is what the caller must see.
#[derive(Debug)]
pub struct SpawnError {
    pub code: i32,
    pub message: String,
}

/// Run `argv` and wait for it.
pub fn run(argv: &[OsString]) -> Result<Outcome, SpawnError> {
    let ignore_int = !is_ignored(libc::SIGINT);
    let ignore_quit = !is_ignored(libc::SIGQUIT);
    let pipe_ignored = PIPE_IGNORED.load(Ordering::Relaxed);
    if ignore_int {
        set_interrupt_handler(libc::SIGINT);
    }
    if ignore_quit {
        set_interrupt_handler(libc::SIGQUIT);
    }
    for sig in FORWARDED {
        // A signal our caller ignores (nohup, `&` jobs) stays ignored.
        if !is_ignored(sig) {
            set_handler(sig, forward as *const () as libc::sighandler_t);
        }
    }
    // A handler (not SIG_IGN) so the child, whose handlers reset at exec,
    // keeps the default action.
    let follow_stops: Vec<libc::c_int> = STOPS.into_iter().filter(|&s| !is_ignored(s)).collect();
    for &sig in &follow_stops {
        set_handler(sig, nothing as *const () as libc::sighandler_t);
    }
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    let closed_stdio = CLOSED_STDIO.load(Ordering::Relaxed);
    // SAFETY: the closure only calls sigaction, which is async-signal-safe.
    // Having a pre_exec hook also makes std use fork+execvp, whose ENOEXEC
    // fallback runs shebang-less scripts with /bin/sh as `env` does.
    unsafe {
        cmd.pre_exec(move || {
            if ignore_int {
                set_handler(libc::SIGINT, libc::SIG_DFL);
            }
            if ignore_quit {
                set_handler(libc::SIGQUIT, libc::SIG_DFL);
            }
            if pipe_ignored {
                set_handler(libc::SIGPIPE, libc::SIG_IGN);
            }
            for fd in 0..3 {
                if closed_stdio & (1 << fd) != 0 {
                    // SAFETY: closing the runtime's /dev/null stand-in in the child.
                    libc::close(fd);
                }
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let child = cmd.spawn().map_err(|e| spawn_error(&argv[0], &e))?;
    let pid = child.id() as libc::pid_t;
    CHILD.store(pid, Ordering::SeqCst);
    let pending = PENDING.swap(0, Ordering::SeqCst);
    if pending != 0 {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid, pending) };
    }
    let (status, usage) = wait(pid, &follow_stops).map_err(|e| SpawnError {
        code: 125,
        message: format!("could not wait for the command: {e}"),
    })?;
    let wall = started.elapsed();
    CHILD.store(0, Ordering::SeqCst);
    let exit = if libc::WIFSIGNALED(status) {
        Exit::Signal {
            signal: libc::WTERMSIG(status),
            core_dumped: libc::WCOREDUMP(status),
        }
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    };
    Ok(Outcome {
        exit,
        wall,
        user: timeval(usage.ru_utime),
        system: timeval(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
    })
}

extern "C" fn nothing(_: libc::c_int) {}

/// Wait for the child to end. When it stops, stop the same way (so the
/// shell's job control sees it), and continue it when we are continued.
fn wait(pid: libc::pid_t, follow_stops: &[libc::c_int]) -> io::Result<(libc::c_int, libc::rusage)> {
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::wait4(pid, &raw mut status, libc::WUNTRACED, &raw mut usage) };
        if r == pid && libc::WIFSTOPPED(status) {
            stop_like(pid, libc::WSTOPSIG(status), follow_stops);
            continue;
        }
        if r == pid {
            return Ok((status, usage));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// The child stopped with `sig`: stop with it too, then continue the child.
fn stop_like(pid: libc::pid_t, sig: libc::c_int, follow_stops: &[libc::c_int]) {
    let ours = follow_stops.contains(&sig);
    // A stop mt does not follow by handler (SIGSTOP, or one our caller
    // ignores) is taken as SIGSTOP, which cannot be ignored.
    let stop = if ours { sig } else { libc::SIGSTOP };
    if ours {
        set_handler(stop, libc::SIG_DFL);
    }
    // SAFETY: stopping ourselves; execution resumes here on SIGCONT.
    unsafe { libc::raise(stop) };
    if ours {
        set_handler(stop, nothing as *const () as libc::sighandler_t);
    }
    // SAFETY: continuing our own child (already running if the shell's
    // SIGCONT reached its process group too).
    unsafe { libc::kill(pid, libc::SIGCONT) };
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64)
}

fn spawn_error(program: &OsString, err: &io::Error) -> SpawnError {
    let errno = err.raw_os_error().unwrap_or(0);
    // coreutils' convention (system.h): 127 not found, 126 found but not
    // runnable, 125 our own failure (no process could be made).
    let code = match errno {
        libc::ENOENT => 127,
        libc::EAGAIN | libc::ENOMEM => 125,
        _ => 126,
    };
    SpawnError {
        code,
        message: format!("{}: {}", program.to_string_lossy(), strerror(errno, err)),
    }
}

fn strerror(errno: i32, err: &io::Error) -> String {
    if errno == 0 {
        return err.to_string();
    }
    // SAFETY: strerror returns a valid C string for any errno; we copy it at once.
    unsafe { CStr::from_ptr(libc::strerror(errno)) }
        .to_string_lossy()
        .into_owned()
}

/// Leave the way the child left: its exit code, or death by its signal.
pub fn exit_like(exit: Exit) -> ! {
    match exit {
        Exit::Code(code) => std::process::exit(code),
        Exit::Signal { signal, .. } => {
            // SAFETY: make sure the default action runs (a shell loop around
            // us must see the signal, not 128+N) without dumping a second core.
            unsafe {
                libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
                set_handler(signal, libc::SIG_DFL);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&raw mut set);
                libc::sigaddset(&raw mut set, signal);
                libc::sigprocmask(libc::SIG_UNBLOCK, &raw const set, std::ptr::null_mut());
                libc::raise(signal);
            }
            std::process::exit(128 + signal)
        }
    }
}
