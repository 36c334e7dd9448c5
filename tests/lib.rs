//! One integration test binary: the real `mt`, a real daemon process, real
//! SQLite files and real git repositories, each test in its own dirs.

mod harness;

mod branch;
mod daemon;
mod exec;
mod spool;
