//! Coding agents (docs/agents.md). `mt init agent` writes the environment
//! that makes an agent's `bash -c` and `zsh -c` record their command, and
//! prints it; `mt init claude-code` merges mt's hooks into Claude Code's
//! settings; `mt agent-hook claude-code` turns what those hooks report into
//! spool records: the commands the agent ran and the files it wrote.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::cli::HookedAgent;
use crate::clock::{self, Timestamp};
use crate::paths::Paths;
use crate::secure;
use crate::spool::records::{Edit, Hook, Place, Spooled};

const AGENT_BASH: &str = include_str!("../../shell/agent.bash");
const AGENT_ZSH: &str = include_str!("../../shell/agent.zsh");

/// The part of a hook's command line that marks it as mt's.
const HOOK_MARK: &str = "agent-hook claude-code";

/// `mt init agent`: write the shims under the state dir and print the
/// variables that point bash and zsh at them.
pub fn init(name: Option<&str>) -> Result<u8> {
    let paths = Paths::from_env();
    secure::private_dir(&paths.spool)?;
    let dir = paths.state.join("agent");
    let zdot = dir.join("zsh");
    secure::private_dir(&zdot)?;
    let spool = super::init::sh_quote(&paths.spool.to_string_lossy());
    let bash_env = dir.join("bash_env");
    write_file(&bash_env, &super::init::fill(AGENT_BASH, "", &spool))?;
    let zshenv = super::init::fill(AGENT_ZSH, "", &spool)
        .replace("@MT_ZDOT@", &super::init::sh_quote(&zdot.to_string_lossy()));
    write_file(&zdot.join(".zshenv"), &zshenv)?;
    let q = |p: &Path| super::init::sh_quote(&p.to_string_lossy());
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

/// The hooks mt puts in Claude Code's settings: event and tool matcher.
const CLAUDE_EVENTS: [(&str, Option<&str>); 4] = [
    ("PreToolUse", Some("Bash")),
    (
        "PostToolUse",
        Some("Bash|Write|Edit|MultiEdit|NotebookEdit"),
    ),
    ("PostToolUseFailure", Some("Bash")),
    ("SessionStart", None),
];

/// `mt init claude-code [--user] [--remove]`.
pub fn install_claude_code(user: bool, remove: bool) -> Result<u8> {
    let path = claude_settings_path(user)?;
    let mut settings = read_settings(&path)?;
    let bin = crate::paths::front_exe().context("could not find the mt binary")?;
    let command = format!(
        "{} {HOOK_MARK}",
        super::init::sh_quote(&bin.to_string_lossy())
    );
    let changed = if remove {
        remove_hooks(&mut settings)
    } else {
        add_hooks(&mut settings, &command)
    };
    let shown = path.to_string_lossy().into_owned();
    let shown = crate::display::safe(&shown);
    match (changed, remove) {
        (false, false) => println!("mt: Claude Code's hooks are already in {shown}"),
        (false, true) => println!("mt: no hook of mt's in {shown}"),
        (true, _) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("could not create {}", dir.display()))?;
            }
            let text = serde_json::to_string_pretty(&settings)? + "\n";
            write_file(&path, &text)?;
            if remove {
                println!("mt: took mt's hooks out of {shown}; the others are as they were");
            } else {
                println!(
                    "mt: Claude Code's commands and file writes are recorded as the agent's (hooks in {shown}); `mt init claude-code --remove` takes them out"
                );
            }
        }
    }
    Ok(0)
}

/// `~/.claude/settings.json`, or the project's `.claude/settings.json`.
pub fn claude_settings_path(user: bool) -> Result<PathBuf> {
    if user {
        let home = std::env::var_os("HOME").context(
            "HOME is not set; set it or run mt init claude-code in the project without --user",
        )?;
        return Ok(PathBuf::from(home).join(".claude/settings.json"));
    }
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let repo = crate::git::find(&cwd).context(
        "this directory is not in a git repository; run mt init claude-code in the project, or pass --user",
    )?;
    Ok(repo.root.join(".claude/settings.json"))
}

/// The settings as JSON: `{}` when the file does not exist; an error, and
/// the file left alone, when it is not a JSON object.
fn read_settings(path: &Path) -> Result<Value> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(json!({})),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(v) if v.is_object() => Ok(v),
        _ => bail!(
            "{} is not a JSON object, so mt left it alone; fix it and run mt init claude-code again",
            path.display()
        ),
    }
}

fn is_ours(handler: &Value) -> bool {
    handler["command"]
        .as_str()
        .is_some_and(|c| c.contains(HOOK_MARK))
}

/// Add mt's hook to each event that has none yet; whether anything changed.
fn add_hooks(settings: &mut Value, command: &str) -> bool {
    let Some(root) = settings.as_object_mut() else {
        return false;
    };
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    if !hooks.is_object() {
        *hooks = Value::Object(Map::new());
    }
    let mut changed = false;
    for (event, matcher) in CLAUDE_EVENTS {
        let groups = hooks
            .as_object_mut()
            .map(|h| h.entry(event).or_insert_with(|| Value::Array(Vec::new())));
        let Some(Value::Array(groups)) = groups else {
            continue;
        };
        let present = groups.iter().any(|g| {
            g["hooks"]
                .as_array()
                .is_some_and(|hs| hs.iter().any(is_ours))
        });
        if present {
            continue;
        }
        let mut group = Map::new();
        if let Some(m) = matcher {
            group.insert("matcher".into(), m.into());
        }
        group.insert(
            "hooks".into(),
            json!([{ "type": "command", "command": command, "timeout": 5 }]),
        );
        groups.push(Value::Object(group));
        changed = true;
    }
    changed
}

/// Take mt's handlers out, and the groups and events left empty by that.
fn remove_hooks(settings: &mut Value) -> bool {
    let Some(hooks) = settings.get_mut("hooks").and_then(Value::as_object_mut) else {
        return false;
    };
    let mut changed = false;
    for groups in hooks.values_mut() {
        let Some(groups) = groups.as_array_mut() else {
            continue;
        };
        for g in groups.iter_mut() {
            if let Some(hs) = g.get_mut("hooks").and_then(Value::as_array_mut) {
                let before = hs.len();
                hs.retain(|h| !is_ours(h));
                changed |= hs.len() != before;
            }
        }
        groups.retain(|g| !g["hooks"].as_array().is_some_and(Vec::is_empty));
    }
    hooks.retain(|_, groups| !groups.as_array().is_some_and(Vec::is_empty));
    if hooks.is_empty()
        && let Some(root) = settings.as_object_mut()
    {
        root.remove("hooks");
    }
    changed
}

/// `mt doctor`'s lines on agents: each Claude Code settings file with mt's
/// hooks (and whether the mt it runs is there), the agent environment of
/// this shell, and what agents were recorded in the last 7 days.
pub fn checks(paths: &Paths) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for user in [false, true] {
        let Ok(path) = claude_settings_path(user) else {
            continue;
        };
        let Some(commands) = claude_hooks_in(&path) else {
            continue;
        };
        let shown = crate::display::safe(&path.to_string_lossy()).into_owned();
        let missing = commands.iter().find(|c| !runs_an_mt(c));
        out.push(match missing {
            None => (true, format!("Claude Code's hooks in {shown} record its commands and file writes")),
            Some(c) => (
                false,
                format!(
                    "Claude Code's hooks in {shown} run {}, which is not there: run `mt init claude-code{}` again",
                    crate::display::safe(c),
                    if user { " --user" } else { "" }
                ),
            ),
        });
    }
    if let Some(env) = std::env::var_os("BASH_ENV")
        && Path::new(&env).starts_with(paths.state.join("agent"))
    {
        let ok = Path::new(&env).is_file();
        out.push((
            ok,
            if ok {
                "this shell sets mt's agent environment: the agents it starts are recorded".to_owned()
            } else {
                "BASH_ENV points at an agent environment that is gone: run `eval \"$(mt init agent)\"` again".to_owned()
            },
        ));
    }
    if let Some(line) = recent_agents(paths) {
        out.push((true, line));
    }
    out
}

/// The program a hook's command line runs exists and is executable.
fn runs_an_mt(command: &str) -> bool {
    let program = command
        .strip_suffix(HOOK_MARK)
        .unwrap_or(command)
        .trim()
        .trim_matches('\'');
    crate::paths::on_path(program).is_some() || Path::new(program).is_file()
}

/// "agents recorded in the last 7 days: claude-code 12 commands, …".
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
    let list: Vec<String> = counts
        .iter()
        .map(|(name, n)| format!("{} {n}", crate::display::safe(name)))
        .collect();
    Some(format!(
        "agents' commands and edits recorded in the last 7 days: {}",
        list.join(", ")
    ))
}

/// Whether `path` holds mt's Claude Code hooks, and the mt they run.
pub fn claude_hooks_in(path: &Path) -> Option<Vec<String>> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let commands: Vec<String> = v["hooks"]
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|g| g["hooks"].as_array())
        .flatten()
        .filter(|h| is_ours(h))
        .filter_map(|h| h["command"].as_str().map(str::to_owned))
        .collect();
    (!commands.is_empty()).then_some(commands)
}

/// `mt agent-hook AGENT`: read the hook's JSON, spool what it reports.
/// Never fails the agent's tool call: prints nothing on stdout (Claude Code
/// shows a SessionStart hook's output to the model) and exits 0.
pub fn hook(agent: HookedAgent) -> Result<u8> {
    let mut input = Vec::new();
    let _ = std::io::stdin().take(16 << 20).read_to_end(&mut input);
    let paths = Paths::from_env();
    let result = match agent {
        HookedAgent::ClaudeCode => claude(&input, &paths),
    };
    if let Err(e) = result {
        crate::log_line!("mt agent-hook: {e:#}");
    }
    Ok(0)
}

const CLAUDE: &str = "claude-code";

fn claude(input: &[u8], paths: &Paths) -> Result<()> {
    let v: Value = serde_json::from_slice(input).context("the hook's input is not JSON")?;
    let tool = v["tool_name"].as_str().unwrap_or_default();
    match v["hook_event_name"].as_str().unwrap_or_default() {
        "SessionStart" => hooked_session(),
        "PreToolUse" if is_shell(tool) => started(&v, paths),
        "PostToolUse" | "PostToolUseFailure" if is_shell(tool) => ran(&v, paths),
        "PostToolUse" => wrote(&v, paths),
        _ => Ok(()),
    }
}

fn is_shell(tool: &str) -> bool {
    matches!(tool, "Bash" | "PowerShell")
}

/// The session's shells learn that hooks record their commands, so the
/// environment of `mt init agent` (if also set) does not record them twice.
fn hooked_session() -> Result<()> {
    let Some(file) = std::env::var_os("CLAUDE_ENV_FILE") else {
        return Ok(());
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)?;
    f.write_all(b"export MT_AGENT_HOOKED=1\n")?;
    Ok(())
}

/// Where a tool call's start time waits for its end.
fn scratch(v: &Value, paths: &Paths) -> Option<PathBuf> {
    let id = v["tool_use_id"].as_str()?;
    let safe: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(100)
        .collect();
    (!safe.is_empty()).then(|| paths.runtime().join("agent").join(safe))
}

fn started(v: &Value, paths: &Paths) -> Result<()> {
    let Some(path) = scratch(v, paths) else {
        return Ok(());
    };
    if let Some(dir) = path.parent() {
        secure::private_dir(dir)?;
    }
    std::fs::write(&path, clock::now().micros().to_string())?;
    Ok(())
}

/// A shell command ended: its record, timed from the PreToolUse hook's
/// note, else from the duration Claude Code reports.
fn ran(v: &Value, paths: &Paths) -> Result<()> {
    let end = clock::now().micros();
    let noted = scratch(v, paths).and_then(|p| {
        let start = std::fs::read_to_string(&p).ok()?.trim().parse::<i64>().ok();
        let _ = std::fs::remove_file(&p);
        start
    });
    let reported = v["duration_ms"].as_i64().map(|ms| end - ms * 1000);
    let start = noted.or(reported).unwrap_or(end).min(end);
    let command = v["tool_input"]["command"].as_str().unwrap_or_default();
    let cwd = v["cwd"].as_str().map(PathBuf::from).unwrap_or_default();
    let id = v["tool_use_id"]
        .as_str()
        .map_or_else(|| format!("c{end}"), |i| format!("c{i}"));
    let record = Spooled::Hook(Hook {
        id,
        session: v["session_id"].as_str().map(str::to_owned),
        pid: 0,
        time: Timestamp::from_micros(start),
        duration_us: end - start,
        exit: Some(exit_status(v)),
        pipestatus: None,
        place: Place::read(&cwd),
        command: command.as_bytes().to_vec(),
        head_after: true,
        agent: Some(CLAUDE.to_owned()),
    });
    crate::spool::writer::append(&paths.spool, &record.encode())
}

/// The command's exit status as Claude Code tells it: 0 after PostToolUse
/// (130 when the user interrupted it), the `Exit code N` line of a
/// failure, 130 for an interrupt, 127 for a shell that could not start.
fn exit_status(v: &Value) -> i32 {
    let interrupted = v["tool_response"]["interrupted"] == true || v["is_interrupt"] == true;
    if interrupted {
        return 130;
    }
    if v["hook_event_name"] == "PostToolUse" {
        return 0;
    }
    v["error"]
        .as_str()
        .and_then(|e| e.lines().next())
        .and_then(|l| l.trim().strip_prefix("Exit code "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(127)
}

/// A file tool wrote: an edit of the agent's.
fn wrote(v: &Value, paths: &Paths) -> Result<()> {
    let input = &v["tool_input"];
    let Some(file) = input["file_path"]
        .as_str()
        .or_else(|| input["notebook_path"].as_str())
    else {
        return Ok(());
    };
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
        id: format!(
            "c{}-{}",
            v["tool_use_id"].as_str().unwrap_or("w"),
            now.micros()
        ),
        time: now,
        place: Place::read(&repo.root),
        path: rel.as_os_str().as_bytes().to_vec(),
        untracked: false,
        agent: Some(CLAUDE.to_owned()),
    });
    crate::spool::writer::append(&paths.spool, &record.encode())
}
