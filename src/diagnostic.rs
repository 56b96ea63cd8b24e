//! The one currency of planguard: every load error, schema error, policy
//! finding and cross-file finding is a `Diagnostic`; a `Report` is a run's worth
//! of them and decides the exit status.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::rules::Rule;
use crate::source::{SourceFile, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a diagnostic points: a file, and within it a byte range and the JSON
/// pointer the range was resolved from.
#[derive(Debug, Clone)]
pub struct Location {
    pub file: SourceFile,
    pub span: Span,
    pub pointer: Option<String>,
}

/// A secondary place that explains a diagnostic (the first of two duplicate
/// keys, the same setting in another environment's file).
#[derive(Debug, Clone)]
pub struct Related {
    pub location: Location,
    pub message: String,
}

/// Which rule a finding is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleId {
    /// A `PG…` rule, with what renderers need to know of it.
    Builtin(&'static Rule),
    /// A user policy's own id, or `<package>.<rule>`.
    User(String),
}

impl RuleId {
    /// A built-in rule when `id` is one's code, else a user rule.
    pub fn from_id(id: impl Into<String>) -> Self {
        let id = id.into();
        match crate::rules::by_code(&id) {
            Some(rule) => RuleId::Builtin(rule),
            None => RuleId::User(id),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            RuleId::Builtin(rule) => rule.code,
            RuleId::User(id) => id,
        }
    }

    pub fn builtin(&self) -> Option<&'static Rule> {
        match self {
            RuleId::Builtin(rule) => Some(rule),
            RuleId::User(_) => None,
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Stable rule id: `PG…` for built-in rules, the policy's own id or
    /// `<package>.<rule>` for user policies.
    pub rule: RuleId,
    pub severity: Severity,
    pub message: String,
    /// None for findings that concern no particular file.
    pub location: Option<Location>,
    pub help: Option<String>,
    pub url: Option<String>,
    pub related: Vec<Related>,
    /// The located text is a secret: every output shows it masked.
    pub sensitive: bool,
    /// For a policy that failed on a file: which rule, on which file, why;
    /// the same failure on many files is reported once.
    pub failure: Option<Failure>,
    /// The edit that fixes it, when the help line names one exactly
    /// (`check --fix`, the editor's quick fix).
    pub fix: Option<Fix>,
}

/// Whether a fix may be applied without a person looking at it: safe fixes
/// make the file say what planguard already knows it must say; unsafe ones
/// change what the file attests (a checksum) and apply only with
/// `--unsafe-fixes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    Unsafe,
    Safe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// One replacement in the text of the diagnostic's file: the bytes of
/// `span` become `content`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub span: Span,
    pub content: String,
}

/// A machine-readable fix: edits in the file of the diagnostic's location,
/// applied together or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// What it does, e.g. `replace with "ingestion-uat"`.
    pub title: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
}

impl Fix {
    /// One replacement.
    pub fn replace(
        title: impl Into<String>,
        applicability: Applicability,
        span: Span,
        content: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            applicability,
            edits: vec![Edit {
                span,
                content: content.into(),
            }],
        }
    }

    /// Whether `--fix` applies it (`unsafe_fixes`: with `--unsafe-fixes`).
    pub fn applies(&self, unsafe_fixes: bool) -> bool {
        unsafe_fixes || self.applicability == Applicability::Safe
    }
}

/// A policy rule that failed while checking a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// `data.<package>.<rule>`.
    pub rule: String,
    /// The file being checked, as shown.
    pub subject: String,
    pub reason: String,
}

impl Diagnostic {
    pub fn new(rule: impl Into<String>, severity: Severity, message: impl Into<String>) -> Self {
        let rule = RuleId::from_id(rule);
        let url = rule.builtin().and_then(|r| crate::rules::doc_url(r.code));
        Self {
            sensitive: rule.builtin().is_some_and(|r| r.sensitive),
            rule,
            severity,
            message: message.into(),
            location: None,
            help: None,
            url,
            related: Vec::new(),
            failure: None,
            fix: None,
        }
    }

    /// A diagnostic for a built-in rule, at that rule's default severity.
    pub fn builtin(rule: &'static Rule, message: impl Into<String>) -> Self {
        Self::new(rule.code, rule.severity, message)
    }

    pub fn at(mut self, file: &SourceFile, span: Span, pointer: Option<String>) -> Self {
        self.location = Some(Location {
            file: file.clone(),
            span,
            pointer,
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    pub fn with_related(mut self, location: Location, message: impl Into<String>) -> Self {
        self.related.push(Related {
            location,
            message: message.into(),
        });
        self
    }

    pub fn path(&self) -> Option<String> {
        self.location.as_ref().map(|l| l.file.display_path())
    }

    /// The key output is sorted by, so that reports are identical whatever the
    /// thread count: file, position, then rule and message.
    fn sort_key(&self) -> (Option<String>, usize, usize, &str, &str) {
        match &self.location {
            Some(l) => (
                Some(l.file.display_path()),
                l.span.start,
                l.span.end,
                self.rule.as_str(),
                &self.message,
            ),
            None => (None, 0, 0, self.rule.as_str(), &self.message),
        }
    }
}

/// One line of `check --profile`: a rule or a stage of the check, how many
/// times it ran and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileRow {
    /// `data.<package>.<rule>` for a rule, `data.<package>` for all the rules
    /// of a package together, or a stage of the check (`read and parse`,
    /// `schema`, …).
    pub name: String,
    /// How many times it ran (once per document for per-document rules).
    pub count: u64,
    pub total_ms: f64,
    pub mean_ms: f64,
    /// Its part of everything measured, 0–1 (a package's row repeats its
    /// rules' time, so it is not part of the whole).
    pub share: f64,
}

/// Everything one run found, sorted, plus what the summary line needs.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    pub files_checked: usize,
    pub elapsed: Duration,
    /// Where the time went, when profiled (`check --profile`).
    pub profile: Vec<ProfileRow>,
    /// What a baseline hid, when one applied.
    pub baseline: Option<crate::check::baseline::Applied>,
}

impl Report {
    pub fn new(mut diagnostics: Vec<Diagnostic>, files_checked: usize, elapsed: Duration) -> Self {
        for d in &mut diagnostics {
            shorten(&mut d.message);
            for related in &mut d.related {
                shorten(&mut related.message);
            }
        }
        diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        diagnostics.dedup_by(|a, b| a.sort_key() == b.sort_key() && a.severity == b.severity);
        Self {
            diagnostics,
            files_checked,
            elapsed,
            profile: Vec::new(),
            baseline: None,
        }
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    /// Whether the run found anything at or above the failing level.
    pub fn has_failures(&self, fail_on_warn: bool) -> bool {
        let threshold = if fail_on_warn {
            Severity::Warning
        } else {
            Severity::Error
        };
        self.diagnostics.iter().any(|d| d.severity >= threshold)
    }

    /// "Checked 12 files in 0.04s: 2 errors, 1 warning."
    pub fn summary(&self) -> String {
        let errors = self.count(Severity::Error);
        let warnings = self.count(Severity::Warning);
        let files = plural(self.files_checked, "file");
        let time = format!("{:.2}s", self.elapsed.as_secs_f64());
        let found = if errors == 0 && warnings == 0 {
            "no problems found".to_string()
        } else {
            format!(
                "{}, {}",
                plural(errors, "error"),
                plural(warnings, "warning")
            )
        };
        let baseline = match self.baseline {
            None => String::new(),
            Some(b) if b.gone == 0 => format!(" ({} in the baseline)", b.hidden),
            Some(b) => format!(
                " ({} in the baseline; {} of its entries no longer found: write it again with --write-baseline to shrink it)",
                b.hidden, b.gone
            ),
        };
        format!("Checked {files} in {time}: {found}{baseline}.")
    }
}

/// Longer messages are cut: a policy quoting a 10 MB value must not make a
/// 10 MB report line.
pub const MAX_MESSAGE_CHARS: usize = 1000;

fn shorten(message: &mut String) {
    if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
        let rest = message[cut..].chars().count();
        message.truncate(cut);
        message.push_str(&format!("… ({rest} more characters)"));
    }
}

pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(file: &SourceFile, start: usize, rule: &str, severity: Severity) -> Diagnostic {
        Diagnostic::new(rule, severity, "m").at(file, start..start + 1, None)
    }

    #[test]
    fn reports_sort_by_file_then_position_whatever_the_input_order() {
        let a = SourceFile::new("a.json", "{}");
        let b = SourceFile::new("b.json", "{}");
        let report = Report::new(
            vec![
                diag(&b, 0, "PG1", Severity::Error),
                diag(&a, 1, "PG1", Severity::Error),
                diag(&a, 0, "PG2", Severity::Warning),
            ],
            2,
            Duration::ZERO,
        );
        let order: Vec<_> = report
            .diagnostics
            .iter()
            .map(|d| {
                (
                    d.path().unwrap_or_default(),
                    d.location.as_ref().map(|l| l.span.start),
                )
            })
            .collect();
        assert_eq!(
            order,
            vec![
                ("a.json".to_string(), Some(0)),
                ("a.json".to_string(), Some(1)),
                ("b.json".to_string(), Some(0))
            ]
        );
    }

    #[test]
    fn warnings_fail_only_with_fail_on_warn() {
        let a = SourceFile::new("a.json", "{}");
        let report = Report::new(
            vec![diag(&a, 0, "PG1", Severity::Warning)],
            1,
            Duration::ZERO,
        );
        assert!(!report.has_failures(false));
        assert!(report.has_failures(true));
        assert_eq!(
            report.summary(),
            "Checked 1 file in 0.00s: 0 errors, 1 warning."
        );
    }
}
