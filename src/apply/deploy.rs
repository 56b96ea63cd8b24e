//! A deploy command's way through the gate and what it leaves behind: the
//! settings a plan is gated with (trusted ones where the environment requires
//! approval), the check and the approval; then the account of what an apply
//! did, its audit record, its Markdown preview, and a server's rejection
//! located in the plan. The CLI parses flags and prints; it decides none of this.

use std::path::Path;

use super::audit::Record;
use super::gate::{self, Approval, Cleared, Overrides, Refused};
use super::{Applied, DeployError, model, trust};
use crate::check::Checker;
use crate::diagnostic::{Diagnostic, plural};
use crate::report::preview::{Change, Preview, Row};
use crate::settings;

/// What a deploy command asks of the gate besides the plan, decided once
/// from its flags.
#[derive(Debug, Clone, Default)]
pub struct GateRequest {
    /// Where the change's own settings come from.
    pub settings: settings::Source,
    /// Where an environment that requires approval takes its gate settings
    /// from instead (`--trusted-settings`, `--settings-from-ref`).
    pub trust: Option<trust::Source>,
    /// `--namespace` / `--task-queue` (and TEMPORAL_NAMESPACE), applied before the check.
    pub overrides: Overrides,
    pub approval: Approval,
}

/// A plan the gate cleared, the checker that cleared it (its settings say
/// how findings are reported), and where those settings came from.
pub struct Gated {
    cleared: Cleared,
    checker: Checker,
    source: String,
}

impl Gated {
    pub fn cleared(&self) -> &Cleared {
        &self.cleared
    }

    pub fn checker(&self) -> &Checker {
        &self.checker
    }

    /// The audit record of what became of the cleared plan, with where the
    /// gate's settings came from.
    pub fn record(&self, action: &str, outcome: &str, message: String) -> Record {
        Record {
            gate_settings: Some(self.source.clone()),
            ..Record::cleared(action, outcome, &self.cleared, message)
        }
    }
}

/// Run the gate on `plan`: Ok(Err) is a refusal (findings, approval, trust),
/// to be shown and audited; Err is a tool failure (settings, policies, a
/// file that is no plan).
pub fn pass(plan: &Path, request: &GateRequest) -> Result<Result<Gated, Refused>, DeployError> {
    let working = request.settings.load(&[plan.to_path_buf()])?;
    let trusted = match &request.trust {
        Some(source) => Some(trust::load(source, &working)?),
        None => None,
    };
    let refused = |refusal: Refused| match refusal {
        Refused::NotAPlan(reason) => Err(DeployError::NotAPlan(reason)),
        refusal => Ok(Err(refusal)),
    };
    let chosen = match trust::choose(working, trusted, request.settings.isolated, plan) {
        Ok(chosen) => chosen,
        Err(refusal) => return refused(refusal),
    };
    let checker = Checker::new(chosen.settings)?.with_plan_rule(gate::plan_refusals);
    match gate::gate(
        &checker,
        plan,
        &request.overrides,
        &request.approval,
        chosen.change.as_ref(),
    ) {
        Ok(cleared) => Ok(Ok(Gated {
            cleared,
            checker,
            source: chosen.source,
        })),
        Err(refusal) => refused(refusal),
    }
}

/// Why the gate said no, in one line (shown after the findings, if any).
pub fn refusal_message(refusal: &Refused) -> String {
    match refusal {
        Refused::Findings(diagnostics) => format!(
            "refused: the check found {} in what would be sent; nothing was sent",
            plural(diagnostics.len(), "error")
        ),
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
        Refused::NotAPlan(reason) => reason.clone(),
    }
}

/// The audit record of a refusal: the plan as named, and the approver.
pub fn refusal_record(action: &str, plan: &Path, request: &GateRequest, message: String) -> Record {
    Record {
        approved_by: request.approval.approver(),
        ..Record::new(action, "refused", plan, message)
    }
}

/// The changed fields in one line: `cron a → b; jitter c → d; memo`.
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

/// What an apply did, in one line, with what changed field by field.
pub fn applied_message(cleared: &Cleared, applied: &Applied) -> String {
    let id = &cleared.desired().schedule_id;
    let ns = &cleared.desired().namespace;
    match applied {
        Applied::Created => format!("created schedule `{id}` in {ns}; verified"),
        Applied::Updated(changes) => format!(
            "updated schedule `{id}` in {ns}: {}; verified",
            describe_changes(changes)
        ),
        Applied::UpToDate => format!("schedule `{id}` in {ns} is up to date"),
        Applied::WouldCreate => format!("would create schedule `{id}` in {ns}"),
        Applied::WouldUpdate(changes) => format!(
            "would update schedule `{id}` in {ns}: {}",
            describe_changes(changes)
        ),
    }
}

/// The same without the values (for a log event, which never carries them).
pub fn applied_summary(cleared: &Cleared, applied: &Applied) -> String {
    let id = &cleared.desired().schedule_id;
    let ns = &cleared.desired().namespace;
    match applied {
        Applied::Created => format!("created schedule `{id}` in {ns}; verified"),
        Applied::Updated(_) => format!("updated schedule `{id}` in {ns}; verified"),
        Applied::UpToDate => format!("schedule `{id}` in {ns} is up to date"),
        Applied::WouldCreate => format!("would create schedule `{id}` in {ns}"),
        Applied::WouldUpdate(_) => format!("would update schedule `{id}` in {ns}"),
    }
}

/// The fields an apply changed or would change.
pub fn changed_fields(applied: &Applied) -> Vec<&'static str> {
    match applied {
        Applied::Updated(changes) | Applied::WouldUpdate(changes) => {
            changes.iter().map(|d| d.field).collect()
        }
        _ => Vec::new(),
    }
}

/// What an apply did or would do, for a pull request preview: the
/// schedule, the plan, and field by field what changes.
pub fn preview(action: &str, cleared: &Cleared, applied: &Applied, dry_run: bool) -> Preview {
    let change = match applied {
        Applied::UpToDate => Change::UpToDate,
        Applied::WouldCreate | Applied::Created => {
            // The plan's own cron strings read better than the calendar
            // ranges the server stores them as.
            let cron = cleared
                .plan()
                .pointer("/schedule/cron")
                .and_then(serde_json::Value::as_array)
                .map(|c| {
                    c.iter()
                        .filter_map(serde_json::Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                });
            let rows = model::normalize(&cleared.desired().schedule)
                .into_iter()
                .filter(|(field, value)| {
                    let empty = value.as_array().is_some_and(Vec::is_empty);
                    !(matches!(*field, "memo" | "input") || (*field == "intervals" && empty))
                })
                .map(|(field, value)| {
                    let shown = match (field, &cron) {
                        ("calendars", Some(cron)) => {
                            return Row {
                                field: "cron".to_string(),
                                deployed: String::new(),
                                planned: cron.clone(),
                            };
                        }
                        ("overlap", _) => model::shown(field, &value)
                            .trim_start_matches("SCHEDULE_OVERLAP_POLICY_")
                            .to_lowercase(),
                        _ => model::shown(field, &value),
                    };
                    Row {
                        field: field.replace('_', " "),
                        deployed: String::new(),
                        planned: shown,
                    }
                })
                .collect();
            Change::Create(rows)
        }
        Applied::WouldUpdate(changes) | Applied::Updated(changes) => Change::Update(
            changes
                .iter()
                .map(|d| {
                    if d.field == "memo" {
                        return Row {
                            field: "memo".to_string(),
                            deployed: "…".to_string(),
                            planned: "changed".to_string(),
                        };
                    }
                    Row {
                        field: d.field.replace('_', " "),
                        deployed: model::shown(d.field, &d.deployed),
                        planned: model::shown(d.field, &d.planned),
                    }
                })
                .collect(),
        ),
    };
    Preview {
        action: action.to_string(),
        dry_run,
        environment: cleared.environment().name.clone(),
        schedule_id: cleared.desired().schedule_id.clone(),
        namespace: cleared.desired().namespace.clone(),
        plan: crate::source::display_path(cleared.plan_path()),
        build: cleared.plan_text("/build").unwrap_or("?").to_string(),
        plan_sha256: cleared.plan_sha256().to_string(),
        change,
    }
}

/// A server's rejection of the schedule as a finding at the plan field its
/// message names (PG304), when it names one. The message is the server's
/// own prose, so the field is found by the words it uses.
pub fn rejection(cleared: &Cleared, message: &str) -> Option<Diagnostic> {
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
    let text = std::fs::read_to_string(cleared.plan_path()).ok()?;
    let file = crate::source::SourceFile::new(cleared.plan_path(), text);
    let target = crate::load::locate(&file, pointer);
    Some(
        Diagnostic::builtin(
            &crate::rules::SCHEDULE_REJECTED,
            format!("the Temporal server rejected the schedule: {message}"),
        )
        .at(&file, target.span, Some(target.pointer)),
    )
}
