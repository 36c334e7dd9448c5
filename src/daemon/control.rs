//! The control protocol, client side (std only, so `mt exec` can use it).
//!
//! One request per connection: the client writes a verb and a newline
//! (`ping`, `flush`, `status`, `stop`); the daemon answers with one line of
//! JSON and closes. Only the socket's owner may connect (mode 0600 and a
//! peer-uid check in the daemon).

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// What a client asks the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    /// Are you there? (answers with the daemon's figures)
    Ping,
    /// Ingest everything spooled, then answer.
    Flush,
    /// The daemon's figures.
    Status,
    /// Answer, then exit.
    Stop,
}

impl Verb {
    pub(crate) const ALL: [Verb; 4] = [Verb::Ping, Verb::Flush, Verb::Status, Verb::Stop];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verb::Ping => "ping",
            Verb::Flush => "flush",
            Verb::Status => "status",
            Verb::Stop => "stop",
        }
    }

    /// The verb a request line names, if any.
    pub(crate) fn parse(line: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|v| v.as_str() == line.trim())
    }
}

/// Who started the daemon.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Managed {
    /// systemd passed the socket or waits for READY.
    Systemd,
    /// mt started it on demand.
    #[default]
    #[serde(other)]
    Auto,
}

/// Why the daemon said no, for the code that branches on it (the message
/// is for people).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FailKind {
    /// SQLite says the database file is damaged or not a database.
    DamagedStore,
    /// The database stayed locked past the busy timeout.
    Busy,
    /// Anything else: a failed ingest, a foreign uid, a bad request, a
    /// daemon shutting down.
    #[default]
    #[serde(other)]
    Refused,
}

impl FailKind {
    /// The kind of an ingest failure, from SQLite's own error code.
    pub(crate) fn of(err: &anyhow::Error) -> FailKind {
        let codes = err.chain().filter_map(|e| {
            e.downcast_ref::<rusqlite::Error>()
                .and_then(rusqlite::Error::sqlite_error_code)
        });
        for code in codes {
            match code {
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase => {
                    return FailKind::DamagedStore;
                }
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                    return FailKind::Busy;
                }
                _ => {}
            }
        }
        FailKind::Refused
    }
}

/// What the daemon answers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Reply {
    pub ok: bool,
    #[serde(default)]
    pub error: Option<String>,
    /// With `error`: its kind (absent from older daemons: `Refused`).
    #[serde(default)]
    pub kind: FailKind,
    #[serde(default)]
    pub pid: u32,
    #[serde(default)]
    pub version: String,
    /// Seconds since the daemon started.
    #[serde(default)]
    pub uptime_s: u64,
    /// Records stored by this daemon since it started.
    #[serde(default)]
    pub stored: u64,
    /// Lines set aside as malformed by this daemon since it started.
    #[serde(default)]
    pub set_aside: u64,
    #[serde(default)]
    pub managed: Managed,
}

impl Reply {
    /// How the daemon runs, as people read it.
    pub(crate) fn how(&self) -> &'static str {
        if self.managed == Managed::Systemd {
            "managed by systemd"
        } else {
            "started by mt"
        }
    }
}

/// Send `verb` and wait up to `timeout` for the answer.
pub(crate) fn request(socket: &Path, verb: Verb, timeout: Duration) -> Result<Reply> {
    let stream = UnixStream::connect(socket)
        .with_context(|| format!("could not connect to the daemon at {}", socket.display()))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    send(&stream, format!("{}\n", verb.as_str()).as_bytes())?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .context("the daemon did not answer in time")?;
    if line.is_empty() {
        bail!("the daemon closed the connection without answering");
    }
    let reply: Reply = serde_json::from_str(&line).context("the daemon's answer is not valid")?;
    if !reply.ok {
        let reason = reply.error.unwrap_or_else(|| "the daemon refused".into());
        return Err(Refused(reason, reply.kind).into());
    }
    Ok(reply)
}

/// The daemon answered, and said no (a failed ingest, a foreign uid): a
/// reader must report that, not wait for a daemon that is there.
#[derive(Debug)]
pub(crate) struct Refused(pub String, pub FailKind);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// This binary's version and build (`0.1.0+` a hash of what it was built
/// from, build.rs): a daemon of another build is replaced, even of the same
/// version.
pub(crate) const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("MT_BUILD"));

/// Ask a daemon of another version to stop, and wait (≤ 10 s) until it
/// has. Records wait in the spool meanwhile, so nothing is lost; the caller
/// then starts or becomes the new writer.
pub(crate) fn retire(socket: &Path) -> Result<()> {
    let stopped = request(socket, Verb::Stop, Duration::from_secs(30))?;
    wait_gone(&stopped)
}

/// Wait (≤ 10 s) until the daemon that sent `reply` has exited. Not "until
/// the socket stops answering": under systemd the socket outlives it.
pub(crate) fn wait_gone(reply: &Reply) -> Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let gone = || {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", reply.pid));
        // Gone, or a zombie waiting for its parent (systemd, a test).
        stat.map_or(true, |s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        })
    };
    while !gone() {
        if std::time::Instant::now() > deadline {
            bail!(
                "the mt daemon {} (pid {}) did not stop; stop it with `kill {}`",
                reply.version,
                reply.pid,
                reply.pid
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Write without SIGPIPE: a daemon that hung up is an error to report, not
/// a reason for a reader (which prints under SIGPIPE's default) to die.
fn send(stream: &UnixStream, mut buf: &[u8]) -> std::io::Result<()> {
    use nix::sys::socket::{MsgFlags, send};
    use std::os::fd::AsRawFd;
    while !buf.is_empty() {
        match send(stream.as_raw_fd(), buf, MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => buf = &buf[n..],
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Is this error SQLite saying the file is damaged (or not a database)?
/// Also true for a daemon's refusal of that kind.
pub(crate) fn damaged(err: &anyhow::Error) -> bool {
    FailKind::of(err) == FailKind::DamagedStore
        || err.chain().any(|e| {
            e.downcast_ref::<Refused>()
                .is_some_and(|r| r.1 == FailKind::DamagedStore)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kind travels with a refusal; a daemon of an older build sends
    /// none, and a kind this build does not know is a plain refusal.
    #[test]
    fn a_refusals_kind_crosses_the_socket() {
        let sent = Reply {
            ok: false,
            error: Some("ingest failed: database disk image is malformed".into()),
            kind: FailKind::DamagedStore,
            ..Reply::default()
        };
        let line = serde_json::to_string(&sent).unwrap();
        assert!(line.contains("\"kind\":\"damaged_store\""), "{line}");
        let got: Reply = serde_json::from_str(&line).unwrap();
        assert_eq!(got.kind, FailKind::DamagedStore);
        let old: Reply = serde_json::from_str(r#"{"ok":false,"error":"no"}"#).unwrap();
        assert_eq!(old.kind, FailKind::Refused);
        let newer: Reply = serde_json::from_str(r#"{"ok":false,"kind":"quota"}"#).unwrap();
        assert_eq!(newer.kind, FailKind::Refused);
    }
}
