//! The commands that talk to Temporal: apply, drift, rollback, trigger.
//! Each goes through the gate, reports in one line what happened, and
//! leaves an audit record. This module parses and prints: what to send,
//! where, and what it means is decided in src/apply/.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::{
    ApplyArgs, CliError, ConnectArgs, DriftArgs, EXIT_CLEAN, EXIT_FINDINGS, GateArgs, Preview,
    RollbackArgs, SettingsArgs, TriggerArgs,
};
use crate::apply::audit::{self, Record};
use crate::apply::connect::{self, Requested};
use crate::apply::deploy::{self as decide, GateRequest, Gated};
use crate::apply::gate::{Approval, Cleared, Overrides, Refused};
use crate::apply::temporal::TemporalError;
use crate::apply::{self, ApplyError, rollback, trust};
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
    fn format(self) -> Format {
        if self.markdown {
            Format::Markdown
        } else {
            Format::Human
        }
    }
}

/// Every decision a command that changes Temporal takes from its flags,
/// made here once (as ripgrep's HiArgs are from its raw flags): what the
/// gate is asked, which server, where the audit goes, how to speak.
struct Decided {
    gate: GateRequest,
    requested: Requested,
    audit_log: PathBuf,
    style: Style,
}

impl Decided {
    /// `namespace` and `task_queue` are the command's overrides, if it has
    /// them; TEMPORAL_NAMESPACE stands in for a `--namespace` not given (a
    /// gated command concerns the plan of one environment).
    fn from_flags(
        settings: &SettingsArgs,
        connect: &ConnectArgs,
        gate: &GateArgs,
        (namespace, task_queue): (Option<String>, Option<String>),
        style: Style,
    ) -> Self {
        let trust = match (&gate.trusted_settings, &gate.settings_from_ref) {
            (Some(file), _) => Some(trust::Source::File(file.clone())),
            (None, Some(reference)) => Some(trust::Source::GitRef(reference.clone())),
            (None, None) => None,
        };
        Decided {
            gate: GateRequest {
                settings: settings.source(),
                trust,
                overrides: Overrides {
                    namespace: connect::namespace_of_one_environment(namespace),
                    task_queue,
                },
                approval: Approval {
                    approver: gate.approved_by.clone(),
                    actors: audit::ci_actors(),
                },
            },
            requested: connect.requested(),
            audit_log: gate.audit_log.clone(),
            style,
        }
    }
}

/// What a log event says of a cleared plan: names, ids, hashes, never values.
fn cleared_fields(cleared: &Cleared) -> Fields {
    let record = Record::cleared("", "", cleared, String::new());
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

/// Run the gate; on refusal print why, audit it, and give the exit code.
fn pass_gate(
    action: &str,
    plan: &Path,
    decided: &Decided,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<Result<Gated, ExitCode>, CliError> {
    let started = Instant::now();
    let style = decided.style;
    let refusal = match decide::pass(plan, &decided.gate)? {
        Ok(gated) => {
            let cleared = gated.cleared();
            for warning in cleared.warnings() {
                log_finding(log, "finding", warning)?;
            }
            log.info(
                "cleared",
                "the check passed; the plan may be sent",
                &cleared_fields(cleared),
            )?;
            if !cleared.warnings().is_empty() {
                let report = Report::new(cleared.warnings().to_vec(), 1, started.elapsed());
                out.write_all(&report::render(&report, style.format(), style.color))?;
            }
            return Ok(Ok(gated));
        }
        Err(refusal) => refusal,
    };
    let message = decide::refusal_message(&refusal);
    if let Refused::Findings(diagnostics) = refusal {
        for d in &diagnostics {
            log_finding(log, "finding", d)?;
        }
        let report = Report::new(diagnostics, 1, started.elapsed());
        out.write_all(&report::render(&report, style.format(), style.color))?;
    }
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
    let entry = decide::refusal_record(action, plan, &decided.gate, message);
    audit::write(&decided.audit_log, &entry)?;
    Ok(Err(ExitCode::from(EXIT_FINDINGS)))
}

fn run_apply(
    action: &str,
    gated: &Gated,
    decided: &Decided,
    (dry_run, unpause): (bool, bool),
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<ExitCode, CliError> {
    let (cleared, checker) = (gated.cleared(), gated.checker());
    let style = decided.style;
    match apply::apply(cleared, &decided.requested, dry_run, unpause) {
        Ok((applied, before)) => {
            let message = decide::applied_message(cleared, &applied);
            if style.markdown {
                let preview = decide::preview(action, cleared, &applied, dry_run);
                out.write_all(report::preview::render(&preview).as_bytes())?;
            } else {
                writeln!(out, "planguard {action}: {message}")?;
            }
            log.info(
                "applied",
                &decide::applied_summary(cleared, &applied),
                &Fields {
                    outcome: Some(applied.outcome().to_string()),
                    ..cleared_fields(cleared)
                }
                .with("changed", decide::changed_fields(&applied)),
            )?;
            if !dry_run {
                let mut entry = gated.record(action, applied.outcome(), message);
                entry.previous_plan_sha256 = before.as_ref().and_then(apply::deployed_plan_sha256);
                let kept = audit::keep_plan(&decided.audit_log, cleared)?;
                entry.plan_copy = Some(crate::source::display_path(&kept));
                audit::write(&decided.audit_log, &entry)?;
                if let Some(check) = apply::queue_check(cleared, &decided.requested) {
                    warn_unserved(action, &check, cleared, out, log)?;
                }
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
            audit::write(&decided.audit_log, &gated.record(action, "failed", message))?;
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
            audit::write(
                &decided.audit_log,
                &gated.record(action, "failed", error.to_string()),
            )?;
            // A schedule the server rejects is shown at the plan field the
            // server names, as any finding is, at the severity planguard.toml
            // gives PG304 (the apply failed all the same).
            if let TemporalError::Rejected(message) = &error
                && let Some(diagnostic) = decide::rejection(cleared, message)
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

/// A warning, not a failure: the schedule is registered, but no worker
/// polls its task queue (or the server could not say), so its runs would
/// only wait.
fn warn_unserved(
    action: &str,
    check: &apply::QueueCheck,
    cleared: &Cleared,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<(), CliError> {
    let (queue, namespace) = (&check.task_queue, &check.namespace);
    let message = match &check.pollers {
        Ok(0) => format!(
            "no worker polls task queue `{queue}` in {namespace}; the schedule's runs will wait until one does"
        ),
        Ok(_) => return Ok(()),
        Err(error) => {
            format!(
                "cannot tell whether a worker polls task queue `{queue}` in {namespace}: {error}"
            )
        }
    };
    writeln!(out, "planguard {action}: warning: {message}")?;
    log.event(
        Level::Warn,
        "no-worker",
        &message,
        &Fields {
            outcome: Some("warning".to_string()),
            ..cleared_fields(cleared)
        }
        .with("task_queue", queue.as_str()),
    )?;
    Ok(())
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
    let decided = Decided::from_flags(
        &args.settings,
        &args.connect,
        &args.gate,
        (args.namespace.clone(), args.task_queue.clone()),
        style,
    );
    let gated = match pass_gate("apply", &args.plan, &decided, out, log)? {
        Ok(gated) => gated,
        Err(code) => return Ok(code),
    };
    run_apply(
        "apply",
        &gated,
        &decided,
        (args.dry_run, args.unpause),
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
    let settings = args.settings.load(&paths)?;
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
    let style = Style {
        color,
        markdown: false,
    };
    let decided = Decided::from_flags(
        &args.settings,
        &args.connect,
        &args.gate,
        (None, None),
        style,
    );
    // Invalid settings end the run before the server is asked anything; the
    // gate loads them again for the plan it checks.
    let settings = args.settings.load(std::slice::from_ref(&args.workspace))?;
    let plan = rollback::plan(
        &settings,
        &args.workspace,
        &args.environment,
        args.to.as_deref(),
        &decided.audit_log,
        &decided.requested,
    )?;
    if args.list {
        list_history(&plan, out)?;
        return Ok(ExitCode::from(EXIT_CLEAN));
    }
    let target = plan.target?;
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
    let gated = match pass_gate("rollback", &path, &decided, out, log)? {
        Ok(gated) => gated,
        Err(code) => return Ok(code),
    };
    run_apply(
        "rollback",
        &gated,
        &decided,
        (args.dry_run, false),
        out,
        log,
    )
}

/// `rollback --list`: the environment's deployments, oldest first, the
/// deployed one marked, and where a rollback would go.
fn list_history(plan: &rollback::Plan, out: &mut dyn Write) -> Result<(), CliError> {
    let (store, history, current, target) = (
        &plan.store,
        &plan.history,
        plan.current.as_ref(),
        &plan.target,
    );
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

/// Say how a waited-for run ended, and give the exit code: 0 when it
/// completed, 1 for any other end or when the wait gave up.
fn report_ending(
    ending: &apply::Ending,
    workflow_id: &str,
    elapsed: std::time::Duration,
    limit: Option<std::time::Duration>,
    cleared: &Cleared,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<ExitCode, CliError> {
    let took = crate::status::compact(elapsed);
    let (outcome, run_id, message, ok) = match ending {
        apply::Ending::Closed {
            status,
            run_id,
            attempt,
            message,
        } => {
            let outcome = crate::status::Outcome::of(*status);
            let ok = outcome == crate::status::Outcome::Completed;
            let attempt = attempt.map_or(String::new(), |a| format!(", attempt {a}"));
            let mut text = format!(
                "workflow `{workflow_id}` {} {} {took} (run {run_id}{attempt})",
                outcome.as_str(),
                if ok { "in" } else { "after" }
            );
            if let Some(said) = message.as_ref().filter(|_| !ok) {
                text.push_str(&format!(": {said}"));
            }
            (outcome.as_str(), run_id, text, ok)
        }
        apply::Ending::StillRunning { run_id } => (
            "wait_timed_out",
            run_id,
            format!(
                "gave up waiting: workflow `{workflow_id}` was still running after --timeout {} (run {run_id}); the run goes on",
                limit.map_or_else(|| took.clone(), crate::status::compact)
            ),
            false,
        ),
    };
    writeln!(out, "planguard trigger: {message}")?;
    log.event(
        if ok { Level::Info } else { Level::Warn },
        "finished",
        &message,
        &Fields {
            workflow_id: Some(workflow_id.to_string()),
            outcome: Some(outcome.to_string()),
            ..cleared_fields(cleared)
        }
        .with("run_id", run_id.as_str())
        .with("seconds", elapsed.as_secs_f64()),
    )?;
    Ok(ExitCode::from(if ok { EXIT_CLEAN } else { EXIT_FINDINGS }))
}

pub fn trigger(
    args: TriggerArgs,
    color: bool,
    out: &mut dyn Write,
    log: &mut Log,
) -> Result<ExitCode, CliError> {
    let style = Style {
        color,
        markdown: false,
    };
    let decided = Decided::from_flags(
        &args.settings,
        &args.connect,
        &args.gate,
        (None, None),
        style,
    );
    let gated = match pass_gate("trigger", &args.plan, &decided, out, log)? {
        Ok(gated) => gated,
        Err(code) => return Ok(code),
    };
    let cleared = gated.cleared();
    let started = Instant::now();
    match apply::trigger(cleared, &decided.requested) {
        Ok((workflow_id, run_id)) => {
            let message = format!(
                "started workflow `{workflow_id}` (run {run_id}) in {}",
                cleared.desired().namespace
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
            audit::write(
                &decided.audit_log,
                &gated.record("trigger", "started", message),
            )?;
            if !args.wait {
                return Ok(ExitCode::from(EXIT_CLEAN));
            }
            let ending = apply::wait(
                cleared,
                &decided.requested,
                &workflow_id,
                &run_id,
                args.timeout,
            )?;
            report_ending(
                &ending,
                &workflow_id,
                started.elapsed(),
                args.timeout,
                cleared,
                out,
                log,
            )
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
            audit::write(
                &decided.audit_log,
                &gated.record("trigger", "failed", error.to_string()),
            )?;
            Err(error.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn decided(args: &[&str]) -> Decided {
        let cli = Cli::try_parse_from(args).expect("the flags parse");
        let style = Style {
            color: false,
            markdown: false,
        };
        match cli.command {
            Command::Apply(a) => Decided::from_flags(
                &a.settings,
                &a.connect,
                &a.gate,
                (a.namespace, a.task_queue),
                style,
            ),
            Command::Rollback(a) => {
                Decided::from_flags(&a.settings, &a.connect, &a.gate, (None, None), style)
            }
            _ => unreachable!("a gated command"),
        }
    }

    #[test]
    fn every_decision_of_a_gated_command_comes_from_its_flags() {
        let apply = decided(&[
            "planguard",
            "apply",
            "--config",
            "team.toml",
            "--trusted-settings",
            "trusted.toml",
            "--approved-by",
            " bob ",
            "--namespace",
            "ingestion-sandbox",
            "--task-queue",
            "q2",
            "--address",
            "temporal.example:7233",
            "--insecure",
            "--audit-log",
            "audit.jsonl",
            "orchestration_plans/dev/12.json",
        ]);
        let gate = &apply.gate;
        assert_eq!(gate.settings.config, Some(PathBuf::from("team.toml")));
        assert!(!gate.settings.isolated);
        assert_eq!(
            gate.trust,
            Some(trust::Source::File(PathBuf::from("trusted.toml")))
        );
        assert_eq!(gate.approval.approver().as_deref(), Some("bob"));
        assert_eq!(
            gate.overrides.namespace.as_deref(),
            Some("ingestion-sandbox")
        );
        assert_eq!(gate.overrides.task_queue.as_deref(), Some("q2"));
        assert_eq!(
            apply.requested.address.as_deref(),
            Some("temporal.example:7233")
        );
        assert!(apply.requested.insecure);
        assert_eq!(apply.audit_log, PathBuf::from("audit.jsonl"));

        let rollback = decided(&[
            "planguard",
            "rollback",
            "--env",
            "prod",
            "--isolated",
            "--settings-from-ref",
            "origin/main",
            "--audit-log",
            "audit.jsonl",
        ]);
        assert!(rollback.gate.settings.isolated);
        assert_eq!(
            rollback.gate.trust,
            Some(trust::Source::GitRef("origin/main".to_string()))
        );
        assert_eq!(rollback.gate.overrides.task_queue, None);
    }
}
