//! `mt init bash|zsh|fish`: print the hook with this binary's path and the
//! spool dir filled in, so the hook never has to work either out.

use std::io::Write;

use anyhow::{Context, Result};

use crate::cli::Shell;
use crate::paths::Paths;
use crate::secure;

const BASH: &str = include_str!("../../shell/mt.bash");
const ZSH: &str = include_str!("../../shell/mt.zsh");
const FISH: &str = include_str!("../../shell/mt.fish");

pub fn run(shell: Shell) -> Result<u8> {
    let paths = Paths::from_env();
    // The hook appends with builtins only and cannot make the dir itself.
    secure::private_dir(&paths.spool)?;
    let bin = std::env::current_exe().context("could not find the mt binary")?;
    let bin = bin.to_string_lossy();
    let spool = paths.spool.to_string_lossy();
    let script = match shell {
        Shell::Bash => fill(BASH, &sh_quote(&bin), &sh_quote(&spool)),
        Shell::Zsh => fill(ZSH, &sh_quote(&bin), &sh_quote(&spool)),
        Shell::Fish => fill(FISH, &fish_quote(&bin), &fish_quote(&spool)),
    };
    std::io::stdout().lock().write_all(script.as_bytes())?;
    Ok(0)
}

fn fill(template: &str, bin: &str, spool: &str) -> String {
    template
        .replace("@MT_BIN@", bin)
        .replace("@MT_SPOOL@", spool)
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'"))
}
