//! Command line → phase and tool (docs/metrics.md "Classification"). Pure.
//!
//! Rules are regexes on the command text. The repository's `.mt.toml` rules
//! are tried first, then the user's config, then the built-in ones; the
//! first match wins: trying the most specific first is what lets a team
//! re-classify a command the built-ins already know. `mt exec --phase/--tool`
//! beat every rule.

use anyhow::{Context, Result};
use regex::Regex;
use serde::Serialize;

use crate::config::RuleConfig;
use mt_record::domain::Phase;

pub mod tools;

/// How a built-in rule names the tool a command ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    /// Not a tool (an editor, a search).
    No,
    /// A fixed name (the framework's scripts).
    As(&'static str),
    /// What the rule matched: `cargo test`, `pytest`, `check_links.sh`.
    Matched,
}

/// Built-in rules: (regex, phase, tool, manual steps).
const BUILTIN: &[(&str, Phase, Named, Option<u32>)] = &[
    // The framework's "Tools Used" list.
    (
        r"enhanced_ci_failure_analyzer\.py",
        Phase::Diagnosis,
        Named::As("CI Failure Analyzer"),
        None,
    ),
    (
        r"quick_validate\.sh",
        Phase::Validation,
        Named::As("Quick Validation"),
        None,
    ),
    (
        r"qc_pre_push\.sh",
        Phase::Validation,
        Named::As("QC Pre-Push"),
        None,
    ),
    (
        r"validate_ci_locally\.sh",
        Phase::Validation,
        Named::As("Targeted Testing"),
        None,
    ),
    // Validation: check scripts by their name (the tools themselves are
    // in the table, tools.rs).
    (
        r"(^|/)[\w.-]*(validate|check|qc_)[\w.-]*(\s|$)",
        Phase::Validation,
        Named::Matched,
        None,
    ),
    // Diagnosis: reading history, searching, logs.
    (
        r"^git (log|diff|show|blame|bisect|grep|status|reflog)\b",
        Phase::Diagnosis,
        Named::No,
        None,
    ),
    (
        r"^(grep|rg|ag|ack|less|more|tail|head|cat|journalctl|dmesg|strace|ltrace|gdb|lldb|perf|top|htop|ps|lsof|find|fd|curl|jq)\b",
        Phase::Diagnosis,
        Named::No,
        None,
    ),
    // Implementation: editors, builds, formatters, commits.
    (
        r"^(vim?|nvim|emacs|nano|code|hx|helix|micro|kak)\b",
        Phase::Implementation,
        Named::No,
        None,
    ),
    (
        r"^git (add|commit|restore|stash|rebase|cherry-pick|am|apply|mv|rm)\b",
        Phase::Implementation,
        Named::No,
        None,
    ),
];

/// A tool's name from what a rule matched: a program and its subcommand
/// (`cargo test`, `npm run lint`), or a script's file name.
fn matched_name(re: &Regex, command: &str) -> Option<String> {
    let m = re.find(command)?.as_str().trim();
    let name = m.rsplit('/').next().unwrap_or(m);
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    (!name.is_empty()).then_some(name)
}

/// Path rules for edits (`edit_phases` in config): the first glob, in key
/// order, that matches a path gives its phase.
#[derive(Debug, Clone, Default)]
pub struct EditRules {
    set: globset::GlobSet,
    phases: Vec<Phase>,
}

impl EditRules {
    /// Compile `edit_phases`; a bad glob is an error naming it (a phase
    /// that is none was refused as the file was parsed).
    pub fn new(edit_phases: &std::collections::BTreeMap<String, Phase>) -> Result<EditRules> {
        let mut set = globset::GlobSetBuilder::new();
        let mut phases = Vec::new();
        for (glob, phase) in edit_phases {
            let g = globset::Glob::new(glob)
                .with_context(|| format!("edit_phases has a bad glob {glob:?}; fix it"))?;
            set.add(g);
            phases.push(*phase);
        }
        Ok(EditRules {
            set: set.build()?,
            phases,
        })
    }

    pub fn phase(&self, path: &str) -> Option<Phase> {
        let first = self.set.matches(path).into_iter().min()?;
        Some(self.phases[first])
    }
}

/// Command lines that differ only in spacing are the same command. A line
/// already in that form is borrowed, not copied: this runs per run.
pub fn normalize(command: &str) -> std::borrow::Cow<'_, str> {
    let bytes = command.as_bytes();
    let normal = !bytes.first().is_some_and(u8::is_ascii_whitespace)
        && !bytes.last().is_some_and(u8::is_ascii_whitespace)
        && !bytes.windows(2).any(|w| w[0] == b' ' && w[1] == b' ')
        && command.chars().all(|c| c == ' ' || !c.is_whitespace());
    if normal {
        std::borrow::Cow::Borrowed(command)
    } else {
        command
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .into()
    }
}

/// What a command counts as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Class {
    #[serde(serialize_with = "crate::display::text")]
    pub phase: Phase,
    pub tool: Option<String>,
    pub manual_steps: Option<u32>,
}

#[derive(Debug)]
struct Rule {
    re: Regex,
    phase: Option<Phase>,
    tool: Option<String>,
    /// Name the tool after what matched (built-in runners and builds).
    tool_is_match: bool,
    manual_steps: Option<u32>,
    source: &'static str,
}

#[derive(Debug)]
pub struct Classifier {
    rules: Vec<Rule>,
}

impl Classifier {
    /// `configured` rules (already in repo → user order) before the built-ins.
    pub fn new(configured: &[RuleConfig]) -> Result<Classifier> {
        let mut rules = Vec::new();
        for r in configured {
            rules.push(Rule {
                re: Regex::new(&r.pattern)
                    .with_context(|| format!("invalid rule pattern {:?}", r.pattern))?,
                phase: r.phase,
                tool: r.tool.clone(),
                tool_is_match: false,
                manual_steps: r.manual_steps,
                source: "config",
            });
        }
        for (re, phase, tool, steps) in BUILTIN {
            rules.push(Rule {
                re: Regex::new(re).expect("built-in rule compiles"),
                phase: Some(*phase),
                tool: match tool {
                    Named::As(name) => Some((*name).to_owned()),
                    Named::No | Named::Matched => None,
                },
                tool_is_match: *tool == Named::Matched,
                manual_steps: *steps,
                source: "built-in",
            });
        }
        Ok(Classifier { rules })
    }

    /// Classify `command`; `phase`/`tool` are the `mt exec` hints.
    pub fn classify(&self, command: &str, phase: Option<Phase>, tool: Option<&str>) -> Class {
        // Spacing never changes what a command is.
        let command = normalize(command);
        let command: &str = &command;
        let configured =
            (self.rules.iter()).find(|r| r.source == "config" && r.re.is_match(command));
        // The table of known tools, after the team's own rules and before
        // the built-in patterns (check scripts, git, editors, searches).
        if configured.is_none()
            && let Some((known_phase, name)) = tools::recognise(command)
        {
            let tool = tool.unwrap_or(name).to_owned();
            return Class {
                phase: phase.unwrap_or(known_phase),
                manual_steps: self.manual_steps_of(&tool),
                tool: Some(tool),
            };
        }
        let rule = configured.or_else(|| self.rules.iter().find(|r| r.re.is_match(command)));
        // A named tool's declared manual steps apply wherever its name comes from.
        let tool = tool
            .map(str::to_owned)
            .or_else(|| rule.and_then(|r| r.tool.clone()))
            .or_else(|| {
                rule.filter(|r| r.tool_is_match)
                    .and_then(|r| matched_name(&r.re, command))
            });
        let manual_steps = tool.as_deref().and_then(|t| self.manual_steps_of(t));
        Class {
            phase: phase
                .or_else(|| rule.and_then(|r| r.phase))
                .unwrap_or(Phase::Other),
            tool,
            manual_steps,
        }
    }

    /// The manual steps a rule declares for the tool named `tool`.
    fn manual_steps_of(&self, tool: &str) -> Option<u32> {
        (self.rules.iter())
            .find(|r| r.tool.as_deref() == Some(tool) && r.manual_steps.is_some())
            .and_then(|r| r.manual_steps)
    }

    /// How many rules of each source are in force (printed with the figures).
    pub fn describe(&self) -> String {
        let configured = self.rules.iter().filter(|r| r.source == "config").count();
        format!(
            "{configured} configured rules, then {} known tools, then {} built-in rules; first match wins",
            tools::TOOLS.len(),
            BUILTIN.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table() {
        let c = Classifier::new(&[]).unwrap();
        let cases = [
            ("git log --oneline", "diagnosis"),
            ("git diff HEAD~1", "diagnosis"),
            ("rg -n foo src/", "diagnosis"),
            ("journalctl -u x", "diagnosis"),
            ("vim src/main.rs", "implementation"),
            ("cargo build --release", "implementation"),
            ("git commit -m x", "implementation"),
            ("cargo fmt", "implementation"),
            ("cargo test -q", "validation"),
            ("cargo fmt --check", "validation"),
            ("pytest -x tests/", "validation"),
            ("./scripts/qc_pre_push.sh", "validation"),
            ("./scripts/check_links.sh", "validation"),
            ("npm run lint", "validation"),
            ("ls -la", "other"),
            ("echo hi", "other"),
        ];
        for (cmd, phase) in cases {
            assert_eq!(c.classify(cmd, None, None).phase.as_str(), phase, "{cmd}");
        }
        let qc = c.classify("bash scripts/qc_pre_push.sh --fast", None, None);
        assert_eq!(qc.tool.as_deref(), Some("QC Pre-Push"));
        // Runners, linters, check scripts and builds are named by what ran.
        let tools = [
            ("pytest -x tests/", Some("pytest")),
            ("cargo  test -q", Some("cargo test")),
            ("cargo test -q", Some("cargo test")),
            ("npm run lint", Some("npm run lint")),
            ("./scripts/check_links.sh --all", Some("check_links.sh")),
            ("make", Some("make")),
            ("vim a.rs", None),
            ("git log", None),
        ];
        for (cmd, tool) in tools {
            assert_eq!(c.classify(cmd, None, None).tool.as_deref(), tool, "{cmd}");
        }
    }

    #[test]
    fn configured_rules_and_hints_come_first() {
        let rules = vec![
            RuleConfig {
                pattern: "^cargo test".into(),
                phase: Some(Phase::Diagnosis),
                tool: None,
                manual_steps: None,
            },
            RuleConfig {
                pattern: "deploy\\.sh".into(),
                phase: Some(Phase::Validation),
                tool: Some("Deploy".into()),
                manual_steps: Some(12),
            },
        ];
        let c = Classifier::new(&rules).unwrap();
        assert_eq!(c.classify("cargo test", None, None).phase, Phase::Diagnosis);
        let d = c.classify("./deploy.sh prod", None, None);
        assert_eq!(
            (d.tool.as_deref(), d.manual_steps),
            (Some("Deploy"), Some(12))
        );
        let hinted = c.classify("ls", Some(Phase::Implementation), Some("Deploy"));
        assert_eq!(
            (hinted.phase.as_str(), hinted.manual_steps),
            ("implementation", Some(12))
        );
        // A phase that is none is refused where the file is read, with
        // its line.
        let text = "[[rules]]\nmatch = \"x\"\nphase = \"testing\"\n";
        let bad = crate::config::Config::parse(text, "config.toml").unwrap_err();
        let bad = bad.to_string();
        assert!(
            bad.starts_with("config.toml:3: rules.phase:") && bad.contains("is not one of"),
            "{bad}"
        );
    }
}
