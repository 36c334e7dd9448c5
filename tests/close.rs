//! `mt close` end to end in real repositories: runs through `mt exec` and
//! the shell hook, a merge, the milestone file and its figures.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::{Env, Group, err, text, wait_for};

/// The milestone files under `milestones/` (the generated index aside).
pub(crate) fn milestone_files(repo: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![repo.join("milestones")];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if !p.ends_with("milestones/MILESTONE_LOG.md")
                && !p.ends_with("milestones/.gitattributes")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The front matter and mt's figures, parsed by a YAML parser on its own.
fn front(path: &Path) -> Value {
    crate::harness::milestone_value(&fs::read_to_string(path).unwrap())
}

#[test]
fn a_merged_branch_becomes_a_measured_milestone() {
    crate::require!("tmux");
    let env = Env::new();
    let repo = env.repo("app");
    env.git(&repo, &["switch", "-q", "-c", "fix/1234-coverage-masking"]);
    // Manual runs, typed at a bash prompt with the hook.
    let t = crate::term::bash(&env, &repo, "eval \"$(mt init bash)\"");
    t.run("git log --oneline", 1);
    t.run("grep -r nothing . ; true", 2);
    t.run("cargo test --no-such-flag 2>/dev/null", 3);
    drop(t);
    // Automated runs.
    fs::write(repo.join("a.txt"), "a\nb\n").unwrap();
    env.ok(&repo, ["exec", "git", "add", "a.txt"]);
    env.ok(&repo, ["exec", "git", "commit", "-q", "-m", "fix"]);
    let failed = env.mt(
        &repo,
        [
            "exec",
            "--phase",
            "validation",
            "--tool",
            "QC Pre-Push",
            "sh",
            "-c",
            "exit 1",
        ],
    );
    assert_eq!(failed.status.code(), Some(1));
    env.ok(
        &repo,
        [
            "exec",
            "--phase",
            "validation",
            "--tool",
            "QC Pre-Push",
            "true",
        ],
    );
    env.git(&repo, &["switch", "-q", "main"]);
    env.git(
        &repo,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "merge",
            "fix/1234-coverage-masking",
        ],
    );

    let out = env.mt(&repo, ["close", "--baseline", "validation=10m"]);
    assert!(out.status.success(), "{}", err(&out));
    let files = milestone_files(&repo);
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_str().unwrap();
    assert!(name.ends_with("-bug-coverage-masking.md"), "{name}");
    // A reader meets the title within the first 15 lines, and mt's
    // figures only at the end, collapsed.
    let whole = fs::read_to_string(&files[0]).unwrap();
    let head: Vec<&str> = whole.lines().take(15).collect();
    assert!(
        head.iter().any(|l| l.starts_with("# Coverage masking")),
        "{head:?}"
    );
    assert!(!whole.lines().take(15).any(|l| l.starts_with("mt:")));
    assert!(whole.trim_end().ends_with("</details>"));
    assert!(
        text(&out).starts_with(&format!("milestones/{}/{name}", &name[..7])),
        "{}",
        text(&out)
    );
    let f = front(&files[0]);
    assert_eq!(f["type"], "bug");
    assert_eq!(f["issue_number"], "#1234");
    assert_eq!(f["complexity"], "simple");
    let m = &f["mt"];
    assert_eq!(m["branch"], "fix/1234-coverage-masking");
    assert_eq!(
        (m["runs_automated"].as_u64(), m["runs_manual"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(
        m["errors_automated"],
        serde_json::json!({"part": 1, "whole": 4})
    );
    assert_eq!(
        m["errors_manual"]["part"], 1,
        "cargo test with a bad flag failed"
    );
    // Validation runs: cargo test (manual) and the two QC runs (automated).
    assert_eq!(
        m["validation_automated"],
        serde_json::json!({"part": 2, "whole": 3})
    );
    assert_eq!(m["complexity"]["insertions"], 2);
    assert_eq!(m["baselines"]["validation"]["kind"], "declared");
    assert_eq!(m["baselines"]["diagnosis"]["kind"], "insufficient");
    assert_eq!(m["tools"][0]["name"], "QC Pre-Push");
    let phases: u64 = ["diagnosis", "implementation", "validation", "other"]
        .iter()
        .map(|p| m["phases_ms"][p].as_u64().unwrap())
        .sum();
    assert_eq!(
        phases,
        m["active_ms"].as_u64().unwrap(),
        "phase times add up to active time"
    );
    let body = fs::read_to_string(&files[0]).unwrap();
    assert!(body.contains("- [x] QC Pre-Push: 2 runs, 1 failed"));
    assert!(
        body.contains("| **Diagnosis** |")
            && body.contains("insufficient data (n=0) | not measured |")
    );
    assert!(body.contains("`git log --oneline` | 1 | 0"), "{body}");

    // The span is closed: closing again finds nothing; new work starts anew.
    let again = env.mt(&repo, ["close", "fix/1234-coverage-masking"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        err(&again).contains("nothing was recorded on branch fix/1234-coverage-masking"),
        "{}",
        err(&again)
    );
    assert_eq!(milestone_files(&repo).len(), 1, "nothing written on error");
}

#[test]
fn dry_run_and_json_write_nothing() {
    let env = Env::new();
    let repo = env.repo("app");
    env.git(&repo, &["switch", "-q", "-c", "feat/7-login"]);
    env.ok(&repo, ["exec", "true"]);
    let out = env.ok(&repo, ["close", "--dry-run"]);
    assert!(out.starts_with("---\nmilestone_id: "), "{out}");
    assert!(out.contains("# Login - Performance Milestone"));
    let json: Value =
        serde_json::from_str(&env.ok(&repo, ["close", "--dry-run", "--json"])).unwrap();
    assert_eq!(
        (json["type"].as_str(), json["issue_number"].as_str()),
        (Some("feature"), Some("#7"))
    );
    // Numbers as the milestone writes them are taken back: `#12`.
    let flags = [
        "close",
        "--dry-run",
        "--json",
        "--issue",
        "#12",
        "--pr",
        "91",
    ];
    let json: Value = serde_json::from_str(&env.ok(&repo, flags)).unwrap();
    assert_eq!(
        (json["issue_number"].as_str(), json["pr_number"].as_str()),
        (Some("#12"), Some("#91"))
    );
    let zero = env.mt(&repo, ["close", "--dry-run", "--issue", "#0"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        err(&zero).contains("give it like 12 or #12"),
        "{}",
        err(&zero)
    );
    assert!(milestone_files(&repo).is_empty());
    // Still open: a real close finds the run.
    assert!(env.mt(&repo, ["close"]).status.success());
}

#[test]
fn clear_errors_and_nothing_written() {
    let env = Env::new();
    let out = env.mt(env.dir.path(), ["close"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).starts_with("mt: this directory is not in a git repository;"),
        "{}",
        err(&out)
    );
    let repo = env.repo("app");
    let out = env.mt(&repo, ["close", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("nothing was recorded on branch no-such-branch"));
    // Closed sets are usage errors (2) that name the allowed values.
    for (flag, bad, allowed) in [
        (
            "--type",
            "chore",
            "bug, feature, enhancement, ci-fix, security, performance",
        ),
        ("--priority", "banana", "critical, high, medium, low"),
        (
            "--complexity",
            "very; odd",
            "simple, moderate, complex, strategic",
        ),
    ] {
        let out = env.mt(&repo, ["close", flag, bad, "main"]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(err(&out).contains(allowed), "{flag}: {}", err(&out));
    }
    for (bad, says) in [
        ("diagnosis=soon", "is not a duration"),
        ("foo=2h", "is not one of"),
    ] {
        // A usage error whatever is waiting: on main, with nothing to close.
        for extra in [&["main"][..], &[][..]] {
            let mut args = vec!["close", "--baseline", bad];
            args.extend(extra);
            let out = env.mt(&repo, &args);
            assert_eq!(out.status.code(), Some(2), "{bad} {extra:?}");
            assert!(err(&out).contains(says), "{bad}: {}", err(&out));
        }
    }
    assert!(milestone_files(&repo).is_empty());
}

#[test]
fn repository_templates_and_self_baseline() {
    let env = Env::new();
    let repo = env.repo("app");
    env.ok(&repo, ["init", "milestones"]);
    let tpl = repo.join("milestones/templates/bug-milestone-template.md");
    assert!(fs::read_to_string(&tpl).unwrap().contains("{{ title }}"));
    fs::write(
        &tpl,
        "Custom: {{ title }} took {{ (timeline|last).measured }} vs {{ (timeline|last).baseline }}\n",
    )
    .unwrap();
    for i in 0..4 {
        let branch = format!("fix/{i}-thing");
        env.git(&repo, &["switch", "-q", "-c", &branch]);
        env.ok(&repo, ["exec", "sleep", "0.05"]);
        env.git(&repo, &["switch", "-q", "main"]);
        let out = env.mt(&repo, ["close", &branch]);
        assert!(out.status.success(), "{}", err(&out));
    }
    let files: Vec<PathBuf> = milestone_files(&repo)
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("templates"))
        .collect();
    assert_eq!(files.len(), 4);
    let last = files
        .iter()
        .find(|p| {
            p.to_string_lossy().contains("-3-thing")
                || p.to_string_lossy().ends_with("bug-thing-4.md")
        })
        .unwrap_or(&files[3]);
    let newest = fs::read_to_string(last).unwrap();
    let body = newest.split("\n---\n").nth(1).unwrap();
    assert!(body.contains("Custom: Thing took"), "{body}");
    assert!(
        body.contains("(median of n=3, IQR"),
        "the fourth is compared with the three before it: {body}"
    );
    // A broken template is named with its line.
    fs::write(&tpl, "fine\n{{ title }\n").unwrap();
    env.git(&repo, &["switch", "-q", "-c", "fix/9-x"]);
    env.ok(&repo, ["exec", "true"]);
    let out = env.mt(&repo, ["close"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("milestones/templates/bug-milestone-template.md:2:"),
        "{}",
        err(&out)
    );
}

#[test]
fn post_merge_hook_chains_respects_hooks_path_and_installs_once() {
    let env = Env::new();
    let repo = env.repo("app");
    let hooks = repo.join("my-hooks");
    fs::create_dir_all(&hooks).unwrap();
    env.git(&repo, &["config", "core.hooksPath", "my-hooks"]);
    fs::write(
        hooks.join("post-merge"),
        "#!/bin/sh\necho earlier-hook-ran >> \"$HOME/earlier\"\n",
    )
    .unwrap();
    fs::set_permissions(
        hooks.join("post-merge"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    assert!(
        env.ok(&repo, ["init", "git"])
            .contains("after the existing hook")
    );
    assert!(
        env.ok(&repo, ["init", "git"])
            .contains("is mt's already; kept")
    );
    env.git(&repo, &["switch", "-q", "-c", "feat/3-merge-me"]);
    env.ok(&repo, ["exec", "true"]);
    fs::write(repo.join("f"), "x").unwrap();
    env.git(&repo, &["add", "f"]);
    env.git(&repo, &["commit", "-q", "-m", "f"]);
    env.git(&repo, &["switch", "-q", "main"]);
    env.git(
        &repo,
        &["merge", "-q", "--no-ff", "-m", "merge", "feat/3-merge-me"],
    );
    assert_eq!(
        fs::read_to_string(env.home.join("earlier")).unwrap(),
        "earlier-hook-ran\n"
    );
    let files = milestone_files(&repo);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().ends_with("-feature-merge-me.md"));
    // A merge with nothing recorded still succeeds.
    env.git(&repo, &["switch", "-q", "-c", "feat/4-quiet"]);
    env.git(&repo, &["switch", "-q", "main"]);
    env.git(&repo, &["merge", "-q", "feat/4-quiet"]);
}

/// Integration Points come from the branch's diff in a real repository:
/// each tick lists its files; `.mt.toml` can replace a kind's patterns.
#[test]
fn integration_points_from_a_real_diff() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-q", "-c", "feat/9-release"]);
    for (path, text) in [
        (".github/workflows/ci.yml", "on: push\n"),
        ("docs/troubleshooting.md", "# When it breaks\n"),
        ("scripts/release.sh", "#!/bin/sh\n"),
        ("tools/gen.py", "print(1)\n"),
        ("src/main.rs", "fn main() {}\n"),
    ] {
        let p = repo.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    env.git(&repo, &["add", "."]);
    env.git(&repo, &["commit", "-q", "-m", "release tooling"]);
    env.ok(&repo, ["exec", "true"]);
    let json: Value =
        serde_json::from_str(&env.ok(&repo, ["close", "--dry-run", "--json"])).unwrap();
    let i = &json["mt"]["integration"];
    assert_eq!(i["measured"], true);
    assert_eq!(i["ci"], serde_json::json!([".github/workflows/ci.yml"]));
    assert_eq!(i["docs"], serde_json::json!(["docs/troubleshooting.md"]));
    assert_eq!(i["scripts"], serde_json::json!(["scripts/release.sh"]));
    assert_eq!(i["quality_gates"], serde_json::json!([]));
    let text = env.ok(&repo, ["close", "--dry-run"]);
    for line in [
        "- [x] CI/CD pipeline improvements: `.github/workflows/ci.yml`",
        "- [x] Script enhancements: `scripts/release.sh`",
        "- [ ] Quality gate additions",
        "- [x] Troubleshooting guide updated: `docs/troubleshooting.md`",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    fs::write(
        repo.join(".mt.toml"),
        "[integration]\nscripts = [\"tools/**\"]\n",
    )
    .unwrap();
    let json: Value =
        serde_json::from_str(&env.ok(&repo, ["close", "--dry-run", "--json"])).unwrap();
    assert_eq!(
        json["mt"]["integration"]["scripts"],
        serde_json::json!(["tools/gen.py"])
    );
}

/// Closing a span files the runs that had ended and keeps one still going
/// for the next span; `mt log` names each run's milestone, and a second
/// close files the kept run once it has ended.
#[test]
fn a_run_going_at_the_close_goes_to_the_next_span() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-q", "-c", "feat/7-keep"]);
    env.ok(&repo, ["exec", "true"]);
    assert_eq!(env.mt(&repo, ["exec", "false"]).status.code(), Some(1));
    let flag = env.path("flag");
    let wait = "while [ ! -e \"$1\" ]; do sleep 0.01; done";
    let flag_arg = flag.to_str().unwrap();
    let mut long = Group::spawn(&mut env.mt_cmd(&repo, ["exec", "sh", "-c", wait, "sh", flag_arg]));
    let is_long = |e: &Value| e["command"].as_str().is_some_and(|c| c.contains("while"));
    wait_for("the long run recorded as running", || {
        (env.log()
            .iter()
            .any(|e| is_long(e) && e["state"] == "running"))
        .then_some(())
    });
    // Recorded after the long run started: the filing reaches past it.
    env.ok(&repo, ["exec", "true"]);
    env.ok(&repo, ["close", "feat/7-keep"]);
    let first = front(&milestone_files(&repo)[0]);
    assert_eq!(first["mt"]["runs_automated"], 3, "the three ended runs");

    fs::write(&flag, "").unwrap();
    assert!(long.0.wait().unwrap().success());
    let milestone = |log: &[Value], long: bool| -> Vec<Value> {
        (log.iter().filter(|e| is_long(e) == long))
            .map(|e| e["milestone"].clone())
            .collect()
    };
    let log = wait_for("the long run's end", || {
        let log = env.log();
        (log.iter().any(|e| is_long(e) && e["state"] == "done")).then_some(log)
    });
    let id = first["milestone_id"].clone();
    assert_eq!(milestone(&log, false), vec![id.clone(); 3]);
    assert_eq!(milestone(&log, true), vec![Value::Null], "kept open");
    let status = env.ok(&repo, ["status"]);
    assert!(status.contains("1 run (1 by a program"), "{status}");

    env.ok(&repo, ["close", "feat/7-keep"]);
    let files = milestone_files(&repo);
    assert_eq!(files.len(), 2);
    let second = files
        .iter()
        .map(|f| front(f))
        .find(|f| f["milestone_id"] != id);
    let second = second.expect("a second milestone");
    assert_eq!(second["mt"]["runs_automated"], 1);
    assert_eq!(
        milestone(&env.log(), true),
        vec![second["milestone_id"].clone()]
    );
    assert_eq!(milestone(&env.log(), false), vec![id; 3]);
}

/// Work recorded in a repository without mt's git hooks is pointed out
/// once, by `mt status`, with the command that fixes it.
#[test]
fn a_repository_without_hooks_is_pointed_out_once() {
    let env = Env::new();
    let repo = env.repo("app");
    env.ok(&repo, ["exec", "true"]);
    let first = env.mt(&repo, ["status"]);
    assert!(
        err(&first).contains("`mt init git` installs the hooks"),
        "{}",
        err(&first)
    );
    let second = env.mt(&repo, ["status"]);
    assert!(!err(&second).contains("mt init git"), "{}", err(&second));
    // With the hooks, nothing to say.
    let env = Env::new();
    let repo = env.repo("app");
    env.ok(&repo, ["init", "git"]);
    env.ok(&repo, ["exec", "true"]);
    assert!(!err(&env.mt(&repo, ["status"])).contains("mt init git"));
}

/// What leaves the machine shows commands as shapes: a value typed in any
/// form — an option's value, a URL's query, a `sh -c` script, a word no
/// rule knows — reaches neither the milestone nor the generated log.
#[test]
fn a_milestone_shows_command_shapes_never_their_values() {
    let env = Env::new();
    let repo = env.repo("app");
    env.git(&repo, &["switch", "-q", "-c", "fix/5-shapes"]);
    let secret = "Zq8xK2mP9vR4tW7yLooksLikeNothing";
    for args in [
        vec!["exec", "true", "--api-key", secret],
        vec![
            "exec",
            "true",
            &format!("https://api.example.com/?api_key={secret}"),
        ],
        vec!["exec", "sh", "-c", &format!("echo {secret} > /dev/null")],
        vec!["exec", "true", secret],
    ] {
        env.ok(&repo, args);
    }
    env.git(&repo, &["switch", "-q", "main"]);
    env.ok(&repo, ["close", "fix/5-shapes"]);
    let files = milestone_files(&repo);
    assert_eq!(files.len(), 1);
    let text = fs::read_to_string(&files[0]).unwrap();
    assert!(!text.contains("Zq8x"), "{text}");
    assert!(
        text.contains("`true --api-key …`") && text.contains("`sh -c …`"),
        "{text}"
    );
    let log = fs::read_to_string(repo.join("milestones/MILESTONE_LOG.md")).unwrap();
    assert!(!log.contains("Zq8x"));
    // The local store keeps the exact text, to the user alone.
    assert!(
        env.log()
            .iter()
            .any(|e| e["command"].as_str().unwrap().contains("sh -c"))
    );
}

/// `mt doctor` and `mt close` accept and reject the same configuration
/// files: each bad one below fails both, naming its file, line and key; a
/// good one passes
/// both.
#[test]
fn doctor_and_close_agree_on_every_config() {
    // (the file, what the error must name, the line it must name)
    let bad = [
        (
            "[edit_phases]\n\"tests/**\" = \"testing\"\n",
            "edit_phases",
            2,
        ),
        ("[edit_phases]\n\"[x\" = \"validation\"\n", "[x", 2),
        (
            "[baselines]\nvalidation = \"2 hours\"\n",
            "baselines.validation",
            2,
        ),
        ("[baselines]\ntesting = \"2h\"\n", "baselines.testing", 2),
        ("[integration]\nci = [\"[bad\"]\n", "integration.ci", 2),
        ("watch_ignore = [\"docs/[x\"]\n", "watch_ignore", 1),
        // Where toml points at the opening, the entry's own line.
        (
            "ignore = []\nbaselines.diagnosis = \"1h\"\nbaselines.validation = \"2 hours\"\n",
            "baselines.validation",
            3,
        ),
        ("ignore = [\n  \"ok\",\n  \"(bad\",\n]\n", "ignore", 3),
        // Values mt cannot use, refused rather than a panic or a default.
        ("idle_timeout_minutes = 1e300\n", "idle_timeout_minutes", 1),
        ("idle_timeout_minutes = nan\n", "idle_timeout_minutes", 1),
        (
            "discard_abandoned_days = 1000000000\n",
            "discard_abandoned_days",
            1,
        ),
        ("default_branch = \"\"\n", "default_branch", 1),
        (
            "[baselines]\nvalidation = \"0s\"\n",
            "baselines.validation",
            2,
        ),
        ("[[rules]]\nmatch = '('\nphase = 'validation'\n", "(", 2),
        (
            "[[rules]]\nmatch = 'x'\nphase = 'testing'\n",
            "rules.phase",
            3,
        ),
        ("redact = ['(']\n", "(", 1),
        (
            "idle_timeout_minutes = \"soon\"\n",
            "idle_timeout_minutes",
            1,
        ),
    ];
    for (text, key, line_no) in bad {
        let env = Env::new();
        let repo = env.repo("r");
        env.git(&repo, &["switch", "-qc", "feat/1-config"]);
        env.ok(&repo, ["exec", "true"]);
        fs::write(repo.join(".mt.toml"), text).unwrap();
        let doctor = crate::harness::text(&env.mt(&repo, ["doctor"]));
        let line = doctor
            .lines()
            .find(|l| l.contains(".mt.toml:"))
            .unwrap_or_default();
        let at = format!(".mt.toml:{line_no}: ");
        assert!(
            line.starts_with("FAIL") && line.contains(key) && line.contains(&at),
            "doctor on {text:?}:\n{doctor}"
        );
        let close = env.mt(&repo, ["close", "--dry-run"]);
        let err = crate::harness::err(&close);
        assert!(!close.status.success(), "close accepted {text:?}");
        assert!(
            err.contains(key) && err.contains(&at),
            "close on {text:?}: {err}"
        );
    }
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-qc", "feat/1-config"]);
    env.ok(&repo, ["exec", "true"]);
    let good =
        "[edit_phases]\n\"tests/**\" = \"validation\"\n[baselines]\nvalidation = \"1h30m\"\n";
    fs::write(repo.join(".mt.toml"), good).unwrap();
    let doctor = crate::harness::text(&env.mt(&repo, ["doctor"]));
    assert!(doctor.contains(".mt.toml is valid"), "{doctor}");
    assert!(env.mt(&repo, ["close", "--dry-run"]).status.success());
}

/// `mt log --json` classifies a command not yet in a milestone with the
/// rules `mt close` uses: the repository's `.mt.toml` over the user's file.
#[test]
fn log_classifies_with_the_repositorys_rules_as_close_does() {
    let env = Env::new();
    let repo = env.repo("r");
    env.git(&repo, &["switch", "-qc", "feat/1-rules"]);
    fs::write(
        repo.join(".mt.toml"),
        "[[rules]]\nmatch = '^true$'\nphase = 'validation'\ntool = 'Team check'\n",
    )
    .unwrap();
    env.ok(&repo, ["exec", "true"]);
    let logged = env.log();
    let run = logged.iter().find(|e| e["command"] == "true").unwrap();
    assert_eq!(
        (run["phase"].as_str(), run["tool"].as_str()),
        (Some("validation"), Some("Team check")),
        "{run}"
    );
    let draft = env.ok(&repo, ["close", "--dry-run"]);
    assert!(draft.contains("Team check"), "{draft}");
    // Outside the repository the built-in rules hold.
    env.ok(env.dir.path(), ["exec", "true"]);
    let outside = env.log();
    let plain = outside
        .iter()
        .find(|e| e["command"] == "true" && e["repo"].is_null());
    assert_eq!(plain.unwrap()["phase"], "other");
}

/// A configured default branch that names no branch is said to be the
/// fault, by `mt close` and `mt doctor` alike.
#[test]
fn a_default_branch_that_names_no_branch_is_named() {
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&repo, ["exec", "true"]);
    fs::write(repo.join(".mt.toml"), "default_branch = 'nosuch'\n").unwrap();
    let close = env.mt(&repo, ["close"]);
    assert!(!close.status.success());
    let want = "default_branch = \"nosuch\" names no branch of this repository";
    assert!(err(&close).contains(want), "{}", err(&close));
    let doctor = crate::harness::text(&env.mt(&repo, ["doctor"]));
    assert!(
        doctor
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains(want)),
        "{doctor}"
    );
    let log = env.mt(&repo, ["log", "--limit", "0"]);
    assert_eq!(log.status.code(), Some(2), "--limit 0 is a usage error");
}
