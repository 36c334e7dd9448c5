//! Secrets out of command lines, and commands never to keep.
//!
//! Applied by ingest before anything is stored, in two passes:
//! 1. words (`words`, `rules`): the line is split as the shell would, and
//!    the option forms of the tools people pass passwords to, secret-named
//!    options and variables and credential headers are masked word by word,
//!    so a quoted value with spaces is masked whole. `mt exec` gives the
//!    exact argv; the hook's text is split into words in place.
//! 2. patterns: token formats that secret scanners know, credentials in
//!    URLs, private-key blocks, and the user's `redact` patterns, anywhere.
//!
//! The rules are listed in docs/redaction.md.

mod rules;
pub mod shape;
mod words;

use std::borrow::Cow;

use anyhow::{Context, Result};
use regex::{Captures, Regex, RegexSet};

use crate::config::Config;
use rules::Mask;

pub const MASK: &str = "[REDACTED]";
/// What stands for the argument of mt's own private commands.
const NOT_STORED: &str = "[argument not stored]";

/// Did the rules take something out of this stored text?
pub fn masked(stored: &str) -> bool {
    stored.contains(MASK) || stored.contains(NOT_STORED)
}

const TOKENS: &[&str] = &[
    r"A[KS]IA[0-9A-Z]{16}",
    r"gh[pousr1]_[A-Za-z0-9_]{8,}",
    r"github_pat_[A-Za-z0-9_]{8,}",
    r"gl(?:pat|dt|rt|ptt)-[A-Za-z0-9_\-]{8,}",
    r"xox[abposre]-[A-Za-z0-9\-]{8,}",
    r"xapp-[A-Za-z0-9\-]{8,}",
    r"hooks\.slack\.com/services/[A-Za-z0-9/_\-]+",
    r"[sr]k_(?:test|live)_[A-Za-z0-9]{8,}",
    r"nf[pcoub]_[A-Za-z0-9]{8,}",
    r"npm_[A-Za-z0-9]{16,}",
    r"pypi-AgE[A-Za-z0-9_\-]{16,}",
    r"pul-[0-9a-f]{40}",
    r"v1\.[0-9A-Fa-f]{40}",
    r"AIza[0-9A-Za-z_\-]{35}",
    r"ya29\.[0-9A-Za-z_\-]{20,}",
    r"AccountKey=[A-Za-z0-9+/=]{20,}",
    r"\bsig=[A-Za-z0-9%+/=]{20,}",
    r"sk-(?:proj-|ant-[a-z0-9]*-?)?[A-Za-z0-9_\-]{20,}",
    r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z ]*PRIVATE KEY-----|\z)",
];

#[derive(Debug)]
pub struct Filters {
    tokens: Regex,
    url: Regex,
    extra: Vec<Regex>,
    ignore: Option<RegexSet>,
}

/// `mt forget SECRET` names what is to be forgotten: mt's own `forget`
/// (and `config`) lines are stored without their arguments, or typing the
/// command would record the secret again.
fn is_own_private(program: Option<&[u8]>, sub: Option<&[u8]>) -> bool {
    let program = program.map(|p| p.rsplit(|&b| b == b'/').next().unwrap_or(p));
    program == Some(b"mt".as_slice()) && matches!(sub, Some(b"forget" | b"config"))
}

/// The stored text of such a line: `mt forget` alone.
fn own_private_line(words: &[words::Word]) -> Option<String> {
    let (program, sub) = (words.first()?, words.get(1)?);
    is_own_private(Some(program.value.as_bytes()), Some(sub.value.as_bytes()))
        .then(|| format!("mt {} {NOT_STORED}", sub.value))
}

/// The token formats as one regex, each that starts with a letter or digit
/// anchored at a word boundary: `task-management` holds no `sk-` key and
/// `test_info_messages` no `nfo_` token.
fn tokens_regex() -> Result<Regex> {
    let anchored: Vec<String> = TOKENS
        .iter()
        .map(|t| {
            if t.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                format!(r"\b(?:{t})")
            } else {
                format!("(?:{t})")
            }
        })
        .collect();
    Ok(Regex::new(&anchored.join("|"))?)
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
        Ok(Filters {
            tokens: tokens_regex()?,
            url: Regex::new(r"([A-Za-z][A-Za-z0-9+.\-]*://)([^/\s@'\x22]+)@")?,
            extra,
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

    /// A typed command line with every secret replaced by the mask; the
    /// rest of the line stays as typed.
    pub fn text(&self, text: &str) -> String {
        let words = words::split(text);
        if let Some(own) = own_private_line(&words) {
            return own;
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (i, mask) in rules::line_masks(&words) {
            let w = &words[i];
            out.push_str(&text[at..w.span.start]);
            out.push_str(&masked_word(&w.value, mask, &text[w.span.clone()]));
            at = w.span.end;
        }
        out.push_str(&text[at..]);
        self.patterns(&out).into_owned()
    }

    /// argv with secrets masked; bytes that are no secret stay exact.
    /// mt's own `forget` and `config` keep no argument.
    pub fn argv(&self, argv: &[Vec<u8>]) -> Vec<Vec<u8>> {
        if is_own_private(
            argv.first().map(std::vec::Vec::as_slice),
            argv.get(1).map(std::vec::Vec::as_slice),
        ) {
            return argv.iter().take(2).cloned().collect();
        }
        let lossy: Vec<Cow<str>> = argv.iter().map(|a| String::from_utf8_lossy(a)).collect();
        let values: Vec<&str> = lossy.iter().map(std::convert::AsRef::as_ref).collect();
        let masks = rules::masks(&values, &vec![false; values.len()]);
        argv.iter()
            .enumerate()
            .map(|(i, arg)| {
                if let Ok(m) = masks.binary_search_by_key(&i, |&(m, _)| m) {
                    return masked_value(values[i], masks[m].1).into_bytes();
                }
                match std::str::from_utf8(arg) {
                    Ok(s) => match self.patterns(s) {
                        Cow::Borrowed(_) => arg.clone(),
                        Cow::Owned(r) => r.into_bytes(),
                    },
                    // Not UTF-8: masked whole if a lossy view shows a secret.
                    Err(_) => match self.patterns(values[i]) {
                        Cow::Borrowed(_) => arg.clone(),
                        Cow::Owned(_) => MASK.as_bytes().to_vec(),
                    },
                }
            })
            .collect()
    }

    /// Token formats, URL credentials, headers and the user's patterns.
    fn patterns<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let mut out = self.tokens.replace_all(s, MASK);
        let url = self.url.replace_all(&out, |c: &Captures| {
            // user:password, or a lone token (https://TOKEN@host); a plain
            // user name (ssh://git@host) is no secret.
            let userinfo = &c[2];
            if userinfo.contains(':') || userinfo.len() >= 16 || userinfo.contains(MASK) {
                format!("{}{MASK}@", &c[1])
            } else {
                c[0].to_owned()
            }
        });
        if let Cow::Owned(u) = url {
            out = Cow::Owned(u);
        }
        for re in &self.extra {
            if let Cow::Owned(x) = re.replace_all(&out, MASK) {
                out = Cow::Owned(x);
            }
        }
        out
    }
}

fn masked_value(value: &str, mask: Mask) -> String {
    match mask {
        Mask::Whole => MASK.to_owned(),
        Mask::From(k) => format!("{}{MASK}", value.get(..k).unwrap_or("")),
    }
}

/// A masked word as it goes back into typed text: as typed up to the mask
/// when the word had no quoting, else quoted again if it needs it.
fn masked_word(value: &str, mask: Mask, raw: &str) -> String {
    let masked = masked_value(value, mask);
    if raw == value
        || masked
            .chars()
            .all(|c| !c.is_whitespace() && !"'\"\\;&|<>()$`".contains(c))
    {
        masked
    } else {
        format!("'{}'", masked.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (typed line, the secret that must go, what must remain)
    const SECRET: &[(&str, &str, &str)] = &[
        (
            "git push https://ghp_abcdefghijklmnop1234@github.com",
            "ghp_",
            "github.com",
        ),
        ("export GITHUB_TOKEN=abc123 && make", "abc123", "&& make"),
        ("mysql --password=hunter2 db", "hunter2", "db"),
        ("login --password hunter2", "hunter2", "login"),
        (
            "curl -H 'Authorization: Bearer eyJhbGciOi' x",
            "eyJhbGciOi",
            "Authorization:",
        ),
        (
            "git clone https://bob:pa55word@host/repo",
            "pa55word",
            "host/repo",
        ),
        (
            "aws s3 ls AKIAABCDEFGHIJKLMNOP",
            "AKIAABCDEFGHIJKLMNOP",
            "aws s3 ls",
        ),
        ("DB_PASSWORD=x1y2 ./run", "x1y2", "./run"),
        ("mysql -uroot -pS3cretPass db", "S3cretPass", "-uroot"),
        ("mariadb -pS3cretPass", "S3cretPass", "-p"),
        ("curl -u user:hunter2 https://x", "hunter2", "user:"),
        ("curl -uuser:hunter2 https://x", "hunter2", "-uuser:"),
        ("curl --user alice:hunter2 https://x", "hunter2", "alice:"),
        (
            "curl -H 'X-Api-Key: k3y-value' https://x",
            "k3y-value",
            "X-Api-Key:",
        ),
        (
            "curl -H \"Cookie: session=abc123def\" https://x",
            "abc123def",
            "Cookie:",
        ),
        ("wget --password=hunter2 https://x", "hunter2", "wget"),
        (
            "wget --http-password hunter2 https://x",
            "hunter2",
            "https://x",
        ),
        ("sshpass -p hunter2 ssh host", "hunter2", "ssh host"),
        ("sshpass -phunter2 ssh host", "hunter2", "ssh host"),
        ("docker login -u bob -p hunter2 reg.io", "hunter2", "reg.io"),
        (
            "podman login --password hunter2 reg.io",
            "hunter2",
            "reg.io",
        ),
        ("helm registry login -p hunter2 reg.io", "hunter2", "reg.io"),
        ("redis-cli -a hunter2 ping", "hunter2", "ping"),
        (
            "openssl enc -aes256 -pass pass:hunter2 -in f",
            "hunter2",
            "pass:",
        ),
        ("openssl rsa -passin pass:hunter2 -in k", "hunter2", "-in k"),
        (
            "ldapsearch -x -D cn=admin -w hunter2 -b dc=x",
            "hunter2",
            "-b dc=x",
        ),
        (
            "smbclient //srv/share -U alice%hunter2",
            "hunter2",
            "alice%",
        ),
        ("htpasswd -b .htpasswd alice hunter2", "hunter2", "alice"),
        (
            "psql postgresql://app:hunter2@db/prod",
            "hunter2",
            "db/prod",
        ),
        (
            "mongosh mongodb://app:hunter2@db/prod",
            "hunter2",
            "db/prod",
        ),
        (
            "git clone https://ghs_tok3ntok3ntok3n99@host/r",
            "tok3n",
            "host/r",
        ),
        (
            "git clone https://oauth2tokenvalue12345@host/r",
            "oauth2tokenvalue12345",
            "host/r",
        ),
        ("tool --pass hunter2", "hunter2", "tool"),
        ("gpg --passphrase hunter2 -d f", "hunter2", "-d f"),
        ("tool --auth hunter2", "hunter2", "tool"),
        ("tool --auth-token=hunter2", "hunter2", "--auth-token="),
        ("tool --client-secret hunter2", "hunter2", "tool"),
        ("tool --token hunter2", "hunter2", "tool"),
        ("tool --password='a b'", "b'", "--password="),
        ("PASSWORD='a b' tool", "b'", "tool"),
        ("tool --api-key \"a b c\"", "b c", "tool"),
        ("gh api -H 'Authorization: token abc def'", "def", "gh api"),
        (
            "export OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuv",
            "abcdefghij",
            "export",
        ),
        (
            "echo sk-ant-api03-abcdefghijklmnopqrstuvwx",
            "abcdefghij",
            "echo",
        ),
        (
            "curl -d eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4",
            "SflKxw",
            "curl -d",
        ),
        (
            "gcloud x AIzaSyA1234567890abcdefghijklmnopqrstuv",
            "AIzaSy",
            "gcloud",
        ),
        (
            "twine upload -p pypi-AgEIcHlwaS5vcmcabcdefghijkl dist",
            "pypi-AgE",
            "dist",
        ),
        (
            "az x --connection-string 'AccountKey=abcdefghijklmnopqrstuvwx=='",
            "abcdefghij",
            "az x",
        ),
        (
            "npm config set //r/:_authToken=npm_abcdefghijklmnopqrstu",
            "abcdefghijklmnop",
            "npm config",
        ),
        ("xoxb-1234567890-abcdefghij", "abcdefghij", MASK),
        (
            "echo '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----'",
            "MIIEow",
            "echo",
        ),
        ("sudo MYSQL_PWD=hunter2 mysql db", "hunter2", "mysql db"),
        ("a && mysql -phunter2; b", "hunter2", "; b"),
        (
            "PGPASSWORD=hunter2 psql -h db app",
            "hunter2",
            "psql -h db app",
        ),
        // Wrappers: the wrapped command's rules apply.
        (
            "sudo -u postgres mysql -phunter2 db",
            "hunter2",
            "sudo -u postgres mysql",
        ),
        ("/usr/bin/env -- mysql -phunter2 db", "hunter2", "db"),
        ("env -i PATH=/bin mysql -phunter2 db", "hunter2", "env -i"),
        ("nice -n 5 mysql -phunter2 db", "hunter2", "nice -n 5"),
        (
            "timeout -s KILL 10 mysql -phunter2 db",
            "hunter2",
            "timeout",
        ),
        ("doas -u app mysql -phunter2 db", "hunter2", "doas"),
        (
            "docker exec -it -e A=1 db mysql -uroot -phunter2",
            "hunter2",
            "-uroot",
        ),
        (
            "kubectl exec -it pod -n ns -- mysql -phunter2",
            "hunter2",
            "-- mysql",
        ),
        ("bash -c 'mysql -phunter2 db'", "hunter2", "bash -c"),
        (
            "for i in 1 2; do mysql -phunter2 db; done",
            "hunter2",
            "done",
        ),
        ("if true; then mysql -phunter2 db; fi", "hunter2", "fi"),
        ("echo $(mysql -phunter2 -e 'select 1')", "hunter2", "echo"),
        ("cat <<EOF\napi_key: hunter2\nEOF", "hunter2", "api_key:"),
        // Tools with a password option of their own.
        (
            "aws configure set aws_secret_access_key hunter2",
            "hunter2",
            "aws configure set",
        ),
        ("az login -u x -p hunter2", "hunter2", "az login -u x -p"),
        ("vault login hunter2token", "hunter2", "vault login"),
        ("zip -P hunter2 out.zip f", "hunter2", "out.zip"),
        ("unzip -P hunter2 out.zip", "hunter2", "out.zip"),
        ("7z a -phunter2 out.7z f", "hunter2", "out.7z"),
        ("ssh-keygen -N hunter2 -f k", "hunter2", "-f k"),
        ("sqlcmd -S h -U sa -P hunter2", "hunter2", "-U sa"),
        (
            "psql -c \"ALTER USER app PASSWORD 'hunter2'\"",
            "hunter2",
            "psql -c",
        ),
        // Secret-named keys inside one word.
        (
            "kubectl create secret generic s --from-literal=password=hunter2",
            "hunter2",
            "--from-literal=password=",
        ),
        ("psql \"host=h password=hunter2\"", "hunter2", "host=h"),
        (
            "curl -d '{\"password\":\"hunter2\"}' https://x",
            "hunter2",
            "https://x",
        ),
        (
            "curl -d 'user=a&password=hunter2' https://x",
            "hunter2",
            "user=a",
        ),
        (
            "curl 'https://x/?api_key=hunter2'",
            "hunter2",
            "https://x/?api_key=",
        ),
        (
            "curl -b 'session=hunter2' https://x",
            "hunter2",
            "https://x",
        ),
    ];

    /// Ordinary arguments that look like the forms above and are no secret.
    const PLAIN: &[&str] = &[
        "cargo test --release",
        "docker run -p 8080:80 image",
        "ssh -p 2222 host",
        "psql -p 5432 -U app db",
        "mysql -p db",
        "git log -p --author=alice",
        "ls --author",
        "grep -r password src/",
        "pytest -k token_refresh",
        "ssh://git@github.com/x",
        "git clone git@github.com:o/r.git",
        "curl -H 'Accept: application/json' https://x",
        "redis-server --port 6379",
        "openssl rsa -passin env:KEYPASS -in k",
        "curl -u alice https://x",
        "tar -cpf out.tar dir",
        "export PWD=/tmp",
    ];

    #[test]
    fn every_form_is_masked_and_the_rest_kept() {
        let f = Filters::builtin();
        for (input, secret, kept) in SECRET {
            let out = f.text(input);
            assert!(!out.contains(secret), "{input:?} -> {out:?}");
            assert!(out.contains(MASK), "{input:?} -> {out:?}");
            assert!(out.contains(kept), "{input:?} lost {kept:?}: {out:?}");
        }
    }

    /// A corpus of ordinary developer commands — commit messages, test
    /// filters, paths, flags such as `--passive-ftp`, `--max-tokens`,
    /// `--password-stdin`, `--no-password` — is stored exactly as typed.
    #[test]
    fn ordinary_commands_are_stored_unchanged() {
        let f = Filters::builtin();
        let corpus = include_str!("../../tests/fixtures/ordinary-commands.txt");
        let lines: Vec<&str> = corpus.lines().filter(|l| !l.is_empty()).collect();
        assert!(lines.len() >= 100, "{}", lines.len());
        let mangled: Vec<(String, &str)> = lines
            .iter()
            .map(|l| (f.text(l), *l))
            .filter(|(out, l)| out != l)
            .collect();
        assert!(mangled.is_empty(), "{mangled:#?}");
    }

    /// Masking what is already masked changes nothing, so `mt forget
    /// --reapply` rewrites only the rows a new rule reaches.
    #[test]
    fn masking_twice_is_masking_once() {
        let f = Filters::builtin();
        for (input, _, _) in SECRET {
            let once = f.text(input);
            assert_eq!(f.text(&once), once, "{input:?}");
            let argv: Vec<Vec<u8>> = once.split(' ').map(|w| w.as_bytes().to_vec()).collect();
            let masked = f.argv(&argv);
            assert_eq!(f.argv(&masked), masked, "{input:?}");
        }
    }

    #[test]
    fn ordinary_arguments_are_left_alone() {
        let f = Filters::builtin();
        for input in PLAIN {
            assert_eq!(&f.text(input), input);
        }
    }

    /// What leaves the machine is the shape of what was stored: no secret
    /// of the table reaches it.
    #[test]
    fn no_form_survives_in_a_shape() {
        let f = Filters::builtin();
        for (input, secret, _) in SECRET {
            let shape = shape::shape(&f.text(input), |_| false);
            assert!(!shape.contains(secret), "{input:?} -> {shape:?}");
        }
    }

    #[test]
    fn argv_forms_match_the_typed_forms() {
        let f = Filters::builtin();
        for (input, secret, _) in SECRET
            .iter()
            .filter(|(i, _, _)| !i.contains(['&', ';', '\n']))
        {
            let argv: Vec<Vec<u8>> = words::split(input)
                .into_iter()
                .filter(|w| !w.operator)
                .map(|w| w.value.into_bytes())
                .collect();
            let out = f.argv(&argv).concat();
            assert!(
                !String::from_utf8_lossy(&out).contains(secret),
                "{input:?} -> {}",
                String::from_utf8_lossy(&out)
            );
        }
        for input in PLAIN {
            let argv: Vec<Vec<u8>> = input.split(' ').map(|w| w.as_bytes().to_vec()).collect();
            assert_eq!(f.argv(&argv), argv, "{input}");
        }
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
