//! Where each branch was last, read from the HEAD reflogs of every worktree
//! (`logs/HEAD`, one line per move of HEAD): the tip a branch had when HEAD
//! left it, or its newest commit while HEAD is on it. That is the branch's
//! last tip even when no command ran after its last commit and the branch
//! (with its own reflog) was deleted since.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

/// A branch's newest tip seen in a HEAD reflog, and when; and when HEAD
/// was first on a branch of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Seen {
    pub commit: String,
    /// Seconds since the epoch (the reflog entry's time).
    pub at: i64,
    pub first: i64,
}

/// Per branch, its newest tip in any worktree's HEAD reflog; and the
/// renames HEAD saw (`git branch -m` of the branch checked out).
#[derive(Debug, Default)]
pub(super) struct Tips(HashMap<String, Seen>, HashMap<String, String>);

impl Tips {
    /// Read `logs/HEAD` of the main worktree and of each linked one.
    pub(super) fn read(common: &Path) -> Tips {
        let mut tips = Tips::default();
        tips.add_log(&common.join("logs/HEAD"));
        if let Ok(dirs) = fs::read_dir(common.join("worktrees")) {
            for dir in dirs.flatten() {
                tips.add_log(&dir.path().join("logs/HEAD"));
            }
        }
        tips
    }

    pub(super) fn get(&self, branch: &str) -> Option<&Seen> {
        self.0.get(branch)
    }

    /// The name `branch` was renamed to, if HEAD saw it renamed.
    pub(super) fn renamed(&self, branch: &str) -> Option<&str> {
        self.1.get(branch).map(String::as_str)
    }

    fn add_log(&mut self, path: &Path) {
        if let Ok(text) = fs::read(path) {
            self.add(&String::from_utf8_lossy(&text));
        }
    }

    /// Follow HEAD through one reflog: which branch it is on, and each
    /// commit it reached there.
    fn add(&mut self, log: &str) {
        let mut current: Option<String> = None;
        for line in log.lines() {
            let Some(entry) = Entry::parse(line) else {
                continue;
            };
            if let Some((from, to)) = entry
                .message
                .strip_prefix("checkout: moving from ")
                .and_then(|r| r.split_once(" to "))
            {
                self.saw(from, entry.old, entry.at);
                current = Some(to.to_owned());
            } else if entry.message.starts_with("rebase") && entry.message.contains("(start)") {
                // A rebase works on a detached HEAD until it finishes.
                current = None;
            } else if let Some(to) = entry
                .message
                .split_once(": returning to refs/heads/")
                .map(|(_, b)| b)
            {
                // `rebase (finish): returning to refs/heads/B`
                current = Some(to.to_owned());
            } else if let Some((from, to)) = entry
                .message
                .strip_prefix("Branch: renamed refs/heads/")
                .and_then(|r| r.split_once(" to refs/heads/"))
            {
                self.1.insert(from.to_owned(), to.to_owned());
                current = Some(to.to_owned());
            }
            if let Some(branch) = &current {
                self.saw(branch, entry.new, entry.at);
            }
        }
    }

    /// `branch` was at `commit` at `at`, if that is its newest sighting.
    fn saw(&mut self, branch: &str, commit: &str, at: i64) {
        // A detached HEAD "moves from" a commit id, not a branch.
        if commit.bytes().all(|b| b == b'0') || is_object_id(branch) {
            return;
        }
        let seen = self.0.entry(branch.to_owned()).or_insert_with(|| Seen {
            commit: commit.to_owned(),
            at,
            first: at,
        });
        seen.first = seen.first.min(at);
        if seen.at <= at {
            seen.commit = commit.to_owned();
            seen.at = at;
        }
    }
}

/// One reflog line: `OLD NEW Name <email> TIME TZ<TAB>MESSAGE`.
struct Entry<'a> {
    old: &'a str,
    new: &'a str,
    at: i64,
    message: &'a str,
}

impl<'a> Entry<'a> {
    fn parse(line: &'a str) -> Option<Entry<'a>> {
        let (head, message) = line.split_once('\t')?;
        let mut words = head.splitn(3, ' ');
        let (old, new, who) = (words.next()?, words.next()?, words.next()?);
        let mut tail = who.rsplitn(3, ' ');
        let _tz = tail.next()?;
        let at = tail.next()?.parse().ok()?;
        Some(Entry {
            old,
            new,
            at,
            message,
        })
    }
}

fn is_object_id(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const C: &str = "3333333333333333333333333333333333333333";
    const D: &str = "4444444444444444444444444444444444444444";

    fn line(old: &str, new: &str, at: i64, msg: &str) -> String {
        format!("{old} {new} A U Thor <a@u.t> {at} +0000\t{msg}\n")
    }

    #[test]
    fn a_branch_left_after_a_commit_keeps_that_commit_as_its_tip() {
        let log = [
            line(A, A, 1, "checkout: moving from main to feat/x"),
            line(A, B, 2, "commit: work"),
            line(B, C, 3, "commit (amend): work"),
            line(C, A, 4, "checkout: moving from feat/x to main"),
            line(A, D, 5, "pull: Fast-forward"),
        ]
        .concat();
        let mut tips = Tips::default();
        tips.add(&log);
        assert_eq!(tips.get("feat/x").unwrap().commit, C);
        assert_eq!(tips.get("main").unwrap().commit, D);
    }

    #[test]
    fn a_rebase_ends_on_its_branch_and_a_detached_head_is_no_branch() {
        let log = [
            line(A, B, 1, "checkout: moving from main to feat/y"),
            line(B, A, 2, "rebase (start): checkout main"),
            line(A, C, 3, "rebase (pick): work"),
            line(C, C, 4, "rebase (finish): returning to refs/heads/feat/y"),
            line(C, D, 5, &format!("checkout: moving from feat/y to {D}")),
        ]
        .concat();
        let mut tips = Tips::default();
        tips.add(&log);
        assert_eq!(tips.get("feat/y").unwrap().commit, C);
        assert!(tips.get(D).is_none());
    }
}
