//! Edit events from working trees (docs/metrics.md, "Edits"). Repositories
//! with something recorded within the idle timeout get an inotify watch on
//! every directory git does not ignore (never `.git/`); a burst of writes to
//! one file becomes one edit, appended to the spool as a `W` record, so it
//! reaches the store by the same path as every command. A tree nobody
//! touched for the idle timeout is dropped. The thread sleeps in `poll`
//! with no timeout while nothing is pending: 0 CPU when idle.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde::Serialize;

use crate::clock::{self, Timestamp};
use crate::config::Config;
use crate::spool::records::{Edit, Place, Spooled};

/// Writes to one file closer together than this are one edit (an editor's
/// write-to-temp-and-rename, a formatter's pass).
const QUIET: Duration = Duration::from_millis(400);

/// Editors' scratch and backup files: never edits of the project.
/// Editors' temp and backup files, and mt's own writes: milestones,
/// drafts, the generated log and templates are never the branch's work.
const NOISE: [&str; 7] = [
    "*.swp",
    "*.swx",
    "*~",
    ".#*",
    "#*#",
    "4913",
    "milestones/**",
];

/// Directory events that matter: a file written and closed or moved in, a
/// directory made (to watch it too).
fn mask() -> WatchMask {
    WatchMask::CLOSE_WRITE
        | WatchMask::MOVED_TO
        | WatchMask::CREATE
        | WatchMask::ONLYDIR
        | WatchMask::DONT_FOLLOW
        | WatchMask::EXCL_UNLINK
}

/// What the ingest thread tells the watcher.
enum Message {
    /// Worktree roots with the latest time something was recorded there.
    Active(BTreeMap<String, i64>),
    Stop,
}

/// The watcher thread, as its owner holds it.
pub struct Watcher {
    idle: Duration,
    tx: mpsc::Sender<Message>,
    wake: UnixStream,
    thread: Option<JoinHandle<()>>,
}

/// Where a watcher writes and what it may spend.
#[derive(Debug, Clone)]
pub struct Settings {
    pub spool: PathBuf,
    /// `watch.json` in the state dir: what is watched, for `mt doctor`.
    pub report: PathBuf,
    pub config: PathBuf,
    pub idle: Duration,
    /// Most directories watched at once (the kernel's limit applies too).
    pub limit: usize,
    /// mt's own directories (spool, state, database): never watched, or
    /// every spooled edit would be an edit (a dotfiles repository at ~).
    pub own: Vec<PathBuf>,
}

impl Watcher {
    pub fn start(settings: Settings) -> Result<Watcher> {
        let inotify = Inotify::init().context("could not start inotify")?;
        let (wake, woken) = UnixStream::pair()?;
        woken.set_nonblocking(true)?;
        wake.set_nonblocking(true)?;
        let (tx, rx) = mpsc::channel();
        let idle = settings.idle;
        let mut trees = Trees {
            inotify,
            settings,
            trees: BTreeMap::new(),
            dirs: HashMap::new(),
            pending: HashMap::new(),
        };
        trees.report();
        let thread = std::thread::Builder::new()
            .name("edits".into())
            .spawn(move || trees.run(&rx, woken))?;
        Ok(Watcher {
            idle,
            tx,
            wake,
            thread: Some(thread),
        })
    }

    /// Trees idle this long are dropped.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// Something was recorded in these worktrees (root → latest µs).
    pub fn active(&self, roots: BTreeMap<String, i64>) {
        if !roots.is_empty() && self.tx.send(Message::Active(roots)).is_ok() {
            poke(&self.wake);
        }
    }
}

/// One byte wakes the thread (a full buffer already will: nonblocking).
fn poke(mut wake: &UnixStream) {
    use std::io::Write;
    let _ = wake.write(b"!");
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.tx.send(Message::Stop);
        poke(&self.wake);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One watched worktree.
struct Tree {
    /// Last activity: a recorded command or an edit.
    last: Instant,
    dirs: HashSet<WatchDescriptor>,
    /// `watch_ignore` and the editors' noise, as one matcher.
    ignore: globset::GlobSet,
    /// More directories than the limit allows: not watched.
    full: Option<usize>,
}

/// An edit waiting for its file to go quiet.
struct Pending {
    root: PathBuf,
    at: Timestamp,
    quiet_from: Instant,
}

struct Trees {
    inotify: Inotify,
    settings: Settings,
    trees: BTreeMap<PathBuf, Tree>,
    /// Watched directory → (its tree's root, the directory).
    dirs: HashMap<WatchDescriptor, (PathBuf, PathBuf)>,
    pending: HashMap<PathBuf, Pending>,
}

impl Trees {
    fn run(&mut self, rx: &mpsc::Receiver<Message>, mut woken: UnixStream) {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let timeout = self
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()))
                .map_or(PollTimeout::NONE, |d| {
                    PollTimeout::try_from(d + Duration::from_millis(1)).unwrap_or(PollTimeout::MAX)
                });
            let (inotify_ready, wake_ready) = {
                let mut fds = [
                    PollFd::new(self.inotify.as_fd(), PollFlags::POLLIN),
                    PollFd::new(woken.as_fd(), PollFlags::POLLIN),
                ];
                if poll(&mut fds, timeout).is_err() {
                    continue;
                }
                let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
                (ready(&fds[0]), ready(&fds[1]))
            };
            if wake_ready {
                let _ = woken.read(&mut [0u8; 64]);
                for message in rx.try_iter() {
                    match message {
                        Message::Active(roots) => self.activate(roots),
                        Message::Stop => return,
                    }
                }
            }
            if inotify_ready {
                self.read(&mut buf);
            }
            self.flush(Instant::now());
            self.expire(Instant::now());
        }
    }

    /// The next moment something is due: a pending edit or a tree's expiry.
    fn next_deadline(&self) -> Option<Instant> {
        let flush = self.pending.values().map(|p| p.quiet_from + QUIET);
        let expire = self.trees.values().map(|t| t.last + self.settings.idle);
        flush.chain(expire).min()
    }

    /// Start watching recently active trees; keep watched ones alive.
    fn activate(&mut self, roots: BTreeMap<String, i64>) {
        let now = clock::now().micros();
        let idle = clock::micros(self.settings.idle);
        let before = self.trees.len();
        for (root, latest) in roots {
            let root = PathBuf::from(root);
            if now - latest > idle {
                continue; // a backlog from long ago: nobody is working there now
            }
            match self.trees.get_mut(&root) {
                Some(t) => t.last = Instant::now(),
                None => self.watch_tree(root),
            }
        }
        // Written when the set of trees changed, not at every pass.
        if self.trees.len() != before {
            self.report();
        }
    }

    fn watch_tree(&mut self, root: PathBuf) {
        let config = Config::effective(&self.settings.config, Some(&root)).unwrap_or_default();
        if !config.watches() || !root.join(".git").exists() {
            return;
        }
        let mut tree = Tree {
            last: Instant::now(),
            dirs: HashSet::new(),
            ignore: ignore_set(&config.watch_ignore),
            full: None,
        };
        let dirs = walk_dirs(&root, &self.settings.own);
        self.watch_dirs(&root, &mut tree, dirs);
        self.trees.insert(root, tree);
    }

    /// Watch `dirs` for `tree` within the limit (ours, then the kernel's).
    /// Past it the whole tree is unwatched — partly watched would
    /// undercount silently — and records how many watches it needed.
    fn watch_dirs(&mut self, root: &Path, tree: &mut Tree, dirs: Vec<PathBuf>) {
        let needed = tree.dirs.len() + dirs.len();
        let fits = dirs.len() <= self.settings.limit.saturating_sub(self.dirs.len())
            && dirs.into_iter().all(|d| self.add_dir(root, tree, d));
        if !fits {
            tree.full = Some(needed);
            let wds: Vec<WatchDescriptor> = tree.dirs.drain().collect();
            self.unwatch(wds);
        }
    }

    fn unwatch(&mut self, wds: impl IntoIterator<Item = WatchDescriptor>) {
        for wd in wds {
            self.dirs.remove(&wd);
            let _ = self.inotify.watches().remove(wd);
        }
    }

    /// Watch one directory; false when the kernel's limit is reached.
    fn add_dir(&mut self, root: &Path, tree: &mut Tree, dir: PathBuf) -> bool {
        match self.inotify.watches().add(&dir, mask()) {
            Ok(wd) => {
                tree.dirs.insert(wd.clone());
                self.dirs.insert(wd, (root.to_path_buf(), dir));
                true
            }
            Err(e) => e.raw_os_error() != Some(nix::libc::ENOSPC),
        }
    }

    fn read(&mut self, buf: &mut [u8]) {
        let mut created = Vec::new();
        let mut written = Vec::new();
        {
            let Ok(events) = self.inotify.read_events(buf) else {
                return;
            };
            for ev in events {
                if ev.mask.contains(EventMask::IGNORED) {
                    created.push((ev.wd.clone(), None));
                    continue;
                }
                let Some(name) = ev.name else { continue };
                if ev.mask.contains(EventMask::ISDIR) {
                    created.push((ev.wd.clone(), Some(name.to_owned())));
                } else if ev
                    .mask
                    .intersects(EventMask::CLOSE_WRITE | EventMask::MOVED_TO)
                {
                    written.push((ev.wd.clone(), name.to_owned()));
                }
            }
        }
        for (wd, name) in created {
            self.dir_event(wd, name);
        }
        let now = Instant::now();
        let at = clock::now();
        for (wd, name) in written {
            let Some((root, dir)) = self.dirs.get(&wd) else {
                continue;
            };
            let root = root.clone();
            self.pending.insert(
                dir.join(name),
                Pending {
                    root,
                    at,
                    quiet_from: now,
                },
            );
        }
    }

    /// A directory appeared (watch it unless ignored) or a watch ended.
    fn dir_event(&mut self, wd: WatchDescriptor, name: Option<std::ffi::OsString>) {
        let Some(name) = name else {
            if let Some((root, _)) = self.dirs.remove(&wd)
                && let Some(t) = self.trees.get_mut(&root)
            {
                t.dirs.remove(&wd);
            }
            return;
        };
        let Some((root, dir)) = self.dirs.get(&wd).cloned() else {
            return;
        };
        let new = dir.join(name);
        if !listed(&new) {
            return;
        }
        let Some(mut tree) = self.trees.remove(&root) else {
            return;
        };
        let dirs = walk_dirs(&new, &self.settings.own);
        self.watch_dirs(&root, &mut tree, dirs);
        self.trees.insert(root, tree);
        self.report();
    }

    /// Spool every pending edit whose file has been quiet long enough.
    fn flush(&mut self, now: Instant) {
        let due: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.quiet_from + QUIET)
            .map(|(path, _)| path.clone())
            .collect();
        if due.is_empty() {
            return;
        }
        let mut out = Vec::new();
        let mut listed_dirs: HashMap<PathBuf, HashSet<PathBuf>> = HashMap::new();
        for path in due {
            let Some(p) = self.pending.remove(&path) else {
                continue;
            };
            if let Some(record) = self.edit_record(&path, &p, &mut listed_dirs) {
                out.extend_from_slice(&record);
            }
        }
        if !out.is_empty()
            && let Err(e) = crate::spool::writer::append(&self.settings.spool, &out)
        {
            crate::log_line!("mt daemon: could not spool edits: {e:#}");
        }
    }

    fn edit_record(
        &mut self,
        path: &Path,
        p: &Pending,
        listed_dirs: &mut HashMap<PathBuf, HashSet<PathBuf>>,
    ) -> Option<Vec<u8>> {
        let tree = self.trees.get_mut(&p.root)?;
        let rel = path.strip_prefix(&p.root).ok()?;
        // Gone already (an editor's temp file), not a file, or noise.
        if !std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
            || tree.ignore.is_match(rel)
            || rel.file_name().is_some_and(|n| tree.ignore.is_match(n))
        {
            return None;
        }
        let dir = path.parent()?.to_path_buf();
        let files = listed_dirs
            .entry(dir.clone())
            .or_insert_with(|| walk_files(&dir));
        if !files.contains(path) {
            return None; // git ignores it
        }
        tree.last = Instant::now();
        let record = Spooled::Edit(Edit {
            id: format!(
                "w{:x}-{:x}",
                p.at.micros(),
                hash(rel.as_os_str().as_bytes())
            ),
            time: p.at,
            place: Place::read(&p.root),
            path: rel.as_os_str().as_bytes().to_vec(),
        });
        Some(record.encode())
    }

    /// Drop trees idle for the idle timeout.
    fn expire(&mut self, now: Instant) {
        let idle = self.settings.idle;
        let stale: Vec<PathBuf> = self
            .trees
            .iter()
            .filter(|(_, t)| now.saturating_duration_since(t.last) >= idle)
            .map(|(r, _)| r.clone())
            .collect();
        if stale.is_empty() {
            return;
        }
        for root in stale {
            if let Some(tree) = self.trees.remove(&root) {
                self.unwatch(tree.dirs);
            }
            self.pending.retain(|_, p| p.root != root);
        }
        self.report();
    }

    /// What is watched, for `mt doctor` (best effort).
    fn report(&self) {
        let report = Report {
            limit: self.settings.limit,
            kernel_limit: kernel_limit(),
            trees: self
                .trees
                .iter()
                .map(|(root, t)| TreeReport {
                    root: root.to_string_lossy().into_owned(),
                    dirs: t.dirs.len(),
                    needed: t.full,
                })
                .collect(),
        };
        if let Ok(text) = serde_json::to_vec(&report) {
            let tmp = self.settings.report.with_extension("tmp");
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(tmp, &self.settings.report);
            }
        }
    }
}

/// `watch.json`: the daemon's watched trees.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Report {
    pub limit: usize,
    pub kernel_limit: Option<usize>,
    pub trees: Vec<TreeReport>,
}

#[derive(Debug, Serialize, serde::Deserialize)]
pub struct TreeReport {
    pub root: String,
    pub dirs: usize,
    /// Set when the tree needs more watches than allowed: not watched.
    pub needed: Option<usize>,
}

/// `fs.inotify.max_user_watches`, if readable.
pub fn kernel_limit() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The most directories one daemon watches: `MT_WATCH_LIMIT` when set
/// (a lower cap, e.g. on a shared machine), else the kernel's limit.
pub fn limit() -> usize {
    std::env::var("MT_WATCH_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .or_else(kernel_limit)
        .unwrap_or(8192)
}

fn ignore_set(globs: &[String]) -> globset::GlobSet {
    let mut set = globset::GlobSetBuilder::new();
    for g in NOISE
        .iter()
        .copied()
        .chain(globs.iter().map(String::as_str))
    {
        if let Ok(g) = globset::Glob::new(g) {
            set.add(g);
        }
    }
    set.build().unwrap_or_default()
}

/// The walker git's rules apply to: `.gitignore` files (here and in
/// parents), `.git/info/exclude`, the global excludes file; hidden files
/// count (`.github/`), `.git/` never.
fn walker(dir: &Path) -> ignore::WalkBuilder {
    let mut w = ignore::WalkBuilder::new(dir);
    w.hidden(false)
        .ignore(false)
        .parents(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(true)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git");
    w
}

/// Every directory under `dir` (itself included) that git does not ignore,
/// leaving out `own` and everything under it.
fn walk_dirs(dir: &Path, own: &[PathBuf]) -> Vec<PathBuf> {
    let own = own.to_vec();
    walker(dir)
        .filter_entry(move |e| {
            e.file_name() != ".git" && !own.iter().any(|o| e.path().starts_with(o))
        })
        .build()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_some_and(|t| t.is_dir()))
        .map(ignore::DirEntry::into_path)
        .collect()
}

/// The entries directly in `dir` that git does not ignore (and `dir`).
fn children(dir: &Path) -> impl Iterator<Item = ignore::DirEntry> {
    walker(dir)
        .max_depth(Some(1))
        .build()
        .filter_map(|e| e.ok())
}

/// The files directly in `dir` that git does not ignore.
fn walk_files(dir: &Path) -> HashSet<PathBuf> {
    children(dir)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(ignore::DirEntry::into_path)
        .collect()
}

/// Whether a new directory is one git does not ignore.
fn listed(dir: &Path) -> bool {
    let Some(parent) = dir.parent() else {
        return false;
    };
    dir.file_name() != Some(std::ffi::OsStr::new(".git"))
        && children(parent).any(|e| e.path() == dir)
}

/// FNV-1a: a short stable id part for a path (not security relevant).
fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trees(dir: &Path, idle: Duration) -> Trees {
        Trees {
            inotify: Inotify::init().unwrap(),
            settings: Settings {
                spool: dir.join("spool"),
                report: dir.join("watch.json"),
                config: dir.join("config.toml"),
                idle,
                limit: 100,
                own: vec![dir.join("spool")],
            },
            trees: BTreeMap::new(),
            dirs: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// A tree nobody touched for the idle timeout loses its watches; one
    /// touched since keeps them. (`expire` takes the clock as an argument.)
    #[test]
    fn a_tree_idle_for_the_timeout_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        for d in [".git", "src", "target"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
        let mut t = trees(dir.path(), Duration::from_secs(60));
        let now = clock::now().micros();
        t.activate(BTreeMap::from([(root.to_string_lossy().into_owned(), now)]));
        assert_eq!(t.dirs.len(), 2, "the root and src/; not .git/ or target/");
        t.expire(Instant::now() + Duration::from_secs(30));
        assert_eq!(t.trees.len(), 1, "still within the idle timeout");
        t.expire(Instant::now() + Duration::from_secs(61));
        assert!(t.trees.is_empty() && t.dirs.is_empty());
        let report: Report =
            serde_json::from_slice(&std::fs::read(dir.path().join("watch.json")).unwrap()).unwrap();
        assert!(report.trees.is_empty(), "the report says so too");
        // Activity from long ago (a backlog ingested late) starts nothing.
        let old = now - clock::micros(Duration::from_secs(120));
        t.activate(BTreeMap::from([(root.to_string_lossy().into_owned(), old)]));
        assert!(t.trees.is_empty());
    }
}
