//! Secrets out of command lines, and commands never to keep.
//!
//! Applied by ingest before anything is stored. Built-in patterns follow
//! atuin's `secrets.rs` (research/shell-hooks.md §5), plus `NAME=value`
//! assignments whose name says token/secret/password/key, `--password=…`
//! style flags (and `--password VALUE` in argv), `Authorization:` headers and
//! credentials in URLs. More come from config.

use anyhow::{Context, Result};
use regex::{Regex, RegexSet};

use crate::config::Config;

pub const MASK: &str = "[REDACTED]";

const TOKENS: &[&str] = &[
    r"A[KS]IA[0-9A-Z]{16}",
    r"gh[pousr1]_[A-Za-z0-9_]{8,}",
    r"github_pat_[A-Za-z0-9_]{8,}",
    r"glpat-[A-Za-z0-9_\-]{8,}",
    r"xox[abposr]-[A-Za-z0-9\-]{8,}",
    r"hooks\.slack\.com/services/[A-Za-z0-9/_\-]+",
    r"sk_(?:test|live)_[A-Za-z0-9]{8,}",
    r"nf[pcoub]_[A-Za-z0-9]{8,}",
    r"npm_[A-Za-z0-9]{16,}",
    r"pul-[0-9a-f]{40}",
    r"v1\.[0-9A-Fa-f]{40}",
];

/// Words that make a variable or flag name secret.
const SECRET_NAME: &str = r"(?i:[A-Za-z0-9_\-]*(?:token|secret|passw(?:or)?d|passwd|api_?key|apikey|private_?key|access_?key|credential)[A-Za-z0-9_\-]*)";

#[derive(Debug)]
pub struct Filters {
    tokens: Regex,
    assign: Regex,
    flag_eq: Regex,
    flag_name: Regex,
    header: Regex,
    url: Regex,
    extra: Vec<Regex>,
    /// Every pattern above at once: most command lines hold no secret, and
    /// one pass that says so is much cheaper than six replacements.
    any: RegexSet,
    ignore: Option<RegexSet>,
}

impl Filters {
    pub fn new(config: &Config) -> Result<Filters> {
        let extra = config
            .redact
            .iter()
            .map(|p| Regex::new(p).with_context(|| format!("invalid redact pattern {p:?}")))
            .collect::<Result<_>>()?;
        let ignore = if config.ignore.is_empty() {
            None
        } else {
            Some(RegexSet::new(&config.ignore).context("invalid ignore pattern")?)
        };
        let tokens = TOKENS.join("|");
        let assign = format!(r"\b({SECRET_NAME})=(\S+)");
        let flag_eq = format!(r"(--?{SECRET_NAME})[=:](\S+)");
        let header = r"(?i)(authorization:\s*)(?:(?:bearer|basic|token)\s+)?\S+";
        let url = r"(://[^/\s:@]+:)[^@\s/]+@";
        let flag_word = format!(r"(?:^|\s)--?{SECRET_NAME}(?:\s|$)");
        let mut all = vec![
            tokens.clone(),
            assign.clone(),
            flag_eq.clone(),
            header.into(),
            url.into(),
            flag_word,
        ];
        all.extend(config.redact.iter().cloned());
        Ok(Filters {
            tokens: Regex::new(&tokens)?,
            assign: Regex::new(&assign)?,
            flag_eq: Regex::new(&flag_eq)?,
            flag_name: Regex::new(&format!(r"^--?{SECRET_NAME}$"))?,
            header: Regex::new(header)?,
            url: Regex::new(url)?,
            extra,
            any: RegexSet::new(&all)?,
            ignore,
        })
    }

    /// Built-in rules only; cannot fail.
    pub fn builtin() -> Filters {
        Filters::new(&Config::default()).expect("built-in patterns compile")
    }

    /// Should this command line not be stored at all?
    pub fn ignored(&self, command: &str) -> bool {
        self.ignore
            .as_ref()
            .is_some_and(|set| set.is_match(command))
    }

    /// `text` with every secret replaced by the mask.
    pub fn text(&self, text: &str) -> String {
        if !self.any.is_match(text) {
            return text.to_owned();
        }
        let s = self.tokens.replace_all(text, MASK);
        let s = self.assign.replace_all(&s, format!("$1={MASK}"));
        let s = self.flag_eq.replace_all(&s, format!("$1={MASK}"));
        let s = self.header.replace_all(&s, format!("${{1}}{MASK}"));
        let s = self.url.replace_all(&s, format!("${{1}}{MASK}@"));
        let mut s = s.into_owned();
        for re in &self.extra {
            s = re.replace_all(&s, MASK).into_owned();
        }
        // A secret flag followed by its value as the next word.
        self.redact_flag_values(&s)
    }

    fn redact_flag_values(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut hide_next = false;
        for (i, word) in text.split(' ').enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if hide_next && !word.is_empty() {
                out.push_str(MASK);
            } else {
                out.push_str(word);
            }
            hide_next = self.flag_name.is_match(word);
        }
        out
    }

    /// argv with secrets masked; bytes that are no secret stay exact.
    pub fn argv(&self, argv: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut hide_next = false;
        argv.iter()
            .map(|arg| {
                let out = match std::str::from_utf8(arg) {
                    _ if hide_next => MASK.as_bytes().to_vec(),
                    Ok(s) => {
                        let r = self.text(s);
                        if r == s { arg.clone() } else { r.into_bytes() }
                    }
                    // Not UTF-8: mask only if a lossy view shows a secret.
                    Err(_) => {
                        let lossy = String::from_utf8_lossy(arg);
                        if self.text(&lossy) == lossy {
                            arg.clone()
                        } else {
                            MASK.as_bytes().to_vec()
                        }
                    }
                };
                hide_next = std::str::from_utf8(arg).is_ok_and(|s| self.flag_name.is_match(s));
                out
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        let f = Filters::builtin();
        let cases = [
            (
                "git push https://ghp_abcdefghijklmnop1234@github.com",
                "ghp_",
            ),
            ("export GITHUB_TOKEN=abc123 && make", "abc123"),
            ("mysql --password=hunter2 db", "hunter2"),
            ("login --password hunter2", "hunter2"),
            ("curl -H 'Authorization: Bearer eyJhbGciOi' x", "eyJhbGciOi"),
            ("git clone https://bob:pa55word@host/repo", "pa55word"),
            ("aws s3 ls AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
            ("DB_PASSWORD=x1y2 ./run", "x1y2"),
        ];
        for (input, secret) in cases {
            let out = f.text(input);
            assert!(!out.contains(secret), "{input} -> {out}");
            assert!(out.contains(MASK), "{input} -> {out}");
        }
        assert_eq!(f.text("cargo test --release"), "cargo test --release");
    }

    #[test]
    fn argv_keeps_other_bytes_exact() {
        let f = Filters::builtin();
        let argv = vec![
            b"tool".to_vec(),
            vec![0xff, 0xfe],
            b"--token".to_vec(),
            b"s3cret".to_vec(),
        ];
        let out = f.argv(&argv);
        assert_eq!(out[1], vec![0xff, 0xfe]);
        assert_eq!(out[3], MASK.as_bytes());
    }

    #[test]
    fn ignore_patterns() {
        let cfg = Config {
            ignore: vec!["^ls( |$)".into()],
            ..Config::default()
        };
        let f = Filters::new(&cfg).unwrap();
        assert!(f.ignored("ls -la"));
        assert!(!f.ignored("lsblk"));
    }
}
