//! `json`: the stable machine format, documented in docs/output.md. No
//! timings, so that the same input always gives the same bytes.

use serde::Serialize;

use crate::diagnostic::{Diagnostic, Location, Report, Severity};

/// Bumped on any incompatible change to the shape below.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    tool: Tool,
    summary: Summary,
    diagnostics: Vec<Finding<'a>>,
    /// Only with `--profile`: timings make the bytes differ run to run.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    profile: &'a [crate::diagnostic::ProfileRow],
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
    /// Only with a baseline: the findings it hid, and its entries no
    /// finding matched any more.
    #[serde(skip_serializing_if = "Option::is_none")]
    baselined: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_gone: Option<usize>,
}

#[derive(Serialize)]
struct Finding<'a> {
    rule: &'a str,
    severity: Severity,
    message: &'a str,
    #[serde(flatten)]
    location: Option<Place>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related: Vec<RelatedPlace<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<FixOut<'a>>,
}

/// A finding's fix: what `check --fix` would do, edits in the finding's file.
#[derive(Serialize)]
struct FixOut<'a> {
    title: &'a str,
    applicability: &'static str,
    edits: Vec<EditOut<'a>>,
}

#[derive(Serialize)]
struct EditOut<'a> {
    start: Position,
    end: Position,
    range: ByteRange,
    content: &'a str,
}

#[derive(Serialize)]
struct Place {
    file: String,
    start: Position,
    end: Position,
    range: ByteRange,
    pointer: Option<String>,
}

#[derive(Serialize)]
struct RelatedPlace<'a> {
    message: &'a str,
    #[serde(flatten)]
    location: Place,
}

#[derive(Serialize)]
struct Position {
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct ByteRange {
    start: usize,
    end: usize,
}

fn place(location: &Location) -> Place {
    let start = location.file.line_col(location.span.start);
    let end = location.file.line_col(location.span.end);
    Place {
        file: location.file.display_path(),
        start: Position {
            line: start.line,
            column: start.column,
        },
        end: Position {
            line: end.line,
            column: end.column,
        },
        range: ByteRange {
            start: location.span.start,
            end: location.span.end,
        },
        pointer: location.pointer.clone(),
    }
}

fn finding(d: &Diagnostic) -> Finding<'_> {
    Finding {
        rule: d.rule.as_str(),
        severity: d.severity,
        message: &d.message,
        location: d.location.as_ref().map(place),
        help: d.help.as_deref(),
        url: d.url.as_deref(),
        related: d
            .related
            .iter()
            .map(|r| RelatedPlace {
                message: &r.message,
                location: place(&r.location),
            })
            .collect(),
        fix: crate::fix::offered(d).and_then(|fix| {
            let file = &d.location.as_ref()?.file;
            let position = |offset: usize| {
                let at = file.line_col(offset);
                Position {
                    line: at.line,
                    column: at.column,
                }
            };
            Some(FixOut {
                title: &fix.title,
                applicability: fix.applicability.as_str(),
                edits: fix
                    .edits
                    .iter()
                    .map(|e| EditOut {
                        start: position(e.span.start),
                        end: position(e.span.end),
                        range: ByteRange {
                            start: e.span.start,
                            end: e.span.end,
                        },
                        content: &e.content,
                    })
                    .collect(),
            })
        }),
    }
}

/// `json-lines`: one finding per line, in the shape of the `json` format's
/// `diagnostics` items, for streaming into log pipelines.
pub fn render_lines(report: &Report) -> Vec<u8> {
    let mut out = Vec::new();
    for d in &report.diagnostics {
        out.extend(serde_json::to_vec(&finding(d)).expect("findings serialize"));
        out.push(b'\n');
    }
    out
}

pub fn render(report: &Report) -> Vec<u8> {
    let output = Output {
        version: FORMAT_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        summary: Summary {
            files: report.files_checked,
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
            infos: report.count(Severity::Info),
            baselined: report.baseline.map(|b| b.hidden),
            baseline_gone: report.baseline.map(|b| b.gone),
        },
        diagnostics: report.diagnostics.iter().map(finding).collect(),
        profile: &report.profile,
    };
    let mut bytes = serde_json::to_vec_pretty(&output).expect("the report serializes to JSON");
    bytes.push(b'\n');
    bytes
}
