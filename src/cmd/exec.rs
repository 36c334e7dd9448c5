//! `mt exec`: a start record, the command run as if bare, an end record,
//! then a daemon started if none answers. Recording never changes the
//! outcome: if the spool cannot be written, one warning line, that is all.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::autostart;
use crate::cli::ExecArgs;
use crate::paths::{self, Paths};
use crate::spool::record::{Builder, Kind};
use crate::spool::writer;
use crate::wrapper::{self, Exit};

pub fn run(args: ExecArgs) -> ! {
    if paths::disabled() {
        run_bare(&args.command);
    }
    let paths = Paths::from_env();
    let mut rec = Recorder {
        paths,
        warned: false,
    };
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let t0 = start.as_micros() as i64;
    let id = format!("{:x}-{:x}", start.as_nanos(), std::process::id());
    rec.append(start_record(&id, t0, &args));

    let outcome = wrapper::run(&args.command);
    let mut end = Builder::new(Kind::End);
    end.field("id", &id);
    let exit = match &outcome {
        Ok(o) => {
            end.field("t", (t0 + o.wall.as_micros() as i64).to_string())
                .field("ut", o.user.as_micros().to_string())
                .field("st", o.system.as_micros().to_string())
                .field("rss", o.max_rss_kib.to_string());
            match o.exit {
                Exit::Code(c) => end.field("exit", c.to_string()),
                Exit::Signal {
                    signal,
                    core_dumped,
                } => end
                    .field("sig", signal.to_string())
                    .field("core", if core_dumped { "1" } else { "0" }),
            };
            o.exit
        }
        Err(e) => {
            eprintln!("mt: {}", e.message);
            end.field("t", t0.to_string())
                .field("exit", e.code.to_string());
            Exit::Code(e.code)
        }
    };
    rec.append(end.finish());
    if let Err(e) = autostart::ensure(&rec.paths) {
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

fn start_record(id: &str, t0: i64, args: &ExecArgs) -> Vec<u8> {
    let cwd = std::env::current_dir()
        .or_else(|_| std::env::var_os("PWD").map(PathBuf::from).ok_or(()))
        .unwrap_or_default();
    let mut b = Builder::new(Kind::Start);
    b.field("id", id)
        .field("t", t0.to_string())
        .field("pid", std::process::id().to_string())
        .field("src", if paths::in_ci() { "ci" } else { "exec" })
        .field("cwd", cwd.as_os_str().as_bytes());
    if let Some(sid) = std::env::var_os("MT_SESSION") {
        b.field("sid", sid.as_bytes());
    }
    if let Some(p) = args.phase {
        b.field("phase", p.as_str());
    }
    if let Some(t) = &args.tool {
        b.field("tool", t);
    }
    // What HEAD says now, read from .git: exact even if the daemon ingests
    // this record after the branch has moved on.
    b.git_hint(&cwd);
    for arg in &args.command {
        b.field("a", arg.as_bytes());
    }
    b.finish()
}

struct Recorder {
    paths: Paths,
    warned: bool,
}

impl Recorder {
    fn append(&mut self, record: Vec<u8>) {
        if let Err(e) = writer::append(&self.paths.spool, &record) {
            self.warn(&e);
        }
    }

    /// At most one line per run, whatever goes wrong.
    fn warn(&mut self, err: &anyhow::Error) {
        if !self.warned {
            self.warned = true;
            eprintln!(
                "mt: warning: this run was not recorded ({err:#}); the command itself is unaffected"
            );
        }
    }
}
