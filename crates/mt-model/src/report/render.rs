//! Report figures → markdown that GitHub renders (tables, mermaid charts).
//! Same figures in → same bytes out: nothing here reads a clock.

use std::fmt::Write;

use super::model::{Advantage, MonthFigures, change_pp};
use crate::display::human_ms;
use crate::metrics::Share;

const NOT: &str = "not measured";

fn pct(s: Share) -> String {
    s.ratio().map_or_else(
        || format!("{NOT} (no runs)"),
        |r| format!("{:.1}% ({} of {})", r * 100.0, s.part, s.whole),
    )
}

/// A share of time: `12.5% (5m00s of 40m00s)`.
fn time_share(s: Share) -> String {
    s.ratio().map_or_else(
        || format!("{NOT} (no split of the work)"),
        |r| {
            format!(
                "{:.1}% ({} of {})",
                r * 100.0,
                human_ms(s.part as f64),
                human_ms(s.whole as f64)
            )
        },
    )
}

fn pp(v: Option<f64>, previous: &str) -> String {
    v.map_or_else(
        || format!("{NOT} (no runs to compare in {previous})"),
        |d| format!("{d:+.1} percentage points vs {previous}"),
    )
}

/// The framework's four report lines.
pub fn headline(f: &MonthFigures, before: &MonthFigures) -> Vec<String> {
    let over = format!(
        "over {} of {} with a baseline",
        f.with_baseline,
        crate::display::count(f.milestones, "milestone", "milestones")
    );
    vec![
        format!("Total issues resolved: {}", f.milestones),
        match f.improvement_factor {
            Some(x) => format!("Average resolution speed improvement: {x:.1}x ({over})"),
            None => {
                format!("Average resolution speed improvement: {NOT} (no milestone has a baseline)")
            }
        },
        match f.time_saved_ms {
            Some(ms) => format!("Cumulative time saved: {} ({over})", signed_ms(ms)),
            None => format!("Cumulative time saved: {NOT} (no milestone has a baseline)"),
        },
        success_line(&pp(
            change_pp(f.first_attempt, before.first_attempt),
            &before.month,
        )),
    ]
}

/// The framework's fourth line, saying what the rate is once: inside the
/// parenthesis a "not measured" already has, else in one of its own.
fn success_line(change: &str) -> String {
    match change.strip_suffix(')') {
        Some(open) => format!("Success rate improvement: {open}; first-attempt success)"),
        None => format!("Success rate improvement: {change} (first-attempt success)"),
    }
}

fn signed_ms(ms: i64) -> String {
    if ms < 0 {
        format!("-{}", human_ms(-ms as f64))
    } else {
        human_ms(ms as f64)
    }
}

/// The month's rates against the month before, with the change in points.
fn quality(s: &mut String, f: &MonthFigures, before: &MonthFigures) {
    let _ = writeln!(
        s,
        "\n## Quality\n\n| Figure | {} | {} | Change |\n|---|---|---|---|",
        f.month, before.month
    );
    for (label, now, then) in [
        (
            "First-attempt success",
            f.first_attempt,
            before.first_attempt,
        ),
        (
            "First-attempt success, by a program",
            f.first_attempt_automated,
            before.first_attempt_automated,
        ),
        (
            "First-attempt success, typed",
            f.first_attempt_manual,
            before.first_attempt_manual,
        ),
        ("Error rate", f.errors, before.errors),
        (
            "Error rate, by a program",
            f.errors_automated,
            before.errors_automated,
        ),
        ("Error rate, typed", f.errors_manual, before.errors_manual),
        ("Runs by a program", f.automation, before.automation),
        (
            "Validation runs by a program",
            f.validation_automated,
            before.validation_automated,
        ),
        ("Runs by an agent", f.agent_runs, before.agent_runs),
    ] {
        let change = change_pp(now, then).map_or_else(|| NOT.to_owned(), |d| format!("{d:+.1} pp"));
        let _ = writeln!(s, "| {label} | {} | {} | {change} |", pct(now), pct(then));
    }
    let change = change_pp(f.agent_time, before.agent_time)
        .map_or_else(|| NOT.to_owned(), |d| format!("{d:+.1} pp"));
    let _ = writeln!(
        s,
        "| Active time that was an agent's | {} | {} | {change} |",
        time_share(f.agent_time),
        time_share(before.agent_time)
    );
}

/// `milestones/YYYY-MM/monthly-summary.md`.
pub fn month(f: &MonthFigures, before: &MonthFigures, idle_note: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Monthly summary: {}\n", f.month);
    for line in headline(f, before) {
        let _ = writeln!(s, "- {line}");
    }
    let _ = writeln!(
        s,
        "\n## Issues resolved by type\n\n| Type | Milestones |\n|------|-----------:|"
    );
    for (kind, n) in &f.by_type {
        let _ = writeln!(s, "| {kind} | {n} |");
    }
    let _ = writeln!(s, "\n## Time\n");
    let _ = writeln!(
        s,
        "- Active time, total: {}",
        human_ms(f.active_total_ms as f64)
    );
    let _ = writeln!(
        s,
        "- Active time, median per milestone: {}",
        f.active_median_ms
            .map_or_else(|| NOT.to_owned(), |m| human_ms(m as f64))
    );
    quality(&mut s, f, before);
    let _ = writeln!(
        s,
        "\n## Tools by use\n\n| Tool | Runs | Failed | Success |\n|------|-----:|-------:|--------:|"
    );
    for t in &f.tools {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            crate::display::markdown(&t.name),
            t.runs,
            t.failures,
            pct(t.success)
        );
    }
    if f.tools.is_empty() {
        let _ = writeln!(s, "| (no named tool was run) | | | |");
    }
    let _ = writeln!(
        s,
        "\n## Parameters\n\n- {idle_note}\n- Improvement and time saved are Σ baseline ÷ Σ measured and Σ (baseline − measured) over the milestones whose total has a declared or self-measured baseline; the others are not compared.\n- Rates pool the runs of all milestones of the month."
    );
    s
}

/// `dashboards/competitive-advantages.md`.
pub fn advantages(rows: &[Advantage]) -> String {
    let mut s = String::from(
        "# Competitive advantages\n\nImprovement factors against the baselines recorded in the milestones: declared by the team (`--baseline`, config) or measured (median of earlier milestones of the same type). Rows without a baseline say so; nothing is compared with an invented figure.\n\n| Type | Phase | Improvement | Milestones with a baseline | Baseline source |\n|------|-------|------------:|---------------------------:|-----------------|\n",
    );
    for a in rows {
        let factor = a
            .factor
            .map_or_else(|| NOT.to_owned(), |x| format!("{x:.1}x"));
        let source = if a.sources.is_empty() {
            "none".to_owned()
        } else {
            a.sources
                .iter()
                .map(|k| {
                    if k == "self" {
                        "self-baseline (median of earlier milestones)"
                    } else {
                        "declared"
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            s,
            "| {} | {} | {factor} | {} of {} | {source} |",
            a.kind, a.phase, a.with_baseline, a.milestones
        );
    }
    s
}

/// The bars' color: GitHub's blue, 5.2:1 against its light background and
/// 3.6:1 against its dark one (WCAG asks 3:1 of a graphic). Mermaid's own
/// light palette draws a near-white line, invisible on white.
const BAR_COLOR: &str = "#0969da";

/// A mermaid bar chart GitHub renders, that cannot mislead: one month is a
/// visible bar (a one-point line draws nothing), the y-axis starts at zero
/// (rates run to 100), its title names the unit, a month without data has
/// no bar and is named under the chart (mermaid's bars take a value for
/// every month shown, and a zero would lie), and a table of the same
/// numbers follows.
fn chart(title: &str, unit: &str, rate: bool, points: &[(String, Option<f64>)]) -> String {
    let drawn: Vec<&(String, Option<f64>)> = points.iter().filter(|(_, v)| v.is_some()).collect();
    let mut s = String::new();
    if drawn.is_empty() {
        let _ = writeln!(s, "_{title}: {NOT} (no month has data)._\n");
    } else {
        let max = drawn.iter().filter_map(|(_, v)| *v).fold(0.0, f64::max);
        let top = if rate { 100.0 } else { nice_ceiling(max) };
        let labels: Vec<String> = drawn.iter().map(|(m, _)| format!("\"{m}\"")).collect();
        let values: Vec<String> = drawn
            .iter()
            .map(|(_, v)| format!("{:.1}", v.unwrap_or(0.0)))
            .collect();
        let _ = writeln!(
            s,
            "```mermaid\n%%{{init: {{\"themeVariables\": {{\"xyChart\": {{\"plotColorPalette\": \"{BAR_COLOR}\"}}}}}}}}%%\nxychart-beta\n    title \"{title}\"\n    x-axis \"month\" [{}]\n    y-axis \"{title} ({unit})\" 0 --> {top}\n    bar [{}]\n```\n",
            labels.join(", "),
            values.join(", ")
        );
        let gaps: Vec<&str> = points
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(m, _)| m.as_str())
            .collect();
        if !gaps.is_empty() {
            let _ = writeln!(
                s,
                "No data in {} (no bar, not drawn as zero).\n",
                gaps.join(", ")
            );
        }
    }
    let _ = writeln!(s, "| Month | {title} ({unit}) |\n|---|---:|");
    for (m, v) in points {
        let cell = v.map_or_else(|| "no data".to_owned(), |v| format!("{v:.1}"));
        let _ = writeln!(s, "| {m} | {cell} |");
    }
    s
}

/// A round number at or above `max` for the top of an axis.
fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let step = 10f64.powf(max.log10().floor());
    // Rounded back to a short decimal: 7 × 0.1 is 0.7000000000000001.
    ((max / step).ceil() * step * 1e6).round() / 1e6
}

/// `dashboards/performance-trends.md`.
pub fn trends(series: &[MonthFigures]) -> String {
    let rate = |pick: fn(&MonthFigures) -> Share| -> Vec<(String, Option<f64>)> {
        series
            .iter()
            .map(|f| (f.month.clone(), pick(f).ratio().map(|r| r * 100.0)))
            .collect()
    };
    let resolution: Vec<(String, Option<f64>)> = series
        .iter()
        .map(|f| {
            (
                f.month.clone(),
                f.active_median_ms.map(|m| m as f64 / 60_000.0),
            )
        })
        .collect();
    let mut s = String::from(
        "# Performance trends\n\nMonth by month, from the milestone files. Every y-axis starts at zero; a month without data is named under its chart, never drawn as zero. Each chart's numbers are in the table under it.\n\n",
    );
    for (title, unit, is_rate, points) in [
        ("Median resolution time", "minutes", false, resolution),
        ("Error rate", "%", true, rate(|f| f.errors)),
        (
            "First-attempt success",
            "%",
            true,
            rate(|f| f.first_attempt),
        ),
        (
            "Automation share of runs",
            "%",
            true,
            rate(|f| f.automation),
        ),
        (
            "Agent share of active time",
            "%",
            true,
            rate(|f| f.agent_time),
        ),
    ] {
        let _ = writeln!(s, "## {title}\n\n{}", chart(title, unit, is_rate, &points));
    }
    let _ = writeln!(
        s,
        "## Table\n\n| Month | Milestones | Median resolution | Error rate | First-attempt success | Automated runs | Agent's time |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for f in series {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            f.month,
            f.milestones,
            f.active_median_ms
                .map_or_else(|| NOT.to_owned(), |m| human_ms(m as f64)),
            pct(f.errors),
            pct(f.first_attempt),
            pct(f.automation),
            time_share(f.agent_time)
        );
    }
    s
}

/// `dashboards/roi-analysis.md`.
pub fn roi(series: &[MonthFigures], hourly_rate: Option<f64>) -> String {
    let mut s = String::from(
        "# ROI analysis (estimate)\n\nHours saved are counted only over milestones whose total time has a declared or measured baseline; value = hours saved × the configured `hourly_rate`. This is an estimate, not an accounting figure.\n\n",
    );
    match hourly_rate {
        Some(r) => {
            let _ = writeln!(s, "Hourly rate: {r:.2} (from config).\n");
        }
        None => {
            let _ = writeln!(
                s,
                "Hourly rate: {NOT} — set `hourly_rate` in `~/.config/mt/config.toml` or `.mt.toml`.\n"
            );
        }
    }
    let _ = writeln!(
        s,
        "| Month | Milestones with a baseline | Hours saved | Value (estimate) | Cumulative hours | Cumulative value (estimate) |\n|---|---:|---:|---:|---:|---:|"
    );
    let (mut cum_h, mut any) = (0.0, false);
    for f in series {
        let hours = f.time_saved_ms.map(|ms| ms as f64 / 3_600_000.0);
        if let Some(h) = hours {
            cum_h += h;
            any = true;
        }
        let money =
            |h: f64| hourly_rate.map_or_else(|| NOT.to_owned(), |r| format!("{:.2}", h * r));
        let _ = writeln!(
            s,
            "| {} | {} of {} | {} | {} | {} | {} |",
            f.month,
            f.with_baseline,
            f.milestones,
            hours.map_or_else(|| NOT.to_owned(), |h| format!("{h:.2}")),
            hours.map_or_else(|| NOT.to_owned(), money),
            if any {
                format!("{cum_h:.2}")
            } else {
                NOT.to_owned()
            },
            if any { money(cum_h) } else { NOT.to_owned() },
        );
    }
    s
}

/// `MILESTONE_LOG.md`: one row per milestone, oldest first, each linking
/// its file (relative to `milestones/`).
pub fn log(
    milestones: &[crate::milestone::FrontMatter],
    paths: &[std::path::PathBuf],
    dir: &std::path::Path,
) -> String {
    let mut rows: Vec<(&crate::milestone::FrontMatter, String)> = milestones
        .iter()
        .zip(paths)
        .map(|(m, p)| {
            let rel = p
                .strip_prefix(dir)
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned();
            (m, rel)
        })
        .collect();
    rows.sort_by(|a, b| (&a.0.date, &a.0.milestone_id).cmp(&(&b.0.date, &b.0.milestone_id)));
    let mut out = String::from(
        "# Milestone Log\n\nEvery milestone in this repository, oldest first. `mt close` and `mt report` regenerate this file; edit the milestones, not this.\n\n| Date | Type | Title | Issue | PR | Active time | Status | File |\n|------|------|-------|-------|----|-------------|--------|------|\n",
    );
    for (m, rel) in rows {
        // Titles come from pull requests: markdown there is text here.
        let cell = crate::display::markdown;
        // `#12`, as mt writes them: no markdown in a table cell.
        let number = |s: &str| crate::display::safe(s).replace('|', "\\|");
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | [{}]({}) |\n",
            cell(&m.date),
            cell(&m.kind),
            cell(&m.title),
            number(m.issue_number.as_deref().unwrap_or("")),
            number(m.pr_number.as_deref().unwrap_or("")),
            crate::display::human_ms(m.mt.active_ms as f64),
            m.status.as_deref().unwrap_or("finished"),
            cell(&m.milestone_id),
            rel.replace(' ', "%20"),
        ));
    }
    out
}
