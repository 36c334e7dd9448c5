//! The command line: one clap derive tree; doc comments are the help text.

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand, ValueEnum};
pub use mt_record::domain::Phase;
use mt_record::domain::Text;

use crate::milestone::kinds::{Level, Priority, WorkType};

/// Measure how software work actually goes: record every command, attribute
/// it to its git branch, write milestones from what was measured.
#[derive(Debug, Parser)]
#[command(name = "mt", version = crate::daemon::control::VERSION, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run a command exactly as if bare, and record it.
    Exec(ExecArgs),
    /// Recorded commands, newest first.
    Log(LogArgs),
    /// This branch's open work: runs, failures, active time, what is running.
    Status(StatusArgs),
    /// Write the milestone of a finished branch from what was recorded on it.
    Close(CloseArgs),
    /// Monthly summary and dashboards from the team's milestone files.
    Report {
        #[command(subcommand)]
        what: ReportCmd,
    },
    /// CI figures of this run (under CI=true).
    Ci {
        #[command(subcommand)]
        what: CiCmd,
    },
    /// Remove stored commands that match PATTERN (a regex), or mask what is
    /// stored again with today's redaction rules (--reapply).
    Forget {
        /// Commands whose text matches this regex are deleted.
        #[arg(required_unless_present = "reapply", conflicts_with = "reapply")]
        pattern: Option<String>,
        /// Apply the current redaction rules (built-in and `redact` in config) to everything stored.
        #[arg(long)]
        reapply: bool,
    },
    /// Mark that time from now on counts to a phase.
    Phase {
        #[arg(value_parser = one_of(&Phase::WORK))]
        phase: Phase,
    },
    /// Run, start, stop or query the recording daemon.
    Daemon {
        #[command(subcommand)]
        action: DaemonCmd,
    },
    /// Check every part of the installation and say how to fix what is wrong.
    Doctor {
        /// One JSON object per check: {"ok": bool, "what": "…"}.
        #[arg(long)]
        json: bool,
    },
    /// Print the shell hook for your rc file (bash, zsh, fish); install the
    /// post-merge hook (git); write milestones/ and its templates
    /// (milestones); install the systemd user units (systemd); print the
    /// environment that records a coding agent's commands (agent); or
    /// install Claude Code's or Gemini CLI's hooks (claude-code,
    /// gemini-cli).
    Init {
        #[arg(value_enum)]
        target: InitTarget,
        /// systemd: print the units instead of writing them.
        #[arg(long)]
        print: bool,
        /// git: also a pre-push hook that refreshes the branch's draft
        /// milestone, so it travels in the pull request.
        #[arg(long)]
        in_pr: bool,
        /// agent: the agent's name in milestones (default: found from the
        /// variables each agent sets).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// claude-code, gemini-cli: your user settings (~/.claude/ or
        /// ~/.gemini/settings.json), not this project's.
        #[arg(long)]
        user: bool,
        /// claude-code, gemini-cli: take mt's hooks out again, leaving the
        /// rest.
        #[arg(long)]
        remove: bool,
    },
    /// Record what a coding agent's hook reports (JSON on stdin): its
    /// commands and the files it writes. Prints nothing, exits 0.
    #[command(hide = true)]
    AgentHook {
        #[arg(value_enum)]
        agent: HookedAgent,
    },
    /// Print shell completions for mt.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    #[command(hide = true)]
    Man,
    /// Write a hook record (used by the fish hook, which has no µs clock).
    #[command(hide = true)]
    HookRecord(HookRecordArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitTarget {
    Bash,
    Zsh,
    Fish,
    Git,
    Milestones,
    Systemd,
    Agent,
    ClaudeCode,
    GeminiCli,
}

/// Agents whose own hooks mt reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookedAgent {
    ClaudeCode,
    GeminiCli,
}

#[derive(Debug, Args)]
pub struct HookRecordArgs {
    #[arg(long)]
    pub sid: String,
    #[arg(long)]
    pub pid: u32,
    #[arg(long)]
    pub exit: i32,
    #[arg(long, default_value = "")]
    pub pipestatus: String,
    #[arg(long)]
    pub duration_ms: u64,
    #[arg(long, value_parser = clap::value_parser!(OsString))]
    pub cwd: OsString,
    #[arg(trailing_var_arg = true, value_parser = clap::value_parser!(OsString))]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Count this run to a phase, whatever the classification rules say.
    #[arg(long, value_parser = one_of(&Phase::WORK))]
    pub phase: Option<Phase>,
    /// Name the tool this run is (as in the milestone's "Tools Used").
    #[arg(long, value_name = "NAME")]
    pub tool: Option<String>,
    /// The command and its arguments, passed on byte for byte.
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "CMD",
        value_parser = clap::value_parser!(OsString)
    )]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct CloseArgs {
    /// The branch (default: on the default branch, every finished branch;
    /// on another branch, its draft milestone).
    pub branch: Option<String>,
    #[command(flatten)]
    pub declared: DeclaredArgs,
    /// Print the milestone; write nothing and close nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the measured figures as JSON.
    #[arg(long)]
    pub json: bool,
    /// Drop BRANCH's open span without a milestone (abandoned work); its
    /// runs stay in `mt log`.
    #[arg(long, requires = "branch", conflicts_with_all = ["dry_run", "json"])]
    pub discard: bool,
    /// Run by the git hooks: act only on the default branch, print only
    /// what was written, never fail.
    #[arg(long, hide = true, conflicts_with_all = ["branch", "dry_run", "json"])]
    pub hook: bool,
    /// Run by the pre-push hook: refresh this branch's draft, say in one
    /// line if it changed, never fail.
    #[arg(long, hide = true, conflicts_with_all = ["branch", "dry_run", "json", "hook"])]
    pub refresh_draft: bool,
}

/// What the author declares about the work: each flag is optional and
/// falls back to what is inferred from the branch or measured.
#[derive(Debug, Clone, Default, Args)]
pub struct DeclaredArgs {
    /// The kind of work (default: from the branch name, else enhancement).
    #[arg(long = "type", value_name = "TYPE", value_parser = one_of(WorkType::ALL))]
    pub kind: Option<WorkType>,
    /// Issue number, `12` or `#12` (default: from the branch name).
    #[arg(long, value_parser = number_arg)]
    pub issue: Option<u64>,
    /// Pull request number, `91` or `#91`.
    #[arg(long, value_parser = number_arg)]
    pub pr: Option<u64>,
    /// How urgent the work was (default: unset; it is judgement).
    #[arg(long, value_parser = one_of(Priority::ALL))]
    pub priority: Option<Priority>,
    /// How big the change was (default: from the diff size).
    #[arg(long, value_parser = one_of(Level::ALL))]
    pub complexity: Option<Level>,
    /// Title (default: from the branch name).
    #[arg(long)]
    pub title: Option<String>,
    /// A declared baseline, PHASE=DURATION (e.g. validation=2h); repeatable.
    #[arg(long = "baseline", value_name = "PHASE=DURATION", value_parser = baseline_arg)]
    pub baselines: Vec<(String, u64)>,
    /// Text for the problem statement.
    #[arg(long)]
    pub note: Option<String>,
}

impl From<DeclaredArgs> for crate::close::Declared {
    fn from(a: DeclaredArgs) -> Self {
        crate::close::Declared {
            kind: a.kind,
            issue: a.issue,
            pr: a.pr,
            priority: a.priority,
            complexity: a.complexity,
            title: a.title,
            baselines: a.baselines,
            note: a.note,
        }
    }
}

/// An issue or pull request number as people write it: `12` or `#12`.
fn number_arg(text: &str) -> Result<u64, String> {
    match text.strip_prefix('#').unwrap_or(text).parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{text:?} is not an issue or pull request number; give it like 12 or #12"
        )),
    }
}

/// `--baseline` checked as it is parsed: a bad one is a usage error (exit
/// 2, naming the phases and the duration form) whatever is waiting to be
/// closed, never a silent success.
fn baseline_arg(spec: &str) -> Result<(String, u64), String> {
    crate::milestone::baseline::parse_flag(spec).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only commands recorded on this branch.
    #[arg(long)]
    pub branch: Option<String>,
    /// At most this many commands.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
    /// Every branch of this repository (all worktrees) with an open span:
    /// runs, active time, and whether its work is in the default branch.
    #[arg(long)]
    pub branches: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReportCmd {
    /// Write milestones/YYYY-MM/monthly-summary.md and print the headline figures.
    Month {
        /// The month, YYYY-MM (default: this month).
        #[arg(value_parser = month_arg)]
        month: Option<String>,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write milestones/dashboards/ (advantages, trends, ROI).
    Dashboards {
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CiCmd {
    /// Duration, success rate and step timings to $GITHUB_STEP_SUMMARY and milestone_metrics.yaml.
    Summary,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum DaemonCmd {
    /// Run in the foreground (what auto-start and systemd run).
    Run,
    /// Start in the background unless one is running; wait until it answers.
    Start,
    /// Ask the running daemon to finish its work and exit.
    Stop,
    /// Is a daemon running, and what has it done?
    Status,
}

/// A closed set of the domain as clap offers it: `values`' names are the
/// possible values (listed in help and in a usage error), and the text
/// parsed is the value. One list, the domain's ([`Text`]).
pub(crate) fn one_of<T: Text + Clone + Send + Sync>(
    values: &'static [T],
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser as _};
    PossibleValuesParser::new(values.iter().map(|v| PossibleValue::new(v.as_str())))
        .map(|text| T::parse(&text).expect("clap offered only these names"))
}

impl From<ExecArgs> for mt_record::exec::Args {
    fn from(args: ExecArgs) -> Self {
        mt_record::exec::Args {
            phase: args.phase,
            tool: args.tool,
            command: args.command,
        }
    }
}

/// A month exactly as `YYYY-MM` (2026-11); `2026-1` or `2026-13` is a
/// usage error, not a report of nothing.
fn month_arg(text: &str) -> Result<String, String> {
    let date = chrono::NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d");
    match date {
        Ok(d) if d.format("%Y-%m").to_string() == text => Ok(text.to_owned()),
        _ => Err(format!(
            "{text:?} is not a month; write it as YYYY-MM, like 2026-11"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path must agree with clap wherever it answers at all.
    #[test]
    fn fast_exec_agrees_with_clap() {
        let cases: &[&[&str]] = &[
            &["true"],
            &["ls", "-la", "--color=never"],
            &["--", "--weird"],
            &["--phase", "validation", "make", "check"],
            &[
                "--phase=diagnosis",
                "--tool",
                "qc",
                "--",
                "./qc.sh",
                "--fast",
            ],
            &["--tool=x", "sh", "-c", "exit 3"],
        ];
        for args in cases {
            let os: Vec<OsString> = args.iter().map(OsString::from).collect();
            let fast = mt_record::exec::Args::parse_plain(&os).expect("plain form");
            let full =
                Cli::try_parse_from(["mt", "exec"].iter().map(OsString::from).chain(os.clone()))
                    .unwrap();
            let Cmd::Exec(slow) = full.cmd else {
                panic!("not exec")
            };
            assert_eq!(
                (fast.phase, fast.tool, fast.command),
                (slow.phase, slow.tool, slow.command),
                "{args:?}"
            );
        }
        for args in [
            &["--bogus", "x"][..],
            &["--phase", "nope", "x"],
            &["--help"],
            &[],
        ] {
            let os: Vec<OsString> = args.iter().map(OsString::from).collect();
            assert!(
                mt_record::exec::Args::parse_plain(&os).is_none(),
                "{args:?} must go to clap"
            );
        }
    }
}
