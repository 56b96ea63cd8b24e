//! The commands that talk to Temporal: apply, drift, rollback, trigger.
//! Each goes through the gate, reports in one line what happened, and
//! leaves an audit record.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::{
    ApplyArgs, CliError, ConnectArgs, DriftArgs, EXIT_CLEAN, EXIT_FINDINGS, Preview, RollbackArgs,
    TriggerArgs, TrustArgs, load_settings,
};
use crate::apply::audit::{self, Record};
use crate::apply::gate::{self, Approval, Cleared, Overrides, Refused};
use crate::apply::{self, Applied, ApplyError, connect, model, rollback, trust};
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
    let summary = d.rule.builtin().map_or(d.rule.as_str(), |r| r.summary);
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
        gate_settings: None,
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

/// The audit record of a cleared plan, with where the gate's settings came from.
fn gated_record(action: &str, outcome: &str, gated: &Gated, message: String) -> Record {
    Record {
        gate_settings: Some(gated.source.clone()),
        ..cleared_record(action, outcome, &gated.cleared, message)
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

/// A plan the gate cleared, the checker that cleared it (its settings say
/// how findings are reported), and where those settings came from.
struct Gated {
    cleared: Cleared,
    checker: Checker,
    source: String,
}

/// What a deploy command asks of the gate besides the plan.
struct GateArgs<'a> {
    connect: &'a ConnectArgs,
    trust: &'a TrustArgs,
    overrides: Overrides,
    approved_by: Option<String>,
}

/// Run the gate; on refusal print why, audit it, and give the exit code.
fn pass_gate(
    action: &str,
    plan: &Path,
    args: GateArgs,
    style: Style,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<Result<Gated, ExitCode>, CliError> {
    let started = Instant::now();
    let connect = args.connect;
    let working = load_settings(
        connect.config.as_ref(),
        connect.isolated,
        &[plan.to_path_buf()],
    )?;
    let trusted = match args.trust.source() {
        Some(source) => Some(trust::load(&source, &working).map_err(|e| match e {
            trust::TrustError::Settings(e) => CliError::Settings(e),
            e => CliError::Trust(e),
        })?),
        None => None,
    };
    let approval = Approval {
        approver: args.approved_by.clone(),
        actors: audit::ci_actors(),
    };
    let outcome = match trust::choose(working, trusted, connect.isolated, plan) {
        Ok(chosen) => {
            let checker =
                Checker::new(chosen.settings)?.with_plan_rule(crate::apply::gate::plan_refusals);
            gate::gate(
                &checker,
                plan,
                &args.overrides,
                &approval,
                chosen.change.as_ref(),
            )
            .map(|cleared| Gated {
                cleared,
                checker,
                source: chosen.source,
            })
        }
        Err(refusal) => Err(refusal),
    };
    let refusal = match outcome {
        Ok(gated) => {
            let cleared = &gated.cleared;
            for warning in &cleared.warnings {
                log_finding(log, "finding", warning)?;
            }
            log.info(
                "cleared",
                "the check passed; the plan may be sent",
                &cleared_fields(cleared),
            )?;
            if !cleared.warnings.is_empty() {
                let report = Report::new(cleared.warnings.clone(), 1, started.elapsed());
                out.write_all(&report::render(&report, style.format(), style.color))?;
            }
            return Ok(Ok(gated));
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
        Refused::SelfApproved {
            environment,
            approver,
        } => format!(
            "refused: {environment} requires an approver other than the one applying, and `{approver}` is the CI user of this run; nothing was sent"
        ),
        Refused::Untrusted { environment } => format!(
            "refused: {environment} requires approval, so its gate settings must come from outside the change under review (--settings-from-ref origin/main or --trusted-settings FILE); nothing was sent"
        ),
        Refused::Weakened {
            environment,
            changes,
        } => format!(
            "refused: this change weakens the gate for {environment} compared with the trusted settings: {}; nothing was sent",
            changes.join("; ")
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
    let entry = Record {
        approved_by: approval.approver(),
        ..record(action, "refused", plan, message)
    };
    write_audit(connect, &entry)?;
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
    gated: &Gated,
    connect: &ConnectArgs,
    dry_run: bool,
    unpause: bool,
    style: Style,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<ExitCode, CliError> {
    let (cleared, checker) = (&gated.cleared, &gated.checker);
    let id = &cleared.desired.schedule_id;
    let ns = &cleared.desired.namespace;
    match apply::apply(cleared, &connect.requested(), dry_run, unpause) {
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
                let mut entry = gated_record(action, applied.outcome(), gated, message);
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
            write_audit(connect, &gated_record(action, "failed", gated, message))?;
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
                &gated_record(action, "failed", gated, error.to_string()),
            )?;
            // A schedule the server rejects is shown at the plan field the
            // server names, as any finding is, at the severity planguard.toml
            // gives PG304 (the apply failed all the same).
            if let crate::apply::temporal::TemporalError::Rejected(message) = &error
                && let Some(diagnostic) = rejection(cleared, message)
            {
                let shown = checker.settle(vec![diagnostic]);
                if !shown.is_empty() {
                    let report = Report::new(shown, 1, std::time::Duration::ZERO);
                    out.write_all(&report::render(&report, style.format(), style.color))?;
                }
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
    let style = Style {
        color,
        markdown: args.format == Preview::Markdown,
    };
    let gate_args = GateArgs {
        connect: &args.connect,
        trust: &args.trust,
        overrides: Overrides {
            namespace: connect::namespace_of_one_environment(args.namespace.clone()),
            task_queue: args.task_queue.clone(),
        },
        approved_by: args.approved_by.clone(),
    };
    let gated = match pass_gate("apply", &args.plan, gate_args, style, out, log)? {
        Ok(gated) => gated,
        Err(code) => return Ok(code),
    };
    run_apply(
        "apply",
        &gated,
        &args.connect,
        args.dry_run,
        args.unpause,
        style,
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
    let checker = Checker::new(settings)?.with_plan_rule(crate::apply::gate::plan_refusals);
    let overrides = Overrides {
        namespace: args.namespace.clone(),
        task_queue: args.task_queue.clone(),
    };
    let drift = apply::drift(&checker, &paths, &args.connect.requested(), &overrides)?;
    for note in &drift.notes {
        log.note(Level::Info, "namespace-variable-ignored", note)?;
    }
    let checked = drift.checked;
    let report = Report::new(drift.diagnostics, checked, started.elapsed());
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
            namespace: drift.namespace.clone(),
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
    let settings = load_settings(
        args.connect.config.as_ref(),
        args.connect.isolated,
        std::slice::from_ref(&args.workspace),
    )?;
    let store = rollback::store(&settings, &args.workspace, &args.environment)?;
    let (history, current) = if args.to.is_some() {
        (Vec::new(), None)
    } else {
        (
            rollback::history(&args.connect.audit_log, &store)?,
            rollback::deployed(&store, &args.connect.requested(), &settings)?,
        )
    };
    let target = rollback::target(&store, &history, current.as_ref(), args.to.as_deref());
    if args.list {
        list_history(&store, &history, current.as_ref(), &target, out)?;
        return Ok(ExitCode::from(EXIT_CLEAN));
    }
    let target = target?;
    let path = target.plan.path.clone();
    writeln!(
        out,
        "planguard rollback: to {} (build {}: {})",
        crate::source::display_path(&path),
        target.plan.build.as_deref().unwrap_or("?"),
        target.reason
    )?;
    log.info(
        "target",
        "rolling back to an earlier plan",
        &Fields {
            environment: Some(args.environment.clone()),
            plan: Some(crate::source::display_path(&path)),
            build: target.plan.build.clone(),
            plan_sha256: Some(target.plan.sha256.clone()),
            ..Fields::default()
        },
    )?;
    let gate_args = GateArgs {
        connect: &args.connect,
        trust: &args.trust,
        overrides: Overrides {
            namespace: connect::namespace_of_one_environment(None),
            task_queue: None,
        },
        approved_by: args.approved_by.clone(),
    };
    let gated = match pass_gate("rollback", &path, gate_args, Style::plain(color), out, log)? {
        Ok(gated) => gated,
        Err(code) => return Ok(code),
    };
    run_apply(
        "rollback",
        &gated,
        &args.connect,
        args.dry_run,
        false,
        Style::plain(color),
        out,
        log,
    )
}

/// `rollback --list`: the environment's deployments, oldest first, the
/// deployed one marked, and where a rollback would go.
fn list_history(
    store: &rollback::Store,
    history: &[rollback::Entry],
    current: Option<&rollback::Current>,
    target: &Result<rollback::Target, apply::DeployError>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    writeln!(
        out,
        "planguard rollback: {} — schedule `{}` in {}",
        store.environment, store.schedule_id, store.namespace
    )?;
    let short =
        |sha: Option<&str>| sha.map_or("-".to_string(), |s| s.get(..12).unwrap_or(s).to_string());
    // The row that made the current deployment: the last deployment of its plan.
    let marked = current.and_then(|c| {
        history
            .iter()
            .rposition(|e| e.deployed() && e.plan_sha256.as_deref() == Some(c.sha256.as_str()))
    });
    if history.is_empty() {
        writeln!(
            out,
            "no applies or rollbacks of {} in the audit log",
            store.environment
        )?;
    } else {
        let rows: Vec<[String; 5]> = history
            .iter()
            .map(|e| {
                [
                    e.build.clone().unwrap_or_else(|| "-".to_string()),
                    short(e.plan_sha256.as_deref()),
                    e.time.clone(),
                    rollback::who(e),
                    format!("{} {}", e.action, e.outcome),
                ]
            })
            .collect();
        let header = ["BUILD", "SHA256", "WHEN", "WHO", "OUTCOME"];
        let widths: Vec<usize> = (0..5)
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: [&str; 5], note: &str| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
            format!(
                "{}{note}",
                if note.is_empty() {
                    text.trim_end()
                } else {
                    &text
                }
            )
        };
        writeln!(out, "{}", line(header, ""))?;
        for (i, row) in rows.iter().enumerate() {
            let note = if Some(i) == marked {
                "← deployed"
            } else {
                ""
            };
            let cells = [
                row[0].as_str(),
                row[1].as_str(),
                row[2].as_str(),
                row[3].as_str(),
                row[4].as_str(),
            ];
            writeln!(out, "{}", line(cells, note))?;
        }
    }
    match current {
        Some(c) => writeln!(
            out,
            "deployed: build {} (sha256 {})",
            c.build.as_deref().unwrap_or("?"),
            short(Some(&c.sha256))
        )?,
        None => writeln!(out, "deployed: nothing")?,
    }
    match target {
        Ok(t) => writeln!(
            out,
            "rollback would go to: {} (build {}, sha256 {}; {})",
            crate::source::display_path(&t.plan.path),
            t.plan.build.as_deref().unwrap_or("?"),
            short(Some(&t.plan.sha256)),
            t.reason
        )?,
        Err(e) => writeln!(out, "rollback would go nowhere: {e}")?,
    }
    Ok(())
}

pub fn trigger(
    args: TriggerArgs,
    color: bool,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<ExitCode, CliError> {
    let gate_args = GateArgs {
        connect: &args.connect,
        trust: &args.trust,
        overrides: Overrides {
            namespace: connect::namespace_of_one_environment(None),
            task_queue: None,
        },
        approved_by: args.approved_by.clone(),
    };
    let gated = match pass_gate(
        "trigger",
        &args.plan,
        gate_args,
        Style::plain(color),
        out,
        log,
    )? {
        Ok(gated) => gated,
        Err(code) => return Ok(code),
    };
    let cleared = &gated.cleared;
    match apply::trigger(cleared, &args.connect.requested()) {
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
                    ..cleared_fields(cleared)
                }
                .with("run_id", run_id.as_str()),
            )?;
            write_audit(
                &args.connect,
                &gated_record("trigger", "started", &gated, message),
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
                    ..cleared_fields(cleared)
                },
            )?;
            write_audit(
                &args.connect,
                &gated_record("trigger", "failed", &gated, error.to_string()),
            )?;
            Err(error.into())
        }
    }
}
