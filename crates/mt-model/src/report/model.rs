//! Figures over many milestones (README "Reports from the team's milestones"). Pure: the front
//! matter of milestone files in, plain structs out. Every comparison is
//! over the milestones that have a baseline, and says how many those are.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics::{Share, median};
use crate::milestone::FrontMatter;

/// One month's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MonthFigures {
    pub month: String,
    pub milestones: u64,
    pub by_type: BTreeMap<String, u64>,
    pub active_total_ms: u64,
    pub active_median_ms: Option<u64>,
    /// Milestones whose total time has a declared or self-measured baseline.
    pub with_baseline: u64,
    /// Σ baseline ÷ Σ measured over those.
    pub improvement_factor: Option<f64>,
    /// Σ (baseline − measured) over those.
    pub time_saved_ms: Option<i64>,
    pub first_attempt: Share,
    pub first_attempt_automated: Share,
    pub first_attempt_manual: Share,
    pub errors: Share,
    pub errors_automated: Share,
    pub errors_manual: Share,
    /// Runs through `mt exec` ÷ all runs.
    pub automation: Share,
    pub validation_automated: Share,
    /// A coding agent's share of active time, and of runs, over the
    /// milestones that split their work (docs/metrics.md, "Who did the
    /// work"); older files do not count on either side.
    pub agent_time: Share,
    pub agent_runs: Share,
    pub tools: Vec<ToolMonth>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolMonth {
    pub name: String,
    pub runs: u64,
    pub failures: u64,
    pub success: Share,
}

fn add(a: &mut Share, b: Share) {
    a.part += b.part;
    a.whole += b.whole;
}

/// The agent's share of a milestone's active time and runs, when the
/// milestone split its work (older files count on neither side).
fn add_agent_share(f: &mut MonthFigures, t: &crate::milestone::Measured) {
    if t.work.is_empty() {
        return;
    }
    let agent = t.work.get("agent").copied().unwrap_or_default();
    let (time, runs) = (t.work.values()).fold((0, 0), |(a, r), w| (a + w.active_ms, r + w.runs));
    let share = |part, whole| Share { part, whole };
    add(&mut f.agent_time, share(agent.active_ms, time));
    add(&mut f.agent_runs, share(agent.runs, runs));
}

/// The month (`YYYY-MM`) a milestone belongs to.
pub fn month_of(m: &FrontMatter) -> &str {
    m.date.get(..7).unwrap_or(&m.date)
}

/// Figures of the milestones dated in `month`.
pub fn month(all: &[FrontMatter], month: &str) -> MonthFigures {
    let ms: Vec<&FrontMatter> = all.iter().filter(|m| month_of(m) == month).collect();
    let mut f = MonthFigures {
        month: month.to_owned(),
        milestones: ms.len() as u64,
        ..Default::default()
    };
    let mut actives = Vec::new();
    let (mut base_sum, mut measured_sum) = (0u64, 0u64);
    let mut tools: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for m in &ms {
        let t = &m.mt;
        *f.by_type.entry(m.kind.clone()).or_default() += 1;
        f.active_total_ms += t.active_ms;
        actives.push(t.active_ms as f64);
        if let Some(base) = t
            .baselines
            .get("total")
            .and_then(super::super::milestone::Baseline::usable_ms)
            && t.active_ms > 0
        {
            f.with_baseline += 1;
            base_sum += base;
            measured_sum += t.active_ms;
        }
        // Each command once, whichever side ran it (older files: the sum).
        add(&mut f.first_attempt, t.success());
        add(&mut f.errors, t.errors_automated);
        add(&mut f.errors, t.errors_manual);
        add(&mut f.first_attempt_automated, t.first_attempt_automated);
        add(&mut f.first_attempt_manual, t.first_attempt_manual);
        add(&mut f.errors_automated, t.errors_automated);
        add(&mut f.errors_manual, t.errors_manual);
        add(
            &mut f.automation,
            Share {
                part: t.runs_automated,
                whole: t.runs_automated + t.runs_manual,
            },
        );
        add(&mut f.validation_automated, t.validation_automated);
        add_agent_share(&mut f, t);
        for tool in &t.tools {
            let e = tools.entry(tool.name.clone()).or_default();
            e.0 += tool.runs;
            e.1 += tool.failures;
        }
    }
    f.active_median_ms = (!actives.is_empty()).then(|| median(&mut actives).round() as u64);
    if f.with_baseline > 0 {
        f.improvement_factor = Some(base_sum as f64 / measured_sum as f64);
        f.time_saved_ms = Some(base_sum as i64 - measured_sum as i64);
    }
    let mut tools: Vec<ToolMonth> = tools
        .into_iter()
        .map(|(name, (runs, failures))| ToolMonth {
            name,
            runs,
            failures,
            success: Share {
                part: runs - failures,
                whole: runs,
            },
        })
        .collect();
    tools.sort_by(|a, b| b.runs.cmp(&a.runs).then_with(|| a.name.cmp(&b.name)));
    f.tools = tools;
    f
}

/// The month before `YYYY-MM`.
pub fn previous_month(month: &str) -> Option<String> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    if !(1..=12).contains(&m) {
        return None;
    }
    Some(if m == 1 {
        format!("{}-12", y - 1)
    } else {
        format!("{y}-{:02}", m - 1)
    })
}

/// Change of a rate in percentage points, when both months measured it.
pub fn change_pp(now: Share, before: Share) -> Option<f64> {
    Some((now.ratio()? - before.ratio()?) * 100.0)
}

/// Months that have milestones, oldest first.
/// Every month from the first milestone's to the last one's, those
/// without milestones included, so that a chart or table shows the gap.
pub fn months(all: &[FrontMatter]) -> Vec<String> {
    let mut seen: Vec<String> = all.iter().map(|m| month_of(m).to_owned()).collect();
    seen.sort();
    seen.dedup();
    let (Some(first), Some(last)) = (seen.first(), seen.last()) else {
        return Vec::new();
    };
    let mut out = vec![first.clone()];
    while out.last().is_some_and(|m| m < last) {
        match next_month(out.last().expect("non-empty")) {
            Some(n) => out.push(n),
            None => break,
        }
    }
    out
}

/// The month after `YYYY-MM`.
fn next_month(month: &str) -> Option<String> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    Some(if m >= 12 {
        format!("{:04}-01", y + 1)
    } else {
        format!("{y:04}-{:02}", m + 1)
    })
}

/// Improvement of one (type, phase) over the milestones that have a baseline for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advantage {
    pub kind: String,
    pub phase: String,
    pub milestones: u64,
    pub with_baseline: u64,
    pub factor: Option<f64>,
    /// The kinds of baseline used: `declared`, `self`.
    pub sources: Vec<String>,
}

/// Per type and phase (and total).
pub fn advantages(all: &[FrontMatter]) -> Vec<Advantage> {
    let mut kinds: Vec<String> = all.iter().map(|m| m.kind.clone()).collect();
    kinds.sort();
    kinds.dedup();
    let mut out = Vec::new();
    for kind in kinds {
        let ms: Vec<&FrontMatter> = all.iter().filter(|m| m.kind == kind).collect();
        for phase in crate::milestone::baseline::KEYS {
            let (mut base, mut measured, mut n) = (0u64, 0u64, 0u64);
            let mut sources = Vec::new();
            for m in &ms {
                let got = if phase == "total" {
                    m.mt.active_ms
                } else {
                    m.mt.phases_ms.get(phase).copied().unwrap_or(0)
                };
                let Some(b) = m.mt.baselines.get(phase) else {
                    continue;
                };
                if let Some(ms) = b.usable_ms().filter(|_| got > 0) {
                    base += ms;
                    measured += got;
                    n += 1;
                    sources.push(b.kind.as_str().to_owned());
                }
            }
            sources.sort();
            sources.dedup();
            out.push(Advantage {
                kind: kind.clone(),
                phase: phase.to_owned(),
                milestones: ms.len() as u64,
                with_baseline: n,
                factor: (n > 0).then(|| base as f64 / measured as f64),
                sources,
            });
        }
    }
    out
}
