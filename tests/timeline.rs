//! One timeline per person (docs/metrics.md, "One timeline"): every moment
//! counts to at most one branch of one repository, a command is filed on
//! the branch checked out when it started, and every view shows what
//! `mt close` counts.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::harness::{Env, wait_for};

const S: i64 = 1_000_000;
/// In the past: no reflog move made during the test comes before these.
const BASE: i64 = 1_600_000_000_000_000;

/// Append shell records `(start s, end s)` run in `repo` on `branch`.
fn typed(env: &Env, repo: &Path, branch: &str, runs: &[(i64, i64)], tag: &str) {
    fs::create_dir_all(env.spool()).unwrap();
    let mut spool = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(env.spool().join("exec.log"))
        .unwrap();
    for (i, (a, b)) in runs.iter().enumerate() {
        writeln!(
            spool,
            "mt1\tH\tid={tag}:{i}\tsid={tag}\tt={}\tdur={}\texit=0\tcwd={root}\troot={root}\thead=ref: refs/heads/{branch}\tcmd=make\t.",
            BASE + a * S,
            (b - a) * S,
            root = repo.display()
        )
        .unwrap();
    }
}

fn status(env: &Env, repo: &Path) -> Value {
    serde_json::from_str(&env.ok(repo, ["status", "--json"])).unwrap()
}

/// Two repositories worked on in turns: the shares add up to the wall
/// time, and a repository's first command does not take the minutes spent
/// in the other before it (the gap between two repositories stays where it
/// began). `mt close` counts what `mt status` shows.
#[test]
fn two_repositories_in_turns_add_up_to_the_wall_time() {
    let env = Env::new();
    let a = env.repo("a");
    let b = env.repo("b");
    env.git(&a, &["switch", "-qc", "feat/a"]);
    env.git(&b, &["switch", "-qc", "feat/b"]);
    // A 0-5, B 7-9, A 12-13, B 20-30: wall time 30 s, every gap short.
    typed(&env, &a, "feat/a", &[(0, 5), (12, 13)], "a");
    typed(&env, &b, "feat/b", &[(7, 9), (20, 30)], "b");
    let (sa, sb) = (status(&env, &a), status(&env, &b));
    let active = |v: &Value| v["active_ms"].as_f64().unwrap() as i64;
    assert_eq!(active(&sa) + active(&sb), 30_000, "{sa}\n{sb}");
    // A: 0-5, 5-7 (until B's first command), 12-13, 13-20; B: 7-9, 9-12, 20-30.
    assert_eq!((active(&sa), active(&sb)), (15_000, 15_000));
    let first_b = 7_000;
    assert!(
        active(&sb) <= 30_000 - first_b,
        "B's active time is within its own elapsed time"
    );
    for (repo, want) in [(&a, 15_000), (&b, 15_000)] {
        let close: Value =
            serde_json::from_str(&env.ok(repo, ["close", "--dry-run", "--json"])).unwrap();
        assert_eq!(close["mt"]["active_ms"], want, "{}", close["mt"]);
    }
}

/// A branch with edits and no command is work: `mt status` shows its
/// active time, `--branches` lists it, `mt close` writes its milestone.
#[test]
fn a_branch_with_only_edits_is_shown_and_closable() {
    let env = Env::new();
    let repo = env.repo("r");
    env.start_daemon();
    // Something recorded on main makes the tree watched.
    env.ok(&repo, ["exec", "true"]);
    wait_for("the tree to be watched", || {
        let text = fs::read(env.mt_home.join("state/watch.json")).ok()?;
        let v: Value = serde_json::from_slice(&text).ok()?;
        (v["trees"].as_array()?.len() == 1).then_some(())
    });
    env.git(&repo, &["switch", "-qc", "feat/9-edits"]);
    fs::write(repo.join("a.rs"), "a").unwrap();
    let second = Instant::now() + Duration::from_millis(600);
    wait_for("a pause between saves", || {
        (Instant::now() >= second).then_some(())
    });
    fs::write(repo.join("b.rs"), "b").unwrap();
    let branches = || -> Vec<Value> {
        let out = env.ok(&repo, ["status", "--branches", "--json"]);
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    wait_for("two edits on the branch", || {
        let listed = branches();
        let ours = listed.iter().find(|v| v["branch"] == "feat/9-edits")?;
        (ours["edits"] == 2).then_some(())
    });
    let text = env.ok(&repo, ["status"]);
    assert!(
        text.contains("No run yet, edits only; active time"),
        "{text}"
    );
    let listed = branches();
    let ours = listed
        .iter()
        .find(|v| v["branch"] == "feat/9-edits")
        .unwrap_or_else(|| panic!("not listed: {listed:?}"));
    assert_eq!(ours["runs"], 0);
    assert_eq!(ours["edits"], 2);
    let close: Value =
        serde_json::from_str(&env.ok(&repo, ["close", "--dry-run", "--json"])).unwrap();
    assert_eq!(close["mt"]["edited"].as_array().unwrap().len(), 2);
    // Close counts whole milliseconds of the same sum.
    let status_ms = ours["active_ms"].as_f64().unwrap();
    assert_eq!(
        close["mt"]["active_ms"].as_f64().unwrap(),
        status_ms.floor()
    );
}

/// The second whole second after now: a reflog entry stamped before it is
/// known to come before anything started then.
fn wait_next_second() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    wait_for("the next second", || {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        (t > now).then_some(())
    });
}

/// `git switch` in another terminal (or an IDE) between two prompts: the
/// next command typed is filed on the branch it started on, not the one the
/// prompt saw; a command that switches is filed on the branch it left.
fn switch_elsewhere_between_prompts(rc: &str, shell: &str) {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-qc", "feat/10-before"]);
    let t = match shell {
        "bash" => crate::term::bash(&env, &repo, rc),
        _ => {
            let zdot = env.home.join("zdot");
            fs::create_dir_all(&zdot).unwrap();
            fs::write(zdot.join(".zshrc"), format!("PS1='$ '\n{rc}\n")).unwrap();
            crate::term::Term::start(
                &env,
                &repo,
                &["zsh", "-i"],
                &[("ZDOTDIR", zdot.to_str().unwrap())],
            )
        }
    };
    t.run("true first", 1);
    env.git(&repo, &["switch", "-qc", "feat/10-after"]);
    wait_next_second();
    t.run("true second", 2);
    let log = t.run("git switch -q feat/10-before", 3);
    let mut all = env.log();
    all.reverse();
    let branches: Vec<&str> = all.iter().map(|r| r["branch"].as_str().unwrap()).collect();
    assert_eq!(
        branches,
        ["feat/10-before", "feat/10-after", "feat/10-after"],
        "{shell}: {all:?}"
    );
    assert_eq!(log["command"], "git switch -q feat/10-before");
}

#[test]
fn bash_files_a_command_on_the_branch_it_started_on() {
    crate::require!("tmux");
    switch_elsewhere_between_prompts("eval \"$(mt init bash)\"", "bash");
}

#[test]
fn zsh_files_a_command_on_the_branch_it_started_on() {
    crate::require!("tmux", "zsh");
    switch_elsewhere_between_prompts("eval \"$(mt init zsh)\"", "zsh");
}

/// A test run before the span's first edit reproduces the problem:
/// diagnosis; the same test after the fix is validation. The phases match
/// a stopwatch held around each step.
#[test]
fn a_test_run_before_the_first_edit_is_diagnosis() {
    let env = Env::new();
    let repo = env.repo("r");
    let bin = env.path("bin");
    fs::create_dir_all(&bin).unwrap();
    // A stand-in test runner: fails until the fix is in, 300 ms a run.
    let pytest = bin.join("pytest");
    fs::write(&pytest, "#!/bin/sh\nsleep 0.3\ngrep -q fixed app.py\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&pytest, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(repo.join("app.py"), "broken\n").unwrap();
    env.git(&repo, &["add", "."]);
    env.git(&repo, &["commit", "-qm", "app"]);
    env.start_daemon();
    env.ok(&repo, ["exec", "true"]);
    wait_for("the tree to be watched", || {
        let text = fs::read(env.mt_home.join("state/watch.json")).ok()?;
        let v: Value = serde_json::from_slice(&text).ok()?;
        (v["trees"].as_array()?.len() == 1).then_some(())
    });
    env.git(&repo, &["switch", "-qc", "fix/11-app"]);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let exec = |env: &Env| {
        let t0 = Instant::now();
        let out = env
            .mt_cmd(&repo, ["exec", "--", "pytest"])
            .env("PATH", &path)
            .output()
            .unwrap();
        (t0, Instant::now(), out.status.code())
    };
    let (_, run1_end, code) = exec(&env);
    assert_eq!(code, Some(1), "the test reproduces the bug");
    let think = run1_end + Duration::from_millis(700);
    wait_for("time spent reading the failure", || {
        (Instant::now() >= think).then_some(())
    });
    let saved = Instant::now();
    fs::write(repo.join("app.py"), "fixed\n").unwrap();
    wait_for("the fix's edit", || {
        env.ok(&repo, ["log", "--limit", "1"]);
        let db = rusqlite::Connection::open(env.db()).unwrap();
        let n: i64 = db
            .query_row("SELECT COUNT(*) FROM events WHERE kind = 'edit'", [], |r| {
                r.get(0)
            })
            .unwrap();
        (n == 1).then_some(())
    });
    let (run2_start, run2_end, code) = exec(&env);
    assert_eq!(code, Some(0));
    let close: Value =
        serde_json::from_str(&env.ok(&repo, ["close", "--dry-run", "--json"])).unwrap();
    let phase = |p: &str| close["mt"]["phases_ms"][p].as_i64().unwrap_or(0);
    let ms = |d: Duration| d.as_millis() as i64;
    // Implementation: from the failing run's end to the save.
    let implementation = ms(saved - run1_end);
    // Validation: the passing run itself.
    let validation = ms(run2_end - run2_start);
    let close_to = |got: i64, want: i64| (got - want).abs() <= 120;
    assert!(
        close_to(phase("implementation"), implementation),
        "implementation {} ms, stopwatch {implementation} ms: {}",
        phase("implementation"),
        close["mt"]["phases_ms"]
    );
    assert!(
        close_to(phase("validation"), validation),
        "validation {} ms, stopwatch {validation} ms: {}",
        phase("validation"),
        close["mt"]["phases_ms"]
    );
    assert!(
        phase("diagnosis") >= 300,
        "the reproducing run is diagnosis: {}",
        close["mt"]["phases_ms"]
    );
}

/// `mt status --branches` from a linked worktree lists the branches of
/// every worktree of the repository (its `commondir` is a relative path).
#[test]
fn branches_from_a_linked_worktree_include_the_main_worktrees() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-qc", "feat/12-main-wt"]);
    env.ok(&repo, ["exec", "true"]);
    env.git(
        &repo,
        &["worktree", "add", "-q", "-b", "feat/12-linked", "../wt"],
    );
    let wt = env.path("wt");
    env.ok(&wt, ["exec", "true"]);
    for dir in [&repo, &wt] {
        let out = env.ok(dir, ["status", "--branches", "--json"]);
        let mut listed: Vec<String> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["branch"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        listed.sort();
        assert_eq!(
            listed,
            ["feat/12-linked", "feat/12-main-wt"],
            "from {}",
            dir.display()
        );
    }
}
