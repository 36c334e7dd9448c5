//! `mt log`: recorded commands, newest first.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use anyhow::Result;

use crate::classify::Classifier;
use crate::cli::LogArgs;
use crate::daemon::catchup;
use crate::display::safe;
use crate::event::{Event, RunState, human_ms};
use crate::paths::Paths;
use crate::store::BranchFilter;

pub(super) fn run(args: &LogArgs) -> Result<u8> {
    let paths = Paths::from_env();
    let store = catchup::readable_store(&paths)?;
    let filter = BranchFilter {
        branch: args.branch.clone(),
        ..BranchFilter::default()
    };
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let mut events = store.log(&filter, limit)?;
    let mut out = io::stdout().lock();
    if args.json {
        classify_so_far(&paths, &mut events);
        for e in &events {
            serde_json::to_writer(&mut out, e)?;
            out.write_all(b"\n")?;
        }
        return Ok(0);
    }
    if events.is_empty() {
        writeln!(
            out,
            "No commands recorded yet. Run one with `mt exec CMD`, or install the shell hook."
        )?;
        return Ok(0);
    }
    writeln!(
        out,
        "{:<19}  {:>8}  {:<10}  {:<16}  {:<20}  COMMAND",
        "STARTED", "TOOK", "RESULT", "REPOSITORY", "BRANCH"
    )?;
    for e in &events {
        writeln!(out, "{}", line(e))?;
    }
    Ok(0)
}

/// Commands not yet in a milestone get the phase and tool the rules give
/// them now — the user's config with the repository's `.mt.toml` over it,
/// then the built-in rules — as `mt close` would: `--json` never shows
/// `null` for what is already known, nor another phase than close counts.
fn classify_so_far(paths: &Paths, events: &mut [Event]) {
    let mut by_repo: HashMap<Option<String>, Option<Classifier>> = HashMap::new();
    let commands = events
        .iter_mut()
        .filter(|e| e.kind == crate::event::EventKind::Command && e.phase.is_none());
    for e in commands {
        let repo = e.repo.clone();
        let classifier = by_repo.entry(repo).or_insert_with_key(|repo| {
            let root = repo.as_deref().map(Path::new);
            // A repository file that does not parse: the user's rules,
            // as recording goes on with (close will name the fault).
            let config = crate::config::effective(&paths.config, root)
                .or_else(|_| crate::config::load(&paths.config))
                .unwrap_or_default();
            Classifier::new(&config.rules).ok()
        });
        let Some(classifier) = classifier else {
            continue;
        };
        let class = classifier.classify(&e.command, None, e.tool.as_deref());
        e.phase = Some(class.phase);
        e.tool = e.tool.take().or(class.tool);
    }
}

fn line(e: &Event) -> String {
    let when = chrono::DateTime::from_timestamp_micros(e.start_us)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    let took = e.duration_ms.map_or_else(|| "-".into(), human_ms);
    let result = match (e.state, e.exit_code, e.signal) {
        (RunState::Running | RunState::Unfinished, ..) => e.state.as_str().to_owned(),
        (_, _, Some(sig)) => format!("signal {sig}"),
        (_, Some(code), _) => format!("exit {code}"),
        _ => "-".to_owned(),
    };
    let branch = safe(e.branch.as_deref().unwrap_or("-"));
    // The repository by its directory's name: two repositories' `main`
    // rows must not look alike.
    let repo = e
        .repo
        .as_deref()
        .and_then(|r| std::path::Path::new(r).file_name())
        .map_or_else(|| "-".to_owned(), |n| n.to_string_lossy().into_owned());
    format!(
        "{when:<19}  {took:>8}  {result:<10}  {:<16}  {branch:<20}  {}",
        safe(&repo),
        safe(&e.command)
    )
}
