//! Which directories and files of a working tree are the project's: git's
//! ignore rules, never `.git/`, never mt's own directories, and a nested
//! repository (a submodule, a clone inside the tree) left to its own tree.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Editors' temp and backup files, and mt's own writes: milestones,
/// drafts, the generated log and templates are never the branch's work.
const NOISE: [&str; 9] = [
    "*.swp",
    "*.swx",
    "*~",
    ".#*",
    "#*#",
    "4913",
    // JetBrains' "safe write": the new text, then the old file set aside.
    "*___jb_tmp___",
    "*___jb_old___",
    "milestones/**",
];

/// The editors' noise and `watch_ignore`, as one matcher.
pub(super) fn ignore_set(globs: &[String]) -> globset::GlobSet {
    let mut set = globset::GlobSetBuilder::new();
    for g in NOISE
        .iter()
        .copied()
        .chain(globs.iter().map(String::as_str))
    {
        if let Ok(g) = globset::Glob::new(g) {
            set.add(g);
        }
    }
    set.build().unwrap_or_default()
}

/// The walker git's rules apply to: `.gitignore` files (here and in
/// parents), `.git/info/exclude`, the global excludes file; hidden files
/// count (`.github/`), `.git/` never.
fn walker(dir: &Path) -> ignore::WalkBuilder {
    let mut w = ignore::WalkBuilder::new(dir);
    w.hidden(false)
        .ignore(false)
        .parents(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(true)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git");
    w
}

/// A directory that is the root of a repository of its own.
pub(super) fn is_repo_root(dir: &Path) -> bool {
    dir.join(".git").symlink_metadata().is_ok()
}

/// What a walk of a tree found.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// Directories git does not ignore (the start included).
    pub dirs: Vec<PathBuf>,
    /// Nested repositories met on the way: each is a tree of its own.
    pub nested: Vec<PathBuf>,
}

/// Every directory under `dir` that git does not ignore, stopping at
/// nested repositories and leaving out `own` and everything under it.
pub(super) fn dirs(dir: &Path, own: &[PathBuf]) -> Found {
    let own = own.to_vec();
    let start = dir.to_path_buf();
    let nested = Arc::new(Mutex::new(Vec::new()));
    let seen = nested.clone();
    let dirs = walker(dir)
        .filter_entry(move |e| {
            let p = e.path();
            if e.file_name() == ".git" || own.iter().any(|o| p.starts_with(o)) {
                return false;
            }
            let dir = e.file_type().is_some_and(|t| t.is_dir());
            if dir && p != start && is_repo_root(p) {
                if let Ok(mut n) = seen.lock() {
                    n.push(p.to_path_buf());
                }
                return false;
            }
            true
        })
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_dir()))
        .map(ignore::DirEntry::into_path)
        .collect();
    let nested = nested.lock().map(|n| n.clone()).unwrap_or_default();
    Found { dirs, nested }
}

/// Every file under `dir` that git does not ignore, not entering nested
/// repositories: what a directory just made already holds.
pub(super) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let start = dir.to_path_buf();
    walker(dir)
        .filter_entry(move |e| {
            let p = e.path();
            !(p != start && e.file_type().is_some_and(|t| t.is_dir()) && is_repo_root(p))
        })
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(ignore::DirEntry::into_path)
        .collect()
}

/// The entries directly in `dir` that git does not ignore (and `dir`).
fn children(dir: &Path) -> impl Iterator<Item = ignore::DirEntry> {
    walker(dir)
        .max_depth(Some(1))
        .build()
        .filter_map(Result::ok)
}

/// The files directly in `dir` that git does not ignore.
pub(super) fn files(dir: &Path) -> HashSet<PathBuf> {
    children(dir)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(ignore::DirEntry::into_path)
        .collect()
}

/// Whether a new directory is one git does not ignore.
pub(super) fn listed(dir: &Path) -> bool {
    let Some(parent) = dir.parent() else {
        return false;
    };
    dir.file_name() != Some(std::ffi::OsStr::new(".git"))
        && children(parent).any(|e| e.path() == dir)
}
