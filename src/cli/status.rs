//! `planguard status`: the health of schedules at a glance, as a table, JSON
//! or Prometheus metrics; exit 1 when any is unhealthy, so it serves as a
//! synthetic check in cron or CI.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{CliError, ConnectArgs, EXIT_CLEAN, EXIT_FINDINGS, SettingsArgs};
use crate::log::{Fields, Level, Log};
use crate::status::{self, Options};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// One line per schedule, health first.
    Human,
    /// One JSON document.
    Json,
    /// Prometheus text exposition, for the node_exporter textfile collector.
    Prometheus,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Plans, or folders of them: the schedules the newest plan of each
    /// environment owns (a schedule a plan owns that is not deployed is unhealthy).
    pub paths: Vec<PathBuf>,
    /// Every schedule in this namespace (with the plans of one environment,
    /// also the namespace their schedules are looked for in, as with drift;
    /// plans of several environments are each looked for in their own).
    #[arg(long)]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
    /// Write to FILE (replaced whole, never half-written: safe for the textfile collector).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Lag beyond this is unhealthy (Go duration: 30s, 5m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::duration::parse)]
    pub max_lag: Duration,
    /// Accept a pause whose note gives a reason (`temporal schedule toggle --pause --reason …`)
    /// as an operator's decision; a pause without one stays unhealthy.
    #[arg(long)]
    pub allow_paused: bool,
    /// Show the outcomes of the last N runs of each schedule, newest first
    /// (0 to 10: the server keeps the last ten).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u8).range(0..=status::MAX_HISTORY as i64))]
    pub history: u8,
}

pub fn status(
    args: StatusArgs,
    color: bool,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<ExitCode, CliError> {
    let settings = args.settings.load(&args.paths)?;
    let requested = args.connect.requested();
    let (targets, notes) = status::targets(
        &settings,
        &args.paths,
        args.namespace.as_deref(),
        &requested,
    )?;
    for note in &notes {
        log.note(Level::Info, "namespace-variable-ignored", note)?;
    }
    let options = Options {
        max_lag: args.max_lag,
        allow_paused: args.allow_paused,
        history: usize::from(args.history),
    };
    let report = status::gather(
        &settings,
        &requested,
        &targets,
        &options,
        chrono::Utc::now(),
    )?;
    for s in &report.schedules {
        let fields = Fields {
            environment: s.environment.clone(),
            namespace: Some(s.namespace.clone()),
            schedule_id: Some(s.schedule_id.clone()),
            workflow_id: s.last_run.as_ref().map(|r| r.workflow_id.clone()),
            build: s.build.clone(),
            plan_sha256: s.plan_sha256.clone(),
            plan: s.plan.clone(),
            outcome: Some(if s.healthy() { "healthy" } else { "unhealthy" }.to_string()),
            extra: vec![
                ("paused", s.paused.into()),
                ("lag_seconds", s.lag.as_secs_f64().into()),
                (
                    "pollers",
                    match &s.workers {
                        Some(status::Workers::Polled { pollers, .. }) => (*pollers).into(),
                        _ => serde_json::Value::Null,
                    },
                ),
                (
                    "problems",
                    s.problems
                        .iter()
                        .map(|p| p.kind())
                        .collect::<Vec<_>>()
                        .into(),
                ),
            ],
        };
        let (level, message) = if s.healthy() {
            (Level::Info, "healthy".to_string())
        } else {
            (
                Level::Warn,
                s.problems
                    .iter()
                    .map(|p| p.message())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        };
        log.event(level, "schedule", &message, &fields)?;
    }
    let unhealthy = report.unhealthy();
    log.info(
        "finished",
        &format!(
            "{}: {} unhealthy",
            crate::diagnostic::plural(report.schedules.len(), "schedule"),
            unhealthy
        ),
        &Fields::default()
            .with("schedules", report.schedules.len())
            .with("unhealthy", unhealthy),
    )?;
    let bytes = match args.format {
        StatusFormat::Human => status::human::render(&report, color && args.output.is_none()),
        StatusFormat::Json => status::json::render(&report),
        StatusFormat::Prometheus => status::prometheus::render(&report),
    };
    match &args.output {
        None => out.write_all(&bytes)?,
        Some(file) => {
            super::write_atomically(file, &bytes).map_err(|source| CliError::OutputFile {
                path: file.clone(),
                source,
            })?;
        }
    }
    Ok(ExitCode::from(if unhealthy > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }))
}
