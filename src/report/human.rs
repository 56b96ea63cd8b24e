//! `human`: rich diagnostics with the offending value underlined in its
//! source, a help line and the rule's documentation link, then a summary.

use codespan_reporting::diagnostic::{Diagnostic as Rendered, Label, Severity as Level};
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::{self, termcolor};

use crate::diagnostic::{Diagnostic, Report, Severity};
use crate::source::SourceFile;

/// The files of one report, addressed by index, without copying their text.
#[derive(Default)]
struct FileDb {
    files: Vec<SourceFile>,
}

impl FileDb {
    fn id(&mut self, file: &SourceFile) -> usize {
        if let Some(i) = self.files.iter().position(|f| f.path() == file.path()) {
            return i;
        }
        self.files.push(file.clone());
        self.files.len() - 1
    }

    fn get(&self, id: usize) -> Result<&SourceFile, FilesError> {
        self.files.get(id).ok_or(FilesError::FileMissing)
    }
}

impl<'a> Files<'a> for FileDb {
    type FileId = usize;
    type Name = String;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<String, FilesError> {
        Ok(self.get(id)?.display_path())
    }

    fn source(&'a self, id: usize) -> Result<&'a str, FilesError> {
        Ok(self.get(id)?.text())
    }

    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, FilesError> {
        Ok(self.get(id)?.line_index(byte_index))
    }

    fn line_range(
        &'a self,
        id: usize,
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, FilesError> {
        let file = self.get(id)?;
        let starts = file.line_starts();
        let start = *starts.get(line_index).ok_or(FilesError::LineTooLarge {
            given: line_index,
            max: starts.len() - 1,
        })?;
        let end = starts
            .get(line_index + 1)
            .copied()
            .unwrap_or(file.text().len());
        Ok(start..end)
    }
}

fn level(severity: Severity) -> Level {
    match severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
        Severity::Info => Level::Note,
    }
}

/// Lines longer than this are not shown in snippets (a minified plan is one
/// line of megabytes); the place is given as text instead.
const MAX_SHOWN_LINE: usize = 500;

/// Whether every line a span touches is short enough to show.
fn showable(file: &SourceFile, span: &std::ops::Range<usize>) -> bool {
    let starts = file.line_starts();
    let first = file.line_index(span.start);
    let last = file.line_index(span.end);
    (first..=last).all(|i| {
        let start = starts.get(i).copied().unwrap_or(file.text().len());
        let end = starts.get(i + 1).copied().unwrap_or(file.text().len());
        end - start <= MAX_SHOWN_LINE
    })
}

fn place(file: &SourceFile, offset: usize) -> String {
    let at = file.line_col(offset);
    format!("{}:{}:{}", file.display_path(), at.line, at.column)
}

fn convert(db: &mut FileDb, d: &Diagnostic) -> Rendered<usize> {
    let mut labels = Vec::new();
    let mut places = Vec::new();
    if let Some(location) = &d.location {
        let file = &location.file;
        let span = file.clamp(location.span.start)..file.clamp(location.span.end);
        if showable(file, &span) {
            let id = db.id(file);
            labels.push(Label::primary(id, span));
        } else {
            places.push(format!(
                "--> {} (the line is too long to show)",
                place(file, span.start)
            ));
        }
    }
    for related in &d.related {
        let file = &related.location.file;
        let span = file.clamp(related.location.span.start)..file.clamp(related.location.span.end);
        if showable(file, &span) {
            let id = db.id(file);
            labels.push(Label::secondary(id, span).with_message(&related.message));
        } else {
            places.push(format!("{}: {}", related.message, place(file, span.start)));
        }
    }
    let mut notes = places;
    if let Some(pointer) = d.location.as_ref().and_then(|l| l.pointer.as_deref())
        && !pointer.is_empty()
    {
        notes.push(format!("at: {pointer}"));
    }
    if let Some(help) = &d.help {
        notes.push(format!("help: {help}"));
    }
    if let Some(url) = &d.url {
        notes.push(format!("see: {url}"));
    }
    Rendered::new(level(d.severity))
        .with_code(&d.rule)
        .with_message(&d.message)
        .with_labels(labels)
        .with_notes(notes)
}

pub fn render(report: &Report, color: bool) -> Vec<u8> {
    let config = term::Config::default();
    let mut db = FileDb::default();
    let rendered: Vec<_> = report
        .diagnostics
        .iter()
        .map(|d| convert(&mut db, d))
        .collect();
    let mut buffer = if color {
        termcolor::Buffer::ansi()
    } else {
        termcolor::Buffer::no_color()
    };
    for diagnostic in &rendered {
        // The database holds every file a diagnostic names, so this cannot
        // fail; if it somehow does, fall back to the one-line form.
        if term::emit_to_write_style(&mut buffer, &config, &db, diagnostic).is_err() {
            use std::io::Write as _;
            let code = diagnostic.code.as_deref().unwrap_or_default();
            // Writing into an in-memory buffer cannot fail.
            let _ = writeln!(buffer, "[{code}]: {}", diagnostic.message);
        }
    }
    let mut bytes = buffer.into_inner();
    bytes.extend_from_slice(report.summary().as_bytes());
    bytes.push(b'\n');
    bytes
}
