//! A plan as the Temporal Schedule it registers, and a normalized, flat view
//! of any schedule (built from a plan or described by the server) so that
//! "up to date" and drift are decided field by field on equal terms: the
//! server compiles cron strings into calendars and fills defaults, so raw
//! requests and descriptions never compare equal.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::{Value, json};
use temporalio_common::protos::temporal::api::common::v1::{
    Memo, Payload, Payloads, RetryPolicy, WorkflowType,
};
use temporalio_common::protos::temporal::api::enums::v1::ScheduleOverlapPolicy;
use temporalio_common::protos::temporal::api::schedule::v1::{
    IntervalSpec, Range, Schedule, ScheduleAction, SchedulePolicies, ScheduleSpec, ScheduleState,
    StructuredCalendarSpec, schedule_action::Action,
};
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflow::v1::NewWorkflowExecutionInfo;

use crate::check::functions::{CronRange, cron_fields};

/// Memo keys planguard keeps on the started workflows, where Temporal lets
/// them be updated (a schedule's own memo cannot be changed after creation).
pub const MEMO_PLAN_SHA256: &str = "planguard_plan_sha256";
pub const MEMO_BUILD: &str = "planguard_build";
pub const MEMO_GIT_SHA: &str = "planguard_git_sha";

/// What the plan says, ready to send.
#[derive(Debug, Clone)]
pub struct Desired {
    pub schedule_id: String,
    pub namespace: String,
    pub schedule: Schedule,
}

/// Where each normalized field comes from in a plan, for diagnostics.
pub const FIELD_POINTERS: &[(&str, &str)] = &[
    ("calendars", "/schedule/cron"),
    ("intervals", "/schedule/intervals"),
    ("timezone", "/schedule/timezone"),
    ("jitter", "/schedule/jitter"),
    ("overlap", "/policies/overlap"),
    ("catchup_window", "/policies/catchup_window"),
    ("pause_on_failure", "/policies/pause_on_failure"),
    ("workflow_id", "/workflow_id_prefix"),
    ("workflow_type", "/workflow_type"),
    ("task_queue", "/task_queue"),
    ("input", "/input"),
    ("execution_timeout", "/timeouts/execution"),
    ("run_timeout", "/timeouts/run"),
    ("task_timeout", "/timeouts/task"),
    ("retry", "/retry_policy"),
    ("memo", "/memo"),
];

pub fn pointer_of(field: &str) -> &'static str {
    FIELD_POINTERS
        .iter()
        .find(|(name, _)| *name == field)
        .map_or("", |(_, pointer)| pointer)
}

fn duration(text: Option<&Value>) -> Result<Option<Duration>, String> {
    match text {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => crate::duration::parse(s).map(Some),
        Some(other) => Err(format!("{other} is not a duration")),
    }
}

fn proto_duration(d: Option<Duration>) -> Option<prost_wkt_types::Duration> {
    d.and_then(|d| prost_wkt_types::Duration::try_from(d).ok())
}

pub fn json_payload(value: &Value) -> Payload {
    Payload {
        metadata: HashMap::from([("encoding".to_string(), b"json/plain".to_vec())]),
        data: serde_json::to_vec(value).expect("JSON values serialize"),
        ..Default::default()
    }
}

fn payload_json(payload: &Payload) -> Value {
    match payload.metadata.get("encoding").map(Vec::as_slice) {
        Some(b"json/plain") => serde_json::from_slice(&payload.data).unwrap_or(Value::Null),
        _ => json!({"undecodable": payload.data.len()}),
    }
}

fn overlap(name: Option<&str>) -> Result<ScheduleOverlapPolicy, String> {
    Ok(match name.unwrap_or("skip") {
        "skip" => ScheduleOverlapPolicy::Skip,
        "buffer_one" => ScheduleOverlapPolicy::BufferOne,
        "buffer_all" => ScheduleOverlapPolicy::BufferAll,
        "cancel_other" => ScheduleOverlapPolicy::CancelOther,
        "terminate_other" => ScheduleOverlapPolicy::TerminateOther,
        "allow_all" => ScheduleOverlapPolicy::AllowAll,
        other => return Err(format!("unknown overlap policy `{other}`")),
    })
}

/// The schedule a (checked) plan registers. `meta` is what planguard records
/// about the plan on the started workflows.
pub fn desired(plan: &Value, plan_sha256: &str) -> Result<Desired, String> {
    let text = |pointer: &str| {
        plan.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let required =
        |pointer: &str| text(pointer).ok_or_else(|| format!("the plan has no {pointer}"));
    let schedule_id = required("/schedule_id")?;
    let namespace = required("/namespace")?;
    let cron: Vec<String> = plan
        .pointer("/schedule/cron")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    let mut intervals = Vec::new();
    for interval in plan
        .pointer("/schedule/intervals")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        intervals.push(IntervalSpec {
            interval: proto_duration(duration(interval.get("every"))?),
            phase: proto_duration(duration(interval.get("offset"))?),
        });
    }
    let retry = plan.get("retry_policy");
    let retry_policy = retry.map(|r| -> Result<RetryPolicy, String> {
        Ok(RetryPolicy {
            initial_interval: proto_duration(duration(r.get("initial_interval"))?),
            backoff_coefficient: r
                .get("backoff_coefficient")
                .and_then(Value::as_f64)
                .unwrap_or(2.0),
            maximum_interval: proto_duration(duration(r.get("maximum_interval"))?),
            maximum_attempts: r
                .get("maximum_attempts")
                .and_then(Value::as_i64)
                .unwrap_or(0) as i32,
            non_retryable_error_types: r
                .get("non_retryable_error_types")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        })
    });
    let mut memo: HashMap<String, Payload> = plan
        .get("memo")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), json_payload(v)))
        .collect();
    memo.insert(
        MEMO_PLAN_SHA256.to_string(),
        json_payload(&json!(plan_sha256)),
    );
    for (key, pointer) in [(MEMO_BUILD, "/build"), (MEMO_GIT_SHA, "/git_sha")] {
        if let Some(value) = plan.pointer(pointer) {
            memo.insert(key.to_string(), json_payload(value));
        }
    }
    let workflow_id = text("/workflow_id_prefix").unwrap_or_else(|| format!("{schedule_id}-"));
    let schedule = Schedule {
        spec: Some(ScheduleSpec {
            cron_string: cron,
            interval: intervals,
            jitter: proto_duration(duration(plan.pointer("/schedule/jitter"))?),
            timezone_name: text("/schedule/timezone").unwrap_or_default(),
            ..Default::default()
        }),
        action: Some(ScheduleAction {
            action: Some(Action::StartWorkflow(NewWorkflowExecutionInfo {
                workflow_id,
                workflow_type: Some(WorkflowType {
                    name: required("/workflow_type")?,
                }),
                task_queue: Some(TaskQueue {
                    name: required("/task_queue")?,
                    ..Default::default()
                }),
                input: plan.get("input").map(|input| Payloads {
                    payloads: vec![json_payload(input)],
                }),
                workflow_execution_timeout: proto_duration(duration(
                    plan.pointer("/timeouts/execution"),
                )?),
                workflow_run_timeout: proto_duration(duration(plan.pointer("/timeouts/run"))?),
                workflow_task_timeout: proto_duration(duration(plan.pointer("/timeouts/task"))?),
                retry_policy: retry_policy.transpose()?,
                memo: Some(Memo { fields: memo }),
                ..Default::default()
            })),
        }),
        policies: Some(SchedulePolicies {
            overlap_policy: overlap(plan.pointer("/policies/overlap").and_then(Value::as_str))?
                as i32,
            catchup_window: proto_duration(duration(plan.pointer("/policies/catchup_window"))?),
            pause_on_failure: plan
                .pointer("/policies/pause_on_failure")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ..Default::default()
        }),
        state: Some(ScheduleState::default()),
    };
    Ok(Desired {
        schedule_id,
        namespace,
        schedule,
    })
}

fn seconds(d: Option<&prost_wkt_types::Duration>) -> Value {
    match d {
        Some(d) if d.seconds != 0 || d.nanos != 0 => {
            json!(d.seconds as f64 + f64::from(d.nanos) / 1e9)
        }
        _ => json!(0),
    }
}

fn ranges(cron: &[CronRange]) -> Vec<(u32, u32, u32)> {
    cron.iter()
        .map(|r| (r.start, r.end, r.step.max(1)))
        .collect()
}

fn proto_ranges(ranges: &[Range]) -> Vec<(u32, u32, u32)> {
    ranges
        .iter()
        .map(|r| {
            let start = r.start.max(0) as u32;
            // An end of 0 means "the same as start" in Temporal's ranges.
            let end = if r.end < r.start { start } else { r.end as u32 };
            (start, end, r.step.max(1) as u32)
        })
        .collect()
}

/// A calendar as comparable JSON: [second, minute, hour, day of month,
/// month, day of week] ranges.
fn calendar_json(fields: [Vec<(u32, u32, u32)>; 6]) -> Value {
    json!(fields)
}

fn calendars(spec: &ScheduleSpec) -> Value {
    let mut all: Vec<Value> = spec
        .cron_string
        .iter()
        .map(|cron| match cron_fields(cron) {
            Ok([minute, hour, dom, month, dow]) => calendar_json([
                vec![(0, 0, 1)],
                ranges(&minute),
                ranges(&hour),
                ranges(&dom),
                ranges(&month),
                ranges(&dow),
            ]),
            Err(e) => json!({"invalid cron": cron, "error": e}),
        })
        .collect();
    all.extend(
        spec.structured_calendar
            .iter()
            .map(|c: &StructuredCalendarSpec| {
                calendar_json([
                    proto_ranges(&c.second),
                    proto_ranges(&c.minute),
                    proto_ranges(&c.hour),
                    proto_ranges(&c.day_of_month),
                    proto_ranges(&c.month),
                    proto_ranges(&c.day_of_week),
                ])
            }),
    );
    all.sort_by_key(|v| v.to_string());
    Value::Array(all)
}

/// The normalized, flat view of a schedule: what is compared for "up to date"
/// and drift. Operator state (paused, notes) is not part of it.
pub fn normalize(schedule: &Schedule) -> BTreeMap<&'static str, Value> {
    let mut fields = BTreeMap::new();
    let spec = schedule.spec.clone().unwrap_or_default();
    fields.insert("calendars", calendars(&spec));
    let mut intervals: Vec<Value> = spec
        .interval
        .iter()
        .map(|i| json!([seconds(i.interval.as_ref()), seconds(i.phase.as_ref())]))
        .collect();
    intervals.sort_by_key(|v| v.to_string());
    fields.insert("intervals", Value::Array(intervals));
    fields.insert("timezone", json!(spec.timezone_name));
    fields.insert("jitter", seconds(spec.jitter.as_ref()));
    let policies = schedule.policies.unwrap_or_default();
    // The server fills the defaults in: unspecified overlap is skip, no
    // catch-up window is one year.
    let overlap = match ScheduleOverlapPolicy::try_from(policies.overlap_policy) {
        Ok(ScheduleOverlapPolicy::Unspecified) | Err(_) => ScheduleOverlapPolicy::Skip,
        Ok(policy) => policy,
    };
    fields.insert("overlap", json!(overlap.as_str_name()));
    let catchup = match seconds(policies.catchup_window.as_ref()) {
        Value::Number(n) if n.as_f64() != Some(0.0) => Value::Number(n),
        _ => json!(365.0 * 24.0 * 3600.0),
    };
    fields.insert("catchup_window", catchup);
    fields.insert("pause_on_failure", json!(policies.pause_on_failure));
    if let Some(ScheduleAction {
        action: Some(Action::StartWorkflow(w)),
    }) = &schedule.action
    {
        fields.insert("workflow_id", json!(w.workflow_id));
        fields.insert(
            "workflow_type",
            json!(w.workflow_type.as_ref().map(|t| &t.name)),
        );
        fields.insert("task_queue", json!(w.task_queue.as_ref().map(|t| &t.name)));
        let input: Vec<Value> = w
            .input
            .as_ref()
            .map(|p| p.payloads.iter().map(payload_json).collect())
            .unwrap_or_default();
        fields.insert("input", Value::Array(input));
        fields.insert(
            "execution_timeout",
            seconds(w.workflow_execution_timeout.as_ref()),
        );
        fields.insert("run_timeout", seconds(w.workflow_run_timeout.as_ref()));
        fields.insert("task_timeout", seconds(w.workflow_task_timeout.as_ref()));
        let retry = w.retry_policy.clone().unwrap_or_default();
        fields.insert(
            "retry",
            json!({
                "initial_interval": seconds(retry.initial_interval.as_ref()),
                "backoff_coefficient": retry.backoff_coefficient,
                "maximum_interval": seconds(retry.maximum_interval.as_ref()),
                "maximum_attempts": retry.maximum_attempts,
                "non_retryable_error_types": retry.non_retryable_error_types,
            }),
        );
        let memo: BTreeMap<&String, Value> = w
            .memo
            .as_ref()
            .map(|m| m.fields.iter().map(|(k, v)| (k, payload_json(v))).collect())
            .unwrap_or_default();
        fields.insert("memo", json!(memo));
    }
    fields
}

/// A field whose deployed value differs from the plan's.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub field: &'static str,
    pub planned: Value,
    pub deployed: Value,
}

pub fn differences(planned: &Schedule, deployed: &Schedule) -> Vec<Difference> {
    let planned = normalize(planned);
    let deployed = normalize(deployed);
    let mut fields: Vec<&'static str> = planned.keys().chain(deployed.keys()).copied().collect();
    fields.sort_unstable();
    fields.dedup();
    fields
        .into_iter()
        .filter_map(|field| {
            let p = planned.get(field).cloned().unwrap_or(Value::Null);
            let d = deployed.get(field).cloned().unwrap_or(Value::Null);
            (!same(&p, &d)).then_some(Difference {
                field,
                planned: p,
                deployed: d,
            })
        })
        .collect()
}

/// Numbers compare by value (2 and 2.0 are one backoff coefficient).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// A value as a person reads it: durations in Go notation.
pub fn shown(field: &str, value: &Value) -> String {
    let is_duration = matches!(
        field,
        "jitter" | "catchup_window" | "execution_timeout" | "run_timeout" | "task_timeout"
    );
    match value {
        Value::Number(n) if is_duration => go_duration(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn go_duration(seconds: f64) -> String {
    if seconds == 0.0 {
        return "0s".to_string();
    }
    let total = seconds.round() as u64;
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Value {
        serde_json::from_str(include_str!(
            "../../fixtures/workspaces/clean/orchestration_plans/prod/12.json"
        ))
        .expect("fixture is JSON")
    }

    #[test]
    fn a_plan_and_its_own_schedule_do_not_differ() {
        let desired = desired(&plan(), "abc").expect("valid plan");
        assert_eq!(desired.schedule_id, "customer-orders");
        assert!(differences(&desired.schedule, &desired.schedule).is_empty());
    }

    #[test]
    fn the_server_form_of_a_cron_string_equals_it() {
        let desired = desired(&plan(), "abc").expect("valid plan");
        let mut described = desired.schedule.clone();
        let spec = described.spec.as_mut().expect("spec");
        let crons = std::mem::take(&mut spec.cron_string);
        for cron in crons {
            let [minute, hour, dom, month, dow] = cron_fields(&cron).expect("valid");
            let r = |rs: Vec<CronRange>| {
                rs.into_iter()
                    .map(|c| Range {
                        start: c.start as i32,
                        end: c.end as i32,
                        step: c.step as i32,
                    })
                    .collect()
            };
            spec.structured_calendar.push(StructuredCalendarSpec {
                second: vec![Range {
                    start: 0,
                    end: 0,
                    step: 1,
                }],
                minute: r(minute),
                hour: r(hour),
                day_of_month: r(dom),
                month: r(month),
                day_of_week: r(dow),
                ..Default::default()
            });
        }
        assert!(differences(&desired.schedule, &described).is_empty());
    }

    #[test]
    fn a_changed_jitter_is_one_difference_shown_as_a_duration() {
        let desired = desired(&plan(), "abc").expect("valid plan");
        let mut deployed = desired.schedule.clone();
        deployed.spec.as_mut().expect("spec").jitter =
            proto_duration(Some(Duration::from_secs(30)));
        let diff = differences(&desired.schedule, &deployed);
        assert_eq!(diff.len(), 1);
        assert_eq!(diff[0].field, "jitter");
        assert_eq!(shown("jitter", &diff[0].deployed), "30s");
        assert_eq!(go_duration(5400.0), "1h30m");
    }
}
