//! Is a branch's work in the default branch, however it got there? Merged
//! on a code host and pulled, squashed, rebased or fast-forwarded: asked of
//! git plumbing (merge-base, rev-list, patch-id, cat-file), never of
//! porcelain output meant for people. Also which commit brought the work
//! in, and the pull/merge request number and title its message carries.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::git::Repo;
use crate::store::OpenSpan;

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

/// What one check of finished work knows about the repository, read with
/// a handful of git processes for all branches at once (a post-merge hook
/// must not slow a pull down): every ref, the default-branch targets, which
/// local branches each target contains, the patch ids of the targets'
/// recent commits and of the branches' own commits.
pub struct Checker {
    root: PathBuf,
    common: PathBuf,
    /// Full ref name → commit.
    refs: HashMap<String, String>,
    /// Default-branch refs, (short name, commit), one per distinct commit.
    targets: Vec<(String, String)>,
    /// Per target: local branches (short names) whose tip it contains.
    merged: Vec<HashSet<String>>,
    /// Per target: patch id → commit, over its commits since the oldest
    /// open span began (a squash or rebase lands after the work).
    upstream: Vec<HashMap<String, String>>,
    /// Tip → the branch's own commits (in no target), newest first, with
    /// their patch ids.
    own: HashMap<String, Vec<(String, String)>>,
}

/// A day of slack for clocks that disagree.
const SLACK_S: i64 = 86_400;

impl Checker {
    /// Read the refs and find the default-branch targets (one git process);
    /// `configured` is the `default_branch` setting. [`Checker::load`]
    /// prepares the checks themselves.
    pub fn new(repo: &Repo, configured: Option<&str>) -> Checker {
        let root = repo.root.clone();
        let mut refs = HashMap::new();
        let mut symrefs = Vec::new();
        let listing = git(
            &root,
            &[
                "for-each-ref",
                "--format=%(objectname) %(refname) %(symref)",
                "refs/heads",
                "refs/remotes",
            ],
        )
        .unwrap_or_default();
        for line in listing.lines() {
            let mut words = line.split(' ');
            let (Some(sha), Some(name)) = (words.next(), words.next()) else {
                continue;
            };
            refs.insert(name.to_owned(), sha.to_owned());
            if let Some(target) = words.next().filter(|t| !t.is_empty()) {
                symrefs.push(target.to_owned());
            }
        }
        let mut checker = Checker {
            root,
            common: repo.common.clone(),
            refs,
            targets: Vec::new(),
            merged: Vec::new(),
            upstream: Vec::new(),
            own: HashMap::new(),
        };
        checker.targets = checker.default_targets(configured, &symrefs);
        checker
    }

    /// Prepare the checks for `spans` (their branches and recorded tips).
    /// The default branch's span comes without intervals; with no other,
    /// the target's history is read from now on: nothing to check.
    pub fn load(&mut self, spans: &[OpenSpan]) {
        let checker = self;
        let since = spans
            .iter()
            .flat_map(|s| s.intervals.iter().map(|i| i.0))
            .min()
            .unwrap_or_else(|| crate::clock::now().micros())
            / 1_000_000
            - SLACK_S;
        for (_, sha) in &checker.targets.clone() {
            let merged = git(
                &checker.root,
                &[
                    "for-each-ref",
                    &format!("--merged={sha}"),
                    "--format=%(refname)",
                    "refs/heads",
                ],
            )
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("refs/heads/"))
            .map(str::to_owned)
            .collect();
            checker.merged.push(merged);
            let since = format!("--since=@{since}");
            let log = [
                "log",
                "-p",
                "--no-merges",
                &since,
                "--format=commit %H",
                sha.as_str(),
            ];
            let ids = patch_ids(&checker.root, &log);
            checker.upstream.push(ids.into_iter().collect());
        }
        checker.own = checker.own_commits(spans);
    }

    /// The configured name, each remote's HEAD (`origin/main`) and the local
    /// branch of that name; `main`, `master`, `trunk` when nothing says.
    fn default_targets(
        &self,
        configured: Option<&str>,
        symrefs: &[String],
    ) -> Vec<(String, String)> {
        let mut names: Vec<String> = configured.map(str::to_owned).into_iter().collect();
        for full in symrefs {
            if let Some(short) = full.strip_prefix("refs/remotes/") {
                names.push(short.to_owned());
                if let Some((_, branch)) = short.split_once('/') {
                    names.push(branch.to_owned());
                }
            }
        }
        if names.is_empty() {
            for n in ["main", "master", "trunk"] {
                names.push(n.to_owned());
                names.push(format!("origin/{n}"));
            }
        }
        let mut targets: Vec<(String, String)> = Vec::new();
        for name in names {
            let sha = self
                .refs
                .get(&format!("refs/heads/{name}"))
                .or_else(|| self.refs.get(&format!("refs/remotes/{name}")));
            if let Some(sha) = sha
                && !targets.iter().any(|(n, c)| *n == name || c == sha)
            {
                targets.push((name, sha.clone()));
            }
        }
        targets
    }

    /// The default-branch refs, by name.
    pub fn target_names(&self) -> Vec<String> {
        self.targets.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Is `branch` one of the default branches (or the name a target has)?
    pub fn is_default(&self, branch: &str) -> bool {
        self.targets
            .iter()
            .any(|(n, _)| n == branch || n.split_once('/').is_some_and(|(_, b)| b == branch))
            || ["main", "master", "trunk"].contains(&branch) && self.targets.is_empty()
    }

    /// The branch's last commit: its ref, or the last HEAD recorded on it
    /// (a branch deleted or renamed since).
    pub fn tip(&self, branch: &str, span: Option<&OpenSpan>) -> Option<String> {
        self.refs
            .get(&format!("refs/heads/{branch}"))
            .cloned()
            .or_else(|| span.and_then(|s| s.last_head.clone()))
    }

    /// Where the branch began: its reflog's creation entry (read from the
    /// file, no process), else the first HEAD recorded on it.
    pub fn start(&self, branch: &str, span: Option<&OpenSpan>) -> Option<String> {
        let log = std::fs::read_to_string(self.common.join("logs/refs/heads").join(branch)).ok();
        log.as_deref()
            .and_then(|l| l.lines().next())
            .and_then(|l| l.split(' ').nth(1))
            .map(str::to_owned)
            .or_else(|| span.and_then(|s| s.first_head.clone()))
    }

    /// Every open branch's own commits with their patch ids: two `git log`
    /// runs and one `git patch-id` for all of them.
    fn own_commits(&self, spans: &[OpenSpan]) -> HashMap<String, Vec<(String, String)>> {
        let tips: Vec<String> = spans
            .iter()
            .filter(|s| !self.is_default(&s.branch))
            .filter_map(|s| self.tip(&s.branch, Some(s)))
            .collect();
        if tips.is_empty() {
            return HashMap::new();
        }
        let mut range: Vec<String> = tips.clone();
        range.push("--not".into());
        range.extend(self.targets.iter().map(|(_, c)| c.clone()));
        let mut args = vec!["log", "--no-merges", "--source", "--format=%H %S"];
        args.extend(range.iter().map(String::as_str));
        let sources = git(&self.root, &args).unwrap_or_default();
        let mut args = vec!["log", "-p", "--no-merges", "--format=commit %H"];
        args.extend(range.iter().map(String::as_str));
        let pids: HashMap<String, String> = patch_ids(&self.root, &args)
            .into_iter()
            .map(|(p, c)| (c, p))
            .collect();
        let mut own: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for line in sources.lines() {
            let Some((commit, source)) = line.split_once(' ') else {
                continue;
            };
            let tip = self
                .refs
                .get(source)
                .cloned()
                .unwrap_or_else(|| source.to_owned());
            let pid = pids.get(commit).cloned().unwrap_or_default();
            own.entry(tip).or_default().push((commit.to_owned(), pid));
        }
        own
    }

    /// Proof that `branch`'s work is in a default branch, if there is one.
    pub fn finished(&self, branch: &str, span: Option<&OpenSpan>) -> Option<Finish> {
        let tip = self.tip(branch, span)?;
        let local = self.refs.contains_key(&format!("refs/heads/{branch}"));
        (0..self.targets.len()).find_map(|t| self.finished_in(t, branch, &tip, local, span))
    }

    fn finished_in(
        &self,
        t: usize,
        branch: &str,
        tip: &str,
        local: bool,
        span: Option<&OpenSpan>,
    ) -> Option<Finish> {
        let (into, target) = &self.targets[t];
        let root = &self.root;
        let contained = if local {
            self.merged[t].contains(branch)
        } else {
            is_ancestor(root, tip, target)
        };
        if contained {
            // Only a branch with commits of its own proves anything.
            let start = self.start(branch, span)?;
            let range = format!("{start}..{tip}");
            let count = git(root, &["rev-list", "--count", "--no-merges", &range])?;
            if count == "0" {
                return None;
            }
            let by = bringing_merge(root, tip, target).unwrap_or_else(|| tip.to_owned());
            return Some(finish(root, How::Merged, into, by));
        }
        let upstream = &self.upstream[t];
        let own = self.own.get(tip)?;
        if upstream.is_empty() || own.is_empty() {
            return None;
        }
        if own.iter().all(|(_, p)| upstream.contains_key(p)) {
            let landed = upstream.get(&own[0].1)?;
            return Some(finish(root, How::Rebased, into, landed.clone()));
        }
        // One commit carries the whole change: only worth asking git when
        // the branch has more than one commit (one is the rebase case).
        if own.len() < 2 {
            return None;
        }
        let base = merge_base(root, tip, target)?;
        let whole = patch_ids(root, &["diff", "-p", &base, tip]);
        let squash = whole.iter().find_map(|(p, _)| upstream.get(p))?;
        Some(finish(root, How::Squashed, into, squash.clone()))
    }
}

/// Is `a` an ancestor of (or equal to) `b`?
pub fn is_ancestor(root: &Path, a: &str, b: &str) -> bool {
    git(root, &["merge-base", "--is-ancestor", a, b]).is_some()
}

/// The best common ancestor of `a` and `b`.
pub fn merge_base(root: &Path, a: &str, b: &str) -> Option<String> {
    git(root, &["merge-base", a, b])
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

/// `git <args> | git patch-id --stable`: (patch id, commit) pairs.
fn patch_ids(root: &Path, args: &[&str]) -> Vec<(String, String)> {
    let Ok(out) = Command::new("git")
        .current_dir(root)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    let Ok(mut child) = Command::new("git")
        .current_dir(root)
        .args(["patch-id", "--stable"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return Vec::new();
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&out.stdout);
    }
    let Ok(ids) = child.wait_with_output() else {
        return Vec::new();
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
