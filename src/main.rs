//! `mt`: the front binary on every wrapped command's path. Its program is
//! `mt_record::front` — a crate of std, libc and nix alone — so `mt exec`
//! reaching SQLite, tokio, clap or a git process does not compile. Every
//! command line but the plain `mt exec` forms goes on to `mt-core`.
//!
//! It starts at C's `main` (`no_main`): Rust's own start-up probes the main
//! thread's stack by reading /proc/self/maps and sets up a stack-overflow
//! handler with its own alternate stack, work that ran on every wrapped
//! command; `runtime_defaults` does the part mt needs (BENCHMARKS.md).
#![no_main]

use std::ffi::{c_char, c_int};

/// This build's identity, as `mt --version` prints it (build.rs).
const BUILD: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("MT_BUILD"));

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: C's main gets `argc` valid NUL-terminated strings.
    unsafe { mt_record::front::main(argc, argv, BUILD) }
}
