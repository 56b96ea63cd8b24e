//! `gitlab`: GitLab Code Quality JSON (a subset of the Code Climate issue
//! format), shown in merge request widgets. Each finding needs a fingerprint
//! unique within the report, stable across runs.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::diagnostic::{Report, RuleId, Severity};
use crate::rules::Rule;

/// Code Quality severities: info, minor, major, critical, blocker.
fn severity(rule: &RuleId, severity: Severity) -> &'static str {
    match severity {
        Severity::Error if rule.builtin().is_some_and(Rule::is_critical) => "critical",
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

pub fn render(report: &Report) -> Vec<u8> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let issues: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|d| {
            // Two findings of one rule at one pointer (different messages)
            // share a base fingerprint; number the later ones.
            let base = super::fingerprint(d);
            let count = seen.entry(base.clone()).or_insert(0);
            let fingerprint = if *count == 0 {
                base
            } else {
                format!("{base}-{count}")
            };
            *count += 1;
            let (path, line) = match &d.location {
                Some(l) => (l.file.display_path(), l.file.line_col(l.span.start).line),
                // GitLab requires a path; findings about no file belong to the run.
                None => (".".to_string(), 1),
            };
            json!({
                "type": "issue",
                "description": format!("[{}] {}", d.rule, d.message),
                "check_name": d.rule.as_str(),
                "fingerprint": fingerprint,
                "severity": severity(&d.rule, d.severity),
                "location": {"path": path, "lines": {"begin": line}},
            })
        })
        .collect();
    let mut bytes = serde_json::to_vec_pretty(&issues).expect("issues serialize");
    bytes.push(b'\n');
    bytes
}
