//! mt's hooks beside the real prompt tools people load (starship, atuin and
//! the bash-preexec it embeds, direnv, zoxide, fzf), each loaded before and
//! after mt in a real interactive shell: mt's records must keep the right
//! exit and pipe statuses and the user's privacy, and the other tool must
//! still do its job.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::harness::{Env, wait_for};
use crate::term::{Term, path_with_mt};

/// One line typed at the prompt and what mt must store for it: exit status,
/// pipe statuses, and whether the text is kept.
struct Line {
    text: &'static str,
    exit: i64,
    pipe: &'static [i64],
    private: bool,
}

const fn line(text: &'static str, exit: i64, pipe: &'static [i64]) -> Line {
    Line {
        text,
        exit,
        pipe,
        private: false,
    }
}

const LINES: &[Line] = &[
    line("false", 1, &[1]),
    line("sh -c 'exit 7'", 7, &[7]),
    line("true | sh -c 'exit 3'", 3, &[0, 3]),
    line("false | true", 0, &[1, 0]),
    Line {
        text: " echo private-line",
        exit: 0,
        pipe: &[0],
        private: true,
    },
    line("echo done", 0, &[0]),
];

/// A tool as a user loads it, and a line that succeeds only if it works.
struct Tool {
    init: &'static str,
    /// Lines typed first, recorded like any other.
    prep: &'static [&'static str],
    works: &'static str,
}

#[derive(Clone, Copy, PartialEq)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    fn mt_line(self) -> &'static str {
        match self {
            Shell::Bash => "eval \"$(mt init bash)\"",
            Shell::Zsh => "eval \"$(mt init zsh)\"",
            Shell::Fish => "mt init fish | source",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Order {
    ToolFirst,
    MtFirst,
}

fn pipe(e: &Value) -> Vec<i64> {
    e["pipestatus"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

/// Type the standard lines and the tool's own check; assert on mt's records.
fn check_records(env: &Env, t: &Term<'_>, tool: &Tool, order: Order, name: &str) {
    let n0 = env.log().len();
    for (i, l) in LINES.iter().enumerate() {
        let e = t.run(l.text, n0 + i + 1);
        let what = format!("{name} ({}) `{}`", label(order), l.text);
        assert_eq!(e["exit_code"], l.exit, "{what}: exit status; {e}");
        assert_eq!(pipe(&e), l.pipe, "{what}: pipe statuses; {e}");
        let stored = e["command"].as_str().unwrap_or("");
        if l.private {
            assert!(
                !stored.contains("private-line"),
                "{what}: a private line kept its text: {e}"
            );
        } else {
            assert_eq!(stored, l.text, "{what}: text; {e}");
        }
    }
    let mut n = n0 + LINES.len();
    for line in tool.prep {
        n += 1;
        t.run(line, n);
    }
    let e = t.run(tool.works, n + 1);
    assert_eq!(
        e["exit_code"],
        0,
        "{name} ({}) stopped working beside mt: `{}` failed\n{}",
        label(order),
        tool.works,
        t.screen()
    );
    assert_eq!(env.log().len(), n + 1, "{name}: one record per line");
    // Nothing of mt's (nor a plugin's complaint about mt) on the terminal.
    let screen = t.screen();
    for sign in ["write error", "No handler installed", "__mt_", "mt: "] {
        assert!(
            !screen.contains(sign),
            "{name} ({}): {sign:?} on the screen:\n{screen}",
            label(order)
        );
    }
}

fn label(order: Order) -> &'static str {
    match order {
        Order::ToolFirst => "loaded before mt",
        Order::MtFirst => "loaded after mt",
    }
}

/// The rc file: private space lines asked for, then both lines in `order`.
fn rc(mt: &str, tool: &Tool, order: Order) -> String {
    let (a, b) = match order {
        Order::ToolFirst => (tool.init, mt),
        Order::MtFirst => (mt, tool.init),
    };
    format!("{a}\n{b}\n")
}

fn setup(env: &Env) -> std::path::PathBuf {
    let work = env.path("work");
    fs::create_dir_all(work.join("sub")).unwrap();
    // direnv: an allowed .envrc in the directory the shell starts in.
    fs::write(work.join(".envrc"), "export T_DIRENV=loaded\n").unwrap();
    if crate::harness::installed("direnv") {
        env.run_ok("direnv", &work, &["allow"]);
    }
    // starship: show the exit status in the prompt, so the test can read it.
    fs::write(
        env.path("starship.toml"),
        "add_newline = false\nformat = '$status$character'\n[status]\ndisabled = false\nformat = 'st=$status '\n",
    )
    .unwrap();
    work
}

/// An interactive `shell` in `cwd` whose rc file is `rc_text`, with space-
/// prefixed lines private as each shell spells it.
fn session<'a>(env: &'a Env, shell: Shell, cwd: &Path, rc_text: &str) -> Term<'a> {
    let starship = env.path("starship.toml");
    let starship = starship.to_str().unwrap();
    let path = path_with_mt();
    let zdot = env.home.join(".zsh");
    let mut vars = vec![("STARSHIP_CONFIG", starship), ("PATH", path.as_str())];
    let (rc_path, text, argv): (_, _, Vec<String>) = match shell {
        Shell::Bash => {
            let rc = env.home.join(".bashrc");
            let text = format!(
                "PS1='$ '\nHISTFILE={}\nHISTCONTROL=ignoreboth\n{rc_text}",
                env.path("bash_history").display()
            );
            let argv = [
                "bash",
                "--noprofile",
                "--rcfile",
                rc.to_str().unwrap(),
                "-i",
            ];
            let argv = argv.map(String::from).to_vec();
            (rc, text, argv)
        }
        Shell::Zsh => {
            fs::create_dir_all(&zdot).unwrap();
            let text = format!("PS1='%% '\nsetopt HIST_IGNORE_SPACE\n{rc_text}");
            vars.push(("ZDOTDIR", zdot.to_str().unwrap()));
            (zdot.join(".zshrc"), text, vec!["zsh".into(), "-i".into()])
        }
        Shell::Fish => {
            let conf = env.home.join(".config/fish");
            fs::create_dir_all(&conf).unwrap();
            (
                conf.join("config.fish"),
                rc_text.to_owned(),
                vec!["fish".into(), "-i".into()],
            )
        }
    };
    fs::write(&rc_path, text).unwrap();
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    Term::start(env, cwd, &argv, &vars)
}

fn run_in(shell: Shell, name: &str, tool: &Tool) {
    for order in [Order::ToolFirst, Order::MtFirst] {
        let env = Env::new();
        let work = setup(&env);
        let t = session(&env, shell, &work, &rc(shell.mt_line(), tool, order));
        check_records(&env, &t, tool, order, name);
        if name == "atuin" {
            atuin_kept_the_right_statuses(&env, &work);
        }
        if name == "starship" {
            // Starship's own status segment still tells the truth.
            t.line("sh -c 'exit 7'");
            wait_for("starship to show st=7", || {
                t.screen().contains("st=7").then_some(())
            });
        }
    }
}

fn run_bash(name: &str, tool: &Tool) {
    run_in(Shell::Bash, name, tool);
}

/// bash-preexec as shipped inside atuin's bash init (the real script,
/// v0.6), written out to be sourced on its own.
fn bash_preexec(env: &Env) -> std::path::PathBuf {
    let init = env.run_ok("atuin", env.dir.path(), &["init", "bash"]);
    let start = init.find("__atuin_load_builtin_preexec() {\n").unwrap();
    let body = &init[start..];
    let body = &body[body.find('\n').unwrap() + 1..body.find("\n}\n").unwrap()];
    let path = env.path("bash-preexec.sh");
    fs::write(&path, body).unwrap();
    path
}

/// atuin's own history kept the right exit status. atuin writes it from a
/// background job, so the line waits for it (10 s at most).
const ATUIN_WORKS: &str = "atuin history list --format '{exit} {command}' | grep -q false";

/// atuin's own history beside mt: every command it finished has its true
/// exit status (mt must not change what atuin sees), and most finished.
/// atuin finishes an entry from a background job, which can lose the race
/// under load and leave -1 ("unfinished"): that is atuin's, not a wrong
/// status, so it is allowed for one entry.
fn atuin_kept_the_right_statuses(env: &Env, dir: &Path) {
    let expected = [
        ("false", "1"),
        ("sh -c 'exit 7'", "7"),
        ("true | sh -c 'exit 3'", "3"),
        ("false | true", "0"),
        ("echo done", "0"),
    ];
    let finished = |list: &str| {
        expected
            .iter()
            .filter(|(cmd, _)| {
                list.lines().any(|l| {
                    l.split_once('|')
                        .is_some_and(|(e, c)| c == *cmd && e != "-1")
                })
            })
            .count()
    };
    let list = wait_for("atuin to finish its entries", || {
        let mut cmd = std::process::Command::new("atuin");
        let out = env
            .apply(&mut cmd)
            .current_dir(dir)
            // atuin refuses to run outside a session it set up; any id does.
            .env("ATUIN_SESSION", "0190f0a0b0c0d0e0f000000000000000")
            .args(["history", "list", "--format", "{exit}|{command}"])
            .output()
            .unwrap();
        let list = String::from_utf8_lossy(&out.stdout).into_owned();
        (finished(&list) >= expected.len() - 1).then_some(list)
    });
    for line in list.lines() {
        let Some((exit, cmd)) = line.split_once('|') else {
            continue;
        };
        if let Some((_, want)) = expected.iter().find(|(c, _)| *c == cmd) {
            assert!(
                exit == *want || exit == "-1",
                "atuin stored {cmd:?} with exit {exit}, not {want}:\n{list}"
            );
        }
    }
}

#[test]
fn bash_beside_starship() {
    crate::require!("tmux", "starship");
    run_bash(
        "starship",
        &Tool {
            init: "eval \"$(starship init bash)\"",
            prep: &[],
            works: "[[ $PROMPT_COMMAND == *starship_precmd* ]]",
        },
    );
}

#[test]
fn bash_beside_atuin() {
    crate::require!("tmux", "atuin");
    run_bash(
        "atuin",
        &Tool {
            init: "eval \"$(atuin init bash)\"",
            prep: &[],
            works: ATUIN_WORKS,
        },
    );
}

#[test]
fn bash_beside_bash_preexec() {
    crate::require!("tmux", "atuin");
    let probe = Env::new();
    let script = bash_preexec(&probe);
    let init = format!(
        "source {}\n__t_pre() {{ __t_seen=$1; }}\npreexec_functions+=(__t_pre)",
        script.display()
    );
    run_bash(
        "bash-preexec",
        &Tool {
            init: Box::leak(init.into_boxed_str()),
            prep: &[],
            // preexec functions still get the line about to run.
            works: "[[ $__t_seen == *__t_seen* ]]",
        },
    );
}

#[test]
fn bash_beside_direnv() {
    crate::require!("tmux", "direnv");
    run_bash(
        "direnv",
        &Tool {
            init: "eval \"$(direnv hook bash)\"",
            prep: &[],
            works: "[[ $T_DIRENV == loaded ]]",
        },
    );
}

#[test]
fn bash_beside_zoxide() {
    crate::require!("tmux", "zoxide");
    run_bash(
        "zoxide",
        &Tool {
            init: "eval \"$(zoxide init bash)\"",
            // zoxide learns a directory at the prompt after entering it.
            prep: &["cd sub", "cd .."],
            works: "(cd / && zoxide query sub) | grep -q /work/sub",
        },
    );
}

#[test]
fn bash_beside_fzf() {
    crate::require!("tmux", "fzf");
    run_bash(
        "fzf",
        &Tool {
            init: "source /usr/share/doc/fzf/examples/key-bindings.bash",
            prep: &[],
            works: "bind -X | grep -q __fzf",
        },
    );
}

#[test]
fn zsh_beside_starship_atuin_direnv_zoxide() {
    crate::require!("tmux", "zsh", "starship", "atuin", "direnv", "zoxide");
    let tools = [
        (
            "starship",
            "eval \"$(starship init zsh)\"",
            "(( ${precmd_functions[(I)prompt_starship_precmd]} ))",
        ),
        ("atuin", "eval \"$(atuin init zsh)\"", ATUIN_WORKS),
        (
            "direnv",
            "eval \"$(direnv hook zsh)\"",
            "[[ $T_DIRENV == loaded ]]",
        ),
    ];
    for (name, init, works) in tools {
        run_in(
            Shell::Zsh,
            name,
            &Tool {
                init,
                prep: &[],
                works,
            },
        );
    }
    run_in(
        Shell::Zsh,
        "zoxide",
        &Tool {
            init: "eval \"$(zoxide init zsh)\"",
            prep: &["cd sub", "cd /"],
            works: "zoxide query sub | grep -q /work/sub",
        },
    );
}

#[test]
fn fish_beside_starship_and_zoxide() {
    crate::require!("tmux", "fish", "starship", "zoxide");
    run_in(
        Shell::Fish,
        "starship",
        &Tool {
            init: "starship init fish | source",
            prep: &[],
            works: "functions fish_prompt | grep -q starship",
        },
    );
    run_in(
        Shell::Fish,
        "zoxide",
        &Tool {
            init: "zoxide init fish | source",
            prep: &["cd sub", "cd /"],
            works: "zoxide query sub | grep -q /work/sub",
        },
    );
}

/// zsh's own plugins from Debian's packages. zsh-autosuggestions 0.7.0
/// closes its async descriptor but keeps the number, then closes and
/// reopens a pipe there: a hook that opened its file on that number would
/// write into the plugin's pipe.
#[test]
fn zsh_beside_autosuggestions_syntax_highlighting_and_powerlevel9k() {
    let auto = "/usr/share/zsh-autosuggestions/zsh-autosuggestions.zsh";
    let syntax = "/usr/share/zsh-syntax-highlighting/zsh-syntax-highlighting.zsh";
    let p9k = "/usr/share/powerlevel9k/powerlevel9k.zsh-theme";
    crate::require!("tmux", "zsh", auto, syntax, p9k);
    let plugins = [
        (
            "zsh-autosuggestions",
            format!("source {auto}"),
            "(( ${+functions[_zsh_autosuggest_start]} ))",
        ),
        (
            "zsh-syntax-highlighting",
            format!("source {syntax}"),
            "(( ${+functions[_zsh_highlight]} ))",
        ),
        (
            "powerlevel9k",
            format!("source {p9k}"),
            "(( ${+functions[powerlevel9k_prepare_prompts]} ))",
        ),
    ];
    for (name, init, works) in plugins {
        let init: &'static str = Box::leak(init.into_boxed_str());
        run_in(
            Shell::Zsh,
            name,
            &Tool {
                init,
                prep: &[],
                works,
            },
        );
    }
}

/// Everything at once in zsh, mt in the middle: starship, atuin, direnv,
/// zoxide, fzf's key bindings, autosuggestions and syntax highlighting.
#[test]
fn zsh_with_every_tool_loaded_together() {
    let auto = "/usr/share/zsh-autosuggestions/zsh-autosuggestions.zsh";
    let syntax = "/usr/share/zsh-syntax-highlighting/zsh-syntax-highlighting.zsh";
    let fzf = "/usr/share/doc/fzf/examples/key-bindings.zsh";
    crate::require!(
        "tmux", "zsh", "starship", "atuin", "direnv", "zoxide", auto, syntax, fzf
    );
    let before = format!(
        "source {auto}\neval \"$(starship init zsh)\"\neval \"$(atuin init zsh)\"\nsource {fzf}"
    );
    let after =
        format!("eval \"$(direnv hook zsh)\"\neval \"$(zoxide init zsh)\"\nsource {syntax}");
    let env = Env::new();
    let work = setup(&env);
    let rc = format!("{before}\n{}\n{after}\n", Shell::Zsh.mt_line());
    let t = session(&env, Shell::Zsh, &work, &rc);
    let tool = Tool {
        init: "",
        prep: &[],
        works: "[[ $T_DIRENV == loaded ]] && (( ${+functions[_zsh_autosuggest_start]} ))",
    };
    check_records(&env, &t, &tool, Order::MtFirst, "every tool");
    assert!(
        !t.screen().contains("write error") && !t.screen().contains("No handler"),
        "{}",
        t.screen()
    );
}

/// A space-prefixed line stays private whatever the order of the rc file:
/// HISTCONTROL set after mt's line, with bash-preexec (or atuin, which
/// embeds it) loaded before or after mt — bash-preexec removes ignorespace
/// at its first prompt.
#[test]
fn bash_private_lines_whatever_the_order_of_histcontrol_and_bash_preexec() {
    crate::require!("tmux", "atuin");
    let probe = Env::new();
    let script = bash_preexec(&probe);
    let tools = [
        format!("source {}", script.display()),
        "eval \"$(atuin init bash)\"".to_owned(),
    ];
    let mt = Shell::Bash.mt_line();
    let hist = "HISTCONTROL=ignoreboth";
    for tool in &tools {
        let orders = [
            [mt, hist, tool.as_str()],
            [tool.as_str(), mt, hist],
            [mt, tool.as_str(), hist],
            [hist, tool.as_str(), mt],
        ];
        for order in orders {
            let env = Env::new();
            let work = setup(&env);
            let rc = format!("PS1='$ '\nunset HISTCONTROL\n{}\n", order.join("\n"));
            fs::write(env.home.join(".bashrc"), rc).unwrap();
            let rc_path = env.home.join(".bashrc");
            let argv = [
                "bash",
                "--noprofile",
                "--rcfile",
                rc_path.to_str().unwrap(),
                "-i",
            ];
            let path = path_with_mt();
            let t = crate::term::Term::start(&env, &work, &argv, &[("PATH", path.as_str())]);
            let n0 = env.log().len();
            let e = t.run(" echo my-secret-token", n0 + 1);
            let stored = e["command"].as_str().unwrap_or("");
            assert!(!stored.contains("my-secret-token"), "{order:?}: {e}");
            let e = t.run("echo done", n0 + 2);
            assert_eq!(e["command"], "echo done", "{order:?}");
        }
    }
}

/// ble.sh in each place of the rc file: mt's line between `source ble.sh
/// --noattach` and `ble-attach`, after `ble-attach`, and before ble.sh.
/// ble.sh is on no package registry (it is built from its repository), so
/// CI cannot install it: this runs where `MT_TEST_BLESH` names a built
/// `ble.sh` (`make` in a clone of akinomyoga/ble.sh with its contrib
/// submodule) and does nothing otherwise.
#[test]
fn bash_beside_ble_sh_in_every_order() {
    let Some(ble) = std::env::var_os("MT_TEST_BLESH") else {
        return;
    };
    crate::require!("tmux");
    let ble = ble.to_string_lossy().into_owned();
    let mt = Shell::Bash.mt_line();
    let source = format!("source {ble} --noattach");
    let attach = "[[ ${BLE_VERSION-} ]] && ble-attach";
    let orders = [
        [source.as_str(), mt, attach],
        [source.as_str(), attach, mt],
        [mt, source.as_str(), attach],
    ];
    for order in orders {
        let env = Env::new();
        let work = setup(&env);
        let tool = Tool {
            init: "",
            prep: &[],
            works: "[[ -n $BLE_VERSION ]]",
        };
        let t = session(&env, Shell::Bash, &work, &format!("{}\n", order.join("\n")));
        check_records(
            &env,
            &t,
            &tool,
            Order::MtFirst,
            &format!("ble.sh {order:?}"),
        );
    }
}

/// Everything at once in bash, HISTCONTROL set last: starship, atuin (and
/// its bash-preexec), direnv, zoxide and fzf's key bindings around mt.
#[test]
fn bash_with_every_tool_loaded_together() {
    crate::require!("tmux", "starship", "atuin", "direnv", "zoxide", "fzf");
    let env = Env::new();
    let work = setup(&env);
    let rc = format!(
        "PS1='$ '\nunset HISTCONTROL\neval \"$(starship init bash)\"\neval \"$(direnv hook bash)\"\n{}\neval \"$(atuin init bash)\"\neval \"$(zoxide init bash)\"\nsource /usr/share/doc/fzf/examples/key-bindings.bash\nHISTCONTROL=ignoreboth\n",
        Shell::Bash.mt_line()
    );
    let rc_path = env.home.join(".bashrc");
    fs::write(&rc_path, rc).unwrap();
    let starship = env.path("starship.toml");
    let path = path_with_mt();
    let argv = [
        "bash",
        "--noprofile",
        "--rcfile",
        rc_path.to_str().unwrap(),
        "-i",
    ];
    let t = crate::term::Term::start(
        &env,
        &work,
        &argv,
        &[
            ("PATH", path.as_str()),
            ("STARSHIP_CONFIG", starship.to_str().unwrap()),
        ],
    );
    let tool = Tool {
        init: "",
        prep: &[],
        works: "[[ $T_DIRENV == loaded ]] && bind -X | grep -q __fzf",
    };
    check_records(&env, &t, &tool, Order::MtFirst, "every tool");
}
