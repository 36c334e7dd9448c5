//! What wakes the ingest thread, without polling: inotify on the spool dir,
//! and a pidfd per process whose exit matters (a wrapper with a running
//! command, a shell whose spool file is open).

use std::collections::HashSet;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use anyhow::{Context, Result};
use inotify::{Inotify, WatchMask};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::UnboundedSender;

/// Resolves each time something was written to or moved into the spool.
pub(super) struct SpoolWatch {
    fd: AsyncFd<Inotify>,
    buf: Vec<u8>,
}

impl SpoolWatch {
    pub(super) fn new(spool: &Path) -> Result<SpoolWatch> {
        let inotify = Inotify::init().context("could not start inotify")?;
        inotify
            .watches()
            .add(
                spool,
                // Not CREATE or CLOSE_WRITE: a record is always a write,
                // and a run of writes to one file then queues one event
                // (the kernel merges a repeat of the last unread event),
                // so a busy file wakes no one between passes.
                WatchMask::MODIFY | WatchMask::MOVED_TO,
            )
            .with_context(|| format!("could not watch {}", spool.display()))?;
        // SAFETY: the Inotify value owns its descriptor for as long as the AsyncFd lives.
        let fd = unsafe { AsyncFd::register_with_interest(inotify, tokio::io::Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(SpoolWatch {
            fd,
            buf: vec![0; 16 * 1024],
        })
    }

    /// Drop the events queued now, without waiting.
    pub(super) fn discard(&mut self) -> io::Result<()> {
        loop {
            match self.fd.get_mut().read_events(&mut self.buf) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Wait for the next batch of file events (all queued ones are consumed).
    pub(super) async fn changed(&mut self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable_mut().await?;
            match guard.get_inner_mut().read_events(&mut self.buf) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                Err(e) => return Err(e),
            }
        }
    }
}

struct PidFd(OwnedFd);

impl AsRawFd for PidFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Tracks which pids are watched; each exit is sent on `exited`.
pub(super) struct Exits {
    watched: HashSet<i32>,
    exited: UnboundedSender<i32>,
}

impl Exits {
    pub(super) fn new(exited: UnboundedSender<i32>) -> Exits {
        Exits {
            watched: HashSet::new(),
            exited,
        }
    }

    /// Watch every pid in `pids` not watched yet, and forget those no longer
    /// listed. A pid stays watched (and so fires once) while it is listed.
    pub(super) fn watch(&mut self, pids: Vec<i32>) {
        self.watched.retain(|p| pids.contains(p));
        for pid in pids {
            if !self.watched.insert(pid) {
                continue;
            }
            // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as RawFd;
            let tx = self.exited.clone();
            if fd < 0 {
                // Already gone: that is an exit to act on now.
                let _ = tx.send(pid);
                continue;
            }
            // SAFETY: `fd` was just returned to us by pidfd_open.
            let fd = PidFd(unsafe { OwnedFd::from_raw_fd(fd) });
            tokio::spawn(async move {
                // SAFETY: PidFd owns the descriptor for as long as the AsyncFd lives.
                let registered =
                    unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) };
                if let Ok(afd) = registered {
                    let _ = afd.readable().await;
                }
                let _ = tx.send(pid);
            });
        }
    }
}
