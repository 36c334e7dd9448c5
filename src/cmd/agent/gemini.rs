//! What Gemini CLI's AfterTool hook sends for its file tools (JSON on
//! stdin, docs/agents.md): `write_file` and `replace` with `file_path`.
//! Its shell commands are recorded by the agent environment instead, whose
//! records carry the exit status this hook only gives as text.

use anyhow::Result;
use serde_json::Value;

use crate::paths::Paths;

pub(super) fn handle(v: &Value, paths: &Paths) -> Result<()> {
    let tool = v["tool_name"].as_str().unwrap_or_default();
    let after = v["hook_event_name"] == "AfterTool";
    let file = v["tool_input"]["file_path"].as_str();
    match (after, tool, file) {
        (true, "write_file" | "replace", Some(file)) => {
            let call = v["session_id"].as_str().unwrap_or("g");
            super::wrote(file, call, "gemini-cli", paths)
        }
        _ => Ok(()),
    }
}
