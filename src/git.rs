//! git as the daemon and the commands see it: everything the fork-free
//! reader (`mt_record::gitdir`) knows, plus the readers that may ask git
//! itself when the files cannot be the truth (reftable). Not on `mt
//! exec`'s path: that binary cannot reach this module.

use std::path::Path;

pub use mt_record::gitdir::*;

/// `git ARGS` in `root`: its trimmed stdout when it succeeds.
fn plumbing(root: &Path, args: &[&str]) -> Option<String> {
    let text = crate::proc::Cmd::git(root).args(args).text().ok()?;
    (!text.is_empty()).then_some(text)
}

/// Where HEAD points now: read from `.git` when that is the truth, else
/// asked of git (forks; not for `mt exec`'s path).
pub fn current_head(repo: &Repo) -> Option<Head> {
    if let Some(head) = read_head(&repo.gitdir) {
        return Some(head);
    }
    if let Some(name) = plumbing(&repo.root, &["symbolic-ref", "-q", "HEAD"]) {
        return Head::parse(&format!("ref: {name}"));
    }
    plumbing(&repo.root, &["rev-parse", "--verify", "-q", "HEAD"]).map(Head::Detached)
}

/// The commit HEAD names, from the files or, for other ref storage, from git.
pub fn commit_of(repo: &Repo, head: &Head) -> Option<String> {
    match (head, ref_storage(repo)) {
        (Head::Branch(b), RefStorage::Other(_)) => plumbing(
            &repo.root,
            &[
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/heads/{b}^{{commit}}"),
            ],
        ),
        _ => head_commit(repo, head),
    }
}
