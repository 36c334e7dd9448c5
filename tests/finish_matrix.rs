//! Finished work, as a matrix: every way a code host merges (GitHub merge
//! commit, squash, rebase; GitLab merge commit, squash then merge commit),
//! every way the default branch moved on the host meanwhile (not at all, an
//! unrelated file, a line two lines from the branch's, a review suggestion
//! pushed to the branch) and every way the user pulls (merge, rebase,
//! ff-only, fetch then merge). Each row: one milestone for the branch, with
//! the request's number and title, and the branch's runs filed once. Then
//! single scenarios: a long default branch must not hang a pull's hook,
//! `mt close` or `mt status --branches`; a branch tested before its commit
//! and deleted before the pull; and three branches that are not finished
//! (a colleague's identical fix, no commit of its own, half of it landed).
//!
//! Real git only: a bare "origin", a "host" clone that merges and pushes as
//! the code host does, and the user's clone "me" with `mt init git`. Every
//! child process this file starts has a time limit.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::harness::Env;

/// The most any child process started here may take.
const LIMIT: Duration = Duration::from_secs(20);

/// Who the code host's own commits (merges, squashes) are by.
const HOST_ID: &[(&str, &str)] = &[
    ("GIT_AUTHOR_NAME", "Maintainer"),
    ("GIT_AUTHOR_EMAIL", "maintainer@example.com"),
    ("GIT_COMMITTER_NAME", "Code Host"),
    ("GIT_COMMITTER_EMAIL", "noreply@example.com"),
];

/// A reviewer whose suggestion is committed to the branch on the host.
const REVIEWER: &[(&str, &str)] = &[
    ("GIT_AUTHOR_NAME", "Reviewer"),
    ("GIT_AUTHOR_EMAIL", "reviewer@example.com"),
];

/// Run `cmd` in a process group of its own, `input` on its stdin; if it
/// takes longer than `limit` the group is killed and the test fails.
/// Its output and how long it took.
fn run_limited(
    cmd: &mut Command,
    input: Option<Vec<u8>>,
    limit: Duration,
    what: &str,
) -> (Output, Duration) {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    let pid = child.id() as i32;
    if let Some(bytes) = input {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => (
            out.unwrap_or_else(|e| panic!("{what}: {e}")),
            start.elapsed(),
        ),
        Err(_) => {
            // SAFETY: signalling the process group this test made.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            panic!("{what} did not finish within {limit:?}: killed");
        }
    }
}

/// Both streams of `out`, as text.
fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `lines` lines of `name`'s seed text.
fn seed_text(name: &str, lines: usize) -> String {
    (1..=lines).map(|j| format!("{name} line {j}\n")).collect()
}

/// Replace line `j` (from 1) of `path` with `text`.
fn set_line(path: &Path, j: usize, text: &str) {
    let old = fs::read_to_string(path).unwrap();
    let mut lines: Vec<&str> = old.lines().collect();
    lines[j - 1] = text;
    fs::write(path, format!("{}\n", lines.join("\n"))).unwrap();
}

/// The front matter of a milestone file, parsed.
fn front(text: &str) -> Value {
    crate::harness::milestone_value(text)
}

/// The title `mt` infers from a branch name (`feat/12-some-thing` → `Some
/// thing`), what a milestone is titled when no request names one.
fn title_from_branch(branch: &str) -> String {
    let last = branch.rsplit('/').next().unwrap();
    let slug = last.trim_start_matches(|c: char| c.is_ascii_digit());
    let words = slug.trim_start_matches('-').replace('-', " ");
    let mut c = words.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

struct Host<'a> {
    env: &'a Env,
    /// The user's clone, with mt's git hooks.
    me: PathBuf,
    /// The code host's side: a clone that merges and pushes to origin.
    host: PathBuf,
}

impl<'a> Host<'a> {
    /// origin seeded with `files` on main, cloned as "host" and as "me"
    /// (with `mt init git`).
    fn new(env: &'a Env, files: &[(String, String)]) -> Host<'a> {
        let seed = env.path("seed");
        fs::create_dir_all(&seed).unwrap();
        let h = Host {
            env,
            me: env.path("me"),
            host: env.path("host"),
        };
        h.git_in(&seed, &["init", "-q", "-b", "main"], &[]);
        for (name, text) in files {
            fs::write(seed.join(name), text).unwrap();
        }
        h.git_in(&seed, &["add", "-A"], &[]);
        h.git_in(&seed, &["commit", "-q", "--allow-empty", "-m", "init"], &[]);
        let origin = env.path("origin.git");
        let top = env.dir.path();
        let (seed, origin) = (seed.to_str().unwrap(), origin.to_str().unwrap());
        h.git_in(top, &["clone", "-q", "--bare", seed, origin], &[]);
        for name in ["me", "host"] {
            h.git_in(top, &["clone", "-q", origin, name], &[]);
        }
        h.mt_ok(&h.me, &["init", "git"]);
        h
    }

    /// `git ARGS` in `dir` (extra environment `vars`), hooks and all,
    /// within the time limit; the whole output, whatever its status.
    fn git_output(&self, dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> (Output, Duration) {
        let mut cmd = Command::new("git");
        self.env.apply(&mut cmd).current_dir(dir).args(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        run_limited(&mut cmd, None, LIMIT, &format!("git {args:?} in {dir:?}"))
    }

    /// `git ARGS` in `dir` must succeed; stdout and stderr.
    fn git_in(&self, dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> String {
        let (out, _) = self.git_output(dir, args, vars);
        assert!(
            out.status.success(),
            "git {args:?} in {dir:?}: {}",
            said(&out)
        );
        said(&out)
    }

    /// `git ARGS` in the user's clone; stdout and stderr.
    fn me(&self, args: &[&str]) -> String {
        self.git_in(&self.me, args, &[])
    }

    /// `git ARGS` on the code host, as the code host.
    fn host(&self, args: &[&str]) -> String {
        self.git_in(&self.host, args, HOST_ID)
    }

    /// `git rev-parse REV` on the host.
    fn host_rev(&self, rev: &str) -> String {
        self.host(&["rev-parse", rev]).trim().to_owned()
    }

    /// `mt ARGS` in `dir`, within the time limit.
    fn mt(&self, dir: &Path, args: &[&str]) -> (Output, Duration) {
        let mut cmd = self.env.mt_cmd(dir, args);
        run_limited(&mut cmd, None, LIMIT, &format!("mt {args:?}"))
    }

    /// `mt ARGS` in `dir` must succeed; its stdout.
    fn mt_ok(&self, dir: &Path, args: &[&str]) -> String {
        let (out, _) = self.mt(dir, args);
        assert!(out.status.success(), "mt {args:?}: {}", said(&out));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Commit `files` (as they are in `dir`) with `message`.
    fn commit(&self, dir: &Path, files: &[&str], message: &str, vars: &[(&str, &str)]) {
        let mut add = vec!["add", "--"];
        add.extend(files);
        self.git_in(dir, &add, vars);
        self.git_in(dir, &["commit", "-q", "-m", message], vars);
    }

    /// The user: on main, exactly as origin has it.
    fn me_on_fresh_main(&self) {
        self.me(&["switch", "-q", "main"]);
        self.me(&["fetch", "-q", "origin"]);
        self.me(&["reset", "-q", "--hard", "origin/main"]);
    }

    /// The host: on main, exactly as origin has it.
    fn host_on_fresh_main(&self) {
        self.host(&["fetch", "-q", "origin"]);
        self.host(&["switch", "-q", "main"]);
        self.host(&["reset", "-q", "--hard", "origin/main"]);
    }

    /// Every milestone file (not the index) with its text.
    fn milestones(&self) -> Vec<(PathBuf, String)> {
        crate::close::milestone_files(&self.me)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .map(|p| {
                let t = fs::read_to_string(&p).unwrap();
                (p, t)
            })
            .collect()
    }

    /// The milestone files whose front matter (its `mt:` block) names
    /// `branch`.
    fn milestones_of(&self, branch: &str) -> Vec<(PathBuf, String)> {
        self.milestones()
            .into_iter()
            .filter(|(_, t)| front(t)["mt"]["branch"] == branch)
            .collect()
    }

    /// Every milestone file with its branch, pr_number and title, one line
    /// each, for a failure message.
    fn describe_milestones(&self) -> String {
        let mut s = String::new();
        for (p, t) in self.milestones() {
            let f = front(&t);
            let _ = write!(
                s,
                "\n    {} (branch: {}, pr_number: {}, title: {}, status: {})",
                p.strip_prefix(&self.me).unwrap_or(&p).display(),
                f["mt"]["branch"],
                f.get("pr_number").unwrap_or(&Value::Null),
                f["title"],
                f.get("status").unwrap_or(&Value::Null),
            );
        }
        if s.is_empty() {
            s.push_str(" none");
        }
        s
    }

    /// `mt status --branches` in the user's clone.
    fn status(&self) -> String {
        self.mt_ok(&self.me, &["status", "--branches"])
    }

    /// The runs recorded on `branch`, from `mt log --json`.
    fn runs(&self, branch: &str) -> Vec<Value> {
        let out = self.mt_ok(&self.me, &["log", "--json", "--limit", "1000000"]);
        out.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["branch"] == branch)
            .collect()
    }

    /// What is wrong with `branch`'s milestones: there must be exactly one,
    /// final, with `pr` (`#N`, or none) and `title`, its `automated` runs
    /// (all `mt exec`) filed under it once and nothing left open.
    fn check_closed(
        &self,
        branch: &str,
        pr: Option<&str>,
        title: &str,
        automated: u64,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        let files = self.milestones_of(branch);
        if files.len() != 1 {
            problems.push(format!(
                "expected one milestone file for {branch}, found {}",
                files.len()
            ));
            return problems;
        }
        let f = front(&files[0].1);
        let seen_pr = f.get("pr_number").and_then(Value::as_str);
        if seen_pr != pr {
            problems.push(format!("pr_number {seen_pr:?}, expected {pr:?}"));
        }
        let seen_title = f["title"].as_str().unwrap_or("");
        if seen_title != title || seen_title.starts_with("Merge ") {
            problems.push(format!("title {seen_title:?}, expected {title:?}"));
        }
        if f.get("status").is_some_and(|s| s == "draft") {
            problems.push("the milestone is a draft".to_owned());
        }
        let counts = (&f["mt"]["runs_automated"], &f["mt"]["runs_manual"]);
        if counts.0 != automated || counts.1 != 0 {
            problems.push(format!(
                "mt: runs_automated {}, runs_manual {}; expected {automated} and 0",
                counts.0, counts.1
            ));
        }
        let id = &f["milestone_id"];
        let runs = self.runs(branch);
        let filed = runs.iter().filter(|r| r["milestone"] == *id).count();
        if runs.len() as u64 != automated || filed != runs.len() {
            problems.push(format!(
                "mt log: {} runs on {branch}, {filed} of them filed under {id}; expected {automated}, all filed",
                runs.len()
            ));
        }
        let status = self.status();
        if status
            .lines()
            .any(|l| l.split_whitespace().next() == Some(branch))
        {
            problems.push(format!("mt status --branches still lists {branch} as open"));
        }
        problems
    }

    /// A branch from a fresh main: `mt exec true`, a commit of each edit
    /// `(file, line, text)` with `mt exec false` between them, `mt exec
    /// true` after the last; pushed when `push`. The commits' subjects.
    fn work(&self, branch: &str, edits: &[(&str, usize, &str)], push: bool) -> Vec<String> {
        self.me_on_fresh_main();
        self.me(&["switch", "-q", "-c", branch]);
        self.mt_ok(&self.me, &["exec", "true"]);
        let mut subjects = Vec::new();
        for (i, (file, line, text)) in edits.iter().enumerate() {
            if i > 0 {
                let _ = self.mt(&self.me, &["exec", "false"]);
            }
            set_line(&self.me.join(file), *line, text);
            let subject = format!("Change line {line} of {file}");
            self.commit(&self.me, &[file], &subject, &[]);
            subjects.push(subject);
        }
        self.mt_ok(&self.me, &["exec", "true"]);
        if push {
            self.me(&["push", "-q", "-u", "origin", branch]);
        }
        subjects
    }
}

/// How the code host merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `Merge pull request #N from me/BRANCH`, the title as its body.
    GitHubMerge,
    /// One commit `TITLE (#N)`, the branch's subjects as `* subject` lines.
    GitHubSquash,
    /// The branch's commits picked onto main; no request number anywhere.
    Rebase,
    /// `Merge branch 'BRANCH' into 'main'`, the title, `See merge request`.
    GitLabMerge,
    /// A squash commit titled TITLE, merged with GitLab's message without
    /// the title.
    GitLabSquash,
}

/// How main moved on the host before the merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moved {
    Untouched,
    /// An unrelated file changed.
    Unrelated,
    /// A line two lines from the branch's changed line (a clean 3-way
    /// merge, so a squash's or rebase's patches differ from the branch's).
    Nearby,
    /// Not main: a review suggestion committed to the branch on the host,
    /// another line of the same file; the user never pulls it.
    Suggestion,
    /// Main changed the branch's own line; the host resolved the conflict
    /// in its web editor (a line neither side had). Hosts offer that for
    /// merge commits and squashes, not for rebase merges.
    Conflict,
}

/// How the user brings main up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pull {
    /// `git pull --no-rebase` (merge mode) over a local commit on main: a
    /// real merge.
    Merge,
    /// `git pull --rebase` over a local commit on main (post-rewrite).
    Rebase,
    /// `git pull --ff-only`.
    FfOnly,
    /// `git fetch`, then `git merge origin/main`.
    FetchMerge,
}

const MOVED: [Moved; 5] = [
    Moved::Untouched,
    Moved::Unrelated,
    Moved::Nearby,
    Moved::Suggestion,
    Moved::Conflict,
];

const PULLS: [Pull; 4] = [Pull::Merge, Pull::Rebase, Pull::FfOnly, Pull::FetchMerge];

impl Moved {
    fn slug(self) -> &'static str {
        match self {
            Moved::Untouched => "untouched",
            Moved::Unrelated => "unrelated",
            Moved::Nearby => "nearby",
            Moved::Suggestion => "suggestion",
            Moved::Conflict => "conflict",
        }
    }
}

impl Pull {
    fn slug(self) -> &'static str {
        match self {
            Pull::Merge => "pull-merge",
            Pull::Rebase => "pull-rebase",
            Pull::FfOnly => "pull-ff-only",
            Pull::FetchMerge => "fetch-merge",
        }
    }
}

/// The lines of each row's file: the branch changes two, main a third.
const ROW_LINES: usize = 14;
/// The branch's changed lines.
const BRANCH_LINES: [usize; 2] = [5, 9];
/// Two lines from the branch's first (line 4 between stays as it was).
const NEARBY_LINE: usize = 3;
/// The suggestion's line: the same file, another line.
const SUGGESTION_LINE: usize = 13;

struct Row {
    kind: Kind,
    moved: Moved,
    pull: Pull,
    /// The request number, unique per row; also the branch's issue.
    n: u64,
    /// Which seeded file the row's branch changes.
    file: String,
}

impl Row {
    fn branch(&self) -> String {
        format!("feat/{}-{}-{}", self.n, self.moved.slug(), self.pull.slug())
    }

    /// The request's title: nothing like the branch's name.
    fn title(&self) -> String {
        format!(
            "Row {} of the {:?} matrix: main {:?}, pulled by {:?}",
            self.n, self.kind, self.moved, self.pull
        )
    }

    fn name(&self) -> String {
        format!(
            "[{:?} × main {:?} × pull {:?}] {}",
            self.kind,
            self.moved,
            self.pull,
            self.branch()
        )
    }

    /// The pr_number and title the milestone must have.
    fn expected(&self) -> (Option<String>, String) {
        match self.kind {
            Kind::Rebase => (None, title_from_branch(&self.branch())),
            _ => (Some(format!("#{}", self.n)), self.title()),
        }
    }
}

/// One row, start to end; what is wrong with it.
fn run_row(h: &Host, row: &Row) -> Result<(), String> {
    let branch = row.branch();
    let file = row.file.as_str();
    let title = row.title();
    let n = row.n;
    // The user's branch: two commits, three runs, pushed.
    let edits: Vec<(&str, usize, String)> = BRANCH_LINES
        .iter()
        .map(|&l| (file, l, format!("line {l} as {branch} has it")))
        .collect();
    let edits: Vec<(&str, usize, &str)> =
        edits.iter().map(|(f, l, t)| (*f, *l, t.as_str())).collect();
    let mut subjects = h.work(&branch, &edits, true);
    // The host: main moves, then the request is merged its way.
    h.host_on_fresh_main();
    let remote = format!("origin/{branch}");
    match row.moved {
        Moved::Untouched => {}
        Moved::Unrelated => {
            let other = format!("unrelated-{n}.txt");
            fs::write(h.host.join(&other), "unrelated\n").unwrap();
            h.commit(
                &h.host,
                &[&other],
                &format!("Unrelated change {n}"),
                HOST_ID,
            );
        }
        Moved::Nearby => {
            set_line(&h.host.join(file), NEARBY_LINE, "changed on main nearby");
            h.commit(&h.host, &[file], &format!("Nearby change {n}"), HOST_ID);
        }
        Moved::Suggestion => {
            h.host(&["switch", "-q", "--detach", &remote]);
            set_line(
                &h.host.join(file),
                SUGGESTION_LINE,
                "a reviewer's suggestion",
            );
            let subject = "Apply suggestions from code review";
            let who: Vec<(&str, &str)> = HOST_ID.iter().chain(REVIEWER).copied().collect();
            h.commit(&h.host, &[file], subject, &who);
            h.host(&["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")]);
            h.host(&["fetch", "-q", "origin"]);
            h.host(&["switch", "-q", "main"]);
            subjects.push(subject.to_owned());
        }
        Moved::Conflict => {
            set_line(&h.host.join(file), BRANCH_LINES[0], "main's own line");
            h.commit(
                &h.host,
                &[file],
                &format!("Conflicting change {n}"),
                HOST_ID,
            );
        }
    }
    let gitlab_merge = |body: &str| format!("Merge branch '{branch}' into 'main'\n\n{body}");
    // A merge that stops on the conflict is resolved as a host's editor
    // does it, then committed with the message it would have had.
    let merge = |args: &[&str], message: &str| {
        if row.moved != Moved::Conflict {
            h.host(args);
            return;
        }
        let (out, _) = h.git_output(&h.host, args, HOST_ID);
        assert!(
            !out.status.success(),
            "{}: the conflict must conflict",
            row.name()
        );
        set_line(&h.host.join(file), BRANCH_LINES[0], "resolved on the host");
        h.commit(&h.host, &[file], message, HOST_ID);
    };
    match row.kind {
        Kind::GitHubMerge => {
            let message = format!("Merge pull request #{n} from me/{branch}\n\n{title}");
            merge(
                &["merge", "-q", "--no-ff", "-m", &message, &remote],
                &message,
            );
        }
        Kind::GitHubSquash => {
            let list: Vec<String> = subjects.iter().map(|s| format!("* {s}")).collect();
            let message = format!("{title} (#{n})\n\n{}", list.join("\n\n"));
            if row.moved == Moved::Conflict {
                merge(&["merge", "-q", "--squash", &remote], &message);
            } else {
                h.host(&["merge", "-q", "--squash", &remote]);
                h.host(&["commit", "-q", "-m", &message]);
            }
        }
        Kind::Rebase => {
            let base = h.host(&["merge-base", "HEAD", &remote]);
            h.host(&["cherry-pick", &format!("{}..{remote}", base.trim())]);
        }
        Kind::GitLabMerge => {
            let message = gitlab_merge(&format!("{title}\n\nSee merge request group/app!{n}"));
            merge(
                &["merge", "-q", "--no-ff", "-m", &message, &remote],
                &message,
            );
        }
        Kind::GitLabSquash => {
            // GitLab's squash: the branch's tree as one commit on the merge
            // base, titled with the request; then merged, the merge's
            // message without the title.
            let base = h.host(&["merge-base", "HEAD", &remote]);
            let tree = format!("{remote}^{{tree}}");
            let squash = h.host(&["commit-tree", &tree, "-p", base.trim(), "-m", &title]);
            let message = gitlab_merge(&format!("See merge request group/app!{n}"));
            h.host(&["merge", "-q", "--no-ff", "-m", &message, squash.trim()]);
        }
    }
    if row.moved == Moved::Nearby && matches!(row.kind, Kind::Rebase | Kind::GitHubSquash) {
        // The premise: what landed is not the branch's patches.
        let cherry = h.host(&["cherry", "main", &remote]);
        assert!(
            cherry.lines().any(|l| l.starts_with("+ ")),
            "main must not hold every patch of {branch} unchanged: {cherry}"
        );
    }
    h.host(&["push", "-q", "origin", "main"]);
    // The user comes back to main and pulls.
    h.me(&["switch", "-q", "main"]);
    let local = || {
        let name = format!("local-{n}.txt");
        fs::write(h.me.join(&name), "local\n").unwrap();
        h.commit(&h.me, &[&name], &format!("Local commit {n}"), &[]);
    };
    let pulled = match row.pull {
        Pull::Merge => {
            local();
            h.me(&["pull", "-q", "--no-rebase", "--no-edit"])
        }
        Pull::Rebase => {
            local();
            h.me(&["pull", "-q", "--rebase"])
        }
        Pull::FfOnly => h.me(&["pull", "-q", "--ff-only"]),
        Pull::FetchMerge => {
            h.me(&["fetch", "-q"]);
            h.me(&["merge", "-q", "--no-edit", "origin/main"])
        }
    };
    let (pr, expected_title) = row.expected();
    let problems = h.check_closed(&branch, pr.as_deref(), &expected_title, 3);
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}:\n  - {}\n  the pull said: {:?}\n  milestone files:{}\n  mt status --branches:\n{}",
        row.name(),
        problems.join("\n  - "),
        pulled,
        h.describe_milestones(),
        h.status()
    ))
}

/// Every row of one host-merge kind, in one environment (the rows use
/// branches and files of their own); all failures named together.
fn matrix(kind: Kind, first: u64) {
    let env = Env::new();
    let files: Vec<(String, String)> = (0..MOVED.len() * PULLS.len())
        .map(|i| {
            let name = format!("row{i}.txt");
            let text = seed_text(&name, ROW_LINES);
            (name, text)
        })
        .collect();
    let h = Host::new(&env, &files);
    let mut failures = Vec::new();
    let mut branches = Vec::new();
    let mut i = 0;
    let offered = |moved: Moved| {
        moved != Moved::Conflict
            || matches!(
                kind,
                Kind::GitHubMerge | Kind::GitHubSquash | Kind::GitLabMerge
            )
    };
    for moved in MOVED.into_iter().filter(|&m| offered(m)) {
        for pull in PULLS {
            let row = Row {
                kind,
                moved,
                pull,
                n: first + i as u64,
                file: files[i].0.clone(),
            };
            i += 1;
            branches.push(row.branch());
            match catch_unwind(AssertUnwindSafe(|| run_row(&h, &row))) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(e),
                Err(panic) => {
                    let why = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    failures.push(format!("{}: panicked: {why}", row.name()));
                }
            }
        }
    }
    // Later rows' pulls, and a last `mt close` on main, wrote nothing more
    // for any row: still one file each.
    let closed = h.mt_ok(&h.me, &["close"]);
    for branch in &branches {
        let n = h.milestones_of(branch).len();
        if n != 1 {
            failures.push(format!(
                "{branch}: {n} milestone files after every row and `mt close` ({closed:?})"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {i} rows failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn matrix_github_merge_commit() {
    matrix(Kind::GitHubMerge, 100);
}

#[test]
fn matrix_github_squash() {
    matrix(Kind::GitHubSquash, 200);
}

#[test]
fn matrix_rebase_merge() {
    matrix(Kind::Rebase, 300);
}

#[test]
fn matrix_gitlab_merge_commit() {
    matrix(Kind::GitLabMerge, 400);
}

#[test]
fn matrix_gitlab_squash_then_merge_commit() {
    matrix(Kind::GitLabSquash, 500);
}

/// A fast-import stream of `count` commits on `refs/heads/main` from
/// `from`, each changing one line of `file` (whose text is `lines`).
fn linear_history(from: &str, file: &str, mut lines: Vec<String>, count: usize) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut s = String::new();
    for i in 1..=count {
        let at = lines.len();
        lines[i % at] = format!("{file} line {} as commit {i} left it", i % at + 1);
        let message = format!("Bot commit {i}\n");
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let _ = write!(
            s,
            "commit refs/heads/main\nmark :{i}\ncommitter Bot <bot@example.com> {} +0000\ndata {}\n{message}",
            now + i as u64,
            message.len()
        );
        if i == 1 {
            let _ = writeln!(s, "from {from}");
        }
        let _ = write!(s, "M 100644 inline {file}\ndata {}\n{text}\n", text.len());
    }
    s.push_str("done\n");
    s.into_bytes()
}

#[test]
fn fifteen_hundred_commits_on_main_hang_neither_pull_nor_close_nor_status() {
    let env = Env::new();
    let big_lines = 40;
    let h = Host::new(
        &env,
        &[
            ("big.txt".to_owned(), seed_text("big.txt", big_lines)),
            ("feature.txt".to_owned(), seed_text("feature.txt", 4)),
            ("open.txt".to_owned(), seed_text("open.txt", 4)),
        ],
    );
    let done = "feat/900-squashed-after-a-long-history";
    let open = "feat/901-still-open";
    let subjects = h.work(done, &[("feature.txt", 2, "the feature")], true);
    h.work(open, &[("open.txt", 2, "still open")], true);
    // 1,500 commits land on main after both branches started.
    h.host_on_fresh_main();
    let head = h.host_rev("HEAD");
    let lines: Vec<String> = seed_text("big.txt", big_lines)
        .lines()
        .map(str::to_owned)
        .collect();
    let stream = linear_history(&head, "big.txt", lines, 1500);
    let mut cmd = Command::new("git");
    env.apply(&mut cmd)
        .current_dir(&h.host)
        .args(["fast-import", "--quiet", "--done"]);
    let (out, _) = run_limited(&mut cmd, Some(stream), LIMIT, "git fast-import");
    assert!(out.status.success(), "git fast-import: {}", said(&out));
    h.host(&["reset", "-q", "--hard", "main"]);
    let count = h.host(&[
        "rev-list",
        "--count",
        "--no-merges",
        &format!("{head}..main"),
    ]);
    assert_eq!(count.trim(), "1500");
    // Then the branch is squashed on top.
    h.host(&["merge", "-q", "--squash", &format!("origin/{done}")]);
    let message = format!("Land the feature late (#900)\n\n* {}", subjects[0]);
    h.host(&["commit", "-q", "-m", &message]);
    h.host(&["push", "-q", "origin", "main"]);
    // The user's pull (its hooks), status and close: each within the limit.
    h.me(&["switch", "-q", "main"]);
    let (pull, pull_took) = h.git_output(&h.me, &["pull", "-q", "--ff-only"], &[]);
    assert!(pull.status.success(), "git pull: {}", said(&pull));
    let after_pull = h.milestones_of(done).len();
    let (status, status_took) = h.mt(&h.me, &["status", "--branches"]);
    assert!(status.status.success(), "{}", said(&status));
    let (close, close_took) = h.mt(&h.me, &["close"]);
    assert!(close.status.success(), "{}", said(&close));
    let report = format!(
        "pull {pull_took:?} (its hook wrote {after_pull} milestone(s) for {done}), said {:?}; \
         status --branches {status_took:?}:\n{}\nclose {close_took:?}: {}\nmilestones:{}",
        said(&pull),
        said(&status),
        said(&close),
        h.describe_milestones()
    );
    let problems = h.check_closed(done, Some("#900"), "Land the feature late", 2);
    assert!(problems.is_empty(), "{problems:?}\n{report}");
    assert!(h.milestones_of(open).is_empty(), "{report}");
    let listed = h.status();
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(open) && l.contains("not finished")),
        "{listed}\n{report}"
    );
}

#[test]
fn a_branch_tested_before_its_commit_and_deleted_before_the_pull_is_closed() {
    let env = Env::new();
    let h = Host::new(&env, &[("app.txt".to_owned(), seed_text("app.txt", 4))]);
    let branch = "fix/902-tested-first";
    h.me_on_fresh_main();
    h.me(&["switch", "-q", "-c", branch]);
    h.mt_ok(&h.me, &["exec", "true"]);
    set_line(&h.me.join("app.txt"), 2, "fixed");
    h.commit(&h.me, &["app.txt"], "Fix the app", &[]);
    // No command after the commit.
    h.me(&["push", "-q", "-u", "origin", branch]);
    h.host_on_fresh_main();
    h.host(&["merge", "-q", "--squash", &format!("origin/{branch}")]);
    h.host(&["commit", "-q", "-m", "Tested first (#902)\n\n* Fix the app"]);
    h.host(&["push", "-q", "origin", "main"]);
    h.me(&["switch", "-q", "main"]);
    h.me(&["branch", "-q", "-D", branch]);
    let pulled = h.me(&["pull", "-q", "--no-rebase"]);
    let problems = h.check_closed(branch, Some("#902"), "Tested first", 1);
    assert!(
        problems.is_empty(),
        "{problems:?}\nthe pull said: {pulled:?}\nmilestones:{}\nmt status --branches:\n{}",
        h.describe_milestones(),
        h.status()
    );
}

/// Nothing may be closed for `branches`: no milestone file names them and
/// `mt status --branches` lists each as not finished.
fn assert_open(h: &Host, branches: &[&str], pulled: &str) {
    let listed = h.status();
    for branch in branches {
        let line = listed
            .lines()
            .find(|l| l.split_whitespace().next() == Some(branch));
        assert!(
            h.milestones_of(branch).is_empty() && line.is_some_and(|l| l.contains("not finished")),
            "{branch} must stay open\nthe pull said: {pulled:?}\nmilestones:{}\nmt status --branches:\n{listed}",
            h.describe_milestones()
        );
    }
}

#[test]
fn a_colleagues_identical_fix_does_not_finish_a_branch_never_pushed() {
    let env = Env::new();
    let h = Host::new(&env, &[("app.txt".to_owned(), seed_text("app.txt", 4))]);
    let branch = "fix/903-same-fix";
    h.work(branch, &[("app.txt", 2, "the one obvious fix")], false);
    // A colleague makes the same change on main, as another author.
    h.host_on_fresh_main();
    set_line(&h.host.join("app.txt"), 2, "the one obvious fix");
    let colleague: Vec<(&str, &str)> = HOST_ID
        .iter()
        .copied()
        .chain([
            ("GIT_AUTHOR_NAME", "Colleague"),
            ("GIT_AUTHOR_EMAIL", "colleague@example.com"),
        ])
        .collect();
    h.commit(&h.host, &["app.txt"], "Correct the app", &colleague);
    h.host(&["push", "-q", "origin", "main"]);
    h.me(&["switch", "-q", "main"]);
    let pulled = h.me(&["pull", "-q", "--no-rebase"]);
    assert_open(&h, &[branch], &pulled);
}

#[test]
fn a_branch_with_commands_but_no_commit_of_its_own_is_not_finished() {
    let env = Env::new();
    let h = Host::new(&env, &[("app.txt".to_owned(), seed_text("app.txt", 4))]);
    let branch = "feat/904-nothing-committed";
    h.me_on_fresh_main();
    h.me(&["switch", "-q", "-c", branch]);
    h.mt_ok(&h.me, &["exec", "true"]);
    let _ = h.mt(&h.me, &["exec", "false"]);
    h.me(&["switch", "-q", "main"]);
    // Main moves on (a request merged), and the user pulls it.
    h.host_on_fresh_main();
    set_line(&h.host.join("app.txt"), 3, "other work");
    h.commit(&h.host, &["app.txt"], "Other work (#77)", HOST_ID);
    h.host(&["push", "-q", "origin", "main"]);
    let pulled = h.me(&["pull", "-q", "--no-rebase"]);
    assert_eq!(
        h.milestones().len(),
        0,
        "{pulled}{}",
        h.describe_milestones()
    );
    assert_open(&h, &[branch], &pulled);
}

#[test]
fn a_branch_only_partly_on_main_is_not_finished() {
    let env = Env::new();
    let files: Vec<(String, String)> = ["a.txt", "b.txt", "c.txt", "d.txt"]
        .iter()
        .map(|f| (f.to_string(), seed_text(f, 4)))
        .collect();
    let h = Host::new(&env, &files);
    // One commit changing two files; the host takes one file's half.
    let one = "feat/905-two-files-one-commit";
    h.me_on_fresh_main();
    h.me(&["switch", "-q", "-c", one]);
    h.mt_ok(&h.me, &["exec", "true"]);
    set_line(&h.me.join("a.txt"), 2, "a as the branch has it");
    set_line(&h.me.join("b.txt"), 2, "b as the branch has it");
    h.commit(&h.me, &["a.txt", "b.txt"], "Change a and b", &[]);
    h.mt_ok(&h.me, &["exec", "true"]);
    h.me(&["push", "-q", "-u", "origin", one]);
    // Two commits, one file each; the host picks only the first.
    let two = "feat/906-two-files-two-commits";
    h.work(
        two,
        &[("c.txt", 2, "c changed"), ("d.txt", 2, "d changed")],
        true,
    );
    h.host_on_fresh_main();
    h.host(&["checkout", &format!("origin/{one}"), "--", "a.txt"]);
    h.host(&["commit", "-q", "-m", "Half of two files (#905)"]);
    h.host(&["cherry-pick", &format!("origin/{two}~1")]);
    h.host(&["push", "-q", "origin", "main"]);
    h.me(&["switch", "-q", "main"]);
    let pulled = h.me(&["pull", "-q", "--no-rebase"]);
    assert_open(&h, &[one, two], &pulled);
}
