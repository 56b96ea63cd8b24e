//! Apply, drift, rollback, trigger: plans to Temporal Schedules. Every path
//! that writes goes through the gate (`gate::Cleared`); every write is
//! described back and compared before it counts as done.

pub mod audit;
pub mod connect;
pub mod deploy;
pub mod gate;
pub mod model;
pub mod rollback;
pub mod temporal;
pub mod trust;

use std::collections::BTreeMap;

use connect::Requested;
use gate::Cleared;
use model::Difference;
use temporal::TemporalError;

use crate::check::Checker;
use crate::diagnostic::Diagnostic;
use crate::discover::{self, Kind};
use crate::load;
use crate::rules;

/// What an apply did.
#[derive(Debug)]
pub enum Applied {
    Created,
    Updated(Vec<Difference>),
    UpToDate,
    WouldCreate,
    WouldUpdate(Vec<Difference>),
}

impl Applied {
    pub fn outcome(&self) -> &'static str {
        match self {
            Applied::Created => "create",
            Applied::Updated(_) => "update",
            Applied::UpToDate => "noop",
            Applied::WouldCreate | Applied::WouldUpdate(_) => "dry-run",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Temporal(#[from] TemporalError),
    /// The server took the request but the schedule is not what was sent:
    /// someone else changed it at the same time.
    #[error("the schedule was changed concurrently; this apply was not applied ({})", fields(.0))]
    Conflict(Vec<Difference>),
}

fn fields(differences: &[Difference]) -> String {
    let names: Vec<&str> = differences.iter().map(|d| d.field).collect();
    if names.is_empty() {
        "the server kept another version".to_string()
    } else {
        format!("differs in {}", names.join(", "))
    }
}

/// The plan sha256 recorded on a deployed schedule's workflows, if any.
pub fn deployed_plan_sha256(deployed: &temporal::Deployed) -> Option<String> {
    recorded(deployed, model::PLAN_RECORD)
}

pub fn deployed_build(deployed: &temporal::Deployed) -> Option<String> {
    recorded(deployed, "build")
}

/// The task queue a schedule's workflows are started on.
pub fn task_queue(
    schedule: &temporalio_common::protos::temporal::api::schedule::v1::Schedule,
) -> Option<String> {
    use temporalio_common::protos::temporal::api::schedule::v1::schedule_action::Action;
    match schedule.action.as_ref()?.action.as_ref()? {
        Action::StartWorkflow(w) => w.task_queue.as_ref().map(|q| q.name.clone()),
    }
}

fn recorded(deployed: &temporal::Deployed, field: &str) -> Option<String> {
    model::normalize(&deployed.schedule)
        .get(field)?
        .as_str()
        .map(str::to_string)
}

/// Create or update the schedule of a cleared plan, idempotently, and verify
/// it by describing it back. Returns what happened and the deployed state
/// before (for the audit).
pub fn apply(
    cleared: &Cleared,
    requested: &Requested,
    dry_run: bool,
    unpause: bool,
) -> Result<(Applied, Option<temporal::Deployed>), ApplyError> {
    let id = &cleared.desired().schedule_id;
    let mut client = connect::client(
        requested,
        Some(cleared.environment()),
        &cleared.desired().namespace,
    )?;
    let before = client.describe(id)?;
    let Some(deployed) = before.clone() else {
        if dry_run {
            return Ok((Applied::WouldCreate, None));
        }
        match client.create(cleared) {
            Ok(()) => {}
            // Another apply created it since it was described.
            Err(TemporalError::Conflict(_)) => return Err(ApplyError::Conflict(Vec::new())),
            Err(e) => return Err(e.into()),
        }
        hold_for_tests(Hold::BeforeVerify);
        // A create can answer OK and create nothing (a reused request id
        // after a delete): only a description proves it.
        let after = client
            .describe(id)?
            .ok_or(ApplyError::Conflict(Vec::new()))?;
        let left = model::differences(&cleared.desired().schedule, &after.schedule);
        return if left.is_empty() {
            Ok((Applied::Created, None))
        } else {
            Err(ApplyError::Conflict(left))
        };
    };
    let differences = model::differences(&cleared.desired().schedule, &deployed.schedule);
    if differences.is_empty() {
        return Ok((Applied::UpToDate, before));
    }
    if dry_run {
        return Ok((Applied::WouldUpdate(differences), before));
    }
    hold_for_tests(Hold::BeforeUpdate);
    match client.update(cleared, &deployed, unpause) {
        Ok(()) => {}
        // The newer scheduler refuses a stale conflict token outright.
        Err(TemporalError::Conflict(_)) => return Err(ApplyError::Conflict(Vec::new())),
        Err(e) => return Err(e.into()),
    }
    hold_for_tests(Hold::BeforeVerify);
    // The workflow-backed scheduler answers OK to a stale token and drops
    // the update: a description tells.
    let after = client
        .describe(id)?
        .ok_or(ApplyError::Conflict(Vec::new()))?;
    let left = model::differences(&cleared.desired().schedule, &after.schedule);
    if left.is_empty() {
        Ok((Applied::Updated(differences), before))
    } else {
        Err(ApplyError::Conflict(left))
    }
}

/// Where an apply can be held for the concurrency and fault tests.
#[derive(Debug, Clone, Copy)]
enum Hold {
    /// After the describe and before the update, so a test can change the
    /// schedule in between as a concurrent apply would.
    BeforeUpdate,
    /// After the write and before it is described back, so a test can stop
    /// the server mid-apply.
    BeforeVerify,
}

/// A seam for the concurrency and fault tests only, built with the
/// `testing` feature alone (a shipped binary has no trace of it): with the
/// variable of the hold point naming a file (PLANGUARD_TEST_HOLD_BEFORE_UPDATE,
/// PLANGUARD_TEST_HOLD_BEFORE_VERIFY), an apply announces itself
/// (`<file>.waiting`) at that point and waits (up to a minute) for the file
/// to exist.
#[cfg(feature = "testing")]
fn hold_for_tests(point: Hold) {
    let variable = match point {
        Hold::BeforeUpdate => "PLANGUARD_TEST_HOLD_BEFORE_UPDATE",
        Hold::BeforeVerify => "PLANGUARD_TEST_HOLD_BEFORE_VERIFY",
    };
    let Some(path) = std::env::var_os(variable) else {
        return;
    };
    let path = std::path::PathBuf::from(path);
    let mut waiting = path.clone().into_os_string();
    waiting.push(".waiting");
    let _ = std::fs::write(&waiting, b"");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !path.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Without the `testing` feature an apply never holds.
#[cfg(not(feature = "testing"))]
fn hold_for_tests(_: Hold) {}

/// Start one run now, outside the cadence.
pub fn trigger(
    cleared: &Cleared,
    requested: &Requested,
) -> Result<(String, String), TemporalError> {
    connect::client(
        requested,
        Some(cleared.environment()),
        &cleared.desired().namespace,
    )?
    .start(cleared)
}

/// Whether workers poll the task queue a cleared plan's runs start on.
#[derive(Debug)]
pub struct QueueCheck {
    pub namespace: String,
    pub task_queue: String,
    /// The workers that polled it for workflow tasks lately, or why the
    /// server could not say.
    pub pollers: Result<usize, TemporalError>,
}

/// Ask the server who polls the task queue of a cleared plan (after an
/// apply: a schedule nobody serves starts runs that only wait).
pub fn queue_check(cleared: &Cleared, requested: &Requested) -> Option<QueueCheck> {
    let namespace = cleared.desired().namespace.clone();
    let task_queue = task_queue(&cleared.desired().schedule)?;
    let pollers = connect::client(requested, Some(cleared.environment()), &namespace)
        .and_then(|mut client| client.workflow_pollers(&task_queue))
        .map(|pollers| pollers.len());
    Some(QueueCheck {
        namespace,
        task_queue,
        pollers,
    })
}

/// How a run that was waited for ended, or that the wait gave up.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// The workflow ended (after any retries): its newest run's status,
    /// which attempt that run was, and what it said of its failure (with
    /// anything that looks like a secret masked).
    Closed {
        status: temporalio_common::protos::temporal::api::enums::v1::WorkflowExecutionStatus,
        run_id: String,
        attempt: Option<i32>,
        message: Option<String>,
    },
    /// Still running when the wait's limit came; the run goes on.
    StillRunning { run_id: String },
}

/// Wait for a started workflow to end (following its retries), or until
/// `limit` has passed, asking the server at growing intervals (up to 1s).
pub fn wait(
    cleared: &Cleared,
    requested: &Requested,
    workflow_id: &str,
    started_run: &str,
    limit: Option<std::time::Duration>,
) -> Result<Ending, TemporalError> {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let mut client = connect::client(
        requested,
        Some(cleared.environment()),
        &cleared.desired().namespace,
    )?;
    let deadline = limit.map(|l| std::time::Instant::now() + l);
    let mut pause = std::time::Duration::from_millis(100);
    let mut run_id = started_run.to_string();
    loop {
        if let Some(run) = client.newest_run(workflow_id, &run_id)? {
            run_id = run.run_id.clone();
            if let Some(close) = run.close {
                let attempt = client
                    .history_event(workflow_id, &run_id, false)?
                    .and_then(|e| match e.attributes? {
                        Attributes::WorkflowExecutionStartedEventAttributes(a) => Some(a.attempt),
                        _ => None,
                    });
                let said = match close.attributes {
                    Some(Attributes::WorkflowExecutionFailedEventAttributes(a)) => {
                        a.failure.map(|f| failure_text(&f))
                    }
                    Some(Attributes::WorkflowExecutionTerminatedEventAttributes(a)) => {
                        Some(a.reason)
                    }
                    _ => None,
                }
                .filter(|m| !m.trim().is_empty());
                return Ok(Ending::Closed {
                    status: run.info.status(),
                    run_id,
                    attempt,
                    message: said.map(|m| masked(&m)),
                });
            }
        }
        let now = std::time::Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(Ending::StillRunning { run_id });
        }
        let nap = deadline.map_or(pause, |d| pause.min(d - now));
        std::thread::sleep(nap);
        pause = (pause * 2).min(std::time::Duration::from_secs(1));
    }
}

/// A failure's message and those of its causes (an activity's failure
/// under the workflow's), the first line of each.
fn failure_text(
    failure: &temporalio_common::protos::temporal::api::failure::v1::Failure,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(failure);
    while let Some(f) = next {
        let line = f
            .message
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        if !line.is_empty() && !parts.contains(&line) {
            parts.push(line);
        }
        next = f.cause.as_deref();
    }
    parts.join(": ")
}

/// Text a worker wrote, with whatever looks like a secret in it masked.
fn masked(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for span in crate::check::mask::likely_secrets(text) {
        for b in bytes.get_mut(span).into_iter().flatten() {
            *b = b'*';
        }
    }
    // Masking a multi-byte character halfway leaves invalid UTF-8: lossy.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// (workspace, environment): plans that replace one another.
type PlanKey = (Option<String>, Option<String>);

/// The newest plan of each (workspace, environment) found: the one that
/// should be deployed.
pub fn newest_plans(discovery: &discover::Discovery) -> Vec<&discover::Candidate> {
    let mut newest: BTreeMap<PlanKey, (u64, &discover::Candidate)> = BTreeMap::new();
    for candidate in discovery
        .files
        .iter()
        .filter(|c| c.kind == Some(Kind::Plan))
    {
        let build = candidate
            .build
            .as_deref()
            .and_then(|b| b.parse::<u64>().ok())
            .unwrap_or(0);
        let key = (candidate.workspace.clone(), candidate.env.clone());
        if newest.get(&key).is_none_or(|(b, _)| build > *b) {
            newest.insert(key, (build, candidate));
        }
    }
    newest.into_values().map(|(_, c)| c).collect()
}

/// Why a deploy command could not do its work (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Temporal(#[from] TemporalError),
    #[error(transparent)]
    Discover(#[from] discover::DiscoverError),
    /// `--namespace`/`--task-queue` name one environment's namespace or
    /// queue; over plans of several they would send each to the wrong place.
    #[error(
        "{flags} would apply to the plans of {} environments ({}); name the plans of one environment, or leave {flags} out (each plan is then compared in its own environment's namespace)",
        environments.len(),
        environments.join(", ")
    )]
    OverrideAcrossEnvironments {
        flags: String,
        environments: Vec<String>,
    },
    /// A plan that cannot be read or names no schedule.
    #[error("{0}")]
    Plan(String),
    #[error(transparent)]
    Rollback(#[from] rollback::RollbackError),
    /// planguard.toml (or the file --config names) is invalid; its findings
    /// are located in it.
    #[error("planguard.toml is invalid")]
    Settings(crate::settings::SettingsError),
    #[error(transparent)]
    Trust(#[from] trust::TrustError),
    #[error(transparent)]
    Policy(#[from] crate::check::PolicyError),
    /// The file given is not a plan `apply` can send.
    #[error("{0}")]
    NotAPlan(String),
    #[error("cannot append to the audit log {}: {source}", path.display())]
    AuditLog {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl From<crate::settings::SettingsError> for DeployError {
    fn from(error: crate::settings::SettingsError) -> Self {
        DeployError::Settings(error)
    }
}

/// The newest plan of one environment, as drift and status look at it.
#[derive(Debug)]
pub struct OwnedPlan {
    pub document: load::Document,
    pub environment: Option<String>,
    /// The plan with the overrides applied, and its environment's namespace
    /// (planguard.toml) filled in when it names none.
    pub value: serde_json::Value,
}

/// The plans drift and status look at, and what stood in the way of the rest.
#[derive(Debug, Default)]
pub struct PlanSet {
    pub plans: Vec<OwnedPlan>,
    /// Why a plan could not be read (located in it).
    pub diagnostics: Vec<Diagnostic>,
    /// Plans that could not be read at all.
    pub unreadable: Vec<std::path::PathBuf>,
    /// The overrides in effect: those given, and TEMPORAL_NAMESPACE when it
    /// applies (the plans of one environment).
    pub overrides: gate::Overrides,
    /// What the run should say it did not do (for the log).
    pub notes: Vec<String>,
}

/// The newest plan of each environment under `paths`, each in its own
/// environment's namespace. Overrides apply only to the plans of one
/// environment: over several, they are refused (and TEMPORAL_NAMESPACE,
/// which no one typed for this run, is ignored with a note).
pub fn owned_plans(
    settings: &crate::settings::Settings,
    paths: &[std::path::PathBuf],
    overrides: &gate::Overrides,
) -> Result<PlanSet, DeployError> {
    let discovery = discover::discover(paths, settings)?;
    let mut set = PlanSet::default();
    for candidate in newest_plans(&discovery) {
        let (document, found) = load::load(candidate, settings.max_file_size);
        set.diagnostics.extend(found);
        let Some(document) = document else {
            set.unreadable.push(candidate.path.clone());
            continue;
        };
        let environment = document.env.clone().or_else(|| {
            document
                .value
                .get("environment")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        });
        let mut value = document.value.clone();
        if let (Some(object), Some(env)) = (
            value.as_object_mut(),
            environment
                .as_ref()
                .and_then(|e| settings.environments.get(e)),
        ) && !object
            .get("namespace")
            .is_some_and(serde_json::Value::is_string)
        {
            object.insert("namespace".to_string(), env.namespace.clone().into());
        }
        set.plans.push(OwnedPlan {
            document,
            environment,
            value,
        });
    }
    let environments: std::collections::BTreeSet<String> = set
        .plans
        .iter()
        .map(|p| {
            p.environment
                .clone()
                .unwrap_or_else(|| "an unknown one".to_string())
        })
        .collect();
    if !overrides.is_empty() && environments.len() > 1 {
        return Err(DeployError::OverrideAcrossEnvironments {
            flags: overrides.flags(),
            environments: environments.into_iter().collect(),
        });
    }
    let (namespace, note) = connect::namespace_override(overrides.namespace.clone(), &environments);
    set.overrides = gate::Overrides {
        namespace,
        task_queue: overrides.task_queue.clone(),
    };
    set.notes.extend(note);
    for plan in &mut set.plans {
        set.overrides.apply_to(&mut plan.value);
    }
    Ok(set)
}

/// Compare the newest plan of each environment under `paths` with what is
/// deployed in its environment's namespace; each difference is a diagnostic
/// located in the plan, at the severity planguard.toml gives its rule. With
/// a `--namespace` override (or TEMPORAL_NAMESPACE over one environment),
/// schedules of that namespace that no plan owns are reported too.
pub fn drift(
    checker: &Checker,
    paths: &[std::path::PathBuf],
    requested: &Requested,
    overrides: &gate::Overrides,
) -> Result<Drift, DeployError> {
    let set = owned_plans(&checker.settings, paths, overrides)?;
    let environment_of =
        |name: Option<&String>| name.and_then(|n| checker.settings.environments.get(n));
    let mut diagnostics = set.diagnostics;
    let mut owned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let checked = set.plans.len();
    for plan in &set.plans {
        let document = &plan.document;
        let desired = match model::desired(&plan.value, "") {
            Ok(desired) => desired,
            Err(refused) => {
                diagnostics.extend(gate::undeployable(document, refused));
                continue;
            }
        };
        owned
            .entry(desired.namespace.clone())
            .or_default()
            .push(desired.schedule_id.clone());
        let mut client = connect::client(
            requested,
            environment_of(plan.environment.as_ref()),
            &desired.namespace,
        )?;
        match client.describe(&desired.schedule_id)? {
            None => {
                let target = document.locate("/schedule_id");
                diagnostics.push(
                    Diagnostic::builtin(
                        &rules::SCHEDULE_MISSING,
                        format!(
                            "schedule `{}` is not deployed in namespace {}",
                            desired.schedule_id, desired.namespace
                        ),
                    )
                    .at(&document.file, target.span, Some(target.pointer))
                    .with_help("planguard apply registers it"),
                );
            }
            Some(deployed) => {
                for difference in model::differences(&desired.schedule, &deployed.schedule) {
                    // The plan hash differs whenever the plan file changed;
                    // the other fields say what it changed, and a change of
                    // metadata alone is not drift.
                    if difference.field == model::PLAN_RECORD {
                        continue;
                    }
                    let target = document.locate(model::pointer_of(difference.field));
                    diagnostics.push(
                        Diagnostic::builtin(
                            &rules::SCHEDULE_DRIFT,
                            format!(
                                "deployed {} is {}, plan says {}",
                                difference.field.replace('_', " "),
                                model::shown(difference.field, &difference.deployed),
                                model::shown(difference.field, &difference.planned)
                            ),
                        )
                        .at(&document.file, target.span, Some(target.pointer))
                        .with_help("planguard apply brings the schedule back to the plan"),
                    );
                }
            }
        }
    }
    if let Some(namespace) = &set.overrides.namespace {
        // The plans are of one environment (or none): its connection.
        let environment = environment_of(set.plans.first().and_then(|p| p.environment.as_ref()));
        let mut client = connect::client(requested, environment, namespace)?;
        let known = owned.get(namespace).cloned().unwrap_or_default();
        for id in client.list()? {
            if !known.contains(&id) {
                diagnostics.push(Diagnostic::builtin(
                    &rules::SCHEDULE_UNMANAGED,
                    format!("schedule `{id}` in namespace {namespace} is owned by no plan"),
                ));
            }
        }
    }
    // [rules] and [[ignore]] hold for drift as for every other rule.
    Ok(Drift {
        diagnostics: checker.settle(diagnostics),
        checked,
        namespace: set.overrides.namespace,
        notes: set.notes,
    })
}

/// What a drift run found.
#[derive(Debug)]
pub struct Drift {
    pub diagnostics: Vec<Diagnostic>,
    /// How many plans were compared.
    pub checked: usize,
    /// The namespace compared in instead of the plans' own, if any.
    pub namespace: Option<String>,
    /// What the run did not do, and why (for the log).
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use temporalio_common::protos::temporal::api::failure::v1::Failure;

    use super::*;

    /// A worker's failure message is printed by `trigger --wait`: what looks
    /// like a secret in it never is.
    #[test]
    fn a_failure_is_said_with_its_causes_and_its_secrets_masked() {
        let failure = Failure {
            message: "ingestion failed\ntraceback…".into(),
            cause: Some(Box::new(Failure {
                message: "cannot read jdbc:postgresql://ingest:s3cr3t-pw@orders-db:5432/orders"
                    .into(),
                ..Failure::default()
            })),
            ..Failure::default()
        };
        let text = masked(&failure_text(&failure));
        assert_eq!(
            text,
            "ingestion failed: cannot read jdbc:postgresql://ingest:*********@orders-db:5432/orders"
        );
    }
}
