//! Reports built from the milestone files the team commits (README
//! "Reports" and "CI"): the monthly summary, the dashboards, and a CI run's
//! figures. `model` and `render` are pure; `files` reads and writes.

pub mod ci;
pub mod files;
pub mod model;
pub mod render;

/// Regenerate `milestones/MILESTONE_LOG.md` from the milestone files under
/// `root`: read (`files`), render (`render`), write the generated file.
pub fn write_log(root: &std::path::Path) -> anyhow::Result<()> {
    let loaded = files::read_all(root);
    let dir = root.join("milestones");
    files::write_generated(&dir.join(files::LOG), &render::log(&loaded, &dir))
}
