//! Which commit brought a branch's work into the default branch, and the
//! pull/merge request number and title it carries, however the host
//! merged: the first commit on the default branch's first-parent line that
//! holds the work (found by bisection, so a long history costs a few git
//! processes), then, if that is a merge that names no request (a git-flow
//! release, a merge of a branch that got more commits on the host), the
//! commit inside it that brought the work to the merged branch.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;

use super::{How, git_opt, is_ancestor};
use crate::proc::Cmd;

/// How deep to look inside merges of merges for the request's own merge.
const MAX_DEPTH: usize = 3;

/// The commit that brought the work in, and what it says.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub commit: String,
    pub how: How,
    pub pr: Option<u64>,
    pub title: Option<String>,
}

/// One first-parent commit: its id, tree and parents.
#[derive(Debug, Clone)]
struct Step {
    commit: String,
    tree: String,
    parents: Vec<String>,
}

pub(super) struct Landing<'a> {
    root: &'a Path,
    refs: &'a HashMap<String, String>,
}

impl<'a> Landing<'a> {
    pub(super) fn new(root: &'a Path, refs: &'a HashMap<String, String>) -> Landing<'a> {
        Landing { root, refs }
    }

    /// Where `tip` (a branch tip, or a commit equal to its newest) came
    /// into `target`. `ancestry`: only reachability counts (a rebase's
    /// equal commit), else content too.
    pub(super) fn find(&self, tip: &str, target: &str, ancestry: bool) -> Result<Found> {
        let ancestor = ancestry || is_ancestor(self.root, tip, target)?;
        let base = if ancestor {
            tip.to_owned()
        } else {
            git_opt(self.root, &["merge-base", tip, target])?.unwrap_or_default()
        };
        let probe = Probe {
            root: self.root,
            tip,
            ancestor,
        };
        let line = self.first_parents(target, &base)?;
        let step = probe.earliest(&line)?.unwrap_or_else(|| Step {
            commit: target.to_owned(),
            tree: String::new(),
            parents: Vec::new(),
        });
        let (pr, title) = self.request(&probe, &step, 0)?;
        let (pr, title) = match pr {
            Some(n) => (Some(n), title),
            None => (self.pr_ref(tip)?, title),
        };
        let how = self.how(&probe, &base, &step)?;
        Ok(Found {
            commit: step.commit,
            how,
            pr,
            title,
        })
    }

    /// A fast-forward or a merge; a merge-less landing of several own
    /// commits whose subject is the tip's (a rebase keeps subjects) is a
    /// rebase; else one commit carried it all: a squash.
    fn how(&self, probe: &Probe, base: &str, step: &Step) -> Result<How> {
        if probe.ancestor {
            return Ok(How::Merged);
        }
        if step.parents.len() > 1 {
            return Ok(How::Squashed);
        }
        let range = format!("{base}..{}", probe.tip);
        let own = git_opt(self.root, &["rev-list", "--count", "--no-merges", &range])?;
        if own.as_deref() == Some("1") {
            return Ok(How::Rebased);
        }
        let subject = |c: &str| git_opt(self.root, &["log", "-1", "--format=%s", c]);
        let same = subject(&step.commit)? == subject(probe.tip)?;
        Ok(if same { How::Rebased } else { How::Squashed })
    }

    /// `target`'s first-parent line back to `base`, oldest first.
    fn first_parents(&self, target: &str, base: &str) -> Result<Vec<Step>> {
        let mut args = vec!["log", "--first-parent", "--format=%H %T %P", target];
        let not = format!("^{base}");
        if !base.is_empty() {
            args.push(&not);
        }
        let out = Cmd::git(self.root).args(&args).text()?;
        let mut steps: Vec<Step> = out
            .lines()
            .filter_map(|l| {
                let mut ids = l.split(' ');
                Some(Step {
                    commit: ids.next()?.to_owned(),
                    tree: ids.next()?.to_owned(),
                    parents: ids.map(str::to_owned).collect(),
                })
            })
            .collect();
        steps.reverse();
        Ok(steps)
    }

    /// The request number and title of the landing commit; inside a merge
    /// that names none, of the commit that brought the work to its second
    /// parent's line.
    fn request(
        &self,
        probe: &Probe,
        step: &Step,
        depth: usize,
    ) -> Result<(Option<u64>, Option<String>)> {
        let message =
            git_opt(self.root, &["log", "-1", "--format=%B", &step.commit])?.unwrap_or_default();
        let (pr, mut title) = pull_request(&message);
        let Some(second) = step.parents.get(1) else {
            return Ok((pr, title));
        };
        if title.is_none() && pr.is_some() {
            // GitLab's squash-then-merge: the merge names the request but
            // its body may lack the title; the squashed commit's subject is
            // it. (A merge that names no request has no title to give.)
            let subject = git_opt(self.root, &["log", "-1", "--format=%s", second])?;
            title = subject.filter(|s| !s.starts_with("Merge "));
        }
        if depth >= MAX_DEPTH {
            return Ok((pr, title));
        }
        // The innermost request that brought the work wins: a stacked
        // request merged into its base before the base's own request, a
        // feature's request inside a release merge.
        let inner = self.first_parents(second, &step.parents[0])?;
        match probe.earliest(&inner)? {
            // Not the tip itself: a branch's own commit that mentions
            // "(#88)" names an issue, not the request that merged it.
            Some(s) if s.commit != step.commit && s.commit != probe.tip => {
                let (inner_pr, inner_title) = self.request(probe, &s, depth + 1)?;
                Ok(match inner_pr {
                    Some(_) => (inner_pr, inner_title),
                    None => (pr, title),
                })
            }
            _ => Ok((pr, title)),
        }
    }

    /// A code host's pull/merge request ref holding `tip`, where the remote
    /// publishes them and they were fetched.
    fn pr_ref(&self, tip: &str) -> Result<Option<u64>> {
        let any = self.refs.keys().any(|r| pr_number(r).is_some());
        if !any {
            return Ok(None);
        }
        let contains = format!("--contains={tip}");
        let out = Cmd::git(self.root)
            .args([
                "for-each-ref",
                &contains,
                "--format=%(refname)",
                "refs/pull",
                "refs/merge-requests",
                "refs/remotes",
            ])
            .text()?;
        Ok(out.lines().find_map(pr_number))
    }
}

/// The request number of a ref a code host publishes: GitHub's
/// `refs/pull/N/head`, GitLab's `refs/merge-requests/N/head`, or either as
/// fetched under a remote (`refs/remotes/origin/pr/N`).
fn pr_number(full: &str) -> Option<u64> {
    let rest = full
        .strip_prefix("refs/pull/")
        .or_else(|| full.strip_prefix("refs/merge-requests/"))
        .or_else(|| {
            let r = full.strip_prefix("refs/remotes/")?.split_once('/')?.1;
            r.strip_prefix("pr/")
                .or_else(|| r.strip_prefix("pull/"))
                .or_else(|| r.strip_prefix("merge-requests/"))
        })?;
    let number = rest.strip_suffix("/head").unwrap_or(rest);
    number.parse().ok()
}

/// Does a commit hold the work of `tip`?
struct Probe<'a> {
    root: &'a Path,
    tip: &'a str,
    /// By reachability (the tip is an ancestor of the target), else by
    /// content: merging the tip into the commit changes nothing.
    ancestor: bool,
}

impl Probe<'_> {
    fn holds(&self, step: &Step) -> Result<bool> {
        if self.ancestor {
            return Ok(is_ancestor(self.root, self.tip, &step.commit)?);
        }
        let out = Cmd::git(self.root)
            .args([
                "merge-tree",
                "--write-tree",
                "--no-messages",
                "--name-only",
                &step.commit,
                self.tip,
            ])
            .output()?;
        let tree = String::from_utf8_lossy(&out.stdout);
        Ok(out.status.success() && tree.lines().next() == Some(step.tree.as_str()))
    }

    /// The oldest step that holds the work, by bisection: once in, the
    /// work stays in (a revert after it is not looked for).
    fn earliest(&self, line: &[Step]) -> Result<Option<Step>> {
        let Some(last) = line.last() else {
            return Ok(None);
        };
        if !self.holds(last)? {
            return Ok(None);
        }
        let (mut lo, mut hi) = (0, line.len() - 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.holds(&line[mid])? {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(Some(line[lo].clone()))
    }
}

/// The pull/merge request number and title a commit message carries, in
/// GitHub's, GitLab's and Bitbucket's forms.
pub(crate) fn pull_request(message: &str) -> (Option<u64>, Option<String>) {
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
        // "Merge branch 'x' into 'main'" is never the title: the body's
        // first line is, else (a squash and merge) the squashed commit's.
        let title = if subject.starts_with("Merge branch ") {
            body_first()
        } else {
            Some(subject.to_owned())
        };
        return (Some(n), title);
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
            (
                "Merge branch 'fix/9' into 'main'\n\nSee merge request group/app!18",
                Some(18),
                None,
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
