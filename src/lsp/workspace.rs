//! The server's view of the project: the configs and plans found on disk,
//! the open buffers that override them, and, for each planguard.toml that
//! governs some of them, the settings and checker `check` would use for them
//! (a file's settings are the closest planguard.toml above it, as on the
//! command line). Checking it is `Checker::run` per project with a cache in
//! memory: an edit re-runs the edited file's rules and the cross-file rules
//! (when its facts changed); every other file's verdict is reused.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use lsp_types::Uri;

use crate::check::{Budget, Cache, Checker, Input, Stats, Workset};
use crate::diagnostic::Diagnostic;
use crate::discover::{self, Candidate};
use crate::settings::{FILE_NAME, Settings};
use crate::source::SourceFile;

/// An open document, as the editor last sent it.
pub struct Buffer {
    pub uri: Uri,
    pub version: i32,
    pub file: SourceFile,
}

/// The outcome of checking the workspace.
pub struct Checked {
    pub diagnostics: Vec<Diagnostic>,
    /// The text of every file a finding is in, unredacted, for positions.
    pub files: HashMap<PathBuf, SourceFile>,
    pub stats: Stats,
    /// `cancel` was set during the check: it stopped early and holds
    /// nothing.
    pub interrupted: bool,
}

/// The files one planguard.toml governs (or, with None, the files no
/// planguard.toml governs: the built-in settings).
type ProjectKey = Option<PathBuf>;

struct Project {
    /// None only when not even the built-in policies load.
    checker: Option<Checker>,
    /// planguard.toml's own problems and policies that did not load: shown
    /// with every check until the file is fixed.
    setup: Vec<Diagnostic>,
    /// Its configs and plans on disk, by absolute path.
    files: BTreeMap<PathBuf, Candidate>,
    /// What checking its files found, by content, for as long as the
    /// settings and policies stay as they are.
    cache: Option<Cache>,
}

pub struct Workspace {
    root: Option<PathBuf>,
    projects: BTreeMap<ProjectKey, Project>,
    buffers: HashMap<PathBuf, Buffer>,
}

impl Workspace {
    /// Settings, policies and files for a workspace root (none: only open
    /// buffers are checked). Returns what went wrong on the way, for the user
    /// to see; the workspace works regardless.
    pub fn load(root: Option<PathBuf>) -> (Self, Vec<String>) {
        let mut workspace = Self {
            root,
            projects: BTreeMap::new(),
            buffers: HashMap::new(),
        };
        let problems = workspace.reload();
        (workspace, problems)
    }

    /// Read every planguard.toml, the policies and the files on disk again
    /// (settings or policies changed, or files appeared); open buffers stay
    /// as they are.
    pub fn reload(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        self.projects.clear();
        let Some(root) = self.root.clone() else {
            return problems;
        };
        // Every planguard.toml that governs a file here: the closest one above
        // the root, and those below it.
        let mut keys = vec![Settings::discover(&root)];
        keys.extend(settings_files_below(&root).into_iter().map(Some));
        keys.sort();
        keys.dedup();
        for key in keys {
            let folder = match &key {
                Some(file) => file
                    .parent()
                    .filter(|folder| folder.starts_with(&root))
                    .unwrap_or(&root)
                    .to_path_buf(),
                None => root.clone(),
            };
            let mut project = self.project(&key, &mut problems);
            if let Some(checker) = &project.checker {
                match discover::discover(std::slice::from_ref(&folder), &checker.settings) {
                    Ok(discovery) => {
                        project.files = discovery
                            .files
                            .into_iter()
                            .filter(|c| governing(&c.path) == key)
                            .map(|c| (c.path.clone(), c))
                            .collect();
                    }
                    Err(error) => problems.push(error.to_string()),
                }
            }
            self.projects.insert(key, project);
        }
        problems
    }

    /// The settings and checker of one planguard.toml (None: the built-in
    /// settings), with what is wrong with them.
    fn project(&self, key: &ProjectKey, problems: &mut Vec<String>) -> Project {
        let mut setup = Vec::new();
        let settings = match key.as_deref().map(Settings::load) {
            Some(Ok(settings)) => settings,
            Some(Err(error)) => {
                problems.push(format!(
                    "{FILE_NAME} is invalid; the built-in settings apply until it is fixed"
                ));
                setup = error.diagnostics;
                self.defaults(key)
            }
            None => self.defaults(key),
        };
        let checker = match Checker::new(settings.clone())
            .map(|c| c.with_plan_rule(crate::deployable::plan_refusals))
        {
            Ok(checker) => Some(checker),
            Err(error) => {
                problems.push(format!(
                    "the policies did not load ({error}); only the built-in ones apply"
                ));
                let mut builtin = settings;
                builtin.policy.paths.clear();
                builtin.policy.data.clear();
                Checker::new(builtin)
                    .ok()
                    .map(|c| c.with_plan_rule(crate::deployable::plan_refusals))
            }
        };
        Project {
            cache: checker.as_ref().map(|c| Cache::in_memory(c.cache_key())),
            checker,
            setup,
            files: BTreeMap::new(),
        }
    }

    /// The built-in settings, rooted where the planguard.toml that failed
    /// to load is (else at the workspace root).
    fn defaults(&self, key: &ProjectKey) -> Settings {
        let mut settings = Settings::default();
        if let Some(folder) = key
            .as_deref()
            .and_then(Path::parent)
            .or(self.root.as_deref())
        {
            settings.root = folder.to_path_buf();
        }
        settings
    }

    pub fn buffer(&self, path: &Path) -> Option<&Buffer> {
        self.buffers.get(path)
    }

    pub fn is_open(&self, path: &Path) -> bool {
        self.buffers.contains_key(path)
    }

    /// The project a path belongs to, made when it is new (a file opened
    /// outside the root, or below a planguard.toml that appeared).
    fn project_of(&mut self, path: &Path) -> &Project {
        let key = governing(path);
        if !self.projects.contains_key(&key) {
            let mut problems = Vec::new();
            let project = self.project(&key, &mut problems);
            for problem in problems {
                super::log(&problem);
            }
            self.projects.insert(key.clone(), project);
        }
        &self.projects[&key]
    }

    /// The config or plan a path is under its project's settings, if any.
    fn candidate(&mut self, path: &Path) -> Option<Candidate> {
        let project = self.project_of(path);
        if let Some(candidate) = project.files.get(path) {
            return Some(candidate.clone());
        }
        let settings = &project.checker.as_ref()?.settings;
        let relative = path.strip_prefix(&settings.root).unwrap_or(path);
        if settings.exclude.is_match(relative) {
            return None;
        }
        discover::candidate(path.to_path_buf(), settings, false)
    }

    pub fn open(&mut self, path: PathBuf, buffer: Buffer) {
        self.buffers.insert(path, buffer);
    }

    /// Replace an open buffer's text; false when the document is not open.
    pub fn change(&mut self, path: &Path, version: i32, file: SourceFile) -> bool {
        let Some(buffer) = self.buffers.get_mut(path) else {
            return false;
        };
        buffer.version = version;
        buffer.file = file;
        true
    }

    /// Forget a buffer: the file on disk counts again, if there is one.
    pub fn close(&mut self, path: &Path) {
        self.buffers.remove(path);
        self.disk_changed(path);
    }

    /// A config or plan changed, appeared or disappeared on disk.
    pub fn disk_changed(&mut self, path: &Path) {
        for project in self.projects.values_mut() {
            project.files.remove(path);
        }
        if path.is_file()
            && let Some(candidate) = self.candidate(path)
        {
            let key = governing(path);
            if let Some(project) = self.projects.get_mut(&key) {
                project.files.insert(path.to_path_buf(), candidate);
            }
        }
    }

    /// Whether a change to `path` changes how files are checked: a
    /// planguard.toml, a policy, or a data file the policies read.
    pub fn reloads_on(&self, path: &Path) -> bool {
        if path.file_name().is_some_and(|n| n == FILE_NAME)
            || path.extension().is_some_and(|e| e == "rego")
        {
            return true;
        }
        self.projects
            .values()
            .filter_map(|p| p.checker.as_ref())
            .any(|c| {
                let policy = &c.settings.policy;
                policy
                    .paths
                    .iter()
                    .chain(&policy.data)
                    .any(|p| std::path::absolute(p).is_ok_and(|p| path.starts_with(&p)))
            })
    }

    /// Check every config and plan, open buffers in place of their files;
    /// or, with `open_only`, report on the open buffers alone, the rest of
    /// their projects as context (what a pre-commit hook does with named
    /// files: the cross-file rules then read only the facts those buffers'
    /// findings depend on).
    /// With `cancel`, the check stops once it is nonzero (see
    /// [`Budget::cancellable`]) and comes back `interrupted`.
    pub fn check(&mut self, open_only: bool, cancel: Option<&Arc<AtomicUsize>>) -> Checked {
        // Open buffers that are configs or plans, with their projects.
        let open: Vec<(PathBuf, Candidate)> = {
            let paths: Vec<PathBuf> = self.buffers.keys().cloned().collect();
            paths
                .into_iter()
                .filter_map(|path| Some((path.clone(), self.candidate(&path)?)))
                .collect()
        };
        let mut diagnostics = Vec::new();
        let mut stats = Stats::default();
        for (key, project) in &self.projects {
            diagnostics.extend(project.setup.iter().cloned());
            let Some(checker) = &project.checker else {
                continue;
            };
            let mut files = project.files.clone();
            for (path, candidate) in &open {
                if governing(path) == *key {
                    files.insert(path.clone(), candidate.clone());
                }
            }
            if files.is_empty() {
                continue;
            }
            let (mut report, mut context) = (Vec::new(), Vec::new());
            for (path, candidate) in files {
                match self.buffers.get(&path) {
                    Some(buffer) => report.push(Input::Buffer(candidate, buffer.file.clone())),
                    None if open_only => context.push(Input::Disk(candidate)),
                    None => report.push(Input::Disk(candidate)),
                }
            }
            if report.is_empty() {
                continue;
            }
            let work = Workset { report, context };
            let budget = match cancel {
                Some(cancel) => Budget::cancellable(Arc::clone(cancel)),
                None => Budget::default(),
            };
            let outcome = checker.run(&work, project.cache.as_ref(), &budget);
            if outcome.interrupted {
                return Checked {
                    diagnostics: Vec::new(),
                    files: HashMap::new(),
                    stats,
                    interrupted: true,
                };
            }
            diagnostics.extend(outcome.diagnostics);
            stats.files += outcome.stats.files;
            stats.evaluated += outcome.stats.evaluated;
            stats.cross_file |= outcome.stats.cross_file;
        }
        // The unredacted text of each file a finding is in: the buffer's, or
        // the file's on disk.
        let mut files = HashMap::new();
        for d in &diagnostics {
            let Some(location) = &d.location else {
                continue;
            };
            let path = super::convert::absolute(location.file.path());
            if files.contains_key(&path) {
                continue;
            }
            let text = match self.buffers.get(&path) {
                Some(buffer) => Some(buffer.file.clone()),
                None => std::fs::read_to_string(&path)
                    .ok()
                    .map(|text| SourceFile::new(location.file.path(), text)),
            };
            if let Some(text) = text {
                files.insert(path, text);
            }
        }
        Checked {
            diagnostics,
            files,
            stats,
            interrupted: false,
        }
    }
}

/// The closest planguard.toml above a file, which its settings come from.
fn governing(path: &Path) -> ProjectKey {
    Settings::discover(path.parent().unwrap_or(path))
}

/// The planguard.toml files below `root`, passing over what git ignores.
fn settings_files_below(root: &Path) -> Vec<PathBuf> {
    ignore::WalkBuilder::new(root)
        .build()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_some_and(|t| t.is_file()))
        .filter(|entry| entry.file_name() == FILE_NAME)
        .filter_map(|entry| std::path::absolute(entry.path()).ok())
        .collect()
}
