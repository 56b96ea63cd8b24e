//! Check: documents in, diagnostics out. Load, schema and per-document policy
//! checks run in parallel, one file per task; cross-file policies run once
//! over everything that loaded. Never prints, exits or touches the network.

pub mod baseline;
pub mod cache;
pub mod functions;
pub mod mask;
pub mod policy;
pub mod profile;
pub mod relevant;
pub mod schema;
pub mod secrets;
pub mod suppress;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Severity};
use crate::discover::Candidate;
use crate::load::{self, Document};
use crate::settings::Settings;
use crate::source::{SourceFile, display_path};

pub use cache::Cache;
pub use policy::{Policies, PolicyError};
pub use schema::Schemas;

/// Everything a check needs, built once and shared across threads.
pub struct Checker {
    pub settings: Settings,
    schemas: Schemas,
    policies: Policies,
    /// `PLANGUARD_NOW`, when set: the instant every check judges time by.
    now: Option<i64>,
    plan_rule: Option<PlanRule>,
    /// Findings already known, hidden from what `run` reports.
    baseline: Option<baseline::Baseline>,
}

/// One file to check: on disk, an editor's buffer, or a document already
/// loaded (the gate's plan with its command-line overrides).
pub enum Input {
    Disk(Candidate),
    /// The text stands for the file at the candidate's path.
    Buffer(Candidate, SourceFile),
    Loaded(Document),
}

impl Input {
    pub fn path(&self) -> &Path {
        match self {
            Input::Disk(candidate) | Input::Buffer(candidate, _) => &candidate.path,
            Input::Loaded(document) => document.file.path(),
        }
    }

    fn shown(&self) -> String {
        display_path(self.path())
    }

    fn candidate(&self) -> Option<&Candidate> {
        match self {
            Input::Disk(candidate) | Input::Buffer(candidate, _) => Some(candidate),
            Input::Loaded(_) => None,
        }
    }

    /// The file's text, under the size limit.
    fn read(&self, max_size: u64) -> Result<SourceFile, Box<Diagnostic>> {
        match self {
            Input::Disk(candidate) => load::read(candidate, max_size),
            Input::Buffer(candidate, file) => load::accept(candidate, file.clone(), max_size),
            Input::Loaded(document) => Ok(document.file.clone()),
        }
    }

    /// What the policies see of where the file is (path, kind, workspace,
    /// environment, build), as part of its cache key.
    fn context(&self) -> Option<String> {
        let candidate = self.candidate()?;
        Some(
            serde_json::json!([
                self.shown(),
                candidate.kind.map(|k| k.as_str()),
                candidate.workspace,
                candidate.env,
                candidate.build,
                candidate.explicit,
            ])
            .to_string(),
        )
    }
}

/// The files of one check: those to report on, and those around them
/// (the rest of a workspace when files are named one by one, the other
/// shards) that cross-file rules compare against and whose secrets are masked
/// wherever a reported finding shows their text, but about which nothing is
/// reported.
#[derive(Default)]
pub struct Workset {
    pub report: Vec<Input>,
    pub context: Vec<Input>,
}

impl Workset {
    /// Files on disk to report on, with files on disk around them.
    pub fn on_disk(report: &[Candidate], context: &[Candidate]) -> Self {
        Self {
            report: report.iter().cloned().map(Input::Disk).collect(),
            context: context.iter().cloned().map(Input::Disk).collect(),
        }
    }
}

/// What one run allows its policies: a rule that exceeds the time limit on
/// one file is not run again on the others in the same run, which would each
/// wait as long; the next run tries it afresh.
#[derive(Debug, Default)]
pub struct Budget {
    timed_out: Mutex<BTreeSet<String>>,
    /// Where the time goes, when asked (`check --profile`).
    profile: Option<profile::Profile>,
    /// Nonzero when the result is no longer wanted (the editor has newer
    /// edits queued): the run stops between files and says so.
    cancel: Option<Arc<AtomicUsize>>,
    /// Each workspace's sandbox, resolved once per run: resolving a folder
    /// is a system call per component, and every document asks. Per run,
    /// not per checker, so that a long-lived editor sees folders move.
    sandboxes: Mutex<HashMap<Option<String>, Option<PathBuf>>>,
}

impl Budget {
    /// A budget whose run stops, and reports itself interrupted, while
    /// `cancel` is nonzero (a count of what makes the result stale).
    pub fn cancellable(cancel: Arc<AtomicUsize>) -> Self {
        Self {
            cancel: Some(cancel),
            ..Self::default()
        }
    }

    /// The run's result is no longer wanted.
    pub fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Acquire) > 0)
    }

    /// A budget that also measures every stage and rule.
    pub fn profiling() -> Self {
        Self {
            profile: Some(profile::Profile::default()),
            ..Self::default()
        }
    }

    pub fn profile(&self) -> Option<&profile::Profile> {
        self.profile.as_ref()
    }

    /// Run `work`, timed under `name` when profiling.
    pub fn time<T>(&self, name: &str, work: impl FnOnce() -> T) -> T {
        match &self.profile {
            Some(profile) => profile.time(name, work),
            None => work(),
        }
    }

    pub fn any_timed_out(&self) -> bool {
        self.timed_out.lock().map_or(true, |t| !t.is_empty())
    }

    /// Whether `rule` (`package.rule`) exceeded the time limit in this run.
    pub fn timed_out(&self, rule: &str) -> bool {
        self.timed_out.lock().is_ok_and(|t| t.contains(rule))
    }

    /// The canonical sandbox folder of `workspace`, from `resolve` the
    /// first time this run asks.
    pub fn sandbox(
        &self,
        workspace: Option<&str>,
        resolve: impl FnOnce() -> Option<PathBuf>,
    ) -> Option<PathBuf> {
        let key = workspace.map(str::to_string);
        if let Some(found) = self
            .sandboxes
            .lock()
            .ok()
            .and_then(|s| s.get(&key).cloned())
        {
            return found;
        }
        let found = resolve();
        if let Ok(mut sandboxes) = self.sandboxes.lock() {
            sandboxes.insert(key, found.clone());
        }
        found
    }

    pub fn time_out(&self, rule: String) {
        if let Ok(mut timed_out) = self.timed_out.lock() {
            timed_out.insert(rule);
        }
    }
}

/// What a check produced. Documents are not kept: once a file is checked,
/// only its diagnostics (which hold the text of files with findings) and its
/// small entry for the cross-file rules remain, so memory grows with those
/// rather than with the bytes of every file.
pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
    pub stats: Stats,
    /// What the baseline hid, when the checker has one.
    pub baseline: Option<baseline::Applied>,
    /// The budget was cancelled: the run stopped early and reports nothing;
    /// the verdicts of the files it evaluated are cached.
    pub interrupted: bool,
}

/// How much of a check was done again, and how much came from the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Files of the workset.
    pub files: usize,
    /// Files whose per-document rules ran in this check.
    pub evaluated: usize,
    /// Whether the cross-file rules ran in this check.
    pub cross_file: bool,
}

/// A source of file text that knows one file.
fn only<'a>(shown: &'a str, file: &'a SourceFile) -> impl Fn(&str) -> Option<SourceFile> + 'a {
    move |path| (path == shown).then(|| file.clone())
}

/// One file's part of a check.
struct Checked {
    diagnostics: Vec<Diagnostic>,
    /// Its entry for the cross-file rules, when it was checked this time.
    entry: Option<policy::Facts>,
    /// The hash of its facts for the cross-file rules, when it loaded.
    loaded: Option<String>,
    /// What the cache holds for it now; None when its result cannot be stored.
    stored: Option<Arc<cache::FileEntry>>,
    /// Its per-document rules ran.
    evaluated: bool,
    /// Reused without reading the file.
    hit: bool,
    /// The text of each secret in a context file (whose rules do not run),
    /// masked wherever a reported finding shows or quotes it.
    secrets: Vec<String>,
}

impl Checked {
    /// Nothing known of the file (yet).
    fn failed_quietly() -> Self {
        Self {
            diagnostics: Vec::new(),
            entry: None,
            loaded: None,
            stored: None,
            evaluated: false,
            hit: false,
            secrets: Vec::new(),
        }
    }

    /// A stored verdict reused as it is (`hit`: without reading the file).
    fn reused(entry: Arc<cache::FileEntry>, diagnostics: Vec<Diagnostic>, hit: bool) -> Self {
        Self {
            diagnostics,
            entry: None,
            loaded: entry.facts.clone(),
            stored: Some(entry),
            evaluated: false,
            hit,
            secrets: Vec::new(),
        }
    }

    fn failed(diagnostic: Diagnostic) -> Self {
        Self {
            diagnostics: vec![diagnostic],
            entry: None,
            loaded: None,
            stored: None,
            evaluated: false,
            hit: false,
            secrets: Vec::new(),
        }
    }
}

/// A rule over a plan that check cannot express itself, given by a later
/// stage (apply's "can Temporal hold this as written"), so that check and
/// the gate report the same findings without check depending on apply.
pub type PlanRule = fn(&Document) -> Vec<Diagnostic>;

impl Checker {
    pub fn new(settings: Settings) -> Result<Self, PolicyError> {
        let now = policy::fixed_now()?;
        let policies = Policies::load(&settings)?;
        Ok(Self {
            settings,
            schemas: Schemas::builtin(),
            policies,
            now,
            plan_rule: None,
            baseline: None,
        })
    }

    /// Hide the findings `baseline` holds.
    pub fn with_baseline(mut self, baseline: Option<baseline::Baseline>) -> Self {
        self.baseline = baseline;
        self
    }

    /// Run `rule` on every plan that has no schema error.
    pub fn with_plan_rule(mut self, rule: PlanRule) -> Self {
        self.plan_rule = Some(rule);
        self
    }

    /// The instant policies see as `time.now_ns()`: one per check, so every
    /// document of a run is judged at the same time.
    fn now_ns(&self) -> i64 {
        self.now.unwrap_or_else(|| {
            chrono::Utc::now()
                .timestamp_nanos_opt()
                .expect("the clock reads a time between 1677 and 2262")
        })
    }

    /// What identifies this configuration in the cache: planguard's version,
    /// the policies and data, and the settings.
    pub fn cache_key(&self) -> String {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update([0]);
        // The build too, not only the version: a rebuilt planguard (a
        // development build, a patched release) may judge differently.
        if let Some(built) = std::env::current_exe()
            .and_then(std::fs::metadata)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
        {
            hasher.update(format!("{built:?}").as_bytes());
        }
        hasher.update([0]);
        hasher.update(self.policies.fingerprint.as_bytes());
        hasher.update([0]);
        hasher.update(self.settings.to_json().to_string().as_bytes());
        hasher.update([u8::from(self.plan_rule.is_some())]);
        cache::hex(&hasher.finalize())
    }

    /// Check a workset: every file (memoised by content when `cache` is
    /// given), then the cross-file rules over all of them (again only when
    /// some file's facts changed), then secrets masked, failures coalesced,
    /// severity overrides and ignores applied, and only the findings about
    /// the reported files (and the policies) kept. The command line, the
    /// gate, the language server and `planguard test` all come here.
    pub fn run(&self, work: &Workset, cache: Option<&Cache>, budget: &Budget) -> Outcome {
        let inputs: Vec<&Input> = work.report.iter().chain(&work.context).collect();
        let index = cache.map(Cache::load).unwrap_or_default();
        let max_size = self.settings.max_file_size;
        let now_ns = self.now_ns();
        let mut per_file: Vec<Checked> = inputs
            .par_iter()
            .enumerate()
            .map(|(i, input)| {
                if budget.cancelled() {
                    return Checked::failed_quietly();
                }
                let cache = cache.map(|c| (c, &*index));
                if i < work.report.len() {
                    self.check_input(input, cache, now_ns, budget)
                } else {
                    self.context_input(input, cache, budget)
                }
            })
            .collect();
        let context_secrets: Vec<String> = per_file
            .iter()
            .flat_map(|f| f.secrets.iter().cloned())
            .collect();

        let mut stats = Stats {
            files: inputs.len(),
            evaluated: per_file.iter().filter(|f| f.evaluated).count(),
            cross_file: false,
        };
        // Checked again at the last point before the cross-file rules. The
        // files evaluated before the stop keep their new verdicts, the files
        // skipped their old ones, so that the next run does not evaluate
        // them again; the cross-file verdict is left as it was.
        if budget.cancelled() {
            if let Some(cache) = cache.filter(|_| per_file.iter().any(|f| f.evaluated)) {
                let files = inputs
                    .iter()
                    .zip(&per_file)
                    .filter_map(|(input, file)| {
                        let shown = input.shown();
                        let entry = file
                            .stored
                            .clone()
                            .or_else(|| index.files.get(&shown).cloned())?;
                        Some((shown, entry))
                    })
                    .collect();
                cache.save(cache::Index {
                    files,
                    project: index.project.clone(),
                    ..Default::default()
                });
            }
            return Outcome {
                diagnostics: Vec::new(),
                stats,
                baseline: None,
                interrupted: true,
            };
        }
        let mut reported = self.policies.diagnostics.clone();
        let mut background = Vec::new();
        let mut changed = false;
        let mut project_key = <sha2::Sha256 as sha2::Digest>::new();
        let mut complete = true;
        for (i, (input, file)) in inputs.iter().zip(&per_file).enumerate() {
            if i < work.report.len() {
                reported.extend(file.diagnostics.iter().cloned());
            } else {
                background.extend(file.diagnostics.iter().cloned());
            }
            changed |= !file.hit;
            match &file.loaded {
                Some(key) => sha2::Digest::update(&mut project_key, key.as_bytes()),
                // Unreadable: nothing to say about its facts next time.
                None if file.diagnostics.is_empty() => complete = false,
                None => {}
            }
            // A document only this run has (the gate's) is no file's
            // verdict to keep, nor is the cross-file one that saw it.
            if file.stored.is_none() && matches!(input, Input::Loaded(_)) {
                complete = false;
            }
        }
        let project_key = cache::hex(&sha2::Digest::finalize(project_key));
        let by_path: HashMap<String, &Input> = inputs.iter().map(|i| (i.shown(), *i)).collect();
        let source = |path: &str| by_path.get(path)?.read(max_size).ok();

        // The cross-file rules again only when some file's facts may differ.
        let text_digest =
            |path: &str| Some(crate::digest::sha256_hex(source(path)?.text().as_bytes()));
        let reused = index
            .project
            .as_ref()
            .filter(|p| cache.is_some() && complete && p.key == project_key)
            .filter(|p| {
                p.texts
                    .iter()
                    .all(|(path, digest)| text_digest(path).as_ref() == Some(digest))
            })
            .and_then(|p| cache::restore(&p.diagnostics, source));
        let mut project_reads = functions::Reads::default();
        let mut partial_project = false;
        let project = match reused {
            Some(found) => found,
            None => {
                // Files named one by one: only the facts their findings
                // depend on are read (the rest is context, whose findings
                // are not reported); such a verdict is not the workspace's
                // to keep.
                let named: Option<std::collections::HashSet<String>> = (!work.context.is_empty()
                    && self.policies.can_leave_out_facts())
                .then(|| work.report.iter().map(Input::shown).collect());
                let load = |input: &Input, file: &Checked| -> Option<policy::Facts> {
                    file.entry.clone().or_else(|| {
                        let loaded = file.loaded.as_ref()?;
                        let at = file.stored.as_ref().and_then(|s| s.at.as_ref());
                        cache.and_then(|c| c.load_facts(loaded, at)).or_else(|| {
                            let file = input.read(max_size).ok()?;
                            let (document, _) = load::parse(file, input.candidate()?);
                            Some(self.policies.project_facts(&document?))
                        })
                    })
                };
                let needed: Vec<bool> = match &named {
                    None => vec![true; inputs.len()],
                    Some(named) => {
                        // What tells whether a file's facts are needed: the
                        // summary its cache entry keeps, else its facts.
                        let known = |file: &Checked| {
                            file.stored.as_ref().is_some_and(|s| s.summary.is_some())
                        };
                        // Made only for the files the cache has none for.
                        let made: Vec<Option<Value>> = inputs
                            .par_iter()
                            .zip(&per_file)
                            .map(|(input, file)| {
                                if known(file) {
                                    return None;
                                }
                                let entry = load(input, file)?.value()?;
                                Some(relevant::summary(&entry))
                            })
                            .collect();
                        let summaries: Vec<Option<&Value>> = per_file
                            .iter()
                            .zip(&made)
                            .map(|(file, made)| match known(file) {
                                true => file.stored.as_ref().and_then(|s| s.summary.as_ref()),
                                false => made.as_ref(),
                            })
                            .collect();
                        let needed = self.policies.needed_facts(&summaries, named);
                        partial_project |= needed.iter().any(|n| !n);
                        needed
                    }
                };
                // Moved, not copied: at 60,000 files one more copy of every
                // file's facts is a tenth of the check's memory.
                let entries: Vec<policy::Facts> = inputs
                    .par_iter()
                    .zip(per_file.par_iter_mut())
                    .zip(&needed)
                    .filter(|(_, needed)| **needed)
                    .filter_map(|((input, file), _)| {
                        file.entry.take().or_else(|| load(input, file))
                    })
                    .collect();
                let (found, reads) = self.policies.check_project(entries, source, now_ns, budget);
                project_reads = reads;
                // A verdict about some named files only is not kept: the
                // index is written again only when a file changed.
                changed |= !partial_project;
                stats.cross_file = true;
                found
            }
        };
        // A context file a reported finding shows (a config beside a named
        // plan) is checked in full, so that its secrets are masked where
        // they are shown.
        let context_paths: std::collections::HashSet<String> =
            work.context.iter().map(Input::shown).collect();
        let shown: BTreeSet<String> = reported
            .iter()
            .chain(
                project
                    .iter()
                    .filter(|d| d.path().is_none_or(|p| !context_paths.contains(&p))),
            )
            .flat_map(|d| {
                d.location
                    .iter()
                    .chain(d.related.iter().map(|r| &r.location))
                    .map(|l| l.file.display_path())
            })
            .filter(|p| context_paths.contains(p))
            .collect();
        let shown_context: Vec<Checked> = work
            .context
            .par_iter()
            .filter(|input| shown.contains(&input.shown()))
            .map(|input| self.check_input(input, cache.map(|c| (c, &*index)), now_ns, budget))
            .collect();
        for file in shown_context {
            stats.evaluated += usize::from(file.evaluated);
            background.extend(file.diagnostics);
        }
        if let Some(cache) = cache.filter(|_| changed) {
            // A cross-file verdict that read files or the clock is not kept.
            let stored_project = (complete
                && !partial_project
                && project_reads.is_empty()
                && !self.policies.volatile)
                .then(|| cache::store(&project, |p| by_path.contains_key(p)))
                .flatten()
                .and_then(|diagnostics| {
                    let texts = cache::files_named(&diagnostics)
                        .into_iter()
                        .map(|path| Some((path.clone(), text_digest(&path)?)))
                        .collect::<Option<_>>()?;
                    Some(cache::ProjectEntry {
                        key: project_key,
                        diagnostics,
                        texts,
                    })
                });
            // Each file's verdict, gathered only when it is written; taken,
            // so that the cache can place each one's facts without a copy.
            let mut files: HashMap<String, Arc<cache::FileEntry>> = inputs
                .iter()
                .zip(per_file.iter_mut())
                .filter_map(|(input, file)| Some((input.shown(), file.stored.take()?)))
                .collect();
            // The files this run did not look at (other workspaces than a
            // hook's file) keep their entries while they are there, so that
            // a check of a few files leaves the next whole check warm.
            // Entries are keyed by content: a file changed since is a miss.
            for (path, entry) in &index.files {
                if !by_path.contains_key(path) && Path::new(path).is_file() {
                    files.entry(path.clone()).or_insert_with(|| entry.clone());
                }
            }
            cache.save(cache::Index {
                files,
                project: stored_project,
                ..Default::default()
            });
        }
        let diagnostics = self.reported_findings(
            reported,
            project,
            background,
            &context_secrets,
            &work.context,
        );
        let (diagnostics, baseline) = match &self.baseline {
            Some(baseline) => {
                let checked: Vec<&Path> = work.report.iter().map(Input::path).collect();
                let (kept, applied) = baseline.apply(diagnostics, &checked);
                (kept, Some(applied))
            }
            None => (diagnostics, None),
        };
        Outcome {
            diagnostics,
            stats,
            baseline,
            interrupted: false,
        }
    }

    /// The findings to report: `reported` and the cross-file ones not
    /// located in a context file; masked with what every finding
    /// (`background` ones, about the context, included) knows of secrets;
    /// failures coalesced; severity overrides and ignores applied.
    fn reported_findings(
        &self,
        mut reported: Vec<Diagnostic>,
        project: Vec<Diagnostic>,
        mut background: Vec<Diagnostic>,
        secrets: &[String],
        context: &[Input],
    ) -> Vec<Diagnostic> {
        let context_paths: std::collections::HashSet<String> =
            context.iter().map(Input::shown).collect();
        let (about_context, project): (Vec<_>, Vec<_>) = project
            .into_iter()
            .partition(|d| d.path().is_some_and(|p| context_paths.contains(&p)));
        reported.extend(project);
        background.extend(about_context);
        let count = reported.len();
        reported.extend(background);
        let mut all = redact_with(reported, secrets);
        all.truncate(count);
        let settings = &self.settings;
        let all = suppress::apply(
            policy::coalesce_failures(all),
            |id| {
                let default = crate::rules::by_code(id).map_or(Severity::Error, |r| r.severity);
                settings.severity_for(id, default).is_some()
            },
            |id| crate::rules::by_code(id).is_some() || !settings.policy.paths.is_empty(),
        );
        one_problem_one_finding(self.settle(all))
    }

    /// One file: its stored verdict when the cache holds one for this
    /// content (or, on disk, this size and modification time), else read,
    /// parsed and checked, and stored when it may be.
    fn check_input(
        &self,
        input: &Input,
        cache: Option<(&Cache, &cache::Index)>,
        now_ns: i64,
        budget: &Budget,
    ) -> Checked {
        let max_size = self.settings.max_file_size;
        let candidate = match input {
            Input::Disk(candidate) | Input::Buffer(candidate, _) => candidate,
            Input::Loaded(document) => {
                let (diagnostics, _) = self.check_document(document, now_ns, budget);
                return Checked {
                    diagnostics,
                    loaded: None,
                    entry: Some(self.policies.project_facts(document)),
                    stored: None,
                    evaluated: true,
                    hit: false,
                    secrets: Vec::new(),
                };
            }
        };
        let Some((cache, index)) = cache else {
            let loaded = budget
                .time(READ, || input.read(max_size))
                .map(|file| budget.time(PARSE, || load::parse(file, candidate)));
            let (document, mut diagnostics) = match loaded {
                Ok(loaded) => loaded,
                Err(diagnostic) => return Checked::failed(*diagnostic),
            };
            let entry = document.map(|document| {
                diagnostics.extend(self.check_document(&document, now_ns, budget).0);
                self.policies.project_facts(&document)
            });
            return Checked {
                diagnostics,
                loaded: None,
                evaluated: entry.is_some(),
                entry,
                stored: None,
                hit: false,
                secrets: Vec::new(),
            };
        };
        let shown = input.shown();
        // A stored verdict holds while the files the policies read are as
        // they were, and, for one judged by the date, on that day.
        let today = now_ns.div_euclid(86_400 * 1_000_000_000);
        let sandbox = || self.policies.sandbox(candidate.workspace.as_deref());
        let previous = index.files.get(&shown).filter(|p| {
            !p.facts_only
                && p.day.is_none_or(|day| day == today)
                && (p.reads.is_empty() || p.reads.unchanged(&sandbox()))
        });
        // A buffer has no size and time of its own: only its content counts.
        let stamp = match input {
            Input::Disk(_) => cache::stamp(&candidate.path),
            _ => None,
        };
        let shown = shown.as_str();
        // Unchanged size and modification time: trust the stored result.
        if let (Some(previous), Some((len, modified))) = (previous, stamp)
            && previous.len == len
            && previous.modified == modified
        {
            let restored = if previous.diagnostics.is_empty() {
                Some(Vec::new())
            } else {
                input
                    .read(max_size)
                    .ok()
                    .and_then(|file| cache::restore(&previous.diagnostics, only(shown, &file)))
            };
            if let Some(diagnostics) = restored {
                return Checked::reused(Arc::clone(previous), diagnostics, true);
            }
        }
        let file = match budget.time(READ, || input.read(max_size)) {
            Ok(file) => file,
            Err(diagnostic) => return Checked::failed(*diagnostic),
        };
        let key = cache.key(&input.context().unwrap_or_default(), file.text().as_bytes());
        let (len, modified) = stamp.unwrap_or_default();
        if let Some(previous) = previous.filter(|p| p.key == key)
            && let Some(diagnostics) = cache::restore(&previous.diagnostics, only(shown, &file))
        {
            let mut stored = cache::FileEntry::clone(previous);
            (stored.len, stored.modified) = (len, modified);
            return Checked::reused(Arc::new(stored), diagnostics, false);
        }
        let (document, mut diagnostics) =
            budget.time(PARSE, || load::parse(file.clone(), candidate));
        let mut reads = functions::Reads::default();
        let entry = document.map(|document| {
            let (found, read) = self.check_document(&document, now_ns, budget);
            diagnostics.extend(found);
            reads = read;
            self.policies.project_entry(&document)
        });
        // Facts are kept only with a result that may be stored (not one
        // about a secret, nor one of a policy that reads the clock at will);
        // their hash keys the cross-file rules either way.
        let stored = cache::store(&diagnostics, |p| p == shown).filter(|_| !self.policies.volatile);
        let facts = entry.as_ref().map(policy::Facts::of);
        let loaded = match (&facts, &stored) {
            (Some(facts), Some(_)) => cache.save_facts(facts),
            (Some(facts), None) => Some(facts.hash()),
            (None, _) => None,
        };
        let evaluated = entry.is_some();
        // Facts an edit left alone stay where they were packed.
        let at = index
            .files
            .get(shown)
            .filter(|p| p.facts.is_some() && p.facts == loaded)
            .and_then(|p| p.at.clone());
        let stored = stored.map(|stored| {
            Arc::new(cache::FileEntry {
                key,
                len,
                modified,
                diagnostics: stored,
                facts: loaded.clone(),
                at,
                day: reads.dated().then_some(today),
                facts_only: false,
                summary: entry.as_ref().map(relevant::summary),
                reads,
            })
        });
        Checked {
            diagnostics,
            entry: facts,
            loaded,
            stored,
            evaluated,
            hit: false,
            secrets: Vec::new(),
        }
    }

    /// A context file: only its facts for the cross-file rules (its rules do
    /// not run), from the cache when it holds them for this content (or, on
    /// disk, this size and modification time), and the text of any secret
    /// in it, to mask. A file with a secret is never stored.
    fn context_input(
        &self,
        input: &Input,
        cache: Option<(&Cache, &cache::Index)>,
        budget: &Budget,
    ) -> Checked {
        let max_size = self.settings.max_file_size;
        let Some(candidate) = input.candidate() else {
            // The gate's own document is never context; check it in full.
            return self.check_input(input, None, self.now_ns(), budget);
        };
        let shown = input.shown();
        let previous = cache
            .and_then(|(_, index)| index.files.get(&shown))
            .filter(|p| p.facts.is_some());
        let stamp = match input {
            Input::Disk(_) => cache::stamp(&candidate.path),
            _ => None,
        };
        if let (Some(previous), Some((len, modified))) = (previous, stamp)
            && previous.len == len
            && previous.modified == modified
        {
            return Checked::reused(Arc::clone(previous), Vec::new(), true);
        }
        let file = match budget.time(READ, || input.read(max_size)) {
            Ok(file) => file,
            Err(diagnostic) => return Checked::failed(*diagnostic),
        };
        let key = cache.map(|(cache, _)| {
            cache.key(&input.context().unwrap_or_default(), file.text().as_bytes())
        });
        let (len, modified) = stamp.unwrap_or_default();
        if let Some(previous) = previous.filter(|p| key.as_ref() == Some(&p.key)) {
            let mut stored = cache::FileEntry::clone(previous);
            (stored.len, stored.modified) = (len, modified);
            return Checked::reused(Arc::new(stored), Vec::new(), false);
        }
        let (document, diagnostics) = budget.time(PARSE, || load::parse(file, candidate));
        let Some(document) = document else {
            return Checked {
                diagnostics,
                ..Checked::failed_quietly()
            };
        };
        let entry = budget.time("cross-file facts", || {
            self.policies.project_entry(&document)
        });
        let secrets = budget.time("secrets in context files", || secret_texts(&document));
        let facts = policy::Facts::of(&entry);
        let loaded = match cache {
            Some((cache, _)) if secrets.is_empty() => cache.save_facts(&facts),
            _ => None,
        };
        let at = previous
            .filter(|p| loaded.is_some() && p.facts == loaded)
            .and_then(|p| p.at.clone());
        let stored = key.filter(|_| loaded.is_some()).map(|key| {
            Arc::new(cache::FileEntry {
                key,
                len,
                modified,
                diagnostics: Vec::new(),
                facts: loaded.clone(),
                at,
                reads: functions::Reads::default(),
                day: None,
                facts_only: true,
                summary: Some(relevant::summary(&entry)),
            })
        });
        Checked {
            diagnostics,
            loaded: loaded.or_else(|| cache.map(|_| facts.hash())),
            entry: Some(facts),
            stored,
            evaluated: false,
            hit: false,
            secrets,
        }
    }

    /// Schema and per-document policies for one loaded document, judged at
    /// `now_ns`; with what the policies' file functions returned.
    fn check_document(
        &self,
        document: &Document,
        now_ns: i64,
        budget: &Budget,
    ) -> (Vec<Diagnostic>, functions::Reads) {
        let mut diagnostics = budget.time("schema", || self.schemas.check(document));
        let planned = match self.plan_rule {
            Some(rule)
                if document.kind == Some(crate::discover::Kind::Plan) && diagnostics.is_empty() =>
            {
                budget.time("plan rule (PG305)", || rule(document))
            }
            _ => Vec::new(),
        };
        let (found, reads) = self.policies.check_document(document, now_ns, budget);
        // One problem, one finding: where a policy already reports an error
        // at the very field (PG115 on a cron Temporal would refuse too), the
        // plan rule adds nothing.
        fn pointer(d: &Diagnostic) -> Option<&str> {
            d.location.as_ref().and_then(|l| l.pointer.as_deref())
        }
        diagnostics.extend(planned.into_iter().filter(|d| {
            pointer(d).is_none_or(|p| {
                !found.iter().any(|f| {
                    f.severity == crate::diagnostic::Severity::Error && pointer(f) == Some(p)
                })
            })
        }));
        diagnostics.extend(found);
        (diagnostics, reads)
    }

    /// Severity overrides and ignores.
    pub(crate) fn settle(&self, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        diagnostics
            .into_iter()
            .filter_map(|mut d| {
                d.severity = self.settings.severity_for(d.rule.as_str(), d.severity)?;
                let ignored = d
                    .location
                    .as_ref()
                    .is_some_and(|l| self.settings.is_ignored(d.rule.as_str(), l.file.path()));
                (!ignored).then_some(d)
            })
            .collect()
    }
}

/// A cross-file finding (a plan that differs from its config) about a
/// value a per-file rule already reports (the namespace that is not the
/// environment's, the `latest` tag, a string where the schema wants a
/// number) is the same problem seen twice: it becomes related information
/// of the per-file finding. So is one about a field that is missing from an
/// object where the schema reports an unknown property (a misspelt key).
fn one_problem_one_finding(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let cross_file = |d: &Diagnostic| {
        d.rule
            .builtin()
            .is_some_and(|r| r.origin == crate::rules::Origin::Project)
    };
    let place = |d: &Diagnostic| {
        let location = d.location.as_ref()?;
        Some((location.file.display_path(), location.pointer.clone()?))
    };
    let (cross, mut kept): (Vec<Diagnostic>, Vec<Diagnostic>) =
        diagnostics.into_iter().partition(cross_file);
    // The per-file findings by (file, pointer), and the unknown properties
    // by (file, the object they are in).
    let mut at_value: HashMap<(String, String), usize> = HashMap::new();
    let mut in_object: HashMap<(String, String), usize> = HashMap::new();
    for (i, e) in kept.iter().enumerate() {
        let Some((file, pointer)) = place(e) else {
            continue;
        };
        if e.rule.builtin() == Some(&crate::rules::SCHEMA)
            && e.message.starts_with(schema::UNKNOWN_PROPERTY)
            && let Some((object, _)) = pointer.rsplit_once('/')
        {
            in_object
                .entry((file.clone(), object.to_string()))
                .or_insert(i);
        }
        at_value.entry((file, pointer)).or_insert(i);
    }
    // The same value: a scalar both locate (an object or array they share
    // is only where each placed a finding about something missing).
    let scalar = |d: &Diagnostic, pointer: &str| {
        d.location.as_ref().is_some_and(|l| {
            let text = l.file.text();
            load::spans::locate(text, pointer)
                .is_some_and(|at| !matches!(text.as_bytes().get(at.value.start), Some(b'{' | b'[')))
        })
    };
    for d in cross {
        let Some(key) = place(&d) else {
            kept.push(d);
            continue;
        };
        let joins = at_value
            .get(&key)
            .filter(|_| scalar(&d, &key.1))
            .or_else(|| in_object.get(&key))
            .copied();
        let Some(i) = joins else {
            kept.push(d);
            continue;
        };
        let e = &mut kept[i];
        if let Some(location) = d.location.clone() {
            e.related.push(crate::diagnostic::Related {
                location,
                message: format!("also {}: {}", d.rule.as_str(), d.message),
            });
        }
        e.related.extend(d.related);
        // The one finding offers the fix either had.
        if e.fix.is_none() {
            e.fix = d.fix;
        }
    }
    kept
}

/// The text of every secret in a document, as the secret rule finds them.
fn secret_texts(document: &Document) -> Vec<String> {
    let value = regorus::Value::from(document.value.clone());
    secrets::scan(&value)
        .into_iter()
        .filter_map(|found| {
            let mut at = &document.value;
            for step in &found.path {
                at = match step {
                    secrets::PathItem::Key(key) => at.get(key)?,
                    secrets::PathItem::Index(i) => at.get(i)?,
                };
            }
            let text: String = at
                .as_str()?
                .chars()
                .skip(found.start)
                .take(found.end.saturating_sub(found.start))
                .collect();
            (!text.is_empty()).then_some(text)
        })
        .collect()
}

/// The profile's names for reading a file and parsing it.
const READ: &str = "read";
const PARSE: &str = "parse";

/// Replace each file that holds a located secret with a copy where every such
/// secret is masked, in every diagnostic and related location, so that no
/// renderer can show one (a snippet of another finding on the same line
/// included).
pub fn redact(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    redact_with(diagnostics, &[])
}

/// [`redact`], with the text of secrets found where no rule located them
/// (context files) masked too, in every file shown and every message.
fn redact_with(mut diagnostics: Vec<Diagnostic>, known: &[String]) -> Vec<Diagnostic> {
    use std::collections::HashMap;
    let mut secrets: HashMap<
        std::path::PathBuf,
        (crate::source::SourceFile, Vec<crate::source::Span>),
    > = HashMap::new();
    for d in diagnostics.iter().filter(|d| d.sensitive) {
        if let Some(location) = &d.location {
            secrets
                .entry(location.file.path().to_path_buf())
                .or_insert_with(|| (location.file.clone(), Vec::new()))
                .1
                .push(location.span.clone());
        }
    }
    // Every file a finding shows is masked: where a secret rule located a
    // secret, every occurrence of its text; and whatever looks like a secret
    // to the text-level patterns (files that did not parse, values no rule
    // reached).
    let mut shown: HashMap<std::path::PathBuf, crate::source::SourceFile> = HashMap::new();
    for d in &diagnostics {
        for location in d
            .location
            .iter()
            .chain(d.related.iter().map(|r| &r.location))
        {
            shown
                .entry(location.file.path().to_path_buf())
                .or_insert_with(|| location.file.clone());
        }
    }
    let redacted: HashMap<_, _> = shown
        .into_iter()
        .filter_map(|(path, file)| {
            let mut all = mask::likely_secrets(file.text());
            for span in secrets
                .get(&path)
                .map(|(_, s)| s.as_slice())
                .unwrap_or_default()
            {
                let secret = file.text().get(span.clone()).unwrap_or_default();
                if secret.is_empty() {
                    continue;
                }
                all.extend(
                    file.text()
                        .match_indices(secret)
                        .map(|(i, _)| i..i + secret.len()),
                );
            }
            for secret in known {
                all.extend(
                    file.text()
                        .match_indices(secret.as_str())
                        .map(|(i, _)| i..i + secret.len()),
                );
            }
            (!all.is_empty()).then(|| (path, file.redacted(&all)))
        })
        .collect();
    // A message may quote a document's value (a policy's sprintf, an engine
    // error): the secrets' text goes from every message too.
    let mut texts: Vec<String> = redacted_texts(&diagnostics);
    texts.extend(known.iter().filter(|t| !t.is_empty()).cloned());
    texts.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    texts.dedup();
    let swap = |location: &mut crate::diagnostic::Location| {
        if let Some(file) = redacted.get(location.file.path()) {
            location.file = file.clone();
        }
    };
    for d in &mut diagnostics {
        for text in &texts {
            if d.message.contains(text.as_str()) {
                d.message = d.message.replace(text.as_str(), &mask(text));
            }
            for related in &mut d.related {
                if related.message.contains(text.as_str()) {
                    related.message = related.message.replace(text.as_str(), &mask(text));
                }
            }
        }
        if let Some(location) = &mut d.location {
            swap(location);
        }
        for related in &mut d.related {
            swap(&mut related.location);
        }
    }
    diagnostics
}

/// The text of every located secret, longest first (so that a secret holding
/// another is masked whole).
fn redacted_texts(diagnostics: &[Diagnostic]) -> Vec<String> {
    let mut texts: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.sensitive)
        .filter_map(|d| {
            let location = d.location.as_ref()?;
            let text = location.file.text().get(location.span.clone())?;
            (!text.is_empty()).then(|| text.to_string())
        })
        .collect();
    texts.sort_by_key(|t| std::cmp::Reverse(t.len()));
    texts.dedup();
    texts
}

fn mask(text: &str) -> String {
    "*".repeat(text.chars().count().min(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace with one user policy: `deny` loops for a long time on a
    /// document with `"slow": true`, and reports `"named"` on any other.
    fn slow_policy_workspace() -> (tempfile::TempDir, Checker) {
        let dir = tempfile::tempdir().expect("temp dir");
        let policy = dir.path().join("policy");
        std::fs::create_dir_all(&policy).expect("mkdir");
        std::fs::write(
            policy.join("slow.rego"),
            "package main\n\nimport rego.v1\n\n\
             deny contains \"never\" if {\n  input.slow == true\n  \
             some i in numbers.range(1, 100000)\n  some j in numbers.range(1, 100000)\n  i + j < 0\n}\n\n\
             deny contains \"named\" if input.slow == false\n",
        )
        .expect("write policy");
        let settings = Settings::from_text(
            dir.path().to_path_buf(),
            "planguard.toml",
            format!(
                "[policy]\nbuiltin = false\ntimeout = \"200ms\"\npaths = [{:?}]\n",
                policy.display().to_string()
            ),
        )
        .expect("valid settings");
        let checker = Checker::new(settings).expect("policies load");
        (dir, checker)
    }

    fn config(dir: &Path, name: &str, slow: bool) -> Input {
        let path = dir.join("conf").join(name);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        std::fs::write(&path, format!("{{\"slow\": {slow}}}\n")).expect("write config");
        Input::Disk(Candidate {
            path,
            kind: Some(crate::discover::Kind::Config),
            workspace: Some(dir.display().to_string()),
            env: Some(name.trim_end_matches(".json").to_string()),
            build: None,
            explicit: true,
        })
    }

    /// The policy's findings and failures (the schema's are beside the point).
    fn messages(outcome: &Outcome) -> Vec<String> {
        outcome
            .diagnostics
            .iter()
            .filter(|d| d.rule != "PG010")
            .map(|d| format!("{}: {}", d.rule, d.message))
            .collect()
    }

    /// Regression: a rule that exceeded the time limit once stayed disabled
    /// for the checker's lifetime, so the language server never ran it
    /// again in that session.
    #[test]
    fn a_timed_out_rule_is_skipped_for_the_rest_of_the_run_only() {
        let (dir, checker) = slow_policy_workspace();
        let slow = Workset {
            report: vec![config(dir.path(), "dev.json", true)],
            context: Vec::new(),
        };
        let first = checker.run(&slow, None, &Budget::default());
        let said = messages(&first);
        assert!(
            said.iter()
                .any(|m| m.contains("exceeded the policy time limit")),
            "{said:?}"
        );
        // Within that run, the other file does not wait again.
        let both = Workset {
            report: vec![
                config(dir.path(), "dev.json", true),
                config(dir.path(), "prd.json", false),
            ],
            context: Vec::new(),
        };
        let budget = Budget::default();
        budget.time_out("main.deny".to_string());
        let said = messages(&checker.run(&both, None, &budget));
        assert!(
            said.iter()
                .any(|m| m.contains("not run: it exceeded the policy time limit")),
            "{said:?}"
        );
        // The next run (an edit in the editor) runs the rule again.
        let fixed = Workset {
            report: vec![config(dir.path(), "prd.json", false)],
            context: Vec::new(),
        };
        let said = messages(&checker.run(&fixed, None, &Budget::default()));
        assert_eq!(said, ["main.deny: named"]);
    }

    /// An editor buffer is checked in place of the file on disk, and a
    /// document already loaded as given.
    #[test]
    fn buffers_and_loaded_documents_stand_for_their_files() {
        let (dir, checker) = slow_policy_workspace();
        let Input::Disk(candidate) = config(dir.path(), "prd.json", true) else {
            unreachable!("config() gives a file on disk")
        };
        let buffer = SourceFile::new(&candidate.path, "{\"slow\": false}\n".to_string());
        let work = Workset {
            report: vec![Input::Buffer(candidate.clone(), buffer.clone())],
            context: Vec::new(),
        };
        let cache = Cache::in_memory(checker.cache_key());
        for _ in 0..2 {
            let outcome = checker.run(&work, Some(&cache), &Budget::default());
            assert_eq!(messages(&outcome), ["main.deny: named"]);
        }
        let (document, _) = load::parse(buffer, &candidate);
        let work = Workset {
            report: vec![Input::Loaded(document.expect("parses"))],
            context: Vec::new(),
        };
        let outcome = checker.run(&work, None, &Budget::default());
        assert_eq!(messages(&outcome), ["main.deny: named"]);
    }

    /// With a cache, a second run over unchanged files evaluates nothing
    /// and reuses the cross-file verdict; an edit re-evaluates that file.
    #[test]
    fn a_cached_run_evaluates_only_what_changed() {
        let (dir, checker) = slow_policy_workspace();
        let files = || Workset {
            report: ["a.json", "b.json", "c.json"]
                .into_iter()
                .map(|name| config(dir.path(), name, false))
                .collect(),
            context: Vec::new(),
        };
        let cache = Cache::in_memory(checker.cache_key());
        let first = checker.run(&files(), Some(&cache), &Budget::default());
        assert_eq!(
            first.stats,
            Stats {
                files: 3,
                evaluated: 3,
                cross_file: true
            }
        );
        // config() rewrites the files: same bytes, a new modification time.
        let again = checker.run(&files(), Some(&cache), &Budget::default());
        assert_eq!(again.stats.evaluated, 0, "{:?}", again.stats);
        assert!(!again.stats.cross_file);
        assert_eq!(messages(&again), messages(&first));
        let Input::Disk(edited) = config(dir.path(), "b.json", false) else {
            unreachable!("config() gives a file on disk")
        };
        let mut work = files();
        work.report[1] = Input::Buffer(
            edited.clone(),
            SourceFile::new(&edited.path, "{\"slow\": false, \"x\": 1}\n".to_string()),
        );
        let edit = checker.run(&work, Some(&cache), &Budget::default());
        assert_eq!(edit.stats.evaluated, 1, "{:?}", edit.stats);
    }

    /// A check of some files keeps the entries of the files it did not look
    /// at (a hook's file in one workspace, the others untouched), so that
    /// the next whole check stays warm; a file gone since is dropped.
    #[test]
    fn a_check_of_some_files_keeps_the_other_files_entries() {
        let (dir, checker) = slow_policy_workspace();
        let cache = Cache::in_memory(checker.cache_key());
        let work = |names: &[&str]| Workset {
            report: names
                .iter()
                .map(|name| config(dir.path(), name, false))
                .collect(),
            context: Vec::new(),
        };
        let first = checker.run(
            &work(&["a.json", "b.json", "c.json"]),
            Some(&cache),
            &Budget::default(),
        );
        assert_eq!(first.stats.evaluated, 3, "{:?}", first.stats);
        std::fs::remove_file(dir.path().join("conf/c.json")).expect("remove");
        // b.json edited, then checked alone: its entry is written again.
        let Input::Disk(edited) = config(dir.path(), "b.json", false) else {
            unreachable!("config() gives a file on disk")
        };
        std::fs::write(&edited.path, "{\"slow\": false, \"x\": 1}\n").expect("edit");
        let alone = Workset {
            report: vec![Input::Disk(edited)],
            context: Vec::new(),
        };
        let one = checker.run(&alone, Some(&cache), &Budget::default());
        assert_eq!(one.stats.evaluated, 1, "{:?}", one.stats);
        let kept: Vec<String> = {
            let mut kept: Vec<String> = cache
                .load()
                .files
                .keys()
                .map(|k| k.rsplit('/').next().unwrap_or_default().to_string())
                .collect();
            kept.sort();
            kept
        };
        assert_eq!(kept, ["a.json", "b.json"], "a.json kept, c.json gone");
        // a.json was not looked at; its entry is still a hit (config()
        // writes the same bytes again).
        let a = work(&["a.json"]);
        let again = checker.run(&a, Some(&cache), &Budget::default());
        assert_eq!(again.stats.evaluated, 0, "{:?}", again.stats);
    }

    /// The cross-file verdict is reused only while the files it names have
    /// the text its places and fixes point into: an edit to another file
    /// reuses it; lines added above its finding, in the finding's file and
    /// outside its facts, run the rules again, which point at the new place
    /// (reused, the old place was three bytes off, and `--fix` wrote there).
    #[test]
    fn a_reused_cross_file_verdict_points_into_the_text_it_was_found_in() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/workspaces/clean");
        for entry in walkdir::WalkDir::new(&fixture)
            .into_iter()
            .filter_entry(|e| e.file_name() != ".planguard")
            .flatten()
            .filter(|e| e.file_type().is_file())
        {
            let to = dir
                .path()
                .join(entry.path().strip_prefix(&fixture).expect("inside"));
            std::fs::create_dir_all(to.parent().expect("a folder")).expect("mkdir");
            std::fs::copy(entry.path(), to).expect("copy");
        }
        let edit = |name: &str, change: &dyn Fn(&mut serde_json::Value)| {
            let path = dir.path().join(name);
            let mut plan: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
            change(&mut plan);
            std::fs::write(&path, serde_json::to_string_pretty(&plan).expect("text"))
                .expect("write");
        };
        // The newest dev plan's jitter differs from its config's: PG202.
        edit("orchestration_plans/dev/12.json", &|p| {
            p["schedule"]["jitter"] = serde_json::json!("7m")
        });
        let settings =
            Settings::from_text(dir.path().to_path_buf(), "planguard.toml", String::new())
                .expect("valid settings");
        let checker = Checker::new(settings).expect("policies load");
        let cache = Cache::in_memory(checker.cache_key());
        let run = || {
            let found = crate::discover::discover(&[dir.path().to_path_buf()], &checker.settings)
                .expect("a workspace");
            checker.run(
                &Workset::on_disk(&found.files, &[]),
                Some(&cache),
                &Budget::default(),
            )
        };
        let place = |outcome: &Outcome| -> Vec<String> {
            outcome
                .diagnostics
                .iter()
                .filter(|d| d.rule.as_str() == "PG202")
                .filter_map(|d| d.location.as_ref())
                .map(|l| l.file.text()[l.span.clone()].to_string())
                .collect()
        };
        let first = run();
        assert!(first.stats.cross_file);
        assert_eq!(place(&first), ["\"7m\""]);

        edit("orchestration_plans/uat/10.json", &|p| {
            p["git_sha"] = serde_json::json!("0123456789abcdef0123456789abcdef01234567")
        });
        let elsewhere = run();
        assert!(!elsewhere.stats.cross_file, "{:?}", elsewhere.stats);
        assert_eq!(place(&elsewhere), ["\"7m\""]);

        let plan = dir.path().join("orchestration_plans/dev/12.json");
        let text = std::fs::read_to_string(&plan).expect("read");
        std::fs::write(&plan, format!("\n\n\n{text}")).expect("write");
        let moved = run();
        assert!(moved.stats.cross_file, "{:?}", moved.stats);
        assert_eq!(place(&moved), ["\"7m\""]);
    }

    /// The cross-file rules get the policy timeout once per
    /// `FILES_PER_TIME_LIMIT` files they compare. With that made one file, a
    /// cross-file rule slower than the timeout runs to its end over twenty
    /// files; with the real value it times out.
    #[test]
    fn the_cross_file_time_limit_is_the_timeout_per_so_many_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let policy = dir.path().join("policy");
        std::fs::create_dir_all(&policy).expect("mkdir");
        std::fs::write(
            policy.join("cross.rego"),
            format!(
                "package crosscheck\n\nimport rego.v1\n\n\
                 deny contains \"compared\" if count({{i | some i in numbers.range(1, 1000); some j in numbers.range(1, {SLOW_CROSS_FILE_RANGE}); i > j}}) > 0\n"
            ),
        )
        .expect("write policy");
        let settings = Settings::from_text(
            dir.path().to_path_buf(),
            "planguard.toml",
            format!(
                "[policy]\nbuiltin = false\ntimeout = \"200ms\"\npaths = [{:?}]\n\
                 project-namespaces = [\"crosscheck\"]\n",
                policy.display().to_string()
            ),
        )
        .expect("valid settings");
        let mut checker = Checker::new(settings).expect("policies load");
        let files = || Workset {
            report: (0..20)
                .map(|i| config(dir.path(), &format!("env{i}.json"), false))
                .collect(),
            context: Vec::new(),
        };
        let said = messages(&checker.run(&files(), None, &Budget::default()));
        assert!(
            said.iter()
                .any(|m| m.contains("crosscheck.deny")
                    && m.contains("exceeded the policy time limit")),
            "{said:?}"
        );
        checker.policies.set_files_per_time_limit(1);
        let said = messages(&checker.run(&files(), None, &Budget::default()));
        assert_eq!(said, ["crosscheck.deny: compared"]);
    }

    /// How long the cross-file rule above loops: well over its 200 ms
    /// timeout, well under twenty times that.
    const SLOW_CROSS_FILE_RANGE: u32 = 1_000;

    /// A run cancelled before its first file (the editor has a newer edit)
    /// says it was interrupted, reports nothing and caches nothing: the
    /// next run evaluates every file as if the cancelled one never ran.
    /// (What a run cancelled midway keeps is shown over JSON-RPC, in
    /// `lsp::an_edit_stops_a_check_of_the_whole_workspace`.)
    #[test]
    fn a_cancelled_run_stops_and_keeps_nothing() {
        let (dir, checker) = slow_policy_workspace();
        let files = || Workset {
            report: ["a.json", "b.json"]
                .into_iter()
                .map(|name| config(dir.path(), name, false))
                .collect(),
            context: Vec::new(),
        };
        let cache = Cache::in_memory(checker.cache_key());
        let cancel = Arc::new(AtomicUsize::new(1));
        let stopped = checker.run(&files(), Some(&cache), &Budget::cancellable(cancel.clone()));
        assert!(stopped.interrupted);
        assert_eq!(stopped.stats.evaluated, 0, "{:?}", stopped.stats);
        assert!(!stopped.stats.cross_file);
        assert!(stopped.diagnostics.is_empty(), "{:?}", stopped.diagnostics);
        // Not yet cancelled: a run like any other.
        cancel.store(0, std::sync::atomic::Ordering::Release);
        let whole = checker.run(&files(), Some(&cache), &Budget::cancellable(cancel));
        assert!(!whole.interrupted);
        assert_eq!(whole.stats.evaluated, 2, "{:?}", whole.stats);
        assert!(whole.stats.cross_file);
        assert_eq!(messages(&whole), ["main.deny: named", "main.deny: named"]);
    }
}
