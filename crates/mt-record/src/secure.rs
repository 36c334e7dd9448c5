//! Private directories: the spool and the socket dir hold command lines and
//! the daemon's door, so each must be a real directory (not a symlink),
//! owned by this user and closed to everyone else (mode 0700).

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::Path;

use crate::error::{Context, Error, Result};

/// The effective uid of this process.
pub fn uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Create `dir` (and its parents) with mode 0700 when missing, then check it.
pub fn private_dir(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                fs::create_dir_all(parent)?;
            }
            match fs::DirBuilder::new().mode(0o700).create(dir) {
                Ok(()) => {}
                // Another process made it first: check what it made.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
            check(dir)
        }
        Err(e) => Err(e.into()),
        Ok(_) => check(dir),
    }
}

/// Check an existing directory without changing it.
pub fn check(dir: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(dir)?;
    let shown = dir.display();
    if meta.file_type().is_symlink() {
        return Err(Error::new(format!(
            "{shown} is a symlink; remove it so that mt can create a private directory there"
        )));
    }
    if !meta.is_dir() {
        return Err(Error::new(format!(
            "{shown} is not a directory; remove it or point mt elsewhere"
        )));
    }
    if meta.uid() != uid() {
        return Err(Error::new(format!(
            "{shown} belongs to uid {}, not to you; remove it or point mt elsewhere",
            meta.uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        // Ours, merely too open (e.g. made by hand): tighten rather than refuse.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Take the exclusive lock on the private lock file `path` without waiting:
/// the file, held until it is dropped, or `None` when another process holds
/// it. The one lock helper behind the start and ingest locks.
pub fn try_lock(path: &Path, what: &str) -> Result<Option<fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("could not open the {what} lock {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("could not lock {}", path.display()))
        }
    }
}
