//! `mt doctor`: is every part wired up? The checks are gathered as data
//! (`checks`), then printed as lines or JSON; each problem comes with the
//! command that fixes it; exit 1 when anything is wrong.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::time::Duration;

use super::shell_check::Hook;
use anyhow::Result;

use crate::cmd::init::{HOOKS, MARK, hooks_dir};
use crate::daemon::control;
use crate::display::safe;
use crate::git;
use crate::paths::Paths;
use crate::secure;
use crate::spool;
use crate::store::{SCHEMA_VERSION, Store};

/// One thing doctor looked at: whether it is right, and what it says
/// (for a problem, how to fix it).
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Check {
    pub ok: bool,
    /// Worth knowing, not wrong: never makes doctor fail.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warn: bool,
    pub what: String,
}

pub(super) fn run(json: bool) -> Result<u8> {
    let checks = checks(&Paths::from_env());
    let problems = checks.iter().filter(|c| !c.ok).count();
    let mut out = std::io::stdout().lock();
    for c in &checks {
        if json {
            serde_json::to_writer(&mut out, c)?;
            writeln!(out)?;
        } else {
            let mark = match (c.ok, c.warn) {
                (true, true) => "warn",
                (true, false) => "ok  ",
                (false, _) => "FAIL",
            };
            writeln!(out, "{mark} {}", crate::display::safe(&c.what))?;
        }
    }
    if !json {
        if problems == 0 {
            writeln!(out, "Everything mt needs is in place.")?;
        } else {
            writeln!(
                out,
                "{problems} problem(s) found; each line above says what to do."
            )?;
        }
    }
    Ok(u8::from(problems > 0))
}

/// Every check, in the order a reader fixes things: shell, daemon, spool,
/// store, configuration, repository.
pub(super) fn checks(paths: &Paths) -> Vec<Check> {
    let mut checks: Vec<Check> = [shell_check(paths)]
        .into_iter()
        .chain(daemon_checks(paths))
        .chain([spool_check(paths)])
        .chain(crate::cmd::systemd::check())
        .chain(watch_checks(paths))
        .chain(crate::cmd::agent::checks(paths))
        .chain(odd_spool_checks(paths))
        .chain(store_checks(paths))
        .map(|(ok, what)| Check {
            ok,
            warn: false,
            what,
        })
        .collect();
    let repo = std::env::current_dir().ok().and_then(|d| git::find(&d));
    checks.extend(
        config_checks(paths, repo.as_ref())
            .into_iter()
            .map(|(ok, what)| Check {
                ok,
                warn: false,
                what,
            }),
    );
    if let Some(r) = &repo {
        checks.extend(repo_checks(r, paths));
    }
    checks
}

fn shell_check(paths: &Paths) -> (bool, String) {
    match super::shell_check::this_shell(paths) {
        Hook::Recording { session } => (
            true,
            format!("shell hook recorded this shell's last command (session {session})"),
        ),
        Hook::Loaded { session } => (
            true,
            format!(
                "shell hook loaded in this shell (session {session}); nothing ran before this command to check"
            ),
        ),
        Hook::Missing(why) | Hook::Stopped(why) => (false, why),
    }
}

fn daemon_checks(paths: &Paths) -> Vec<(bool, String)> {
    match control::request(&paths.socket, control::Verb::Status, Duration::from_secs(5)) {
        Ok(r) => vec![
            (
                true,
                format!(
                    "daemon {} answers on {} (pid {}, {})",
                    r.version,
                    paths.socket.display(),
                    r.pid,
                    r.how()
                ),
            ),
            (
                r.version == control::VERSION,
                format!(
                    "daemon version {} (this mt: {}); `mt daemon start` replaces an old one",
                    r.version,
                    control::VERSION
                ),
            ),
        ],
        Err(e) => vec![(
            false,
            format!(
                "no daemon answers on {} ({e:#}): run `mt daemon start`, or `systemctl --user enable --now mt.socket mt.path`",
                paths.socket.display()
            ),
        )],
    }
}

fn spool_check(paths: &Paths) -> (bool, String) {
    match secure::check(&paths.spool) {
        Ok(()) => (true, format!("spool {} is private", paths.spool.display())),
        Err(_) if !paths.spool.exists() => (
            true,
            format!(
                "spool {} not created yet (made on first record)",
                paths.spool.display()
            ),
        ),
        Err(e) => (false, format!("{e:#}")),
    }
}

fn odd_spool_checks(paths: &Paths) -> Vec<(bool, String)> {
    (odd_spool_entries(&paths.spool).into_iter())
        .map(|(path, kind)| {
            (
                false,
                format!(
                    "spool entry {} is a {kind}, not a record file, and is skipped: remove it (rm -r {})",
                    path.display(),
                    path.display()
                ),
            )
        })
        .collect()
}

/// The store's integrity and schema, the spool's backlog, what is stored.
fn store_checks(paths: &Paths) -> Vec<(bool, String)> {
    let store = match Store::open(&paths.db) {
        Ok(store) => store,
        Err(e) if crate::daemon::control::damaged(&e) => {
            return vec![(false, damaged_store(&paths.db, &format!("{e:#}")))];
        }
        Err(e) => {
            return vec![(
                false,
                format!("{e:#}; move the file aside and mt starts a new one"),
            )];
        }
    };
    let mut out = Vec::new();
    let version = store.version().unwrap_or(-1);
    let check = store.quick_check().unwrap_or_else(|e| format!("{e:#}"));
    out.push(if check == "ok" {
        (
            true,
            format!(
                "store {} integrity: ok; schema version {version} (this mt: {SCHEMA_VERSION})",
                paths.db.display()
            ),
        )
    } else {
        (false, damaged_store(&paths.db, &check))
    });
    let sizes = spool::sizes(&paths.spool);
    let read: HashMap<String, u64> = store.offsets().unwrap_or_default().into_iter().collect();
    let backlog: u64 = (sizes.iter())
        .map(|(n, len)| len.saturating_sub(*read.get(n).unwrap_or(&0)))
        .sum();
    out.push((
        backlog < 1 << 20,
        format!(
            "spool backlog {backlog} bytes in {} files (a running daemon drains it as it arrives)",
            sizes.len()
        ),
    ));
    let aside = store.set_aside_count().unwrap_or(0);
    // Only the newest set-aside lines are kept (a bound on garbage).
    let aside = if aside as i64 >= crate::store::write::SET_ASIDE_KEPT {
        format!("at least {aside}")
    } else {
        aside.to_string()
    };
    out.push((
        true,
        format!(
            "{} commands stored, {aside} malformed spool lines set aside",
            store.count().unwrap_or(0)
        ),
    ));
    out
}

/// The user's config and the repository's `.mt.toml`, checked as `mt
/// close` compiles them.
fn config_checks(paths: &Paths, repo: Option<&git::Repo>) -> Vec<(bool, String)> {
    let configs =
        std::iter::once(paths.config.clone()).chain(repo.map(|r| r.root.join(".mt.toml")));
    configs
        .map(
            |path| match crate::config::load(&path).and_then(|c| crate::close::check_config(&c)) {
                Ok(()) if path.exists() => (true, format!("config {} is valid", path.display())),
                Ok(()) => (
                    true,
                    format!("no config at {} (built-in rules in force)", path.display()),
                ),
                Err(e) => (false, format!("{e:#}")),
            },
        )
        .collect()
}

/// How refs are read, the default branch, mt's git hooks.
fn repo_checks(r: &git::Repo, paths: &Paths) -> Vec<Check> {
    let refs = match git::ref_storage(r) {
        git::RefStorage::Files => format!(
            "git refs of {} read from .git directly (files)",
            r.root.display()
        ),
        git::RefStorage::Other(kind) => format!(
            "git refs of {} are in {kind}: the daemon and readers ask git for the branch; hooks and mt exec leave it to them",
            r.root.display()
        ),
    };
    let (ok, default) = default_branch_check(r, paths);
    let dir = hooks_dir(r);
    let missing: Vec<&str> = (HOOKS.iter())
        .map(|(name, _)| *name)
        .filter(|name| !std::fs::read_to_string(dir.join(name)).is_ok_and(|t| t.contains(MARK)))
        .collect();
    // A repository you never meant to track has no mt hooks, and that is
    // fine: a warning, not a failure.
    let hooks = Check {
        ok: true,
        warn: !missing.is_empty(),
        what: if missing.is_empty() {
            format!(
                "git hooks in {} close finished branches after merges and pulls",
                dir.display()
            )
        } else {
            format!(
                "no mt {} hook in {}: run `mt init git` so merges and pulls write milestones",
                missing.join(" and "),
                dir.display()
            )
        },
    };
    let plain = |ok, what| Check {
        ok,
        warn: false,
        what,
    };
    vec![plain(true, refs), plain(ok, default), hooks]
}

/// Can finished work be found here: is the default branch known?
fn default_branch_check(repo: &git::Repo, paths: &Paths) -> (bool, String) {
    let configured = crate::config::effective(&paths.config, Some(&repo.root))
        .ok()
        .and_then(|c| c.default_branch);
    match crate::close::finished::Checker::new(repo, configured.as_deref()) {
        Ok(c) if c.has_default() => (
            true,
            format!("default branch: {}", c.target_names().join(", ")),
        ),
        Ok(_) => (false, crate::cmd::close::no_default(configured.as_deref())),
        Err(e) => (false, format!("could not read the branches: {e:#}")),
    }
}

/// Entries of the spool that are not regular files (a FIFO, a directory, a
/// socket, a link): ingest skips them, and the user should remove them.
fn odd_spool_entries(spool: &std::path::Path) -> Vec<(std::path::PathBuf, &'static str)> {
    let Ok(entries) = std::fs::read_dir(spool) else {
        return Vec::new();
    };
    let mut odd: Vec<_> = entries
        .flatten()
        .filter_map(|e| {
            let t = e.file_type().ok()?;
            let mine = {
                use std::os::unix::fs::MetadataExt;
                e.metadata()
                    .is_ok_and(|m| m.uid() == nix::unistd::geteuid().as_raw())
            };
            let kind = if t.is_file() && !mine {
                "file of another user (never ingested)"
            } else if t.is_file() {
                return None;
            } else if t.is_dir() {
                "directory"
            } else if t.is_fifo() {
                "FIFO"
            } else if t.is_symlink() {
                "symbolic link"
            } else if t.is_socket() {
                "socket"
            } else {
                "special file"
            };
            Some((e.path(), kind))
        })
        .collect();
    odd.sort();
    odd
}

/// What to do about a damaged database: recover what SQLite can still read,
/// or start afresh; the spool keeps new records either way.
fn damaged_store(db: &std::path::Path, problem: &str) -> String {
    let db = db.display();
    let first = problem.lines().take(2).collect::<Vec<_>>().join("; ");
    format!(
        "store {db} is damaged ({first}): stop the daemon (`mt daemon stop`), then recover what is readable with `sqlite3 {db} .recover | sqlite3 {db}.recovered && mv {db}.recovered {db}` (Debian: apt-get install sqlite3), or move it aside (`mv {db} {db}.damaged`) and mt starts an empty one"
    )
}

/// What the daemon's edit watcher reported (`watch.json`): one line, or one
/// per tree over the watch limit.
fn watch_checks(paths: &Paths) -> Vec<(bool, String)> {
    use crate::daemon::edits::{LimitFrom, Report};
    let Ok(text) = std::fs::read(paths.state.join("watch.json")) else {
        return vec![(true, "no working tree watched for edits yet (the daemon watches repositories where you work)".into())];
    };
    let Ok(r) = serde_json::from_slice::<Report>(&text) else {
        return Vec::new();
    };
    let kernel = r
        .kernel_limit
        .map_or("unknown".to_owned(), |k| k.to_string());
    let mut out: Vec<(bool, String)> = r
        .trees
        .iter()
        .filter_map(|t| Some((t, t.needed?)))
        .map(|(t, needed)| {
            let advice = match r.limit_from {
                LimitFrom::Env => format!(
                    "the limit MT_WATCH_LIMIT={} in the daemon's environment: raise or unset it and restart the daemon (`mt daemon stop`)",
                    r.limit
                ),
                LimitFrom::Kernel | LimitFrom::Default => format!(
                    "the limit of {} (fs.inotify.max_user_watches = {kernel}): raise it with `sudo sysctl fs.inotify.max_user_watches=524288`",
                    r.limit
                ),
            };
            (
                false,
                format!(
                    "{} needs {needed} directory watches, over {advice}; its edits are not recorded (commands are)",
                    safe(&t.root),
                ),
            )
        })
        .collect();
    if out.is_empty() {
        let dirs: usize = r.trees.iter().map(|t| t.dirs).sum();
        out.push((
            true,
            format!(
                "watching {} working tree(s) for edits: {dirs} directories of a limit of {}",
                r.trees.len(),
                r.limit
            ),
        ));
    }
    out
}
