//! `mt exec` is transparent (docs/transparency.md, rule by rule):
//! the command and its caller see what they would see without mt.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use crate::harness::{Env, MT, err, text};

/// The same shell line with `env` and with `mt exec` as the wrapper.
fn both(env: &Env, line: &str) -> (std::process::Output, std::process::Output) {
    let dir = env.dir.path();
    let bare = env.sh(dir, &format!("export MT_NO_AUTOSTART=1; W=env; {line}"));
    let wrapped = env.sh(
        dir,
        &format!("export MT_NO_AUTOSTART=1; W=\"$MT exec\"; {line}"),
    );
    (bare, wrapped)
}

#[test]
fn exit_codes_and_output_are_the_childs() {
    let env = Env::new();
    for code in [0, 1, 2, 126, 127, 255] {
        let out = env.mt(
            env.dir.path(),
            [
                "exec",
                "sh",
                "-c",
                &format!("printf 'out %s' {code}; exit {code}"),
            ],
        );
        assert_eq!(out.status.code(), Some(code));
        assert_eq!(text(&out), format!("out {code}"));
        // The daemon is down and not started yet: still nothing on stderr.
        assert_eq!(err(&out), "");
    }
    assert_eq!(env.log().len(), 6);
}

#[test]
fn death_by_signal_is_reraised() {
    let env = Env::new();
    for (sig, code) in [("SEGV", 139), ("TERM", 143), ("KILL", 137)] {
        let out = env.sh(
            env.dir.path(),
            &format!("cd \"$(mktemp -d)\"; MT_NO_AUTOSTART=1 $MT exec sh -c 'kill -{sig} $$'; echo \"rc=$?\"; ls"),
        );
        let stdout = text(&out);
        assert!(
            stdout.starts_with(&format!("rc={code}\n")),
            "{sig}: {stdout}"
        );
        assert!(!stdout.contains("core"), "mt left a core file: {stdout}");
    }
    let out = env.sh(
        env.dir.path(),
        "MT_NO_AUTOSTART=1 $MT exec yes | head -1; echo \"${PIPESTATUS[*]}\"",
    );
    assert_eq!(text(&out), "y\n141 0\n");
    let signals: Vec<i64> = env
        .log()
        .iter()
        .filter_map(|e| e["signal"].as_i64())
        .collect();
    assert_eq!(signals.len(), 4, "every signal death recorded: {signals:?}");
    assert!(signals.contains(&11) && signals.contains(&9) && signals.contains(&13));
}

#[test]
fn ctrl_c_stops_a_shell_loop() {
    crate::require!("pgrep");
    // What a tty does on Ctrl-C: SIGINT to the whole foreground process group.
    let env = Env::new();
    let mut cmd = Command::new("bash");
    env.apply(&mut cmd)
        .env("MT_NO_AUTOSTART", "1")
        .args([
            "-c",
            &format!("for i in 1 2 3; do {MT} exec sleep 30; echo next; done"),
        ])
        .stdout(std::process::Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn().unwrap();
    let pgid = child.id() as i32;
    // Wait until sleep runs under the wrapper.
    crate::harness::wait_for("sleep to start", || {
        let out = Command::new("pgrep")
            .args(["-g", &pgid.to_string(), "-x", "sleep"])
            .output()
            .ok()?;
        out.status.success().then_some(())
    });
    // SAFETY: signalling the process group this test made.
    unsafe { libc::kill(-pgid, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGINT),
        "the loop must die of SIGINT"
    );
    assert_eq!(text(&out), "", "the loop must not go on");
    let log = env.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["signal"], 2);
}

#[test]
fn term_is_forwarded_and_the_childs_answer_kept() {
    let env = Env::new();
    let marker = env.path("trapped");
    let script = format!(
        "trap 'echo got >{}; exit 3' TERM; touch {}.ready; while :; do sleep 0.01; done",
        marker.display(),
        marker.display()
    );
    let mut child = env
        .mt_cmd(env.dir.path(), ["exec", "--", "bash", "-c", &script])
        .env("MT_NO_AUTOSTART", "1")
        .spawn()
        .unwrap();
    crate::harness::wait_for("the trap to be set", || {
        fs::metadata(format!("{}.ready", marker.display())).ok()
    });
    // SAFETY: signalling the wrapper this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
    assert_eq!(fs::read_to_string(&marker).unwrap(), "got\n");
}

#[test]
fn ignored_signals_and_mask_are_inherited() {
    let env = Env::new();
    let (bare, wrapped) = both(
        &env,
        "trap '' HUP PIPE USR1; $W grep -E '^Sig(Ign|Blk)' /proc/self/status",
    );
    assert_eq!(text(&wrapped), text(&bare));
    assert!(text(&bare).contains("SigIgn"), "{}", text(&bare));
    let (bare, wrapped) = both(&env, "$W grep -E '^Sig(Ign|Blk)' /proc/self/status");
    assert_eq!(text(&wrapped), text(&bare));
}

#[test]
fn cannot_run_codes() {
    let env = Env::new();
    let dir = env.dir.path();
    let plain = env.path("plain.txt");
    fs::write(&plain, "echo hi\n").unwrap();
    let script = env.path("noshebang");
    fs::write(&script, "echo from-sh\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let run = |args: &[&str]| {
        env.mt_cmd(dir, args)
            .env("MT_NO_AUTOSTART", "1")
            .output()
            .unwrap()
    };

    let out = run(&["exec", "/nonexistent"]);
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(err(&out), "mt: /nonexistent: No such file or directory\n");
    assert_eq!(
        run(&["exec", plain.to_str().unwrap()]).status.code(),
        Some(126)
    );
    assert_eq!(
        run(&["exec", dir.to_str().unwrap()]).status.code(),
        Some(126)
    );
    assert_eq!(run(&["exec", "--bogus", "true"]).status.code(), Some(125));
    let out = run(&["exec", script.to_str().unwrap()]);
    assert_eq!(
        (out.status.code(), text(&out).as_str()),
        (Some(0), "from-sh\n")
    );
    let codes: Vec<i64> = env
        .log()
        .iter()
        .filter_map(|e| e["exit_code"].as_i64())
        .collect();
    assert_eq!(
        codes,
        vec![0, 126, 126, 127],
        "failed starts are recorded too"
    );
}

#[test]
fn argv_bytes_reach_child_and_store_exactly() {
    let env = Env::new();
    let args: Vec<&[u8]> = vec![
        b"\xff\xfe",
        b"",
        b"a b",
        b"tab\there",
        b"new\nline",
        b"back\\slash",
        b"'\"",
    ];
    let mut cmd = env.mt_cmd(env.dir.path(), ["exec", "printf", "%s\\0"]);
    for a in &args {
        cmd.arg(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(a));
    }
    let out = cmd.env("MT_NO_AUTOSTART", "1").output().unwrap();
    let expected: Vec<u8> = args
        .iter()
        .flat_map(|a| a.iter().copied().chain([0]))
        .collect();
    assert_eq!(out.stdout, expected);
    env.log(); // ingest
    let db = rusqlite::Connection::open(env.db()).unwrap();
    let stored: Vec<u8> = db
        .query_row("SELECT argv FROM events", [], |r| r.get(0))
        .unwrap();
    let mut want: Vec<&[u8]> = vec![b"printf", b"%s\\0"];
    want.extend(args.iter().copied());
    assert_eq!(stored, want.join(&0u8));
}

#[test]
fn environment_cwd_umask_limits_unchanged() {
    let env = Env::new();
    let line = "umask 027; ulimit -n 512; cd /tmp; $W sh -c 'umask; ulimit -a; pwd; env -0 | tr \"\\0\" \"\\n\" | grep -v ^_= | sort'";
    let (bare, wrapped) = both(&env, line);
    assert!(bare.status.success());
    assert_eq!(text(&wrapped), text(&bare));
}

#[test]
fn only_stdio_is_inherited() {
    let env = Env::new();
    let (bare, wrapped) = both(&env, "$W ls /proc/self/fd");
    assert!(bare.status.success());
    assert_eq!(
        text(&wrapped),
        text(&bare),
        "mt must pass on no descriptor of its own"
    );
}

#[test]
fn same_process_group_and_tty() {
    crate::require!("script");
    let env = Env::new();
    let out = env.sh(
        env.dir.path(),
        "MT_NO_AUTOSTART=1 $MT exec sh -c 'echo $(ps -o pgid= -p $$) $(ps -o pgid= -p $PPID)'",
    );
    let ids: Vec<&str> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1], "child and wrapper share a process group");
    // Under a real pty (util-linux script): the child sees a terminal.
    let out = env.sh(
        env.dir.path(),
        "MT_NO_AUTOSTART=1 script -qec \"$MT exec sh -c '[ -t 0 ] && [ -t 1 ] && tty >/dev/null && echo TTY'\" /dev/null",
    );
    assert!(text(&out).contains("TTY"), "{} {}", text(&out), err(&out));
}

#[test]
fn rusage_is_the_childs() {
    crate::require!("python3");
    let env = Env::new();
    let dir = env.dir.path();
    let run = |args: &[&str]| {
        assert!(
            env.mt_cmd(dir, args)
                .env("MT_NO_AUTOSTART", "1")
                .status()
                .unwrap()
                .success()
        );
    };
    run(&["exec", "true"]);
    run(&[
        "exec",
        "python3",
        "-c",
        "x = bytearray(100 << 20); x[::4096] = b'1' * len(x[::4096])",
    ]);
    run(&[
        "exec",
        "sh",
        "-c",
        "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done",
    ]);
    let log = env.log();
    let rss = |i: usize| log[i]["max_rss_kib"].as_i64().unwrap();
    assert!(rss(2) < 3 * 1024, "true: {} KiB", rss(2));
    assert!(
        (100 * 1024..125 * 1024).contains(&rss(1)),
        "100 MiB toucher: {} KiB",
        rss(1)
    );
    assert!(
        log[0]["user_ms"].as_f64().unwrap() > 0.0,
        "CPU-bound loop has user time"
    );
}

#[test]
fn disabled_records_nothing_and_still_runs() {
    let env = Env::new();
    let out = env
        .mt_cmd(env.dir.path(), ["exec", "sh", "-c", "echo hi; exit 4"])
        .env("MT_DISABLE", "1")
        .output()
        .unwrap();
    assert_eq!((out.status.code(), text(&out).as_str()), (Some(4), "hi\n"));
    assert!(env.log().is_empty());
    assert!(env.daemons().is_empty());
}

#[test]
fn unwritable_spool_costs_one_warning_line() {
    let env = Env::new();
    fs::create_dir_all(env.mt_home.join("state")).unwrap();
    // A file where the spool dir should be: nothing can be recorded.
    fs::write(env.spool(), "").unwrap();
    let out = env
        .mt_cmd(
            env.dir.path(),
            ["exec", "sh", "-c", "echo out; echo err >&2; exit 5"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(text(&out), "out\n");
    let stderr = err(&out);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines.contains(&"err"), "{stderr}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("mt: warning: this run was not recorded")),
        "{stderr}"
    );
}

/// A closed stdin, stdout or stderr stays closed for the command, as it is
/// for the bare command (the runtime's /dev/null stand-ins are not passed on).
#[test]
fn closed_standard_descriptors_stay_closed() {
    let env = Env::new();
    for (run, redirect) in [
        ("cat", "<&-"),
        ("/bin/echo hi", ">&-"),
        ("sh -c 'echo x >&2 && echo wrote'", "2>&-"),
    ] {
        let outcome = |prefix: &str| {
            let out = env.sh(
                env.dir.path(),
                &format!(
                    "exec 9>&1; MT_NO_AUTOSTART=1 {prefix}{run} {redirect}; echo \"status $?\" >&9"
                ),
            );
            (text(&out), crate::harness::err(&out))
        };
        let bare = outcome("");
        assert_ne!(
            bare.0, "status 0\n",
            "{run} {redirect}: the bare command must fail"
        );
        assert_eq!(outcome("$MT exec "), bare, "{run} {redirect}");
    }
}

/// SIGINT or SIGQUIT sent to mt's pid by a program (not by the terminal)
/// ends the command at once, as it ends the bare command.
#[test]
fn interrupt_sent_by_a_process_reaches_the_command() {
    let env = Env::new();
    for sig in [libc::SIGINT, libc::SIGQUIT] {
        let started = env.path(&format!("started-{sig}"));
        let script = format!("touch {}; exec sleep 30", started.display());
        let mut child = env
            .mt_cmd(env.dir.path(), ["exec", "--", "sh", "-c", &script])
            .env("MT_NO_AUTOSTART", "1")
            .spawn()
            .unwrap();
        crate::harness::wait_for("the command to start", || fs::metadata(&started).ok());
        let sent = std::time::Instant::now();
        // SAFETY: signalling the wrapper this test started.
        unsafe { libc::kill(child.id() as i32, sig) };
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(sig),
            "mt must die of the signal, as sleep does"
        );
        assert!(sent.elapsed() < std::time::Duration::from_secs(10));
    }
}

/// A child stopped by SIGSTOP stops mt too (the shell's job control sees a
/// stopped job, as with the bare command); continuing mt continues it.
#[test]
fn a_stopped_child_stops_the_wrapper_and_continues_with_it() {
    let env = Env::new();
    let started = env.path("started");
    let script = format!("touch {}; sleep 0.5; echo resumed", started.display());
    let child = env
        .mt_cmd(env.dir.path(), ["exec", "--", "sh", "-c", &script])
        .env("MT_NO_AUTOSTART", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::harness::wait_for("the command to start", || fs::metadata(&started).ok());
    let mt = child.id() as i32;
    let state = |pid: i32| {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit(") ").next().and_then(|s| s.chars().next())
    };
    let sh: i32 = fs::read_to_string(format!("/proc/{mt}/task/{mt}/children"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // SAFETY: signalling the command this test started.
    unsafe { libc::kill(sh, libc::SIGSTOP) };
    crate::harness::wait_for("mt to stop with its child", || {
        (state(mt) == Some('T')).then_some(())
    });
    // SAFETY: continuing the wrapper this test stopped, as `fg`/`bg` would.
    unsafe { libc::kill(mt, libc::SIGCONT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out), "resumed\n");
}
