//! The shell hooks, in real interactive bash, zsh and fish under a pty
//! (README "The shell hook"). Static checks first.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::harness::{Env, MT, text, wait_for};
use crate::term::{Term, commands, path_with_mt};

fn init(env: &Env, shell: &str) -> String {
    env.ok(env.dir.path(), ["init", shell])
}

#[test]
fn scripts_are_clean_and_silent_under_strict_modes() {
    crate::require!("shellcheck", "zsh", "fish");
    let env = Env::new();
    let bash = env.path("h.bash");
    fs::write(&bash, init(&env, "bash")).unwrap();
    let zsh = env.path("h.zsh");
    fs::write(&zsh, init(&env, "zsh")).unwrap();
    let fish = env.path("h.fish");
    fs::write(&fish, init(&env, "fish")).unwrap();
    let check = |prog: &str, args: &[&str]| {
        let mut cmd = Command::new(prog);
        let out = env.apply(&mut cmd).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{prog} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            (
                text(&out),
                String::from_utf8_lossy(&out.stderr).into_owned()
            ),
            (String::new(), String::new())
        );
    };
    check("shellcheck", &["-s", "bash", "shell/common.sh"]);
    check("shellcheck", &["-s", "sh", "shell/git-hook.sh"]);
    check("shellcheck", &["-s", "bash", bash.to_str().unwrap()]);
    check("bash", &["-n", bash.to_str().unwrap()]);
    check("zsh", &["-n", zsh.to_str().unwrap()]);
    check("fish", &["--no-execute", fish.to_str().unwrap()]);
    // The agent environment's files, as `mt init agent` writes them.
    init(&env, "agent");
    let agent = env.mt_home.join("state/agent");
    let bash_env = agent.join("bash_env");
    check("shellcheck", &["-s", "bash", bash_env.to_str().unwrap()]);
    check("bash", &["-n", bash_env.to_str().unwrap()]);
    check("zsh", &["-n", agent.join("zsh/.zshenv").to_str().unwrap()]);
    // Sourced by non-interactive shells under strict modes: silent, no hook.
    let probe =
        "[ -z \"${PROMPT_COMMAND-}\" ] && [ -z \"${PS0-}\" ] && ! type __mt_precmd >/dev/null 2>&1";
    check(
        "bash",
        &[
            "--noprofile",
            "--norc",
            "-euo",
            "pipefail",
            "-c",
            &format!(". {}; . {}; {probe}", bash.display(), bash.display()),
        ],
    );
    check(
        "zsh",
        &[
            "-euo",
            "pipefail",
            "--no-rcs",
            "-c",
            &format!(". {}; (( ! ${{+functions[__mt_precmd]}} ))", zsh.display()),
        ],
    );
    check(
        "fish",
        &[
            "--no-config",
            "-c",
            &format!("source {}; not functions -q __mt_postexec", fish.display()),
        ],
    );
    // BASH_ENV runs for `bash -c`: it must install nothing there either.
    let mut cmd = Command::new("bash");
    let out = env
        .apply(&mut cmd)
        .env("BASH_ENV", &bash)
        .args(["-c", probe])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn bash<'a>(env: &'a Env, rc: &str) -> Term<'a> {
    crate::term::bash(env, env.dir.path(), rc)
}

const INIT_BASH: &str = "eval \"$(mt init bash)\"";

#[test]
fn bash_one_record_per_command_line() {
    crate::require!("tmux");
    let env = Env::new();
    let t = bash(&env, INIT_BASH);
    let cases: &[(&str, i64, &[i64])] = &[
        ("true", 0, &[0]),
        ("false", 1, &[1]),
        ("(exit 7)", 7, &[7]),
        ("sleep 0.2 | false | true", 0, &[0, 1, 0]),
        ("echo a; echo b", 0, &[0]),
        ("true && { echo x; false; }", 1, &[1]),
    ];
    for (i, (line, code, ps)) in cases.iter().enumerate() {
        let e = t.run(line, i + 1);
        assert_eq!(e["command"], *line);
        assert_eq!(e["exit_code"], *code, "{line}");
        assert_eq!(
            e["pipestatus"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect::<Vec<_>>(),
            *ps
        );
        assert_eq!(e["source"], "hook");
    }
    let log = t.records(cases.len());
    assert!(
        log[3]["duration_ms"].as_f64().unwrap() >= 200.0,
        "a pipeline is timed as a whole"
    );
    // Empty Enter makes no record; a multi-line command and a heredoc make one each.
    t.line("");
    t.line("if true");
    t.line("then (exit 3)");
    t.line("fi");
    let e = t.records(cases.len() + 1).pop().unwrap();
    assert_eq!(e["exit_code"], 3);
    assert!(
        e["command"].as_str().unwrap().contains("then (exit 3)"),
        "{e}"
    );
    t.line("cat <<EOF");
    t.line("hello");
    t.line("EOF");
    let log = t.records(cases.len() + 2);
    assert!(
        log.last().unwrap()["command"]
            .as_str()
            .unwrap()
            .starts_with("cat <<EOF")
    );
    let e = t.run("true", cases.len() + 3);
    assert_eq!(e["command"], "true");
    assert_eq!(env.log().len(), cases.len() + 3, "no stray records");
}

#[test]
fn bash_ctrl_c_during_a_command_and_at_the_prompt() {
    crate::require!("tmux", "pgrep");
    let env = Env::new();
    let t = bash(&env, INIT_BASH);
    t.run("true", 1);
    t.line("sleep 30");
    t.wait_for_process("sleep");
    t.key("C-c");
    let e = t.records(2).pop().unwrap();
    assert_eq!(
        (
            e["command"].as_str().unwrap(),
            e["exit_code"].as_i64().unwrap()
        ),
        ("sleep 30", 130)
    );
    t.tmux_type("half-typed");
    t.key("C-c");
    let e = t.run("true", 3);
    assert_eq!(e["command"], "true");
}

#[test]
fn bash_keeps_status_and_last_argument_for_other_hooks() {
    crate::require!("tmux");
    let hook = r#"echo "seen $? $_" >> "$HOME/seen""#;
    for rc in [
        format!("PROMPT_COMMAND=('{hook}')\n{INIT_BASH}"),
        format!("PROMPT_COMMAND='{hook};'\n{INIT_BASH}"),
        format!("{INIT_BASH}\nPROMPT_COMMAND+=$'\\n''{hook}'"),
    ] {
        let env = Env::new();
        let t = bash(&env, &rc);
        t.run("ls /nonexistent-arg", 1);
        wait_for("the other hook to run", || {
            let seen = fs::read_to_string(env.home.join("seen")).ok()?;
            seen.lines()
                .last()
                .filter(|l| *l == "seen 2 /nonexistent-arg")
                .map(|_| ())
        });
        assert!(!t.screen().contains("command not found"), "{}", t.screen());
    }
}

#[test]
fn bash_strict_modes_sourced_twice_private_lines() {
    crate::require!("tmux");
    let env = Env::new();
    let t = bash(
        &env,
        &format!("set -euo pipefail\nHISTCONTROL=ignorespace\n{INIT_BASH}\n{INIT_BASH}"),
    );
    t.run("true", 1);
    let e = t.run(" echo top-secret", 2);
    assert_eq!(e["command"], "", "a line kept out of history keeps no text");
    t.run("echo \"$PROMPT_COMMAND\" > \"$HOME/pc\"", 3);
    let pc = fs::read_to_string(env.home.join("pc")).unwrap();
    assert_eq!(pc.matches("__mt_precmd").count(), 1, "installed once: {pc}");
    let screen = t.screen();
    assert!(
        !screen.contains("unbound") && !screen.contains("error"),
        "{screen}"
    );
    for entry in fs::read_dir(env.mt_home.join("data")).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(10).any(|w| w == b"top-secret"));
    }
}

#[test]
fn bash_wrapper_lines_once_nested_shells_and_disable() {
    crate::require!("tmux");
    let env = Env::new();
    let rc_line = format!("[ -n \"${{OFF-}}\" ] && export MT_DISABLE=1\n{INIT_BASH}");
    let t = bash(&env, &rc_line);
    let e = t.run("mt exec true", 1);
    // Typed at the prompt: a person's run, recorded by the wrapper, once.
    assert_eq!(e["source"], "typed", "recorded by the wrapper, not twice");
    let outer = t.run("true", 2)["session"].as_str().unwrap().to_owned();
    assert_eq!(
        e["session"],
        outer.as_str(),
        "the wrapper run belongs to the shell's session"
    );
    t.line(&format!(
        "bash --noprofile --rcfile {} -i",
        env.home.join(".bashrc").display()
    ));
    let inner = t.run("true", 3)["session"].as_str().unwrap().to_owned();
    assert_ne!(inner, outer, "a nested shell is its own session");
    t.line("exit");
    let log = t.records(4);
    let e = log
        .iter()
        .find(|e| {
            e["command"]
                .as_str()
                .unwrap()
                .starts_with("bash --noprofile")
        })
        .unwrap();
    assert_eq!(e["session"], outer.as_str());
    assert!(
        e["command"]
            .as_str()
            .unwrap()
            .starts_with("bash --noprofile")
    );
    // MT_DISABLE: nothing recorded until it is unset.
    t.line(&format!(
        "OFF=1 bash --noprofile --rcfile {} -i",
        env.home.join(".bashrc").display()
    ));
    t.line("true");
    t.line("unset MT_DISABLE; (exit 4)");
    let e = t.records(5).pop().unwrap();
    assert_eq!(e["command"], "unset MT_DISABLE; (exit 4)");
    assert_eq!(e["exit_code"], 4);
}

#[test]
fn bash_branch_after_a_switch() {
    crate::require!("tmux");
    let env = Env::new();
    let repo = env.repo("r");
    let t = crate::term::bash(&env, &repo, INIT_BASH);
    t.run("true", 1);
    t.run("git switch -q -c feat/9-x", 2);
    t.run("true", 3);
    let branches: Vec<String> = t
        .records(3)
        .iter()
        .map(|e| e["branch"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        branches,
        vec!["main", "main", "feat/9-x"],
        "the switch itself ran on main"
    );
}

#[test]
fn bash_without_daemon_or_spool_stays_quiet_and_loses_nothing() {
    crate::require!("tmux");
    let env = Env::new();
    let t = bash(&env, &format!("export MT_NO_AUTOSTART=1\n{INIT_BASH}"));
    t.line("true");
    t.line("(exit 3)");
    assert!(env.daemons().is_empty());
    let log = t.records(2);
    assert_eq!(commands(&log), vec!["true", "(exit 3)"]);
    // The spool disappears: commands still run, nothing is printed.
    let spool = env.spool();
    t.line(&format!(
        "rm -rf {} && touch {}",
        spool.display(),
        spool.display()
    ));
    t.line("echo still-here");
    wait_for("the command's output", || {
        t.screen().contains("still-here\n").then_some(())
    });
    let screen = t.screen();
    assert!(
        !screen.contains("Not a directory") && !screen.contains("No such file"),
        "{screen}"
    );
}

#[test]
fn bash_forks_nothing_per_command() {
    crate::require!("tmux", "strace");
    let env = Env::new();
    let t = bash(&env, INIT_BASH);
    // The spool file and `fc -l` through a scratch file (written, read);
    // stderr is silenced by closing it (a duplicate, no open).
    crate::term::assert_prompt_budget(&env, &t, 3);
    crate::term::assert_no_inherited_fds(&env, &t, 22);
}

fn zsh<'a>(env: &'a Env, rc: &str) -> Term<'a> {
    let zdot = env.home.join(".zsh");
    fs::create_dir_all(&zdot).unwrap();
    fs::write(
        zdot.join(".zshrc"),
        format!("PS1='%% '\n{rc}\neval \"$(mt init zsh)\"\n"),
    )
    .unwrap();
    Term::start(
        env,
        env.dir.path(),
        &["zsh", "-i"],
        &[("ZDOTDIR", zdot.to_str().unwrap())],
    )
}

#[test]
fn zsh_records_lines_statuses_and_private_lines() {
    crate::require!("tmux", "zsh");
    let env = Env::new();
    let t = zsh(
        &env,
        "setopt HIST_IGNORE_SPACE ERR_EXIT NO_UNSET PIPE_FAIL 2>/dev/null; unsetopt ERR_EXIT",
    );
    let e = t.run("sleep 0.2 | false | true", 1);
    assert_eq!(e["pipestatus"], serde_json::json!([0, 1, 0]));
    assert!(e["duration_ms"].as_f64().unwrap() >= 200.0);
    assert_eq!(t.run("(exit 7)", 2)["exit_code"], 7);
    t.line("");
    assert_eq!(t.run("echo a; echo b", 3)["command"], "echo a; echo b");
    assert_eq!(t.run(" echo hidden-text", 4)["command"], "");
    assert_eq!(t.run("mt exec true", 5)["source"], "typed");
    t.line("ls /nonexistent-arg; echo \"seen $? $_\" > $HOME/seen");
    t.records(6);
    assert_eq!(
        fs::read_to_string(env.home.join("seen")).unwrap(),
        "seen 2 /nonexistent-arg\n"
    );
    assert_eq!(env.log().len(), 6);
}

#[test]
fn zsh_forks_nothing_per_command() {
    crate::require!("tmux", "zsh", "strace");
    let env = Env::new();
    let t = zsh(&env, "");
    // The hook opens the spool file once a command (it holds no descriptor
    // another plugin could take); zsh itself opens /dev/null twice per
    // command, hook or not.
    crate::term::assert_prompt_budget(&env, &t, 3);
    crate::term::assert_no_inherited_fds(&env, &t, 22);
}

#[test]
fn fish_records_lines_and_respects_private_mode() {
    crate::require!("tmux", "fish");
    let env = Env::new();
    let conf = env.home.join(".config/fish");
    fs::create_dir_all(&conf).unwrap();
    fs::write(conf.join("config.fish"), "mt init fish | source\n").unwrap();
    let t = Term::start(&env, env.dir.path(), &["fish", "-i"], &[]);
    let e = t.run("sleep 0.2 | false", 1);
    assert_eq!(e["exit_code"], 1);
    assert_eq!(e["pipestatus"], serde_json::json!([0, 1]));
    assert!(e["duration_ms"].as_f64().unwrap() >= 200.0);
    assert_eq!(t.run("mt exec true", 2)["source"], "typed");
    t.line("set -g fish_private_mode 1");
    t.line("echo private");
    // Each record is written by a background `mt hook-record` that takes
    // its start from its own clock, so lines typed ahead may be stored a
    // few ms out of order under load: wait for each before the next.
    let e = t.run("set -e fish_private_mode", 3);
    assert_eq!(e["command"], "set -e fish_private_mode");
    let e = t.run("true", 4);
    assert_eq!(e["command"], "true");
    // A leading space is private in fish too: the run counts, no text.
    let e = t.run(" echo hidden-text", 5);
    assert_eq!(
        (e["command"].as_str(), e["exit_code"].as_i64()),
        (Some(""), Some(0))
    );
    // Leaving a (nested) fish is not recorded as work.
    t.line("fish");
    t.line("exit");
    assert_eq!(t.records(6)[5]["command"], "fish");
    t.run("true", 7);
    let cmds = commands(&env.log());
    assert!(!cmds.iter().any(|c| c.contains("echo private")), "{cmds:?}");
    assert!(
        !cmds
            .iter()
            .any(|c| c.contains("hidden-text") || c == "exit"),
        "{cmds:?}"
    );
}

#[test]
fn init_prints_the_binary_path() {
    let env = Env::new();
    let script = init(&env, "bash");
    assert!(script.contains(&format!("__mt_bin='{MT}'")));
    let _ = path_with_mt();
}

#[test]
fn mt_exec_under_job_control_stops_and_resumes() {
    crate::require!("tmux", "pgrep");
    // docs/transparency.md "terminal, process group": Ctrl-Z stops wrapper and child
    // together; `fg` lets the command finish and its time is recorded whole.
    let env = Env::new();
    let t = bash(&env, "");
    t.line("mt exec sleep 1; echo done-$?");
    t.wait_for_process("sleep");
    t.key("C-z");
    wait_for("the job to stop", || {
        t.screen().contains("Stopped").then_some(())
    });
    t.line("fg");
    let e = wait_for("the run to finish", || {
        env.log().into_iter().find(|e| e["state"] == "done")
    });
    assert_eq!(e["exit_code"], 0);
    assert!(e["duration_ms"].as_f64().unwrap() >= 1000.0, "{e}");
}

#[test]
fn mt_exec_follows_a_child_that_ignores_ctrl_z() {
    crate::require!("tmux", "pgrep");
    // docs/transparency.md "stops": the bare command ignores Ctrl-Z and goes
    // on in the foreground; so must the wrapped one (no "Stopped" job).
    let env = Env::new();
    let t = bash(&env, "");
    t.line("mt exec sh -c 'trap \"\" TSTP; sleep 1; echo finished-$((40+2))'; echo rc-$?");
    t.wait_for_process("sleep");
    t.key("C-z");
    wait_for("the command to finish in the foreground", || {
        t.screen().contains("rc-0").then_some(())
    });
    let screen = t.screen();
    assert!(screen.contains("finished-42"), "{screen}");
    assert!(!screen.contains("Stopped"), "{screen}");
}

/// bash's scratch file for `fc` lives in the private runtime dir (tmpfs
/// where XDG_RUNTIME_DIR is set), never the spool, and goes once its shell
/// has exited and the daemon or a reader ingests.
#[test]
fn bash_scratch_file_is_private_and_swept_after_the_shell() {
    crate::require!("tmux");
    let env = Env::new();
    let t = bash(&env, INIT_BASH);
    t.run("true", 1);
    let pid = t.shell_pid();
    let scratch = env.mt_home.join(format!("run/.t-{pid}"));
    assert!(scratch.is_file(), "{} missing", scratch.display());
    assert!(!env.spool().join(format!(".t-{pid}")).exists());
    let mode = fs::metadata(env.mt_home.join("run"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
    t.line("exit");
    wait_for("the shell to exit", || {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(())
    });
    env.ok(env.dir.path(), ["log"]);
    assert!(!scratch.exists(), "the dead shell's scratch file is swept");
}

/// What bash's history settings do to the text mt keeps: bash gives a
/// line's text only through its history, so a line history did not keep
/// has no text in mt either (private), and every other line keeps its own
/// text — never another line's.
#[test]
fn bash_history_settings_as_a_table() {
    crate::require!("tmux");
    // (settings, lines typed, the text each line must be stored with)
    let table: &[(&str, &[(&str, &str)])] = &[
        (
            "HISTCONTROL=erasedups",
            &[
                ("echo one", "echo one"),
                ("echo two", "echo two"),
                ("echo one", "echo one"),
            ],
        ),
        (
            "HISTCONTROL=ignoredups:erasedups",
            &[
                ("echo a", "echo a"),
                ("echo b", "echo b"),
                ("echo a", "echo a"),
                ("echo c", "echo c"),
            ],
        ),
        (
            "",
            &[
                ("echo kept", "echo kept"),
                ("set +o history", "set +o history"),
                ("echo hidden", ""),
                ("echo also-hidden", ""),
            ],
        ),
        ("HISTSIZE=0", &[("echo nothing-kept", "")]),
        (
            "",
            &[
                ("echo before", "echo before"),
                ("history -c", ""),
                ("echo after", "echo after"),
            ],
        ),
        (
            "HISTIGNORE='echo secret*'",
            &[("echo secret-value", ""), ("echo visible", "echo visible")],
        ),
    ];
    for (settings, lines) in table {
        let env = Env::new();
        let t = bash(&env, &format!("{settings}\n{INIT_BASH}"));
        for (i, (typed, stored)) in lines.iter().enumerate() {
            let e = t.run(typed, i + 1);
            assert_eq!(
                e["command"],
                *stored,
                "{settings:?}: `{typed}` (line {}): {e}",
                i + 1
            );
        }
    }
}

/// `mt doctor` proves that this very shell records: a child shell without
/// mt that inherited the session is told so, and a hook that a later
/// PROMPT_COMMAND or precmd_functions assignment switched off is named —
/// in zsh mt puts itself back at the next command instead.
#[test]
fn doctor_tells_a_recording_shell_from_one_that_is_not() {
    crate::require!("tmux", "zsh");
    let env = Env::new();
    // A later assignment in ~/.bashrc replaces mt's PROMPT_COMMAND entry.
    let t = bash(&env, &format!("{INIT_BASH}\nPROMPT_COMMAND='history -a'"));
    t.line("true");
    t.line("mt doctor > \"$HOME/d1\" 2>&1");
    let said = wait_for("doctor's answer", || {
        fs::read_to_string(env.home.join("d1"))
            .ok()
            .filter(|s| s.contains("hook"))
    });
    assert!(
        said.contains("did not record the command before this one"),
        "{said}"
    );
    drop(t);
    // A working hook, then a child shell without one.
    let env = Env::new();
    let t = bash(&env, INIT_BASH);
    t.run("true", 1);
    t.line("mt doctor > \"$HOME/d2\" 2>&1");
    let said = wait_for("doctor's answer", || {
        fs::read_to_string(env.home.join("d2"))
            .ok()
            .filter(|s| s.contains("hook"))
    });
    assert!(
        said.contains("shell hook recorded this shell's last command"),
        "{said}"
    );
    t.line("bash --norc -c 'mt doctor; :' > \"$HOME/d3\" 2>&1");
    let said = wait_for("doctor's answer", || {
        fs::read_to_string(env.home.join("d3"))
            .ok()
            .filter(|s| s.contains("hook"))
    });
    assert!(said.contains("has no mt hook of its own"), "{said}");
    drop(t);
    // zsh: a later precmd_functions=(…) is repaired at the next command.
    let env = Env::new();
    let zdot = env.home.join(".zsh");
    fs::create_dir_all(&zdot).unwrap();
    fs::write(
        zdot.join(".zshrc"),
        "PS1='% '\neval \"$(mt init zsh)\"\n__t_other() { :; }\nprecmd_functions=(__t_other)\n",
    )
    .unwrap();
    let path = crate::term::path_with_mt();
    let t = crate::term::Term::start(
        &env,
        env.dir.path(),
        &["zsh", "-i"],
        &[("ZDOTDIR", zdot.to_str().unwrap()), ("PATH", path.as_str())],
    );
    let e = t.run("false", 1);
    assert_eq!(e["exit_code"], 1, "{e}");
    let e = t.run("echo recorded", 2);
    assert_eq!(e["command"], "echo recorded");
}

/// Who ran it: `mt exec` typed at the prompt is a person's run; inside a
/// script (or make, or a git hook) it is a program's.
#[test]
fn a_typed_mt_exec_is_a_persons_run_and_one_in_a_script_a_programs() {
    crate::require!("tmux");
    let env = Env::new();
    let script = env.path("qc_pre_push.sh");
    fs::write(&script, "#!/bin/sh\nmt exec true\nexit 0\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let t = bash(&env, INIT_BASH);
    assert_eq!(t.run("mt exec true", 1)["source"], "typed");
    t.line(&script.display().to_string());
    let log = t.records(3);
    let by_script = log.iter().find(|e| e["source"] == "exec");
    assert!(by_script.is_some(), "{log:?}");
}

/// The user's shell options are the user's: an IFS without a space (the
/// "strict mode" `IFS=$'\n\t'`, or empty), and in zsh NO_CLOBBER,
/// KSH_ARRAYS and WARN_NESTED_VAR, change nothing mt stores or shows.
#[test]
fn unusual_shell_options_change_nothing() {
    crate::require!("tmux", "zsh");
    for ifs in ["IFS=$'\\n\\t'", "IFS="] {
        let env = Env::new();
        let t = bash(&env, &format!("{ifs}\n{INIT_BASH}"));
        let e = t.run("false | true", 1);
        assert_eq!(e["pipestatus"], serde_json::json!([1, 0]), "{ifs}: {e}");
        let e = t.run("true | sh -c 'exit 3'", 2);
        assert_eq!(e["pipestatus"], serde_json::json!([0, 3]), "{ifs}: {e}");
    }
    for opts in [
        "IFS=$'\\n\\t'",
        "setopt NO_CLOBBER",
        "setopt KSH_ARRAYS",
        "setopt WARN_NESTED_VAR",
    ] {
        let env = Env::new();
        let rc = format!("{opts}\n__t_mine() {{ :; }}\nprecmd_functions+=(__t_mine)");
        let t = zsh(&env, &rc);
        let e = t.run("false | true", 1);
        assert_eq!(e["pipestatus"], serde_json::json!([1, 0]), "{opts}: {e}");
        t.run("echo \"${precmd_functions[*]}\" > \"$HOME/pf\"", 2);
        let pf = fs::read_to_string(env.home.join("pf")).unwrap();
        assert!(
            pf.contains("__t_mine") && pf.matches("__mt_precmd").count() == 1,
            "{opts}: {pf}"
        );
        let screen = t.screen();
        assert!(
            !screen.contains("write error") && !screen.contains("enclosing scope"),
            "{opts}: {screen}"
        );
    }
}

/// Every script `mt init` writes, under the strictest linters: shellcheck
/// with every optional check, shfmt, fish_indent, zsh's parser. One
/// exception, named: SC2250 (braces around every variable reference) — the
/// hooks run at every prompt and keep bash's plain `$var` style.
#[test]
fn every_generated_script_passes_strict_linters() {
    crate::require!("shellcheck", "shfmt", "fish_indent", "zsh", "fish");
    let env = Env::new();
    let run = |prog: &str, args: &[&str]| {
        let mut cmd = Command::new("timeout");
        let out = env
            .apply(&mut cmd)
            .arg("60")
            .arg(prog)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty(),
            "{prog} {args:?}:\n{}{}",
            text(&out),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let strict = ["--enable=all", "--exclude=SC2250"];
    // bash, zsh, fish: what `eval "$(mt init SHELL)"` runs.
    for shell in ["bash", "zsh", "fish"] {
        let file = env.path(&format!("hook.{shell}"));
        fs::write(&file, init(&env, shell)).unwrap();
        let f = file.to_str().unwrap();
        match shell {
            "bash" => {
                run("shellcheck", &[strict[0], strict[1], "-s", "bash", f]);
                run("shfmt", &["-ln", "bash", "-i", "4", "-d", f]);
            }
            "zsh" => run("zsh", &["-n", f]),
            _ => {
                run("fish_indent", &["--check", f]);
                run("fish", &["--no-execute", f]);
            }
        }
    }
    // agent: the files `mt init agent` writes.
    init(&env, "agent");
    let agent = env.mt_home.join("state/agent");
    let bash_env = agent.join("bash_env");
    let b = bash_env.to_str().unwrap();
    run("shellcheck", &[strict[0], strict[1], "-s", "bash", b]);
    run("shfmt", &["-ln", "bash", "-i", "4", "-d", b]);
    run("zsh", &["-n", agent.join("zsh/.zshenv").to_str().unwrap()]);
    // git: the hooks `mt init git` installs.
    let repo = env.repo("r");
    env.ok(&repo, ["init", "git", "--in-pr"]);
    for hook in ["post-merge", "post-rewrite", "pre-push"] {
        let h = repo.join(".git/hooks").join(hook);
        let h = h.to_str().unwrap();
        run("shellcheck", &[strict[0], strict[1], "-s", "sh", h]);
        run("shfmt", &["-ln", "posix", "-i", "4", "-d", h]);
    }
}
