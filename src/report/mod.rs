//! Report: diagnostics to bytes, one small module per output format. A
//! renderer only converts; it never decides whether the run failed.

pub mod concise;
pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use crate::diagnostic::Report;

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
}

pub fn render(report: &Report, format: Format, color: bool) -> Vec<u8> {
    match format {
        Format::Human => human::render(report, color),
        Format::Concise => concise::render(report),
        Format::Json => json::render(report),
        Format::JsonLines => json::render_lines(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
    }
}
