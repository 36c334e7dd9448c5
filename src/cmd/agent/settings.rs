//! An agent's own hooks, installed in its settings file: merged with what
//! is there (never replacing a user's hook or key), idempotent, and taken
//! out again with `--remove`. Claude Code and Gemini CLI keep hooks in the
//! same shape: event → groups of `{matcher, hooks: [handler]}`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

/// Where an agent keeps its hooks and which of them mt installs.
pub(super) struct Integration {
    /// The name in `mt agent-hook NAME` and in milestones.
    pub name: &'static str,
    /// Relative to the project's root, and to the home directory.
    pub settings: &'static str,
    /// Event and tool matcher (none: every occurrence).
    pub events: &'static [(&'static str, Option<&'static str>)],
    /// A handler's time limit, in the agent's unit.
    pub timeout: u64,
    /// Gemini CLI names each handler.
    pub named: bool,
}

pub(super) const CLAUDE_CODE: Integration = Integration {
    name: "claude-code",
    settings: ".claude/settings.json",
    events: &[
        ("PreToolUse", Some("Bash")),
        (
            "PostToolUse",
            Some("Bash|Write|Edit|MultiEdit|NotebookEdit"),
        ),
        ("PostToolUseFailure", Some("Bash")),
        ("SessionStart", None),
    ],
    // Seconds.
    timeout: 5,
    named: false,
};

pub(super) const GEMINI_CLI: Integration = Integration {
    name: "gemini-cli",
    settings: ".gemini/settings.json",
    // Its shell commands come through the agent environment (`bash -c`
    // with GEMINI_CLI=1), with exact exit codes; its hooks add the files
    // its tools write.
    events: &[("AfterTool", Some("write_file|replace"))],
    // Milliseconds.
    timeout: 5000,
    named: true,
};

impl Integration {
    /// The part of a hook's command line that marks it as mt's.
    pub(super) fn mark(&self) -> String {
        format!("agent-hook {}", self.name)
    }

    /// The user's settings file, or the project's.
    pub(super) fn path(&self, user: bool) -> Result<PathBuf> {
        if user {
            let home = std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .context("HOME is not set; set it, or install in the project without --user")?;
            return Ok(PathBuf::from(home).join(self.settings));
        }
        let cwd = std::env::current_dir().context("could not read the current directory")?;
        let repo = crate::git::find(&cwd).with_context(|| {
            format!(
                "this directory is not in a git repository; run mt init {} in the project, or pass --user",
                self.name
            )
        })?;
        Ok(repo.root.join(self.settings))
    }

    fn is_ours(&self, handler: &Value) -> bool {
        handler["command"]
            .as_str()
            .is_some_and(|c| c.contains(&self.mark()))
    }

    /// Add mt's hook to each event that has none yet; whether anything
    /// changed. A `hooks` that is not an object, or an event that is not a
    /// list, is the user's own shape: an error, and nothing changed.
    pub(super) fn add(&self, settings: &mut Value, command: &str) -> Result<bool> {
        let Some(root) = settings.as_object_mut() else {
            return Ok(false);
        };
        let hooks = root
            .entry("hooks")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(hooks) = hooks.as_object_mut() else {
            bail!("its \"hooks\" is not an object, so mt left the file alone; make it one");
        };
        if let Some((event, _)) =
            (self.events.iter()).find(|(e, _)| hooks.get(*e).is_some_and(|v| !v.is_array()))
        {
            bail!("its hooks.{event} is not a list, so mt left the file alone; make it one");
        }
        let mut changed = false;
        for &(event, matcher) in self.events {
            let groups = hooks
                .entry(event)
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(groups) = groups else {
                continue;
            };
            let present = groups.iter().any(|g| {
                g["hooks"]
                    .as_array()
                    .is_some_and(|hs| hs.iter().any(|h| self.is_ours(h)))
            });
            if !present {
                groups.push(self.group(matcher, command));
                changed = true;
            }
        }
        Ok(changed)
    }

    fn group(&self, matcher: Option<&str>, command: &str) -> Value {
        let mut handler = Map::new();
        if self.named {
            handler.insert("name".into(), "mt".into());
        }
        handler.insert("type".into(), "command".into());
        handler.insert("command".into(), command.into());
        handler.insert("timeout".into(), self.timeout.into());
        let mut group = Map::new();
        if let Some(m) = matcher {
            group.insert("matcher".into(), m.into());
        }
        group.insert("hooks".into(), json!([handler]));
        Value::Object(group)
    }

    /// Take mt's handlers out, and the groups and events left empty by
    /// that; whether anything changed.
    pub(super) fn remove(&self, settings: &mut Value) -> bool {
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
                    hs.retain(|h| !self.is_ours(h));
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

    /// The command lines of mt's hooks in the file at `path`, if any.
    pub(super) fn installed_in(&self, path: &Path) -> Option<Vec<String>> {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
        let commands: Vec<String> = v["hooks"]
            .as_object()?
            .values()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|g| g["hooks"].as_array())
            .flatten()
            .filter(|h| self.is_ours(h))
            .filter_map(|h| h["command"].as_str().map(str::to_owned))
            .collect();
        (!commands.is_empty()).then_some(commands)
    }
}

/// The settings as JSON: `{}` when the file does not exist; an error, and
/// the file left alone, when it is not a JSON object.
pub(super) fn read(path: &Path, name: &str) -> Result<Value> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(json!({})),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(v) if v.is_object() => Ok(v),
        _ => bail!(
            "{} is not a JSON object, so mt left it alone; fix it and run mt init {name} again",
            path.display()
        ),
    }
}
