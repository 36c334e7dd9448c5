//! The closed sets a milestone's front matter draws from: type, priority,
//! complexity. As enums, a bad `--type`/`--priority`/`--complexity` is a
//! usage error naming the allowed values, and a typo in code does not
//! compile. The front matter keeps their text, so files other versions
//! wrote are still read.

use clap::ValueEnum;

/// What kind of work a milestone records (the seed's `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WorkType {
    Bug,
    Feature,
    Enhancement,
    CiFix,
    Security,
    Performance,
}

/// How urgent the work was; judgement, so never inferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Priority {
    Critical,
    High,
    Medium,
    Low,
}

/// How big the change was (inferred from the diff unless declared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Level {
    Simple,
    Moderate,
    Complex,
    Strategic,
}

impl WorkType {
    /// The name on the command line and in the front matter.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkType::Bug => "bug",
            WorkType::Feature => "feature",
            WorkType::Enhancement => "enhancement",
            WorkType::CiFix => "ci-fix",
            WorkType::Security => "security",
            WorkType::Performance => "performance",
        }
    }
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Simple => "simple",
            Level::Moderate => "moderate",
            Level::Complex => "complex",
            Level::Strategic => "strategic",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text written is the text clap accepts, for every variant.
    #[test]
    fn names_agree_with_the_command_line() {
        for v in WorkType::value_variants() {
            assert_eq!(WorkType::from_str(v.as_str(), false), Ok(*v));
        }
        for v in Priority::value_variants() {
            assert_eq!(Priority::from_str(v.as_str(), false), Ok(*v));
        }
        for v in Level::value_variants() {
            assert_eq!(Level::from_str(v.as_str(), false), Ok(*v));
        }
    }
}
