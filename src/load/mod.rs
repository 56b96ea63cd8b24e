//! Load: read a file's bytes, parse them as JSON and keep the text, so that any
//! JSON pointer can be turned back into a line and column. Unreadable, non-UTF-8
//! and malformed files become diagnostics, never aborts.

pub mod data;
pub mod spans;
pub mod yaml;

use std::io::Read;

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::discover::{Candidate, Kind};
use crate::rules;
use crate::source::{SourceFile, Span};

/// A parsed document and what is known about it.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: SourceFile,
    pub kind: Option<Kind>,
    pub workspace: Option<String>,
    pub env: Option<String>,
    pub build: Option<String>,
    pub value: Value,
}

/// Where a pointer lands in a document's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// What a diagnostic underlines: the value for a scalar; for an object or
    /// array its key (or its opening bracket when it has none), so that a
    /// finding about a whole section does not underline fifty lines.
    pub span: Span,
    /// The pointer actually resolved: the requested one, or its deepest
    /// existing ancestor when the requested location does not exist.
    pub pointer: String,
    pub exact: bool,
}

impl Document {
    pub fn locate(&self, pointer: &str) -> Target {
        locate(&self.file, pointer)
    }
}

pub fn locate(file: &SourceFile, pointer: &str) -> Target {
    let (located, matched) = spans::locate_nearest(file.text(), pointer);
    let tokens: Vec<&str> = pointer.split('/').skip(1).collect();
    let exact = matched == tokens.len();
    let resolved = if exact {
        pointer.to_string()
    } else {
        tokens[..matched]
            .iter()
            .map(|t| format!("/{t}"))
            .collect::<String>()
    };
    let text = file.text();
    let value = located.value.clone();
    let is_container = matches!(text.as_bytes().get(value.start), Some(b'{' | b'['));
    let span = if is_container {
        located.key.unwrap_or(value.start..value.start + 1)
    } else {
        value
    };
    Target {
        span,
        pointer: resolved,
        exact,
    }
}

/// Read a file, refusing ones larger than `max_size` bytes before reading them whole.
pub fn read(candidate: &Candidate, max_size: u64) -> Result<SourceFile, Box<Diagnostic>> {
    let unreadable = |message: String| {
        Box::new(Diagnostic::builtin(&rules::UNREADABLE_FILE, message).at(
            &SourceFile::new(&candidate.path, String::new()),
            0..0,
            None,
        ))
    };
    let file = open(&candidate.path).map_err(|e| {
        let dangling = e.kind() == std::io::ErrorKind::NotFound
            && candidate
                .path
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink());
        unreadable(if dangling {
            "cannot read the file: it is a symbolic link to a file that does not exist".to_string()
        } else {
            format!("cannot read the file: {}", io_reason(&e))
        })
    })?;
    let metadata = file
        .metadata()
        .map_err(|e| unreadable(format!("cannot read the file: {}", io_reason(&e))))?;
    if !metadata.is_file() {
        return Err(unreadable(
            "not a regular file (a named pipe, socket or device); it was not read".to_string(),
        ));
    }
    let too_large = || unreadable(too_large(max_size));
    if metadata.len() > max_size {
        return Err(too_large());
    }
    // Room for the whole file and the byte that tells it ended: one read,
    // rather than a buffer doubled read after read. The file may grow
    // between the size check and the read.
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).map_or(0, |n| n + 1));
    file.take(max_size + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(format!("cannot read the file: {}", io_reason(&e))))?;
    if bytes.len() as u64 > max_size {
        return Err(too_large());
    }
    if let Some(offset) = bytes.iter().position(|b| *b == 0) {
        // NUL is valid UTF-8 but never JSON text: the file is binary.
        let file = SourceFile::new(&candidate.path, String::from_utf8_lossy(&bytes[..offset]));
        return Err(Box::new(
            Diagnostic::builtin(
                &rules::INVALID_ENCODING,
                format!("a NUL byte at offset {offset}: this is a binary file, not JSON text"),
            )
            .at(&file, offset..offset, None)
            .with_help("configs and plans are UTF-8 JSON text"),
        ));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(&candidate.path, text)),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let bad = e.as_bytes().get(offset).copied().unwrap_or(0);
            let file = SourceFile::new(&candidate.path, String::from_utf8_lossy(e.as_bytes()));
            Err(Box::new(Diagnostic::builtin(
                &rules::INVALID_ENCODING,
                format!("the file is not valid UTF-8: byte 0x{bad:02X} cannot start or continue a character here"),
            )
            .at(&file, offset..offset + '\u{FFFD}'.len_utf8(), None)
            .with_help("save the file as UTF-8 (JSON text must be UTF-8, RFC 8259 §8.1)")))
        }
    }
}

/// Open for reading without blocking on a named pipe that has no writer, so
/// that a FIFO named like a plan is reported rather than waited on forever.
fn open(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

fn too_large(max_size: u64) -> String {
    format!(
        "the file is larger than the {max_size}-byte limit (files.max-file-size in planguard.toml)"
    )
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Read and parse one file: the document when it loads, and what loading it found.
pub fn load(candidate: &Candidate, max_size: u64) -> (Option<Document>, Vec<Diagnostic>) {
    match read(candidate, max_size) {
        Ok(file) => parse(file, candidate),
        Err(diagnostic) => (None, vec![*diagnostic]),
    }
}

/// Text already in memory (an editor's unsaved buffer) as if it had been
/// read from the candidate's path: under the same size limit.
pub fn accept(
    candidate: &Candidate,
    text: SourceFile,
    max_size: u64,
) -> Result<SourceFile, Box<Diagnostic>> {
    if text.text().len() as u64 > max_size {
        let empty = SourceFile::new(&candidate.path, String::new());
        return Err(Box::new(
            Diagnostic::builtin(&rules::UNREADABLE_FILE, too_large(max_size)).at(
                &empty,
                0..0,
                None,
            ),
        ));
    }
    Ok(text)
}

/// Parse a file's text. A syntax error yields no document; duplicate keys
/// yield both the document (with the last value, as every JSON parser keeps)
/// and a diagnostic per duplicate.
pub fn parse(file: SourceFile, candidate: &Candidate) -> (Option<Document>, Vec<Diagnostic>) {
    let text = file.text();
    // A UTF-8 byte order mark is allowed (RFC 8259 §8.1 lets parsers ignore it);
    // blank it out rather than slice it off so that offsets stay the file's own.
    let value = match text.strip_prefix('\u{FEFF}') {
        Some(rest) => serde_json::from_str::<Value>(&format!("   {rest}")),
        None => serde_json::from_str::<Value>(text),
    };
    let mut value = match value {
        Ok(value) => value,
        Err(e) => return (None, vec![syntax_error(&file, &e)]),
    };
    let mut diagnostics = crate::check::suppress::extract(&mut value, &file);
    for dup in spans::duplicate_keys(text) {
        let first = crate::diagnostic::Location {
            file: file.clone(),
            span: dup.first.clone(),
            pointer: Some(dup.pointer.clone()),
        };
        diagnostics.push(
            Diagnostic::builtin(
                &rules::DUPLICATE_KEY,
                format!("duplicate key `{}`; only this last value is used", dup.key),
            )
            .at(&file, dup.duplicate.clone(), Some(dup.pointer.clone()))
            .with_related(first, "first defined here")
            .with_help("remove one of the two members"),
        );
    }

    let kind = candidate.kind.or_else(|| kind_by_content(&value));
    let env = candidate.env.clone().or_else(|| {
        value
            .get("environment")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    if kind.is_none() {
        diagnostics.push(
            Diagnostic::builtin(
                &rules::UNCLASSIFIED_FILE,
                "neither an ingestion config nor an orchestration plan; only policies were applied",
            )
            .at(&file, 0..0, None)
            .with_help("name it conf/<env>.json or orchestration_plans/<env>/<build>.json, or change [files] in planguard.toml"),
        );
    }
    let document = Document {
        file,
        kind,
        workspace: candidate.workspace.clone(),
        env,
        build: candidate.build.clone(),
        value,
    };
    (Some(document), diagnostics)
}

/// For files given explicitly under an unusual name: a plan has a schedule id
/// and a plan version, a config its `runtime` section.
fn kind_by_content(value: &Value) -> Option<Kind> {
    let object = value.as_object()?;
    if object.contains_key("plan_version") || object.contains_key("schedule_id") {
        Some(Kind::Plan)
    } else if object.contains_key("runtime") {
        Some(Kind::Config)
    } else {
        None
    }
}

fn syntax_error(file: &SourceFile, e: &serde_json::Error) -> Diagnostic {
    let text = file.text();
    // serde_json says where after what: the position is shown separately.
    let message = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let message = message
        .strip_suffix(&position)
        .map_or_else(|| message.clone(), str::to_string);
    let message = if text.trim_start_matches('\u{FEFF}').trim().is_empty() {
        "the file is empty; a JSON document was expected".to_string()
    } else {
        message
    };
    // serde_json counts lines from 1 and columns in bytes from 1 (0 before the
    // first byte of a line).
    let line_start = file
        .line_starts()
        .get(e.line().saturating_sub(1))
        .copied()
        .unwrap_or(text.len());
    let offset = file.clamp(line_start + e.column().saturating_sub(1));
    let end = text[offset..]
        .chars()
        .next()
        .map_or(offset, |c| offset + c.len_utf8());
    if message.starts_with("recursion limit exceeded") {
        return Diagnostic::builtin(
            &rules::UNREADABLE_FILE,
            "the document nests values more than 128 levels deep, deeper than planguard reads",
        )
        .at(file, offset..end, None)
        .with_help("configs and plans are shallow; a structure this deep is generated by mistake or hostile");
    }
    if let Some(diagnostic) = explained(file, offset, end) {
        return diagnostic;
    }
    let help = match e.classify() {
        serde_json::error::Category::Eof => {
            "the document ends early: a bracket or quote is not closed"
        }
        _ => {
            "JSON does not allow trailing commas, comments or single quotes; check the punctuation before this point"
        }
    };
    let mut diagnostic = Diagnostic::builtin(&rules::INVALID_JSON, message.clone())
        .at(file, offset..end, None)
        .with_help(help);
    // serde_json stops at the member after a missing comma; show where the
    // comma belongs, at the end of the previous value.
    if message.starts_with("expected `,` or") {
        let before = text[..offset].trim_end();
        if let Some(last) = before.chars().next_back() {
            let at = before.len() - last.len_utf8();
            diagnostic = diagnostic.with_related(
                crate::diagnostic::Location {
                    file: file.clone(),
                    span: at..before.len(),
                    pointer: None,
                },
                "a `,` is probably missing after this",
            );
        }
    }
    diagnostic
}

/// The usual ways a hand-written or generated file is "almost JSON" —
/// comments, single quotes, half a UTF-16 pair — named for what they are
/// rather than by the parser's next expectation.
fn explained(file: &SourceFile, offset: usize, end: usize) -> Option<Diagnostic> {
    let text = file.text();
    let rest = &text[offset..];
    let at = |message: &str, span: Span, help: &str| {
        Some(
            Diagnostic::builtin(&rules::INVALID_JSON, message.to_string())
                .at(file, span, None)
                .with_help(help.to_string()),
        )
    };
    if rest.starts_with("//") || rest.starts_with("/*") {
        let len = rest.find('\n').unwrap_or(rest.len()).min(2);
        return at(
            "a comment: JSON has no comments",
            offset..offset + len,
            "remove the comment, or keep notes in a \"description\" field",
        );
    }
    if rest.starts_with('\'') {
        return at(
            "a single-quoted string: JSON strings and keys take double quotes",
            offset..end,
            "write \"…\" instead of '…'",
        );
    }
    // serde_json reports a lone surrogate where it expected the second half
    // of the pair: just after the `\uD8xx` escape, or inside a second escape.
    let mut from = offset.saturating_sub(14);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let window = &text[from..offset.min(text.len())];
    for (i, _) in window.rmatch_indices("\\u") {
        let start = from + i;
        let hex = text.get(start + 2..start + 6).unwrap_or_default();
        if let Ok(unit) = u16::from_str_radix(hex, 16)
            && (0xD800..0xE000).contains(&unit)
        {
            return at(
                &format!(
                    "a lone surrogate `\\u{hex}`: a JSON string cannot hold half a UTF-16 pair"
                ),
                start..start + 6,
                "escape the whole character (a high surrogate \\uD800–\\uDBFF followed by a low one \\uDC00–\\uDFFF), or write it as UTF-8",
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn candidate(path: &str) -> Candidate {
        Candidate {
            path: PathBuf::from(path),
            kind: Some(Kind::Config),
            workspace: Some(String::new()),
            env: Some("dev".into()),
            build: None,
            explicit: false,
        }
    }

    fn parse_text(text: &str) -> (Option<Document>, Vec<Diagnostic>) {
        parse(
            SourceFile::new("conf/dev.json", text),
            &candidate("conf/dev.json"),
        )
    }

    #[test]
    fn syntax_errors_point_at_the_offending_character() {
        let (doc, diags) = parse_text("{\n  \"a\": 1\n  \"b\": 2\n}");
        assert!(doc.is_none());
        let location = diags[0].location.as_ref().expect("located");
        assert_eq!(location.file.line_col(location.span.start).line, 3);
        assert_eq!(&location.file.text()[location.span.clone()], "\"");
        assert_eq!(diags[0].rule, "PG001");
    }

    #[test]
    fn empty_files_say_so() {
        let (_, diags) = parse_text("");
        assert_eq!(
            diags[0].message,
            "the file is empty; a JSON document was expected"
        );
    }

    #[test]
    fn a_byte_order_mark_is_accepted_and_offsets_stay_true() {
        let (doc, diags) = parse_text("\u{FEFF}{\"a\": {\"a\": 1, \"a\": 2}}");
        let doc = doc.expect("parsed");
        assert_eq!(doc.value["a"]["a"], 2);
        let location = diags[0].location.as_ref().expect("located");
        assert_eq!(&doc.file.text()[location.span.clone()], "\"a\"");
        assert_eq!(location.pointer.as_deref(), Some("/a/a"));
    }

    #[test]
    fn containers_are_located_by_their_key_and_missing_paths_by_their_ancestor() {
        let (doc, _) = parse_text("{\"runtime\": {\n\"x\": 1}}");
        let doc = doc.expect("parsed");
        let target = doc.locate("/runtime");
        assert_eq!(&doc.file.text()[target.span.clone()], "\"runtime\"");
        let missing = doc.locate("/runtime/orchestration/temporal");
        assert!(!missing.exact);
        assert_eq!(missing.pointer, "/runtime");
    }

    #[test]
    fn deep_nesting_is_a_diagnostic_not_a_crash() {
        let text = "[".repeat(100_000) + &"]".repeat(100_000);
        let (doc, diags) = parse_text(&text);
        assert!(doc.is_none());
        assert_eq!(diags[0].rule, "PG004");
        assert!(
            diags[0].message.contains("128 levels"),
            "{}",
            diags[0].message
        );
    }
}
