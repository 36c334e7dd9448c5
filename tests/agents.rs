//! Coding agents (docs/agents.md): the commands an agent runs through
//! `bash -c` and `zsh -c` with mt's agent environment, Claude Code's hooks
//! fed the JSON its documentation specifies, the settings merge, and a
//! session where a person, a script and an agent work on one branch.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Env, MT, wait_for};

/// The variables `mt init agent` prints, as (name, value).
fn agent_env(env: &Env, name: Option<&str>) -> Vec<(String, String)> {
    let mut args = vec!["init", "agent"];
    if let Some(n) = name {
        args.extend(["--name", n]);
    }
    let out = env.ok(env.dir.path(), args);
    let mut vars = Vec::new();
    for line in out.lines() {
        let Some(rest) = line.strip_prefix("export ") else {
            continue;
        };
        let (k, v) = rest.split_once('=').unwrap();
        vars.push((k.to_owned(), v.trim_matches('\'').to_owned()));
    }
    assert!(vars.iter().any(|(k, _)| k == "BASH_ENV"), "{out}");
    vars
}

/// `shell -c line` started the way an agent starts it (by a program, not
/// from a shell), under a time limit; its exit code and wall time.
fn agent_runs(
    env: &Env,
    vars: &[(String, String)],
    dir: &Path,
    shell: &str,
    line: &str,
) -> (i32, Duration) {
    let mut cmd = Command::new(shell);
    env.apply(&mut cmd)
        .current_dir(dir)
        .args(["-c", line])
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let t0 = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let status = wait_for(&format!("{shell} -c {line} to end"), || {
        child.try_wait().unwrap()
    });
    (status.code().unwrap_or(-1), t0.elapsed())
}

fn records(env: &Env, n: usize) -> Vec<Value> {
    let mut log = wait_for(&format!("{n} records"), || {
        let log = env.log();
        (log.len() >= n).then_some(log)
    });
    log.reverse();
    log
}

/// What an agent's shell records, in bash and zsh: the exact line, its
/// exit status and pipe statuses, a duration within the stopwatch's, the
/// branch; a script's own commands are not the agent's (one record, not
/// eleven); a command that cannot start is 127.
#[test]
fn an_agents_bash_and_zsh_commands_are_recorded_exactly() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-qc", "feat/1-agent"]);
    let script = repo.join("ten.sh");
    fs::write(
        &script,
        "#!/bin/bash\nfor i in 1 2 3 4 5 6 7 8 9 10; do bash -c true; done\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let mut vars = agent_env(&env, None);
    // What Gemini CLI sets in the shells it starts: the agent's name.
    vars.push(("GEMINI_CLI".into(), "1".into()));
    let shells: Vec<&str> = if crate::harness::installed("zsh") {
        vec!["bash", "zsh"]
    } else {
        crate::harness::unavailable("zsh not installed (apt-get install zsh): bash only");
        vec!["bash"]
    };
    let lines: [(&str, i32, Vec<i64>); 6] = [
        ("false", 1, vec![1]),
        ("sh -c 'exit 7'", 7, vec![7]),
        ("true | sh -c 'exit 3'", 3, vec![0, 3]),
        ("./ten.sh", 0, vec![0]),
        ("no-such-command-here", 127, vec![127]),
        ("sleep 0.3", 0, vec![0]),
    ];
    let mut n = 0;
    for shell in &shells {
        for (line, code, ps) in &lines {
            let (got, wall) = agent_runs(&env, &vars, &repo, shell, line);
            assert_eq!(
                got, *code,
                "{shell} -c {line}: the agent sees the real status"
            );
            n += 1;
            let r = records(&env, n).pop().unwrap();
            assert_eq!(r["command"], *line, "{shell}");
            assert_eq!(r["source"], "agent");
            assert_eq!(r["agent"], "gemini-cli");
            assert_eq!(r["exit_code"], *code, "{shell} -c {line}");
            assert_eq!(r["pipestatus"], json!(ps), "{shell} -c {line}");
            assert_eq!(r["branch"], "feat/1-agent");
            let ms = r["duration_ms"].as_f64().unwrap();
            assert!(
                ms <= wall.as_secs_f64() * 1000.0,
                "{shell} -c {line}: {ms} ms recorded, {wall:?} measured"
            );
            if line.starts_with("sleep") {
                assert!(ms >= 300.0, "{shell}: sleep 0.3 took {ms} ms");
            }
        }
    }
    // Every command recorded once: the script's ten inner shells are not.
    assert_eq!(env.log().len(), n);
    // A shell started by a shell (a person's, a login profile's) records
    // nothing: only what the agent itself starts.
    agent_runs(&env, &vars, &repo, "bash", "bash -c 'bash -c true'");
    n += 1;
    let r = records(&env, n).pop().unwrap();
    assert_eq!(r["command"], "bash -c 'bash -c true'");
    assert_eq!(env.log().len(), n);
}

/// `mt agent-hook claude-code` with the JSON Claude Code's hooks send:
/// a command's PreToolUse and PostToolUse, a failure with its exit code,
/// an interrupted one, a shell that could not start, and a file written by
/// its Write tool, which the watcher also sees: one edit, the agent's.
#[test]
fn claude_codes_hooks_record_its_commands_and_writes() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-qc", "feat/2-claude"]);
    env.start_daemon();
    env.ok(&repo, ["exec", "true"]);
    wait_for("the tree to be watched", || {
        let text = fs::read(env.mt_home.join("state/watch.json")).ok()?;
        let v: Value = serde_json::from_slice(&text).ok()?;
        (v["trees"].as_array()?.len() == 1).then_some(())
    });
    let cwd = repo.to_str().unwrap();
    let hook = |payload: Value| {
        let mut child = env
            .mt_cmd(&repo, ["agent-hook", "claude-code"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(payload.to_string().as_bytes())
            .unwrap();
        let out = wait_for("the hook to end", || child.try_wait().unwrap());
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
        assert!(out.success(), "a hook never fails the tool call");
        assert_eq!(
            stdout, "",
            "a hook prints nothing (SessionStart's output reaches the model)"
        );
    };
    let base = |event: &str, id: &str, command: &str| {
        json!({
            "session_id": "s-1", "transcript_path": "/tmp/t.jsonl", "cwd": cwd,
            "permission_mode": "default", "hook_event_name": event, "tool_name": "Bash",
            "tool_input": {"command": command, "description": "d"}, "tool_use_id": id
        })
    };
    hook(
        json!({"session_id": "s-1", "hook_event_name": "SessionStart", "source": "startup", "cwd": cwd}),
    );
    // A passing command, timed from its PreToolUse to its PostToolUse.
    let t0 = Instant::now();
    hook(base("PreToolUse", "toolu_1", "cargo test"));
    let later = t0 + Duration::from_millis(300);
    wait_for("the command to run", || {
        (Instant::now() >= later).then_some(())
    });
    let mut post = base("PostToolUse", "toolu_1", "cargo test");
    post["tool_response"] =
        json!({"stdout": "ok", "stderr": "", "interrupted": false, "isImage": false});
    hook(post);
    let measured = t0.elapsed();
    // A failing one, with the exit code on the error's first line.
    hook(base("PreToolUse", "toolu_2", "npm test"));
    let mut failed = base("PostToolUseFailure", "toolu_2", "npm test");
    failed["error"] = json!("Exit code 2\nError: Cannot find module 'express'");
    failed["is_interrupt"] = json!(false);
    failed["duration_ms"] = json!(40);
    hook(failed);
    // Interrupted by the user.
    let mut stopped = base("PostToolUse", "toolu_3", "sleep 100");
    stopped["tool_response"] = json!({"stdout": "", "stderr": "", "interrupted": true});
    stopped["duration_ms"] = json!(1500);
    hook(stopped);
    // A shell that could not start: a bare failure message.
    let mut broken = base("PostToolUseFailure", "toolu_4", "make");
    broken["error"] = json!("spawn /bin/bash ENOENT");
    hook(broken);
    // The Write tool: the file is written, then the hook runs.
    fs::write(repo.join("agent.rs"), "fn agent() {}\n").unwrap();
    hook(json!({
        "session_id": "s-1", "cwd": cwd, "hook_event_name": "PostToolUse", "tool_name": "Write",
        "tool_input": {"file_path": repo.join("agent.rs").to_str().unwrap(), "content": "fn agent() {}\n"},
        "tool_response": {"filePath": repo.join("agent.rs").to_str().unwrap(), "success": true},
        "tool_use_id": "toolu_5"
    }));
    // A save of the person's after it, to know the watcher has decided.
    fs::write(repo.join("mine.rs"), "").unwrap();
    let log = records(&env, 5);
    let mut agent: Vec<(&str, i64)> = log
        .iter()
        .filter(|r| r["source"] == "agent")
        .map(|r| {
            (
                r["command"].as_str().unwrap(),
                r["exit_code"].as_i64().unwrap(),
            )
        })
        .collect();
    agent.sort_unstable();
    assert_eq!(
        agent,
        [
            ("cargo test", 0),
            ("make", 127),
            ("npm test", 2),
            ("sleep 100", 130)
        ]
    );
    let first = log.iter().find(|r| r["command"] == "cargo test").unwrap();
    let ms = first["duration_ms"].as_f64().unwrap();
    assert!(
        ms >= 300.0 && ms <= measured.as_secs_f64() * 1000.0,
        "{ms} ms recorded, {measured:?} between the hooks"
    );
    assert_eq!(first["agent"], "claude-code");
    assert_eq!(first["branch"], "feat/2-claude");
    let edits = wait_for("both saves stored", || {
        env.ok(&repo, ["log", "--limit", "1"]);
        let db = rusqlite::Connection::open(env.db()).unwrap();
        let mut stmt = db
            .prepare("SELECT command, source FROM events WHERE kind = 'edit' ORDER BY command")
            .unwrap();
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.iter().any(|(p, _)| p == "mine.rs").then_some(rows)
    });
    assert_eq!(
        edits,
        [
            ("agent.rs".to_owned(), "agent".to_owned()),
            ("mine.rs".to_owned(), "watch".to_owned())
        ],
        "the agent's write is one edit, the agent's; the person's stays the person's"
    );
}

/// `mt init claude-code` merges into settings that hold the user's own
/// hooks and keys, changes nothing the second time, and `--remove` gives
/// the file back as it was.
#[test]
fn claude_code_settings_are_merged_kept_and_restored() {
    let env = Env::new();
    let repo = env.repo("r");
    fs::create_dir_all(repo.join(".claude")).unwrap();
    let theirs = json!({
        "permissions": {"allow": ["Bash(npm run lint)"]},
        "hooks": {
            "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./audit.sh", "timeout": 10}]}],
            "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]
        },
        "model": "sonnet"
    });
    let path = repo.join(".claude/settings.json");
    fs::write(&path, serde_json::to_string_pretty(&theirs).unwrap()).unwrap();
    let said = env.ok(&repo, ["init", "claude-code"]);
    assert!(said.contains("recorded as the agent's"), "{said}");
    let merged: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(merged["permissions"], theirs["permissions"]);
    assert_eq!(merged["model"], "sonnet");
    assert_eq!(merged["hooks"]["Stop"], theirs["hooks"]["Stop"]);
    let pre = merged["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(
        pre[0], theirs["hooks"]["PreToolUse"][0],
        "the user's hook first, as it was"
    );
    let ours = pre[1]["hooks"][0]["command"].as_str().unwrap();
    assert!(ours.ends_with("agent-hook claude-code"), "{ours}");
    for event in ["PostToolUse", "PostToolUseFailure", "SessionStart"] {
        assert!(merged["hooks"][event].is_array(), "{event}: {merged}");
    }
    let once = fs::read(&path).unwrap();
    let said = env.ok(&repo, ["init", "claude-code"]);
    assert!(said.contains("already"), "{said}");
    assert_eq!(
        fs::read(&path).unwrap(),
        once,
        "a second install changes nothing"
    );
    let doctor = crate::harness::text(&env.mt(&repo, ["doctor"]));
    assert!(doctor.contains("claude-code's hooks in"), "{doctor}");
    env.ok(&repo, ["init", "claude-code", "--remove"]);
    let back: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(back, theirs);
    // A file that is not JSON is left alone, with one sentence.
    fs::write(&path, "{ not json").unwrap();
    let out = env.mt(&repo, ["init", "claude-code"]);
    assert!(!out.status.success());
    let err = crate::harness::err(&out);
    assert!(
        err.contains("is not a JSON object, so mt left it alone"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "{ not json");
}

/// A branch worked on by a person (typed at a prompt), a script (`mt
/// exec` from a script), an agent (its `bash -c`) and with edits: the
/// milestone's four-way split adds up to its active time.
#[test]
fn a_mixed_session_splits_into_person_script_and_agent() {
    crate::require!("tmux");
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-qc", "feat/3-mixed"]);
    let t = crate::term::bash(&env, &repo, "eval \"$(mt init bash)\"");
    t.run("true typed", 1);
    let vars = agent_env(&env, Some("my-agent"));
    agent_runs(&env, &vars, &repo, "bash", "sleep 0.2; true");
    records(&env, 2);
    let script = format!("{MT} exec -- sh -c 'sleep 0.1'");
    let out = env.sh(&repo, &script);
    assert!(out.status.success());
    records(&env, 3);
    t.run("false", 4);
    drop(t);
    let close: Value =
        serde_json::from_str(&env.ok(&repo, ["close", "--dry-run", "--json"])).unwrap();
    let mt = &close["mt"];
    let work = mt["work"].as_object().unwrap();
    let total: u64 = work
        .values()
        .map(|w| w["active_ms"].as_u64().unwrap())
        .sum();
    assert_eq!(total, mt["active_ms"].as_u64().unwrap(), "{work:?}");
    assert_eq!(work["person"]["runs"], 2);
    assert_eq!(work["person"]["failures"], 1);
    assert_eq!(work["agent"]["runs"], 1);
    assert_eq!(work["script"]["runs"], 1);
    assert!(work["agent"]["active_ms"].as_u64().unwrap() >= 200);
    assert_eq!(mt["agents"], json!(["my-agent"]));
    let text = env.ok(&repo, ["close", "--dry-run"]);
    assert!(text.contains("| Agent (my-agent) |"), "{text}");
    assert!(
        text.contains("- **Agent**: 1 run, error rate 0.0% (0 of 1)"),
        "{text}"
    );
}

/// Gemini CLI: `mt init gemini-cli` merges an AfterTool hook (its timeout
/// in milliseconds, its handler named) into `.gemini/settings.json`; the
/// file its `write_file` tool writes is one edit, the agent's.
#[test]
fn gemini_clis_file_writes_are_the_agents() {
    let env = Env::new();
    let repo = env.repo("r");
    fs::create_dir_all(repo.join(".gemini")).unwrap();
    let theirs = json!({"theme": "GitHub", "hooks": {"BeforeTool": [{"matcher": "run_shell_command", "hooks": [{"name": "guard", "type": "command", "command": "./guard.sh", "timeout": 1000}]}]}});
    let path = repo.join(".gemini/settings.json");
    fs::write(&path, theirs.to_string()).unwrap();
    env.ok(&repo, ["init", "gemini-cli"]);
    let merged: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(merged["theme"], "GitHub");
    assert_eq!(merged["hooks"]["BeforeTool"], theirs["hooks"]["BeforeTool"]);
    let ours = &merged["hooks"]["AfterTool"][0];
    assert_eq!(ours["matcher"], "write_file|replace");
    assert_eq!(
        ours["hooks"][0]["timeout"], 5000,
        "Gemini CLI counts milliseconds"
    );
    assert_eq!(ours["hooks"][0]["name"], "mt");
    env.git(&repo, &["switch", "-qc", "feat/4-gemini"]);
    env.start_daemon();
    env.ok(&repo, ["exec", "true"]);
    wait_for("the tree to be watched", || {
        let text = fs::read(env.mt_home.join("state/watch.json")).ok()?;
        let v: Value = serde_json::from_slice(&text).ok()?;
        (v["trees"].as_array()?.len() == 1).then_some(())
    });
    let file = repo.join("gen.py");
    fs::write(&file, "x = 1\n").unwrap();
    let payload = json!({
        "session_id": "g-1", "transcript_path": "/tmp/t", "cwd": repo.to_str().unwrap(),
        "hook_event_name": "AfterTool", "timestamp": "2026-12-07T10:00:00Z",
        "tool_name": "write_file", "tool_input": {"file_path": file.to_str().unwrap(), "content": "x = 1\n"},
        "tool_response": {"llmContent": "ok", "returnDisplay": "ok", "error": null}
    });
    let mut child = env
        .mt_cmd(&repo, ["agent-hook", "gemini-cli"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.to_string().as_bytes())
        .unwrap();
    assert!(wait_for("the hook to end", || child.try_wait().unwrap()).success());
    fs::write(repo.join("mine.py"), "").unwrap();
    let edits = wait_for("both saves stored", || {
        env.ok(&repo, ["log", "--limit", "1"]);
        let db = rusqlite::Connection::open(env.db()).unwrap();
        let mut stmt = db
            .prepare("SELECT command, source, COALESCE(agent, '') FROM events WHERE kind = 'edit' ORDER BY command")
            .unwrap();
        let rows: Vec<(String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.iter().any(|(p, ..)| p == "mine.py").then_some(rows)
    });
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        edits,
        [
            s("gen.py", "agent", "gemini-cli"),
            s("mine.py", "watch", "")
        ]
    );
    env.ok(&repo, ["init", "gemini-cli", "--remove"]);
    let back: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(back, theirs);
}

/// What a second tester found: a repository reached through a symlink is
/// one repository; `exit 300` is what the parent sees (44); pipe statuses
/// survive `pipefail`; a script started without `-c` is no command line.
#[test]
fn agent_records_hold_across_symlinks_odd_statuses_and_scripts() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-qc", "feat/5-odd"]);
    use std::os::unix::fs::PermissionsExt;
    let link = env.path("link");
    std::os::unix::fs::symlink(&repo, &link).unwrap();
    fs::write(repo.join("s.sh"), "true\n").unwrap();
    let vars = agent_env(&env, Some("tester"));
    let mut n = 0;
    let mut shells = vec!["bash"];
    if crate::harness::installed("zsh") {
        shells.push("zsh");
    }
    for shell in shells {
        let (code, _) = agent_runs(&env, &vars, &link, shell, "exit 300");
        assert_eq!(code, 44);
        n += 1;
        let r = records(&env, n).pop().unwrap();
        assert_eq!(r["exit_code"], 44, "{shell}");
        assert_eq!(
            r["repo"],
            repo.to_str().unwrap(),
            "{shell}: one name for one repository"
        );
        assert_eq!(r["branch"], "feat/5-odd");
        let line = if shell == "bash" {
            "set -o pipefail; true | false | true"
        } else {
            "setopt pipefail; true | false | true"
        };
        agent_runs(&env, &vars, &link, shell, line);
        n += 1;
        let r = records(&env, n).pop().unwrap();
        assert_eq!(r["exit_code"], 1, "{shell}");
        assert_eq!(r["pipestatus"], json!([0, 1, 0]), "{shell}");
    }
    // `bash s.sh` started by the agent program: a script, not a command
    // line; nothing recorded (the count stays).
    let mut cmd = Command::new("bash");
    env.apply(&mut cmd)
        .current_dir(&repo)
        .arg("s.sh")
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    assert!(cmd.status().unwrap().success());
    agent_runs(&env, &vars, &repo, "bash", "true last");
    n += 1;
    let log = records(&env, n);
    assert_eq!(log.len(), n);
    assert_eq!(log.last().unwrap()["command"], "true last");
    // An agent started through a bash launcher (a version manager's shim)
    // from a person's shell: the launcher leaves the environment to the
    // agent (here `timeout`, a program that starts `bash -c`).
    let launcher = env.path("launcher");
    fs::write(
        &launcher,
        "#!/bin/bash\nexec timeout 30 bash -c 'true via a launcher'\n",
    )
    .unwrap();
    fs::set_permissions(&launcher, fs::Permissions::from_mode(0o755)).unwrap();
    let line = launcher.to_str().unwrap().to_owned();
    agent_runs(&env, &vars, &repo, "sh", &line);
    n += 1;
    let r = records(&env, n).pop().unwrap();
    assert_eq!(r["command"], "true via a launcher");
}

/// Settings a user shaped their own way are left alone with one sentence;
/// a symlinked settings file stays a link, its mode kept; the hook does
/// nothing under MT_DISABLE=1, and appends to CLAUDE_ENV_FILE on a line of
/// its own.
#[test]
fn claude_code_settings_of_every_shape_are_respected() {
    let env = Env::new();
    let repo = env.repo("r");
    fs::create_dir_all(repo.join(".claude")).unwrap();
    let path = repo.join(".claude/settings.json");
    for shape in [
        r#"{"hooks": []}"#,
        r#"{"hooks": {"PostToolUse": {"x": 1}}}"#,
    ] {
        fs::write(&path, shape).unwrap();
        let out = env.mt(&repo, ["init", "claude-code"]);
        assert!(!out.status.success(), "{shape}");
        let err = crate::harness::err(&out);
        assert!(err.contains("so mt left the file alone"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), shape);
    }
    fs::remove_file(&path).unwrap();
    let real = env.path("dotfiles-settings.json");
    fs::write(&real, "{}").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&real, &path).unwrap();
    env.ok(&repo, ["init", "claude-code"]);
    assert!(
        fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let written: Value = serde_json::from_str(&fs::read_to_string(&real).unwrap()).unwrap();
    assert!(written["hooks"]["PreToolUse"].is_array());
    assert_eq!(
        fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The hook itself.
    let env_file = env.path("claude-env.sh");
    fs::write(&env_file, "export FOO=1").unwrap();
    let run = |disable: bool| {
        let mut cmd = env.mt_cmd(&repo, ["agent-hook", "claude-code"]);
        cmd.env("CLAUDE_ENV_FILE", &env_file).stdin(Stdio::piped());
        if disable {
            cmd.env("MT_DISABLE", "1");
        }
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(br#"{"hook_event_name":"SessionStart","session_id":"s"}"#)
            .unwrap();
        assert!(wait_for("the hook", || child.try_wait().unwrap()).success());
    };
    run(true);
    assert_eq!(fs::read_to_string(&env_file).unwrap(), "export FOO=1");
    run(false);
    assert_eq!(
        fs::read_to_string(&env_file).unwrap(),
        "export FOO=1\nexport MT_AGENT_HOOKED=1\n"
    );
}
