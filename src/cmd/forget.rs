//! `mt forget PATTERN` / `mt forget --reapply`: take recorded text back.

use anyhow::{Context, Result};

use crate::catchup;
use crate::paths::Paths;

pub fn run(pattern: Option<&str>, reapply: bool) -> Result<u8> {
    let paths = Paths::from_env();
    // Flush first, so nothing still in the spool escapes the rewrite.
    let mut store = catchup::current_store(&paths)?;
    if reapply {
        let n = store.reapply(&catchup::filters(&paths))?;
        println!("masked again with the current rules: {n} stored command(s) changed");
    } else if let Some(p) = pattern {
        let re = regex::Regex::new(p)
            .with_context(|| format!("{p:?} is not a valid regex; quote it and fix the syntax"))?;
        let n = store.forget(&re)?;
        println!("forgot {n} stored command(s) matching {p:?}");
    }
    Ok(0)
}
