//! The model: what the recorded facts mean. Classifying a command line
//! ([`classify`]), the figures of a span of work ([`metrics`]), the
//! milestone's content and its markdown ([`milestone`]), the reports built
//! from milestones ([`report`]), and the configuration's meaning
//! ([`config`]).
//!
//! Data in, data out: no SQLite, no tokio, no process, no file read or
//! written (the crate does not depend on them). The store, the daemon and
//! the commands in `mt` gather the inputs and write the outputs.

pub mod classify;
pub mod config;
pub mod display;
pub mod metrics;
pub mod milestone;
pub mod report;
