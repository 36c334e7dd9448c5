//! `mt close [BRANCH]`: write the branch's milestone and file its runs under it.

use std::fs;
use std::io::Write;

use anyhow::{Context, Result};

use crate::catchup;
use crate::cli::CloseArgs;
use crate::close::{self, Request};
use crate::config::Config;
use crate::git;
use crate::ingest::now_us;
use crate::paths::Paths;

pub fn run(args: &CloseArgs) -> Result<u8> {
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let repo = git::find(&cwd).context(
        "this directory is not in a git repository; run mt close inside the repository the branch was worked on",
    )?;
    let paths = Paths::from_env();
    let config = Config::effective(&paths.config, Some(&repo.root))?;
    let mut store = catchup::current_store(&paths)?;
    let req = Request {
        branch: args.branch.clone(),
        kind: args.kind,
        issue: args.issue,
        pr: args.pr,
        priority: args.priority,
        complexity: args.complexity,
        title: args.title.clone(),
        baselines: args.baselines.clone(),
        note: args.note.clone(),
        now_us: now_us(),
    };
    let prepared = close::prepare(&store, &repo, &config, &req)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &prepared.front)?;
        writeln!(out)?;
    }
    if args.dry_run {
        if !args.json {
            out.write_all(prepared.text.as_bytes())?;
        }
        return Ok(0);
    }
    let full = repo.root.join(&prepared.path);
    if let Some(dir) = full.parent() {
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    }
    fs::write(&full, &prepared.text)
        .with_context(|| format!("could not write {}", full.display()))?;
    store.close_span(&prepared.ids, &prepared.front.milestone_id)?;
    if !args.json {
        let m = &prepared.front.mt;
        writeln!(
            out,
            "{}\n{} runs on {} ({} automated, {} manual), active {}, validation {} automated",
            prepared.path.display(),
            m.runs_automated + m.runs_manual,
            m.branch,
            m.runs_automated,
            m.runs_manual,
            crate::event::human_ms(m.active_ms as f64),
            m.validation_automated.ratio().map_or_else(
                || "not measured".to_owned(),
                |r| format!("{:.0}%", r * 100.0)
            ),
        )?;
    }
    Ok(0)
}
