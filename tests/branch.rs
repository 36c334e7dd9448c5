//! Each command is filed under the branch it ran on: after switches, in
//! worktrees, detached, and when ingested long after HEAD moved.

use std::io::Write;

use crate::harness::Env;
use crate::spool::{hook_record, spool_file};

fn branches(env: &Env) -> Vec<String> {
    env.log()
        .iter()
        .rev()
        .map(|e| e["branch"].as_str().unwrap_or("-").to_owned())
        .collect()
}

#[test]
fn switch_between_commands_with_the_daemon_running() {
    let env = Env::new();
    let repo = env.repo("r");
    env.start_daemon();
    env.ok(&repo, ["exec", "true"]);
    env.git(&repo, &["switch", "-q", "-c", "feat/1-x"]);
    env.ok(&repo, ["exec", "true"]);
    assert_eq!(branches(&env), vec!["main", "feat/1-x"]);
    let e = &env.log()[0];
    assert_eq!(e["repo"], repo.to_str().unwrap());
    assert_eq!(
        e["head"].as_str().unwrap(),
        env.git(&repo, &["rev-parse", "HEAD"]).trim()
    );
}

#[test]
fn recorded_without_daemon_then_ingested_after_switches() {
    let env = Env::new();
    let repo = env.repo("r");
    let run = |args: &[&str]| {
        env.mt_cmd(&repo, args)
            .env("MT_NO_AUTOSTART", "1")
            .status()
            .unwrap()
    };
    run(&["exec", "true"]);
    env.git(&repo, &["switch", "-q", "-c", "a"]);
    run(&["exec", "true"]);
    env.git(&repo, &["switch", "-q", "-c", "b"]);
    assert_eq!(branches(&env), vec!["main", "a"]);
}

/// A record waiting in the spool keeps the commit its command ran at,
/// though the branch moved on (a commit) and was deleted before anything
/// was ingested: the finished check and the consistency figures read it.
#[test]
fn a_waiting_record_keeps_the_commit_it_ran_at() {
    let env = Env::new();
    let repo = env.repo("r");
    let run = || {
        let status = (env.mt_cmd(&repo, ["exec", "true"]))
            .env("MT_NO_AUTOSTART", "1")
            .status()
            .unwrap();
        assert!(status.success());
    };
    env.git(&repo, &["switch", "-q", "-c", "feat/1-x"]);
    run();
    let first = env.git(&repo, &["rev-parse", "HEAD"]);
    env.git(&repo, &["commit", "-q", "--allow-empty", "-m", "more"]);
    run();
    let second = env.git(&repo, &["rev-parse", "HEAD"]);
    env.git(&repo, &["switch", "-q", "main"]);
    env.git(&repo, &["branch", "-q", "-D", "feat/1-x"]);
    let heads: Vec<String> = (env.log().iter().rev())
        .map(|e| e["head"].as_str().unwrap_or("-").to_owned())
        .collect();
    assert_eq!(heads, [first.trim(), second.trim()]);
    assert_eq!(branches(&env), ["feat/1-x", "feat/1-x"]);
}

/// A shell hook's record, ingested after its branch was merged and
/// deleted, still names the commit it ran at: the HEAD reflog keeps it.
/// The git commands are dated (the reflog has whole seconds) so that the
/// record falls between the commit and the switch away.
#[test]
fn a_hook_record_of_a_deleted_branch_keeps_its_commit() {
    let env = Env::new();
    let repo = env.repo("r");
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 100; // after the repository's first commit, dated now
    let git_at = |secs: i64, args: &[&str]| {
        let mut cmd = std::process::Command::new("git");
        let out = (env.apply(&mut cmd).current_dir(&repo).args(args))
            .env("GIT_COMMITTER_DATE", format!("@{} +0000", t0 + secs))
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    git_at(0, &["switch", "-q", "-c", "feat/1-x"]);
    git_at(10, &["commit", "-q", "--allow-empty", "-m", "work"]);
    let work = git_at(10, &["rev-parse", "HEAD"]);
    let mut f = spool_file(&env, "h-999999996-1.log");
    let ran_at = (t0 + 20) * 1_000_000;
    f.write_all(hook_record("s", ran_at, &repo, "make", 0).as_bytes())
        .unwrap();
    drop(f);
    git_at(50, &["switch", "-q", "main"]);
    git_at(50, &["branch", "-q", "-D", "feat/1-x"]);
    let log = env.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["branch"], "feat/1-x");
    assert_eq!(log[0]["head"].as_str(), Some(work.trim()));
}

#[test]
fn hook_records_use_the_reflog_when_head_moved_since() {
    // Hook records carry no HEAD: the reflog says where HEAD was at the time.
    let env = Env::new();
    let repo = env.repo("r");
    let earlier = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 5)
        * 1_000_000;
    env.git(&repo, &["switch", "-q", "-c", "later"]);
    let mut f = spool_file(&env, "h-999999996-1.log");
    f.write_all(hook_record("s", earlier, &repo, "make", 0).as_bytes())
        .unwrap();
    drop(f);
    env.mt_cmd(&repo, ["exec", "true"])
        .env("MT_NO_AUTOSTART", "1")
        .status()
        .unwrap();
    assert_eq!(branches(&env), vec!["main", "later"]);
}

#[test]
fn worktree_detached_and_unborn() {
    let env = Env::new();
    let repo = env.repo("r");
    let wt = env.path("wt");
    env.git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "wt-branch",
            wt.to_str().unwrap(),
        ],
    );
    let sub = wt.join("deep/dir");
    std::fs::create_dir_all(&sub).unwrap();
    env.start_daemon();
    env.ok(&sub, ["exec", "true"]);
    env.git(&repo, &["checkout", "-q", "--detach"]);
    env.ok(&repo, ["exec", "true"]);
    let fresh = env.path("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    env.git(&fresh, &["init", "-q", "-b", "unborn"]);
    env.ok(&fresh, ["exec", "true"]);
    env.ok(env.dir.path(), ["exec", "true"]);
    let log = env.log();
    let got: Vec<(String, String)> = log
        .iter()
        .rev()
        .map(|e| {
            (
                e["repo"].as_str().unwrap_or("-").to_owned(),
                e["branch"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    assert_eq!(
        got,
        vec![
            (s(&wt), "wt-branch".to_owned()),
            (s(&repo), "(detached)".to_owned()),
            (s(&fresh), "unborn".to_owned()),
            ("-".to_owned(), "-".to_owned()),
        ]
    );
}

#[test]
fn status_and_log_show_this_branch() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-q", "-c", "feat/5-x"]);
    env.start_daemon();
    env.ok(&repo, ["exec", "sleep", "0.1"]);
    let _ = env.mt(&repo, ["exec", "false"]);
    let running = crate::harness::Group::spawn(&mut env.mt_cmd(&repo, ["exec", "sleep", "30"]));
    crate::harness::wait_for("the running command", || {
        let v: serde_json::Value =
            serde_json::from_str(&env.ok(&repo, ["status", "--json"])).ok()?;
        (v["running"].as_array()?.len() == 1).then_some(v)
    });
    let v: serde_json::Value = serde_json::from_str(&env.ok(&repo, ["status", "--json"])).unwrap();
    assert_eq!(
        (
            v["branch"].as_str(),
            v["runs"].as_u64(),
            v["failures"].as_u64()
        ),
        (Some("feat/5-x"), Some(2), Some(1))
    );
    assert!(v["active_ms"].as_f64().unwrap() >= 100.0);
    let human = env.ok(&repo, ["status"]);
    assert!(
        human.contains("2 runs (2 by a program, 0 typed), 1 failed")
            && human.contains("running for"),
        "{human}"
    );
    drop(running);
    // Another branch's log does not show them.
    env.git(&repo, &["switch", "-q", "main"]);
    env.ok(&repo, ["exec", "true"]);
    let only: Vec<String> = env
        .ok(&repo, ["log", "--json", "--branch", "main"])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(only.len(), 1);
    let out = env.mt(env.dir.path(), ["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(crate::harness::err(&out).contains("not in a git repository"));
}

/// `idle_timeout_minutes` from the repository's `.mt.toml` is the one
/// `mt status` uses and prints, as `mt close` does.
#[test]
fn status_uses_the_configured_idle_timeout() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-q", "-c", "feat/6-y"]);
    std::fs::write(repo.join(".mt.toml"), "idle_timeout_minutes = 30\n").unwrap();
    // Two commands typed 20 minutes apart.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let lines: String = [now - 21 * 60_000_000, now - 60_000_000]
        .iter()
        .map(|&t| hook_record("s9", t, &repo, "cargo build", 0))
        // The branch as the hook saw it at the prompt (the reflog says the
        // branch was made only now).
        .map(|r| {
            r.replace(
                "\tcmd=",
                &format!(
                    "\troot={}\thead=ref: refs/heads/feat/6-y\tcmd=",
                    repo.display()
                ),
            )
        })
        .collect();
    std::fs::create_dir_all(env.spool()).unwrap();
    std::fs::write(env.spool().join("h-1-s9.log"), lines).unwrap();
    let v: serde_json::Value = serde_json::from_str(&env.ok(&repo, ["status", "--json"])).unwrap();
    assert_eq!(v["runs"], 2);
    assert_eq!(v["idle_timeout_s"], 1800);
    let active = v["active_ms"].as_f64().unwrap();
    // 20 minutes of gap plus the two commands: counted under 30 min.
    assert!((1_199_000.0..1_201_000.0).contains(&active), "{active}");
    assert!(
        env.ok(&repo, ["status"])
            .contains("gaps over 30 min not counted")
    );
    let close: serde_json::Value =
        serde_json::from_str(&env.ok(&repo, ["close", "--dry-run", "--json"])).unwrap();
    assert_eq!(
        close["mt"]["parameters"]["idle_timeout_minutes"], 30,
        "{close}"
    );
}

/// A reader that has gone (`| head` after its lines) ends `mt log` and
/// `mt close` as it ends other tools: by SIGPIPE, with no message. The pipe's
/// read end is closed before mt starts, so the first write meets it.
#[test]
fn a_closed_pipe_ends_output_quietly() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::ExitStatusExt;
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-q", "-c", "fix/3-x"]);
    env.ok(&repo, ["exec", "true"]);
    env.git(&repo, &["switch", "-q", "main"]);
    env.git(&repo, &["merge", "-q", "--no-ff", "-m", "m", "fix/3-x"]);
    for args in [
        &["log"][..],
        &["log", "--json"],
        &["close", "fix/3-x", "--dry-run", "--json"],
        &["status"],
    ] {
        let mut fds = [0; 2];
        // SAFETY: a fresh pipe; the read end is closed at once, the write
        // end handed to the child as its stdout.
        let write_end = unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            libc::close(fds[0]);
            OwnedFd::from_raw_fd(fds[1])
        };
        let out = env
            .mt_cmd(&repo, args)
            .env("MT_NO_AUTOSTART", "1")
            .stdout(std::process::Stdio::from(write_end))
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{args:?}");
        assert_eq!(crate::harness::err(&out), "", "{args:?}");
    }
}

/// A reftable repository (git ≥ 2.45) keeps a stub in `.git/HEAD`: commands
/// are still filed under the real branch and commit, never `.invalid`.
#[test]
fn a_reftable_repository_gets_the_real_branch() {
    let env = Env::new();
    let repo = env.path("rt");
    std::fs::create_dir_all(&repo).unwrap();
    let mut init = std::process::Command::new("git");
    let made = env
        .apply(&mut init)
        .current_dir(&repo)
        .args(["init", "-q", "--ref-format=reftable", "-b", "main"])
        .status()
        .unwrap();
    if !made.success() {
        crate::harness::unavailable("git cannot make a reftable repository (git 2.45 or newer)");
        return;
    }
    env.git(&repo, &["commit", "-q", "--allow-empty", "-m", "init"]);
    env.git(&repo, &["switch", "-q", "-c", "feat/9-reftable"]);
    let commit = env.git(&repo, &["rev-parse", "HEAD"]).trim().to_owned();
    env.ok(&repo, ["exec", "true"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    // A hook record carrying the stub it read from .git/HEAD.
    let record = hook_record("s7", now, &repo, "cargo check", 0).replace(
        "\tcmd=",
        &format!(
            "\troot={}\thead=ref: refs/heads/.invalid\tcmd=",
            repo.display()
        ),
    );
    std::fs::write(env.spool().join("h-1-s7.log"), record).unwrap();
    let log = env.log();
    assert_eq!(log.len(), 2);
    for e in &log {
        assert_eq!(e["branch"], "feat/9-reftable", "{e}");
        assert_eq!(e["head"], commit.as_str(), "{e}");
    }
    let status: serde_json::Value =
        serde_json::from_str(&env.ok(&repo, ["status", "--json"])).unwrap();
    assert_eq!(status["branch"], "feat/9-reftable");
    assert_eq!(status["runs"], 2);
    let doctor = crate::harness::text(&env.mt(&repo, ["doctor"]));
    assert!(doctor.contains("reftable"), "{doctor}");
}
