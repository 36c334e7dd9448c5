//! The stages after content: the branches' own commits (one `git log` for
//! all of them), equal patch ids in the default branch (`git log -p | git
//! patch-id`, two children joined by a pipe), squash messages that name
//! them, and — in a git hook after a pull — which branches the pull could
//! have finished at all (the paths each own commit changed, kept between
//! pulls).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::Result;

use super::{Checker, Evidence, pull_request};
use crate::proc::{self, Cmd};

/// A day of slack for clocks that disagree.
const SLACK_S: i64 = 86_400;

/// The most default-branch commits the patch-id stage reads.
const PATCH_WINDOW: &str = "--max-count=5000";

impl Checker {
    /// Branches none of whose commits' patches is missing from a target:
    /// (branch, tip, target, the commit equal to its newest own commit).
    pub(super) fn by_patches(
        &self,
        rest: &[(String, String)],
        own: &OwnCommits,
    ) -> Result<Vec<Found>> {
        if own.is_empty() {
            return Ok(Vec::new());
        }
        let oldest = own.values().flatten().map(|c| c.time).min().unwrap_or(0);
        let mut found: Vec<Found> = Vec::new();
        for t in 0..self.targets.len() {
            let upstream = self.upstream_ids(t, oldest)?;
            if upstream.is_empty() {
                continue;
            }
            let ids = self.patch_ids_of(own.values().flatten().map(|c| c.commit.as_str()))?;
            for (branch, tip) in rest {
                let Some(commits) = own.get(tip) else {
                    continue;
                };
                let landed: Option<Vec<&String>> = commits
                    .iter()
                    .map(|c| ids.get(&c.commit).and_then(|p| upstream.get(p)))
                    .collect();
                if let Some(first) = landed.and_then(|l| l.first().copied().cloned())
                    && !found.iter().any(|(b, ..)| b == branch)
                {
                    let evidence = Evidence::Patches { landed: first };
                    found.push((branch.clone(), tip.clone(), t, evidence));
                }
            }
        }
        Ok(found)
    }

    /// Branches a squash commit names: a commit in a target's window whose
    /// message names a pull/merge request and lists every own commit's
    /// subject (GitHub's squash message), or whose title is the one own
    /// commit's subject — a squash whose lines the host changed (a
    /// conflict resolved there, a suggestion applied), which neither
    /// content nor patches can see.
    pub(super) fn by_name(
        &self,
        rest: &[(String, String)],
        own: &OwnCommits,
    ) -> Result<Vec<Found>> {
        let mut found: Vec<Found> = Vec::new();
        if rest.is_empty() || own.is_empty() {
            return Ok(found);
        }
        let oldest = own.values().flatten().map(|c| c.time).min().unwrap_or(0);
        for t in 0..self.targets.len() {
            let messages = self.window_messages(t, oldest)?;
            for (branch, tip) in rest {
                let Some(commits) = own.get(tip) else {
                    continue;
                };
                let hit = messages.iter().find(|(_, m)| names_all(m, commits));
                if let Some((landed, _)) = hit
                    && !found.iter().any(|(b, ..)| b == branch)
                {
                    let evidence = Evidence::Named {
                        landed: landed.clone(),
                    };
                    found.push((branch.clone(), tip.clone(), t, evidence));
                }
            }
        }
        Ok(found)
    }

    /// (commit, message) of target `t`'s commits in the patch-id window
    /// that name a request.
    fn window_messages(&self, t: usize, oldest: i64) -> Result<Vec<(String, String)>> {
        let target = self.targets[t].commit.as_str();
        let since = format!("--since=@{}", oldest - SLACK_S);
        let range = self.before.as_ref().map(|b| format!("{b}..{target}"));
        let mut args = vec!["log", "--no-merges", "--format=%H%x1f%B%x1e", PATCH_WINDOW];
        match &range {
            Some(r) => args.push(r),
            None => args.extend([since.as_str(), target]),
        }
        let out = Cmd::git(&self.root).args(&args).text()?;
        Ok(out
            .split('\x1e')
            .filter_map(|rec| {
                let (commit, message) = rec.trim_start().split_once('\x1f')?;
                pull_request(message)
                    .0
                    .map(|_| (commit.to_owned(), message.to_owned()))
            })
            .collect())
    }

    /// Every branch's own commits (in no target), newest first, by tip.
    pub(super) fn own_commits(&self, rest: &[(String, String)]) -> Result<OwnCommits> {
        let targets: Vec<&str> = self.targets.iter().map(|t| t.commit.as_str()).collect();
        self.commits_beyond(rest, &targets)
    }

    /// The commits of each tip not reachable from `not`: one `git log` for
    /// all tips (no diffs: the paths, when needed, come from
    /// [`Checker::paths_of`]).
    fn commits_beyond(&self, rest: &[(String, String)], not: &[&str]) -> Result<OwnCommits> {
        let mut own = OwnCommits::new();
        if rest.is_empty() {
            return Ok(own);
        }
        let tips: HashSet<&str> = rest.iter().map(|(_, t)| t.as_str()).collect();
        let mut args = vec!["log", "--no-merges", "--source", "--format=%H %ct %S %s"];
        args.extend(tips.iter().copied());
        args.push("--not");
        args.extend(not);
        let out = Cmd::git(&self.root).args(&args).text()?;
        for line in out.lines() {
            let mut words = line.splitn(4, ' ');
            let (Some(commit), Some(time), Some(source)) =
                (words.next(), words.next(), words.next())
            else {
                continue;
            };
            let tip = self.refs.get(source).map_or(source, String::as_str);
            own.entry(tip.to_owned()).or_default().push(Own {
                commit: commit.to_owned(),
                time: time.parse().unwrap_or(0),
                subject: words.next().unwrap_or("").to_owned(),
            });
        }
        Ok(own)
    }

    /// The paths each of `commits` changed: from the cache the caller gave
    /// ([`Checker::use_paths`]), the rest from one `git log --name-only`
    /// (a tree diff per commit is the costly part of a hook's check, and a
    /// commit never changes).
    fn paths_of(&self, commits: &[&str]) -> Result<HashMap<String, Vec<String>>> {
        let mut cache = self.paths.borrow_mut();
        let missing: Vec<&str> = commits
            .iter()
            .copied()
            .filter(|c| !cache.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            let mut args = vec!["-c", "core.quotePath=false", "log", "--no-walk=unsorted"];
            args.extend(["--name-only", "--format=%x00%H"]);
            args.extend(&missing);
            let out = Cmd::git(&self.root).args(&args).output()?;
            for record in String::from_utf8_lossy(&out.stdout).split('\0') {
                let mut lines = record.lines();
                let Some(commit) = lines.next().filter(|c| !c.is_empty()) else {
                    continue;
                };
                let paths = lines.filter(|l| !l.is_empty()).map(str::to_owned).collect();
                cache.insert(commit.to_owned(), paths);
            }
        }
        Ok(commits
            .iter()
            .filter_map(|c| Some((c.to_string(), cache.get(*c)?.clone())))
            .collect())
    }

    /// Paths of commits known from earlier checks (the store keeps them).
    pub fn use_paths(&mut self, known: HashMap<String, Vec<String>>) {
        self.paths = std::cell::RefCell::new(known);
    }

    /// The paths of the open branches' own commits, to keep for the next
    /// check.
    pub fn kept_paths(&self) -> HashMap<String, Vec<String>> {
        self.paths.borrow().clone()
    }

    /// After a pull from `before`: only branches the pull could have
    /// finished — newly reachable from the default branch, or with own
    /// commits touching a path the pull changed. The rest were as
    /// unfinished before the pull as they are now.
    pub(super) fn touched_by_pull(
        &self,
        open: &[(String, String)],
        before: &str,
    ) -> Result<Vec<(String, String)>> {
        let target = self.targets[0].commit.as_str();
        let pulled = Cmd::git(&self.root)
            .args([
                "-c",
                "core.quotePath=false",
                "diff",
                "--name-only",
                "--no-renames",
                before,
                target,
            ])
            .text()?;
        let pulled: HashSet<&str> = pulled.lines().collect();
        let own = self.own_commits(open)?;
        let was_own = self.commits_beyond(open, &[before])?;
        let commits: Vec<&str> = own.values().flatten().map(|c| c.commit.as_str()).collect();
        let paths = self.paths_of(&commits)?;
        *self.paths.borrow_mut() = paths.clone();
        let touches = |c: &Own| {
            paths
                .get(&c.commit)
                .is_some_and(|ps| ps.iter().any(|p| pulled.contains(p.as_str())))
        };
        Ok((open.iter())
            .filter(|(_, tip)| match own.get(tip) {
                None => was_own.contains_key(tip),
                Some(commits) => commits.iter().any(touches),
            })
            .cloned()
            .collect())
    }

    /// Patch id → commit over target `t`'s commits that could hold a
    /// branch's commits made anew: after the pull's start in a hook, else
    /// since the oldest own commit (a day of slack), at most 5,000.
    fn upstream_ids(&self, t: usize, oldest: i64) -> Result<HashMap<String, String>> {
        let target = self.targets[t].commit.as_str();
        let since = format!("--since=@{}", oldest - SLACK_S);
        let range = self.before.as_ref().map(|b| format!("{b}..{target}"));
        let mut args = vec![
            "log",
            "-p",
            "--no-merges",
            "--format=commit %H",
            PATCH_WINDOW,
        ];
        match &range {
            Some(r) => args.push(r),
            None => args.extend([since.as_str(), target]),
        }
        let ids = patch_ids(&self.root, &args)?;
        Ok(ids.into_iter().collect())
    }

    /// commit → patch id for `commits` (one `git log -p | git patch-id`).
    fn patch_ids_of<'a>(
        &self,
        commits: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, String>> {
        let mut args = vec![
            "log",
            "-p",
            "--no-merges",
            "--no-walk=unsorted",
            "--format=commit %H",
        ];
        args.extend(commits);
        Ok(patch_ids(&self.root, &args)?
            .into_iter()
            .map(|(p, c)| (c, p))
            .collect())
    }
}

/// A branch's own commit: its committer time and subject.
#[derive(Debug, Clone)]
pub(super) struct Own {
    commit: String,
    time: i64,
    subject: String,
}

/// Tip → the branch's own commits, newest first.
pub(super) type OwnCommits = HashMap<String, Vec<Own>>;

/// A branch found finished after the content stage: (branch, tip, target,
/// why).
pub(super) type Found = (String, String, usize, Evidence);

/// Does a squash message name these commits: each subject as a line of
/// it (`* subject`), or the one commit's subject as its title?
fn names_all(message: &str, commits: &[Own]) -> bool {
    let lines: HashSet<&str> = message
        .lines()
        .map(|l| l.trim().trim_start_matches("* ").trim())
        .collect();
    let title = pull_request(message).1;
    let one = commits.len() == 1 && title.as_deref() == Some(commits[0].subject.as_str());
    one || commits
        .iter()
        .all(|c| !c.subject.is_empty() && lines.contains(c.subject.as_str()))
}

/// `git ARGS | git patch-id --stable`, the two joined by a pipe: (patch id,
/// commit) pairs.
fn patch_ids(root: &Path, args: &[&str]) -> Result<Vec<(String, String)>, proc::Error> {
    let out = proc::pipe(
        Cmd::git(root).args(args),
        Cmd::git(root).args(["patch-id", "--stable"]),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (patch, commit) = l.split_once(' ')?;
            Some((patch.to_owned(), commit.to_owned()))
        })
        .collect())
}
