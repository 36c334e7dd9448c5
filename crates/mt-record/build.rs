//! Link the unwinder (libgcc_eh) statically on GNU/Linux, so mt's binaries
//! do not load libgcc_s.so at every start. Loading one more shared library
//! is most of what a Rust wrapper costs over a C one: a minimal
//! `Command::status` wrapper measured 1.17× a C fork/exec/wait wrapper with
//! libgcc_s and 1.07× without (BENCHMARKS.md), and `mt exec` is on every
//! wrapped command's path. Rust does the same for `crt-static` builds; this
//! keeps glibc dynamic. Skipped where the archive is not found (another C
//! compiler, another libc, a cross build), which only costs that speed.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    link_unwinder();
}

/// See the module doc.
fn link_unwinder() {
    let var = |k: &str| env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("HOST") != var("TARGET")
    {
        return;
    }
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let Ok(out) = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let archive = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    // Not found, cc prints the bare name back.
    if !archive.is_absolute() || !archive.is_file() {
        return;
    }
    let dir = archive
        .parent()
        .expect("an absolute file path has a parent");
    println!("cargo:rustc-link-search=native={}", dir.display());
    // Not bundled into the rlib: each binary links it, before std's -lgcc_s,
    // which --as-needed then drops.
    println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
}
