//! Milestone files (ARCHITECTURE.md, docs/templates.md): the framework
//! template's front matter, the framework's sections rendered from a template,
//! then every measured figure in a collapsed `mt:` block at the end. Pure:
//! data in, text out.

pub mod baseline;
pub mod infer;
pub mod integration;
pub mod kinds;
pub mod render;
pub mod sections;
pub mod work;

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::metrics::Share;

/// A milestone file's fields: the framework template's front matter
/// (`priority` left out while unset), `title` and `status`; and mt's
/// figures, written at the end of the file (see [`file_text`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontMatter {
    pub milestone_id: String,
    pub date: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub issue_number: Option<String>,
    pub pr_number: Option<String>,
    #[serde(default = "unset", skip_serializing_if = "is_unset")]
    pub priority: String,
    pub complexity: String,
    pub title: String,
    /// `draft` while the milestone travels in the branch's pull request;
    /// absent once the work is finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Read from the front matter in files written before the figures
    /// moved to the end; never written there now.
    #[serde(default, rename = "mt", skip_serializing)]
    pub mt_in_front: Option<Measured>,
    #[serde(skip)]
    pub mt: Measured,
}

impl FrontMatter {
    /// Every field, the figures included, as JSON (`mt close --json`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let (Some(map), Ok(mt)) = (v.as_object_mut(), serde_json::to_value(&self.mt)) {
            map.insert("mt".into(), mt);
        }
        v
    }
}

fn unset() -> String {
    "unset".to_owned()
}

fn is_unset(p: &str) -> bool {
    p == "unset"
}

/// Only the figures, as they are written at the end of the file.
#[derive(Serialize, Deserialize)]
struct Figures {
    mt: Measured,
}

/// The collapsed block at the end of a milestone file that holds mt's
/// figures: a reader meets the title and the sections first, GitHub shows
/// one closed line, and `mt report` reads it back.
const FIGURES_OPEN: &str = "<details>\n<summary>Measured by mt (read back by <code>mt report</code>; do not edit)</summary>\n\n```yaml\n";
const FIGURES_CLOSE: &str = "```\n\n</details>\n";

/// Every figure, machine-readable; reports read this back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub version: u32,
    pub repo: String,
    pub branch: String,
    pub first_event: Option<String>,
    pub closed: String,
    pub parameters: Parameters,
    pub active_ms: u64,
    pub elapsed_ms: u64,
    pub phases_ms: BTreeMap<String, u64>,
    pub runs_automated: u64,
    pub runs_manual: u64,
    pub errors_automated: Share,
    pub errors_manual: Share,
    pub first_attempt_automated: Share,
    pub first_attempt_manual: Share,
    /// Every distinct command once (absent in milestones written before
    /// it was: the two sides' sum stands in).
    #[serde(default, skip_serializing_if = "Share::is_empty")]
    pub first_attempt: Share,
    pub validation_automated: Share,
    pub manual_steps_eliminated: u64,
    pub tools: Vec<ToolRow>,
    /// Files written in the working tree, most editing time first (absent
    /// in milestones written before edits were recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edited: Vec<EditedRow>,
    /// Share of runs, and of command time (ms), that were automated.
    #[serde(default)]
    pub automation_runs: Share,
    #[serde(default)]
    pub automation_time_ms: Share,
    /// Failures validation caught that were fixed before the merge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caught: Vec<CaughtRow>,
    /// Repeated runs at one HEAD with the same outcome, of those repeated.
    #[serde(default)]
    pub consistency: Share,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flaky: Vec<FlakyRow>,
    /// Automated vs manual over command classes run both ways.
    #[serde(default)]
    pub like_for_like: LikeRow,
    /// The work split by who did it: person, script, agent, ci (absent
    /// in milestones written before the split; active times add up to
    /// `active_ms`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub work: BTreeMap<String, WorkRow>,
    /// The coding agents that worked on the branch, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
    /// An agent's runs against a person's over commands both ran
    /// (`automated` is the agent's side).
    #[serde(default, skip_serializing_if = "LikeRow::is_empty")]
    pub agent_like_for_like: LikeRow,
    /// What the diff touched, by kind (files against the merge base).
    #[serde(default)]
    pub integration: Integration,
    /// Self-baselines of rates (`success_rate`, `automation_level`): the
    /// median of earlier milestones of the same type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rate_baselines: BTreeMap<String, RateBaseline>,
    pub complexity: Complexity,
    /// Per phase and `total`.
    pub baselines: BTreeMap<String, Baseline>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    #[serde(serialize_with = "crate::display::whole_if_whole")]
    pub idle_timeout_minutes: f64,
    pub classification: String,
    pub unfinished_runs: u64,
    pub running_runs_excluded: u64,
}

/// A failure validation caught, and how long its fix took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaughtRow {
    pub command: String,
    pub caught: String,
    pub failures: u64,
    pub fix_ms: u64,
}

/// A command whose outcome flipped at one HEAD with nothing edited: how
/// often it ran and failed there. Counts, not each outcome: the row stays
/// one line however often the command was run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "FlakyWire")]
pub struct FlakyRow {
    pub command: String,
    pub head: String,
    pub runs: u64,
    pub failures: u64,
}

/// A flaky row as files hold it: milestones written before 2026-11-26
/// list each outcome (`passed`) instead of the counts.
#[derive(Deserialize)]
struct FlakyWire {
    command: String,
    head: String,
    runs: Option<u64>,
    failures: Option<u64>,
    #[serde(default)]
    passed: Vec<bool>,
}

impl From<FlakyWire> for FlakyRow {
    fn from(w: FlakyWire) -> FlakyRow {
        let failed = w.passed.iter().filter(|&&ok| !ok).count() as u64;
        FlakyRow {
            command: w.command,
            head: w.head,
            runs: w.runs.unwrap_or(w.passed.len() as u64),
            failures: w.failures.unwrap_or(failed),
        }
    }
}

/// Automated against manual runs of the same command classes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LikeRow {
    pub classes: Vec<String>,
    pub errors_automated: Share,
    pub errors_manual: Share,
    pub first_attempt_automated: Share,
    pub first_attempt_manual: Share,
}

impl LikeRow {
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }
}

/// One side of the four-way split of a milestone's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkRow {
    pub active_ms: u64,
    pub runs: u64,
    pub failures: u64,
    pub first_attempt: Share,
}

/// A rate's baseline: the median over earlier milestones of the same type
/// (n ≥ 3), or insufficient data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateBaseline {
    pub kind: BaselineKind,
    pub ratio: Option<f64>,
    pub n: u64,
}

impl Measured {
    /// First-attempt success over all distinct commands, each once even
    /// when it was run both typed and by a program.
    pub fn success(&self) -> Share {
        if self.first_attempt.whole > 0 {
            return self.first_attempt;
        }
        Share {
            part: self.first_attempt_automated.part + self.first_attempt_manual.part,
            whole: self.first_attempt_automated.whole + self.first_attempt_manual.whole,
        }
    }
}

/// Files of the diff by what they are part of (`None`: no diff read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub measured: bool,
    pub ci: Vec<String>,
    pub docs: Vec<String>,
    pub scripts: Vec<String>,
    pub quality_gates: Vec<String>,
}

/// One edited file: saves recorded and the editing time counted up to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditedRow {
    pub path: String,
    pub saves: u64,
    pub edit_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRow {
    pub name: String,
    pub runs: u64,
    pub failures: u64,
    pub median_ms: u64,
    pub total_ms: u64,
}

/// Where a complexity label came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComplexitySource {
    /// Read from the branch's diff (files and lines changed).
    #[serde(rename = "diff")]
    Diff,
    /// Given with `mt close --complexity`.
    #[serde(rename = "declared")]
    Declared,
    /// No diff could be read and none was declared.
    #[default]
    #[serde(rename = "not measured")]
    NotMeasured,
}

/// Where the complexity label came from, and the diff it was read from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Complexity {
    pub source: ComplexitySource,
    pub files: Option<u64>,
    pub insertions: Option<u64>,
    pub deletions: Option<u64>,
}

/// Where a baseline figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BaselineKind {
    /// Given by the team (`--baseline`, or `[baselines]` in config).
    #[serde(rename = "declared")]
    Declared,
    /// The median of this repository's earlier milestones of the same type.
    #[serde(rename = "self")]
    SelfMeasured,
    /// Fewer than 3 earlier milestones of the same type.
    #[serde(rename = "insufficient")]
    Insufficient,
    #[serde(rename = "not measured")]
    NotMeasured,
}

impl BaselineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineKind::Declared => "declared",
            BaselineKind::SelfMeasured => "self",
            BaselineKind::Insufficient => "insufficient",
            BaselineKind::NotMeasured => "not measured",
        }
    }
}

/// What a phase's time is compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub kind: BaselineKind,
    pub ms: Option<u64>,
    pub q1_ms: Option<u64>,
    pub q3_ms: Option<u64>,
    pub n: Option<u64>,
    pub source: Option<String>,
}

impl Baseline {
    pub fn not_measured() -> Baseline {
        Baseline {
            kind: BaselineKind::NotMeasured,
            ms: None,
            q1_ms: None,
            q3_ms: None,
            n: None,
            source: None,
        }
    }

    /// A figure to compare with: declared or self-measured.
    pub fn usable_ms(&self) -> Option<u64> {
        matches!(
            self.kind,
            BaselineKind::Declared | BaselineKind::SelfMeasured
        )
        .then_some(self.ms)
        .flatten()
    }
}

/// A whole milestone file: the front matter, `body`, then mt's figures
/// collapsed at the end.
pub fn file_text(front: &FrontMatter, body: &str) -> Result<String> {
    let head = serde_saphyr::to_string(front).context("could not write the front matter")?;
    let figures = Figures {
        mt: front.mt.clone(),
    };
    let figures = serde_saphyr::to_string(&figures).context("could not write the figures")?;
    Ok(format!(
        "---\n{}---\n{}\n{FIGURES_OPEN}{}{FIGURES_CLOSE}",
        visible(&head),
        ensure_newline(body.to_owned()),
        visible(&figures)
    ))
}

/// YAML with every invisible or direction-changing character shown as its
/// escape, line by line: a tool name or any other text from elsewhere
/// cannot reorder what a reader of the committed file sees.
fn visible(yaml: &str) -> String {
    let lines: Vec<std::borrow::Cow<'_, str>> = yaml.lines().map(crate::display::safe).collect();
    ensure_newline(lines.join("\n"))
}

fn ensure_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Read the front matter of a milestone file.
pub fn parse(text: &str) -> Result<FrontMatter> {
    let Some(rest) = text.strip_prefix("---\n") else {
        bail!("no front matter (the file does not start with ---)");
    };
    let end = rest
        .find("\n---\n")
        .or_else(|| rest.ends_with("\n---").then(|| rest.len() - 4));
    let Some(end) = end else {
        bail!("the front matter has no closing ---")
    };
    let mut front: FrontMatter =
        serde_saphyr::from_str(&rest[..end + 1]).map_err(|e| anyhow::anyhow!("{e}"))?;
    front.mt = match front.mt_in_front.take() {
        Some(mt) => mt,
        None => figures(rest)?,
    };
    Ok(front)
}

/// The figures block at the end of a milestone file.
fn figures(text: &str) -> Result<Measured> {
    let Some(start) = text.rfind(FIGURES_OPEN) else {
        bail!("no figures of mt's (the `Measured by mt` block at the end is missing)");
    };
    let yaml = &text[start + FIGURES_OPEN.len()..];
    let Some(end) = yaml.find("\n```") else {
        bail!("the `Measured by mt` block is not closed");
    };
    let figures: Figures =
        serde_saphyr::from_str(&yaml[..end + 1]).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(figures.mt)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    #[expect(
        clippy::too_many_lines,
        reason = "test data: one milestone's front matter, field by field"
    )]
    pub fn sample() -> FrontMatter {
        let mut phases = BTreeMap::new();
        for (p, ms) in [
            ("diagnosis", 600_000),
            ("implementation", 1_800_000),
            ("validation", 300_000),
            ("other", 0),
        ] {
            phases.insert(p.to_owned(), ms);
        }
        let mut baselines = BTreeMap::new();
        baselines.insert(
            "diagnosis".to_owned(),
            Baseline {
                kind: BaselineKind::Declared,
                ms: Some(3_600_000),
                q1_ms: None,
                q3_ms: None,
                n: None,
                source: Some("--baseline diagnosis=1h".into()),
            },
        );
        baselines.insert(
            "total".to_owned(),
            Baseline {
                kind: BaselineKind::Insufficient,
                ms: None,
                q1_ms: None,
                q3_ms: None,
                n: Some(2),
                source: None,
            },
        );
        FrontMatter {
            milestone_id: "2026-11-23-bug-coverage-masking".into(),
            date: "2026-11-23".into(),
            kind: "bug".into(),
            issue_number: Some("#1234".into()),
            pr_number: None,
            priority: "medium".into(),
            complexity: "moderate".into(),
            title: "Coverage masking: \"quoted\" & odd: chars".into(),
            status: None,
            mt_in_front: None,
            mt: Measured {
                version: 1,
                repo: "/src/app".into(),
                branch: "fix/1234-coverage-masking".into(),
                first_event: Some("2026-11-23T09:00:00.000Z".into()),
                closed: "2026-11-23T12:00:00.000Z".into(),
                parameters: Parameters {
                    idle_timeout_minutes: 15.0,
                    classification: "0 configured rules, then 11 built-in rules; first match wins"
                        .into(),
                    unfinished_runs: 1,
                    running_runs_excluded: 0,
                },
                active_ms: 2_700_000,
                elapsed_ms: 10_800_000,
                phases_ms: phases,
                runs_automated: 8,
                runs_manual: 20,
                errors_automated: Share { part: 1, whole: 8 },
                errors_manual: Share { part: 5, whole: 20 },
                first_attempt_automated: Share { part: 3, whole: 4 },
                first_attempt_manual: Share { part: 9, whole: 12 },
                first_attempt: Share {
                    part: 14,
                    whole: 18,
                },
                validation_automated: Share { part: 6, whole: 7 },
                manual_steps_eliminated: 24,
                tools: vec![ToolRow {
                    name: "QC Pre-Push".into(),
                    runs: 4,
                    failures: 1,
                    median_ms: 41_000,
                    total_ms: 170_000,
                }],
                edited: vec![EditedRow {
                    path: "src/parse.rs".into(),
                    saves: 3,
                    edit_ms: 95_000,
                }],
                automation_runs: Share { part: 8, whole: 28 },
                automation_time_ms: Share {
                    part: 400_000,
                    whole: 600_000,
                },
                caught: vec![CaughtRow {
                    command: "cargo test".into(),
                    caught: "2026-11-23T10:00:00.000Z".into(),
                    failures: 2,
                    fix_ms: 900_000,
                }],
                consistency: Share { part: 5, whole: 6 },
                flaky: vec![FlakyRow {
                    command: "npm test".into(),
                    head: "0123456789ab".into(),
                    runs: 2,
                    failures: 1,
                }],
                like_for_like: LikeRow {
                    classes: vec!["cargo test".into()],
                    errors_automated: Share { part: 1, whole: 6 },
                    errors_manual: Share { part: 2, whole: 5 },
                    first_attempt_automated: Share { part: 0, whole: 1 },
                    first_attempt_manual: Share { part: 0, whole: 1 },
                },
                work: BTreeMap::from([
                    (
                        "person".to_owned(),
                        WorkRow {
                            active_ms: 2_400_000,
                            runs: 5,
                            failures: 2,
                            first_attempt: Share { part: 2, whole: 3 },
                        },
                    ),
                    (
                        "agent".to_owned(),
                        WorkRow {
                            active_ms: 300_000,
                            runs: 6,
                            failures: 1,
                            first_attempt: Share { part: 1, whole: 2 },
                        },
                    ),
                ]),
                agents: vec!["claude-code".into()],
                agent_like_for_like: LikeRow::default(),
                rate_baselines: BTreeMap::from([(
                    "success_rate".to_owned(),
                    RateBaseline {
                        kind: BaselineKind::SelfMeasured,
                        ratio: Some(0.6),
                        n: 4,
                    },
                )]),
                integration: Integration {
                    measured: true,
                    ci: vec![".github/workflows/ci.yml".into()],
                    docs: vec!["README.md".into()],
                    scripts: Vec::new(),
                    quality_gates: Vec::new(),
                },
                complexity: Complexity {
                    source: ComplexitySource::Diff,
                    files: Some(4),
                    insertions: Some(120),
                    deletions: Some(30),
                },
                baselines,
            },
        }
    }

    #[test]
    fn a_milestone_file_round_trips_exactly() {
        let front = sample();
        let text = file_text(&front, "# body\n").unwrap();
        assert_eq!(parse(&text).unwrap(), front);
        // The reader meets the title first: the front matter holds the
        // template's fields only, mt's figures come last, collapsed.
        let head: Vec<&str> = text.lines().take(15).collect();
        assert!(head.contains(&"# body"), "{head:?}");
        assert!(!head.iter().any(|l| l.starts_with("mt:")), "{head:?}");
        assert!(text.contains("<details>") && text.trim_end().ends_with("</details>"));
    }

    /// A file of the earlier layout, with `mt:` in the front matter and
    /// `priority: unset`, still reads.
    #[test]
    fn a_milestone_with_its_figures_in_the_front_matter_still_reads() {
        let mut front = sample();
        front.priority = "unset".into();
        let figures = serde_saphyr::to_string(&Figures {
            mt: front.mt.clone(),
        })
        .unwrap();
        let head = serde_saphyr::to_string(&front).unwrap();
        let old = format!("---\n{head}priority: unset\n{figures}---\n# body\n");
        let read = parse(&old).unwrap();
        assert_eq!(read.mt, front.mt);
        assert_eq!(read.priority, "unset");
    }

    #[test]
    fn malformed_front_matter_says_why() {
        assert!(
            parse("# no front matter")
                .unwrap_err()
                .to_string()
                .contains("does not start with ---")
        );
        assert!(
            parse("---\ndate: x\n")
                .unwrap_err()
                .to_string()
                .contains("no closing")
        );
        assert!(parse("---\ndate: [\n---\n").is_err());
    }

    /// A milestone written before the counts, with each outcome listed,
    /// still reads: the counts come from the list.
    #[test]
    fn a_flaky_row_listing_each_outcome_reads_as_counts() {
        let old = "command: npm test\nhead: 0123456789ab\npassed:\n- true\n- false\n- true\n";
        let row: FlakyRow = serde_saphyr::from_str(old).unwrap();
        assert_eq!((row.runs, row.failures), (3, 1));
        let new = "command: npm test\nhead: 0123456789ab\nruns: 12500\nfailures: 1786\n";
        let row: FlakyRow = serde_saphyr::from_str(new).unwrap();
        assert_eq!((row.runs, row.failures), (12_500, 1_786));
    }
}
