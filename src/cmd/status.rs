//! `mt status`: the open span of the current repository and branch.

use std::hash::BuildHasher;
use std::io::{self, Write};

use crate::display::safe;
use anyhow::{Context, Result};
use serde_json::json;

use crate::cli::StatusArgs;
use crate::close::finished::Checker;
use crate::close::summary;
use crate::config::Config;
use crate::daemon::catchup;
use crate::event::human_ms;
use crate::git;
use crate::paths::Paths;
use crate::store::Store;

pub fn run(args: &StatusArgs) -> Result<u8> {
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let repo = git::find(&cwd)
        .context("this directory is not in a git repository; run mt status inside one")?;
    let branch = git::current_head(&repo)
        .context("could not read HEAD of this repository; is .git intact?")?
        .branch();
    let root = repo.root.to_string_lossy().into_owned();
    let paths = Paths::from_env();
    let config = crate::config::effective(&paths.config, Some(&repo.root))?;
    let store = catchup::readable_store(&paths)?;
    // Said here as well as by `mt doctor`: a hook that stopped recording
    // loses every command from then on, without a sound otherwise.
    if let super::shell_check::Hook::Stopped(why) = super::shell_check::this_shell(&paths) {
        eprintln!("mt: {why}");
    }
    if args.branches {
        return branches(&repo, &config, &store, args.json);
    }
    let idle_us = config.idle_timeout_us();
    let sum = summary::summary(&store, &root, &branch, idle_us)?;
    if sum.counts.runs > 0 {
        no_hooks_hint(&repo, &paths);
    }
    let running = store.running_on(&root, &branch)?;
    let active_ms = sum.active_us as f64 / 1000.0;
    let c = sum.counts;
    let mut out = io::stdout().lock();
    if args.json {
        let v = json!({
            "repo": root,
            "branch": branch,
            "runs": c.runs,
            "failures": c.failures,
            "automated_runs": c.automated,
            "manual_runs": c.manual,
            "active_ms": active_ms,
            "idle_timeout_s": config.idle_timeout().as_secs(),
            "first_start": sum.first_us.map(crate::event::rfc3339),
            "running": running,
        });
        writeln!(out, "{v}")?;
        return Ok(0);
    }
    writeln!(out, "{} in {}", safe(&branch), safe(&root))?;
    if c.runs == 0 && running.is_empty() {
        match sum.first_us {
            None => writeln!(
                out,
                "Nothing recorded on this branch since its last milestone."
            )?,
            // Edits and no command: active time all the same.
            Some(_) => writeln!(
                out,
                "No run yet, edits only; active time {} (gaps over {} min not counted)",
                human_ms(active_ms),
                config.idle_timeout_minutes()
            )?,
        }
        return Ok(0);
    }
    writeln!(
        out,
        "{} ({} by a program, {} typed), {} failed; active time {} (gaps over {} min not counted)",
        crate::display::count(c.runs, "run", "runs"),
        c.automated,
        c.manual,
        c.failures,
        human_ms(active_ms),
        config.idle_timeout_minutes()
    )?;
    let now = crate::clock::now().micros();
    for e in &running {
        let ms = (now - e.start_us).max(0) as f64 / 1000.0;
        writeln!(out, "running for {}: {}", human_ms(ms), safe(&e.command))?;
    }
    Ok(0)
}

/// `mt status --branches`: each open span and whether it is finished.
fn branches(repo: &git::Repo, config: &Config, store: &Store, json: bool) -> Result<u8> {
    let mut checker = Checker::new(repo, config.default_branch.as_deref())?;
    let spans = crate::close::open_spans(store, repo, &checker)?;
    checker.load(&spans)?;
    let mut out = io::stdout().lock();
    let mut any = false;
    {
        for span in spans {
            any = true;
            let sum = summary::summary(store, &span.repo, &span.branch, config.idle_timeout_us())?;
            let active_ms = sum.active_us as f64 / 1000.0;
            let finish = if checker.is_default(&span.branch) {
                None
            } else {
                checker.finished(&span.branch, Some(&span))?
            };
            let tip = checker.tip(&span.branch, Some(&span));
            let filed = finish.is_some()
                && crate::close::spans::no_new_change(store, repo, &span, tip.as_deref())?;
            let abandoned = finish.is_none()
                && !checker.is_default(&span.branch)
                && checker.is_gone(&span.branch);
            if json {
                let v = json!({
                    "branch": span.branch,
                    "worktree": span.repo,
                    "runs": sum.counts.runs,
                    "edits": span.edits,
                    "active_ms": active_ms,
                    "finished": finish.as_ref().map(|f| json!({
                        "how": f.how.as_str(), "into": f.into, "commit": f.commit, "pr": f.pr,
                    })),
                    "abandoned": abandoned,
                    "already_filed": filed,
                });
                writeln!(out, "{v}")?;
                continue;
            }
            let renamed = checker.renamed_to(&span.branch);
            let state = match finish {
                _ if renamed.is_some() => format!(
                    "renamed to {} (closed with it)",
                    safe(renamed.as_deref().unwrap_or(""))
                ),
                Some(_) if filed => {
                    "runs after its milestone, no new commit (`mt close` leaves them out)".to_owned()
                }
                Some(f) => format!("finished ({} into {})", f.how.as_str(), f.into),
                None if abandoned => {
                    "abandoned: deleted, upstream gone, not in the default branch (`mt close --discard` drops it)".to_owned()
                }
                None => "not finished".to_owned(),
            };
            writeln!(
                out,
                "{:<30} {:>5} runs  active {:>8}  {state}",
                safe(&span.branch),
                sum.counts.runs,
                human_ms(active_ms)
            )?;
        }
    }
    if !any && !json {
        writeln!(
            out,
            "No branch of this repository has recorded work waiting for a milestone."
        )?;
    }
    Ok(0)
}

/// Once per repository: work is recorded here, but no mt git hook is, so
/// pulls will write no milestone. Said at the first `mt status` that
/// notices, then remembered (a marker under the state directory).
fn no_hooks_hint(repo: &git::Repo, paths: &Paths) {
    let dir = super::init::hooks_dir(repo);
    let ours = |name: &str| {
        std::fs::read_to_string(dir.join(name)).is_ok_and(|t| t.contains(super::init::MARK))
    };
    if ours("post-merge") {
        return;
    }
    let key = foldhash::quality::FixedState::with_seed(0)
        .hash_one(repo.common.to_string_lossy().as_bytes());
    let marker = paths
        .state
        .join("hints")
        .join(format!("no-hooks-{key:016x}"));
    if marker.exists() || std::fs::create_dir_all(paths.state.join("hints")).is_err() {
        return;
    }
    if std::fs::write(&marker, b"").is_ok() {
        eprintln!(
            "mt: work is recorded in this repository but its pulls write no milestone: `mt init git` installs the hooks (said once)"
        );
    }
}
