//! `MT_BUILD`, the build's identity (see `build_identity`). The unwinder
//! is linked by `mt-record`'s build script, the crate both binaries link.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    build_identity();
}

/// `MT_BUILD`: a hash of everything the binaries are built from (the
/// sources, the embedded shell hooks and templates, the locked
/// dependencies), so two builds of one version tell each other apart — a
/// daemon of another build is replaced, and `mt --version` and `mt doctor`
/// say which build runs. No git needed: `cargo install` from a copy works.
fn build_identity() {
    let mut files = Vec::new();
    for root in [
        "src",
        "crates",
        "shell",
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
    ] {
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
