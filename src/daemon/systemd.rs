//! Running under systemd without extra crates: socket activation
//! (`LISTEN_PID`/`LISTEN_FDS`, sd_listen_fds(3)) and readiness
//! (`NOTIFY_SOCKET`, sd_notify(3)). Both protocols are a few lines.

use std::env;
use std::os::fd::{FromRawFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener};

/// The first descriptor systemd passes.
const SD_LISTEN_FDS_START: RawFd = 3;

/// The listening socket systemd passed to this process, if any. A
/// `LISTEN_PID` that is not ours (inherited by accident) is ignored. The
/// variables are removed so that nothing we start inherits them.
pub(super) fn inherited_listener() -> Option<UnixListener> {
    let pid_ok = env::var("LISTEN_PID").ok()?.parse::<u32>().ok()? == std::process::id();
    let fds: i32 = env::var("LISTEN_FDS").ok()?.parse().ok()?;
    // SAFETY: called before any thread starts (the daemon calls it first).
    unsafe {
        env::remove_var("LISTEN_PID");
        env::remove_var("LISTEN_FDS");
        env::remove_var("LISTEN_FDNAMES");
    }
    if !pid_ok || fds < 1 {
        return None;
    }
    // SAFETY: systemd hands us fd 3 open; we take ownership once, and mark
    // it close-on-exec so that nothing we start inherits it.
    let listener = unsafe { UnixListener::from_raw_fd(SD_LISTEN_FDS_START) };
    let cloexec = nix::fcntl::FdFlag::FD_CLOEXEC;
    nix::fcntl::fcntl(&listener, nix::fcntl::FcntlArg::F_SETFD(cloexec)).ok()?;
    Some(listener)
}

/// Tell systemd we are ready (no-op when not started by systemd).
pub(super) fn notify_ready() {
    let Some(path) = env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let path = path.to_string_lossy().into_owned();
    let addr = match path.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
        None => SocketAddr::from_pathname(&path),
    };
    if let (Ok(sock), Ok(addr)) = (UnixDatagram::unbound(), addr) {
        let _ = sock.send_to_addr(b"READY=1\n", &addr);
    }
}
