//! The `mt` binary's whole program: the plain forms of `mt exec` run here,
//! and every other command line goes to `mt-core` (installed beside it)
//! with `execv`, the way `git` runs `git-foo`. This crate depends on std,
//! libc and nix only, so the binary on every wrapped command's path cannot
//! reach SQLite, tokio, clap or a git process: using one here does not
//! compile.

use std::ffi::{CStr, OsStr, OsString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;

use crate::exec::{self, Args};
use crate::paths;
use crate::wrapper;

/// Run `mt` with C's arguments; the result is the exit status when it
/// returns at all (`mt exec` exits as its command did). `build` is this
/// build's identity (`mt --version`'s text).
///
/// # Safety
///
/// `argv` must hold `argc` valid NUL-terminated strings, as C's `main`
/// receives them.
pub unsafe fn main(argc: c_int, argv: *const *const c_char, build: &str) -> c_int {
    wrapper::runtime_defaults();
    let args: Vec<OsString> = (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: the caller passes C main's `argc` valid strings.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsStr::from_bytes(arg.to_bytes()).to_owned()
        })
        .collect();
    let is_exec = args.get(1).is_some_and(|a| a == "exec");
    if is_exec && let Some(plain) = Args::parse_plain(&args[2..]) {
        exec::run(&plain, build);
    }
    // `mt exec` keeps 126/127 for its command; its own failures are 125.
    let failed = if is_exec { 125 } else { 1 };
    let Some(core) = paths::core_exe() else {
        eprintln!(
            "mt: mt-core is not installed beside this mt or on PATH; reinstall both (`cargo install --path .`)"
        );
        return failed;
    };
    let err = std::process::Command::new(&core)
        .arg0("mt")
        .args(args.get(1..).unwrap_or_default())
        .exec();
    eprintln!(
        "mt: could not run {}: {err}; reinstall mt (`cargo install --path .`)",
        core.display()
    );
    failed
}
