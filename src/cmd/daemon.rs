//! `mt daemon run|start|stop|status`.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::autostart;
use crate::cli::DaemonCmd;
use crate::daemon;
use crate::daemon::control;
use crate::paths::Paths;

pub(super) fn run(action: DaemonCmd) -> Result<u8> {
    let paths = Paths::from_env();
    match action {
        DaemonCmd::Run => daemon::run(&paths).map(|()| 0),
        DaemonCmd::Start => {
            if let Ok(r) =
                control::request(&paths.socket, control::Verb::Ping, Duration::from_secs(2))
            {
                if r.version == control::VERSION {
                    println!("mt daemon already running (pid {})", r.pid);
                    return Ok(0);
                }
                control::retire(&paths.socket)?;
                println!(
                    "stopped mt daemon {} (pid {}) to run this mt, {}",
                    r.version,
                    r.pid,
                    control::VERSION
                );
            }
            autostart::spawn(&paths)?;
            let r = wait_for(|| {
                control::request(&paths.socket, control::Verb::Ping, Duration::from_secs(1)).ok()
            })?;
            println!("mt daemon started (pid {})", r.pid);
            Ok(0)
        }
        DaemonCmd::Stop => {
            wait_if_starting(&paths);
            let Ok(r) =
                control::request(&paths.socket, control::Verb::Stop, Duration::from_secs(30))
            else {
                println!("mt daemon is not running");
                return Ok(0);
            };
            control::wait_gone(&r)?;
            println!("mt daemon stopped (pid {})", r.pid);
            Ok(0)
        }
        DaemonCmd::Status => {
            wait_if_starting(&paths);
            match control::request(&paths.socket, control::Verb::Status, Duration::from_secs(5)) {
                Ok(r) => {
                    let how = r.how();
                    println!(
                        "mt daemon {} running (pid {}, {how}, up {}s): {} records stored, {} lines set aside since start",
                        r.version, r.pid, r.uptime_s, r.stored, r.set_aside
                    );
                    Ok(0)
                }
                Err(_) => {
                    println!("mt daemon is not running; `mt daemon start` starts one");
                    Ok(1)
                }
            }
        }
    }
}

/// A daemon that is starting (it may first wait seconds for a catch-up's
/// ingest lock) is waited for, saying so, rather than called not running.
fn wait_if_starting(paths: &Paths) {
    let pending = || autostart::starting(paths) && !autostart::listening(paths);
    if !pending() {
        return;
    }
    eprintln!("mt: a daemon is starting; waiting for it to answer");
    let deadline = Instant::now() + Duration::from_secs(15);
    while pending() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_for<T>(mut check: impl FnMut() -> Option<T>) -> Result<T> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("the daemon did not respond within 10 s; see its log and run `mt doctor`");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
