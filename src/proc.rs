//! The one way mt runs a child process (git above all) off the hot path.
//!
//! Every child gets a time limit, and its output is read while its input
//! is written: a pipe holds 64 KiB, so a parent that writes a child's whole
//! stdin before reading its stdout waits for ever once the child has more
//! to say than that (it hung `git pull` through the post-merge hook). Two
//! children can also be joined by a pipe between them ([`pipe`]), so
//! `git log -p | git patch-id` streams instead of passing through mt.
//!
//! A process-wide deadline ([`set_budget`]) caps every child started after
//! it: a git hook gives up within its budget, whatever it was doing.
//! `mt exec` never comes here: it has its own fork/exec (`wrapper`).

use std::ffi::OsStr;
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The limit of one child when its caller names none: generous for git
/// plumbing on a large repository, short enough that nothing hangs.
pub(crate) const DEFAULT_LIMIT: Duration = Duration::from_secs(30);

/// How much of a child's stderr is kept for the message.
const STDERR_KEPT: usize = 4096;

static DEADLINE: OnceLock<Instant> = OnceLock::new();

/// From now on no child runs past `budget` from now (the first call wins).
pub(crate) fn set_budget(budget: Duration) {
    let _ = DEADLINE.set(Instant::now() + budget);
}

/// Why a child gave nothing usable.
#[derive(Debug)]
pub(crate) enum Error {
    /// It could not be started (not installed, not executable).
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// It ran past its time limit and was killed.
    TimedOut { program: String, limit: Duration },
    /// It exited unsuccessfully; the first line of its stderr.
    Failed {
        program: String,
        status: ExitStatus,
        stderr: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spawn { program, source } => {
                write!(
                    f,
                    "could not run {program} ({source}); is it installed and on PATH?"
                )
            }
            Error::TimedOut { program, limit } => write!(
                f,
                "{program} took longer than {:.1} s and was stopped; run it again when the machine is less busy",
                limit.as_secs_f64()
            ),
            Error::Failed {
                program,
                status,
                stderr,
            } if stderr.is_empty() => write!(f, "{program} failed ({status})"),
            Error::Failed {
                program, stderr, ..
            } => write!(f, "{program} failed: {stderr}"),
        }
    }
}

impl std::error::Error for Error {}

/// What a finished child gave.
#[derive(Debug)]
pub(crate) struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// Its stdout as text, trimmed.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_owned()
    }
}

/// A child to run: a program, its arguments, its input and its limit.
pub(crate) struct Cmd {
    name: String,
    command: Command,
    input: Option<Vec<u8>>,
    limit: Duration,
}

impl Cmd {
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Cmd {
        let program = program.as_ref();
        Cmd {
            name: program.to_string_lossy().into_owned(),
            command: Command::new(program),
            input: None,
            limit: DEFAULT_LIMIT,
        }
    }

    /// `git` run in `root`, its prompts off (a hook has no terminal).
    pub(crate) fn git(root: &Path) -> Cmd {
        let mut cmd = Cmd::new("git");
        cmd.command
            .current_dir(root)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_OPTIONAL_LOCKS", "0");
        cmd
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.command.arg(arg);
        self
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Bytes for its stdin, written while its output is read.
    pub(crate) fn input(mut self, bytes: Vec<u8>) -> Cmd {
        self.input = Some(bytes);
        self
    }

    /// A time limit of its own (the default is `DEFAULT_LIMIT`).
    pub(crate) fn limit(mut self, limit: Duration) -> Cmd {
        self.limit = limit;
        self
    }

    /// This child's limit now: its own, or what is left of the budget.
    fn effective_limit(&self) -> Duration {
        let own = self.limit;
        match DEADLINE.get() {
            Some(d) => own.min(d.saturating_duration_since(Instant::now())),
            None => own,
        }
    }

    /// Run it to the end (or its limit), whatever its status.
    pub(crate) fn output(self) -> Result<Output, Error> {
        let limit = self.effective_limit();
        let Cmd {
            name,
            mut command,
            input,
            ..
        } = self;
        command
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn(&name, &mut command, limit)?;
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            // A child that stops reading early closes the pipe: EPIPE here
            // is its business, its status tells.
            thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        let mut children = [(name, child)];
        collect(&mut children, limit)
    }

    /// Run it; its stdout, trimmed, when it exits 0.
    pub(crate) fn text(self) -> Result<String, Error> {
        let name = self.name.clone();
        let out = self.output()?;
        succeeded(&name, &out)?;
        Ok(out.text())
    }

    /// Did it exit 0? A failure to run is an error; a non-zero exit a no.
    pub(crate) fn check(self) -> Result<bool, Error> {
        self.output().map(|o| o.status.success())
    }
}

/// `a | b`: `a`'s stdout feeds `b`'s stdin directly (mt holds neither),
/// under one limit for both; `b`'s output. An `a` that failed fails it.
pub(crate) fn pipe(a: Cmd, b: Cmd) -> Result<Output, Error> {
    let limit = a.effective_limit().min(b.effective_limit());
    let (a_name, mut a_cmd) = (a.name, a.command);
    let (b_name, mut b_cmd) = (b.name, b.command);
    a_cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut first = spawn(&a_name, &mut a_cmd, limit)?;
    let Some(feed) = first.stdout.take() else {
        unreachable!("stdout was piped")
    };
    b_cmd
        .stdin(Stdio::from(feed))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let second = match spawn(&b_name, &mut b_cmd, limit) {
        Ok(c) => c,
        Err(e) => {
            let _ = first.kill();
            let _ = first.wait();
            return Err(e);
        }
    };
    let mut children = [(a_name, first), (b_name, second)];
    collect(&mut children, limit)
}

fn spawn(name: &str, command: &mut Command, limit: Duration) -> Result<Child, Error> {
    if limit.is_zero() {
        return Err(Error::TimedOut {
            program: name.to_owned(),
            limit,
        });
    }
    command.spawn().map_err(|source| Error::Spawn {
        program: name.to_owned(),
        source,
    })
}

/// Drain every child's pipes on threads until they close or the limit
/// passes (then kill them all), reap them, and give the last child's
/// output; the first child that failed is the error.
fn collect(children: &mut [(String, Child)], limit: Duration) -> Result<Output, Error> {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let last = children.len() - 1;
    let mut pending = 0;
    for (i, (_, child)) in children.iter_mut().enumerate() {
        if let Some(out) = child.stdout.take() {
            pending += 1;
            drain(out, tx.clone(), i, Stream::Out, usize::MAX);
        }
        if let Some(err) = child.stderr.take() {
            pending += 1;
            drain(err, tx.clone(), i, Stream::Err, STDERR_KEPT);
        }
    }
    drop(tx);
    let mut outputs: Vec<(Vec<u8>, Vec<u8>)> = vec![Default::default(); children.len()];
    while pending > 0 {
        let left = limit.saturating_sub(started.elapsed());
        match rx.recv_timeout(left) {
            Ok((i, Stream::Out, bytes)) => outputs[i].0 = bytes,
            Ok((i, Stream::Err, bytes)) => outputs[i].1 = bytes,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                for (_, child) in children.iter_mut() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                return Err(Error::TimedOut {
                    program: children[last].0.clone(),
                    limit,
                });
            }
        }
        pending -= 1;
    }
    let mut result = None;
    for (i, (name, child)) in children.iter_mut().enumerate() {
        let status = child.wait().map_err(|source| Error::Spawn {
            program: name.clone(),
            source,
        })?;
        let (stdout, stderr) = std::mem::take(&mut outputs[i]);
        let out = Output {
            status,
            stdout,
            stderr,
        };
        if i < last {
            succeeded(name, &out)?;
        } else {
            result = Some(out);
        }
    }
    Ok(result.expect("at least one child"))
}

#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// Read `from` to its end on a thread, keeping at most `keep` bytes.
fn drain(
    mut from: impl Read + Send + 'static,
    to: mpsc::Sender<(usize, Stream, Vec<u8>)>,
    i: usize,
    stream: Stream,
    keep: usize,
) {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match from.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let room = keep.saturating_sub(bytes.len()).min(n);
                    bytes.extend_from_slice(&chunk[..room]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = to.send((i, stream, bytes));
    });
}

/// An error for a child that exited unsuccessfully.
fn succeeded(name: &str, out: &Output) -> Result<(), Error> {
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().map(str::trim).find(|l| !l.is_empty());
    Err(Error::Failed {
        program: name.to_owned(),
        status: out.status,
        stderr: crate::display::safe(line.unwrap_or("")).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_that_answers_more_than_a_pipe_holds_does_not_block() {
        // 4 MiB through `cat`: written and read at once, or it would hang.
        let bytes = vec![b'x'; 4 << 20];
        let out = Cmd::new("cat").input(bytes.clone()).output().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), bytes.len());
    }

    #[test]
    fn a_pipeline_streams_between_its_children() {
        let a = Cmd::new("sh").args(["-c", "head -c 3000000 /dev/zero"]);
        let b = Cmd::new("wc").arg("-c");
        let out = pipe(a, b).unwrap();
        assert_eq!(out.text(), "3000000");
    }

    #[test]
    fn a_child_past_its_limit_is_stopped_with_a_clear_error() {
        let started = Instant::now();
        let err = Cmd::new("sleep")
            .arg("30")
            .limit(Duration::from_millis(200))
            .output()
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "{err}");
        assert!(matches!(err, Error::TimedOut { .. }), "{err}");
        assert!(err.to_string().starts_with("sleep took longer than 0.2 s"));
    }

    #[test]
    fn failures_name_the_program_and_its_first_error_line() {
        let err = Cmd::new("sh")
            .args(["-c", "echo 'fatal: bad thing' >&2; exit 3"])
            .text()
            .unwrap_err();
        assert_eq!(err.to_string(), "sh failed: fatal: bad thing");
        let err = Cmd::new("/no/such/program").output().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("could not run /no/such/program (")
        );
    }

    #[test]
    fn a_failing_first_child_of_a_pipe_is_the_error() {
        let a = Cmd::new("sh").args(["-c", "echo nope >&2; exit 2"]);
        let err = pipe(a, Cmd::new("cat")).unwrap_err();
        assert_eq!(err.to_string(), "sh failed: nope");
    }
}
