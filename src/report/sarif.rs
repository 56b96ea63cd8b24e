//! `sarif`: SARIF 2.1.0 as GitHub code scanning reads it: every rule in the
//! driver, results with repo-relative locations (UTF-16 columns, end
//! exclusive) and stable fingerprints.

use serde_json::{Value, json};

use crate::diagnostic::{Location, Report, Severity};
use crate::rules::{self, Origin};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn descriptor(rule: &rules::Rule) -> Value {
    let category = match rule.origin {
        Origin::Load => "load",
        Origin::Schema => "schema",
        Origin::Policy => "policy",
        Origin::Project => "cross-file",
        Origin::Engine => "engine",
    };
    let mut properties = json!({"tags": ["planguard", category]});
    // Rules about secrets get GitHub's security severity, so code scanning
    // ranks them as security alerts.
    if let Some(severity) = rule.security_severity {
        properties["security-severity"] = json!(format!("{severity:.1}"));
        properties["tags"] = json!(["planguard", category, "security"]);
    }
    json!({
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.summary},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "helpUri": rules::doc_url(rule.code),
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": properties,
    })
}

fn physical(location: &Location) -> Value {
    let (start_line, start_col) = location.file.line_col_utf16(location.span.start);
    let (end_line, end_col) = location.file.line_col_utf16(location.span.end);
    json!({
        "artifactLocation": {"uri": location.file.display_path(), "uriBaseId": "%SRCROOT%"},
        "region": {
            "startLine": start_line + 1,
            "startColumn": start_col + 1,
            "endLine": end_line + 1,
            "endColumn": end_col + 1,
        },
    })
}

/// A SARIF `fix`: one artifact change, the finding's file, with a
/// replacement per edit (regions in UTF-16 columns, like every region here).
fn fix_object(fix: &crate::diagnostic::Fix, file: &crate::source::SourceFile) -> Value {
    let replacements: Vec<Value> = fix
        .edits
        .iter()
        .map(|e| {
            let (start_line, start_col) = file.line_col_utf16(e.span.start);
            let (end_line, end_col) = file.line_col_utf16(e.span.end);
            json!({
                "deletedRegion": {
                    "startLine": start_line + 1,
                    "startColumn": start_col + 1,
                    "endLine": end_line + 1,
                    "endColumn": end_col + 1,
                },
                "insertedContent": {"text": e.content},
            })
        })
        .collect();
    json!({
        "description": {"text": fix.title},
        "artifactChanges": [{
            "artifactLocation": {"uri": file.display_path(), "uriBaseId": "%SRCROOT%"},
            "replacements": replacements,
        }],
        "properties": {"applicability": fix.applicability.as_str()},
    })
}

pub fn render(report: &Report) -> Vec<u8> {
    let results: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|d| {
            let mut result = json!({
                "ruleId": d.rule.as_str(),
                "level": level(d.severity),
                "message": {"text": d.message},
                "partialFingerprints": {"planguard/v1": super::fingerprint(d)},
            });
            if let Some(index) = rules::ALL.iter().position(|r| d.rule == r.code) {
                result["ruleIndex"] = json!(index);
            }
            if let Some(location) = &d.location {
                result["locations"] = json!([{"physicalLocation": physical(location)}]);
            }
            if !d.related.is_empty() {
                result["relatedLocations"] = Value::Array(
                    d.related
                        .iter()
                        .enumerate()
                        .map(|(i, r)| {
                            json!({"id": i, "physicalLocation": physical(&r.location), "message": {"text": r.message}})
                        })
                        .collect(),
                );
            }
            if let (Some(fix), Some(location)) = (crate::fix::offered(d), &d.location) {
                result["fixes"] = json!([fix_object(fix, &location.file)]);
            }
            result
        })
        .collect();
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "planguard",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_HOMEPAGE"),
                "rules": rules::ALL.iter().map(descriptor).collect::<Vec<_>>(),
            }},
            "columnKind": "utf16CodeUnits",
            "results": results,
        }],
    });
    let mut bytes = serde_json::to_vec_pretty(&sarif).expect("SARIF serializes");
    bytes.push(b'\n');
    bytes
}
