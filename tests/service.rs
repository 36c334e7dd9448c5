//! Running as a managed service: the systemd units, socket activation,
//! readiness, upgrades, doctor, completions and the man page.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::process::Command;
use std::time::Duration;

use crate::harness::{Env, MT, err, text, wait_for};

fn verify(dir: &std::path::Path, units: &[&str]) -> std::process::Output {
    Command::new("systemd-analyze")
        .current_dir(dir)
        .arg("verify")
        .args(units)
        .output()
        .unwrap()
}

#[test]
fn units_pass_systemd_analyze_verify() {
    crate::require!("systemd-analyze");
    let env = Env::new();
    let dir = env.path("units");
    fs::create_dir_all(&dir).unwrap();
    for unit in ["mt.socket", "mt.service", "mt.path"] {
        let text = fs::read_to_string(format!("systemd/{unit}")).unwrap();
        // The unit names ~/.cargo/bin/mt; verify needs a binary that exists.
        fs::write(dir.join(unit), text.replace("%h/.cargo/bin/mt", MT)).unwrap();
    }
    let out = verify(&dir, &["./mt.socket", "./mt.service", "./mt.path"]);
    assert!(out.status.success(), "{}", err(&out));
    let service = fs::read_to_string("systemd/mt.service").unwrap();
    assert!(
        service.contains("Type=notify")
            && service.contains("ExecStart=%h/.cargo/bin/mt daemon run")
    );
    let socket = fs::read_to_string("systemd/mt.socket").unwrap();
    for line in [
        "ListenStream=%t/mt/mt.sock",
        "SocketMode=0600",
        "DirectoryMode=0700",
    ] {
        assert!(socket.contains(line), "{line}");
    }
    // The check is real: a broken unit fails it.
    fs::write(
        dir.join("bad.service"),
        "[Service]\nType=notify\nExecStart=relative/path\n",
    )
    .unwrap();
    assert!(!verify(&dir, &["./bad.service"]).status.success());
}

#[test]
fn init_systemd_writes_units_that_run_this_binary() {
    crate::require!("systemd-analyze");
    let env = Env::new();
    let out = env.mt(env.dir.path(), ["init", "systemd"]);
    assert!(out.status.success(), "{}", err(&out));
    assert!(
        text(&out).contains("systemctl --user enable --now mt.socket mt.path"),
        "{}",
        text(&out)
    );
    let dir = env.home.join(".config/systemd/user");
    let service = fs::read_to_string(dir.join("mt.service")).unwrap();
    let real = fs::canonicalize(MT).unwrap();
    assert!(
        service.contains(&format!("ExecStart={} daemon run", real.display())),
        "{service}"
    );
    // --print shows exactly what was written.
    let printed = env.ok(env.dir.path(), ["init", "systemd", "--print"]);
    assert!(printed.contains(&service), "{printed}");
    let out = verify(&dir, &["./mt.socket", "./mt.service", "./mt.path"]);
    assert!(out.status.success(), "{}", err(&out));
    // Doctor agrees with a unit that runs this mt...
    let doctor = text(&env.mt(env.dir.path(), ["doctor"]));
    assert!(
        doctor.contains(&format!(
            "ok   systemd unit {}",
            dir.join("mt.service").display()
        )),
        "{doctor}"
    );
    // ...and names the fix for one whose binary is gone.
    fs::write(
        dir.join("mt.service"),
        service.replace(&real.display().to_string(), "/nonexistent/bin/mt"),
    )
    .unwrap();
    let out = env.mt(env.dir.path(), ["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let line = text(&out)
        .lines()
        .find(|l| l.contains("/nonexistent/bin/mt"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("doctor did not name the missing binary:\n{}", text(&out)));
    assert!(
        line.starts_with("FAIL") && line.contains("missing") && line.contains("mt init systemd"),
        "{line}"
    );
}

/// Only run by `missing_programs_skip_or_fail_under_strict`, which sets
/// MT_TEST_PROBE: a test that needs a program that does not exist.
#[test]
fn probe_needs_a_missing_program() {
    if std::env::var_os("MT_TEST_PROBE").is_none() {
        return;
    }
    crate::require!("git", "mt-test-no-such-program", "mt-test-nor-this");
    panic!("a missing program must stop the test before this line");
}

#[test]
fn missing_programs_skip_or_fail_under_strict() {
    let me = std::env::current_exe().unwrap();
    let run = |strict: &str| {
        Command::new(&me)
            .args(["--exact", "service::probe_needs_a_missing_program"])
            .env("MT_TEST_PROBE", "1")
            .env("MT_TEST_STRICT", strict)
            .output()
            .unwrap()
    };
    // Every missing program is named, not only the first.
    let sentence = "service::probe_needs_a_missing_program — mt-test-no-such-program not installed (install it); mt-test-nor-this not installed (install it)";
    let lenient = run("");
    assert!(lenient.status.success(), "{}", text(&lenient));
    let said = err(&lenient);
    assert!(said.contains(&format!("skipped: {sentence}")), "{said}");
    assert!(
        said.contains(
            "skipped 1 test(s) for what this machine lacks: 1 × mt-test-no-such-program not installed (install it); mt-test-nor-this not installed"
        ),
        "{said}"
    );
    let strict = run("1");
    assert!(!strict.status.success(), "strict mode must fail the test");
    let said = format!("{}{}", text(&strict), err(&strict));
    assert!(
        said.contains(
            "service::probe_needs_a_missing_program needs mt-test-no-such-program not installed"
        ) && said.contains("MT_TEST_STRICT is set"),
        "{said}"
    );
}

#[test]
fn socket_activation_records_and_leaves_the_socket() {
    crate::require!("systemd-socket-activate");
    let env = Env::new();
    let run = env.mt_home.join("run");
    fs::create_dir_all(&run).unwrap();
    fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let socket = env.socket();
    let mut cmd = Command::new("systemd-socket-activate");
    // systemd-socket-activate passes no environment but what -E names.
    let home = format!("MT_HOME={}", env.mt_home.display());
    env.apply(&mut cmd)
        .arg("-l")
        .arg(&socket)
        .args(["-E", &home, MT, "daemon", "run"]);
    let mut activator = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the socket", || socket.exists().then_some(()));
    // The first connection (mt exec's probe) starts the daemon on fd 3.
    env.ok(env.dir.path(), ["exec", "true"]);
    let status = wait_for("the daemon", || {
        let out = env.mt(env.dir.path(), ["daemon", "status"]);
        out.status.success().then(|| text(&out))
    });
    assert!(status.contains("managed by systemd"), "{status}");
    assert_eq!(env.log().len(), 1);
    env.ok(env.dir.path(), ["daemon", "stop"]);
    assert!(socket.exists(), "a socket systemd made is never unlinked");
    let _ = activator.kill();
    activator.wait().unwrap();
}

#[test]
fn notify_socket_gets_ready_and_a_wrong_listen_pid_is_ignored() {
    let env = Env::new();
    let notify = env.path("notify.sock");
    let sock = UnixDatagram::bind(&notify).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut daemon = env
        .mt_cmd(env.dir.path(), ["daemon", "run"])
        .env("NOTIFY_SOCKET", &notify)
        .env("LISTEN_PID", "1")
        .env("LISTEN_FDS", "1")
        .spawn()
        .unwrap();
    let mut buf = [0u8; 64];
    let n = sock.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1\n");
    // LISTEN_PID was not ours: it bound its own socket, which answers.
    assert!(
        env.mt(env.dir.path(), ["daemon", "status"])
            .status
            .success()
    );
    env.ok(env.dir.path(), ["daemon", "stop"]);
    daemon.wait().unwrap();
}

#[test]
fn a_daemon_of_another_version_is_replaced_without_losing_records() {
    let env = Env::new();
    // An "old mt" daemon: answers every request as version 0.0.1, stops on `stop`.
    let run = env.mt_home.join("run");
    fs::create_dir_all(&run).unwrap();
    fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let listener = UnixListener::bind(env.socket()).unwrap();
    let socket = env.socket();
    let old = std::thread::spawn(move || {
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            let mut verb = String::new();
            // `mt exec` only connects to see that something listens.
            if BufReader::new(&conn).read_line(&mut verb).unwrap_or(0) == 0 {
                continue;
            }
            let stop = verb.trim() == "stop";
            if stop {
                // Gone before it answers, as a real daemon's socket is.
                fs::remove_file(&socket).unwrap();
            }
            // A pid no process can have: it has "exited" once it answered stop.
            let _ = conn.write_all(b"{\"ok\":true,\"pid\":999999999,\"version\":\"0.0.1\"}\n");
            if stop {
                return;
            }
        }
    });
    // Recorded while the old daemon "runs" (it ingests nothing).
    env.ok(env.dir.path(), ["exec", "sh", "-c", "exit 0"]);
    let out = env.ok(env.dir.path(), ["daemon", "start"]);
    assert!(
        out.contains("stopped mt daemon 0.0.1 (pid 999999999)"),
        "{out}"
    );
    old.join().unwrap();
    let log = env.log();
    assert_eq!(log.len(), 1, "the record written meanwhile is kept");
    assert!(
        text(&env.mt(env.dir.path(), ["daemon", "status"])).contains(env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn doctor_names_each_fault_and_passes_a_good_setup() {
    let env = Env::new();
    let repo = env.repo("app");
    // Broken: no hook in this shell, no daemon, a bad repo config; and no
    // post-merge hook (a warning).
    fs::write(
        repo.join(".mt.toml"),
        "[[rules]]\nmatch = 'x'\nphase = 'testing'\n",
    )
    .unwrap();
    let out = env.mt(&repo, ["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out);
    // The same checks as data: one JSON object each, the same verdicts.
    let json = env.mt(&repo, ["doctor", "--json"]);
    assert_eq!(json.status.code(), Some(1));
    let checks: Vec<serde_json::Value> = text(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let failing = checks.iter().filter(|c| c["ok"] == false).count();
    assert_eq!(
        failing,
        report.lines().filter(|l| l.starts_with("FAIL")).count()
    );
    assert!(checks.iter().all(|c| c["what"].is_string()));
    for fault in [
        "FAIL no mt hook in this shell",
        "FAIL no daemon answers",
        // The file, the line and the key of the fault.
        ":3: rules.phase: \"testing\" is not one of diagnosis,",
        // A repository without mt's git hooks is worth a warning, no more:
        // it may be one the user never meant to track.
        "warn no mt post-merge and post-rewrite hook",
    ] {
        assert!(report.contains(fault), "missing {fault:?} in:\n{report}");
    }
    // Fixed, one by one.
    fs::remove_file(repo.join(".mt.toml")).unwrap();
    env.ok(&repo, ["init", "git"]);
    env.start_daemon();
    let out = env
        .mt_cmd(&repo, ["doctor"])
        // A session of the process that starts mt: its own hook's.
        .env("MT_SESSION", format!("{}-456", std::process::id()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("Everything mt needs is in place."));
}

#[test]
fn completions_and_man_page_come_from_the_cli() {
    crate::require!("zsh", "fish");
    let env = Env::new();
    for (shell, check) in [
        ("bash", vec!["bash", "-n"]),
        ("zsh", vec!["zsh", "-n"]),
        ("fish", vec!["fish", "--no-execute"]),
    ] {
        let script = env.ok(env.dir.path(), ["completions", shell]);
        assert!(
            script.contains("close") && script.contains("exec"),
            "{shell}"
        );
        let path = env.path(&format!("mt.{shell}"));
        fs::write(&path, &script).unwrap();
        let out = Command::new(check[0])
            .args(&check[1..])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", err(&out));
    }
    let man = env.ok(env.dir.path(), ["man"]);
    assert!(
        man.starts_with(".ie") || man.starts_with(".TH"),
        "{}",
        &man[..40]
    );
    assert!(man.contains("mt"));
}
