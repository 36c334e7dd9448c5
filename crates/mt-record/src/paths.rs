//! Where mt keeps things: database, spool, control socket, config, locks.
//!
//! Every path has a default from the XDG base directory conventions, a
//! per-path override (`MT_DB`, `MT_SPOOL`, `MT_SOCKET`, `MT_CONFIG`) and one
//! root (`MT_HOME`) that puts all of them under a single directory, which is
//! what tests use. Nothing here touches the file system.

use std::env;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Paths {
    /// SQLite database file.
    pub db: PathBuf,
    /// Spool directory: the only way events enter mt.
    pub spool: PathBuf,
    /// Control socket of the daemon.
    pub socket: PathBuf,
    /// User config file (`config.toml`).
    pub config: PathBuf,
    /// State dir: the daemon log.
    pub state: PathBuf,
}

fn var(name: &str) -> Option<PathBuf> {
    env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// mt's own path overrides.
const OVERRIDES: [&str; 5] = ["MT_HOME", "MT_DB", "MT_SPOOL", "MT_SOCKET", "MT_CONFIG"];

/// One of mt's own overrides (`MT_HOME`, `MT_DB`, …): a relative one is
/// taken from the directory mt was started in, so the daemon (which runs
/// in `/`) and every client name the same file.
fn mt_var(name: &str) -> Option<PathBuf> {
    var(name).map(|p| std::path::absolute(&p).unwrap_or(p))
}

/// The overrides set in this environment, each made absolute: what a
/// process started elsewhere (the daemon, in `/`) must be given.
pub fn absolute_overrides() -> Vec<(&'static str, PathBuf)> {
    (OVERRIDES.iter())
        .filter_map(|&name| Some((name, mt_var(name)?)))
        .collect()
}

impl Paths {
    /// Resolve every path from the environment.
    pub fn from_env() -> Paths {
        let home = mt_var("MT_HOME");
        let (data, state, runtime, config) = match &home {
            Some(root) => (
                root.join("data"),
                root.join("state"),
                root.join("run"),
                root.join("config"),
            ),
            None => default_dirs(),
        };
        let spool = mt_var("MT_SPOOL").unwrap_or_else(|| state.join("spool"));
        Paths {
            db: mt_var("MT_DB").unwrap_or_else(|| data.join("mt.db")),
            state,
            spool,
            socket: mt_var("MT_SOCKET").unwrap_or_else(|| runtime.join("mt.sock")),
            config: mt_var("MT_CONFIG").unwrap_or_else(|| config.join("config.toml")),
        }
    }

    /// Lock held by the one process that may ingest (the daemon, or a reader
    /// when no daemon runs).
    pub fn ingest_lock(&self) -> PathBuf {
        // Locks live in the spool dir so that every process sharing a spool
        // shares its locks, whatever else is overridden.
        self.spool.join(".ingest.lock")
    }

    /// The runtime dir (the socket's): private, and tmpfs where
    /// `XDG_RUNTIME_DIR` is set, so the bash hook keeps its per-command
    /// scratch file there (on a disk it costs a truncate per command).
    pub fn runtime(&self) -> PathBuf {
        self.socket
            .parent()
            .map_or_else(|| self.state.clone(), std::path::Path::to_path_buf)
    }

    /// Lock that serialises auto-starts, so parallel first calls start one daemon.
    pub fn start_lock(&self) -> PathBuf {
        self.spool.join(".start.lock")
    }

    /// Where a detached daemon writes its warnings.
    pub fn daemon_log(&self) -> PathBuf {
        self.state.join("daemon.log")
    }
}

fn default_dirs() -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let home = home();
    let data = xdg("XDG_DATA_HOME", &home, ".local/share").join("mt");
    let state = xdg("XDG_STATE_HOME", &home, ".local/state").join("mt");
    let config = config_home().join("mt");
    // A relative runtime dir is ignored, as the XDG specification says of
    // every base directory: the daemon runs in `/`, a client elsewhere.
    let runtime = match var("XDG_RUNTIME_DIR").filter(|d| d.is_absolute()) {
        Some(dir) => dir.join("mt"),
        // Without a runtime dir, a per-user dir in /tmp, checked for owner and
        // mode before use like the runtime one.
        None => PathBuf::from(format!("/tmp/mt-{}", nix::unistd::getuid())),
    };
    (data, state, runtime, config)
}

/// `$XDG_CONFIG_HOME`, else `~/.config`: where mt's config and the
/// systemd user units go.
pub fn config_home() -> PathBuf {
    xdg("XDG_CONFIG_HOME", &home(), ".config")
}

/// `$HOME`, else the home the password database names, else `/`.
fn home() -> PathBuf {
    var("HOME")
        .or_else(|| {
            let user = nix::unistd::User::from_uid(nix::unistd::getuid()).ok()??;
            Some(user.dir)
        })
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// An XDG base directory: the variable when it holds an absolute path (the
/// specification says to ignore a relative one), else its default under
/// the home directory.
fn xdg(name: &str, home: &std::path::Path, default: &str) -> PathBuf {
    var(name)
        .filter(|d| d.is_absolute())
        .unwrap_or_else(|| home.join(default))
}

/// True when `MT_DISABLE` is set to anything but "" or "0".
pub fn disabled() -> bool {
    flag("MT_DISABLE")
}

/// True when `MT_NO_AUTOSTART` is set, or in CI, where no daemon may be left behind.
pub fn no_autostart() -> bool {
    flag("MT_NO_AUTOSTART") || in_ci()
}

/// `CI=true` (GitHub Actions, GitLab, most others).
pub fn in_ci() -> bool {
    env::var_os("CI").is_some_and(|v| v == "true" || v == "1")
}

fn flag(name: &str) -> bool {
    env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The `mt-core` binary the front hands commands to: beside this
/// executable (wherever both were installed or copied), else on `PATH`.
pub fn core_exe() -> Option<PathBuf> {
    sibling("mt-core").or_else(|| on_path("mt-core"))
}

/// The `mt` front, for what mt writes into hooks and units: beside this
/// executable when it is there, else this executable.
pub fn front_exe() -> std::io::Result<PathBuf> {
    Ok(sibling("mt").unwrap_or(std::env::current_exe()?))
}

fn sibling(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join(name);
    path.is_file().then_some(path)
}

/// The executable `name` on `PATH`, as `execvp` would find it (a file
/// without an execute bit is passed over).
pub fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}
