//! Reports from milestone files of several authors and months (one file
//! malformed), with figures known in advance; and `mt ci summary` under CI.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::harness::{Env, MT, err, text};

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn team_repo(env: &Env) -> std::path::PathBuf {
    let repo = env.repo("team");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/milestones"),
        &repo.join("milestones"),
    );
    repo
}

#[test]
fn monthly_summary_from_the_teams_milestones() {
    let env = Env::new();
    let repo = team_repo(&env);
    let out = env.mt(&repo, ["report", "month", "2026-11"]);
    assert!(out.status.success(), "{}", err(&out));
    assert!(
        err(&out).contains("skipped") && err(&out).contains("2026-11-15-broken.md"),
        "{}",
        err(&out)
    );
    let stdout = text(&out);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        &lines[..4],
        [
            "- Total issues resolved: 3",
            // (80 + 30) / (40 + 20): the two milestones with a baseline.
            "- Average resolution speed improvement: 1.8x (over 2 of 3 milestones with a baseline)",
            "- Cumulative time saved: 50m00s (over 2 of 3 milestones with a baseline)",
            // Nov pooled first-attempt 14/17, Oct 10/15.
            "- Success rate improvement: +15.7 percentage points vs 2026-10 (first-attempt success)",
        ]
    );
    let summary = fs::read_to_string(repo.join("milestones/2026-11/monthly-summary.md")).unwrap();
    insta::assert_snapshot!("monthly_summary", summary);
    // Same milestones, same bytes.
    env.ok(&repo, ["report", "month", "2026-11"]);
    assert_eq!(
        fs::read_to_string(repo.join("milestones/2026-11/monthly-summary.md")).unwrap(),
        summary
    );
    let json: Value =
        serde_json::from_str(&env.ok(&repo, ["report", "month", "2026-11", "--json"])).unwrap();
    assert_eq!(json["month"]["with_baseline"], 2);
    assert_eq!(
        json["month"]["by_type"],
        serde_json::json!({"bug": 1, "enhancement": 1, "feature": 1})
    );
    // A month with nothing: says so, invents nothing.
    let out = env.ok(&repo, ["report", "month", "2026-08"]);
    assert!(
        out.contains("Total issues resolved: 0") && out.contains("speed improvement: not measured"),
        "{out}"
    );
    assert_eq!(
        env.mt(&repo, ["report", "month", "November"]).status.code(),
        Some(2)
    );
}

/// Every mermaid block: `xychart-beta`, a title, an x-axis of N labels and
/// lines of N numbers.
fn check_mermaid(md: &str) -> usize {
    let mut blocks = 0;
    let mut rest = md;
    while let Some(start) = rest.find("```mermaid\n") {
        let body = &rest[start + 11..];
        let end = body.find("\n```").expect("mermaid block closed");
        let block: Vec<&str> = body[..end].lines().map(str::trim).collect();
        assert_eq!(block[0], "xychart-beta");
        assert!(block[1].starts_with("title \"") && block[1].ends_with('"'));
        let list = |line: &str, head: &str| -> Vec<String> {
            let inner = line
                .strip_prefix(head)
                .unwrap()
                .trim()
                .strip_prefix('[')
                .unwrap()
                .strip_suffix(']')
                .unwrap();
            inner.split(", ").map(str::to_owned).collect()
        };
        let labels = list(block[2], "x-axis");
        assert!(
            labels
                .iter()
                .all(|l| l.len() == 9 && l.starts_with('"') && l.ends_with('"')),
            "{labels:?}"
        );
        assert!(block[3].starts_with("y-axis \""));
        for line in &block[4..] {
            let values = list(line, "line");
            assert_eq!(values.len(), labels.len(), "{line}");
            assert!(values.iter().all(|v| v.parse::<f64>().is_ok()), "{line}");
        }
        blocks += 1;
        rest = &body[end..];
    }
    blocks
}

#[test]
fn dashboards_are_rendered_and_honest() {
    let env = Env::new();
    let repo = team_repo(&env);
    fs::write(repo.join(".mt.toml"), "hourly_rate = 100.0\n").unwrap();
    let out = env.mt(&repo, ["report", "dashboards"]);
    assert!(out.status.success(), "{}", err(&out));
    let dir = repo.join("milestones/dashboards");
    let trends = fs::read_to_string(dir.join("performance-trends.md")).unwrap();
    assert_eq!(check_mermaid(&trends), 4);
    let adv = fs::read_to_string(dir.join("competitive-advantages.md")).unwrap();
    assert!(adv.contains("| bug | total | 2.0x | 2 of 3 | declared, self-baseline (median of earlier milestones) |"), "{adv}");
    assert!(
        adv.contains("| enhancement | total | not measured | 0 of 1 | none |"),
        "{adv}"
    );
    let roi = fs::read_to_string(dir.join("roi-analysis.md")).unwrap();
    // Oct: 60 min saved (A only); Nov: 50 min. At 100/h.
    assert!(
        roi.contains("| 2026-10 | 1 of 2 | 1.00 | 100.00 | 1.00 | 100.00 |"),
        "{roi}"
    );
    assert!(
        roi.contains("| 2026-11 | 2 of 3 | 0.83 | 83.33 | 1.83 | 183.33 |"),
        "{roi}"
    );
    insta::assert_snapshot!("performance_trends", trends);
    insta::assert_snapshot!("competitive_advantages", adv);
    insta::assert_snapshot!("roi_analysis", roi);
    // Without a rate: the money columns say not measured.
    fs::remove_file(repo.join(".mt.toml")).unwrap();
    env.ok(&repo, ["report", "dashboards"]);
    let roi = fs::read_to_string(dir.join("roi-analysis.md")).unwrap();
    assert!(
        roi.contains("| 2026-10 | 1 of 2 | 1.00 | not measured | 1.00 | not measured |"),
        "{roi}"
    );
    // A file a person wrote is never replaced.
    fs::write(dir.join("roi-analysis.md"), "# our own notes\n").unwrap();
    let out = env.mt(&repo, ["report", "dashboards"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("was not generated by mt"),
        "{}",
        err(&out)
    );
    assert_eq!(
        fs::read_to_string(dir.join("roi-analysis.md")).unwrap(),
        "# our own notes\n"
    );
}

#[test]
fn ci_summary_without_a_daemon() {
    let env = Env::new();
    let work = env.path("ci-work");
    fs::create_dir_all(&work).unwrap();
    let summary = env.path("step-summary.md");
    let run = |args: &[&str]| {
        let mut cmd = Command::new(MT);
        env.apply(&mut cmd)
            .env("CI", "true")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .current_dir(&work)
            .args(args);
        cmd.output().unwrap()
    };
    assert!(run(&["exec", "sh", "-c", "sleep 0.1"]).status.success());
    assert_eq!(run(&["exec", "sh", "-c", "exit 2"]).status.code(), Some(2));
    assert!(run(&["exec", "true"]).status.success());
    let out = run(&["ci", "summary"]);
    assert!(out.status.success(), "{}", err(&out));
    let md = fs::read_to_string(&summary).unwrap();
    assert!(md.contains("- Success rate: 66.7% (2 of 3 steps)"), "{md}");
    assert!(
        md.contains("| `sh -c 'exit 2'` |") && md.contains("| exit 2 |"),
        "{md}"
    );
    let yaml: Value =
        serde_saphyr::from_str(&fs::read_to_string(work.join("milestone_metrics.yaml")).unwrap())
            .unwrap();
    assert_eq!(
        (yaml["runs"].as_u64(), yaml["failed"].as_u64()),
        (Some(3), Some(1))
    );
    assert!(yaml["workflow_duration_ms"].as_u64().unwrap() >= 100);
    assert_eq!(yaml["steps"].as_array().unwrap().len(), 3);
    assert!(env.daemons().is_empty(), "CI leaves no daemon behind");
}

/// A month not written as YYYY-MM is a usage error, and nothing is written.
#[test]
fn a_malformed_month_is_a_usage_error() {
    let env = Env::new();
    let repo = team_repo(&env);
    for bad in ["2026-1", "2026-13", "26-11", "november"] {
        let out = env.mt(&repo, ["report", "month", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            err(&out).contains("write it as YYYY-MM"),
            "{bad}: {}",
            err(&out)
        );
    }
    assert!(!repo.join("milestones/2026-1").exists());
}
