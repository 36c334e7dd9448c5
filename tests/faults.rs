//! Faults (ARCHITECTURE.md "Invariants"): a full disk, a database held by another
//! process, and the daemon killed while many writers append.

use std::process::Command;

use crate::harness::{Env, MT, err, text, wait_for};

#[test]
fn a_full_disk_never_changes_the_commands_outcome() {
    // RLIMIT_FSIZE 0: every spool write fails as on a full disk.
    let env = Env::new();
    let out = env.sh(
        env.dir.path(),
        "ulimit -f 0; MT_NO_AUTOSTART=1 $MT exec sh -c 'echo out; exit 3'; echo rc=$?",
    );
    assert_eq!(text(&out), "out\nrc=3\n", "{}", err(&out));
    let warnings: Vec<&str> = std::str::from_utf8(&out.stderr).unwrap().lines().collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("mt: warning: this run was not recorded"),
        "{warnings:?}"
    );
    // The limit is the caller's again in the child (SIGXFSZ not left ignored).
    let out = env.sh(
        env.dir.path(),
        "MT_NO_AUTOSTART=1 $MT exec grep SigIgn /proc/self/status; grep SigIgn /proc/self/status",
    );
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0], lines[1],
        "the child's ignored signals are the caller's"
    );
    // Space is back: what was recorded is stored once.
    assert_eq!(env.log().len(), 1);
    assert_eq!(env.log().len(), 1);
}

#[test]
fn a_locked_database_makes_ingest_wait_not_lose() {
    let env = Env::new();
    env.start_daemon();
    env.ok(env.dir.path(), ["exec", "true"]);
    assert_eq!(env.log().len(), 1);
    let holder = rusqlite::Connection::open(env.db()).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    for _ in 0..5 {
        env.ok(env.dir.path(), ["exec", "true"]);
    }
    // The daemon cannot commit while the lock is held; the records wait.
    assert!(env.spool().join("exec.log").exists());
    holder.execute_batch("COMMIT").unwrap();
    wait_for("all six stored", || (env.log().len() == 6).then_some(()));
}

/// Writers append without pause while the daemon is killed (-9) and
/// restarted and drains and removes spool files: every run once.
fn writers_and_kills(writers: usize, runs: usize) {
    let env = Env::new();
    env.start_daemon();
    let script = format!("for i in $(seq {runs}); do {MT} exec true || exit 1; done");
    let mut children: Vec<_> = (0..writers)
        .map(|_| {
            let mut cmd = Command::new("bash");
            env.apply(&mut cmd).args(["-c", &script]).spawn().unwrap()
        })
        .collect();
    let mut kills = 0;
    while children.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
        if let Some(&pid) = env.daemons().first() {
            // SAFETY: killing the daemon this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            kills += 1;
        }
        // The next `mt exec` starts a new daemon; wait for it, then kill again.
        wait_for("a restarted daemon or the writers' end", || {
            (!env.daemons().is_empty()
                || children.iter_mut().all(|c| c.try_wait().unwrap().is_some()))
            .then_some(())
        });
    }
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    assert!(kills > 0);
    let log = env.log();
    let mut ids: Vec<i64> = log.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    ids.dedup();
    assert_eq!(
        log.len(),
        writers * runs,
        "every run exactly once after {kills} kills"
    );
    assert!(
        log.iter().all(|e| e["state"] == "done"),
        "every run completed"
    );
}

#[test]
fn concurrent_writers_survive_daemon_kills() {
    writers_and_kills(8, 60);
}

#[test]
#[ignore = "soak: 8 writers x 10,000 runs; run with --ignored"]
fn soak_concurrent_writers_survive_daemon_kills() {
    writers_and_kills(8, 10_000);
}
