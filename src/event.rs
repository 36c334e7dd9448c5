//! A recorded command, as stored and as `mt log --json` prints it.

use serde::Serialize;

pub(crate) use mt_model::display::{human_ms, text, text_opt};
pub(crate) use mt_record::domain::{EventKind, Phase, RunState, Source, Text};

/// A domain value ([`Text`]) as SQL and serde see it: its text. The enums
/// live in `mt-record`, which knows neither SQLite nor serde; this is the
/// one place their text meets both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stored<T>(pub T);

impl<T: Text> rusqlite::types::FromSql for Stored<T> {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        T::parse(v.as_str()?)
            .map(Stored)
            .ok_or(rusqlite::types::FromSqlError::InvalidType)
    }
}

impl<T: Text> rusqlite::types::ToSql for Stored<T> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.0.as_str().into())
    }
}

/// One stored row of `events`, ready to print.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    #[serde(serialize_with = "text")]
    pub source: Source,
    #[serde(serialize_with = "text")]
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
    #[serde(serialize_with = "text")]
    pub state: RunState,
    #[serde(serialize_with = "text_opt")]
    pub phase: Option<Phase>,
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
