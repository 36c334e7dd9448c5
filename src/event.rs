//! A recorded command, as stored and as `mt log --json` prints it.

use serde::Serialize;

/// An enum stored as its text: the names serde prints, SQL compares and
/// `store/` reads back are one list, written once.
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                v: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                match v.as_str()? {
                    $($text => Ok($name::$variant),)+
                    _ => Err(rusqlite::types::FromSqlError::InvalidType),
                }
            }
        }

        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }
    };
}

text_enum! {
    /// Where a command was seen.
    #[derive(Default)]
    pub enum Source {
        /// Run through `mt exec` by a program — a script, a make target, a
        /// git hook, another tool: automated. (Before `typed` existed, every
        /// `mt exec` run was stored as this.)
        #[default]
        Exec => "exec",
        /// `mt exec` typed at a prompt by a person: a manual run.
        Typed => "typed",
        /// Seen only by a shell hook: a manual run.
        Hook => "hook",
        /// `mt exec` under `CI=true`.
        Ci => "ci",
        /// The daemon's working-tree watcher (an edit).
        Watch => "watch",
        /// A coding agent: a command it ran through a shell (its
        /// environment from `mt init agent`, or its own hooks), or a file
        /// it reported writing.
        Agent => "agent",
    }
}

impl Source {
    /// Not typed by a person — a script, make, a git hook, CI, an agent:
    /// the automated side of every comparison.
    pub fn by_program(self) -> bool {
        !matches!(self, Source::Typed | Source::Hook | Source::Watch)
    }

    /// Who did the work, for the milestone's four-way split.
    pub fn who(self) -> Who {
        match self {
            Source::Typed | Source::Hook | Source::Watch => Who::Person,
            Source::Exec => Who::Script,
            Source::Agent => Who::Agent,
            Source::Ci => Who::Ci,
        }
    }
}

text_enum! {
    /// Who ran a command or made an edit (docs/metrics.md, "Who did the
    /// work").
    #[derive(Default, PartialOrd, Ord)]
    pub enum Who {
        /// Typed by a person, or a save of theirs.
        #[default]
        Person => "person",
        /// Run by a script or tool through `mt exec`.
        Script => "script",
        /// Run by a coding agent.
        Agent => "agent",
        /// Run under CI.
        Ci => "ci",
    }
}

text_enum! {
    /// What a stored event is.
    #[derive(Default)]
    pub enum EventKind {
        /// A command that ran (through `mt exec` or seen by a hook).
        #[default]
        Command => "command",
        /// `mt phase P`: a point on the timeline, no duration.
        Marker => "marker",
        /// A file of the working tree written (its path in `command`).
        Edit => "edit",
    }
}

/// One stored row of `events`, ready to print.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub source: Source,
    pub kind: EventKind,
    pub argv: Vec<String>,
    /// The exact argv bytes (arguments joined by NUL), base64: `argv` and
    /// `command` are text for display, this is what ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv_b64: Option<String>,
    pub command: String,
    pub cwd: String,
    pub repo: Option<String>,
    pub branch: Option<String>,
    pub head: Option<String>,
    pub session: Option<String>,
    pub start: String,
    pub end: Option<String>,
    pub duration_ms: Option<f64>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub pipestatus: Option<Vec<i32>>,
    pub state: RunState,
    pub phase: Option<String>,
    pub tool: Option<String>,
    pub user_ms: Option<f64>,
    pub sys_ms: Option<f64>,
    pub max_rss_kib: Option<i64>,
    /// The coding agent that ran it (source `agent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub milestone: Option<String>,
    #[serde(skip)]
    pub start_us: i64,
    #[serde(skip)]
    pub end_us: Option<i64>,
}

text_enum! {
    /// Where a stored command is in its life (SQL in `store/` reads these
    /// texts too).
    pub enum RunState {
        /// Started (an `mt exec` start record), not ended yet.
        Running => "running",
        Done => "done",
        /// Its wrapper or shell died without an end record.
        Unfinished => "unfinished",
    }
}

/// A run succeeded: it finished (not running, not unfinished), was not
/// killed by a signal, and exited 0. The one definition behind every
/// error rate and success figure (`mt status` applies it in SQL).
pub(crate) fn succeeded(state: RunState, exit_code: Option<i32>, signal: Option<i32>) -> bool {
    state == RunState::Done && signal.is_none() && exit_code == Some(0)
}

/// Join argv for display the way a shell would read it back.
pub(crate) fn display_command(argv: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&quote(&String::from_utf8_lossy(arg)));
    }
    out
}

fn quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        return arg.to_owned();
    }
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// Microseconds since the epoch as RFC 3339 UTC.
pub(crate) fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// A duration the way people read it: 850ms, 12.3s, 4m05s, 1h02m.
pub(crate) fn human_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else if ms < 60_000.0 {
        format!("{:.1}s", ms / 1000.0)
    } else if ms < 3_600_000.0 {
        let s = (ms / 1000.0).round() as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        let m = (ms / 60_000.0).round() as u64;
        format!("{}h{:02}m", m / 60, m % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        let argv: Vec<Vec<u8>> = vec![b"echo".to_vec(), b"a b".to_vec(), b"it's".to_vec(), vec![]];
        assert_eq!(display_command(&argv), r#"echo 'a b' 'it'\''s' ''"#);
    }

    #[test]
    fn time_format() {
        assert_eq!(rfc3339(1_700_000_000_123_456), "2023-11-14T22:13:20.123Z");
    }
}
