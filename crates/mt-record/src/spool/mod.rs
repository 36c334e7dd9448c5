//! The spool: append-only record files in the state dir, the only way events
//! enter mt. Writers ([`writer`]) append; ingest reads and removes drained
//! files. Format: [`record`] and `docs/spool-format.md`.

pub mod record;
pub mod records;
pub mod writer;

use std::fs;
use std::path::Path;

/// Bytes in spool files, read or not (what `mt doctor` calls the backlog
/// before it subtracts the stored offsets).
pub fn sizes(dir: &Path) -> Vec<(String, u64)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(std::result::Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            (name.ends_with(".log") && !name.starts_with('.'))
                .then_some((name, e.metadata().ok()?.len()))
        })
        .collect()
}
