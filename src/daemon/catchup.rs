//! Readers are always current: before `mt log`, `status` (and later
//! `close`, `report`) read the store, the daemon flushes the spool — or,
//! when none runs, the reader ingests it itself under the same lock the
//! daemon holds, so there is still only one writer.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::daemon::control;
use crate::ingest;
use crate::paths::Paths;
use crate::redact::Filters;
use crate::secure;
use crate::store::Store;

/// Open the store with every finished command in it. A damaged database
/// is named as such, with where to look for the fix.
pub(crate) fn current_store(paths: &Paths) -> Result<Store> {
    current(paths).map_err(|e| {
        if crate::daemon::control::damaged(&e) {
            let db = paths.db.display();
            e.context(format!(
                "the database {db} is damaged; run `mt doctor` for how to recover it (the spool keeps new records meanwhile)"
            ))
        } else {
            e
        }
    })
}

/// For commands that only read (`mt log`, `mt status`, `mt ci`): the store
/// brought up to date, or, when that fails (a full disk, say) but the
/// database is sound, what was stored before, with a warning. A command
/// that writes from the store (`mt close`) uses [`current_store`] and stops.
pub(crate) fn readable_store(paths: &Paths) -> Result<Store> {
    match current_store(paths) {
        Ok(store) => Ok(store),
        Err(e) if crate::daemon::control::damaged(&e) => Err(e),
        Err(e) => {
            crate::log_line!(
                "mt: warning: the newest commands are not stored yet ({e:#}); showing what was stored before"
            );
            Store::open(&paths.db)
        }
    }
}

fn current(paths: &Paths) -> Result<Store> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match control::request(&paths.socket, control::Verb::Flush, Duration::from_secs(30)) {
            Ok(r) if r.version == control::VERSION => return Store::open(&paths.db),
            // Another mt's daemon (an upgrade): retire it; the next pass
            // ingests here, and the next `mt exec` starts a daemon of ours.
            Ok(_) => control::retire(&paths.socket)?,
            // The daemon is there but could not ingest: say why at once.
            Err(e) if e.downcast_ref::<control::Refused>().is_some() => {
                return Err(e.context("the daemon could not bring the store up to date"));
            }
            Err(_) => {}
        }
        if let Some(store) = ingest_here(paths)? {
            return Ok(store);
        }
        // The lock is held but nobody answers: a daemon is starting, or
        // another reader is ingesting. Either finishes shortly.
        if Instant::now() > deadline {
            bail!("the ingest lock is held but no daemon answers; run `mt doctor`");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ingest the spool in this process if nobody else holds the lock.
fn ingest_here(paths: &Paths) -> Result<Option<Store>> {
    if !paths.spool.exists() {
        return Store::open(&paths.db).map(Some);
    }
    if let Err(e) = secure::check(&paths.spool) {
        // What is stored can still be read; the spool waits to be fixed.
        crate::log_line!("mt: warning: {e:#}; showing what was stored before");
        return Store::open(&paths.db).map(Some);
    }
    let Some(_lock) = secure::try_lock(&paths.ingest_lock(), "ingest")? else {
        return Ok(None);
    };
    let mut store = Store::open(&paths.db)?;
    let filters = filters(paths);
    ingest::drain(&mut store, &paths.spool, &filters)?;
    ingest::sweep_scratch(&paths.runtime());
    Ok(Some(store))
}

/// The configured filters; a broken config falls back to the built-in
/// rules (with a warning) so that recording never stops over a typo.
/// The filters of the config file, read again whenever the file changes
/// (its modification time, size or inode: one stat a pass), so an edit of
/// `redact` or `ignore` applies to the next record stored, and `mt doctor`
/// tells the truth about what is in force.
pub(crate) struct LiveFilters {
    paths: Paths,
    stamp: Option<(i64, i64, u64, u64)>,
    filters: Filters,
}

impl LiveFilters {
    pub(crate) fn new(paths: &Paths) -> LiveFilters {
        let mut live = LiveFilters {
            paths: paths.clone(),
            stamp: None,
            filters: Filters::builtin(),
        };
        live.stamp = Some((-1, -1, 0, 0));
        live.get();
        live
    }

    pub(crate) fn get(&mut self) -> &Filters {
        use std::os::unix::fs::MetadataExt;
        let stamp = std::fs::metadata(&self.paths.config)
            .ok()
            .map(|m| (m.mtime(), m.mtime_nsec(), m.len(), m.ino()));
        if stamp != self.stamp {
            self.stamp = stamp;
            self.filters = filters(&self.paths);
        }
        &self.filters
    }
}

pub(crate) fn filters(paths: &Paths) -> Filters {
    match crate::config::load(&paths.config).and_then(|c| Filters::new(&c)) {
        Ok(f) => f,
        Err(e) => {
            crate::log_line!("mt: warning: {e:#}; using the built-in filters until it is fixed");
            Filters::builtin()
        }
    }
}
