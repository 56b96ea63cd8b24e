//! Cache: what checking a file found, keyed by its content, so that a check
//! after a small edit only redoes the files that changed (and the cross-file
//! rules only when a file's facts changed).
//!
//! One index per planguard version, policies and settings (their hash names
//! the file) under `.planguard/cache/` at the project root: for each file
//! its content key, size and modification time (unchanged size and time skip
//! reading it), and its diagnostics without their text (spans and pointers,
//! the text is the file's own); beside it `facts/<hash>.json`, each file's
//! entry for the cross-file rules, read only when those rules must run
//! again. A file's entry also holds what the policies' file functions
//! returned (checksums, certificates, refusals) and, when its verdict was
//! judged by the date (a certificate's expiry), that day: it is reused only
//! while every function returns the same and on that day. Results that
//! mention a secret or name another file are never stored, nor any result
//! when a user policy reads the clock (or other built-ins that change from
//! run to run). Writes go to a temporary file
//! renamed into place, so concurrent runs never see half a file; an entry
//! that cannot be read is a miss.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::functions::Reads;
use super::policy::Facts;
use crate::diagnostic::{Diagnostic, Location, Related, Severity};
use crate::source::SourceFile;

/// Bump when what is stored changes meaning.
const FORMAT: u32 = 5;

/// A location without its text: the file's path as shown, the span and pointer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredLocation {
    file: String,
    span: (usize, usize),
    pointer: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredDiagnostic {
    rule: String,
    severity: Severity,
    message: String,
    location: Option<StoredLocation>,
    help: Option<String>,
    url: Option<String>,
    related: Vec<(StoredLocation, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<crate::diagnostic::Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fix: Option<crate::diagnostic::Fix>,
}

/// One file's entry in the index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    /// Content key: policies, settings, the file's context and bytes.
    pub key: String,
    pub len: u64,
    pub modified: u128,
    pub diagnostics: Vec<StoredDiagnostic>,
    /// When the file loaded: the hash of its entry for the cross-file
    /// rules, stored as facts/<hash>.json.
    pub facts: Option<String>,
    /// What the policies' file functions returned while checking it.
    pub reads: Reads,
    /// The day (UTC, days since the epoch) its verdict was judged on, when
    /// it depends on the date.
    pub day: Option<i64>,
    /// Only its facts are known: it was context for the cross-file rules,
    /// and its own rules did not run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub facts_only: bool,
    /// The few fields of its facts that tell whether a check of other,
    /// named files needs them (see `relevant::summary`), so that those
    /// facts are read only when they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProjectEntry {
    /// Hash of every loaded file's facts hash, in order: an edit that leaves
    /// the facts alone does not run the cross-file rules again.
    pub key: String,
    pub diagnostics: Vec<StoredDiagnostic>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Index {
    pub format: u32,
    /// Shared, so that a long-lived cache hands its entries out without
    /// copying them.
    pub files: HashMap<String, Arc<FileEntry>>,
    pub project: Option<ProjectEntry>,
}

/// The cache of one configuration (planguard version, policies, settings).
pub struct Cache {
    store: Store,
    /// Hex hash of the configuration; part of every content key.
    pub config_key: String,
}

/// Where a cache keeps what it knows.
enum Store {
    /// `.planguard/cache/` at the project root: runs of the command line.
    Disk(PathBuf),
    /// The memory of a long-lived process (the language server), which
    /// leaves no files in the user's folder.
    Memory(std::sync::Mutex<Memory>),
}

#[derive(Default)]
struct Memory {
    index: Arc<Index>,
    facts: HashMap<String, Facts>,
}

impl Cache {
    pub fn new(root: &Path, config_key: String) -> Self {
        Self {
            store: Store::Disk(root.join(".planguard").join("cache")),
            config_key,
        }
    }

    /// A cache held in memory only, for as long as it lives.
    pub fn in_memory(config_key: String) -> Self {
        Self {
            store: Store::Memory(std::sync::Mutex::default()),
            config_key,
        }
    }

    /// Make the folder one that git and backup tools pass over, as ruff
    /// does for its cache: a pre-commit hook must not leave new files in the
    /// working tree (pre-commit fails a hook that does).
    fn mark(dir: &Path) {
        let _ = std::fs::create_dir_all(dir);
        for (name, text) in [
            (
                ".gitignore",
                "# Created by planguard: its cache, never committed.\n*\n",
            ),
            (
                "CACHEDIR.TAG",
                "Signature: 8a477f597d28d172789f06886806bc55\n# planguard's cache: see https://bford.info/cachedir/\n",
            ),
        ] {
            let path = dir.join(name);
            if !path.exists() {
                let _ = std::fs::write(path, text);
            }
        }
    }

    fn index_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("index-{}.json", &self.config_key[..16]))
    }

    /// The stored index; empty when absent, unreadable or from another format.
    pub fn load(&self) -> Arc<Index> {
        match &self.store {
            Store::Disk(dir) => Arc::new(
                std::fs::read(self.index_path(dir))
                    .ok()
                    .and_then(|bytes| serde_json::from_slice::<Index>(&bytes).ok())
                    .filter(|index| index.format == FORMAT)
                    .unwrap_or_default(),
            ),
            Store::Memory(memory) => memory.lock().map(|m| m.index.clone()).unwrap_or_default(),
        }
    }

    pub fn save(&self, mut index: Index) {
        index.format = FORMAT;
        match &self.store {
            Store::Disk(dir) => {
                Self::mark(dir);
                if let Ok(bytes) = serde_json::to_vec(&index) {
                    write_atomically(&self.index_path(dir), &bytes);
                }
            }
            Store::Memory(memory) => {
                if let Ok(mut memory) = memory.lock() {
                    // Facts no file refers to any more go with the index.
                    let used: std::collections::HashSet<&String> = index
                        .files
                        .values()
                        .filter_map(|f| f.facts.as_ref())
                        .collect();
                    memory.facts.retain(|key, _| used.contains(key));
                    memory.index = Arc::new(index);
                }
            }
        }
    }

    /// Content key of a file: this configuration, the file's context (path,
    /// kind, environment…, as policies see them) and its bytes.
    pub fn key(&self, context: &str, bytes: &[u8]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.config_key.as_bytes());
        hasher.update((context.len() as u64).to_le_bytes());
        hasher.update(context.as_bytes());
        hasher.update(bytes);
        hex(&hasher.finalize())
    }

    fn facts_path(dir: &Path, key: &str) -> PathBuf {
        dir.join("facts").join(format!("{key}.json"))
    }

    pub fn load_facts(&self, key: &str) -> Option<Facts> {
        match &self.store {
            Store::Disk(dir) => {
                let json = std::fs::read_to_string(Self::facts_path(dir, key)).ok()?;
                // Only as it was written (its hash names it): all the files'
                // facts are read by the cross-file rules in one parse.
                (crate::digest::sha256_hex(json.as_bytes()) == key).then(|| Facts::from_json(json))
            }
            Store::Memory(memory) => memory.lock().ok()?.facts.get(key).cloned(),
        }
    }

    /// Store an entry under the hash of its content; returns that hash.
    pub fn save_facts(&self, entry: &Facts) -> Option<String> {
        let key = entry.hash();
        match &self.store {
            Store::Disk(dir) => {
                let path = Self::facts_path(dir, &key);
                if !path.exists() {
                    write_atomically(&path, entry.as_str().as_bytes());
                }
            }
            Store::Memory(memory) => {
                memory.lock().ok()?.facts.insert(key.clone(), entry.clone());
            }
        }
        Some(key)
    }
}

/// Size and modification time (ns since the epoch) of a file.
pub fn stamp(path: &Path) -> Option<(u64, u128)> {
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((metadata.len(), modified.as_nanos()))
}

/// Diagnostics without their text, or None when one must not be stored: it
/// concerns a secret, or a file `allowed` rejects.
pub fn store(
    diagnostics: &[Diagnostic],
    allowed: impl Fn(&str) -> bool,
) -> Option<Vec<StoredDiagnostic>> {
    let location = |l: &Location| {
        let file = l.file.display_path();
        allowed(&file).then_some(StoredLocation {
            file,
            span: (l.span.start, l.span.end),
            pointer: l.pointer.clone(),
        })
    };
    diagnostics
        .iter()
        .map(|d| {
            if d.sensitive {
                return None;
            }
            Some(StoredDiagnostic {
                rule: d.rule.to_string(),
                severity: d.severity,
                message: d.message.clone(),
                location: match &d.location {
                    Some(l) => Some(location(l)?),
                    None => None,
                },
                help: d.help.clone(),
                url: d.url.clone(),
                related: d
                    .related
                    .iter()
                    .map(|r| Some((location(&r.location)?, r.message.clone())))
                    .collect::<Option<_>>()?,
                failure: d.failure.clone(),
                fix: d.fix.clone(),
            })
        })
        .collect()
}

/// Stored diagnostics with their files' text again, from `source`; None when
/// a file cannot be had.
pub fn restore(
    stored: &[StoredDiagnostic],
    source: impl Fn(&str) -> Option<SourceFile>,
) -> Option<Vec<Diagnostic>> {
    let location = |l: &StoredLocation| {
        Some(Location {
            file: source(&l.file)?,
            span: l.span.0..l.span.1,
            pointer: l.pointer.clone(),
        })
    };
    stored
        .iter()
        .map(|s| {
            Some(Diagnostic {
                rule: crate::diagnostic::RuleId::from_id(s.rule.clone()),
                severity: s.severity,
                message: s.message.clone(),
                location: match &s.location {
                    Some(l) => Some(location(l)?),
                    None => None,
                },
                help: s.help.clone(),
                url: s.url.clone(),
                related: s
                    .related
                    .iter()
                    .map(|(l, message)| {
                        Some(Related {
                            location: location(l)?,
                            message: message.clone(),
                        })
                    })
                    .collect::<Option<_>>()?,
                sensitive: false,
                failure: s.failure.clone(),
                fix: s.fix.clone(),
            })
        })
        .collect()
}

/// Write to a temporary file beside `path`, then rename it into place. A
/// cache that cannot be written is only a slower next run.
fn write_atomically(path: &Path, bytes: &[u8]) {
    use crate::fsutil::Durability;
    let _ = crate::fsutil::write_atomically(path, bytes, Durability::Unsynced);
}

pub use crate::digest::hex;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Applicability, Fix};

    /// Facts are handed to the cross-file rules as the text stored, all
    /// files' in one parse: a file changed on disk (cut short, edited) is a
    /// miss, never text that would fail that parse.
    #[test]
    fn facts_read_back_only_as_they_were_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::new(dir.path(), "0".repeat(64));
        let facts = Facts::of(&serde_json::json!({"path": "a.json", "contents": {"x": [1, 2]}}));
        let key = cache.save_facts(&facts).expect("saved");
        assert_eq!(key, facts.hash());
        let read = cache.load_facts(&key).expect("read back");
        assert_eq!(read.as_str(), facts.as_str());
        let path = Cache::facts_path(&dir.path().join(".planguard").join("cache"), &key);
        for changed in ["{\"path\": \"a.json\", \"contents\": {\"x\": [1,", "{}"] {
            std::fs::write(&path, changed).expect("write");
            assert!(cache.load_facts(&key).is_none(), "{changed}");
        }
    }

    #[test]
    fn a_fix_survives_the_round_trip_through_the_cache() {
        let file = SourceFile::new("a.json", "{\"namespace\": \"x\"}");
        let fixed = Diagnostic::new("PG101", Severity::Error, "m")
            .at(&file, 14..17, Some("/namespace".to_string()))
            .with_fix(Fix::replace("t", Applicability::Unsafe, 14..17, "\"y\""));
        let stored = store(std::slice::from_ref(&fixed), |_| true).expect("storable");
        let json = serde_json::to_string(&stored).expect("serializes");
        let back: Vec<StoredDiagnostic> = serde_json::from_str(&json).expect("deserializes");
        let restored = restore(&back, |_| Some(file.clone())).expect("restorable");
        assert_eq!(restored[0].fix, fixed.fix);
    }
}
