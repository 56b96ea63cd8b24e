//! Check: documents in, diagnostics out. Load, schema and per-document policy
//! checks run in parallel, one file per task; cross-file policies run once
//! over everything that loaded. Never prints, exits or touches the network.

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
use crate::source::display_path;

pub use policy::{Policies, PolicyError};
pub use schema::Schemas;

/// Everything a check needs, built once and shared across threads.
pub struct Checker {
    pub settings: Settings,
    schemas: Schemas,
    policies: Policies,
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
