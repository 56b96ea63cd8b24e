//! The `planguard.*` Rego functions: checks the built-in policy pack needs
//! that Rego lacks (Temporal cron syntax, IANA zones, secret-like entropy,
//! file digests, Go durations, certificates, the secrets in a document),
//! registered as regorus extensions. The file functions read only inside the
//! workspace of the document being checked, and report what they returned so
//! that a cached verdict is reused only while they would return the same: each
//! evaluation registers them on its own engine with its own [`Sandbox`], and
//! takes what they read from it afterwards.
//!
//! tests/support/planguard_functions.py is the Python twin that OPA uses in
//! the cross-check tests; any change to a result or message here must be
//! made there too (tests/it/functions_twins.rs fails until it is).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use regorus::{Engine, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::cron::{cron_error, timezone_valid};

/// What `planguard explain` and the docs say about one function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionDoc {
    /// The full Rego name, `planguard.` prefix included.
    pub name: &'static str,
    /// How many arguments the function takes.
    pub arity: u8,
    /// One line: `name(arg: type) -> type`.
    pub signature: &'static str,
    /// One sentence, including what an invalid input yields.
    pub description: &'static str,
}

/// Every `planguard.*` function, in the order the docs list them.
pub const FUNCTIONS: &[FunctionDoc] = &[
    CRON_ERROR,
    TIMEZONE_VALID,
    ENTROPY,
    FILE_SHA256,
    DURATION_NS,
    CERTIFICATES,
    SECRETS,
    PATH_ERROR,
    PREFIXED_STRINGS,
    LEAVES,
];

const CRON_ERROR: FunctionDoc = FunctionDoc {
    name: "planguard.cron_error",
    arity: 1,
    signature: "planguard.cron_error(expr: string) -> string",
    description: "\"\" when expr is a valid Temporal schedule cron string (5 fields, \
                  names, ranges, steps, lists, @descriptors, CRON_TZ=/TZ= prefix), \
                  else a short message saying what is wrong.",
};

const TIMEZONE_VALID: FunctionDoc = FunctionDoc {
    name: "planguard.timezone_valid",
    arity: 1,
    signature: "planguard.timezone_valid(name: string) -> boolean",
    description: "true for an IANA time zone name such as Europe/London or UTC; \
                  false otherwise, including \"Local\", which Temporal cannot use.",
};

const ENTROPY: FunctionDoc = FunctionDoc {
    name: "planguard.entropy",
    arity: 1,
    signature: "planguard.entropy(s: string) -> number",
    description: "Shannon entropy of s in bits per character (0 for \"\"); \
                  high values suggest a secret pasted into a config.",
};

const FILE_SHA256: FunctionDoc = FunctionDoc {
    name: "planguard.file_sha256",
    arity: 1,
    signature: "planguard.file_sha256(path: string) -> string",
    description: "Lowercase hex SHA-256 of the file at path (relative to the working \
                  directory), or \"\" when it cannot be read, exceeds 64 MiB or lies \
                  outside the workspace (see planguard.path_error).",
};

const DURATION_NS: FunctionDoc = FunctionDoc {
    name: "planguard.duration_ns",
    arity: 1,
    signature: "planguard.duration_ns(s: string) -> number",
    description: "A Go duration such as 30s, 1h30m or 250ms in nanoseconds, \
                  or -1 when s is not a valid duration.",
};

pub const CERTIFICATES: FunctionDoc = FunctionDoc {
    name: "planguard.certificates",
    arity: 1,
    signature: "planguard.certificates(path: string) -> array",
    description: "The X.509 certificates of the PEM file at path (relative to the working \
                  directory), in file order, each {\"subject\": its common name (or whole \
                  subject), \"not_after\": RFC 3339 UTC, \"not_after_s\" and \
                  \"not_before_s\": Unix seconds}; \
                  [] when the file cannot be read, exceeds 64 MiB, holds no certificate \
                  or lies outside the workspace (see planguard.path_error).",
};

pub const PATH_ERROR: FunctionDoc = FunctionDoc {
    name: "planguard.path_error",
    arity: 1,
    signature: "planguard.path_error(path: string) -> string",
    description: "\"\" when path (relative to the working directory) stays inside the \
                  workspace (the folder of planguard.toml, else the document's workspace), \
                  else why the file functions will not read it: \"leads out of the \
                  workspace\" or \"leads out of the workspace through a symbolic link\".",
};

pub const SECRETS: FunctionDoc = FunctionDoc {
    name: "planguard.secrets",
    arity: 1,
    signature: "planguard.secrets(doc: any) -> array",
    description: "The secrets in doc (PG110's detectors), one row per string that holds any: \
                  [path, {\"kind\": what was found, \"start\", \"end\": the characters of the \
                  string they cover, \"length\": that of the secret kind names}], sorted by path; \
                  [] for a document without secrets or a value that is not a container or string.",
};

pub const PREFIXED_STRINGS: FunctionDoc = FunctionDoc {
    name: "planguard.prefixed_strings",
    arity: 2,
    signature: "planguard.prefixed_strings(doc: any, prefixes: array) -> array",
    description: "Every string value in doc (not object keys) that starts with one of prefixes,                   as [path, value] with path as walk gives it (keys, and indices as numbers),                   in document order: what `walk` and a prefix test find, in one native pass.",
};

pub const LEAVES: FunctionDoc = FunctionDoc {
    name: "planguard.leaves",
    arity: 1,
    signature: "planguard.leaves(doc: any) -> array",
    description: "Every value below the objects of doc that is not an object (arrays are \
                  leaves, whole), as [path, value] with path the keys that lead to it, in \
                  document order: what walk gives for such values on paths of keys alone, \
                  in one native pass; [] when doc is not an object.",
};

/// Registers the `planguard.*` functions that read nothing but their
/// arguments; the file functions come per evaluation ([`register_files`]).
pub fn register(engine: &mut Engine) -> anyhow::Result<()> {
    add(engine, &CRON_ERROR, |s| Value::from(cron_error(s)))?;
    add(engine, &TIMEZONE_VALID, |s| Value::from(timezone_valid(s)))?;
    add(engine, &ENTROPY, |s| Value::from(entropy(s)))?;
    add(engine, &DURATION_NS, |s| Value::from(duration_ns(s)))?;
    add_on_values(engine, &SECRETS, super::secrets::secrets)?;
    add_on_values(engine, &LEAVES, leaves)?;
    let name = PREFIXED_STRINGS.name;
    engine
        .add_extension(
            name.to_string(),
            PREFIXED_STRINGS.arity,
            Box::new(move |params: Vec<Value>| match params.as_slice() {
                [doc, Value::Array(prefixes)] => {
                    let prefixes: Vec<&str> = prefixes
                        .iter()
                        .map(|p| match p {
                            Value::String(p) => Ok(p.as_ref()),
                            other => bail!(
                                "{name} expects an array of strings as prefixes, got {}",
                                type_name(other)
                            ),
                        })
                        .collect::<anyhow::Result<_>>()?;
                    Ok(prefixed_strings(doc, &prefixes))
                }
                [_, other] => bail!(
                    "{name} expects an array of prefixes, got {}",
                    type_name(other)
                ),
                _ => bail!("{name} expects 2 arguments, got {}", params.len()),
            }),
        )
        .with_context(|| format!("cannot register the Rego function {name}"))?;
    Ok(())
}

/// `planguard.leaves`: every value below the objects of `doc` that is not
/// an object, with the keys that lead to it, in document order.
pub fn leaves(doc: &Value) -> Value {
    fn visit(value: &Value, path: &mut Vec<Value>, found: &mut Vec<Value>) {
        let Value::Object(members) = value else {
            return;
        };
        for (key, member) in members.iter() {
            path.push(key.clone());
            match member {
                Value::Object(_) => visit(member, path, found),
                _ => found.push(Value::from(vec![Value::from(path.clone()), member.clone()])),
            }
            path.pop();
        }
    }
    let mut found = Vec::new();
    visit(doc, &mut Vec::new(), &mut found);
    Value::from(found)
}

/// `planguard.prefixed_strings`: every string value below `doc` that starts
/// with one of `prefixes`, with its path, in document order.
pub fn prefixed_strings(doc: &Value, prefixes: &[&str]) -> Value {
    fn walk(value: &Value, path: &mut Vec<Value>, prefixes: &[&str], found: &mut Vec<Value>) {
        match value {
            Value::String(text) if prefixes.iter().any(|p| text.starts_with(p)) => {
                found.push(Value::from(vec![Value::from(path.clone()), value.clone()]));
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Value::from(i));
                    walk(item, path, prefixes, found);
                    path.pop();
                }
            }
            Value::Object(members) => {
                for (key, member) in members.iter() {
                    path.push(key.clone());
                    walk(member, path, prefixes, found);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(doc, &mut Vec::new(), prefixes, &mut found);
    Value::from(found)
}

/// Registers the file functions on an engine, reading inside `sandbox` and
/// recording there what they returned.
pub fn register_files(engine: &mut Engine, sandbox: &Arc<Sandbox>) -> anyhow::Result<()> {
    type FileFunction = fn(&Sandbox, &str) -> Value;
    let files: [(&FunctionDoc, FileFunction); 3] = [
        (&FILE_SHA256, |s, p| Value::from(s.file_sha256(p))),
        (&CERTIFICATES, |s, p| Value::from(s.certificates(p))),
        (&PATH_ERROR, |s, p| Value::from(s.path_error(p))),
    ];
    for (doc, function) in files {
        let name = doc.name;
        let sandbox = Arc::clone(sandbox);
        engine
            .add_extension(
                name.to_string(),
                doc.arity,
                Box::new(move |params: Vec<Value>| match params.as_slice() {
                    [Value::String(text)] => Ok(function(&sandbox, text)),
                    [other] => bail!("{name} expects a string argument, got {}", type_name(other)),
                    _ => bail!("{name} expects 1 argument, got {}", params.len()),
                }),
            )
            .with_context(|| format!("cannot register the Rego function {name}"))?;
    }
    Ok(())
}

/// Every function, the file functions reading below the working folder (as
/// `planguard test` runs them).
pub fn register_all(engine: &mut Engine) -> anyhow::Result<()> {
    register(engine)?;
    register_files(engine, &Arc::new(Sandbox::working_folder()))
}

/// Every function takes one string, so one adapter checks the argument for
/// all of them; a wrong type is a policy bug and must name the function.
fn add(engine: &mut Engine, doc: &FunctionDoc, function: fn(&str) -> Value) -> anyhow::Result<()> {
    let name = doc.name;
    engine
        .add_extension(
            name.to_string(),
            doc.arity,
            Box::new(move |params: Vec<Value>| match params.as_slice() {
                [Value::String(text)] => Ok(function(text)),
                [other] => bail!("{name} expects a string argument, got {}", type_name(other)),
                _ => bail!("{name} expects 1 argument, got {}", params.len()),
            }),
        )
        .with_context(|| format!("cannot register the Rego function {name}"))
}

/// A function of one value of any type (a document, or part of one).
fn add_on_values(
    engine: &mut Engine,
    doc: &FunctionDoc,
    function: fn(&Value) -> Value,
) -> anyhow::Result<()> {
    let name = doc.name;
    engine
        .add_extension(
            name.to_string(),
            doc.arity,
            Box::new(move |params: Vec<Value>| match params.as_slice() {
                [value] => Ok(function(value)),
                _ => bail!("{name} expects 1 argument, got {}", params.len()),
            }),
        )
        .with_context(|| format!("cannot register the Rego function {name}"))
}

/// Rego's own names for value types, as OPA uses in its type errors.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Set(_) => "set",
        Value::Object(_) => "object",
        Value::Undefined => "undefined",
    }
}

// ---------------------------------------------------------- the others

/// Shannon entropy of `text` in bits per character (Unicode scalar value).
pub fn entropy(text: &str) -> f64 {
    // A BTreeMap fixes the summation order, so the result is bit-for-bit
    // the same on every run and in the Python twin (which sorts too).
    let mut counts: BTreeMap<char, u64> = BTreeMap::new();
    for c in text.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let total = text.chars().count() as f64;
    let mut bits = 0.0;
    for &count in counts.values() {
        let p = count as f64 / total;
        bits -= p * p.log2();
    }
    bits
}

/// Files larger than this are not hashed: policies pin small artefacts, and
/// a policy must not be able to make a check read gigabytes.
pub const FILE_SHA256_MAX_BYTES: u64 = 64 * 1024 * 1024;

// ---------------------------------------------------------------- the sandbox

/// Why a path is not read.
const OUTSIDE: &str = "leads out of the workspace";
const OUTSIDE_BY_LINK: &str = "leads out of the workspace through a symbolic link";

/// What one evaluation's file functions returned, call by call: its verdict
/// holds while every call would return the same again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reads(BTreeSet<Call>);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Call {
    function: String,
    argument: String,
    /// The result, as JSON text.
    result: String,
}

impl Reads {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a certificate was read: PG119 compares its expiry with the
    /// day of the check, so the verdict holds for that day only.
    pub fn dated(&self) -> bool {
        self.0
            .iter()
            .any(|c| c.function == CERTIFICATES.name && c.result != "[]")
    }

    /// Whether every call returns what it returned, in the sandbox `root`:
    /// the same digest, the same certificates, the same refusal.
    pub fn unchanged(&self, root: &Path) -> bool {
        let sandbox = Sandbox::new(root);
        self.0.iter().all(|call| {
            let again = match call.function.as_str() {
                name if name == FILE_SHA256.name => {
                    serde_json::json!(sandbox.file_sha256(&call.argument))
                }
                name if name == CERTIFICATES.name => sandbox.certificates(&call.argument),
                name if name == PATH_ERROR.name => {
                    serde_json::json!(sandbox.path_error(&call.argument))
                }
                _ => return false,
            };
            serde_json::to_string(&again).ok().as_deref() == Some(call.result.as_str())
        })
    }
}

/// Where the file functions of one evaluation may read (a folder and what is
/// below it), and what they returned there.
pub struct Sandbox {
    /// Canonical; None when the folder cannot be resolved (nothing is read).
    root: Option<PathBuf>,
    reads: Mutex<Reads>,
}

impl Sandbox {
    pub fn new(root: &Path) -> Self {
        Self::resolved(root.canonicalize().ok())
    }

    /// A sandbox at `root`, already canonical.
    pub fn resolved(root: Option<PathBuf>) -> Self {
        Self {
            root,
            reads: Mutex::default(),
        }
    }

    /// The working folder, for evaluations that belong to no workspace.
    pub fn working_folder() -> Self {
        Self::new(Path::new("."))
    }

    /// What the file functions returned so far.
    pub fn reads(&self) -> Reads {
        self.reads.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn record(&self, function: &FunctionDoc, argument: &str, result: &serde_json::Value) {
        if let Ok(mut reads) = self.reads.lock() {
            reads.0.insert(Call {
                function: function.name.to_string(),
                argument: argument.to_string(),
                result: result.to_string(),
            });
        }
    }

    /// Lowercase hex SHA-256 of the file at `path`, or `""` when it cannot be
    /// read, is larger than [`FILE_SHA256_MAX_BYTES`] or lies outside the
    /// sandbox. Never an error: the policy decides what a missing file means.
    pub fn file_sha256(&self, path: &str) -> String {
        let digest = match self.confine(path) {
            Ok(Some(real)) => sha256_of(&real).unwrap_or_default(),
            Ok(None) | Err(_) => String::new(),
        };
        self.record(&FILE_SHA256, path, &serde_json::json!(digest));
        digest
    }

    /// `""` when `path` (from the working folder) stays inside the sandbox,
    /// else why the file functions will not read it. A path that leads
    /// nowhere is inside: reading it then finds nothing.
    pub fn path_error(&self, path: &str) -> String {
        let error = self.confine(path).err().unwrap_or_default().to_string();
        self.record(&PATH_ERROR, path, &serde_json::json!(error));
        error
    }

    /// The certificates of a PEM file (a client certificate, a CA bundle),
    /// for the expiry rule. Only public parts are read; a private key block
    /// is skipped, never decoded.
    pub fn certificates(&self, path: &str) -> serde_json::Value {
        let found = match self.confine(path) {
            Ok(Some(real)) => {
                read_small(&real).map_or_else(Vec::new, |bytes| parse_certificates(&bytes))
            }
            Ok(None) | Err(_) => Vec::new(),
        };
        let found = serde_json::Value::Array(found);
        self.record(&CERTIFICATES, path, &found);
        found
    }

    /// Where `path` (from the working folder) leads when that is inside the
    /// sandbox: `Ok(None)` when nothing is there to read. Outside is an
    /// error, whether the path says so (absolute, `..`) or a symbolic link on
    /// the way does; the file is then never opened. Callers open the
    /// returned path, in which no link is left to follow.
    fn confine(&self, path: &str) -> Result<Option<PathBuf>, &'static str> {
        let cwd = std::env::current_dir().and_then(|d| d.canonicalize()).ok();
        let (Some(root), Some(cwd)) = (&self.root, cwd) else {
            return Err(OUTSIDE);
        };
        if !lexically_normal(&cwd.join(path)).starts_with(root) {
            return Err(OUTSIDE);
        }
        match Path::new(path).canonicalize() {
            Err(_) => Ok(None),
            Ok(real) if real.starts_with(root) => Ok(Some(real)),
            Ok(_) => Err(OUTSIDE_BY_LINK),
        }
    }
}

/// `path` with `.` and `..` resolved by name alone (`a/b/../c` is `a/c`).
fn lexically_normal(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

fn sha256_of(path: &Path) -> Option<String> {
    let mut file = File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut read = 0u64;
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        // Count what was read rather than trusting metadata: the file may
        // grow while we read it, or be a device with no length.
        read += n as u64;
        if read > FILE_SHA256_MAX_BYTES {
            return None;
        }
        hasher.update(&buffer[..n]);
    }
    Some(crate::digest::hex(&hasher.finalize()))
}

/// A Go duration in nanoseconds, or -1 when `text` is not one. Durations
/// beyond Go's `time.Duration` (int64 nanoseconds, ~292 years) are invalid
/// too, since Temporal could not accept them.
pub fn duration_ns(text: &str) -> i64 {
    crate::duration::parse(text)
        .ok()
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(-1)
}

// ---------------------------------------------------------------- certificates

fn parse_certificates(bytes: &[u8]) -> Vec<serde_json::Value> {
    let mut found = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let Ok(pem) = pem else { break };
        if pem.label != "CERTIFICATE" {
            continue;
        }
        let Ok(certificate) = pem.parse_x509() else {
            continue;
        };
        let subject = certificate.subject();
        let name = subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok().map(str::to_string))
            .unwrap_or_else(|| subject.to_string());
        let not_after = certificate.validity().not_after.timestamp();
        let not_before = certificate.validity().not_before.timestamp();
        let rfc3339 = chrono::DateTime::from_timestamp(not_after, 0)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default();
        found.push(serde_json::json!({
            "subject": name,
            "not_after": rfc3339,
            "not_after_s": not_after,
            "not_before_s": not_before,
        }));
    }
    found
}

fn read_small(path: &Path) -> Option<Vec<u8>> {
    let file = File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(FILE_SHA256_MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    (bytes.len() as u64 <= FILE_SHA256_MAX_BYTES).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_entropy() {
        assert_eq!(entropy(""), 0.0);
        assert_eq!(entropy("aaaa"), 0.0);
        assert_eq!(entropy("abcd"), 2.0);
        assert_eq!(entropy("aabb"), 1.0);
        assert_eq!(entropy("ab"), 1.0);
        assert!((entropy("aab") - 0.918_295_834_054_489_6).abs() < 1e-12);
        // Characters, not bytes: "é" is two bytes but one symbol.
        assert_eq!(entropy("éé"), 0.0);
        assert!(entropy("8f2Kq9xZ7mP4wL1v") > entropy("password"));
    }

    #[test]
    fn hashes_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("abc.txt");
        std::fs::write(&path, "abc").expect("write temp file");
        let path = path.to_str().expect("temp paths are UTF-8 here");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "").expect("write temp file");
        let missing = dir.path().join("missing");
        let sandbox = Sandbox::new(dir.path());
        let digests = [
            sandbox.file_sha256(path),
            sandbox.file_sha256(empty.to_str().expect("UTF-8")),
            sandbox.file_sha256(missing.to_str().expect("UTF-8")),
            sandbox.file_sha256(dir.path().to_str().expect("UTF-8")),
            sandbox.file_sha256(""),
        ];
        let reads = sandbox.reads();
        assert_eq!(
            digests,
            [
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "",
                "",
                "",
            ]
        );
        assert!(reads.unchanged(dir.path()));
        std::fs::write(&missing, "now here").expect("write temp file");
        assert!(!reads.unchanged(dir.path()), "a file that appeared");
    }

    #[test]
    fn refuses_files_over_the_limit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("big");
        let file = File::create(&path).expect("create temp file");
        // Sparse: no 64 MiB actually written.
        file.set_len(FILE_SHA256_MAX_BYTES + 1)
            .expect("extend temp file");
        let digest = Sandbox::new(dir.path()).file_sha256(path.to_str().expect("UTF-8"));
        assert_eq!(digest, "");
    }

    /// Regression: a config naming `../../../../etc/hostname` or
    /// `/etc/passwd` made planguard read files of the machine it ran on.
    #[cfg(unix)]
    #[test]
    fn reads_stay_inside_the_sandbox() {
        let outside = tempfile::tempdir().expect("temp dir");
        std::fs::write(outside.path().join("secret"), "abc").expect("write");
        let workspace = tempfile::tempdir().expect("temp dir");
        let inside = workspace.path().join("certs");
        std::fs::create_dir(&inside).expect("mkdir");
        std::fs::write(inside.join("own"), "abc").expect("write");
        std::os::unix::fs::symlink(outside.path().join("secret"), inside.join("link"))
            .expect("symlink");
        std::os::unix::fs::symlink(outside.path(), inside.join("folder")).expect("symlink");
        std::os::unix::fs::symlink("own", inside.join("alias")).expect("symlink");
        let at = |p: &Path| p.to_str().expect("UTF-8").to_string();
        let secret = at(&outside.path().join("secret"));
        // Up to / (and beyond, which stays there), then down to the secret.
        let dotted = format!(
            "{}/{}{}",
            at(&inside),
            "../".repeat(20),
            secret.trim_start_matches('/')
        );
        let cases = [
            (secret.clone(), OUTSIDE),
            (dotted, OUTSIDE),
            (at(&inside.join("link")), OUTSIDE_BY_LINK),
            (at(&inside.join("folder/secret")), OUTSIDE_BY_LINK),
            (at(&inside.join("../certs/own")), ""),
            (at(&inside.join("alias")), ""),
            (at(&inside.join("nothing-here")), ""),
        ];
        let sandbox = Sandbox::new(workspace.path());
        let found: Vec<_> = cases
            .iter()
            .map(|(path, _)| {
                (
                    sandbox.path_error(path),
                    sandbox.file_sha256(path),
                    sandbox.certificates(path),
                )
            })
            .collect();
        let reads = sandbox.reads();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        for ((path, error), (said, digest, certificates)) in cases.iter().zip(found) {
            assert_eq!(said, *error, "{path}");
            let readable = error.is_empty() && !path.ends_with("nothing-here");
            assert_eq!(digest, if readable { abc } else { "" }, "{path}");
            assert_eq!(certificates, serde_json::json!([]), "{path}");
        }
        assert!(!reads.dated());
        // Outside any workspace: the working folder is the limit.
        let working = Sandbox::working_folder();
        assert_eq!(working.file_sha256(&secret), "");
        assert_eq!(working.path_error(&secret), OUTSIDE);
    }

    #[test]
    fn converts_durations() {
        for (text, ns) in [
            ("30s", 30_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("250ms", 250_000_000),
            ("1.5h", 5_400_000_000_000),
            ("0", 0),
            ("1us", 1_000),
            ("1µs", 1_000),
            ("7ns", 7),
            ("2562047h", 9_223_369_200_000_000_000),
        ] {
            assert_eq!(duration_ns(text), ns, "{text}");
        }
        for bad in [
            "",
            "5",
            "5 minutes",
            "1d",
            "-5s",
            "abc",
            "2562048h",
            "99999999999999h",
        ] {
            assert_eq!(duration_ns(bad), -1, "{bad:?}");
        }
    }

    fn engine_with(policy: &str) -> Engine {
        let mut engine = Engine::new();
        register(&mut engine).expect("functions register on a fresh engine");
        engine
            .add_policy("t.rego".to_string(), policy.to_string())
            .expect("test policy parses");
        engine
    }

    fn eval(engine: &mut Engine, query: &str) -> anyhow::Result<Value> {
        engine.eval_rule(query.to_string())
    }

    #[test]
    fn every_function_is_callable_from_rego() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("abc.txt");
        std::fs::write(&path, "abc").expect("write temp file");
        let policy = format!(
            "package t\nimport rego.v1\n\
             cron := planguard.cron_error(\"61 * * * *\")\n\
             cron_ok if planguard.cron_error(\"0 9 * * MON-FRI\") == \"\"\n\
             zone := planguard.timezone_valid(\"Asia/Riyadh\")\n\
             local := planguard.timezone_valid(\"Local\")\n\
             bits := planguard.entropy(\"abcd\")\n\
             digest := planguard.file_sha256({:?})\n\
             missing := planguard.file_sha256(\"/no/such/file\")\n\
             ns := planguard.duration_ns(\"1h30m\")\n\
             bad_duration if planguard.duration_ns(\"soon\") < 0\n",
            path.to_str().expect("UTF-8")
        );
        let mut engine = engine_with(&policy);
        register_files(&mut engine, &Arc::new(Sandbox::new(dir.path()))).expect("registers");
        let expected = [
            (
                "cron",
                Value::from("minute field \"61\" is out of range 0-59"),
            ),
            ("cron_ok", Value::from(true)),
            ("zone", Value::from(true)),
            ("local", Value::from(false)),
            ("bits", Value::from(2.0)),
            (
                "digest",
                Value::from("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ),
            ("missing", Value::from("")),
            ("ns", Value::from(5_400_000_000_000i64)),
            ("bad_duration", Value::from(true)),
        ];
        for (rule, value) in expected {
            let got = eval(&mut engine, &format!("data.t.{rule}"));
            assert_eq!(got.expect("rule evaluates"), value, "data.t.{rule}");
        }
    }

    #[test]
    fn wrong_argument_types_are_errors_naming_the_function() {
        let mut engine = engine_with(
            "package t\nimport rego.v1\n\
             x := planguard.cron_error(61)\n\
             y := planguard.entropy([\"a\"])\n",
        );
        let error = eval(&mut engine, "data.t.x").expect_err("a number is not a cron string");
        let message = format!("{error:#}");
        assert!(
            message.contains("planguard.cron_error expects a string argument, got number"),
            "{message}"
        );
        let error = eval(&mut engine, "data.t.y").expect_err("an array is not a string");
        assert!(
            format!("{error:#}").contains("planguard.entropy expects a string argument, got array"),
            "{error:#}"
        );
    }

    #[test]
    fn registering_twice_is_an_error_not_a_panic() {
        let mut engine = Engine::new();
        register(&mut engine).expect("first registration");
        let error = register(&mut engine).expect_err("names are taken");
        assert!(format!("{error:#}").contains("planguard.cron_error"));
    }

    #[test]
    fn prefixed_strings_are_found_with_their_paths_as_walk_gives_them() {
        let doc = Value::from(serde_json::json!({
            "a": "vault://kv/x",
            "b": [1, "aws-sm://y", {"vault://key": "plain"}],
            "c": {"d": "vault:/no"},
        }));
        let found = prefixed_strings(&doc, &["vault://", "aws-sm://"]);
        assert_eq!(
            serde_json::to_value(&found).expect("JSON"),
            serde_json::json!([[["a"], "vault://kv/x"], [["b", 1], "aws-sm://y"],])
        );
        let mut engine = engine_with(
            "package t
import rego.v1
             walked contains [p, v] if { walk(input, [p, v]); is_string(v); startswith(v, \"vault://\") }\n\
             native contains [p, v] if { some row in planguard.prefixed_strings(input, [\"vault://\"]); p := row[0]; v := row[1] }\n\
             bad := planguard.prefixed_strings(input, \"vault://\")\n",
        );
        engine.set_input(doc);
        assert_eq!(
            eval(&mut engine, "data.t.walked").expect("walks"),
            eval(&mut engine, "data.t.native").expect("runs")
        );
        let error = eval(&mut engine, "data.t.bad").expect_err("a string is not a list");
        assert!(
            format!("{error:#}")
                .contains("planguard.prefixed_strings expects an array of prefixes, got string"),
            "{error:#}"
        );
    }

    #[test]
    fn leaves_are_what_walk_gives_for_values_that_are_not_objects() {
        let doc = Value::from(serde_json::json!({
            "a": {"b": 1, "c": {"d": [1, {"e": 2}]}, "f": {}},
            "g": null,
            "h": "x",
        }));
        assert_eq!(
            serde_json::to_value(leaves(&doc)).expect("JSON"),
            serde_json::json!([
                [["a", "b"], 1],
                [["a", "c", "d"], [1, {"e": 2}]],
                [["g"], null],
                [["h"], "x"],
            ])
        );
        assert_eq!(leaves(&Value::from("x")), Value::from(Vec::<Value>::new()));
        let mut engine = engine_with(
            "package t
import rego.v1
             walked contains [p, v] if { walk(input, [p, v]); count(p) > 0; not is_object(v); every k in p { is_string(k) } }\n\
             native contains [p, v] if { some [p, v] in planguard.leaves(input) }\n",
        );
        engine.set_input(doc);
        assert_eq!(
            eval(&mut engine, "data.t.walked").expect("walks"),
            eval(&mut engine, "data.t.native").expect("runs")
        );
    }

    #[test]
    fn docs_cover_every_function() {
        let names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "planguard.cron_error",
                "planguard.timezone_valid",
                "planguard.entropy",
                "planguard.file_sha256",
                "planguard.duration_ns",
                "planguard.certificates",
                "planguard.secrets",
                "planguard.path_error",
                "planguard.prefixed_strings",
                "planguard.leaves",
            ]
        );
        for doc in FUNCTIONS {
            assert!(doc.signature.starts_with(&format!("{}(", doc.name)));
            assert!(!doc.description.contains('\n'));
        }
    }
}
