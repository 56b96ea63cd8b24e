//! Report: diagnostics to bytes, one small module per output format. A
//! renderer only converts; it never decides whether the run failed.

pub mod concise;
pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod preview;
pub mod sarif;

use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Rich diagnostics with source snippets (the default).
    Human,
    /// One line per problem: `path:line:col: severity[RULE] message`.
    Concise,
    /// A stable, documented JSON document (see docs/output.md).
    Json,
    /// One JSON object per finding per line.
    JsonLines,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow commands: annotations on the pull request.
    Github,
    /// JUnit XML: one test suite per file, one failed test case per finding.
    Junit,
    /// GitLab Code Quality JSON, for merge request widgets.
    Gitlab,
    /// A Markdown findings table, for pull request comments and job summaries.
    Markdown,
}

pub fn render(report: &Report, format: Format, color: bool) -> Vec<u8> {
    match format {
        Format::Human => human::render(report, color),
        Format::Concise => concise::render(report),
        Format::Json => json::render(report),
        Format::JsonLines => json::render_lines(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
        Format::Junit => junit::render(report),
        Format::Gitlab => gitlab::render(report),
        Format::Markdown => markdown::render(report),
    }
}

/// Stable across runs and line moves: the rule, the file and the JSON
/// pointer (or the message, for findings about no value). Code scanning and
/// GitLab both match findings between runs by it.
pub fn fingerprint(d: &Diagnostic) -> String {
    let mut hasher = Sha256::new();
    hasher.update(d.rule.as_str().as_bytes());
    if let Some(location) = &d.location {
        hasher.update(location.file.display_path().as_bytes());
        hasher.update(location.pointer.as_deref().unwrap_or(&d.message).as_bytes());
    } else {
        hasher.update(d.message.as_bytes());
    }
    crate::digest::hex(&hasher.finalize()[..16])
}
