//! Taking recorded text back: delete the commands that match a pattern, or
//! mask everything stored again with today's redaction rules. The freed
//! pages are overwritten and the WAL truncated, so the old bytes leave the
//! files, not only the tables.

use anyhow::Result;
use regex::Regex;
use rusqlite::params;

use super::Store;
use crate::redact::Filters;

/// What to do with one stored command.
enum Edit {
    Keep,
    Delete,
    /// New display text and argv bytes.
    Replace(String, Option<Vec<u8>>),
}

impl Store {
    /// Delete every stored command whose text matches `pattern`; how many.
    pub fn forget(&mut self, pattern: &Regex) -> Result<usize> {
        self.rewrite(|command, _| {
            if pattern.is_match(command) {
                Edit::Delete
            } else {
                Edit::Keep
            }
        })
    }

    /// Mask every stored command again with `filters`; how many changed.
    pub fn reapply(&mut self, filters: &Filters) -> Result<usize> {
        self.rewrite(|command, argv| {
            let text = filters.text(command);
            let args: Option<Vec<Vec<u8>>> =
                argv.map(|a| a.split(|&b| b == 0).map(<[u8]>::to_vec).collect());
            let masked = args.as_ref().map(|a| filters.argv(a));
            if text == command && masked == args {
                Edit::Keep
            } else {
                Edit::Replace(text, masked.map(|m| m.join(&0u8)))
            }
        })
    }

    /// Visit every stored command and apply what `change` says of it.
    fn rewrite(&mut self, mut change: impl FnMut(&str, Option<&[u8]>) -> Edit) -> Result<usize> {
        self.conn.pragma_update(None, "secure_delete", true)?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut edits = Vec::new();
        {
            let mut stmt = tx.prepare("SELECT id, command, argv FROM events")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                let command: String = row.get(1)?;
                let argv: Option<Vec<u8>> = row.get(2)?;
                match change(&command, argv.as_deref()) {
                    Edit::Keep => {}
                    edit => edits.push((id, edit)),
                }
            }
        }
        for (id, edit) in &edits {
            match edit {
                Edit::Keep => 0,
                Edit::Delete => tx.execute("DELETE FROM events WHERE id = ?1", params![id])?,
                Edit::Replace(text, argv) => tx.execute(
                    "UPDATE events SET command = ?2, argv = ?3 WHERE id = ?1",
                    params![id, text, argv],
                )?,
            };
        }
        tx.commit()?;
        if !edits.is_empty() {
            // A fresh copy of the database holds no freed page at all.
            self.conn.execute_batch("VACUUM")?;
        }
        // The WAL still holds the old pages until checkpointed and truncated.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(edits.len())
    }
}
