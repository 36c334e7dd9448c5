//! `mt`: the front binary on every wrapped command's path. It runs the
//! plain forms of `mt exec` itself — linking only what they need: std,
//! libc, the spool writer and the wrapper, no clap tree, no SQLite, no
//! tokio — and hands every other command line to `mt-core` (installed
//! beside it) with `execv`, the way `git` runs `git-foo`.
//!
//! It starts at C's `main` (`no_main`): Rust's own start-up probes the main
//! thread's stack by reading /proc/self/maps and sets up a stack-overflow
//! handler with its own alternate stack, work that ran on every wrapped
//! command; `cmd::runtime_defaults` does the part mt needs (BENCHMARKS.md).
#![no_main]

use std::ffi::{CStr, OsStr, OsString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    mt::cmd::runtime_defaults();
    let args: Vec<OsString> = (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: C's main gets `argc` valid NUL-terminated strings.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsStr::from_bytes(arg.to_bytes()).to_owned()
        })
        .collect();
    let is_exec = args.get(1).is_some_and(|a| a == "exec");
    if is_exec && let Some(exec) = mt::cli::fast_exec(&args[2..]) {
        mt::cmd::exec(exec);
    }
    // `mt exec` keeps 126/127 for its command; its own failures are 125.
    let failed = if is_exec { 125 } else { 1 };
    let Some(core) = mt::paths::core_exe() else {
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
