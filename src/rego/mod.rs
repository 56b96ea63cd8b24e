//! The Rego engine as `check` and `planguard test` use it: finding policy
//! files, loading them so that one broken file is one error and the others
//! still run, and the engine's errors as values. The engine reports errors
//! as text (`--> file:line:col` and `error: reason`); that text is read here
//! and nowhere else.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use regorus::Engine;

use crate::source::SourceFile;

/// What went wrong, by the stage it went wrong in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The file is not Rego.
    Parse,
    /// The files parse but do not compile together (an unsafe variable, an
    /// unknown function, conflicting rules).
    Compile,
    /// A rule failed while evaluating.
    Eval,
    /// An evaluation exceeded the time limit.
    Timeout,
}

/// An engine error, located in a policy file when the engine says where.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EngineError {
    pub kind: ErrorKind,
    /// The policy's label (its path as shown), line and column (1-based, the
    /// column in characters).
    pub at: Option<(String, usize, usize)>,
    /// The reason, without the engine's source excerpt; a value the engine
    /// quotes (which may come from a document: a secret) is left out.
    pub reason: String,
}

static ERROR_AT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-->\s*(.+?):(\d+):(\d+)").expect("valid regex"));
static QUOTED_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)Got `.*` instead").expect("valid regex"));

impl EngineError {
    /// Read an error of the engine, raised at the stage `kind`.
    pub fn from_engine(kind: ErrorKind, error: &anyhow::Error) -> Self {
        let message = format!("{error:#}");
        let kind = if message.contains("exceeded time limit") {
            ErrorKind::Timeout
        } else {
            kind
        };
        let at = ERROR_AT.captures(&message).map(|c| {
            (
                c[1].to_string(),
                c[2].parse().unwrap_or(1),
                c[3].parse().unwrap_or(1),
            )
        });
        let last_line = message
            .rsplit_once("error: ")
            .map_or(message.as_str(), |(_, rest)| rest)
            .lines()
            .next()
            .unwrap_or_default()
            .trim();
        let reason = QUOTED_VALUE
            .replace_all(last_line, "got a value of another type")
            .into_owned();
        Self { kind, at, reason }
    }

    /// The policy file it is located in, by label.
    pub fn file(&self) -> Option<&str> {
        self.at.as_ref().map(|(file, _, _)| file.as_str())
    }

    /// Its byte offset in `file`, when it is located there.
    pub fn offset_in(&self, file: &SourceFile) -> Option<usize> {
        let (label, line, column) = self.at.as_ref()?;
        if *label != file.display_path() {
            return None;
        }
        let start = file
            .line_starts()
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let text = &file.text()[start..];
        let within = text
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(text.len(), |(i, _)| i);
        Some(start + within)
    }
}

/// A policy file that loaded, with its package as the engine names it
/// (without `data.`).
#[derive(Debug, Clone)]
pub struct Policy {
    pub file: SourceFile,
    pub package: String,
}

/// A policy file that did not load, or (without a file) the policies as a
/// whole when the engine named no file.
#[derive(Debug, Clone)]
pub struct Failure {
    pub file: Option<SourceFile>,
    pub error: EngineError,
}

/// The policies loaded into one engine.
pub struct Loaded {
    /// Ready to evaluate (prepared once, so that clones do not prepare again).
    pub engine: Engine,
    pub policies: Vec<Policy>,
    pub failures: Vec<Failure>,
}

/// Load `files` into engines from `new_engine` (options, functions and data
/// set): each file is parsed alone first, so that one that does not parse is
/// one failure and the others still run; then all are compiled together,
/// and a file a compile error names is dropped and the rest tried again.
/// A compile error that names no file drops them all.
pub fn load<E>(
    files: Vec<SourceFile>,
    new_engine: impl Fn() -> Result<Engine, E>,
) -> Result<Loaded, E> {
    let mut failures = Vec::new();
    let mut policies = Vec::new();
    for file in files {
        let mut scratch = new_engine()?;
        match scratch.add_policy(file.display_path(), file.text().to_string()) {
            Ok(package) => policies.push(Policy {
                package: package
                    .strip_prefix("data.")
                    .unwrap_or(&package)
                    .to_string(),
                file,
            }),
            Err(e) => failures.push(Failure {
                file: Some(file),
                error: EngineError::from_engine(ErrorKind::Parse, &e),
            }),
        }
    }
    loop {
        let mut engine = new_engine()?;
        let mut failed = None;
        for (index, policy) in policies.iter().enumerate() {
            if let Err(e) =
                engine.add_policy(policy.file.display_path(), policy.file.text().to_string())
            {
                failed = Some((
                    EngineError::from_engine(ErrorKind::Compile, &e),
                    Some(index),
                ));
                break;
            }
        }
        let (error, culprit) = match failed {
            Some(failed) => failed,
            None => match engine.eval_query("true".to_string(), false) {
                Ok(_) => {
                    return Ok(Loaded {
                        engine,
                        policies,
                        failures,
                    });
                }
                Err(e) => {
                    let error = EngineError::from_engine(ErrorKind::Compile, &e);
                    let culprit = error.file().and_then(|label| {
                        policies.iter().position(|p| p.file.display_path() == label)
                    });
                    (error, culprit)
                }
            },
        };
        match culprit {
            Some(index) => {
                let policy = policies.remove(index);
                failures.push(Failure {
                    file: Some(policy.file),
                    error,
                });
            }
            None => {
                failures.push(Failure { file: None, error });
                policies.clear();
            }
        }
    }
}

/// The code of a Rego source without its comments and the contents of its
/// strings, for tests of what the code names.
pub fn code_only(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                // A comment runs to the end of the line.
                if chars.by_ref().any(|c| c == '\n') {
                    code.push('\n');
                }
            }
            '"' | '`' => {
                code.push(c);
                while let Some(inner) = chars.next() {
                    if inner == c {
                        code.push(c);
                        break;
                    }
                    if c == '"' && inner == '\\' {
                        chars.next();
                    }
                }
            }
            _ => code.push(c),
        }
    }
    code
}

/// The `.rego` files at `path` (a file, or a folder walked in name order);
/// `_test.rego` files only when `tests`. An unreadable path is the error,
/// with the path that failed.
pub fn files(path: &Path, tests: bool) -> Result<Vec<PathBuf>, (PathBuf, std::io::Error)> {
    let metadata = std::fs::metadata(path).map_err(|e| (path.to_path_buf(), e))?;
    if metadata.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(path)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let failed = e.path().unwrap_or(path).to_path_buf();
            let error = e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("symbolic link loop"));
            (failed, error)
        })?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file()
            && name.ends_with(".rego")
            && (tests || !name.ends_with("_test.rego"))
        {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Result<Engine, std::convert::Infallible> {
        Ok(Engine::new())
    }

    #[test]
    fn a_broken_file_is_one_failure_and_the_others_load() {
        let files = vec![
            SourceFile::new("a.rego", "package team.a\n\nx := 1\n".to_string()),
            SourceFile::new("b.rego", "package b\n\nx := \n".to_string()),
            SourceFile::new(
                "c.rego",
                "package c\nimport rego.v1\n\ny if { z }\n".to_string(),
            ),
        ];
        let loaded = load(files, engine).expect("infallible");
        let packages: Vec<&str> = loaded.policies.iter().map(|p| p.package.as_str()).collect();
        assert_eq!(packages, ["team.a"]);
        let failed: Vec<(Option<String>, ErrorKind, Option<&str>)> = loaded
            .failures
            .iter()
            .map(|f| {
                (
                    f.file.as_ref().map(SourceFile::display_path),
                    f.error.kind,
                    f.error.file(),
                )
            })
            .collect();
        assert_eq!(
            failed,
            [
                (Some("b.rego".to_string()), ErrorKind::Parse, Some("b.rego")),
                (
                    Some("c.rego".to_string()),
                    ErrorKind::Compile,
                    Some("c.rego")
                ),
            ]
        );
        let c = &loaded.failures[1];
        let file = c.file.as_ref().expect("located");
        let offset = c.error.offset_in(file).expect("in c.rego");
        assert_eq!(&file.text()[offset..offset + 1], "z", "{:?}", c.error);
    }

    #[test]
    fn quoted_values_never_reach_the_reason() {
        let error = anyhow::anyhow!(
            "--> p.rego:3:5\n  |\n3 | x := upper(input.a)\n  |     ^\nerror: `upper` expects string argument. Got `hunter2-secret` instead"
        );
        let read = EngineError::from_engine(ErrorKind::Eval, &error);
        assert_eq!(read.kind, ErrorKind::Eval);
        assert_eq!(read.at, Some(("p.rego".to_string(), 3, 5)));
        assert!(!read.reason.contains("hunter2"), "{}", read.reason);
        let timeout = anyhow::anyhow!("execution exceeded time limit of 1ms");
        assert_eq!(
            EngineError::from_engine(ErrorKind::Eval, &timeout).kind,
            ErrorKind::Timeout
        );
    }
}
