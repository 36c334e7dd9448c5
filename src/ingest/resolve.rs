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

/// Repo and branch lookups, cached for one pass (HEAD may move between passes).
#[derive(Default)]
pub(super) struct Resolver {
    repos: HashMap<PathBuf, Option<Repo>>,
    heads: HashMap<PathBuf, (Option<Head>, Vec<Move>)>,
    commits: HashMap<(PathBuf, Head), Option<String>>,
}

impl Resolver {
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

    fn repo(&mut self, dir: &Path) -> Option<Repo> {
        self.repos
            .entry(dir.to_path_buf())
            .or_insert_with(|| git::find(dir))
            .clone()
    }

    /// Where `cwd` was, on which branch, at `time_us`. `hint` is the worktree
    /// root and HEAD text that the writer read when it wrote the record.
    pub(super) fn resolve(
        &mut self,
        cwd: &Path,
        hint: Option<(&Path, Option<String>)>,
        time_us: i64,
        read_at_end: Option<(i64, i64)>,
    ) -> Place {
        let (repo, head) = match hint {
            Some((root, text)) => {
                let head = text.as_deref().and_then(Head::parse);
                let repo = self.repo(root);
                if repo.is_none() {
                    // The tree is gone since; what the writer saw still holds.
                    return Place {
                        repo: Some(root.to_string_lossy().into_owned()),
                        branch: head.map(|h| h.branch()),
                        commit: None,
                    };
                }
                let head = match (head, read_at_end, &repo) {
                    (Some(h), Some((start, end)), Some(r)) => {
                        let (_, moves) = self.head_and_moves(&r.gitdir);
                        Some(git::head_before_run(h, moves, start, end))
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
        let commit = head.as_ref().and_then(|h| {
            self.commits
                .entry((repo.common.clone(), h.clone()))
                .or_insert_with(|| git::commit_of(&repo, h))
                .clone()
        });
        Place {
            repo: Some(repo.root.to_string_lossy().into_owned()),
            branch: head.map(|h| h.branch()),
            commit,
        }
    }
}
