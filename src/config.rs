//! User configuration (`~/.config/mt/config.toml`, or `MT_CONFIG`).
//!
//! Only what recording needs lives here so far: extra secret patterns and
//! commands never to store. A file that does not parse is an error naming the
//! file, line and key; the daemon then records with the built-in rules and
//! `mt doctor` reports the fault, so a typo never loses commands.

use std::fs;
use std::io;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Regexes; a command line matching one is not stored at all.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Regexes; what they match is replaced by `[REDACTED]` before storing.
    #[serde(default)]
    pub redact: Vec<String>,
}

impl Config {
    /// Read `path`; a missing file is the default configuration.
    pub fn load(path: &Path) -> Result<Config> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start].matches('\n').count() + 1)
                .unwrap_or(0);
            anyhow::anyhow!(
                "{}:{line}: {}; fix that line or remove it",
                path.display(),
                e.message()
            )
        })
    }
}
