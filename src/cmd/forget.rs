//! `mt forget PATTERN` / `mt forget --reapply`: take recorded text back —
//! from the store (deleted rows, zeroed and vacuumed pages, a truncated
//! WAL) and from the spool files the records came through; and say which
//! committed milestone files still mention it, which mt does not rewrite.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::daemon::catchup;
use crate::display::count;
use crate::paths::Paths;

pub(super) fn run(pattern: Option<&str>, reapply: bool) -> Result<u8> {
    let paths = Paths::from_env();
    // Flush first, so nothing still in the spool escapes the rewrite.
    let mut store = catchup::current_store(&paths)?;
    if reapply {
        let n = store.reapply(&catchup::filters(&paths))?;
        let n = count(n as u64, "stored command", "stored commands");
        println!("masked again with the current rules: {n} changed");
    } else if let Some(p) = pattern {
        let invalid = || format!("{p:?} is not a valid regex; quote it and fix the syntax");
        let re = regex::Regex::new(p).with_context(invalid)?;
        let n = store.forget(&re)?;
        let bytes = regex::bytes::Regex::new(p).with_context(invalid)?;
        let scrubbed = scrub_spool(&paths.spool, &bytes)?;
        let n = count(n as u64, "stored command", "stored commands");
        let scrubbed = count(scrubbed as u64, "match", "matches");
        println!("forgot {n} matching {p:?}; overwrote {scrubbed} in the spool");
        mentions_in_milestones(&re);
    }
    Ok(0)
}

/// Overwrite every match of `re` in the spool's files with `*`, in place:
/// the lengths and so the offsets ingest keeps are unchanged, and what was
/// read already is never read again. How many matches.
fn scrub_spool(spool: &Path, re: &regex::bytes::Regex) -> Result<usize> {
    let Ok(entries) = fs::read_dir(spool) else {
        return Ok(0);
    };
    let mut total = 0;
    for path in entries.flatten().map(|e| e.path()) {
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let Ok(bytes) = fs::read(&path) else { continue };
        let spans: Vec<(usize, usize)> =
            re.find_iter(&bytes).map(|m| (m.start(), m.end())).collect();
        if spans.is_empty() {
            continue;
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .with_context(|| format!("could not open {} to overwrite it", path.display()))?;
        for (start, end) in &spans {
            file.seek(SeekFrom::Start(*start as u64))?;
            file.write_all(&vec![b'*'; end - start])?;
        }
        file.sync_data()?;
        total += spans.len();
    }
    Ok(total)
}

/// Milestone files in this repository (when run in one) that mention the
/// pattern: named, since they may be committed and pushed already.
fn mentions_in_milestones(re: &regex::Regex) {
    let Some(repo) = std::env::current_dir()
        .ok()
        .and_then(|d| crate::git::find(&d))
    else {
        return;
    };
    let found: Vec<PathBuf> = crate::report::files::milestone_paths(&repo.root)
        .into_iter()
        .filter(|p| fs::read_to_string(p).is_ok_and(|t| re.is_match(&t)))
        .collect();
    if found.is_empty() {
        return;
    }
    let files = count(found.len() as u64, "milestone file", "milestone files");
    println!(
        "still in {files}, which mt does not rewrite (edit them; if they were pushed, the text is in git's history):"
    );
    for p in found {
        let shown = p.strip_prefix(&repo.root).unwrap_or(&p);
        println!("  {}", crate::display::safe(&shown.to_string_lossy()));
    }
}
