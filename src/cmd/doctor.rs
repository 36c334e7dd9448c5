//! `mt doctor`: is every part wired up? Each problem comes with its fix.

use std::time::Duration;

use anyhow::Result;

use crate::config::Config;
use crate::control;
use crate::paths::Paths;
use crate::redact::Filters;
use crate::secure;
use crate::spool;
use crate::store::{SCHEMA_VERSION, Store};

pub fn run() -> Result<u8> {
    let paths = Paths::from_env();
    let mut problems = 0;
    let mut report = |ok: bool, what: String| {
        println!("{} {what}", if ok { "ok  " } else { "FAIL" });
        problems += usize::from(!ok);
    };

    match control::request(&paths.socket, "status", Duration::from_secs(5)) {
        Ok(r) => report(
            true,
            format!(
                "daemon {} answers on {} (pid {})",
                r.version,
                paths.socket.display(),
                r.pid
            ),
        ),
        Err(e) => report(
            false,
            format!(
                "no daemon answers on {} ({e:#}): run `mt daemon start` (mt exec starts one by itself unless MT_NO_AUTOSTART is set)",
                paths.socket.display()
            ),
        ),
    }

    match secure::check(&paths.spool) {
        Ok(()) => report(true, format!("spool {} is private", paths.spool.display())),
        Err(e) if !paths.spool.exists() => {
            let _ = e;
            report(
                true,
                format!(
                    "spool {} not created yet (made on first record)",
                    paths.spool.display()
                ),
            )
        }
        Err(e) => report(false, format!("{e:#}")),
    }

    let sizes = spool::sizes(&paths.spool);
    match Store::open(&paths.db) {
        Ok(store) => {
            let version = store.version().unwrap_or(-1);
            report(
                version == SCHEMA_VERSION,
                format!(
                    "store {} at schema version {version} (this mt: {SCHEMA_VERSION})",
                    paths.db.display()
                ),
            );
            let read: std::collections::HashMap<String, u64> =
                store.offsets().unwrap_or_default().into_iter().collect();
            let backlog: u64 = sizes
                .iter()
                .map(|(n, len)| len.saturating_sub(*read.get(n).unwrap_or(&0)))
                .sum();
            report(
                backlog < 1 << 20,
                format!(
                    "spool backlog {backlog} bytes in {} files (the daemon drains it as it arrives)",
                    sizes.len()
                ),
            );
            let aside = store.set_aside_count().unwrap_or(0);
            report(
                true,
                format!(
                    "{} commands stored, {aside} malformed spool lines set aside",
                    store.count().unwrap_or(0)
                ),
            );
        }
        Err(e) => report(
            false,
            format!("{e:#}; move the file aside and mt starts a new one"),
        ),
    }

    match Config::load(&paths.config).and_then(|c| Filters::new(&c)) {
        Ok(_) if paths.config.exists() => {
            report(true, format!("config {} is valid", paths.config.display()))
        }
        Ok(_) => report(
            true,
            format!(
                "no config at {} (built-in rules in force)",
                paths.config.display()
            ),
        ),
        Err(e) => report(false, format!("{e:#}")),
    }

    if problems == 0 {
        println!("Everything mt needs is in place.");
        Ok(0)
    } else {
        println!("{problems} problem(s) found; each line above says what to do.");
        Ok(1)
    }
}
