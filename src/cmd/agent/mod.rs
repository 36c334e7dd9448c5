//! Coding agents (docs/agents.md). `mt init agent` writes the environment
//! that makes an agent's `bash -c` and `zsh -c` record their command, and
//! prints it; `mt init claude-code` and `mt init gemini-cli` merge mt's
//! hooks into those agents' settings (`settings.rs`); `mt agent-hook NAME`
//! turns what the hooks report into spool records: the commands the agent
//! ran and the files it wrote (`claude.rs`, `gemini.rs`).

mod claude;
mod gemini;
mod settings;

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::{HookedAgent, InitTarget};
use crate::clock;
use crate::paths::Paths;
use crate::secure;
use crate::spool::records::{Edit, Place, Spooled};
use settings::{CLAUDE_CODE, GEMINI_CLI, Integration};

const AGENT_BASH: &str = include_str!("../../../shell/agent.bash");
const AGENT_ZSH: &str = include_str!("../../../shell/agent.zsh");

/// Every agent whose own hooks mt installs.
const INTEGRATIONS: [&Integration; 2] = [&CLAUDE_CODE, &GEMINI_CLI];

/// `mt init agent`: write the shims under the state dir and print the
/// variables that point bash and zsh at them.
pub(super) fn init(name: Option<&str>) -> Result<u8> {
    let paths = Paths::from_env();
    secure::private_dir(&paths.spool)?;
    let dir = paths.state.join("agent");
    let zdot = dir.join("zsh");
    secure::private_dir(&zdot)?;
    let q = |p: &Path| super::init::sh_quote(&p.to_string_lossy());
    let spool = q(&paths.spool);
    let bash_env = dir.join("bash_env");
    write_file(&bash_env, &super::init::fill(AGENT_BASH, "", &spool))?;
    let zshenv = super::init::fill(AGENT_ZSH, "", &spool).replace("@MT_ZDOT@", &q(&zdot));
    write_file(&zdot.join(".zshenv"), &zshenv)?;
    let mut out = format!(
        "# mt: record the commands a coding agent runs through bash or zsh.\n\
         # eval \"$(mt init agent)\" in the shell that starts the agent.\n\
         export BASH_ENV={bash}\n\
         [ \"${{ZDOTDIR-}}\" = {zdot} ] || export __MT_ZDOTDIR=\"${{ZDOTDIR-}}\"\n\
         export ZDOTDIR={zdot}\n",
        bash = q(&bash_env),
        zdot = q(&zdot),
    );
    if let Some(name) = name {
        out.push_str(&format!(
            "export MT_AGENT={}\n",
            super::init::sh_quote(name)
        ));
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(0)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("could not write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("could not write {}", path.display()))
}

/// Write a settings file in place of the old one: through a symlink to
/// the file it points at (a dotfiles manager's link stays a link), with
/// the old file's permissions.
fn write_settings(path: &Path, text: &str) -> Result<()> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
    }
    let mode = std::fs::metadata(&target).ok().map(|m| m.permissions());
    write_file(&target, text)?;
    if let Some(mode) = mode {
        std::fs::set_permissions(&target, mode)
            .with_context(|| format!("could not keep the permissions of {}", target.display()))?;
    }
    Ok(())
}

fn integration(target: InitTarget) -> Option<&'static Integration> {
    match target {
        InitTarget::ClaudeCode => Some(&CLAUDE_CODE),
        InitTarget::GeminiCli => Some(&GEMINI_CLI),
        _ => None,
    }
}

/// `mt init claude-code|gemini-cli [--user] [--remove]`.
pub(super) fn install(target: InitTarget, user: bool, remove: bool) -> Result<u8> {
    let it = integration(target).context("not an agent mt installs hooks for")?;
    let path = it.path(user)?;
    let mut value = settings::read(&path, it.name)?;
    let bin = crate::paths::front_exe().context("could not find the mt binary")?;
    let command = format!(
        "{} {}",
        super::init::sh_quote(&bin.to_string_lossy()),
        it.mark()
    );
    let changed = if remove {
        it.remove(&mut value)
    } else {
        it.add(&mut value, &command)
            .with_context(|| path.display().to_string())?
    };
    let shown = path.to_string_lossy().into_owned();
    let shown = crate::display::safe(&shown);
    if !changed {
        match remove {
            true => println!("mt: no hook of mt's in {shown}"),
            false => println!("mt: {}'s hooks are already in {shown}", it.name),
        }
        return Ok(0);
    }
    write_settings(&path, &(serde_json::to_string_pretty(&value)? + "\n"))?;
    if remove {
        println!("mt: took mt's hooks out of {shown}; the others are as they were");
    } else {
        println!(
            "mt: {}'s commands and file writes are recorded as the agent's (hooks in {shown}); `mt init {} --remove` takes them out",
            it.name, it.name
        );
    }
    Ok(0)
}

/// `mt doctor`'s lines on agents: each settings file with mt's hooks (and
/// whether the mt they run is there), the agent environment of this shell,
/// and what agents were recorded in the last 7 days.
pub(super) fn checks(paths: &Paths) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for it in INTEGRATIONS {
        for user in [false, true] {
            let Some(commands) = it
                .path(user)
                .ok()
                .and_then(|p| Some((it.installed_in(&p)?, p)))
            else {
                continue;
            };
            out.push(hooks_check(it, user, &commands.1, &commands.0));
        }
    }
    if let Some(env) = std::env::var_os("BASH_ENV")
        && Path::new(&env).starts_with(paths.state.join("agent"))
    {
        out.push(if Path::new(&env).is_file() {
            (true, "this shell sets mt's agent environment: the agents it starts are recorded".to_owned())
        } else {
            (false, "BASH_ENV points at an agent environment that is gone: run `eval \"$(mt init agent)\"` again".to_owned())
        });
    }
    out.extend(recent_agents(paths).map(|line| (true, line)));
    out
}

fn hooks_check(it: &Integration, user: bool, path: &Path, commands: &[String]) -> (bool, String) {
    let shown = crate::display::safe(&path.to_string_lossy()).into_owned();
    let mark = it.mark();
    let missing = commands.iter().find(|c| {
        let program = c.strip_suffix(&mark).unwrap_or(c).trim().trim_matches('\'');
        crate::paths::on_path(program).is_none() && !Path::new(program).is_file()
    });
    match missing {
        None => (
            true,
            format!(
                "{}'s hooks in {shown} record its work as the agent's",
                it.name
            ),
        ),
        Some(c) => (
            false,
            format!(
                "{}'s hooks in {shown} run {}, which is not there: run `mt init {}{}` again",
                it.name,
                crate::display::safe(c),
                it.name,
                if user { " --user" } else { "" }
            ),
        ),
    }
}

/// "agents' commands and edits recorded in the last 7 days: claude-code 12".
fn recent_agents(paths: &Paths) -> Option<String> {
    if !paths.db.exists() {
        return None;
    }
    let store = crate::store::Store::open(&paths.db).ok()?;
    let since = clock::now().micros() - 7 * 86_400 * 1_000_000;
    let counts = store.agent_counts(since).ok()?;
    if counts.is_empty() {
        return None;
    }
    let list: Vec<String> = (counts.iter())
        .map(|(name, n)| format!("{} {n}", crate::display::safe(name)))
        .collect();
    Some(format!(
        "agents' commands and edits recorded in the last 7 days: {}",
        list.join(", ")
    ))
}

/// `mt agent-hook AGENT`: read the hook's JSON, spool what it reports.
/// Never fails the agent's tool call: prints nothing on stdout (Claude Code
/// shows a SessionStart hook's output to the model, Gemini CLI parses it as
/// JSON) and exits 0.
pub(super) fn hook(agent: HookedAgent) -> Result<u8> {
    if crate::paths::disabled() {
        return Ok(0);
    }
    let mut input = Vec::new();
    let _ = std::io::stdin().take(16 << 20).read_to_end(&mut input);
    let paths = Paths::from_env();
    let result = serde_json::from_slice(&input)
        .context("the hook's input is not JSON")
        .and_then(|v| match agent {
            HookedAgent::ClaudeCode => claude::handle(&v, &paths),
            HookedAgent::GeminiCli => gemini::handle(&v, &paths),
        });
    if let Err(e) = result {
        crate::log_line!("mt agent-hook: {e:#}");
    }
    Ok(0)
}

/// A file an agent's tool wrote: an edit of the agent's, in the innermost
/// repository holding it (none outside a repository).
fn wrote(file: &str, call: &str, agent: &str, paths: &Paths) -> Result<()> {
    let file = Path::new(file);
    let Some(repo) = file.parent().and_then(crate::git::find) else {
        return Ok(());
    };
    let Ok(rel) = file.strip_prefix(&repo.root) else {
        return Ok(());
    };
    let now = clock::now();
    use std::os::unix::ffi::OsStrExt;
    let record = Spooled::Edit(Edit {
        id: format!("c{call}-{}", now.micros()),
        time: now,
        place: Place::read(&repo.root),
        path: rel.as_os_str().as_bytes().to_vec(),
        untracked: false,
        agent: Some(agent.to_owned()),
    });
    crate::spool::writer::append(&paths.spool, &record.encode())?;
    Ok(())
}
