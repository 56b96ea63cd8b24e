//! Discover: walk the paths the user gave and classify each JSON file as an
//! ingestion config or an orchestration plan, by environment. Never reads
//! file contents.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::settings::{Captures, Settings};
use crate::source::display_path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Config,
    Plan,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Config => "config",
            Kind::Plan => "plan",
        }
    }
}

/// A file to check, with what its path says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    /// None when the path matches no pattern (only files given explicitly);
    /// the loader then classifies by content.
    pub kind: Option<Kind>,
    /// The folder the config/plan layout starts in (empty: the working folder).
    pub workspace: Option<String>,
    pub env: Option<String>,
    pub build: Option<String>,
    pub explicit: bool,
}

#[derive(Debug, Default)]
pub struct Discovery {
    pub files: Vec<Candidate>,
    /// Files and folders passed over, with the reason (`--verbose` shows them).
    pub skipped: Vec<(PathBuf, String)>,
    /// Folders that could not be listed: what they hold is unknown, so the
    /// run reports them rather than passing over them.
    pub unlisted: Vec<(PathBuf, String)>,
    /// Files named on the command line that `[files] exclude` matches.
    pub excluded: Vec<PathBuf>,
    /// The folders named on the command line (walked whole).
    pub walked: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{}: {reason}", .path.display())]
    NotFound { path: PathBuf, reason: String },
}

/// Folders never worth walking.
const ALWAYS_SKIPPED: &[&str] = &[".git", "node_modules", "target", ".venv", "venv"];

pub fn classify(path: &Path, settings: &Settings) -> Option<(Kind, Captures)> {
    let shown = display_path(path);
    let by_kind = [
        (Kind::Plan, &settings.plans),
        (Kind::Config, &settings.configs),
    ];
    by_kind.into_iter().find_map(|(kind, patterns)| {
        patterns
            .iter()
            .find_map(|p| p.captures(&shown))
            .map(|c| (kind, c))
    })
}

/// What a path says about the file: a candidate when it is a config or plan
/// by the settings' patterns (or whatever it is, when given explicitly).
pub fn candidate(path: PathBuf, settings: &Settings, explicit: bool) -> Option<Candidate> {
    // From inside the layout (`planguard check 12.json` in
    // orchestration_plans/dev, or `.` there) the path as given says nothing
    // of the environment or the build; its absolute form does, and is then
    // the path the file is known by, as if it had been named so.
    let (path, classified) = match classify(&path, settings) {
        Some(found) => (path, Some(found)),
        None => match std::path::absolute(&path)
            .ok()
            .filter(|absolute| *absolute != path)
            .and_then(|absolute| Some((classify(&absolute, settings)?, absolute)))
        {
            Some((found, absolute)) => (absolute, Some(found)),
            None => (path, None),
        },
    };
    match classified {
        Some((kind, captures)) => Some(Candidate {
            path,
            kind: Some(kind),
            workspace: Some(captures.workspace),
            env: captures.env,
            build: captures.build,
            explicit,
        }),
        None if explicit => Some(Candidate {
            path,
            kind: None,
            workspace: None,
            env: None,
            build: None,
            explicit,
        }),
        None => None,
    }
}

pub fn discover(paths: &[PathBuf], settings: &Settings) -> Result<Discovery, DiscoverError> {
    let mut discovery = Discovery::default();
    for root in paths {
        let metadata = std::fs::metadata(root).map_err(|e| DiscoverError::NotFound {
            path: root.clone(),
            reason: match e.kind() {
                std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                _ => e.to_string(),
            },
        })?;
        // A named pipe or device named on the command line is a candidate
        // too: reading it reports what it is instead of waiting on it.
        if !metadata.is_dir() {
            if settings.force_exclude && settings.is_excluded(root) {
                discovery.excluded.push(root.clone());
                continue;
            }
            discovery
                .files
                .extend(candidate(root.clone(), settings, true));
        } else {
            walk(root, settings, &mut discovery);
            discovery.walked.push(root.clone());
        }
    }
    discovery.files.sort_by(|a, b| a.path.cmp(&b.path));
    discovery.files.dedup_by(|a, b| a.path == b.path);
    Ok(discovery)
}

/// The other configs and plans of the workspaces that the files to check
/// belong to, whether named on the command line or found in a named folder
/// (`planguard check conf orchestration_plans/dev`). Cross-file rules need
/// them (a plan is compared with its environment's config, images with the
/// previous environment's plans, and a config without a plan, PG206, is only
/// one when no folder of the workspace was left out), though only the files
/// to check are reported on.
pub fn context(discovery: &Discovery, settings: &Settings) -> Vec<Candidate> {
    use std::collections::BTreeSet;
    let roots: BTreeSet<&str> = discovery
        .files
        .iter()
        .filter_map(|c| c.workspace.as_deref())
        .collect();
    let checked: BTreeSet<String> = discovery
        .files
        .iter()
        .map(|c| display_path(&c.path))
        .collect();
    // A workspace inside a folder named on the command line was walked
    // whole already (`planguard check .`): only the others are walked here.
    let walked: Vec<PathBuf> = discovery
        .walked
        .iter()
        .filter_map(|w| std::fs::canonicalize(w).ok())
        .collect();
    let mut found = Discovery::default();
    for root in &roots {
        let dir = Path::new(if root.is_empty() { "." } else { root });
        let seen =
            std::fs::canonicalize(dir).is_ok_and(|d| walked.iter().any(|w| d.starts_with(w)));
        if !seen {
            walk(dir, settings, &mut found);
        }
    }
    let mut context: Vec<Candidate> = found
        .files
        .into_iter()
        .filter(|c| {
            c.workspace.as_deref().is_some_and(|w| roots.contains(w))
                && !checked.contains(&display_path(&c.path))
        })
        .collect();
    context.sort_by(|a, b| a.path.cmp(&b.path));
    context.dedup_by(|a, b| a.path == b.path);
    context
}

/// `--shard i/n`: which shard of `count` (numbered from 1) a file belongs
/// to, by a hash of its path, so that every runner of a CI matrix computes
/// the same split without talking to the others, and a file stays in its
/// shard as others come and go.
pub fn shard_of(path: &Path, count: usize) -> usize {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(display_path(path).as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % count.max(1) as u64) as usize + 1
}

/// Split discovered files into this shard's and the others (which become
/// context: the cross-file rules still see them).
pub fn split_shard(
    files: Vec<Candidate>,
    index: usize,
    count: usize,
) -> (Vec<Candidate>, Vec<Candidate>) {
    files
        .into_iter()
        .partition(|c| shard_of(&c.path, count) == index)
}

/// Walk one folder, in file-name order: git's ignore rules (when the settings
/// respect them) and the folders and `exclude` patterns of [`excluded`] leave
/// entries out; every entry left out, every file that is no config or plan
/// and every entry that cannot be looked at is reported with the reason.
fn walk(root: &Path, settings: &Settings, discovery: &mut Discovery) {
    let respect_gitignore = settings.respect_gitignore;
    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .follow_links(true)
        .sort_by_file_name(|a, b| a.cmp(b))
        // Hidden files are walked; `.ignore` files are ripgrep's, not git's.
        .hidden(false)
        .ignore(false)
        // git's rules, inside a repository or not: `.gitignore` in the folder
        // and its parents, `.git/info/exclude` and the global excludes file.
        .require_git(false)
        .parents(respect_gitignore)
        .git_ignore(respect_gitignore)
        .git_exclude(respect_gitignore)
        .git_global(respect_gitignore);
    let filter = (root.to_path_buf(), settings.clone());
    builder.filter_entry(move |entry| {
        let (root, settings) = &filter;
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        excluded(entry.path(), is_dir, root, settings).is_none()
    });
    // Every path the walk yielded or failed on. What else a walked folder
    // holds was left out, by the filter or by git's rules.
    let mut accounted: HashSet<PathBuf> = HashSet::new();
    let mut folders: Vec<PathBuf> = Vec::new();
    for entry in builder.build() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                for error in flatten(&error) {
                    let path = error_path(error).map(Path::to_path_buf).unwrap_or_default();
                    accounted.insert(path.clone());
                    unwalkable(path, error, settings, discovery);
                }
                continue;
            }
        };
        // A folder's ignore file that is partly unusable (a line that is no
        // valid pattern) still applies; what was wrong with it is reported.
        for error in entry.error().map(flatten).unwrap_or_default() {
            let path = error_path(error).unwrap_or(entry.path()).to_path_buf();
            unwalkable(path, error, settings, discovery);
        }
        let path = entry.path().to_path_buf();
        accounted.insert(path.clone());
        if entry.file_type().is_some_and(|t| t.is_dir()) {
            folders.push(path);
            continue;
        }
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        match candidate(path.clone(), settings, false) {
            Some(c) => discovery.files.push(c),
            None => discovery.skipped.push((
                path,
                "matches neither a config nor a plan pattern".to_string(),
            )),
        }
    }
    discovery
        .skipped
        .extend(left_out(&folders, &accounted, root, settings));
    // Path order is the walk's order (a folder, then what it holds, by name).
    discovery.skipped.sort();
    discovery.unlisted.sort();
}

/// Report an entry the walk could not look at.
fn unwalkable(
    path: PathBuf,
    error: &ignore::Error,
    settings: &Settings,
    discovery: &mut Discovery,
) {
    if is_loop(error) {
        discovery
            .skipped
            .push((path, "symbolic link loop".to_string()));
        return;
    }
    let io = error.io_error();
    let reason = io.map_or_else(|| message(error), ToString::to_string);
    // A config or plan that cannot even be looked at (a dangling link, a
    // folder that cannot be listed) is reported, not lost: reading it gives
    // the reason.
    match candidate(path.clone(), settings, false) {
        Some(c) if path.extension().is_some_and(|x| x == "json") => discovery.files.push(c),
        _ if path.symlink_metadata().is_ok_and(|m| m.is_dir()) => {
            let reason = match io.map(std::io::Error::kind) {
                Some(std::io::ErrorKind::PermissionDenied) => "permission denied".to_string(),
                _ => reason,
            };
            discovery.unlisted.push((path, reason));
        }
        _ => discovery.skipped.push((path, reason)),
    }
}

/// What the walked folders hold that the walk left out, with the reason:
/// the filter's (found again by asking it) or else git's ignore rules.
fn left_out(
    folders: &[PathBuf],
    accounted: &HashSet<PathBuf>,
    root: &Path,
    settings: &Settings,
) -> Vec<(PathBuf, String)> {
    let mut left_out = Vec::new();
    for folder in folders {
        // A folder that cannot be listed was reported by the walk.
        let Ok(listing) = std::fs::read_dir(folder) else {
            continue;
        };
        for child in listing.flatten() {
            let path = child.path();
            if accounted.contains(&path) {
                continue;
            }
            let is_dir = std::fs::metadata(&path).is_ok_and(|m| m.is_dir());
            let reason = excluded(&path, is_dir, root, settings)
                .unwrap_or_else(|| "ignored by .gitignore".to_string());
            left_out.push((path, reason));
        }
    }
    left_out
}

/// Why the walk leaves out an entry below its root, when it does.
fn excluded(path: &Path, is_dir: bool, root: &Path, settings: &Settings) -> Option<String> {
    let name = path.file_name().map(|n| n.to_string_lossy());
    if is_dir && name.as_deref().is_some_and(|n| ALWAYS_SKIPPED.contains(&n)) {
        return Some("never walked".to_string());
    }
    let relative = path.strip_prefix(root).unwrap_or(path);
    if settings.exclude.is_match(relative) || settings.is_excluded(path) {
        return Some("excluded in planguard.toml".to_string());
    }
    None
}

/// The errors in one: an ignore file with several bad lines gives several.
fn flatten(error: &ignore::Error) -> Vec<&ignore::Error> {
    match error {
        ignore::Error::Partial(errors) => errors.iter().flat_map(flatten).collect(),
        other => vec![other],
    }
}

/// An error's message without the path it names (the report shows that).
fn message(error: &ignore::Error) -> String {
    match error {
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => message(err),
        other => other.to_string(),
    }
}

/// The path an error of the walk is about, when it names one.
fn error_path(error: &ignore::Error) -> Option<&Path> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::Loop { child, .. } => Some(child),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

fn is_loop(error: &ignore::Error) -> bool {
    match error {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => is_loop(err),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(root: &Path, rel: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        fs::write(path, "{}").expect("write");
    }

    #[test]
    fn walks_classifies_and_skips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        touch(root, "conf/dev.json");
        touch(root, "orchestration_plans/prod/42.json");
        touch(root, "package.json");
        touch(root, "build/conf/uat.json");
        touch(root, "node_modules/conf/dev.json");
        fs::write(root.join(".gitignore"), "build/\n").expect("write");

        let discovery = discover(&[root.to_path_buf()], &Settings::default()).expect("walk");
        let found: Vec<_> = discovery
            .files
            .iter()
            .map(|c| {
                (
                    c.path.strip_prefix(root).expect("below").to_path_buf(),
                    c.kind,
                    c.env.clone(),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    PathBuf::from("conf/dev.json"),
                    Some(Kind::Config),
                    Some("dev".into())
                ),
                (
                    PathBuf::from("orchestration_plans/prod/42.json"),
                    Some(Kind::Plan),
                    Some("prod".into())
                ),
            ]
        );
        let skipped: Vec<_> = discovery.skipped.iter().map(|(_, r)| r.as_str()).collect();
        assert!(skipped.contains(&"ignored by .gitignore"));
        assert!(skipped.contains(&"matches neither a config nor a plan pattern"));
    }

    /// git's rules and no others: hidden folders are walked, and a `.ignore`
    /// file (ripgrep's) means nothing, inside a repository or not.
    #[test]
    fn hidden_folders_are_walked_and_only_git_rules_apply() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        touch(root, ".deploy/conf/dev.json");
        touch(root, "conf/uat.json");
        fs::write(root.join(".ignore"), "conf/\n").expect("write");
        let discovery = discover(&[root.to_path_buf()], &Settings::default()).expect("walk");
        let found: Vec<_> = discovery
            .files
            .iter()
            .map(|c| c.path.strip_prefix(root).expect("below").to_path_buf())
            .collect();
        assert_eq!(
            found,
            vec![
                PathBuf::from(".deploy/conf/dev.json"),
                PathBuf::from("conf/uat.json")
            ]
        );
    }

    #[test]
    fn explicit_files_are_always_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        touch(dir.path(), "random.json");
        let path = dir.path().join("random.json");
        let discovery = discover(std::slice::from_ref(&path), &Settings::default()).expect("ok");
        assert_eq!(discovery.files.len(), 1);
        assert!(discovery.files[0].explicit);
        assert_eq!(discovery.files[0].kind, None);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_skipped_not_followed_forever() {
        let dir = tempfile::tempdir().expect("tempdir");
        touch(dir.path(), "conf/dev.json");
        std::os::unix::fs::symlink(dir.path(), dir.path().join("conf/loop")).expect("symlink");
        let discovery = discover(&[dir.path().to_path_buf()], &Settings::default()).expect("ok");
        assert_eq!(discovery.files.len(), 1);
        assert!(
            discovery
                .skipped
                .iter()
                .any(|(_, r)| r == "symbolic link loop")
        );
    }

    #[test]
    fn shards_split_every_file_exactly_once_and_stably() {
        let files: Vec<Candidate> = (0..200)
            .map(|i| Candidate {
                path: PathBuf::from(format!("orchestration_plans/dev/{i}.json")),
                kind: Some(Kind::Plan),
                workspace: Some(String::new()),
                env: Some("dev".into()),
                build: Some(i.to_string()),
                explicit: false,
            })
            .collect();
        let mut seen = 0;
        for index in 1..=3 {
            let (mine, others) = split_shard(files.clone(), index, 3);
            assert_eq!(mine.len() + others.len(), files.len());
            // Roughly even: no shard is empty or holds most files.
            assert!(
                (40..=90).contains(&mine.len()),
                "shard {index}: {}",
                mine.len()
            );
            seen += mine.len();
        }
        assert_eq!(seen, files.len());
        // The same path is always in the same shard, whatever else exists.
        let alone = split_shard(files[..1].to_vec(), shard_of(&files[0].path, 3), 3);
        assert_eq!(alone.0.len(), 1);
        assert_eq!(
            shard_of(Path::new("./conf/dev.json"), 4),
            shard_of(Path::new("conf/dev.json"), 4)
        );
    }

    #[test]
    fn a_missing_path_is_an_error() {
        let err = discover(
            &[PathBuf::from("/nonexistent/planguard")],
            &Settings::default(),
        );
        assert!(matches!(err, Err(DiscoverError::NotFound { .. })));
    }
}
