//! The server's view of the project: settings and checker as `check` builds
//! them, the configs and plans found on disk, and the open buffers that
//! override them. Checking it is `Checker::check_parsed` over all of them,
//! so cross-file rules see the edits before they are saved.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use lsp_types::Uri;

use crate::check::Checker;
use crate::diagnostic::Diagnostic;
use crate::discover::{self, Candidate};
use crate::load::{self, Document};
use crate::settings::{FILE_NAME, Settings};
use crate::source::SourceFile;

/// An open document, as the editor last sent it.
pub struct Buffer {
    pub uri: Uri,
    pub version: i32,
    pub file: SourceFile,
}

/// What loading one file gave, kept until the file changes.
struct Loaded {
    document: Option<Document>,
    diagnostics: Vec<Diagnostic>,
}

/// The outcome of checking the workspace.
pub struct Checked {
    pub diagnostics: Vec<Diagnostic>,
    /// The text each checked file had, unredacted, for positions.
    pub files: HashMap<PathBuf, SourceFile>,
}

pub struct Workspace {
    root: Option<PathBuf>,
    /// None only when not even the built-in policies load.
    checker: Option<Checker>,
    /// planguard.toml's own problems and policies that did not load: shown
    /// with every check until the file is fixed.
    setup: Vec<Diagnostic>,
    /// Configs and plans on disk, by absolute path.
    files: BTreeMap<PathBuf, Candidate>,
    buffers: HashMap<PathBuf, Buffer>,
    cache: HashMap<PathBuf, Loaded>,
}

impl Workspace {
    /// Settings, policies and files for a workspace root (none: only open
    /// buffers are checked, with the built-in settings). Returns what went
    /// wrong on the way, for the user to see; the workspace works regardless.
    pub fn load(root: Option<PathBuf>) -> (Self, Vec<String>) {
        let mut workspace = Self {
            root,
            checker: None,
            setup: Vec::new(),
            files: BTreeMap::new(),
            buffers: HashMap::new(),
            cache: HashMap::new(),
        };
        let problems = workspace.reload();
        (workspace, problems)
    }

    /// Read planguard.toml and the files on disk again (the settings
    /// changed, or files appeared); open buffers stay as they are.
    pub fn reload(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        self.setup.clear();
        self.cache.clear();
        let found = self.root.as_deref().and_then(Settings::discover);
        let settings = match found.as_deref().map(Settings::load) {
            Some(Ok(settings)) => settings,
            Some(Err(error)) => {
                problems.push(format!(
                    "{FILE_NAME} is invalid; the built-in settings apply until it is fixed"
                ));
                self.setup = error.diagnostics;
                self.defaults()
            }
            None => self.defaults(),
        };
        self.checker = match Checker::new(settings.clone())
            .map(|c| c.with_plan_rule(crate::apply::gate::plan_refusals))
        {
            Ok(checker) => Some(checker),
            Err(error) => {
                problems.push(format!(
                    "the policies did not load ({error}); only the built-in ones apply"
                ));
                let mut builtin = settings.clone();
                builtin.policy.paths.clear();
                builtin.policy.data.clear();
                Checker::new(builtin)
                    .ok()
                    .map(|c| c.with_plan_rule(crate::apply::gate::plan_refusals))
            }
        };
        self.files = match (&self.root, &self.checker) {
            (Some(root), Some(checker)) => {
                match discover::discover(std::slice::from_ref(root), &checker.settings) {
                    Ok(discovery) => discovery
                        .files
                        .into_iter()
                        .map(|c| (c.path.clone(), c))
                        .collect(),
                    Err(error) => {
                        problems.push(error.to_string());
                        BTreeMap::new()
                    }
                }
            }
            _ => BTreeMap::new(),
        };
        problems
    }

    fn defaults(&self) -> Settings {
        let mut settings = Settings::default();
        if let Some(root) = &self.root {
            settings.root = root.clone();
        }
        settings
    }

    pub fn settings(&self) -> Option<&Settings> {
        self.checker.as_ref().map(|c| &c.settings)
    }

    pub fn buffer(&self, path: &Path) -> Option<&Buffer> {
        self.buffers.get(path)
    }

    pub fn is_open(&self, path: &Path) -> bool {
        self.buffers.contains_key(path)
    }

    /// Whether a path is a config or plan the settings would check.
    fn candidate(&self, path: &Path) -> Option<Candidate> {
        if let Some(candidate) = self.files.get(path) {
            return Some(candidate.clone());
        }
        let settings = self.settings()?;
        let relative = self
            .root
            .as_deref()
            .and_then(|root| path.strip_prefix(root).ok())
            .unwrap_or(path);
        if settings.exclude.is_match(relative) {
            return None;
        }
        discover::candidate(path.to_path_buf(), settings, false)
    }

    pub fn open(&mut self, path: PathBuf, buffer: Buffer) {
        self.cache.remove(&path);
        self.buffers.insert(path, buffer);
    }

    /// Replace an open buffer's text; false when the document is not open.
    pub fn change(&mut self, path: &Path, version: i32, file: SourceFile) -> bool {
        let Some(buffer) = self.buffers.get_mut(path) else {
            return false;
        };
        buffer.version = version;
        buffer.file = file;
        self.cache.remove(path);
        true
    }

    /// Forget a buffer: the file on disk counts again, if there is one.
    pub fn close(&mut self, path: &Path) {
        self.buffers.remove(path);
        self.disk_changed(path);
    }

    /// A file changed, appeared or disappeared on disk.
    pub fn disk_changed(&mut self, path: &Path) {
        self.cache.remove(path);
        self.files.remove(path);
        if path.is_file()
            && let Some(candidate) = self.candidate(path)
        {
            self.files.insert(path.to_path_buf(), candidate);
        }
    }

    pub fn is_settings_file(&self, path: &Path) -> bool {
        path.file_name().is_some_and(|n| n == FILE_NAME)
    }

    /// Check every config and plan, open buffers in place of their files.
    pub fn check(&mut self) -> Checked {
        let paths: BTreeSet<PathBuf> = self
            .files
            .keys()
            .cloned()
            .chain(
                self.buffers
                    .keys()
                    .filter(|p| self.candidate(p).is_some())
                    .cloned(),
            )
            .collect();
        let Some(checker) = &self.checker else {
            return Checked {
                diagnostics: self.setup.clone(),
                files: HashMap::new(),
            };
        };
        let max_size = checker.settings.max_file_size;
        for path in &paths {
            if self.cache.contains_key(path) {
                continue;
            }
            let candidate = match self.files.get(path) {
                Some(candidate) => candidate.clone(),
                None => match discover::candidate(path.clone(), &checker.settings, false) {
                    Some(candidate) => candidate,
                    None => continue,
                },
            };
            let (document, diagnostics) = match self.buffers.get(path) {
                Some(buffer) => load::load_text(&candidate, buffer.file.clone(), max_size),
                None => load::load(&candidate, max_size),
            };
            self.cache.insert(
                path.clone(),
                Loaded {
                    document,
                    diagnostics,
                },
            );
        }
        let mut documents = Vec::new();
        let mut loading = Vec::new();
        let mut files = HashMap::new();
        for path in &paths {
            let Some(loaded) = self.cache.get(path) else {
                continue;
            };
            if let Some(document) = &loaded.document {
                files.insert(path.clone(), document.file.clone());
                documents.push(document.clone());
            } else if let Some(buffer) = self.buffers.get(path) {
                files.insert(path.clone(), buffer.file.clone());
            }
            loading.extend(loaded.diagnostics.iter().cloned());
        }
        let mut diagnostics = checker.check_parsed(&documents, loading);
        diagnostics.extend(self.setup.iter().cloned());
        Checked { diagnostics, files }
    }
}
