//! Nothing secret leaves the machine, end to end: credential forms typed
//! at a real bash prompt with mt's hook and run through `mt exec`, on a
//! branch that is then merged and closed. No byte of the secret may reach
//! any file mt writes (store, WAL, spool, its log), `mt log` and its JSON,
//! the milestone, `MILESTONE_LOG.md`, the monthly summary or the CI summary.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::harness::{Env, MT, err, text};

const SECRET: &str = "ZQ7XW2PK9MLR4T8V";

/// Programs that would touch the network or the system, stood in for by a
/// script that exits 0: what is tested is what mt records of the line.
const STAND_INS: &[&str] = &[
    "mysql",
    "mysqldump",
    "mariadb",
    "psql",
    "mongosh",
    "redis-cli",
    "sqlcmd",
    "curl",
    "wget",
    "sshpass",
    "ssh",
    "docker",
    "helm",
    "ssh-keygen",
    "zip",
    "unzip",
    "7z",
    "openssl",
    "htpasswd",
    "ldapsearch",
    "smbclient",
    "gpg",
    "aws",
    "az",
    "vault",
    "kubectl",
    "tool",
    "sudo",
    "doas",
];

fn forms() -> Vec<String> {
    include_str!("fixtures/secret-forms.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.replace("{S}", SECRET))
        .collect()
}

/// A form `mt exec` can run as it stands: one simple command, no shell
/// syntax of its own.
fn runs_under_exec(form: &str) -> bool {
    let first = form.split(' ').next().unwrap_or("");
    !first.contains('=')
        && !["export", "for", "if", "echo"].contains(&first)
        && !["$(", ";", "&&", "|"].iter().any(|s| form.contains(s))
}

#[test]
fn no_secret_byte_reaches_anything_mt_writes() {
    crate::require!("tmux");
    let env = Env::new();
    let bin = env.path("stand-ins");
    fs::create_dir_all(&bin).unwrap();
    for name in STAND_INS {
        fs::write(bin.join(name), "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(bin.join(name), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let repo = env.repo("app");
    env.git(&repo, &["switch", "-q", "-c", "fix/77-rotate-credentials"]);
    let rc = format!("PATH={}:$PATH\neval \"$(mt init bash)\"", bin.display());
    let t = crate::term::bash(&env, &repo, &rc);
    let mut n = 0;
    for form in forms() {
        n += 1;
        t.run(&form, n);
        if runs_under_exec(&form) {
            n += 1;
            t.run(&format!("mt exec {form}"), n);
        }
    }
    drop(t);
    assert!(n > 100, "{n} runs");
    fs::write(repo.join("a.txt"), "rotated\n").unwrap();
    env.git(&repo, &["add", "a.txt"]);
    env.git(&repo, &["commit", "-q", "-m", "rotate"]);
    env.git(&repo, &["switch", "-q", "main"]);
    env.git(
        &repo,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "merge",
            "fix/77-rotate-credentials",
        ],
    );
    let close = env.mt(&repo, ["close"]);
    assert!(close.status.success(), "{}", err(&close));
    let month = env.mt(&repo, ["report", "month"]);
    assert!(month.status.success(), "{}", err(&month));
    let summary = env.path("step-summary.md");
    let mut ci = Command::new(MT);
    env.apply(&mut ci)
        .env("CI", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let ci = ci
        .current_dir(&repo)
        .args(["ci", "summary"])
        .output()
        .unwrap();
    assert!(ci.status.success(), "{}", err(&ci));

    let log = env.mt(&repo, ["log", "--limit", "1000"]);
    let json = env.mt(&repo, ["log", "--limit", "1000", "--json"]);
    assert!(text(&log).lines().count() > 100, "{}", text(&log));
    let said = [&close, &month, &ci, &log, &json]
        .map(|o| format!("{}{}", text(o), err(o)))
        .concat();
    assert!(!said.contains(SECRET), "printed: {}", leak_lines(&said));
    let mut files = Vec::new();
    walk(&env.mt_home, &mut files);
    walk(&repo.join("milestones"), &mut files);
    files.push(summary);
    assert!(files.iter().any(|f| f.ends_with("mt.db")));
    assert!(files.iter().any(|f| f.ends_with("MILESTONE_LOG.md")));
    for file in files {
        let bytes = fs::read(&file).unwrap_or_default();
        let found = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
        let shown = leak_lines(&String::from_utf8_lossy(&bytes));
        assert!(!found, "a secret in {}: {shown}", file.display());
    }
}

/// The lines of `text` that hold the secret, for the failure message.
fn leak_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(SECRET)).collect();
    lines.join("\n")
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

/// The other side: 110 ordinary developer commands (commit messages, test
/// filters, paths, `--passive-ftp`, `--max-tokens`, `--password-stdin`)
/// typed at a real bash prompt are stored exactly as typed.
#[test]
fn ordinary_commands_typed_at_bash_are_stored_exactly() {
    crate::require!("tmux");
    let env = Env::new();
    let lines: Vec<&str> = include_str!("fixtures/ordinary-commands.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect();
    // Every program stands in as a script that exits 0 (none may open an
    // editor, a pager or the network); builtins run as they are.
    let bin = env.path("stand-ins");
    fs::create_dir_all(&bin).unwrap();
    for line in &lines {
        let first = line.split(' ').next().unwrap();
        let builtin = ["cd", "export", "for", "echo"].contains(&first);
        if !builtin
            && first
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            fs::write(bin.join(first), "#!/bin/sh\nexit 0\n").unwrap();
            fs::set_permissions(bin.join(first), fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let repo = env.repo("app");
    let rc = format!("PATH={}:$PATH\neval \"$(mt init bash)\"", bin.display());
    let t = crate::term::bash(&env, &repo, &rc);
    for (n, line) in lines.iter().enumerate() {
        t.run(line, n + 1);
    }
    drop(t);
    let mut stored: Vec<String> = env
        .log()
        .iter()
        .map(|e| e["command"].as_str().unwrap().to_owned())
        .collect();
    stored.reverse();
    let changed: Vec<(&str, &String)> = lines
        .iter()
        .zip(&stored)
        .filter(|(l, s)| **l != s.as_str())
        .map(|(l, s)| (*l, s))
        .collect();
    assert!(changed.is_empty(), "{changed:#?}");
    assert_eq!(stored.len(), lines.len());
}
