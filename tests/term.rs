//! A real interactive shell under a pty (tmux), driven by keystrokes. Tests
//! wait for records to land in the store, not for prompt text.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{Env, MT, wait_for};

pub(crate) struct Term<'a> {
    env: &'a Env,
    sock: PathBuf,
    /// The shell in the pane, waited for on drop: killed by the server's
    /// SIGHUP, bash still writes its history file, which would otherwise
    /// land in the test's directory after it was removed.
    shell: i32,
}

impl<'a> Term<'a> {
    /// Start `argv` in a new tmux server with `env`'s environment plus `vars`.
    pub(crate) fn start(
        env: &'a Env,
        cwd: &Path,
        argv: &[&str],
        vars: &[(&str, &str)],
    ) -> Term<'a> {
        let sock = env.dir.path().join(format!("tmux-{}", argv[0]));
        let mut cmd = Command::new("tmux");
        env.apply(&mut cmd)
            .env("PATH", path_with_mt())
            .env("TERM", "xterm-256color")
            .env_remove("TMUX")
            .envs(vars.iter().copied())
            .args([
                "-S",
                sock.to_str().unwrap(),
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
            ])
            .arg("-c")
            .arg(cwd)
            .arg("--")
            .args(argv);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut term = Term {
            env,
            sock,
            shell: 0,
        };
        term.shell = term.shell_pid();
        term
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.sock)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Type `line` and press Enter.
    pub(crate) fn line(&self, line: &str) {
        if !line.is_empty() {
            self.tmux(&["send-keys", "-l", line]);
        }
        self.tmux(&["send-keys", "Enter"]);
    }

    /// Type without pressing Enter.
    pub(crate) fn tmux_type(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
    }

    pub(crate) fn key(&self, key: &str) {
        self.tmux(&["send-keys", key]);
    }

    pub(crate) fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-S", "-200"])
    }

    /// The pid of the shell in the pane.
    pub(crate) fn shell_pid(&self) -> i32 {
        self.tmux(&["display-message", "-p", "#{pane_pid}"])
            .trim()
            .parse()
            .unwrap()
    }

    /// Wait until a process named `name` runs in the shell's session.
    pub(crate) fn wait_for_process(&self, name: &str) {
        let sid = self.shell_pid().to_string();
        wait_for(&format!("{name} to run"), || {
            let out = Command::new("pgrep")
                .args(["-s", &sid, "-x", name])
                .output()
                .ok()?;
            out.status.success().then_some(())
        });
    }

    /// Wait until exactly `n` commands are stored; returns them oldest first.
    pub(crate) fn records(&self, n: usize) -> Vec<Value> {
        let log = wait_for(&format!("{n} records (screen:\n{})", self.screen()), || {
            let log = self.env.log();
            (log.len() >= n).then_some(log)
        });
        let mut log = log;
        log.reverse();
        log
    }

    /// Type `line`, then wait for the record it makes (the `n`th overall).
    pub(crate) fn run(&self, line: &str, n: usize) -> Value {
        self.line(line);
        self.records(n).pop().unwrap()
    }
}

impl Drop for Term<'_> {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
        let gone = || {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.shell));
            // Gone, or a zombie nobody reaps (PID 1 in a container may not).
            stat.map_or(true, |s| {
                s.rsplit(')').next().is_some_and(|r| r.starts_with(" Z"))
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !gone() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// Interactive bash in `cwd` whose ~/.bashrc is `rc` (after a plain prompt).
pub(crate) fn bash<'a>(env: &'a Env, cwd: &Path, rc: &str) -> Term<'a> {
    let rc_path = env.home.join(".bashrc");
    std::fs::write(&rc_path, format!("PS1='$ '\nHISTFILE=/dev/null\n{rc}\n")).unwrap();
    Term::start(
        env,
        cwd,
        &[
            "bash",
            "--noprofile",
            "--rcfile",
            rc_path.to_str().unwrap(),
            "-i",
        ],
        &[],
    )
}

/// Type 20 builtin commands under strace: the shell must fork for none,
/// and open at most `opens` files per command (the hook's budget: a
/// counting check that does not depend on the machine's speed).
pub(crate) fn assert_prompt_budget(env: &Env, t: &Term<'_>, opens: usize) {
    t.run("true", 1);
    let trace = env.path("strace.out");
    let mut strace = Command::new("strace")
        .args([
            "-f",
            "-e",
            "trace=clone,clone3,fork,vfork,open,openat",
            "-o",
            trace.to_str().unwrap(),
            "-p",
        ])
        .arg(t.shell_pid().to_string())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("strace to attach", || std::fs::metadata(&trace).ok());
    for _ in 0..20 {
        t.line(":");
    }
    t.records(21);
    // SAFETY: stopping the strace this test started.
    unsafe { libc::kill(strace.id() as i32, libc::SIGINT) };
    strace.wait().unwrap();
    let calls = std::fs::read_to_string(&trace).unwrap();
    let forks = calls
        .lines()
        .filter(|l| l.contains("clone") || l.contains("fork("))
        .count();
    assert_eq!(forks, 0, "20 builtin commands forked:\n{calls}");
    let opened = calls.lines().filter(|l| l.contains("open")).count();
    assert!(
        opened <= 20 * opens,
        "20 commands opened {opened} files; budget {opens} per command:\n{calls}"
    );
}

/// A command run at the prompt (the `nth` record) inherits only the
/// terminal's three descriptors: whatever the hook keeps open is
/// close-on-exec, so recording changes nothing a command can see.
pub(crate) fn assert_no_inherited_fds(env: &Env, t: &Term<'_>, nth: usize) {
    let out = env.home.join("fds");
    t.line(&format!("ls /proc/self/fd > {}", out.display()));
    t.records(nth);
    let fds = std::fs::read_to_string(&out).unwrap();
    // ls itself has its output (1) and the directory it lists open.
    let mut fds: Vec<u32> = fds.lines().map(|l| l.parse().unwrap()).collect();
    fds.sort_unstable();
    assert_eq!(fds, [0, 1, 2, 3], "descriptors a command inherits");
}

/// PATH with the directory of the `mt` under test first.
pub(crate) fn path_with_mt() -> String {
    let dir = Path::new(MT).parent().unwrap();
    format!(
        "{}:{}",
        dir.display(),
        crate::harness::test_path().to_string_lossy()
    )
}

/// The commands of records, in order.
pub(crate) fn commands(log: &[Value]) -> Vec<String> {
    log.iter()
        .map(|e| e["command"].as_str().unwrap().to_owned())
        .collect()
}
