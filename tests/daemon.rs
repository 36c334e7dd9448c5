//! The daemon: auto-start, exactly one per user, the control socket's
//! safety, and no loss or duplicates across kills and restarts.

use std::fs;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::process::Command;
use std::time::Duration;

use crate::harness::{Env, MT, err, text, wait_for};

#[test]
fn fifty_parallel_first_runs_start_one_daemon() {
    let env = Env::new();
    let mut children: Vec<_> = (0..50)
        .map(|_| {
            env.mt_cmd(env.dir.path(), ["exec", "true"])
                .spawn()
                .unwrap()
        })
        .collect();
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    wait_for("a daemon", || env.daemons().first().copied());
    assert_eq!(env.log().len(), 50);
    // Any extra daemon that raced exits at once: exactly one remains.
    wait_for("exactly one daemon", || {
        (env.daemons().len() == 1).then_some(())
    });
}

#[test]
fn pipelines_and_substitutions_do_not_wait_for_the_daemon() {
    let env = Env::new();
    // Each would hang for as long as the daemon lives if it held the pipe.
    let mut cmd = Command::new("bash");
    env.apply(&mut cmd).env("MT", MT).args([
        "-c",
        "$MT exec echo hi | cat; x=$($MT exec echo sub); echo \"$x\"",
    ]);
    let out = run_with_deadline(cmd, Duration::from_secs(20));
    assert_eq!(text(&out), "hi\nsub\n");
    wait_for("a daemon", || env.daemons().first().copied());
}

fn run_with_deadline(mut cmd: Command, limit: Duration) -> std::process::Output {
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("command still running after {limit:?}: something holds its output pipe");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn second_daemon_leaves_the_first_alone_and_stale_socket_is_replaced() {
    let env = Env::new();
    // A socket file nobody listens on: what a crashed daemon leaves.
    fs::create_dir_all(env.mt_home.join("run")).unwrap();
    fs::set_permissions(env.mt_home.join("run"), fs::Permissions::from_mode(0o700)).unwrap();
    drop(std::os::unix::net::UnixListener::bind(env.socket()).unwrap());
    let first = env.start_daemon();
    let inode = fs::metadata(env.socket()).unwrap().ino();
    let second = env.mt(env.dir.path(), ["daemon", "run"]);
    assert!(second.status.success());
    assert!(err(&second).contains("already running"), "{}", err(&second));
    assert_eq!(
        fs::metadata(env.socket()).unwrap().ino(),
        inode,
        "the live socket was not replaced"
    );
    assert_eq!(env.daemons(), vec![first]);
    assert!(text(&env.mt(env.dir.path(), ["daemon", "status"])).contains(&format!("pid {first}")));
}

/// A daemon started while a reader's catch-up holds the ingest lock, seen
/// waiting for it: the lock (held until dropped) and the daemon.
fn daemon_waiting_for_a_catch_up(env: &Env) -> (fs::File, crate::harness::Group) {
    env.first_run_without_daemon();
    let lock = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(env.spool().join(".ingest.lock"))
        .unwrap();
    lock.lock().unwrap();
    let log = env.path("daemon.err");
    let mut cmd = Command::new(MT);
    let daemon = crate::harness::Group::spawn(
        env.apply(&mut cmd)
            .current_dir(env.dir.path())
            .stderr(fs::File::create(&log).unwrap())
            .args(["daemon", "run"]),
    );
    wait_for("the daemon to wait for the lock", || {
        let said = fs::read_to_string(&log).unwrap_or_default();
        said.contains("waiting for the ingest lock").then_some(())
    });
    (lock, daemon)
}

/// `mt exec …; mt log` right after install: the daemon `mt exec` started
/// came up while `mt log`'s catch-up held the ingest lock, and gave up. A
/// starting daemon waits for a lock no daemon answers for.
#[test]
fn a_daemon_starting_during_a_catch_up_waits_for_it() {
    let env = Env::new();
    // It waits (it used to exit at once, saying another daemon ran) and
    // takes over once the lock is free: this very process answers.
    let (lock, mut daemon) = daemon_waiting_for_a_catch_up(&env);
    let pid = daemon.0.id();
    drop(lock);
    wait_for("the daemon started during the catch-up to answer", || {
        let out = env.mt(env.dir.path(), ["daemon", "status"]);
        text(&out).contains(&format!("pid {pid}")).then_some(())
    });
    assert!(daemon.0.try_wait().unwrap().is_none());
    env.ok(env.dir.path(), ["daemon", "stop"]);
}

/// `mt daemon stop` right after a first `mt exec`, while the daemon it
/// started still waits for a catch-up's ingest lock, waits for it and
/// stops it; it used to say no daemon ran and leave it running.
#[test]
fn daemon_stop_waits_for_a_daemon_still_starting() {
    let env = Env::new();
    let (lock, mut daemon) = daemon_waiting_for_a_catch_up(&env);
    let said = env.path("stop.err");
    let mut stop = env.mt_cmd(env.dir.path(), ["daemon", "stop"]);
    let stop = stop
        .stdout(std::process::Stdio::piped())
        .stderr(fs::File::create(&said).unwrap())
        .spawn()
        .unwrap();
    wait_for("stop to wait for the starting daemon", || {
        let said = fs::read_to_string(&said).unwrap_or_default();
        said.contains("a daemon is starting").then_some(())
    });
    drop(lock);
    let out = stop.wait_with_output().unwrap();
    let pid = daemon.0.id();
    assert_eq!(text(&out).trim(), format!("mt daemon stopped (pid {pid})"));
    assert!(daemon.0.wait().unwrap().success());
}

#[test]
fn private_dirs_and_modes() {
    let env = Env::new();
    env.start_daemon();
    env.ok(env.dir.path(), ["exec", "true"]);
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().mode() & 0o777;
    assert_eq!(mode(&env.mt_home.join("run")), 0o700);
    assert_eq!(mode(&env.socket()), 0o600);
    assert_eq!(mode(&env.spool()), 0o700);
    env.log();
    assert_eq!(mode(&env.db()), 0o600);
    let db = rusqlite::Connection::open(env.db()).unwrap();
    let journal: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
}

#[test]
fn symlinked_or_foreign_dirs_are_refused() {
    let env = Env::new();
    let elsewhere = env.path("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    fs::create_dir_all(&env.mt_home).unwrap();
    std::os::unix::fs::symlink(&elsewhere, env.mt_home.join("run")).unwrap();
    let out = env.mt(env.dir.path(), ["daemon", "run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("is a symlink; remove it"),
        "{}",
        err(&out)
    );
    // Recording itself still works: the command runs and lands in the spool.
    let out = env
        .mt_cmd(env.dir.path(), ["exec", "true"])
        .env("MT_NO_AUTOSTART", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(env.log().len(), 1);

    // A spool dir owned by someone else: refused by writer and reader alike.
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        let env = Env::new();
        fs::create_dir_all(env.spool()).unwrap();
        std::os::unix::fs::chown(env.spool(), Some(65534), Some(65534)).unwrap();
        let out = env
            .mt_cmd(env.dir.path(), ["exec", "true"])
            .env("MT_NO_AUTOSTART", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "the command still runs");
        assert!(err(&out).contains("belongs to uid 65534"), "{}", err(&out));
    }
}

#[test]
fn another_uid_is_refused() {
    crate::require!("setpriv");
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return; // needs root to become another user
    }
    let env = Env::new();
    env.start_daemon();
    // Let `nobody` reach the socket file so that only the peer check stops it.
    for dir in [
        env.dir.path().to_path_buf(),
        env.mt_home.clone(),
        env.mt_home.join("run"),
    ] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::set_permissions(env.socket(), fs::Permissions::from_mode(0o777)).unwrap();
    let nobody_home = env.path("nobody");
    fs::create_dir_all(&nobody_home).unwrap();
    fs::set_permissions(&nobody_home, fs::Permissions::from_mode(0o777)).unwrap();
    // The pair where `nobody` can reach it (the build dir may be private:
    // CI clones into a 0700 directory), as an installed mt would be.
    let bin = env.path("bin");
    fs::create_dir_all(&bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    for (from, name) in [(MT, "mt"), (env!("CARGO_BIN_EXE_mt-core"), "mt-core")] {
        fs::copy(from, bin.join(name)).unwrap();
    }
    let mt = bin.join("mt");
    let mut cmd = Command::new("setpriv");
    env.apply(&mut cmd)
        .env("MT_HOME", &nobody_home)
        .env("MT_SOCKET", env.socket())
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&mt)
        .arg("doctor")
        .current_dir("/");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("this daemon serves uid 0 only, not uid 65534"),
        "{}",
        text(&out)
    );
    // The daemon keeps serving its owner.
    assert!(
        env.mt(env.dir.path(), ["daemon", "status"])
            .status
            .success()
    );
}

#[test]
fn daemon_down_then_up_imports_and_empties_the_spool() {
    let env = Env::new();
    let out = env
        .mt_cmd(env.dir.path(), ["exec", "sh", "-c", "exit 7"])
        .env("MT_NO_AUTOSTART", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert!(env.spool().join("exec.log").exists());
    env.start_daemon();
    wait_for("the spool to drain", || {
        (!env.spool().join("exec.log").exists()).then_some(())
    });
    let log = env.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["exit_code"], 7);
}

/// `mt exec` keeps the shared spool file open between its start and end
/// records; the daemon drains and removes that file while the command runs,
/// and the end record still lands (in the new file), never in the removed one.
#[test]
fn a_run_outlives_the_spool_file_it_started_in() {
    let env = Env::new();
    env.start_daemon();
    let go = env.path("go");
    let script = format!(
        "while [ ! -e {} ]; do sleep 0.01; done; exit 3",
        go.display()
    );
    let mut run = env
        .mt_cmd(env.dir.path(), ["exec", "sh", "-c", &script])
        .spawn()
        .unwrap();
    wait_for("the start record drained and its file removed", || {
        let log = env.log();
        let running = log.len() == 1 && log[0]["state"] == "running";
        (running && !env.spool().join("exec.log").exists()).then_some(())
    });
    fs::write(&go, "").unwrap();
    assert_eq!(run.wait().unwrap().code(), Some(3));
    let log = wait_for("the end record", || {
        let log = env.log();
        (log.len() == 1 && log[0]["state"] == "done").then_some(log)
    });
    assert_eq!(log[0]["exit_code"], 3);
}

#[test]
fn finished_command_is_visible_at_once_with_the_daemon_running() {
    let env = Env::new();
    env.start_daemon();
    for i in 0..20 {
        env.ok(env.dir.path(), ["exec", "true"]);
        assert_eq!(env.log().len(), i + 1);
    }
}

#[test]
fn killed_wrapper_leaves_an_unfinished_command() {
    let env = Env::new();
    env.start_daemon();
    // In a group of its own, so the orphaned `sleep` is killed at the end.
    let mut group =
        crate::harness::Group::spawn(&mut env.mt_cmd(env.dir.path(), ["exec", "sleep", "60"]));
    let child = &mut group.0;
    wait_for("the command to show as running", || {
        env.log()
            .first()
            .filter(|e| e["state"] == "running")
            .map(|_| ())
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // The daemon notices the wrapper's exit by itself (pidfd, no polling).
    let db = env.db();
    wait_for("the daemon to close it", || {
        let c = rusqlite::Connection::open(&db).ok()?;
        let state: String = c
            .query_row("SELECT state FROM events", [], |r| r.get(0))
            .ok()?;
        (state == "unfinished").then_some(())
    });
}

#[test]
fn stop_and_status() {
    let env = Env::new();
    let out = env.mt(env.dir.path(), ["daemon", "status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("not running"));
    let pid = env.start_daemon();
    assert!(
        env.ok(env.dir.path(), ["daemon", "stop"])
            .contains(&format!("pid {pid}"))
    );
    wait_for("the daemon to exit", || {
        env.daemons().is_empty().then_some(())
    });
    assert!(!env.socket().exists(), "the socket is removed on exit");
}

/// A daemon a shell starts keeps none of the shell's descriptors: a prompt
/// theme's saved copy of the terminal kept open by a long-lived daemon
/// would hold the terminal after the shell exits.
#[test]
fn a_daemon_started_from_a_shell_keeps_none_of_its_descriptors() {
    let env = Env::new();
    let marker = env.path("held-by-the-shell");
    let script = format!(
        "exec 9>'{}'; exec 10>&9; '{MT}' daemon start",
        marker.display()
    );
    let mut cmd = std::process::Command::new("bash");
    let out = env.apply(&mut cmd).args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", crate::harness::err(&out));
    let pid = wait_for("a daemon", || env.daemons().first().copied());
    let held: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        !held.iter().any(|p| p.contains("held-by-the-shell")),
        "the daemon holds the shell's descriptor: {held:?}"
    );
}

/// Two builds of one version: a daemon of the other build (here the same
/// binaries with another build id written in) is replaced by the next
/// command that reads the store, and no record is lost; `mt --version` and
/// `mt daemon status` tell the builds apart.
#[test]
fn a_daemon_of_another_build_is_replaced_without_losing_a_record() {
    let env = Env::new();
    let ours = text(&env.mt(env.dir.path(), ["--version"]))
        .trim()
        .to_owned();
    let build = ours.rsplit('+').next().unwrap().to_owned();
    assert_eq!(build.len(), 16, "{ours}");
    // The other build: both binaries, another id in place of ours.
    let old = env.path("old");
    fs::create_dir_all(&old).unwrap();
    let bin = std::path::Path::new(MT).parent().unwrap();
    for name in ["mt", "mt-core"] {
        let bytes = fs::read(bin.join(name)).unwrap();
        let patched = replace_all(&bytes, build.as_bytes(), b"0123456789abcdef");
        assert!(patched != bytes, "{name} carries its build id");
        install(&patched, &old.join(name));
    }
    let run_old = |args: &[&str]| {
        let mut cmd = Command::new(old.join("mt"));
        env.apply(&mut cmd)
            .current_dir(env.dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    assert!(text(&run_old(&["--version"])).contains("+0123456789abcdef"));
    assert!(run_old(&["daemon", "start"]).status.success());
    let old_pid = wait_for("the old daemon", || env.daemons().first().copied());
    // A record written while the old build's daemon runs.
    env.ok(env.dir.path(), ["exec", "true"]);
    // Our next reader retires it, and nothing is lost.
    assert_eq!(env.log().len(), 1);
    env.ok(env.dir.path(), ["daemon", "start"]);
    let status = text(&env.mt(env.dir.path(), ["daemon", "status"]));
    assert!(
        status.contains(&build) && !status.contains(&format!("pid {old_pid}")),
        "{status}"
    );
}

/// The same upgrade seen by `mt exec` alone, with no reader: the command
/// after it replaces the old build's daemon (it signed the ingest lock with
/// its build), and the records written meanwhile are all stored.
#[test]
fn the_next_mt_exec_replaces_a_daemon_of_another_build() {
    let env = Env::new();
    let ours = text(&env.mt(env.dir.path(), ["--version"]));
    let build = ours.trim().rsplit('+').next().unwrap().to_owned();
    let old = env.path("old");
    fs::create_dir_all(&old).unwrap();
    let bin = std::path::Path::new(MT).parent().unwrap();
    for name in ["mt", "mt-core"] {
        let bytes = fs::read(bin.join(name)).unwrap();
        let patched = replace_all(&bytes, build.as_bytes(), b"0123456789abcdef");
        install(&patched, &old.join(name));
    }
    let mut start = Command::new(old.join("mt"));
    let started = env
        .apply(&mut start)
        .current_dir(env.dir.path())
        .args(["daemon", "start"]);
    assert!(started.status().unwrap().success());
    let old_pid = wait_for("the old daemon", || env.daemons().first().copied());
    let lock = fs::read_to_string(env.spool().join(".ingest.lock")).unwrap();
    assert!(lock.ends_with("+0123456789abcdef"), "{lock:?}");
    for i in 0..5 {
        env.ok(env.dir.path(), ["exec", "echo", &format!("run {i}")]);
    }
    let new_pid = wait_for("a daemon of this build", || {
        let pids = env.daemons();
        (pids.len() == 1 && pids[0] != old_pid).then(|| pids[0])
    });
    let status = text(&env.mt(env.dir.path(), ["daemon", "status"]));
    assert!(
        status.contains(&build) && status.contains(&format!("pid {new_pid}")),
        "{status}"
    );
    assert_eq!(env.log().len(), 5, "no record lost");
}

/// Put an executable at `to` without this process ever holding it open for
/// writing: a descriptor open here could be inherited by a process another
/// test forks at that moment, and exec would then fail with ETXTBSY. The
/// bytes go to a scratch file nobody executes; `install` (coreutils), a
/// process of its own, writes the executable.
fn install(bytes: &[u8], to: &std::path::Path) {
    let scratch = to.with_extension("bytes");
    fs::write(&scratch, bytes).unwrap();
    let status = Command::new("timeout")
        .args(["30", "install", "-m", "755"])
        .arg(&scratch)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "install {}", to.display());
}

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// A relative `MT_HOME` names the same files for every process: the
/// daemon, which runs in `/`, is given it made absolute, so `mt log` and
/// `mt daemon stop` from the directory it was given in reach that daemon
/// and nothing appears under `/`. A relative `XDG_RUNTIME_DIR` is ignored,
/// as the XDG specification says of every base directory.
#[test]
fn relative_paths_name_the_same_files_for_every_process() {
    let env = Env::new();
    let rel = env.mt_home.strip_prefix(env.dir.path()).unwrap().to_owned();
    let run = |args: &[&str]| {
        (env.mt_cmd(env.dir.path(), args))
            .env("MT_HOME", &rel)
            .output()
            .unwrap()
    };
    assert!(run(&["exec", "true"]).status.success());
    wait_for("the daemon to start with the absolute MT_HOME", || {
        (env.daemons().len() == 1).then_some(())
    });
    let log = text(&run(&["log", "--json"]));
    assert!(log.contains("\"command\":\"true\""), "{log}");
    assert!(!std::path::Path::new("/").join(&rel).exists());
    let stop = run(&["daemon", "stop"]);
    assert!(stop.status.success(), "{}", err(&stop));
    wait_for("the daemon to stop", || {
        env.daemons().is_empty().then_some(())
    });

    let doctor = (env.mt_cmd(env.dir.path(), ["doctor"]))
        .env_remove("MT_HOME")
        .env("XDG_RUNTIME_DIR", "relative/run")
        .output()
        .unwrap();
    let doctor = text(&doctor);
    assert!(
        doctor.contains("mt.sock") && !doctor.contains("relative/run"),
        "{doctor}"
    );
}
