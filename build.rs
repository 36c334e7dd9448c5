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
    build_identity();
    link_unwinder();
}

/// `MT_BUILD`: a hash of everything the binaries are built from (the
/// sources, the embedded shell hooks and templates, the locked
/// dependencies), so two builds of one version tell each other apart — a
/// daemon of another build is replaced, and `mt --version` and `mt doctor`
/// say which build runs. No git needed: `cargo install` from a copy works.
fn build_identity() {
    let mut files = Vec::new();
    for root in ["src", "shell", "Cargo.toml", "Cargo.lock", "build.rs"] {
        println!("cargo:rerun-if-changed={root}");
        collect(std::path::Path::new(root), &mut files);
    }
    files.sort();
    // FNV-1a, 64 bits: stable across Rust versions, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for f in &files {
        eat(f.to_string_lossy().as_bytes());
        eat(&std::fs::read(f).unwrap_or_default());
    }
    println!("cargo:rustc-env=MT_BUILD={hash:016x}");
}

fn collect(path: &std::path::Path, out: &mut Vec<PathBuf>) {
    match std::fs::read_dir(path) {
        Ok(entries) => {
            for e in entries.flatten() {
                collect(&e.path(), out);
            }
        }
        Err(_) if path.is_file() => out.push(path.to_path_buf()),
        Err(_) => {}
    }
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
