//! Each command is filed under the branch it ran on: after switches, in
//! worktrees, detached, and when ingested long after HEAD moved.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use crate::harness::Env;
use crate::spool::hook_record;

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
    std::fs::create_dir_all(env.spool()).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(env.spool().join("h-999999996-1.log"))
        .unwrap();
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
        human.contains("2 runs (2 automated, 0 manual), 1 failed") && human.contains("running for"),
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

/// A reader that stops early (`| head`) ends `mt log` and `mt close` as it
/// ends other tools: quietly, by SIGPIPE (141 in the shell), no message.
#[test]
fn a_closed_pipe_ends_output_quietly() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-q", "-c", "fix/3-x"]);
    let many = "for i in $(seq 400); do MT_NO_AUTOSTART=1 $MT exec true; done";
    assert!(env.sh(&repo, many).status.success());
    env.git(&repo, &["switch", "-q", "main"]);
    env.git(&repo, &["merge", "-q", "--no-ff", "-m", "m", "fix/3-x"]);
    for reader in [
        "$MT log --limit 400",
        "$MT log --json --limit 400",
        "$MT close fix/3-x --dry-run --json",
    ] {
        let out = env.sh(
            &repo,
            &format!("MT_NO_AUTOSTART=1 {reader} | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}"),
        );
        assert_eq!(crate::harness::text(&out), "141\n", "{reader}");
        assert_eq!(crate::harness::err(&out), "", "{reader}");
    }
}
