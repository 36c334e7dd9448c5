//! Figures → the text people read. Builds a view of display strings (so
//! templates only place text, never compute), then renders it with
//! minijinja: the repository's template when it has one, else the built-in.

use anyhow::{Result, anyhow};
use serde::Serialize;
use std::collections::BTreeMap;

use super::sections::cell;
use super::{Baseline, BaselineKind, FrontMatter, Measured};
use crate::display::human_ms;

pub const BUILTIN_TEMPLATE: &str = include_str!("templates/milestone.md");

/// The framework's "Tools Used" checklist.
/// Evidence rows shown in the file; the rest are counted.
const EVIDENCE_ROWS: usize = 40;

/// One command line's runs on the branch.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub command: String,
    pub runs: u64,
    pub failures: u64,
    pub median_ms: u64,
    pub total_ms: u64,
}

#[derive(Debug, Serialize)]
struct Row {
    phase: String,
    measured: String,
    baseline: String,
    factor: String,
    source: String,
}

#[derive(Debug, Serialize)]
struct ToolItem {
    name: String,
    used: bool,
    detail: String,
}

#[derive(Debug, Serialize)]
struct EvidenceRow {
    command: String,
    runs: u64,
    failures: u64,
    median: String,
    total: String,
}

/// Template variables (documented in docs/templates.md).
#[derive(Debug, Serialize)]
pub struct View {
    title: String,
    milestone_id: String,
    kind: String,
    branch: String,
    issue_number: String,
    pr_number: String,
    priority: String,
    complexity: String,
    note: Option<String>,
    scope: String,
    timeline: Vec<Row>,
    elapsed: String,
    manual_steps: String,
    error_rate_automated: String,
    error_rate_manual: String,
    first_attempt_automated: String,
    first_attempt_manual: String,
    validation_coverage: String,
    tools_checklist: Vec<ToolItem>,
    evidence: Vec<EvidenceRow>,
    evidence_more: usize,
    edited: Vec<EditedView>,
    edited_more: usize,
    parameters: Vec<String>,
    #[serde(flatten)]
    sections: super::sections::Sections,
}

/// An edited file as the template shows it.
#[derive(Debug, Serialize)]
struct EditedView {
    path: String,
    saves: u64,
    time: String,
}

/// "N files in M directories edited", then the diff's figures.
fn scope(m: &Measured) -> String {
    let edited = if m.edited.is_empty() {
        "no edits recorded".to_owned()
    } else {
        let dirs: std::collections::BTreeSet<&str> = m
            .edited
            .iter()
            .map(|e| e.path.rsplit_once('/').map_or("", |(d, _)| d))
            .collect();
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "{} in {} edited",
            plural(m.edited.len(), "file", "files"),
            plural(dirs.len(), "directory", "directories")
        )
    };
    let diff = match (
        &m.complexity.files,
        &m.complexity.insertions,
        &m.complexity.deletions,
    ) {
        (Some(f), Some(i), Some(d)) => {
            format!(
                "{} changed, +{i} −{d} lines against the merge base",
                crate::display::count(*f, "file", "files")
            )
        }
        _ => "diff not measured (no merge base)".to_owned(),
    };
    format!("{edited}; {diff}")
}

fn baseline_text(b: &Baseline) -> String {
    match (b.kind, b.ms) {
        (BaselineKind::Declared, Some(ms)) => format!("{} (declared)", human_ms(ms as f64)),
        (BaselineKind::SelfMeasured, Some(ms)) => format!(
            "{} (median of n={}, IQR {}–{})",
            human_ms(ms as f64),
            b.n.unwrap_or(0),
            human_ms(b.q1_ms.unwrap_or(0) as f64),
            human_ms(b.q3_ms.unwrap_or(0) as f64)
        ),
        (BaselineKind::Insufficient, _) => format!("insufficient data (n={})", b.n.unwrap_or(0)),
        _ => "not measured".to_owned(),
    }
}

fn factor(b: &Baseline, measured_ms: u64) -> String {
    match b.usable_ms() {
        Some(base) if measured_ms > 0 => format!("{:.1}x", base as f64 / measured_ms as f64),
        Some(_) => "not measured (no time recorded)".to_owned(),
        None => "not measured".to_owned(),
    }
}

/// Build the view of a milestone.
pub fn view(front: &FrontMatter, evidence: &[Evidence], note: Option<&str>) -> View {
    let m = &front.mt;
    View {
        title: crate::display::markdown(&front.title),
        milestone_id: front.milestone_id.clone(),
        kind: front.kind.clone(),
        branch: crate::display::markdown(&m.branch),
        issue_number: front.issue_number.clone().unwrap_or_default(),
        pr_number: front.pr_number.clone().unwrap_or_default(),
        priority: front.priority.clone(),
        complexity: front.complexity.clone(),
        note: note.map(str::to_owned),
        scope: scope(m),
        timeline: timeline(m),
        elapsed: human_ms(m.elapsed_ms as f64),
        manual_steps: manual_steps(m),
        error_rate_automated: m.errors_automated.to_string(),
        error_rate_manual: m.errors_manual.to_string(),
        first_attempt_automated: m.first_attempt_automated.to_string(),
        first_attempt_manual: m.first_attempt_manual.to_string(),
        validation_coverage: m.validation_automated.to_string(),
        tools_checklist: tools_checklist(m),
        evidence: evidence
            .iter()
            .take(EVIDENCE_ROWS)
            .map(evidence_row)
            .collect(),
        evidence_more: evidence.len().saturating_sub(EVIDENCE_ROWS),
        edited: m
            .edited
            .iter()
            .take(EVIDENCE_ROWS)
            .map(edited_row)
            .collect(),
        edited_more: m.edited.len().saturating_sub(EVIDENCE_ROWS),
        sections: super::sections::build(m),
        parameters: parameters(m),
    }
}

/// The Resolution Timeline: each phase and the total against its baseline.
fn timeline(m: &Measured) -> Vec<Row> {
    // Every part of the total has a row: time in `other` (commands no rule
    // classifies, before any phase was set) gets one when there is some,
    // so the rows add up to the total.
    let other = m.phases_ms.get("other").copied().unwrap_or(0) > 0;
    let shown = shown_parts(m, other);
    let labels = [
        ("diagnosis", "Diagnosis"),
        ("implementation", "Implementation"),
        ("validation", "Validation"),
        ("other", "Other"),
        ("total", "Total Resolution"),
    ];
    labels
        .iter()
        .filter(|(key, _)| *key != "other" || other)
        .map(|(key, label)| {
            let measured = if *key == "total" {
                m.active_ms
            } else {
                m.phases_ms.get(*key).copied().unwrap_or(0)
            };
            // The parts as shown, rounded so that they add up to the total
            // as shown; the factors use the exact figures.
            let shown_ms = shown.get(*key).copied().unwrap_or(measured);
            let b = m
                .baselines
                .get(*key)
                .cloned()
                .unwrap_or_else(Baseline::not_measured);
            Row {
                phase: (*label).to_owned(),
                measured: human_ms(shown_ms as f64),
                baseline: baseline_text(&b),
                factor: factor(&b, measured),
                source: b
                    .source
                    .map(|s| format!(" — baseline {s}"))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// Each phase's time rounded to the precision the total is shown at
/// (`human_ms`: 1 ms, 0.1 s, 1 s or 1 min), by largest remainder, so the
/// rows shown add up to the total shown.
fn shown_parts(m: &Measured, other: bool) -> BTreeMap<&'static str, u64> {
    let total = m.active_ms;
    let unit: u64 = match total {
        0..1_000 => 1,
        1_000..60_000 => 100,
        60_000..3_600_000 => 1_000,
        _ => 60_000,
    };
    let mut keys = vec!["diagnosis", "implementation", "validation"];
    if other {
        keys.push("other");
    }
    let parts: Vec<u64> = keys
        .iter()
        .map(|k| m.phases_ms.get(*k).copied().unwrap_or(0))
        .collect();
    let target = (total + unit / 2) / unit;
    let mut units: Vec<u64> = parts.iter().map(|p| p / unit).collect();
    let mut left = target.saturating_sub(units.iter().sum());
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(parts[i] % unit));
    for i in order {
        if left == 0 {
            break;
        }
        units[i] += 1;
        left -= 1;
    }
    let mut shown: BTreeMap<&'static str, u64> = keys
        .into_iter()
        .zip(units.into_iter().map(|u| u * unit))
        .collect();
    shown.insert("total", target * unit);
    shown
}

fn manual_steps(m: &Measured) -> String {
    if m.manual_steps_eliminated > 0 {
        format!(
            "{} steps (Σ manual_steps over automated runs of tools that declare it)",
            m.manual_steps_eliminated
        )
    } else {
        "not measured (no tool run declares manual_steps)".to_owned()
    }
}

/// The tools that ran, by name: recognised runners, linters, check
/// scripts and builds, the framework's scripts and configured tools alike.
fn tools_checklist(m: &Measured) -> Vec<ToolItem> {
    m.tools
        .iter()
        .map(|t| ToolItem {
            name: crate::display::markdown(&t.name),
            used: true,
            detail: format!(
                ": {} runs, {} failed, median {}",
                t.runs,
                t.failures,
                human_ms(t.median_ms as f64)
            ),
        })
        .collect()
}

fn evidence_row(e: &Evidence) -> EvidenceRow {
    EvidenceRow {
        command: cell(&e.command),
        runs: e.runs,
        failures: e.failures,
        median: human_ms(e.median_ms as f64),
        total: human_ms(e.total_ms as f64),
    }
}

fn edited_row(e: &super::EditedRow) -> EditedView {
    EditedView {
        path: cell(&e.path),
        saves: e.saves,
        time: human_ms(e.edit_ms as f64),
    }
}

/// The lines stating what the figures depend on.
fn parameters(m: &Measured) -> Vec<String> {
    vec![
        format!(
            "active time = command intervals + gaps ≤ {} min (idle timeout) between signals (commands, edits, markers) on one timeline across branches; a gap ending in an edit counts to implementation; longer gaps count 0",
            m.parameters.idle_timeout_minutes
        ),
        format!("classification: {}", m.parameters.classification),
        format!(
            "window: {} → {}",
            m.first_event.as_deref().unwrap_or("-"),
            m.closed
        ),
        format!(
            "runs: {} by a program (`mt exec` in a script, make target, git hook or CI), {} typed by a person (at the prompt; a typed `mt exec` too); {} unfinished counted as failed; {} still running excluded",
            m.runs_automated,
            m.runs_manual,
            m.parameters.unfinished_runs,
            m.parameters.running_runs_excluded
        ),
    ]
}

/// Render the body with `template` (named `name` in errors).
pub fn render(name: &str, template: &str, view: &View) -> Result<String> {
    let mut env = minijinja::Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| anyhow!("{e}"))?;
    env.set_syntax(syntax);
    env.add_template(name, template)
        .map_err(|e| template_error(name, &e))?;
    let tmpl = env
        .get_template(name)
        .map_err(|e| template_error(name, &e))?;
    tmpl.render(minijinja::Value::from(minijinja::value::Serde(view)))
        .map_err(|e| template_error(name, &e))
}

fn template_error(name: &str, e: &minijinja::Error) -> anyhow::Error {
    match e.line() {
        Some(line) => anyhow!(
            "{name}:{line}: {}; fix the template or delete it to use the built-in one",
            e.detail().unwrap_or("template error")
        ),
        None => anyhow!("{name}: {e}; fix the template or delete it to use the built-in one"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::milestone::tests::sample;

    /// The rows as shown add up to the total as shown: rounding each to a
    /// tenth of a second alone would show 4.5 + 1.5 + 17.6 + 9.5 = 33.1
    /// against a total of 33.0.
    #[test]
    fn the_timeline_rows_shown_add_up_to_the_total_shown() {
        let mut m = sample().mt;
        let phases = [
            ("diagnosis", 4_460),
            ("implementation", 1_540),
            ("validation", 17_580),
            ("other", 9_465),
        ];
        m.phases_ms = phases.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        m.active_ms = 33_045;
        let rows = timeline(&m);
        let tenths = |r: &Row| {
            (r.measured.trim_end_matches('s').parse::<f64>().unwrap() * 10.0).round() as i64
        };
        let parts: i64 = rows[..4].iter().map(tenths).sum();
        assert_eq!(
            parts,
            tenths(&rows[4]),
            "{:?}",
            rows.iter().map(|r| &r.measured).collect::<Vec<_>>()
        );
        assert_eq!(rows[4].measured, "33.0s");
    }

    /// The timeline's rows add up to its total: time in `other` has a row
    /// of its own when there is some, and none when there is not.
    #[test]
    fn the_timeline_shows_every_part_of_the_total() {
        let mut m = sample().mt;
        let phases = [
            ("diagnosis", 34_300),
            ("implementation", 66_400),
            ("validation", 38_700),
            ("other", 4_000),
        ];
        m.phases_ms = phases.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        m.active_ms = phases.iter().map(|(_, v)| v).sum();
        let rows = timeline(&m);
        let labels: Vec<&str> = rows.iter().map(|r| r.phase.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Diagnosis",
                "Implementation",
                "Validation",
                "Other",
                "Total Resolution"
            ]
        );
        assert_eq!(rows[3].measured, human_ms(4_000.0));
        assert_eq!(rows[4].measured, human_ms(143_400.0));
        m.phases_ms.remove("other");
        let labels: Vec<String> = timeline(&m).into_iter().map(|r| r.phase).collect();
        assert!(!labels.contains(&"Other".to_owned()));
    }

    fn evidence() -> Vec<Evidence> {
        vec![
            Evidence {
                command: "./scripts/qc_pre_push.sh".into(),
                runs: 4,
                failures: 1,
                median_ms: 41_000,
                total_ms: 170_000,
            },
            Evidence {
                command: "git log -p | grep `x`".into(),
                runs: 2,
                failures: 0,
                median_ms: 300,
                total_ms: 600,
            },
        ]
    }

    #[test]
    fn built_in_template_snapshot() {
        let front = sample();
        let body = render(
            "built-in",
            BUILTIN_TEMPLATE,
            &view(&front, &evidence(), None),
        )
        .unwrap();
        insta::assert_snapshot!(body);
    }

    #[test]
    fn nothing_is_invented() {
        let mut front = sample();
        front.mt.baselines.clear();
        front.mt.rate_baselines.clear();
        let body = render("built-in", BUILTIN_TEMPLATE, &view(&front, &[], None)).unwrap();
        assert!(!body.contains("x faster") && !body.contains("percentage points"));
        // The timeline's four rows and the Success Metrics Summary's four.
        assert_eq!(
            body.matches("| not measured | not measured |").count(),
            8,
            "{body}"
        );
    }

    #[test]
    fn template_errors_name_file_and_line() {
        let err = render(
            "milestones/templates/bug-milestone-template.md",
            "ok\n{{ title }\n",
            &view(&sample(), &[], None),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("milestones/templates/bug-milestone-template.md:2:"),
            "{err}"
        );
    }
}
