//! `mt init bash|zsh|fish` prints the shell hook with this binary's path and
//! the spool dir filled in; `mt init git` installs the post-merge hook;
//! `mt init milestones` writes the folder layout and editable templates.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::InitTarget;
use crate::git;
use crate::milestone::render::BUILTIN_TEMPLATE;
use crate::paths::Paths;
use crate::secure;

const BASH: &str = include_str!("../../shell/mt.bash");
const ZSH: &str = include_str!("../../shell/mt.zsh");
const FISH: &str = include_str!("../../shell/mt.fish");
/// The functions the bash and zsh hooks share, put in at `@MT_COMMON@`.
const COMMON: &str = include_str!("../../shell/common.sh");
const GIT_HOOK: &str = include_str!("../../shell/git-hook.sh");
/// Marks a hook file as mt's, so installing twice changes nothing.
pub(crate) const MARK: &str = "# mt git hook";
/// What earlier versions wrote: replaced, not chained.
const OLD_MARK: &str = "# mt post-merge hook";

/// The git hooks `mt init git` installs, and what each runs. post-merge
/// fires after `git merge` and `git pull` in merge, fast-forward and
/// ff-only modes (and `pull --rebase` with nothing local to rebase);
/// post-rewrite after a rebase, which is how `pull --rebase` ends when
/// there were local commits. Both only act on the default branch.
pub(crate) const HOOKS: [(&str, &str); 2] = [
    ("post-merge", "@MT_BIN@ close --hook"),
    (
        "post-rewrite",
        "[ \"${1-}\" = rebase ] && @MT_BIN@ close --hook",
    ),
];
/// `--in-pr`: before a push, the branch's draft is refreshed.
const PRE_PUSH: (&str, &str) = ("pre-push", "@MT_BIN@ close --refresh-draft </dev/null");

pub(crate) fn run(target: InitTarget, print: bool, in_pr: bool) -> Result<u8> {
    if print && target != InitTarget::Systemd {
        anyhow::bail!("--print applies to mt init systemd only; drop it");
    }
    if in_pr && target != InitTarget::Git {
        anyhow::bail!("--in-pr applies to mt init git only; drop it");
    }
    let bin = crate::paths::front_exe().context("could not find the mt binary")?;
    let bin = bin.to_string_lossy().into_owned();
    let script = match target {
        InitTarget::Git => return install_git_hooks(&bin, in_pr),
        InitTarget::Milestones => return write_milestones(),
        InitTarget::Systemd => return crate::cmd::systemd::run(print),
        // `cmd::agent` serves these (see `cmd::run`).
        InitTarget::Agent | InitTarget::ClaudeCode | InitTarget::GeminiCli => {
            anyhow::bail!("mt init agent and claude-code are not shell hooks; run them as they are")
        }
        InitTarget::Bash | InitTarget::Zsh | InitTarget::Fish => {
            let paths = Paths::from_env();
            // The hook appends with builtins only and cannot make the dir itself.
            secure::private_dir(&paths.spool)?;
            let spool = paths.spool.to_string_lossy();
            match target {
                InitTarget::Fish => fill(FISH, &fish_quote(&bin), &fish_quote(&spool)),
                InitTarget::Zsh => fill(ZSH, &sh_quote(&bin), &sh_quote(&spool)),
                _ => {
                    secure::private_dir(&paths.runtime())?;
                    let run = paths.runtime();
                    fill(BASH, &sh_quote(&bin), &sh_quote(&spool))
                        .replace("@MT_SCRATCH@", &sh_quote(&run.to_string_lossy()))
                }
            }
        }
    };
    std::io::stdout().lock().write_all(script.as_bytes())?;
    Ok(0)
}

pub(super) fn fill(template: &str, bin: &str, spool: &str) -> String {
    template
        .replace(
            "@MT_COMMON@\n",
            COMMON.split_once("\n\n").map_or(COMMON, |(_, body)| body),
        )
        .replace("@MT_BIN@", bin)
        .replace("@MT_SPOOL@", spool)
}

pub(super) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Quoted only when it must be, as `fish_indent` writes it.
fn fish_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && (s.bytes()).all(|b| b.is_ascii_alphanumeric() || b"/_.-+:,@%=".contains(&b));
    if plain {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'"))
}

fn repo_here() -> Result<git::Repo> {
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    git::find(&cwd).context("this directory is not in a git repository; run mt init git inside one")
}

/// Where git runs hooks from: `core.hooksPath` if set, else `.git/hooks`.
pub(crate) fn hooks_dir(repo: &git::Repo) -> PathBuf {
    let out = crate::proc::Cmd::git(&repo.root)
        .args(["config", "--get", "core.hooksPath"])
        .text();
    match out {
        Ok(o) if !o.is_empty() => {
            let p = PathBuf::from(o);
            if p.is_absolute() {
                p
            } else {
                repo.root.join(p)
            }
        }
        _ => repo.common.join("hooks"),
    }
}

fn install_git_hooks(bin: &str, in_pr: bool) -> Result<u8> {
    let repo = repo_here()?;
    let dir = hooks_dir(&repo);
    fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let mut hooks = HOOKS.to_vec();
    if in_pr {
        hooks.push(PRE_PUSH);
    }
    for (name, action) in hooks {
        install_hook(&dir, name, &action.replace("@MT_BIN@", &sh_quote(bin)))?;
    }
    println!(
        "merges and pulls on the default branch now write the milestones of finished branches{}",
        if in_pr {
            "; each push refreshes the branch's draft milestone"
        } else {
            ""
        }
    );
    Ok(0)
}

/// Install one hook; an existing hook that is not mt's is kept and run
/// first, from `NAME.pre-mt`.
fn install_hook(dir: &Path, name: &str, action: &str) -> Result<()> {
    let hook = dir.join(name);
    let chained = dir.join(format!("{name}.pre-mt"));
    match fs::read_to_string(&hook) {
        Ok(text) if text.contains(MARK) => {
            println!("{} is mt's already; kept", hook.display());
            return Ok(());
        }
        // An earlier mt's hook: replaced by this one.
        Ok(text) if text.contains(OLD_MARK) => {}
        Ok(_) => fs::rename(&hook, &chained)
            .with_context(|| format!("could not move {}", hook.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("could not read {}", hook.display())),
    }
    let text = GIT_HOOK.replace("@HOOK@", name).replace("@ACTION@", action);
    fs::write(&hook, text).with_context(|| format!("could not write {}", hook.display()))?;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755))?;
    let also = if chained.exists() {
        format!(" (after the existing hook, now {})", chained.display())
    } else {
        String::new()
    };
    println!("installed {}{also}", hook.display());
    Ok(())
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
