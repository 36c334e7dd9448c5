//! Which recorded runs make one piece of work, before a span is checked
//! for finished work: a branch re-created under an old name starts anew (its
//! creation in its reflog is the boundary), an abandoned branch's span is
//! dropped after a while, and runs on a branch whose work was filed already
//! with no new commit of their own are no second milestone. Dropped runs
//! are filed under no milestone (`store::DISCARDED`) and stay in `mt log`.

use anyhow::Result;

use crate::close::finished::{self, Checker};
use crate::event::EventKind;
use crate::git::Repo;
use crate::store::{DISCARDED, Filing, OpenSpan, Store};

/// What tidying did to one branch's span, to say in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dropped {
    /// Runs from before the branch of this name was created.
    EarlierBranch { branch: String, runs: usize },
    /// The branch was deleted, its upstream is gone, its work is in no
    /// default branch, and nothing ran on it for the configured days.
    Abandoned { branch: String, runs: u64 },
    /// Runs after its milestone, with no new commit.
    AfterMilestone { branch: String, runs: u64 },
}

impl Dropped {
    pub(crate) fn line(&self) -> String {
        let safe = crate::display::safe;
        match self {
            Dropped::EarlierBranch { branch, runs } => format!(
                "{}: {runs} runs from an earlier branch of the same name, left out of any milestone (they stay in mt log)",
                safe(branch)
            ),
            Dropped::Abandoned { branch, runs } => format!(
                "{}: abandoned (deleted, upstream gone, not in the default branch); its {runs} runs are left out of any milestone (they stay in mt log)",
                safe(branch)
            ),
            Dropped::AfterMilestone { branch, runs } => format!(
                "{}: {runs} runs after its milestone, with no new change; left out of any milestone (they stay in mt log)",
                safe(branch)
            ),
        }
    }
}

/// Split off each span's runs from before its branch was created (an
/// earlier branch of the same name): filed under no milestone.
pub(crate) fn split_recreated(
    store: &mut Store,
    checker: &Checker,
    spans: &[OpenSpan],
) -> Result<Vec<Dropped>> {
    let mut dropped = Vec::new();
    for span in spans.iter().filter(|s| !checker.is_default(&s.branch)) {
        let Some(created) = checker.recreated_at(&span.branch) else {
            continue;
        };
        // Whole seconds in the reflog: a run that ended before the second
        // the branch was created in (the `git switch -c` itself ends after).
        let boundary = created * 1_000_000;
        let ended = |end: i64| end < boundary;
        if !span.intervals.iter().any(|i| ended(i.1)) {
            continue;
        }
        let rows = store.span(&span.repo, &span.branch)?;
        let (old, new): (Vec<_>, Vec<_>) =
            (rows.into_iter()).partition(|r| r.end_us.is_some_and(ended));
        let filing = Filing {
            repo: span.repo.clone(),
            branch: span.branch.clone(),
            ids: old.iter().map(|r| r.id).collect(),
            kept: new.iter().map(|r| r.id).collect(),
            tip: None,
        };
        store.close_span(&filing, DISCARDED)?;
        let runs = old.iter().filter(|r| r.kind == EventKind::Command).count();
        dropped.push(Dropped::EarlierBranch {
            branch: span.branch.clone(),
            runs,
        });
    }
    Ok(dropped)
}

/// Is `span`'s branch abandoned (deleted, no upstream; the caller knows its
/// work is in no default branch) and quiet for longer than `after_us`?
pub(crate) fn abandoned(checker: &Checker, span: &OpenSpan, now_us: i64, after_us: i64) -> bool {
    let last = span.intervals.iter().map(|i| i.1).max().unwrap_or(0);
    checker.is_gone(&span.branch) && now_us - last > after_us
}

/// Was the branch's work already filed under a milestone at `tip` (or a
/// commit after it)?
pub(crate) fn no_new_change(
    store: &Store,
    repo: &Repo,
    span: &OpenSpan,
    tip: Option<&str>,
) -> Result<bool> {
    let (Some(tip), Some(filed)) = (tip, store.filed_tip(&span.repo, &span.branch)?) else {
        return Ok(false);
    };
    Ok(tip == filed || finished::is_ancestor(&repo.root, tip, &filed)?)
}

/// File `span` under no milestone, noting the tip it had.
pub(crate) fn discard(store: &mut Store, span: &OpenSpan, tip: Option<String>) -> Result<()> {
    let rows = store.span(&span.repo, &span.branch)?;
    let mut filing = Filing::of(&span.repo, &span.branch, &rows);
    filing.tip = tip;
    store.close_span(&filing, DISCARDED)
}
