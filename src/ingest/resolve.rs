//! Which repository and branch a record belongs to, from its cwd and time
//! and the HEAD its writer saw: worktrees, detached HEAD, unborn branches,
//! and the HEAD reflog when HEAD has moved since. Cached for one pass.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::git::{self, Head, Move, Repo};

#[derive(Debug, Default)]
pub(super) struct Place {
    pub repo: Option<String>,
    pub branch: Option<String>,
    pub commit: Option<String>,
}

/// When the writer of a record read HEAD, relative to the run.
#[derive(Debug, Clone, Copy)]
pub(super) enum HeadRead {
    /// As the record was written, at the run's start or the event itself
    /// (`mt exec`, markers, edits).
    Written,
    /// At the prompt before the command (bash, zsh): a switch since, made
    /// elsewhere, is in the reflog.
    Prompt { start_us: i64 },
    /// After the run (fish): a switch the run made itself is in the reflog.
    RunEnd { start_us: i64, end_us: i64 },
}

/// What the writer of a record read when it wrote it.
pub(super) struct Hint<'a> {
    /// The worktree root.
    pub root: &'a Path,
    /// HEAD's text.
    pub head: Option<String>,
    /// The commit HEAD named, when the writer could read it.
    pub commit: Option<String>,
}

/// Repo and branch lookups, cached for one pass (HEAD may move between passes).
#[derive(Default)]
pub(super) struct Resolver {
    repos: HashMap<PathBuf, Option<Repo>>,
    heads: HashMap<PathBuf, (Option<Head>, Vec<Move>)>,
    commits: HashMap<(PathBuf, Head), Option<String>>,
    head_logs: HashMap<PathBuf, String>,
    /// Worktree root → shared git dir, of every repository resolved.
    pub commons: HashMap<String, String>,
    /// Worktree root → the filters of its `.mt.toml` (`redact`, `ignore`),
    /// when it has any; read once a pass.
    own_filters: HashMap<String, Option<crate::redact::Filters>>,
    /// A directory as a shell spelled it → the real path (no symlink).
    reals: HashMap<PathBuf, PathBuf>,
}

impl Resolver {
    /// The filters a repository's own `.mt.toml` adds, if it names any
    /// `redact` or `ignore` pattern (a file that does not parse adds none;
    /// `mt doctor` names it).
    pub(super) fn repo_filters(&mut self, root: &str) -> Option<&crate::redact::Filters> {
        self.own_filters
            .entry(root.to_owned())
            .or_insert_with(|| {
                let config = crate::config::load(&Path::new(root).join(".mt.toml")).ok()?;
                if config.redact.is_empty() && config.ignore.is_empty() {
                    return None;
                }
                crate::redact::Filters::new(&config).ok()
            })
            .as_ref()
    }

    fn head_and_moves(&mut self, gitdir: &Path) -> &(Option<Head>, Vec<Move>) {
        self.heads
            .entry(gitdir.to_path_buf())
            .or_insert_with(|| (git::read_head(gitdir), git::head_moves(gitdir)))
    }

    /// HEAD now (from git when the files cannot say) and the reflog moves.
    fn head_and_moves_of(&mut self, repo: &Repo) -> &(Option<Head>, Vec<Move>) {
        let entry = self
            .heads
            .entry(repo.gitdir.clone())
            .or_insert_with(|| (git::read_head(&repo.gitdir), git::head_moves(&repo.gitdir)));
        if entry.0.is_none() {
            entry.0 = git::current_head(repo);
        }
        entry
    }

    /// `dir` without symlinks: a shell's `$PWD` keeps the link it came
    /// through, `mt exec` and the watcher see the real path, and one
    /// repository must have one name. As given when it is gone.
    fn real(&mut self, dir: &Path) -> PathBuf {
        self.reals
            .entry(dir.to_path_buf())
            .or_insert_with(|| std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()))
            .clone()
    }

    fn repo(&mut self, dir: &Path) -> Option<Repo> {
        self.repos
            .entry(dir.to_path_buf())
            .or_insert_with(|| git::find(dir))
            .clone()
    }

    /// Where `cwd` was, on which branch and commit, at `time_us`. `hint` is
    /// what the writer read when it wrote the record.
    pub(super) fn resolve(
        &mut self,
        cwd: &Path,
        hint: Option<Hint<'_>>,
        time_us: i64,
        read: HeadRead,
    ) -> Place {
        let mut written = None;
        let cwd = &self.real(cwd);
        let (repo, head) = match hint {
            Some(Hint {
                root,
                head: text,
                commit,
            }) => {
                let head = text.as_deref().and_then(Head::parse);
                written = head.clone().zip(commit);
                let root = &self.real(root);
                let repo = self.repo(root);
                if repo.is_none() {
                    // The tree is gone since; what the writer saw still holds.
                    return Place {
                        repo: Some(root.to_string_lossy().into_owned()),
                        branch: head.map(|h| h.branch()),
                        commit: written.map(|(_, c)| c),
                    };
                }
                let head = match (head, read, &repo) {
                    (Some(h), HeadRead::RunEnd { start_us, end_us }, Some(r)) => {
                        let (_, moves) = self.head_and_moves(&r.gitdir);
                        Some(git::head_before_run(h, moves, start_us, end_us))
                    }
                    (Some(h), HeadRead::Prompt { start_us }, Some(r)) => {
                        let (_, moves) = self.head_and_moves(&r.gitdir);
                        Some(git::head_after_prompt(h, moves, start_us))
                    }
                    // The writer could not know (reftable): ask git now.
                    (None, _, Some(r)) => self.head_and_moves_of(r).0.clone(),
                    (h, ..) => h,
                };
                (repo, head)
            }
            None => {
                let repo = self.repo(cwd);
                let head = repo.as_ref().and_then(|r| {
                    let (now, moves) = self.head_and_moves_of(r);
                    now.clone().map(|now| git::head_at(now, moves, time_us))
                });
                (repo, head)
            }
        };
        let Some(repo) = repo else {
            return Place::default();
        };
        // A rebase stopped on a conflict: HEAD is detached on the commit
        // being rebuilt, the work is the branch's.
        let (head, written) = match (head, written) {
            (Some(Head::Detached(sha)), written) => match git::rebasing(&repo.gitdir) {
                Some(b) => {
                    let seen = written.map(|(_, c)| (Head::Branch(b.clone()), c));
                    let commit = seen.or(Some((Head::Branch(b.clone()), sha)));
                    (Some(Head::Branch(b)), commit)
                }
                None => (Some(Head::Detached(sha)), written),
            },
            other => other,
        };
        let commit = self.commit(&repo, head.as_ref(), written, time_us);
        let root = repo.root.to_string_lossy().into_owned();
        if !self.commons.contains_key(&root) {
            let common = repo.common.to_string_lossy().into_owned();
            self.commons.insert(root.clone(), common);
        }
        Place {
            repo: Some(root),
            branch: head.map(|h| h.branch()),
            commit,
        }
    }

    /// The commit of `head` at `time_us`: the one the writer saw, for the
    /// HEAD it saw (a branch may have moved on or been deleted by the time
    /// its record is ingested); else the one it names now; else, for a
    /// branch that is gone (deleted after its merge), where the HEAD reflog
    /// says it stood then.
    fn commit(
        &mut self,
        repo: &Repo,
        head: Option<&Head>,
        written: Option<(Head, String)>,
        time_us: i64,
    ) -> Option<String> {
        match (head, written) {
            (Some(h), Some((seen, commit))) if *h == seen => return Some(commit),
            _ => {}
        }
        if let Some(commit) = self.commit_now(repo, head) {
            return Some(commit);
        }
        let Some(Head::Branch(b)) = head else {
            return None;
        };
        let log = (self.head_logs.entry(repo.gitdir.clone()))
            .or_insert_with(|| git::head_log(&repo.gitdir));
        git::branch_commit_at(log, b, time_us)
    }

    /// The commit `head` names now (cached for the pass).
    fn commit_now(&mut self, repo: &Repo, head: Option<&Head>) -> Option<String> {
        head.and_then(|h| {
            self.commits
                .entry((repo.common.clone(), h.clone()))
                .or_insert_with(|| git::commit_of(repo, h))
                .clone()
        })
    }
}
