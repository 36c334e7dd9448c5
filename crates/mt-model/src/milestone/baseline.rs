//! What the measured times are compared with (docs/metrics.md
//! "Baselines"): a declared figure (flag, then config), else the median of
//! this repository's earlier milestones of the same type when there are at
//! least three, else nothing — "not measured". Never an invented number.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use super::{Baseline, BaselineKind, FrontMatter, RateBaseline};
use crate::metrics::quantile;

pub use crate::config::{Declared, KEYS, parse_duration};

/// Fewest earlier milestones a self-baseline is computed from.
pub const MIN_HISTORY: usize = 3;

/// `PHASE=DURATION` from `--baseline`.
pub fn parse_flag(spec: &str) -> Result<(String, u64)> {
    let Some((phase, dur)) = spec.split_once('=') else {
        bail!("--baseline {spec:?} needs PHASE=DURATION, like --baseline validation=2h");
    };
    let phase = phase.trim().to_ascii_lowercase();
    if !KEYS.contains(&phase.as_str()) {
        bail!(
            "--baseline phase {phase:?} is not one of {}",
            KEYS.join(", ")
        );
    }
    Ok((phase, parse_duration(dur)?))
}

/// The baseline for each key.
pub fn choose(
    flags: &[(String, u64)],
    config: &BTreeMap<String, Declared>,
    history: &[FrontMatter],
    kind: &str,
) -> Result<BTreeMap<String, Baseline>> {
    let same_type: Vec<&FrontMatter> = history.iter().filter(|m| m.kind == kind).collect();
    let mut out = BTreeMap::new();
    for key in KEYS {
        let declared = flags
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, ms)| (*ms, format!("declared with --baseline {key}=…")));
        let declared = match declared {
            Some(d) => Some(d),
            None => config.get(key).map(|d| {
                let source = format!("declared in config: baselines.{key} = {:?}", d.text);
                (d.ms, source)
            }),
        };
        let b = match declared {
            Some((ms, source)) => Baseline {
                kind: BaselineKind::Declared,
                ms: Some(ms),
                q1_ms: None,
                q3_ms: None,
                n: None,
                source: Some(source),
            },
            None => self_baseline(&same_type, key, kind),
        };
        out.insert(key.to_owned(), b);
    }
    Ok(out)
}

/// Self-baselines of the rates the summary compares: first-attempt success
/// and the automated share of runs, over earlier milestones of `kind`.
pub fn rates(history: &[FrontMatter], kind: &str) -> BTreeMap<String, RateBaseline> {
    let same: Vec<&FrontMatter> = history.iter().filter(|m| m.kind == kind).collect();
    let rate = |get: fn(&FrontMatter) -> Option<f64>| {
        let mut values: Vec<f64> = same.iter().filter_map(|m| get(m)).collect();
        let n = values.len() as u64;
        if values.len() < MIN_HISTORY {
            return RateBaseline {
                kind: BaselineKind::Insufficient,
                ratio: None,
                n,
            };
        }
        RateBaseline {
            kind: BaselineKind::SelfMeasured,
            ratio: Some(quantile(&mut values, 0.5)),
            n,
        }
    };
    BTreeMap::from([
        ("success_rate".to_owned(), rate(|m| m.mt.success().ratio())),
        (
            "automation_level".to_owned(),
            rate(|m| m.mt.automation_runs.ratio()),
        ),
    ])
}

/// The self-baseline of active time alone (never a declared one): what
/// Developer Velocity compares with.
pub fn velocity(history: &[FrontMatter], kind: &str) -> Baseline {
    let same: Vec<&FrontMatter> = history.iter().filter(|m| m.kind == kind).collect();
    self_baseline(&same, "total", kind)
}

fn self_baseline(history: &[&FrontMatter], key: &str, kind: &str) -> Baseline {
    let mut values: Vec<f64> = history
        .iter()
        .filter_map(|m| {
            if key == "total" {
                Some(m.mt.active_ms)
            } else {
                m.mt.phases_ms.get(key).copied()
            }
        })
        .map(|ms| ms as f64)
        .collect();
    let n = values.len() as u64;
    if values.len() < MIN_HISTORY {
        return Baseline {
            kind: BaselineKind::Insufficient,
            ms: None,
            q1_ms: None,
            q3_ms: None,
            n: Some(n),
            source: None,
        };
    }
    Baseline {
        kind: BaselineKind::SelfMeasured,
        ms: Some(quantile(&mut values, 0.5).round() as u64),
        q1_ms: Some(quantile(&mut values, 0.25).round() as u64),
        q3_ms: Some(quantile(&mut values, 0.75).round() as u64),
        n: Some(n),
        source: Some(format!(
            "median of this repository's {n} earlier {kind} milestones"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::milestone::tests::sample;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), 90_000);
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
        assert_eq!(parse_duration("1.5h").unwrap(), 5_400_000);
        assert!(
            parse_duration("10")
                .unwrap_err()
                .to_string()
                .contains("has no unit")
        );
        assert!(parse_duration("2 days").is_err());
        // Each unit once, larger first; more than nothing, less than years.
        for bad in ["1h1h", "90s1m", "0s", "0h", "", "99999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_duration("1h1m1s").unwrap(), 3_661_000);
        assert_eq!(
            parse_flag("Validation=2h").unwrap(),
            ("validation".into(), 7_200_000)
        );
        assert!(parse_flag("testing=2h").is_err());
    }

    #[test]
    fn declared_then_self_then_insufficient() {
        let mut history = Vec::new();
        for total in [1_000, 2_000, 4_000] {
            let mut m = sample();
            m.mt.active_ms = total;
            history.push(m);
        }
        let mut config = BTreeMap::new();
        let declared = Declared {
            ms: 1_800_000,
            text: "30m".to_owned(),
        };
        config.insert("validation".to_owned(), declared);
        let flags = vec![("diagnosis".to_owned(), 60_000)];
        let b = choose(&flags, &config, &history, "bug").unwrap();
        assert_eq!(
            (b["diagnosis"].kind, b["diagnosis"].ms),
            (BaselineKind::Declared, Some(60_000))
        );
        assert_eq!(
            (b["validation"].kind, b["validation"].ms),
            (BaselineKind::Declared, Some(1_800_000))
        );
        assert_eq!(
            (b["total"].kind, b["total"].ms, b["total"].n),
            (BaselineKind::SelfMeasured, Some(2_000), Some(3))
        );
        assert_eq!(
            (b["total"].q1_ms, b["total"].q3_ms),
            (Some(1_500), Some(3_000))
        );
        // Another type has no history: nothing to compare with.
        let b = choose(&[], &BTreeMap::new(), &history, "feature").unwrap();
        assert_eq!(
            (b["total"].kind, b["total"].n),
            (BaselineKind::Insufficient, Some(0))
        );
    }
}
