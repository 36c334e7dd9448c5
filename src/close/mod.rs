//! `mt close`: a branch's recorded span → a milestone file in the repository.
//!
//! Gathers (store, config, git, earlier milestones), computes with the pure
//! `classify`, `metrics` and `milestone` modules, writes the file and files
//! the span's events under it.

pub(crate) mod finished;
pub(crate) mod spans;
pub mod summary;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::classify::EditRules;
use crate::classify::{Class, Classifier};
use crate::config::Config;
use crate::event::{EventKind, Phase, RunState, rfc3339};
use crate::git::Repo;
use crate::metrics::{self, Edit, Marker, Run, timeline};
use crate::milestone::kinds::{Level, Priority, WorkType};
use crate::milestone::render::{self, Evidence};
use crate::milestone::{
    self, CaughtRow, Complexity, ComplexitySource, EditedRow, FlakyRow, FrontMatter, LikeRow,
    Measured, Parameters, ToolRow, WorkRow, baseline, infer,
};
use crate::proc::Cmd;
use crate::store::{Filing, OpenSpan, SpanRow, Store};
use finished::{Checker, Finish};

/// What the user asked for (flags), before inference.
#[derive(Debug, Default, Clone)]
pub struct Request {
    pub branch: Option<String>,
    pub declared: Declared,
    /// A draft (`status: draft`): the work is not in the default branch yet.
    pub draft: bool,
    /// The worktree the span was recorded in, when not this one.
    pub span_root: Option<String>,
    /// Close time, microseconds since the epoch.
    pub now_us: i64,
}

/// What the author declares about the work (`mt close`'s flags): each
/// field is optional and falls back to what is inferred from the branch or
/// measured.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    pub kind: Option<WorkType>,
    pub issue: Option<u64>,
    pub pr: Option<u64>,
    pub priority: Option<Priority>,
    pub complexity: Option<Level>,
    pub title: Option<String>,
    /// (phase or `total`, milliseconds), in the order given: the last of
    /// a phase wins.
    pub baselines: Vec<(String, u64)>,
    pub note: Option<String>,
}

/// What git says about the branch being closed, gathered before computing.
#[derive(Debug, Clone, Default)]
pub struct BranchFacts {
    /// Its last commit (the ref, or the last HEAD recorded on it).
    pub tip: Option<String>,
    /// Where it began, if known.
    pub start: Option<String>,
    /// The default branch, for the diff when `start` cannot serve.
    pub target: Option<String>,
    /// How it reached the default branch, if it did.
    pub finish: Option<Finish>,
}

/// Every open span of the repository: work recorded in any of its worktrees
/// counts. The default branch's is listed, not read.
pub fn open_spans(store: &Store, repo: &Repo, checker: &Checker) -> Result<Vec<OpenSpan>> {
    let mut spans = Vec::new();
    for root in worktree_roots(store, repo)? {
        spans.extend(store.open_spans(&root, |b| checker.is_default(b))?);
    }
    Ok(spans)
}

/// Every worktree of the repository, this one first: those git lists and
/// those recorded before they were removed.
pub fn worktree_roots(store: &Store, repo: &Repo) -> Result<Vec<String>> {
    let mut roots: Vec<String> = (crate::git::worktrees(repo).iter())
        .map(|r| r.to_string_lossy().into_owned())
        .collect();
    for root in store.worktrees_of(&repo.common.to_string_lossy())? {
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    Ok(roots)
}

/// Gather [`BranchFacts`] for `branch`, whose open span is `span`.
pub fn facts(checker: &mut Checker, branch: &str, span: Option<&OpenSpan>) -> Result<BranchFacts> {
    Ok(BranchFacts {
        tip: checker.tip(branch, span),
        start: checker.start(branch, span),
        target: checker.target_names().into_iter().next(),
        finish: checker.finished(branch, span)?,
    })
}

/// A draft milestone already in the working tree for a branch: where it
/// is and its id, so writing it again replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub path: PathBuf,
    pub milestone_id: String,
    /// When it was last written (its `mt.closed`), µs.
    pub written_us: Option<i64>,
}

/// A milestone ready to write.
#[derive(Debug)]
pub struct Prepared {
    pub front: FrontMatter,
    pub text: String,
    /// Relative to the repository root.
    pub path: PathBuf,
    pub filing: Filing,
}

/// Everything `mt close` reads before it computes: the span, the diff size,
/// earlier milestones, the template, and where the file goes.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The worktree the span was recorded in.
    pub root: String,
    pub branch: String,
    pub rows: Vec<SpanRow>,
    /// What was recorded elsewhere around the span (other branches and
    /// repositories): it takes its own moments on the one timeline.
    pub elsewhere: Vec<(i64, i64, bool)>,
    /// Files changed, insertions, deletions of the branch's own change.
    pub diff: Option<Diff>,
    /// Earlier milestones of this repository (for self-baselines).
    pub history: Vec<FrontMatter>,
    /// The template's name (for error messages) and text.
    pub template: (String, String),
    /// Where the file goes (relative to the repository) and its id.
    pub path: PathBuf,
    pub milestone_id: String,
}

/// Everything `mt close` computes, without writing anything. `rows` is
/// the span as the caller read it (`Store::span` of the request's root and
/// branch), which also tells finished work from work in progress.
pub fn prepare(
    store: &Store,
    repo: &Repo,
    config: &Config,
    req: &Request,
    git_facts: &BranchFacts,
    draft: Option<&Draft>,
    rows: Vec<SpanRow>,
) -> Result<Prepared> {
    let idle_us = config.idle_timeout_us();
    let inputs = gather(store, repo, req, git_facts, draft, idle_us, rows)?;
    compute(&inputs, config, req, git_facts.finish.as_ref())
}

/// The work's type: declared, else from the branch name, else enhancement.
fn kind_of(req: &Request, branch: &str) -> WorkType {
    req.declared
        .kind
        .or(infer::from_branch(branch).kind)
        .unwrap_or(WorkType::Enhancement)
}

/// The close date, local time, as the file name and front matter write it.
fn date_of(now_us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(now_us)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_default()
}

/// Read what [`compute`] needs: store, git, files.
pub fn gather(
    store: &Store,
    repo: &Repo,
    req: &Request,
    git_facts: &BranchFacts,
    draft: Option<&Draft>,
    idle_us: i64,
    rows: Vec<SpanRow>,
) -> Result<Inputs> {
    let root = req
        .span_root
        .clone()
        .unwrap_or_else(|| repo.root.to_string_lossy().into_owned());
    let branch = req
        .branch
        .clone()
        .context("no branch to close; name one: mt close BRANCH")?;
    let kind = kind_of(req, &branch).as_str();
    let (path, milestone_id) = match draft {
        // A draft is written again in place, under the same id.
        Some(d) => (d.path.clone(), d.milestone_id.clone()),
        None => {
            let date = date_of(req.now_us);
            let slug = infer::slugify(&infer::from_branch(&branch).slug);
            // The request's number keeps two people's milestones of the same
            // day, type and slug apart (their files would conflict in git).
            let pr = (req.declared.pr)
                .or_else(|| git_facts.finish.as_ref().and_then(|f| f.pr))
                .map_or(String::new(), |n| format!("-pr{n}"));
            let id = format!("{date}-{kind}-{slug}{pr}");
            let path = free_path(&repo.root, &date, &id);
            let id = path
                .file_stem()
                .map_or(id, |s| s.to_string_lossy().into_owned());
            (path, id)
        }
    };
    let spans = rows
        .iter()
        .map(|r| (r.start_us, r.end_us.unwrap_or(r.start_us)));
    let elsewhere = match timeline::window(spans, idle_us) {
        // Up to an idle timeout past the span's last signal: a signal in
        // another repository there ends a gap that is this span's.
        Some((from, to)) => {
            let ids = rows.iter().map(|r| r.id).collect();
            store.elsewhere(&ids, &root, (from, to), idle_us)?
        }
        None => Vec::new(),
    };
    Ok(Inputs {
        elsewhere,
        rows,
        diff: diff_stats(repo, git_facts),
        history: earlier_milestones(&repo.root, &branch),
        template: template_for(&repo.root, kind)?,
        root,
        branch,
        path,
        milestone_id,
    })
}

/// The milestone from what was gathered. Pure: no store, git or files.
pub fn compute(
    inputs: &Inputs,
    config: &Config,
    req: &Request,
    finish: Option<&Finish>,
) -> Result<Prepared> {
    let finished = finished_rows(inputs)?;
    let classifier = Classifier::new(&config.rules)?;
    let commands: Vec<&SpanRow> = (finished.iter().copied())
        .filter(|r| r.kind == EventKind::Command)
        .collect();
    let classes = Classes::of(&commands, &classifier);
    let runs = classes.runs(&commands);
    let edit_rules = EditRules::new(&config.edit_phases)?;
    let (markers, edits) = markers_and_edits(&finished, &edit_rules, &changed_paths(inputs));
    let runs = reproductions(runs, &commands, &edits);
    let span = metrics::Span {
        runs: &runs,
        markers: &markers,
        edits: &edits,
        elsewhere: &inputs.elsewhere,
    };
    let figures = metrics::compute(span, config.idle_timeout_us(), req.now_us);
    let kind = kind_of(req, &inputs.branch).as_str().to_owned();
    let totals = (inputs.diff.as_ref()).map(|d| (d.paths.len() as u64, d.insertions, d.deletions));
    let (complexity, measured_complexity) = complexity(req.declared.complexity, totals);
    let measured = Measured {
        version: 1,
        // A committed file names the repository by its directory, never by
        // an absolute path of this machine.
        repo: Path::new(&inputs.root)
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        branch: inputs.branch.clone(),
        first_event: finished.first().map(|r| rfc3339(r.start_us)),
        closed: rfc3339(req.now_us),
        parameters: parameters(inputs, config, &classifier, &finished),
        active_ms: ms(figures.active_us),
        elapsed_ms: ms(figures.elapsed_us),
        phases_ms: phase_names(&figures.phase_us),
        runs_automated: figures.runs_automated,
        runs_manual: figures.runs_manual,
        errors_automated: figures.errors_automated,
        errors_manual: figures.errors_manual,
        first_attempt_automated: figures.first_attempt_automated,
        first_attempt_manual: figures.first_attempt_manual,
        first_attempt: figures.first_attempt,
        validation_automated: figures.validation_automated,
        manual_steps_eliminated: figures.manual_steps_eliminated,
        tools: tool_rows(&figures),
        edited: edited_rows(&figures),
        automation_runs: figures.automation_runs,
        automation_time_ms: figures.automation_time_ms,
        caught: caught_rows(&figures, &shape_in(&inputs.root)),
        consistency: figures.consistency.share,
        flaky: flaky_rows(&figures, &shape_in(&inputs.root)),
        like_for_like: like_row(&figures.like_for_like, &shape_in(&inputs.root)),
        work: work_rows(&figures),
        agents: agent_names(&finished),
        agent_like_for_like: like_row(&figures.agent_like_for_like, &shape_in(&inputs.root)),
        integration: milestone::integration::classify(
            inputs.diff.as_ref().map(|d| d.paths.as_slice()),
            &config.integration,
        )?,
        rate_baselines: baseline::rates(&inputs.history, &kind),
        complexity: measured_complexity,
        baselines: baselines_for(inputs, config, req, &kind)?,
    };
    let front = front_matter(inputs, req, finish, kind, complexity, measured);
    let evidence = evidence(&runs, &shape_in(&inputs.root));
    let text = file_text(inputs, req, &front, &evidence)?;
    Ok(Prepared {
        front,
        text,
        path: inputs.path.clone(),
        filing: Filing::of(&inputs.root, &inputs.branch, &inputs.rows),
    })
}

/// The milestone file: the template rendered, the figures after it.
fn file_text(
    inputs: &Inputs,
    req: &Request,
    front: &FrontMatter,
    evidence: &[Evidence],
) -> Result<String> {
    let (template_name, template) = &inputs.template;
    let view = render::view(front, evidence, req.declared.note.as_deref());
    let body = render::render(template_name, template, &view)?;
    milestone::file_text(front, &body)
}

/// The span's rows that have ended (a run still going is left for the next
/// span); an error when not one of them is a command or an edit (markers
/// alone are no work).
fn finished_rows(inputs: &Inputs) -> Result<Vec<&SpanRow>> {
    let finished: Vec<&SpanRow> = inputs
        .rows
        .iter()
        .filter(|r| r.state != RunState::Running)
        .collect();
    if !finished.iter().any(|r| r.kind != EventKind::Marker) {
        bail!(
            "nothing was recorded on branch {} in {} since its last milestone, so there is nothing to close; `mt log --branch` shows what was recorded on it",
            inputs.branch,
            inputs.root
        );
    }
    Ok(finished)
}

/// The front matter's declared and inferred fields around the measured
/// block: a flag wins, then what the merge said (`finish`), then the branch
/// name.
fn front_matter(
    inputs: &Inputs,
    req: &Request,
    finish: Option<&Finish>,
    kind: String,
    complexity: String,
    mt: Measured,
) -> FrontMatter {
    let inferred = infer::from_branch(&inputs.branch);
    let declared = &req.declared;
    FrontMatter {
        milestone_id: inputs.milestone_id.clone(),
        date: date_of(req.now_us),
        kind,
        issue_number: declared.issue.or(inferred.issue).map(|n| format!("#{n}")),
        pr_number: (declared.pr.or(finish.and_then(|f| f.pr))).map(|n| format!("#{n}")),
        priority: declared
            .priority
            .map_or("unset", Priority::as_str)
            .to_owned(),
        complexity,
        // No invisible or direction-changing character, even in YAML.
        title: crate::display::safe(
            &(declared.title.clone())
                .or_else(|| finish.and_then(|f| f.title.clone()))
                .unwrap_or_else(|| infer::title(&inferred.slug)),
        )
        .into_owned(),
        // A draft while it travels in the pull request; "closed by hand"
        // when it was closed without its work being in the default branch
        // (MILESTONE_LOG.md shows which); none once finished.
        status: match (req.draft, finish) {
            (true, _) => Some("draft".to_owned()),
            (false, None) => Some("closed by hand".to_owned()),
            (false, Some(_)) => None,
        },
        mt_in_front: None,
        mt,
    }
}

/// What the figures depend on, as the milestone states it.
fn parameters(
    inputs: &Inputs,
    config: &Config,
    classifier: &Classifier,
    finished: &[&SpanRow],
) -> Parameters {
    Parameters {
        idle_timeout_minutes: config.idle_timeout_minutes(),
        classification: classifier.describe(),
        unfinished_runs: (finished.iter())
            .filter(|r| r.state == RunState::Unfinished)
            .count() as u64,
        running_runs_excluded: (inputs.rows.len() - finished.len()) as u64,
    }
}

/// The files the branch's own change touched.
fn changed_paths(inputs: &Inputs) -> std::collections::HashSet<&str> {
    (inputs.diff.iter())
        .flat_map(|d| d.paths.iter().map(String::as_str))
        .collect()
}

/// Everything `mt close` compiles from a configuration — the filters'
/// regexes, the classification rules, `edit_phases`, the `[integration]`
/// globs — so that `mt doctor` accepts and rejects exactly the files close
/// does. Parsing (`Config::parse`) already refused a bad phase, duration,
/// regex or glob with its file, line and key; this builds what close
/// builds from the values, so nothing that parses can fail later.
pub fn check_config(config: &Config) -> Result<()> {
    crate::redact::Filters::new(config)?;
    Classifier::new(&config.rules)?;
    EditRules::new(&config.edit_phases)?;
    milestone::integration::classify(Some(&[]), &config.integration)?;
    Ok(())
}

/// The baselines this milestone is compared with: the declared ones
/// (flags, then configuration), self-baselines from earlier milestones of
/// the same kind, and the velocity of those.
fn baselines_for(
    inputs: &Inputs,
    config: &Config,
    req: &Request,
    kind: &str,
) -> Result<std::collections::BTreeMap<String, milestone::Baseline>> {
    let flags = &req.declared.baselines;
    let mut baselines = baseline::choose(flags, &config.baselines, &inputs.history, kind)?;
    baselines.insert("velocity".into(), baseline::velocity(&inputs.history, kind));
    Ok(baselines)
}

/// The complexity label and where it came from: declared, from the diff
/// size, or not measured.
fn complexity(declared: Option<Level>, diff: Option<(u64, u64, u64)>) -> (String, Complexity) {
    let none = |source| Complexity {
        source,
        files: None,
        insertions: None,
        deletions: None,
    };
    match (declared, diff) {
        (Some(c), _) => (c.as_str().to_owned(), none(ComplexitySource::Declared)),
        (None, Some((files, ins, del))) => (
            infer::complexity(files, ins + del).as_str().to_owned(),
            Complexity {
                source: ComplexitySource::Diff,
                files: Some(files),
                insertions: Some(ins),
                deletions: Some(del),
            },
        ),
        (None, None) => (
            "not measured".to_owned(),
            none(ComplexitySource::NotMeasured),
        ),
    }
}

/// Whole milliseconds of a duration in µs (a negative one, from a clock
/// stepped back, is none).
fn ms(us: i64) -> u64 {
    (us.max(0) / 1000) as u64
}

/// Phase times in whole ms that add up exactly to the total in whole ms
/// (rounding cumulative sums, so no millisecond is lost or invented).
fn split_ms<K: Ord + Clone>(
    phase_us: &std::collections::BTreeMap<K, i64>,
) -> std::collections::BTreeMap<K, u64> {
    let mut cum = 0i64;
    let mut out = std::collections::BTreeMap::new();
    for (k, v) in phase_us {
        let before = ms(cum);
        cum += v;
        out.insert(k.clone(), ms(cum) - before);
    }
    out
}

/// The phase times in whole ms as the file names them, in the file's
/// (alphabetical) order, so the cumulative rounding is the one every
/// earlier milestone had.
fn phase_names(
    phase_us: &std::collections::BTreeMap<Phase, i64>,
) -> std::collections::BTreeMap<String, u64> {
    let named = (phase_us.iter())
        .map(|(p, us)| (p.as_str().to_owned(), *us))
        .collect();
    split_ms(&named)
}

/// Each distinct (command line, phase hint, tool hint) of a span's
/// commands, classified once with its normalized text: a long branch
/// repeats the same few commands thousands of times.
struct Classes<'a> {
    distinct: Vec<(std::borrow::Cow<'a, str>, Class)>,
    /// Which of them each command is, in the order given.
    of: Vec<usize>,
}

impl<'a> Classes<'a> {
    fn of(commands: &[&'a SpanRow], classifier: &Classifier) -> Classes<'a> {
        type Key<'k> = (&'k str, Option<Phase>, Option<&'k str>);
        let mut index: foldhash::HashMap<Key<'a>, usize> = Default::default();
        let mut distinct = Vec::new();
        let of = (commands.iter())
            .map(|r| {
                let key = (&*r.command, r.phase, r.tool.as_deref());
                *index.entry(key).or_insert_with(|| {
                    let class = classifier.classify(key.0, key.1, key.2);
                    distinct.push((metrics::normalize(key.0), class));
                    distinct.len() - 1
                })
            })
            .collect();
        Classes { distinct, of }
    }

    /// The commands as runs, their text borrowed from the rows and from here.
    fn runs<'r>(&'r self, commands: &[&'r SpanRow]) -> Vec<Run<'r>> {
        (commands.iter().zip(&self.of))
            .map(|(r, &i)| {
                let (command, class) = &self.distinct[i];
                Run {
                    start_us: r.start_us,
                    end_us: r.end_us.unwrap_or(r.start_us),
                    ok: crate::event::succeeded(r.state, r.exit_code, r.signal),
                    automated: r.source.by_program(),
                    command,
                    phase: class.phase,
                    tool: class.tool.as_deref(),
                    manual_steps: class.manual_steps,
                    head: r.head.as_deref(),
                    who: r.source.who(),
                }
            })
            .collect()
    }
}

/// The span's markers and edits, with the phase each edit's path maps to.
/// The span's markers and edits, leaving out runs' output: a file git did
/// not track, written while a run went on, that the branch's change does
/// not include (a new source file saved during a watch-mode run is kept).
fn markers_and_edits(
    rows: &[&SpanRow],
    edit_rules: &EditRules,
    changed: &std::collections::HashSet<&str>,
) -> (Vec<Marker>, Vec<Edit>) {
    let mut markers = Vec::new();
    let mut edits = Vec::new();
    let mut runs = RunCover::default();
    for r in rows {
        runs.see(r);
        if r.kind == EventKind::Edit
            && r.untracked
            && runs.covers(r.start_us)
            && !changed.contains(&*r.command)
        {
            continue; // a run's output, not the person's edit
        }
        match r.kind {
            EventKind::Marker => markers.extend(r.phase.map(|phase| Marker {
                at_us: r.start_us,
                phase,
            })),
            EventKind::Edit => edits.push(Edit {
                who: r.source.who(),
                at_us: r.start_us,
                phase: edit_rules.phase(&r.command),
                path: r.command.to_string(),
            }),
            EventKind::Command => {}
        }
    }
    (markers, edits)
}

/// A test run before the span's first edit reproduces the problem: it is
/// diagnosis, not validation (docs/metrics.md, "Phases of test runs"). A
/// phase the user gave (`mt exec --phase`) stays; a span without edits has
/// nothing to split at and keeps validation.
fn reproductions<'r>(mut runs: Vec<Run<'r>>, rows: &[&SpanRow], edits: &[Edit]) -> Vec<Run<'r>> {
    let Some(first_edit) = edits.iter().map(|e| e.at_us).min() else {
        return runs;
    };
    for (run, row) in runs.iter_mut().zip(rows) {
        if run.phase == Phase::Validation && row.phase.is_none() && run.start_us < first_edit {
            run.phase = Phase::Diagnosis;
        }
    }
    runs
}

/// How far the runs seen so far (in start order) reach: an untracked file
/// written while one ran, or within `OUTPUT_SLACK_US` of its end (the
/// watcher notes a write when it reads the event), is its output.
#[derive(Default)]
struct RunCover {
    until_us: Option<i64>,
}

/// The watcher stamps a write when it reads the event; a shell stamps a
/// command's end at the next prompt: a run's last write can fall just after.
const OUTPUT_SLACK_US: i64 = 1_000_000;

impl RunCover {
    fn see(&mut self, r: &SpanRow) {
        if r.kind == EventKind::Command {
            let end = r
                .end_us
                .map_or(i64::MAX, |e| e.saturating_add(OUTPUT_SLACK_US));
            self.until_us = Some(self.until_us.map_or(end, |u| u.max(end)));
        }
    }

    fn covers(&self, at_us: i64) -> bool {
        self.until_us.is_some_and(|u| at_us <= u)
    }
}

/// How a command is shown in a milestone, which leaves the machine: its
/// shape (`redact::shape`), with the words that are paths in the worktree
/// at `root` kept.
fn shape_in(root: &str) -> impl Fn(&str) -> String + use<> {
    let root = PathBuf::from(root);
    move |command: &str| {
        let is_path = |w: &str| !w.starts_with('/') && !w.contains("..") && root.join(w).exists();
        crate::redact::shape::shape(command, is_path)
    }
}

/// Each distinct command shape with its runs, most time first.
fn evidence(runs: &[Run], shape: &impl Fn(&str) -> String) -> Vec<Evidence> {
    let mut by: foldhash::HashMap<String, (u64, u64, Vec<f64>)> = Default::default();
    for r in runs {
        let e = by.entry(shape(r.command)).or_default();
        e.0 += 1;
        e.1 += u64::from(!r.ok);
        e.2.push((r.end_us - r.start_us) as f64 / 1000.0);
    }
    let mut out: Vec<Evidence> = by
        .into_iter()
        .map(|(command, (runs, failures, mut ms))| Evidence {
            command: if command.is_empty() {
                "(private: text not kept)".into()
            } else {
                command.clone()
            },
            runs,
            failures,
            median_ms: metrics::median(&mut ms).round() as u64,
            total_ms: ms.iter().sum::<f64>().round() as u64,
        })
        .collect();
    out.sort_by(|a, b| {
        b.total_ms
            .cmp(&a.total_ms)
            .then_with(|| a.command.cmp(&b.command))
    });
    out
}

/// `milestones/YYYY-MM/<id>.md`, with `-2`, `-3`… if taken.
fn free_path(root: &Path, date: &str, id: &str) -> PathBuf {
    let dir = PathBuf::from("milestones").join(date.get(..7).unwrap_or(date));
    let mut path = dir.join(format!("{id}.md"));
    let mut n = 2;
    while root.join(&path).exists() {
        path = dir.join(format!("{id}-{n}.md"));
        n += 1;
    }
    path
}

/// The repository's template for `kind`, else the built-in one.
fn template_for(root: &Path, kind: &str) -> Result<(String, String)> {
    let rel = format!("milestones/templates/{kind}-milestone-template.md");
    match fs::read_to_string(root.join(&rel)) {
        Ok(text) => Ok((rel, text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(("built-in template".into(), render::BUILTIN_TEMPLATE.into()))
        }
        Err(e) => Err(e).with_context(|| format!("could not read {rel}")),
    }
}

/// Front matter of every milestone already in the repository; a file that
/// does not parse is named in a warning and skipped.
fn earlier_milestones(root: &Path, branch: &str) -> Vec<FrontMatter> {
    let loaded = crate::report::files::read_all(root);
    crate::report::files::warn_skipped(&loaded);
    loaded.finished(Some(branch))
}

/// The draft milestone in the working tree for `branch`, if one was
/// written there (on the branch, or merged in with it).
pub fn draft_for(root: &Path, branch: &str) -> Option<Draft> {
    let loaded = crate::report::files::read_all(root);
    loaded
        .milestones
        .iter()
        .zip(&loaded.paths)
        .filter(|(m, _)| m.mt.branch == branch && m.status.as_deref() == Some("draft"))
        .max_by(|a, b| a.0.mt.closed.cmp(&b.0.mt.closed))
        .map(|(m, p)| Draft {
            path: p.strip_prefix(root).unwrap_or(p).to_path_buf(),
            milestone_id: m.milestone_id.clone(),
            written_us: chrono::DateTime::parse_from_rfc3339(&m.mt.closed)
                .ok()
                .map(|t| t.timestamp_micros()),
        })
}

fn tool_rows(f: &metrics::Figures) -> Vec<ToolRow> {
    f.tools
        .iter()
        .map(|t| ToolRow {
            name: t.name.clone(),
            runs: t.runs,
            failures: t.failures,
            median_ms: t.median_ms.round() as u64,
            total_ms: t.total_ms.round() as u64,
        })
        .collect()
}

fn edited_rows(f: &metrics::Figures) -> Vec<EditedRow> {
    f.edited
        .iter()
        .map(|e| EditedRow {
            path: e.path.clone(),
            saves: e.saves,
            edit_ms: ms(e.edit_us),
        })
        .collect()
}

fn caught_rows(f: &metrics::Figures, shape: &impl Fn(&str) -> String) -> Vec<CaughtRow> {
    f.caught
        .iter()
        .map(|c| CaughtRow {
            command: shape(&c.command),
            caught: rfc3339(c.failed_at_us),
            failures: c.failures,
            fix_ms: ms(c.fix_us),
        })
        .collect()
}

fn flaky_rows(f: &metrics::Figures, shape: &impl Fn(&str) -> String) -> Vec<FlakyRow> {
    f.consistency
        .flaky
        .iter()
        .map(|r| FlakyRow {
            command: shape(&r.command),
            head: r.head.chars().take(12).collect(),
            runs: r.runs.len() as u64,
            failures: r.runs.iter().filter(|&&(_, ok)| !ok).count() as u64,
        })
        .collect()
}

fn like_row(l: &metrics::quality::LikeForLike, shape: &impl Fn(&str) -> String) -> LikeRow {
    LikeRow {
        classes: l.classes.iter().map(|c| shape(c)).collect(),
        errors_automated: l.errors_automated,
        errors_manual: l.errors_manual,
        first_attempt_automated: l.first_attempt_automated,
        first_attempt_manual: l.first_attempt_manual,
    }
}

/// The four-way split in whole ms; the active times add up to the span's
/// (the same cumulative rounding as the phases).
fn work_rows(f: &metrics::Figures) -> std::collections::BTreeMap<String, WorkRow> {
    let us: std::collections::BTreeMap<String, i64> = (f.work.iter())
        .map(|(who, w)| (who.as_str().to_owned(), w.active_us))
        .collect();
    let ms = split_ms(&us);
    (f.work.iter())
        .map(|(who, w)| {
            let name = who.as_str().to_owned();
            let row = WorkRow {
                active_ms: ms.get(&name).copied().unwrap_or(0),
                runs: w.runs,
                failures: w.failures,
                first_attempt: w.first_attempt,
            };
            (name, row)
        })
        .collect()
}

/// The agents whose commands or edits are in the span, by name.
fn agent_names(rows: &[&SpanRow]) -> Vec<String> {
    let mut names: Vec<String> = (rows.iter())
        .filter(|r| r.source == crate::event::Source::Agent)
        .map(|r| r.agent.as_deref().unwrap_or("agent").to_owned())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The branch's own change against where it began: the files it touched
/// and the lines added and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub paths: Vec<String>,
    pub insertions: u64,
    pub deletions: u64,
}

/// Files changed, insertions, deletions of the branch's own change (from
/// where it began, else where it forked, to its tip). `None` when git
/// cannot say.
fn diff_stats(repo: &Repo, facts: &BranchFacts) -> Option<Diff> {
    let root = &repo.root;
    let tip = facts.tip.as_ref()?;
    let start = facts.start.clone().filter(|s| s != tip);
    let base = match start {
        Some(s) if finished::is_ancestor(root, &s, tip).ok()? => s,
        _ => finished::merge_base(root, tip, facts.target.as_ref()?).ok()??,
    };
    let out = Cmd::git(root)
        .args(["diff", "--numstat", "--no-renames", "-z", &base, tip])
        // mt's own files (a draft committed with the branch) are not its change.
        .args(["--", ".", ":(exclude)milestones"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    // `added TAB deleted TAB path NUL`; a binary file counts `-` lines.
    let mut diff = Diff::default();
    for rec in out.stdout.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let text = String::from_utf8_lossy(rec);
        let mut parts = text.splitn(3, '\t');
        let mut number = || {
            parts
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        diff.insertions += number();
        diff.deletions += number();
        if let Some(path) = parts.next() {
            diff.paths.push(path.to_owned());
        }
    }
    Some(diff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::close::finished::How;
    use crate::event::Source;

    fn row(id: i64, source: Source, command: &str, start_s: i64, end_s: i64, exit: i32) -> SpanRow {
        SpanRow {
            id,
            source,
            kind: EventKind::Command,
            command: command.into(),
            start_us: start_s * 1_000_000,
            end_us: Some(end_s * 1_000_000),
            exit_code: Some(exit),
            signal: None,
            state: RunState::Done,
            phase: None,
            tool: None,
            head: None,
            untracked: false,
            agent: None,
        }
    }

    fn inputs(rows: Vec<SpanRow>) -> Inputs {
        Inputs {
            root: "/r".into(),
            branch: "fix/7-crash".into(),
            rows,
            elsewhere: Vec::new(),
            diff: Some(Diff {
                paths: vec!["src/a.rs".into(), "docs/a.md".into()],
                insertions: 30,
                deletions: 10,
            }),
            history: Vec::new(),
            template: ("built-in template".into(), render::BUILTIN_TEMPLATE.into()),
            path: "milestones/2026-11/x.md".into(),
            milestone_id: "x".into(),
        }
    }

    /// Closing the inputs' branch at `now_s`.
    fn request(now_s: i64) -> Request {
        Request {
            branch: Some("fix/7-crash".into()),
            now_us: now_s * 1_000_000,
            ..Request::default()
        }
    }

    /// The whole close computation on hand-built inputs: no store, no git.
    #[test]
    fn a_span_becomes_front_matter_without_git() {
        let rows = vec![
            row(1, Source::Hook, "git log", 0, 10, 0),
            row(2, Source::Exec, "cargo test", 20, 30, 101),
            row(3, Source::Exec, "cargo test", 40, 50, 0),
        ];
        let req = Request {
            declared: Declared {
                baselines: vec![("total".into(), 120_000)],
                ..Declared::default()
            },
            ..request(60)
        };
        let finish = Finish {
            how: How::Squashed,
            into: "origin/main".into(),
            commit: "c".into(),
            pr: Some(91),
            title: Some("Fix the crash".into()),
        };
        let p = compute(&inputs(rows), &Config::default(), &req, Some(&finish)).unwrap();
        let f = &p.front;
        assert_eq!(
            (f.kind.as_str(), f.issue_number.as_deref()),
            ("bug", Some("#7"))
        );
        assert_eq!(
            (f.pr_number.as_deref(), f.title.as_str()),
            (Some("#91"), "Fix the crash")
        );
        assert_eq!(
            (f.complexity.as_str(), f.status.as_deref()),
            ("simple", None)
        );
        assert_eq!((f.mt.runs_automated, f.mt.runs_manual), (2, 1));
        assert_eq!(
            f.mt.active_ms, 50_000,
            "gaps of 10 s count under a 15 min idle timeout"
        );
        assert_eq!(f.mt.phases_ms.values().sum::<u64>(), f.mt.active_ms);
        assert_eq!(p.filing.ids, vec![1, 2, 3]);
        assert!(
            p.text.contains("declared"),
            "the declared baseline is named as such"
        );
        // A draft says so; nothing recorded is an error naming the branch.
        let draft = Request {
            draft: true,
            ..req.clone()
        };
        let p = compute(
            &inputs(vec![row(1, Source::Exec, "make", 0, 1, 0)]),
            &Config::default(),
            &draft,
            None,
        )
        .unwrap();
        assert_eq!(p.front.status.as_deref(), Some("draft"));
        let err = compute(&inputs(Vec::new()), &Config::default(), &req, None).unwrap_err();
        assert!(format!("{err:#}").contains("nothing was recorded on branch fix/7-crash"));
    }

    /// Spacing never makes two commands: a retry typed with an extra space
    /// is the same command's second attempt, and one line of evidence.
    #[test]
    fn a_retry_spaced_differently_is_the_same_command() {
        let rows = vec![
            row(1, Source::Exec, "cargo  test", 0, 10, 101),
            row(2, Source::Exec, " cargo test", 20, 30, 0),
            row(3, Source::Exec, "cargo test", 40, 50, 0),
        ];
        let p = compute(&inputs(rows), &Config::default(), &request(60), None).unwrap();
        let first = p.front.mt.first_attempt_automated;
        assert_eq!((first.part, first.whole), (0, 1));
        let evidence: Vec<&str> = (p.text.lines())
            .filter(|l| l.starts_with("| `") && l.contains("cargo"))
            .collect();
        assert_eq!(evidence, ["| `cargo test` | 3 | 1 | 10.0s | 30.0s |"]);
    }

    /// A command rerun thousands of times at one HEAD, failing now and
    /// then, is one line of counts: the milestone does not grow with runs.
    #[test]
    fn a_flaky_command_rerun_often_stays_one_line() {
        let size = |n: i64| {
            let rows = (0..n)
                .map(|i| {
                    let mut r = row(i, Source::Exec, "cargo test", i * 10, i * 10 + 5, 0);
                    r.exit_code = Some(i32::from(i % 7 == 0));
                    r.head = Some("0123456789abcdef".into());
                    r
                })
                .collect();
            let p = compute(&inputs(rows), &Config::default(), &request(n * 10), None).unwrap();
            assert_eq!(p.front.mt.flaky.len(), 1);
            (
                p.front.mt.flaky[0].runs,
                p.front.mt.flaky[0].failures,
                p.text.len(),
            )
        };
        let (runs, failures, small) = size(70);
        assert_eq!((runs, failures), (70, 10));
        let (runs, failures, large) = size(7_000);
        assert_eq!((runs, failures), (7_000, 1_000));
        assert!(
            large < small + 200,
            "{small} bytes for 70 runs, {large} for 7,000"
        );
    }
}
