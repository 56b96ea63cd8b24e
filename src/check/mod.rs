//! Check: documents in, diagnostics out. Load, schema and per-document policy
//! checks run in parallel, one file per task; cross-file policies run once
//! over everything that loaded. Never prints, exits or touches the network.

pub mod cache;
pub mod functions;
pub mod mask;
pub mod policy;
pub mod schema;
pub mod secrets;

use std::collections::HashMap;

use rayon::prelude::*;
use serde_json::Value;

use crate::diagnostic::Diagnostic;
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
}

/// A source of file text that knows one file.
fn only<'a>(shown: &'a str, file: &'a SourceFile) -> impl Fn(&str) -> Option<SourceFile> + 'a {
    move |path| (path == shown).then(|| file.clone())
}

/// One file's part of a cached check.
struct CachedFile {
    diagnostics: Vec<Diagnostic>,
    /// Its entry for the cross-file rules, when it was checked this time.
    entry: Option<Value>,
    /// The hash of its facts for the cross-file rules, when it loaded.
    loaded: Option<String>,
    /// What the cache holds for it now; None when its result cannot be stored.
    stored: Option<cache::FileEntry>,
    /// Reused without reading the file.
    hit: bool,
}

/// What a check produced. Documents are not kept: once a file is checked,
/// only its diagnostics (which hold the text of files with findings) and its
/// small entry for the cross-file rules remain, so memory grows with those
/// rather than with the bytes of every file.
pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
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
        })
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

    /// Read, parse and check files from disk, reusing what `cache` holds for
    /// files whose content did not change, and saving what is new.
    /// `context` files are checked beside `candidates` as in
    /// [`Checker::check_in_context`]: nothing is reported about them.
    pub fn check_files_cached(
        &self,
        named: &[Candidate],
        context: &[Candidate],
        cache: &Cache,
    ) -> Outcome {
        let candidates: Vec<Candidate> = named.iter().chain(context).cloned().collect();
        let candidates = candidates.as_slice();
        let index = cache.load();
        let max_size = self.settings.max_file_size;
        let now_ns = self.now_ns();
        let per_file: Vec<CachedFile> = candidates
            .par_iter()
            .map(|candidate| self.check_file_cached(candidate, cache, &index, now_ns))
            .collect();

        let mut diagnostics = self.policies.diagnostics.clone();
        let mut background = Vec::new();
        let mut files = HashMap::new();
        let mut changed = false;
        let mut project_key = <sha2::Sha256 as sha2::Digest>::new();
        let mut complete = true;
        for (i, (candidate, file)) in candidates.iter().zip(&per_file).enumerate() {
            if i < named.len() {
                diagnostics.extend(file.diagnostics.iter().cloned());
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
            if let Some(entry) = &file.stored {
                files.insert(display_path(&candidate.path), entry.clone());
            }
        }
        let project_key = cache::hex(&sha2::Digest::finalize(project_key));
        let by_path: HashMap<String, &Candidate> = candidates
            .iter()
            .map(|c| (display_path(&c.path), c))
            .collect();
        let source = |path: &str| load::read(by_path.get(path)?, max_size).ok();

        // The cross-file rules again only when some file's facts may differ.
        let reused = index
            .project
            .as_ref()
            .filter(|p| complete && p.key == project_key)
            .and_then(|p| cache::restore(&p.diagnostics, source));
        let mut project_reads = functions::Reads::default();
        let project = match reused {
            Some(found) => found,
            None => {
                let entries: Vec<Value> = candidates
                    .par_iter()
                    .zip(per_file.into_par_iter())
                    .filter_map(|(candidate, file)| {
                        file.entry.or_else(|| {
                            cache.load_facts(file.loaded.as_ref()?).or_else(|| {
                                let (document, _) = load::load(candidate, max_size);
                                Some(self.policies.project_entry(&document?))
                            })
                        })
                    })
                    .collect();
                let (found, reads) = self.policies.check_project(entries, source, now_ns);
                project_reads = reads;
                changed = true;
                found
            }
        };
        // A cross-file verdict that read files or the clock is not kept.
        let stored_project = (complete && project_reads.is_empty() && !self.policies.volatile)
            .then(|| cache::store(&project, |p| by_path.contains_key(p)))
            .flatten()
            .map(|diagnostics| cache::ProjectEntry {
                key: project_key,
                diagnostics,
            });
        if changed {
            cache.save(cache::Index {
                files,
                project: stored_project,
                ..Default::default()
            });
        }
        Outcome {
            diagnostics: self.keep(diagnostics, project, background, context),
        }
    }

    /// The findings to report: `kept` and the cross-file ones not located in
    /// a context file; masked with what every finding (`background` ones,
    /// about the context, included) knows of secrets.
    fn keep(
        &self,
        mut kept: Vec<Diagnostic>,
        project: Vec<Diagnostic>,
        mut background: Vec<Diagnostic>,
        context: &[Candidate],
    ) -> Vec<Diagnostic> {
        let context_paths: std::collections::HashSet<String> =
            context.iter().map(|c| display_path(&c.path)).collect();
        let (about_context, project): (Vec<_>, Vec<_>) = project
            .into_iter()
            .partition(|d| d.path().is_some_and(|p| context_paths.contains(&p)));
        kept.extend(project);
        background.extend(about_context);
        let count = kept.len();
        kept.extend(background);
        let mut all = redact(kept);
        all.truncate(count);
        self.settle(policy::coalesce_failures(all))
    }

    fn check_file_cached(
        &self,
        candidate: &Candidate,
        cache: &Cache,
        index: &cache::Index,
        now_ns: i64,
    ) -> CachedFile {
        let shown = display_path(&candidate.path);
        // A stored verdict holds while the files the policies read are as
        // they were, and, for one judged by the date, on that day.
        let today = now_ns.div_euclid(86_400 * 1_000_000_000);
        let sandbox = || self.policies.sandbox(candidate.workspace.as_deref());
        let previous = index.files.get(&shown).filter(|p| {
            p.day.is_none_or(|day| day == today)
                && (p.reads.is_empty() || p.reads.unchanged(&sandbox()))
        });
        let stamp = cache::stamp(&candidate.path);
        let shown = shown.as_str();
        // Unchanged size and modification time: trust the stored result.
        if let (Some(previous), Some((len, modified))) = (previous, stamp)
            && previous.len == len
            && previous.modified == modified
        {
            let restored = if previous.diagnostics.is_empty() {
                Some(Vec::new())
            } else {
                load::read(candidate, self.settings.max_file_size)
                    .ok()
                    .and_then(|file| cache::restore(&previous.diagnostics, only(shown, &file)))
            };
            if let Some(diagnostics) = restored {
                return CachedFile {
                    diagnostics,
                    entry: None,
                    loaded: previous.facts.clone(),
                    stored: Some(previous.clone()),
                    hit: true,
                };
            }
        }
        let file = match load::read(candidate, self.settings.max_file_size) {
            Ok(file) => file,
            Err(diagnostic) => {
                return CachedFile {
                    diagnostics: vec![*diagnostic],
                    entry: None,
                    loaded: None,
                    stored: None,
                    hit: false,
                };
            }
        };
        let context = serde_json::json!([
            shown,
            candidate.kind.map(|k| k.as_str()),
            candidate.workspace,
            candidate.env,
            candidate.build,
            candidate.explicit,
        ])
        .to_string();
        let key = cache.key(&context, file.text().as_bytes());
        let (len, modified) = stamp.unwrap_or_default();
        if let Some(previous) = previous.filter(|p| p.key == key)
            && let Some(diagnostics) = cache::restore(&previous.diagnostics, only(shown, &file))
        {
            let mut stored = previous.clone();
            (stored.len, stored.modified) = (len, modified);
            return CachedFile {
                diagnostics,
                entry: None,
                loaded: stored.facts.clone(),
                stored: Some(stored),
                hit: false,
            };
        }
        let (document, mut diagnostics) = load::parse(file.clone(), candidate);
        let mut reads = functions::Reads::default();
        let entry = document.map(|document| {
            let (found, read) = self.check_document(&document, now_ns);
            diagnostics.extend(found);
            reads = read;
            self.policies.project_entry(&document)
        });
        // Facts go to disk only with a result that may be stored (not one
        // about a secret, nor one of a policy that reads the clock at will);
        // their hash keys the cross-file rules either way.
        let stored = cache::store(&diagnostics, |p| p == shown).filter(|_| !self.policies.volatile);
        let loaded = match (&entry, &stored) {
            (Some(entry), Some(_)) => cache.save_facts(entry),
            (Some(entry), None) => serde_json::to_vec(entry)
                .ok()
                .map(|bytes| cache::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes))),
            (None, _) => None,
        };
        let stored = stored.map(|stored| cache::FileEntry {
            key,
            len,
            modified,
            diagnostics: stored,
            facts: loaded.clone(),
            day: reads.dated().then_some(today),
            reads,
        });
        CachedFile {
            diagnostics,
            entry,
            loaded,
            stored,
            hit: false,
        }
    }

    /// Read, parse and check files from disk.
    pub fn check_files(&self, candidates: &[Candidate]) -> Outcome {
        self.check_in_context(candidates, &[])
    }

    /// Check `candidates` with `context` beside them: the context files are
    /// loaded and checked too, so that cross-file rules see them and secrets
    /// found in them are masked wherever a kept finding shows their text, but
    /// nothing is reported about them.
    pub fn check_in_context(&self, candidates: &[Candidate], context: &[Candidate]) -> Outcome {
        let now_ns = self.now_ns();
        let per_file: Vec<(Option<Value>, Vec<Diagnostic>)> = candidates
            .par_iter()
            .chain(context.par_iter())
            .map(|candidate| {
                let (document, mut diagnostics) =
                    load::load(candidate, self.settings.max_file_size);
                let entry = document.map(|document| {
                    diagnostics.extend(self.check_document(&document, now_ns).0);
                    self.policies.project_entry(&document)
                });
                (entry, diagnostics)
            })
            .collect();
        let mut entries = Vec::new();
        let mut kept = self.policies.diagnostics.clone();
        let mut background = Vec::new();
        for (i, (entry, found)) in per_file.into_iter().enumerate() {
            entries.extend(entry);
            if i < candidates.len() {
                kept.extend(found);
            } else {
                background.extend(found);
            }
        }
        // Files are read again only when a cross-file finding names them.
        let by_path: HashMap<String, &Candidate> = candidates
            .iter()
            .chain(context)
            .map(|c| (display_path(&c.path), c))
            .collect();
        let (project, _) = self.policies.check_project(
            entries,
            |path| load::read(by_path.get(path)?, self.settings.max_file_size).ok(),
            now_ns,
        );
        Outcome {
            diagnostics: self.keep(kept, project, background, context),
        }
    }

    /// Check documents already loaded (perhaps changed in memory, as `apply`
    /// does with command-line overrides): per document, then across them.
    pub fn check_loaded(&self, documents: &[Document]) -> Vec<Diagnostic> {
        self.check_parsed(documents, Vec::new())
    }

    /// `check_loaded`, with what loading the documents found (syntax errors,
    /// duplicate keys: the language server parses buffers itself) put through
    /// the same severity overrides and ignores.
    pub fn check_parsed(
        &self,
        documents: &[Document],
        loading: Vec<Diagnostic>,
    ) -> Vec<Diagnostic> {
        let now_ns = self.now_ns();
        let mut diagnostics = loading;
        diagnostics.extend(self.policies.diagnostics.iter().cloned());
        diagnostics.extend(
            documents
                .par_iter()
                .flat_map(|d| self.check_document(d, now_ns).0)
                .collect::<Vec<_>>(),
        );
        let entries = documents
            .iter()
            .map(|d| self.policies.project_entry(d))
            .collect();
        let by_path: HashMap<String, &Document> = documents
            .iter()
            .map(|d| (d.file.display_path(), d))
            .collect();
        diagnostics.extend(
            self.policies
                .check_project(
                    entries,
                    |path| Some(by_path.get(path)?.file.clone()),
                    now_ns,
                )
                .0,
        );
        self.finish(diagnostics)
    }

    /// Schema and per-document policies for one loaded document, judged at
    /// `now_ns`; with what the policies' file functions returned.
    pub fn check_document(
        &self,
        document: &Document,
        now_ns: i64,
    ) -> (Vec<Diagnostic>, functions::Reads) {
        let mut diagnostics = self.schemas.check(document);
        let planned = match self.plan_rule {
            Some(rule)
                if document.kind == Some(crate::discover::Kind::Plan) && diagnostics.is_empty() =>
            {
                rule(document)
            }
            _ => Vec::new(),
        };
        let (found, reads) = self.policies.check_document(document, now_ns);
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

    /// Apply severity overrides and ignores from the settings, and mask every
    /// secret that a finding located in every file it was found in.
    fn finish(&self, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        self.settle(policy::coalesce_failures(redact(diagnostics)))
    }

    /// Severity overrides and ignores.
    pub(crate) fn settle(&self, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        diagnostics
            .into_iter()
            .filter_map(|mut d| {
                d.severity = self.settings.severity_for(&d.rule, d.severity)?;
                let ignored = d
                    .location
                    .as_ref()
                    .is_some_and(|l| self.settings.is_ignored(&d.rule, l.file.path()));
                (!ignored).then_some(d)
            })
            .collect()
    }
}

/// Replace each file that holds a located secret with a copy where every such
/// secret is masked, in every diagnostic and related location, so that no
/// renderer can show one (a snippet of another finding on the same line
/// included).
pub fn redact(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
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
            (!all.is_empty()).then(|| (path, file.redacted(&all)))
        })
        .collect();
    // A message may quote a document's value (a policy's sprintf, an engine
    // error): the secrets' text goes from every message too.
    let texts: Vec<String> = redacted_texts(&diagnostics);
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
