//! Split a command line as the shell would into words, keeping where each
//! word sits in the text, so a secret can be masked in place and the rest of
//! the line stays exactly as typed. Shell-words crates return the words
//! only; re-joining them would rewrite every line that holds a secret.

use std::ops::Range;

/// One word: where it is in the text, and its value with quotes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Word {
    pub span: Range<usize>,
    pub value: String,
    /// `;`, `&&`, `||`, `|`, `&` or a newline outside quotes: it ends a
    /// simple command.
    pub operator: bool,
}

/// The words of `text`. Unbalanced quotes run to the end of the text.
pub(super) fn split(text: &str) -> Vec<Word> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b' ' || c == b'\t' {
            i += 1;
            continue;
        }
        if let Some(len) = operator_len(&bytes[i..]) {
            words.push(Word {
                span: i..i + len,
                value: text[i..i + len].to_owned(),
                operator: true,
            });
            i += len;
            continue;
        }
        let start = i;
        let mut value = String::new();
        while i < bytes.len() {
            let c = bytes[i];
            if c == b' ' || c == b'\t' || operator_len(&bytes[i..]).is_some() {
                break;
            }
            i = match c {
                b'\'' => quoted(text, i + 1, b'\'', &mut value),
                b'"' => quoted(text, i + 1, b'"', &mut value),
                b'\\' if i + 1 < bytes.len() => {
                    let ch = text[i + 1..].chars().next().unwrap_or('\\');
                    value.push(ch);
                    i + 1 + ch.len_utf8()
                }
                _ => {
                    let ch = text[i..].chars().next().unwrap_or('?');
                    value.push(ch);
                    i + ch.len_utf8()
                }
            };
        }
        words.push(Word {
            span: start..i,
            value,
            operator: false,
        });
    }
    words
}

fn operator_len(rest: &[u8]) -> Option<usize> {
    match rest {
        [b'&', b'&', ..] | [b'|', b'|', ..] => Some(2),
        [b';' | b'|' | b'&' | b'\n', ..] => Some(1),
        _ => None,
    }
}

/// Read a quoted part starting after its opening quote; returns the index
/// after the closing quote.
fn quoted(text: &str, mut i: usize, quote: u8, value: &mut String) -> usize {
    let bytes = text.as_bytes();
    while i < bytes.len() && bytes[i] != quote {
        if quote == b'"' && bytes[i] == b'\\' && i + 1 < bytes.len() {
            i += 1;
        }
        let ch = text[i..].chars().next().unwrap_or('?');
        value.push(ch);
        i += ch.len_utf8();
    }
    (i + 1).min(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<String> {
        split(text).into_iter().map(|w| w.value).collect()
    }

    #[test]
    fn quotes_escapes_and_operators() {
        assert_eq!(
            values(r#"a --password='a b' "c \"d\"" e\ f&&g;h|i"#),
            [
                "a",
                "--password=a b",
                "c \"d\"",
                "e f",
                "&&",
                "g",
                ";",
                "h",
                "|",
                "i"
            ]
        );
        let text = "x 'y z' w";
        let w = split(text);
        assert_eq!(&text[w[1].span.clone()], "'y z'");
        assert_eq!(
            values("unbalanced 'quote here"),
            ["unbalanced", "quote here"]
        );
        assert!(split("").is_empty());
    }
}
