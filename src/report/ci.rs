//! A CI run's figures (the framework's "CI Integration"): workflow duration,
//! success rate and per-step timings of the commands `mt exec` ran under
//! `CI=true`. Pure.

use serde::Serialize;

use crate::event::{Event, human_ms};
use crate::event::{EventKind, Source};
use crate::metrics::Share;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Step {
    pub command: String,
    pub duration_ms: u64,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub ok: bool,
}

/// What `milestone_metrics.yaml` holds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CiSummary {
    /// First step's start → last step's end.
    pub workflow_duration_ms: u64,
    pub workflow_duration: String,
    pub runs: u64,
    pub failed: u64,
    /// Succeeded steps ÷ steps; absent when no step ran.
    pub success_rate: Option<f64>,
    pub steps: Vec<Step>,
}

/// Figures of the CI steps among `events` (any order).
pub(crate) fn summarize(events: &[Event]) -> CiSummary {
    let mut ci: Vec<&Event> = events
        .iter()
        .filter(|e| e.source == Source::Ci && e.kind == EventKind::Command)
        .collect();
    ci.sort_by_key(|e| (e.start_us, e.id));
    let first = ci.iter().map(|e| e.start_us).min();
    let last = ci.iter().map(|e| e.end_us.unwrap_or(e.start_us)).max();
    let duration = match (first, last) {
        (Some(a), Some(b)) => ((b - a).max(0) / 1000) as u64,
        _ => 0,
    };
    let steps: Vec<Step> = ci
        .iter()
        .map(|e| Step {
            // The step summary is published: the command's shape (paths of
            // the checkout kept), never its values.
            command: crate::redact::shape::shape(&e.command, |w| {
                !w.starts_with('/') && !w.contains("..") && std::path::Path::new(w).exists()
            }),
            duration_ms: e.duration_ms.unwrap_or(0.0).round() as u64,
            exit_code: e.exit_code,
            signal: e.signal,
            ok: crate::event::succeeded(e.state, e.exit_code, e.signal),
        })
        .collect();
    let ok = Share {
        part: steps.iter().filter(|s| s.ok).count() as u64,
        whole: steps.len() as u64,
    };
    CiSummary {
        workflow_duration_ms: duration,
        workflow_duration: human_ms(duration as f64),
        runs: ok.whole,
        failed: ok.whole - ok.part,
        success_rate: ok.ratio(),
        steps,
    }
}

/// Markdown for `$GITHUB_STEP_SUMMARY`.
pub(crate) fn markdown(s: &CiSummary) -> String {
    let rate = s.success_rate.map_or_else(
        || "not measured (no step ran through mt exec)".to_owned(),
        |r| format!("{:.1}%", r * 100.0),
    );
    let mut out = format!(
        "### mt: CI figures\n\n- Workflow duration: {} (first step start → last step end)\n- Success rate: {rate} ({} of {} steps)\n\n| Step | Duration | Result |\n|------|---------:|--------|\n",
        s.workflow_duration,
        s.runs - s.failed,
        s.runs
    );
    for step in &s.steps {
        let result = match (step.exit_code, step.signal) {
            (_, Some(sig)) => format!("signal {sig}"),
            (Some(0), _) => "ok".to_owned(),
            (Some(c), _) => format!("exit {c}"),
            _ => "unfinished".to_owned(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {result} |\n",
            step.command.replace('|', "\\|"),
            human_ms(step.duration_ms as f64)
        ));
    }
    out
}
