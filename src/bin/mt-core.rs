//! `mt-core`: every subcommand. The `mt` front (`mt_record::front`) runs `mt exec`
//! itself and hands everything else here with `execv`, `argv[0]` = `mt`,
//! so help and errors name `mt`. Parse, dispatch, turn the result into an
//! exit status.

use std::process::ExitCode;

use clap::Parser;
use mt::cli::Cli;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let is_exec = args.get(1).is_some_and(|a| a == "exec");
    // `mt exec` is on every wrapped command's path: skip building the whole
    // clap tree when its arguments are the plain forms. Anything else
    // (help, a typo) goes through clap, which stays the one definition.
    if is_exec && let Some(exec) = mt_record::exec::Args::parse_plain(&args[2..]) {
        mt::cmd::exec(&exec);
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            // `mt exec` keeps 126/127 for its command; its own failures are 125.
            let usage = if is_exec { 125 } else { 2 };
            return ExitCode::from(if code == 0 { 0 } else { usage });
        }
    };
    mt::cmd::closed_stdout_ends_quietly(&cli.cmd);
    match mt::cmd::run(cli.cmd) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if mt::cmd::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("mt: {e:#}");
            ExitCode::from(1)
        }
    }
}
