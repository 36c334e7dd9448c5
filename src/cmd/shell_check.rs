//! Does this very shell record its commands? `mt doctor` and `mt status`
//! ask, not only whether a session variable was inherited: the bash and zsh
//! hooks export `MT_PREV`, the start of the command before the one running
//! now, and that command's record must be in the session's spool file.

use std::fs;

use crate::paths::Paths;

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Hook {
    /// The previous command was recorded by this shell's hook.
    Recording { session: String },
    /// The hook is loaded but nothing ran before this command yet.
    Loaded { session: String },
    /// No hook in this shell; the sentence says why and what to do.
    Missing(String),
    /// The hook was loaded but stopped recording; the sentence names the
    /// likely cause.
    Stopped(String),
}

/// Check the shell that started this `mt` (its parent process).
pub(super) fn this_shell(paths: &Paths) -> Hook {
    let Some(session) = std::env::var("MT_SESSION").ok().filter(|s| !s.is_empty()) else {
        return Hook::Missing(
            "no mt hook in this shell: add `eval \"$(mt init bash)\"` to ~/.bashrc (zsh: `eval \"$(mt init zsh)\"`, fish: `mt init fish | source`)".into(),
        );
    };
    let owner = session
        .split('-')
        .next()
        .and_then(|p| p.parse::<i32>().ok());
    let parent = nix::unistd::getppid().as_raw();
    if owner.is_some_and(|pid| pid != parent) {
        return Hook::Missing(format!(
            "this shell (pid {parent}) has no mt hook of its own: MT_SESSION was inherited from shell {}; load mt in this shell's rc file too",
            owner.unwrap_or_default()
        ));
    }
    // fish records through `mt hook-record` and keeps no MT_PREV.
    let Some(prev) = std::env::var("MT_PREV").ok() else {
        return Hook::Recording { session };
    };
    if prev == "0" || prev.is_empty() {
        return Hook::Loaded { session };
    }
    let file = paths.spool.join(format!("h-{session}.log"));
    let needle = format!("\tt={prev}\t");
    let recorded = fs::read(&file)
        .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()));
    if recorded {
        Hook::Recording { session }
    } else {
        Hook::Stopped(
            "this shell's mt hook did not record the command before this one: something set PROMPT_COMMAND (bash) or precmd_functions (zsh) after mt's line in the rc file, or the spool cannot be written; put mt's line last in the rc file".into(),
        )
    }
}
