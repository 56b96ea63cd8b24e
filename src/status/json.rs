//! The status as one JSON document, for scripts and dashboards.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{Run, StatusReport, Workers};

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn run(r: &Run) -> Value {
    let mut value = json!({
        "scheduled_time": stamp(r.scheduled),
        "actual_time": stamp(r.started),
        "workflow_id": r.workflow_id,
        "run_id": r.run_id,
        "outcome": r.outcome.as_str(),
    });
    if let Some(attempt) = r.attempt {
        value["attempt"] = attempt.into();
    }
    value
}

fn workers(s: &super::ScheduleStatus) -> Value {
    match &s.workers {
        None => Value::Null,
        Some(Workers::Polled { pollers, last_poll }) => json!({
            "task_queue": s.task_queue,
            "pollers": pollers,
            "last_poll": last_poll.map(stamp),
        }),
        Some(Workers::Unknown(reason)) => json!({
            "task_queue": s.task_queue,
            "pollers": Value::Null,
            "last_poll": Value::Null,
            "error": reason,
        }),
    }
}

pub fn to_value(report: &StatusReport) -> Value {
    let schedules: Vec<Value> = report
        .schedules
        .iter()
        .map(|s| {
            json!({
                "namespace": s.namespace,
                "schedule_id": s.schedule_id,
                "environment": s.environment,
                "plan": s.plan,
                "deployed": s.deployed,
                "healthy": s.healthy(),
                "problems": s.problems.iter().map(|p| json!({
                    "kind": p.kind(),
                    "message": p.message(),
                })).collect::<Vec<_>>(),
                "build": s.build,
                "plan_sha256": s.plan_sha256,
                "paused": s.paused,
                "notes": s.notes,
                "next_run": s.next_run.map(stamp),
                "last_run": s.last_run.as_ref().map(run),
                "recent_runs": s.history.iter().map(run).collect::<Vec<_>>(),
                "workers": workers(s),
                "lag_seconds": s.lag.as_secs_f64(),
                "missed_catchup_windows": s.missed_catchup_windows,
                "overlap_skipped": s.overlap_skipped,
                "actions": s.actions,
                "running_workflows": s.running_workflows,
            })
        })
        .collect();
    json!({
        "time": stamp(report.time),
        "max_lag_seconds": report.max_lag.as_secs_f64(),
        "history": report.history,
        "healthy": report.schedules.len() - report.unhealthy(),
        "unhealthy": report.unhealthy(),
        "schedules": schedules,
    })
}

pub fn render(report: &StatusReport) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(&to_value(report)).expect("JSON values serialize");
    text.push('\n');
    text.into_bytes()
}
