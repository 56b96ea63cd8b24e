//! The commands that talk to Temporal: apply, drift, rollback, trigger.
//! Each goes through the gate, reports in one line what happened, and
//! leaves an audit record.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::{
    ApplyArgs, CliError, ConnectArgs, DriftArgs, EXIT_CLEAN, EXIT_FINDINGS, Preview, RollbackArgs,
    TriggerArgs, load_settings,
};
use crate::apply::audit::{self, Record};
use crate::apply::gate::{self, Cleared, Overrides, Refused};
use crate::apply::{self, Applied, ApplyError, model};
use crate::check::Checker;
use crate::diagnostic::{Diagnostic, Report};
use crate::log::{Fields, Level, Log};
use crate::report::{self, Format};

/// How a deploy command speaks: colours for a terminal, or Markdown for a
/// pull request preview.
#[derive(Debug, Clone, Copy)]
struct Style {
    color: bool,
    markdown: bool,
}

impl Style {
    /// The terminal's way, for commands that have no Markdown form.
    fn plain(color: bool) -> Self {
        Self {
            color,
            markdown: false,
        }
    }

    fn format(self) -> Format {
        if self.markdown {
            Format::Markdown
        } else {
            Format::Human
        }
    }
}

/// What a log event says of a cleared plan: names, ids, hashes, never values.
fn cleared_fields(cleared: &Cleared) -> Fields {
    let record = cleared_record("", "", cleared, String::new());
    Fields {
        environment: record.environment,
        namespace: record.namespace,
        schedule_id: record.schedule_id,
        build: record.build,
        plan_sha256: record.plan_sha256,
        plan: Some(record.plan),
        ..Fields::default()
    }
}

/// A finding as a log event: its rule and place, not its message (which
/// may quote the document).
fn log_finding(log: &mut Log, event: &str, d: &Diagnostic) -> std::io::Result<()> {
    let summary = crate::rules::lookup(&d.rule).map_or(d.rule.as_str(), |r| r.summary);
    let mut fields = Fields::default()
        .with("rule", d.rule.as_str())
        .with("severity", d.severity.as_str());
    if let Some(location) = &d.location {
        fields.plan = Some(location.file.display_path());
        if let Some(pointer) = &location.pointer {
            fields = fields.with("pointer", pointer.as_str());
        }
    }
    let level = match d.severity {
        crate::diagnostic::Severity::Error => Level::Error,
        crate::diagnostic::Severity::Warning => Level::Warn,
        crate::diagnostic::Severity::Info => Level::Info,
    };
    log.event(level, event, summary, &fields)
}

fn record(action: &str, outcome: &str, plan: &Path, message: String) -> Record {
    Record {
        time: audit::now(),
        actor: audit::actor(),
        action: action.to_string(),
        outcome: outcome.to_string(),
        environment: None,
        namespace: None,
        schedule_id: None,
        plan: crate::source::display_path(plan),
        plan_sha256: None,
        previous_plan_sha256: None,
        build: None,
        git_sha: None,
        approved_by: None,
        message,
    }
}

fn cleared_record(action: &str, outcome: &str, cleared: &Cleared, message: String) -> Record {
    let text = |pointer: &str| {
        cleared
            .plan
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    Record {
        environment: Some(cleared.environment.name.clone()),
        namespace: Some(cleared.desired.namespace.clone()),
        schedule_id: Some(cleared.desired.schedule_id.clone()),
        plan_sha256: Some(cleared.plan_sha256.clone()),
        build: text("/build"),
        git_sha: text("/git_sha"),
        approved_by: cleared.approved_by.clone(),
        ..record(action, outcome, &cleared.plan_path, message)
    }
}

fn write_audit(connect: &ConnectArgs, record: &Record) -> Result<(), CliError> {
    audit::append(&connect.audit_log, record).map_err(|e| {
        CliError::Usage(format!(
            "cannot append to the audit log {}: {e}",
            connect.audit_log.display()
        ))
    })
}

/// Run the gate; on refusal print why, audit it, and give the exit code.
// The run's handles (colour, output, log) travel beside the work's own arguments.
#[allow(clippy::too_many_arguments)]
fn pass_gate(
    action: &str,
    plan: &Path,
    connect: &ConnectArgs,
    overrides: &Overrides,
    approved_by: Option<String>,
    style: Style,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<Result<Cleared, ExitCode>, CliError> {
    let started = Instant::now();
    let settings = load_settings(
        connect.config.as_ref(),
        connect.isolated,
        &[plan.to_path_buf()],
    )?;
    let checker = Checker::new(settings)?;
    let refusal = match gate::gate(&checker, plan, overrides, approved_by) {
        Ok(cleared) => {
            for warning in &cleared.warnings {
                log_finding(log, "finding", warning)?;
            }
            log.info(
                "cleared",
                "the check passed; the plan may be sent",
                &cleared_fields(&cleared),
            )?;
            if !cleared.warnings.is_empty() {
                let report = Report::new(cleared.warnings.clone(), 1, started.elapsed());
                out.write_all(&report::render(&report, style.format(), style.color))?;
            }
            return Ok(Ok(cleared));
        }
        Err(refusal) => refusal,
    };
    let message = match refusal {
        Refused::Findings(diagnostics) => {
            for d in &diagnostics {
                log_finding(log, "finding", d)?;
            }
            let count = diagnostics.len();
            let report = Report::new(diagnostics, 1, started.elapsed());
            out.write_all(&report::render(&report, style.format(), style.color))?;
            format!(
                "refused: the check found {} in what would be sent; nothing was sent",
                crate::diagnostic::plural(count, "error")
            )
        }
        Refused::Unapproved { environment } => format!(
            "refused: {environment} requires an approver (--approved-by or PLANGUARD_APPROVED_BY); nothing was sent"
        ),
        Refused::NotAPlan(reason) => return Err(CliError::Usage(reason)),
    };
    if style.markdown {
        writeln!(out, "\n❌ **planguard {action}: {message}**")?;
    } else {
        writeln!(out, "planguard {action}: {message}")?;
    }
    log.event(
        Level::Warn,
        "refused",
        &message,
        &Fields {
            plan: Some(crate::source::display_path(plan)),
            outcome: Some("refused".to_string()),
            ..Fields::default()
        },
    )?;
    write_audit(connect, &record(action, "refused", plan, message))?;
    Ok(Err(ExitCode::from(EXIT_FINDINGS)))
}

fn describe_changes(differences: &[model::Difference]) -> String {
    differences
        .iter()
        .map(|d| {
            if d.field == "memo" {
                // The memo is long; say only that it changed.
                return "memo".to_string();
            }
            format!(
                "{} {} → {}",
                d.field.replace('_', " "),
                model::shown(d.field, &d.deployed),
                model::shown(d.field, &d.planned)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[allow(clippy::too_many_arguments)]
fn run_apply(
    action: &str,
    cleared: &Cleared,
    connect: &ConnectArgs,
    dry_run: bool,
    unpause: bool,
    style: Style,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<ExitCode, CliError> {
    let id = &cleared.desired.schedule_id;
    let ns = &cleared.desired.namespace;
    match apply::apply(cleared, &connect.endpoint(), dry_run, unpause) {
        Ok((applied, before)) => {
            let message = match &applied {
                Applied::Created => format!("created schedule `{id}` in {ns}; verified"),
                Applied::Updated(changes) => {
                    format!(
                        "updated schedule `{id}` in {ns}: {}; verified",
                        describe_changes(changes)
                    )
                }
                Applied::UpToDate => format!("schedule `{id}` in {ns} is up to date"),
                Applied::WouldCreate => format!("would create schedule `{id}` in {ns}"),
                Applied::WouldUpdate(changes) => {
                    format!(
                        "would update schedule `{id}` in {ns}: {}",
                        describe_changes(changes)
                    )
                }
            };
            if style.markdown {
                out.write_all(preview(action, cleared, &applied, dry_run).as_bytes())?;
            } else {
                writeln!(out, "planguard {action}: {message}")?;
            }
            let changed: Vec<&str> = match &applied {
                Applied::Updated(changes) | Applied::WouldUpdate(changes) => {
                    changes.iter().map(|d| d.field).collect()
                }
                _ => Vec::new(),
            };
            let said = match &applied {
                Applied::Created => format!("created schedule `{id}` in {ns}; verified"),
                Applied::Updated(_) => format!("updated schedule `{id}` in {ns}; verified"),
                Applied::UpToDate => format!("schedule `{id}` in {ns} is up to date"),
                Applied::WouldCreate => format!("would create schedule `{id}` in {ns}"),
                Applied::WouldUpdate(_) => format!("would update schedule `{id}` in {ns}"),
            };
            log.info(
                "applied",
                &said,
                &Fields {
                    outcome: Some(applied.outcome().to_string()),
                    ..cleared_fields(cleared)
                }
                .with("changed", changed),
            )?;
            if !dry_run {
                let mut entry = cleared_record(action, applied.outcome(), cleared, message);
                entry.previous_plan_sha256 = before.as_ref().and_then(apply::deployed_plan_sha256);
                write_audit(connect, &entry)?;
            }
            Ok(ExitCode::from(EXIT_CLEAN))
        }
        Err(ApplyError::Conflict(left)) => {
            let fields: Vec<&str> = left.iter().map(|d| d.field).collect();
            log.event(
                Level::Error,
                "conflict",
                "the schedule was changed concurrently; this apply was not applied",
                &Fields {
                    outcome: Some("failed".to_string()),
                    ..cleared_fields(cleared)
                }
                .with("changed", fields),
            )?;
            let message = ApplyError::Conflict(left).to_string();
            writeln!(out, "planguard {action}: {message}")?;
            write_audit(connect, &cleared_record(action, "failed", cleared, message))?;
            Ok(ExitCode::from(EXIT_FINDINGS))
        }
        Err(ApplyError::Temporal(error)) => {
            log.event(
                Level::Error,
                "failed",
                "the Temporal call failed (the fatal event says why)",
                &Fields {
                    outcome: Some("failed".to_string()),
                    ..cleared_fields(cleared)
                },
            )?;
            write_audit(
                connect,
                &cleared_record(action, "failed", cleared, error.to_string()),
            )?;
            // A schedule the server rejects is shown at the plan field the
            // server names, as any finding is.
            if let crate::apply::temporal::TemporalError::Rejected(message) = &error
                && let Some(diagnostic) = rejection(cleared, message)
            {
                let report = Report::new(vec![diagnostic], 1, std::time::Duration::ZERO);
                out.write_all(&report::render(&report, style.format(), style.color))?;
            }
            Err(error.into())
        }
    }
}

/// What an apply did or would do, as Markdown for a pull request: the
/// schedule, the plan, and field by field what changes.
fn preview(action: &str, cleared: &Cleared, applied: &Applied, dry_run: bool) -> String {
    let id = &cleared.desired.schedule_id;
    let ns = &cleared.desired.namespace;
    let env = &cleared.environment.name;
    let build = cleared
        .plan
        .get("build")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("?");
    let flag = if dry_run { " --dry-run" } else { "" };
    let mut text = format!(
        "### planguard {action}{flag}: {env}\n\nSchedule `{id}` in `{ns}`, from `{}` (build {build}, sha256 `{}`).\n\n",
        crate::source::display_path(&cleared.plan_path),
        &cleared
            .plan_sha256
            .get(..12)
            .unwrap_or(&cleared.plan_sha256),
    );
    let table = |text: &mut String, rows: Vec<(String, String, String)>, deployed: bool| {
        if deployed {
            text.push_str("| Field | Deployed | Plan |\n|---|---|---|\n");
        } else {
            text.push_str("| Field | Plan |\n|---|---|\n");
        }
        for (field, before, after) in rows {
            if deployed {
                text.push_str(&format!(
                    "| {field} | {} | {} |\n",
                    report::markdown::cell(&before),
                    report::markdown::cell(&after)
                ));
            } else {
                text.push_str(&format!(
                    "| {field} | {} |\n",
                    report::markdown::cell(&after)
                ));
            }
        }
    };
    match applied {
        Applied::UpToDate => text.push_str("✅ **Up to date**: nothing would change.\n"),
        Applied::WouldCreate | Applied::Created => {
            text.push_str(if dry_run {
                "🆕 **Would create** the schedule:\n\n"
            } else {
                "🆕 **Created** the schedule (verified):\n\n"
            });
            // The plan's own cron strings read better than the calendar
            // ranges the server stores them as.
            let cron = cleared
                .plan
                .pointer("/schedule/cron")
                .and_then(serde_json::Value::as_array)
                .map(|c| {
                    c.iter()
                        .filter_map(serde_json::Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                });
            let rows = model::normalize(&cleared.desired.schedule)
                .into_iter()
                .filter(|(field, value)| {
                    let empty = value.as_array().is_some_and(Vec::is_empty);
                    !(matches!(*field, "memo" | "input") || (*field == "intervals" && empty))
                })
                .map(|(field, value)| {
                    let shown = match (field, &cron) {
                        ("calendars", Some(cron)) => {
                            return ("cron".to_string(), String::new(), cron.clone());
                        }
                        ("overlap", _) => model::shown(field, &value)
                            .trim_start_matches("SCHEDULE_OVERLAP_POLICY_")
                            .to_lowercase(),
                        _ => model::shown(field, &value),
                    };
                    (field.replace('_', " "), String::new(), shown)
                })
                .collect();
            table(&mut text, rows, false);
        }
        Applied::WouldUpdate(changes) | Applied::Updated(changes) => {
            text.push_str(&format!(
                "✏️ **{}** {}:\n\n",
                if dry_run { "Would update" } else { "Updated" },
                crate::diagnostic::plural(changes.len(), "field")
            ));
            let rows = changes
                .iter()
                .map(|d| {
                    if d.field == "memo" {
                        return ("memo".to_string(), "…".to_string(), "changed".to_string());
                    }
                    (
                        d.field.replace('_', " "),
                        model::shown(d.field, &d.deployed),
                        model::shown(d.field, &d.planned),
                    )
                })
                .collect();
            table(&mut text, rows, true);
        }
    }
    text
}

/// The plan field a server rejection is about, by what the message names.
fn rejection(cleared: &Cleared, message: &str) -> Option<crate::diagnostic::Diagnostic> {
    let lower = message.to_lowercase();
    let pointer = [
        (
            &["minute", "hour", "day", "month", "cron", "calendar"][..],
            "/schedule/cron",
        ),
        (&["time zone", "timezone"], "/schedule/timezone"),
        (&["jitter"], "/schedule/jitter"),
        (&["interval"], "/schedule/intervals"),
        (&["catchup", "catch-up"], "/policies/catchup_window"),
        (&["overlap"], "/policies/overlap"),
        (&["task queue", "taskqueue"], "/task_queue"),
        (&["workflow type"], "/workflow_type"),
        (&["timeout"], "/timeouts"),
        (&["retry"], "/retry_policy"),
    ]
    .iter()
    .find(|(words, _)| words.iter().any(|w| lower.contains(w)))
    .map(|(_, pointer)| *pointer)?;
    let text = std::fs::read_to_string(&cleared.plan_path).ok()?;
    let file = crate::source::SourceFile::new(&cleared.plan_path, text);
    let target = crate::load::locate(&file, pointer);
    Some(
        crate::diagnostic::Diagnostic::builtin(
            &crate::rules::SCHEDULE_REJECTED,
            format!("the Temporal server rejected the schedule: {message}"),
        )
        .at(&file, target.span, Some(target.pointer)),
    )
}

pub fn apply(
    args: ApplyArgs,
    color: bool,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<ExitCode, CliError> {
    let overrides = Overrides {
        namespace: args.namespace.clone(),
        task_queue: args.task_queue.clone(),
    };
    let cleared = match pass_gate(
        "apply",
        &args.plan,
        &args.connect,
        &overrides,
        args.approved_by.clone(),
        Style {
            color,
            markdown: args.format == Preview::Markdown,
        },
        out,
        log,
    )? {
        Ok(cleared) => cleared,
        Err(code) => return Ok(code),
    };
    run_apply(
        "apply",
        &cleared,
        &args.connect,
        args.dry_run,
        args.unpause,
        Style {
            color,
            markdown: args.format == Preview::Markdown,
        },
        out,
        log,
    )
}

pub fn drift(
    args: DriftArgs,
    color: bool,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let settings = load_settings(args.connect.config.as_ref(), args.connect.isolated, &paths)?;
    let checker = Checker::new(settings)?;
    let (diagnostics, checked) = apply::drift(
        &checker,
        &paths,
        &args.connect.endpoint(),
        args.namespace.as_deref(),
    )?;
    let report = Report::new(diagnostics, checked, started.elapsed());
    let format = args.format;
    for d in &report.diagnostics {
        log_finding(log, "drift", d)?;
    }
    log.info(
        "finished",
        &format!(
            "compared {}: {}",
            crate::diagnostic::plural(checked, "plan"),
            crate::diagnostic::plural(report.diagnostics.len(), "finding")
        ),
        &Fields {
            namespace: args.namespace.clone(),
            ..Fields::default()
        }
        .with("plans", checked)
        .with("findings", report.diagnostics.len()),
    )?;
    out.write_all(&report::render(&report, format, color))?;
    Ok(ExitCode::from(if report.has_failures(false) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }))
}

pub fn rollback(
    args: RollbackArgs,
    color: bool,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<ExitCode, CliError> {
    // Invalid settings end the run before the server is asked anything; the
    // gate loads them again for the plan it checks.
    load_settings(
        args.connect.config.as_ref(),
        args.connect.isolated,
        std::slice::from_ref(&args.workspace),
    )?;
    let folder = args
        .workspace
        .join("orchestration_plans")
        .join(&args.environment);
    let mut builds: Vec<(u64, PathBuf)> = std::fs::read_dir(&folder)
        .map_err(|e| {
            CliError::Usage(format!(
                "cannot read the plan store {}: {e}",
                folder.display()
            ))
        })?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let build = path.file_stem()?.to_str()?.parse::<u64>().ok()?;
            (path.extension()? == "json").then_some((build, path))
        })
        .collect();
    builds.sort();
    let target = match &args.to {
        Some(to) => builds
            .iter()
            .find(|(b, _)| b.to_string() == *to)
            .map(|(_, p)| p.clone())
            .ok_or_else(|| {
                CliError::Usage(format!("no plan for build {to} in {}", folder.display()))
            })?,
        None => {
            // The build before the deployed one; the deployed build is what the
            // schedule's workflows record, or else the newest plan.
            let newest = builds.last().map(|(b, _)| *b).unwrap_or(0);
            let deployed = deployed_build(&builds, &args.connect).unwrap_or(newest);
            builds
                .iter()
                .rev()
                .find(|(b, _)| *b < deployed)
                .map(|(_, p)| p.clone())
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "no build before {deployed} in {}",
                        folder.display()
                    ))
                })?
        }
    };
    writeln!(
        out,
        "planguard rollback: to {}",
        crate::source::display_path(&target)
    )?;
    log.info(
        "target",
        "rolling back to an earlier plan",
        &Fields {
            environment: Some(args.environment.clone()),
            plan: Some(crate::source::display_path(&target)),
            ..Fields::default()
        },
    )?;
    let cleared = match pass_gate(
        "rollback",
        &target,
        &args.connect,
        &Overrides::default(),
        args.approved_by.clone(),
        Style::plain(color),
        out,
        log,
    )? {
        Ok(cleared) => cleared,
        Err(code) => return Ok(code),
    };
    run_apply(
        "rollback",
        &cleared,
        &args.connect,
        args.dry_run,
        false,
        Style::plain(color),
        out,
        log,
    )
}

/// The build the deployed schedule of an environment records, if it can be told.
fn deployed_build(builds: &[(u64, PathBuf)], connect: &ConnectArgs) -> Option<u64> {
    let (_, newest) = builds.last()?;
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(newest).ok()?).ok()?;
    let namespace = value.get("namespace")?.as_str()?;
    let id = value.get("schedule_id")?.as_str()?;
    let mut client =
        crate::apply::temporal::Client::connect(&connect.endpoint(), namespace).ok()?;
    let deployed = client.describe(id).ok()??;
    apply::deployed_build(&deployed)?.parse().ok()
}

pub fn trigger(
    args: TriggerArgs,
    color: bool,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<ExitCode, CliError> {
    let cleared = match pass_gate(
        "trigger",
        &args.plan,
        &args.connect,
        &Overrides::default(),
        args.approved_by.clone(),
        Style::plain(color),
        out,
        log,
    )? {
        Ok(cleared) => cleared,
        Err(code) => return Ok(code),
    };
    match apply::trigger(&cleared, &args.connect.endpoint()) {
        Ok((workflow_id, run_id)) => {
            let message = format!(
                "started workflow `{workflow_id}` (run {run_id}) in {}",
                cleared.desired.namespace
            );
            writeln!(out, "planguard trigger: {message}")?;
            log.info(
                "started",
                "started one run of the plan's workflow",
                &Fields {
                    workflow_id: Some(workflow_id.clone()),
                    outcome: Some("started".to_string()),
                    ..cleared_fields(&cleared)
                }
                .with("run_id", run_id.as_str()),
            )?;
            write_audit(
                &args.connect,
                &cleared_record("trigger", "started", &cleared, message),
            )?;
            Ok(ExitCode::from(EXIT_CLEAN))
        }
        Err(error) => {
            log.event(
                Level::Error,
                "failed",
                "the Temporal call failed (the fatal event says why)",
                &Fields {
                    outcome: Some("failed".to_string()),
                    ..cleared_fields(&cleared)
                },
            )?;
            write_audit(
                &args.connect,
                &cleared_record("trigger", "failed", &cleared, error.to_string()),
            )?;
            Err(error.into())
        }
    }
}
