//! A scratch copy of a fixture workspace, edited for one test case.

use std::path::Path;

use serde_json::Value;

use super::root;

/// Copy a workspace, then edit its documents.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn copy_of(from: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("fidelity")
            .tempdir()
            .expect("tempdir");
        let source = root().join(from);
        // Not the cache a test that checked the fixture in place left there:
        // a copy starts cold.
        let walk = walkdir::WalkDir::new(&source)
            .into_iter()
            .filter_entry(|e| e.file_name() != ".planguard");
        for entry in walk {
            let entry = entry.expect("walkable");
            let target = dir
                .path()
                .join(entry.path().strip_prefix(&source).expect("below"));
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&target).expect("mkdir");
            } else {
                std::fs::copy(entry.path(), &target).expect("copy");
            }
        }
        Self { dir }
    }

    /// The clean workspace with its own schedule id in every config and
    /// plan, so that tests sharing a Temporal server never share a schedule.
    pub fn with_schedule_id(id: &str) -> Self {
        let ws = Self::copy_of("fixtures/workspaces/clean");
        for env in ["dev", "uat", "prod"] {
            ws.edit(&format!("conf/{env}.json"), |c| {
                c["runtime"]["orchestration"]["temporal"]["schedule"]["id"] = Value::from(id);
            });
            for build in 10..=12 {
                ws.edit(&format!("orchestration_plans/{env}/{build}.json"), |p| {
                    p["schedule_id"] = Value::from(id);
                });
            }
        }
        ws
    }

    /// Edit a JSON file; see `edit_json`.
    pub fn edit(&self, file: &str, change: impl FnOnce(&mut Value)) {
        edit_json(self.dir.path(), file, change);
    }

    /// A case of fixtures/rules/cases.json: `copy` files, write `files`,
    /// then `patch` members (`value` sets, `remove` deletes, `append` appends
    /// to the string, `replace` [old, new] edits the string at
    /// `from_pointer`; "SHA256:<file>" stands for that file's checksum).
    pub fn apply(&self, case: &Value) {
        let dir = self.dir.path();
        for copy in case["copy"].as_array().into_iter().flatten() {
            let to = dir.join(copy["to"].as_str().expect("to"));
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::copy(dir.join(copy["from"].as_str().expect("from")), to).expect("copy");
        }
        for (path, text) in case["files"].as_object().into_iter().flatten() {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text.as_str().expect("text")).expect("write");
        }
        for file in case["delete"].as_array().into_iter().flatten() {
            std::fs::remove_file(dir.join(file.as_str().expect("a path"))).expect("delete");
        }
        for patch in case["patch"].as_array().into_iter().flatten() {
            let pointer = patch["pointer"].as_str().expect("pointer");
            edit_only(&dir.join(patch["file"].as_str().expect("file")), |doc| {
                let (parent, key) = pointer.rsplit_once('/').expect("a member pointer");
                let key = key.replace("~1", "/").replace("~0", "~");
                let string_at = |p: &str| {
                    doc.pointer(p)
                        .and_then(Value::as_str)
                        .expect("a string")
                        .to_string()
                };
                let value = if let Some(suffix) = patch["append"].as_str() {
                    Some(Value::from(format!("{}{suffix}", string_at(pointer))))
                } else if let Some(r) = patch["replace"].as_array() {
                    let from = string_at(patch["from_pointer"].as_str().expect("from_pointer"));
                    let (old, new) = (r[0].as_str().expect("old"), r[1].as_str().expect("new"));
                    Some(Value::from(from.replace(old, new)))
                } else if patch["remove"] == true {
                    None
                } else {
                    Some(sha_placeholders(dir, patch["value"].clone()))
                };
                match (doc.pointer_mut(parent).expect("parent exists"), value) {
                    (Value::Object(map), Some(value)) => {
                        map.insert(key, value);
                    }
                    (Value::Object(map), None) => {
                        map.remove(&key);
                    }
                    (Value::Array(items), Some(value)) => {
                        items[key.parse::<usize>().expect("index")] = value;
                    }
                    (other, _) => panic!("cannot patch {pointer} in {other}"),
                }
            });
        }
    }

    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text).expect("write");
    }

    pub fn path(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }
}

fn sha_placeholders(dir: &Path, value: Value) -> Value {
    match value {
        Value::String(s) => match s.strip_prefix("SHA256:") {
            Some(file) => Value::from(sha256(&std::fs::read(dir.join(file)).expect("file"))),
            None => Value::String(s),
        },
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, sha_placeholders(dir, v)))
                .collect(),
        ),
        other => other,
    }
}

/// Edit `file` (relative to `dir`) as JSON, written back pretty. A config
/// (`conf/<env>.json`) edited this way is followed by what CI does after a
/// config edit: the newest plan of its environment gets the config's new
/// checksum, when it had the old one (so PG208 reports only what a test set
/// up on purpose). fixtures/rules/cases.json says it for itself.
pub fn edit_json(dir: &Path, file: &str, change: impl FnOnce(&mut Value)) {
    let path = dir.join(file);
    let before = std::fs::read(&path).expect("read");
    edit_only(&path, change);
    if let Some(env) = file
        .strip_prefix("conf/")
        .and_then(|f| f.strip_suffix(".json"))
    {
        let after = std::fs::read(&path).expect("read");
        let plans = dir.join("orchestration_plans").join(env);
        let newest = std::fs::read_dir(&plans)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".json")?.parse::<u64>().ok()
            })
            .max();
        if let Some(build) = newest {
            let plan = plans.join(format!("{build}.json"));
            let (old, new) = (sha256(&before), sha256(&after));
            edit_only(&plan, |p| {
                if p["source_config"]["sha256"] == old.as_str() {
                    p["source_config"]["sha256"] = Value::from(new);
                }
            });
        }
    }
}

fn edit_only(path: &Path, change: impl FnOnce(&mut Value)) {
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON");
    change(&mut value);
    std::fs::write(path, serde_json::to_string_pretty(&value).expect("JSON")).expect("write");
}

/// The sha256 of `bytes` in hex, as `sha256sum` prints it.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
