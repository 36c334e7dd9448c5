//! Spool robustness: malformed and cut-off lines are set aside and counted,
//! nothing after them is lost, nothing is stored twice, no secret is stored.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::harness::{Env, text, wait_for};

/// A valid hook record as a shell hook writes it (docs/spool-format.md).
pub(crate) fn hook_record(sid: &str, t_us: i64, cwd: &Path, cmd: &str, exit: i32) -> String {
    format!(
        "mt1\tH\tid={sid}:{t_us}\tsid={sid}\tt={t_us}\tdur=1000\texit={exit}\tcwd={}\tcmd={cmd}\t.\n",
        cwd.display()
    )
}

/// The spool file `name`, opened to append (the spool made if need be).
pub(crate) fn spool_file(env: &Env, name: &str) -> fs::File {
    fs::create_dir_all(env.spool()).unwrap();
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(env.spool().join(name))
        .unwrap()
}

fn set_aside(env: &Env) -> Vec<(String, String)> {
    let db = rusqlite::Connection::open(env.db()).unwrap();
    let mut stmt = db
        .prepare("SELECT file, reason FROM set_aside ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn garbage_and_cut_lines_are_set_aside_and_the_rest_stored() {
    let env = Env::new();
    let dir = env.dir.path();
    // Written by a process that has exited (pid 1 never writes spools, but
    // a pid that does not exist is what a dead shell leaves).
    let name = "h-999999999-1.log";
    let mut f = spool_file(&env, name);
    let t = 1_700_000_000_000_000;
    f.write_all(hook_record("s1", t, dir, "echo one", 0).as_bytes())
        .unwrap();
    f.write_all(b"\x00\xffthis is not a record\n").unwrap();
    f.write_all(hook_record("s1", t + 10, dir, "echo two", 1).as_bytes())
        .unwrap();
    f.write_all(b"mt9\tH\tfrom the future\t.\n").unwrap();
    f.write_all(hook_record("s1", t + 20, dir, "echo three", 0).as_bytes())
        .unwrap();
    f.write_all(b"mt1\tH\tid=s1:5\tsid=s1\tt=5\tcmd=echo cut off mid-")
        .unwrap();
    drop(f);
    let log = env.log();
    let cmds: Vec<&str> = log.iter().map(|e| e["command"].as_str().unwrap()).collect();
    assert_eq!(cmds, vec!["echo three", "echo two", "echo one"]);
    let aside = set_aside(&env);
    let reasons: Vec<&str> = aside.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            "not an mt record",
            "record version not supported by this mt",
            "record cut off before its end"
        ]
    );
    assert!(
        !env.spool().join(name).exists(),
        "a drained file of a dead writer is removed"
    );
    assert!(text(&env.mt(dir, ["doctor"])).contains("3 malformed spool lines set aside"));
    // Reading again stores nothing twice.
    assert_eq!(env.log().len(), 3);
}

/// A writer cut off mid-record (a full disk, a kill) leaves no LF, so the
/// next record lands on the same line: it is stored, only the cut part is
/// set aside.
#[test]
fn a_record_written_after_a_cut_one_is_not_swallowed() {
    let env = Env::new();
    let dir = env.dir.path();
    let mut f = spool_file(&env, "h-999999997-1.log");
    let t = 1_700_000_000_000_000;
    let cut = hook_record("s3", t, dir, "echo cut", 0);
    f.write_all(&cut.as_bytes()[..cut.len() / 2]).unwrap();
    f.write_all(hook_record("s3", t + 10, dir, "echo after", 0).as_bytes())
        .unwrap();
    let cut = hook_record("s3", t + 20, dir, "echo cut again", 0);
    f.write_all(&cut.as_bytes()[..cut.len() - 3]).unwrap();
    f.write_all(hook_record("s3", t + 30, dir, "echo last", 0).as_bytes())
        .unwrap();
    drop(f);
    let log = env.log();
    let cmds: Vec<&str> = log.iter().map(|e| e["command"].as_str().unwrap()).collect();
    assert_eq!(cmds, vec!["echo last", "echo after"]);
    let aside = set_aside(&env);
    let reasons: Vec<&str> = aside.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(reasons, vec!["record cut off before its end"; 2]);
}

/// A live shell's spool file keeps its lines for the shell's life; once a
/// line is stored masked, or ignored, its command text there is
/// overwritten, and the record `mt doctor` looks for (`t=`) stays.
#[test]
fn a_masked_or_ignored_line_leaves_the_live_spool_once_stored() {
    let env = Env::new();
    let dir = env.dir.path();
    fs::create_dir_all(env.mt_home.join("config")).unwrap();
    fs::write(
        env.mt_home.join("config/config.toml"),
        "ignore = ['^vpn-connect ']\n",
    )
    .unwrap();
    let name = format!("h-{}-1.log", std::process::id());
    let mut f = spool_file(&env, &name);
    let t = 1_700_000_000_000_000;
    for (i, cmd) in ["mysql -phunter2 db", "vpn-connect s3cr3tvpn", "echo plain"]
        .iter()
        .enumerate()
    {
        f.write_all(hook_record("s4", t + i as i64, dir, cmd, 0).as_bytes())
            .unwrap();
    }
    let commands: Vec<String> = env
        .log()
        .iter()
        .map(|e| e["command"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(commands, ["echo plain", "mysql -p[REDACTED] db"]);
    let spool = String::from_utf8(fs::read(env.spool().join(&name)).unwrap()).unwrap();
    assert!(
        !spool.contains("hunter2") && !spool.contains("s3cr3tvpn"),
        "{spool}"
    );
    assert!(
        spool.contains("cmd=echo plain"),
        "plain lines stay: {spool}"
    );
    assert!(spool.contains(&format!("\tt={t}\t")), "{spool}");
    // The shell appends on: nothing of the next line is lost.
    f.write_all(hook_record("s4", t + 5, dir, "echo next", 0).as_bytes())
        .unwrap();
    assert_eq!(env.log().len(), 3);
}

#[test]
fn a_cut_line_waits_while_its_writer_lives() {
    let env = Env::new();
    let dir = env.dir.path();
    let me = std::process::id();
    let name = format!("h-{me}-1.log");
    let mut f = spool_file(&env, &name);
    let line = hook_record("s2", 1_700_000_000_000_000, dir, "make all", 0);
    let (head, tail) = line.split_at(20);
    f.write_all(head.as_bytes()).unwrap();
    assert!(env.log().is_empty());
    assert!(
        set_aside(&env).is_empty(),
        "a live writer may still finish the line"
    );
    f.write_all(tail.as_bytes()).unwrap();
    assert_eq!(env.log().len(), 1);
    assert!(
        env.spool().join(&name).exists(),
        "a live writer's file stays"
    );
}

#[test]
fn oversized_records_are_set_aside() {
    let env = Env::new();
    let mut f = spool_file(&env, "h-999999998-1.log");
    let mut big = b"mt1\tH\tcmd=".to_vec();
    big.resize(5 << 20, b'x');
    big.extend_from_slice(b"\t.\n");
    f.write_all(&big).unwrap();
    f.write_all(hook_record("s3", 1_700_000_000_000_000, env.dir.path(), "after", 0).as_bytes())
        .unwrap();
    drop(f);
    let log = env.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["command"], "after");
    assert_eq!(set_aside(&env)[0].1, "record longer than the 4 MiB limit");
}

#[test]
fn no_secret_reaches_the_data_dir() {
    let env = Env::new();
    env.start_daemon();
    let token = "ghp_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0Ed";
    env.ok(env.dir.path(), ["exec", "echo", token]);
    env.ok(
        env.dir.path(),
        ["exec", "sh", "-c", &format!("GITHUB_TOKEN={token} true")],
    );
    let log = env.log();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|e| e["command"].as_str().unwrap().contains("[REDACTED]"))
    );
    env.ok(env.dir.path(), ["daemon", "stop"]);
    for entry in fs::read_dir(env.mt_home.join("data")).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "token found in the data dir"
        );
    }
}

/// Every password form people type, through both ways in (exact argv from
/// `mt exec`, typed text from a hook record): none reaches the database,
/// its WAL, `mt log` or the milestone a team commits.
#[test]
fn no_password_form_reaches_the_store_or_a_milestone() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-q", "-c", "fix/7-login"]);
    let lines = [
        "mysql -uroot -pSekr1tA db",
        "curl -u bob:Sekr1tB https://example.invalid",
        "sshpass -p Sekr1tC ssh host",
        "docker login -u bob -p Sekr1tD reg.invalid",
        "redis-cli -a Sekr1tE ping",
        "curl -H 'X-Api-Key: Sekr1tF' -H 'Cookie: s=Sekr1tG' https://x.invalid",
        "openssl enc -pass pass:Sekr1tH -in f",
        "tool --password='Sekr1tI with spaces'",
        "git clone https://Sekr1tJtokentokentoken@host.invalid/r",
    ];
    let fake = env.path("fakebin");
    fs::create_dir_all(&fake).unwrap();
    for prog in [
        "mysql",
        "curl",
        "sshpass",
        "docker",
        "redis-cli",
        "openssl",
        "tool",
        "git",
    ] {
        let path = fake.join(prog);
        fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    for (i, line) in lines.iter().enumerate() {
        // Typed at a prompt (the hook's path)...
        env.mt_cmd(
            &repo,
            ["hook-record", "--sid", "s1", "--pid", "1", "--exit", "0"],
        )
        .args(["--pipestatus", "0", "--duration-ms", "5", "--cwd"])
        .arg(&repo)
        .args(["--", line])
        .env("MT_NO_AUTOSTART", "1")
        .status()
        .unwrap();
        // ...and through the wrapper as exact argv, bash splitting the line;
        // each program is a stand-in of that name, so nothing connects.
        let out = env.sh(
            &repo,
            &format!(
                "PATH={}:$PATH MT_NO_AUTOSTART=1 $MT exec {line}",
                fake.display()
            ),
        );
        assert!(
            out.status.success(),
            "line {i}: {}",
            crate::harness::err(&out)
        );
    }
    let log = env.ok(&repo, ["log"]);
    assert!(!log.contains("Sekr1t"), "mt log shows a secret:\n{log}");
    env.git(&repo, &["switch", "-q", "main"]);
    env.git(&repo, &["merge", "-q", "--no-ff", "-m", "m", "fix/7-login"]);
    env.ok(&repo, ["close", "fix/7-login"]);
    let mut files: Vec<std::path::PathBuf> = fs::read_dir(env.mt_home.join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mut dirs = vec![repo.join("milestones")];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|x| x == "md"))
    );
    for f in files {
        let bytes = fs::read(&f).unwrap();
        assert!(
            !bytes.windows(6).any(|w| w == b"Sekr1t"),
            "a secret reached {}",
            f.display()
        );
    }
}

#[test]
fn ignore_patterns_from_config_drop_commands() {
    let env = Env::new();
    fs::create_dir_all(env.mt_home.join("config")).unwrap();
    fs::write(
        env.mt_home.join("config/config.toml"),
        "ignore = ['^echo secret-project']\n",
    )
    .unwrap();
    env.mt_cmd(env.dir.path(), ["exec", "echo", "secret-project"])
        .env("MT_NO_AUTOSTART", "1")
        .status()
        .unwrap();
    env.mt_cmd(env.dir.path(), ["exec", "echo", "kept"])
        .env("MT_NO_AUTOSTART", "1")
        .status()
        .unwrap();
    let log = env.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["command"], "echo kept");
}

#[test]
fn bad_config_is_named_with_its_line_and_recording_goes_on() {
    let env = Env::new();
    fs::create_dir_all(env.mt_home.join("config")).unwrap();
    fs::write(
        env.mt_home.join("config/config.toml"),
        "ignore = []\nbogus_key = 1\n",
    )
    .unwrap();
    let out = env.mt(env.dir.path(), ["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("config.toml:2: unknown field `bogus_key`"),
        "{}",
        text(&out)
    );
    env.mt_cmd(env.dir.path(), ["exec", "true"])
        .env("MT_NO_AUTOSTART", "1")
        .status()
        .unwrap();
    assert_eq!(env.log().len(), 1);
}

#[test]
fn sigkill_during_ingest_loses_and_duplicates_nothing() {
    let env = Env::new();
    let dir = env.dir.path();
    let n: i64 = 10_000;
    let mut f = spool_file(&env, "h-999999997-1.log");
    let mut buf = String::new();
    for i in 0..n {
        buf.push_str(&hook_record(
            "k",
            1_700_000_000_000_000 + i,
            dir,
            &format!("cmd {i}"),
            0,
        ));
    }
    f.write_all(buf.as_bytes()).unwrap();
    drop(f);
    // Kill the daemon a few times at whatever point it has reached.
    for _ in 0..3 {
        let mut child = env.mt_cmd(dir, ["daemon", "run"]).spawn().unwrap();
        wait_for("the daemon to take the lock", || {
            env.daemons().first().copied()
        });
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let log = env.log();
    assert_eq!(log.len() as i64, n);
    let mut ids: Vec<&str> = log.iter().map(|e| e["command"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as i64, n, "every record exactly once");
}

#[test]
fn a_store_of_the_previous_schema_opens_and_migrates() {
    let env = Env::new();
    fs::create_dir_all(env.db().parent().unwrap()).unwrap();
    {
        let db = rusqlite::Connection::open(env.db()).unwrap();
        db.execute_batch(include_str!("../src/store/migrations/0001_init.sql"))
            .unwrap();
        db.pragma_update(None, "user_version", 1).unwrap();
        db.execute(
            "INSERT INTO events (uid, source, kind, command, cwd, start_us, end_us, exit_code, state)
             VALUES ('old', 'exec', 'command', 'make old', '/', 1700000000000000, 1700000001000000, 0, 'done')",
            [],
        )
        .unwrap();
    }
    let log = env.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["command"], "make old");
    let db = rusqlite::Connection::open(env.db()).unwrap();
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 13, "every migration applied");
    let filings: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'filings'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(filings, 1, "migration 7's table is there");
    let ladder_key: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM pragma_table_info('status_checkpoints') WHERE pk > 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        ladder_key, 3,
        "migration 8 keys checkpoints by repo, branch and time"
    );
    // A database from a newer mt is refused, not damaged.
    db.pragma_update(None, "user_version", 99).unwrap();
    let out = env.mt(env.dir.path(), ["log"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        crate::harness::err(&out).contains("newer than this mt knows"),
        "{}",
        crate::harness::err(&out)
    );
}

/// A command holding terminal escapes (title, clipboard, clear screen, a
/// fake log line) is shown escaped by `mt log` and in a milestone; the JSON
/// keeps its exact bytes.
#[test]
fn recorded_escapes_never_reach_the_terminal_raw() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-q", "-c", "fix/9-esc"]);
    let evil =
        "\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x1b[2J\r\n2026-01-01 fake line \u{202e}txt.exe";
    let out = env
        .mt_cmd(&repo, ["exec", "true", evil])
        .env("MT_NO_AUTOSTART", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = env.mt(&repo, ["log"]).stdout;
    assert!(!log.contains(&0x1b) && !log.contains(&b'\r'), "{log:?}");
    assert!(!String::from_utf8_lossy(&log).contains('\u{202e}'));
    let shown = String::from_utf8_lossy(&log).into_owned();
    assert!(
        // The header and one line: the escaped newline broke none.
        shown.contains("\\e]52;c;ZXZpbA==\\x07") && shown.lines().count() == 2,
        "{shown}"
    );
    let json: serde_json::Value =
        serde_json::from_str(env.ok(&repo, ["log", "--json"]).lines().next().unwrap()).unwrap();
    use base64::Engine;
    let exact = base64::engine::general_purpose::STANDARD
        .decode(json["argv_b64"].as_str().unwrap())
        .unwrap();
    assert_eq!(exact, [b"true".as_slice(), b"\0", evil.as_bytes()].concat());
    env.git(&repo, &["switch", "-q", "main"]);
    env.git(&repo, &["merge", "-q", "--no-ff", "-m", "m", "fix/9-esc"]);
    let out = env.mt(&repo, ["close", "fix/9-esc"]);
    assert!(out.status.success() && !out.stdout.contains(&0x1b));
    let dir = repo.join("milestones");
    let month = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir() && e.file_name() != "templates")
        .unwrap();
    for f in fs::read_dir(month.path()).unwrap().flatten() {
        let bytes = fs::read(f.path()).unwrap();
        assert!(
            !bytes.contains(&0x1b) && !bytes.contains(&b'\r'),
            "{}",
            f.path().display()
        );
    }
}

/// `mt forget` deletes matching commands and `--reapply` masks what was
/// stored before a `redact` rule existed: the old bytes leave the database
/// and its WAL.
#[test]
fn forget_and_reapply_remove_the_bytes_from_the_files() {
    let env = Env::new();
    env.start_daemon();
    env.ok(
        env.dir.path(),
        ["exec", "echo", "corp_AAAABBBBCCCCDDDDEEEE"],
    );
    env.ok(env.dir.path(), ["exec", "echo", "deploy-target-zebra"]);
    env.ok(env.dir.path(), ["exec", "true"]);
    // Masked at ingest already: `--reapply` must leave it as it is.
    env.ok(
        env.dir.path(),
        ["exec", "echo", "https://alice:hunter2@example.com/r?x=1"],
    );
    let has = |needle: &str| {
        fs::read_dir(env.mt_home.join("data"))
            .unwrap()
            .flatten()
            .any(|e| {
                fs::read(e.path())
                    .unwrap()
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes())
            })
    };
    // `mt log` flushes through the daemon: all are stored now.
    assert_eq!(env.log().len(), 4);
    let url = env.log()[0]["command"].as_str().unwrap().to_owned();
    assert!(
        !url.contains("hunter2") && url.contains("example.com/r?x=1"),
        "{url}"
    );
    assert!(has("corp_AAAABBBBCCCCDDDDEEEE") && has("deploy-target-zebra"));
    fs::create_dir_all(env.mt_home.join("config")).unwrap();
    fs::write(
        env.mt_home.join("config/config.toml"),
        "redact = ['corp_[A-Z]{20}']\n",
    )
    .unwrap();
    let out = env.ok(env.dir.path(), ["forget", "--reapply"]);
    assert!(out.contains("1 stored command changed"), "{out}");
    let out = env.ok(env.dir.path(), ["forget", "zebra"]);
    assert!(out.contains("forgot 1"), "{out}");
    let commands: Vec<String> = env
        .log()
        .iter()
        .map(|e| e["command"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(commands, [url.as_str(), "true", "echo [REDACTED]"]);
    assert!(
        !has("corp_AAAABBBBCCCCDDDDEEEE"),
        "the old bytes are still in a file"
    );
    assert!(
        !has("deploy-target-zebra"),
        "the forgotten bytes are still in a file"
    );
    let out = env.mt(env.dir.path(), ["forget", "("]);
    assert_eq!(out.status.code(), Some(1));
    assert!(crate::harness::err(&out).contains("is not a valid regex"));
}

/// A FIFO or a directory named like a spool file jams nothing: commands are
/// recorded and read back at once, the daemon stops, and doctor names both.
#[test]
fn odd_spool_entries_jam_nothing_and_doctor_names_them() {
    let env = Env::new();
    // No daemon yet: one started here could drain and remove exec.log
    // before the test replaces it (a race seen under load).
    env.first_run_without_daemon();
    let spool = env.spool();
    let fifo = spool.join("h-1-jam.log");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    fs::create_dir(spool.join("d-dir.log")).unwrap();
    // The shared file replaced by a FIFO: a long command line is still
    // recorded (in a file of the wrapper's own), nothing waits.
    fs::remove_file(spool.join("exec.log")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(spool.join("exec.log"))
        .status()
        .unwrap();
    assert!(status.success());
    let long = "a".repeat(64 << 10);
    let out = env
        .mt_cmd(env.dir.path(), ["exec", "true", &long])
        .env("MT_NO_AUTOSTART", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        crate::harness::err(&out)
    );
    env.start_daemon();
    let t0 = std::time::Instant::now();
    env.ok(env.dir.path(), ["exec", "echo", "after-the-fifo"]);
    let log = env.log();
    assert!(
        log.iter().any(|e| e["command"] == "echo after-the-fifo"),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|e| e["command"].as_str().unwrap().ends_with(&long[..100]))
    );
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t0.elapsed()
    );
    let doctor = text(&env.mt(env.dir.path(), ["doctor"]));
    assert!(
        doctor.contains(&format!("spool entry {} is a FIFO", fifo.display()))
            && doctor.contains("d-dir.log is a directory"),
        "{doctor}"
    );
    env.ok(env.dir.path(), ["daemon", "stop"]);
    crate::harness::wait_for("the daemon to stop", || {
        env.daemons().is_empty().then_some(())
    });
}

/// Forget on a store past many page splits: 3,000 commands, one in ten
/// holding the secret, ingested by a daemon in many transactions, then
/// forgotten. No byte
/// of the secret is left in the database, its WAL, its shared memory or
/// the spool; typing `mt forget SECRET` records no secret either; and a
/// milestone that mentions it is named.
#[test]
fn forget_leaves_no_byte_behind_in_the_store_or_the_spool() {
    let env = Env::new();
    let repo = env.repo("app");
    let secret = "s3cr3t-AbCdEfGhIjKlMnOp";
    // A daemon ingests and keeps its connection open, as in everyday use.
    env.start_daemon();
    let mut lines = String::new();
    for i in 0..3000i64 {
        let cmd = if i % 10 == 0 {
            format!("curl -H 'X-Token: {secret}' https://example.com/{i}")
        } else {
            format!("echo {i} {}", "x".repeat(60))
        };
        lines.push_str(&hook_record(
            "999999990-1",
            1_700_000_000_000_000 + i * 1000,
            &repo,
            &cmd,
            0,
        ));
        // Ingested in many transactions, as a daemon does over a day: the
        // pages split again and again.
        if i % 100 == 99 {
            // A file per batch: a drained file of a shell that is gone
            // (no such pid) is removed by the ingest that drains it.
            let mut f = spool_file(&env, &format!("h-999999990-{i}.log"));
            f.write_all(lines.as_bytes()).unwrap();
            lines.clear();
            env.ok(&repo, ["log", "--limit", "1"]);
        }
    }
    // mt forget's own line, as a hook records it when typed at a prompt.
    lines.push_str(&hook_record(
        "999999990-1",
        1_700_000_009_000_000,
        &repo,
        &format!("mt forget {secret}"),
        0,
    ));
    let mut f = spool_file(&env, "h-999999990-last.log");
    f.write_all(lines.as_bytes()).unwrap();
    drop(f);
    let milestone = repo.join("milestones/2026-12/2026-12-01-bug-x.md");
    fs::create_dir_all(milestone.parent().unwrap()).unwrap();
    fs::write(&milestone, format!("---\ntitle: x\n---\n`{secret}`\n")).unwrap();
    let out = env.ok(&repo, ["forget", secret]);
    assert!(
        out.contains("still in 1 milestone file,") && out.contains("2026-12-01-bug-x.md"),
        "{out}"
    );
    let stored: Vec<String> = env
        .log()
        .iter()
        .map(|e| e["command"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        stored
            .iter()
            .any(|c| c == "mt forget [argument not stored]"),
        "{:?}",
        &stored[..3]
    );
    let mut files: Vec<std::path::PathBuf> = fs::read_dir(env.mt_home.join("data"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.extend(
        fs::read_dir(env.spool())
            .unwrap()
            .flatten()
            .map(|e| e.path()),
    );
    for file in files.iter().filter(|p| p.is_file()) {
        let bytes = fs::read(file).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is still in {}",
            file.display()
        );
    }
}

/// A `redact` rule added while the daemon runs applies to the next record
/// it stores: the config is read again when its file changes.
#[test]
fn a_config_edit_applies_to_the_next_record_without_a_restart() {
    let env = Env::new();
    env.start_daemon();
    env.ok(
        env.dir.path(),
        ["exec", "echo", "corp_AAAABBBBCCCCDDDDEEEE"],
    );
    assert_eq!(env.log()[0]["command"], "echo corp_AAAABBBBCCCCDDDDEEEE");
    fs::create_dir_all(env.mt_home.join("config")).unwrap();
    fs::write(
        env.mt_home.join("config/config.toml"),
        "redact = ['corp_[A-Z]{20}']\n",
    )
    .unwrap();
    env.ok(
        env.dir.path(),
        ["exec", "echo", "corp_FFFFGGGGHHHHIIIIJJJJ"],
    );
    let stored = env.log()[0]["command"].as_str().unwrap().to_owned();
    assert!(
        stored.contains("[REDACTED]") && !stored.contains("corp_F"),
        "{stored}"
    );
}

/// A record file another user put into the spool is never ingested as the
/// user's own commands, and `mt doctor` names it.
#[test]
fn a_spool_file_of_another_user_is_never_ingested() {
    let env = Env::new();
    let name = "h-999999989-1.log";
    let mut f = spool_file(&env, name);
    let record = hook_record(
        "999999989-1",
        1_700_000_000_000_000,
        env.dir.path(),
        "rm -rf /",
        0,
    );
    f.write_all(record.as_bytes()).unwrap();
    drop(f);
    let path = std::ffi::CString::new(env.spool().join(name).to_str().unwrap()).unwrap();
    // SAFETY: chown of a file this test made, to the nobody user.
    if unsafe { libc::chown(path.as_ptr(), 65534, 65534) } != 0 {
        crate::harness::unavailable("root, to give a file to another user");
        return;
    }
    assert!(env.log().is_empty(), "another user's records are not ours");
    let said = text(&env.mt(env.dir.path(), ["doctor"]));
    assert!(
        said.contains(name) && said.contains("another user"),
        "{said}"
    );
}

/// A repository's own `.mt.toml` `redact` and `ignore` patterns apply to
/// the commands recorded in it, and only there.
#[test]
fn a_repositorys_own_redact_and_ignore_apply_to_its_records() {
    let env = Env::new();
    let repo = env.repo("app");
    fs::write(
        repo.join(".mt.toml"),
        "redact = ['internal-[0-9]{5}']\nignore = ['^echo skip-me']\n",
    )
    .unwrap();
    env.ok(&repo, ["exec", "echo", "internal-12345"]);
    env.ok(&repo, ["exec", "echo", "skip-me"]);
    env.ok(env.dir.path(), ["exec", "echo", "internal-67890"]);
    let stored: Vec<String> = env
        .log()
        .iter()
        .map(|e| e["command"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(
        stored
            .iter()
            .any(|c| c.contains("[REDACTED]") && !c.contains("12345")),
        "{stored:?}"
    );
    assert!(
        stored.iter().any(|c| c == "echo internal-67890"),
        "{stored:?}"
    );
}
