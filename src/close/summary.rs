//! What `mt status` shows for a branch's open span — run counts, the first
//! start and its share of active time on the one timeline — summed once and
//! then resumed from a checkpoint, so a call reads only the events newer
//! than the checkpoint instead of the whole span and everything around it
//! (docs/metrics.md, "mt status").

use anyhow::Result;

use crate::metrics::timeline::{self, Cursor, Owner, Tally};
use crate::store::{Checkpoint, Counts, Store, TailRow};

/// How far behind the span's latest signal a checkpoint is taken. What
/// arrives late — a shell's record, written when its command ends; an edit,
/// after its quiet period — usually started within this of the newest
/// signal, so it lands in the tail instead of voiding the checkpoint.
const SETTLE_US: i64 = 60 * 1_000_000;

/// A branch's open span as `mt status` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub counts: Counts,
    pub first_us: Option<i64>,
    pub active_us: i64,
}

/// Sum the open span of `branch` in `repo`, with gaps up to `idle_us`
/// counted, from its checkpoint when one is kept.
pub fn summary(store: &Store, repo: &str, branch: &str, idle_us: i64) -> Result<Summary> {
    store.on_snapshot(|store| {
        let (cp, ours) = match store.checkpoint(repo, branch)? {
            Some(cp) if cp.idle_us == idle_us => {
                let ours = store.span_since(repo, branch, cp.upto_us)?;
                (cp, ours)
            }
            _ => match from_scratch(store, repo, branch, idle_us)? {
                Scratch::Summed(cp, ours) => (cp, ours),
                Scratch::NoTimeline(s) => return Ok((s, None)),
            },
        };
        let all = Acc::from(&cp).take(&ours);
        // Up to an idle timeout past the span's last signal: a signal in
        // another repository there ends a gap that is this span's.
        let elsewhere = match all.to_us {
            Some(to) if to + idle_us >= cp.upto_us => {
                let ids = ours.iter().map(|r| r.id).collect();
                store.elsewhere(&ids, repo, (cp.upto_us, to), idle_us)?
            }
            _ => Vec::new(),
        };
        let (summary, next) = resume(&cp, all, &ours, &elsewhere);
        Ok((summary, Some((repo, branch, next))))
    })
}

enum Scratch {
    /// A checkpoint at `SETTLE_US` before the span's last signal, and the
    /// span's events from there on.
    Summed(Checkpoint, Vec<TailRow>),
    /// No finished command or edit yet: nothing on the timeline.
    NoTimeline(Summary),
}

/// The whole span and what was recorded elsewhere around it, read from the
/// covering indexes, swept up to the checkpoint's time.
fn from_scratch(store: &Store, repo: &str, branch: &str, idle_us: i64) -> Result<Scratch> {
    let st = store.status(repo, branch)?;
    let total = st.counts;
    let ours: Vec<(i64, i64)> = (st.intervals.iter().copied())
        .chain(st.points.iter().map(|&t| (t, t)))
        .collect();
    let Some((from_us, to_us)) = timeline::window(ours.iter().copied(), idle_us) else {
        return Ok(Scratch::NoTimeline(Summary {
            counts: total,
            first_us: st.first_us,
            active_us: 0,
        }));
    };
    let upto_us = upto(to_us, from_us + idle_us + 1);
    let elsewhere = store.elsewhere(&st.ids, repo, (from_us, upto_us - 1), 0)?;
    let mut keyed: Vec<(i64, i64, Owner)> = (ours.iter().filter(|s| s.0 < upto_us))
        .map(|&(s, e)| (s, e, Owner::Ours))
        .chain(elsewhere.iter().map(|&(s, e, here)| (s, e, theirs(here))))
        .collect();
    let tally = Tally::default().sweep(&mut keyed, idle_us);
    let later = store.span_since(repo, branch, upto_us)?;
    let cp = Checkpoint {
        idle_us,
        upto_us,
        to_us: (ours.iter().filter(|s| s.0 < upto_us))
            .map(|s| s.1.max(s.0))
            .max(),
        covered_us: tally.cursor.covered_us,
        covered_by: tally.cursor.covered_by,
        active_us: tally.ours_us,
        counts: total.minus(Acc::default().take(&later).counts),
        first_us: st.first_us.filter(|&f| f < upto_us),
    };
    Ok(Scratch::Summed(cp, later))
}

/// The summary from `cp`, the span's events after it (`ours`, which `all`
/// adds to `cp`'s figures) and what was recorded elsewhere from `cp`'s time
/// to the span's last signal; and the checkpoint to keep: `SETTLE_US`
/// before that signal, never before `cp`'s.
fn resume(
    cp: &Checkpoint,
    all: Acc,
    ours: &[TailRow],
    elsewhere: &[(i64, i64, bool)],
) -> (Summary, Checkpoint) {
    let upto_us = all.to_us.map_or(cp.upto_us, |t| upto(t, cp.upto_us));
    let before = Acc::from(cp).take(ours.iter().filter(|r| r.start_us < upto_us));
    let keyed = (ours.iter())
        .filter_map(|r| signal_end(r).map(|end| (r.start_us, end, Owner::Ours)))
        .chain(elsewhere.iter().map(|&(s, e, here)| (s, e, theirs(here))));
    let (mut early, mut late): (Vec<_>, Vec<_>) = keyed.partition(|k| k.0 < upto_us);
    let start = Tally {
        cursor: Cursor {
            covered_us: cp.covered_us,
            covered_by: cp.covered_by,
        },
        ours_us: cp.active_us,
    };
    let at_upto = start.sweep(&mut early, cp.idle_us);
    let now = at_upto.sweep(&mut late, cp.idle_us);
    let summary = Summary {
        counts: all.counts,
        first_us: all.first_us,
        active_us: now.ours_us,
    };
    let next = Checkpoint {
        upto_us,
        to_us: before.to_us,
        covered_us: at_upto.cursor.covered_us,
        covered_by: at_upto.cursor.covered_by,
        active_us: at_upto.ours_us,
        counts: before.counts,
        first_us: before.first_us,
        ..*cp
    };
    (summary, next)
}

/// Whose a signal recorded elsewhere is: of the same repository or not.
fn theirs(here: bool) -> Owner {
    if here { Owner::Here } else { Owner::Away }
}

/// Where to take a checkpoint for a span whose signals end at `to_us`:
/// `SETTLE_US` before that, but after `floor`. From scratch the floor is
/// just after the span's first signal, so an event inserted before that
/// signal (which would move the window) voids the checkpoint; `upto_us - 1`
/// never passes `to_us`, so everything elsewhere summed under it stays
/// inside the window.
fn upto(to_us: i64, floor: i64) -> i64 {
    (to_us - SETTLE_US).max(floor)
}

/// Where one of the span's events ends on the timeline: a finished
/// command's end (never before its start), an edit's or marker's own
/// time; `None` for a command still running or that ended without a time
/// (not on the timeline).
fn signal_end(r: &TailRow) -> Option<i64> {
    match (r.command, r.running) {
        (false, _) => Some(r.start_us),
        (true, true) => None,
        // A clock stepped back mid-command can leave an end before the start.
        (true, false) => r.end_us.map(|e| e.max(r.start_us)),
    }
}

/// Counts, first start and latest signal end of the span's events taken.
#[derive(Debug, Default, Clone, Copy)]
struct Acc {
    counts: Counts,
    first_us: Option<i64>,
    to_us: Option<i64>,
}

impl From<&Checkpoint> for Acc {
    fn from(cp: &Checkpoint) -> Acc {
        Acc {
            counts: cp.counts,
            first_us: cp.first_us,
            to_us: cp.to_us,
        }
    }
}

impl Acc {
    /// These figures with the span's events `rows` added.
    fn take<'a>(self, rows: impl IntoIterator<Item = &'a TailRow>) -> Acc {
        let mut acc = self;
        for r in rows {
            if r.command && !r.running {
                acc.counts.add(r.manual, r.failed);
            }
            acc.first_us = Some(acc.first_us.map_or(r.start_us, |f| f.min(r.start_us)));
            if let Some(end) = signal_end(r) {
                acc.to_us = Some(acc.to_us.map_or(end, |t| t.max(end)));
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, Source};
    use crate::metrics::timeline::{Mark, Signal};
    use crate::store::{Filing, Finish, NewEvent, write};

    const S: i64 = 1_000_000;
    const IDLE: i64 = 300 * S;

    /// What `mt status` computed before checkpoints: the whole span and
    /// everything around it, swept at once.
    fn reference(store: &Store) -> Summary {
        let st = store.status("/r", "ours").unwrap();
        let ours: Vec<Signal> = (st.intervals.iter().map(|&(s, e)| (s, e, false)))
            .chain(st.points.iter().map(|&t| (t, t, true)))
            .map(|(s, e, point)| Signal {
                start_us: s,
                end_us: e,
                mark: if point {
                    Mark::Edit { phase: None }
                } else {
                    Mark::Run {
                        phase: crate::event::Phase::Other,
                    }
                },
            })
            .collect();
        let window = timeline::window(ours.iter().map(|s| (s.start_us, s.end_us)), IDLE);
        let active_us = window.map_or(0, |(from, to)| {
            let mut all = ours.clone();
            for (s, e, here) in store.elsewhere(&st.ids, "/r", (from, to), IDLE).unwrap() {
                all.push(Signal {
                    start_us: s,
                    end_us: e,
                    mark: Mark::Elsewhere { here },
                });
            }
            timeline::share(&all, IDLE).active_us()
        });
        Summary {
            counts: st.counts,
            first_us: st.first_us,
            active_us,
        }
    }

    #[derive(Debug, Clone, Copy)]
    enum Op {
        Done,
        Running,
        Edit,
        FinishOne,
        Abandon,
        Close,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        proptest::sample::select(vec![
            Op::Done,
            Op::Done,
            Op::Done,
            Op::Running,
            Op::Edit,
            Op::FinishOne,
            Op::Abandon,
            Op::Close,
        ])
    }

    fn event(n: usize, ours: bool, kind: EventKind, start_us: i64) -> NewEvent {
        NewEvent {
            uid: format!("u{n}"),
            source: if n.is_multiple_of(3) {
                Source::Hook
            } else {
                Source::Exec
            },
            kind,
            command: "cargo test".into(),
            cwd: "/r".into(),
            repo: Some(if ours { "/r" } else { "/other" }.into()),
            branch: Some("ours".into()),
            start_us,
            ..NewEvent::default()
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Whatever happens between two `mt status` calls — new commands
        /// and edits here and elsewhere, records arriving late, a running
        /// command ending or abandoned, a milestone closing the span — the
        /// summary resumed from the kept checkpoint is the one computed
        /// from scratch.
        #[test]
        fn resuming_matches_summing_from_scratch(
            steps in proptest::collection::vec(
                (op(), proptest::bool::ANY, -90i64..240, 0i64..150, proptest::bool::ANY),
                1..40,
            ),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open(&dir.path().join("t.db")).unwrap();
            let mut t = 10_000 * S;
            let mut running: Vec<String> = Vec::new();
            for (n, &(op, ours, delta, dur, fail)) in steps.iter().enumerate() {
                t += delta * S;
                let tx = store.conn.transaction().unwrap();
                match op {
                    Op::Done | Op::Running | Op::Edit => {
                        let kind = if matches!(op, Op::Edit) { EventKind::Edit } else { EventKind::Command };
                        let mut e = event(n, ours, kind, t);
                        if !matches!(op, Op::Running) {
                            e.finish = Some(Finish {
                                end_us: if matches!(op, Op::Edit) { t } else { t + dur * S },
                                exit_code: Some(i32::from(fail)),
                                ..Finish::default()
                            });
                        } else {
                            running.push(e.uid.clone());
                        }
                        write::insert(&tx, &e).unwrap();
                    }
                    Op::FinishOne => if let Some(uid) = running.pop() {
                        let f = Finish { end_us: t + dur * S, exit_code: Some(0), ..Finish::default() };
                        write::finish(&tx, &uid, &f).unwrap();
                    },
                    Op::Abandon => if let Some(uid) = running.pop() {
                        let id: i64 = tx.query_row("SELECT id FROM events WHERE uid = ?1", [&uid], |r| r.get(0)).unwrap();
                        write::mark_unfinished(&tx, &[id]).unwrap();
                    },
                    Op::Close => {}
                }
                tx.commit().unwrap();
                if matches!(op, Op::Close) {
                    let filing = Filing::of("/r", "ours", &store.span("/r", "ours").unwrap());
                    store.close_span(&filing, &format!("m{n}")).unwrap();
                }
                let got = summary(&store, "/r", "ours", IDLE).unwrap();
                proptest::prop_assert_eq!(got, reference(&store), "after step {} ({:?})", n, op);
            }
        }
    }

    /// Run `n` of the branch measured, finished after `dur_us` with exit 0.
    fn add_run(store: &mut Store, n: usize, start_us: i64, dur_us: i64) {
        let tx = store.conn.transaction().unwrap();
        let mut e = event(n, true, EventKind::Command, start_us);
        e.finish = Some(Finish {
            end_us: start_us + dur_us,
            exit_code: Some(0),
            ..Finish::default()
        });
        write::insert(&tx, &e).unwrap();
        tx.commit().unwrap();
    }

    /// In the common case — new commands after the checkpoint — the kept
    /// checkpoint survives the insert and moves forward with each call, so
    /// a call reads about a minute of events, not the span.
    #[test]
    fn the_checkpoint_survives_new_work_and_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let add = |store: &mut Store, n: usize| add_run(store, n, 10_000 * S + n as i64 * 2 * S, S);
        for n in 0..1000 {
            add(&mut store, n);
        }
        assert_eq!(store.checkpoint("/r", "ours").unwrap(), None);
        let first = summary(&store, "/r", "ours", IDLE).unwrap();
        let cp = store.checkpoint("/r", "ours").unwrap().expect("kept");
        let last_end = 10_000 * S + 999 * 2 * S + S;
        assert_eq!(cp.upto_us, last_end - SETTLE_US);
        assert_eq!(first, reference(&store));
        add(&mut store, 1000);
        assert_eq!(
            store.checkpoint("/r", "ours").unwrap(),
            Some(cp),
            "not voided"
        );
        assert!(store.span_since("/r", "ours", cp.upto_us).unwrap().len() <= 32);
        let second = summary(&store, "/r", "ours", IDLE).unwrap();
        assert_eq!(second, reference(&store));
        assert_eq!(second.counts.runs, 1001);
        let moved = store.checkpoint("/r", "ours").unwrap().expect("kept");
        assert_eq!(moved.upto_us, cp.upto_us + 2 * S);
    }

    /// A late record — a ten-minute command's, written when it ended —
    /// voids the checkpoints after its start, not the ladder behind them:
    /// the next call resumes from one at most about twice that far back
    /// and reads those minutes, not the span.
    #[test]
    fn a_late_record_resumes_from_an_older_rung() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        // Four hours of a command every 2 s, with `mt status` every 100.
        let at = |n: i64| 10_000 * S + n * 2 * S;
        for n in 0..7200 {
            add_run(&mut store, n as usize, at(n), S);
            if n % 100 == 99 {
                summary(&store, "/r", "ours", IDLE).unwrap();
            }
        }
        let rungs: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM status_checkpoints", [], |r| r.get(0))
            .unwrap();
        assert!((4..=12).contains(&rungs), "{rungs} checkpoints");
        let late_start = at(7199) - 10 * 60 * S;
        add_run(&mut store, 7200, late_start, 10 * 60 * S);
        let cp = store
            .checkpoint("/r", "ours")
            .unwrap()
            .expect("a rung left");
        assert!(cp.upto_us <= late_start);
        assert!(
            cp.upto_us >= late_start - 20 * 60 * S,
            "at most ~twice as far"
        );
        assert!(store.span_since("/r", "ours", cp.upto_us).unwrap().len() < 1000);
        assert_eq!(
            summary(&store, "/r", "ours", IDLE).unwrap(),
            reference(&store)
        );
    }
}
