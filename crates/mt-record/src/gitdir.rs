//! Reading `.git` directly, with no git process: repository root, branch,
//! HEAD commit, and what the branch was at an earlier time (from the HEAD
//! reflog).
//!
//! `mt exec` calls [`find`] and [`read_head`], and the daemon resolves
//! thousands of records a second with the rest. Handles worktrees and
//! submodules (`.git` files), detached HEAD and unborn branches. Where the
//! files cannot be the truth — a reftable repository
//! (`extensions.refStorage`), whose `HEAD` file is a stub — this reader
//! says so ([`ref_storage`]) and the HEAD text a writer recorded counts as
//! unknown; the daemon's readers that may fork ask git instead.

use std::fs;
use std::path::{Path, PathBuf};

/// A working tree and where its git data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// Top of the working tree.
    pub root: PathBuf,
    /// This worktree's git dir (holds HEAD and its reflog).
    pub gitdir: PathBuf,
    /// The shared git dir (holds refs and packed-refs).
    pub common: PathBuf,
}

/// What HEAD points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Head {
    /// On a branch (which may be unborn: no commit yet).
    Branch(String),
    /// Detached at a commit.
    Detached(String),
}

impl Head {
    /// Parse the contents of a HEAD file; `None` when it says nothing
    /// (garbage, or the stub a reftable repository keeps there).
    pub fn parse(text: &str) -> Option<Head> {
        let text = text.trim();
        if let Some(r) = text.strip_prefix("ref:") {
            let r = r.trim();
            let name = r.strip_prefix("refs/heads/").unwrap_or(r);
            // git writes this name, which no branch can have, into the
            // HEAD file of a reftable repository.
            if name == REFTABLE_STUB {
                return None;
            }
            return Some(Head::Branch(name.to_owned()));
        }
        let hex = text.len() >= 40 && text.bytes().all(|b| b.is_ascii_hexdigit());
        hex.then(|| Head::Detached(text.to_owned()))
    }

    /// The name to file work under: the branch, or `(detached)`.
    pub fn branch(&self) -> String {
        match self {
            Head::Branch(b) => b.clone(),
            Head::Detached(_) => "(detached)".to_owned(),
        }
    }
}

/// The repository that contains `dir`, if any.
pub fn find(dir: &Path) -> Option<Repo> {
    let mut cur = Some(dir);
    while let Some(d) = cur {
        let dot = d.join(".git");
        if let Ok(meta) = fs::metadata(&dot) {
            let gitdir = if meta.is_dir() {
                dot
            } else {
                // Worktrees and submodules: "gitdir: <path>".
                let text = fs::read_to_string(&dot).ok()?;
                let target = text.trim().strip_prefix("gitdir:")?.trim();
                d.join(target)
            };
            let gitdir = normalize(&gitdir);
            let common = match fs::read_to_string(gitdir.join("commondir")) {
                Ok(rel) => normalize(&gitdir.join(rel.trim())),
                Err(_) => gitdir.clone(),
            };
            return Some(Repo {
                root: d.to_path_buf(),
                gitdir,
                common,
            });
        }
        cur = d.parent();
    }
    None
}

/// `a/b/../c` as `a/c`, without asking the file system: `commondir` and a
/// submodule's `gitdir:` hold relative paths, and one repository must have
/// one name (its main worktree is found from it).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

const REFTABLE_STUB: &str = ".invalid";

/// How a repository stores its refs: as files mt reads itself, or some
/// other way (reftable) that only git can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefStorage {
    Files,
    Other(String),
}

/// `extensions.refStorage` from the repository's config (files if unset).
pub fn ref_storage(repo: &Repo) -> RefStorage {
    let config = fs::read_to_string(repo.common.join("config")).unwrap_or_default();
    let mut in_extensions = false;
    for line in config.lines().map(str::trim) {
        if line.starts_with('[') {
            in_extensions = line.eq_ignore_ascii_case("[extensions]");
        } else if in_extensions
            && let Some((key, value)) = line.split_once('=')
            && key.trim().eq_ignore_ascii_case("refstorage")
        {
            let value = value.trim().to_ascii_lowercase();
            return if value == "files" {
                RefStorage::Files
            } else {
                RefStorage::Other(value)
            };
        }
    }
    RefStorage::Files
}

/// The commit git saved as `ORIG_HEAD` before its last merge, pull, rebase
/// or reset (read from the file, no process).
pub fn orig_head(repo: &Repo) -> Option<String> {
    let text = fs::read_to_string(repo.gitdir.join("ORIG_HEAD")).ok()?;
    let id = text.trim();
    (id.len() >= 40 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_owned())
}

/// Every working tree of the repository `repo` belongs to (itself first),
/// from `.git/worktrees/*/gitdir`; no git process.
pub fn worktrees(repo: &Repo) -> Vec<PathBuf> {
    let main = repo
        .common
        .parent()
        .filter(|_| repo.common.file_name().is_some_and(|n| n == ".git"))
        .map(Path::to_path_buf);
    let mut roots = vec![repo.root.clone()];
    roots.extend(main);
    if let Ok(entries) = fs::read_dir(repo.common.join("worktrees")) {
        for e in entries.flatten() {
            let Ok(gitfile) = fs::read_to_string(e.path().join("gitdir")) else {
                continue;
            };
            // The path of the worktree's `.git` file: its parent is the tree.
            if let Some(root) = Path::new(gitfile.trim()).parent() {
                roots.push(root.to_path_buf());
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    roots.retain(|r| seen.insert(r.clone()));
    roots
}

/// The raw text of HEAD in `gitdir`.
pub fn read_head_text(gitdir: &Path) -> Option<String> {
    fs::read_to_string(gitdir.join("HEAD")).ok()
}

/// Where HEAD points now.
pub fn read_head(gitdir: &Path) -> Option<Head> {
    Head::parse(&read_head_text(gitdir)?)
}

/// The commit a branch points at; `None` for an unborn branch.
pub fn resolve_branch(repo: &Repo, branch: &str) -> Option<String> {
    if let Some(sha) = loose_ref(repo, branch) {
        return Some(sha);
    }
    let full = format!("refs/heads/{branch}");
    let packed = fs::read_to_string(repo.common.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (sha, name) = line.split_once(' ')?;
        (name == full).then(|| sha.to_owned())
    })
}

/// The commit `head` names, from files read without parsing packed-refs:
/// a detached HEAD's own, or the branch's loose ref. What a writer on the
/// hot path can afford (a couple of system calls); ingest resolves the rest.
pub fn loose_commit(repo: &Repo, head: &Head) -> Option<String> {
    let sha = match head {
        Head::Detached(sha) => sha.clone(),
        Head::Branch(b) => loose_ref(repo, b)?,
    };
    let hex = matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit());
    hex.then_some(sha)
}

/// What the branch's loose ref file says, trimmed; `None` when it has none
/// (packed, or unborn).
fn loose_ref(repo: &Repo, branch: &str) -> Option<String> {
    let text = fs::read_to_string(repo.common.join("refs/heads").join(branch)).ok()?;
    Some(text.trim().to_owned())
}

/// The commit HEAD names, if it names one.
pub fn head_commit(repo: &Repo, head: &Head) -> Option<String> {
    match head {
        Head::Detached(sha) => Some(sha.clone()),
        Head::Branch(b) => resolve_branch(repo, b),
    }
}

/// One HEAD move from the reflog: at `time` (seconds), HEAD went from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub time: i64,
    pub from: Head,
    pub to: Head,
}

/// The worktree's HEAD reflog; empty when it keeps none.
pub fn head_log(gitdir: &Path) -> String {
    fs::read_to_string(gitdir.join("logs/HEAD")).unwrap_or_default()
}

/// The branch switches in this worktree's HEAD reflog, oldest first.
pub fn head_moves(gitdir: &Path) -> Vec<Move> {
    head_log(gitdir).lines().filter_map(parse_move).collect()
}

/// One line of a HEAD reflog: at `time` (seconds) HEAD went from commit
/// `old` to `new`, switching branches from A to B when `switch` says so.
struct Entry<'a> {
    time: i64,
    old: &'a str,
    new: &'a str,
    switch: Option<(&'a str, &'a str)>,
}

/// `<old> <new> <name> <<email>> <secs> <tz>\t<message>`; a switch's
/// message is `checkout: moving from A to B`.
fn parse_entry(line: &str) -> Option<Entry<'_>> {
    let (meta, msg) = line.split_once('\t')?;
    let mut words = meta.rsplitn(3, ' ');
    let _tz = words.next()?;
    let time = words.next()?.parse().ok()?;
    let (old, rest) = meta.split_once(' ')?;
    let (new, _) = rest.split_once(' ')?;
    let switch =
        (msg.strip_prefix("checkout: moving from ")).and_then(|rest| rest.rsplit_once(" to "));
    Some(Entry {
        time,
        old,
        new,
        switch,
    })
}

fn parse_move(line: &str) -> Option<Move> {
    let e = parse_entry(line)?;
    let (from, to) = e.switch?;
    let side = |name: &str, sha: &str| match Head::parse(name) {
        // The reflog names a detached HEAD by its commit.
        Some(Head::Detached(_)) => Head::Detached(sha.to_owned()),
        _ => Head::Branch(name.to_owned()),
    };
    Some(Move {
        time: e.time,
        from: side(from, e.old),
        to: side(to, e.new),
    })
}

/// The commit `branch` stood at at `time_us` in a worktree whose HEAD
/// reflog (`logs/HEAD`) is `head_log`: for a record whose branch was deleted (after its
/// merge) before the record was ingested. The last entry up to that second
/// that left HEAD on the branch: a commit stamped with the same second is
/// taken to have come first, a switch away is not on the branch.
pub fn branch_commit_at(head_log: &str, branch: &str, time_us: i64) -> Option<String> {
    let second = time_us.div_euclid(1_000_000);
    let entries: Vec<Entry> = head_log.lines().filter_map(parse_entry).collect();
    // Before the first switch HEAD was on the branch that switch left.
    let mut on = entries.iter().find_map(|e| e.switch.map(|(from, _)| from));
    let mut found = None;
    for e in entries.iter().take_while(|e| e.time <= second) {
        if let Some((_, to)) = e.switch {
            on = Some(to);
        }
        if on == Some(branch) {
            found = Some(e.new.to_owned());
        }
    }
    found
}

/// Where HEAD pointed at `time_us`, given where it points now and its moves.
///
/// The reflog has whole seconds, so a move stamped with the same second as
/// the command is taken to have come after it: the command that ran
/// `git switch` itself is filed under the branch it left.
pub fn head_at(now: Head, moves: &[Move], time_us: i64) -> Head {
    let second = time_us.div_euclid(1_000_000);
    moves
        .iter()
        .find(|m| m.time >= second)
        .map_or(now, |m| m.from.clone())
}

/// The branch a rebase in progress in this worktree will return to: while
/// it stops (a conflict, an `edit`), HEAD is detached, but the work is
/// that branch's.
pub fn rebasing(gitdir: &Path) -> Option<String> {
    ["rebase-merge", "rebase-apply"].iter().find_map(|d| {
        let text = fs::read_to_string(gitdir.join(d).join("head-name")).ok()?;
        text.trim().strip_prefix("refs/heads/").map(str::to_owned)
    })
}

/// Where HEAD pointed when a command started, given `prompt`, the HEAD its
/// shell read at the prompt before (bash cannot read a file at a command's
/// start without a fork): a switch made meanwhile, in another terminal or
/// an IDE, is in the reflog stamped before the command's second. A move in
/// the command's own second is taken to be the command's own, as in
/// `head_at`.
pub fn head_after_prompt(prompt: Head, moves: &[Move], start_us: i64) -> Head {
    let second = start_us.div_euclid(1_000_000);
    let before = moves.partition_point(|m| m.time < second);
    let before = &moves[..before];
    // The moves since HEAD last arrived where the prompt saw it; the first
    // must leave it, or the reflog does not tell this story.
    let since = before
        .iter()
        .rposition(|m| m.to == prompt)
        .map_or(0, |i| i + 1);
    match &before[since..] {
        [first, .., last] if first.from == prompt => last.to.clone(),
        [only] if only.from == prompt => only.to.clone(),
        _ => prompt,
    }
}

/// Where HEAD pointed when a run that read `after` at its end began: if
/// the run itself moved HEAD there (`git switch`), the branch it left.
pub fn head_before_run(after: Head, moves: &[Move], start_us: i64, end_us: i64) -> Head {
    let (from, to) = (start_us.div_euclid(1_000_000), end_us.div_euclid(1_000_000));
    moves
        .iter()
        .rev()
        .find(|m| m.to == after && (from..=to).contains(&m.time))
        .map_or(after, |m| m.from.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_text() {
        assert_eq!(
            Head::parse("ref: refs/heads/feat/x\n"),
            Some(Head::Branch("feat/x".into()))
        );
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(Head::parse(sha), Some(Head::Detached(sha.into())));
        assert_eq!(Head::parse("junk"), None);
        assert_eq!(Head::parse("ref: refs/heads/.invalid\n"), None);
    }

    /// A branch deleted since: its commit at a time is read back from the
    /// HEAD reflog, past the switch away in the same second.
    #[test]
    fn a_deleted_branch_commit_from_the_reflog() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("logs")).unwrap();
        let (z, m, a, b) = (
            "0".repeat(40),
            "1".repeat(40),
            "a".repeat(40),
            "b".repeat(40),
        );
        let log = format!(
            "{z} {m} U <u@x> 100 +0000\tcommit (initial): x\n\
             {m} {m} U <u@x> 200 +0000\tcheckout: moving from main to feat/1-x\n\
             {m} {a} U <u@x> 210 +0000\tcommit: one\n\
             {a} {b} U <u@x> 300 +0000\tcommit: two\n\
             {b} {m} U <u@x> 300 +0000\tcheckout: moving from feat/1-x to main\n"
        );
        fs::write(dir.path().join("logs/HEAD"), log).unwrap();
        let log = head_log(dir.path());
        let at = |s: i64| branch_commit_at(&log, "feat/1-x", s * 1_000_000);
        assert_eq!(at(150), None, "not on the branch yet");
        assert_eq!(at(205).as_deref(), Some(m.as_str()));
        assert_eq!(at(250).as_deref(), Some(a.as_str()));
        assert_eq!(
            at(300).as_deref(),
            Some(b.as_str()),
            "same second: the commit, not the switch"
        );
        assert_eq!(at(400).as_deref(), Some(b.as_str()));
        let main = branch_commit_at(&log, "main", 150 * 1_000_000);
        assert_eq!(main.as_deref(), Some(m.as_str()), "before the first switch");
    }

    #[test]
    fn reflog_switches() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let log = format!(
            "{z} {a} A U <a@b> 100 +0000\tcommit (initial): x\n\
             {a} {a} A U <a@b> 200 +0000\tcheckout: moving from main to feat/1-x\n\
             {a} {a} A U <a@b> 300 +0000\tcheckout: moving from feat/1-x to {a}\n"
        );
        let moves: Vec<Move> = log.lines().filter_map(parse_move).collect();
        assert_eq!(moves.len(), 2);
        let now = Head::Detached(a.clone());
        assert_eq!(
            head_at(now.clone(), &moves, 150_000_000),
            Head::Branch("main".into())
        );
        assert_eq!(
            head_at(now.clone(), &moves, 200_500_000),
            Head::Branch("main".into())
        );
        assert_eq!(
            head_at(now.clone(), &moves, 250_000_000),
            Head::Branch("feat/1-x".into())
        );
        assert_eq!(head_at(now.clone(), &moves, 301_000_000), now);
    }

    #[test]
    fn a_run_that_moved_head_ran_on_the_branch_it_left() {
        let z = "0".repeat(40);
        let log = format!("{z} {z} A U <a@b> 200 +0000\tcheckout: moving from main to feat\n");
        let moves: Vec<Move> = log.lines().filter_map(parse_move).collect();
        let feat = Head::Branch("feat".into());
        assert_eq!(
            head_before_run(feat.clone(), &moves, 199_900_000, 200_100_000),
            Head::Branch("main".into())
        );
        assert_eq!(
            head_before_run(feat.clone(), &moves, 201_000_000, 201_500_000),
            feat
        );
    }
}
