//! `mt ci summary`: this CI run's figures, from what `mt exec` recorded.

use std::fs::OpenOptions;
use std::io::Write;

use anyhow::{Context, Result};

use crate::daemon::catchup;
use crate::paths::Paths;
use crate::report::ci;
use crate::store::BranchFilter;

pub(super) fn run() -> Result<u8> {
    // No daemon runs in CI: this ingests the spool itself.
    let store = catchup::readable_store(&Paths::from_env())?;
    let events = store.log(&BranchFilter::default(), usize::MAX >> 1)?;
    let summary = ci::summarize(&events);
    let markdown = ci::markdown(&summary);
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "could not open GITHUB_STEP_SUMMARY {}",
                    path.to_string_lossy()
                )
            })?;
        f.write_all(markdown.as_bytes())?;
    }
    let yaml =
        serde_saphyr::to_string(&summary).context("could not write milestone_metrics.yaml")?;
    std::fs::write("milestone_metrics.yaml", yaml)
        .context("could not write milestone_metrics.yaml")?;
    print!("{markdown}");
    Ok(0)
}
