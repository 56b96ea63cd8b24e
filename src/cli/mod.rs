//! Command line: clap flags (raw) merged over planguard.toml into validated
//! settings, then the run itself. Writes to the handles it is given; `main`
//! owns the process.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[cfg(feature = "deploy")]
mod deploy;
pub mod fatal;
#[cfg(feature = "deploy")]
mod status;

use crate::check::{Checker, PolicyError};
use crate::diagnostic::{Report, plural};
use crate::discover::{self, DiscoverError};
use crate::log::{Fields, Level, Log};
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
    /// Log events on standard error: human (as it reads today) or json (one
    /// object per line: time, level, subcommand, namespace, schedule, plan build and hash).
    #[arg(long, global = true, value_enum, default_value_t = crate::log::LogFormat::Human)]
    pub log_format: crate::log::LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

// One value per process, parsed once: the check-only build (no deploy
// commands, whose arguments are as large) has nothing to gain from boxing.
#[allow(clippy::large_enum_variant)]
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
    #[cfg(feature = "deploy")]
    Apply(ApplyArgs),
    /// Compare the newest plan of each environment with the deployed schedules; exit 1 on drift.
    #[cfg(feature = "deploy")]
    Drift(DriftArgs),
    /// Re-apply an earlier plan of an environment from the plan store, through the same gate.
    #[cfg(feature = "deploy")]
    Rollback(RollbackArgs),
    /// Start one run of a plan's workflow now, outside its schedule.
    #[cfg(feature = "deploy")]
    Trigger(TriggerArgs),
    /// The health of schedules: paused, next and last run, lag, missed
    /// catch-ups, running workflows, applied plan; exit 1 when any is unhealthy.
    #[cfg(feature = "deploy")]
    Status(status::StatusArgs),
    /// Not in this check-only build (no `deploy` feature): register a plan as a Temporal Schedule.
    #[cfg(not(feature = "deploy"))]
    Apply(NotBuilt),
    /// Not in this check-only build (no `deploy` feature): compare plans with deployed schedules.
    #[cfg(not(feature = "deploy"))]
    Drift(NotBuilt),
    /// Not in this check-only build (no `deploy` feature): re-apply an earlier plan.
    #[cfg(not(feature = "deploy"))]
    Rollback(NotBuilt),
    /// Not in this check-only build (no `deploy` feature): start one run of a plan's workflow.
    #[cfg(not(feature = "deploy"))]
    Trigger(NotBuilt),
    /// Not in this check-only build (no `deploy` feature): the health of schedules.
    #[cfg(not(feature = "deploy"))]
    Status(NotBuilt),
    /// Run the language server on stdin/stdout, for editors.
    Lsp,
    /// Scaffold planguard.toml, an example policy with its test, a pre-commit
    /// configuration and a GitHub workflow.
    Init {
        /// The repository to scaffold (default: the current folder).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Replace files that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Print a bundled JSON Schema, for editors' completion and validation while typing.
    Schema {
        #[arg(value_enum)]
        kind: SchemaKind,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, or write one per subcommand into a folder.
    Man {
        /// Write planguard.1, planguard-check.1, … into this folder.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// An ingestion config, conf/<env>.json.
    Config,
    /// An orchestration plan, orchestration_plans/<env>/<build>.json.
    Plan,
    /// The report `check --format json` prints.
    Report,
}

/// A deploy command in a check-only build: its arguments are taken as they
/// come, so that the answer is that the build lacks it, not a flag error.
#[cfg(not(feature = "deploy"))]
#[derive(Debug, Args)]
pub struct NotBuilt {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    args: Vec<std::ffi::OsString>,
}

/// Which settings apply: shared by check and every deploy command.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Use this settings file instead of looking for planguard.toml.
    #[arg(long, value_name = "FILE", conflicts_with = "isolated")]
    pub config: Option<PathBuf>,
    /// Ignore any planguard.toml; use the built-in defaults.
    #[arg(long)]
    pub isolated: bool,
}

impl SettingsArgs {
    /// planguard.toml as these flags choose it, for files under `paths`.
    #[cfg(feature = "deploy")]
    pub(crate) fn load(&self, paths: &[PathBuf]) -> Result<Settings, CliError> {
        self.source().load(paths).map_err(CliError::Settings)
    }

    pub(crate) fn source(&self) -> crate::settings::Source {
        crate::settings::Source {
            config: self.config.clone(),
            isolated: self.isolated,
        }
    }
}

#[cfg(feature = "deploy")]
/// Where the Temporal server is and how to reach it: shared by apply, drift,
/// rollback, trigger and status. Each flag (or the `TEMPORAL_*` variable
/// under it) wins over the environment's `[environments.<env>]` in
/// planguard.toml, which wins over the Temporal CLI profile
/// (src/apply/connect.rs decides).
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Temporal frontend, host:port (default: the environment's address in
    /// planguard.toml, else the profile's, else 127.0.0.1:7233).
    #[arg(long, env = "TEMPORAL_ADDRESS")]
    pub address: Option<String>,
    /// Environment variable holding a Temporal API key (sent as a bearer
    /// token, over TLS); default TEMPORAL_API_KEY, then the environment's
    /// api-key-env.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Connect with TLS (implied by an API key or any other TLS option);
    /// `--tls=false` turns off what planguard.toml or the profile turn on.
    #[arg(
        long,
        env = "TEMPORAL_TLS",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub tls: Option<bool>,
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
    /// Temporal CLI profile to start from (in TEMPORAL_CONFIG_FILE, else the
    /// default temporal.toml); default: the environment's `profile`, else `default`.
    #[arg(long, value_name = "NAME", env = "TEMPORAL_PROFILE")]
    pub profile: Option<String>,
    /// Connect in plain text even to an environment that requires auth
    /// (require-auth), e.g. a local dev server.
    #[arg(long)]
    pub insecure: bool,
}

#[cfg(feature = "deploy")]
impl ConnectArgs {
    /// What the command line asked for; apply/connect.rs layers it over the
    /// environment's settings and the profile.
    pub(crate) fn requested(&self) -> crate::apply::connect::Requested {
        let text = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        crate::apply::connect::Requested {
            address: text(&self.address),
            tls: self.tls,
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            tls_ca: self.tls_ca.clone(),
            tls_server_name: text(&self.tls_server_name),
            api_key_env: text(&self.api_key_env),
            profile: text(&self.profile),
            insecure: self.insecure,
        }
    }
}

#[cfg(feature = "deploy")]
/// What the commands that change Temporal (apply, rollback, trigger) ask of
/// the gate besides the plan: who approved, where an environment that
/// requires approval takes its gate settings from, and where the audit goes.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// Who approved this change; required where the environment demands
    /// approval (prod), and not the CI user applying it.
    #[arg(long, env = "PLANGUARD_APPROVED_BY")]
    pub approved_by: Option<String>,
    /// Gate environments that require approval with this settings file, kept
    /// outside the change (the change's planguard.toml may not weaken it).
    #[arg(
        long,
        value_name = "FILE",
        env = "PLANGUARD_TRUSTED_SETTINGS",
        conflicts_with = "settings_from_ref"
    )]
    pub trusted_settings: Option<PathBuf>,
    /// Gate environments that require approval with planguard.toml as this
    /// git ref has it (e.g. origin/main), read with `git show`.
    #[arg(long, value_name = "REF", env = "PLANGUARD_SETTINGS_FROM_REF")]
    pub settings_from_ref: Option<String>,
    /// File audit records are appended to, one JSON line each.
    #[arg(
        long,
        value_name = "FILE",
        env = "PLANGUARD_AUDIT_LOG",
        default_value = ".planguard/audit.jsonl"
    )]
    pub audit_log: PathBuf,
}

#[cfg(feature = "deploy")]
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan, orchestration_plans/<env>/<build>.json.
    pub plan: PathBuf,
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    /// Register in this namespace instead of the plan's (checked like the
    /// plan's own); default TEMPORAL_NAMESPACE.
    #[arg(long)]
    pub namespace: Option<String>,
    /// Use this task queue instead of the plan's (checked like the plan's own).
    #[arg(long)]
    pub task_queue: Option<String>,
    /// Say what would change, field by field, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Resume a schedule an operator paused (an update otherwise keeps the pause and notes).
    #[arg(long)]
    pub unpause: bool,
    /// How to say what happened: `human`, or `markdown` for a pull request
    /// preview (`--dry-run --format markdown >> "$GITHUB_STEP_SUMMARY"`).
    #[arg(long, value_enum, default_value_t = Preview::Human)]
    pub format: Preview,
}

#[cfg(feature = "deploy")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preview {
    Human,
    Markdown,
}

#[cfg(feature = "deploy")]
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Plans, or folders of them (the newest plan of each environment is compared).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Compare in this namespace instead of the plans' own, and report its
    /// schedules that no plan owns (the plans of one environment only, as
    /// with apply).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Compare with this task queue instead of the plans' own, as an apply
    /// with the same override sent it (the plans of one environment only).
    #[arg(long)]
    pub task_queue: Option<String>,
    /// Output format of the drift report (`markdown` for a pull request preview).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[cfg(feature = "deploy")]
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The environment whose schedule goes back.
    #[arg(long = "env")]
    pub environment: String,
    /// The build to go back to, matched as a number (`041` is build 41);
    /// default: the plan deployed before the current one (by the audit log).
    #[arg(long)]
    pub to: Option<String>,
    /// Show the environment's deployments (build, sha256, when, who,
    /// outcome) and where a rollback would go; change nothing.
    #[arg(long, conflicts_with_all = ["to", "dry_run"])]
    pub list: bool,
    /// The workspace holding the plan store, the environment's plans by
    /// `[files] plans` (default: the current folder).
    #[arg(default_value = ".")]
    pub workspace: PathBuf,
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    /// Say what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[cfg(feature = "deploy")]
#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// The plan whose workflow runs, orchestration_plans/<env>/<build>.json.
    pub plan: PathBuf,
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    /// Wait for the run to end (a canary): exit 0 when it completes, 1 when
    /// it fails, times out, is terminated or canceled, or outlasts --timeout.
    #[arg(long)]
    pub wait: bool,
    /// With --wait, give up waiting after this long (Go duration: 30s, 5m,
    /// 1h; the run goes on); default: as long as the run's own timeouts allow.
    #[arg(long, value_name = "DURATION", requires = "wait", value_parser = crate::duration::parse)]
    pub timeout: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or folders to check (default: the current folder). Files given
    /// explicitly are always checked; folders are walked for configs and plans.
    pub paths: Vec<PathBuf>,
    /// Output format (or the PLANGUARD_OUTPUT_FORMAT environment variable).
    #[arg(long, value_enum, default_value_t = Format::Human, env = "PLANGUARD_OUTPUT_FORMAT")]
    pub format: Format,
    /// Report only these rules: ids (`PG105`), names (`image-not-pinned`),
    /// id prefixes (`PG1`) or `ALL`, in any case; comma-separated or repeated.
    /// Among the rules planguard.toml leaves on, except those named exactly.
    #[arg(long, value_name = "RULES")]
    pub select: Vec<String>,
    /// Report these rules too, besides those selected.
    #[arg(long, value_name = "RULES")]
    pub extend_select: Vec<String>,
    /// Do not report these rules (wins over --select).
    #[arg(long, value_name = "RULES")]
    pub ignore: Vec<String>,
    /// Report these rules as warnings.
    #[arg(long, value_name = "RULES")]
    pub warn: Vec<String>,
    /// Exit 0 even when there are findings (2 still means the tool failed).
    #[arg(long)]
    pub exit_zero: bool,
    /// Report only findings not recorded in this baseline file (default:
    /// `[check] baseline` in planguard.toml), and say how many of its
    /// entries are gone.
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Record every finding of this check in FILE as the baseline, and exit 0.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Write the report to FILE (replaced whole, never half-written); the
    /// summary line still goes to standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the report in FORMAT to FILE, byte for byte what
    /// `--format FORMAT` prints (repeatable: one check, several formats),
    /// e.g. `--report sarif=planguard.sarif --report markdown=summary.md`.
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_report)]
    pub reports: Vec<ReportTo>,
    /// Exit 1 on warnings too, not only on errors.
    #[arg(long)]
    pub fail_on_warn: bool,
    /// A folder (or file) of Rego policies to apply besides the built-in ones (repeatable).
    #[arg(long = "policy", short = 'p', value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// A JSON or YAML data file (or folder of them) merged into `data` (repeatable).
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
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Also say which files were skipped and why.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Print the settings in effect (after planguard.toml and flags) as JSON, and exit.
    #[arg(long)]
    pub show_settings: bool,
    /// Check every file again instead of reusing results from .planguard/cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Measure where the time goes: per rule and per stage, the count, total
    /// and mean time and share (in the report for human, concise and json;
    /// on standard error for the other formats). Each rule runs alone, so a
    /// profiled check is slower than a plain one.
    #[arg(long)]
    pub profile: bool,
    /// Check only shard I of N (e.g. `2/4`) of the files, split by a stable
    /// hash of their paths, for CI matrices; the cross-file rules still see
    /// every file.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Succeed when there is nothing to check (no config or plan under the
    /// paths); by default that is an error, so a CI job whose paths are
    /// wrong does not stay green.
    #[arg(long)]
    pub allow_empty: bool,
    /// Check files named on the command line even when `[files] exclude`
    /// matches them (by default exclude applies to them too, so a
    /// pre-commit hook skips what planguard.toml excludes).
    #[arg(long)]
    pub no_force_exclude: bool,
    /// Apply the fixes findings carry (the edit their help line names: a
    /// misspelt property, the environment's namespace or task queue, the
    /// config's value in a plan), in place, then check again and report
    /// what remains. See docs/fixes.md.
    #[arg(long, conflicts_with = "diff")]
    pub fix: bool,
    /// Print a unified diff of what `--fix` would change and change
    /// nothing; exit 1 when there is something to fix, else 0.
    #[arg(long)]
    pub diff: bool,
    /// With `--fix` or `--diff`, also the unsafe fixes: edits that change
    /// what a file attests (a checksum), to make only after a review.
    #[arg(long)]
    pub unsafe_fixes: bool,
}

/// `--report FORMAT=FILE`: a report written besides the one printed.
#[derive(Debug, Clone)]
pub struct ReportTo {
    pub format: Format,
    pub file: PathBuf,
}

fn parse_report(text: &str) -> Result<ReportTo, String> {
    let names = || {
        Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value())
            .map(|f| f.get_name().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (format, file) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not FORMAT=FILE, e.g. sarif=planguard.sarif"))?;
    let format = Format::from_str(format, true)
        .map_err(|_| format!("no format `{format}`; one of {}", names()))?;
    if file.is_empty() {
        return Err(format!("`{text}` names no file"));
    }
    Ok(ReportTo {
        format,
        file: PathBuf::from(file),
    })
}

/// `--shard I/N`, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    let (index, count) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not I/N, e.g. 2/4"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{text}` is not I/N, e.g. 2/4"))
    };
    let (index, count) = (number(index)?, number(count)?);
    if count == 0 || index == 0 || index > count {
        return Err(format!(
            "shard {index} of {count}: I must be between 1 and N"
        ));
    }
    Ok(Shard { index, count })
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
    /// Located in planguard.toml (or the file --config names): each of its
    /// diagnostics says where.
    #[error("invalid settings; nothing was checked")]
    Settings(SettingsError),
    #[error("cannot write the report: {0}")]
    Output(#[from] std::io::Error),
    #[error("cannot write the report to {}: {source}", .path.display())]
    OutputFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the fixes to {}: {source}", .path.display())]
    FixFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Test(#[from] crate::policy_test::TestError),
    #[cfg(feature = "deploy")]
    #[error(transparent)]
    Temporal(#[from] crate::apply::temporal::TemporalError),
    #[cfg(feature = "deploy")]
    #[error(transparent)]
    Deploy(crate::apply::DeployError),
    #[cfg(feature = "deploy")]
    #[error(transparent)]
    Trust(crate::apply::trust::TrustError),
    /// A deploy command run by a build without the `deploy` feature.
    #[error(
        "`planguard {0}` is not in this build: it was built without the `deploy` feature (check only)"
    )]
    NoDeploy(&'static str),
    #[error(transparent)]
    Init(#[from] crate::init::InitError),
    #[error(transparent)]
    Baseline(#[from] crate::check::baseline::BaselineError),
    #[error("{0}")]
    Usage(String),
    #[error(
        "nothing to check: no config or plan under {} matches {}",
        quoted(paths),
        quoted(patterns)
    )]
    NothingToCheck {
        paths: Vec<String>,
        patterns: Vec<String>,
    },
}

#[cfg(feature = "deploy")]
/// A deploy command's failure; invalid settings (the change's or the
/// trusted ones) are shown as settings errors are everywhere, and policies
/// that do not compile as in check.
impl From<crate::apply::DeployError> for CliError {
    fn from(error: crate::apply::DeployError) -> Self {
        use crate::apply::DeployError;
        use crate::apply::trust::TrustError;
        match error {
            DeployError::Settings(e) | DeployError::Trust(TrustError::Settings(e)) => {
                CliError::Settings(e)
            }
            DeployError::Trust(e) => CliError::Trust(e),
            DeployError::Policy(e) => CliError::Policy(e),
            DeployError::Temporal(e) => CliError::Temporal(e),
            e => CliError::Deploy(e),
        }
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
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

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Check(_) => "check",
            Command::Rules => "rules",
            Command::Explain { .. } => "explain",
            Command::Test(_) => "test",
            Command::Apply(_) => "apply",
            Command::Drift(_) => "drift",
            Command::Rollback(_) => "rollback",
            Command::Trigger(_) => "trigger",
            Command::Status(_) => "status",
            Command::Lsp => "lsp",
            Command::Init { .. } => "init",
            Command::Schema { .. } => "schema",
            Command::Completions { .. } => "completions",
            Command::Man { .. } => "man",
        }
    }
}

pub fn run(cli: Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<ExitCode, CliError> {
    let color = use_color(cli.color, std::io::stdout().is_terminal());
    let name = cli.command.name();
    let log = &mut Log::new(cli.log_format, name, stderr);
    match cli.command {
        Command::Check(args) => check(args, color, stdout, log),
        #[cfg(feature = "deploy")]
        Command::Apply(args) => deploy::apply(args, color, stdout, log),
        #[cfg(feature = "deploy")]
        Command::Drift(args) => deploy::drift(args, color, stdout, log),
        #[cfg(feature = "deploy")]
        Command::Rollback(args) => deploy::rollback(args, color, stdout, log),
        #[cfg(feature = "deploy")]
        Command::Trigger(args) => deploy::trigger(args, color, stdout, log),
        #[cfg(feature = "deploy")]
        Command::Status(args) => status::status(args, color, stdout, log),
        #[cfg(not(feature = "deploy"))]
        Command::Apply(_)
        | Command::Drift(_)
        | Command::Rollback(_)
        | Command::Trigger(_)
        | Command::Status(_) => Err(CliError::NoDeploy(name)),
        Command::Lsp => Ok(ExitCode::from(crate::lsp::run(std::io::stdin(), stdout)?)),
        Command::Test(args) => Ok(ExitCode::from(crate::policy_test::main(
            &args,
            stdout,
            &crate::check::functions::register_all,
        )?)),
        Command::Explain { rule } => match rules::lookup(&rule) {
            Some(rule) => {
                stdout.write_all(rule.doc.as_bytes())?;
                Ok(ExitCode::from(EXIT_CLEAN))
            }
            None => Err(CliError::Usage(format!(
                "no rule `{rule}`; `planguard rules` lists them"
            ))),
        },
        Command::Init { dir, force } => {
            crate::init::init(&dir, force, stdout)?;
            Ok(ExitCode::from(EXIT_CLEAN))
        }
        Command::Schema { kind } => {
            stdout.write_all(schema_text(kind).as_bytes())?;
            Ok(ExitCode::from(EXIT_CLEAN))
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "planguard", stdout);
            Ok(ExitCode::from(EXIT_CLEAN))
        }
        Command::Man { dir } => {
            let command = <Cli as clap::CommandFactory>::command();
            match dir {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)?;
                    clap_mangen::generate_to(command, &dir)?;
                }
                None => clap_mangen::Man::new(command).render(stdout)?,
            }
            Ok(ExitCode::from(EXIT_CLEAN))
        }
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

fn schema_text(kind: SchemaKind) -> &'static str {
    match kind {
        SchemaKind::Config => crate::check::schema::CONFIG_SCHEMA,
        SchemaKind::Plan => crate::check::schema::PLAN_SCHEMA,
        SchemaKind::Report => include_str!("../../schemas/report.schema.json"),
    }
}

fn settings_for(args: &CheckArgs, paths: &[PathBuf]) -> Result<Settings, CliError> {
    let mut settings = args
        .settings
        .source()
        .load_unchecked(paths)
        .map_err(CliError::Settings)?;
    settings.force_exclude = !args.no_force_exclude;
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
    settings.check_foreign_rules().map_err(CliError::Settings)?;
    settings.selection = crate::select::Selection {
        select: (!args.select.is_empty()).then(|| crate::select::parse(&args.select)),
        extend_select: crate::select::parse(&args.extend_select),
        ignore: crate::select::parse(&args.ignore),
        warn: crate::select::parse(&args.warn),
    };
    // A selector no built-in rule answers to is a typo, unless user
    // policies may report such ids.
    let unknown = settings.selection.unknown();
    if !unknown.is_empty() && settings.policy.paths.is_empty() {
        return Err(CliError::Usage(unknown.join("\n")));
    }
    Ok(settings)
}

fn check(
    args: CheckArgs,
    color: bool,
    stdout: &mut dyn Write,
    log: &mut Log,
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
    log.info(
        "started",
        "checking",
        &Fields::default().with("paths", paths.len()),
    )?;
    if args.verbose {
        let text = match &settings.file {
            Some(file) => format!("settings: {}", file.display()),
            None => "settings: built-in defaults (no planguard.toml)".to_string(),
        };
        log.note(Level::Debug, "settings", &text)?;
    }
    let discovery = discover::discover(&paths, &settings)?;
    if discovery.files.is_empty() && discovery.excluded.is_empty() && !args.allow_empty {
        return Err(CliError::NothingToCheck {
            paths: paths.iter().map(|p| p.display().to_string()).collect(),
            patterns: settings
                .configs
                .iter()
                .chain(&settings.plans)
                .map(|p| p.source.clone())
                .collect(),
        });
    }
    for path in discovery.excluded.iter().filter(|_| args.verbose) {
        log.note(
            Level::Debug,
            "excluded",
            &format!(
                "skipped {}: excluded in planguard.toml (--no-force-exclude checks it)",
                path.display()
            ),
        )?;
    }
    if args.verbose {
        for (path, reason) in &discovery.skipped {
            log.note(
                Level::Debug,
                "skipped",
                &format!("skipped {}: {reason}", path.display()),
            )?;
        }
    }
    // Files named one by one (a pre-commit hook's staged files, an editor's
    // buffer) are checked with the rest of their workspace as context, so
    // cross-file rules see what they compare against; findings are kept only
    // for the named files (and the policies). Secrets found in the context
    // are still masked wherever a kept finding shows their text. A shard
    // (`--shard i/n`) is the same: the other shards' files are context.
    let (files, mut context) = match args.shard {
        Some(Shard { index, count }) => {
            discover::split_shard(discovery.files.clone(), index, count)
        }
        None => (discovery.files.clone(), Vec::new()),
    };
    context.extend(discover::context(&discovery, &settings));
    if args.verbose && !context.is_empty() {
        log.note(
            Level::Debug,
            "context",
            &format!(
                "context: {} checked for the cross-file rules, not reported on",
                plural(context.len(), "other file")
            ),
        )?;
    }
    let baseline = match (&args.write_baseline, &args.baseline, &settings.baseline) {
        (Some(_), ..) => None,
        (None, Some(path), _) | (None, None, Some(path)) => {
            Some(crate::check::baseline::Baseline::read(path)?)
        }
        (None, None, None) => None,
    };
    let checker = Checker::new(settings)?
        .with_plan_rule(crate::deployable::plan_refusals)
        .with_baseline(baseline);
    // Beside planguard.toml, else in the working folder.
    let cache = (!args.no_cache).then(|| {
        let root = checker
            .settings
            .file
            .as_ref()
            .and_then(|f| f.parent())
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        crate::check::Cache::new(&root, checker.cache_key())
    });
    let work = crate::check::Workset::on_disk(&files, &context);
    let budget = if args.profile {
        crate::check::Budget::profiling()
    } else {
        crate::check::Budget::default()
    };
    let run = |cache: Option<&crate::check::Cache>| {
        let outcome = checker.run(&work, cache, &budget);
        let mut diagnostics = outcome.diagnostics;
        diagnostics.extend(discovery.unlisted.iter().map(|(folder, reason)| {
            crate::diagnostic::Diagnostic::builtin(
                &rules::UNREADABLE_FILE,
                format!(
                    "cannot list the folder {}: {reason}; the configs and plans in it were not checked",
                    crate::source::display_path(folder)
                ),
            )
        }));
        (diagnostics, outcome.baseline)
    };
    let report_of = |(diagnostics, baseline)| {
        let mut report = Report::new(diagnostics, files.len(), started.elapsed());
        report.baseline = baseline;
        report
    };
    let (diagnostics, baseline) = run(cache.as_ref());
    if let Some(path) = &args.write_baseline {
        let count = crate::check::baseline::write(path, &diagnostics)?;
        writeln!(
            stdout,
            "Wrote {} to the baseline {}: checks with --baseline (or [check] baseline) report only new ones.",
            plural(count, "finding"),
            path.display()
        )?;
        return Ok(ExitCode::from(EXIT_CLEAN));
    }
    let mut report = report_of((diagnostics, baseline));
    if args.diff {
        return show_fixes(&report, args.unsafe_fixes, stdout, log);
    }
    if args.fix {
        report = apply_fixes(report, args.unsafe_fixes, || report_of(run(None)), log)?;
    }
    report.profile = budget.profile().map(|p| p.rows()).unwrap_or_default();
    let render = |format: Format, color: bool| {
        let mut bytes = report::render(&report, format, color);
        if !report.profile.is_empty() && matches!(format, Format::Human | Format::Concise) {
            bytes.extend_from_slice(b"\n");
            bytes.extend_from_slice(crate::check::profile::table(&report.profile).as_bytes());
        }
        bytes
    };
    if !report.profile.is_empty()
        && !matches!(args.format, Format::Human | Format::Concise | Format::Json)
    {
        log.note(
            Level::Info,
            "profile",
            &crate::check::profile::table(&report.profile),
        )?;
    }
    match &args.output {
        None => stdout.write_all(&render(args.format, color))?,
        Some(file) => {
            // Colour codes belong to terminals, never to files.
            let bytes = render(args.format, false);
            write_atomically(file, &bytes).map_err(|source| CliError::OutputFile {
                path: file.clone(),
                source,
            })?;
            writeln!(stdout, "{}", report.summary())?;
        }
    }
    for to in &args.reports {
        write_atomically(&to.file, &render(to.format, false)).map_err(|source| {
            CliError::OutputFile {
                path: to.file.clone(),
                source,
            }
        })?;
    }
    if discovery.files.is_empty() && args.verbose {
        log.note(
            Level::Warn,
            "nothing-found",
            &format!(
                "no configs or plans found under {}",
                plural(paths.len(), "path")
            ),
        )?;
    }
    log.info(
        "finished",
        &report.summary(),
        &Fields::default()
            .with("files", report.files_checked)
            .with("errors", report.count(crate::diagnostic::Severity::Error))
            .with(
                "warnings",
                report.count(crate::diagnostic::Severity::Warning),
            )
            .with("infos", report.count(crate::diagnostic::Severity::Info)),
    )?;
    Ok(ExitCode::from(
        if report.has_failures(args.fail_on_warn) && !args.exit_zero {
            EXIT_FINDINGS
        } else {
            EXIT_CLEAN
        },
    ))
}

/// `check --diff`: the unified diff of every file `--fix` would change, on
/// standard output; exit 1 when there is one.
fn show_fixes(
    report: &Report,
    unsafe_fixes: bool,
    stdout: &mut dyn Write,
    log: &mut Log,
) -> Result<ExitCode, CliError> {
    let planned = crate::fix::plan(&report.diagnostics, unsafe_fixes);
    for file in &planned {
        stdout.write_all(file.diff().as_bytes())?;
    }
    let fixable: usize = planned.iter().map(|f| f.fixed).sum();
    let text = match fixable {
        0 => "No fixes available.".to_string(),
        n => format!("Would fix {}.", plural(n, "finding")),
    };
    log.note(
        Level::Info,
        "fixes",
        &(text + &unsafe_hint(report, unsafe_fixes)),
    )?;
    Ok(ExitCode::from(if fixable == 0 {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    }))
}

/// `check --fix`: apply the fixes, check again, and again while fixes
/// applied (a fix that overlapped another waits for the next round), at
/// most `fix::MAX_ROUNDS` times; the last check's report.
fn apply_fixes(
    mut report: Report,
    unsafe_fixes: bool,
    check_again: impl Fn() -> Report,
    log: &mut Log,
) -> Result<Report, CliError> {
    let mut fixed = 0;
    for _ in 0..crate::fix::MAX_ROUNDS {
        let mut applied = 0;
        for file in crate::fix::plan(&report.diagnostics, unsafe_fixes) {
            applied += file.write().map_err(|source| CliError::FixFile {
                path: file.path().to_path_buf(),
                source,
            })?;
        }
        if applied == 0 {
            break;
        }
        fixed += applied;
        // Not from the cache: a file fixed within the same clock tick as it
        // was last written may keep its size and time.
        report = check_again();
    }
    let remaining = report.diagnostics.len();
    log.note(
        Level::Info,
        "fixed",
        &format!(
            "Fixed {} ({} remaining).{}",
            plural(fixed, "finding"),
            remaining,
            unsafe_hint(&report, unsafe_fixes)
        ),
    )?;
    Ok(report)
}

/// " 2 more fixes are unsafe: --unsafe-fixes applies them." when some are.
fn unsafe_hint(report: &Report, unsafe_fixes: bool) -> String {
    if unsafe_fixes {
        return String::new();
    }
    let held: usize = report
        .diagnostics
        .iter()
        .filter(|d| crate::fix::offered(d).is_some_and(|f| !f.applies(false)))
        .count();
    match held {
        0 => String::new(),
        1 => " 1 more fix is unsafe: --unsafe-fixes applies it.".to_string(),
        n => format!(" {n} more fixes are unsafe: --unsafe-fixes applies them."),
    }
}

/// An `--output` file (check's and status's): written whole or not at all,
/// and on disk before planguard exits.
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::fsutil::write_atomically(path, bytes, crate::fsutil::Durability::Synced)
}
