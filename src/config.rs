//! User configuration (`~/.config/mt/config.toml`, or `MT_CONFIG`) and a
//! repository's `.mt.toml`, read from disk. What the keys mean lives with
//! the model (`mt_model::config`). A file that does not parse is an error
//! naming the file, line and key; the daemon then records with the
//! built-in rules and `mt doctor` reports the fault, so a typo never loses
//! commands.

use std::fs;
use std::io;
use std::path::Path;

use anyhow::{Context, Result};

pub use mt_model::config::*;

/// The configuration in force in `repo_root` (or outside any repository):
/// the user's file, then the repository's `.mt.toml` on top. The one place
/// both are read and layered.
pub fn effective(user: &Path, repo_root: Option<&Path>) -> Result<Config> {
    let config = load(user)?;
    match repo_root {
        Some(root) => Ok(config.layered(load(&root.join(".mt.toml"))?)),
        None => Ok(config),
    }
}

/// Read `path`; a missing file is the default configuration.
pub fn load(path: &Path) -> Result<Config> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    Config::parse(&text, &path.display().to_string())
}
