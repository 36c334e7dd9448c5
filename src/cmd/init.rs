//! `mt init bash|zsh|fish` prints the shell hook with this binary's path and
//! the spool dir filled in; `mt init git` installs the post-merge hook;
//! `mt init milestones` writes the folder layout and editable templates.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::cli::InitTarget;
use crate::git;
use crate::milestone::render::BUILTIN_TEMPLATE;
use crate::paths::Paths;
use crate::secure;

const BASH: &str = include_str!("../../shell/mt.bash");
const ZSH: &str = include_str!("../../shell/mt.zsh");
const FISH: &str = include_str!("../../shell/mt.fish");
const POST_MERGE: &str = include_str!("../../shell/post-merge.sh");
/// Marks a hook file as mt's, so installing twice changes nothing.
pub(crate) const MARK: &str = "# mt post-merge hook";

pub fn run(target: InitTarget, print: bool) -> Result<u8> {
    if print && target != InitTarget::Systemd {
        anyhow::bail!("--print applies to mt init systemd only; drop it");
    }
    let bin = std::env::current_exe().context("could not find the mt binary")?;
    let bin = bin.to_string_lossy().into_owned();
    let script = match target {
        InitTarget::Git => return install_git_hook(&bin),
        InitTarget::Milestones => return write_milestones(),
        InitTarget::Systemd => return crate::cmd::systemd::run(print),
        InitTarget::Bash | InitTarget::Zsh | InitTarget::Fish => {
            let paths = Paths::from_env();
            // The hook appends with builtins only and cannot make the dir itself.
            secure::private_dir(&paths.spool)?;
            let spool = paths.spool.to_string_lossy();
            match target {
                InitTarget::Fish => fill(FISH, &fish_quote(&bin), &fish_quote(&spool)),
                InitTarget::Zsh => fill(ZSH, &sh_quote(&bin), &sh_quote(&spool)),
                _ => fill(BASH, &sh_quote(&bin), &sh_quote(&spool)),
            }
        }
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

fn repo_here() -> Result<git::Repo> {
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    git::find(&cwd).context("this directory is not in a git repository; run mt init git inside one")
}

/// Where git runs hooks from: `core.hooksPath` if set, else `.git/hooks`.
pub(crate) fn hooks_dir(repo: &git::Repo) -> PathBuf {
    let out = Command::new("git")
        .current_dir(&repo.root)
        .args(["config", "--get", "core.hooksPath"])
        .output();
    match out {
        Ok(o) if o.status.success() && !o.stdout.is_empty() => {
            let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            if p.is_absolute() {
                p
            } else {
                repo.root.join(p)
            }
        }
        _ => repo.common.join("hooks"),
    }
}

fn install_git_hook(bin: &str) -> Result<u8> {
    let repo = repo_here()?;
    let dir = hooks_dir(&repo);
    fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let hook = dir.join("post-merge");
    let chained = dir.join("post-merge.pre-mt");
    match fs::read_to_string(&hook) {
        Ok(text) if text.contains(MARK) => {
            println!(
                "{} already closes merged branches; nothing to do",
                hook.display()
            );
            return Ok(0);
        }
        // Keep the existing hook and run it first, from ours.
        Ok(_) => fs::rename(&hook, &chained)
            .with_context(|| format!("could not move {}", hook.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("could not read {}", hook.display())),
    }
    fs::write(&hook, POST_MERGE.replace("@MT_BIN@", &sh_quote(bin)))?;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755))?;
    let also = if chained.exists() {
        format!(" (after the existing hook, now {})", chained.display())
    } else {
        String::new()
    };
    println!(
        "installed {}: each merge closes the merged branch{also}",
        hook.display()
    );
    Ok(0)
}

fn write_milestones() -> Result<u8> {
    let repo = repo_here()?;
    let dir = repo.root.join("milestones");
    for sub in ["templates", "dashboards"] {
        fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("could not create {}", dir.join(sub).display()))?;
    }
    for kind in ["bug", "feature", "enhancement"] {
        write_new(
            &dir.join(format!("templates/{kind}-milestone-template.md")),
            BUILTIN_TEMPLATE,
        )?;
    }
    println!(
        "{} is ready: edit templates/*-milestone-template.md (variables: docs/templates.md in mt's repository)",
        dir.display()
    );
    Ok(0)
}

/// Write unless the file exists: a user's edited template is never replaced.
fn write_new(path: &Path, text: &str) -> Result<()> {
    if path.exists() {
        println!("kept {} (already there)", path.display());
        return Ok(());
    }
    fs::write(path, text).with_context(|| format!("could not write {}", path.display()))
}
