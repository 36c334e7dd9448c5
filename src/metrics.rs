//! Figures computed from recorded commands (DESIGN.md "Metric
//! definitions"). Pure: data in, numbers out.

/// Gaps between commands up to this long count as work (DESIGN.md default).
pub const IDLE_TIMEOUT_US: i64 = 15 * 60 * 1_000_000;

/// Active time: the union of the command intervals plus the gaps between
/// them that are no longer than `idle_us`. `intervals` need not be sorted.
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
