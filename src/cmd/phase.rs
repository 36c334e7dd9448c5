//! `mt phase P`: a marker record; until the next marker or classified
//! command, time counts to P.

use std::os::unix::ffi::OsStrExt;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;

use crate::autostart;
use crate::cli::Phase;
use crate::paths::{self, Paths};
use crate::spool::record::{Builder, Kind};
use crate::spool::writer;

pub fn run(phase: Phase) -> Result<u8> {
    if paths::disabled() {
        return Ok(0);
    }
    let paths = Paths::from_env();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let cwd = std::env::current_dir()?;
    let mut b = Builder::new(Kind::Phase);
    b.field(
        "id",
        format!("p{:x}-{:x}", now.as_nanos(), std::process::id()),
    )
    .field("t", now.as_micros().to_string())
    .field("cwd", cwd.as_os_str().as_bytes())
    .field("phase", phase.as_str());
    if let Some(sid) = std::env::var_os("MT_SESSION") {
        b.field("sid", sid.as_bytes());
    }
    b.git_hint(&cwd);
    writer::append(&paths.spool, &b.finish())?;
    autostart::ensure(&paths)?;
    Ok(0)
}
