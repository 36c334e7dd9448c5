//! What counts as an edit (docs/metrics.md, "Edits"): the person's saves,
//! whatever git, test runs and breaks do around them. A real daemon
//! watches real repositories while real git rewrites their trees.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Env, wait_for};

/// Stored edits as (path, repo, branch), oldest first.
fn edits(env: &Env) -> Vec<(String, String, String)> {
    let db = rusqlite::Connection::open(env.db()).unwrap();
    let mut stmt = db
        .prepare(
            "SELECT command, repo, branch FROM events WHERE kind = 'edit' ORDER BY start_us, id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Wait until an edit of `path` is stored; every edit stored by then.
/// The watcher spools edits in the order their files went quiet, so once
/// the last file written shows, every earlier write has been decided.
fn wait_edit_of(env: &Env, repo: &Path, path: &str) -> Vec<(String, String, String)> {
    wait_for(&format!("an edit of {path}"), || {
        env.ok(repo, ["log", "--limit", "1"]);
        let e = edits(env);
        e.iter().any(|(p, ..)| p == path).then_some(e)
    })
}

/// Wait until the daemon's `watch.json` lists `root`.
fn wait_watched(env: &Env, root: &Path) {
    wait_for(&format!("{} to be watched", root.display()), || {
        let text = fs::read(env.mt_home.join("state/watch.json")).ok()?;
        let v: Value = serde_json::from_slice(&text).ok()?;
        v["trees"]
            .as_array()?
            .iter()
            .any(|t| t["root"] == root.to_str().unwrap() && t["dirs"].as_u64() > Some(0))
            .then_some(())
    });
}

/// A repository of 500 files in 25 directories on `main`, pushed to a bare
/// `origin`, and a branch `feat/1-x` that changes 100 of them, removes 20,
/// and adds a directory of 30: switching between them rewrites 150 files.
fn big_project(env: &Env) -> PathBuf {
    let origin = env.path("origin.git");
    env.git(
        env.dir.path(),
        &["init", "-q", "--bare", "-b", "main", "origin.git"],
    );
    let repo = env.repo("r");
    for d in 0..25 {
        fs::create_dir_all(repo.join(format!("src/d{d:02}"))).unwrap();
        for f in 0..20 {
            fs::write(
                repo.join(format!("src/d{d:02}/f{f:02}.rs")),
                format!("// {d} {f}\n"),
            )
            .unwrap();
        }
    }
    env.git(&repo, &["add", "."]);
    env.git(&repo, &["commit", "-q", "-m", "500 files"]);
    env.git(
        &repo,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    env.git(&repo, &["push", "-q", "-u", "origin", "main"]);
    env.git(&repo, &["switch", "-q", "-c", "feat/1-x"]);
    for d in 0..5 {
        for f in 0..20 {
            fs::write(
                repo.join(format!("src/d{d:02}/f{f:02}.rs")),
                format!("// changed {d} {f}\n"),
            )
            .unwrap();
        }
    }
    for f in 0..20 {
        fs::remove_file(repo.join(format!("src/d24/f{f:02}.rs"))).unwrap();
    }
    fs::create_dir_all(repo.join("src/new/deep")).unwrap();
    for f in 0..30 {
        fs::write(repo.join(format!("src/new/deep/n{f:02}.rs")), "// new\n").unwrap();
    }
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "feature"]);
    repo
}

/// `git ARGS` that may fail (a rebase stopping on a conflict): its status.
fn git_status(env: &Env, dir: &Path, args: &[&str]) -> bool {
    let mut cmd = Command::new("timeout");
    env.apply(&mut cmd)
        .current_dir(dir)
        .env("GIT_EDITOR", "true")
        .args(["120", "git"])
        .args(args)
        .output()
        .unwrap()
        .status
        .success()
}

/// Every way git rewrites a tree — switch, checkout, stash, stash pop,
/// pull, merge, rebase (one stopped on a conflict), cherry-pick, reset,
/// restore — on a 500-file tree: none of git's writes is an edit. The
/// person's saves are, all of them, on the branch they were made on (the
/// conflict resolved during a stopped rebase too, not "(detached)").
#[test]
fn git_rewriting_the_tree_is_not_editing() {
    let env = Env::new();
    let repo = big_project(&env);
    env.start_daemon();
    env.ok(&repo, ["exec", "true"]);
    wait_watched(&env, &repo);
    // A colleague's commit on origin/main, for the pull below.
    let other = env.path("other");
    env.git(
        env.dir.path(),
        &[
            "clone",
            "-q",
            env.path("origin.git").to_str().unwrap(),
            "other",
        ],
    );
    for f in 0..20 {
        fs::write(other.join(format!("src/d10/f{f:02}.rs")), "// theirs\n").unwrap();
    }
    env.git(&other, &["commit", "-qam", "theirs"]);
    env.git(&other, &["push", "-q"]);
    // And one on a branch of theirs, to cherry-pick.
    env.git(&other, &["switch", "-qc", "side"]);
    fs::write(other.join("src/d05/f05.rs"), "// picked\n").unwrap();
    env.git(&other, &["commit", "-qam", "side"]);
    env.git(&other, &["push", "-q", "origin", "side"]);

    let g = |args: &[&str]| env.git(&repo, args);
    g(&["switch", "-q", "main"]);
    g(&["checkout", "-q", "feat/1-x"]);
    // A save, stashed away and popped back: the save is one edit.
    fs::write(repo.join("src/d01/f01.rs"), "// my change\n").unwrap();
    wait_edit_of(&env, &repo, "src/d01/f01.rs");
    g(&["stash", "-q"]);
    g(&["stash", "pop", "-q"]);
    // An untracked scratch file, saved (an edit), stashed with `-u` and
    // brought back (git's), then cleaned away (a removal is no edit).
    fs::write(repo.join("notes.txt"), "todo\n").unwrap();
    wait_edit_of(&env, &repo, "notes.txt");
    g(&["stash", "-q", "-u"]);
    g(&["stash", "pop", "-q"]);
    g(&["clean", "-qfd"]);
    g(&["commit", "-qam", "mine"]);
    g(&["switch", "-q", "main"]);
    g(&["pull", "-q", "--ff-only"]);
    g(&["switch", "-q", "feat/1-x"]);
    g(&["merge", "-q", "--no-edit", "main"]);
    g(&["reset", "-q", "--hard", "HEAD~1"]);
    g(&["rebase", "-q", "main"]);
    g(&["switch", "-q", "-c", "feat/2-pick", "main"]);
    g(&["fetch", "-q", "origin", "side"]);
    g(&["cherry-pick", "FETCH_HEAD"]);
    fs::write(repo.join("src/d02/f02.rs"), "// scratch\n").unwrap();
    wait_edit_of(&env, &repo, "src/d02/f02.rs");
    g(&["restore", "src/d02/f02.rs"]);
    // A rebase that stops on a conflict: git writes the markers, the person
    // resolves it, git finishes.
    g(&["switch", "-q", "-c", "feat/3-conflict", "main"]);
    fs::write(repo.join("src/d10/f00.rs"), "// mine\n").unwrap();
    g(&["commit", "-qam", "mine"]);
    g(&["switch", "-q", "main"]);
    fs::write(repo.join("src/d10/f00.rs"), "// main's\n").unwrap();
    g(&["commit", "-qam", "main's"]);
    g(&["switch", "-q", "feat/3-conflict"]);
    assert!(
        !git_status(&env, &repo, &["rebase", "main"]),
        "the rebase stops"
    );
    fs::write(repo.join("src/d10/f00.rs"), "// resolved\n").unwrap();
    wait_edit_of(&env, &repo, "src/d10/f00.rs");
    g(&["add", "src/d10/f00.rs"]);
    assert!(git_status(&env, &repo, &["rebase", "--continue"]));
    // The last save: every write before it has been decided once it shows.
    fs::write(repo.join("src/d03/f03.rs"), "// last\n").unwrap();
    let got = wait_edit_of(&env, &repo, "src/d03/f03.rs");
    let saves: Vec<(&str, &str)> = got
        .iter()
        .map(|(p, _, b)| (p.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        saves,
        vec![
            ("src/d01/f01.rs", "feat/1-x"),
            ("notes.txt", "feat/1-x"),
            ("src/d02/f02.rs", "feat/2-pick"),
            ("src/d10/f00.rs", "feat/3-conflict"),
            ("src/d03/f03.rs", "feat/3-conflict"),
        ],
        "the person's five saves and nothing git wrote"
    );
}

/// A run's output (a coverage report, `__pycache__/`, a server's log):
/// untracked files written while a recorded command ran are not edits, so
/// three identical test runs are consistent. A tracked file saved during a
/// run (a test watcher running while the person edits) is an edit, and so
/// is a new file the branch goes on to commit.
#[test]
fn files_a_run_writes_are_its_output_not_edits() {
    let env = Env::new();
    let repo = env.repo("r");
    fs::create_dir_all(repo.join("src")).unwrap();
    fs::write(repo.join("src/lib.py"), "x = 1\n").unwrap();
    env.git(&repo, &["add", "."]);
    env.git(&repo, &["commit", "-qm", "lib"]);
    env.git(&repo, &["switch", "-qc", "feat/4-out"]);
    env.start_daemon();
    env.ok(&repo, ["exec", "true"]);
    wait_watched(&env, &repo);
    let test = "mkdir -p __pycache__ && echo pyc > __pycache__/lib.cpython.pyc && echo '<coverage/>' > coverage.xml && echo log >> server.log";
    for _ in 0..3 {
        env.ok(&repo, ["exec", "--", "sh", "-c", test]);
    }
    // A run long enough to save during: a tracked file and a new one.
    let mut run = env.mt_cmd(
        &repo,
        [
            "exec",
            "--",
            "sh",
            "-c",
            "while [ ! -e stop ]; do sleep 0.05; done",
        ],
    );
    let mut child = run.spawn().unwrap();
    wait_for("the long run to start", || {
        let log = env.log();
        (log.len() >= 5).then_some(())
    });
    fs::write(repo.join("src/lib.py"), "x = 2\n").unwrap();
    fs::write(repo.join("src/new.py"), "y = 1\n").unwrap();
    wait_edit_of(&env, &repo, "src/new.py");
    fs::write(repo.join("stop"), "").unwrap();
    assert!(child.wait().unwrap().success());
    fs::remove_file(repo.join("stop")).unwrap();
    env.git(&repo, &["add", "src"]);
    env.git(&repo, &["commit", "-qm", "x = 2, new.py"]);
    for _ in 0..3 {
        env.ok(&repo, ["exec", "--", "sh", "-c", test]);
    }
    let json: Value =
        serde_json::from_str(&env.ok(&repo, ["close", "--dry-run", "--json"])).unwrap();
    let mut edited: Vec<&str> = json["mt"]["edited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    edited.sort_unstable();
    assert_eq!(
        edited,
        ["src/lib.py", "src/new.py"],
        "{}",
        json["mt"]["edited"]
    );
    let text = env.ok(&repo, ["close", "--dry-run"]);
    let consistency = text
        .lines()
        .find(|l| l.contains("**Consistency**"))
        .unwrap_or_else(|| panic!("no consistency line:\n{text}"));
    assert!(
        consistency.contains("100.0% reproducible"),
        "the test command ran three times at each commit with no edit between: {consistency}"
    );
}

/// A file written into a directory made a moment before is seen: the new
/// directory is watched, then scanned for what it already holds.
#[test]
fn a_file_written_into_a_new_directory_is_an_edit() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-qc", "feat/5-dirs"]);
    env.start_daemon();
    env.ok(&repo, ["exec", "true"]);
    wait_watched(&env, &repo);
    for i in 0..20 {
        let dir = repo.join(format!("pkg{i:02}/sub"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("mod.rs"), "// new\n").unwrap();
    }
    fs::write(repo.join("last.rs"), "").unwrap();
    let got = wait_edit_of(&env, &repo, "last.rs");
    let paths: Vec<&str> = got.iter().map(|(p, ..)| p.as_str()).collect();
    let want: Vec<String> = (0..20).map(|i| format!("pkg{i:02}/sub/mod.rs")).collect();
    for w in &want {
        assert!(paths.contains(&w.as_str()), "{w} missing from {paths:?}");
    }
    assert_eq!(paths.len(), 21, "{paths:?}");
}

/// The watch outlives the idle timeout: a save after a break longer than
/// it is recorded, and a daemon started again watches the trees used in
/// the last days before any command runs there (the first save of the day).
#[test]
fn saves_after_a_break_and_before_the_first_command_are_recorded() {
    let env = Env::new();
    // 0.02 min = 1.2 s: the break below is longer than the idle timeout.
    fs::create_dir_all(env.mt_home.join("config")).unwrap();
    fs::write(
        env.mt_home.join("config/config.toml"),
        "idle_timeout_minutes = 0.02\n",
    )
    .unwrap();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-qc", "feat/6-break"]);
    env.start_daemon();
    env.ok(&repo, ["exec", "true"]);
    wait_watched(&env, &repo);
    let back = Instant::now() + Duration::from_millis(2500);
    wait_for("the break to pass the idle timeout", || {
        (Instant::now() >= back).then_some(())
    });
    fs::write(repo.join("after-break.rs"), "").unwrap();
    wait_edit_of(&env, &repo, "after-break.rs");
    // A new day: the daemon starts again, nothing is run in the repository.
    env.ok(env.dir.path(), ["daemon", "stop"]);
    env.start_daemon();
    wait_watched(&env, &repo);
    fs::write(repo.join("first-of-the-day.rs"), "").unwrap();
    let got = wait_edit_of(&env, &repo, "first-of-the-day.rs");
    assert_eq!(got.len(), 2, "{got:?}");
    let status = env.ok(&repo, ["status"]);
    assert!(status.contains("1 run"), "{status}");
}

/// A submodule and a repository cloned inside the tree are trees of their
/// own: their edits are theirs, on their branches.
#[test]
fn a_nested_repository_and_a_submodule_keep_their_edits() {
    let env = Env::new();
    let lib = env.repo("lib");
    fs::write(lib.join("lib.rs"), "").unwrap();
    env.git(&lib, &["add", "."]);
    env.git(&lib, &["commit", "-qm", "lib"]);
    let outer = env.repo("outer");
    env.git(
        &outer,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            lib.to_str().unwrap(),
            "vendor/lib",
        ],
    );
    env.git(&outer, &["commit", "-qm", "submodule"]);
    env.git(&outer, &["switch", "-qc", "feat/7-outer"]);
    let sub = outer.join("vendor/lib");
    env.git(&sub, &["switch", "-qc", "feat/7-inner"]);
    let clone = outer.join("tools/gen");
    fs::create_dir_all(outer.join("tools")).unwrap();
    env.git(&outer, &["clone", "-q", lib.to_str().unwrap(), "tools/gen"]);
    env.start_daemon();
    env.ok(&outer, ["exec", "true"]);
    wait_watched(&env, &sub);
    wait_watched(&env, &clone);
    fs::write(sub.join("lib.rs"), "// inner\n").unwrap();
    fs::write(clone.join("lib.rs"), "// clone\n").unwrap();
    fs::write(outer.join("outer.rs"), "").unwrap();
    let mut got = wait_edit_of(&env, &outer, "outer.rs");
    if got.len() < 3 {
        got = wait_for(&format!("three edits, not only {got:?}"), || {
            let e = edits(&env);
            (e.len() >= 3).then_some(e)
        });
    }
    got.sort();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    assert_eq!(
        got,
        vec![
            ("lib.rs".to_owned(), s(&clone), "main".to_owned()),
            ("lib.rs".to_owned(), s(&sub), "feat/7-inner".to_owned()),
            ("outer.rs".to_owned(), s(&outer), "feat/7-outer".to_owned()),
        ]
    );
}

/// The configuration is read again when it changes: a `watch_ignore`
/// added while the daemon runs applies to the next save, `watch = false`
/// drops the tree at once.
#[test]
fn a_config_change_applies_without_a_restart() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-qc", "feat/8-config"]);
    env.start_daemon();
    env.ok(&repo, ["exec", "true"]);
    wait_watched(&env, &repo);
    let config = env.mt_home.join("config/config.toml");
    fs::write(&config, "watch_ignore = [\"*.gen\"]\n").unwrap();
    // The config's own event is read before the saves below (one queue).
    fs::write(repo.join("a.gen"), "").unwrap();
    fs::write(repo.join("a.rs"), "").unwrap();
    let got = wait_edit_of(&env, &repo, "a.rs");
    assert!(got.iter().all(|(p, ..)| p != "a.gen"), "{got:?}");
    fs::write(&config, "watch = false\n").unwrap();
    wait_for("the tree to be dropped", || {
        let text = fs::read(env.mt_home.join("state/watch.json")).ok()?;
        let v: Value = serde_json::from_slice(&text).ok()?;
        v["trees"].as_array()?.is_empty().then_some(())
    });
}

/// A save made a moment before the daemon stops (inside its quiet
/// period) is spooled as it stops, and stored.
#[test]
fn a_save_just_before_the_daemon_stops_is_kept() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-qc", "feat/9-stop"]);
    env.start_daemon();
    env.ok(&repo, ["exec", "true"]);
    wait_watched(&env, &repo);
    fs::write(repo.join("last-save.rs"), "").unwrap();
    env.ok(env.dir.path(), ["daemon", "stop"]);
    let got = wait_edit_of(&env, &repo, "last-save.rs");
    assert_eq!(got.len(), 1, "{got:?}");
}

/// A repository's `.mt.toml` turning watching off, then on again: the
/// tree is dropped, then watched again, without a command or a restart.
/// `watch_days = 0` is read as one day, not as "watch nothing".
#[test]
fn a_repository_turned_off_and_on_again_is_watched_again() {
    let env = Env::new();
    fs::create_dir_all(env.mt_home.join("config")).unwrap();
    fs::write(env.mt_home.join("config/config.toml"), "watch_days = 0\n").unwrap();
    let repo = env.repo("r");
    env.start_daemon();
    env.ok(&repo, ["exec", "true"]);
    wait_watched(&env, &repo);
    let trees = || -> usize {
        let text = fs::read(env.mt_home.join("state/watch.json")).unwrap_or_default();
        let v: Value = serde_json::from_slice(&text).unwrap_or_default();
        v["trees"].as_array().map_or(0, Vec::len)
    };
    fs::write(repo.join(".mt.toml"), "watch = false\n").unwrap();
    wait_for("the tree to be dropped", || (trees() == 0).then_some(()));
    fs::write(repo.join(".mt.toml"), "watch = true\n").unwrap();
    wait_watched(&env, &repo);
    fs::write(repo.join("back.rs"), "").unwrap();
    wait_edit_of(&env, &repo, "back.rs");
}
