//! Policy data files: the JSON and YAML documents that `--data`, `[policy]
//! data` and `planguard test` merge into Rego's `data`, read the way conftest
//! and OPA's loader read them. A file planguard does not load is an error
//! that names it, never silently skipped, when it was named or looks like data.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::yaml;

/// Where a data file's document goes in `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// At the root, whatever folder it is in: conftest's `--data`, which
    /// lists the files of a folder first and loads each as given alone.
    Root,
    /// Below the path of its folder relative to the folder given, as `opa
    /// test` and `opa eval --data` load a folder (`d/a/b/x.json` under `data.a.b`).
    Folder,
}

/// A data file that cannot be used: planguard stops (exit status 2) rather
/// than check with less data than the policies were written for.
#[derive(Debug, thiserror::Error)]
#[error("cannot use data file {}: {message}", path.display())]
pub struct DataError {
    pub path: PathBuf,
    pub message: String,
}

impl DataError {
    fn new(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
}

/// conftest's filter: exactly these extensions, compared as written
/// (`.JSON` is not one of them).
fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()? {
        "json" => Some(Format::Json),
        "yaml" | "yml" => Some(Format::Yaml),
        _ => None,
    }
}

/// Extensions of structured files that a data folder may hold by mistake or
/// in the hope that they load: conftest skips them without a word, so their
/// data would be missing from every check. Compared case-insensitively.
const DATA_LIKE: &[&str] = &[
    "json",
    "yaml",
    "yml",
    "jsonc",
    "json5",
    "jsonl",
    "ndjson",
    "toml",
    "xml",
    "hcl",
    "tf",
    "tfvars",
    "ini",
    "properties",
    "cue",
    "csv",
    "tsv",
    "edn",
    "jsonnet",
    "textproto",
    "env",
];

fn looks_like_data(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| DATA_LIKE.contains(&e.to_ascii_lowercase().as_str()))
}

fn unsupported(path: &Path) -> DataError {
    DataError::new(
        path,
        "planguard loads data from .json, .yaml and .yml files only (as conftest does); \
         convert it, or move it out of the data paths",
    )
}

/// The data files below `path` with the folder path each goes under (empty
/// for the root), in name order. A file named directly must be JSON or YAML;
/// in a folder, other files are skipped unless they look like data.
fn data_files(path: &Path, layout: Layout) -> Result<Vec<(PathBuf, Vec<String>)>, DataError> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| DataError::new(path, format!("cannot read it: {e}")))?;
    if !metadata.is_dir() {
        return match format_of(path) {
            Some(_) => Ok(vec![(path.to_path_buf(), Vec::new())]),
            None => Err(unsupported(path)),
        };
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(path)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let failed = e.path().unwrap_or(path).to_path_buf();
            DataError::new(&failed, format!("cannot read it: {e}"))
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let file = entry.path();
        if format_of(file).is_none() {
            if looks_like_data(file) {
                return Err(unsupported(file));
            }
            continue;
        }
        let prefix = match layout {
            Layout::Root => Vec::new(),
            Layout::Folder => file
                .parent()
                .and_then(|parent| parent.strip_prefix(path).ok())
                .map(|relative| {
                    relative
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default(),
        };
        files.push((file.to_path_buf(), prefix));
    }
    Ok(files)
}

/// Every data file at `paths`, merged into one object. Two files that set
/// the same key (other than objects both) are an error, as in OPA's loader.
pub fn load(paths: &[PathBuf], layout: Layout) -> Result<Value, DataError> {
    let mut data = Map::new();
    for path in paths {
        for (file, prefix) in data_files(path, layout)? {
            let document = parse_file(&file)?;
            // Wrapped in its folders' names, innermost first.
            let document = match prefix.iter().rev().fold(document, |inner, key| {
                Value::Object(Map::from_iter([(key.clone(), inner)]))
            }) {
                Value::Object(document) => document,
                _ => {
                    return Err(DataError::new(
                        &file,
                        "its top level must be an object (its keys become names below `data`)",
                    ));
                }
            };
            merge(&mut data, document, &mut Vec::new()).map_err(|key| {
                DataError::new(
                    &file,
                    format!("it sets `data.{key}`, which an earlier data file already set"),
                )
            })?;
        }
    }
    Ok(Value::Object(data))
}

/// One data file's document.
pub fn parse_file(path: &Path) -> Result<Value, DataError> {
    let bytes =
        std::fs::read(path).map_err(|e| DataError::new(path, format!("cannot read it: {e}")))?;
    let text =
        String::from_utf8(bytes).map_err(|_| DataError::new(path, "it is not UTF-8 text"))?;
    match format_of(path) {
        Some(Format::Json) => serde_json::from_str(&text)
            .map_err(|e| DataError::new(path, format!("invalid JSON: {e}"))),
        Some(Format::Yaml) => {
            yaml::parse(&text).map_err(|e| DataError::new(path, format!("invalid YAML: {e}")))
        }
        None => Err(unsupported(path)),
    }
}

/// OPA's merge of data documents: objects merge key by key; any other value
/// meeting an existing one is a conflict, reported as its dotted path.
fn merge(
    into: &mut Map<String, Value>,
    from: Map<String, Value>,
    at: &mut Vec<String>,
) -> Result<(), String> {
    for (key, value) in from {
        at.push(key.clone());
        match (into.get_mut(&key), value) {
            (None, value) => {
                into.insert(key, value);
            }
            (Some(Value::Object(existing)), Value::Object(value)) => merge(existing, value, at)?,
            (Some(_), _) => return Err(at.join(".")),
        }
        at.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn objects_merge_and_leaves_conflict() {
        let mut data = object(json!({"a": {"b": 1}}));
        assert!(merge(&mut data, object(json!({"a": {"c": 2}})), &mut Vec::new()).is_ok());
        assert_eq!(Value::Object(data.clone()), json!({"a": {"b": 1, "c": 2}}));
        // Even an equal value is a conflict in OPA's loader.
        assert_eq!(
            merge(&mut data, object(json!({"a": {"b": 1}})), &mut Vec::new()),
            Err("a.b".to_string())
        );
    }

    #[test]
    fn only_json_and_yaml_extensions_as_written_load() {
        assert_eq!(format_of(Path::new("a.json")), Some(Format::Json));
        assert_eq!(format_of(Path::new("a.yml")), Some(Format::Yaml));
        assert_eq!(format_of(Path::new("a.JSON")), None);
        assert!(looks_like_data(Path::new("a.JSON")));
        assert!(looks_like_data(Path::new("a.toml")));
        assert!(!looks_like_data(Path::new("README.md")));
        assert!(!looks_like_data(Path::new("policy.rego")));
    }
}
