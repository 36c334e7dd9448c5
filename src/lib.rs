//! mt records every command a developer runs and writes measured milestones.
//!
//! Read top to bottom, the modules follow the data (ARCHITECTURE.md):
//! writers append records to the spool; the daemon (or a reader, when none
//! runs) ingests them into the store; commands read the store.

// A `pub` item no other crate can reach says `pub(crate)`: what the library
// exports to the binaries, tests and benches is what `pub` marks. (Here and
// not in Cargo.toml's [lints]: the test binaries' own modules are not an
// API.)
#![deny(unreachable_pub)]

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

// Entry: the command line and one module per subcommand.
pub mod cli;
pub mod cmd;

// Writers: `mt exec` runs the command as if bare and appends records
// (the `mt-record` crate, which the front binary is).
pub(crate) use mt_record::autostart;
pub use mt_record::spool;

// The daemon and its control socket; readers catch up through it.
pub(crate) mod catchup;
pub(crate) mod control;
pub(crate) mod daemon;

// Ingest: parse, filter, redact, resolve the branch, commit.
pub mod ingest;
pub mod redact;

// Closing a branch and reporting on milestones: gather, compute (pure
// modules below), write files into the repository.
pub mod close;
pub(crate) mod finished;
pub(crate) mod report;
pub(crate) mod spans;

// `mt status`: a branch's open span summed from a kept checkpoint.
pub mod summary;

// Store and the plain data and rules it holds (classify, metrics and
// milestone are pure: data in, data out).
pub(crate) use mt_model::classify;
pub(crate) mod event;
pub mod git;
pub(crate) use mt_model::metrics;
pub(crate) use mt_model::milestone;
pub mod store;

// Ground: configuration, paths, private directories.
pub(crate) use mt_record::clock;
pub mod config;
pub(crate) use mt_model::display;
pub use mt_record::paths;
pub(crate) mod proc;
pub(crate) use mt_record::secure;
