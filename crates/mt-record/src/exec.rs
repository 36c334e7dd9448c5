//! `mt exec`: a start record, the command run as if bare, an end record,
//! then a daemon started if none runs. Recording never changes the
//! outcome: if the spool cannot be written, one warning line, that is all.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::autostart;
use crate::clock::{self, Timestamp};
use crate::domain::{Phase, Source};
use crate::paths::{self, Paths};
use crate::spool::records::{End, Place, Spooled, Start};
use crate::spool::writer;
use crate::wrapper::{self, Exit};

/// What `mt exec` was asked to run: `[--phase P] [--tool N] [--] CMD [ARG…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub phase: Option<Phase>,
    pub tool: Option<String>,
    pub command: Vec<OsString>,
}

impl Args {
    /// Parse the plain forms without clap: `[--phase P | --phase=P]
    /// [--tool N | --tool=N] [--] CMD [ARG…]`. `None` means "let the full
    /// command line parse it" (help, unknown flags, bad values), which
    /// then says what is wrong.
    pub fn parse_plain(args: &[OsString]) -> Option<Args> {
        let mut out = Args {
            phase: None,
            tool: None,
            command: Vec::new(),
        };
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].to_str();
            let (flag, inline) = match arg {
                Some("--") => {
                    i += 1;
                    break;
                }
                Some(a) if a.starts_with('-') => match a.split_once('=') {
                    Some((f, v)) => (f, Some(v.to_owned())),
                    None => (a, None),
                },
                _ => break,
            };
            let value = match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    args.get(i)?.to_str()?.to_owned()
                }
            };
            match flag {
                "--phase" => out.phase = Some(Phase::parse_work(&value)?),
                "--tool" => out.tool = Some(value),
                _ => return None,
            }
            i += 1;
        }
        out.command = args.get(i..)?.to_vec();
        (!out.command.is_empty()).then_some(out)
    }
}

/// Run `args.command` as if bare and record it; exits as the command did.
/// `build` is this build's identity, which a running daemon must match.
pub fn run(args: &Args, build: &str) -> ! {
    if paths::disabled() {
        run_bare(&args.command);
    }
    let paths = Paths::from_env();
    let mut rec = Recorder {
        spool: writer::Appender::new(&paths.spool),
        paths,
        warned: false,
    };
    let start = clock::since_epoch();
    let t0 = Timestamp::from_micros(clock::micros(start));
    let id = format!("{:x}-{:x}", start.as_nanos(), std::process::id());
    rec.append(&start_record(&id, t0, args));

    let outcome = wrapper::run(&args.command);
    let mut end = End {
        id,
        time: t0,
        ..End::default()
    };
    let exit = match &outcome {
        Ok(o) => {
            end.time = t0.plus(o.wall);
            end.user_us = Some(clock::micros(o.user));
            end.sys_us = Some(clock::micros(o.system));
            end.max_rss_kib = Some(o.max_rss_kib);
            match o.exit {
                Exit::Code(c) => end.exit = Some(c),
                Exit::Signal {
                    signal,
                    core_dumped,
                } => (end.signal, end.core_dumped) = (Some(signal), core_dumped),
            };
            o.exit
        }
        Err(e) => {
            eprintln!("mt: {}", e.message);
            end.exit = Some(e.code);
            Exit::Code(e.code)
        }
    };
    rec.append(&Spooled::End(end).encode());
    if let Err(e) = autostart::ensure(&rec.paths, build) {
        rec.warn(&e);
    }
    wrapper::exit_like(exit)
}

fn run_bare(argv: &[OsString]) -> ! {
    match wrapper::run(argv) {
        Ok(o) => wrapper::exit_like(o.exit),
        Err(e) => {
            eprintln!("mt: {}", e.message);
            std::process::exit(e.code)
        }
    }
}

/// Was this `mt exec` typed at a prompt? Its parent is then the shell
/// whose hook set MT_SESSION (`PID-…`); a script, make or a git hook in
/// between is another process. One system call, no fork.
fn typed_at_a_prompt() -> bool {
    let Some(session) = std::env::var_os("MT_SESSION") else {
        return false;
    };
    let session = session.to_string_lossy();
    let owner = session
        .split('-')
        .next()
        .and_then(|p| p.parse::<i32>().ok());
    owner.is_some_and(|pid| pid == nix::unistd::getppid().as_raw())
}

/// The agent whose shell ran this `mt exec` line itself (its environment
/// from `mt init agent` names the shell): that run is the agent's. A run a
/// script started under the agent is the script's.
fn agent_command() -> Option<String> {
    let shell: i32 = std::env::var("MT_AGENT_SHELL").ok()?.parse().ok()?;
    (shell == nix::unistd::getppid().as_raw()).then(|| {
        std::env::var("MT_AGENT_NAME")
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "agent".to_owned())
    })
}

fn start_record(id: &str, time: Timestamp, args: &Args) -> Vec<u8> {
    let agent = agent_command();
    let cwd = std::env::current_dir()
        .or_else(|_| std::env::var_os("PWD").map(PathBuf::from).ok_or(()))
        .unwrap_or_default();
    Spooled::Start(Start {
        id: id.to_owned(),
        time,
        pid: i64::from(std::process::id()),
        source: if paths::in_ci() {
            Source::Ci
        } else if agent.is_some() {
            Source::Agent
        } else if typed_at_a_prompt() {
            Source::Typed
        } else {
            Source::Exec
        },
        agent,
        // What HEAD says now, read from .git: exact even if the daemon
        // ingests this record after the branch has moved on.
        place: Place::read(&cwd),
        session: std::env::var("MT_SESSION").ok(),
        phase: args.phase,
        tool: args.tool.clone(),
        argv: args.command.iter().map(|a| a.as_bytes().to_vec()).collect(),
    })
    .encode()
}

struct Recorder {
    paths: Paths,
    spool: writer::Appender,
    warned: bool,
}

impl Recorder {
    fn append(&mut self, record: &[u8]) {
        if let Err(e) = self.spool.append(record) {
            self.warn(&e);
        }
    }

    /// At most one line per run, whatever goes wrong.
    fn warn(&mut self, err: &crate::error::Error) {
        if !self.warned {
            self.warned = true;
            eprintln!(
                "mt: warning: this run was not recorded ({err}); the command itself is unaffected"
            );
        }
    }
}
