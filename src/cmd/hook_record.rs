//! The fish hook's writer: fish has no microsecond clock, so after each
//! command it runs this in the background with its own figures. The end
//! is "now" (within milliseconds of the real end), the start is the end
//! less fish's `$CMD_DURATION`.

use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use anyhow::Result;

use crate::cli::HookRecordArgs;
use crate::clock;
use crate::paths::{self, Paths};
use crate::spool::records::{Hook, Place, Spooled};
use crate::spool::writer;

pub(super) fn run(args: &HookRecordArgs) -> Result<u8> {
    if paths::disabled() {
        return Ok(0);
    }
    let dur = Duration::from_millis(args.duration_ms);
    let start = clock::now().minus(dur);
    let command: Vec<&[u8]> = args.command.iter().map(|a| a.as_bytes()).collect();
    let place = Place::read(std::path::Path::new(&args.cwd));
    let record = Spooled::Hook(Hook {
        id: format!("{}:{}", args.sid, start.micros()),
        session: Some(args.sid.clone()),
        pid: i64::from(args.pid),
        time: start,
        duration_us: clock::micros(dur),
        exit: Some(args.exit),
        pipestatus: Some(args.pipestatus.clone()).filter(|p| !p.is_empty()),
        // Read after the command: ingest looks for a HEAD move inside it.
        head_after: place.root.is_some(),
        agent: None,
        place,
        command: command.join(&b' '),
    });
    let paths = Paths::from_env();
    let name = format!("h-{}-{}.log", args.pid, args.sid);
    writer::append_session(&paths.spool, &name, &record.encode())?;
    Ok(0)
}
