//! Quality figures of a span (docs/metrics.md, "Quality"): failures that
//! validation caught and that were fixed before the merge, how
//! reproducible repeated runs were, and automated against manual runs of
//! the same commands only. Pure.

use std::collections::BTreeMap;

use mt_record::domain::Phase;

use super::{Edit, Run, Share};

/// Fewer runs than this on one side of a comparison: insufficient data.
pub const MIN_RUNS: u64 = 5;

/// A validation command that failed and later passed in the span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caught {
    pub command: String,
    /// End of its first failing run.
    pub failed_at_us: i64,
    /// Failing runs before the pass.
    pub failures: u64,
    /// First failure's end → the next passing run's end.
    pub fix_us: i64,
}

/// Validation commands whose run failed and a later run of the same
/// command passed, in the order they were caught.
/// `runs` in time order (as `compute` sorts them once for every figure).
pub fn caught(runs: &[&Run]) -> Vec<Caught> {
    let mut open: BTreeMap<&str, Caught> = BTreeMap::new();
    let mut out = Vec::new();
    let mut fixed: foldhash::HashSet<&str> = Default::default();
    for r in runs.iter().filter(|r| r.phase == Phase::Validation) {
        let key = r.command;
        if fixed.contains(key) {
            continue;
        }
        match (r.ok, open.get_mut(key)) {
            (false, Some(c)) => c.failures += 1,
            (false, None) => {
                open.insert(
                    key,
                    Caught {
                        command: key.to_owned(),
                        failed_at_us: r.end_us,
                        failures: 1,
                        fix_us: 0,
                    },
                );
            }
            (true, Some(_)) => {
                let mut c = open.remove(key).expect("present");
                c.fix_us = r.end_us - c.failed_at_us;
                fixed.insert(key);
                out.push(c);
            }
            (true, None) => {}
        }
    }
    out.sort_by_key(|c| c.failed_at_us);
    out
}

/// Repeated runs of one command at one HEAD with nothing edited between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    pub command: String,
    pub head: String,
    /// Each run's start and whether it succeeded.
    pub runs: Vec<(i64, bool)>,
}

impl Repeat {
    /// Every run had the same outcome.
    pub fn consistent(&self) -> bool {
        self.runs.windows(2).all(|w| w[0].1 == w[1].1)
    }
}

/// The framework's "X% reproducible results", measured: groups of runs of the
/// same command at the same HEAD with no edit between consecutive ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consistency {
    /// Consistent groups out of groups of two or more runs.
    pub share: Share,
    /// The groups whose outcome flipped: possibly flaky.
    pub flaky: Vec<Repeat>,
}

/// `runs` in time order.
pub fn consistency(runs: &[&Run], edits: &[Edit]) -> Consistency {
    let mut edit_times: Vec<i64> = edits.iter().map(|e| e.at_us).collect();
    edit_times.sort_unstable();
    let edited_between = |a: i64, b: i64| {
        let i = edit_times.partition_point(|&t| t <= a);
        edit_times.get(i).is_some_and(|&t| t < b)
    };
    // Open group per (command, head); a group closes when an edit falls
    // between its last run and the next.
    let mut open: BTreeMap<(&str, &str), Repeat> = BTreeMap::new();
    let mut groups = Vec::new();
    for r in runs {
        let Some(head) = r.head else { continue };
        let key = (r.command, head);
        if let Some(g) = open.get(&key) {
            let last = g.runs.last().map_or(r.start_us, |x| x.0);
            if edited_between(last, r.start_us) {
                groups.push(open.remove(&key).expect("present"));
            }
        }
        open.entry(key)
            .or_insert_with(|| Repeat {
                command: key.0.to_owned(),
                head: key.1.to_owned(),
                runs: Vec::new(),
            })
            .runs
            .push((r.start_us, r.ok));
    }
    groups.extend(open.into_values());
    let repeated: Vec<Repeat> = groups.into_iter().filter(|g| g.runs.len() > 1).collect();
    Consistency {
        share: Share {
            part: repeated.iter().filter(|g| g.consistent()).count() as u64,
            whole: repeated.len() as u64,
        },
        flaky: repeated.into_iter().filter(|g| !g.consistent()).collect(),
    }
}

/// Automated against manual runs of the same command classes (a named
/// tool, else the normalized command): only classes run both ways count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LikeForLike {
    /// The classes run both ways.
    pub classes: Vec<String>,
    pub errors_automated: Share,
    pub errors_manual: Share,
    pub first_attempt_automated: Share,
    pub first_attempt_manual: Share,
}

/// `runs` in time order.
pub fn like_for_like(runs: &[&Run]) -> LikeForLike {
    fn class<'a>(r: &Run<'a>) -> &'a str {
        r.tool.unwrap_or(r.command)
    }
    let mut sides: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for r in runs {
        let e = sides.entry(class(r)).or_default();
        if r.automated {
            e.0 = true;
        } else {
            e.1 = true;
        }
    }
    let both: std::collections::BTreeSet<&str> = sides
        .into_iter()
        .filter(|(_, (a, m))| *a && *m)
        .map(|(c, _)| c)
        .collect();
    let mut out = LikeForLike::default();
    let mut seen: foldhash::HashSet<(bool, &str)> = Default::default();
    for r in runs {
        let c = class(r);
        if !both.contains(c) {
            continue;
        }
        let (errors, first) = if r.automated {
            (&mut out.errors_automated, &mut out.first_attempt_automated)
        } else {
            (&mut out.errors_manual, &mut out.first_attempt_manual)
        };
        errors.whole += 1;
        errors.part += u64::from(!r.ok);
        if seen.insert((r.automated, c)) {
            first.whole += 1;
            first.part += u64::from(r.ok);
        }
    }
    out.classes = both.into_iter().map(str::to_owned).collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    /// What `compute` passes: the runs in time order.
    fn sorted<'a>(runs: &'a [Run<'a>]) -> Vec<&'a Run<'a>> {
        let mut v: Vec<&Run> = runs.iter().collect();
        v.sort_by_key(|r| (r.start_us, r.end_us));
        v
    }

    fn run<'a>(t: i64, command: &'a str, ok: bool, automated: bool, head: &'a str) -> Run<'a> {
        let class = crate::classify::Classifier::new(&[])
            .unwrap()
            .classify(command, None, None);
        Run {
            start_us: t * S,
            end_us: (t + 1) * S,
            ok,
            automated,
            command,
            phase: class.phase,
            tool: None,
            manual_steps: None,
            head: Some(head),
            who: if automated {
                mt_record::domain::Who::Script
            } else {
                mt_record::domain::Who::Person
            },
        }
    }

    fn edit(t: i64) -> Edit {
        Edit {
            at_us: t * S,
            path: "src/a.rs".into(),
            phase: None,
            who: mt_record::domain::Who::Person,
        }
    }

    /// A test failing twice, fixed, then failing again later (counted
    /// once, at its first failure); a lint that never failed; a failure
    /// never fixed.
    #[test]
    fn failures_fixed_before_the_merge() {
        let runs = [
            run(0, "cargo test", false, true, "a"),
            run(10, "cargo test", false, true, "a"),
            run(20, "cargo clippy", true, true, "a"),
            run(60, "cargo test", true, true, "b"),
            run(70, "cargo test", false, true, "b"),
            run(80, "pytest", false, false, "b"),
            run(90, "git log", false, false, "b"), // not validation
        ];
        let c = caught(&sorted(&runs));
        assert_eq!(
            c,
            vec![Caught {
                command: "cargo test".into(),
                failed_at_us: S,
                failures: 2,
                fix_us: 60 * S,
            }]
        );
    }

    #[test]
    fn flaky_only_at_one_head_with_nothing_edited_between() {
        let runs = [
            // Same HEAD, no edit between, outcome flips: possibly flaky.
            run(0, "cargo test", true, true, "a"),
            run(10, "cargo test", false, true, "a"),
            // The HEAD moved between these: not a repeat.
            run(20, "make", false, true, "a"),
            run(30, "make", true, true, "b"),
            // An edit between these: not a repeat either.
            run(40, "pytest", false, false, "b"),
            run(50, "pytest", true, false, "b"),
            // Repeated, same outcome.
            run(60, "ls", true, false, "b"),
            run(61, "ls", true, false, "b"),
        ];
        let c = consistency(&sorted(&runs), &[edit(45)]);
        assert_eq!(c.share, Share { part: 1, whole: 2 });
        assert_eq!(c.flaky.len(), 1);
        assert_eq!(c.flaky[0].command, "cargo test");
        assert_eq!(c.flaky[0].runs, vec![(0, true), (10 * S, false)]);
    }

    /// Manual `git commit` and automated test runs are different work: only
    /// the class run both ways is compared, with its n.
    #[test]
    fn automated_and_manual_compare_only_the_same_commands() {
        let mut runs = vec![
            run(0, "git commit -m x", true, false, "a"),
            run(1, "git push", false, false, "a"),
        ];
        for i in 0..6 {
            runs.push(run(10 + i, "cargo test", i % 3 != 0, true, "a"));
            runs.push(run(30 + i, "cargo test", i != 0, false, "a"));
        }
        let l = like_for_like(&sorted(&runs));
        assert_eq!(l.classes, vec!["cargo test"]);
        assert_eq!(l.errors_automated, Share { part: 2, whole: 6 });
        assert_eq!(l.errors_manual, Share { part: 1, whole: 6 });
        assert_eq!(l.first_attempt_automated, Share { part: 0, whole: 1 });
        runs.truncate(6);
        let few = like_for_like(&sorted(&runs));
        assert_eq!(
            (few.errors_automated.whole, few.errors_manual.whole),
            (2, 2)
        );
    }
}
