//! Check: documents in, diagnostics out. Load, schema and per-document policy
//! checks run in parallel, one file per task; cross-file policies run once
//! over everything that loaded. Never prints, exits or touches the network.

pub mod functions;
pub mod mask;
pub mod policy;
pub mod schema;

use rayon::prelude::*;

use crate::diagnostic::Diagnostic;
use crate::discover::Candidate;
use crate::load::{self, Document};
use crate::settings::Settings;

pub use policy::{Policies, PolicyError};
pub use schema::Schemas;

/// Everything a check needs, built once and shared across threads.
pub struct Checker {
    pub settings: Settings,
    schemas: Schemas,
    policies: Policies,
}

/// What a check produced.
pub struct Outcome {
    pub documents: Vec<Document>,
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

    /// Read, parse and check files from disk.
    pub fn check_files(&self, candidates: &[Candidate]) -> Outcome {
        self.check_in_context(candidates, &[])
    }

    /// Check `candidates` with `context` beside them: the context files are
    /// loaded and checked too, so that cross-file rules see them and secrets
    /// found in them are masked wherever a kept finding shows their text, but
    /// nothing is reported about them.
    pub fn check_in_context(&self, candidates: &[Candidate], context: &[Candidate]) -> Outcome {
        let per_file: Vec<(Option<Document>, Vec<Diagnostic>)> = candidates
            .par_iter()
            .chain(context.par_iter())
            .map(|candidate| {
                let (document, mut diagnostics) =
                    load::load(candidate, self.settings.max_file_size);
                if let Some(document) = &document {
                    diagnostics.extend(self.check_document(document));
                }
                (document, diagnostics)
            })
            .collect();
        let mut documents = Vec::new();
        let mut kept = self.policies.diagnostics.clone();
        let mut background = Vec::new();
        for (i, (document, found)) in per_file.into_iter().enumerate() {
            documents.extend(document);
            if i < candidates.len() {
                kept.extend(found);
            } else {
                background.extend(found);
            }
        }
        let context_paths: std::collections::HashSet<String> = context
            .iter()
            .map(|c| crate::source::display_path(&c.path))
            .collect();
        let (about_context, project): (Vec<_>, Vec<_>) = self
            .policies
            .check_project(&documents)
            .into_iter()
            .partition(|d| d.path().is_some_and(|p| context_paths.contains(&p)));
        kept.extend(project);
        background.extend(about_context);
        let count = kept.len();
        kept.extend(background);
        let mut all = redact(kept);
        all.truncate(count);
        Outcome {
            diagnostics: self.settle(policy::coalesce_failures(all)),
            documents,
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
        let mut diagnostics = loading;
        diagnostics.extend(self.policies.diagnostics.iter().cloned());
        diagnostics.extend(
            documents
                .par_iter()
                .flat_map(|d| self.check_document(d))
                .collect::<Vec<_>>(),
        );
        diagnostics.extend(self.policies.check_project(documents));
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
        self.settle(policy::coalesce_failures(redact(diagnostics)))
    }

    /// Severity overrides and ignores.
    fn settle(&self, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
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
