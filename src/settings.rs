//! Project settings: `planguard.toml` parsed and validated (with spans for its
//! errors), merged over the built-in defaults, which are the specification's
//! environment layout, so that planguard is useful with no file at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Severity};
use crate::rules;
use crate::source::SourceFile;

pub const FILE_NAME: &str = "planguard.toml";

/// The events a config's `alerts.on` may name (the config schema's enum).
pub const ALERT_EVENTS: &[&str] = &[
    "failure",
    "retry",
    "retry_exhausted",
    "timeout",
    "schedule_missed",
    "schedule_paused",
    "success",
];

/// One deployment environment and what is allowed in it. Policies see it as
/// `data.planguard.environments[<name>]`, with these field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Environment {
    pub name: String,
    pub namespace: String,
    pub task_queues: Vec<String>,
    /// Where workers run when the environment fails over (spec §6.3 "switch
    /// worker queue"): allowed like `task_queues`.
    pub failover_task_queues: Vec<String>,
    /// Prefixes image references must start with (empty: see
    /// `registry_pattern`).
    pub registries: Vec<String>,
    /// Without `registries`, a regular expression the image's name (the
    /// reference without tag or digest) must match; empty: any registry.
    /// By default the name must hold the environment's name as a word of a
    /// host or path (`registry.prod.…`, `…/ingestion-prod/…`).
    pub registry_pattern: String,
    /// Prefixes secret references must start with (empty: any store).
    pub secret_stores: Vec<String>,
    /// Applying a plan needs an approver.
    pub approval_required: bool,
    /// Images must be pinned by digest (immutable).
    pub require_digest: bool,
    /// Plans must carry an image signature reference.
    pub require_signature: bool,
    /// Temporal authentication (mTLS, API key or OIDC) must be configured.
    pub require_auth: bool,
    /// Alert endpoints must be configured.
    pub require_alerts: bool,
    /// Events a config's alerts must be raised on (`alerts.on`).
    pub alert_on: Vec<String>,
    /// Retry policies must bound their attempts.
    pub require_bounded_retries: bool,
    /// The Spark cluster must give autoscale (executor) bounds.
    pub require_autoscale: bool,
    /// The Spark cluster must be no other environment's.
    pub require_dedicated_cluster: bool,
    /// How deploy commands reach this environment's Temporal frontend.
    pub connection: EnvironmentConnection,
}

/// `[environments.<env>]` address, TLS, API key variable and Temporal CLI
/// profile: a layer under flags and `TEMPORAL_*` variables, over the
/// profile (src/apply/connect.rs resolves them). Names and paths only: an
/// API key is named by its variable, never written here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EnvironmentConnection {
    /// host:port of the frontend.
    pub address: Option<String>,
    /// TLS on (or explicitly off).
    pub tls: Option<bool>,
    /// The variable holding the API key.
    pub api_key_env: Option<String>,
    /// CA certificate (PEM) the server's certificate is verified against.
    pub tls_ca: Option<PathBuf>,
    /// Client certificate and key (PEM) for mTLS.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Name the server's certificate is verified against.
    pub tls_server_name: Option<String>,
    /// Temporal CLI profile (temporal.toml) to start from.
    pub profile: Option<String>,
}

/// The environment's name as a word of the image's host or path.
fn default_registry_pattern(name: &str) -> String {
    format!("(^|[./_-]){}([./_-]|$)", regex::escape(name))
}

impl Environment {
    /// The specification's layout (§1): namespaces, task queues and secret
    /// stores per environment, and what UAT and PROD must guarantee.
    fn default_for(name: &str) -> Self {
        let mut task_queues = vec![format!("spark-ingest-{name}")];
        if name == "dev" {
            task_queues.push("temporal-maintenance".to_string());
        }
        let secret_stores = match name {
            "dev" => vec![
                "vault://vault.dev/".to_string(),
                "aws-sm://dev/".to_string(),
            ],
            "uat" | "prod" => vec![format!("vault://vault.{name}/")],
            _ => Vec::new(),
        };
        let uat_or_prod = name == "uat" || name == "prod";
        let prod = name == "prod";
        Self {
            name: name.to_string(),
            namespace: format!("ingestion-{name}"),
            task_queues,
            failover_task_queues: vec![format!("spark-ingest-{name}-failover")],
            registries: Vec::new(),
            registry_pattern: default_registry_pattern(name),
            secret_stores,
            approval_required: prod,
            require_digest: uat_or_prod,
            require_signature: prod,
            require_auth: uat_or_prod,
            require_alerts: prod,
            alert_on: if uat_or_prod {
                vec!["failure".to_string(), "retry_exhausted".to_string()]
            } else {
                Vec::new()
            },
            require_bounded_retries: prod,
            require_autoscale: uat_or_prod,
            require_dedicated_cluster: prod,
            connection: EnvironmentConnection::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegoVersion {
    V0,
    V1,
}

#[derive(Debug, Clone)]
pub struct PolicySettings {
    pub builtin: bool,
    pub paths: Vec<PathBuf>,
    pub data: Vec<PathBuf>,
    /// Packages whose deny/warn/violation rules run on every document (conftest's `--namespace`).
    pub namespaces: Vec<String>,
    pub all_namespaces: bool,
    /// Packages whose rules run once over all documents together.
    pub project_namespaces: Vec<String>,
    pub rego_version: RegoVersion,
    pub timeout: Duration,
}

/// A file-classification pattern such as `conf/{env}.json`.
#[derive(Debug, Clone)]
pub struct PathPattern {
    pub source: String,
    regex: Regex,
}

/// What a path pattern captured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    /// The path up to where the pattern matched: the workspace the file belongs
    /// to, so that cross-file rules compare files of one repository only.
    pub workspace: String,
    pub env: Option<String>,
    pub build: Option<String>,
}

impl PathPattern {
    /// `{env}` and `{build}` capture a path component; `*` matches within a
    /// component and `**/` any number of them. A pattern matches the end of a
    /// path at a component boundary unless it starts with `/`.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let (anchored, body) = match pattern.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let mut re = String::from(if anchored { "^" } else { "(?:^|/)" });
        let mut rest = body;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("{env}") {
                re.push_str("(?P<env>[A-Za-z0-9_-]+)");
                rest = r;
            } else if let Some(r) = rest.strip_prefix("{build}") {
                re.push_str("(?P<build>[A-Za-z0-9._-]+)");
                rest = r;
            } else if let Some(r) = rest.strip_prefix("**/") {
                re.push_str("(?:[^/]+/)*");
                rest = r;
            } else if let Some(r) = rest.strip_prefix('*') {
                re.push_str("[^/]*");
                rest = r;
            } else {
                let c = rest.chars().next().expect("rest is not empty");
                if c == '{' || c == '}' {
                    return Err(format!(
                        "`{pattern}`: only {{env}} and {{build}} may appear in braces"
                    ));
                }
                re.push_str(&regex::escape(&c.to_string()));
                rest = &rest[c.len_utf8()..];
            }
        }
        re.push('$');
        let regex = Regex::new(&re).map_err(|e| format!("`{pattern}`: {e}"))?;
        Ok(Self {
            source: pattern.to_string(),
            regex,
        })
    }

    pub fn captures(&self, path: &str) -> Option<Captures> {
        self.regex.captures(path).map(|c| Captures {
            workspace: path[..c.get(0).map_or(0, |m| m.start())]
                .trim_end_matches('/')
                .to_string(),
            env: c.name("env").map(|m| m.as_str().to_string()),
            build: c.name("build").map(|m| m.as_str().to_string()),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Ignore {
    /// A rule id (a built-in rule's name is turned into its id), or `*`.
    pub rule: String,
    /// The patterns as written, for `--show-settings`.
    pub patterns: Vec<String>,
    pub paths: GlobSet,
}

/// Validated settings: defaults, then planguard.toml, then command-line flags.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The folder that relative paths in the settings are relative to.
    pub root: PathBuf,
    /// The settings file, when one was found.
    pub file: Option<PathBuf>,
    pub configs: Vec<PathPattern>,
    pub plans: Vec<PathPattern>,
    pub exclude: GlobSet,
    pub respect_gitignore: bool,
    pub max_file_size: u64,
    pub environments: BTreeMap<String, Environment>,
    /// The order images are promoted through environments.
    pub promotion: Vec<String>,
    pub certificates: Certificates,
    pub policy: PolicySettings,
    /// Per-rule severity overrides; `None` turns a rule off.
    pub severities: BTreeMap<String, Option<Severity>>,
    /// `--select`, `--ignore` and the like, over `severities`.
    pub selection: crate::select::Selection,
    /// `[check] baseline`: findings recorded there are not reported.
    pub baseline: Option<PathBuf>,
    pub ignores: Vec<Ignore>,
    /// Exclude patterns as written, for `--show-settings`.
    pub exclude_patterns: Vec<String>,
    /// Whether `exclude` applies to files named on the command line too
    /// (`--no-force-exclude` turns it off), as ruff's `--force-exclude`.
    pub force_exclude: bool,
    /// Rule ids in `[rules]` and `[[ignore]]` that are not built-in rules:
    /// fine when user policies may produce them, an error otherwise.
    pub foreign_rules: Vec<Diagnostic>,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_file(PathBuf::from("."), None, RawSettings::default())
            .expect("the built-in defaults are valid")
    }
}

/// `[certificates]`: how many days before a committed Temporal certificate
/// expires PG119 warns, from when it is an error, and the longest validity
/// a certificate may have (spec §4 "rotate quarterly").
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Certificates {
    pub warn_days: u32,
    pub error_days: u32,
    pub rotation_days: u32,
}

impl Default for Certificates {
    fn default() -> Self {
        Self {
            warn_days: 30,
            error_days: 7,
            rotation_days: 90,
        }
    }
}

/// Why settings could not be had: diagnostics located in planguard.toml.
#[derive(Debug)]
pub struct SettingsError {
    pub diagnostics: Vec<Diagnostic>,
}

/// Where a run's settings come from: `--config FILE`, `--isolated` (the
/// built-in defaults), or else the planguard.toml closest to the files (as
/// in ruff), else the working folder's.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub config: Option<PathBuf>,
    pub isolated: bool,
}

impl Source {
    /// The settings for files under `paths`.
    pub fn load(&self, paths: &[PathBuf]) -> Result<Settings, SettingsError> {
        let settings = self.load_unchecked(paths)?;
        settings.check_foreign_rules()?;
        Ok(settings)
    }

    /// The same, before flags that add policies: rule ids only user policies
    /// can report are judged once those are known.
    pub fn load_unchecked(&self, paths: &[PathBuf]) -> Result<Settings, SettingsError> {
        let file = if self.isolated {
            None
        } else if let Some(config) = &self.config {
            Some(config.clone())
        } else {
            paths
                .first()
                .and_then(|p| Settings::discover(p))
                .or_else(|| Settings::discover(Path::new(".")))
        };
        match file {
            Some(file) => Settings::load(&file),
            None => Ok(Settings::default()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSettings {
    #[serde(default)]
    files: RawFiles,
    #[serde(default)]
    policy: RawPolicy,
    environments: Option<BTreeMap<String, toml::Spanned<RawEnvironment>>>,
    promotion: Option<toml::Spanned<Vec<String>>>,
    #[serde(default)]
    certificates: Certificates,
    #[serde(default)]
    rules: BTreeMap<toml::Spanned<String>, toml::Spanned<RawLevel>>,
    #[serde(default)]
    ignore: Vec<toml::Spanned<RawIgnore>>,
    #[serde(default)]
    check: RawCheck,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCheck {
    /// The baseline file, relative to planguard.toml's folder.
    baseline: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFiles {
    configs: Option<Vec<toml::Spanned<String>>>,
    plans: Option<Vec<toml::Spanned<String>>>,
    #[serde(default)]
    exclude: Vec<toml::Spanned<String>>,
    respect_gitignore: Option<bool>,
    max_file_size: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPolicy {
    builtin: Option<bool>,
    #[serde(default)]
    paths: Vec<PathBuf>,
    #[serde(default)]
    data: Vec<PathBuf>,
    namespaces: Option<Vec<String>>,
    all_namespaces: Option<bool>,
    project_namespaces: Option<Vec<String>>,
    rego_version: Option<RegoVersion>,
    timeout: Option<toml::Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawEnvironment {
    namespace: Option<String>,
    task_queues: Option<Vec<String>>,
    failover_task_queues: Option<Vec<String>>,
    registries: Option<Vec<String>>,
    registry_pattern: Option<toml::Spanned<String>>,
    secret_stores: Option<Vec<String>>,
    approval_required: Option<bool>,
    require_digest: Option<bool>,
    require_signature: Option<bool>,
    require_auth: Option<bool>,
    require_alerts: Option<bool>,
    alert_on: Option<toml::Spanned<Vec<String>>>,
    require_bounded_retries: Option<bool>,
    require_autoscale: Option<bool>,
    require_dedicated_cluster: Option<bool>,
    address: Option<toml::Spanned<String>>,
    tls: Option<bool>,
    api_key_env: Option<toml::Spanned<String>>,
    tls_ca: Option<PathBuf>,
    tls_cert: Option<toml::Spanned<PathBuf>>,
    tls_key: Option<toml::Spanned<PathBuf>>,
    tls_server_name: Option<String>,
    profile: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawLevel {
    Error,
    Warning,
    Info,
    Off,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnore {
    rule: toml::Spanned<String>,
    paths: Vec<toml::Spanned<String>>,
}

/// The connection keys of `[environments.<name>]`, their paths made
/// relative to the settings root; what cannot work is an error at its key.
fn environment_connection(
    root: &Path,
    name: &str,
    env: &RawEnvironment,
    table: std::ops::Range<usize>,
    error: &mut impl FnMut(std::ops::Range<usize>, String),
) -> EnvironmentConnection {
    if let Some(address) = &env.address
        && (address.get_ref().trim().is_empty() || address.get_ref().contains("://"))
    {
        error(
            address.span(),
            format!("the address of {name} must be host:port, without a scheme"),
        );
    }
    if let Some(variable) = &env.api_key_env {
        let valid = !variable.get_ref().is_empty()
            && variable
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            // Located at the table, not the value: what was written there
            // may be the key itself, and is never shown.
            error(
                table.start..table.start,
                format!(
                    "api-key-env of {name} names the variable that holds the key (e.g. TEMPORAL_API_KEY_{}), not the key",
                    name.to_uppercase()
                ),
            );
        }
    }
    match (&env.tls_cert, &env.tls_key) {
        (Some(cert), None) => error(
            cert.span(),
            format!("tls-cert of {name} needs tls-key beside it (mTLS needs both)"),
        ),
        (None, Some(key)) => error(
            key.span(),
            format!("tls-key of {name} needs tls-cert beside it (mTLS needs both)"),
        ),
        _ => {}
    }
    EnvironmentConnection {
        address: env.address.as_ref().map(|a| a.get_ref().trim().to_string()),
        tls: env.tls,
        api_key_env: env.api_key_env.as_ref().map(|v| v.get_ref().clone()),
        tls_ca: env.tls_ca.as_ref().map(|p| root.join(p)),
        tls_cert: env.tls_cert.as_ref().map(|p| root.join(p.get_ref())),
        tls_key: env.tls_key.as_ref().map(|p| root.join(p.get_ref())),
        tls_server_name: env.tls_server_name.clone(),
        profile: env.profile.clone(),
    }
}

fn settings_error(file: &SourceFile, span: std::ops::Range<usize>, message: String) -> Diagnostic {
    Diagnostic::builtin(&rules::INVALID_SETTINGS, message).at(file, span, None)
}

impl Settings {
    /// Find planguard.toml in `start` or its ancestors, like ruff and taplo do.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        let start = std::path::absolute(start).ok()?;
        start
            .ancestors()
            .map(|dir| dir.join(FILE_NAME))
            .find(|candidate| candidate.is_file())
    }

    /// Load and validate a settings file.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let root = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let text = std::fs::read_to_string(path).map_err(|e| SettingsError {
            diagnostics: vec![Diagnostic::builtin(
                &rules::INVALID_SETTINGS,
                format!("cannot read {}: {e}", path.display()),
            )],
        })?;
        let shown = relative_to_cwd(path);
        let mut settings = Self::from_text(root, &shown.to_string_lossy(), text)?;
        settings.file = Some(path.to_path_buf());
        Ok(settings)
    }

    /// Validate settings that are not a file on disk (planguard.toml as a git
    /// ref has it): `name` is where their errors are located, `root` the
    /// folder their relative paths are relative to.
    pub fn from_text(root: PathBuf, name: &str, text: String) -> Result<Self, SettingsError> {
        let file = SourceFile::new(name, text);
        let raw: RawSettings = toml::from_str(file.text()).map_err(|e| SettingsError {
            diagnostics: vec![settings_error(
                &file,
                e.span().unwrap_or(0..0),
                e.message().trim().to_string(),
            )],
        })?;
        let mut settings = Self::from_file(root, Some(&file), raw)?;
        settings.file = Some(PathBuf::from(name));
        Ok(settings)
    }

    fn from_file(
        root: PathBuf,
        file: Option<&SourceFile>,
        raw: RawSettings,
    ) -> Result<Self, SettingsError> {
        let mut errors = Vec::new();
        let mut error = |span: std::ops::Range<usize>, message: String| match file {
            Some(f) => errors.push(settings_error(f, span, message)),
            None => errors.push(Diagnostic::builtin(&rules::INVALID_SETTINGS, message)),
        };

        let mut patterns = |given: Option<Vec<toml::Spanned<String>>>, default: &str| {
            let given = given.unwrap_or_else(|| vec![toml::Spanned::new(0..0, default.into())]);
            given
                .into_iter()
                .filter_map(|p| match PathPattern::new(p.get_ref()) {
                    Ok(pattern) => Some(pattern),
                    Err(e) => {
                        error(p.span(), e);
                        None
                    }
                })
                .collect::<Vec<_>>()
        };
        let configs = patterns(raw.files.configs, "conf/{env}.json");
        let plans = patterns(raw.files.plans, "orchestration_plans/{env}/{build}.json");

        let mut globs = |list: Vec<toml::Spanned<String>>| {
            let mut builder = GlobSetBuilder::new();
            for glob in list {
                // `./conf/**` means `conf/**`: paths are matched relative to
                // the settings' folder, without a leading `./`.
                match Glob::new(glob.get_ref().trim_start_matches("./")) {
                    Ok(g) => {
                        builder.add(g);
                    }
                    Err(e) => error(glob.span(), format!("invalid glob: {e}")),
                }
            }
            builder.build().unwrap_or_else(|_| GlobSet::empty())
        };
        let exclude_patterns = raw
            .files
            .exclude
            .iter()
            .map(|g| g.get_ref().clone())
            .collect();
        let exclude = globs(raw.files.exclude);
        let mut foreign_rules = Vec::new();
        let mut ignores = Vec::new();
        let mut rule_errors = Vec::new();
        for spanned in raw.ignore {
            let ignore = spanned.into_inner();
            let rule = if ignore.rule.get_ref() == "*" {
                Some("*".to_string())
            } else {
                rule_id(&ignore.rule, &mut rule_errors, &mut foreign_rules, file)
            };
            let patterns = ignore.paths.iter().map(|p| p.get_ref().clone()).collect();
            let paths = globs(ignore.paths);
            if let Some(rule) = rule {
                ignores.push(Ignore {
                    rule,
                    patterns,
                    paths,
                });
            }
        }

        let environments: BTreeMap<String, Environment> = match raw.environments {
            None => ["dev", "uat", "prod"]
                .into_iter()
                .map(|name| (name.to_string(), Environment::default_for(name)))
                .collect(),
            Some(given) => given
                .into_iter()
                .map(|(name, env)| {
                    let table = env.span();
                    let env = env.into_inner();
                    let default = Environment::default_for(&name);
                    let connection = environment_connection(&root, &name, &env, table, &mut error);
                    let merged = Environment {
                        namespace: env.namespace.unwrap_or(default.namespace),
                        task_queues: env.task_queues.unwrap_or(default.task_queues),
                        failover_task_queues: env
                            .failover_task_queues
                            .unwrap_or(default.failover_task_queues),
                        registries: env.registries.clone().unwrap_or(default.registries),
                        registry_pattern: match &env.registry_pattern {
                            None => default.registry_pattern,
                            Some(pattern) => {
                                if let Err(e) = regex::Regex::new(pattern.get_ref()) {
                                    error(
                                        pattern.span(),
                                        format!("registry-pattern of {name} is not a regular expression: {e}"),
                                    );
                                }
                                pattern.get_ref().clone()
                            }
                        },
                        secret_stores: env.secret_stores.unwrap_or(default.secret_stores),
                        approval_required: env
                            .approval_required
                            .unwrap_or(default.approval_required),
                        require_digest: env.require_digest.unwrap_or(default.require_digest),
                        require_signature: env
                            .require_signature
                            .unwrap_or(default.require_signature),
                        require_auth: env.require_auth.unwrap_or(default.require_auth),
                        require_alerts: env.require_alerts.unwrap_or(default.require_alerts),
                        alert_on: match &env.alert_on {
                            None => default.alert_on,
                            Some(events) => {
                                for event in events.get_ref() {
                                    if !ALERT_EVENTS.contains(&event.as_str()) {
                                        error(
                                            events.span(),
                                            format!(
                                                "alert-on of {name}: no alert event `{event}`; one of {}",
                                                ALERT_EVENTS.join(", ")
                                            ),
                                        );
                                    }
                                }
                                events.get_ref().clone()
                            }
                        },
                        require_bounded_retries: env
                            .require_bounded_retries
                            .unwrap_or(default.require_bounded_retries),
                        require_autoscale: env
                            .require_autoscale
                            .unwrap_or(default.require_autoscale),
                        require_dedicated_cluster: env
                            .require_dedicated_cluster
                            .unwrap_or(default.require_dedicated_cluster),
                        connection,
                        name: name.clone(),
                    };
                    (name, merged)
                })
                .collect(),
        };

        let promotion = match raw.promotion {
            None => ["dev", "uat", "prod"]
                .into_iter()
                .filter(|name| environments.contains_key(*name))
                .map(str::to_string)
                .collect(),
            Some(order) => {
                for name in order.get_ref() {
                    if !environments.contains_key(name) {
                        error(
                            order.span(),
                            format!("promotion names `{name}`, which is not an environment"),
                        );
                    }
                }
                order.into_inner()
            }
        };

        let mut severities = BTreeMap::new();
        for (rule, level) in raw.rules {
            let Some(code) = rule_id(&rule, &mut rule_errors, &mut foreign_rules, file) else {
                continue;
            };
            let severity = match level.into_inner() {
                RawLevel::Error => Some(Severity::Error),
                RawLevel::Warning => Some(Severity::Warning),
                RawLevel::Info => Some(Severity::Info),
                RawLevel::Off => None,
            };
            severities.insert(code, severity);
        }

        for (span, message) in rule_errors {
            error(span, message);
        }

        let timeout = match raw.policy.timeout {
            None => Duration::from_secs(5),
            Some(t) => match crate::duration::parse(t.get_ref()) {
                Ok(d) if !d.is_zero() => d,
                Ok(_) => {
                    error(t.span(), "the policy timeout must be above zero".into());
                    Duration::from_secs(5)
                }
                Err(e) => {
                    error(t.span(), e);
                    Duration::from_secs(5)
                }
            },
        };

        let policy = PolicySettings {
            builtin: raw.policy.builtin.unwrap_or(true),
            paths: raw.policy.paths.iter().map(|p| root.join(p)).collect(),
            data: raw.policy.data.iter().map(|p| root.join(p)).collect(),
            namespaces: raw.policy.namespaces.unwrap_or_else(|| vec!["main".into()]),
            all_namespaces: raw.policy.all_namespaces.unwrap_or(false),
            project_namespaces: raw
                .policy
                .project_namespaces
                .unwrap_or_else(|| vec!["project".into()]),
            rego_version: raw.policy.rego_version.unwrap_or(RegoVersion::V1),
            timeout,
        };

        if !errors.is_empty() {
            return Err(SettingsError {
                diagnostics: errors,
            });
        }
        let baseline = raw.check.baseline.map(|b| root.join(b));
        Ok(Self {
            root,
            file: None,
            configs,
            plans,
            exclude,
            respect_gitignore: raw.files.respect_gitignore.unwrap_or(true),
            max_file_size: raw.files.max_file_size.unwrap_or(64 * 1024 * 1024),
            environments,
            promotion,
            certificates: raw.certificates,
            policy,
            severities,
            selection: crate::select::Selection::default(),
            baseline,
            ignores,
            exclude_patterns,
            force_exclude: true,
            foreign_rules,
        })
    }

    /// The settings as policies and `--show-settings` see them.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "file": self.file.as_ref().map(|f| crate::source::display_path(f)),
            "files": {
                "configs": self.configs.iter().map(|p| &p.source).collect::<Vec<_>>(),
                "plans": self.plans.iter().map(|p| &p.source).collect::<Vec<_>>(),
                "exclude": self.exclude_patterns,
                "respect-gitignore": self.respect_gitignore,
                "max-file-size": self.max_file_size,
            },
            "environments": self.environments,
            "promotion": self.promotion,
            "certificates": self.certificates,
            "policy": {
                "builtin": self.policy.builtin,
                "paths": self.policy.paths.iter().map(|p| crate::source::display_path(p)).collect::<Vec<_>>(),
                "data": self.policy.data.iter().map(|p| crate::source::display_path(p)).collect::<Vec<_>>(),
                "namespaces": self.policy.namespaces,
                "all-namespaces": self.policy.all_namespaces,
                "project-namespaces": self.policy.project_namespaces,
                "rego-version": self.policy.rego_version,
                "timeout-ms": self.policy.timeout.as_millis() as u64,
            },
            "rules": self.severities.iter().map(|(rule, level)| {
                (rule.clone(), serde_json::Value::from(level.map_or("off", Severity::as_str)))
            }).collect::<serde_json::Map<_, _>>(),
            "ignore": self.ignores.iter().map(|i| serde_json::json!({
                "rule": i.rule,
                "paths": i.patterns,
            })).collect::<Vec<_>>(),
        })
    }

    /// The severity a finding of `rule` is reported at, or None when the rule is off.
    pub fn severity_for(&self, rule: &str, default: Severity) -> Option<Severity> {
        self.selection
            .severity(rule, self.severities.get(rule).copied(), default)
    }

    /// Whether an `[[ignore]]` entry silences `rule` for the file at `path`.
    /// Patterns are matched against the path relative to the settings'
    /// folder, whichever way the path was given (`./conf/dev.json`,
    /// `conf/dev.json`, absolute, or from a parent folder), and as given.
    pub fn is_ignored(&self, rule: &str, path: &Path) -> bool {
        let relative = self.relative(path);
        self.ignores.iter().any(|ignore| {
            (ignore.rule == rule || ignore.rule == "*")
                && (relative
                    .as_deref()
                    .is_some_and(|r| ignore.paths.is_match(r))
                    || ignore.paths.is_match(path))
        })
    }

    /// Whether `exclude` matches the file at `path` (relative to the
    /// settings' folder, or as given).
    pub fn is_excluded(&self, path: &Path) -> bool {
        self.relative(path)
            .as_deref()
            .is_some_and(|r| self.exclude.is_match(r))
            || self.exclude.is_match(lexical(path))
    }

    /// `path` relative to the settings' folder, when it lies below it;
    /// both made absolute and stripped of `.` and `..` without touching the
    /// file system (a symbolic link is judged by where it is, not where it
    /// points, as git does).
    pub fn relative(&self, path: &Path) -> Option<PathBuf> {
        let absolute = |p: &Path| std::path::absolute(p).map(|a| lexical(&a)).ok();
        let (path, root) = (absolute(path)?, absolute(&self.root)?);
        path.strip_prefix(root).ok().map(Path::to_path_buf)
    }

    /// The `[rules]`/`[[ignore]]` entries that name no built-in rule, as
    /// errors, unless some user policy could produce them.
    pub fn check_foreign_rules(&self) -> Result<(), SettingsError> {
        if self.foreign_rules.is_empty() || !self.policy.paths.is_empty() {
            return Ok(());
        }
        Err(SettingsError {
            diagnostics: self.foreign_rules.clone(),
        })
    }
}

/// `path` without `.` components, and with each `..` taking away the
/// component before it.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !matches!(
                    out.components().next_back(),
                    None | Some(Component::ParentDir)
                ) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The id of the rule a `[rules]` key or an `[[ignore]]` rule names: a
/// built-in rule by id or name in any case; a misspelt built-in rule, or an
/// unknown `PG` id, is an error with the nearest rule; anything else is
/// taken for a user policy's rule id and remembered in `foreign`, since it
/// is an error unless user policies are configured.
fn rule_id(
    given: &toml::Spanned<String>,
    errors: &mut Vec<(std::ops::Range<usize>, String)>,
    foreign: &mut Vec<Diagnostic>,
    file: Option<&SourceFile>,
) -> Option<String> {
    let name = given.get_ref();
    if let Some(rule) = rules::lookup(name) {
        return Some(rule.code.to_string());
    }
    let known = rules::ALL.iter().flat_map(|r| [r.code, r.name]);
    let near = crate::suggest::closest(name, known);
    let message = |what: &str| match near {
        Some(near) => format!("{what} `{name}`; did you mean `{near}`?"),
        None => format!("{what} `{name}`; `planguard rules` lists the built-in rules"),
    };
    let looks_builtin = name.len() >= 3
        && name[..2].eq_ignore_ascii_case("PG")
        && name[2..].bytes().all(|b| b.is_ascii_digit());
    if looks_builtin || near.is_some() {
        errors.push((given.span(), message("unknown rule")));
        return None;
    }
    let text = format!(
        "no built-in rule `{name}`, and no user policy is configured that could report it (`[policy] paths` or `--policy`){}",
        near.map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default()
    );
    foreign.push(match file {
        Some(f) => settings_error(f, given.span(), text),
        None => Diagnostic::builtin(&rules::INVALID_SETTINGS, text),
    });
    Some(name.clone())
}

/// Show paths relative to the working directory when they are below it.
pub fn relative_to_cwd(path: &Path) -> PathBuf {
    let Ok(cwd) = std::env::current_dir() else {
        return path.to_path_buf();
    };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match absolute.strip_prefix(&cwd) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, SettingsError> {
        let file = SourceFile::new("planguard.toml", text);
        let raw: RawSettings = toml::from_str(text).map_err(|e| SettingsError {
            diagnostics: vec![settings_error(
                &file,
                e.span().unwrap_or(0..0),
                e.to_string(),
            )],
        })?;
        Settings::from_file(PathBuf::from("."), Some(&file), raw)
    }

    #[test]
    fn defaults_are_the_specification_layout() {
        let settings = Settings::default();
        let dev = &settings.environments["dev"];
        assert_eq!(dev.namespace, "ingestion-dev");
        assert_eq!(
            dev.task_queues,
            ["spark-ingest-dev", "temporal-maintenance"]
        );
        assert_eq!(
            settings.environments["uat"].task_queues,
            ["spark-ingest-uat"]
        );
        assert!(settings.environments["prod"].approval_required);
        assert!(!settings.environments["uat"].approval_required);
    }

    #[test]
    fn patterns_capture_environment_and_build_at_component_boundaries() {
        let plans = PathPattern::new("orchestration_plans/{env}/{build}.json").expect("valid");
        assert_eq!(
            plans.captures("examples/salam/orchestration_plans/prod/42.json"),
            Some(Captures {
                workspace: "examples/salam".into(),
                env: Some("prod".into()),
                build: Some("42".into())
            })
        );
        assert_eq!(plans.captures("xorchestration_plans/prod/42.json"), None);
        let anchored = PathPattern::new("/conf/{env}.json").expect("valid");
        assert!(anchored.captures("conf/dev.json").is_some());
        assert!(anchored.captures("a/conf/dev.json").is_none());
    }

    #[test]
    fn unknown_keys_are_errors_with_spans() {
        let text = "[files]\nconfig = [\"x\"]\n";
        let err = parse(text).expect_err("unknown key");
        let location = err.diagnostics[0].location.as_ref().expect("located");
        assert_eq!(&text[location.span.clone()], "config");
    }

    #[test]
    fn alert_events_are_the_config_schemas_and_others_are_errors() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../schemas/ingestion-config.schema.json"))
                .expect("schema");
        let events = &schema["$defs"]["alerts"]["properties"]["on"]["items"]["enum"];
        assert_eq!(events, &serde_json::json!(ALERT_EVENTS));
        let text = "[environments.uat]\nalert-on = [\"failure\", \"failur\"]\n";
        let err = parse(text).expect_err("unknown event");
        let diagnostic = &err.diagnostics[0];
        assert!(
            diagnostic.message.contains("no alert event `failur`"),
            "{}",
            diagnostic.message
        );
        let location = diagnostic.location.as_ref().expect("located");
        assert_eq!(&text[location.span.clone()], "[\"failure\", \"failur\"]");
        let settings = parse("[environments.uat]\nalert-on = []\n").expect("valid");
        assert!(settings.environments["uat"].alert_on.is_empty());
        let defaults = parse("").expect("valid");
        assert_eq!(
            defaults.environments["prod"].alert_on,
            ["failure", "retry_exhausted"]
        );
        assert!(defaults.environments["dev"].alert_on.is_empty());
    }

    #[test]
    fn bad_durations_and_unknown_rules_are_reported_together() {
        let err = parse("[policy]\ntimeout = \"5 sec\"\n[rules]\nPG999 = \"off\"\n")
            .expect_err("invalid");
        assert_eq!(err.diagnostics.len(), 2);
    }

    #[test]
    fn environments_given_replace_the_defaults_but_fill_known_fields() {
        let settings =
            parse("[environments.prod]\nregistries = [\"registry.prod/\"]\n").expect("valid");
        assert_eq!(settings.environments.len(), 1);
        let prod = &settings.environments["prod"];
        assert_eq!(prod.namespace, "ingestion-prod");
        assert_eq!(prod.registries, ["registry.prod/"]);
        assert!(prod.require_signature);
    }

    #[test]
    fn connection_keys_are_read_checked_and_shown_as_names() {
        let settings = parse(
            "[environments.prod]\naddress = \"temporal.prod:7233\"\ntls = true\napi-key-env = \"PROD_KEY\"\ntls-ca = \"certs/ca.pem\"\ntls-cert = \"certs/c.pem\"\ntls-key = \"certs/c.key\"\ntls-server-name = \"temporal\"\nprofile = \"prod\"\n",
        )
        .expect("valid");
        let connection = &settings.environments["prod"].connection;
        assert_eq!(connection.address.as_deref(), Some("temporal.prod:7233"));
        assert_eq!(connection.tls, Some(true));
        assert_eq!(connection.tls_ca, Some(PathBuf::from("./certs/ca.pem")));
        assert_eq!(connection.profile.as_deref(), Some("prod"));
        let shown = settings.to_json();
        assert_eq!(
            shown["environments"]["prod"]["connection"]["api_key_env"],
            "PROD_KEY"
        );
        assert_eq!(
            shown["environments"]["prod"]["connection"]["tls_server_name"],
            "temporal"
        );

        let text = "[environments.uat]\naddress = \"https://x:1\"\napi-key-env = \"tmprl_abc.def\"\ntls-cert = \"c.pem\"\n";
        let err = parse(text).expect_err("invalid");
        for d in &err.diagnostics {
            assert!(!d.message.contains("tmprl_abc"), "{}", d.message);
        }
        let api_key_at = err.diagnostics[1]
            .location
            .as_ref()
            .expect("located")
            .span
            .start;
        assert!(!text[api_key_at..].starts_with("\"tmprl"), "{api_key_at}");
        let spans: Vec<&str> = err
            .diagnostics
            .iter()
            .map(|d| &text[d.location.as_ref().expect("located").span.clone()])
            .collect();
        assert_eq!(spans, ["\"https://x:1\"", "", "\"c.pem\""]);
    }

    #[test]
    fn overrides_and_ignores() {
        let settings = parse(
            "[rules]\nPG103 = \"warning\"\nnamespace-mismatch = \"off\"\n[[ignore]]\nrule = \"PG102\"\npaths = [\"conf/dev.json\"]\n",
        )
        .expect("valid");
        assert_eq!(
            settings.severity_for("PG103", Severity::Error),
            Some(Severity::Warning)
        );
        assert_eq!(settings.severity_for("PG101", Severity::Error), None);
        assert!(settings.is_ignored("PG102", Path::new("conf/dev.json")));
        assert!(!settings.is_ignored("PG102", Path::new("conf/uat.json")));
    }
}
