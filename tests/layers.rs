//! The layering as a fact the suite checks: what each crate may depend on
//! and do (ARCHITECTURE.md, "Crates"). The compiler keeps a crate from
//! using what it does not depend on; these tests keep the dependency lists
//! themselves from growing past their layer.

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The names under `[dependencies]` of a workspace crate.
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(format!("{ROOT}/crates/{krate}/Cargo.toml")).unwrap();
    let table: toml::Table = manifest.parse().unwrap();
    table["dependencies"]
        .as_table()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// The lines of a Rust file that are not comments, each with the file.
fn code_of(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    (text.lines())
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| (path.display().to_string(), l.to_owned()))
        .collect()
}

/// Every line of Rust under `dir` that is not a comment.
fn code(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            code(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.extend(code_of(&path));
        }
    }
}

/// The front binary is `mt-record`, which depends on libc and nix alone:
/// what it cannot depend on (SQLite, tokio, clap), `mt exec` cannot reach.
#[test]
fn the_front_crate_depends_on_libc_and_nix_only() {
    assert_eq!(dependencies("mt-record"), ["libc", "nix"]);
    let lines = code_of(Path::new(&format!("{ROOT}/src/main.rs")));
    assert!(
        lines.iter().all(|(_, l)| !l.contains("mt::")),
        "src/main.rs must not use the mt library"
    );
    assert!(
        lines
            .iter()
            .any(|(_, l)| l.contains("mt_record::front::main"))
    );
}

/// The model is pure: it depends on no store, runtime or process crate,
/// and its code opens no file, socket or process.
#[test]
fn the_model_does_no_io() {
    let deps = dependencies("mt-model");
    for forbidden in ["rusqlite", "tokio", "inotify", "libc", "nix", "clap", "mt"] {
        assert!(
            !deps.iter().any(|d| d == forbidden),
            "mt-model depends on {forbidden}"
        );
    }
    let mut lines = Vec::new();
    code(
        Path::new(&format!("{ROOT}/crates/mt-model/src")),
        &mut lines,
    );
    assert!(lines.len() > 1000, "read the model's sources");
    for (file, line) in &lines {
        for io in ["std::fs", "std::process", "std::net", "File::", "Command::"] {
            assert!(!line.contains(io), "{file}: {line}");
        }
    }
}
