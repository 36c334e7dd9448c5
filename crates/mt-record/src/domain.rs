//! The closed sets every layer speaks: a command's phase, where it was
//! seen, who did the work, what a stored event is, where a run is in its
//! life. Each is stored and printed as its text, one list written once
//! ([`Text`]); the store and serde adapt that text in their own crates.

/// A closed set written as text: the names the spool, SQL, JSON and the
/// milestone files use are the ones listed here.
pub trait Text: Copy + Sized + 'static {
    /// Every value, in the order people read them.
    const ALL: &'static [Self];

    /// The value's name as it is written everywhere.
    fn as_str(self) -> &'static str;

    /// The value a name stands for; `None` for any other text.
    fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == text)
    }
}

/// A closed set and its names, written once: `Name => "text",` per value.
/// Every crate's closed sets that are stored or typed use it, so the text
/// a file holds and the text a flag accepts are one list.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $crate::domain::Text for $name {
            const ALL: &'static [Self] = &[$($name::$variant,)+];

            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl $name {
            /// The value's name (the `Text` list's).
            pub fn as_str(self) -> &'static str {
                $crate::domain::Text::as_str(self)
            }

            /// The value a name stands for (the `Text` list's).
            pub fn parse(text: &str) -> Option<Self> {
                <Self as $crate::domain::Text>::parse(text)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// What a stretch of work was for (docs/metrics.md, "Phases").
    #[derive(PartialOrd, Ord)]
    pub enum Phase {
        /// Finding out what is wrong: reading, searching, reproducing.
        Diagnosis => "diagnosis",
        /// Changing the code.
        Implementation => "implementation",
        /// Checking the change: tests, linters, builds.
        Validation => "validation",
        /// A command that says nothing of its phase (`ls`, `cd`): it runs
        /// in the phase in force. Never declared, never a milestone row.
        Other => "other",
    }
}

impl Phase {
    /// The phases a person declares (`--phase`, `mt phase`) and a
    /// milestone reports, in order.
    pub const WORK: [Phase; 3] = [Phase::Diagnosis, Phase::Implementation, Phase::Validation];

    /// One of the three the milestone reports (not [`Phase::Other`]).
    pub fn parse_work(text: &str) -> Option<Phase> {
        Phase::parse(text).filter(|p| *p != Phase::Other)
    }
}

text_enum! {
    /// Where a command was seen.
    #[derive(Default)]
    pub enum Source {
        /// Run through `mt exec` by a program — a script, a make target, a
        /// git hook, another tool: automated. (Before `typed` existed, every
        /// `mt exec` run was stored as this.)
        #[default]
        Exec => "exec",
        /// `mt exec` typed at a prompt by a person: a manual run.
        Typed => "typed",
        /// Seen only by a shell hook: a manual run.
        Hook => "hook",
        /// `mt exec` under `CI=true`.
        Ci => "ci",
        /// The daemon's working-tree watcher (an edit).
        Watch => "watch",
        /// A coding agent: a command it ran through a shell (its
        /// environment from `mt init agent`, or its own hooks), or a file
        /// it reported writing.
        Agent => "agent",
    }
}

impl Source {
    /// Not typed by a person — a script, make, a git hook, CI, an agent:
    /// the automated side of every comparison.
    pub fn by_program(self) -> bool {
        !matches!(self, Source::Typed | Source::Hook | Source::Watch)
    }

    /// Who did the work, for the milestone's four-way split.
    pub fn who(self) -> Who {
        match self {
            Source::Typed | Source::Hook | Source::Watch => Who::Person,
            Source::Exec => Who::Script,
            Source::Agent => Who::Agent,
            Source::Ci => Who::Ci,
        }
    }
}

text_enum! {
    /// Who ran a command or made an edit (docs/metrics.md, "Who did the
    /// work").
    #[derive(Default, PartialOrd, Ord)]
    pub enum Who {
        /// Typed by a person, or a save of theirs.
        #[default]
        Person => "person",
        /// Run by a script or tool through `mt exec`.
        Script => "script",
        /// Run by a coding agent.
        Agent => "agent",
        /// Run under CI.
        Ci => "ci",
    }
}

text_enum! {
    /// What a stored event is.
    #[derive(Default)]
    pub enum EventKind {
        /// A command that ran (through `mt exec` or seen by a hook).
        #[default]
        Command => "command",
        /// `mt phase P`: a point on the timeline, no duration.
        Marker => "marker",
        /// A file of the working tree written (its path in `command`).
        Edit => "edit",
    }
}

text_enum! {
    /// Where a stored command is in its life (SQL in the store reads these
    /// texts too).
    pub enum RunState {
        /// Started (an `mt exec` start record), not ended yet.
        Running => "running",
        Done => "done",
        /// Its wrapper or shell died without an end record.
        Unfinished => "unfinished",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Text + PartialEq + std::fmt::Debug>() {
        for v in T::ALL {
            assert_eq!(T::parse(v.as_str()), Some(*v));
        }
        assert_eq!(T::parse("nonsense"), None);
    }

    #[test]
    fn every_name_reads_back() {
        round_trips::<Phase>();
        round_trips::<Source>();
        round_trips::<Who>();
        round_trips::<EventKind>();
        round_trips::<RunState>();
        assert_eq!(Phase::parse_work("other"), None);
        assert_eq!(Phase::parse_work("validation"), Some(Phase::Validation));
    }
}
