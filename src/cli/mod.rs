//! Command line: clap flags (raw) merged over planguard.toml into validated
//! settings, then the run itself. Writes to the handles it is given; `main`
//! owns the process.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod deploy;

use crate::check::{Checker, PolicyError};
use crate::diagnostic::{Report, plural};
use crate::discover::{self, DiscoverError};
use crate::report::{self, Format};
use crate::rules;
use crate::settings::{RegoVersion, Settings, SettingsError};

#[derive(Debug, Parser)]
#[command(
    name = "planguard",
    version,
    about = "Guards Salam ingestion configs and orchestration plans on their way to Temporal."
)]
pub struct Cli {
    /// When to use colours: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check configs and plans: JSON syntax, JSON Schema, Rego policies, cross-file rules.
    Check(CheckArgs),
    /// List the built-in rules.
    Rules,
    /// Print a rule's documentation: what it checks, why, examples, how to configure it.
    Explain {
        /// Rule code or name, e.g. PG105 or image-not-pinned.
        rule: String,
    },
    /// Run Rego unit tests (`test_` rules), like `opa test`.
    Test(crate::policy_test::TestArgs),
    /// Register a plan as a Temporal Schedule, after a clean check of exactly what is sent.
    Apply(ApplyArgs),
    /// Compare the newest plan of each environment with the deployed schedules; exit 1 on drift.
    Drift(DriftArgs),
    /// Re-apply an earlier plan of an environment from the plan store, through the same gate.
    Rollback(RollbackArgs),
    /// Start one run of a plan's workflow now, outside its schedule.
    Trigger(TriggerArgs),
}

/// Where the Temporal server is, where the audit goes, which settings apply.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Temporal frontend, host:port.
    #[arg(long, env = "TEMPORAL_ADDRESS", default_value = "127.0.0.1:7233")]
    pub address: String,
    /// Environment variable holding a Temporal API key (sent as a bearer token, over TLS).
    #[arg(long, value_name = "VAR", default_value = "TEMPORAL_API_KEY")]
    pub api_key_env: String,
    /// Connect with TLS (implied by an API key or any other TLS option).
    #[arg(long, env = "TEMPORAL_TLS")]
    pub tls: bool,
    /// Client certificate (PEM) for mTLS.
    #[arg(long, value_name = "FILE", env = "TEMPORAL_TLS_CLIENT_CERT_PATH")]
    pub tls_cert: Option<PathBuf>,
    /// Client private key (PEM) for mTLS.
    #[arg(long, value_name = "FILE", env = "TEMPORAL_TLS_CLIENT_KEY_PATH")]
    pub tls_key: Option<PathBuf>,
    /// CA certificate (PEM) the server's certificate is verified against (default: system roots).
    #[arg(long, value_name = "FILE", env = "TEMPORAL_TLS_SERVER_CA_CERT_PATH")]
    pub tls_ca: Option<PathBuf>,
    /// Name to verify the server's certificate against, when not the address's host.
    #[arg(long, value_name = "NAME", env = "TEMPORAL_TLS_SERVER_NAME")]
    pub tls_server_name: Option<String>,
    /// File audit records are appended to, one JSON line each.
    #[arg(
        long,
        value_name = "FILE",
        env = "PLANGUARD_AUDIT_LOG",
        default_value = ".planguard/audit.jsonl"
    )]
    pub audit_log: PathBuf,
    /// Use this settings file instead of looking for planguard.toml.
    #[arg(long, value_name = "FILE", conflicts_with = "isolated")]
    pub config: Option<PathBuf>,
    /// Ignore any planguard.toml; use the built-in defaults.
    #[arg(long)]
    pub isolated: bool,
}

impl ConnectArgs {
    fn endpoint(&self) -> crate::apply::temporal::Endpoint {
        let wants_tls = self.tls
            || self.tls_cert.is_some()
            || self.tls_key.is_some()
            || self.tls_ca.is_some()
            || self.tls_server_name.is_some();
        crate::apply::temporal::Endpoint {
            address: self.address.clone(),
            api_key: std::env::var(&self.api_key_env)
                .ok()
                .filter(|k| !k.is_empty()),
            tls: wants_tls.then(|| crate::apply::temporal::Tls {
                client_cert: self.tls_cert.clone(),
                client_key: self.tls_key.clone(),
                server_ca: self.tls_ca.clone(),
                server_name: self.tls_server_name.clone(),
            }),
        }
    }
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan, orchestration_plans/<env>/<build>.json.
    pub plan: PathBuf,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Register in this namespace instead of the plan's (checked like the plan's own).
    #[arg(long, env = "TEMPORAL_NAMESPACE")]
    pub namespace: Option<String>,
    /// Use this task queue instead of the plan's (checked like the plan's own).
    #[arg(long)]
    pub task_queue: Option<String>,
    /// Who approved this change; required where the environment demands approval (prod).
    #[arg(long, env = "PLANGUARD_APPROVED_BY")]
    pub approved_by: Option<String>,
    /// Say what would change, field by field, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Resume a schedule an operator paused (an update otherwise keeps the pause and notes).
    #[arg(long)]
    pub unpause: bool,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Plans, or folders of them (the newest plan of each environment is compared).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Compare in this namespace, and report its schedules that no plan owns.
    #[arg(long)]
    pub namespace: Option<String>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The environment whose schedule goes back.
    #[arg(long = "env")]
    pub environment: String,
    /// The build to go back to (default: the one before the deployed build).
    #[arg(long)]
    pub to: Option<String>,
    /// The workspace holding orchestration_plans/ (default: the current folder).
    #[arg(default_value = ".")]
    pub workspace: PathBuf,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[arg(long, env = "PLANGUARD_APPROVED_BY")]
    pub approved_by: Option<String>,
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct TriggerArgs {
    pub plan: PathBuf,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[arg(long, env = "PLANGUARD_APPROVED_BY")]
    pub approved_by: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or folders to check (default: the current folder). Files given
    /// explicitly are always checked; folders are walked for configs and plans.
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 on warnings too, not only on errors.
    #[arg(long)]
    pub fail_on_warn: bool,
    /// A folder (or file) of Rego policies to apply besides the built-in ones (repeatable).
    #[arg(long = "policy", short = 'p', value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// A JSON data file (or folder of them) merged into `data` (repeatable).
    #[arg(long = "data", short = 'd', value_name = "PATH")]
    pub data: Vec<PathBuf>,
    /// Policy package whose rules run on each document (repeatable; default `main`).
    #[arg(long = "namespace", short = 'n', value_name = "PACKAGE")]
    pub namespaces: Vec<String>,
    /// Run the rules of every package in the user policies.
    #[arg(long)]
    pub all_namespaces: bool,
    /// Rego syntax of the user policies.
    #[arg(long, value_enum)]
    pub rego_version: Option<RegoVersionArg>,
    /// Do not apply the built-in policies.
    #[arg(long)]
    pub no_builtin: bool,
    /// Use this settings file instead of looking for planguard.toml.
    #[arg(long, value_name = "FILE", conflicts_with = "isolated")]
    pub config: Option<PathBuf>,
    /// Ignore any planguard.toml; use the built-in defaults.
    #[arg(long)]
    pub isolated: bool,
    /// Also say which files were skipped and why.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Print the settings in effect (after planguard.toml and flags) as JSON, and exit.
    #[arg(long)]
    pub show_settings: bool,
    /// Check every file again instead of reusing results from .planguard/cache.
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegoVersionArg {
    V0,
    V1,
}

/// A failure of the tool itself (exit status 2), as opposed to findings.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("planguard.toml is invalid")]
    Settings(SettingsError),
    #[error("cannot write the report: {0}")]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Test(#[from] crate::policy_test::TestError),
    #[error(transparent)]
    Temporal(#[from] crate::apply::temporal::TemporalError),
    #[error("{0}")]
    Usage(String),
}

/// How a run ended: 0 clean, 1 findings, 2 the tool failed.
pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_FAILURE: u8 = 2;

pub fn use_color(choice: ColorChoice, stream_is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

pub fn run(cli: Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<ExitCode, CliError> {
    let color = use_color(cli.color, std::io::stdout().is_terminal());
    match cli.command {
        Command::Check(args) => check(args, color, stdout, stderr),
        Command::Apply(args) => deploy::apply(args, color, stdout),
        Command::Drift(args) => deploy::drift(args, color, stdout),
        Command::Rollback(args) => deploy::rollback(args, color, stdout),
        Command::Trigger(args) => deploy::trigger(args, color, stdout),
        Command::Test(args) => Ok(ExitCode::from(crate::policy_test::main(
            &args,
            stdout,
            &crate::check::functions::register,
        )?)),
        Command::Explain { rule } => match rules::lookup(&rule) {
            Some(rule) => {
                stdout.write_all(rule.doc.as_bytes())?;
                Ok(ExitCode::from(EXIT_CLEAN))
            }
            None => {
                writeln!(
                    stderr,
                    "planguard: no rule `{rule}`; `planguard rules` lists them"
                )?;
                Ok(ExitCode::from(EXIT_FAILURE))
            }
        },
        Command::Rules => {
            for rule in rules::ALL {
                writeln!(
                    stdout,
                    "{:<6} {:<26} {:<8} {}",
                    rule.code,
                    rule.name,
                    rule.severity.as_str(),
                    rule.summary
                )?;
            }
            Ok(ExitCode::from(EXIT_CLEAN))
        }
    }
}

/// planguard.toml as chosen by `--config`/`--isolated`, else the one
/// closest to the files (as in ruff), else the working folder's.
pub(crate) fn load_settings(
    config: Option<&PathBuf>,
    isolated: bool,
    paths: &[PathBuf],
) -> Result<Settings, CliError> {
    let file = if isolated {
        None
    } else if let Some(config) = config {
        Some(config.clone())
    } else {
        paths
            .first()
            .and_then(|p| Settings::discover(p))
            .or_else(|| Settings::discover(std::path::Path::new(".")))
    };
    match file {
        Some(file) => Settings::load(&file).map_err(CliError::Settings),
        None => Ok(Settings::default()),
    }
}

fn settings_for(args: &CheckArgs, paths: &[PathBuf]) -> Result<Settings, CliError> {
    let mut settings = load_settings(args.config.as_ref(), args.isolated, paths)?;
    let policy = &mut settings.policy;
    policy.paths.extend(args.policies.iter().cloned());
    policy.data.extend(args.data.iter().cloned());
    if !args.namespaces.is_empty() {
        policy.namespaces = args.namespaces.clone();
    }
    policy.all_namespaces |= args.all_namespaces;
    policy.builtin &= !args.no_builtin;
    if let Some(version) = args.rego_version {
        policy.rego_version = match version {
            RegoVersionArg::V0 => RegoVersion::V0,
            RegoVersionArg::V1 => RegoVersion::V1,
        };
    }
    Ok(settings)
}

fn check(
    args: CheckArgs,
    color: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let settings = settings_for(&args, &paths)?;
    if args.show_settings {
        let mut text =
            serde_json::to_string_pretty(&settings.to_json()).expect("settings serialize");
        text.push('\n');
        stdout.write_all(text.as_bytes())?;
        return Ok(ExitCode::from(EXIT_CLEAN));
    }
    if args.verbose {
        match &settings.file {
            Some(file) => writeln!(stderr, "settings: {}", file.display())?,
            None => writeln!(stderr, "settings: built-in defaults (no planguard.toml)")?,
        }
    }
    let discovery = discover::discover(&paths, &settings)?;
    if args.verbose {
        for (path, reason) in &discovery.skipped {
            writeln!(stderr, "skipped {}: {reason}", path.display())?;
        }
    }
    let checker = Checker::new(settings)?;
    let outcome = if args.no_cache {
        checker.check_files(&discovery.files)
    } else {
        // Beside planguard.toml, else in the working folder.
        let root = checker
            .settings
            .file
            .as_ref()
            .and_then(|f| f.parent())
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        let cache = crate::check::Cache::new(&root, checker.cache_key());
        checker.check_files_cached(&discovery.files, &cache)
    };
    let report = Report::new(
        outcome.diagnostics,
        discovery.files.len(),
        started.elapsed(),
    );
    stdout.write_all(&report::render(&report, args.format, color))?;
    if discovery.files.is_empty() && args.verbose {
        writeln!(
            stderr,
            "no configs or plans found under {}",
            plural(paths.len(), "path")
        )?;
    }
    Ok(ExitCode::from(if report.has_failures(args.fail_on_warn) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }))
}
