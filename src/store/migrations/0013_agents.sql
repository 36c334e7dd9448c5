-- A coding agent's commands and edits (source 'agent') name the agent:
-- claude-code, codex, gemini-cli, cursor, or what `MT_AGENT` says. NULL
-- for every other row.
ALTER TABLE events ADD COLUMN agent TEXT;
