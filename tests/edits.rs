//! Edits seen in working trees: a real daemon watching a real repository
//! while files are written the ways editors and formatters write them.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::harness::{Env, wait_for};

/// Stored edits as (path, branch), oldest first.
fn edits(env: &Env) -> Vec<(String, String)> {
    let db = rusqlite::Connection::open(env.db()).unwrap();
    let mut stmt = db
        .prepare("SELECT command, branch FROM events WHERE kind = 'edit' ORDER BY start_us, id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn one(env: &Env, sql: &str) -> i64 {
    let db = rusqlite::Connection::open(env.db()).unwrap();
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The daemon's report of what it watches.
fn watched(env: &Env) -> Option<Value> {
    let text = fs::read(env.mt_home.join("state/watch.json")).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Wait until the daemon watches `repo` (or reports it over the limit).
fn wait_watched(env: &Env, repo: &Path) -> Value {
    wait_for("the tree to be watched", || {
        let w = watched(env)?;
        let tree = w["trees"]
            .as_array()?
            .iter()
            .find(|t| t["root"] == repo.to_str().unwrap())?
            .clone();
        Some(tree)
    })
}

/// Wait until `n` edits are stored (flushing through the daemon).
fn wait_edits(env: &Env, repo: &Path, n: usize) -> Vec<(String, String)> {
    wait_for(&format!("{n} edits"), || {
        env.ok(repo, ["log", "--limit", "1"]);
        let e = edits(env);
        (e.len() >= n).then_some(e)
    })
}

fn project(env: &Env, name: &str) -> std::path::PathBuf {
    let repo = env.repo(name);
    fs::write(repo.join(".gitignore"), "target/\nnode_modules/\n").unwrap();
    for d in ["src", "fmt", "target/debug", "node_modules/x"] {
        fs::create_dir_all(repo.join(d)).unwrap();
    }
    for i in 0..200 {
        fs::write(repo.join(format!("fmt/f{i:03}.rs")), "fn x() {}\n").unwrap();
    }
    env.git(&repo, &["add", "."]);
    env.git(&repo, &["commit", "-q", "-m", "project"]);
    env.git(&repo, &["switch", "-q", "-c", "feat/1-edits"]);
    repo
}

#[test]
fn writes_renames_and_a_formatter_pass_become_one_edit_per_file() {
    let env = Env::new();
    let repo = project(&env, "r");
    env.start_daemon();
    env.ok(&repo, ["exec", "true"]);
    wait_watched(&env, &repo);

    // A plain write, three times in a burst: one edit.
    for text in ["a", "ab", "abc"] {
        fs::write(repo.join("src/a.rs"), text).unwrap();
    }
    // An editor's save: write a temp file, rename it over the real one.
    fs::write(repo.join("src/.b.rs.tmp1234"), "b").unwrap();
    fs::rename(repo.join("src/.b.rs.tmp1234"), repo.join("src/b.rs")).unwrap();
    // A vim swap file: editor noise, not an edit.
    fs::write(repo.join("src/.a.rs.swp"), "swap").unwrap();
    // A formatter rewriting 200 files at once.
    for i in 0..200 {
        fs::write(repo.join(format!("fmt/f{i:03}.rs")), "fn x() {}\n\n").unwrap();
    }
    // Build output and dependencies git ignores, and git's own files.
    for i in 0..50 {
        fs::write(repo.join(format!("target/debug/o{i}")), "obj").unwrap();
        fs::write(repo.join(format!("node_modules/x/m{i}.js")), "js").unwrap();
    }
    env.git(&repo, &["add", "src"]);

    let got = wait_edits(&env, &repo, 202);
    let mut paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
    paths.sort_unstable();
    let mut want = vec!["src/a.rs".to_owned(), "src/b.rs".to_owned()];
    want.extend((0..200).map(|i| format!("fmt/f{i:03}.rs")));
    want.sort_unstable();
    assert_eq!(
        paths, want,
        "one edit per file; nothing ignored, noisy or in .git"
    );
    assert!(got.iter().all(|(_, b)| b == "feat/1-edits"));

    // The time from the first command to the last edit is implementation.
    env.ok(&repo, ["exec", "true"]);
    let json: Value =
        serde_json::from_str(&env.ok(&repo, ["close", "--dry-run", "--json"])).unwrap();
    let first_end = one(
        &env,
        "SELECT MIN(end_us) FROM events WHERE kind = 'command'",
    );
    let last_edit = one(&env, "SELECT MAX(start_us) FROM events WHERE kind = 'edit'");
    let implementation = json["mt"]["phases_ms"]["implementation"].as_i64().unwrap();
    let expected = (last_edit - first_end) / 1000;
    assert!(
        (implementation - expected).abs() <= 1,
        "implementation {implementation} ms, edits span {expected} ms"
    );
    assert_eq!(json["mt"]["edited"].as_array().unwrap().len(), 202);
    let text = env.ok(&repo, ["close", "--dry-run"]);
    assert!(
        text.contains("**Scope**: 202 files in 2 directories edited"),
        "{text}"
    );
}

#[test]
fn a_tree_over_the_watch_limit_is_reported_and_commands_still_recorded() {
    let env = Env::new();
    let repo = project(&env, "r");
    let mut start = env.mt_cmd(env.dir.path(), ["daemon", "start"]);
    assert!(start.env("MT_WATCH_LIMIT", "2").status().unwrap().success());
    env.ok(&repo, ["exec", "true"]);
    let tree = wait_watched(&env, &repo);
    assert_eq!(tree["dirs"], 0);
    assert!(tree["needed"].as_u64().unwrap() > 2, "{tree}");
    let doctor = crate::harness::text(&env.mt(&repo, ["doctor"]));
    let line = doctor
        .lines()
        .find(|l| l.contains("directory watches"))
        .unwrap_or_else(|| panic!("no watch-limit line in:\n{doctor}"));
    // The limit in force is MT_WATCH_LIMIT's: doctor names it, not the
    // kernel's setting.
    assert!(line.contains("MT_WATCH_LIMIT=2"), "{line}");
    assert!(!line.contains("sysctl"), "{line}");
    fs::write(repo.join("src/a.rs"), "a").unwrap();
    assert_eq!(env.mt(&repo, ["exec", "false"]).status.code(), Some(1));
    let log = env.log();
    assert_eq!(log.len(), 2, "commands are recorded as before");
    assert!(edits(&env).is_empty());
}

#[test]
fn watch_false_in_a_repository_keeps_its_edits_out() {
    let env = Env::new();
    let off = project(&env, "off");
    fs::write(off.join(".mt.toml"), "watch = false\n").unwrap();
    let on = project(&env, "on");
    env.start_daemon();
    env.ok(&off, ["exec", "true"]);
    env.ok(&on, ["exec", "true"]);
    wait_watched(&env, &on);
    fs::write(off.join("src/a.rs"), "a").unwrap();
    fs::write(on.join("src/a.rs"), "a").unwrap();
    // The watched repository's edit arrives; by then the other's would have.
    let got = wait_edits(&env, &on, 1);
    assert_eq!(
        got,
        vec![("src/a.rs".to_owned(), "feat/1-edits".to_owned())]
    );
    assert_eq!(
        one(&env, "SELECT COUNT(*) FROM events WHERE kind = 'edit'"),
        1
    );
    let repos = one(
        &env,
        &format!(
            "SELECT COUNT(*) FROM events WHERE kind = 'edit' AND repo = '{}'",
            on.display()
        ),
    );
    assert_eq!(repos, 1, "the edit is the watched repository's");
    let w = watched(&env).unwrap();
    assert_eq!(w["trees"].as_array().unwrap().len(), 1, "{w}");
}

/// Two branches worked on in turns, recorded by a shell hook: each branch's
/// `mt status` shows its share, and the shares add up to the whole time.
#[test]
fn interleaved_branches_add_up_to_the_total() {
    use std::io::Write;
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["branch", "feat/a"]);
    env.git(&repo, &["branch", "feat/b"]);
    // In the past: the switches `active` makes below come after every
    // record, so the reflog says nothing of where these commands ran.
    let base = 1_600_000_000_000_000i64;
    let s = 1_000_000i64;
    // (branch, start s, end s): A and B alternate 10 s apart; A comes back
    // after an hour away (an idle gap, not counted).
    let runs = [
        ("feat/a", 0, 10),
        ("feat/b", 20, 30),
        ("feat/a", 40, 50),
        ("feat/b", 60, 70),
        ("feat/a", 3670, 3680),
    ];
    fs::create_dir_all(env.spool()).unwrap();
    let mut spool = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(env.spool().join("exec.log"))
        .unwrap();
    for (i, (branch, a, b)) in runs.iter().enumerate() {
        let t = base + a * s;
        writeln!(
            spool,
            "mt1\tH\tid=s:{i}\tsid=s\tt={t}\tdur={}\texit=0\tcwd={root}\troot={root}\thead=ref: refs/heads/{branch}\tcmd=make\t.",
            (b - a) * s,
            root = repo.display()
        )
        .unwrap();
    }
    drop(spool);
    let active = |branch: &str| {
        env.git(&repo, &["switch", "-q", branch]);
        let v: Value = serde_json::from_str(&env.ok(&repo, ["status", "--json"])).unwrap();
        v["active_ms"].as_f64().unwrap() as i64
    };
    let (a, b) = (active("feat/a"), active("feat/b"));
    // The whole timeline: 0-70 s with every gap under the idle timeout,
    // and 10 s more after the hour away.
    assert_eq!(a + b, 80_000, "a {a} ms + b {b} ms");
    assert_eq!(
        (a, b),
        (40_000, 40_000),
        "each gap goes to the branch it leads to"
    );
    // Both calls kept a checkpoint. Now a record that arrives late (a B run
    // at 35-38 s, before A's checkpoint) and a new A run at 3690-3700 s:
    // A's checkpoint is void and summed again, B's is resumed.
    let mut spool = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(env.spool().join("exec.log"))
        .unwrap();
    for (i, (branch, a, b)) in [("feat/b", 35, 38), ("feat/a", 3690, 3700)]
        .iter()
        .enumerate()
    {
        writeln!(
            spool,
            "mt1\tH\tid=late:{i}\tsid=s\tt={}\tdur={}\texit=0\tcwd={root}\troot={root}\thead=ref: refs/heads/{branch}\tcmd=make\t.",
            base + a * s,
            (b - a) * s,
            root = repo.display()
        )
        .unwrap();
    }
    drop(spool);
    let (a, b) = (active("feat/a"), active("feat/b"));
    assert_eq!(a + b, 100_000, "a {a} ms + b {b} ms");
    // A: 0-10, 38-50, 3670-3680, 3680-3700; B: 10-30, 30-38, 50-70.
    assert_eq!((a, b), (52_000, 48_000));
}

/// mt's own files inside a watched tree (a dotfiles repository at ~ holds
/// the spool): never edits, or every spooled edit would spool another.
#[test]
fn mt_own_files_in_a_watched_tree_are_not_edits() {
    let env = Env::new();
    let root = env.dir.path();
    env.git(root, &["init", "-q", "-b", "main"]);
    env.start_daemon();
    env.ok(root, ["exec", "true"]);
    wait_watched(&env, root);
    fs::write(root.join("notes.md"), "a").unwrap();
    wait_edits(&env, root, 1);
    // Spooling that edit wrote the spool before this second save, so a
    // feedback loop's edit would be stored before this one is.
    fs::write(root.join("todo.md"), "b").unwrap();
    wait_for("todo.md's edit", || {
        env.ok(root, ["log", "--limit", "1"]);
        edits(&env)
            .iter()
            .any(|(p, _)| p == "todo.md")
            .then_some(())
    });
    let got: Vec<String> = edits(&env).into_iter().map(|(p, _)| p).collect();
    assert_eq!(got, vec!["notes.md", "todo.md"]);
}
