//! The daemon's event loop: file events, process exits and control requests
//! in; ingest jobs out. Requests from any uid but ours are refused.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::time::Duration;

use anyhow::Result;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, mpsc, oneshot};

use super::watch::{Exits, SpoolWatch};
use super::{Job, Stats};
use crate::daemon::control::{FailKind, Reply, Verb};
use crate::secure;

/// How long after a spool change its pass starts: a start and an end
/// record ~1 ms apart, or a script of quick `mt exec`s, is then one pass,
/// and the events in between wake no thread (they wait in the inotify
/// queue). Each pass costs the daemon's two threads wake-ups and a SQLite
/// commit, and on a 2-core machine that CPU is taken from the next runs:
/// over 500 `mt exec true` in a loop the daemon used 115 ms of CPU with a
/// 5 ms settle and 46 ms with 20 ms, and `mt exec` went from 1.16x to
/// 1.13x the C wrapper (BENCHMARKS.md). A command is still committed well
/// within the 50 ms target, and a flush or stop asked on the socket (`mt
/// status`, `mt log`) is served at once.
const SETTLE: Duration = Duration::from_millis(20);

pub(super) async fn serve(
    listener: std::os::unix::net::UnixListener,
    spool: &Path,
    jobs: Sender<Job>,
    mut watch_rx: mpsc::UnboundedReceiver<Vec<i32>>,
    stats: Arc<Stats>,
) -> Result<()> {
    let listener = UnixListener::from_std(listener)?;
    let mut spool_watch = SpoolWatch::new(spool)?;
    let (exit_tx, mut exit_rx) = mpsc::unbounded_channel();
    let mut exits = Exits::new(exit_tx);
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let stop = Arc::new(Notify::new());
    // Whatever accumulated while no daemon ran, then tell systemd we are up.
    let (tx, rx) = oneshot::channel();
    let _ = jobs.send(Job::Ingest(Some(tx)));
    let _ = rx.await;
    super::systemd::notify_ready();
    // When the pass for the latest spool change is due (see SETTLE).
    let mut due: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            r = spool_watch.changed(), if due.is_none() => {
                r?;
                due = Some(tokio::time::Instant::now() + SETTLE);
            }
            () = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                // Events queued meanwhile are covered by this pass, which
                // starts after they were read; any later write is a new event.
                spool_watch.discard()?;
                due = None;
                let _ = jobs.send(Job::Ingest(None));
            }
            Some(_pid) = exit_rx.recv() => {
                let _ = jobs.send(Job::Ingest(None));
            }
            Some(pids) = watch_rx.recv() => exits.watch(pids),
            accepted = listener.accept() => {
                if let Ok((conn, _)) = accepted {
                    tokio::spawn(handle(conn, jobs.clone(), stats.clone(), stop.clone()));
                }
            }
            () = stop.notified() => return Ok(()),
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
        }
    }
}

fn reply(stats: &Stats) -> Reply {
    Reply {
        ok: true,
        error: None,
        kind: FailKind::default(),
        pid: std::process::id(),
        version: crate::daemon::control::VERSION.to_owned(),
        uptime_s: stats.started.elapsed().as_secs(),
        stored: stats.stored.load(Ordering::Relaxed),
        set_aside: stats.set_aside.load(Ordering::Relaxed),
        managed: stats.managed,
    }
}

fn refusal(error: String) -> Reply {
    failure(error, FailKind::Refused)
}

fn failure(error: String, kind: FailKind) -> Reply {
    Reply {
        ok: false,
        error: Some(error),
        kind,
        ..Reply::default()
    }
}

async fn handle(mut conn: UnixStream, jobs: Sender<Job>, stats: Arc<Stats>, stop: Arc<Notify>) {
    let answer = answer(&mut conn, jobs, &stats);
    let (answer, stopping) = match tokio::time::timeout(Duration::from_secs(60), answer).await {
        Ok(a) => a,
        Err(_) => (
            refusal("the daemon timed out; run `mt doctor`".into()),
            false,
        ),
    };
    let mut line = serde_json::to_vec(&answer).unwrap_or_default();
    line.push(b'\n');
    let _ = conn.write_all(&line).await;
    // Only after the answer is out: stopping ends every task.
    if stopping {
        stop.notify_one();
    }
}

/// The reply, and whether the daemon should stop once it is sent.
async fn answer(conn: &mut UnixStream, jobs: Sender<Job>, stats: &Stats) -> (Reply, bool) {
    // Read the request before judging it, so a refused client gets the
    // reason rather than a broken pipe.
    let mut verb = String::new();
    let (read_half, _) = conn.split();
    let mut reader = BufReader::new(read_half.take(64));
    let read = tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut verb)).await;
    if !matches!(read, Ok(Ok(_))) {
        return (
            refusal("no request received; send ping, flush, status or stop".into()),
            false,
        );
    }
    let uid = secure::uid();
    match conn.peer_cred() {
        Ok(cred) if cred.uid() == uid => {}
        Ok(cred) => {
            return (
                refusal(format!(
                    "connection refused: this daemon serves uid {uid} only, not uid {}",
                    cred.uid()
                )),
                false,
            );
        }
        Err(e) => {
            return (
                refusal(format!(
                    "connection refused: could not check the peer ({e})"
                )),
                false,
            );
        }
    }
    let r = match Verb::parse(&verb) {
        Some(Verb::Ping | Verb::Status) => reply(stats),
        Some(Verb::Flush) => {
            let (tx, rx) = oneshot::channel();
            if jobs.send(Job::Ingest(Some(tx))).is_err() {
                return (
                    refusal("the daemon is shutting down; try again".into()),
                    false,
                );
            }
            match rx.await {
                Ok(Ok(())) => reply(stats),
                Ok(Err((kind, e))) => failure(format!("ingest failed: {e}"), kind),
                Err(_) => refusal("the daemon is shutting down; try again".into()),
            }
        }
        Some(Verb::Stop) => return (reply(stats), true),
        None => refusal(format!(
            "unknown request {:?}; send ping, flush, status or stop",
            verb.trim()
        )),
    };
    (r, false)
}
