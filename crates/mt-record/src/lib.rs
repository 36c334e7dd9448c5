//! Recording: what runs on every wrapped command's path, and the types
//! every layer above speaks.
//!
//! The `mt` front binary is this crate ([`front`]): `mt exec` runs the
//! command as if bare ([`wrapper`]) and appends a start and an end record
//! to the spool ([`spool`]), reading the branch from `.git` without a git
//! process ([`gitdir`]), then starts a daemon if none runs ([`autostart`]).
//! Its dependencies are std, libc and nix alone; that is the hot path's
//! budget, kept by the compiler.

pub mod autostart;
pub mod clock;
pub mod domain;
pub mod error;
pub mod exec;
pub mod front;
pub mod gitdir;
pub mod paths;
pub mod secure;
pub mod spool;
pub mod wrapper;
