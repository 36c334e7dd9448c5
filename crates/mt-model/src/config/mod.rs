//! The configuration's shape and meaning (`config.toml`, `.mt.toml`):
//! what each key holds, how a repository's file layers over the user's,
//! and the text parsed into it. Reading the files is the caller's.

use std::time::Duration;

use anyhow::{Result, bail};
use mt_record::domain::{Phase, Text};

use serde::{Deserialize, Deserializer};

mod locate;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Regexes; a command line matching one is not stored at all.
    #[serde(default, deserialize_with = "regexes")]
    pub ignore: Vec<String>,
    /// Regexes; what they match is replaced by `[REDACTED]` before storing.
    #[serde(default, deserialize_with = "regexes")]
    pub redact: Vec<String>,
    /// Gaps between signals up to this many minutes count as work (a
    /// fraction is allowed: `0.5` is 30 s).
    #[serde(default, deserialize_with = "idle_minutes")]
    pub idle_timeout_minutes: Option<f64>,
    /// What an hour of developer time costs, for ROI estimates.
    #[serde(default, deserialize_with = "rate")]
    pub hourly_rate: Option<f64>,
    /// Classification rules, tried before the built-in ones.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// The branch finished work lands in, when the remote's HEAD does not
    /// say (default: `origin/HEAD`'s branch, else main, master or trunk).
    #[serde(default, deserialize_with = "branch_name")]
    pub default_branch: Option<String>,
    /// An abandoned branch's span (branch deleted, upstream gone, work in
    /// no default branch) is dropped without a milestone after this many
    /// days since its last run (default 30).
    #[serde(default, deserialize_with = "discard_days")]
    pub discard_abandoned_days: Option<u64>,
    /// Declared baselines per phase (`diagnosis = "2h"`), labelled as declared.
    #[serde(default, deserialize_with = "baseline_map")]
    pub baselines: std::collections::BTreeMap<String, Declared>,
    /// Watch working trees for edits (default: on).
    #[serde(default)]
    pub watch: Option<bool>,
    /// A repository with nothing recorded for this many days is no longer
    /// watched for edits (default 7).
    #[serde(default)]
    pub watch_days: Option<u64>,
    /// Paths (gitignore-style globs, relative to the repository root) whose
    /// edits are never recorded, beside what git ignores.
    #[serde(default, deserialize_with = "globs")]
    pub watch_ignore: Vec<String>,
    /// Edits of paths matching a glob count to its phase instead of
    /// implementation (`"tests/**" = "validation"`).
    #[serde(default, deserialize_with = "phase_map")]
    pub edit_phases: std::collections::BTreeMap<String, Phase>,
    /// Globs that replace the built-in ones for Integration Points.
    #[serde(default)]
    pub integration: IntegrationConfig,
}

/// `[integration]`: each kind's globs, replacing the built-in list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationConfig {
    #[serde(default, deserialize_with = "some_globs")]
    pub ci: Option<Vec<String>>,
    #[serde(default, deserialize_with = "some_globs")]
    pub docs: Option<Vec<String>>,
    #[serde(default, deserialize_with = "some_globs")]
    pub scripts: Option<Vec<String>>,
    #[serde(default, deserialize_with = "some_globs")]
    pub quality_gates: Option<Vec<String>>,
}

/// One `[[rules]]` entry: a regex on the command line and what it means.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    #[serde(rename = "match", deserialize_with = "regex")]
    pub pattern: String,
    #[serde(default, deserialize_with = "some_phase")]
    pub phase: Option<Phase>,
    #[serde(default)]
    pub tool: Option<String>,
    /// How many manual steps one automated run of this tool replaces.
    #[serde(default)]
    pub manual_steps: Option<u32>,
}

impl Config {
    /// `self` with `over` layered on top: `over`'s rules come first, its
    /// scalars and baselines win.
    pub fn layered(mut self, over: Config) -> Config {
        let mut rules = over.rules;
        rules.append(&mut self.rules);
        self.rules = rules;
        self.ignore.extend(over.ignore);
        self.redact.extend(over.redact);
        self.idle_timeout_minutes = over.idle_timeout_minutes.or(self.idle_timeout_minutes);
        self.discard_abandoned_days = over.discard_abandoned_days.or(self.discard_abandoned_days);
        self.hourly_rate = over.hourly_rate.or(self.hourly_rate);
        self.default_branch = over.default_branch.or(self.default_branch);
        self.baselines.extend(over.baselines);
        self.watch = over.watch.or(self.watch);
        self.watch_days = over.watch_days.or(self.watch_days);
        self.watch_ignore.extend(over.watch_ignore);
        self.edit_phases.extend(over.edit_phases);
        let (a, b) = (over.integration, self.integration);
        self.integration = IntegrationConfig {
            ci: a.ci.or(b.ci),
            docs: a.docs.or(b.docs),
            scripts: a.scripts.or(b.scripts),
            quality_gates: a.quality_gates.or(b.quality_gates),
        };
        self
    }
}

/// Gaps between signals up to this long count as work, unless configured.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

impl Config {
    /// How long an abandoned span waits before it is dropped.
    pub fn discard_abandoned_after_us(&self) -> i64 {
        let days = self.discard_abandoned_days.unwrap_or(30) as i64;
        days * 86_400 * 1_000_000
    }

    /// Gaps up to this long count as work (`idle_timeout_minutes`).
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout_minutes
            .filter(|m| m.is_finite() && *m >= 0.0)
            .map_or(DEFAULT_IDLE_TIMEOUT, |m| Duration::from_secs_f64(m * 60.0))
    }

    /// The idle timeout in the store's unit, microseconds.
    pub fn idle_timeout_us(&self) -> i64 {
        self.idle_timeout().as_micros() as i64
    }

    /// The idle timeout in minutes, as parameters are printed.
    pub fn idle_timeout_minutes(&self) -> f64 {
        self.idle_timeout().as_secs_f64() / 60.0
    }

    /// How long a repository stays watched after its last recorded
    /// activity (`watch_days`).
    /// Between 1 day and 10 years, whatever the file says (0 would watch
    /// nothing; a huge figure would overflow the clock).
    pub fn watch_keep(&self) -> Duration {
        Duration::from_secs(self.watch_days.unwrap_or(7).clamp(1, 3650) * 86_400)
    }

    /// Whether working trees are watched for edits.
    pub fn watches(&self) -> bool {
        self.watch != Some(false)
    }

    /// Parse a configuration file's text; `name` is how errors call the
    /// file. An error names its line and key, so `mt doctor` and `mt
    /// close` say the same thing of the same file.
    pub fn parse(text: &str, name: &str) -> Result<Config> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start].matches('\n').count() + 1)
                .map(|l| locate::entry_named(text, l, e.message()).unwrap_or(l))
                .unwrap_or(0);
            // The key, unless the message names it already.
            let key = locate::key_at(text, line)
                .filter(|k| !e.message().contains(k.rsplit('.').next().unwrap_or(k)))
                .map_or(String::new(), |k| format!("{k}: "));
            anyhow::anyhow!(
                "{name}:{line}: {key}{}; fix that line or remove it",
                e.message()
            )
        })
    }
}

/// A phase as the file writes it; anything else is an error listing the
/// phases. `Config::parse` adds the file, the line and, where the message
/// does not name it, the key.
fn phase<'de, D: Deserializer<'de>>(text: &str, glob: Option<&str>) -> Result<Phase, D::Error> {
    Phase::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
        let names = names.join(", ");
        serde::de::Error::custom(match glob {
            // The whole table is the error's span: say which entry.
            Some(glob) => {
                format!("edit_phases maps {glob:?} to {text:?}, which is not one of {names}")
            }
            None => format!("{text:?} is not one of {names}"),
        })
    })
}

fn some_phase<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Phase>, D::Error> {
    phase::<D>(&String::deserialize(d)?, None).map(Some)
}

fn phase_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<std::collections::BTreeMap<String, Phase>, D::Error> {
    let texts = std::collections::BTreeMap::<String, String>::deserialize(d)?;
    let mut phases = std::collections::BTreeMap::new();
    for (glob, text) in texts {
        let p = phase::<D>(&text, Some(&glob))?;
        check_glob::<D>(&glob, "edit_phases: ")?;
        phases.insert(glob, p);
    }
    Ok(phases)
}

fn baseline_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<std::collections::BTreeMap<String, Declared>, D::Error> {
    let texts = std::collections::BTreeMap::<String, String>::deserialize(d)?;
    let mut out = std::collections::BTreeMap::new();
    for (key, text) in texts {
        if !KEYS.contains(&key.as_str()) {
            return Err(serde::de::Error::custom(format!(
                "baselines.{key} is not a phase mt compares; use one of {}",
                KEYS.join(", ")
            )));
        }
        let ms = parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("baselines.{key}: {e}")))?;
        out.insert(key, Declared { ms, text });
    }
    Ok(out)
}

/// A regex, checked where the file is read so the error has its line.
fn check_regex<'de, D: Deserializer<'de>>(pattern: &str) -> Result<(), D::Error> {
    regex::Regex::new(pattern).map(drop).map_err(|e| {
        // regex's message draws the pattern over several lines; the last
        // one says what is wrong.
        let why = e.to_string();
        let why = why.lines().last().unwrap_or_default().trim();
        let why = why.trim_start_matches("error: ").to_owned();
        serde::de::Error::custom(format!("{pattern:?} is not a valid regex ({why})"))
    })
}

fn regex<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let pattern = String::deserialize(d)?;
    check_regex::<D>(&pattern)?;
    Ok(pattern)
}

fn regexes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let patterns = Vec::<String>::deserialize(d)?;
    for p in &patterns {
        check_regex::<D>(p)?;
    }
    Ok(patterns)
}

/// A glob, checked where the file is read. `what` names the table when
/// the glob is a key (its line then names no key of its own).
fn check_glob<'de, D: Deserializer<'de>>(glob: &str, what: &str) -> Result<(), D::Error> {
    globset::Glob::new(glob).map(drop).map_err(|e| {
        let why = e.kind();
        serde::de::Error::custom(format!("{what}{glob:?} is not a valid glob ({why})"))
    })
}

/// A list of globs (`watch_ignore`), each checked.
fn globs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let globs = Vec::<String>::deserialize(d)?;
    for g in &globs {
        check_glob::<D>(g, "")?;
    }
    Ok(globs)
}

/// A list of globs that replaces a built-in one (`[integration]`).
fn some_globs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    globs(d).map(Some)
}

/// The keys of `[baselines]`: the phases that get a baseline row, plus
/// the total.
pub const KEYS: [&str; 4] = ["diagnosis", "implementation", "validation", "total"];

/// A duration the configuration declares (`baselines.validation = "2h"`):
/// its value and the text it was written as, which the milestone quotes
/// where it says where a baseline came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub ms: u64,
    pub text: String,
}

/// The longest duration a baseline may declare: 10,000 hours, years of
/// full-time work. Past it a figure is a typo, and would overflow.
const MAX_DURATION_MS: f64 = 10_000.0 * 3_600_000.0;

/// `90s`, `45m`, `2h`, `1h30m`, `1.5h` → milliseconds: hours, minutes and
/// seconds, each at most once and in that order, more than zero in all.
pub fn parse_duration(text: &str) -> Result<u64> {
    let bad = || anyhow::anyhow!("{text:?} is not a duration; write it like 90s, 45m, 2h or 1h30m");
    let mut total = 0.0;
    let mut number = String::new();
    if text.trim().is_empty() {
        bail!("an empty duration; write it like 45m or 2h");
    }
    let mut units = "hms".chars();
    for c in text.trim().chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        // Each unit once, larger first: `1h1h` or `90s1m` is a typo.
        if !units.any(|u| u == c) {
            return Err(bad());
        }
        let n: f64 = number.parse().map_err(|_| bad())?;
        total += n * match c {
            'h' => 3_600_000.0,
            'm' => 60_000.0,
            _ => 1000.0,
        };
        number.clear();
    }
    if !number.is_empty() {
        bail!("{text:?} has no unit; write it like 45m or 2h");
    }
    if !(1.0..=MAX_DURATION_MS).contains(&total) {
        bail!("{text:?} is not a duration to compare with; give one from 1s to 10000h");
    }
    Ok(total.round() as u64)
}

/// A number the file gives, refused with `why` unless `ok` holds.
fn number<'de, D: Deserializer<'de>, T>(
    d: D,
    ok: impl Fn(&T) -> bool,
    why: &str,
) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de> + std::fmt::Debug,
{
    let n = T::deserialize(d)?;
    if ok(&n) {
        Ok(Some(n))
    } else {
        Err(serde::de::Error::custom(format!("{n:?} {why}")))
    }
}

fn idle_minutes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    number(
        d,
        |m: &f64| (0.0..=1440.0).contains(m),
        "is not an idle timeout mt can use; give minutes from 0 to 1440 (a day)",
    )
}

fn rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    number(
        d,
        |r: &f64| r.is_finite() && *r >= 0.0,
        "is not an hourly rate; give a number of zero or more",
    )
}

fn discard_days<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    number(
        d,
        |n: &u64| *n <= 36_500,
        "days is past what mt can count; give days from 0 to 36500",
    )
}

fn branch_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let name = String::deserialize(d)?;
    if name.trim().is_empty() {
        return Err(serde::de::Error::custom(
            "an empty branch name; name the default branch, or remove the line to have mt find it",
        ));
    }
    Ok(Some(name))
}
