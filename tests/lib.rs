//! One integration test binary: the real `mt`, a real daemon process, real
//! SQLite files and real git repositories, each test in its own dirs.

// A test is one scenario, read top to bottom; the 80-line rule is the
// library's.
#![allow(clippy::too_many_lines)]

mod harness;
mod term;

mod agents;
mod branch;
mod budget;
mod close;
mod daemon;
mod dispatch;
mod edit_rules;
mod edits;
mod exec;
mod faults;
mod finish;
mod finish_matrix;
mod hooks;
mod layers;
mod report;
mod secrets;
mod service;
mod spool;
mod timeline;
mod tools;
