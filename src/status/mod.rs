//! Schedule health (`planguard status`): what the scheduler of each schedule
//! did and will do, read from the server, and whether that is healthy. The
//! renderers (human, json, prometheus) only convert what is gathered here.

pub mod human;
pub mod json;
pub mod prometheus;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use temporalio_common::protos::temporal::api::enums::v1::WorkflowExecutionStatus;

use std::path::PathBuf;

use crate::apply::DeployError;
use crate::apply::connect::{self, Requested};
use crate::apply::gate::Overrides;
use crate::apply::temporal::{Client, Deployed, TemporalError};
use crate::settings::Settings;

/// The schedules to look at, with what is known of them beforehand.
#[derive(Debug, Clone)]
pub struct Target {
    pub namespace: String,
    pub schedule_id: String,
    pub environment: Option<String>,
    /// The plan that owns the schedule, when the schedules came from plans.
    pub plan: Option<String>,
}

/// What counts as healthy.
#[derive(Debug, Clone)]
pub struct Options {
    /// Lag beyond this is unhealthy.
    pub max_lag: Duration,
    /// A pause whose note gives a reason is an operator's decision, not a fault.
    pub allow_paused: bool,
    /// How many of the most recent runs to show (the server keeps the last ten).
    pub history: usize,
}

/// The most runs a schedule remembers (its recent actions).
pub const MAX_HISTORY: usize = 10;

/// How a run ended, or that it has not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Running,
    Completed,
    Failed,
    Canceled,
    Terminated,
    ContinuedAsNew,
    TimedOut,
    Paused,
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Canceled => "canceled",
            Outcome::Terminated => "terminated",
            Outcome::ContinuedAsNew => "continued_as_new",
            Outcome::TimedOut => "timed_out",
            Outcome::Paused => "paused",
            Outcome::Unknown => "unknown",
        }
    }

    /// The run did not do its work: it failed, timed out, or was stopped.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::Canceled | Outcome::Terminated | Outcome::TimedOut
        )
    }

    pub fn of(status: WorkflowExecutionStatus) -> Self {
        match status {
            WorkflowExecutionStatus::Running => Outcome::Running,
            WorkflowExecutionStatus::Completed => Outcome::Completed,
            WorkflowExecutionStatus::Failed => Outcome::Failed,
            WorkflowExecutionStatus::Canceled => Outcome::Canceled,
            WorkflowExecutionStatus::Terminated => Outcome::Terminated,
            WorkflowExecutionStatus::ContinuedAsNew => Outcome::ContinuedAsNew,
            WorkflowExecutionStatus::TimedOut => Outcome::TimedOut,
            WorkflowExecutionStatus::Paused => Outcome::Paused,
            WorkflowExecutionStatus::Unspecified => Outcome::Unknown,
        }
    }
}

/// An action of a schedule and how its workflow went.
#[derive(Debug, Clone)]
pub struct Run {
    /// When the schedule (or a trigger, or a backfill) meant it to start.
    pub scheduled: DateTime<Utc>,
    /// When the scheduler started it.
    pub started: DateTime<Utc>,
    pub workflow_id: String,
    /// The newest run of the workflow (after any retries), whose outcome this is.
    pub run_id: String,
    pub outcome: Outcome,
    /// Which attempt the newest run is (1: no retry so far), when known:
    /// asked of the most recent run and of each run of the history.
    pub attempt: Option<i32>,
}

/// Whether workers poll a schedule's task queue, as the server says.
#[derive(Debug, Clone, PartialEq)]
pub enum Workers {
    /// The workers that polled it for workflow tasks in the last minutes,
    /// and when the last of them did.
    Polled {
        pollers: usize,
        last_poll: Option<DateTime<Utc>>,
    },
    /// The server could not be asked, or refused: said, never taken for none.
    Unknown(String),
}

/// Why a schedule is unhealthy.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// A plan owns it, but the server has no such schedule.
    NotDeployed,
    /// Paused, with the operator's note (empty or the CLI's default when no
    /// reason was given).
    Paused { notes: String },
    /// The most recent run failed, timed out, or was terminated or canceled.
    LastRunFailed(Outcome),
    /// The scheduler is behind by more than allowed.
    Lagging { lag: Duration, max: Duration },
}

impl Problem {
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::NotDeployed => "not_deployed",
            Problem::Paused { .. } => "paused",
            Problem::LastRunFailed(_) => "last_run_failed",
            Problem::Lagging { .. } => "lagging",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Problem::NotDeployed => {
                "not deployed (the plan owns it; planguard apply registers it)".to_string()
            }
            Problem::Paused { notes } if has_reason(notes) => {
                format!("paused: {notes} (--allow-paused accepts a pause with a reason)")
            }
            Problem::Paused { .. } => "paused, with no reason given".to_string(),
            Problem::LastRunFailed(outcome) => format!("last run {}", outcome.as_str()),
            Problem::Lagging { lag, max } => format!(
                "lag {} is beyond --max-lag {}",
                compact(*lag),
                compact(*max)
            ),
        }
    }
}

/// Whether an operator's note says why (the temporal CLI writes a
/// placeholder when no reason was given).
fn has_reason(notes: &str) -> bool {
    let notes = notes.trim();
    !notes.is_empty() && notes != "(no reason provided)"
}

/// One schedule's health.
#[derive(Debug, Clone)]
pub struct ScheduleStatus {
    pub namespace: String,
    pub schedule_id: String,
    pub environment: Option<String>,
    pub plan: Option<String>,
    pub deployed: bool,
    /// The plan build and hash the schedule was applied from (the memo
    /// planguard gives the schedule's workflows).
    pub build: Option<String>,
    pub plan_sha256: Option<String>,
    pub paused: bool,
    pub notes: String,
    pub next_run: Option<DateTime<Utc>>,
    pub last_run: Option<Run>,
    /// The most recent runs, newest first (as many as `--history` asks).
    pub history: Vec<Run>,
    /// The task queue the schedule starts its runs on, and who polls it.
    pub task_queue: Option<String>,
    pub workers: Option<Workers>,
    pub lag: Duration,
    pub missed_catchup_windows: i64,
    pub overlap_skipped: i64,
    pub actions: i64,
    pub running_workflows: usize,
    pub problems: Vec<Problem>,
}

impl ScheduleStatus {
    pub fn healthy(&self) -> bool {
        self.problems.is_empty()
    }

    /// What to say of the workers when none polls the task queue, or the
    /// server could not say (reported, not judged: a schedule's health is
    /// the scheduler's; alert on the pollers metric).
    pub fn workers_note(&self) -> Option<String> {
        let queue = self.task_queue.as_deref()?;
        match self.workers.as_ref()? {
            Workers::Polled { pollers: 0, .. } => Some(format!(
                "no worker polls task queue `{queue}`; its runs wait until one does"
            )),
            Workers::Polled { .. } => None,
            Workers::Unknown(reason) => Some(format!(
                "cannot tell whether a worker polls task queue `{queue}`: {reason}"
            )),
        }
    }
}

/// Every status, with the time they were taken and the thresholds used.
#[derive(Debug, Clone)]
pub struct StatusReport {
    pub time: DateTime<Utc>,
    pub max_lag: Duration,
    /// How many recent runs each schedule's history holds at most.
    pub history: usize,
    pub schedules: Vec<ScheduleStatus>,
}

impl StatusReport {
    pub fn unhealthy(&self) -> usize {
        self.schedules.iter().filter(|s| !s.healthy()).count()
    }
}

fn time(t: &prost_wkt_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
}

fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    (to - from).to_std().unwrap_or(Duration::ZERO)
}

/// The schedules to look at: those the newest plan of each environment under
/// `paths` owns, each in its own environment's namespace (or in `namespace`,
/// when the plans are of one environment), and every schedule of
/// `namespace` (given, or TEMPORAL_NAMESPACE when the plans are of one
/// environment). The notes say what the run did not do, for the log.
pub fn targets(
    settings: &Settings,
    paths: &[PathBuf],
    namespace: Option<&str>,
    requested: &Requested,
) -> Result<(Vec<Target>, Vec<String>), DeployError> {
    let mut notes = Vec::new();
    let mut namespace = namespace.map(str::to_string);
    let environment_of = |namespace: &str| {
        settings
            .environments
            .values()
            .find(|e| e.namespace == namespace)
            .map(|e| e.name.clone())
    };
    let mut targets = Vec::new();
    if !paths.is_empty() {
        let overrides = Overrides {
            namespace: namespace.clone(),
            task_queue: None,
        };
        let set = crate::apply::owned_plans(settings, paths, &overrides)?;
        namespace = set.overrides.namespace.clone();
        notes.extend(set.notes.iter().cloned());
        if let Some(plan) = set.unreadable.first() {
            return Err(DeployError::Plan(format!(
                "cannot read the plan {}",
                crate::source::display_path(plan)
            )));
        }
        for owned in set.plans {
            let plan = owned.document.file.display_path();
            let text = |key: &str| {
                owned
                    .value
                    .get(key)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let namespace = text("namespace")
                .ok_or_else(|| DeployError::Plan(format!("the plan {plan} names no namespace")))?;
            let schedule_id = text("schedule_id").ok_or_else(|| {
                DeployError::Plan(format!("the plan {plan} names no schedule_id"))
            })?;
            targets.push(Target {
                environment: owned
                    .environment
                    .clone()
                    .or_else(|| environment_of(&namespace)),
                namespace,
                schedule_id,
                plan: Some(plan),
            });
        }
        if targets.is_empty() {
            return Err(DeployError::Plan(
                "no plans found: a check of nothing would pass; give plans or --namespace"
                    .to_string(),
            ));
        }
    } else {
        namespace = connect::namespace_of_one_environment(namespace);
    }
    if let Some(namespace) = namespace.as_deref() {
        let environment = targets
            .first()
            .and_then(|t: &Target| t.environment.clone())
            .or_else(|| environment_of(namespace));
        let mut client = connect::client(
            requested,
            environment
                .as_ref()
                .and_then(|e| settings.environments.get(e)),
            namespace,
        )?;
        for id in client.list()? {
            if !targets
                .iter()
                .any(|t| t.namespace == namespace && t.schedule_id == id)
            {
                targets.push(Target {
                    namespace: namespace.to_string(),
                    schedule_id: id,
                    environment: environment_of(namespace),
                    plan: None,
                });
            }
        }
    } else if paths.is_empty() {
        return Err(DeployError::Plan(
            "say which schedules: --namespace NS, or plans (or folders of them)".to_string(),
        ));
    }
    Ok((targets, notes))
}

/// Describe every target (one connection per environment and namespace,
/// each to its environment's frontend), then judge each.
pub fn gather(
    settings: &Settings,
    requested: &Requested,
    targets: &[Target],
    options: &Options,
    now: DateTime<Utc>,
) -> Result<StatusReport, TemporalError> {
    let mut by_namespace: BTreeMap<(Option<&str>, &str), Vec<&Target>> = BTreeMap::new();
    for target in targets {
        by_namespace
            .entry((target.environment.as_deref(), target.namespace.as_str()))
            .or_default()
            .push(target);
    }
    let mut schedules = Vec::new();
    for ((environment, namespace), targets) in by_namespace {
        let mut client = connect::client(
            requested,
            environment.and_then(|e| settings.environments.get(e)),
            namespace,
        )?;
        for target in targets {
            let deployed = client.describe(&target.schedule_id)?;
            let mut status = observe(&mut client, target, deployed.as_ref(), options, now)?;
            status.problems = judge(&status, options);
            schedules.push(status);
        }
    }
    schedules.sort_by(|a, b| (&a.namespace, &a.schedule_id).cmp(&(&b.namespace, &b.schedule_id)));
    Ok(StatusReport {
        time: now,
        max_lag: options.max_lag,
        history: options.history,
        schedules,
    })
}

/// What the server says of one schedule, before judging it.
fn observe(
    client: &mut Client,
    target: &Target,
    deployed: Option<&Deployed>,
    options: &Options,
    now: DateTime<Utc>,
) -> Result<ScheduleStatus, TemporalError> {
    let mut status = ScheduleStatus {
        namespace: target.namespace.clone(),
        schedule_id: target.schedule_id.clone(),
        environment: target.environment.clone(),
        plan: target.plan.clone(),
        deployed: deployed.is_some(),
        build: None,
        plan_sha256: None,
        paused: false,
        notes: String::new(),
        next_run: None,
        last_run: None,
        history: Vec::new(),
        task_queue: None,
        workers: None,
        lag: Duration::ZERO,
        missed_catchup_windows: 0,
        overlap_skipped: 0,
        actions: 0,
        running_workflows: 0,
        problems: Vec::new(),
    };
    let Some(deployed) = deployed else {
        return Ok(status);
    };
    status.build = crate::apply::deployed_build(deployed);
    status.plan_sha256 = crate::apply::deployed_plan_sha256(deployed);
    if let Some(state) = &deployed.schedule.state {
        status.paused = state.paused;
        status.notes = state.notes.clone();
    }
    let Some(info) = &deployed.info else {
        return Ok(status);
    };
    status.missed_catchup_windows = info.missed_catchup_window;
    status.overlap_skipped = info.overlap_skipped;
    status.actions = info.action_count;
    status.running_workflows = info.running_workflows.len();
    // A paused schedule fires at none of the times the server still lists.
    if !status.paused {
        status.next_run = info.future_action_times.iter().filter_map(time).min();
    }
    // Newest first; the most recent is always looked at, for its health.
    let mut actions: Vec<_> = info
        .recent_actions
        .iter()
        .filter_map(|a| Some((time(a.actual_time.as_ref()?)?, a)))
        .collect();
    actions.sort_by_key(|(started, _)| std::cmp::Reverse(*started));
    for (i, (started, action)) in actions.into_iter().take(options.history.max(1)).enumerate() {
        let scheduled = action
            .schedule_time
            .as_ref()
            .and_then(time)
            .unwrap_or(started);
        let execution = action.start_workflow_result.clone().unwrap_or_default();
        // The status recorded with the action can be stale, and its run may
        // have been retried or continued: the newest run it led to tells.
        let (run_id, outcome) =
            match client.newest_run(&execution.workflow_id, &execution.run_id)? {
                Some(run) => (run.run_id, Outcome::of(run.info.status())),
                None => (
                    execution.run_id.clone(),
                    Outcome::of(action.start_workflow_status()),
                ),
            };
        let attempt = client
            .history_event(&execution.workflow_id, &run_id, false)?
            .and_then(|event| started_attempt(&event));
        let run = Run {
            scheduled,
            started,
            workflow_id: execution.workflow_id,
            run_id,
            outcome,
            attempt,
        };
        if i == 0 {
            status.lag = span(scheduled, started);
            status.last_run = Some(run.clone());
        }
        if i < options.history {
            status.history.push(run);
        }
    }
    status.task_queue = crate::apply::task_queue(&deployed.schedule);
    if let Some(queue) = &status.task_queue {
        status.workers = Some(match client.workflow_pollers(queue) {
            Ok(pollers) => Workers::Polled {
                pollers: pollers.len(),
                last_poll: pollers
                    .iter()
                    .filter_map(|p| p.last_access_time.as_ref().and_then(time))
                    .max(),
            },
            Err(error) => Workers::Unknown(error.to_string()),
        });
    }
    // A fire time already past that the scheduler has not acted on: it is
    // behind by at least that much.
    if !status.paused
        && let Some(next) = status.next_run
        && next < now
    {
        status.lag = status.lag.max(span(next, now));
    }
    Ok(status)
}

/// The problems of an observed schedule under the options.
pub fn judge(status: &ScheduleStatus, options: &Options) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !status.deployed {
        problems.push(Problem::NotDeployed);
        return problems;
    }
    if status.paused && !(options.allow_paused && has_reason(&status.notes)) {
        problems.push(Problem::Paused {
            notes: status.notes.clone(),
        });
    }
    if let Some(last) = &status.last_run
        && last.outcome.is_failure()
    {
        problems.push(Problem::LastRunFailed(last.outcome));
    }
    if status.lag > options.max_lag {
        problems.push(Problem::Lagging {
            lag: status.lag,
            max: options.max_lag,
        });
    }
    problems
}

/// The attempt a run's first event (WorkflowExecutionStarted) records.
fn started_attempt(
    event: &temporalio_common::protos::temporal::api::history::v1::HistoryEvent,
) -> Option<i32> {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    match event.attributes.as_ref()? {
        Attributes::WorkflowExecutionStartedEventAttributes(a) => Some(a.attempt),
        _ => None,
    }
}

/// A span as a person reads it at a glance: the two largest units.
pub fn compact(d: Duration) -> String {
    let total = d.as_secs();
    if total == 0 {
        return if d.is_zero() {
            "0s".to_string()
        } else {
            format!("{}ms", d.as_millis())
        };
    }
    let units = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)];
    let mut out = String::new();
    let mut rest = total;
    let mut shown = 0;
    for (unit, size) in units {
        let n = rest / size;
        if n > 0 || (shown > 0 && shown < 2) {
            if n > 0 {
                out.push_str(&format!("{n}{unit}"));
            }
            shown += 1;
            rest %= size;
            if shown == 2 {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed() -> ScheduleStatus {
        ScheduleStatus {
            namespace: "ingestion-dev".into(),
            schedule_id: "s".into(),
            environment: None,
            plan: None,
            deployed: true,
            build: None,
            plan_sha256: None,
            paused: false,
            notes: String::new(),
            next_run: None,
            last_run: None,
            history: Vec::new(),
            task_queue: None,
            workers: None,
            lag: Duration::ZERO,
            missed_catchup_windows: 0,
            overlap_skipped: 0,
            actions: 0,
            running_workflows: 0,
            problems: Vec::new(),
        }
    }

    /// A task queue the server could not be asked about is said in every
    /// format, and never counted as zero pollers.
    #[test]
    fn workers_that_could_not_be_asked_about_are_unknown_not_none() {
        let mut unknown = deployed();
        unknown.task_queue = Some("spark-ingest-dev".into());
        unknown.workers = Some(Workers::Unknown("permission denied".into()));
        let mut none = unknown.clone();
        none.schedule_id = "t".into();
        none.workers = Some(Workers::Polled {
            pollers: 0,
            last_poll: None,
        });
        let report = StatusReport {
            time: DateTime::from_timestamp(1_700_000_000, 0).expect("a time"),
            max_lag: Duration::from_secs(300),
            history: 5,
            schedules: vec![unknown.clone(), none],
        };
        assert_eq!(
            unknown.workers_note().as_deref(),
            Some(
                "cannot tell whether a worker polls task queue `spark-ingest-dev`: permission denied"
            )
        );
        assert!(unknown.healthy());

        let human = String::from_utf8(human::render(&report, false)).expect("UTF-8");
        assert!(human.contains("s (ingestion-dev): cannot tell whether a worker polls task queue `spark-ingest-dev`: permission denied\n"), "{human}");
        assert!(
            human.contains("t (ingestion-dev): no worker polls task queue `spark-ingest-dev`"),
            "{human}"
        );

        let value = json::to_value(&report);
        let workers = &value["schedules"][0]["workers"];
        assert_eq!(workers["pollers"], serde_json::Value::Null, "{workers}");
        assert_eq!(workers["error"], "permission denied");
        assert_eq!(value["schedules"][1]["workers"]["pollers"], 0);

        let text = String::from_utf8(prometheus::render(&report)).expect("UTF-8");
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("schedule_id=\"s\""))
            .collect();
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("planguard_schedule_task_queue_pollers{")),
            "{text}"
        );
        assert!(
            lines.iter().any(
                |l| l.starts_with("planguard_schedule_task_queue_describe_failed{")
                    && l.ends_with("} 1")
            ),
            "{text}"
        );
        assert!(text.contains("planguard_schedule_task_queue_pollers{namespace=\"ingestion-dev\",schedule_id=\"t\",environment=\"\",build=\"\",task_queue=\"spark-ingest-dev\"} 0\n"), "{text}");
    }

    #[test]
    fn compact_spans() {
        assert_eq!(compact(Duration::ZERO), "0s");
        assert_eq!(compact(Duration::from_millis(77)), "77ms");
        assert_eq!(compact(Duration::from_secs(59)), "59s");
        assert_eq!(compact(Duration::from_secs(3_600 + 5)), "1h");
        assert_eq!(compact(Duration::from_secs(3_600 + 120)), "1h2m");
        assert_eq!(compact(Duration::from_secs(86_400 * 2 + 7_200)), "2d2h");
    }

    #[test]
    fn a_pause_with_a_reason_is_accepted_only_when_allowed() {
        let options = |allow_paused| Options {
            max_lag: Duration::from_secs(300),
            allow_paused,
            history: 5,
        };
        let mut status = deployed();
        status.paused = true;
        status.notes = "(no reason provided)".into();
        assert_eq!(judge(&status, &options(true)).len(), 1);
        status.notes = "source database migration, INC-123".into();
        assert_eq!(judge(&status, &options(false)).len(), 1);
        assert!(judge(&status, &options(true)).is_empty());
    }
}
