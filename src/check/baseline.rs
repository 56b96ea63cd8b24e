//! A baseline: today's findings, recorded so that a repository adopting
//! planguard fails only on new ones (`check --write-baseline FILE`, then
//! `--baseline FILE` or `[check] baseline` in planguard.toml).
//!
//! Each finding is kept as a fingerprint: its rule, its file (relative to
//! the baseline's folder), its JSON pointer (or its message, for a finding
//! about no value) and the text of the value it is about. An edit above the
//! finding moves its line but changes none of these; a change of the
//! offending value does. The value of a finding about a secret is never part
//! of it — not even hashed: its fingerprint is the rule, file and pointer
//! (and the message, which never quotes the secret). The file holds only
//! fingerprints and the findings' messages as every output shows them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::diagnostic::Diagnostic;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub file: String,
    pub rule: String,
    pub fingerprint: String,
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct File {
    version: u32,
    findings: Vec<Entry>,
}

/// A baseline as read, with the folder its paths are relative to.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub path: PathBuf,
    folder: PathBuf,
    entries: Vec<Entry>,
}

/// What a baseline did to one check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Findings hidden because the baseline has them.
    pub hidden: usize,
    /// Baseline entries for checked (or deleted) files that no finding
    /// matched: fixed since, so the baseline can shrink.
    pub gone: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read the baseline {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the baseline {} is not a planguard baseline: {reason}", .path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("cannot write the baseline {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn folder_of(path: &Path) -> PathBuf {
    absolute(path)
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `path` relative to `folder`, with `/` separators (as given when it is
/// not below it).
fn relative(folder: &Path, path: &Path) -> String {
    let path = absolute(path);
    let shown = path.strip_prefix(folder).unwrap_or(&path);
    shown
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The baseline entry of a finding, paths relative to `folder`.
fn entry(d: &Diagnostic, folder: &Path) -> Entry {
    let mut hasher = Sha256::new();
    let mut part = |text: &str| {
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    };
    part(d.rule.as_str());
    let file = match &d.location {
        Some(location) => {
            let file = relative(folder, location.file.path());
            part(&file);
            match &location.pointer {
                Some(pointer) => part(pointer),
                None => part(&d.message),
            }
            if d.sensitive {
                part(&d.message);
            } else {
                part(
                    location
                        .file
                        .text()
                        .get(location.span.clone())
                        .unwrap_or_default(),
                );
            }
            file
        }
        None => {
            part(&d.message);
            String::new()
        }
    };
    let fingerprint = crate::digest::hex(&hasher.finalize()[..16]);
    Entry {
        file,
        rule: d.rule.as_str().to_string(),
        fingerprint,
        message: d.message.clone(),
    }
}

/// Write the findings as the baseline at `path` (replaced whole); how many.
pub fn write(path: &Path, diagnostics: &[Diagnostic]) -> Result<usize, BaselineError> {
    let folder = folder_of(path);
    let mut findings: Vec<Entry> = diagnostics.iter().map(|d| entry(d, &folder)).collect();
    findings.sort();
    let count = findings.len();
    let mut text = serde_json::to_string_pretty(&File {
        version: 1,
        findings,
    })
    .expect("a baseline serializes");
    text.push('\n');
    crate::fsutil::write_atomically(path, text.as_bytes(), crate::fsutil::Durability::Synced)
        .map_err(|source| BaselineError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(count)
}

impl Baseline {
    pub fn read(path: &Path) -> Result<Self, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file: File = serde_json::from_str(&text).map_err(|e| BaselineError::Invalid {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if file.version != 1 {
            return Err(BaselineError::Invalid {
                path: path.to_path_buf(),
                reason: format!("version {} (this planguard writes version 1)", file.version),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            folder: folder_of(path),
            entries: file.findings,
        })
    }

    /// Hide the findings the baseline holds (each entry hides one finding);
    /// `checked` are the files this check reported on.
    pub fn apply(
        &self,
        diagnostics: Vec<Diagnostic>,
        checked: &[&Path],
    ) -> (Vec<Diagnostic>, Applied) {
        let mut left: BTreeMap<(String, String), usize> = BTreeMap::new();
        for e in &self.entries {
            *left
                .entry((e.file.clone(), e.fingerprint.clone()))
                .or_default() += 1;
        }
        let mut applied = Applied::default();
        let kept = diagnostics
            .into_iter()
            .filter(|d| {
                let e = entry(d, &self.folder);
                match left.get_mut(&(e.file, e.fingerprint)) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        applied.hidden += 1;
                        false
                    }
                    _ => true,
                }
            })
            .collect();
        let checked: std::collections::HashSet<String> =
            checked.iter().map(|p| relative(&self.folder, p)).collect();
        for e in &self.entries {
            let n = left.get_mut(&(e.file.clone(), e.fingerprint.clone()));
            if let Some(n) = n.filter(|n| **n > 0) {
                let deleted = !e.file.is_empty() && !self.folder.join(&e.file).exists();
                if checked.contains(&e.file) || deleted {
                    *n -= 1;
                    applied.gone += 1;
                }
            }
        }
        (kept, applied)
    }
}
