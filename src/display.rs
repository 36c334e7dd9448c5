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

/// Characters that change what a reader sees beyond themselves.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
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

#[cfg(test)]
mod tests {
    use super::safe;

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
