//! Cache: what checking a file found, keyed by its content, so that a check
//! after a small edit only redoes the files that changed (and the cross-file
//! rules only when a file's facts changed).
//!
//! One index per planguard version, policies and settings (their hash names
//! the file) under `.planguard/cache/` at the project root: for each file
//! its content key, size and modification time (unchanged size and time skip
//! reading it), and its diagnostics without their text (spans and pointers,
//! the text is the file's own); beside it, in `facts/`, each file's entry
//! for the cross-file rules, read only when those rules must run again. The
//! facts new in a run are written as one pack (`<config>-<hash>.pack`, the
//! texts one after the other, each file's place kept in its entry): one file per
//! run rather than one per checked file, which at thousands of files cost a
//! check that fills the cache more system time than its rules took. Packs
//! the index no longer names are removed, and many small ones (a hook's
//! runs, one edit each) are merged into one; other configurations' indexes
//! and packs are removed but for the few written last. A file's entry also
//! holds what the policies' file functions
//! returned (checksums, certificates, refusals) and, when its verdict was
//! judged by the date (a certificate's expiry), that day: it is reused only
//! while every function returns the same and on that day. Results that
//! mention a secret or name another file are never stored, nor any result
//! when a user policy reads the clock (or other built-ins that change from
//! run to run). Writes go to a temporary file
//! renamed into place, so concurrent runs never see half a file; an entry
//! that cannot be read is a miss.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::functions::Reads;
use super::policy::Facts;
use crate::diagnostic::{Diagnostic, Location, Related, Severity};
use crate::source::SourceFile;

/// Bump when what is stored changes meaning.
const FORMAT: u32 = 7;

/// More packs than this for one configuration are merged into one.
const MAX_PACKS: usize = 8;

/// Other configurations whose index and packs are kept beside this one's:
/// the most recently written, so that going back and forth between a few
/// branches or settings keeps their results, while each edit of a policy
/// or new build of planguard no longer leaves a cache behind for good.
const KEEP_OTHERS: usize = 3;

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
    /// rules, which `at` places in a pack.
    pub facts: Option<String>,
    /// Where those facts lie (set by `Cache::save`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Packed>,
    /// What the policies' file functions returned while checking it.
    #[serde(default, skip_serializing_if = "Reads::is_empty")]
    pub reads: Reads,
    /// The day (UTC, days since the epoch) its verdict was judged on, when
    /// it depends on the date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    /// The sha256 of the text of each file the diagnostics name: their
    /// spans and fixes are into those texts, so an edit to one of them that
    /// leaves the facts alone (a line added above) still runs the rules
    /// again rather than point, or fix, at the old place.
    #[serde(default)]
    pub texts: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Index {
    pub format: u32,
    /// Shared, so that a long-lived cache hands its entries out without
    /// copying them.
    pub files: HashMap<String, Arc<FileEntry>>,
    pub project: Option<ProjectEntry>,
}

/// The place of one file's facts: a pack in `facts/` (the hash that ends
/// its name), and a byte range of it. Stored as `[pack, offset, length]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packed(String, u64, u64);

/// The cache of one configuration (planguard version, policies, settings).
pub struct Cache {
    store: Store,
    /// Hex hash of the configuration; part of every content key.
    pub config_key: String,
}

/// Where a cache keeps what it knows.
enum Store {
    /// `.planguard/cache/` at the project root: runs of the command line.
    Disk(PathBuf, Mutex<Packs>),
    /// The memory of a long-lived process (the language server), which
    /// leaves no files in the user's folder.
    Memory(std::sync::Mutex<Memory>),
}

#[derive(Default)]
struct Memory {
    index: Arc<Index>,
    facts: HashMap<String, Facts>,
}

/// The facts of a cache on disk: where the packs hold them, and those of
/// this run, held until the index is saved.
#[derive(Default)]
struct Packs {
    /// Saved this run, not in a pack yet.
    pending: HashMap<String, Facts>,
    /// Packs opened this run, read by position.
    open: HashMap<String, Arc<std::fs::File>>,
}

impl Cache {
    pub fn new(root: &Path, config_key: String) -> Self {
        Self {
            store: Store::Disk(root.join(".planguard").join("cache"), Mutex::default()),
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
            Store::Disk(dir, packs) => {
                let index: Index = std::fs::read(self.index_path(dir))
                    .ok()
                    .and_then(|bytes| serde_json::from_slice::<Index>(&bytes).ok())
                    .filter(|index| index.format == FORMAT)
                    .unwrap_or_default();
                if let Ok(mut packs) = packs.lock() {
                    *packs = Packs::default();
                }
                Arc::new(index)
            }
            Store::Memory(memory) => memory.lock().map(|m| m.index.clone()).unwrap_or_default(),
        }
    }

    pub fn save(&self, mut index: Index) {
        index.format = FORMAT;
        match &self.store {
            Store::Disk(dir, packs) => {
                Self::mark(dir);
                if let Ok(mut packs) = packs.lock() {
                    self.pack(dir, &mut packs, &mut index);
                }
                if let Ok(bytes) = serde_json::to_vec(&index) {
                    write_atomically(&self.index_path(dir), &bytes);
                }
                self.remove_others(dir);
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

    /// The facts stored under `key`, at `at` on disk (the place the file's
    /// index entry gives); None when they are not, or not as they were
    /// written.
    pub fn load_facts(&self, key: &str, at: Option<&Packed>) -> Option<Facts> {
        match &self.store {
            Store::Disk(dir, packs) => {
                // Read outside the lock: the files' facts are read in parallel.
                let file = {
                    let mut packs = packs.lock().ok()?;
                    if let Some(facts) = packs.pending.get(key) {
                        return Some(facts.clone());
                    }
                    self.pack_file(dir, &mut packs, &at?.0)?
                };
                read_facts(&file, at?, key)
            }
            Store::Memory(memory) => memory.lock().ok()?.facts.get(key).cloned(),
        }
    }

    /// Store an entry under the hash of its content; returns that hash. On
    /// disk it is written with the index, in this run's pack.
    pub fn save_facts(&self, entry: &Facts) -> Option<String> {
        let key = entry.hash();
        match &self.store {
            Store::Disk(_, packs) => {
                let mut packs = packs.lock().ok()?;
                packs.pending.insert(key.clone(), entry.clone());
            }
            Store::Memory(memory) => {
                memory.lock().ok()?.facts.insert(key.clone(), entry.clone());
            }
        }
        Some(key)
    }

    /// Remove the index and packs of every other configuration but the
    /// `KEEP_OTHERS` whose index was written last. Only configurations with
    /// an index are candidates, so a concurrent first run of another
    /// configuration, its pack written and its index not yet, keeps it.
    fn remove_others(&self, dir: &Path) {
        let own = &self.config_key[..16];
        let mut others: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let config = name.strip_prefix("index-")?.strip_suffix(".json")?;
                let modified = entry.metadata().and_then(|m| m.modified()).ok()?;
                (config != own).then(|| (modified, config.to_string()))
            })
            .collect();
        if others.len() <= KEEP_OTHERS {
            return;
        }
        others.sort_by(|a, b| b.cmp(a));
        let gone: HashSet<&str> = others[KEEP_OTHERS..]
            .iter()
            .map(|(_, config)| config.as_str())
            .collect();
        for config in &gone {
            let _ = std::fs::remove_file(dir.join(format!("index-{config}.json")));
        }
        for entry in std::fs::read_dir(dir.join("facts"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name();
            let config = name
                .to_str()
                .filter(|name| name.ends_with(".pack"))
                .and_then(|name| name.split_once('-'))
                .map(|(config, _)| config);
            if config.is_some_and(|config| gone.contains(config)) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    fn pack_path(&self, dir: &Path, pack: &str) -> PathBuf {
        dir.join("facts")
            .join(format!("{}-{pack}.pack", &self.config_key[..16]))
    }

    /// The pack `name` (the 16 hex digits an index names it by, nothing
    /// else), opened once per run.
    fn pack_file(&self, dir: &Path, packs: &mut Packs, name: &str) -> Option<Arc<std::fs::File>> {
        if let Some(file) = packs.open.get(name) {
            return Some(file.clone());
        }
        if name.len() != 16 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let file = Arc::new(std::fs::File::open(self.pack_path(dir, name)).ok()?);
        packs.open.insert(name.to_string(), file.clone());
        Some(file)
    }

    /// Give each file of `index` the place of its facts: the one it had,
    /// else the one its facts already have, else a place in this run's new
    /// pack (with the facts of every pack but the largest, when this
    /// configuration would have more than [`MAX_PACKS`]). Then remove the
    /// packs of this configuration no file names. One pass over the files
    /// at most each: a one-file check of a large workspace saves the index
    /// of all of them.
    fn pack(&self, dir: &Path, packs: &mut Packs, index: &mut Index) {
        let mut fresh: Vec<(String, Facts)> = Vec::new();
        let mut taken: HashSet<String> = HashSet::new();
        let mut sizes: HashMap<String, usize> = HashMap::new();
        // Facts of this run that a pack already holds (an edit that left
        // them alone, two files alike): their place, not a second copy.
        let mut placed: HashMap<&str, Packed> = HashMap::new();
        if !packs.pending.is_empty() {
            for entry in index.files.values() {
                if let (Some(hash), Some(at)) = (&entry.facts, &entry.at)
                    && let Some((hash, _)) = packs.pending.get_key_value(hash)
                {
                    placed.insert(hash, at.clone());
                }
            }
        }
        for entry in index.files.values_mut() {
            let Some(hash) = &entry.facts else { continue };
            if entry.at.is_none() {
                if let Some(place) = placed.get(hash.as_str()) {
                    Arc::make_mut(entry).at = Some(place.clone());
                } else if let Some(facts) = packs.pending.get(hash) {
                    if taken.insert(hash.clone()) {
                        fresh.push((hash.clone(), facts.clone()));
                    }
                    continue;
                }
            }
            if let Some(at) = &entry.at {
                match sizes.get_mut(&at.0) {
                    Some(n) => *n += 1,
                    None => {
                        sizes.insert(at.0.clone(), 1);
                    }
                }
            }
        }
        let mut live: HashSet<String> = sizes.keys().cloned().collect();
        if !fresh.is_empty() && sizes.len() >= MAX_PACKS {
            // The facts of every pack but the largest go into the new one,
            // read back (and checked) before any pack is removed; what
            // cannot be read is left out, a miss.
            let largest = sizes
                .iter()
                .max_by_key(|(pack, n)| (**n, *pack))
                .map(|(pack, _)| pack.clone());
            for entry in index.files.values_mut() {
                let (Some(hash), Some(at)) = (&entry.facts, &entry.at) else {
                    continue;
                };
                if Some(&at.0) == largest.as_ref() {
                    continue;
                }
                if !taken.contains(hash) {
                    let facts = self
                        .pack_file(dir, packs, &at.0)
                        .and_then(|file| read_facts(&file, at, hash));
                    if let Some(facts) = facts {
                        taken.insert(hash.clone());
                        fresh.push((hash.clone(), facts));
                    }
                }
                Arc::make_mut(entry).at = None;
            }
            live = largest.into_iter().collect();
        }
        if !fresh.is_empty() {
            fresh.sort_by(|a, b| a.0.cmp(&b.0));
            // Named by the hashes of what it holds, in order: the same
            // facts make the same pack. Written as it is assembled.
            let mut name = Sha256::new();
            let mut places = HashMap::with_capacity(fresh.len());
            let mut offset = 0;
            for (key, facts) in &fresh {
                name.update(key.as_bytes());
                let len = facts.as_str().len() as u64;
                places.insert(key.as_str(), (offset, len));
                offset += len + 1;
            }
            let pack = hex(&name.finalize())[..16].to_string();
            let path = self.pack_path(dir, &pack);
            let written = path.exists()
                || crate::fsutil::write_atomically_with(
                    &path,
                    crate::fsutil::Durability::Unsynced,
                    |out| {
                        for (_, facts) in &fresh {
                            out.write_all(facts.as_str().as_bytes())?;
                            out.write_all(b"\n")?;
                        }
                        Ok(())
                    },
                )
                .is_ok();
            if written {
                for entry in index.files.values_mut() {
                    let Some(hash) = &entry.facts else { continue };
                    if entry.at.is_none()
                        && let Some((offset, len)) = places.get(hash.as_str())
                    {
                        Arc::make_mut(entry).at = Some(Packed(pack.clone(), *offset, *len));
                    }
                }
                live.insert(pack);
            }
        }
        // The packs of this configuration no file names any more, and the
        // facts files of the layout before packs.
        let prefix = format!("{}-", &self.config_key[..16]);
        if let Ok(entries) = std::fs::read_dir(dir.join("facts")) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                let stale = name
                    .strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix(".pack"))
                    .is_some_and(|id| !live.contains(id))
                    || name.ends_with(".json");
                if stale {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        packs.pending.clear();
        packs.open.clear();
    }
}

/// The facts at `place` in `file`, if they are still those stored under
/// `key`: all the files' facts are read by the cross-file rules in one
/// parse, so text changed on disk must be a miss, never a part of it.
fn read_facts(file: &std::fs::File, place: &Packed, key: &str) -> Option<Facts> {
    let json = read_at(file, place.1, place.2)?;
    (crate::digest::sha256_hex(json.as_bytes()) == key).then(|| Facts::from_json(json))
}

/// `len` bytes at `offset` of `file`, as text.
fn read_at(file: &std::fs::File, offset: u64, len: u64) -> Option<String> {
    let mut bytes = vec![0; usize::try_from(len).ok()?];
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(&mut bytes, offset).ok()?;
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt;
        let mut done = 0;
        while done < bytes.len() {
            match file.seek_read(&mut bytes[done..], offset + done as u64) {
                Ok(0) | Err(_) => return None,
                Ok(n) => done += n,
            }
        }
    }
    String::from_utf8(bytes).ok()
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
/// The files `stored` names: where each diagnostic is, and its related
/// places.
pub fn files_named(stored: &[StoredDiagnostic]) -> std::collections::BTreeSet<String> {
    stored
        .iter()
        .flat_map(|s| s.location.iter().chain(s.related.iter().map(|(l, _)| l)))
        .map(|l| l.file.clone())
        .collect()
}

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
fn write_atomically(path: &Path, bytes: &[u8]) -> bool {
    use crate::fsutil::Durability;
    crate::fsutil::write_atomically(path, bytes, Durability::Unsynced).is_ok()
}

pub use crate::digest::hex;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Applicability, Fix};

    /// An index whose files name these facts.
    fn naming(facts: &[(&str, &str)]) -> Index {
        naming_after(&Index::default(), facts)
    }

    /// The same, as a check builds it after `previous`: a file whose facts
    /// are unchanged keeps its entry, and so the place of its facts.
    fn naming_after(previous: &Index, facts: &[(&str, &str)]) -> Index {
        let files = facts
            .iter()
            .map(|(file, key)| {
                if let Some(kept) = previous.files.get(*file)
                    && kept.facts.as_deref() == Some(key)
                {
                    return ((*file).to_string(), kept.clone());
                }
                let entry = FileEntry {
                    key: format!("k-{file}"),
                    len: 0,
                    modified: 0,
                    diagnostics: Vec::new(),
                    facts: Some((*key).to_string()),
                    at: None,
                    reads: Reads::default(),
                    day: None,
                    facts_only: false,
                    summary: None,
                };
                ((*file).to_string(), Arc::new(entry))
            })
            .collect();
        Index {
            files,
            ..Index::default()
        }
    }

    fn packs(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(".planguard/cache/facts"))
            .expect("facts folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Facts are handed to the cross-file rules as the text stored, all
    /// files' in one parse: a pack changed on disk (cut short, edited) is a
    /// miss, never text that would fail that parse.
    #[test]
    fn facts_read_back_only_as_they_were_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = "0".repeat(64);
        let cache = Cache::new(dir.path(), config.clone());
        cache.load();
        let facts = Facts::of(&serde_json::json!({"path": "a.json", "contents": {"x": [1, 2]}}));
        let key = cache.save_facts(&facts).expect("saved");
        assert_eq!(key, facts.hash());
        // Before the index is saved, from this run's memory.
        assert_eq!(
            cache.load_facts(&key, None).expect("held").as_str(),
            facts.as_str()
        );
        cache.save(naming(&[("a.json", &key)]));

        let cache = Cache::new(dir.path(), config.clone());
        let index = cache.load();
        let at = index.files["a.json"].at.as_ref().expect("placed");
        assert_eq!(
            cache
                .load_facts(&key, Some(at))
                .expect("read back")
                .as_str(),
            facts.as_str()
        );
        // Only where the entry places them.
        assert!(cache.load_facts(&key, None).is_none());
        let pack = cache.pack_path(&dir.path().join(".planguard/cache"), &at.0);
        let written = std::fs::read(&pack).expect("pack");
        let mut edited = written.clone();
        edited[5] ^= 1;
        for changed in [&written[..written.len() / 2], &edited[..], b"{}"] {
            std::fs::write(&pack, changed).expect("write");
            let cache = Cache::new(dir.path(), config.clone());
            cache.load();
            assert!(
                cache.load_facts(&key, Some(at)).is_none(),
                "{}",
                String::from_utf8_lossy(changed)
            );
        }
        std::fs::remove_file(&pack).expect("remove");
        let cache = Cache::new(dir.path(), config);
        cache.load();
        assert!(cache.load_facts(&key, Some(at)).is_none());
    }

    /// One pack per run that finds new facts, never one file per checked
    /// file; a hook's many one-file runs are merged once there are
    /// MAX_PACKS packs, packs no file names any more are removed, and so are
    /// the facts files of the layout before packs. Another configuration's
    /// packs are left alone.
    #[test]
    fn facts_go_in_one_pack_per_run() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = "1".repeat(64);
        let facts_dir = dir.path().join(".planguard/cache/facts");
        std::fs::create_dir_all(&facts_dir).expect("facts folder");
        std::fs::write(facts_dir.join(format!("{}.json", "a".repeat(64))), "{}")
            .expect("old layout");
        let other = format!("{}-0123456789abcdef.pack", "2".repeat(16));
        std::fs::write(facts_dir.join(&other), "{}\n").expect("other configuration");
        let fact = |i: usize| Facts::of(&serde_json::json!({"path": format!("{i}.json"), "n": i}));

        // The first run: a thousand files, one pack.
        let cache = Cache::new(dir.path(), config.clone());
        cache.load();
        let mut files: Vec<(String, String)> = (0..1000)
            .map(|i| {
                (
                    format!("{i}.json"),
                    cache.save_facts(&fact(i)).expect("saved"),
                )
            })
            .collect();
        let index = |files: &[(String, String)]| {
            let previous = Cache::new(dir.path(), config.clone()).load();
            naming_after(
                &previous,
                &files
                    .iter()
                    .map(|(f, k)| (f.as_str(), k.as_str()))
                    .collect::<Vec<_>>(),
            )
        };
        cache.save(index(&files));
        assert_eq!(packs(dir.path()).len(), 2, "{:?}", packs(dir.path()));
        assert!(packs(dir.path()).contains(&other));

        // Then one edited file per run: a pack each, until there are
        // MAX_PACKS; the next run merges all but the largest into its own.
        let mut expected = 1;
        for run in 1..=20 {
            let cache = Cache::new(dir.path(), config.clone());
            cache.load();
            if run == 10 {
                // Nothing new: no pack written.
                cache.save(index(&files));
            } else {
                files[run].1 = cache.save_facts(&fact(10_000 + run)).expect("saved");
                cache.save(index(&files));
                expected = if expected == MAX_PACKS {
                    2
                } else {
                    expected + 1
                };
            }
            let mine = packs(dir.path()).len() - 1;
            assert_eq!(mine, expected, "run {run}: {:?}", packs(dir.path()));
            let cache = Cache::new(dir.path(), config.clone());
            let stored = cache.load();
            assert!(stored.files.values().all(|f| f.at.is_some()));
            for (i, (file, key)) in files.iter().enumerate() {
                let read = cache
                    .load_facts(key, stored.files[file].at.as_ref())
                    .unwrap_or_else(|| panic!("run {run}: file {i}"));
                assert_eq!(&read.hash(), key);
            }
        }
        assert!(!packs(dir.path()).iter().any(|p| p.ends_with(".json")));

        // Files gone from the index take their packs with them.
        let cache = Cache::new(dir.path(), config.clone());
        cache.load();
        cache.save(index(&files[..1]));
        assert_eq!(packs(dir.path()).len(), 2, "{:?}", packs(dir.path()));
        assert!(packs(dir.path()).contains(&other));
        cache.save(index(&[]));
        assert_eq!(packs(dir.path()), vec![other]);
    }

    /// Each edit of a policy or new build of planguard makes another
    /// configuration: a save removes the index and packs of all others but
    /// the three written last, and nothing else.
    #[test]
    fn only_the_other_configurations_written_last_are_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache_dir = dir.path().join(".planguard/cache");
        std::fs::create_dir_all(cache_dir.join("facts")).expect("facts folder");
        let now = std::time::SystemTime::now();
        let pack = |config: &str| format!("facts/{config}-0123456789abcdef.pack");
        // Configuration i was written 6 - i hours ago: 1 first, 5 last.
        for i in 1..=5u64 {
            let config = i.to_string().repeat(16);
            for name in [format!("index-{config}.json"), pack(&config)] {
                let path = cache_dir.join(name);
                std::fs::write(&path, "{}").expect("write");
                let written = now - std::time::Duration::from_secs(3600 * (6 - i));
                std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(written))
                    .expect("set the time");
            }
        }
        // A pack whose index is not written yet (another run's first).
        std::fs::write(cache_dir.join(pack(&"7".repeat(16))), "{}").expect("write");
        let files = || -> Vec<String> {
            let mut found: Vec<String> = walkdir::WalkDir::new(&cache_dir)
                .into_iter()
                .flatten()
                .filter(|e| e.file_type().is_file())
                .map(|e| {
                    let path = e.path().strip_prefix(&cache_dir).expect("inside");
                    path.to_string_lossy().replace('\\', "/")
                })
                .collect();
            found.sort();
            found
        };

        let own = "9".repeat(64);
        Cache::new(dir.path(), own.clone()).save(Index::default());
        let mut expected: Vec<String> = [".gitignore", "CACHEDIR.TAG"]
            .iter()
            .map(|s| s.to_string())
            .chain([pack(&"7".repeat(16)), format!("index-{}.json", &own[..16])])
            .chain((3..=5).flat_map(|i| {
                let config = i.to_string().repeat(16);
                [format!("index-{config}.json"), pack(&config)]
            }))
            .collect();
        expected.sort();
        assert_eq!(files(), expected);

        // Saved again, with three others: nothing more goes.
        Cache::new(dir.path(), own).save(Index::default());
        assert_eq!(files(), expected);
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
