//! The user's one timeline (docs/metrics.md, "One timeline"): signals from
//! every repository and branch, swept once in time order, so each counted
//! moment belongs to exactly one branch and one phase.
//!
//! A command's own interval goes to its branch (where two overlap, to the
//! one already running); a gap no longer than the idle timeout goes to the
//! branch of the signal that ends it when both signals are in one
//! repository, and stays with the branch where it began when the next
//! signal is in another: until a signal shows the person there, nothing
//! says they were (a repository's first command does not take the minutes
//! spent in another before it). For the branch being measured, the
//! gap's phase is implementation when that signal is an edit (or the phase
//! a path rule gives the edited file), else the phase in force; a `mt phase`
//! marker overrides the edit rule until the next marker or classified
//! command.

use std::collections::BTreeMap;

use mt_record::domain::Phase;

/// What a signal is, seen from the branch being measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// One of its commands, with its classified phase (`other` when none).
    Run { phase: Phase },
    /// One of its edits, with the phase a path rule maps the file to.
    Edit { phase: Option<Phase> },
    /// One of its `mt phase` markers.
    Marker { phase: Phase },
    /// Anything on another branch (`here`: of the same repository) or in
    /// another repository: it takes its own moments and the gaps it ends,
    /// and tells nothing about this branch's phases.
    Elsewhere { here: bool },
}

impl Mark {
    fn owner(self) -> Owner {
        match self {
            Mark::Elsewhere { here: true } => Owner::Here,
            Mark::Elsewhere { here: false } => Owner::Away,
            _ => Owner::Ours,
        }
    }
}

/// Whose a signal is, seen from the branch measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Owner {
    Ours,
    /// Another branch of the same repository (worktree).
    Here,
    /// Another repository.
    #[default]
    Away,
}

impl Owner {
    /// Whether the gap from a signal of `self`'s to one of `next`'s is the
    /// branch measured's: the next signal's owner takes it within one
    /// repository, the first's across two.
    fn gap_is_ours(self, next: Owner) -> bool {
        match next {
            Owner::Ours => self != Owner::Away,
            Owner::Away => self == Owner::Ours,
            Owner::Here => false,
        }
    }

    /// As a checkpoint stores it.
    pub fn code(self) -> i64 {
        match self {
            Owner::Ours => 0,
            Owner::Here => 1,
            Owner::Away => 2,
        }
    }

    pub fn from_code(code: Option<i64>) -> Owner {
        match code {
            Some(0) => Owner::Ours,
            Some(1) => Owner::Here,
            _ => Owner::Away,
        }
    }
}

/// A point (edit, marker) or interval (command) on the timeline, in µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal {
    pub start_us: i64,
    pub end_us: i64,
    pub mark: Mark,
}

/// This branch's share of the timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Share {
    /// Counted µs by phase; the values sum to the branch's active time.
    pub phase_us: BTreeMap<Phase, i64>,
    /// Per input signal (same order), the µs it brought: a gap it ended
    /// plus its own uncovered interval. 0 for `Elsewhere`.
    pub credit_us: Vec<i64>,
    /// Per input signal, the gap it began that stayed with this branch as
    /// the person moved to another repository (see `Owner`). With
    /// `credit_us`, every counted µs is some signal's.
    pub after_us: Vec<i64>,
}

impl Share {
    pub fn active_us(&self) -> i64 {
        self.phase_us.values().sum()
    }
}

/// The phase in force on the branch being measured.
struct State {
    phase: Phase,
    /// Set by a marker: edits do not switch the gap's phase.
    explicit: bool,
}

/// The stretch of the timeline that matters to a span whose signals are
/// `spans` (start, end): from one idle timeout before its first start (what
/// can end its first gap) to its last end. `None` for an empty span.
pub fn window(spans: impl IntoIterator<Item = (i64, i64)>, idle_us: i64) -> Option<(i64, i64)> {
    spans
        .into_iter()
        .map(|(s, e)| (s, e.max(s)))
        .reduce(|(a, b), (s, e)| (a.min(s), b.max(e)))
        .map(|(first, last)| (first - idle_us, last))
}

/// The timeline's order: by start, then end (never before the start), the
/// branch measured first at a tie. `share` and a resumed `Tally` both sweep
/// in it, so that they agree.
pub fn order_key(start_us: i64, end_us: i64, who: Owner) -> (i64, i64, u8) {
    // Whose signal comes first at a tie decides whose the next gap is:
    // a fixed rank, so that a resumed sweep agrees with the whole one.
    (start_us, end_us.max(start_us), who as u8)
}

/// Where a sweep stands: how far the timeline is covered so far, and
/// whose signal reached that far. Signals must be fed in `order_key` order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub covered_us: Option<i64>,
    pub covered_by: Owner,
}

/// What one signal brings: the counted gap it ends (and whether that gap
/// is the measured branch's) and the part of its own interval nothing
/// before it covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub gap_us: i64,
    pub gap_ours: bool,
    pub own_us: i64,
}

impl Cursor {
    /// Take the signal `start_us..end_us` of `who`.
    pub fn step(&mut self, start_us: i64, end_us: i64, who: Owner, idle_us: i64) -> Step {
        let end = end_us.max(start_us);
        let gap = self.covered_us.map_or(0, |c| start_us - c);
        let gap = if (1..=idle_us).contains(&gap) { gap } else { 0 };
        let gap_ours = self.covered_by.gap_is_ours(who);
        let own = end - self.covered_us.map_or(start_us, |c| c.max(start_us));
        if self.covered_us.is_none_or(|c| end >= c) {
            self.covered_by = who;
        }
        self.covered_us = Some(self.covered_us.map_or(end, |c| c.max(end)));
        Step {
            gap_us: gap,
            gap_ours,
            own_us: own.max(0),
        }
    }
}

/// A phase-free sweep that can stop and resume: the branch's active time
/// so far and the cursor. `mt status` keeps one per branch (a checkpoint)
/// so it sweeps only what is newer (docs/metrics.md, "mt status").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub cursor: Cursor,
    pub ours_us: i64,
}

impl Tally {
    /// Take `keyed` (start, end, owner), sorted here into `order_key` order.
    pub fn sweep(mut self, keyed: &mut [(i64, i64, Owner)], idle_us: i64) -> Tally {
        keyed.sort_unstable_by_key(|&(s, e, who)| order_key(s, e, who));
        for &(s, e, who) in keyed.iter() {
            self.feed(s, e, who, idle_us);
        }
        self
    }

    /// Take one signal of `who`.
    pub fn feed(&mut self, start_us: i64, end_us: i64, who: Owner, idle_us: i64) {
        let step = self.cursor.step(start_us, end_us, who, idle_us);
        if step.gap_ours {
            self.ours_us += step.gap_us;
        }
        if who == Owner::Ours {
            self.ours_us += step.own_us;
        }
    }
}

/// Sweep `signals` (any order) with gaps up to `idle_us` counted.
pub fn share(signals: &[Signal], idle_us: i64) -> Share {
    // Sorting the keys themselves (not indices into `signals`) keeps the
    // sort in cache; the index breaks what `order_key` leaves tied, so the
    // order is deterministic.
    let mut order: Vec<((i64, i64, u8), usize)> = signals
        .iter()
        .enumerate()
        .map(|(i, s)| (order_key(s.start_us, s.end_us, s.mark.owner()), i))
        .collect();
    order.sort_unstable();
    let mut out = Share {
        phase_us: BTreeMap::new(),
        credit_us: vec![0; signals.len()],
        after_us: vec![0; signals.len()],
    };
    // The signal of ours that reached furthest: it began the next gap.
    let mut reached: Option<usize> = None;
    let mut state = State {
        phase: Phase::Other,
        explicit: false,
    };
    let mut cursor = Cursor::default();
    for ((start_us, end, _), i) in order {
        let s = Signal {
            start_us,
            end_us: end,
            mark: signals[i].mark,
        };
        let before = cursor.covered_us;
        let step = cursor.step(start_us, end, s.mark.owner(), idle_us);
        let gap = if step.gap_ours { step.gap_us } else { 0 };
        if let Mark::Elsewhere { .. } = s.mark {
            // A gap that stays with this branch as the person moves on.
            add(&mut out.phase_us, state.phase, gap);
            if let Some(r) = reached.filter(|_| gap > 0) {
                out.after_us[r] += gap;
            }
            continue;
        }
        if before.is_none_or(|c| end >= c) {
            reached = Some(i);
        }
        let own = step.own_us;
        let (gap_phase, own_phase) = match s.mark {
            Mark::Edit { phase } if !state.explicit => {
                (phase.unwrap_or(Phase::Implementation), state.phase)
            }
            Mark::Run { phase } => (
                state.phase,
                if phase == Phase::Other {
                    state.phase
                } else {
                    phase
                },
            ),
            _ => (state.phase, state.phase),
        };
        add(&mut out.phase_us, gap_phase, gap);
        add(&mut out.phase_us, own_phase, own);
        out.credit_us[i] = gap + own;
        match s.mark {
            Mark::Marker { phase } => {
                state = State {
                    phase,
                    explicit: true,
                }
            }
            Mark::Run { phase } if phase != Phase::Other => {
                state = State {
                    phase,
                    explicit: false,
                }
            }
            _ => {}
        }
    }
    out
}

fn add(map: &mut BTreeMap<Phase, i64>, phase: Phase, us: i64) {
    if us > 0 {
        *map.entry(phase).or_default() += us;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;
    const IDLE: i64 = 15 * 60 * S;

    fn run(a: i64, b: i64, phase: &str) -> Signal {
        Signal {
            start_us: a * S,
            end_us: b * S,
            mark: Mark::Run {
                phase: Phase::parse(phase).unwrap(),
            },
        }
    }
    fn edit(t: i64) -> Signal {
        Signal {
            start_us: t * S,
            end_us: t * S,
            mark: Mark::Edit { phase: None },
        }
    }
    /// Another branch of the same repository.
    fn elsewhere(a: i64, b: i64) -> Signal {
        Signal {
            start_us: a * S,
            end_us: b * S,
            mark: Mark::Elsewhere { here: true },
        }
    }
    /// Another repository.
    fn away(a: i64, b: i64) -> Signal {
        Signal {
            start_us: a * S,
            end_us: b * S,
            mark: Mark::Elsewhere { here: false },
        }
    }

    /// The case: a few seconds in another repository, then this
    /// one's first command. The gap between them stays with the other
    /// repository (this span's active time is its own command, not more
    /// than its elapsed time); the gap after this one's last command, ended
    /// by the other repository's next signal, is this span's.
    #[test]
    fn a_gap_between_repositories_stays_where_it_began() {
        let s = share(&[away(0, 2), run(7, 9, "validation"), away(12, 13)], IDLE);
        assert_eq!(
            s.active_us() / S,
            2 + 3,
            "its command, then the gap it began"
        );
        // Within one repository the next signal's branch takes the gap.
        let s = share(&[elsewhere(0, 2), run(7, 9, "validation")], IDLE);
        assert_eq!(s.active_us() / S, 5 + 2);
    }
    fn secs(s: &Share, phase: &str) -> i64 {
        s.phase_us
            .get(&Phase::parse(phase).unwrap())
            .copied()
            .unwrap_or(0)
            / S
    }

    /// The case: a diagnosis run, a failing test, 20 s of editing
    /// with no command, a passing test. The editing is implementation.
    #[test]
    fn editing_between_runs_is_implementation() {
        let signals = [
            run(0, 1, "diagnosis"),
            run(2, 3, "validation"),
            edit(10),
            edit(20),
            run(23, 24, "validation"),
        ];
        let s = share(&signals, IDLE);
        assert_eq!(
            (
                secs(&s, "diagnosis"),
                secs(&s, "implementation"),
                secs(&s, "validation")
            ),
            (2, 17, 5),
            "{s:?}"
        );
        assert_eq!(s.active_us(), 24 * S);
        assert_eq!(s.credit_us[2..4], [7 * S, 10 * S]);
    }

    #[test]
    fn a_marker_beats_the_edit_rule_until_a_classified_command() {
        let m = Signal {
            start_us: 5 * S,
            end_us: 5 * S,
            mark: Mark::Marker {
                phase: Phase::Diagnosis,
            },
        };
        let rule = Signal {
            start_us: 40 * S,
            end_us: 40 * S,
            mark: Mark::Edit {
                phase: Some(Phase::Validation),
            },
        };
        let s = share(
            &[
                run(0, 1, "other"),
                m,
                edit(10),
                run(20, 21, "implementation"),
                rule,
            ],
            IDLE,
        );
        // 0-1 other; 1-5 other (gap ends at the marker); 5-10 diagnosis
        // (marker beats edit); 10-20 diagnosis; 20-21 implementation; the
        // tests/** rule sends 21-40 to validation.
        assert_eq!(
            (
                secs(&s, "other"),
                secs(&s, "diagnosis"),
                secs(&s, "implementation"),
                secs(&s, "validation")
            ),
            (5, 15, 1, 19)
        );
    }

    /// Two branches interleaved: each moment counted once, so the shares
    /// add up to the whole timeline's active time.
    #[test]
    fn interleaved_branches_share_the_timeline() {
        // Branch A at 0-10 and 40-50, branch B at 20-30 and 60-70; an idle
        // gap of an hour before the last A run at 3670-3680.
        let a = [(0, 10), (40, 50), (3670, 3680)];
        let b = [(20, 30), (60, 70)];
        let view = |ours: &[(i64, i64)], theirs: &[(i64, i64)]| {
            let mut v: Vec<Signal> = ours.iter().map(|&(x, y)| run(x, y, "other")).collect();
            v.extend(theirs.iter().map(|&(x, y)| elsewhere(x, y)));
            share(&v, IDLE).active_us() / S
        };
        let (sa, sb) = (view(&a, &b), view(&b, &a));
        let all: Vec<(i64, i64)> = a.iter().chain(&b).map(|&(x, y)| (x * S, y * S)).collect();
        assert_eq!(sa + sb, super::super::active_time(&all, IDLE) / S);
        // A: 0-10, 30-50 (gap after B ends at A's run), 3670-3680.
        assert_eq!((sa, sb), (40, 40));
    }

    #[test]
    fn a_command_elsewhere_takes_the_moments_it_covers() {
        let s = share(
            &[
                elsewhere(0, 100),
                run(10, 20, "validation"),
                run(110, 120, "validation"),
            ],
            IDLE,
        );
        assert_eq!(
            secs(&s, "validation"),
            20,
            "10-20 was elsewhere's; 100-120 is ours"
        );
    }

    proptest::proptest! {
        /// A tally stopped at any point and resumed gives the same active
        /// time as the one sweep: what lets `mt status` keep a checkpoint.
        #[test]
        fn a_resumed_tally_matches_the_sweep(
            raw in proptest::collection::vec((0i64..400, 0i64..30, 0u8..3, proptest::bool::ANY), 1..60),
            cut in 0i64..450,
        ) {
            let idle = 20;
            let signals: Vec<Signal> = raw.iter().map(|&(s, len, ours, point)| {
                let end = if point { s } else { s + len };
                let mark = match (ours, point) {
                    (1, _) => Mark::Elsewhere { here: true },
                    (2, _) => Mark::Elsewhere { here: false },
                    (_, true) => Mark::Edit { phase: None },
                    (_, false) => Mark::Run { phase: Phase::Other },
                };
                Signal { start_us: s, end_us: end, mark }
            }).collect();
            let mut keyed: Vec<(i64, i64, Owner)> = signals
                .iter()
                .map(|s| (s.start_us, s.end_us, s.mark.owner()))
                .collect();
            let (mut early, mut late): (Vec<_>, Vec<_>) = keyed.drain(..).partition(|k| k.0 < cut);
            let saved = Tally::default().sweep(&mut early, idle);
            let resumed = saved.sweep(&mut late, idle);
            proptest::prop_assert_eq!(resumed.ours_us, share(&signals, idle).active_us());
        }
    }
}
