//! In-file suppressions. JSON has no comments, so a config or plan says
//! "not this rule here" with a member on any object:
//!
//! ```json
//! "x-planguard": {"ignore": {"PG105": "pinned by the release train, see OPS-123"}}
//! ```
//!
//! which suppresses those rules' findings located in that object and below.
//! The reason is mandatory. The member is taken out of the document before
//! the schema and the policies see it (so it is allowed on every object, and
//! an environment's config that has one does not differ from the others for
//! that). Each valid entry becomes a PG007 finding at its place, kept in the
//! verdict the cache stores like any other; when the findings are filtered
//! (`apply`), an entry that suppressed something is dropped, and one that
//! suppressed nothing stays as the warning it is (like ruff's unused `noqa`).

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::load::spans::escape_token;
use crate::rules;
use crate::select::Selector;
use crate::source::SourceFile;

pub const MEMBER: &str = "x-planguard";

/// The reason the editor's "ignore this rule here" action writes, for the
/// user to replace: until then the entry has no reason and does not apply.
pub const REASON_PLACEHOLDER: &str = "TODO: say why this is fine here";

/// Take every `x-planguard` member out of `value`; what they say, as
/// findings located in `file`: a PG007 per entry, a PG008 per malformed
/// member or reason-less entry (which suppresses nothing).
pub fn extract(value: &mut Value, file: &SourceFile) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    walk(value, &mut String::new(), file, &mut found);
    found
}

fn walk(value: &mut Value, pointer: &mut String, file: &SourceFile, found: &mut Vec<Diagnostic>) {
    match value {
        Value::Object(map) => {
            if let Some(member) = map.remove(MEMBER) {
                read_member(&member, pointer, file, found);
            }
            for (key, child) in map.iter_mut() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_token(key));
                walk(child, pointer, file, found);
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                walk(child, pointer, file, found);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn read_member(member: &Value, scope: &str, file: &SourceFile, found: &mut Vec<Diagnostic>) {
    let at = format!("{scope}/{MEMBER}");
    let invalid = |pointer: &str, message: String| {
        let target = crate::load::locate(file, pointer);
        Diagnostic::builtin(&rules::SUPPRESSION_INVALID, message)
            .at(file, target.span, Some(target.pointer))
            .with_help(format!(
                "write {{\"ignore\": {{\"<rule id>\": \"<why>\"}}}}, e.g. \"{MEMBER}\": {{\"ignore\": {{\"PG105\": \"pinned by the release train, see OPS-123\"}}}}"
            ))
    };
    let Some(object) = member.as_object() else {
        found.push(invalid(
            &at,
            format!("`{MEMBER}` must be an object; it suppresses nothing"),
        ));
        return;
    };
    for key in object.keys().filter(|k| *k != "ignore") {
        found.push(invalid(
            &format!("{at}/{}", escape_token(key)),
            format!("`{MEMBER}` knows only `ignore`, not `{key}`"),
        ));
    }
    let Some(ignore) = object.get("ignore") else {
        return;
    };
    let Some(entries) = ignore.as_object() else {
        found.push(invalid(
            &format!("{at}/ignore"),
            format!("`{MEMBER}.ignore` must map rule ids to reasons; it suppresses nothing"),
        ));
        return;
    };
    for (rule, reason) in entries {
        let pointer = format!("{at}/ignore/{}", escape_token(rule));
        let reason = reason.as_str().map(str::trim).unwrap_or_default();
        if reason.is_empty() || reason == REASON_PLACEHOLDER {
            found.push(invalid(
                &pointer,
                format!("the suppression of {rule} gives no reason, so it does not apply"),
            ));
            continue;
        }
        let target = crate::load::locate(file, &pointer);
        found.push(
            Diagnostic::builtin(
                &rules::SUPPRESSION_UNUSED,
                format!("{rule} is suppressed here but reports nothing in this object"),
            )
            .at(file, target.span, Some(target.pointer))
            .with_help("remove the suppression, or move it to the object the finding is in"),
        );
    }
}

/// Where an entry's PG007 points: the object's pointer and the rule.
fn entry(d: &Diagnostic) -> Option<(String, String)> {
    let pointer = d.location.as_ref()?.pointer.as_deref()?;
    let marker = format!("/{MEMBER}/ignore/");
    let (scope, rule) = pointer.rsplit_once(&marker)?;
    Some((
        scope.to_string(),
        rule.replace("~1", "/").replace("~0", "~"),
    ))
}

fn within(pointer: Option<&str>, scope: &str) -> bool {
    match pointer {
        _ if scope.is_empty() => true,
        Some(p) => {
            p == scope
                || p.strip_prefix(scope)
                    .is_some_and(|rest| rest.starts_with('/'))
        }
        None => false,
    }
}

/// Drop the findings an entry suppresses; keep the entries that suppressed
/// nothing as warnings, except those about a rule that is off in this run
/// (`enabled`). `known` says whether a rule id may be reported at all (a
/// built-in rule, or any id when user policies are loaded): an entry naming
/// none is an unknown rule.
pub fn apply(
    diagnostics: Vec<Diagnostic>,
    enabled: impl Fn(&str) -> bool,
    known: impl Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let mut entries: Vec<(Diagnostic, String, String, Selector, bool)> = Vec::new();
    let mut findings = Vec::with_capacity(diagnostics.len());
    for d in diagnostics {
        let placed = (d.rule.builtin() == Some(&rules::SUPPRESSION_UNUSED))
            .then(|| entry(&d).zip(d.location.as_ref().map(|l| l.file.display_path())))
            .flatten();
        match placed {
            Some(((scope, rule), path)) => {
                entries.push((d, path, scope, Selector::new(&rule), false));
            }
            None => findings.push(d),
        }
    }
    if entries.is_empty() {
        return findings;
    }
    findings.retain(|d| {
        let Some(location) = &d.location else {
            return true;
        };
        let path = location.file.display_path();
        let mut suppressed = false;
        for (_, file, scope, rule, used) in &mut entries {
            if *file == path
                && rule.names(d.rule.as_str())
                && within(location.pointer.as_deref(), scope)
            {
                *used = true;
                suppressed = true;
            }
        }
        !suppressed
    });
    for (mut e, _, _, rule, used) in entries {
        let written = rule.as_str();
        let id = rules::lookup(written).map_or(written, |r| r.code);
        if !known(id) {
            e.message = format!("{written} is no rule, so suppressing it here does nothing");
            e.help = Some("`planguard rules` lists the rule ids and names".to_string());
            findings.push(e);
        } else if !used && enabled(id) {
            findings.push(e);
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile::new("conf/dev.json", text)
    }

    #[test]
    fn members_are_taken_out_and_each_entry_is_read() {
        let text = r#"{"a": {"x-planguard": {"ignore": {"PG105": "pinned", "PG101": ""}}, "b": 1}, "x-planguard": 3}"#;
        let mut value: Value = serde_json::from_str(text).expect("json");
        let found = extract(&mut value, &file(text));
        assert_eq!(value, serde_json::json!({"a": {"b": 1}}));
        let summary: Vec<(String, Option<String>)> = found
            .iter()
            .map(|d| {
                (
                    d.rule.as_str().to_string(),
                    d.location.as_ref().and_then(|l| l.pointer.clone()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("PG008".to_string(), Some("/x-planguard".to_string())),
                (
                    "PG008".to_string(),
                    Some("/a/x-planguard/ignore/PG101".to_string())
                ),
                (
                    "PG007".to_string(),
                    Some("/a/x-planguard/ignore/PG105".to_string())
                ),
            ]
        );
    }

    #[test]
    fn an_entry_suppresses_its_rule_in_its_object_and_below_only() {
        let text = r#"{"a": {"x-planguard": {"ignore": {"image-not-pinned": "why", "PG999": "why", "PG102": "why"}}, "b": {"c": 1}}, "ab": 2}"#;
        let source = file(text);
        let mut value: Value = serde_json::from_str(text).expect("json");
        let mut all = extract(&mut value, &source);
        let finding = |rule: &str, pointer: &str| {
            Diagnostic::new(rule, crate::diagnostic::Severity::Error, "x").at(
                &source,
                0..1,
                Some(pointer.to_string()),
            )
        };
        all.push(finding("PG105", "/a/b/c"));
        all.push(finding("PG105", "/ab"));
        all.push(finding("PG101", "/a/b"));
        let kept = apply(all, |_| true, |id| rules::by_code(id).is_some());
        let mut kept: Vec<String> = kept
            .iter()
            .map(|d| {
                format!(
                    "{} {}",
                    d.rule.as_str(),
                    d.location
                        .as_ref()
                        .and_then(|l| l.pointer.clone())
                        .unwrap_or_default()
                )
            })
            .collect();
        kept.sort();
        assert_eq!(
            kept,
            [
                "PG007 /a/x-planguard/ignore/PG102",
                "PG007 /a/x-planguard/ignore/PG999",
                "PG101 /a/b",
                "PG105 /ab",
            ],
            "{kept:?}"
        );
    }
}
