//! One module per subcommand: glue between the CLI and the library.

mod agent;
mod ci;
mod close;
mod daemon;
mod doctor;
mod forget;
mod hook_record;
pub(crate) mod init;
mod log;
mod phase;
mod report;
mod shell_check;
pub mod status;
pub(crate) mod systemd;

use anyhow::Result;

use crate::cli::Cmd;

/// `mt exec` under this build's identity (a daemon of another build is
/// replaced): the front binary's path, also taken by `mt-core exec`.
pub fn exec(args: &mt_record::exec::Args) -> ! {
    mt_record::exec::run(args, crate::daemon::control::VERSION)
}

/// Run a subcommand; the result is the exit status.
pub fn run(cmd: Cmd) -> Result<u8> {
    match cmd {
        Cmd::Exec(args) => exec(&args.into()),
        Cmd::Log(args) => log::run(&args),
        Cmd::Close(args) => close::run(&args),
        Cmd::Report { what } => report::run(what),
        Cmd::Ci {
            what: crate::cli::CiCmd::Summary,
        } => ci::run(),
        Cmd::Status(args) => status::run(&args),
        Cmd::Phase { phase } => phase::run(phase),
        Cmd::Forget { pattern, reapply } => forget::run(pattern.as_deref(), reapply),
        Cmd::Daemon { action } => daemon::run(action),
        Cmd::Doctor { json } => doctor::run(json),
        Cmd::Init {
            target: crate::cli::InitTarget::Agent,
            name,
            ..
        } => agent::init(name.as_deref()),
        Cmd::Init {
            target:
                target @ (crate::cli::InitTarget::ClaudeCode | crate::cli::InitTarget::GeminiCli),
            user,
            remove,
            ..
        } => agent::install(target, user, remove),
        Cmd::Init {
            target,
            print,
            in_pr,
            ..
        } => init::run(target, print, in_pr),
        Cmd::AgentHook { agent } => agent::hook(agent),
        Cmd::HookRecord(args) => hook_record::run(&args),
        Cmd::Completions { shell } => {
            let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "mt", &mut std::io::stdout());
            Ok(0)
        }
        Cmd::Man => {
            let cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
            Ok(0)
        }
    }
}

/// `mt log | head`: when the reader goes away, a command that prints ends
/// as other command-line tools do, by SIGPIPE's default action, silently.
/// Not the daemon (a client that hangs up must not kill it), not `mt exec`
/// (its child gets the disposition mt was started with) and not the
/// hook's helper, which prints nothing.
pub fn closed_stdout_ends_quietly(cmd: &Cmd) {
    if matches!(
        cmd,
        Cmd::Daemon { .. } | Cmd::Exec(_) | Cmd::HookRecord(_) | Cmd::AgentHook { .. }
    ) {
        return;
    }
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: restoring a default disposition before any thread is started.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// Output cut short by a closed pipe (`mt log | head`) is not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
