//! What each record says, typed. The keys of every kind are defined here
//! once, with the encoding writers use and the decoding ingest uses; the
//! line syntax under them is [`super::record`]. The bash and zsh hooks
//! write `Hook` records with these keys by parameter expansion alone
//! (`shell/mt.bash`, `shell/mt.zsh`); `docs/spool-format.md` lists them.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::record::{Builder, Kind, Record};
use crate::clock::Timestamp;
use crate::domain::{Phase, Source};

/// The keys, by meaning.
mod key {
    pub(super) const ID: &str = "id";
    pub(super) const TIME: &str = "t";
    pub(super) const PID: &str = "pid";
    pub(super) const SOURCE: &str = "src";
    pub(super) const CWD: &str = "cwd";
    pub(super) const SESSION: &str = "sid";
    pub(super) const PHASE: &str = "phase";
    pub(super) const TOOL: &str = "tool";
    pub(super) const ROOT: &str = "root";
    pub(super) const HEAD: &str = "head";
    pub(super) const COMMIT: &str = "commit";
    pub(super) const HEAD_AFTER: &str = "hend";
    pub(super) const ARG: &str = "a";
    pub(super) const EXIT: &str = "exit";
    pub(super) const SIGNAL: &str = "sig";
    pub(super) const CORE: &str = "core";
    pub(super) const USER: &str = "ut";
    pub(super) const SYSTEM: &str = "st";
    pub(super) const RSS: &str = "rss";
    pub(super) const DURATION: &str = "dur";
    pub(super) const PIPESTATUS: &str = "ps";
    pub(super) const COMMAND: &str = "cmd";
    pub(super) const PATH: &str = "path";
    pub(super) const UNTRACKED: &str = "new";
    pub(super) const AGENT: &str = "agent";
}

/// Where a record was written: the directory, and the worktree root, HEAD
/// text and commit as read then, so the branch and commit are exact however
/// late ingest is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    pub cwd: Vec<u8>,
    pub root: Option<Vec<u8>>,
    pub head: Option<String>,
    /// The commit HEAD named, when the writer could read it from a file of
    /// its own: a detached HEAD, or the branch's loose ref. (A packed ref
    /// is left to ingest: packed-refs can be megabytes.)
    pub commit: Option<String>,
}

impl Place {
    /// `cwd`, with its repository and HEAD read from `.git` now (no fork).
    pub fn read(cwd: &Path) -> Place {
        let repo = crate::gitdir::find(cwd);
        let head = (repo.as_ref())
            .and_then(|r| crate::gitdir::read_head_text(&r.gitdir))
            .map(|h| h.trim().to_owned());
        let commit = (repo.as_ref().zip(head.as_deref())).and_then(|(r, text)| {
            crate::gitdir::loose_commit(r, &crate::gitdir::Head::parse(text)?)
        });
        Place {
            cwd: cwd.as_os_str().as_bytes().to_vec(),
            head,
            commit,
            root: repo.map(|r| r.root.as_os_str().as_bytes().to_vec()),
        }
    }

    fn encode(&self, b: &mut Builder) {
        b.field(key::CWD, &self.cwd);
        if let Some(root) = &self.root {
            b.field(key::ROOT, root);
        }
        if let Some(head) = &self.head {
            b.field(key::HEAD, head);
        }
        if let Some(commit) = &self.commit {
            b.field(key::COMMIT, commit);
        }
    }

    fn decode(r: &Record) -> Place {
        Place {
            cwd: r.get(key::CWD).unwrap_or_default().to_vec(),
            root: r.get(key::ROOT).map(<[u8]>::to_vec),
            head: r.text(key::HEAD),
            commit: r.text(key::COMMIT),
        }
    }
}

/// `mt exec` is about to run `argv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub id: String,
    pub time: Timestamp,
    /// The wrapper's pid: while it lives the run may still end.
    pub pid: i64,
    pub source: Source,
    pub place: Place,
    pub session: Option<String>,
    pub phase: Option<Phase>,
    pub tool: Option<String>,
    pub argv: Vec<Vec<u8>>,
    /// With source `agent`: the agent's name.
    pub agent: Option<String>,
}

/// How an `mt exec` run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct End {
    pub id: String,
    pub time: Timestamp,
    /// Exit code; `None` when a signal ended the run.
    pub exit: Option<i32>,
    pub signal: Option<i32>,
    pub core_dumped: bool,
    /// Resource use from wait4; absent when the command never started.
    pub user_us: Option<i64>,
    pub sys_us: Option<i64>,
    pub max_rss_kib: Option<i64>,
}

/// A shell hook saw a command line finish (fish's `mt hook-record`; bash and
/// zsh write the same keys themselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub id: String,
    pub session: Option<String>,
    pub pid: i64,
    pub time: Timestamp,
    pub duration_us: i64,
    pub exit: Option<i32>,
    pub pipestatus: Option<String>,
    pub place: Place,
    /// The line as typed; empty when the shell kept it out of history.
    pub command: Vec<u8>,
    /// HEAD was read after the command, not at its prompt (fish).
    pub head_after: bool,
    /// Run by a coding agent (its name): `src=agent agent=NAME`.
    pub agent: Option<String>,
}

/// `mt phase P`: time counts to P from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub id: String,
    pub time: Timestamp,
    pub session: Option<String>,
    pub phase: Phase,
    pub place: Place,
}

/// A file of a working tree was written (the daemon's watcher).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub id: String,
    pub time: Timestamp,
    /// The worktree root as `cwd` and `root`, with HEAD as read then.
    pub place: Place,
    /// Relative to the root; never the content.
    pub path: Vec<u8>,
    /// git did not track the file when it was written: if a command of
    /// the tree was running then, the file is that run's output.
    pub untracked: bool,
    /// Written by a coding agent that reported it (its name).
    pub agent: Option<String>,
}

/// One record of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spooled {
    Start(Start),
    End(End),
    Hook(Hook),
    Marker(Marker),
    Edit(Edit),
}

impl Spooled {
    /// The record as one spool line, LF included.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Spooled::Start(s) => s.encode(),
            Spooled::End(e) => e.encode(),
            Spooled::Hook(h) => h.encode(),
            Spooled::Marker(m) => m.encode(),
            Spooled::Edit(e) => e.encode(),
        }
    }

    /// The typed record; `None` when a field every record of its kind
    /// needs (id, time, a command, a known phase) is missing.
    pub fn decode(r: &Record) -> Option<Spooled> {
        let id = r.text(key::ID)?;
        let time = Timestamp::from_micros(r.int(key::TIME)?);
        Some(match r.kind {
            Kind::Start => Spooled::Start(Start {
                pid: r.int(key::PID).unwrap_or(0),
                source: match r.get(key::SOURCE) {
                    Some(b"ci") => Source::Ci,
                    Some(b"typed") => Source::Typed,
                    Some(b"agent") => Source::Agent,
                    _ => Source::Exec,
                },
                agent: r.text(key::AGENT).filter(|a| !a.is_empty()),
                place: Place::decode(r),
                session: r.text(key::SESSION),
                phase: phase(r),
                tool: r.text(key::TOOL).filter(|t| !t.is_empty()),
                argv: r.all(key::ARG).map(<[u8]>::to_vec).collect(),
                id,
                time,
            }),
            Kind::End => Spooled::End(End {
                signal: int32(r, key::SIGNAL),
                exit: int32(r, key::SIGNAL)
                    .is_none()
                    .then(|| int32(r, key::EXIT))
                    .flatten(),
                core_dumped: r.int(key::CORE) == Some(1),
                user_us: r.int(key::USER),
                sys_us: r.int(key::SYSTEM),
                max_rss_kib: r.int(key::RSS),
                id,
                time,
            }),
            Kind::Hook => Spooled::Hook(Hook {
                session: r.text(key::SESSION),
                pid: r.int(key::PID).unwrap_or(0),
                duration_us: r.int(key::DURATION).unwrap_or(0).max(0),
                exit: int32(r, key::EXIT),
                pipestatus: r.text(key::PIPESTATUS).filter(|p| !p.is_empty()),
                place: Place::decode(r),
                command: r.get(key::COMMAND).unwrap_or_default().to_vec(),
                head_after: r.get(key::HEAD_AFTER) == Some(b"1"),
                agent: (r.get(key::SOURCE) == Some(b"agent"))
                    .then(|| r.text(key::AGENT).filter(|a| !a.is_empty()))
                    .map(|a| a.unwrap_or_else(|| "agent".to_owned())),
                id,
                time,
            }),
            Kind::Edit => Spooled::Edit(Edit {
                place: Place::decode(r),
                path: r.get(key::PATH).filter(|p| !p.is_empty())?.to_vec(),
                untracked: r.get(key::UNTRACKED) == Some(b"1"),
                agent: (r.get(key::SOURCE) == Some(b"agent"))
                    .then(|| r.text(key::AGENT).unwrap_or_else(|| "agent".to_owned())),
                id,
                time,
            }),
            Kind::Phase => Spooled::Marker(Marker {
                session: r.text(key::SESSION),
                phase: phase(r)?,
                place: Place::decode(r),
                id,
                time,
            }),
        })
    }
}

fn int32(r: &Record, k: &str) -> Option<i32> {
    r.int(k).and_then(|v| i32::try_from(v).ok())
}

fn phase(r: &Record) -> Option<Phase> {
    Phase::parse_work(&r.text(key::PHASE)?)
}

fn common(b: &mut Builder, id: &str, time: Timestamp) {
    b.field(key::ID, id)
        .field(key::TIME, time.micros().to_string());
}

impl Start {
    fn encode(&self) -> Vec<u8> {
        let mut b = Builder::new(Kind::Start);
        common(&mut b, &self.id, self.time);
        b.field(key::PID, self.pid.to_string())
            .field(key::SOURCE, self.source.as_str());
        if let Some(sid) = &self.session {
            b.field(key::SESSION, sid);
        }
        if let Some(p) = self.phase {
            b.field(key::PHASE, p.as_str());
        }
        if let Some(t) = &self.tool {
            b.field(key::TOOL, t);
        }
        if let Some(a) = &self.agent {
            b.field(key::AGENT, a);
        }
        self.place.encode(&mut b);
        for arg in &self.argv {
            b.field(key::ARG, arg);
        }
        b.finish()
    }
}

impl End {
    fn encode(&self) -> Vec<u8> {
        let mut b = Builder::new(Kind::End);
        common(&mut b, &self.id, self.time);
        let usage = [
            (key::USER, self.user_us),
            (key::SYSTEM, self.sys_us),
            (key::RSS, self.max_rss_kib),
        ];
        for (k, v) in usage {
            if let Some(v) = v {
                b.field(k, v.to_string());
            }
        }
        if let Some(c) = self.exit {
            b.field(key::EXIT, c.to_string());
        }
        if let Some(s) = self.signal {
            b.field(key::SIGNAL, s.to_string())
                .field(key::CORE, if self.core_dumped { "1" } else { "0" });
        }
        b.finish()
    }
}

impl Hook {
    fn encode(&self) -> Vec<u8> {
        let mut b = Builder::new(Kind::Hook);
        common(&mut b, &self.id, self.time);
        if let Some(sid) = &self.session {
            b.field(key::SESSION, sid);
        }
        b.field(key::PID, self.pid.to_string())
            .field(key::DURATION, self.duration_us.to_string());
        if let Some(c) = self.exit {
            b.field(key::EXIT, c.to_string());
        }
        if let Some(ps) = &self.pipestatus {
            b.field(key::PIPESTATUS, ps);
        }
        b.field(key::COMMAND, &self.command);
        self.place.encode(&mut b);
        if self.head_after {
            b.field(key::HEAD_AFTER, "1");
        }
        if let Some(agent) = &self.agent {
            b.field(key::SOURCE, "agent").field(key::AGENT, agent);
        }
        b.finish()
    }
}

impl Marker {
    fn encode(&self) -> Vec<u8> {
        let mut b = Builder::new(Kind::Phase);
        common(&mut b, &self.id, self.time);
        b.field(key::PHASE, self.phase.as_str());
        if let Some(sid) = &self.session {
            b.field(key::SESSION, sid);
        }
        self.place.encode(&mut b);
        b.finish()
    }
}

impl Edit {
    fn encode(&self) -> Vec<u8> {
        let mut b = Builder::new(Kind::Edit);
        common(&mut b, &self.id, self.time);
        b.field(key::PATH, &self.path);
        if self.untracked {
            b.field(key::UNTRACKED, b"1");
        }
        if let Some(agent) = &self.agent {
            b.field(key::SOURCE, "agent").field(key::AGENT, agent);
        }
        self.place.encode(&mut b);
        b.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(s: Spooled) {
        let line = s.encode();
        let rec = Record::parse(&line[..line.len() - 1]).unwrap();
        assert_eq!(Spooled::decode(&rec), Some(s));
    }

    fn place() -> Place {
        Place {
            cwd: b"/w/a b".to_vec(),
            root: Some(b"/w".to_vec()),
            head: Some("ref: refs/heads/x".into()),
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        }
    }

    #[test]
    fn every_kind_round_trips() {
        round_trip(Spooled::Start(Start {
            id: "1-2".into(),
            time: Timestamp::from_micros(7),
            pid: 42,
            source: Source::Ci,
            place: place(),
            session: Some("s".into()),
            phase: Some(Phase::Validation),
            tool: Some("pytest".into()),
            argv: vec![b"echo".to_vec(), b"\t\n\\".to_vec(), vec![]],
            agent: None,
        }));
        round_trip(Spooled::Start(Start {
            id: "1-3".into(),
            time: Timestamp::from_micros(8),
            pid: 43,
            source: Source::Agent,
            place: place(),
            session: None,
            phase: None,
            tool: None,
            argv: vec![b"make".to_vec()],
            agent: Some("codex".into()),
        }));
        round_trip(Spooled::End(End {
            id: "1-2".into(),
            time: Timestamp::from_micros(9),
            signal: Some(15),
            core_dumped: true,
            user_us: Some(1),
            sys_us: Some(2),
            max_rss_kib: Some(3),
            ..End::default()
        }));
        round_trip(Spooled::End(End {
            id: "x".into(),
            exit: Some(127),
            ..End::default()
        }));
        round_trip(Spooled::Hook(Hook {
            id: "s:5".into(),
            session: Some("s".into()),
            pid: 9,
            time: Timestamp::from_micros(5),
            duration_us: 100,
            exit: Some(1),
            pipestatus: Some("0 1".into()),
            place: place(),
            command: b"make test".to_vec(),
            head_after: true,
            agent: Some("claude-code".into()),
        }));
        round_trip(Spooled::Marker(Marker {
            id: "p1".into(),
            time: Timestamp::from_micros(3),
            session: None,
            phase: Phase::Diagnosis,
            place: Place::default(),
        }));
        round_trip(Spooled::Edit(Edit {
            id: "w1".into(),
            time: Timestamp::from_micros(4),
            place: place(),
            path: b"src/a b.rs".to_vec(),
            untracked: false,
            agent: Some("claude-code".into()),
        }));
        round_trip(Spooled::Edit(Edit {
            id: "w2".into(),
            time: Timestamp::from_micros(5),
            place: place(),
            path: b"coverage.xml".to_vec(),
            untracked: true,
            agent: None,
        }));
    }

    #[test]
    fn a_record_the_shell_wrote_decodes() {
        // The bash hook's shape (shell/mt.bash), keys in its order.
        let line = b"mt1\tH\tid=s:5\tsid=s\tpid=9\tt=5\tdur=100\texit=0\tps=0\tcwd=/w\troot=/w\thead=ref: refs/heads/main\tcmd=ls\t.";
        let Some(Spooled::Hook(h)) = Spooled::decode(&Record::parse(line).unwrap()) else {
            panic!("not a hook record");
        };
        assert_eq!(
            (h.exit, h.duration_us, h.command.as_slice()),
            (Some(0), 100, b"ls".as_slice())
        );
        assert_eq!(h.place.head.as_deref(), Some("ref: refs/heads/main"));
    }

    #[test]
    fn records_without_id_time_or_known_phase_are_dropped() {
        for line in [
            &b"mt1\tS\tt=1\ta=x\t."[..],
            b"mt1\tE\tid=x\t.",
            b"mt1\tP\tid=p\tt=1\tphase=lunch\t.",
        ] {
            assert_eq!(Spooled::decode(&Record::parse(line).unwrap()), None);
        }
    }
}
