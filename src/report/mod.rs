//! Reports built from the milestone files the team commits (README
//! "Reports" and "CI"): the monthly summary, the dashboards, and a CI run's
//! figures. `model` and `render` are pure (`mt_model::report`); `files`
//! reads and writes.

pub(crate) mod ci;
pub(crate) mod files;
pub(crate) use mt_model::report::{model, render};

/// Regenerate `milestones/MILESTONE_LOG.md` from the milestone files under
/// `root`: read (`files`), render (`render`), write the generated file.
pub(crate) fn write_log(root: &std::path::Path) -> anyhow::Result<()> {
    let loaded = files::read_all(root);
    let dir = root.join("milestones");
    files::write_generated(
        &dir.join(files::LOG),
        &render::log(&loaded.milestones, &loaded.paths, &dir),
    )?;
    keep_log_mergeable(&dir)
}

/// `milestones/.gitattributes`, written once: two people who each close a
/// branch and push both change the generated log, and git's built-in
/// `union` driver merges their rows without a conflict (the next `mt
/// close` or `mt report` puts them back in order). It travels with the
/// milestones, so every clone has it without configuration.
fn keep_log_mergeable(dir: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let path = dir.join(".gitattributes");
    let line = format!("{} merge=union\n", files::LOG);
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    if text.lines().any(|l| l.trim() == line.trim()) {
        return Ok(());
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    std::fs::write(&path, format!("{text}{line}"))
        .with_context(|| format!("could not write {}", path.display()))
}
