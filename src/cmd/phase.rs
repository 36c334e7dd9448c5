//! `mt phase P`: a marker record; until the next marker or classified
//! command, time counts to P.

use anyhow::Result;

use crate::autostart;
use crate::cli::Phase;
use crate::clock::{self, Timestamp};
use crate::paths::{self, Paths};
use crate::spool::records::{Marker, Place, Spooled};
use crate::spool::writer;

pub(super) fn run(phase: Phase) -> Result<u8> {
    if paths::disabled() {
        return Ok(0);
    }
    let paths = Paths::from_env();
    let now = clock::since_epoch();
    let cwd = std::env::current_dir()?;
    let record = Spooled::Marker(Marker {
        id: format!("p{:x}-{:x}", now.as_nanos(), std::process::id()),
        time: Timestamp::from_micros(clock::micros(now)),
        session: std::env::var("MT_SESSION").ok(),
        phase,
        place: Place::read(&cwd),
    });
    writer::append(&paths.spool, &record.encode())?;
    autostart::ensure(&paths, crate::daemon::control::VERSION)?;
    Ok(0)
}
