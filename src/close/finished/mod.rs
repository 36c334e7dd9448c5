//! Is a branch's work in the default branch, however it got there? Merged
//! on a code host and pulled, squashed, rebased or fast-forwarded, with the
//! default branch moved nearby or commits added on the host: decided from
//! content, asked of git plumbing (for-each-ref, merge-tree, merge-base,
//! patch-id), never of porcelain output meant for people. Also which commit
//! brought the work in, and the pull/merge request number and title.
//!
//! The rule (docs/finished.md): a branch with a change of its own is
//! finished in a default-branch ref when
//! 1. merging its tip into the ref changes nothing (`git merge-tree
//!    --write-tree` gives the ref's own tree) — an ancestor (merge commit,
//!    fast-forward) or, by content, a squash or rebase whatever its patches
//!    look like; a content match with no ancestry also needs a link to the
//!    branch (the commit that brought it in has the branch's author, names
//!    the branch, or a PR ref or upstream of the branch exists), so a
//!    colleague's identical fix on a never-pushed branch does not count;
//! 2. or each of its own commits has an equal patch id there (a rebase
//!    merge whose lines the default branch changed again later).
//!
//! Cost: one for-each-ref and one `merge-tree --stdin` for every open
//! branch at once, then processes only for branches that are finished;
//! the patch-id stage reads the default branch only back to the oldest own
//! commit of an unfinished branch (or what the pull brought, in a hook).

mod commits;
mod landing;
mod reflog;

pub(crate) use landing::pull_request;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::git::Repo;
use crate::proc::{self, Cmd};
use crate::store::OpenSpan;

/// How the work reached the default branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Its tip is an ancestor: a merge commit or a fast-forward.
    Merged,
    /// Its commits were made anew there (equal patches, or the same
    /// content brought by several commits).
    Rebased,
    /// One commit there carries its whole change.
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

/// A default-branch ref.
#[derive(Debug, Clone)]
struct Target {
    /// `main`, `origin/main`.
    name: String,
    commit: String,
    tree: String,
}

/// Why a branch's tip is in a target, before the landing commit is known.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Evidence {
    /// Merging the tip changes nothing in the target.
    Content,
    /// Each own commit's patch is there; the newest one's equal.
    Patches { landed: String },
    /// A squash commit's message names the request and the branch's
    /// commits.
    Named { landed: String },
}

/// What one check of finished work knows about the repository: every ref,
/// the default-branch targets, the HEAD reflogs, and a verdict for each
/// open branch.
pub struct Checker {
    root: PathBuf,
    common: PathBuf,
    /// Full ref name → commit.
    refs: HashMap<String, String>,
    targets: Vec<Target>,
    tips: reflog::Tips,
    /// Branch → its verdict, from [`Checker::load`].
    verdicts: HashMap<String, Option<Finish>>,
    /// In a git hook: the default branch before the pull (`ORIG_HEAD`), so
    /// only what the pull brought is looked at.
    before: Option<String>,
    /// Commit → the paths it changed, kept between checks.
    paths: std::cell::RefCell<HashMap<String, Vec<String>>>,
    /// Old name → new name, from the branches' own reflogs, read once.
    renames: std::cell::RefCell<Option<HashMap<String, String>>>,
}

/// A pathspec for everything but mt's own files: a branch that only
/// commits milestones has no change of its own.
const NOT_MT_FILES: [&str; 3] = ["--", ".", ":(exclude)milestones"];

impl Checker {
    /// Read the refs and find the default-branch targets (one git process);
    /// `configured` is the `default_branch` setting. [`Checker::load`]
    /// decides the open branches.
    pub fn new(repo: &Repo, configured: Option<&str>) -> Result<Checker> {
        let root = repo.root.clone();
        let listing = Cmd::git(&root)
            .args([
                "for-each-ref",
                "--format=%(objectname) %(refname) %(symref)",
                "refs/heads",
                "refs/remotes",
                "refs/pull",
                "refs/merge-requests",
            ])
            .text()?;
        let mut refs = HashMap::new();
        let mut symrefs = Vec::new();
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
            tips: reflog::Tips::read(&repo.common),
            verdicts: HashMap::new(),
            before: None,
            paths: Default::default(),
            renames: Default::default(),
        };
        checker.targets = checker.default_targets(configured, &symrefs)?;
        Ok(checker)
    }

    /// In a git hook after a pull: the patch-id stage reads only the
    /// default-branch commits after `before` (git's `ORIG_HEAD`).
    pub fn after_pull(&mut self, before: Option<String>) {
        self.before = before;
    }

    /// The configured name, each remote's HEAD (`origin/main`) and the local
    /// branch of that name; `main`, `master`, `trunk` when nothing says.
    fn default_targets(&self, configured: Option<&str>, symrefs: &[String]) -> Result<Vec<Target>> {
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
        let mut found: Vec<(String, String)> = Vec::new();
        for name in names {
            let sha = self
                .refs
                .get(&format!("refs/heads/{name}"))
                .or_else(|| self.refs.get(&format!("refs/remotes/{name}")));
            if let Some(sha) = sha
                && !found.iter().any(|(n, c)| *n == name || c == sha)
            {
                found.push((name, sha.clone()));
            }
        }
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let trees = self.trees(found.iter().map(|(_, c)| c.as_str()))?;
        Ok(found
            .into_iter()
            .zip(trees)
            .map(|((name, commit), tree)| Target { name, commit, tree })
            .collect())
    }

    /// The tree of each commit, in order (one process).
    fn trees<'a>(&self, commits: impl Iterator<Item = &'a str>) -> Result<Vec<String>> {
        let args: Vec<String> = commits.map(|c| format!("{c}^{{tree}}")).collect();
        let out = Cmd::git(&self.root).arg("rev-parse").args(&args).text()?;
        Ok(out.lines().map(str::to_owned).collect())
    }

    /// The default-branch refs, by name.
    pub fn target_names(&self) -> Vec<String> {
        self.targets.iter().map(|t| t.name.clone()).collect()
    }

    /// Could the default branch be determined at all?
    pub fn has_default(&self) -> bool {
        !self.targets.is_empty()
    }

    /// Is `branch` one of the default branches (or the name a target has)?
    pub fn is_default(&self, branch: &str) -> bool {
        self.targets
            .iter()
            .any(|t| t.name == branch || t.name.split_once('/').is_some_and(|(_, b)| b == branch))
            || ["main", "master", "trunk"].contains(&branch) && self.targets.is_empty()
    }

    /// The branch's last commit: its ref; else where HEAD last had it (a
    /// branch deleted since, even with commits made after its last
    /// command); else the last HEAD recorded on it.
    pub fn tip(&self, branch: &str, span: Option<&OpenSpan>) -> Option<String> {
        let renamed = self.renamed_to(branch);
        let name = renamed.as_deref().unwrap_or(branch);
        self.refs
            .get(&format!("refs/heads/{name}"))
            .cloned()
            .or_else(|| self.tips.get(name).map(|s| s.commit.clone()))
            .or_else(|| span.and_then(|s| s.last_head.clone()))
    }

    /// The name a branch that no longer exists was renamed to (and on,
    /// through further renames), from the HEAD reflog or the new branch's
    /// own reflog: its work is that branch's.
    pub fn renamed_to(&self, branch: &str) -> Option<String> {
        if self.refs.contains_key(&format!("refs/heads/{branch}")) {
            return None;
        }
        let mut name = self.renamed_once(branch)?;
        for _ in 0..8 {
            if self.refs.contains_key(&format!("refs/heads/{name}")) {
                break;
            }
            match self.renamed_once(&name) {
                Some(next) => name = next,
                None => break,
            }
        }
        Some(name)
    }

    fn renamed_once(&self, branch: &str) -> Option<String> {
        if let Some(to) = self.tips.renamed(branch) {
            return Some(to.to_owned());
        }
        let mut renames = self.renames.borrow_mut();
        let renames = renames.get_or_insert_with(|| self.branch_renames());
        renames.get(branch).cloned()
    }

    /// `git branch -m a b` of a branch not checked out: b's own reflog
    /// starts with the rename. Read once per check, and only when a branch
    /// that is gone is asked about.
    fn branch_renames(&self) -> HashMap<String, String> {
        let mut renames = HashMap::new();
        for name in self
            .refs
            .keys()
            .filter_map(|r| r.strip_prefix("refs/heads/"))
        {
            let log = self.common.join("logs/refs/heads").join(name);
            let Ok(text) = std::fs::read_to_string(log) else {
                continue;
            };
            let first = text.lines().next().and_then(|l| l.split_once('\t'));
            if let Some((from, to)) = first
                .and_then(|(_, m)| m.strip_prefix("Branch: renamed refs/heads/"))
                .and_then(|r| r.split_once(" to refs/heads/"))
            {
                renames.insert(from.to_owned(), to.to_owned());
            }
        }
        renames
    }

    /// Is `branch` abandoned: deleted, with no upstream left, and (the
    /// caller checks) its work in no default branch?
    pub fn is_gone(&self, branch: &str) -> bool {
        !self.refs.contains_key(&format!("refs/heads/{branch}"))
            && self.upstream(branch).is_none()
            && self.renamed_to(branch).is_none()
    }

    /// When the branch that has this name now was created (seconds since
    /// the epoch), from its own reflog, if HEAD was on an earlier branch of
    /// the same name before: runs that ended before it were that branch's.
    pub fn recreated_at(&self, branch: &str) -> Option<i64> {
        let created = self.created_at(branch)?;
        let first = self.tips.get(branch)?.first;
        (first < created).then_some(created)
    }

    /// When the branch that has this name now was created, from its own
    /// reflog's creation entry.
    fn created_at(&self, branch: &str) -> Option<i64> {
        let log = std::fs::read_to_string(self.common.join("logs/refs/heads").join(branch)).ok()?;
        let first = log.lines().next()?;
        let (head, message) = first.split_once('\t')?;
        // Only a creation entry marks a boundary (a reflog can be expired).
        let created = message.starts_with("branch: Created from")
            || message.starts_with("branch: Reset to")
            || message.starts_with("Branch: renamed");
        let mut tail = head.rsplitn(3, ' ');
        let _tz = tail.next()?;
        created.then(|| tail.next()?.parse().ok()).flatten()
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

    /// Decide every open branch of `spans` at once. A process that runs
    /// past its limit (a git hook's budget) is the error: the work is left
    /// for the next `mt close`.
    pub fn load(&mut self, spans: &[OpenSpan]) -> Result<()> {
        let mut open: Vec<(String, String)> = Vec::new();
        for span in spans {
            if self.is_default(&span.branch) {
                continue;
            }
            // Not finished unless a stage below proves it.
            self.verdicts.insert(span.branch.clone(), None);
            if let Some(tip) = self.tip(&span.branch, Some(span)) {
                open.push((span.branch.clone(), tip));
            }
        }
        if self.targets.is_empty() || open.is_empty() {
            return Ok(());
        }
        if let Some(before) = self.before.clone() {
            open = self.touched_by_pull(&open, &before)?;
            if open.is_empty() {
                return Ok(());
            }
        }
        let rest = self.load_by_content(spans, &open)?;
        let own = self.own_commits(&rest)?;
        let mut found = self.by_patches(&rest, &own)?;
        let named: Vec<(String, String)> = (rest.iter())
            .filter(|(b, _)| !found.iter().any(|f| &f.0 == b))
            .cloned()
            .collect();
        found.extend(self.by_name(&named, &own)?);
        for (branch, tip, t, evidence) in found {
            let finish = self.finish(t, &tip, &evidence)?;
            self.verdicts.insert(branch, Some(finish));
        }
        Ok(())
    }

    /// The content stage for every open branch: its tip, and the host's
    /// version of it (its upstream, when that holds the tip: a reviewer's
    /// commit added on the host). The branches it leaves undecided.
    fn load_by_content(
        &mut self,
        spans: &[OpenSpan],
        open: &[(String, String)],
    ) -> Result<Vec<(String, String)>> {
        let mut probes: Vec<(usize, String)> = Vec::new();
        for (i, (branch, tip)) in open.iter().enumerate() {
            probes.push((i, tip.clone()));
            probes.extend(self.upstream(branch).filter(|u| u != tip).map(|u| (i, u)));
        }
        let contained = self.contained(probes.iter().map(|p| p.1.as_str()))?;
        let mut decided = vec![false; open.len()];
        for ((i, commit), target) in probes.iter().zip(contained) {
            let (branch, tip) = &open[*i];
            let Some(t) = target.filter(|_| !decided[*i]) else {
                continue;
            };
            if commit != tip && !is_ancestor(&self.root, tip, commit)? {
                continue;
            }
            let span = spans.iter().find(|s| &s.branch == branch);
            let verdict = self.by_content(t, branch, commit, span)?;
            decided[*i] = verdict.is_some() || commit == tip;
            if decided[*i] {
                self.verdicts.insert(branch.clone(), verdict);
            }
        }
        Ok((open.iter().zip(decided))
            .filter(|(_, d)| !d)
            .map(|(o, _)| o.clone())
            .collect())
    }

    /// The branch's remote-tracking ref's commit, on any remote.
    fn upstream(&self, branch: &str) -> Option<String> {
        (self.refs.iter())
            .find(|(r, _)| upstream_of(r, branch))
            .map(|(_, c)| c.clone())
    }

    /// Proof that `branch`'s work is in a default branch, if there is one.
    /// Decided by [`Checker::load`]; a branch it was not given is checked
    /// on its own.
    pub fn finished(&mut self, branch: &str, span: Option<&OpenSpan>) -> Result<Option<Finish>> {
        if !self.verdicts.contains_key(branch) {
            let mut one = span.cloned().unwrap_or_else(|| OpenSpan {
                branch: branch.to_owned(),
                ..OpenSpan::default()
            });
            one.branch = branch.to_owned();
            self.load(std::slice::from_ref(&one))?;
        }
        Ok(self.verdicts.get(branch).cloned().flatten())
    }

    /// For each commit: the first target into which merging it changes
    /// nothing — one `git merge-tree --stdin` for all of them (one merge
    /// each, for a git before 2.40 or a commit it cannot read).
    fn contained<'a>(&self, commits: impl Iterator<Item = &'a str>) -> Result<Vec<Option<usize>>> {
        let commits: Vec<&str> = commits.collect();
        let mut input = String::new();
        for c in &commits {
            for t in &self.targets {
                input.push_str(&format!("{} {c}\n", t.commit));
            }
        }
        let out = Cmd::git(&self.root)
            .args([
                "merge-tree",
                "--write-tree",
                "--stdin",
                "-z",
                "--no-messages",
                "--name-only",
            ])
            .input(input.into_bytes())
            .output()?;
        let per = self.targets.len();
        let mut results = merge_results(&out.stdout);
        if !out.status.success() || results.len() != commits.len() * per {
            results = self.merge_each(&commits)?;
        }
        Ok((0..commits.len())
            .map(|i| {
                (0..per).find(|&t| {
                    results
                        .get(i * per + t)
                        .is_some_and(|r| r.clean && r.tree == self.targets[t].tree)
                })
            })
            .collect())
    }

    /// [`Checker::contained`]'s merges one process each.
    fn merge_each(&self, commits: &[&str]) -> Result<Vec<Merged>> {
        let mut results = Vec::new();
        for c in commits {
            for t in &self.targets {
                let out = Cmd::git(&self.root)
                    .args([
                        "merge-tree",
                        "--write-tree",
                        "--no-messages",
                        "--name-only",
                        &t.commit,
                        c,
                    ])
                    .output()?;
                let text = String::from_utf8_lossy(&out.stdout);
                results.push(Merged {
                    clean: out.status.success(),
                    tree: text.lines().next().unwrap_or("").to_owned(),
                });
            }
        }
        Ok(results)
    }

    /// A tip whose merge into target `t` changes nothing: finished if the
    /// branch has a change of its own, and — when it is no ancestor — the
    /// landing commit is linked to the branch.
    fn by_content(
        &self,
        t: usize,
        branch: &str,
        tip: &str,
        span: Option<&OpenSpan>,
    ) -> Result<Option<Finish>> {
        let target = &self.targets[t].commit;
        let Some(base) = git_opt(&self.root, &["merge-base", target, tip])? else {
            return Ok(None);
        };
        if base == tip {
            // An ancestor: only commits of its own prove anything.
            let Some(start) = self.start(branch, span) else {
                return Ok(None);
            };
            let range = format!("{start}..{tip}");
            let mut args = vec!["rev-list", "--count", "--no-merges", &range];
            args.extend(NOT_MT_FILES);
            let count = git_opt(&self.root, &args)?;
            if count.as_deref().is_none_or(|c| c == "0") {
                return Ok(None);
            }
            return self.finish(t, tip, &Evidence::Content).map(Some);
        }
        let changed = !Cmd::git(&self.root)
            .args(["diff", "--quiet", &base, tip])
            .args(NOT_MT_FILES)
            .check()?;
        if !changed {
            return Ok(None);
        }
        let finish = self.finish(t, tip, &Evidence::Content)?;
        Ok(self.linked(branch, &base, tip, &finish)?.then_some(finish))
    }

    /// Is the commit that brought a content match in the branch's own? Its
    /// author wrote one of the branch's commits, its message names the
    /// branch, it names a PR, or the branch was pushed (an upstream ref).
    fn linked(&self, branch: &str, base: &str, tip: &str, finish: &Finish) -> Result<bool> {
        // A PR number alone is not a link: a colleague's identical fix
        // comes in through a PR too.
        if self.refs.keys().any(|r| upstream_of(r, branch)) {
            return Ok(true);
        }
        let range = format!("{base}..{tip}");
        let authors = Cmd::git(&self.root)
            .args(["log", "--format=%ae", &range])
            .text()?;
        let landed = Cmd::git(&self.root)
            .args(["log", "-1", "--format=%ae%n%B", &finish.commit])
            .text()?;
        let (author, message) = landed.split_once('\n').unwrap_or((&landed, ""));
        Ok(authors.lines().any(|a| a == author) || message.contains(branch))
    }

    /// The finish in target `t`: the landing commit and what it says.
    fn finish(&self, t: usize, tip: &str, evidence: &Evidence) -> Result<Finish> {
        let target = &self.targets[t];
        let landing = landing::Landing::new(&self.root, &self.refs);
        let (probe, how) = match evidence {
            Evidence::Content => (tip, None),
            Evidence::Patches { landed } => (landed.as_str(), Some(How::Rebased)),
            Evidence::Named { landed } => (landed.as_str(), Some(How::Squashed)),
        };
        let found = landing.find(probe, &target.commit, how.is_some())?;
        Ok(Finish {
            how: how.unwrap_or(found.how),
            into: target.name.clone(),
            commit: found.commit,
            pr: found.pr,
            title: found.title,
        })
    }
}

/// Is `full` the remote-tracking ref of `branch` on any remote?
fn upstream_of(full: &str, branch: &str) -> bool {
    full.strip_prefix("refs/remotes/")
        .and_then(|r| r.split_once('/'))
        .is_some_and(|(_, b)| b == branch)
}

/// One merge of `git merge-tree --write-tree --stdin -z --name-only`.
struct Merged {
    clean: bool,
    tree: String,
}

/// Its output: per merge `STATUS\0TREE\0[PATH\0]*\0`.
fn merge_results(out: &[u8]) -> Vec<Merged> {
    let text = String::from_utf8_lossy(out);
    let mut results = Vec::new();
    let mut fields = text.split('\0');
    while let Some(status) = fields.next() {
        let Some(tree) = fields.next() else { break };
        results.push(Merged {
            clean: status == "1",
            tree: tree.to_owned(),
        });
        // Conflicted paths until the empty field that ends this merge.
        for f in fields.by_ref() {
            if f.is_empty() {
                break;
            }
        }
    }
    results
}

/// `git ARGS`: its trimmed stdout when it exits 0, `None` when it exits
/// otherwise (a question answered no); running past a limit is the error.
pub(crate) fn git_opt(root: &Path, args: &[&str]) -> Result<Option<String>, proc::Error> {
    let out = Cmd::git(root).args(args).output()?;
    Ok(out.status.success().then(|| out.text()))
}

/// Is `a` an ancestor of (or equal to) `b`?
pub(crate) fn is_ancestor(root: &Path, a: &str, b: &str) -> Result<bool, proc::Error> {
    Cmd::git(root)
        .args(["merge-base", "--is-ancestor", a, b])
        .check()
}

/// The best common ancestor of `a` and `b`.
pub(crate) fn merge_base(root: &Path, a: &str, b: &str) -> Result<Option<String>, proc::Error> {
    git_opt(root, &["merge-base", a, b])
}

#[cfg(test)]
mod tests {
    use super::merge_results;

    #[test]
    fn merge_tree_results_split_at_the_empty_field() {
        let out = b"0\0aaaa\0f\0g\0\0\x31\0bbbb\0\0";
        let r = merge_results(out);
        assert_eq!(r.len(), 2);
        assert!(!r[0].clean && r[0].tree == "aaaa");
        assert!(r[1].clean && r[1].tree == "bbbb");
    }
}
