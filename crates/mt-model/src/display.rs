//! Recorded text made safe for a terminal or a markdown file: a command line
//! can hold any bytes, and printing ESC, CR or a bidi override raw would let
//! it retitle the terminal, set the clipboard (OSC 52) or fake log lines.
//! Each such character is shown as a visible escape instead; `--json` keeps
//! the exact bytes (`argv_b64`).

use std::borrow::Cow;
use std::fmt::Write;

/// `1 run`, `2 runs`: a count with its noun in the right number.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Characters that change what a reader sees beyond themselves: controls,
/// the line and paragraph separators, and Unicode's Default_Ignorable_Code_Point
/// set (DerivedCoreProperties.txt, Unicode 15.1), which holds every
/// Bidi_Control character — invisible, or reordering the text around them.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'..='\u{1160}'
                | '\u{17b4}'..='\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fff8}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// `text` for markdown prose, a heading, a list line, a table cell or link
/// text: [`safe`], then every character markdown or HTML acts on escaped
/// with a backslash, so `<img src=x>`, `[x](https://…)` or a `|` is text.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let chars: Vec<char> = safe(text).chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        // `#` makes a heading only at the start of a line. GitHub links a
        // bare `scheme://` or `www.` by itself (GFM autolinks); an escaped
        // `:` or `.` there keeps it text.
        let autolink = c == ':' && chars[i + 1..].starts_with(&['/', '/'])
            || c == '.'
                && i >= 3
                && chars[i - 3..i]
                    .iter()
                    .collect::<String>()
                    .eq_ignore_ascii_case("www");
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '<' | '>' | '|' | '~' | '&'
        ) || c == '#' && i == 0
            || autolink
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `text` inside a markdown code span in a table: [`safe`], with a
/// backtick (which would end the span) and `|` (which would end the cell)
/// made harmless.
pub fn code_span(text: &str) -> String {
    safe(text).replace('`', "'").replace('|', "\\|")
}

/// `text` with every control, bidi and zero-width character escaped
/// (`\e`, `\n`, `\r`, `\t`, `\u{202e}`); a backslash before one of those
/// stays as it is, so the form is unambiguous to read.
pub fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\x1b' => out.push_str("\\e"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A figure that is usually whole (minutes in a milestone's parameters):
/// written as an integer when it is one, so files read as before.
pub fn whole_if_whole<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// A duration the way people read it: 850ms, 12.3s, 4m05s, 1h02m.
pub fn human_ms(ms: f64) -> String {
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

/// `#[serde(serialize_with = "text")]`: a domain value ([`Text`]) as its
/// name. The enums live in `mt-record`, which knows no serde.
///
/// [`Text`]: mt_record::domain::Text
pub fn text<T: mt_record::domain::Text, S: serde::Serializer>(
    v: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_str())
}

/// [`text`] for an optional value: its name, or null.
pub fn text_opt<T: mt_record::domain::Text, S: serde::Serializer>(
    v: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(v.as_str()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::{markdown, safe};

    /// A pull request's title is text in a milestone: no image, no link,
    /// no broken table, no direction change.
    #[test]
    fn markdown_from_a_title_is_text() {
        let cases = [
            (
                "<img src=x onerror=alert(1)>",
                "\\<img src=x onerror=alert\\(1\\)\\>",
            ),
            (
                "[x](https://evil.example)",
                "\\[x\\]\\(https\\://evil.example\\)",
            ),
            ("a | b", "a \\| b"),
            ("`code`", "\\`code\\`"),
            ("# heading", "\\# heading"),
            ("Fix #88", "Fix #88"),
            // GFM autolinks: a bare URL or `www.` stays text.
            (
                "see https://x.io and WWW.y.io",
                "see https\\://x.io and WWW\\.y.io",
            ),
            // The visible escape's backslash is itself escaped: markdown
            // shows `\u{202e}`.
            ("rtl\u{202e}txt", "rtl\\\\u{202e}txt"),
            (
                "soft\u{ad}hyphen\u{2060}joiner\u{e0041}tag\u{2028}sep",
                "soft\\\\xadhyphen\\\\u{2060}joiner\\\\u{e0041}tag\\\\u{2028}sep",
            ),
        ];
        for (title, shown) in cases {
            assert_eq!(markdown(title), shown, "{title:?}");
        }
    }

    #[test]
    fn nothing_that_acts_on_a_terminal_survives() {
        let cases = [
            ("plain text é ✓", "plain text é ✓"),
            ("\x1b]0;pwned\x07", "\\e]0;pwned\\x07"),
            ("\x1b]52;c;ZXZpbA==\x07", "\\e]52;c;ZXZpbA==\\x07"),
            ("\x1b[2J", "\\e[2J"),
            ("ok\r\n2026-01-01 fake", "ok\\r\\n2026-01-01 fake"),
            ("a\u{202e}fdp.exe", "a\\u{202e}fdp.exe"),
            ("\u{9b}31m", "\\x9b31m"),
            ("del\x7f", "del\\x7f"),
        ];
        for (input, shown) in cases {
            assert_eq!(safe(input), shown, "{input:?}");
        }
        assert!(matches!(safe("git status"), std::borrow::Cow::Borrowed(_)));
    }
}
