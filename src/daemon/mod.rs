//! The daemon: tails the spool (inotify, no polling) and commits what it
//! reads; answers `ping`, `flush`, `status` and `stop` on the control socket.
//!
//! Exactly one per spool: it holds the ingest lock for its whole life and
//! exits at once if another process holds it. Ingest runs on its own thread
//! that owns the SQLite connection; the tokio side only turns file events,
//! process exits and requests into "ingest now" jobs, which that thread
//! coalesces.

pub(crate) mod catchup;
pub(crate) mod control;

pub(crate) mod edits;
mod server;
mod systemd;
mod watch;

use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use tokio::sync::oneshot;

use crate::ingest;
use crate::paths::Paths;
use crate::secure;
use crate::store::Store;
use control::Managed;

/// Work for the ingest thread.
enum Job {
    /// Read the spool; answer when committed, if someone waits.
    Ingest(Option<oneshot::Sender<Result<(), (control::FailKind, String)>>>),
    /// Drain once more, then end.
    Stop,
}

/// What `status` reports.
#[derive(Debug)]
struct Stats {
    started: Instant,
    managed: Managed,
    stored: AtomicU64,
    set_aside: AtomicU64,
}

/// Longest path a Unix socket address holds (sun_path, with its NUL).
const SUN_PATH_MAX: usize = 107;

/// Run the daemon in the foreground until `stop` or SIGTERM.
pub(crate) fn run(paths: &Paths) -> Result<()> {
    // First, before any thread: it edits the environment.
    let inherited = systemd::inherited_listener();
    let managed = if inherited.is_some() || std::env::var_os("NOTIFY_SOCKET").is_some() {
        Managed::Systemd
    } else {
        Managed::Auto
    };
    secure::private_dir(&paths.spool)?;
    // Held until the socket listens, so that `mt daemon stop` and `status`
    // wait for a daemon still starting instead of saying none runs.
    let starting = take_start_lock(paths);
    let Some(mut lock) = take_ingest_lock(paths, inherited.is_some())? else {
        crate::log_line!(
            "mt: a daemon is already running for {}",
            paths.spool.display()
        );
        return Ok(());
    };
    crate::autostart::sign_lock(&mut lock, crate::daemon::control::VERSION);
    let (listener, socket_inode) = listen(paths, inherited)?;
    let owned = socket_inode.is_some();
    drop(starting);
    let store = Store::open(&paths.db)?;
    let filters = std::cell::RefCell::new(catchup::LiveFilters::new(paths));
    let stats = Arc::new(Stats {
        started: Instant::now(),
        managed,
        stored: AtomicU64::new(0),
        set_aside: AtomicU64::new(0),
    });
    let (jobs, job_rx) = mpsc::channel::<Job>();
    let (watch_tx, watch_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<i32>>();
    let spool = paths.spool.clone();
    let runtime = paths.runtime();
    let thread_stats = stats.clone();
    let watcher = start_watcher(paths);
    let ingester = std::thread::Builder::new()
        .name("ingest".into())
        .spawn(move || {
            let io = Io {
                spool: &spool,
                runtime: &runtime,
                filters: &filters,
                jobs: &job_rx,
                watch: &watch_tx,
                stats: &thread_stats,
                edits: watcher.as_ref(),
            };
            ingest_loop(store, &io);
        })?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the daemon's runtime")?;
    let served = runtime.block_on(server::serve(
        listener,
        &paths.spool,
        jobs.clone(),
        watch_rx,
        stats,
    ));
    let _ = jobs.send(Job::Stop);
    let _ = ingester.join();
    // Remove the socket only if it is still the one we bound.
    if owned && fs::metadata(&paths.socket).is_ok_and(|m| Some(m.ino()) == socket_inode) {
        let _ = fs::remove_file(&paths.socket);
    }
    drop(lock);
    served
}

/// The socket to serve: the one systemd passed (systemd's: used as it is,
/// never unlinked, so no inode), else one bound here, with its inode.
fn listen(
    paths: &Paths,
    inherited: Option<std::os::unix::net::UnixListener>,
) -> Result<(std::os::unix::net::UnixListener, Option<u64>)> {
    match inherited {
        Some(l) => {
            l.set_nonblocking(true)?;
            Ok((l, None))
        }
        None => {
            let l = bind(paths)?;
            Ok((l, Some(fs::metadata(&paths.socket)?.ino())))
        }
    }
}

/// How long a starting daemon waits for the ingest lock while no daemon
/// answers: a reader catching up holds it while it ingests (`mt exec …; mt
/// log` raced the daemon that `mt exec` had just started, which gave up,
/// once in six tries; a big spool takes a second or more), a daemon holds
/// it for good and answers on its socket within milliseconds of taking it.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The start lock, which `autostart::spawn` holds until the spawn returns;
/// `None` after a second (another daemon starting holds it: this one goes
/// on, and finds that one by its ingest lock or socket).
fn take_start_lock(paths: &Paths) -> Option<File> {
    let deadline = Instant::now() + std::time::Duration::from_secs(1);
    loop {
        match secure::try_lock(&paths.start_lock(), "start") {
            Ok(Some(lock)) => return Some(lock),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            _ => return None,
        }
    }
}

/// The ingest lock, or `None` when another daemon has it. A daemon systemd
/// started does not ask the socket: the socket it would ask is its own.
fn take_ingest_lock(paths: &Paths, systemd_socket: bool) -> Result<Option<File>> {
    let deadline = Instant::now() + LOCK_WAIT;
    let mut said = false;
    loop {
        if let Some(lock) = secure::try_lock(&paths.ingest_lock(), "ingest")? {
            return Ok(Some(lock));
        }
        let answered = !systemd_socket && crate::autostart::listening(paths);
        // Within the deadline: a daemon systemd restarts on our ping would
        // otherwise be retired forever.
        if answered && Instant::now() < deadline && retired_another_build(paths) {
            continue;
        }
        if answered || Instant::now() >= deadline {
            return Ok(None);
        }
        if !said {
            said = true;
            crate::log_line!(
                "mt daemon: waiting for the ingest lock (a command is catching up on the spool)"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The daemon answering is of another build (an upgrade was installed while
/// it ran): stop it, so this one takes over. It drains the spool as it
/// stops, so no record is lost.
fn retired_another_build(paths: &Paths) -> bool {
    let ping = control::request(
        &paths.socket,
        control::Verb::Ping,
        std::time::Duration::from_secs(2),
    );
    match ping {
        Ok(r) if r.version != control::VERSION => {
            let retired = control::retire(&paths.socket);
            if let Err(e) = &retired {
                crate::log_line!(
                    "mt daemon: could not replace the daemon {}: {e:#}",
                    r.version
                );
            }
            retired.is_ok()
        }
        _ => false,
    }
}

fn bind(paths: &Paths) -> Result<std::os::unix::net::UnixListener> {
    let socket = &paths.socket;
    if socket.as_os_str().len() > SUN_PATH_MAX {
        bail!(
            "the socket path {} is longer than {SUN_PATH_MAX} bytes; set MT_SOCKET to a shorter path",
            socket.display()
        );
    }
    let dir = socket
        .parent()
        .context("the socket path has no directory")?;
    secure::private_dir(dir)?;
    // We hold the ingest lock, so a socket file here is a dead daemon's.
    match fs::remove_file(socket) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| {
                format!("could not remove the stale socket {}", socket.display())
            });
        }
        _ => {}
    }
    let listener = std::os::unix::net::UnixListener::bind(socket)
        .with_context(|| format!("could not listen on {}", socket.display()))?;
    fs::set_permissions(socket, fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The edit watcher, unless recording is off (`watch = false` is read by
/// the watcher itself, at start and whenever the config changes); a
/// watcher that cannot start costs one log line, never the daemon.
fn start_watcher(paths: &Paths) -> Option<edits::Watcher> {
    if crate::paths::disabled() {
        return None;
    }
    let config = crate::config::load(&paths.config).unwrap_or_default();
    let settings = edits::Settings {
        spool: paths.spool.clone(),
        report: paths.state.join("watch.json"),
        config: paths.config.clone(),
        keep: config.watch_keep(),
        limit: edits::limit(),
        own: [&paths.spool, &paths.state]
            .into_iter()
            .cloned()
            .chain(paths.db.parent().map(Path::to_path_buf))
            .collect(),
    };
    edits::Watcher::start(settings)
        .inspect_err(|e| crate::log_line!("mt daemon: not watching working trees: {e:#}"))
        .ok()
}

/// What the ingest thread works with.
struct Io<'a> {
    spool: &'a std::path::Path,
    /// Where the bash hooks keep their scratch files.
    runtime: &'a std::path::Path,
    /// The config's filters, read again when its file changes.
    filters: &'a std::cell::RefCell<catchup::LiveFilters>,
    jobs: &'a mpsc::Receiver<Job>,
    /// Pids whose exit should wake a pass.
    watch: &'a tokio::sync::mpsc::UnboundedSender<Vec<i32>>,
    stats: &'a Stats,
    edits: Option<&'a edits::Watcher>,
}

/// Jobs gathered for one pass: who waits for it, and whether it is the
/// last.
struct Batch {
    waiters: Vec<oneshot::Sender<Result<(), (control::FailKind, String)>>>,
    stop: bool,
}

/// After a failed pass (the database busy past its timeout, say), try
/// again even if nothing new arrives: the records wait in the spool. The
/// wait doubles while the same failure repeats (a damaged database does
/// not heal in a second), and the log says each failure once.
#[derive(Default)]
struct Retry {
    after: Option<std::time::Duration>,
    last_error: String,
}

impl Retry {
    /// The next batch: every job queued now, or a retry when the wait
    /// runs out; `None` when the daemon's side has gone.
    fn next(&self, jobs: &mpsc::Receiver<Job>) -> Option<Batch> {
        let first = match self.after {
            Some(after) => match jobs.recv_timeout(after) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => Job::Ingest(None),
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            },
            None => jobs.recv().ok()?,
        };
        let mut batch = Batch {
            waiters: Vec::new(),
            stop: false,
        };
        for job in std::iter::once(first).chain(jobs.try_iter()) {
            match job {
                Job::Ingest(Some(w)) => batch.waiters.push(w),
                Job::Ingest(None) => {}
                Job::Stop => batch.stop = true,
            }
        }
        Some(batch)
    }

    fn succeeded(&mut self) {
        self.after = None;
        self.last_error.clear();
    }

    fn failed(&mut self, e: &anyhow::Error) -> (control::FailKind, String) {
        let message = format!("{e:#}");
        if message != self.last_error {
            crate::log_line!("mt daemon: ingest failed: {message} (retrying; said once)");
        }
        self.after = Some(self.after.map_or(std::time::Duration::from_secs(1), |d| {
            (d * 2).min(std::time::Duration::from_secs(60))
        }));
        self.last_error.clone_from(&message);
        (control::FailKind::of(e), message)
    }
}

fn ingest_loop(mut store: Store, io: &Io<'_>) {
    if let Some(w) = io.edits {
        let since = crate::clock::now().minus(w.keep()).micros();
        w.active(store.recent_repos(since).unwrap_or_default());
    }
    let mut retry = Retry::default();
    let mut watched: Vec<i32> = Vec::new();
    while let Some(batch) = retry.next(io.jobs) {
        // A save made just before a stop is spooled now, drained below.
        if let (true, Some(w)) = (batch.stop, io.edits) {
            w.flush();
        }
        let result = ingest::drain(&mut store, io.spool, io.filters.borrow_mut().get());
        ingest::sweep_scratch(io.runtime);
        let reply = match result {
            Ok(s) => {
                io.stats.stored.fetch_add(s.stored, Ordering::Relaxed);
                io.stats.set_aside.fetch_add(s.set_aside, Ordering::Relaxed);
                // The event loop is told only of a change (a wake-up less
                // per pass).
                if s.watch != watched {
                    watched.clone_from(&s.watch);
                    let _ = io.watch.send(s.watch);
                }
                if let Some(w) = io.edits {
                    w.active(s.active);
                }
                retry.succeeded();
                Ok(())
            }
            Err(e) => Err(retry.failed(&e)),
        };
        for w in batch.waiters {
            let _ = w.send(reply.clone());
        }
        if batch.stop {
            return;
        }
    }
}
