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

/// Overwrite one page in the middle of the database with garbage.
fn damage(db: &std::path::Path) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    f.seek(SeekFrom::Start(2 * 4096)).unwrap();
    f.write_all(&[0xa5; 4096]).unwrap();
}

/// A damaged database: readers say so at once (with or without a daemon)
/// and point to the fix, doctor gives it, and the records made meanwhile
/// wait in the spool until the store is replaced.
#[test]
fn a_damaged_database_is_named_with_its_fix_and_loses_no_new_record() {
    let env = Env::new();
    let quiet = |args: &[&str]| {
        env.mt_cmd(env.dir.path(), args)
            .env("MT_NO_AUTOSTART", "1")
            .output()
            .unwrap()
    };
    for i in 0..60 {
        quiet(&["exec", "echo", &format!("filler-{i}-{}", "x".repeat(60))]);
    }
    assert_eq!(env.log().len(), 60);
    damage(&env.db());
    quiet(&["exec", "echo", "made-after-the-damage"]);
    for daemon in [false, true] {
        if daemon {
            env.start_daemon();
        }
        let started = std::time::Instant::now();
        let out = quiet(&["log"]);
        assert_eq!(out.status.code(), Some(1));
        let said = err(&out);
        assert!(
            said.contains("is damaged; run `mt doctor`") && said.lines().count() == 1,
            "daemon {daemon}: {said}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "daemon {daemon}"
        );
    }
    let doctor = text(&quiet(&["doctor"]));
    assert!(
        doctor.contains("is damaged (")
            && doctor.contains(".recover")
            && doctor.contains("mt daemon stop"),
        "{doctor}"
    );
    env.ok(env.dir.path(), ["daemon", "stop"]);
    wait_for("the daemon to stop", || {
        env.daemons().is_empty().then_some(())
    });
    // The fix doctor names (moving the file aside): the record made since
    // was kept in the spool and is stored now.
    std::fs::rename(env.db(), env.db().with_extension("damaged")).unwrap();
    let _ = std::fs::remove_file(env.db().with_extension("db-wal"));
    let _ = std::fs::remove_file(env.db().with_extension("db-shm"));
    let log = env.log();
    assert!(
        log.iter()
            .any(|e| e["command"] == "echo made-after-the-damage"),
        "{log:?}"
    );
}

/// 50,000 garbage lines: set aside and counted, but the daemon log grows by
/// a line per file and pass, and the store keeps only the newest 10,000.
#[test]
fn garbage_in_the_spool_is_bounded_in_the_log_and_the_store() {
    let env = Env::new();
    env.ok(env.dir.path(), ["exec", "true"]);
    env.start_daemon();
    let garbage = "not a record at all, just noise\n".repeat(50_000);
    std::fs::write(env.spool().join("h-1-garbage.log"), garbage).unwrap();
    env.ok(env.dir.path(), ["exec", "echo", "still-recorded"]);
    assert!(
        env.log()
            .iter()
            .any(|e| e["command"] == "echo still-recorded")
    );
    let log = std::fs::read_to_string(env.mt_home.join("state/daemon.log")).unwrap_or_default();
    assert!(
        log.lines().count() < 10,
        "{} lines in daemon.log",
        log.lines().count()
    );
    // A pass reads at most a chunk of a file, so the count may come in parts.
    let counted: u64 = log
        .lines()
        .filter_map(|l| l.strip_prefix("mt daemon: set aside "))
        .filter(|l| l.contains("malformed line(s) of h-1-garbage.log"))
        .filter_map(|l| l.split(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(counted, 50_000, "{log}");
    let doctor = text(&env.mt(env.dir.path(), ["doctor"]));
    assert!(
        doctor.contains("at least 10000 malformed spool lines set aside"),
        "{doctor}"
    );
}

/// The daemon on a disk that fills up and empties again: the user's
/// commands keep their outcome, `mt log` reads the store, the daemon lives,
/// and recording resumes when space returns. Mounting a small tmpfs needs
/// root, so this runs where `MT_TEST_TMPFS` is set and does nothing
/// otherwise.
#[test]
fn full_disk_the_daemon_survives_and_resumes() {
    if std::env::var_os("MT_TEST_TMPFS").is_none() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    std::fs::create_dir_all(&env.mt_home).unwrap();
    let _mount = Tmpfs::mount(&env.mt_home, "4m");
    let daemon = env.start_daemon();
    env.ok(dir, ["exec", "echo", "before"]);
    assert!(env.ok(dir, ["log"]).contains("echo before"));
    let filler = env.mt_home.join("filler");
    fill(&filler);
    let out = env.mt(dir, ["exec", "sh", "-c", "echo during; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", err(&out));
    assert_eq!(text(&out), "during\n");
    let log = env.mt(dir, ["log"]);
    assert!(log.status.success(), "{}", err(&log));
    assert!(text(&log).contains("echo before"), "{}", text(&log));
    assert!(
        err(&log).starts_with("mt: warning: the newest commands are not stored yet"),
        "{}",
        err(&log)
    );
    assert_eq!(
        env.daemons(),
        vec![daemon],
        "the daemon lives on a full disk"
    );
    std::fs::remove_file(&filler).unwrap();
    env.ok(dir, ["exec", "echo", "after"]);
    wait_for("the record after space returned", || {
        text(&env.mt(dir, ["log"]))
            .contains("echo after")
            .then_some(())
    });
    assert_eq!(env.daemons(), vec![daemon]);
}

/// Write `path` until the disk says it is full.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 << 10];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

/// A tmpfs of `size` at a directory, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &std::path::Path, size: &str) -> Tmpfs {
        let status = Command::new("timeout")
            .args(["30", "mount", "-t", "tmpfs"])
            .args(["-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(status.success(), "MT_TEST_TMPFS is set but mount failed");
        Tmpfs(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("timeout")
            .args(["30", "umount", "-l"])
            .arg(&self.0)
            .status();
    }
}
