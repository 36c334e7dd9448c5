//! Is a branch's work in the default branch, however it got there? Merged
//! on a code host and pulled, squashed, rebased or fast-forwarded: asked of
//! git plumbing (merge-base, rev-list, patch-id, cat-file), never of
//! porcelain output meant for people. Also which commit brought the work
//! in, and the pull/merge request number and title its message carries.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::git::Repo;

/// How the work reached the default branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Its tip is an ancestor: a merge commit or a fast-forward.
    Merged,
    /// Each of its commits has an equal patch in the default branch.
    Rebased,
    /// One commit in the default branch carries its whole change.
    Squashed,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::Merged => "merged",
            How::Rebased => "rebased",
            How::Squashed => "squashed",
        }
    }
}

/// Proof that a branch's work is finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    pub how: How,
    /// The default-branch ref it was found in (`main`, `origin/main`).
    pub into: String,
    /// The commit that brought it in.
    pub commit: String,
    pub pr: Option<u64>,
    pub title: Option<String>,
}

/// `git ARGS` in `root`: trimmed stdout on success.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .current_dir(root)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A commit id for `rev`, if it names one.
pub fn commit(root: &Path, rev: &str) -> Option<String> {
    git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
}

/// The refs that count as "the default branch", most authoritative first:
/// the configured name, each remote's HEAD (`origin/main`), and the local
/// branch of the same name; `main`, `master`, `trunk` when nothing says.
pub fn default_refs(repo: &Repo, configured: Option<&str>) -> Vec<String> {
    let root = &repo.root;
    let mut names: Vec<String> = configured.map(str::to_owned).into_iter().collect();
    let heads = git(
        root,
        &[
            "for-each-ref",
            "--format=%(symref:short)",
            "refs/remotes/*/HEAD",
        ],
    )
    .unwrap_or_default();
    for remote_head in heads.lines().filter(|l| !l.is_empty()) {
        names.push(remote_head.to_owned());
        if let Some((_, short)) = remote_head.split_once('/') {
            names.push(short.to_owned());
        }
    }
    if names.is_empty() {
        for n in ["main", "master", "trunk"] {
            names.push(n.to_owned());
            names.push(format!("origin/{n}"));
        }
    }
    let mut refs = Vec::new();
    for n in names {
        if !refs.contains(&n) && commit(root, &n).is_some() {
            refs.push(n);
        }
    }
    refs
}

/// Is `a` an ancestor of (or equal to) `b`?
pub fn is_ancestor(root: &Path, a: &str, b: &str) -> bool {
    git(root, &["merge-base", "--is-ancestor", a, b]).is_some()
}

/// The best common ancestor of `a` and `b`.
pub fn merge_base(root: &Path, a: &str, b: &str) -> Option<String> {
    git(root, &["merge-base", a, b])
}

/// The commit a branch was created at, from its reflog's oldest entry.
pub fn created_at(root: &Path, branch: &str) -> Option<String> {
    let log = git(
        root,
        &[
            "rev-list",
            "--walk-reflogs",
            &format!("refs/heads/{branch}"),
        ],
    )?;
    log.lines().last().map(str::to_owned)
}

/// Is `branch` (short name) one of the default branches?
pub fn is_default(refs: &[String], branch: &str) -> bool {
    refs.iter().any(|r| r == branch)
}

/// Where the branch's work is, if it is in one of `targets`. `tip` is the
/// branch's last commit; `start` the commit the branch began at (its
/// reflog's creation entry, else the first HEAD recorded in its span).
/// Without commits of its own between the two, nothing proves a merge.
pub fn finished(root: &Path, tip: &str, start: Option<&str>, targets: &[String]) -> Option<Finish> {
    targets
        .iter()
        .find_map(|t| finished_in(root, tip, start, t))
}

fn finished_in(root: &Path, tip: &str, start: Option<&str>, target: &str) -> Option<Finish> {
    let base = merge_base(root, tip, target)?;
    // Where the branch's own commits begin: where it started, if that is
    // behind its tip, else where it forked from the target.
    let from = start.filter(|s| is_ancestor(root, s, tip)).unwrap_or(&base);
    let own = git(
        root,
        &["rev-list", "--no-merges", &format!("{from}..{tip}")],
    )?;
    if own.is_empty() {
        return None;
    }
    if is_ancestor(root, tip, target) {
        let by = bringing_merge(root, tip, target).unwrap_or_else(|| tip.to_owned());
        return Some(finish(root, How::Merged, target, by));
    }
    let upstream = patch_ids(
        root,
        &[
            "log",
            "-p",
            "--no-merges",
            "--format=commit %H",
            &format!("{base}..{target}"),
        ],
    );
    if upstream.is_empty() {
        return None;
    }
    let mine = patch_ids(
        root,
        &[
            "log",
            "-p",
            "--no-merges",
            "--format=commit %H",
            &format!("{from}..{tip}"),
        ],
    );
    if !mine.is_empty() && mine.keys().all(|p| upstream.contains_key(p)) {
        // The newest of the branch's commits, as it lands upstream.
        let last = git(
            root,
            &["rev-list", "--no-merges", "-1", &format!("{from}..{tip}")],
        )?;
        let landed = mine
            .iter()
            .find(|(_, c)| **c == last)
            .and_then(|(p, _)| upstream.get(p))?;
        return Some(finish(root, How::Rebased, target, landed.clone()));
    }
    let whole = patch_ids(root, &["diff", "-p", &base, tip]);
    let squash = whole.keys().find_map(|p| upstream.get(p))?;
    Some(finish(root, How::Squashed, target, squash.clone()))
}

fn finish(root: &Path, how: How, into: &str, commit: String) -> Finish {
    let message = git(root, &["cat-file", "commit", &commit])
        .and_then(|c| c.split_once("\n\n").map(|(_, m)| m.to_owned()))
        .unwrap_or_default();
    let (pr, title) = pull_request(&message);
    Finish {
        how,
        into: into.to_owned(),
        commit,
        pr,
        title,
    }
}

/// The merge commit on `target`'s first-parent line that brought `tip` in.
fn bringing_merge(root: &Path, tip: &str, target: &str) -> Option<String> {
    let path = git(
        root,
        &[
            "rev-list",
            "--first-parent",
            "--ancestry-path",
            "--reverse",
            "--parents",
            &format!("{tip}..{target}"),
        ],
    )?;
    // "commit parent1 parent2…": the first whose later parents reach tip.
    path.lines().find_map(|line| {
        let mut ids = line.split(' ');
        let commit = ids.next()?;
        let _first = ids.next()?;
        ids.any(|p| is_ancestor(root, tip, p))
            .then(|| commit.to_owned())
    })
}

/// `git <args> | git patch-id --stable`: patch id → commit.
fn patch_ids(root: &Path, args: &[&str]) -> HashMap<String, String> {
    let Ok(out) = Command::new("git")
        .current_dir(root)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    else {
        return HashMap::new();
    };
    let Ok(mut child) = Command::new("git")
        .current_dir(root)
        .args(["patch-id", "--stable"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return HashMap::new();
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&out.stdout);
    }
    let Ok(ids) = child.wait_with_output() else {
        return HashMap::new();
    };
    String::from_utf8_lossy(&ids.stdout)
        .lines()
        .filter_map(|l| {
            let (patch, commit) = l.split_once(' ')?;
            Some((patch.to_owned(), commit.to_owned()))
        })
        .collect()
}

/// The pull/merge request number and title a commit message carries, in
/// GitHub's, GitLab's and Bitbucket's forms.
pub fn pull_request(message: &str) -> (Option<u64>, Option<String>) {
    let mut lines = message.lines();
    let subject = lines.next().unwrap_or("").trim();
    let body_first = || {
        message
            .lines()
            .skip(1)
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("See merge request"))
            .map(str::to_owned)
    };
    let number = |s: &str| -> Option<u64> {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    // GitHub merge commit: "Merge pull request #92 from alice/fix/88-crash",
    // the pull request's title as the body.
    if let Some(rest) = subject.strip_prefix("Merge pull request #") {
        return (number(rest), body_first());
    }
    // Bitbucket: "Merged in fix/88-crash (pull request #92)".
    if subject.starts_with("Merged in ")
        && let Some(i) = subject.rfind("(pull request #")
    {
        return (number(&subject[i + 15..]), body_first());
    }
    // GitLab: "See merge request group/project!92" in the body.
    if let Some(n) = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("See merge request "))
        .and_then(|r| r.rsplit_once('!'))
        .and_then(|(_, n)| number(n))
    {
        let title = body_first().filter(|_| subject.starts_with("Merge branch "));
        return (Some(n), title.or_else(|| Some(subject.to_owned())));
    }
    // GitHub squash: "Add login (#91)".
    if let Some(open) = subject.rfind(" (#")
        && subject.ends_with(')')
        && let Some(n) = number(&subject[open + 3..])
    {
        return (Some(n), Some(subject[..open].trim().to_owned()));
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::pull_request;

    #[test]
    fn code_host_messages() {
        let cases = [
            (
                "Merge pull request #92 from alice/fix/88-crash\n\nFix the crash on login\n",
                Some(92),
                Some("Fix the crash on login"),
            ),
            (
                "Add login page (#91)\n\n* first\n* second\n",
                Some(91),
                Some("Add login page"),
            ),
            (
                "Merge branch 'fix/88-crash' into 'main'\n\nFix the crash\n\nSee merge request group/app!17",
                Some(17),
                Some("Fix the crash"),
            ),
            (
                "Merged in fix/88-crash (pull request #5)\n\nFix the crash\n",
                Some(5),
                Some("Fix the crash"),
            ),
            ("Merge branch 'main' into feat/x\n", None, None),
            ("Fix typo\n", None, None),
            ("Support (#hash) anchors\n", None, None),
        ];
        for (message, pr, title) in cases {
            assert_eq!(
                pull_request(message),
                (pr, title.map(str::to_owned)),
                "{message:?}"
            );
        }
    }
}
