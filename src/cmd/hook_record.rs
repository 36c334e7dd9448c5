//! The fish hook's writer: fish has no microsecond clock, so after each
//! command it runs this in the background with its own figures. The end
//! is "now" (within milliseconds of the real end), the start is the end
//! less fish's `$CMD_DURATION`.

use std::os::unix::ffi::OsStrExt;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;

use crate::cli::HookRecordArgs;
use crate::paths::{self, Paths};
use crate::spool::record::{Builder, Kind};
use crate::spool::writer;

pub fn run(args: &HookRecordArgs) -> Result<u8> {
    if paths::disabled() {
        return Ok(0);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as i64;
    let dur = args.duration_ms as i64 * 1000;
    let start = now - dur;
    let command: Vec<&[u8]> = args.command.iter().map(|a| a.as_bytes()).collect();
    let mut b = Builder::new(Kind::Hook);
    b.field("id", format!("{}:{start}", args.sid))
        .field("sid", &args.sid)
        .field("pid", args.pid.to_string())
        .field("t", start.to_string())
        .field("dur", dur.to_string())
        .field("exit", args.exit.to_string())
        .field("ps", &args.pipestatus)
        .field("cwd", args.cwd.as_bytes())
        .field("cmd", command.join(&b' '));
    let cwd = std::path::Path::new(&args.cwd);
    // Read after the command: ingest looks for a HEAD move inside the run.
    if b.git_hint(cwd) {
        b.field("hend", "1");
    }
    let paths = Paths::from_env();
    let name = format!("h-{}-{}.log", args.pid, args.sid);
    writer::append_session(&paths.spool, &name, &b.finish())?;
    Ok(0)
}
