//! Where in a TOML file an error is: the line to fix, and the key on it.
//!
//! toml places an error found while checking a whole table or array at
//! where it opens (`[baselines]`, `ignore = [`); the message names the
//! entry (`baselines.validation`, `"tests/**"`, the pattern), and that
//! entry's line is the one to fix.

/// The key set on a line: bare, dotted or quoted; `None` for anything
/// else (an array's element, an inline table's `{ match`).
fn key_of(line: &str) -> Option<String> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let quoted = key.len() >= 2
        && ((key.starts_with('"') && key.ends_with('"'))
            || (key.starts_with('\'') && key.ends_with('\'')));
    let bare =
        !key.is_empty() && (key.chars()).all(|c| c.is_ascii_alphanumeric() || "_-. ".contains(c));
    (quoted || bare).then(|| key.trim_matches(|c| c == '"' || c == '\'').to_owned())
}

/// The table a line (0-based) is in: the nearest header above it.
fn table_of(lines: &[&str], index: usize) -> Option<String> {
    lines[..index].iter().rev().find_map(|l| {
        let t = l.trim();
        let name = t.strip_prefix('[')?.trim_start_matches('[');
        let name = name.strip_suffix(']')?.trim_end_matches(']').trim();
        let plain = (name.chars()).all(|c| c.is_ascii_alphanumeric() || "_-. \"".contains(c));
        (plain && !name.is_empty()).then(|| name.to_owned())
    })
}

/// The full key on `line` (1-based), table included: `baselines.validation`.
/// A line inside a multi-line array or inline table names the key that
/// opened it (`ignore`, `rules`).
pub(super) fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let index = line.checked_sub(1)?;
    let (at, key) = (0..=index.min(lines.len().checked_sub(1)?))
        .rev()
        .find_map(|i| key_of(lines[i]).map(|k| (i, k)))?;
    Some(match table_of(&lines, at) {
        Some(t) => format!("{t}.{key}"),
        None => key,
    })
}

/// The line of the entry an error names, when toml placed the error at
/// `line`, where the table or array holding it opens: the first line whose
/// dotted key the message names (`baselines.validation`), else the first
/// line from `line` on holding the first quoted text of the message (a
/// glob key, an array's element).
pub(super) fn entry_named(text: &str, line: usize, message: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let named = (0..lines.len()).find(|&i| {
        let Some(key) = key_of(lines[i]) else {
            return false;
        };
        let full = match table_of(&lines, i) {
            Some(t) => format!("{t}.{key}"),
            None => key,
        };
        full.contains('.') && message.contains(&full)
    });
    if let Some(i) = named {
        return Some(i + 1);
    }
    let quoted = message.split('"').nth(1).filter(|q| !q.is_empty())?;
    let quoted = format!("\"{quoted}\"");
    (line.checked_sub(1)?..lines.len())
        .find(|&i| lines[i].contains(&quoted))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_lines_of_each_toml_shape() {
        let text = "ignore = [\n  \"ok\",\n  \"(bad\",\n]\nbaselines.diagnosis = \"1h\"\nbaselines.validation = \"2 hours\"\n[edit_phases]\n\"tests/**\" = \"x\"\nrules = [\n  { match = \"y\", phase = \"z\" },\n]\n";
        assert_eq!(key_at(text, 3).as_deref(), Some("ignore"));
        assert_eq!(key_at(text, 6).as_deref(), Some("baselines.validation"));
        assert_eq!(key_at(text, 8).as_deref(), Some("edit_phases.tests/**"));
        assert_eq!(key_at(text, 10).as_deref(), Some("edit_phases.rules"));
        let at = |line, message| entry_named(text, line, message);
        assert_eq!(at(1, "\"(bad\" is not a valid regex"), Some(3));
        assert_eq!(
            at(5, "baselines.validation: \"2 hours\" is not a duration"),
            Some(6)
        );
        assert_eq!(at(7, "edit_phases maps \"tests/**\" to \"x\""), Some(8));
        assert_eq!(at(1, "missing field"), None);
    }
}
