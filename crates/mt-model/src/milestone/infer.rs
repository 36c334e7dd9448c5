//! What a branch name and a diff say about the work: type, issue number,
//! slug, complexity. Pure.

use super::kinds::{Level, WorkType};

/// (prefix, type) — a segment of the branch name before its last one (the
/// first that names a type: `fix/…`, `alice/fix/…`).
const TYPES: &[(&str, WorkType)] = &[
    ("fix", WorkType::Bug),
    ("bugfix", WorkType::Bug),
    ("hotfix", WorkType::Bug),
    ("bug", WorkType::Bug),
    ("feat", WorkType::Feature),
    ("feature", WorkType::Feature),
    ("enh", WorkType::Enhancement),
    ("enhancement", WorkType::Enhancement),
    ("refactor", WorkType::Enhancement),
    ("chore", WorkType::Enhancement),
    ("ci", WorkType::CiFix),
    ("sec", WorkType::Security),
    ("security", WorkType::Security),
    ("perf", WorkType::Performance),
];

/// What the branch name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromBranch {
    pub kind: Option<WorkType>,
    pub issue: Option<u64>,
    pub slug: String,
}

/// `fix/1234-coverage-masking` → bug, #1234, `coverage-masking`.
pub fn from_branch(branch: &str) -> FromBranch {
    let (prefixes, last) = match branch.rsplit_once('/') {
        Some((p, last)) => (p, last),
        None => ("", branch),
    };
    let kind = prefixes.split('/').find_map(|p| {
        TYPES
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(p))
            .map(|(_, t)| *t)
    });
    let digits: String = last.chars().take_while(char::is_ascii_digit).collect();
    let (issue, rest) = if !digits.is_empty()
        && matches!(last[digits.len()..].chars().next(), None | Some('-' | '_'))
    {
        (
            digits.parse().ok(),
            last[digits.len()..].trim_start_matches(['-', '_']),
        )
    } else {
        (None, last)
    };
    FromBranch {
        kind,
        issue,
        slug: slugify(if rest.is_empty() { last } else { rest }),
    }
}

/// Lowercase words (letters and digits of any script) joined by `-`.
pub fn slugify(text: &str) -> String {
    let mut out = String::new();
    // Letters of every script stay (`feat/ünïcode` → `ünïcode`); the rest
    // becomes one dash.
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "work".to_owned()
    } else {
        out.chars().take(60).collect()
    }
}

/// Complexity from the size of the diff (documented in README):
/// simple ≤ 50 changed lines and ≤ 3 files; moderate ≤ 300 and ≤ 10;
/// complex ≤ 1000; strategic beyond.
pub fn complexity(files: u64, changed_lines: u64) -> Level {
    if changed_lines <= 50 && files <= 3 {
        Level::Simple
    } else if changed_lines <= 300 && files <= 10 {
        Level::Moderate
    } else if changed_lines <= 1000 {
        Level::Complex
    } else {
        Level::Strategic
    }
}

/// A title from the branch: `coverage-masking` → `Coverage masking`.
pub fn title(slug: &str) -> String {
    let words = slug.replace('-', " ");
    let mut c = words.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names() {
        let cases = [
            (
                "fix/1234-coverage-masking",
                Some(WorkType::Bug),
                Some(1234),
                "coverage-masking",
            ),
            (
                "feat/88_login-page",
                Some(WorkType::Feature),
                Some(88),
                "login-page",
            ),
            (
                "feature/JIRA-12-x",
                Some(WorkType::Feature),
                None,
                "jira-12-x",
            ),
            ("perf/faster", Some(WorkType::Performance), None, "faster"),
            ("wip", None, None, "wip"),
            ("user/fix/42-y", Some(WorkType::Bug), Some(42), "y"),
            (
                "alice/feat/deep/7-nested",
                Some(WorkType::Feature),
                Some(7),
                "nested",
            ),
            (
                "feat/ünïcode-naïve",
                Some(WorkType::Feature),
                None,
                "ünïcode-naïve",
            ),
            ("fix/1234", Some(WorkType::Bug), Some(1234), "1234"),
        ];
        for (branch, kind, issue, slug) in cases {
            assert_eq!(
                from_branch(branch),
                FromBranch {
                    kind,
                    issue,
                    slug: slug.into()
                },
                "{branch}"
            );
        }
    }

    #[test]
    fn complexity_thresholds() {
        assert_eq!(complexity(1, 10), Level::Simple);
        assert_eq!(complexity(4, 10), Level::Moderate);
        assert_eq!(complexity(3, 51), Level::Moderate);
        assert_eq!(complexity(11, 100), Level::Complex);
        assert_eq!(complexity(2, 5000), Level::Strategic);
    }
}
