//! A command's shape, for everything that leaves the machine (milestones,
//! drafts, reports): the program, its subcommands, its option names and the
//! words that are paths in the repository; every other value becomes `…`.
//! Default deny: a credential in a form nobody thought of is a value like
//! any other and never reaches a shared file. The store and `mt log` keep
//! the exact (masked) text; classification and metrics work on it.

use super::words;

/// The placeholder for a value.
pub const VALUE: &str = "…";

/// How many bare words after a program read as its subcommands
/// (`docker compose up`, `kubectl get pods`, `npm run lint`).
const MAX_SUBCOMMANDS: usize = 2;

/// `command` as its shape; `is_path` says whether a word names a file or
/// directory of the repository.
pub fn shape(command: &str, is_path: impl Fn(&str) -> bool) -> String {
    let mut out: Vec<String> = Vec::new();
    // Position within the current simple command: 0 before its program.
    let mut at = 0usize;
    for w in words::split(command) {
        if w.operator {
            out.push(w.value.clone());
            at = 0;
            continue;
        }
        let word = w.value.as_str();
        let shown = if at == 0 {
            match word.split_once('=') {
                // `VAR=value` before the program.
                Some((name, _)) if is_name(name) => format!("{name}={VALUE}"),
                _ => {
                    at = 1;
                    program(word, &is_path)
                }
            }
        } else {
            let shown = argument(word, at, &is_path);
            at += 1;
            shown
        };
        out.push(shown);
    }
    out.join(" ")
}

/// The program: its name, or a path in the repository as typed.
fn program(word: &str, is_path: &impl Fn(&str) -> bool) -> String {
    if is_path(word) {
        return word.to_owned();
    }
    let name = word.rsplit('/').next().unwrap_or(word);
    if is_bare(name, 40) && known_command(name) {
        name.to_owned()
    } else {
        VALUE.to_owned()
    }
}

/// Shell builtins and keywords that start a command line.
const BUILTINS: &[&str] = &[
    ".", "[", "[[", "alias", "bg", "break", "builtin", "case", "cd", "command", "continue",
    "declare", "echo", "eval", "exec", "exit", "export", "false", "fg", "for", "function",
    "history", "if", "jobs", "kill", "let", "local", "popd", "printf", "pushd", "pwd", "read",
    "return", "select", "set", "shift", "source", "test", "time", "trap", "true", "type",
    "typeset", "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
];

/// Developer programs shown whether or not the machine writing the
/// milestone has them installed (the table of tools names some only with
/// a subcommand: `docker build`).
const COMMON: &[&str] = &[
    "awk",
    "aws",
    "az",
    "bun",
    "bundle",
    "cargo",
    "cat",
    "composer",
    "curl",
    "deno",
    "docker",
    "dotnet",
    "find",
    "gcloud",
    "gh",
    "git",
    "go",
    "gradle",
    "grep",
    "head",
    "helm",
    "java",
    "jq",
    "kubectl",
    "less",
    "ls",
    "make",
    "mvn",
    "mysql",
    "nano",
    "node",
    "npm",
    "npx",
    "nvim",
    "php",
    "pip",
    "pnpm",
    "podman",
    "psql",
    "python",
    "python3",
    "rails",
    "redis-cli",
    "rg",
    "rsync",
    "ruby",
    "rustc",
    "scp",
    "sed",
    "ssh",
    "swift",
    "tail",
    "tar",
    "terraform",
    "unzip",
    "uv",
    "vim",
    "wget",
    "yarn",
    "zip",
];

/// Is `name` a command a reader may see: a shell builtin or keyword, a
/// common developer program, a tool mt's table knows, or a program on this
/// machine's `PATH`? Anything else
/// in the program's place (a password pasted at the prompt by mistake) is a
/// value, like any other word nobody vouched for.
fn known_command(name: &str) -> bool {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    if BUILTINS.contains(&name)
        || COMMON.contains(&name)
        || crate::classify::tools::recognise(name).is_some()
    {
        return true;
    }
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *seen
        .entry(name.to_owned())
        .or_insert_with(|| crate::paths::on_path(name).is_some())
}

/// The `at`-th word after the program.
fn argument(word: &str, at: usize, is_path: &impl Fn(&str) -> bool) -> String {
    if let Some(long) = word.strip_prefix("--") {
        return match long.split_once('=') {
            Some((name, _)) if is_bare(name, 40) => format!("--{name}={VALUE}"),
            None if is_bare(long, 40) || long.is_empty() => word.to_owned(),
            _ => VALUE.to_owned(),
        };
    }
    if let Some(short) = word.strip_prefix('-') {
        // `-x` stays; `-pS` (a value glued to its option) keeps the option.
        let mut chars = short.chars();
        return match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_alphanumeric() => word.to_owned(),
            (Some(c), Some(_)) if c.is_ascii_alphabetic() => format!("-{c}{VALUE}"),
            _ => VALUE.to_owned(),
        };
    }
    if is_path(word) {
        return word.to_owned();
    }
    if at <= MAX_SUBCOMMANDS
        && is_bare(word, 16)
        && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
    {
        return word.to_owned();
    }
    VALUE.to_owned()
}

/// Letters, digits and `-_.:` only, at most `max` characters.
fn is_bare(word: &str, max: usize) -> bool {
    !word.is_empty()
        && word.len() <= max
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+".contains(&b))
}

fn is_name(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(word: &str) -> bool {
        [
            "tests/test_x.py",
            "src",
            "scripts/qc_pre_push.sh",
            "./scripts/qc_pre_push.sh",
        ]
        .contains(&word)
    }

    #[test]
    fn ordinary_commands_read_well() {
        let cases = [
            (
                "git commit -m \"auth: fix login redirect\"",
                "git commit -m …",
            ),
            ("cargo test -q", "cargo test -q"),
            ("cargo test test_info_messages", "cargo test …"),
            ("docker compose up -d", "docker compose up -d"),
            ("kubectl get pods -n prod", "kubectl get pods -n …"),
            ("npm run lint", "npm run lint"),
            (
                "pytest tests/test_x.py -k login",
                "pytest tests/test_x.py -k …",
            ),
            (
                "./scripts/qc_pre_push.sh --fast",
                "./scripts/qc_pre_push.sh --fast",
            ),
            ("RUST_LOG=debug cargo run", "RUST_LOG=… cargo run"),
            ("make test && echo done", "make test && echo done"),
            ("ls -la src", "ls -l… src"),
        ];
        for (command, want) in cases {
            assert_eq!(shape(command, paths), want, "{command}");
        }
    }

    /// Secrets in every position a value can take never survive.
    #[test]
    fn no_value_reaches_the_shape() {
        let secret = "Zq8xK2mP9vR4tW7y";
        let forms = [
            format!("vault login {secret}"),
            format!("mysql -p{secret} -u root"),
            format!("curl -H 'Authorization: Bearer {secret}' https://x"),
            format!("curl https://api.example.com/?api_key={secret}"),
            format!("aws configure set aws_secret_access_key {secret}"),
            format!("az login -p {secret}"),
            format!("sshpass -p {secret} ssh host"),
            format!("docker login --password={secret}"),
            format!("TOKEN={secret} ./deploy.sh"),
            format!("sudo -u app env -i bash -c 'echo {secret}'"),
            format!("psql \"host=h password={secret}\""),
            format!("zip -P {secret} a.zip b"),
            format!("7z a -p{secret} x.7z"),
            format!("kubectl create secret generic x --from-literal=password={secret}"),
            format!("for i in 1; do echo {secret}; done"),
            format!("echo $(cat {secret})"),
            // Pasted at the prompt by mistake: no program by that name.
            secret.to_owned(),
            format!("{secret} && ls"),
        ];
        for form in forms {
            let s = shape(&form, |_| false);
            assert!(!s.contains(secret) && !s.contains("Zq8x"), "{form} → {s}");
        }
    }
}
