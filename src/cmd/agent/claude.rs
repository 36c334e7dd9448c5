//! What Claude Code's hooks send (JSON on stdin, docs/agents.md): a Bash
//! tool call's PreToolUse, then its PostToolUse or PostToolUseFailure; the
//! file tools' PostToolUse; SessionStart.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use serde_json::Value;

use crate::clock::{self, Timestamp};
use crate::paths::Paths;
use crate::secure;
use crate::spool::records::{Hook, Place, Spooled};

const NAME: &str = "claude-code";

pub(super) fn handle(v: &Value, paths: &Paths) -> Result<()> {
    let tool = v["tool_name"].as_str().unwrap_or_default();
    let shell = matches!(tool, "Bash" | "PowerShell");
    match v["hook_event_name"].as_str().unwrap_or_default() {
        "SessionStart" => hooked_session(),
        "PreToolUse" if shell => started(v, paths),
        "PostToolUse" | "PostToolUseFailure" if shell => ran(v, paths),
        "PostToolUse" => {
            let input = &v["tool_input"];
            match input["file_path"]
                .as_str()
                .or(input["notebook_path"].as_str())
            {
                Some(file) => super::wrote(file, call(v), NAME, paths),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

fn call(v: &Value) -> &str {
    v["tool_use_id"].as_str().unwrap_or("w")
}

/// The session's shells learn that hooks record their commands, so the
/// environment of `mt init agent` (if also set) does not record them twice.
fn hooked_session() -> Result<()> {
    let Some(file) = std::env::var_os("CLAUDE_ENV_FILE") else {
        return Ok(());
    };
    // On a line of its own, whatever another hook left unterminated.
    let ends_open = std::fs::read(&file).is_ok_and(|t| !t.is_empty() && !t.ends_with(b"\n"));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)?;
    let line: &[u8] = if ends_open {
        b"\nexport MT_AGENT_HOOKED=1\n"
    } else {
        b"export MT_AGENT_HOOKED=1\n"
    };
    f.write_all(line)?;
    Ok(())
}

/// Where a tool call's start time waits for its end.
fn scratch(v: &Value, paths: &Paths) -> Option<PathBuf> {
    let id = v["tool_use_id"].as_str()?;
    let safe: String = (id.chars())
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
    let cwd = v["cwd"].as_str().map(PathBuf::from).unwrap_or_default();
    let record = Spooled::Hook(Hook {
        id: format!("c{}", v["tool_use_id"].as_str().unwrap_or(&end.to_string())),
        session: v["session_id"].as_str().map(str::to_owned),
        pid: 0,
        time: Timestamp::from_micros(start),
        duration_us: end - start,
        exit: Some(exit_status(v)),
        pipestatus: None,
        place: Place::read(&cwd),
        command: (v["tool_input"]["command"].as_str())
            .unwrap_or_default()
            .as_bytes()
            .to_vec(),
        head_after: true,
        agent: Some(NAME.to_owned()),
    });
    crate::spool::writer::append(&paths.spool, &record.encode())?;
    Ok(())
}

/// The command's exit status as Claude Code tells it: 0 after PostToolUse
/// (130 when the user interrupted it), the `Exit code N` line of a
/// failure, 130 for an interrupt, 127 for a shell that could not start.
fn exit_status(v: &Value) -> i32 {
    if v["tool_response"]["interrupted"] == true || v["is_interrupt"] == true {
        return 130;
    }
    if v["hook_event_name"] == "PostToolUse" {
        return 0;
    }
    (v["error"].as_str())
        .and_then(|e| e.lines().next())
        .and_then(|l| l.trim().strip_prefix("Exit code "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(127)
}
