//! The framework's measurable sections beyond the timeline (docs/templates.md):
//! quality (error prevention, like-for-like rates, consistency),
//! integration points from the diff, the Before/After comparison and the
//! Success Metrics Summary. Every "before" or "industry standard" cell is a
//! declared baseline or the self-baseline with its n, else "not measured".
//! Pure: the `mt:` block in, template variables out.

use serde::Serialize;

use super::{Baseline, BaselineKind, Measured, RateBaseline};
use crate::display::human_ms;
use crate::metrics::Share;
use crate::metrics::quality::MIN_RUNS;

/// Template variables these sections add.
#[derive(Debug, Serialize)]
pub struct Sections {
    error_prevention: String,
    caught: Vec<CaughtView>,
    error_rate_like: String,
    first_attempt_like: String,
    consistency: String,
    flaky: Vec<FlakyView>,
    automation_level: String,
    work: Vec<super::work::WorkView>,
    agent: String,
    agent_share: String,
    documentation: String,
    updated_systems: Vec<Check>,
    knowledge_capture: Vec<Check>,
    before: Vec<String>,
    after: Vec<String>,
    summary: Vec<SummaryRow>,
}

#[derive(Debug, Serialize)]
struct CaughtView {
    command: String,
    caught: String,
    failures: u64,
    fix: String,
}

#[derive(Debug, Serialize)]
struct FlakyView {
    command: String,
    head: String,
    runs: String,
}

/// A checklist line: ticked when measured true, with its evidence.
#[derive(Debug, Serialize)]
struct Check {
    name: String,
    ticked: bool,
    detail: String,
}

#[derive(Debug, Serialize)]
struct SummaryRow {
    metric: &'static str,
    measured: String,
    baseline: String,
    edge: String,
}

/// Text for a cell of the markdown that may sit in a code span.
pub(super) fn cell(text: &str) -> String {
    crate::display::code_span(text)
}

fn pct(s: Share) -> Option<f64> {
    s.ratio().map(|r| r * 100.0)
}

pub fn build(m: &Measured) -> Sections {
    let (error_rate_like, first_attempt_like) = like_for_like(m);
    Sections {
        error_prevention: match m.caught.len() {
            0 => "none measured: no validation command failed and later passed".to_owned(),
            n => format!(
                "{n} failure{} caught by validation and fixed before the merge",
                if n == 1 { "" } else { "s" }
            ),
        },
        caught: m
            .caught
            .iter()
            .map(|c| CaughtView {
                command: cell(&c.command),
                caught: c.caught.clone(),
                failures: c.failures,
                fix: human_ms(c.fix_ms as f64),
            })
            .collect(),
        error_rate_like,
        first_attempt_like,
        consistency: consistency(m),
        flaky: m
            .flaky
            .iter()
            .map(|f| FlakyView {
                command: cell(&f.command),
                head: cell(&f.head),
                runs: format!("{} runs, {} failed", f.runs, f.failures),
            })
            .collect(),
        automation_level: automation_level(m),
        work: super::work::rows(m),
        agent: super::work::agent_line(m),
        agent_share: super::work::agent_share(m),
        documentation: match (m.integration.measured, m.integration.docs.len()) {
            (false, _) => "not measured (no diff against a merge base)".to_owned(),
            (true, 0) => "no documentation changed".to_owned(),
            (true, n) => format!(
                "{n} documentation file{} changed: {}",
                if n == 1 { "" } else { "s" },
                files(&m.integration.docs)
            ),
        },
        updated_systems: updated_systems(m),
        knowledge_capture: knowledge_capture(m),
        before: before(m),
        after: after(m),
        summary: summary(m),
    }
}

/// Automated vs manual over the command classes run both ways, with n.
fn like_for_like(m: &Measured) -> (String, String) {
    let l = &m.like_for_like;
    if l.classes.is_empty() {
        let none =
            "not compared: no command was both typed by a person and run by a program".to_owned();
        return (none.clone(), none);
    }
    let classes = format!(
        "{} command class{} run both ways: {}",
        l.classes.len(),
        if l.classes.len() == 1 { "" } else { "es" },
        l.classes
            .iter()
            .map(|c| cell(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (a, b) = (l.errors_automated.whole, l.errors_manual.whole);
    if a < MIN_RUNS || b < MIN_RUNS {
        let text = format!(
            "insufficient data (by a program n={a}, typed n={b}; {MIN_RUNS} runs a side needed) over {classes}"
        );
        return (text.clone(), text);
    }
    (
        format!(
            "{} by a program vs {} typed, over {classes}",
            l.errors_automated, l.errors_manual
        ),
        format!(
            "{} by a program vs {} typed, over {classes}",
            l.first_attempt_automated, l.first_attempt_manual
        ),
    )
}

fn consistency(m: &Measured) -> String {
    match pct(m.consistency) {
        None => "not measured: no command was run twice at one commit with nothing edited between"
            .to_owned(),
        Some(p) => format!(
            "{p:.1}% reproducible results ({} of {} run more than once at one commit with nothing edited between had the same outcome each time){}",
            m.consistency.part,
            crate::display::count(m.consistency.whole, "command", "commands"),
            if m.flaky.is_empty() {
                ""
            } else {
                "; possibly flaky:"
            }
        ),
    }
}

fn automation_level(m: &Measured) -> String {
    match (pct(m.automation_runs), pct(m.automation_time_ms)) {
        (Some(runs), time) => format!(
            "{runs:.1}% of runs ({} of {}){}",
            m.automation_runs.part,
            m.automation_runs.whole,
            time.map_or(String::new(), |t| format!(
                ", {t:.1}% of command time ({} of {})",
                human_ms(m.automation_time_ms.part as f64),
                human_ms(m.automation_time_ms.whole as f64)
            ))
        ),
        (None, _) => "not measured (no runs)".to_owned(),
    }
}

fn files(list: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut shown: Vec<String> = list
        .iter()
        .take(SHOWN)
        .map(|f| format!("`{}`", cell(f)))
        .collect();
    if list.len() > SHOWN {
        shown.push(format!("and {} more", list.len() - SHOWN));
    }
    shown.join(", ")
}

fn check(name: &str, list: &[String], measured: bool) -> Check {
    Check {
        name: name.to_owned(),
        ticked: !list.is_empty(),
        detail: if !measured {
            " (not measured: no diff against a merge base)".to_owned()
        } else if list.is_empty() {
            String::new()
        } else {
            format!(": {}", files(list))
        },
    }
}

fn updated_systems(m: &Measured) -> Vec<Check> {
    let i = &m.integration;
    vec![
        check("CI/CD pipeline improvements", &i.ci, i.measured),
        check("Documentation updates", &i.docs, i.measured),
        check("Script enhancements", &i.scripts, i.measured),
        check("Quality gate additions", &i.quality_gates, i.measured),
    ]
}

fn knowledge_capture(m: &Measured) -> Vec<Check> {
    let i = &m.integration;
    let guides: Vec<String> = i
        .docs
        .iter()
        .filter(|d| d.to_lowercase().contains("troubleshoot"))
        .cloned()
        .collect();
    let not_measured = |name: &str| Check {
        name: name.to_owned(),
        ticked: false,
        detail: " (not measured)".to_owned(),
    };
    vec![
        check("Documentation added or changed", &i.docs, i.measured),
        check("Troubleshooting guide updated", &guides, i.measured),
        check("Automation scripts improved", &i.scripts, i.measured),
        not_measured("Pattern added to failure analysis database"),
        not_measured("Training materials enhanced"),
    ]
}

/// A time baseline as the comparison names it.
fn time_baseline(b: Option<&Baseline>) -> Option<(u64, String)> {
    let b = b?;
    let ms = b.usable_ms()?;
    let source = match b.kind {
        BaselineKind::Declared => "declared".to_owned(),
        _ => format!("self-baseline, median of n={}", b.n.unwrap_or(0)),
    };
    Some((ms, source))
}

fn rate_baseline(b: Option<&RateBaseline>) -> String {
    match b {
        Some(RateBaseline {
            kind: BaselineKind::SelfMeasured,
            ratio: Some(r),
            n,
        }) => format!("{:.1}% (self-baseline, median of n={n})", r * 100.0),
        Some(RateBaseline { n, .. }) => format!("insufficient data (n={n})"),
        None => "not measured".to_owned(),
    }
}

fn before(m: &Measured) -> Vec<String> {
    vec![
        match time_baseline(m.baselines.get("total")) {
            Some((ms, source)) => format!("Process took {} ({source})", human_ms(ms as f64)),
            None => "Process time: not measured (no declared baseline, fewer than 3 earlier milestones of this type)".to_owned(),
        },
        if m.manual_steps_eliminated > 0 {
            format!(
                "Required {} manual steps (Σ manual_steps declared for the tools automated here)",
                m.manual_steps_eliminated
            )
        } else {
            "Manual steps: not measured (no tool declares manual_steps)".to_owned()
        },
        format!(
            "First-attempt success: {}",
            rate_baseline(m.rate_baselines.get("success_rate"))
        ),
        "Domain expertise required: _(author: judgement, not measurement)_".to_owned(),
    ]
}

fn after(m: &Measured) -> Vec<String> {
    vec![
        format!(
            "Process takes {} of active time",
            human_ms(m.active_ms as f64)
        ),
        format!(
            "{} of {} runs by a program (a script, make target, git hook or CI through `mt exec`)",
            m.automation_runs.part, m.automation_runs.whole
        ),
        format!("First-attempt success: {}", m.success()),
        format!(
            "Validation: {} of validation runs by a program",
            m.validation_automated.to_string()
        ),
    ]
}

fn summary(m: &Measured) -> Vec<SummaryRow> {
    let not = || "not measured".to_owned();
    let time_row = |metric, key: &str, better: &str| {
        let measured = human_ms(m.active_ms as f64);
        match time_baseline(m.baselines.get(key)) {
            Some((ms, source)) if m.active_ms > 0 => SummaryRow {
                metric,
                measured,
                baseline: format!("{} ({source})", human_ms(ms as f64)),
                edge: format!("{:.1}x {better}", ms as f64 / m.active_ms as f64),
            },
            _ => SummaryRow {
                metric,
                measured,
                baseline: not(),
                edge: not(),
            },
        }
    };
    let rate_row = |metric, share: Share, key: &str| {
        let b = m.rate_baselines.get(key);
        let edge = match (pct(share), b.and_then(|b| b.ratio)) {
            (Some(p), Some(r)) => format!("{:+.1} percentage points", p - r * 100.0),
            _ => not(),
        };
        SummaryRow {
            metric,
            measured: share.to_string(),
            baseline: rate_baseline(b),
            edge,
        }
    };
    vec![
        time_row("Resolution Time", "total", "faster"),
        rate_row("Success Rate", m.success(), "success_rate"),
        rate_row("Automation Level", m.automation_runs, "automation_level"),
        time_row("Developer Velocity", "velocity", "improvement"),
    ]
}
