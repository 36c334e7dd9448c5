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

/// Every mermaid block: the bar color set for both GitHub themes, then
/// `xychart-beta`, a title, an x-axis of N month labels, a y-axis from
/// zero that names its unit (rates to 100 %) and reaches every value, and
/// bars of N numbers.
fn check_mermaid(md: &str) -> usize {
    let mut blocks = 0;
    let mut rest = md;
    while let Some(start) = rest.find("```mermaid\n") {
        let body = &rest[start + 11..];
        let end = body.find("\n```").expect("mermaid block closed");
        let lines: Vec<&str> = body[..end].lines().map(str::trim).collect();
        assert!(
            lines[0].contains("\"plotColorPalette\": \"#0969da\""),
            "{}",
            lines[0]
        );
        let block = &lines[1..];
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
        let labels = list(block[2], "x-axis \"month\"");
        assert!(
            labels
                .iter()
                .all(|l| l.len() == 9 && l.starts_with('"') && l.ends_with('"')),
            "{labels:?}"
        );
        let (axis, range) = block[3].rsplit_once("\" ").unwrap();
        assert!(
            axis.starts_with("y-axis \"") && axis.ends_with(')'),
            "unit named: {axis}"
        );
        let (low, high) = range.split_once(" --> ").unwrap();
        assert_eq!(low, "0", "every y-axis starts at zero: {}", block[3]);
        let high: f64 = high.parse().unwrap();
        if axis.ends_with("(%)") {
            assert_eq!(high, 100.0, "rates run 0-100 %");
        }
        for line in &block[4..] {
            let values = list(line, "bar");
            assert_eq!(values.len(), labels.len(), "{line}");
            let values: Vec<f64> = values.iter().map(|v| v.parse().unwrap()).collect();
            assert!(values.iter().all(|&v| (0.0..=high).contains(&v)), "{line}");
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
    assert_eq!(check_mermaid(&trends), 5);
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
    // Published, so each step is its command's shape: no value of it.
    assert!(
        md.contains("| `sh -c …` |") && md.contains("| exit 2 |") && !md.contains("exit 2'"),
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

/// A month with no milestones between two with them: named as a gap under
/// each chart and in its table, never drawn as zero.
#[test]
fn a_month_without_data_is_a_gap_not_a_zero() {
    let env = Env::new();
    let repo = team_repo(&env);
    let a = fs::read_to_string(repo.join("milestones/2026-10/2026-10-03-bug-a.md")).unwrap();
    fs::create_dir_all(repo.join("milestones/2026-08")).unwrap();
    fs::write(
        repo.join("milestones/2026-08/2026-08-03-bug-z.md"),
        a.replace("2026-10-03", "2026-08-03")
            .replace("bug-a", "bug-z"),
    )
    .unwrap();
    env.ok(&repo, ["report", "dashboards"]);
    let trends =
        fs::read_to_string(repo.join("milestones/dashboards/performance-trends.md")).unwrap();
    assert_eq!(check_mermaid(&trends), 5);
    assert!(!trends.contains("\"2026-09\""), "2026-09 has no bar");
    assert_eq!(
        trends
            .matches("No data in 2026-09 (no bar, not drawn as zero).")
            .count(),
        5
    );
    assert!(trends.contains("| 2026-09 | no data |"), "{trends}");
}

/// The framework's MILESTONE_LOG.md: one row per milestone, regenerated by
/// `mt report`, marked as generated, never a person's file replaced.
#[test]
fn milestone_log_indexes_every_milestone() {
    let env = Env::new();
    let repo = team_repo(&env);
    env.ok(&repo, ["report", "month", "2026-11"]);
    let log = fs::read_to_string(repo.join("milestones/MILESTONE_LOG.md")).unwrap();
    assert!(log.starts_with("<!-- generated by mt"), "{log}");
    let rows: Vec<&str> = log.lines().filter(|l| l.starts_with("| 2026-")).collect();
    assert_eq!(
        rows.len(),
        5,
        "every parsed milestone, the broken one skipped:\n{log}"
    );
    assert!(
        rows[0].starts_with("| 2026-10-03 | bug | Work by ana | #1 |")
            && rows[0].ends_with("[2026-10-03-bug-a](2026-10/2026-10-03-bug-a.md) |"),
        "{}",
        rows[0]
    );
    // Reading milestones again skips the log itself (no parse warning).
    let out = env.mt(&repo, ["report", "dashboards"]);
    assert!(!err(&out).contains("MILESTONE_LOG"), "{}", err(&out));
}

/// The dashboards drawn by real mermaid (mermaid-cli in Debian's chromium),
/// in GitHub's light and dark themes: every chart renders, its y-axis
/// ticks run from 0 (to 100 for rates), its axis titles name the unit, and
/// each month's bar is drawn in the chosen color with a height — one month
/// alone included (a one-point line used to draw nothing).
#[test]
fn dashboards_render_in_real_mermaid_with_axes_from_zero() {
    crate::require!("mmdc", "chromium");
    let env = Env::new();
    let repo = team_repo(&env);
    env.ok(&repo, ["report", "dashboards"]);
    let trends = repo.join("milestones/dashboards/performance-trends.md");
    for theme in ["default", "dark"] {
        let svgs = render(&env, &trends, theme);
        assert_eq!(svgs.len(), 5, "{theme}");
        for (i, (svg, unit)) in svgs.iter().zip(["minutes", "%", "%", "%", "%"]).enumerate() {
            check_axes(i, svg, unit);
            assert_eq!(bars(svg), 2, "{theme} chart {i}: a visible bar a month");
        }
    }
    // One month of data: a bar, not an empty frame.
    fs::remove_dir_all(repo.join("milestones/2026-10")).unwrap();
    env.ok(&repo, ["report", "dashboards"]);
    for (i, svg) in render(&env, &trends, "default").iter().enumerate() {
        assert_eq!(bars(svg), 1, "one month, chart {i}");
    }
}

/// `md`'s mermaid blocks rendered by mmdc in `theme`: one SVG text each.
fn render(env: &Env, md: &std::path::Path, theme: &str) -> Vec<String> {
    let chromium = std::env::split_paths(&crate::harness::test_path())
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
        .unwrap();
    let config = env.path("puppeteer.json");
    // --no-sandbox: CI runs the suite as root, where chromium's sandbox refuses.
    fs::write(
        &config,
        serde_json::json!({"executablePath": chromium, "args": ["--no-sandbox"]}).to_string(),
    )
    .unwrap();
    let out_md = env.path(&format!("out-{theme}.md"));
    let mut cmd = Command::new("mmdc");
    let out = env
        .apply(&mut cmd)
        .arg("-p")
        .arg(&config)
        .args(["-t", theme, "-i"])
        .arg(md)
        .arg("-o")
        .arg(&out_md)
        .output()
        .unwrap();
    assert!(out.status.success(), "mmdc: {}", err(&out));
    (1..)
        .map_while(|i| fs::read_to_string(env.path(&format!("out-{theme}-{i}.svg"))).ok())
        .collect()
}

/// The chart's bars: rectangles in the chosen color with a height.
fn bars(svg: &str) -> usize {
    svg.split("<rect")
        .skip(1)
        .filter(|r| r.contains("fill=\"#0969da\""))
        .filter(|r| {
            r.split("height=\"")
                .nth(1)
                .and_then(|h| h.split('"').next())
                .and_then(|h| h.parse::<f64>().ok())
                .is_some_and(|h| h > 1.0)
        })
        .count()
}

/// Chart `i`'s y-axis runs from 0 (to 100 for rates) and names `unit`.
fn check_axes(i: usize, svg: &str, unit: &str) {
    let texts: Vec<&str> = svg
        .split("<text")
        .skip(1)
        .filter_map(|t| t.split_once('>')?.1.split_once("</text>").map(|(x, _)| x))
        .collect();
    let ticks: Vec<f64> = svg
        .split("<text")
        .skip(1)
        .filter(|t| t.contains("text-anchor=\"end\""))
        .filter_map(|t| t.split_once('>')?.1.split_once("</text>")?.0.parse().ok())
        .collect();
    assert!(!ticks.is_empty(), "chart {i}: no y ticks in {texts:?}");
    let lowest = ticks.iter().copied().fold(f64::MAX, f64::min);
    let highest = ticks.iter().copied().fold(f64::MIN, f64::max);
    assert_eq!(
        lowest, 0.0,
        "chart {i}: the y-axis starts at zero: {ticks:?}"
    );
    if unit == "%" {
        assert_eq!(highest, 100.0, "chart {i}: rates run to 100 %: {ticks:?}");
    }
    assert!(
        texts.iter().any(|t| t.ends_with(&format!("({unit})"))),
        "chart {i}: an axis title names the unit: {texts:?}"
    );
}
