//! The `mt` front runs `mt exec` itself and hands every other command line
//! to `mt-core` by `execv`: the user sees one `mt` — its exit codes,
//! streams, signals, help and errors — wherever the pair is installed.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::{Env, MT, err, text};

const CORE: &str = env!("CARGO_BIN_EXE_mt-core");

#[test]
fn help_errors_and_exit_codes_name_mt() {
    let env = Env::new();
    let help = env.mt(env.dir.path(), ["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(
        text(&help).contains("Usage: mt <COMMAND>"),
        "{}",
        text(&help)
    );
    let exec_help = env.mt(env.dir.path(), ["exec", "--help"]);
    assert!(
        text(&exec_help).contains("Usage: mt exec"),
        "{}",
        text(&exec_help)
    );
    // A usage error: exit 2, and the message names mt, never mt-core.
    let bad = env.mt(env.dir.path(), ["bogus"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(err(&bad).contains("Usage: mt <COMMAND>"), "{}", err(&bad));
    assert!(!err(&bad).contains("mt-core"), "{}", err(&bad));
    // `mt exec`'s own usage errors are 125, as before the split.
    let bad_exec = env.mt(env.dir.path(), ["exec", "--phase", "lunch", "true"]);
    assert_eq!(bad_exec.status.code(), Some(125));
    // A command's error: one line starting `mt:`, exit 1.
    let outside = env.mt(env.dir.path(), ["status"]);
    assert_eq!(outside.status.code(), Some(1));
    assert!(err(&outside).starts_with("mt: this directory is not in a git repository"));
    let version = env.ok(env.dir.path(), ["--version"]);
    // The version and the build it is: `mt 0.1.0+<16 hex digits>`.
    let (semver, build) = version.trim().split_once('+').unwrap();
    assert_eq!(semver, format!("mt {}", env!("CARGO_PKG_VERSION")));
    assert!(
        build.len() == 16 && build.bytes().all(|b| b.is_ascii_hexdigit()),
        "{version}"
    );
}

#[test]
fn streams_pass_through_and_the_pid_is_the_same_process() {
    let env = Env::new();
    // A core command's stdout is the caller's.
    let hook = env.ok(env.dir.path(), ["init", "bash"]);
    assert!(hook.contains("__mt_precmd"));
    // The front replaces itself: the daemon started as `mt daemon run` is
    // the very process spawned, so signals sent to it reach mt-core.
    let mut child = Command::new(MT);
    env.apply(&mut child)
        .args(["daemon", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = child.spawn().unwrap();
    let pid = child.id();
    let status = crate::harness::wait_for("the daemon to answer", || {
        let out = env.mt(env.dir.path(), ["daemon", "status"]);
        out.status.success().then(|| text(&out))
    });
    assert!(status.contains(&format!("pid {pid}")), "{status}");
    // SAFETY: signalling the daemon this test spawned.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success(), "SIGTERM ends it cleanly");
    // stdin is the caller's too (a non-plain `mt exec` form goes through
    // the front's own path; `--tool=x` is plain).
    let mut cat = Command::new(MT);
    env.apply(&mut cat)
        .args(["exec", "--tool=x", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut cat = cat.spawn().unwrap();
    cat.stdin.take().unwrap().write_all(b"through\n").unwrap();
    assert_eq!(text(&cat.wait_with_output().unwrap()), "through\n");
}

fn copy_exe(from: &str, dir: &Path, name: &str) {
    fs::create_dir_all(dir).unwrap();
    fs::copy(from, dir.join(name)).unwrap();
}

/// Run the `mt` in `dir` with `args`, nothing of the build on `PATH`.
fn run_copy(env: &Env, dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(dir.join("mt"));
    env.apply(&mut cmd)
        .env("PATH", "/usr/bin:/bin")
        .env("MT_NO_AUTOSTART", "1")
        .args(args)
        .output()
        .unwrap()
}

/// Installed anywhere, or moved together elsewhere, the pair finds itself;
/// a front without its core says what to do.
#[test]
fn the_pair_works_wherever_it_is_installed() {
    let env = Env::new();
    for dir in ["prefix/bin", "moved/elsewhere"] {
        let dir = env.path(dir);
        copy_exe(MT, &dir, "mt");
        copy_exe(CORE, &dir, "mt-core");
        let out = run_copy(&env, &dir, &["--version"]);
        assert!(out.status.success(), "{}: {}", dir.display(), err(&out));
        // The hook mt writes names the front, not the core.
        let hook = run_copy(&env, &dir, &["init", "bash"]);
        let bin = format!("__mt_bin='{}'", dir.join("mt").display());
        assert!(text(&hook).contains(&bin), "{}", text(&hook));
    }
    let alone = env.path("alone");
    copy_exe(MT, &alone, "mt");
    let out = run_copy(&env, &alone, &["log"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).starts_with("mt: mt-core is not installed beside this mt or on PATH"),
        "{}",
        err(&out)
    );
    // `mt exec` needs no core at all.
    let out = run_copy(&env, &alone, &["exec", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
}
