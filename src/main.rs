//! `mt`: the front binary on every wrapped command's path. It runs the
//! plain forms of `mt exec` itself — linking only what they need: std,
//! libc, the spool writer and the wrapper, no clap tree, no SQLite, no
//! tokio — and hands every other command line to `mt-core` (installed
//! beside it) with `execv`, the way `git` runs `git-foo`.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let is_exec = args.get(1).is_some_and(|a| a == "exec");
    if is_exec && let Some(exec) = mt::cli::fast_exec(&args[2..]) {
        mt::cmd::exec(exec);
    }
    // `mt exec` keeps 126/127 for its command; its own failures are 125.
    let failed = ExitCode::from(if is_exec { 125 } else { 1 });
    let Some(core) = mt::paths::core_exe() else {
        eprintln!(
            "mt: mt-core is not installed beside this mt or on PATH; reinstall both (`cargo install --path .`)"
        );
        return failed;
    };
    let err = std::process::Command::new(&core)
        .arg0("mt")
        .args(&args[1..])
        .exec();
    eprintln!(
        "mt: could not run {}: {err}; reinstall mt (`cargo install --path .`)",
        core.display()
    );
    failed
}
