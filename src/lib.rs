//! mt records every command a developer runs and writes measured milestones.
//!
//! Read top to bottom, the modules follow the data (ARCHITECTURE.md):
//! writers append records to the spool; the daemon (or a reader, when none
//! runs) ingests them into the store; commands read the store.

/// A line to stderr that never panics. The daemon's stderr is its log file:
/// on a full disk `eprintln!` would panic and take the ingest thread down;
/// a log line lost there is the lesser harm.
macro_rules! log_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
pub(crate) use log_line;

// The areas of the app, top to bottom (ARCHITECTURE.md, "Areas of mt").
// The hot path and the domain enums are the `mt-record` crate; the pure
// model is `mt-model`; their modules are re-exported under the names the
// areas use.

// Entry: the command line and one module per subcommand.
pub mod cli;
pub mod cmd;

// The daemon, its control socket, and how readers catch up through it.
pub(crate) mod daemon;

// Ingest: parse, filter, redact, resolve the branch, commit.
pub mod ingest;
pub mod redact;

// Closing a branch (and `mt status`'s sum of an open one); reports from
// the milestone files.
pub mod close;
pub(crate) mod report;

// The store.
pub mod store;

// Shared: a stored command, git beyond the fork-free reader, child
// processes, the configuration files.
pub mod config;
pub(crate) mod event;
pub mod git;
pub(crate) mod proc;

// From `mt-record`: the writers' side.
pub(crate) use mt_record::{autostart, clock, secure};
pub use mt_record::{paths, spool};

// From `mt-model`: the pure rules.
pub(crate) use mt_model::{classify, display, metrics, milestone};
