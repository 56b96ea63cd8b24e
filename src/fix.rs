//! Fixes: the edits findings carry (`Diagnostic::fix`), applied to the text
//! in place (`check --fix`) or shown as a unified diff (`check --diff`).
//!
//! Only the bytes an edit names change; formatting, key order and everything
//! else in the file stay as they were. Fixes whose edits overlap an edit
//! already taken wait for the next round, when the file has been checked
//! again. A fix is never offered for a finding about a secret, never touches
//! bytes that the report masks, and never writes a value that looks like a
//! secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::check::suppress::MEMBER as SUPPRESSION_KEY;
use crate::diagnostic::{Diagnostic, Edit, Fix};
use crate::source::{SourceFile, Span};

/// Rounds of fix and check again that `--fix` runs at most.
pub const MAX_ROUNDS: usize = 10;

/// The fixes `--fix` would apply to one file.
#[derive(Debug, Clone)]
pub struct FileFixes {
    /// The file as the report shows it (secrets masked): what a diff shows.
    pub shown: SourceFile,
    /// The fixes taken, in text order, none overlapping another.
    pub fixes: Vec<Fix>,
    /// How many findings the fixes taken fix (two findings may carry the
    /// same edit: PG101 and PG202 on a plan's namespace).
    pub fixed: usize,
    /// Fixes left for a later round: they overlap one taken.
    pub deferred: usize,
}

impl FileFixes {
    pub fn path(&self) -> &Path {
        self.shown.path()
    }

    /// Every edit of every fix taken.
    fn edits(&self) -> impl Iterator<Item = &Edit> {
        self.fixes.iter().flat_map(|f| &f.edits)
    }

    /// `text` with the fixes applied.
    pub fn apply_to(&self, text: &str) -> String {
        apply(text, self.edits())
    }

    /// The unified diff of the fixes on the file as shown.
    pub fn diff(&self) -> String {
        let before = self.shown.text();
        let after = self.apply_to(before);
        let path = self.shown.display_path();
        // git's a/ and b/ for a relative path; an absolute one as it is.
        let (old, new) = if self.path().is_absolute() {
            (path.clone(), path)
        } else {
            (format!("a/{path}"), format!("b/{path}"))
        };
        similar::TextDiff::from_lines(before, after.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&old, &new)
            .to_string()
    }

    /// Apply the fixes to the file on disk; the number of findings fixed (0
    /// when the file changed since it was checked, so the edits no longer
    /// name its text).
    pub fn write(&self) -> std::io::Result<usize> {
        let bytes = std::fs::read(self.path())?;
        let Ok(text) = String::from_utf8(bytes) else {
            return Ok(0);
        };
        if !same_but_masked(&text, self.shown.text()) {
            return Ok(0);
        }
        // Written in place, as an editor saves: the file keeps its mode,
        // owner and links.
        std::fs::write(self.path(), self.apply_to(&text))?;
        Ok(self.fixed)
    }
}

/// The fixes to apply, by file (unsafe ones only with `unsafe_fixes`).
///
/// A fix that takes its value from another file (a plan field set to its
/// config's, the config being a related location) waits while that file has
/// fixes of its own: the config may be what is wrong.
pub fn plan(diagnostics: &[Diagnostic], unsafe_fixes: bool) -> Vec<FileFixes> {
    let candidates: Vec<(&Diagnostic, &Fix, &SourceFile)> =
        diagnostics
            .iter()
            .filter_map(|d| {
                let (fix, location) = (d.fix.as_ref()?, d.location.as_ref()?);
                (!d.sensitive && fix.applies(unsafe_fixes) && usable(fix, &location.file))
                    .then_some((d, fix, &location.file))
            })
            .collect();
    let fixed_files: std::collections::BTreeSet<&Path> =
        candidates.iter().map(|(_, _, file)| file.path()).collect();
    let mut by_file: BTreeMap<PathBuf, (SourceFile, Vec<&Fix>, usize)> = BTreeMap::new();
    for (d, fix, file) in candidates {
        let entry = by_file
            .entry(file.path().to_path_buf())
            .or_insert_with(|| (file.clone(), Vec::new(), 0));
        let waits = d.related.iter().any(|r| {
            let other = r.location.file.path();
            other != file.path() && fixed_files.contains(other)
        });
        if waits {
            entry.2 += 1;
        } else {
            entry.1.push(fix);
        }
    }
    by_file
        .into_values()
        .map(|(shown, mut fixes, waiting)| {
            fixes.sort_by_key(|f| f.edits.iter().map(|e| (e.span.start, e.span.end)).min());
            let mut taken: Vec<Fix> = Vec::new();
            let (mut fixed, mut deferred) = (0, waiting);
            for fix in fixes {
                if taken.iter().any(|t| t.edits == fix.edits) {
                    fixed += 1;
                    continue;
                }
                let clashes = fix.edits.iter().any(|e| {
                    taken
                        .iter()
                        .flat_map(|t| &t.edits)
                        .any(|t| overlaps(&e.span, &t.span))
                });
                if clashes {
                    deferred += 1;
                } else {
                    fixed += 1;
                    taken.push(fix.clone());
                }
            }
            FileFixes {
                shown,
                fixes: taken,
                fixed,
                deferred,
            }
        })
        .filter(|f| !f.fixes.is_empty())
        .collect()
}

/// The fix of `diagnostic`, when it may be offered: it is not about a
/// secret and writes none (editors ask for it one finding at a time).
pub fn offered(diagnostic: &Diagnostic) -> Option<&Fix> {
    let fix = diagnostic.fix.as_ref()?;
    let location = diagnostic.location.as_ref()?;
    (!diagnostic.sensitive && usable(fix, &location.file)).then_some(fix)
}

/// Whether every edit of `fix` names whole characters of `file` and writes
/// nothing that looks like a secret. (An edit may span masked bytes: only a
/// finding about a secret locates one, and those have no fix.)
fn usable(fix: &Fix, file: &SourceFile) -> bool {
    let text = file.text();
    !fix.edits.is_empty()
        && fix.edits.iter().all(|e| {
            e.span.start <= e.span.end
                && text.is_char_boundary(e.span.start)
                && text.is_char_boundary(e.span.end)
                && e.span.end <= text.len()
                && crate::check::mask::likely_secrets(&e.content).is_empty()
        })
}

/// The edit that suppresses `code` for the innermost object holding the
/// value at `pointer` in the JSON `text`: an `"x-planguard": {"ignore":
/// {code: reason}}` member put first in that object, on a line of its own
/// indented like its siblings (or added to the `x-planguard` member already
/// there). None when the text is not JSON, the object already ignores
/// `code`, or its `x-planguard` member is not an object.
pub fn ignore_edit(text: &str, pointer: &str, code: &str, reason: &str) -> Option<Edit> {
    use crate::load::spans;
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    // The innermost object at or above the pointer.
    let mut object = pointer.to_string();
    loop {
        if value
            .pointer(&object)
            .is_some_and(serde_json::Value::is_object)
        {
            break;
        }
        let cut = object.rfind('/')?;
        object.truncate(cut);
    }
    let suppression = format!("{object}/{SUPPRESSION_KEY}");
    let ignore = format!("{suppression}/ignore");
    let entry = serde_json::Value::String(reason.to_string());
    let (at, key, member) = match (value.pointer(&suppression), value.pointer(&ignore)) {
        (None, _) => (
            object,
            SUPPRESSION_KEY,
            serde_json::json!({"ignore": {code: entry}}),
        ),
        (Some(s), None) if s.is_object() => {
            (suppression, "ignore", serde_json::json!({code: entry}))
        }
        (Some(_), Some(i)) if i.is_object() && i.get(code).is_none() => (ignore, code, entry),
        _ => return None,
    };
    let span = spans::locate(text, &at)?.value;
    insert_first(text, span.start, key, &member)
}

/// An edit putting `"key": value` first in the object opening at `open`.
fn insert_first(text: &str, open: usize, key: &str, value: &serde_json::Value) -> Option<Edit> {
    if text.as_bytes().get(open) != Some(&b'{') {
        return None;
    }
    let member = format!("{}: {}", serde_json::to_string(key).ok()?, inline(value));
    let inside = &text[open + 1..];
    let first = open + 1 + (inside.len() - inside.trim_start().len());
    let gap = &text[open + 1..first];
    let content = if text.as_bytes().get(first) == Some(&b'}') {
        // An empty object: the member is all it holds.
        match gap.rfind('\n') {
            Some(_) => {
                let closing = &gap[gap.rfind('\n')? + 1..];
                return Some(Edit {
                    span: open + 1..first,
                    content: format!("\n{closing}  {member}\n{closing}"),
                });
            }
            None => member,
        }
    } else {
        match gap.rfind('\n') {
            // Siblings on lines of their own: a line like theirs.
            Some(newline) => format!("{member},\n{}", &gap[newline + 1..]),
            None => format!("{member}, "),
        }
    };
    Some(Edit {
        span: first..first,
        content,
    })
}

/// A JSON value on one line, spaced as people write it: `{"a": {"b": "c"}}`.
fn inline(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", serde_json::Value::from(k.as_str()), inline(v)))
                .collect();
            format!("{{{}}}", members.join(", "))
        }
        other => other.to_string(),
    }
}

/// Two edits that cannot both be applied: their spans share a byte, or
/// both insert at the same place.
fn overlaps(a: &Span, b: &Span) -> bool {
    (a.start < b.end && b.start < a.end) || a.start == b.start
}

/// `text` with non-overlapping `edits` applied.
pub fn apply<'a>(text: &str, edits: impl IntoIterator<Item = &'a Edit>) -> String {
    let mut edits: Vec<&Edit> = edits.into_iter().collect();
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for edit in edits {
        if edit.span.start < at || edit.span.end > text.len() {
            continue;
        }
        out.push_str(&text[at..edit.span.start]);
        out.push_str(&edit.content);
        at = edit.span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Whether `shown` is `text` with some bytes masked (`*`): the file has not
/// changed since it was checked.
pub fn same_but_masked(text: &str, shown: &str) -> bool {
    text.len() == shown.len()
        && text
            .bytes()
            .zip(shown.bytes())
            .all(|(a, b)| a == b || b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Applicability, Severity};

    fn finding(
        file: &SourceFile,
        span: Span,
        content: &str,
        applicability: Applicability,
    ) -> Diagnostic {
        Diagnostic::new("PG101", Severity::Error, "m")
            .at(file, span.clone(), None)
            .with_fix(Fix::replace("t", applicability, span, content))
    }

    #[test]
    fn overlapping_fixes_wait_and_unsafe_ones_need_asking() {
        let file = SourceFile::new("a.json", "{\"a\": \"x\", \"b\": \"y\"}");
        let diagnostics = vec![
            finding(&file, 6..9, "\"1\"", Applicability::Safe),
            finding(&file, 7..8, "z", Applicability::Safe),
            finding(&file, 16..19, "\"2\"", Applicability::Unsafe),
        ];
        let planned = plan(&diagnostics, false);
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].deferred, 1);
        assert_eq!(
            planned[0].apply_to(file.text()),
            "{\"a\": \"1\", \"b\": \"y\"}"
        );
        let planned = plan(&diagnostics, true);
        assert_eq!(
            planned[0].apply_to(file.text()),
            "{\"a\": \"1\", \"b\": \"2\"}"
        );
    }

    fn ignored(text: &str, pointer: &str) -> Option<String> {
        let edit = ignore_edit(text, pointer, "PG101", "why")?;
        Some(apply(text, [&edit]))
    }

    #[test]
    fn an_ignore_goes_first_in_the_innermost_object_indented_like_its_siblings() {
        let text = "{\n  \"a\": {\n    \"namespace\": \"x\",\n    \"b\": [1]\n  }\n}\n";
        assert_eq!(
            ignored(text, "/a/namespace").as_deref(),
            Some(
                "{\n  \"a\": {\n    \"x-planguard\": {\"ignore\": {\"PG101\": \"why\"}},\n    \"namespace\": \"x\",\n    \"b\": [1]\n  }\n}\n"
            )
        );
        // An array element's object is the element; a whole array, its holder.
        assert_eq!(
            ignored(text, "/a/b/0").as_deref(),
            ignored(text, "/a/namespace").as_deref()
        );
        assert_eq!(
            ignored("{\"a\": 1}", "/a").as_deref(),
            Some("{\"x-planguard\": {\"ignore\": {\"PG101\": \"why\"}}, \"a\": 1}")
        );
        assert_eq!(
            ignored("{}", "").as_deref(),
            Some("{\"x-planguard\": {\"ignore\": {\"PG101\": \"why\"}}}")
        );
    }

    #[test]
    fn an_ignore_joins_the_suppression_already_there() {
        let text = "{\n  \"x-planguard\": {\"ignore\": {\"PG105\": \"pinned\"}},\n  \"a\": 1\n}";
        assert_eq!(
            ignored(text, "/a").as_deref(),
            Some(
                "{\n  \"x-planguard\": {\"ignore\": {\"PG101\": \"why\", \"PG105\": \"pinned\"}},\n  \"a\": 1\n}"
            )
        );
        let already = "{\"x-planguard\": {\"ignore\": {\"PG101\": \"r\"}}, \"a\": 1}";
        assert_eq!(ignored(already, "/a"), None);
        assert_eq!(ignored("{\"a\": ", "/a"), None);
    }

    #[test]
    fn no_fix_writes_a_secret_or_fixes_a_finding_about_one() {
        let file = SourceFile::new("a.json", "{\"a\": \"x\"}");
        let secret = finding(
            &file,
            6..9,
            "\"postgres://u:S3cr3t-Pr0d!@db/x?password=S3cr3t-Pr0d!\"",
            Applicability::Safe,
        );
        assert!(offered(&secret).is_none());
        let mut sensitive = finding(&file, 6..9, "\"y\"", Applicability::Safe);
        sensitive.sensitive = true;
        assert!(plan(&[sensitive], true).is_empty());
    }
}
