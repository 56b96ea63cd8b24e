//! Policy check: Rego evaluated with regorus, following conftest's conventions
//! (`deny`/`violation`/`warn` rules with optional `_suffix`, string or `{msg}`
//! results, `exception` rules) so existing policies run unchanged, and going
//! beyond them: a result object may name its rule id and the JSON location it
//! is about, which becomes a line and column.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use rayon::prelude::*;
use regex::Regex;
use regorus::Engine;
use regorus::utils::limits::ExecutionTimerConfig;
use serde_json::{Value, json};

use super::Budget;
use super::functions::{self, Reads, Sandbox};
use crate::diagnostic::{Applicability, Diagnostic, Failure, Fix, Location, Severity};
use crate::load::{Document, spans};
use crate::rego::{self, EngineError, ErrorKind};
use crate::rules;
use crate::settings::{RegoVersion, Settings, relative_to_cwd};
use crate::source::{SourceFile, display_path};

include!(concat!(env!("OUT_DIR"), "/builtin_policies.rs"));

/// Built-in per-document packages live below this prefix, cross-file ones below the next.
const BUILTIN_DOCUMENT_PREFIX: &str = "planguard.rules.";
const BUILTIN_PROJECT_PREFIX: &str = "planguard.project.";

/// Why the policies could not be loaded at all (exit status 2), as opposed to
/// a broken policy file, which is a diagnostic.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy path {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Data(#[from] crate::load::data::DataError),
    #[error("cannot use the data: {0}")]
    Engine(String),
    #[error("PLANGUARD_NOW={value:?} is not a time: {message}")]
    Now { value: String, message: String },
}

/// The variable that sets the instant time-dependent rules judge by, for
/// reproducible runs and to ask what will fail on a later day.
pub const NOW_VARIABLE: &str = "PLANGUARD_NOW";

/// The instant in `PLANGUARD_NOW` (RFC 3339, or Unix seconds), in ns since
/// the epoch; None when it is not set, so each check reads the clock.
pub fn fixed_now() -> Result<Option<i64>, PolicyError> {
    let Some(value) = std::env::var_os(NOW_VARIABLE) else {
        return Ok(None);
    };
    let value = value.to_string_lossy().into_owned();
    let error = |message: String| PolicyError::Now {
        value: value.clone(),
        message,
    };
    let seconds = match value.trim().parse::<i64>() {
        Ok(seconds) => seconds,
        Err(_) => chrono::DateTime::parse_from_rfc3339(value.trim())
            .map_err(|e| {
                error(format!(
                    "{e} (give RFC 3339, such as 2027-11-07T09:00:00Z, or Unix seconds)"
                ))
            })?
            .timestamp(),
    };
    seconds
        .checked_mul(1_000_000_000)
        .map(Some)
        .ok_or_else(|| error("it is too far from 1970".to_string()))
}

/// The deny/warn/violation rules of one package, as conftest finds them.
#[derive(Debug, Clone)]
struct Package {
    /// Without the `data.` prefix, e.g. `main`.
    name: String,
    rules: BTreeSet<String>,
    has_exception: bool,
    /// Some of its files are the user's, not built-in.
    user: bool,
}

/// How a document is handed to the per-document packages: `input` holds the
/// document and its file context, which the query puts in place. Setting
/// `data.planguard.file` with `add_data` instead would make regorus prepare
/// the policies again for every document.
const WITH_DOCUMENT: &str = "with data.planguard.file as input.file with input as input.document";

/// Compiled policies, ready to be cloned per document.
pub struct Policies {
    /// Every policy, for the cross-file evaluation.
    engine: Engine,
    /// The policies a document's evaluation can reach (see
    /// [`document_engine`]), with the module that names every per-document
    /// rule.
    document_engine: Engine,
    document_packages: Vec<Package>,
    project_packages: Vec<Package>,
    /// Every rule of every per-document package, as one rule of a module
    /// compiled with the policies (see `document_module`), when it compiled.
    document_rule: Option<String>,
    /// What the cross-file packages get of each document, by kind: the field
    /// paths of `data.planguard.lib.project.facts`; None when they get the
    /// whole document (a user's cross-file package is loaded, or the
    /// built-in policies are not).
    facts: Option<HashMap<String, Vec<Vec<String>>>>,
    /// The environments' promotion order (`data.planguard.promotion`), when
    /// only the built-in cross-file rules run: what `relevant` needs to
    /// know which facts a check of a few files reads.
    promotion: Option<Vec<String>>,
    sources: HashMap<String, SourceFile>,
    /// Hash of every policy file and the data, for the cache key.
    pub fingerprint: String,
    /// Policy files that did not parse or compile, located in the .rego file.
    pub diagnostics: Vec<Diagnostic>,
    /// The folder of planguard.toml, when there is one: files are read only
    /// below it (else below the workspace of the document being checked).
    settings_root: Option<PathBuf>,
    /// Some user policy calls a built-in whose result changes from run to
    /// run (the clock, randomness, the environment): no verdict can be
    /// reused. The built-in policies read the clock only through PG119,
    /// which the cache knows about (see `Reads::dated`).
    pub volatile: bool,
    /// `[policy] timeout`: the time limit of one evaluation.
    timeout: std::time::Duration,
    /// [`FILES_PER_TIME_LIMIT`], smaller in tests that show the cross-file
    /// rules get a longer time limit without comparing 5,000 files.
    files_per_time_limit: usize,
}

/// The cross-file rules compare every file with the others, so their time
/// limit is the policy timeout once per this many files (at least once): a
/// large repository is not a runaway rule.
pub const FILES_PER_TIME_LIMIT: usize = 5_000;

/// The time limit of the cross-file rules over `files` files, allowing
/// `timeout` per `per` files.
fn project_time_limit(
    timeout: std::time::Duration,
    files: usize,
    per: usize,
) -> std::time::Duration {
    let times = files.div_ceil(per.max(1)).max(1);
    timeout.saturating_mul(u32::try_from(times).unwrap_or(u32::MAX))
}

/// Built-ins whose result is not a function of their arguments.
static VOLATILE_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:time\.now_ns|rand\.intn|uuid\.rfc4122|opa\.runtime|http\.send)\s*\(")
        .expect("valid regex")
});

/// Results of one rule on one document beyond which the rest are counted,
/// not reported: a rule returning a million findings is a broken rule.
pub const MAX_RESULTS: usize = 100;

static RULE_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*(?:default[ \t]+)?((?:deny|violation|warn)(?:_[a-zA-Z0-9]+)*)[ \t]*(?:contains\b|if\b|\[|\{|:=|=)")
        .expect("valid regex")
});
static EXCEPTION_HEAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^[ \t]*exception\b").expect("valid regex"));

fn is_failure(rule: &str) -> bool {
    rule.starts_with("deny") || rule.starts_with("violation")
}

/// conftest's `removeFailurePrefix`: `deny_foo` is excepted by listing `foo`.
fn exception_name(rule: &str) -> &str {
    rule.strip_prefix("deny_")
        .or_else(|| rule.strip_prefix("violation_"))
        .unwrap_or(rule)
}

impl Policies {
    pub fn load(settings: &Settings) -> Result<Self, PolicyError> {
        let mut sources: Vec<SourceFile> = Vec::new();
        let mut user = HashSet::new();
        if settings.policy.builtin {
            for (path, text) in BUILTIN_POLICIES {
                if path.ends_with("_test.rego") {
                    continue;
                }
                sources.push(SourceFile::new(
                    format!("<builtin>/policies/{path}"),
                    text.to_string(),
                ));
            }
        }
        for path in &settings.policy.paths {
            let files = rego::files(path, false)
                .map_err(|(path, source)| PolicyError::Read { path, source })?;
            for file in files {
                let text = std::fs::read(&file).map_err(|source| PolicyError::Read {
                    path: file.clone(),
                    source,
                })?;
                let label = display_path(&relative_to_cwd(&file));
                user.insert(label.clone());
                sources.push(SourceFile::new(
                    label,
                    String::from_utf8_lossy(&text).into_owned(),
                ));
            }
        }
        let data = crate::load::data::load(&settings.policy.data, crate::load::data::Layout::Root)?;
        let fingerprint = {
            use sha2::Digest;
            let mut hasher = sha2::Sha256::new();
            for file in &sources {
                for part in [file.display_path().as_str(), file.text()] {
                    hasher.update((part.len() as u64).to_le_bytes());
                    hasher.update(part.as_bytes());
                }
            }
            hasher.update(data.to_string().as_bytes());
            super::cache::hex(&hasher.finalize())
        };
        let environments =
            serde_json::to_value(&settings.environments).expect("environments serialize to JSON");
        let mut all_data = data;
        merge(
            &mut all_data,
            json!({"planguard": {
                "environments": environments,
                "promotion": settings.promotion,
                "certificates": {
                    "warn_days": settings.certificates.warn_days,
                    "error_days": settings.certificates.error_days,
                    "rotation_days": settings.certificates.rotation_days,
                },
            }}),
        );
        let all_data = regorus::Value::from(all_data);
        let new_engine = || {
            let mut engine = Engine::new();
            super::functions::register(&mut engine)
                .expect("planguard.* functions register once each");
            engine.set_rego_v0(settings.policy.rego_version == RegoVersion::V0);
            engine.set_execution_timer_config(ExecutionTimerConfig {
                limit: settings.policy.timeout,
                check_interval: NonZeroU32::new(256).expect("not zero"),
            });
            engine
                .add_data(all_data.clone())
                .map_err(|e| PolicyError::Engine(format!("{e:#}")))?;
            Ok::<_, PolicyError>(engine)
        };
        let rego::Loaded {
            engine,
            policies: usable,
            failures,
        } = rego::load(sources, new_engine)?;
        let diagnostics: Vec<Diagnostic> = failures.iter().map(load_failure).collect();
        let usable: Vec<(rego::Policy, bool)> = usable
            .into_iter()
            .map(|p| {
                let user = user.contains(&p.file.display_path());
                (p, user)
            })
            .collect();

        let mut packages: BTreeMap<(bool, String), Package> = BTreeMap::new();
        for (src, user) in &usable {
            let user = *user;
            let name = &src.package;
            let project = if user {
                settings.policy.project_namespaces.contains(name)
            } else {
                name.starts_with(BUILTIN_PROJECT_PREFIX)
            };
            let selected = project
                || if user {
                    settings.policy.all_namespaces || settings.policy.namespaces.contains(name)
                } else {
                    name.starts_with(BUILTIN_DOCUMENT_PREFIX)
                };
            if !selected {
                continue;
            }
            let package = packages
                .entry((project, name.clone()))
                .or_insert_with(|| Package {
                    name: name.clone(),
                    rules: BTreeSet::new(),
                    has_exception: false,
                    user: false,
                });
            package.user |= user;
            package.rules.extend(
                RULE_HEAD
                    .captures_iter(src.file.text())
                    .map(|c| c[1].to_string()),
            );
            package.has_exception |= EXCEPTION_HEAD.is_match(src.file.text());
        }
        let (project, document): (Vec<_>, Vec<_>) =
            packages.into_iter().partition(|((project, _), _)| *project);
        let document_packages: Vec<Package> = document.into_iter().map(|(_, p)| p).collect();
        let project_packages: Vec<Package> = project.into_iter().map(|(_, p)| p).collect();
        let mut document_engine =
            document_engine(&usable, new_engine).unwrap_or_else(|| engine.clone());
        let document_rule = if document_packages.is_empty() {
            None
        } else {
            // Compiled with the policies once; should it fail, each rule
            // runs alone (slower, same findings).
            let module = document_module(&document_packages);
            let added = document_engine
                .add_policy("<planguard>/document.rego".to_string(), module)
                .and_then(|_| {
                    document_engine
                        .eval_query("true".to_string(), false)
                        .map(|_| ())
                });
            debug_assert!(added.is_ok(), "{added:?}");
            added.is_ok().then(|| DOCUMENT_RULE.to_string())
        };
        let facts = if project_packages.iter().any(|p| p.user) {
            None
        } else {
            project_facts(&mut engine.clone())
        };
        let promotion = facts.as_ref().and_then(|_| {
            let results = engine
                .clone()
                .eval_query("x := data.planguard.promotion".to_string(), false)
                .ok()?;
            serde_json::from_value(to_json(&binding(&results))).ok()
        });

        let volatile = usable
            .iter()
            .any(|(s, user)| *user && VOLATILE_CALL.is_match(s.file.text()));
        Ok(Self {
            engine,
            document_engine,
            document_packages,
            project_packages,
            document_rule,
            facts,
            promotion,
            fingerprint,
            settings_root: settings
                .file
                .as_ref()
                .map(|_| match settings.root.as_os_str() {
                    s if s.is_empty() => PathBuf::from("."),
                    _ => settings.root.clone(),
                }),
            volatile,
            timeout: settings.policy.timeout,
            files_per_time_limit: FILES_PER_TIME_LIMIT,
            sources: usable
                .into_iter()
                .map(|(s, _)| (s.file.display_path(), s.file))
                .collect(),
            diagnostics,
        })
    }

    /// The folder the file functions may read below while checking a document
    /// of `workspace`: the folder of planguard.toml when the workspace is in
    /// it, else the workspace itself.
    pub fn sandbox(&self, workspace: Option<&str>) -> PathBuf {
        let workspace = match workspace {
            Some(w) if !w.is_empty() => PathBuf::from(w),
            _ => PathBuf::from("."),
        };
        let canonical = |p: &Path| p.canonicalize().ok();
        match &self.settings_root {
            Some(root)
                if canonical(&workspace)
                    .zip(canonical(root))
                    .is_some_and(|(w, r)| w.starts_with(r)) =>
            {
                root.clone()
            }
            _ => workspace,
        }
    }

    /// Allow the policy timeout once per `files` files compared by the
    /// cross-file rules, instead of once per [`FILES_PER_TIME_LIMIT`].
    #[cfg(test)]
    pub(super) fn set_files_per_time_limit(&mut self, files: usize) {
        self.files_per_time_limit = files;
    }

    /// Run the per-document packages on one document: every package in one
    /// evaluation, so that what rules share (the walk of the document, the
    /// environment's settings) is computed once. Should that evaluation fail,
    /// each rule runs alone, so that a failing rule is one diagnostic and the
    /// others still report.
    ///
    /// Policies see the clock at `now_ns` and read files only inside the
    /// document's sandbox; what the file functions returned comes back too.
    /// A rule that exceeds the time limit is not run again in this run
    /// (`budget`).
    pub fn check_document(
        &self,
        document: &Document,
        now_ns: i64,
        budget: &Budget,
    ) -> (Vec<Diagnostic>, Reads) {
        if self.document_packages.is_empty() {
            return (Vec::new(), Reads::default());
        }
        let workspace = document.workspace.as_deref();
        let root = budget.sandbox(workspace, || self.sandbox(workspace).canonicalize().ok());
        let sandbox = Arc::new(Sandbox::resolved(root));
        let found = self.evaluate_document(document, now_ns, budget, &sandbox);
        (found, sandbox.reads())
    }

    /// An engine for one evaluation: `compiled`, with the file functions
    /// reading in `sandbox`.
    fn engine(compiled: &Engine, sandbox: &Arc<Sandbox>) -> Engine {
        let mut engine = compiled.clone();
        // The base engine has no file functions, so the names are free.
        if let Err(error) = functions::register_files(&mut engine, sandbox) {
            debug_assert!(false, "{error:#}");
        }
        engine
    }

    fn evaluate_document(
        &self,
        document: &Document,
        now_ns: i64,
        budget: &Budget,
        sandbox: &Arc<Sandbox>,
    ) -> Vec<Diagnostic> {
        let mut engine = Self::engine(&self.document_engine, sandbox);
        let mut input = regorus::Value::new_object();
        if let Ok(map) = input.as_object_mut() {
            map.insert(
                regorus::Value::from("file"),
                regorus::Value::from(file_context(document)),
            );
            map.insert(
                regorus::Value::from("document"),
                regorus::Value::from(document.value.clone()),
            );
            map.insert(regorus::Value::from("now"), regorus::Value::from(now_ns));
        }
        engine.set_input(input);
        let locate = |finding: &Value| locate_in(&document.file, finding);
        let mut diagnostics = Vec::new();
        // The built-in rules read fields of an object; any other top level is
        // already a schema error, so they have nothing to add. And once a
        // rule has exceeded the time limit, the shared evaluation would too:
        // then each rule runs alone, the slow one skipped.
        let is_object = document.value.is_object();
        // Profiling times each rule alone, so it takes the other way too.
        let any_timed_out = budget.any_timed_out() || budget.profile().is_some();
        let clock = format!(" with time.now_ns as {now_ns}");
        if is_object
            && !any_timed_out
            && let Some(rule) = &self.document_rule
            && let Some(tree) = engine
                .eval_rule(rule.clone())
                .ok()
                .filter(|v| *v != regorus::Value::Undefined)
        {
            for (i, package) in self.document_packages.iter().enumerate() {
                self.evaluate(
                    package,
                    &document.file,
                    &mut diagnostics,
                    budget,
                    locate,
                    |rule| Ok(document_rule_value(&tree, i, rule)),
                );
            }
            return diagnostics;
        }
        for package in &self.document_packages {
            if !is_object && package.name.starts_with(BUILTIN_DOCUMENT_PREFIX) {
                continue;
            }
            self.evaluate(
                package,
                &document.file,
                &mut diagnostics,
                budget,
                locate,
                |rule| {
                    let results = engine.eval_query(
                        format!("x := data.{}.{rule} {WITH_DOCUMENT}{clock}", package.name),
                        false,
                    )?;
                    Ok(binding(&results))
                },
            );
        }
        diagnostics
    }

    /// What the cross-file packages see of a document (conftest's
    /// `--combine` shape: `{path, contents}`, plus kind, workspace,
    /// environment and build, and a config's `sha256`). The built-in ones only read a few fields,
    /// listed in `data.planguard.lib.project.facts`; they get just those, so
    /// that a check holds small facts rather than every document.
    pub fn project_entry(&self, document: &Document) -> Value {
        let mut entry = file_context(document);
        let kind = document.kind.map(|k| k.as_str()).unwrap_or_default();
        entry["contents"] = match &self.facts {
            // Not an object: the cross-file rules skip it (see check_project).
            _ if !document.value.is_object() => document.value.clone(),
            Some(facts) => project(&document.value, facts.get(kind).map_or(&[], Vec::as_slice)),
            None => document.value.clone(),
        };
        // What a plan's `source_config.sha256` must be (PG208): the bytes
        // of the file, byte order mark and all, as a generator hashes them.
        if document.kind == Some(crate::discover::Kind::Config) {
            entry["sha256"] =
                Value::from(crate::digest::sha256_hex(document.file.text().as_bytes()));
        }
        entry
    }

    /// `project_entry` as the text the cross-file rules are given.
    pub fn project_facts(&self, document: &Document) -> Facts {
        Facts::of(&self.project_entry(document))
    }

    /// Whether the cross-file rules are only the built-in ones, whose needs
    /// `relevant` knows: then a check of a few files may leave out facts.
    pub fn can_leave_out_facts(&self) -> bool {
        self.promotion.is_some()
    }

    /// Which files' facts the cross-file rules need to say what they would
    /// about the files in `reported`, from each file's summary
    /// (`relevant::summary`; a file without one is needed).
    pub fn needed_facts(
        &self,
        summaries: &[Option<&Value>],
        reported: &std::collections::HashSet<String>,
    ) -> Vec<bool> {
        match &self.promotion {
            Some(promotion) => super::relevant::needed(summaries, reported, promotion),
            None => vec![true; summaries.len()],
        }
    }

    /// Run the cross-file packages once over every document's entry
    /// (`project_entry`), with the clock at `now_ns`. `source` gives the text
    /// of a file a finding names, to locate it. Files are read only inside
    /// the folder of planguard.toml (else the working folder); what the file
    /// functions returned comes back too.
    pub fn check_project(
        &self,
        entries: Vec<Facts>,
        source: impl Fn(&str) -> Option<SourceFile> + Sync,
        now_ns: i64,
        budget: &Budget,
    ) -> (Vec<Diagnostic>, Reads) {
        if self.project_packages.is_empty() || entries.is_empty() {
            return (Vec::new(), Reads::default());
        }
        let sandbox = Arc::new(Sandbox::new(&self.sandbox(None)));
        let found = self.evaluate_project(entries, source, now_ns, budget, &sandbox);
        (found, sandbox.reads())
    }

    fn evaluate_project(
        &self,
        entries: Vec<Facts>,
        source: impl Fn(&str) -> Option<SourceFile> + Sync,
        now_ns: i64,
        budget: &Budget,
        sandbox: &Arc<Sandbox>,
    ) -> Vec<Diagnostic> {
        // One parse of every entry's text, straight into the engine's values
        // (which share the keys the entries have in common).
        let mut json =
            String::with_capacity(entries.iter().map(|e| e.0.len() + 1).sum::<usize>() + 1);
        json.push('[');
        for (i, entry) in entries.into_iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&entry.0);
        }
        json.push(']');
        // regorus shares the keys the entries have in common; it stops at
        // serde_json's 128 levels, and the entries of documents that nest
        // up to 128 (`load`) are one or two deeper.
        let parsed = regorus::Value::from_json_str(&json).or_else(|_| {
            let mut parser = serde_json::Deserializer::from_str(&json);
            parser.disable_recursion_limit();
            <regorus::Value as serde::Deserialize>::deserialize(&mut parser)
        });
        drop(json);
        // Only objects: a config or plan whose top level is anything else is a
        // schema error, and has no fields to compare across files.
        let parsed = match parsed {
            Ok(parsed) => parsed,
            // Each text is serde_json's or read back by its hash: a bug.
            Err(e) => {
                let subject = SourceFile::new("(the files' facts)", String::new());
                let error = unlocated(&format!("the files' facts could not be read back: {e}"));
                return self
                    .project_packages
                    .iter()
                    .flat_map(|p| p.rules.iter().map(move |rule| (p, rule)))
                    .map(|(p, rule)| self.evaluation_error(&subject, &p.name, rule, &error))
                    .collect();
            }
        };
        let entries: Vec<regorus::Value> = parsed
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| matches!(e["contents"], regorus::Value::Object(_)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let Some(first) = entries.first() else {
            return Vec::new();
        };
        let first = first["path"]
            .as_string()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let limit = project_time_limit(self.timeout, entries.len(), self.files_per_time_limit);
        let input = regorus::Value::from(entries);
        drop(parsed);
        let anchor = source(&first).unwrap_or_else(|| SourceFile::new(&first, String::new()));
        // The packages in as many groups as there are threads, each group
        // one evaluation: the cross-file rules run after every document's,
        // so they would otherwise leave all threads but one idle. What the
        // rules of a group share (the plans grouped by environment, the
        // newest build of each) is computed once per group.
        let groups = rayon::current_num_threads().clamp(1, self.project_packages.len().max(1));
        let mut found: Vec<(usize, Vec<Diagnostic>)> = (0..groups)
            .into_par_iter()
            .flat_map_iter(|group| {
                let packages: Vec<(usize, &Package)> = self
                    .project_packages
                    .iter()
                    .enumerate()
                    .skip(group)
                    .step_by(groups)
                    .collect();
                let mut engine = Self::engine(&self.engine, sandbox);
                engine.set_execution_timer_config(ExecutionTimerConfig {
                    limit,
                    check_interval: NonZeroU32::new(256).expect("not zero"),
                });
                engine.set_input(input.clone());
                self.evaluate_project_group(
                    &mut engine,
                    &packages,
                    &anchor,
                    &source,
                    now_ns,
                    budget,
                )
            })
            .collect();
        found.sort_by_key(|(index, _)| *index);
        found.into_iter().flat_map(|(_, found)| found).collect()
    }

    /// The findings of `packages` (each with its index) over the input set
    /// on `engine`, by package.
    fn evaluate_project_group(
        &self,
        engine: &mut Engine,
        packages: &[(usize, &Package)],
        anchor: &SourceFile,
        source: &(impl Fn(&str) -> Option<SourceFile> + Sync),
        now_ns: i64,
        budget: &Budget,
    ) -> Vec<(usize, Vec<Diagnostic>)> {
        let sources: std::cell::RefCell<HashMap<String, Option<SourceFile>>> = Default::default();
        let source_of = |path: &str| {
            sources
                .borrow_mut()
                .entry(path.to_string())
                .or_insert_with(|| source(path))
                .clone()
        };
        let locate = |finding: &Value| {
            let file = finding.get("file").and_then(Value::as_str)?;
            locate_in(&source_of(&display_path(Path::new(file)))?, finding)
        };
        // Every rule of the group in one query, so that what the rules share
        // is computed once rather than once per rule: each query starts from
        // nothing. Should that query fail (one rule's error fails it), or a
        // rule have timed out, or the rules be profiled, each rule runs alone.
        let clock = format!("with time.now_ns as {now_ns}");
        if !budget.any_timed_out()
            && budget.profile().is_none()
            && let Ok(results) = engine.eval_query(
                format!(
                    "x := {} {clock}",
                    document_members(packages.iter().map(|(_, p)| *p))
                ),
                false,
            )
        {
            let tree = binding(&results);
            if tree != regorus::Value::Undefined {
                return packages
                    .iter()
                    .enumerate()
                    .map(|(i, (index, package))| {
                        let mut diagnostics = Vec::new();
                        self.evaluate(package, anchor, &mut diagnostics, budget, locate, |rule| {
                            Ok(document_rule_value(&tree, i, rule))
                        });
                        (*index, diagnostics)
                    })
                    .collect();
            }
        }
        packages
            .iter()
            .map(|(index, package)| {
                let mut diagnostics = Vec::new();
                self.evaluate(package, anchor, &mut diagnostics, budget, locate, |rule| {
                    let results = engine
                        .eval_query(format!("x := data.{}.{rule} {clock}", package.name), false)?;
                    Ok(binding(&results))
                });
                (*index, diagnostics)
            })
            .collect()
    }

    /// Evaluate one package's rules the way conftest does, turning each result
    /// into a diagnostic located by `locate`.
    fn evaluate(
        &self,
        package: &Package,
        subject: &SourceFile,
        diagnostics: &mut Vec<Diagnostic>,
        budget: &Budget,
        locate: impl Fn(&Value) -> Option<Location>,
        mut rule_value: impl FnMut(&str) -> anyhow::Result<regorus::Value>,
    ) {
        let excepted: BTreeSet<String> = if package.has_exception {
            match rule_value("exception") {
                Ok(value) => flatten_strings(&to_json(&value)),
                Err(e) => {
                    diagnostics.push(self.evaluation_error(
                        subject,
                        &package.name,
                        "exception",
                        &EngineError::from_engine(ErrorKind::Eval, &e),
                    ));
                    BTreeSet::new()
                }
            }
        } else {
            BTreeSet::new()
        };
        for rule in &package.rules {
            if excepted.contains(exception_name(rule)) {
                continue;
            }
            let key = format!("{}.{rule}", package.name);
            if budget.timed_out(&key) {
                diagnostics.push(self.evaluation_error(
                    subject,
                    &package.name,
                    rule,
                    &unlocated("not run: it exceeded the policy time limit on another file"),
                ));
                continue;
            }
            let value = match budget.profile() {
                Some(profile) => profile.time(&format!("data.{key}"), || rule_value(rule)),
                None => rule_value(rule),
            };
            let value = match value {
                Ok(value) => to_json(&value),
                Err(e) => {
                    let error = EngineError::from_engine(ErrorKind::Eval, &e);
                    if error.kind == ErrorKind::Timeout {
                        budget.time_out(key);
                    }
                    diagnostics.push(self.evaluation_error(subject, &package.name, rule, &error));
                    continue;
                }
            };
            // Like conftest, only collections are results; a boolean or
            // undefined rule has no message and so is a success.
            let Value::Array(results) = value else {
                continue;
            };
            let severity = if is_failure(rule) {
                Severity::Error
            } else {
                Severity::Warning
            };
            // At most MAX_RESULTS findings per file: a cross-file rule over
            // a large repository may rightly find more in all.
            let mut per_file: HashMap<String, usize> = HashMap::new();
            for result in &results {
                let Some(finding) =
                    Self::finding(&package.name, rule, severity, result, subject, &locate)
                else {
                    continue;
                };
                let file = finding
                    .location
                    .as_ref()
                    .map_or_else(|| subject.display_path(), |l| l.file.display_path());
                let seen = per_file.entry(file).or_default();
                *seen += 1;
                if *seen <= MAX_RESULTS {
                    diagnostics.push(finding);
                }
            }
            let mut crowded: Vec<(String, usize)> = per_file
                .into_iter()
                .filter(|(_, n)| *n > MAX_RESULTS)
                .collect();
            crowded.sort();
            for (file, n) in crowded {
                let place = if file == subject.display_path() {
                    String::new()
                } else {
                    format!(" in {file}")
                };
                diagnostics.push(self.evaluation_error(
                    subject,
                    &package.name,
                    rule,
                    &unlocated(&format!(
                        "it returned {n} results{place}; only the first {MAX_RESULTS} are reported (a rule with this many findings in one file is usually missing a condition)"
                    )),
                ));
            }
        }
    }

    fn finding(
        package: &str,
        rule: &str,
        severity: Severity,
        result: &Value,
        subject: &SourceFile,
        locate: &impl Fn(&Value) -> Option<Location>,
    ) -> Option<Diagnostic> {
        let default_id = || format!("{package}.{rule}");
        let (id, message) = match result {
            Value::String(message) => (default_id(), message.clone()),
            Value::Object(object) => match object.get("msg").and_then(Value::as_str) {
                Some(message) => (
                    object
                        .get("rule")
                        .or_else(|| object.get("id"))
                        .and_then(Value::as_str)
                        .map_or_else(default_id, str::to_string),
                    message.to_string(),
                ),
                None => {
                    return Some(
                        Diagnostic::builtin(
                            &rules::POLICY_RESULT,
                            format!("`data.{package}.{rule}` returned an object without a string `msg`"),
                        )
                        .at(subject, 0..0, None)
                        .with_help("return a string, or an object such as {\"msg\": \"…\", \"location\": \"/path\"}"),
                    );
                }
            },
            // conftest ignores other values; so do we.
            _ => return None,
        };
        let mut diagnostic = Diagnostic::new(id, severity, message);
        diagnostic.location = locate(result);
        diagnostic.sensitive |= result.get("sensitive").and_then(Value::as_bool) == Some(true);
        if !diagnostic.sensitive {
            diagnostic.fix = diagnostic
                .location
                .as_ref()
                .and_then(|location| replace_fix(result, &location.file));
        }
        if let (Some(location), Some(within)) = (&mut diagnostic.location, result.get("within")) {
            narrow(location, within);
        }
        if let Some(help) = result.get("help").and_then(Value::as_str) {
            diagnostic.help = Some(help.to_string());
        }
        if let Some(url) = result.get("url").and_then(Value::as_str) {
            diagnostic.url = Some(url.to_string());
        }
        if let Some(related) = result.get("related").and_then(Value::as_array) {
            for item in related {
                if let Some(location) = locate(item) {
                    let message = item.get("msg").and_then(Value::as_str).unwrap_or("related");
                    diagnostic = diagnostic.with_related(location, message);
                }
            }
        }
        Some(diagnostic)
    }

    fn evaluation_error(
        &self,
        subject: &SourceFile,
        package: &str,
        rule: &str,
        error: &EngineError,
    ) -> Diagnostic {
        let reason = match error.kind {
            ErrorKind::Timeout => {
                "exceeded the policy time limit ([policy] timeout in planguard.toml)".to_string()
            }
            _ => error.reason.clone(),
        };
        let failure = Failure {
            rule: format!("data.{package}.{rule}"),
            subject: subject.display_path(),
            reason,
        };
        let location = error.file().and_then(|label| {
            let file = self.sources.get(label)?;
            Some((file.clone(), error.offset_in(file)?))
        });
        let mut diagnostic = Diagnostic::builtin(&rules::POLICY_ERROR, failure.message(1));
        diagnostic.failure = Some(failure);
        match location {
            Some((file, offset)) => diagnostic.at(&file, offset..offset + 1, None).with_related(
                Location {
                    file: subject.clone(),
                    span: 0..0,
                    pointer: None,
                },
                "while checking this file",
            ),
            None => diagnostic.at(subject, 0..0, None),
        }
    }
}

/// An evaluation failure planguard itself decides on (not the engine's).
fn unlocated(reason: &str) -> EngineError {
    EngineError {
        kind: ErrorKind::Eval,
        at: None,
        reason: reason.to_string(),
    }
}

impl Failure {
    /// What a failure on `count` files says.
    fn message(&self, count: usize) -> String {
        let Failure {
            rule,
            subject,
            reason,
        } = self;
        match count {
            1 => format!("`{rule}` failed on {subject}: {reason}"),
            n => format!(
                "`{rule}` failed on {n} files ({subject} and {} more): {reason}",
                n - 1
            ),
        }
    }
}

/// Where `document_module` puts its rule.
const DOCUMENT_RULE: &str = "data.planguard.internal.document.results";

/// One rule for every per-document package, naming each rule:
/// `{"0": {"deny": [v | v := data.main.deny], …}, …}`, each rule's value in
/// a list of zero or one so that an undefined rule leaves the others; the
/// clock in `input.now`. A rule of a module compiled with the policies
/// rather than a query: regorus parses, schedules and lays out the rule
/// prefixes of every query text, about a quarter of the time of a document
/// with the built-in pack.
///
/// Each rule is named rather than the package taken whole (`data.main`):
/// regorus 0.14 evaluates a package document with the imports of only one of
/// its files, so that with package `main` spread over several files that
/// each `import data.kubernetes` (conftest's Kubernetes example), the rule
/// bodies of the other files came out empty.
/// The built-in modules only the cross-file evaluation reads: the
/// cross-file packages and their library.
fn cross_file_only(package: &str) -> bool {
    package.starts_with(BUILTIN_PROJECT_PREFIX) || package == "planguard.lib.project"
}

/// What in a policy could reach a [`cross_file_only`] module: its packages
/// by name, or a reference (an import too) to a document that holds them:
/// `data`, `data.planguard`, `data.planguard.lib`.
static REACHES_CROSS_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"planguard\s*\.\s*(?:project|lib\s*\.\s*project)\b|\bdata(?:\s*\.\s*planguard(?:\s*\.\s*lib)?)?\s*(?:[^.\s]|$)",
    )
    .expect("valid regex")
});

/// The engine a document's evaluation runs in: every policy but the
/// built-in cross-file ones, which no per-document rule reads. regorus walks
/// every loaded module at each reference into `data`, so the modules left
/// out make each document cheaper (a fifth of the built-in pack's time).
/// None, to use the engine of every policy, when there is nothing to leave
/// out, when some other policy could reach what would be left out (a
/// cautious test of its text, comments aside), or should the rest not
/// compile alone.
fn document_engine<E>(
    usable: &[(rego::Policy, bool)],
    new_engine: impl Fn() -> Result<Engine, E>,
) -> Option<Engine> {
    let (left_out, kept): (Vec<_>, Vec<_>) = usable
        .iter()
        .partition(|(policy, user)| !user && cross_file_only(&policy.package));
    if left_out.is_empty()
        || kept
            .iter()
            .any(|(policy, _)| REACHES_CROSS_FILE.is_match(&rego::code_only(policy.file.text())))
    {
        return None;
    }
    let mut engine = new_engine().ok()?;
    for (policy, _) in kept {
        engine
            .add_policy(policy.file.display_path(), policy.file.text().to_string())
            .ok()?;
    }
    Some(engine)
}

fn document_module(packages: &[Package]) -> String {
    format!(
        "package planguard.internal.document\n\n\
         import rego.v1\n\n\
         results := x if {{\n\
         \tx := {} with time.now_ns as input.now {WITH_DOCUMENT}\n\
         }}\n",
        document_members(packages)
    )
}

/// `{"<index>": {"<rule>": [values], …}, …}` for every rule of `packages`,
/// one rule per line: regorus refuses policy lines over 1,024 columns,
/// which a pack of many rules on one line would exceed.
fn document_members<'a>(packages: impl IntoIterator<Item = &'a Package>) -> String {
    let space = "\n\t\t";
    let members: Vec<String> = packages
        .into_iter()
        .enumerate()
        .map(|(i, package)| {
            let rules: Vec<String> = package
                .rules
                .iter()
                .map(String::as_str)
                .chain(package.has_exception.then_some("exception"))
                .map(|rule| format!("{space}\"{rule}\": [v | v := data.{}.{rule}]", package.name))
                .collect();
            format!("{space}\"{i}\": {{{}}}", rules.join(","))
        })
        .collect();
    format!("{{{}}}", members.join(","))
}

/// The value of `rule` of the `i`th package in the result of
/// `document_members`: zero or one value; none is an undefined rule.
fn document_rule_value(tree: &regorus::Value, i: usize, rule: &str) -> regorus::Value {
    tree[&regorus::Value::from(i.to_string())][&regorus::Value::from(rule)]
        [&regorus::Value::from(0)]
        .clone()
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in b {
                match a.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        a.insert(key, value);
                    }
                }
            }
        }
        (into, from) => *into = from,
    }
}

fn file_context(document: &Document) -> Value {
    json!({
        "path": document.file.display_path(),
        "kind": document.kind.map(|k| k.as_str()),
        "workspace": document.workspace,
        "environment": document.env,
        "build": document.build,
    })
}

/// How one result of a deny/warn/violation rule on `document` becomes a
/// diagnostic: the decoding every policy finding goes through (string or
/// object, `msg`, `rule`, `location`, `within`, `related`, `sensitive`).
/// Public for the fuzz target, and only with the test seams.
#[cfg(feature = "testing")]
pub fn decode_result(
    package: &str,
    rule: &str,
    result: &Value,
    document: &Document,
) -> Option<Diagnostic> {
    let severity = if is_failure(rule) {
        Severity::Error
    } else {
        Severity::Warning
    };
    Policies::finding(
        package,
        rule,
        severity,
        result,
        &document.file,
        &|finding| locate_in(&document.file, finding),
    )
}

/// A result's `location`: a JSON pointer (`/a/0/b`), a dotted path (`a.0.b`)
/// or an array of keys and indices.
pub fn location_pointer(location: &Value) -> Option<String> {
    match location {
        Value::String(s) if s.is_empty() || s.starts_with('/') => Some(s.clone()),
        Value::String(s) => Some(
            s.split('.')
                .map(|t| format!("/{}", spans::escape_token(t)))
                .collect(),
        ),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => Some(format!("/{}", spans::escape_token(s))),
                Value::Number(n) => Some(format!("/{n}")),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn locate_in(file: &SourceFile, finding: &Value) -> Option<Location> {
    let pointer = finding
        .get("location")
        .and_then(location_pointer)
        .unwrap_or_default();
    let target = crate::load::locate(file, &pointer);
    Some(Location {
        file: file.clone(),
        span: target.span,
        pointer: Some(target.pointer),
    })
}

/// Longest replacement value a fix's title quotes whole.
const TITLE_VALUE_CHARS: usize = 60;

/// A result's `"fix": {"replace": value}` (optionally `"applicability":
/// "unsafe"`, `"title"`): the value at the result's `location` becomes
/// `value`, JSON-encoded. Only a scalar replaces a scalar, and only at a
/// location that exists: anything else would need more than one edit to keep
/// the file's layout, so no fix is offered.
fn replace_fix(result: &Value, file: &SourceFile) -> Option<Fix> {
    let fix = result.get("fix")?;
    let value = fix.get("replace")?;
    if matches!(value, Value::Object(_) | Value::Array(_) | Value::Null) {
        return None;
    }
    let pointer = result.get("location").and_then(location_pointer)?;
    let located = spans::locate(file.text(), &pointer)?;
    let old = file.text().get(located.value.clone())?;
    if matches!(old.as_bytes().first(), Some(b'{' | b'[')) {
        return None;
    }
    let content = serde_json::to_string(value).ok()?;
    if old == content {
        return None;
    }
    let applicability = match fix.get("applicability").and_then(Value::as_str) {
        Some("unsafe") => Applicability::Unsafe,
        _ => Applicability::Safe,
    };
    let title = match fix.get("title").and_then(Value::as_str) {
        Some(title) => title.to_string(),
        None if content.chars().count() <= TITLE_VALUE_CHARS => format!("replace with {content}"),
        None => "replace the value".to_string(),
    };
    Some(Fix::replace(title, applicability, located.value, content))
}

/// Narrow a location on a string value to the characters `[start, end)` of
/// the decoded string (a result's `within`), e.g. just the password inside a
/// URL. Strings with escapes keep the whole value: their raw and decoded
/// offsets differ.
fn narrow(location: &mut Location, within: &Value) {
    let Some([start, end]) = within.as_array().and_then(|a| {
        let start = a.first()?.as_u64()? as usize;
        let end = a.get(1)?.as_u64()? as usize;
        Some([start, end])
    }) else {
        return;
    };
    let text = location.file.text();
    let Some(raw) = text.get(location.span.clone()) else {
        return;
    };
    let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return;
    };
    if inner.contains('\\') || start >= end {
        return;
    }
    let offset = |chars: usize| {
        inner
            .char_indices()
            .nth(chars)
            .map_or(inner.len(), |(i, _)| i)
    };
    let base = location.span.start + 1;
    if start < inner.chars().count() {
        location.span = base + offset(start)..base + offset(end);
    }
}

/// The value bound to `x` by a query's first result; undefined when it has none.
fn binding(results: &regorus::QueryResults) -> regorus::Value {
    results
        .result
        .first()
        .map(|r| r.bindings[&regorus::Value::from("x")].clone())
        .unwrap_or(regorus::Value::Undefined)
}

/// `data.planguard.lib.project.facts`: the field paths of each kind of
/// document that the built-in cross-file rules read.
fn project_facts(engine: &mut Engine) -> Option<HashMap<String, Vec<Vec<String>>>> {
    let value = engine
        .eval_rule("data.planguard.lib.project.facts".to_string())
        .ok()?;
    serde_json::from_value(to_json(&value)).ok()
}

/// The members of `value` at `paths`, at the same paths. A value that is not
/// an object, on the way or at the end of a path, is copied whole, so that a
/// rule reading below it finds exactly what it would in the document.
fn project(value: &Value, paths: &[Vec<String>]) -> Value {
    let Value::Object(_) = value else {
        return value.clone();
    };
    let mut out = json!({});
    for path in paths {
        let (mut from, mut to) = (value, &mut out);
        for (i, key) in path.iter().enumerate() {
            let Some(next) = from.as_object().and_then(|o| o.get(key)) else {
                break;
            };
            let Some(target) = to.as_object_mut() else {
                break;
            };
            // A leaf, or something rules cannot look inside: copied whole.
            if i + 1 == path.len() || !next.is_object() {
                target.insert(key.clone(), next.clone());
                break;
            } else {
                from = next;
                to = target.entry(key.clone()).or_insert_with(|| json!({}));
            }
        }
    }
    out
}

fn to_json(value: &regorus::Value) -> Value {
    match value {
        regorus::Value::Undefined => Value::Null,
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    }
}

fn flatten_strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// A policy file that did not load, located where the engine says.
fn load_failure(failure: &rego::Failure) -> Diagnostic {
    let rego::Failure { file, error } = failure;
    let Some(file) = file else {
        return Diagnostic::builtin(
            &rules::POLICY_SYNTAX,
            format!("the policies cannot be compiled: {}", error.reason),
        );
    };
    let what = match error.kind {
        ErrorKind::Parse => "cannot parse policy",
        _ => "cannot compile policy",
    };
    let offset = error.offset_in(file).unwrap_or(0);
    let end = file.clamp(offset + 1).max(offset);
    Diagnostic::builtin(&rules::POLICY_SYNTAX, format!("{what}: {}", error.reason))
        .at(file, offset..end, None)
        .with_help("its rules did not run; fix the policy or remove it from the policy paths")
}

/// The same policy failure on many documents (a broken function call, a rule
/// past the time limit) is one finding that says on how many, not one per
/// document.
pub fn coalesce_failures(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    type Key = (String, String, Option<(String, usize)>);
    let mut groups: BTreeMap<Key, (Diagnostic, BTreeSet<String>)> = BTreeMap::new();
    let mut out = Vec::with_capacity(diagnostics.len());
    for d in diagnostics {
        let Some(failure) = &d.failure else {
            out.push(d);
            continue;
        };
        // Located in the policy (with the file as related information): the
        // same place in the policy is the same failure.
        let place = (!d.related.is_empty())
            .then(|| {
                d.location
                    .as_ref()
                    .map(|l| (l.file.display_path(), l.span.start))
            })
            .flatten();
        let key = (failure.rule.clone(), failure.reason.clone(), place);
        let subject = failure.subject.clone();
        groups
            .entry(key)
            .or_insert_with(|| (d.clone(), BTreeSet::new()))
            .1
            .insert(subject);
    }
    for (mut first, subjects) in groups.into_values() {
        if let Some(failure) = &first.failure {
            first.message = failure.message(subjects.len());
        }
        out.push(first);
    }
    out
}

/// A file's entry for the cross-file rules (`Policies::project_entry`) as
/// compact JSON: every file's entry is held until those rules run, and as
/// text it takes a fraction of the memory of the value (a tenth for a plan).
/// Shared: the cache holds the same text until it writes it.
#[derive(Debug, Clone)]
pub struct Facts(Arc<str>);

impl Facts {
    pub fn of(entry: &Value) -> Self {
        Self(entry.to_string().into())
    }

    /// Text stored by `Facts::as_str` (the cache's), taken as it is.
    pub fn from_json(json: String) -> Self {
        Self(json.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The entry as a value again.
    pub fn value(&self) -> Option<Value> {
        serde_json::from_str(&self.0).ok()
    }

    /// The hash that names it in the cache, and keys the cross-file verdict.
    pub fn hash(&self) -> String {
        crate::digest::sha256_hex(self.0.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cross_file_time_limit_grows_with_the_files_compared() {
        let second = std::time::Duration::from_secs(1);
        let limit = |files| project_time_limit(second, files, FILES_PER_TIME_LIMIT);
        assert_eq!(limit(0), second);
        assert_eq!(limit(FILES_PER_TIME_LIMIT), second);
        assert_eq!(limit(FILES_PER_TIME_LIMIT + 1), 2 * second);
        assert_eq!(limit(62_500), 13 * second);
        assert_eq!(limit(usize::MAX), second * u32::MAX);
    }

    /// The cache keeps a built-in verdict judged by the date for that day,
    /// knowing that PG119 reads the clock only about certificates it read
    /// (`Reads::dated`). Another built-in rule that reads the clock, or
    /// anything else run-dependent, must be taught to the cache first.
    #[test]
    fn only_the_certificate_rule_reads_the_clock() {
        let readers: Vec<&str> = BUILTIN_POLICIES
            .iter()
            .filter(|(path, text)| !path.ends_with("_test.rego") && VOLATILE_CALL.is_match(text))
            .map(|(path, _)| *path)
            .collect();
        assert_eq!(readers, ["certificate_expiry/certificate_expiry.rego"]);
        assert!(VOLATILE_CALL.is_match("x := time.now_ns()"));
        assert!(VOLATILE_CALL.is_match("n := rand.intn(\"k\", 10)"));
        assert!(!VOLATILE_CALL.is_match("x := time.parse_rfc3339_ns(y)"));
    }

    fn loaded(settings: &str, policies: &[(&str, &str)]) -> (tempfile::TempDir, Policies) {
        let dir = tempfile::tempdir().expect("temp dir");
        let folder = dir.path().join("policy");
        std::fs::create_dir_all(&folder).expect("mkdir");
        for (name, text) in policies {
            std::fs::write(folder.join(name), text).expect("write policy");
        }
        let text = format!(
            "[policy]\npaths = [{:?}]\nall-namespaces = true\n{settings}",
            folder.display().to_string()
        );
        let settings = Settings::from_text(dir.path().to_path_buf(), "planguard.toml", text)
            .expect("valid settings");
        (dir, Policies::load(&settings).expect("policies load"))
    }

    fn packages(engine: &Engine) -> Vec<String> {
        engine.get_packages().expect("packages")
    }

    /// regorus walks every loaded module at each reference into `data`, so
    /// a document is evaluated without the cross-file modules, which no
    /// per-document rule reads; the cross-file evaluation has them all.
    #[test]
    fn documents_are_evaluated_without_the_cross_file_modules() {
        let (_dir, policies) = loaded(
            "",
            &[(
                "team.rego",
                "package team\n\nimport rego.v1\n\ndeny contains \"x\" if input.x\n",
            )],
        );
        let document = packages(&policies.document_engine);
        let all = packages(&policies.engine);
        let cross_file: Vec<&String> = all
            .iter()
            .filter(|p| cross_file_only(p.trim_start_matches("data.")))
            .collect();
        assert!(cross_file.len() > 5, "{all:?}");
        assert!(
            document.iter().all(|p| !cross_file.contains(&p)),
            "{document:?}"
        );
        for kept in [
            "data.team",
            "data.planguard.rules.secret_value",
            "data.planguard.lib.fields",
        ] {
            assert!(document.iter().any(|p| p == kept), "{kept} in {document:?}");
        }
    }

    /// Every file's facts reach the cross-file rules in one parse, and an
    /// entry deeper than serde_json's 128 levels (a document nested as deep
    /// as planguard reads, inside its entry and the list) is read all the
    /// same: were it not, the whole list would be lost.
    #[test]
    fn deeply_nested_facts_reach_the_cross_file_rules() {
        let (_dir, policies) = loaded(
            "project-namespaces = [\"team.combined\"]\n",
            &[(
                "combined.rego",
                "package team.combined\n\nimport rego.v1\n\n\
                 deny contains sprintf(\"%d files\", [count(input)]) if count(input) > 0\n",
            )],
        );
        let nested = |depth| (0..depth).fold(json!(1), |v, _| json!({ "k": v }));
        let entry =
            |path: &str, depth| json!({"path": path, "kind": "plan", "contents": nested(depth)});
        let found = |entries: Vec<Value>| {
            let facts = entries.iter().map(Facts::of).collect();
            let (found, _) = policies.check_project(facts, |_| None, 0, &Budget::default());
            found.into_iter().map(|d| d.message).collect::<Vec<_>>()
        };
        assert_eq!(
            found(vec![entry("a.json", 3), entry("b.json", 4)]),
            ["2 files"]
        );
        assert_eq!(
            found(vec![entry("a.json", 3), entry("b.json", 128)]),
            ["2 files"]
        );
        // Documents that are not objects give the rules nothing.
        let scalar = json!({"path": "c.json", "kind": "plan", "contents": 7});
        assert_eq!(found(vec![entry("a.json", 3), scalar]), ["1 files"]);
    }

    /// A policy that could read a cross-file module (by name, through an
    /// import of a folder that holds them, or all of `data`) keeps every
    /// module in the document's evaluation, so that it reads what it would
    /// read in OPA. A mention in a comment or a string does not.
    #[test]
    fn a_policy_that_reaches_the_cross_file_modules_keeps_them() {
        let reaching = [
            "import data.planguard.lib.project\n\ndeny contains \"facts\" if project.facts.plan",
            "import data.planguard.lib\n\ndeny contains \"facts\" if lib.project.facts.plan",
            "deny contains \"facts\" if data.planguard[\"lib\"].project.facts.plan",
            "deny contains \"facts\" if data.planguard.project",
            "deny contains \"facts\" if object.get(data, [\"planguard\", \"lib\", \"project\", \"facts\", \"plan\"], false)",
        ];
        for body in reaching {
            let text = format!("package team\n\nimport rego.v1\n\n{body}\n");
            let (_dir, policies) = loaded("", &[("team.rego", &text)]);
            let document = packages(&policies.document_engine);
            assert!(
                packages(&policies.engine)
                    .iter()
                    .all(|p| document.contains(p)),
                "{body}"
            );
        }
        let text = "package team\n\nimport rego.v1\n\n# data.planguard.lib.project\ndeny contains \"data.planguard.project\" if input.x\n";
        let (_dir, policies) = loaded("", &[("team.rego", text)]);
        let document = packages(&policies.document_engine);
        assert!(
            !document.iter().any(|p| p == "data.planguard.lib.project"),
            "{document:?}"
        );
    }

    #[test]
    fn code_only_drops_comments_and_the_contents_of_strings() {
        let text = "x := \"a # b \\\" c\" # note\ny := `raw # \"` # data\nz := 1\n";
        assert_eq!(rego::code_only(text), "x := \"\" \ny := `` \nz := 1\n");
    }

    #[test]
    fn rule_heads_are_found_like_conftest_finds_them() {
        let text = "package main\ndeny contains msg if { true }\ndeny_latest[msg] {\n}\nwarn_x_y := {\"a\"}\ndefault violation := []\ndenyall contains 1 if { true }\nhelper(x) := x\n";
        let found: Vec<_> = RULE_HEAD
            .captures_iter(text)
            .map(|c| c[1].to_string())
            .collect();
        assert_eq!(found, ["deny", "deny_latest", "warn_x_y", "violation"]);
    }

    #[test]
    fn exception_names_drop_the_failure_prefix_only() {
        assert_eq!(exception_name("deny_latest"), "latest");
        assert_eq!(exception_name("violation_x"), "x");
        assert_eq!(exception_name("deny"), "deny");
        assert_eq!(exception_name("warn_x"), "warn_x");
    }

    #[test]
    fn locations_may_be_pointers_dotted_paths_or_arrays() {
        assert_eq!(location_pointer(&json!("/a/0")).as_deref(), Some("/a/0"));
        assert_eq!(location_pointer(&json!("a.0")).as_deref(), Some("/a/0"));
        assert_eq!(
            location_pointer(&json!(["a/b", 0])).as_deref(),
            Some("/a~1b/0")
        );
        assert_eq!(location_pointer(&json!(3)), None);
    }
}
