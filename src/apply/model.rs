//! A plan as the Temporal Schedule it registers, and a normalized, flat view
//! of any schedule (built from a plan or described by the server) so that
//! "up to date", "verified" and drift are decided field by field on equal
//! terms: the server compiles cron strings into calendars and fills defaults,
//! so raw requests and descriptions never compare equal.
//!
//! `ROUTES` says where every property of the plan schema goes: deployed (and
//! then compared under a named field), the schedule's address, or plan
//! metadata that is legitimately not deployed. A unit test walks the schema
//! so that no property can be accepted and silently dropped; a value the
//! schema accepts but Temporal cannot hold as written is `Undeployable`, and
//! the gate refuses it at its JSON pointer.

use std::collections::{BTreeMap, BTreeSet, HashMap};

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

use crate::cron::{CronRange, cron_fields};

use crate::deployable::Seconds;
pub use crate::deployable::{
    MEMO_BUILD, MEMO_GIT_SHA, MEMO_IMAGE, MEMO_PLAN_SHA256, MEMO_SECRETS, Undeployable,
};

/// What the plan says, ready to send.
#[derive(Debug, Clone)]
pub struct Desired {
    pub schedule_id: String,
    pub namespace: String,
    pub schedule: Schedule,
}

/// Where a property of the plan schema goes when the plan is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Sent to Temporal, described back and compared as this field of `normalize`.
    Deployed(&'static str),
    /// Names the schedule (namespace and id): every describe is addressed by it.
    Address,
    /// Plan metadata, not deployed (the plan's sha256 is, so it is traceable).
    Metadata,
}

/// Every property path of the plan schema and where it goes; `*` is any
/// array item or map key, `x-*` any extension key. The longest matching
/// path decides, so a deployed object carries its members (extension keys
/// included) unless a longer path says otherwise. docs/deploy.md is this
/// table for people; unit tests hold both to the schema.
pub const ROUTES: &[(&str, Route)] = &[
    ("/$schema", Route::Metadata),
    ("/x-*", Route::Metadata),
    ("/plan_version", Route::Metadata),
    ("/environment", Route::Metadata),
    ("/generated_at", Route::Metadata),
    ("/generator", Route::Metadata),
    ("/source_config", Route::Metadata),
    ("/namespace", Route::Address),
    ("/schedule_id", Route::Address),
    ("/build", Route::Deployed("build")),
    ("/git_sha", Route::Deployed("git_sha")),
    ("/task_queue", Route::Deployed("task_queue")),
    ("/workflow_type", Route::Deployed("workflow_type")),
    ("/workflow_id_prefix", Route::Deployed("workflow_id")),
    ("/schedule/x-*", Route::Metadata),
    ("/schedule/cron", Route::Deployed("calendars")),
    ("/schedule/intervals", Route::Deployed("intervals")),
    ("/schedule/intervals/*/x-*", Route::Metadata),
    ("/schedule/timezone", Route::Deployed("timezone")),
    ("/schedule/jitter", Route::Deployed("jitter")),
    ("/schedule/start_at", Route::Deployed("start_at")),
    ("/schedule/end_at", Route::Deployed("end_at")),
    ("/policies/x-*", Route::Metadata),
    ("/policies/overlap", Route::Deployed("overlap")),
    (
        "/policies/catchup_window",
        Route::Deployed("catchup_window"),
    ),
    (
        "/policies/pause_on_failure",
        Route::Deployed("pause_on_failure"),
    ),
    ("/retry_policy", Route::Deployed("retry_policy")),
    ("/retry_policy/x-*", Route::Metadata),
    (
        "/retry_policy/initial_interval",
        Route::Deployed("retry_initial_interval"),
    ),
    (
        "/retry_policy/backoff_coefficient",
        Route::Deployed("retry_backoff_coefficient"),
    ),
    (
        "/retry_policy/maximum_interval",
        Route::Deployed("retry_maximum_interval"),
    ),
    (
        "/retry_policy/maximum_attempts",
        Route::Deployed("retry_maximum_attempts"),
    ),
    (
        "/retry_policy/non_retryable_error_types",
        Route::Deployed("retry_non_retryable_error_types"),
    ),
    ("/timeouts/x-*", Route::Metadata),
    ("/timeouts/execution", Route::Deployed("execution_timeout")),
    ("/timeouts/run", Route::Deployed("run_timeout")),
    ("/timeouts/task", Route::Deployed("task_timeout")),
    ("/image", Route::Deployed("image")),
    ("/input", Route::Deployed("input")),
    ("/secrets", Route::Deployed("secrets")),
    ("/memo", Route::Deployed("memo")),
];

/// The normalized field that records which plan file was applied: it
/// changes with any byte of the plan, metadata included, so it is not drift.
pub const PLAN_RECORD: &str = "plan_sha256";

fn segment_matches(pattern: &str, segment: &str) -> bool {
    pattern == segment || pattern == "*" || (pattern == "x-*" && segment.starts_with("x-"))
}

/// Where a property goes, by its JSON pointer in a plan (or its path in the
/// schema, with `*` and `x-*` segments); None for a path no route covers.
pub fn route(path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    ROUTES
        .iter()
        .filter(|(pattern, _)| {
            let pattern: Vec<&str> = pattern.split('/').skip(1).collect();
            pattern.len() <= segments.len()
                && pattern
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| segment_matches(p, s))
        })
        .max_by_key(|(pattern, _)| pattern.split('/').count())
        .map(|(_, route)| *route)
}

/// The plan field a normalized field comes from, for diagnostics.
pub fn pointer_of(field: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|(_, route)| matches!(route, Route::Deployed(f) if *f == field))
        .map_or("", |(pointer, _)| pointer)
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

fn overlap(name: Option<&str>) -> Option<ScheduleOverlapPolicy> {
    Some(match name.unwrap_or("skip") {
        "skip" => ScheduleOverlapPolicy::Skip,
        "buffer_one" => ScheduleOverlapPolicy::BufferOne,
        "buffer_all" => ScheduleOverlapPolicy::BufferAll,
        "cancel_other" => ScheduleOverlapPolicy::CancelOther,
        "terminate_other" => ScheduleOverlapPolicy::TerminateOther,
        "allow_all" => ScheduleOverlapPolicy::AllowAll,
        _ => return None,
    })
}

fn duration(d: Option<Seconds>) -> Option<prost_wkt_types::Duration> {
    d.map(|d| prost_wkt_types::Duration {
        seconds: d.seconds,
        nanos: d.nanos,
    })
}

fn timestamp(t: Option<Seconds>) -> Option<prost_wkt_types::Timestamp> {
    t.map(|t| prost_wkt_types::Timestamp {
        seconds: t.seconds,
        nanos: t.nanos,
    })
}

/// The schedule a (checked) plan registers, with `plan_sha256` recorded on
/// the started workflows; or every field that cannot be deployed as written
/// (read by [`crate::deployable::read`]).
pub fn desired(plan: &Value, plan_sha256: &str) -> Result<Desired, Vec<Undeployable>> {
    let read = crate::deployable::read(plan, plan_sha256)?;
    let spec = ScheduleSpec {
        cron_string: read.cron,
        interval: read
            .intervals
            .iter()
            .map(|i| IntervalSpec {
                interval: duration(i.every),
                phase: duration(i.offset),
            })
            .collect(),
        jitter: duration(read.jitter),
        timezone_name: read.timezone,
        start_time: timestamp(read.start_at),
        end_time: timestamp(read.end_at),
        ..Default::default()
    };
    let action = NewWorkflowExecutionInfo {
        workflow_id: read.workflow_id,
        workflow_type: Some(WorkflowType {
            name: read.workflow_type,
        }),
        task_queue: Some(TaskQueue {
            name: read.task_queue,
            ..Default::default()
        }),
        input: read.input.map(|input| Payloads {
            payloads: vec![json_payload(&input)],
        }),
        workflow_execution_timeout: duration(read.execution_timeout),
        workflow_run_timeout: duration(read.run_timeout),
        workflow_task_timeout: duration(read.task_timeout),
        retry_policy: read.retry.map(|retry| RetryPolicy {
            initial_interval: duration(retry.initial_interval),
            backoff_coefficient: retry.backoff_coefficient,
            maximum_interval: duration(retry.maximum_interval),
            maximum_attempts: retry.maximum_attempts,
            non_retryable_error_types: retry.non_retryable_error_types,
        }),
        memo: Some(Memo {
            fields: read
                .memo
                .iter()
                .map(|(key, value)| (key.clone(), json_payload(value)))
                .collect(),
        }),
        ..Default::default()
    };
    let policies = SchedulePolicies {
        // read() accepts only the policies overlap() knows.
        overlap_policy: overlap(Some(read.overlap)).unwrap_or(ScheduleOverlapPolicy::Skip) as i32,
        catchup_window: duration(read.catchup_window),
        pause_on_failure: read.pause_on_failure,
        ..Default::default()
    };
    Ok(Desired {
        schedule_id: read.schedule_id,
        namespace: read.namespace,
        schedule: Schedule {
            spec: Some(spec),
            action: Some(ScheduleAction {
                action: Some(Action::StartWorkflow(action)),
            }),
            policies: Some(policies),
            state: Some(ScheduleState::default()),
        },
    })
}

/// Nanoseconds of a protobuf duration (negative ones count as zero).
fn nanos(d: Option<&prost_wkt_types::Duration>) -> u128 {
    d.map_or(0, |d| {
        (d.seconds.max(0) as u128) * 1_000_000_000 + d.nanos.max(0) as u128
    })
}

/// A duration as exact Go-style text, the way a plan writes it: 1h30m,
/// 2.5s, 250ms, 0s.
pub fn go_nanos(total: u128) -> String {
    fn decimal(n: u128, unit: u128) -> String {
        let (whole, fraction) = (n / unit, n % unit);
        if fraction == 0 {
            return whole.to_string();
        }
        let width = unit.to_string().len() - 1;
        let digits = format!("{fraction:0width$}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }
    const SECOND: u128 = 1_000_000_000;
    match total {
        0 => "0s".to_string(),
        t if t < 1_000 => format!("{t}ns"),
        t if t < 1_000_000 => format!("{}µs", decimal(t, 1_000)),
        t if t < SECOND => format!("{}ms", decimal(t, 1_000_000)),
        t => {
            let (h, m) = (t / (3600 * SECOND), t / (60 * SECOND) % 60);
            let rest = t % (60 * SECOND);
            let mut out = String::new();
            if h > 0 {
                out.push_str(&format!("{h}h"));
            }
            if m > 0 {
                out.push_str(&format!("{m}m"));
            }
            if rest > 0 {
                out.push_str(&format!("{}s", decimal(rest, SECOND)));
            }
            out
        }
    }
}

fn duration_text(d: Option<&prost_wkt_types::Duration>) -> Value {
    json!(go_nanos(nanos(d)))
}

fn timestamp_text(t: Option<&prost_wkt_types::Timestamp>) -> Value {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map_or(Value::Null, |t| {
            json!(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        })
}

/// The values a calendar field matches, as compact text (`*` for all of
/// them): equal sets compare equal however the ranges are written.
fn values_text(values: BTreeSet<u32>, low: u32, high: u32) -> String {
    if values.is_empty() || values == (low..=high).collect::<BTreeSet<u32>>() {
        return "*".to_string();
    }
    let values: Vec<u32> = values.into_iter().collect();
    let mut runs: Vec<String> = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        runs.push(if j == i {
            values[i].to_string()
        } else {
            format!("{}-{}", values[i], values[j])
        });
        i = j + 1;
    }
    runs.join(",")
}

/// (start, end, step) ranges of one calendar field, bounded by low..=high;
/// day of week 7 is Sunday, 0.
fn field_values(ranges: &[(u32, u32, u32)], low: u32, high: u32, week: bool) -> BTreeSet<u32> {
    // Sunday is 7 as well as 0 in a day-of-week range.
    let last = if week { 7 } else { high };
    let mut values = BTreeSet::new();
    for &(start, end, step) in ranges {
        let mut v = start;
        while v <= end.min(last) {
            if v >= low {
                values.insert(if week && v == 7 { 0 } else { v });
            }
            v += step.max(1);
        }
    }
    values
}

const CALENDAR_FIELDS: [(u32, u32); 6] = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];

/// A calendar as cron-like text with seconds: `second minute hour
/// day-of-month month day-of-week`, then any years.
fn calendar_text(fields: [Vec<(u32, u32, u32)>; 6], years: &[Range]) -> String {
    let mut parts: Vec<String> = fields
        .iter()
        .zip(CALENDAR_FIELDS)
        .enumerate()
        .map(|(i, (ranges, (low, high)))| {
            values_text(field_values(ranges, low, high, i == 5), low, high)
        })
        .collect();
    if !years.is_empty() {
        let mut ranges: Vec<String> = proto_ranges(years)
            .iter()
            .map(|(s, e, step)| format!("{s}-{e}/{step}"))
            .collect();
        ranges.sort();
        parts.push(format!("year {}", ranges.join(",")));
    }
    parts.join(" ")
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

fn structured_text(c: &StructuredCalendarSpec) -> String {
    // An empty field matches only 0 (or 1 for days and months) in Temporal:
    // the field's start.
    let or_default = |r: &[Range], low: i32| {
        if r.is_empty() {
            vec![(low as u32, low as u32, 1)]
        } else {
            proto_ranges(r)
        }
    };
    calendar_text(
        [
            or_default(&c.second, 0),
            or_default(&c.minute, 0),
            or_default(&c.hour, 0),
            // Temporal's defaults: every day of the month, every month, every day of the week.
            if c.day_of_month.is_empty() {
                vec![(1, 31, 1)]
            } else {
                proto_ranges(&c.day_of_month)
            },
            if c.month.is_empty() {
                vec![(1, 12, 1)]
            } else {
                proto_ranges(&c.month)
            },
            if c.day_of_week.is_empty() {
                vec![(0, 6, 1)]
            } else {
                proto_ranges(&c.day_of_week)
            },
        ],
        &c.year,
    )
}

fn calendars(spec: &ScheduleSpec) -> Value {
    let mut all: Vec<String> = spec
        .cron_string
        .iter()
        .map(|cron| match cron_fields(cron) {
            Ok([minute, hour, dom, month, dow]) => calendar_text(
                [
                    vec![(0, 0, 1)],
                    ranges(&minute),
                    ranges(&hour),
                    ranges(&dom),
                    ranges(&month),
                    ranges(&dow),
                ],
                &[],
            ),
            Err(e) => format!("invalid cron `{cron}`: {e}"),
        })
        .collect();
    all.extend(spec.structured_calendar.iter().map(structured_text));
    all.extend(
        spec.exclude_structured_calendar
            .iter()
            .map(|c| format!("except {}", structured_text(c))),
    );
    all.sort();
    json!(all)
}

/// The normalized, flat view of a schedule: every deployed field (the
/// `Route::Deployed` names, plus the plan record), compared for "up to
/// date", "verified" and drift. Operator state (paused, notes) is not part
/// of it: the plan cannot express it and an update carries it over.
pub fn normalize(schedule: &Schedule) -> BTreeMap<&'static str, Value> {
    let mut fields = BTreeMap::new();
    let spec = schedule.spec.clone().unwrap_or_default();
    fields.insert("calendars", calendars(&spec));
    let mut intervals: Vec<String> = spec
        .interval
        .iter()
        .map(|i| {
            let every = go_nanos(nanos(i.interval.as_ref()));
            match nanos(i.phase.as_ref()) {
                0 => every,
                offset => format!("{every} offset {}", go_nanos(offset)),
            }
        })
        .collect();
    intervals.sort();
    fields.insert("intervals", json!(intervals));
    fields.insert("timezone", json!(spec.timezone_name));
    fields.insert("jitter", duration_text(spec.jitter.as_ref()));
    fields.insert("start_at", timestamp_text(spec.start_time.as_ref()));
    fields.insert("end_at", timestamp_text(spec.end_time.as_ref()));
    let policies = schedule.policies.unwrap_or_default();
    // The server fills the defaults in: unspecified overlap is skip, no
    // catch-up window is one year.
    let overlap = match ScheduleOverlapPolicy::try_from(policies.overlap_policy) {
        Ok(ScheduleOverlapPolicy::Unspecified) | Err(_) => ScheduleOverlapPolicy::Skip,
        Ok(policy) => policy,
    };
    let overlap_name = overlap
        .as_str_name()
        .trim_start_matches("SCHEDULE_OVERLAP_POLICY_")
        .to_lowercase();
    fields.insert("overlap", json!(overlap_name));
    let catchup = match nanos(policies.catchup_window.as_ref()) {
        0 => 365 * 24 * 3600 * 1_000_000_000,
        n => n,
    };
    fields.insert("catchup_window", json!(go_nanos(catchup)));
    fields.insert("pause_on_failure", json!(policies.pause_on_failure));
    let workflow = match &schedule.action {
        Some(ScheduleAction {
            action: Some(Action::StartWorkflow(w)),
        }) => w.clone(),
        _ => NewWorkflowExecutionInfo::default(),
    };
    fields.insert("workflow_id", json!(workflow.workflow_id));
    fields.insert(
        "workflow_type",
        json!(workflow.workflow_type.as_ref().map(|t| &t.name)),
    );
    fields.insert(
        "task_queue",
        json!(workflow.task_queue.as_ref().map(|t| &t.name)),
    );
    let input: Vec<Value> = workflow
        .input
        .as_ref()
        .map(|p| p.payloads.iter().map(payload_json).collect())
        .unwrap_or_default();
    fields.insert("input", Value::Array(input));
    fields.insert(
        "execution_timeout",
        duration_text(workflow.workflow_execution_timeout.as_ref()),
    );
    fields.insert(
        "run_timeout",
        duration_text(workflow.workflow_run_timeout.as_ref()),
    );
    fields.insert(
        "task_timeout",
        duration_text(workflow.workflow_task_timeout.as_ref()),
    );
    // No retry policy (no retries for a workflow) and an empty one
    // (Temporal's defaults, unlimited attempts) are different things.
    let retry = workflow.retry_policy.as_ref();
    fields.insert(
        "retry_policy",
        json!(if retry.is_some() { "set" } else { "none" }),
    );
    let part = |f: &dyn Fn(&RetryPolicy) -> Value| retry.map_or(Value::Null, f);
    fields.insert(
        "retry_initial_interval",
        part(&|r| duration_text(r.initial_interval.as_ref())),
    );
    fields.insert(
        "retry_backoff_coefficient",
        part(&|r| json!(r.backoff_coefficient)),
    );
    fields.insert(
        "retry_maximum_interval",
        part(&|r| duration_text(r.maximum_interval.as_ref())),
    );
    fields.insert(
        "retry_maximum_attempts",
        part(&|r| json!(r.maximum_attempts)),
    );
    fields.insert(
        "retry_non_retryable_error_types",
        part(&|r| json!(r.non_retryable_error_types)),
    );
    let mut memo: BTreeMap<String, Value> = workflow
        .memo
        .as_ref()
        .map(|m| {
            m.fields
                .iter()
                .map(|(k, v)| (k.clone(), payload_json(v)))
                .collect()
        })
        .unwrap_or_default();
    for (field, key) in [
        (PLAN_RECORD, MEMO_PLAN_SHA256),
        ("build", MEMO_BUILD),
        ("git_sha", MEMO_GIT_SHA),
        ("image", MEMO_IMAGE),
        ("secrets", MEMO_SECRETS),
    ] {
        fields.insert(field, memo.remove(key).unwrap_or(Value::Null));
    }
    fields.insert("memo", json!(memo));
    fields
}

/// A field whose deployed value differs from the plan's.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub field: &'static str,
    pub planned: Value,
    pub deployed: Value,
}

/// The fields that differ. When one side has a retry policy and the other
/// has none, that is the difference, not each of its members.
pub fn differences(planned: &Schedule, deployed: &Schedule) -> Vec<Difference> {
    let planned = normalize(planned);
    let deployed = normalize(deployed);
    let mut fields: Vec<&'static str> = planned.keys().chain(deployed.keys()).copied().collect();
    fields.sort_unstable();
    fields.dedup();
    let retry_presence_differs = planned.get("retry_policy") != deployed.get("retry_policy");
    fields
        .into_iter()
        .filter(|field| {
            !(retry_presence_differs && field.starts_with("retry_") && *field != "retry_policy")
        })
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

/// A value as a person reads it: durations in Go notation, the image by
/// its reference, secrets by name, the plan record by a short hash.
pub fn shown(field: &str, value: &Value) -> String {
    match (field, value) {
        (_, Value::Null) => "none".to_string(),
        (PLAN_RECORD, Value::String(s)) => s.get(..12).unwrap_or(s.as_str()).to_string(),
        ("image", Value::Object(image)) => {
            let reference = image.get("ref").and_then(Value::as_str).unwrap_or("?");
            match image.get("signature") {
                Some(_) => format!("{reference} (signed)"),
                None => reference.to_string(),
            }
        }
        ("secrets", Value::Array(secrets)) => {
            let names: Vec<&str> = secrets
                .iter()
                .map(|s| s.get("name").and_then(Value::as_str).unwrap_or("?"))
                .collect();
            format!("[{}]", names.join(", "))
        }
        ("calendars" | "intervals", Value::Array(items)) => {
            let items: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            format!("[{}]", items.join("; "))
        }
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployable::escape;

    fn plan() -> Value {
        serde_json::from_str(include_str!(
            "../../fixtures/workspaces/clean/orchestration_plans/prod/12.json"
        ))
        .expect("fixture is JSON")
    }

    fn refused(change: impl FnOnce(&mut Value)) -> Vec<Undeployable> {
        let mut plan = plan();
        change(&mut plan);
        desired(&plan, "abc").expect_err("undeployable")
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
                    .rev()
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
        deployed.spec.as_mut().expect("spec").jitter = Some(prost_wkt_types::Duration {
            seconds: 30,
            nanos: 0,
        });
        let diff = differences(&desired.schedule, &deployed);
        assert_eq!(diff.len(), 1);
        assert_eq!(diff[0].field, "jitter");
        assert_eq!(shown("jitter", &diff[0].deployed), "30s");
        assert_eq!(go_nanos(5_400_000_000_000), "1h30m");
        assert_eq!(go_nanos(2_500_000_000), "2.5s");
        assert_eq!(go_nanos(1_500), "1.5µs");
        assert_eq!(go_nanos(3_600_000_000_001), "1h0.000000001s");
    }

    /// The bug this module was rewritten for: a window was accepted,
    /// reported verified, and never sent.
    #[test]
    fn the_schedule_window_is_sent_and_compared() {
        let mut plan = plan();
        plan["schedule"]["start_at"] = json!("2025-11-01T03:00:00+03:00");
        plan["schedule"]["end_at"] = json!("2026-01-01T00:00:00.5Z");
        let desired = desired(&plan, "abc").expect("valid plan");
        let spec = desired.schedule.spec.clone().expect("spec");
        assert_eq!(spec.start_time.map(|t| t.seconds), Some(1_761_955_200));
        assert_eq!(spec.end_time.map(|t| t.nanos), Some(500_000_000));
        let normalized = normalize(&desired.schedule);
        assert_eq!(normalized["start_at"], "2025-11-01T00:00:00Z");
        assert_eq!(normalized["end_at"], "2026-01-01T00:00:00.500Z");
        let mut deployed = desired.schedule.clone();
        deployed.spec.as_mut().expect("spec").end_time = None;
        let diff = differences(&desired.schedule, &deployed);
        assert_eq!(diff.len(), 1);
        assert_eq!(diff[0].field, "end_at");
        assert_eq!(pointer_of("end_at"), "/schedule/end_at");
    }

    #[test]
    fn every_deployed_route_is_a_normalized_field_and_back() {
        let normalized = normalize(&desired(&plan(), "abc").expect("valid").schedule);
        let mut routed: BTreeSet<&str> = ROUTES
            .iter()
            .filter_map(|(_, route)| match route {
                Route::Deployed(field) => Some(*field),
                _ => None,
            })
            .collect();
        routed.insert(PLAN_RECORD);
        let compared: BTreeSet<&str> = normalized.keys().copied().collect();
        assert_eq!(routed, compared);
    }

    /// Every change of a deployed plan property changes what is sent, so a
    /// deployed schedule that lacks it is a difference (the contract
    /// "apply sends it, verify compares it").
    #[test]
    fn changing_any_deployed_property_is_a_difference_in_its_field() {
        let base = desired(&plan(), "abc").expect("valid").schedule;
        let changes: &[(&str, Value)] = &[
            ("/build", json!("13")),
            (
                "/git_sha",
                json!("0000000000000000000000000000000000000000"),
            ),
            ("/task_queue", json!("other")),
            ("/workflow_type", json!("Other")),
            ("/workflow_id_prefix", json!("other-")),
            ("/schedule/cron", json!(["0 3 * * *"])),
            (
                "/schedule/intervals",
                json!([{"every": "1h", "offset": "5m"}]),
            ),
            ("/schedule/timezone", json!("UTC")),
            ("/schedule/jitter", json!("1s")),
            ("/schedule/start_at", json!("2025-01-01T00:00:00Z")),
            ("/schedule/end_at", json!("2035-01-01T00:00:00Z")),
            ("/policies/overlap", json!("allow_all")),
            ("/policies/catchup_window", json!("2h")),
            ("/policies/pause_on_failure", json!(true)),
            ("/retry_policy/initial_interval", json!("1s")),
            ("/retry_policy/backoff_coefficient", json!(3.5)),
            ("/retry_policy/maximum_interval", json!("1h")),
            ("/retry_policy/maximum_attempts", json!(9)),
            ("/retry_policy/non_retryable_error_types", json!(["X"])),
            ("/timeouts/execution", json!("1h")),
            ("/timeouts/run", json!("1h")),
            ("/timeouts/task", json!("1m")),
            ("/image/ref", json!("registry.dev/x:1")),
            ("/input/pipeline", json!("other")),
            ("/secrets", json!([])),
            ("/memo/owner", json!("someone")),
        ];
        for (pointer, value) in changes {
            let mut plan = plan();
            let (parent, key) = pointer.rsplit_once('/').expect("member");
            plan.pointer_mut(parent)
                .and_then(Value::as_object_mut)
                .expect("parent object")
                .insert(key.to_string(), value.clone());
            let changed = desired(&plan, "abc").expect("valid").schedule;
            let fields: Vec<&str> = differences(&base, &changed)
                .iter()
                .map(|d| d.field)
                .collect();
            let expected = match route(pointer) {
                Some(Route::Deployed(field)) => field,
                other => panic!("{pointer} routes to {other:?}"),
            };
            assert_eq!(fields, [expected], "{pointer}");
        }
    }

    #[test]
    fn metadata_changes_only_the_plan_record() {
        let base = desired(&plan(), "abc").expect("valid").schedule;
        let mut plan = plan();
        plan["generated_at"] = json!("2030-01-01T00:00:00Z");
        plan["x-team"] = json!("ingestion");
        let changed = desired(&plan, "def").expect("valid").schedule;
        let fields: Vec<&str> = differences(&base, &changed)
            .iter()
            .map(|d| d.field)
            .collect();
        assert_eq!(fields, [PLAN_RECORD]);
    }

    #[test]
    fn no_retry_policy_and_an_empty_one_differ_in_presence_only() {
        let mut plan = plan();
        plan.as_object_mut().expect("object").remove("retry_policy");
        let none = desired(&plan, "abc").expect("valid").schedule;
        plan["retry_policy"] = json!({});
        let empty = desired(&plan, "abc").expect("valid").schedule;
        let fields: Vec<&str> = differences(&none, &empty).iter().map(|d| d.field).collect();
        assert_eq!(fields, ["retry_policy"]);
    }

    #[test]
    fn what_temporal_cannot_hold_is_refused_at_its_pointer() {
        type Change = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|p| p["retry_policy"]["maximum_attempts"] = json!(3_000_000_000u64)),
                "/retry_policy/maximum_attempts",
            ),
            (
                Box::new(|p| p["policies"]["catchup_window"] = json!("5s")),
                "/policies/catchup_window",
            ),
            (
                Box::new(|p| p["policies"]["catchup_window"] = json!("0")),
                "/policies/catchup_window",
            ),
            (
                Box::new(|p| p["schedule"]["jitter"] = json!("1.5ns")),
                "/schedule/jitter",
            ),
            (
                Box::new(|p| p["timeouts"]["run"] = json!("3000000h")),
                "/timeouts/run",
            ),
            (
                Box::new(|p| p["schedule"]["start_at"] = json!("tomorrow")),
                "/schedule/start_at",
            ),
            (
                Box::new(|p| p["schedule"]["end_at"] = json!("2025-01-01T00:00:00.1234567891Z")),
                "/schedule/end_at",
            ),
            (
                Box::new(|p| p["schedule"]["cron"] = json!(["0 2 * * *", "0 0 * * 1-7"])),
                "/schedule/cron/1",
            ),
            (
                Box::new(|p| p["schedule"]["cron"] = json!(["CRON_TZ=UTC 0 2 * * *"])),
                "/schedule/cron/0",
            ),
            (
                Box::new(|p| p["schedule"]["cron"] = json!(["every day"])),
                "/schedule/cron/0",
            ),
            (
                Box::new(|p| p["memo"]["planguard_x/y"] = json!("x")),
                "/memo/planguard_x~1y",
            ),
        ];
        for (change, pointer) in cases {
            let refused = refused(change);
            assert_eq!(
                refused
                    .iter()
                    .map(|u| u.pointer.as_str())
                    .collect::<Vec<_>>(),
                [pointer],
                "{refused:?}"
            );
        }
    }

    /// Every property path of the plan schema, with `*` for array items and
    /// map values and `x-*` for extension keys; an object with declared
    /// members is a container (its members are the paths that go somewhere).
    fn schema_paths(schema: &Value, node: &Value, path: String, out: &mut Vec<String>) {
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let target = schema
                .pointer(reference.trim_start_matches('#'))
                .expect("a local $ref");
            return schema_paths(schema, target, path, out);
        }
        if node.get("properties").is_some() && out.last() == Some(&path) {
            out.pop();
            out.push(format!("{path}{CONTAINER}"));
        }
        for combinator in ["anyOf", "oneOf", "allOf"] {
            for branch in node
                .get(combinator)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                schema_paths(schema, branch, path.clone(), out);
            }
        }
        for (key, child) in node
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            // The suppressions member is taken out of every document as it
            // is loaded, before a plan could be deployed.
            if key == crate::check::suppress::MEMBER {
                continue;
            }
            let child_path = format!("{path}/{}", escape(key));
            out.push(child_path.clone());
            schema_paths(schema, child, child_path, out);
        }
        for (pattern, child) in node
            .get("patternProperties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            assert_eq!(pattern, "^x-", "a pattern property the routes do not know");
            let child_path = format!("{path}/x-*");
            out.push(child_path.clone());
            schema_paths(schema, child, child_path, out);
        }
        for key in ["items", "additionalProperties"] {
            if let Some(child) = node.get(key).filter(|c| c.is_object()) {
                let child_path = format!("{path}/*");
                out.push(child_path.clone());
                schema_paths(schema, child, child_path, out);
            }
        }
    }

    const CONTAINER: &str = " (container)";

    /// A new schema property fails here until it is deployed (and compared)
    /// or named as metadata: nothing the schema accepts is dropped silently.
    #[test]
    fn every_property_of_the_plan_schema_has_a_route() {
        let schema: Value =
            serde_json::from_str(crate::check::schema::PLAN_SCHEMA).expect("schema is JSON");
        let mut paths = Vec::new();
        schema_paths(&schema, &schema, String::new(), &mut paths);
        assert!(paths.len() > 60, "the walk found {} paths", paths.len());
        let unrouted: Vec<&String> = paths
            .iter()
            .filter(|p| !p.ends_with(CONTAINER) && route(p).is_none())
            .collect();
        assert!(unrouted.is_empty(), "no route for {unrouted:?}");
        // And no route names a path the schema lacks.
        for (pattern, _) in ROUTES {
            assert!(
                paths
                    .iter()
                    .any(|p| p.trim_end_matches(CONTAINER) == *pattern),
                "{pattern} is not in the schema"
            );
        }
    }

    /// docs/deploy.md is the same table for people.
    #[test]
    fn the_deploy_doc_lists_every_route() {
        let doc = include_str!("../../docs/deploy.md");
        for (pattern, route) in ROUTES {
            let row = format!("| `{pattern}` |");
            let line = doc
                .lines()
                .find(|l| l.starts_with(&row))
                .unwrap_or_else(|| panic!("docs/deploy.md has no row {row}"));
            let said = match route {
                Route::Deployed(field) => format!("`{field}`"),
                Route::Address => "address".to_string(),
                Route::Metadata => "metadata".to_string(),
            };
            assert!(line.contains(&said), "{line} should say {said}");
        }
    }
}
