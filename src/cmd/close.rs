//! `mt close [BRANCH]`: milestones for finished work.
//!
//! - `mt close BRANCH`: that branch's milestone, by hand, whatever git says.
//! - on the default branch, no BRANCH: every branch of this repository whose
//!   work is in the default branch (merged, squashed, rebased, pulled) and
//!   has an open span; one line each.
//! - on another branch, no BRANCH: its draft (`status: draft`), written in
//!   the working tree to travel in the pull request and rewritten in place.
//!
//! `--hook` (post-merge, post-rewrite) and `--refresh-draft` (pre-push) are
//! the git hooks' forms: quiet unless a file was written, never failing.

use std::fs;
use std::io::Write;

use anyhow::{Context, Result, bail};

use crate::cli::CloseArgs;
use crate::close::finished::Checker;
use crate::close::spans::{self, Dropped};
use crate::close::{self, BranchFacts, Prepared, Request};
use crate::config::Config;
use crate::daemon::catchup;
use crate::event::human_ms;
use crate::git::{self, Repo};
use crate::paths::Paths;
use crate::store::{Filing, OpenSpan, SpanRow, Store};

/// The most a git hook's search for finished work may take.
const HOOK_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// Why nothing can be finished when no default branch is known.
/// Why no default branch is known, and what to do: the configured name
/// when there is one (it names no branch here), else how mt looked.
pub(crate) fn no_default(configured: Option<&str>) -> String {
    match configured {
        Some(name) => format!(
            "default_branch = {name:?} names no branch of this repository; fix it in the configuration, or remove it to have mt find main, master or trunk"
        ),
        None => "this repository's default branch is unknown (no refs/remotes/origin/HEAD and no main, master or trunk); run `git remote set-head origin --auto` or set default_branch in ~/.config/mt/config.toml".to_owned(),
    }
}

/// What one run of `mt close` is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A branch named on the command line.
    ByHand,
    /// Every finished branch (on the default branch).
    Finished,
    /// This unmerged branch's draft.
    Draft,
}

struct Ctx {
    repo: Repo,
    config: Config,
    store: Store,
    checker: Checker,
    spans: Vec<OpenSpan>,
    /// The one branch's span as read for `spans` (by hand, a draft), kept
    /// for its milestone: a span of 100,000 runs is read once.
    read: Option<ReadSpan>,
}

struct ReadSpan {
    root: String,
    branch: String,
    rows: Vec<SpanRow>,
}

impl Ctx {
    /// `branch`'s span in the worktree `root`: the one read already, else
    /// from the store.
    fn span_rows(&mut self, root: &str, branch: &str) -> Result<Vec<SpanRow>> {
        match self.read.take() {
            Some(r) if r.root == root && r.branch == branch => Ok(r.rows),
            _ => self.store.span(root, branch),
        }
    }
}

pub(super) fn run(args: &CloseArgs) -> Result<u8> {
    let quiet = args.hook || args.refresh_draft;
    match close(args) {
        Ok(code) => Ok(code),
        // A git hook never fails the git command: one line, exit 0.
        Err(e) if quiet => {
            let timed_out = (e.chain())
                .any(|c| matches!(c.downcast_ref(), Some(crate::proc::Error::TimedOut { .. })));
            if timed_out {
                eprintln!(
                    "mt: no milestone written: git took longer than the hook's {} s; `mt close` on the default branch finishes the work",
                    HOOK_BUDGET.as_secs()
                );
            } else {
                eprintln!("mt: no milestone written: {e:#}");
            }
            Ok(0)
        }
        Err(e) => Err(e),
    }
}

fn close(args: &CloseArgs) -> Result<u8> {
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let repo = git::find(&cwd).context(
        "this directory is not in a git repository; run mt close inside the repository the branch was worked on",
    )?;
    let paths = Paths::from_env();
    let config = crate::config::effective(&paths.config, Some(&repo.root))?;
    // What doctor checks, the same way: a file one accepts, both accept.
    crate::close::check_config(&config)?;
    if args.hook {
        // A git hook gives up within its budget and leaves the work for
        // the next `mt close`; the git command is never held up longer.
        crate::proc::set_budget(HOOK_BUDGET);
    }
    let mut checker = Checker::new(&repo, config.default_branch.as_deref())?;
    if args.hook {
        checker.after_pull(git::orig_head(&repo));
    }
    if !checker.has_default() && args.branch.is_none() {
        bail!("{}", no_default(config.default_branch.as_deref()));
    }
    let current = match git::current_head(&repo) {
        Some(git::Head::Branch(b)) => Some(b),
        _ => None,
    };
    let on_default = current.as_deref().is_some_and(|c| checker.is_default(c));
    let mode = match (&args.branch, &current) {
        (Some(_), _) => Mode::ByHand,
        _ if args.hook && !on_default => return Ok(0),
        _ if args.refresh_draft && on_default => return Ok(0),
        (None, Some(_)) if on_default => Mode::Finished,
        (None, Some(_)) => Mode::Draft,
        (None, None) => bail!(
            "HEAD is detached (a rebase or bisect in progress?) and no branch was given; run mt close BRANCH"
        ),
    };
    let mut store = catchup::current_store(&paths)?;
    if args.discard
        && let Some(branch) = &args.branch
    {
        return discard(store, &repo, &checker, branch);
    }
    let one = match mode {
        Mode::Finished => None,
        Mode::ByHand => args.branch.clone(),
        Mode::Draft => current,
    };
    let (spans, read) = read_spans(&mut store, &repo, &checker, one.as_deref(), args)?;
    if args.hook {
        let known = store.commit_paths()?;
        checker.use_paths(known.clone());
        checker.load(&spans)?;
        let kept = checker.kept_paths();
        if kept.len() != known.len() || kept.keys().any(|k| !known.contains_key(k)) {
            store.keep_commit_paths(&kept)?;
        }
    } else {
        checker.load(&spans)?;
    }
    let mut ctx = Ctx {
        repo,
        config,
        store,
        checker,
        spans,
        read,
    };
    match one {
        None => close_finished(&mut ctx, args),
        Some(branch) => close_one(&mut ctx, args, &branch, mode).map(|()| 0),
    }
}

/// The open spans to close (every one, or `one` branch's), after the runs
/// of an earlier branch of the same name are split off.
fn read_spans(
    store: &mut Store,
    repo: &Repo,
    checker: &Checker,
    one: Option<&str>,
    args: &CloseArgs,
) -> Result<(Vec<OpenSpan>, Option<ReadSpan>)> {
    let read = |store: &Store| match one {
        None => Ok((close::open_spans(store, repo, checker)?, None)),
        Some(branch) => one_span(store, repo, branch),
    };
    let (spans, rows) = read(store)?;
    let dropped = spans::split_recreated(store, checker, &spans)?;
    if dropped.is_empty() {
        return Ok((spans, rows));
    }
    for d in &dropped {
        say(args, d);
    }
    read(store)
}

/// One line about runs left out of any milestone; none from a git hook.
fn say(args: &CloseArgs, dropped: &Dropped) {
    if !args.hook && !args.refresh_draft {
        println!("{}", dropped.line());
    }
}

/// One branch's open span, from the first worktree that has one, and its
/// rows as read.
fn one_span(store: &Store, repo: &Repo, branch: &str) -> Result<(Vec<OpenSpan>, Option<ReadSpan>)> {
    for root in close::worktree_roots(store, repo)? {
        let rows = store.span(&root, branch)?;
        if let Some(span) = OpenSpan::of(&root, branch, &rows) {
            let read = ReadSpan {
                root,
                branch: branch.to_owned(),
                rows,
            };
            return Ok((vec![span], Some(read)));
        }
    }
    Ok((Vec::new(), None))
}

/// Every branch with an open span whose work is in the default branch.
fn close_finished(ctx: &mut Ctx, args: &CloseArgs) -> Result<u8> {
    let candidates: Vec<OpenSpan> = ctx
        .spans
        .iter()
        .filter(|s| !ctx.checker.is_default(&s.branch))
        .cloned()
        .collect();
    let (mut closed, mut waiting) = (0, Vec::new());
    for span in &candidates {
        // A branch renamed since is closed with the branch it became.
        let renamed = ctx.checker.renamed_to(&span.branch);
        if renamed.is_some_and(|to| candidates.iter().any(|c| c.branch == to)) {
            continue;
        }
        let facts = close::facts(&mut ctx.checker, &span.branch, Some(span))?;
        let branch = span.branch.clone();
        let runs = span.runs;
        let dropped = match &facts.finish {
            None if abandoned(ctx, span) => Dropped::Abandoned { branch, runs },
            None => {
                let edits = match span.edits {
                    0 => String::new(),
                    n => format!(", {}", crate::display::count(n, "edit", "edits")),
                };
                waiting.push(format!(
                    "{} ({runs} runs{edits})",
                    crate::display::safe(&branch)
                ));
                continue;
            }
            // Commands run on a branch after its milestone, with no commit
            // of their own: one piece of work, one milestone.
            Some(_) if spans::no_new_change(&ctx.store, &ctx.repo, span, facts.tip.as_deref())? => {
                Dropped::AfterMilestone { branch, runs }
            }
            Some(_) => {
                write_milestone(ctx, args, &span.branch, &facts, Mode::Finished)?;
                closed += 1;
                continue;
            }
        };
        spans::discard(&mut ctx.store, span, facts.tip.clone())?;
        say(args, &dropped);
    }
    if closed == 0 && !args.hook {
        let names = ctx.checker.target_names();
        let into = names.first().map_or("the default branch", String::as_str);
        if waiting.is_empty() {
            println!("No branch of this repository has recorded work waiting for a milestone.");
        } else {
            println!(
                "No branch with recorded work is in {into} yet: {}; `mt close BRANCH` closes one anyway.",
                waiting.join(", ")
            );
        }
    }
    Ok(0)
}

/// Is this unfinished span abandoned and quiet for the configured days?
fn abandoned(ctx: &Ctx, span: &OpenSpan) -> bool {
    let after = ctx.config.discard_abandoned_after_us();
    spans::abandoned(&ctx.checker, span, crate::clock::now().micros(), after)
}

/// `mt close --discard BRANCH`: the abandoned span of `branch`, in any
/// worktree, filed under no milestone.
fn discard(mut store: Store, repo: &Repo, checker: &Checker, branch: &str) -> Result<u8> {
    let (spans, _) = one_span(&store, repo, branch)?;
    let Some(span) = spans.first() else {
        bail!(
            "nothing recorded on {} is waiting for a milestone; `mt status --branches` lists what is",
            crate::display::safe(branch)
        );
    };
    spans::discard(&mut store, span, checker.tip(branch, Some(span)))?;
    println!(
        "{}: {} runs left out of any milestone (they stay in mt log)",
        crate::display::safe(branch),
        span.runs
    );
    Ok(0)
}

/// One branch, named or current: a final milestone if its work is finished
/// or it was named, else its draft.
fn close_one(ctx: &mut Ctx, args: &CloseArgs, branch: &str, mode: Mode) -> Result<()> {
    let span = ctx.spans.iter().find(|s| s.branch == branch).cloned();
    let facts = close::facts(&mut ctx.checker, branch, span.as_ref())?;
    let mode = if mode == Mode::Draft && facts.finish.is_some() {
        Mode::Finished
    } else {
        mode
    };
    write_milestone(ctx, args, branch, &facts, mode)
}

/// File the span (and those of the names the branch had before) under the
/// milestone, and regenerate the log. Not for drafts: a generated index
/// changed on every branch would conflict in every merge; the default
/// branch regenerates it.
fn file_spans(
    ctx: &mut Ctx,
    prepared: &close::Prepared,
    facts: &BranchFacts,
    earlier: &[(String, String, Vec<crate::store::SpanRow>)],
) -> Result<()> {
    let mut filing = prepared.filing.clone();
    filing.tip = facts.tip.clone();
    let id = &prepared.front.milestone_id;
    ctx.store.close_span(&filing, id)?;
    for (root, name, r) in earlier {
        ctx.store.close_span(&Filing::of(root, name, r), id)?;
    }
    crate::report::write_log(&ctx.repo.root)
}

fn write_milestone(
    ctx: &mut Ctx,
    args: &CloseArgs,
    branch: &str,
    facts: &BranchFacts,
    mode: Mode,
) -> Result<()> {
    // A draft that came into the default branch with the work is written
    // again in place, final: same file and id, the PR's number and title,
    // and the runs recorded after it; no second file.
    let draft = close::draft_for(&ctx.repo.root, branch);
    let mut req = request(args, branch, mode == Mode::Draft);
    let root = span_root(ctx, branch);
    let mut rows = ctx.span_rows(&root, branch)?;
    let own: std::collections::HashSet<i64> = rows.iter().map(|r| r.id).collect();
    // The runs recorded under the names the branch had before a rename are
    // the same work: one milestone, each run counted once.
    let earlier = renamed_into(ctx, branch)?;
    for (_, _, r) in &earlier {
        rows.extend(r.iter().cloned());
    }
    rows.sort_by_key(|r| (r.start_us, r.id));
    req.span_root = Some(root);
    let mut prepared = close::prepare(
        &ctx.store,
        &ctx.repo,
        &ctx.config,
        &req,
        facts,
        draft.as_ref(),
        rows,
    )?;
    prepared.filing.ids.retain(|id| own.contains(id));
    prepared.filing.kept.retain(|id| own.contains(id));
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &prepared.front.to_json())?;
        writeln!(out)?;
    }
    if args.dry_run {
        if !args.json {
            out.write_all(prepared.text.as_bytes())?;
        }
        return Ok(());
    }
    let full = ctx.repo.root.join(&prepared.path);
    let before = fs::read_to_string(&full).ok();
    if let Some(dir) = full.parent() {
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    }
    fs::write(&full, &prepared.text)
        .with_context(|| format!("could not write {}", full.display()))?;
    if mode != Mode::Draft {
        file_spans(ctx, &prepared, facts, &earlier)?;
    }
    if args.json {
        return Ok(());
    }
    let changed = before.as_deref().map(body) != Some(body(&prepared.text));
    if args.refresh_draft {
        if changed {
            writeln!(
                out,
                "mt: the milestone draft {} changed; commit it so it travels with the branch",
                prepared.path.display()
            )?;
        }
        return Ok(());
    }
    let finalized = if mode != Mode::Draft && draft.is_some() {
        "; the branch's draft, made final"
    } else {
        ""
    };
    writeln!(out, "{}{finalized}", summary(&prepared, facts, mode))?;
    Ok(())
}

/// A milestone file's text without the lines that change on every write
/// (the close time), to tell a real change from a rewrite.
fn body(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("closed:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The open spans of branches renamed to `branch` since: (worktree, old
/// name, rows).
fn renamed_into(ctx: &Ctx, branch: &str) -> Result<Vec<(String, String, Vec<SpanRow>)>> {
    let mut earlier = Vec::new();
    for span in &ctx.spans {
        let to = ctx.checker.renamed_to(&span.branch);
        if span.branch != branch && to.as_deref() == Some(branch) {
            let rows = ctx.store.span(&span.repo, &span.branch)?;
            earlier.push((span.repo.clone(), span.branch.clone(), rows));
        }
    }
    Ok(earlier)
}

/// The worktree `branch`'s open span was recorded in; this one when it
/// has none.
fn span_root(ctx: &Ctx, branch: &str) -> String {
    (ctx.spans.iter()).find(|s| s.branch == branch).map_or_else(
        || ctx.repo.root.to_string_lossy().into_owned(),
        |s| s.repo.clone(),
    )
}

fn request(args: &CloseArgs, branch: &str, draft: bool) -> Request {
    Request {
        branch: Some(branch.to_owned()),
        declared: args.declared.clone().into(),
        draft,
        span_root: None,
        now_us: crate::clock::now().micros(),
    }
}

/// One line: where the file is and what it holds.
fn summary(p: &Prepared, facts: &BranchFacts, mode: Mode) -> String {
    let m = &p.front.mt;
    let how = match (&facts.finish, mode) {
        (_, Mode::Draft) => "draft: commit it with the branch".to_owned(),
        (Some(f), _) => {
            let pr = p
                .front
                .pr_number
                .as_deref()
                .map_or(String::new(), |n| format!(", PR {n}"));
            format!("{} into {}{pr}", f.how.as_str(), f.into)
        }
        (None, _) => "closed by hand".to_owned(),
    };
    format!(
        "{}: {} on {} ({} by a program, {} typed), active {}; {how}",
        p.path.display(),
        crate::display::count(m.runs_automated + m.runs_manual, "run", "runs"),
        crate::display::safe(&m.branch),
        m.runs_automated,
        m.runs_manual,
        human_ms(m.active_ms as f64),
    )
}
