//! Check: documents in, diagnostics out. Load, schema and per-document policy
//! checks run in parallel, one file per task; cross-file policies run once
//! over everything that loaded. Never prints, exits or touches the network.

pub mod cache;
pub mod functions;
pub mod policy;
pub mod schema;

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

impl Checker {
    pub fn new(settings: Settings) -> Result<Self, PolicyError> {
        let policies = Policies::load(&settings)?;
        Ok(Self {
            settings,
            schemas: Schemas::builtin(),
            policies,
        })
    }

    /// What identifies this configuration in the cache: planguard's version,
    /// the policies and data, and the settings.
    pub fn cache_key(&self) -> String {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update([0]);
        hasher.update(self.policies.fingerprint.as_bytes());
        hasher.update([0]);
        hasher.update(self.settings.to_json().to_string().as_bytes());
        cache::hex(&hasher.finalize())
    }

    /// Read, parse and check files from disk, reusing what `cache` holds for
    /// files whose content did not change, and saving what is new.
    pub fn check_files_cached(&self, candidates: &[Candidate], cache: &Cache) -> Outcome {
        let index = cache.load();
        let max_size = self.settings.max_file_size;
        let per_file: Vec<CachedFile> = candidates
            .par_iter()
            .map(|candidate| self.check_file_cached(candidate, cache, &index))
            .collect();

        let mut diagnostics = self.policies.diagnostics.clone();
        let mut files = HashMap::new();
        let mut changed = false;
        let mut project_key = <sha2::Sha256 as sha2::Digest>::new();
        let mut complete = true;
        for (candidate, file) in candidates.iter().zip(&per_file) {
            diagnostics.extend(file.diagnostics.iter().cloned());
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
                let found = self.policies.check_project(entries, source);
                changed = true;
                found
            }
        };
        let stored_project = complete
            .then(|| cache::store(&project, |p| by_path.contains_key(p)))
            .flatten()
            .map(|diagnostics| cache::ProjectEntry {
                key: project_key,
                diagnostics,
            });
        diagnostics.extend(project);
        if changed {
            cache.save(cache::Index {
                files,
                project: stored_project,
                ..Default::default()
            });
        }
        Outcome {
            diagnostics: self.finish(diagnostics),
        }
    }

    fn check_file_cached(
        &self,
        candidate: &Candidate,
        cache: &Cache,
        index: &cache::Index,
    ) -> CachedFile {
        let shown = display_path(&candidate.path);
        let previous = index.files.get(&shown);
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
        functions::take_read_files();
        let entry = document.map(|document| {
            diagnostics.extend(self.check_document(&document));
            self.policies.project_entry(&document)
        });
        // A result that read other files (planguard.file_sha256) is only
        // good while they do not change: not stored.
        let independent = !functions::take_read_files();
        // Facts go to disk only with a result that may be stored (not one
        // about a secret); their hash keys the cross-file rules either way.
        let stored = cache::store(&diagnostics, |p| p == shown).filter(|_| independent);
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
        let per_file: Vec<(Option<Value>, Vec<Diagnostic>)> = candidates
            .par_iter()
            .map(|candidate| {
                let (document, mut diagnostics) =
                    load::load(candidate, self.settings.max_file_size);
                let entry = document.map(|document| {
                    diagnostics.extend(self.check_document(&document));
                    self.policies.project_entry(&document)
                });
                (entry, diagnostics)
            })
            .collect();
        let mut entries = Vec::new();
        let mut diagnostics = self.policies.diagnostics.clone();
        for (entry, found) in per_file {
            entries.extend(entry);
            diagnostics.extend(found);
        }
        // Files are read again only when a cross-file finding names them.
        let by_path: HashMap<String, &Candidate> = candidates
            .iter()
            .map(|c| (display_path(&c.path), c))
            .collect();
        diagnostics.extend(self.policies.check_project(entries, |path| {
            load::read(by_path.get(path)?, self.settings.max_file_size).ok()
        }));
        Outcome {
            diagnostics: self.finish(diagnostics),
        }
    }

    /// Check documents already loaded (perhaps changed in memory, as `apply`
    /// does with command-line overrides): per document, then across them.
    pub fn check_loaded(&self, documents: &[Document]) -> Vec<Diagnostic> {
        let mut diagnostics = self.policies.diagnostics.clone();
        diagnostics.extend(
            documents
                .par_iter()
                .flat_map(|d| self.check_document(d))
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
                .check_project(entries, |path| Some(by_path.get(path)?.file.clone())),
        );
        self.finish(diagnostics)
    }

    /// Schema and per-document policies for one loaded document.
    pub fn check_document(&self, document: &Document) -> Vec<Diagnostic> {
        let mut diagnostics = self.schemas.check(document);
        diagnostics.extend(self.policies.check_document(document));
        diagnostics
    }

    /// Apply severity overrides and ignores from the settings, and mask every
    /// secret that a finding located in every file it was found in.
    fn finish(&self, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        redact(diagnostics)
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
    if secrets.is_empty() {
        return diagnostics;
    }
    // Mask every occurrence of each secret's text in its file, not only the
    // located one: the same secret may stand twice, or a detector may have
    // located an earlier copy of its text.
    let redacted: HashMap<_, _> = secrets
        .into_iter()
        .map(|(path, (file, spans))| {
            let mut all = Vec::new();
            for span in &spans {
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
            (path, file.redacted(&all))
        })
        .collect();
    let swap = |location: &mut crate::diagnostic::Location| {
        if let Some(file) = redacted.get(location.file.path()) {
            location.file = file.clone();
        }
    };
    for d in &mut diagnostics {
        if let Some(location) = &mut d.location {
            swap(location);
        }
        for related in &mut d.related {
            swap(&mut related.location);
        }
    }
    diagnostics
}
