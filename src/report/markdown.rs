//! `markdown`: a findings table for pull request comments and the GitHub job
//! summary (`>> "$GITHUB_STEP_SUMMARY"`): counts first, then one row per
//! finding with its rule linked to its documentation.

use std::fmt::Write as _;

use crate::diagnostic::{Report, Severity, plural};
use crate::rules;

/// Table cells hold one line, no pipe and no HTML.
pub fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

fn icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "❌",
        Severity::Warning => "⚠️",
        Severity::Info => "ℹ️",
    }
}

pub fn render(report: &Report) -> Vec<u8> {
    let mut out = String::new();
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let files = plural(report.files_checked, "file");
    if report.diagnostics.is_empty() {
        writeln!(out, "### ✅ planguard: no problems in {files}").expect("writing to a String");
        return out.into_bytes();
    }
    writeln!(
        out,
        "### planguard: {}, {} in {files}\n",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
    .expect("writing to a String");
    out.push_str("| | Rule | Where | Problem |\n|---|---|---|---|\n");
    for d in &report.diagnostics {
        let rule = match d
            .rule
            .builtin()
            .and_then(|r| Some((r, rules::doc_url(r.code)?)))
        {
            Some((r, url)) => format!("[{}]({url}) {}", r.code, r.name),
            None => cell(d.rule.as_str()),
        };
        let place = match &d.location {
            Some(l) => {
                let at = l.file.line_col(l.span.start);
                format!(
                    "`{}:{}:{}`",
                    cell(&l.file.display_path()),
                    at.line,
                    at.column
                )
            }
            None => String::new(),
        };
        writeln!(
            out,
            "| {} | {rule} | {place} | {} |",
            icon(d.severity),
            cell(&d.message)
        )
        .expect("writing to a String");
    }
    out.into_bytes()
}
