//! Edit events from working trees (docs/metrics.md, "Edits"). A repository
//! with something recorded in the last `watch_days` gets an inotify watch on
//! every directory git does not ignore (never `.git/`), and one on its git
//! dir to see git at work; a nested repository is a tree of its own. A
//! burst of writes to one file becomes one edit, appended to the spool as a
//! `W` record, so it reaches the store by the same path as every command.
//!
//! Not edits: what is written while git holds the tree's `index.lock` (a
//! checkout, stash, merge, rebase, reset: git writes the files, then
//! renames the lock), editors' temp files, `watch_ignore`. Whether a file
//! is tracked travels with the edit: `mt close` leaves out untracked
//! files written while a command of that tree ran (its output). The
//! thread sleeps in `poll` with no timeout while nothing is pending: 0 CPU
//! when idle.

mod walk;

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
use serde::{Deserialize, Serialize};

use crate::clock::{self, Timestamp};
use crate::spool::records::{Edit, Place, Spooled};

/// Writes to one file closer together than this are one edit (an editor's
/// write-to-temp-and-rename, a formatter's pass).
const QUIET: Duration = Duration::from_millis(400);

/// The lock git holds while it rewrites the index and the tree.
const INDEX_LOCK: &str = "index.lock";

/// A lock held longer than this is not git rewriting the tree (a checkout
/// of a huge tree takes seconds): a commit's message editor left open, or
/// a lock a crashed git left behind. Saves count again past it.
const LOCK_STALE: Duration = Duration::from_secs(60);

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

/// On a git dir and on the config's directory: a file made, moved in or
/// out, or removed (`index.lock` taken and released; a config saved by
/// rename).
fn meta_mask() -> WatchMask {
    WatchMask::CREATE
        | WatchMask::CLOSE_WRITE
        | WatchMask::MOVED_TO
        | WatchMask::MOVED_FROM
        | WatchMask::DELETE
        | WatchMask::ONLYDIR
}

/// What the ingest thread tells the watcher.
enum Message {
    /// Worktree roots with the latest time something was recorded there.
    Active(BTreeMap<String, i64>),
    /// Spool every pending edit now, quiet or not, then say so: the daemon
    /// is stopping and drains the spool once more.
    Flush(mpsc::Sender<()>),
    Stop,
}

/// The watcher thread, as its owner holds it.
pub(crate) struct Watcher {
    keep: Duration,
    tx: mpsc::Sender<Message>,
    wake: UnixStream,
    thread: Option<JoinHandle<()>>,
}

/// Where a watcher writes and what it may spend.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub spool: PathBuf,
    /// `watch.json` in the state dir: what is watched, for `mt doctor`.
    pub report: PathBuf,
    pub config: PathBuf,
    /// A tree with nothing recorded for this long is dropped (`watch_days`).
    pub keep: Duration,
    /// Most directories watched at once, and where that figure comes from.
    pub limit: Limit,
    /// mt's own directories (spool, state, database): never watched, or
    /// every spooled edit would be an edit (a dotfiles repository at ~).
    pub own: Vec<PathBuf>,
}

impl Watcher {
    pub(crate) fn start(settings: Settings) -> Result<Watcher> {
        let inotify = Inotify::init().context("could not start inotify")?;
        let (wake, woken) = UnixStream::pair()?;
        woken.set_nonblocking(true)?;
        wake.set_nonblocking(true)?;
        let (tx, rx) = mpsc::channel();
        let keep = settings.keep;
        let mut trees = Trees::new(inotify, settings);
        trees.watch_config();
        trees.report();
        let thread = std::thread::Builder::new()
            .name("edits".into())
            .spawn(move || trees.run(&rx, woken))?;
        Ok(Watcher {
            keep,
            tx,
            wake,
            thread: Some(thread),
        })
    }

    /// Trees with nothing recorded this long are not watched.
    pub(crate) fn keep(&self) -> Duration {
        self.keep
    }

    /// Spool the edits still waiting for their quiet period, and wait (up
    /// to a second) until they are: a save made just before the daemon
    /// stops is not lost.
    pub(crate) fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Message::Flush(tx)).is_ok() {
            poke(&self.wake);
            let _ = rx.recv_timeout(Duration::from_secs(1));
        }
    }

    /// Something was recorded in these worktrees (root → latest µs).
    pub(crate) fn active(&self, roots: BTreeMap<String, i64>) {
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
    /// The watch on this worktree's git dir, and since when git holds
    /// `index.lock` there, if it does.
    git: Option<WatchDescriptor>,
    git_busy: Option<Instant>,
}

impl Tree {
    /// Git is rewriting the tree now: its writes are not edits.
    fn git_at_work(&self) -> bool {
        self.git_busy
            .is_some_and(|since| since.elapsed() < LOCK_STALE)
    }
}

/// What a watch descriptor watches.
#[derive(Debug, Clone)]
enum Watched {
    /// A directory of the tree at `root`.
    Dir { root: PathBuf, dir: PathBuf },
    /// The git dir of the tree at `root`.
    GitDir { root: PathBuf },
    /// The directory of the user's config file.
    Config,
    /// The root of a tree its `.mt.toml` turned off.
    RepoConfig { root: PathBuf },
}

/// An edit waiting for its file to go quiet.
struct Pending {
    root: PathBuf,
    at: Timestamp,
    quiet_from: Instant,
}

/// One event of a batch, in the kernel's order (git's lock events and the
/// tree's writes must be taken in the order they happened).
enum Seen {
    Written(WatchDescriptor, std::ffi::OsString),
    DirMade(WatchDescriptor, std::ffi::OsString, bool),
    Lock(WatchDescriptor, bool),
    Config(std::ffi::OsString),
    RepoConfig(PathBuf),
    Gone(WatchDescriptor),
}

struct Trees {
    inotify: Inotify,
    settings: Settings,
    trees: BTreeMap<PathBuf, Tree>,
    /// Every root seen active, with its latest activity (µs): what a
    /// config change re-reads, and what is watched again when allowed.
    known: BTreeMap<PathBuf, i64>,
    watched: HashMap<WatchDescriptor, Watched>,
    /// Directories watched over all trees (the budget counts these).
    dir_count: usize,
    pending: HashMap<PathBuf, Pending>,
}

impl Trees {
    fn new(inotify: Inotify, settings: Settings) -> Trees {
        Trees {
            inotify,
            settings,
            trees: BTreeMap::new(),
            known: BTreeMap::new(),
            watched: HashMap::new(),
            dir_count: 0,
            pending: HashMap::new(),
        }
    }

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
                        Message::Flush(done) => {
                            // Nonblocking: whatever the kernel holds now.
                            self.read(&mut buf);
                            self.flush(Instant::now() + QUIET);
                            let _ = done.send(());
                        }
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
        let expire = self.trees.values().map(|t| t.last + self.settings.keep);
        flush.chain(expire).min()
    }

    /// Start watching recently active trees, most recent first; keep
    /// watched ones (and the repositories nested in them) alive.
    fn activate(&mut self, roots: BTreeMap<String, i64>) {
        let now = clock::now().micros();
        let keep = clock::micros(self.settings.keep);
        let before = self.trees.len();
        let mut roots: Vec<(PathBuf, i64)> = roots
            .into_iter()
            .filter(|&(_, latest)| now - latest <= keep)
            .map(|(r, latest)| (PathBuf::from(r), latest))
            .collect();
        roots.sort_by_key(|&(_, latest)| std::cmp::Reverse(latest));
        for (root, latest) in roots {
            let known = self.known.entry(root.clone()).or_insert(latest);
            *known = (*known).max(latest);
            let at = Instant::now();
            let mut any = false;
            for (r, t) in &mut self.trees {
                if r.starts_with(&root) {
                    t.last = at;
                    any |= *r == root;
                }
            }
            if !any {
                self.watch_tree(root);
            }
        }
        // Written when the set of trees changed, not at every pass.
        if self.trees.len() != before {
            self.report();
        }
    }

    /// Watch the tree at `root` and the repositories nested in it, unless
    /// its configuration says not to.
    fn watch_tree(&mut self, root: PathBuf) {
        let config =
            crate::config::effective(&self.settings.config, Some(&root)).unwrap_or_default();
        let Some(repo) = crate::git::find(&root).filter(|r| r.root == root) else {
            return;
        };
        if !config.watches() || self.trees.contains_key(&root) {
            return;
        }
        let mut tree = Tree {
            last: Instant::now(),
            dirs: HashSet::new(),
            ignore: walk::ignore_set(&config.watch_ignore),
            full: None,
            git: None,
            // A lock found already held: taken to be git's from now on, so
            // that a stale one stops counting after `LOCK_STALE`.
            git_busy: repo.gitdir.join(INDEX_LOCK).exists().then(Instant::now),
        };
        if let Ok(wd) = self.inotify.watches().add(&repo.gitdir, meta_mask()) {
            self.watched
                .insert(wd.clone(), Watched::GitDir { root: root.clone() });
            tree.git = Some(wd);
        }
        let found = walk::dirs(&root, &self.settings.own);
        self.watch_dirs(&root, &mut tree, found.dirs);
        self.trees.insert(root, tree);
        for nested in found.nested {
            self.watch_tree(nested);
        }
    }

    /// Watch `dirs` for `tree` within the limit (ours, then the kernel's).
    /// Past it the whole tree is unwatched — partly watched would
    /// undercount silently — and records how many watches it needed.
    fn watch_dirs(&mut self, root: &Path, tree: &mut Tree, dirs: Vec<PathBuf>) {
        let needed = tree.dirs.len() + dirs.len();
        let fits = dirs.len() <= self.settings.limit.count.saturating_sub(self.dir_count)
            && dirs.into_iter().all(|d| self.add_dir(root, tree, d));
        if !fits {
            tree.full = Some(needed);
            let wds: Vec<WatchDescriptor> = tree.dirs.drain().collect();
            self.unwatch(wds);
        }
    }

    fn unwatch(&mut self, wds: impl IntoIterator<Item = WatchDescriptor>) {
        for wd in wds {
            if let Some(Watched::Dir { .. }) = self.watched.remove(&wd) {
                self.dir_count -= 1;
            }
            let _ = self.inotify.watches().remove(wd);
        }
    }

    /// Stop watching the tree at `root` (its nested trees stay: they are
    /// trees of their own).
    fn drop_tree(&mut self, root: &Path) {
        if let Some(tree) = self.trees.remove(root) {
            self.unwatch(tree.dirs.into_iter().chain(tree.git));
        }
        self.pending.retain(|_, p| p.root != root);
    }

    /// Watch one directory; false when the kernel's limit is reached.
    fn add_dir(&mut self, root: &Path, tree: &mut Tree, dir: PathBuf) -> bool {
        match self.inotify.watches().add(&dir, mask()) {
            Ok(wd) => {
                if tree.dirs.insert(wd.clone()) {
                    self.dir_count += 1;
                }
                let root = root.to_path_buf();
                self.watched.insert(wd, Watched::Dir { root, dir });
                true
            }
            Err(e) => e.raw_os_error() != Some(nix::libc::ENOSPC),
        }
    }

    /// Take one batch of events, in order.
    fn read(&mut self, buf: &mut [u8]) {
        let mut seen = Vec::new();
        {
            let Ok(events) = self.inotify.read_events(buf) else {
                return;
            };
            for ev in events {
                if let Some(s) = self.classify(ev) {
                    seen.push(s);
                }
            }
        }
        let now = Instant::now();
        let at = clock::now();
        for s in seen {
            match s {
                Seen::Written(wd, name) => self.written(&wd, &name, at, now),
                Seen::DirMade(wd, name, made) => self.dir_made(&wd, name, made, at, now),
                Seen::Lock(wd, held) => self.git_lock(&wd, held),
                Seen::Config(name) => self.config_event(&name),
                Seen::RepoConfig(root) => self.reload(&[root]),
                Seen::Gone(wd) => self.gone(&wd),
            }
        }
    }

    fn classify(&self, ev: inotify::Event<&std::ffi::OsStr>) -> Option<Seen> {
        if ev.mask.contains(EventMask::IGNORED) {
            return Some(Seen::Gone(ev.wd));
        }
        let name = ev.name?.to_owned();
        match self.watched.get(&ev.wd)? {
            Watched::Config => Some(Seen::Config(name)),
            Watched::RepoConfig { root } => {
                (name == ".mt.toml").then(|| Seen::RepoConfig(root.clone()))
            }
            // Taken when made; released when renamed over the index or
            // removed. Its close after git wrote the new index changes
            // nothing: git still holds it.
            Watched::GitDir { .. } if name == INDEX_LOCK => {
                if ev.mask.intersects(EventMask::CREATE | EventMask::MOVED_TO) {
                    Some(Seen::Lock(ev.wd, true))
                } else if ev
                    .mask
                    .intersects(EventMask::MOVED_FROM | EventMask::DELETE)
                {
                    Some(Seen::Lock(ev.wd, false))
                } else {
                    None
                }
            }
            Watched::GitDir { .. } => None,
            Watched::Dir { .. } if ev.mask.contains(EventMask::ISDIR) => {
                let made = ev.mask.contains(EventMask::CREATE);
                Some(Seen::DirMade(ev.wd, name, made))
            }
            Watched::Dir { .. } => ev
                .mask
                .intersects(EventMask::CLOSE_WRITE | EventMask::MOVED_TO)
                .then_some(Seen::Written(ev.wd, name)),
        }
    }

    /// A file of a tree was written: pending, unless git is at work there.
    fn written(
        &mut self,
        wd: &WatchDescriptor,
        name: &std::ffi::OsStr,
        at: Timestamp,
        now: Instant,
    ) {
        let Some(Watched::Dir { root, dir }) = self.watched.get(wd) else {
            return;
        };
        let path = dir.join(name);
        let root = root.clone();
        if path == root.join(".mt.toml") {
            self.reload(std::slice::from_ref(&root));
        }
        self.pend(root, path, at, now);
    }

    fn pend(&mut self, root: PathBuf, path: PathBuf, at: Timestamp, now: Instant) {
        if self.trees.get(&root).is_none_or(Tree::git_at_work) {
            return;
        }
        self.pending.insert(
            path,
            Pending {
                root,
                at,
                quiet_from: now,
            },
        );
    }

    fn git_lock(&mut self, wd: &WatchDescriptor, held: bool) {
        if let Some(Watched::GitDir { root }) = self.watched.get(wd)
            && let Some(t) = self.trees.get_mut(root)
        {
            t.git_busy = held.then(Instant::now);
        }
    }

    /// A watch ended (its directory removed).
    fn gone(&mut self, wd: &WatchDescriptor) {
        match self.watched.remove(wd) {
            Some(Watched::Dir { root, .. }) => {
                self.dir_count -= 1;
                if let Some(t) = self.trees.get_mut(&root) {
                    t.dirs.remove(wd);
                }
            }
            Some(Watched::GitDir { root }) => {
                if let Some(t) = self.trees.get_mut(&root) {
                    t.git = None;
                }
            }
            _ => {}
        }
    }

    /// A directory appeared: watch it unless git ignores it, then take
    /// what was written into it before the watch was set (a file saved
    /// into a directory just made). A nested repository is a tree of its
    /// own. A directory moved in holds no new writes.
    fn dir_made(
        &mut self,
        wd: &WatchDescriptor,
        name: std::ffi::OsString,
        made: bool,
        at: Timestamp,
        now: Instant,
    ) {
        let Some(Watched::Dir { root, dir }) = self.watched.get(wd).cloned() else {
            return;
        };
        let new = dir.join(name);
        if !walk::listed(&new) {
            return;
        }
        if walk::is_repo_root(&new) {
            self.watch_tree(new);
            self.report();
            return;
        }
        let Some(mut tree) = self.trees.remove(&root) else {
            return;
        };
        let found = walk::dirs(&new, &self.settings.own);
        self.watch_dirs(&root, &mut tree, found.dirs);
        self.trees.insert(root.clone(), tree);
        for nested in found.nested {
            self.watch_tree(nested);
        }
        if made {
            for file in walk::files_under(&new) {
                self.pend(root.clone(), file, at, now);
            }
        }
        self.report();
    }

    /// A tree its `.mt.toml` turned off: its root stays watched for that
    /// file alone, so turning it on again (or removing the file) applies.
    fn watch_for_config(&mut self, root: &Path) {
        if let Ok(wd) = self.inotify.watches().add(root, meta_mask()) {
            let root = root.to_path_buf();
            self.watched.insert(wd, Watched::RepoConfig { root });
        }
    }

    /// Watch the directory of the user's config file, so that a change
    /// (`watch = false`, `watch_ignore`) applies at once.
    fn watch_config(&mut self) {
        let Some(dir) = self.settings.config.parent() else {
            return;
        };
        // Made if missing, so that the first config written is seen too.
        let _ = crate::secure::private_dir(dir);
        if let Ok(wd) = self.inotify.watches().add(dir, meta_mask()) {
            self.watched.insert(wd, Watched::Config);
        }
    }

    fn config_event(&mut self, name: &std::ffi::OsStr) {
        if self.settings.config.file_name() == Some(name) {
            let config = crate::config::load(&self.settings.config).unwrap_or_default();
            self.settings.keep = config.watch_keep();
            let roots: Vec<PathBuf> = self.known.keys().cloned().collect();
            self.reload(&roots);
        }
    }

    /// Read the configuration of `roots` again: drop what it no longer
    /// watches, take new ignore globs, watch what it allows again.
    fn reload(&mut self, roots: &[PathBuf]) {
        for root in roots {
            let config =
                crate::config::effective(&self.settings.config, Some(root)).unwrap_or_default();
            if !config.watches() {
                self.drop_tree(root);
                self.watch_for_config(root);
            } else if let Some(t) = self.trees.get_mut(root) {
                t.ignore = walk::ignore_set(&config.watch_ignore);
            } else if self.known.contains_key(root) {
                self.watch_tree(root.clone());
            }
        }
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
        let mut by_root: BTreeMap<PathBuf, Vec<(PathBuf, Pending)>> = BTreeMap::new();
        for path in due {
            if let Some(p) = self.pending.remove(&path) {
                by_root.entry(p.root.clone()).or_default().push((path, p));
            }
        }
        let mut out = Vec::new();
        for (root, edits) in by_root {
            let kept = self.keep_edits(&root, edits);
            let tracked = tracked(&root, kept.iter().map(|(path, _)| path.as_path()));
            for (path, p) in kept {
                let untracked = tracked.as_ref().is_some_and(|t| !t.contains(&path));
                out.extend_from_slice(&edit_record(&root, &path, &p, untracked));
            }
        }
        if !out.is_empty()
            && let Err(e) = crate::spool::writer::append(&self.settings.spool, &out)
        {
            crate::log_line!("mt daemon: could not spool edits: {e:#}");
        }
    }

    /// The edits of one tree that are the project's: the file is still
    /// there, is a file, is not noise, and git does not ignore it.
    fn keep_edits(
        &mut self,
        root: &Path,
        edits: Vec<(PathBuf, Pending)>,
    ) -> Vec<(PathBuf, Pending)> {
        let Some(tree) = self.trees.get_mut(root) else {
            return Vec::new();
        };
        let mut listed: HashMap<PathBuf, HashSet<PathBuf>> = HashMap::new();
        let kept: Vec<(PathBuf, Pending)> = edits
            .into_iter()
            .filter(|(path, _)| {
                let Ok(rel) = path.strip_prefix(root) else {
                    return false;
                };
                let Some(dir) = path.parent() else {
                    return false;
                };
                std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
                    && !tree.ignore.is_match(rel)
                    && !rel.file_name().is_some_and(|n| tree.ignore.is_match(n))
                    && listed
                        .entry(dir.to_path_buf())
                        .or_insert_with(|| walk::files(dir))
                        .contains(path)
            })
            .collect();
        if !kept.is_empty() {
            tree.last = Instant::now();
        }
        kept
    }

    /// Drop trees with nothing recorded for `watch_days`.
    fn expire(&mut self, now: Instant) {
        let keep = self.settings.keep;
        let stale: Vec<PathBuf> = self
            .trees
            .iter()
            .filter(|(_, t)| now.saturating_duration_since(t.last) >= keep)
            .map(|(r, _)| r.clone())
            .collect();
        if stale.is_empty() {
            return;
        }
        for root in stale {
            self.drop_tree(&root);
            self.known.remove(&root);
        }
        self.report();
    }

    /// What is watched, for `mt doctor` (best effort).
    fn report(&self) {
        let report = Report {
            limit: self.settings.limit.count,
            limit_from: self.settings.limit.from,
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

/// The `W` record of one edit.
fn edit_record(root: &Path, path: &Path, p: &Pending, untracked: bool) -> Vec<u8> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    Spooled::Edit(Edit {
        // The whole path: two trees' files of one name saved in one batch
        // (a submodule's and a clone's `lib.rs`) are two edits.
        id: format!(
            "w{:x}-{:x}",
            p.at.micros(),
            hash(path.as_os_str().as_bytes())
        ),
        time: p.at,
        place: Place::read(root),
        path: rel.as_os_str().as_bytes().to_vec(),
        untracked,
        agent: None,
    })
    .encode()
}

/// Which of `paths` git tracks, asked once for their directories; `None`
/// when git cannot say (then none is taken for a run's output).
fn tracked<'a>(root: &Path, paths: impl Iterator<Item = &'a Path>) -> Option<HashSet<PathBuf>> {
    let dirs: std::collections::BTreeSet<&Path> = paths.filter_map(Path::parent).collect();
    if dirs.is_empty() {
        return Some(HashSet::new());
    }
    let out = crate::proc::Cmd::git(root)
        .args(["ls-files", "-z", "--full-name", "--"])
        .args(dirs)
        .limit(Duration::from_secs(5))
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(
        out.stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| root.join(std::ffi::OsStr::from_bytes(p)))
            .collect(),
    )
}

/// Where the watch limit comes from, for `mt doctor`'s advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LimitFrom {
    /// `MT_WATCH_LIMIT` in the daemon's environment.
    Env,
    /// The kernel's `fs.inotify.max_user_watches`.
    Kernel,
    /// Neither could be read: a fixed default.
    Default,
}

/// The most directories one daemon watches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limit {
    pub count: usize,
    pub from: LimitFrom,
}

/// `watch.json`: the daemon's watched trees.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Report {
    pub limit: usize,
    #[serde(default = "kernel_from")]
    pub limit_from: LimitFrom,
    pub kernel_limit: Option<usize>,
    pub trees: Vec<TreeReport>,
}

fn kernel_from() -> LimitFrom {
    LimitFrom::Kernel
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TreeReport {
    pub root: String,
    pub dirs: usize,
    /// Set when the tree needs more watches than allowed: not watched.
    pub needed: Option<usize>,
}

/// `fs.inotify.max_user_watches`, if readable.
pub(crate) fn kernel_limit() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The most directories one daemon watches: `MT_WATCH_LIMIT` when set
/// (a lower cap, e.g. on a shared machine), else the kernel's limit.
pub(crate) fn limit() -> Limit {
    if let Some(count) = std::env::var("MT_WATCH_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Limit {
            count,
            from: LimitFrom::Env,
        };
    }
    match kernel_limit() {
        Some(count) => Limit {
            count,
            from: LimitFrom::Kernel,
        },
        None => Limit {
            count: 8192,
            from: LimitFrom::Default,
        },
    }
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

    fn trees(dir: &Path, keep: Duration) -> Trees {
        let settings = Settings {
            spool: dir.join("spool"),
            report: dir.join("watch.json"),
            config: dir.join("config.toml"),
            keep,
            limit: Limit {
                count: 100,
                from: LimitFrom::Env,
            },
            own: vec![dir.join("spool")],
        };
        Trees::new(Inotify::init().unwrap(), settings)
    }

    /// A tree with nothing recorded for `watch_days` loses its watches; one
    /// touched since keeps them. (`expire` takes the clock as an argument.)
    /// A repository nested in it is a tree of its own.
    #[test]
    fn a_tree_unused_for_its_days_is_dropped_and_nested_repos_are_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        for d in [".git", "src", "target", "vendor/lib/.git", "vendor/lib/src"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
        let mut t = trees(dir.path(), Duration::from_secs(60));
        let now = clock::now().micros();
        t.activate(BTreeMap::from([(root.to_string_lossy().into_owned(), now)]));
        assert_eq!(
            t.trees.keys().cloned().collect::<Vec<_>>(),
            vec![root.clone(), root.join("vendor/lib")]
        );
        assert_eq!(
            t.trees[&root].dirs.len(),
            3,
            "the root, src/ and vendor/; not .git/, target/ or the nested repository"
        );
        assert_eq!(t.trees[&root.join("vendor/lib")].dirs.len(), 2);
        t.expire(Instant::now() + Duration::from_secs(30));
        assert_eq!(t.trees.len(), 2, "still within the days kept");
        t.expire(Instant::now() + Duration::from_secs(61));
        assert!(t.trees.is_empty() && t.dir_count == 0);
        let report: Report =
            serde_json::from_slice(&std::fs::read(dir.path().join("watch.json")).unwrap()).unwrap();
        assert!(report.trees.is_empty(), "the report says so too");
        // Activity from long ago (a backlog ingested late) starts nothing.
        let old = now - clock::micros(Duration::from_secs(120));
        t.activate(BTreeMap::from([(root.to_string_lossy().into_owned(), old)]));
        assert!(t.trees.is_empty());
    }
}
