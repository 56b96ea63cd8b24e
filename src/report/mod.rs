//! Report: diagnostics to bytes, one small module per output format. A
//! renderer only converts; it never decides whether the run failed.

pub mod concise;
pub mod human;
pub mod json;

use crate::diagnostic::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Rich diagnostics with source snippets (the default).
    Human,
    /// One line per problem: `path:line:col: severity[RULE] message`.
    Concise,
    /// A stable, documented JSON document (see docs/output.md).
    Json,
}

pub fn render(report: &Report, format: Format, color: bool) -> Vec<u8> {
    match format {
        Format::Human => human::render(report, color),
        Format::Concise => concise::render(report),
        Format::Json => json::render(report),
    }
}
