//! Finished work, found however it reached the default branch: merged on a
//! code host (a bare "origin" and a teammate's clone stand in for it) with
//! a merge commit, a squash, a rebase or a fast-forward, then pulled in
//! merge, rebase or ff-only mode, or fetched and merged: one milestone per
//! finished branch, with the PR number and title, and none for the rest.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::{Env, err, text};

struct Host<'a> {
    env: &'a Env,
    /// The user's clone, with mt's git hooks.
    me: PathBuf,
    /// The code host's side: a clone that merges and pushes to origin.
    host: PathBuf,
}

impl<'a> Host<'a> {
    fn new(env: &'a Env) -> Host<'a> {
        let seed = env.repo("seed");
        let origin = env.path("origin.git");
        env.git(
            env.dir.path(),
            &[
                "clone",
                "-q",
                "--bare",
                seed.to_str().unwrap(),
                origin.to_str().unwrap(),
            ],
        );
        for name in ["me", "host"] {
            env.git(
                env.dir.path(),
                &["clone", "-q", origin.to_str().unwrap(), name],
            );
        }
        let me = env.path("me");
        env.ok(&me, ["init", "git"]);
        Host {
            env,
            me,
            host: env.path("host"),
        }
    }

    /// `git ARGS` in `dir`, hooks and all; the whole output.
    fn git(&self, dir: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new("git");
        let out = self
            .env
            .apply(&mut cmd)
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", err(&out));
        out
    }

    /// A branch from main with recorded work and one commit, pushed.
    fn work(&self, branch: &str, file: &str) {
        let (env, me) = (self.env, &self.me);
        env.git(me, &["switch", "-q", "main"]);
        env.git(me, &["pull", "-q", "--ff-only"]);
        env.git(me, &["switch", "-q", "-c", branch]);
        env.ok(me, ["exec", "true"]);
        let _ = env.mt(me, ["exec", "false"]);
        fs::write(me.join(file), format!("{branch}\n")).unwrap();
        env.git(me, &["add", file]);
        env.git(me, &["commit", "-q", "-m", &format!("work on {branch}")]);
        env.ok(me, ["exec", "true"]);
        env.git(me, &["push", "-q", "origin", branch]);
    }

    /// A branch made from `on` in the user's clone, with one run and one
    /// commit adding `file`, pushed.
    fn stack(&self, branch: &str, on: &str, file: &str) {
        let (env, me) = (self.env, &self.me);
        env.git(me, &["switch", "-q", "-c", branch, on]);
        env.ok(me, ["exec", "true"]);
        fs::write(me.join(file), format!("{file}\n")).unwrap();
        env.git(me, &["add", file]);
        env.git(me, &["commit", "-q", "-m", &format!("{file} work")]);
        env.git(me, &["push", "-q", "origin", branch]);
    }

    /// A linked worktree `name` on a new `branch`, with one run and one
    /// commit, pushed.
    fn worktree(&self, name: &str, branch: &str) -> PathBuf {
        let (env, me) = (self.env, &self.me);
        let tree = env.path(name);
        env.git(
            me,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                branch,
                tree.to_str().unwrap(),
            ],
        );
        env.ok(&tree, ["exec", "true"]);
        fs::write(tree.join(name), "x").unwrap();
        env.git(&tree, &["add", name]);
        env.git(&tree, &["commit", "-q", "-m", "worktree work"]);
        env.git(&tree, &["push", "-q", "origin", branch]);
        tree
    }

    /// The host merges `branch` into main its way, and pushes main.
    fn merge(&self, branch: &str, how: &str, message: &str) {
        let (env, host) = (self.env, &self.host);
        env.git(host, &["fetch", "-q", "origin"]);
        env.git(host, &["switch", "-q", "main"]);
        env.git(host, &["reset", "-q", "--hard", "origin/main"]);
        let remote = format!("origin/{branch}");
        match how {
            "merge" => {
                env.git(host, &["merge", "-q", "--no-ff", "-m", message, &remote]);
            }
            "squash" => {
                env.git(host, &["merge", "-q", "--squash", &remote]);
                env.git(host, &["commit", "-q", "-m", message]);
            }
            "rebase" => {
                // As a rebase merge does: the branch's commits made anew on main.
                let base = env.git(host, &["merge-base", "HEAD", &remote]);
                let range = format!("{}..{remote}", base.trim());
                env.git(host, &["cherry-pick", &range]);
            }
            "ff" => {
                env.git(host, &["merge", "-q", "--ff-only", &remote]);
            }
            other => panic!("no merge kind {other}"),
        }
        env.git(host, &["push", "-q", "origin", "main"]);
    }

    /// The host's main gets a commit of its own (a teammate's work).
    fn merge_file(&self, file: &str, content: &str) {
        let (env, host) = (self.env, &self.host);
        env.git(host, &["fetch", "-q", "origin"]);
        env.git(host, &["switch", "-q", "main"]);
        env.git(host, &["reset", "-q", "--hard", "origin/main"]);
        fs::write(host.join(file), content).unwrap();
        env.git(host, &["add", file]);
        env.git(host, &["commit", "-q", "-m", &format!("add {file}")]);
        env.git(host, &["push", "-q", "origin", "main"]);
    }

    /// Every milestone file under `milestones/` with its text.
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

    fn front(&self, branch: &str) -> serde_json::Value {
        let all = self.milestones();
        let found: Vec<&(PathBuf, String)> = all
            .iter()
            .filter(|(_, t)| t.contains(&format!("branch: {branch}\n")))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{branch}: {:?}",
            all.iter().map(|m| &m.0).collect::<Vec<_>>()
        );
        crate::harness::milestone_value(&found[0].1)
    }
}

#[test]
fn code_host_merges_of_every_kind_then_a_pull_close_each_branch_once() {
    let env = Env::new();
    let h = Host::new(&env);
    h.work("feat/4-ff", "ff");
    h.merge("feat/4-ff", "ff", "");
    h.work("feat/1-merge", "a");
    h.work("fix/2-squash", "b");
    h.work("feat/3-rebase", "c");
    h.work("feat/5-open", "d");
    h.merge(
        "feat/1-merge",
        "merge",
        "Merge pull request #11 from alice/feat/1-merge\n\nAdd the merged thing",
    );
    h.merge("fix/2-squash", "squash", "Fix the squashed bug (#12)");
    h.merge("feat/3-rebase", "rebase", "");
    // The user comes back to main and pulls (merge mode): the hooks close
    // every finished branch, one line each.
    env.git(&h.me, &["switch", "-q", "main"]);
    let out = h.git(&h.me, &["-c", "pull.rebase=false", "pull", "-q"]);
    let said = format!("{}{}", text(&out), err(&out));
    let lines: Vec<&str> = said.lines().filter(|l| l.contains("milestones/")).collect();
    // feat/4-ff was closed already, by the pull that started feat/1-merge.
    assert_eq!(lines.len(), 3, "{said}");
    let front = h.front("feat/1-merge");
    assert_eq!(
        (front["pr_number"].as_str(), front["title"].as_str()),
        (Some("#11"), Some("Add the merged thing"))
    );
    let front = h.front("fix/2-squash");
    assert_eq!(
        (front["pr_number"].as_str(), front["title"].as_str()),
        (Some("#12"), Some("Fix the squashed bug"))
    );
    assert_eq!(front["type"], "bug");
    for branch in ["feat/3-rebase", "feat/4-ff"] {
        let front = h.front(branch);
        assert!(front.get("status").is_none(), "{front}");
        assert_eq!(front["mt"]["runs_automated"], 3, "{branch}: {front}");
    }
    assert!(
        !h.milestones()
            .iter()
            .any(|(_, t)| t.contains("branch: feat/5-open"))
    );
    // Pulling again, or closing again by hand on main, writes nothing more.
    let out = h.git(&h.me, &["pull", "-q"]);
    assert_eq!(
        format!("{}{}", text(&out), err(&out)),
        "",
        "a pull that finishes nothing prints nothing"
    );
    let again = env.ok(&h.me, ["close"]);
    assert!(
        again.starts_with(
            "No branch with recorded work is in origin/main yet: feat/5-open (3 runs)"
        ),
        "{again}"
    );
    assert_eq!(h.milestones().len(), 4);
    // The closes regenerated the index: one row per milestone file.
    let log = fs::read_to_string(h.me.join("milestones/MILESTONE_LOG.md")).unwrap();
    let rows = log.lines().filter(|l| l.starts_with("| 20")).count();
    assert_eq!(rows, 4, "{log}");
}

#[test]
fn rebase_pulls_ff_only_and_fetch_then_merge_close_too() {
    let env = Env::new();
    let h = Host::new(&env);
    // pull --rebase with a local commit on main (post-rewrite).
    h.work("feat/6-r", "r");
    h.merge("feat/6-r", "squash", "Rebased pull (#6)");
    env.git(&h.me, &["switch", "-q", "main"]);
    fs::write(h.me.join("local"), "x").unwrap();
    env.git(&h.me, &["add", "local"]);
    env.git(&h.me, &["commit", "-q", "-m", "local"]);
    h.git(&h.me, &["-c", "pull.rebase=true", "pull", "-q"]);
    assert_eq!(h.front("feat/6-r")["pr_number"], "#6");
    // pull --ff-only.
    env.git(&h.me, &["reset", "-q", "--hard", "origin/main"]);
    h.work("feat/7-f", "f");
    h.merge(
        "feat/7-f",
        "merge",
        "Merge pull request #7 from a/feat/7-f\n\nSeven",
    );
    env.git(&h.me, &["switch", "-q", "main"]);
    h.git(&h.me, &["pull", "-q", "--ff-only"]);
    assert_eq!(h.front("feat/7-f")["title"], "Seven");
    // fetch, then merge --ff-only origin/main.
    h.work("feat/8-m", "m");
    h.merge("feat/8-m", "rebase", "");
    env.git(&h.me, &["switch", "-q", "main"]);
    h.git(&h.me, &["fetch", "-q"]);
    h.git(&h.me, &["merge", "-q", "--ff-only", "origin/main"]);
    h.front("feat/8-m");
    assert_eq!(h.milestones().len(), 3);
}

#[test]
fn updating_a_feature_branch_closes_nothing_and_says_nothing() {
    let env = Env::new();
    let h = Host::new(&env);
    h.work("feat/9-mine", "mine");
    h.work("feat/10-theirs", "theirs");
    h.merge(
        "feat/10-theirs",
        "merge",
        "Merge pull request #10 from b/feat/10-theirs\n\nTheirs",
    );
    env.git(&h.me, &["switch", "-q", "feat/9-mine"]);
    h.git(&h.me, &["fetch", "-q"]);
    // Before anything is pulled into main, status lists both open spans.
    let listed = env.ok(&h.me, ["status", "--branches"]);
    let line = |b: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(b))
            .unwrap_or("")
            .to_owned()
    };
    assert!(
        line("feat/10-theirs").contains("finished (merged into origin/main)"),
        "{listed}"
    );
    assert!(line("feat/9-mine").contains("not finished"), "{listed}");
    let out = h.git(&h.me, &["merge", "-q", "--no-edit", "origin/main"]);
    assert_eq!(format!("{}{}", text(&out), err(&out)), "");
    let out = h.git(
        &h.me,
        &[
            "-c",
            "pull.rebase=false",
            "pull",
            "-q",
            "--no-edit",
            "origin",
            "main",
        ],
    );
    assert_eq!(format!("{}{}", text(&out), err(&out)), "");
    assert!(h.milestones().is_empty());
    // A branch with recorded work and no commit of its own is not finished
    // just because its tip is in main.
    env.git(&h.me, &["switch", "-q", "main"]);
    env.git(&h.me, &["pull", "-q", "--ff-only"]);
    env.git(&h.me, &["switch", "-q", "-c", "feat/11-nothing-committed"]);
    env.ok(&h.me, ["exec", "true"]);
    env.git(&h.me, &["switch", "-q", "main"]);
    let said = env.ok(&h.me, ["close"]);
    assert!(
        said.contains("feat/11-nothing-committed") && said.contains("yet"),
        "{said}"
    );
    // The pull on main closed feat/10-theirs, and only it.
    let all = h.milestones();
    assert_eq!(all.len(), 1, "{all:?}");
    h.front("feat/10-theirs");
}

#[test]
fn a_draft_travels_in_the_pull_request_and_is_not_written_twice() {
    let env = Env::new();
    let h = Host::new(&env);
    h.work("feat/12-pr", "pr");
    // On the branch: a draft, written in the working tree.
    let first = env.ok(&h.me, ["close"]);
    assert!(first.contains("draft"), "{first}");
    let drafts = h.milestones();
    assert_eq!(drafts.len(), 1);
    assert!(drafts[0].1.contains("status: draft"));
    // More work, and the draft is rewritten in place with every run so far.
    env.ok(&h.me, ["exec", "true"]);
    env.ok(&h.me, ["close"]);
    let again = h.milestones();
    assert_eq!(again.len(), 1, "the same file, not a second one");
    assert_eq!(again[0].0, drafts[0].0);
    assert!(h.front("feat/12-pr")["mt"]["runs_automated"] == 4);
    let id = h.front("feat/12-pr")["milestone_id"].clone();
    // Committed with the branch, pushed, merged on the host, pulled.
    env.git(&h.me, &["add", "milestones"]);
    env.git(&h.me, &["commit", "-q", "-m", "milestone"]);
    env.ok(&h.me, ["exec", "true"]);
    env.git(&h.me, &["push", "-q", "origin", "feat/12-pr"]);
    h.merge(
        "feat/12-pr",
        "merge",
        "Merge pull request #12 from a/feat/12-pr\n\nTwelve",
    );
    env.git(&h.me, &["switch", "-q", "main"]);
    let out = h.git(&h.me, &["pull", "-q", "--ff-only"]);
    let said = format!("{}{}", text(&out), err(&out));
    assert!(said.contains("the branch's draft, made final"), "{said}");
    let all = h.milestones();
    assert_eq!(all.len(), 1, "still one file");
    assert_eq!(all[0].0, drafts[0].0, "the same path on main");
    // Final now: no draft status, the PR's number and title, and the run
    // recorded after the draft was written.
    let front = h.front("feat/12-pr");
    assert_eq!(front["milestone_id"], id);
    assert!(front["status"].is_null(), "{front}");
    assert_eq!(front["pr_number"], "#12");
    assert_eq!(front["title"], "Twelve");
    assert_eq!(front["mt"]["runs_automated"], 5);
    let log = fs::read_to_string(h.me.join("milestones/MILESTONE_LOG.md")).unwrap();
    assert!(
        log.contains("| Twelve |") && log.contains("| finished |"),
        "{log}"
    );
    // Nothing left open on the branch: nothing is counted twice.
    let said = env.ok(&h.me, ["close"]);
    assert!(!said.contains("feat/12-pr"), "{said}");
}

#[test]
fn worktrees_renamed_and_deleted_branches_are_found() {
    let env = Env::new();
    let h = Host::new(&env);
    // Work in a second worktree of the same repository.
    h.worktree("wt", "feat/13-wt");
    h.merge(
        "feat/13-wt",
        "merge",
        "Merge pull request #13 from a/feat/13-wt\n\nThirteen",
    );
    // Renamed before it was pushed and merged: filed under the name it was
    // recorded with.
    h.work("feat/14-old", "old");
    env.git(&h.me, &["branch", "-m", "feat/14-old", "feat/14-new"]);
    env.git(&h.me, &["push", "-q", "origin", "feat/14-new"]);
    h.merge("feat/14-new", "squash", "Renamed one (#14)");
    // Deleted locally before the pull (as `git fetch --prune` + cleanup do).
    h.work("feat/15-del", "del");
    h.merge(
        "feat/15-del",
        "merge",
        "Merge pull request #15 from a/feat/15-del\n\nFifteen",
    );
    env.git(&h.me, &["switch", "-q", "main"]);
    env.git(&h.me, &["branch", "-q", "-D", "feat/15-del"]);
    h.git(&h.me, &["pull", "-q", "--ff-only"]);
    assert_eq!(h.front("feat/13-wt")["title"], "Thirteen");
    assert_eq!(h.front("feat/14-old")["pr_number"], "#14");
    assert_eq!(h.front("feat/15-del")["pr_number"], "#15");
    assert_eq!(h.milestones().len(), 3);
}

#[test]
fn one_more_command_on_a_merged_branch_is_no_second_milestone() {
    let env = Env::new();
    let h = Host::new(&env);
    h.work("fix/20-once", "once");
    h.merge("fix/20-once", "squash", "Once (#20)");
    env.git(&h.me, &["switch", "-q", "main"]);
    h.git(&h.me, &["pull", "-q", "--ff-only"]);
    assert_eq!(
        h.milestones()
            .iter()
            .filter(|m| m.1.contains("branch: fix/20-once"))
            .count(),
        1
    );
    // Back on the merged branch for one more look, then another pull.
    env.git(&h.me, &["switch", "-q", "fix/20-once"]);
    env.ok(&h.me, ["exec", "true"]);
    env.git(&h.me, &["switch", "-q", "main"]);
    h.merge_file("unrelated", "later\n");
    let out = h.git(&h.me, &["pull", "-q", "--ff-only"]);
    assert_eq!(text(&out), "", "{}", err(&out));
    let files: Vec<_> = h
        .milestones()
        .into_iter()
        .filter(|m| m.1.contains("branch: fix/20-once"))
        .collect();
    assert_eq!(
        files.len(),
        1,
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    // Its run is no new work: listed as such, left out by the next close.
    let said = env.ok(&h.me, ["status", "--branches"]);
    assert!(
        said.contains("runs after its milestone, no new commit"),
        "{said}"
    );
    let said = env.ok(&h.me, ["close"]);
    assert!(
        said.contains("fix/20-once: 1 runs after its milestone, with no new change"),
        "{said}"
    );
    assert_eq!(
        h.milestones()
            .iter()
            .filter(|m| m.1.contains("branch: fix/20-once"))
            .count(),
        1
    );
    let said = env.ok(&h.me, ["status", "--branches"]);
    assert!(!said.contains("fix/20-once"), "{said}");
}

#[test]
fn an_abandoned_branch_is_discarded_by_hand_and_its_runs_stay_in_the_log() {
    let env = Env::new();
    let h = Host::new(&env);
    h.work("feat/21-dead", "dead");
    env.git(&h.me, &["switch", "-q", "main"]);
    let said = env.ok(&h.me, ["close", "--discard", "feat/21-dead"]);
    assert!(
        said.contains("feat/21-dead: 3 runs left out of any milestone"),
        "{said}"
    );
    assert!(h.milestones().is_empty());
    let said = env.ok(&h.me, ["status", "--branches"]);
    assert!(!said.contains("feat/21-dead"), "{said}");
    let log = env.ok(&h.me, ["log", "--branch", "feat/21-dead", "--json"]);
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(
        log.lines().all(|l| l.contains("\"milestone\":null")),
        "{log}"
    );
    // Nothing left: a second discard says so in one sentence, exit 1.
    let out = env.mt(&h.me, ["close", "--discard", "feat/21-dead"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("nothing recorded on feat/21-dead is waiting"),
        "{}",
        err(&out)
    );
}

#[test]
fn two_people_closing_at_once_merge_the_generated_log_cleanly() {
    let env = Env::new();
    let h = Host::new(&env);
    // A second developer's clone, with mt's hooks too.
    let other = env.path("other");
    let origin = env.path("origin.git");
    env.git(
        env.dir.path(),
        &["clone", "-q", origin.to_str().unwrap(), "other"],
    );
    env.ok(&other, ["init", "git"]);
    h.work("fix/30-mine", "mine");
    let theirs = Host {
        env: &env,
        me: other.clone(),
        host: h.host.clone(),
    };
    theirs.work("fix/31-theirs", "theirs");
    h.merge("fix/30-mine", "squash", "Mine (#30)");
    h.merge("fix/31-theirs", "squash", "Theirs (#31)");
    // Both pull at once (each hook writes its own milestone and the log)
    // and commit; the first pushes.
    pull_commit_and_merge(&h, &other);
    let log = fs::read_to_string(other.join("milestones/MILESTONE_LOG.md")).unwrap();
    assert!(
        log.contains("| Mine |") && log.contains("| Theirs |"),
        "{log}"
    );
    assert!(!log.contains("<<<<<<<"), "{log}");
}

#[test]
fn an_unknown_default_branch_is_a_doctor_failure_naming_the_fix() {
    let env = Env::new();
    let repo = env.repo("develop-only");
    env.git(&repo, &["branch", "-m", "develop"]);
    let out = env.mt(&repo, ["doctor"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("git remote set-head origin --auto"), "{said}");
    // mt close says the same and writes no draft for develop.
    let out = env.mt(&repo, ["close"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("default branch"), "{}", err(&out));
    assert!(!repo.join("milestones").exists());
    // Naming it in the config fixes both.
    fs::create_dir_all(env.mt_home.join("config")).unwrap();
    fs::write(
        env.mt_home.join("config/config.toml"),
        "default_branch = \"develop\"\n",
    )
    .unwrap();
    let said = text(&env.mt(&repo, ["doctor"]));
    assert!(said.contains("default branch: develop"), "{said}");
}

#[test]
fn a_branch_recreated_under_an_old_name_starts_a_new_span() {
    let env = Env::new();
    let h = Host::new(&env);
    // The first fix/40 is worked on, then deleted unmerged.
    h.work("fix/40-again", "first");
    env.git(&h.me, &["switch", "-q", "main"]);
    env.git(&h.me, &["branch", "-q", "-D", "fix/40-again"]);
    env.git(&h.me, &["push", "-q", "origin", "--delete", "fix/40-again"]);
    env.git(&h.me, &["fetch", "-q", "--prune"]);
    // Listed as abandoned meanwhile.
    let said = env.ok(&h.me, ["status", "--branches"]);
    assert!(
        said.contains("fix/40-again") && said.contains("abandoned"),
        "{said}"
    );
    // Its name is used again, after the reflog's second has turned, for new
    // work that is merged.
    let created = wait_for_next_second();
    let me = &h.me;
    h.stack("fix/40-again", "HEAD", "second");
    assert!(created < std::time::SystemTime::now());
    h.merge("fix/40-again", "squash", "Second try (#41)");
    env.git(me, &["switch", "-q", "main"]);
    h.git(me, &["pull", "-q", "--ff-only"]);
    // One milestone, of the second branch's one run, not the first's three.
    let front = h.front("fix/40-again");
    assert_eq!(front["pr_number"], "#41");
    assert_eq!(front["mt"]["runs_automated"], 1, "{front}");
    let said = env.ok(me, ["status", "--branches"]);
    assert!(!said.contains("fix/40-again"), "{said}");
}

/// The reflog keeps whole seconds: wait until the clock's second changes.
fn wait_for_next_second() -> std::time::SystemTime {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
    };
    let start = now().as_secs();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while now().as_secs() == start {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock stands still"
        );
        std::thread::yield_now();
    }
    std::time::SystemTime::now()
}

#[test]
fn an_abandoned_branch_is_dropped_after_the_configured_days() {
    let env = Env::new();
    let h = Host::new(&env);
    fs::create_dir_all(env.mt_home.join("config")).unwrap();
    fs::write(
        env.mt_home.join("config/config.toml"),
        "discard_abandoned_days = 0\n",
    )
    .unwrap();
    h.work("feat/50-gone", "gone");
    h.work("feat/51-alive", "alive");
    env.git(&h.me, &["switch", "-q", "main"]);
    env.git(&h.me, &["branch", "-q", "-D", "feat/50-gone"]);
    env.git(&h.me, &["push", "-q", "origin", "--delete", "feat/50-gone"]);
    env.git(&h.me, &["fetch", "-q", "--prune"]);
    let said = env.ok(&h.me, ["close"]);
    assert!(said.contains("feat/50-gone: abandoned"), "{said}");
    assert!(said.contains("feat/51-alive (3 runs)"), "{said}");
    assert!(h.milestones().is_empty());
    let said = env.ok(&h.me, ["status", "--branches"]);
    assert!(
        !said.contains("feat/50-gone") && said.contains("feat/51-alive"),
        "{said}"
    );
}

#[test]
fn a_removed_worktree_keeps_its_span_listed_and_closable() {
    let env = Env::new();
    let h = Host::new(&env);
    let tree = h.worktree("tree", "feat/60-wt");
    // Stored before the removal, as a running daemon stores it at once.
    env.ok(&h.me, ["log", "--limit", "1"]);
    env.git(&h.me, &["worktree", "remove", tree.to_str().unwrap()]);
    let said = env.ok(&h.me, ["status", "--branches"]);
    assert!(said.contains("feat/60-wt"), "{said}");
    h.merge(
        "feat/60-wt",
        "merge",
        "Merge pull request #60 from a/feat/60-wt\n\nWorktree",
    );
    h.git(&h.me, &["pull", "-q", "--ff-only"]);
    let front = h.front("feat/60-wt");
    assert_eq!(front["pr_number"], "#60");
    assert_eq!(front["title"], "Worktree");
}

#[test]
fn a_stacked_branch_retargeted_after_its_parent_was_squashed_is_found() {
    let env = Env::new();
    let h = Host::new(&env);
    h.work("feat/70-base", "base");
    // The second branch stacks on the first, without a rebase later.
    let me = &h.me;
    h.stack("feat/71-top", "feat/70-base", "top");
    h.merge("feat/70-base", "squash", "Base (#70)");
    // Retargeted to main on the host and squashed: its squash holds only
    // what main lacked.
    h.merge("feat/71-top", "squash", "Top (#71)");
    env.git(me, &["switch", "-q", "main"]);
    h.git(me, &["pull", "-q", "--ff-only"]);
    assert_eq!(h.front("feat/70-base")["pr_number"], "#70");
    assert_eq!(h.front("feat/71-top")["pr_number"], "#71");
    assert_eq!(h.front("feat/71-top")["title"], "Top");
}

#[test]
fn a_git_flow_release_merge_keeps_the_feature_pull_request() {
    let env = Env::new();
    let h = Host::new(&env);
    let host = &h.host;
    // develop, where features are merged by pull request.
    env.git(host, &["switch", "-q", "-c", "develop"]);
    env.git(host, &["push", "-q", "origin", "develop"]);
    h.work("feature/80-flow", "flow");
    env.git(host, &["fetch", "-q", "origin"]);
    env.git(host, &["switch", "-q", "develop"]);
    env.git(
        host,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge pull request #80 from a/feature/80-flow\n\nThe flow feature",
            "origin/feature/80-flow",
        ],
    );
    // A release branch from develop, merged into main.
    env.git(host, &["switch", "-q", "-c", "release/1.0"]);
    fs::write(host.join("VERSION"), "1.0\n").unwrap();
    env.git(host, &["add", "VERSION"]);
    env.git(host, &["commit", "-q", "-m", "Bump version to 1.0"]);
    env.git(host, &["switch", "-q", "main"]);
    env.git(
        host,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge branch 'release/1.0'",
            "release/1.0",
        ],
    );
    env.git(host, &["push", "-q", "origin", "main", "develop"]);
    env.git(&h.me, &["switch", "-q", "main"]);
    h.git(&h.me, &["pull", "-q", "--ff-only"]);
    let front = h.front("feature/80-flow");
    assert_eq!(front["pr_number"], "#80");
    assert_eq!(front["title"], "The flow feature");
}

#[test]
fn a_git_that_hangs_never_holds_up_a_pull() {
    let env = Env::new();
    let h = Host::new(&env);
    let (me, host) = (&h.me, &h.host);
    // A file of ten lines on main; the branch changes line 2, main line 9.
    let lines: Vec<String> = (1..=10).map(|i| format!("line {i}")).collect();
    fs::write(host.join("slow"), lines.join("\n") + "\n").unwrap();
    env.git(host, &["add", "slow"]);
    env.git(host, &["commit", "-q", "-m", "ten lines"]);
    env.git(host, &["push", "-q", "origin", "main"]);
    env.git(me, &["pull", "-q", "--ff-only"]);
    env.git(me, &["switch", "-q", "-c", "fix/90-slow"]);
    env.ok(me, ["exec", "true"]);
    let mut ours = lines.clone();
    ours[1] = "line 2, fixed".into();
    fs::write(me.join("slow"), ours.join("\n") + "\n").unwrap();
    env.git(me, &["commit", "-q", "-am", "fix line 2"]);
    env.git(me, &["push", "-q", "origin", "fix/90-slow"]);
    let mut theirs = lines.clone();
    theirs[8] = "line 9, changed on main".into();
    fs::write(host.join("slow"), theirs.join("\n") + "\n").unwrap();
    env.git(host, &["commit", "-q", "-am", "main moves"]);
    env.git(host, &["push", "-q", "origin", "main"]);
    h.merge("fix/90-slow", "squash", "Slow (#90)");
    env.git(me, &["switch", "-q", "main"]);
    // A merge driver that stops answering (a team's lockfile driver gone
    // wrong): every content merge git does of this file, mt's included.
    let attributes = me.join(".git/info/attributes");
    fs::create_dir_all(attributes.parent().unwrap()).unwrap();
    fs::write(&attributes, "slow merge=stuck\n").unwrap();
    env.git(me, &["config", "merge.stuck.driver", "sleep 6"]);
    let started = std::time::Instant::now();
    let out = h.git(me, &["pull", "-q", "--ff-only"]);
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(5),
        "the pull took {took:?}"
    );
    assert!(
        err(&out).contains("mt: no milestone written: git took longer than the hook's 2 s"),
        "{}",
        err(&out)
    );
    assert!(h.milestones().is_empty());
    // The next `mt close`, once the driver answers, does the work.
    env.git(me, &["config", "--unset", "merge.stuck.driver"]);
    fs::remove_file(&attributes).unwrap();
    let said = env.ok(me, ["close"]);
    assert!(said.contains("fix/90-slow"), "{said}");
    assert_eq!(h.front("fix/90-slow")["pr_number"], "#90");
}

#[test]
fn a_branch_renamed_before_its_merge_is_one_milestone() {
    let env = Env::new();
    let h = Host::new(&env);
    let me = &h.me;
    env.git(me, &["switch", "-q", "-c", "feat/a1"]);
    env.ok(me, ["exec", "true"]);
    fs::write(me.join("a1"), "a1\n").unwrap();
    env.git(me, &["add", "a1"]);
    env.git(me, &["commit", "-q", "-m", "first name"]);
    env.git(me, &["branch", "-m", "feat/a2-renamed"]);
    // Not deleted: listed as renamed, never as abandoned.
    let said = env.ok(me, ["status", "--branches"]);
    assert!(
        said.contains("renamed to feat/a2-renamed") && !said.contains("abandoned"),
        "{said}"
    );
    env.ok(me, ["exec", "true"]);
    fs::write(me.join("a2"), "a2\n").unwrap();
    env.git(me, &["add", "a2"]);
    env.git(me, &["commit", "-q", "-m", "second name"]);
    env.git(me, &["push", "-q", "origin", "feat/a2-renamed"]);
    h.merge(
        "feat/a2-renamed",
        "merge",
        "Merge pull request #2 from a/feat/a2-renamed\n\nRenamed",
    );
    env.git(me, &["switch", "-q", "main"]);
    h.git(me, &["pull", "-q", "--ff-only"]);
    let all = h.milestones();
    assert_eq!(
        all.len(),
        1,
        "{:?}",
        all.iter().map(|m| &m.0).collect::<Vec<_>>()
    );
    let front = h.front("feat/a2-renamed");
    assert_eq!(front["pr_number"], "#2");
    assert_eq!(
        front["mt"]["runs_automated"], 2,
        "both names' runs, once each"
    );
    let said = env.ok(me, ["status", "--branches"]);
    assert!(!said.contains("feat/a"), "{said}");
}

#[test]
fn a_branch_that_only_commits_milestones_is_no_work_of_its_own() {
    let env = Env::new();
    let h = Host::new(&env);
    h.work("fix/3-real", "real");
    h.merge("fix/3-real", "squash", "Real (#3)");
    let me = &h.me;
    env.git(me, &["switch", "-q", "main"]);
    h.git(me, &["pull", "-q", "--ff-only"]);
    // main is protected: the milestone goes in through a pull request.
    env.git(me, &["switch", "-q", "-c", "chore/milestones"]);
    env.ok(me, ["exec", "git", "add", "milestones"]);
    env.ok(me, ["exec", "git", "commit", "-q", "-m", "Add milestones"]);
    env.git(me, &["push", "-q", "origin", "chore/milestones"]);
    h.merge(
        "chore/milestones",
        "merge",
        "Merge pull request #4 from a/chore/milestones\n\nAdd milestones",
    );
    env.git(me, &["switch", "-q", "main"]);
    h.git(me, &["pull", "-q", "--ff-only"]);
    let all = h.milestones();
    assert_eq!(
        all.len(),
        1,
        "{:?}",
        all.iter().map(|m| &m.0).collect::<Vec<_>>()
    );
}

#[test]
fn a_request_merged_into_its_base_keeps_its_own_number() {
    let env = Env::new();
    let h = Host::new(&env);
    h.work("feat/5-base", "base");
    let me = &h.me;
    h.stack("feat/6-stacked", "feat/5-base", "stacked");
    // The host merges the stacked request into its base, then the base's.
    let host = &h.host;
    env.git(host, &["fetch", "-q", "origin"]);
    env.git(
        host,
        &["switch", "-q", "-c", "feat/5-base", "origin/feat/5-base"],
    );
    env.git(
        host,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge pull request #6 from a/feat/6-stacked\n\nStacked title",
            "origin/feat/6-stacked",
        ],
    );
    env.git(host, &["push", "-q", "origin", "feat/5-base"]);
    env.git(host, &["switch", "-q", "main"]);
    h.merge(
        "feat/5-base",
        "merge",
        "Merge pull request #5 from a/feat/5-base\n\nBase title",
    );
    env.git(me, &["switch", "-q", "main"]);
    h.git(me, &["pull", "-q", "--ff-only"]);
    assert_eq!(h.front("feat/5-base")["pr_number"], "#5");
    assert_eq!(h.front("feat/6-stacked")["pr_number"], "#6");
    assert_eq!(h.front("feat/6-stacked")["title"], "Stacked title");
}

#[test]
fn two_people_with_the_same_branch_name_on_the_same_day_do_not_conflict() {
    let env = Env::new();
    let h = Host::new(&env);
    let other = env.path("other");
    let origin = env.path("origin.git");
    env.git(
        env.dir.path(),
        &["clone", "-q", origin.to_str().unwrap(), "other"],
    );
    env.ok(&other, ["init", "git"]);
    h.work("fix/typo", "mine");
    h.merge("fix/typo", "squash", "Typo one (#1)");
    let theirs = Host {
        env: &env,
        me: other.clone(),
        host: h.host.clone(),
    };
    // Their own fix/typo, pushed under another name on the shared origin.
    env.git(&other, &["switch", "-q", "main"]);
    env.git(&other, &["pull", "-q", "--ff-only"]);
    env.git(&other, &["switch", "-q", "-c", "fix/typo"]);
    env.ok(&other, ["exec", "true"]);
    fs::write(other.join("theirs"), "theirs\n").unwrap();
    env.git(&other, &["add", "theirs"]);
    env.git(&other, &["commit", "-q", "-m", "their typo"]);
    env.git(&other, &["push", "-q", "origin", "fix/typo:fix/typo-2"]);
    theirs.merge("fix/typo-2", "squash", "Typo two (#2)");
    pull_commit_and_merge(&h, &other);
    let names: Vec<String> = theirs
        .milestones()
        .iter()
        .map(|m| m.0.display().to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with("-typo-pr1.md")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.ends_with("-typo-pr2.md")),
        "{names:?}"
    );
}

/// Both clones pull (each hook writes its own milestones and the log) and
/// commit them; the first pushes, and the second's pull merges both closes
/// without a conflict.
fn pull_commit_and_merge(h: &Host, other: &Path) {
    let env = h.env;
    for dir in [&h.me, &other.to_path_buf()] {
        env.git(dir, &["switch", "-q", "main"]);
        h.git(dir, &["pull", "-q", "--no-rebase"]);
        env.git(dir, &["add", "milestones"]);
        env.git(dir, &["commit", "-q", "-m", "milestones"]);
    }
    env.git(&h.me, &["push", "-q", "origin", "main"]);
    let mut git = Command::new("git");
    let out = env
        .apply(&mut git)
        .current_dir(other)
        .args(["pull", "-q", "--no-rebase", "--no-edit"])
        .output()
        .unwrap();
    let said = format!("{}{}", text(&out), err(&out));
    assert!(out.status.success() && !said.contains("CONFLICT"), "{said}");
}

/// A pull request's title is text in the milestone and the log: no image,
/// no link, no broken table, no direction change; and the committed file
/// names no path of this machine.
#[test]
fn a_hostile_pull_request_title_is_text_in_the_milestone() {
    let env = Env::new();
    let h = Host::new(&env);
    h.work("fix/95-title", "title");
    let title = "<img src=x onerror=alert(1)> [x](https://evil.example) | a\u{202e}b";
    // A tool name is text from elsewhere too (a CI config, a script).
    env.git(&h.me, &["switch", "-q", "fix/95-title"]);
    env.ok(&h.me, ["exec", "--tool", title, "true"]);
    h.merge(
        "fix/95-title",
        "merge",
        &format!("Merge pull request #95 from a/fix/95-title\n\n{title}"),
    );
    env.git(&h.me, &["switch", "-q", "main"]);
    h.git(&h.me, &["pull", "-q", "--ff-only"]);
    let (_, text) = h.milestones().into_iter().next().unwrap();
    let raw: Vec<&str> = text.lines().filter(|l| l.contains('\u{202e}')).collect();
    assert!(raw.is_empty(), "a raw bidi override: {raw:#?}");
    let heading = text.lines().find(|l| l.starts_with("# ")).unwrap();
    assert!(
        heading.contains("\\<img src=x onerror=alert\\(1\\)\\>")
            && heading.contains("\\[x\\]\\(https\\://evil.example\\)")
            && heading.contains("\\|"),
        "{heading}"
    );
    let log = fs::read_to_string(h.me.join("milestones/MILESTONE_LOG.md")).unwrap();
    assert!(
        log.contains("\\<img") && !log.replace("\\<img", "").contains("<img"),
        "{log}"
    );
    assert!(!log.contains("](https://evil"), "{log}");
    let front = h.front("fix/95-title");
    let repo = front["mt"]["repo"].as_str().unwrap();
    assert!(
        !repo.starts_with('/'),
        "an absolute path in a committed file: {repo}"
    );
    // As GitHub renders them (GFM: tables, autolinks, the tag filter). The
    // front matter GitHub shows as a table of plain text, not markdown.
    env.ok(&h.me, ["report", "month"]);
    let month = fs::read_dir(h.me.join("milestones"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("monthly-summary.md"))
        .find(|p| p.exists())
        .unwrap();
    let month = fs::read_to_string(month).unwrap();
    assert!(
        month.contains("\\<img") && !month.contains('\u{202e}'),
        "{month}"
    );
    if crate::harness::available(&["cmark-gfm"]) {
        let body = text.splitn(3, "---\n").nth(2).unwrap();
        for file in [body, log.as_str(), month.as_str()] {
            let html = render_gfm(&env, file);
            // mt's own links go to files beside the log; none goes out.
            assert!(
                !html.contains("<img") && !html.contains("href=\"http"),
                "{html}"
            );
            assert_tables_whole(&html);
        }
    }
}

/// `markdown` rendered by cmark-gfm with GitHub's extensions, within 30 s;
/// the input is written from a thread of its own while the output is read,
/// so neither pipe can fill and stall the other.
fn render_gfm(env: &Env, markdown: &str) -> String {
    use std::io::Write;
    let mut cmd = Command::new("timeout");
    env.apply(&mut cmd).args(["30", "cmark-gfm"]);
    cmd.args(["--extension", "table", "--extension", "autolink"]);
    cmd.args(["--extension", "tagfilter", "--extension", "strikethrough"]);
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = markdown.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "cmark-gfm: {:?}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

/// Every row of every rendered table has as many cells as its header.
fn assert_tables_whole(html: &str) {
    for table in html.split("<table>").skip(1) {
        let table = table.split("</table>").next().unwrap();
        let rows: Vec<usize> = table
            .split("<tr>")
            .skip(1)
            .map(|r| r.matches("<th").count() + r.matches("<td").count())
            .collect();
        assert!(
            rows.iter().all(|&n| n == rows[0]),
            "a broken table: {rows:?}\n{table}"
        );
    }
}
