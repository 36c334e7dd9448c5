//! The closed sets a milestone's front matter draws from: type, priority,
//! complexity. As enums, a bad `--type`/`--priority`/`--complexity` is a
//! usage error naming the allowed values, and a typo in code does not
//! compile. The front matter keeps their text, so files other versions
//! wrote are still read.

use mt_record::text_enum;

text_enum! {
    /// What kind of work a milestone records (the framework's `type`).
    pub enum WorkType {
        Bug => "bug",
        Feature => "feature",
        Enhancement => "enhancement",
        CiFix => "ci-fix",
        Security => "security",
        Performance => "performance",
    }
}

text_enum! {
    /// How urgent the work was; judgement, so never inferred.
    pub enum Priority {
        Critical => "critical",
        High => "high",
        Medium => "medium",
        Low => "low",
    }
}

text_enum! {
    /// How big the change was (inferred from the diff unless declared).
    #[derive(PartialOrd, Ord)]
    pub enum Level {
        Simple => "simple",
        Moderate => "moderate",
        Complex => "complex",
        Strategic => "strategic",
    }
}
