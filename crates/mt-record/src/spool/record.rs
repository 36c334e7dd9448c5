//! The spool record format, version 1 (`docs/spool-format.md`).
//!
//! One record is one line: `mt1 TAB kind (TAB key=value)* TAB . LF`.
//! Values are raw bytes with four escapes (`\\`, `\t`, `\n`, `\r`), so any
//! command line survives — quotes, control characters, invalid UTF-8 — and
//! a shell can write a record with parameter expansion alone. The closing
//! `.` field tells a complete record from one cut off mid-write: a cut line
//! never parses as a shorter, wrong record.

use std::fmt;

pub const MAGIC: &[u8] = b"mt1";
/// Longest record accepted; longer lines are set aside (Linux caps a
/// command line at 2 MiB of argv+env, so a real one fits).
/// How every record line starts.
const GLUE: &[u8] = b"mt1\t";

pub const MAX_RECORD: usize = 4 << 20;

/// What a record says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `mt exec` is about to run a command.
    Start,
    /// `mt exec`'s command finished.
    End,
    /// A shell hook saw a command line finish.
    Hook,
    /// `mt phase P`: time counts to P from here on.
    Phase,
    /// The daemon's watcher saw a file of a working tree written.
    Edit,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Kind::Start => b'S',
            Kind::End => b'E',
            Kind::Hook => b'H',
            Kind::Phase => b'P',
            Kind::Edit => b'W',
        }
    }

    fn from_code(c: &[u8]) -> Option<Kind> {
        Some(match c {
            b"S" => Kind::Start,
            b"E" => Kind::End,
            b"H" => Kind::Hook,
            b"P" => Kind::Phase,
            b"W" => Kind::Edit,
            _ => return None,
        })
    }
}

/// Builds one encoded record.
#[derive(Debug)]
pub struct Builder {
    buf: Vec<u8>,
}

impl Builder {
    pub fn new(kind: Kind) -> Builder {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(MAGIC);
        buf.push(b'\t');
        buf.push(kind.code());
        Builder { buf }
    }

    /// Add `key=value`; `key` must be plain ASCII without `=` or TAB.
    pub fn field(&mut self, key: &str, value: impl AsRef<[u8]>) -> &mut Builder {
        self.buf.push(b'\t');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.push(b'=');
        escape_into(&mut self.buf, value.as_ref());
        self
    }

    /// The finished line, LF included.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(b"\t.\n");
        self.buf
    }
}

fn escape_into(out: &mut Vec<u8>, value: &[u8]) {
    for &b in value {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// A parsed record: its kind and its fields in order (keys may repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: Kind,
    pub fields: Vec<(String, Vec<u8>)>,
}

/// Why a line was set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    NotARecord,
    UnsupportedVersion,
    UnknownKind,
    Truncated,
    BadField,
    BadEscape,
    TooLong,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Malformed::NotARecord => "not an mt record",
            Malformed::UnsupportedVersion => "record version not supported by this mt",
            Malformed::UnknownKind => "unknown record kind",
            Malformed::Truncated => "record cut off before its end",
            Malformed::BadField => "field without key=value",
            Malformed::BadEscape => "invalid escape sequence",
            Malformed::TooLong => "record longer than the 4 MiB limit",
        })
    }
}

impl Record {
    /// Parse one line (without its LF).
    pub fn parse(line: &[u8]) -> Result<Record, Malformed> {
        if line.len() > MAX_RECORD {
            return Err(Malformed::TooLong);
        }
        let mut parts = line.split(|&b| b == b'\t');
        match parts.next() {
            Some(MAGIC) => {}
            Some(v)
                if v.starts_with(b"mt") && v.len() > 2 && v[2..].iter().all(u8::is_ascii_digit) =>
            {
                return Err(Malformed::UnsupportedVersion);
            }
            _ => return Err(Malformed::NotARecord),
        }
        let kind = parts.next().ok_or(Malformed::Truncated)?;
        let kind = Kind::from_code(kind).ok_or(Malformed::UnknownKind)?;
        let mut fields = Vec::new();
        let mut closed = false;
        for part in parts {
            if closed {
                return Err(Malformed::BadField);
            }
            if part == b"." {
                closed = true;
                continue;
            }
            let eq = part
                .iter()
                .position(|&b| b == b'=')
                .ok_or(Malformed::BadField)?;
            let key = std::str::from_utf8(&part[..eq]).map_err(|_| Malformed::BadField)?;
            if key.is_empty() {
                return Err(Malformed::BadField);
            }
            fields.push((key.to_owned(), unescape(&part[eq + 1..])?));
        }
        if !closed {
            return Err(Malformed::Truncated);
        }
        Ok(Record { kind, fields })
    }

    /// Where a whole record starts inside a line that does not parse, if
    /// one does: a writer cut off mid-record (a full disk, a kill) leaves no
    /// LF, so the next record is appended to the cut one. A raw TAB never
    /// occurs inside a value, so `mt1 TAB` after the start of a line can
    /// only be where a record was glued on.
    pub fn glued_start(line: &[u8]) -> Option<usize> {
        let mut from = 1;
        while let Some(i) = find(&line[from.min(line.len())..], GLUE).map(|i| i + from) {
            if Record::parse(&line[i..]).is_ok() {
                return Some(i);
            }
            from = i + 1;
        }
        None
    }

    /// Where the command text sits in a record line (the values of `cmd`
    /// and every `a`): the bytes ingest overwrites once the record is
    /// stored masked or ignored, so the spool does not keep what the store
    /// would not. The other fields (`t=` is what `mt doctor` looks for)
    /// stay.
    pub fn command_spans(line: &[u8]) -> Vec<std::ops::Range<usize>> {
        let mut spans = Vec::new();
        let mut at = 0;
        for part in line.split(|&b| b == b'\t') {
            for key in [&b"cmd="[..], b"a="] {
                if part.starts_with(key) && part.len() > key.len() {
                    spans.push(at + key.len()..at + part.len());
                }
            }
            at += part.len() + 1;
        }
        spans
    }

    /// First value of `key`.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// First value of `key` as UTF-8 text (lossy).
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// First value of `key` as an integer; absent or not a number is `None`.
    pub fn int(&self, key: &str) -> Option<i64> {
        std::str::from_utf8(self.get(key)?).ok()?.parse().ok()
    }

    /// Every value of a repeated `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn unescape(raw: &[u8]) -> Result<Vec<u8>, Malformed> {
    if !raw.contains(&b'\\') {
        return Ok(raw.to_vec());
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut it = raw.iter();
    while let Some(&b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        out.push(match it.next() {
            Some(b'\\') => b'\\',
            Some(b't') => b'\t',
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            _ => return Err(Malformed::BadEscape),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        let all: Vec<u8> = (0..=255u8).chain(b"\\t\\n".iter().copied()).collect();
        let mut b = Builder::new(Kind::Start);
        b.field("a", &all).field("a", b"").field("cwd", b"/tmp");
        let line = b.finish();
        assert_eq!(line.iter().filter(|&&c| c == b'\n').count(), 1, "one line");
        let rec = Record::parse(&line[..line.len() - 1]).unwrap();
        assert_eq!(rec.kind, Kind::Start);
        let args: Vec<&[u8]> = rec.all("a").collect();
        assert_eq!(args, vec![all.as_slice(), b"".as_slice()]);
        assert_eq!(rec.text("cwd").as_deref(), Some("/tmp"));
    }

    #[test]
    fn malformed_lines_say_why() {
        let cases: &[(&[u8], Malformed)] = &[
            (b"garbage", Malformed::NotARecord),
            (b"mt2\tS\t.", Malformed::UnsupportedVersion),
            (b"mt1\tZ\t.", Malformed::UnknownKind),
            (b"mt1\tS\tid=1\ta=ech", Malformed::Truncated),
            (b"mt1\tS\tnokey\t.", Malformed::BadField),
            (b"mt1\tS\ta=\\x\t.", Malformed::BadEscape),
            (b"mt1\tS\t.\tid=1", Malformed::BadField),
        ];
        for (line, want) in cases {
            assert_eq!(
                Record::parse(line).unwrap_err(),
                *want,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    proptest::proptest! {
        /// Any bytes as arguments survive encoding and parsing exactly.
        #[test]
        fn any_argv_round_trips(args in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 1..8)) {
            let mut b = Builder::new(Kind::Start);
            for a in &args {
                b.field("a", a);
            }
            let line = b.finish();
            proptest::prop_assert_eq!(line.iter().filter(|&&c| c == b'\n').count(), 1);
            let rec = Record::parse(&line[..line.len() - 1]).unwrap();
            let back: Vec<Vec<u8>> = rec.all("a").map(<[u8]>::to_vec).collect();
            proptest::prop_assert_eq!(back, args);
        }

        /// Any line at all parses or is refused with a reason; never a panic.
        #[test]
        fn any_line_parses_or_is_refused(line in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = Record::parse(&line);
        }

        /// A record cut anywhere before its end is refused, never misread.
        #[test]
        fn a_cut_record_is_never_a_shorter_one(arg in proptest::collection::vec(proptest::num::u8::ANY, 0..64), cut in 0usize..1000) {
            let mut b = Builder::new(Kind::Start);
            b.field("id", "x").field("a", &arg);
            let line = b.finish();
            let cut = cut % (line.len() - 2);
            proptest::prop_assert!(Record::parse(&line[..cut]).is_err());
        }
    }

    #[test]
    fn a_record_glued_onto_a_cut_one_is_found() {
        let mut whole = Builder::new(Kind::Hook);
        whole.field("id", "2").field("cmd", "echo next");
        let whole = whole.finish();
        let whole = &whole[..whole.len() - 1];
        let mut cut = Builder::new(Kind::Hook);
        cut.field("id", "1").field("cmd", "mt1 one");
        let cut = cut.finish();
        // Cut at every byte, the tab between fields included.
        for at in 1..cut.len() - 1 {
            let line = [&cut[..at], whole].concat();
            assert!(Record::parse(&line).is_err(), "cut at {at}");
            let start = Record::glued_start(&line).expect("glued record found");
            assert_eq!(start, at, "cut at {at}");
            assert_eq!(
                Record::parse(&line[start..]).unwrap().text("cmd").unwrap(),
                "echo next"
            );
        }
        assert_eq!(Record::glued_start(b"mt1\tH\tcmd=x"), None);
        assert_eq!(Record::glued_start(whole), None);
    }

    #[test]
    fn unknown_keys_are_kept_for_newer_writers() {
        let rec = Record::parse(b"mt1\tE\tid=x\tfuture=1\texit=3\t.").unwrap();
        assert_eq!(rec.int("exit"), Some(3));
        assert_eq!(rec.get("future"), Some(b"1".as_slice()));
    }
}
