//! Who did the work (docs/metrics.md, "Who did the work"): the milestone's
//! four-way split — a person, a script or tool, a coding agent, CI — and
//! the Agent lines of Automation Metrics and Developer Experience. Pure:
//! the `mt:` block in, template variables out.

use serde::Serialize;

use super::{Measured, WorkRow};
use crate::display::human_ms;
use crate::metrics::Share;
use crate::metrics::quality::MIN_RUNS;
use mt_record::domain::Who;

/// One row of the split, as the template shows it.
#[derive(Debug, Serialize)]
pub struct WorkView {
    who: String,
    active: String,
    runs: u64,
    failures: u64,
    first_attempt: String,
}

/// The split's rows, person first; none for a milestone written before it.
pub fn rows(m: &Measured) -> Vec<WorkView> {
    let order = [Who::Person, Who::Script, Who::Agent, Who::Ci];
    order
        .iter()
        .filter_map(|who| Some((who, m.work.get(who.as_str())?)))
        .map(|(who, w)| WorkView {
            who: label(*who, m),
            active: format!(
                "{}{}",
                human_ms(w.active_ms as f64),
                percent_of(w.active_ms, m.active_ms)
            ),
            runs: w.runs,
            failures: w.failures,
            first_attempt: w.first_attempt.to_string(),
        })
        .collect()
}

fn label(who: Who, m: &Measured) -> String {
    match who {
        Who::Person => "Person (typed, saved)".to_owned(),
        Who::Script => "Script or tool (`mt exec`)".to_owned(),
        Who::Agent if m.agents.is_empty() => "Agent".to_owned(),
        Who::Agent => format!("Agent ({})", m.agents.join(", ")),
        Who::Ci => "CI".to_owned(),
    }
}

fn percent_of(part: u64, whole: u64) -> String {
    Share { part, whole }
        .ratio()
        .map_or(String::new(), |r| format!(" ({:.1}%)", r * 100.0))
}

fn agent_row(m: &Measured) -> Option<&WorkRow> {
    m.work.get(Who::Agent.as_str())
}

/// Automation Metrics' Agent line: its runs, failures, first-attempt
/// success and time, and how it fares against a person on the same
/// commands (like for like, with n on both sides).
pub fn agent_line(m: &Measured) -> String {
    let Some(a) = agent_row(m) else {
        return not_recorded(m);
    };
    let errors = Share {
        part: a.failures,
        whole: a.runs,
    };
    format!(
        "{}, error rate {}, first-attempt success {}; {}",
        crate::display::count(a.runs, "run", "runs"),
        errors,
        a.first_attempt,
        against_a_person(m)
    )
}

fn against_a_person(m: &Measured) -> String {
    let l = &m.agent_like_for_like;
    let (a, p) = (l.errors_automated.whole, l.errors_manual.whole);
    if l.classes.is_empty() {
        return "against a person: not compared (no command run by both)".to_owned();
    }
    if a < MIN_RUNS || p < MIN_RUNS {
        return format!(
            "against a person: insufficient data (agent n={a}, person n={p}; {MIN_RUNS} runs a side needed)"
        );
    }
    format!(
        "error rate against a person's on the same {} command{}: {} vs {}",
        l.classes.len(),
        if l.classes.len() == 1 { "" } else { "s" },
        l.errors_automated,
        l.errors_manual
    )
}

/// Developer Experience's Agent line: the agent's share of the work.
pub fn agent_share(m: &Measured) -> String {
    let Some(a) = agent_row(m) else {
        return not_recorded(m);
    };
    let runs: u64 = m.work.values().map(|w| w.runs).sum();
    format!(
        "{} of active time{} and {} of {} runs were the agent's",
        human_ms(a.active_ms as f64),
        percent_of(a.active_ms, m.active_ms),
        a.runs,
        runs
    )
}

fn not_recorded(m: &Measured) -> String {
    if m.work.is_empty() {
        "not measured (written before mt split the work)".to_owned()
    } else {
        "no agent recorded (`mt init claude-code` or `mt init agent` records one)".to_owned()
    }
}
