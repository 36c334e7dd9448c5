//! Figures computed from recorded commands and edits (docs/metrics.md).
//! Pure: data in, numbers out.

pub mod quality;
pub mod timeline;

use timeline::{Mark, Signal};

use mt_record::domain::{Phase, Text as _, Who};

/// The default idle timeout, for the tables below (callers pass the
/// configured one: `Config::idle_timeout_us`).
#[cfg(test)]
const IDLE_TIMEOUT_US: i64 = crate::config::DEFAULT_IDLE_TIMEOUT.as_micros() as i64;

/// Active time of one stream of intervals on its own: the union plus the
/// gaps no longer than `idle_us` (unsorted input). The timeline's shares
/// are tested against it: over all branches they must add up to this.
#[cfg(test)]
pub fn active_time(intervals: &[(i64, i64)], idle_us: i64) -> i64 {
    let mut sorted: Vec<(i64, i64)> = intervals.iter().map(|&(s, e)| (s, e.max(s))).collect();
    sorted.sort_unstable();
    let mut total = 0;
    let mut covered_to: Option<i64> = None;
    for (start, end) in sorted {
        match covered_to {
            None => total += end - start,
            Some(to) if start <= to => total += (end - to).max(0),
            Some(to) => {
                let gap = start - to;
                if gap <= idle_us {
                    total += gap;
                }
                total += end - start;
            }
        }
        covered_to = Some(covered_to.map_or(end, |to| to.max(end)));
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60 * 1_000_000;

    #[test]
    fn active_time_cases() {
        let cases: &[(&[(i64, i64)], i64)] = &[
            (&[], 0),
            (&[(0, MIN)], MIN),
            // overlap counts once
            (&[(0, 2 * MIN), (MIN, 3 * MIN)], 3 * MIN),
            // nested
            (&[(0, 10 * MIN), (MIN, 2 * MIN)], 10 * MIN),
            // short gap counts
            (&[(0, MIN), (5 * MIN, 6 * MIN)], 6 * MIN),
            // gap exactly the timeout counts
            (&[(0, MIN), (16 * MIN, 17 * MIN)], 17 * MIN),
            // longer gap does not
            (&[(0, MIN), (30 * MIN, 31 * MIN)], 2 * MIN),
            // unsorted input
            (&[(30 * MIN, 31 * MIN), (0, MIN)], 2 * MIN),
        ];
        for (intervals, want) in cases {
            assert_eq!(
                active_time(intervals, IDLE_TIMEOUT_US),
                *want,
                "{intervals:?}"
            );
        }
    }
}

/// One finished command of a branch's span, classified. It borrows its
/// text from the rows it was read from and from the span's classes: a
/// span of 100,000 runs holds a few distinct commands.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub start_us: i64,
    pub end_us: i64,
    pub ok: bool,
    /// Ran through `mt exec` (automated) rather than seen only by a hook.
    pub automated: bool,
    /// The command line as `normalize` spells it: runs of one command
    /// compare equal however they were spaced.
    pub command: &'a str,
    pub phase: Phase,
    pub tool: Option<&'a str>,
    pub manual_steps: Option<u32>,
    /// The commit checked out when it ran, if known.
    pub head: Option<&'a str>,
    /// A person, a script, an agent or CI.
    pub who: Who,
}

/// `mt phase P` at a time.
#[derive(Debug, Clone)]
pub struct Marker {
    pub at_us: i64,
    pub phase: Phase,
}

/// A file of the working tree written at a time (path relative to the
/// root), with the phase a path rule maps it to.
#[derive(Debug, Clone)]
pub struct Edit {
    pub at_us: i64,
    pub path: String,
    pub phase: Option<Phase>,
    /// The person's save, or one an agent reported.
    pub who: Who,
}

/// One edited file: how often it was saved and the time counted up to its
/// saves (the editing that led to them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedFile {
    pub path: String,
    pub saves: u64,
    pub edit_us: i64,
}

/// A share with the counts it came from; `None` share when nothing was counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Share {
    pub part: u64,
    pub whole: u64,
}

impl Share {
    pub fn is_empty(&self) -> bool {
        self.whole == 0
    }

    pub fn ratio(self) -> Option<f64> {
        (self.whole > 0).then(|| self.part as f64 / self.whole as f64)
    }
}

/// A share as a milestone prints it: `12.5% (1 of 8)`.
impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ratio() {
            Some(r) => write!(f, "{:.1}% ({} of {})", r * 100.0, self.part, self.whole),
            None => f.write_str("not measured (no runs)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolFigures {
    pub name: String,
    pub runs: u64,
    pub failures: u64,
    pub median_ms: f64,
    pub total_ms: f64,
}

/// Every figure docs/metrics.md defines for one span.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub active_us: i64,
    pub elapsed_us: i64,
    /// diagnosis, implementation, validation, other (sums to `active_us`).
    pub phase_us: std::collections::BTreeMap<Phase, i64>,
    pub runs_automated: u64,
    pub runs_manual: u64,
    pub errors_automated: Share,
    pub errors_manual: Share,
    pub first_attempt_automated: Share,
    pub first_attempt_manual: Share,
    /// First-attempt success over every distinct command once, whichever
    /// side ran it first.
    pub first_attempt: Share,
    pub validation_automated: Share,
    pub manual_steps_eliminated: u64,
    pub tools: Vec<ToolFigures>,
    /// Files edited, most editing time first.
    pub edited: Vec<EditedFile>,
    /// Share of runs automated (`mt exec`).
    pub automation_runs: Share,
    /// Share of command time (ms) spent in automated runs.
    pub automation_time_ms: Share,
    pub caught: Vec<quality::Caught>,
    pub consistency: quality::Consistency,
    pub like_for_like: quality::LikeForLike,
    /// The work split by who did it (docs/metrics.md, "Who did the work"):
    /// the active times add up to `active_us`.
    pub work: std::collections::BTreeMap<Who, Work>,
    /// An agent's runs against a person's, over commands both ran.
    pub agent_like_for_like: quality::LikeForLike,
}

/// One side of the four-way split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Moments of the timeline its signals brought (their own time and
    /// the gaps they ended or began).
    pub active_us: i64,
    pub runs: u64,
    pub failures: u64,
    /// Over its distinct commands, the share whose first run succeeded.
    pub first_attempt: Share,
}

/// What one span is measured from: its own signals, and the intervals of
/// everything recorded elsewhere (other branches and repositories) around
/// it, which take their own moments on the one timeline.
#[derive(Debug, Clone, Copy)]
pub struct Span<'a> {
    pub runs: &'a [Run<'a>],
    pub markers: &'a [Marker],
    pub edits: &'a [Edit],
    /// (start, end, in the same repository).
    pub elsewhere: &'a [(i64, i64, bool)],
}

/// The figures of a span closed at `close_us`.
pub fn compute(span: Span<'_>, idle_us: i64, close_us: i64) -> Figures {
    let mut runs: Vec<&Run> = span.runs.iter().collect();
    runs.sort_by_key(|r| (r.start_us, r.end_us));
    let mut f = Figures::default();
    for p in Phase::ALL {
        f.phase_us.insert(*p, 0);
    }
    let share = timeline::share(&signals(span), idle_us);
    for (phase, us) in &share.phase_us {
        *f.phase_us.entry(*phase).or_default() += us;
    }
    f.active_us = share.active_us();
    f.work = work(span, &share);
    f.edited = edited(
        span.edits,
        &share.credit_us[span.runs.len() + span.markers.len()..],
    );
    let first = runs
        .first()
        .map(|r| r.start_us)
        .into_iter()
        .chain(span.markers.iter().map(|m| m.at_us))
        .chain(span.edits.iter().map(|e| e.at_us))
        .min();
    f.elapsed_us = first.map_or(0, |t| (close_us - t).max(0));

    f.tools = tally_runs(&runs, &mut f);
    f.automation_runs = Share {
        part: f.runs_automated,
        whole: f.runs_automated + f.runs_manual,
    };
    let ms = |r: &&Run| ((r.end_us - r.start_us).max(0) / 1000) as u64;
    f.automation_time_ms = Share {
        part: runs.iter().filter(|r| r.automated).map(ms).sum(),
        whole: runs.iter().map(ms).sum(),
    };
    f.caught = quality::caught(&runs);
    f.consistency = quality::consistency(&runs, span.edits);
    f.like_for_like = quality::like_for_like(&runs);
    f.agent_like_for_like = agent_like_for_like(&runs);
    f
}

/// The runs' counts by side (automated or typed), first-attempt success
/// per distinct command, validation coverage, manual steps replaced; and
/// the figures of each named tool.
fn tally_runs(runs: &[&Run<'_>], f: &mut Figures) -> Vec<ToolFigures> {
    let mut seen_auto: foldhash::HashSet<&str> = Default::default();
    let mut seen_manual: foldhash::HashSet<&str> = Default::default();
    let mut seen_any: foldhash::HashSet<&str> = Default::default();
    let mut tools: std::collections::BTreeMap<&str, (u64, u64, Vec<f64>)> = Default::default();
    for r in runs {
        let (errors, first, seen) = if r.automated {
            f.runs_automated += 1;
            (
                &mut f.errors_automated,
                &mut f.first_attempt_automated,
                &mut seen_auto,
            )
        } else {
            f.runs_manual += 1;
            (
                &mut f.errors_manual,
                &mut f.first_attempt_manual,
                &mut seen_manual,
            )
        };
        errors.whole += 1;
        errors.part += u64::from(!r.ok);
        if seen.insert(r.command) {
            first.whole += 1;
            first.part += u64::from(r.ok);
        }
        if seen_any.insert(r.command) {
            f.first_attempt.whole += 1;
            f.first_attempt.part += u64::from(r.ok);
        }
        if r.phase == Phase::Validation {
            f.validation_automated.whole += 1;
            f.validation_automated.part += u64::from(r.automated);
        }
        if r.automated {
            f.manual_steps_eliminated += u64::from(r.manual_steps.unwrap_or(0));
        }
        if let Some(t) = r.tool {
            let e = tools.entry(t).or_default();
            e.0 += 1;
            e.1 += u64::from(!r.ok);
            e.2.push((r.end_us - r.start_us) as f64 / 1000.0);
        }
    }
    tools
        .into_iter()
        .map(|(name, (runs, failures, mut ms))| ToolFigures {
            name: name.to_owned(),
            runs,
            failures,
            median_ms: median(&mut ms),
            total_ms: ms.iter().sum(),
        })
        .collect()
}

pub use crate::classify::normalize;

/// Median of `v` (sorted in place); 0 for an empty slice.
pub fn median(v: &mut [f64]) -> f64 {
    quantile(v, 0.5)
}

/// Linear-interpolated quantile of `v` (sorted in place); 0 when empty.
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// The span on the timeline: runs, then markers, then edits (the order
/// `compute` reads credits back in), then everything elsewhere.
fn signals(span: Span<'_>) -> Vec<Signal> {
    let point = |at, mark| Signal {
        start_us: at,
        end_us: at,
        mark,
    };
    let runs = span.runs.iter().map(|r| Signal {
        start_us: r.start_us,
        end_us: r.end_us,
        mark: Mark::Run { phase: r.phase },
    });
    let markers = span
        .markers
        .iter()
        .map(|m| point(m.at_us, Mark::Marker { phase: m.phase }));
    let edits = span.edits.iter().map(|e| {
        let phase = e.phase;
        point(e.at_us, Mark::Edit { phase })
    });
    let elsewhere = span.elsewhere.iter().map(|&(s, e, here)| Signal {
        start_us: s,
        end_us: e,
        mark: Mark::Elsewhere { here },
    });
    runs.chain(markers).chain(edits).chain(elsewhere).collect()
}

/// The span's work by who did it: each signal's credit (its own time and
/// the gaps it ended or began) to its author — runs to their source, edits
/// to the person or the agent that reported them, markers to the person.
fn work(span: Span<'_>, share: &timeline::Share) -> std::collections::BTreeMap<Who, Work> {
    let mut out: std::collections::BTreeMap<Who, Work> = std::collections::BTreeMap::new();
    let whos = (span.runs.iter().map(|r| r.who))
        .chain(span.markers.iter().map(|_| Who::Person))
        .chain(span.edits.iter().map(|e| e.who));
    for (i, who) in whos.enumerate() {
        out.entry(who).or_default().active_us += share.credit_us[i] + share.after_us[i];
    }
    let mut runs: Vec<&Run> = span.runs.iter().collect();
    runs.sort_by_key(|r| (r.start_us, r.end_us));
    let mut seen: foldhash::HashSet<(Who, &str)> = Default::default();
    for r in runs {
        let w = out.entry(r.who).or_default();
        w.runs += 1;
        w.failures += u64::from(!r.ok);
        if seen.insert((r.who, r.command)) {
            w.first_attempt.whole += 1;
            w.first_attempt.part += u64::from(r.ok);
        }
    }
    out
}

/// An agent's runs against a person's, like for like: the automated side
/// is the agent's.
fn agent_like_for_like(runs: &[&Run<'_>]) -> quality::LikeForLike {
    let pair: Vec<Run> = (runs.iter())
        .filter(|r| matches!(r.who, Who::Agent | Who::Person))
        .map(|r| Run {
            automated: r.who == Who::Agent,
            ..**r
        })
        .collect();
    let refs: Vec<&Run> = pair.iter().collect();
    quality::like_for_like(&refs)
}

/// Edits grouped by file, with the time each edit's gap brought.
fn edited(edits: &[Edit], credit_us: &[i64]) -> Vec<EditedFile> {
    let mut by: std::collections::BTreeMap<&str, (u64, i64)> = Default::default();
    for (e, us) in edits.iter().zip(credit_us) {
        let entry = by.entry(&e.path).or_default();
        entry.0 += 1;
        entry.1 += us;
    }
    let mut out: Vec<EditedFile> = by
        .into_iter()
        .map(|(path, (saves, edit_us))| EditedFile {
            path: path.to_owned(),
            saves,
            edit_us,
        })
        .collect();
    out.sort_by(|a, b| b.edit_us.cmp(&a.edit_us).then_with(|| a.path.cmp(&b.path)));
    out
}

#[cfg(test)]
mod figure_tests {
    use super::*;

    const S: i64 = 1_000_000;

    fn span<'a>(runs: &'a [Run<'a>], markers: &'a [Marker]) -> Span<'a> {
        Span {
            runs,
            markers,
            edits: &[],
            elsewhere: &[],
        }
    }

    fn run<'a>(
        start: i64,
        end: i64,
        ok: bool,
        automated: bool,
        command: &'a str,
        phase: &'a str,
    ) -> Run<'a> {
        Run {
            start_us: start * S,
            end_us: end * S,
            ok,
            automated,
            command,
            phase: Phase::parse(phase).unwrap(),
            tool: None,
            manual_steps: None,
            head: None,
            who: if automated { Who::Script } else { Who::Person },
        }
    }

    /// A command run both by a program and typed counts once in the
    /// overall first-attempt success (its first run decides), once in each
    /// side's own figure.
    #[test]
    fn a_command_run_both_ways_counts_once_overall() {
        let runs = vec![
            run(0, 10, false, false, "pytest", "validation"),
            run(20, 30, true, true, "pytest", "validation"),
            run(40, 50, true, false, "ruff check", "validation"),
        ];
        let f = compute(span(&runs, &[]), IDLE_TIMEOUT_US, 100 * S);
        assert_eq!(f.first_attempt, Share { part: 1, whole: 2 });
        assert_eq!(f.first_attempt_manual, Share { part: 1, whole: 2 });
        assert_eq!(f.first_attempt_automated, Share { part: 1, whole: 1 });
    }

    #[test]
    fn phases_gaps_markers_and_retries() {
        let runs = vec![
            run(0, 10, true, false, "git log", "diagnosis"),
            // 20 s gap → diagnosis (the phase in force)
            run(30, 40, true, false, "vim a.rs", "implementation"),
            run(45, 50, false, true, "cargo test", "validation"),
            run(55, 60, true, true, "cargo test", "validation"), // retry, same command
            // idle gap of 1940 s to the marker: not counted; the marker is a
            // signal, so the 60 s from it to `ls` count, to diagnosis
            run(2060, 2070, true, false, "ls", "other"), // "other" → phase in force
        ];
        let markers = vec![Marker {
            at_us: 2000 * S,
            phase: Phase::Diagnosis,
        }];
        let f = compute(span(&runs, &markers), IDLE_TIMEOUT_US, 3000 * S);
        let p = |k: &str| f.phase_us[&Phase::parse(k).unwrap()] / S;
        assert_eq!(
            (
                p("diagnosis"),
                p("implementation"),
                p("validation"),
                p("other")
            ),
            (30 + 60 + 10, 15, 10 + 5, 0)
        );
        let signals: Vec<(i64, i64)> = runs
            .iter()
            .map(|r| (r.start_us, r.end_us))
            .chain([(2000 * S, 2000 * S)])
            .collect();
        assert_eq!(f.active_us, active_time(&signals, IDLE_TIMEOUT_US));
        assert_eq!(f.elapsed_us, 3000 * S);
        assert_eq!(f.errors_automated, Share { part: 1, whole: 2 });
        assert_eq!(f.errors_manual, Share { part: 0, whole: 3 });
        // One command whose first run failed.
        assert_eq!(f.first_attempt_automated, Share { part: 0, whole: 1 });
        assert_eq!(f.first_attempt_manual, Share { part: 3, whole: 3 });
        assert_eq!(f.validation_automated, Share { part: 2, whole: 2 });
    }

    #[test]
    fn overlaps_count_once_and_empty_spans_measure_nothing() {
        let runs = vec![
            run(0, 10, true, true, "make", "implementation"),
            run(5, 20, true, true, "cargo test", "validation"),
        ];
        let f = compute(span(&runs, &[]), IDLE_TIMEOUT_US, 20 * S);
        assert_eq!(
            (
                f.phase_us[&Phase::Implementation] / S,
                f.phase_us[&Phase::Validation] / S,
                f.active_us / S
            ),
            (10, 10, 20)
        );
        let empty = compute(span(&[], &[]), IDLE_TIMEOUT_US, 0);
        assert_eq!(
            (
                empty.active_us,
                empty.errors_manual.ratio(),
                empty.validation_automated.ratio()
            ),
            (0, None, None)
        );
    }

    #[test]
    fn normalizing_borrows_what_is_already_normal() {
        use std::borrow::Cow;
        assert!(matches!(normalize("cargo test -q"), Cow::Borrowed(_)));
        for odd in [
            "cargo  test",
            " cargo test",
            "cargo test ",
            "cargo\ttest",
            "cargo\u{a0}test",
        ] {
            assert_eq!(normalize(odd).split(' ').count(), 2, "{odd:?}");
        }
    }

    #[test]
    fn tools_and_manual_steps() {
        let mut a = run(0, 2, true, true, "./qc.sh", "validation");
        a.tool = Some("QC");
        a.manual_steps = Some(6);
        let mut b = a;
        b.start_us = 10 * S;
        b.end_us = 14 * S;
        b.ok = false;
        let mut c = b;
        c.automated = false; // a manual run replaces nothing
        let f = compute(span(&[a, b, c], &[]), IDLE_TIMEOUT_US, 20 * S);
        assert_eq!(f.manual_steps_eliminated, 12);
        assert_eq!(
            f.tools,
            vec![ToolFigures {
                name: "QC".into(),
                runs: 3,
                failures: 2,
                median_ms: 4000.0,
                total_ms: 10000.0
            }]
        );
    }
}
