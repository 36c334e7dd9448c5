//! `mt report month|dashboards`: reports from the milestone files.

use std::io::Write;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::cli::ReportCmd;
use crate::git;
use crate::paths::Paths;
use crate::report::{files, model, render};

pub(super) fn run(what: ReportCmd) -> Result<u8> {
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let repo = git::find(&cwd)
        .context("this directory is not in a git repository; run mt report inside the repository that holds milestones/")?;
    let loaded = files::read_all(&repo.root);
    files::warn_skipped(&loaded);
    let checked_out = match git::current_head(&repo) {
        Some(git::Head::Branch(b)) => Some(b),
        _ => None,
    };
    let all = &loaded.finished(checked_out.as_deref());
    let config = crate::config::effective(&Paths::from_env().config, Some(&repo.root))?;
    crate::report::write_log(&repo.root)?;
    let mut out = std::io::stdout().lock();
    match what {
        ReportCmd::Month { month, json } => {
            let month = month.unwrap_or_else(|| chrono::Local::now().format("%Y-%m").to_string());
            let Some(before) = model::previous_month(&month) else {
                bail!("{month:?} is not a month; write it as YYYY-MM, like 2026-11");
            };
            let now = model::month(all, &month);
            let prev = model::month(all, &before);
            let idle = format!(
                "Figures come from {} milestone files; active time in each used its own idle timeout (configured here: {} min), as its parameters state.",
                all.len(),
                config.idle_timeout_minutes()
            );
            let path = repo
                .root
                .join(format!("milestones/{month}/monthly-summary.md"));
            files::write_generated(&path, &render::month(&now, &prev, &idle))?;
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&json!({ "month": now, "previous": prev }))?
                )?;
            } else {
                for line in render::headline(&now, &prev) {
                    writeln!(out, "- {line}")?;
                }
                writeln!(
                    out,
                    "wrote {}",
                    path.strip_prefix(&repo.root).unwrap_or(&path).display()
                )?;
            }
        }
        ReportCmd::Dashboards { json } => {
            let series: Vec<model::MonthFigures> = model::months(all)
                .iter()
                .map(|m| model::month(all, m))
                .collect();
            let adv = model::advantages(all);
            let dir = repo.root.join("milestones/dashboards");
            files::write_generated(
                &dir.join("competitive-advantages.md"),
                &render::advantages(&adv),
            )?;
            files::write_generated(&dir.join("performance-trends.md"), &render::trends(&series))?;
            files::write_generated(
                &dir.join("roi-analysis.md"),
                &render::roi(&series, config.hourly_rate),
            )?;
            if json {
                let v = json!({ "advantages": adv, "months": series, "hourly_rate": config.hourly_rate });
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            } else {
                writeln!(
                    out,
                    "wrote milestones/dashboards/ from {} in {}",
                    crate::display::count(all.len() as u64, "milestone", "milestones"),
                    crate::display::count(series.len() as u64, "month", "months")
                )?;
            }
        }
    }
    Ok(0)
}
