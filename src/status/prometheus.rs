//! The status in the Prometheus text exposition format (0.0.4), for the
//! node_exporter textfile collector: no sample timestamps, each family's
//! samples together under its HELP and TYPE lines, label values escaped.

use std::fmt::Write;

use super::{ScheduleStatus, StatusReport, Workers};

/// A metric of one value per schedule.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    value: fn(&ScheduleStatus) -> Option<f64>,
}

fn flag(b: bool) -> Option<f64> {
    Some(if b { 1.0 } else { 0.0 })
}

fn deployed(s: &ScheduleStatus, value: f64) -> Option<f64> {
    s.deployed.then_some(value)
}

const FAMILIES: &[Family] = &[
    Family {
        name: "planguard_schedule_healthy",
        kind: "gauge",
        help: "1 when the schedule is healthy (deployed, not paused unexpectedly, last run not failed, lag within --max-lag).",
        value: |s| flag(s.healthy()),
    },
    Family {
        name: "planguard_schedule_deployed",
        kind: "gauge",
        help: "1 when the schedule exists on the server.",
        value: |s| flag(s.deployed),
    },
    Family {
        name: "planguard_schedule_paused",
        kind: "gauge",
        help: "1 when the schedule is paused.",
        value: |s| deployed(s, if s.paused { 1.0 } else { 0.0 }),
    },
    Family {
        name: "planguard_schedule_next_run_timestamp_seconds",
        kind: "gauge",
        help: "When the schedule fires next (Unix time).",
        value: |s| s.next_run.map(|t| t.timestamp_millis() as f64 / 1000.0),
    },
    Family {
        name: "planguard_schedule_last_run_timestamp_seconds",
        kind: "gauge",
        help: "When the schedule's most recent run started (Unix time).",
        value: |s| {
            s.last_run
                .as_ref()
                .map(|r| r.started.timestamp_millis() as f64 / 1000.0)
        },
    },
    Family {
        name: "planguard_schedule_last_run_failed",
        kind: "gauge",
        help: "1 when the most recent run failed, timed out, or was terminated or canceled.",
        value: |s| {
            s.last_run
                .as_ref()
                .and_then(|r| flag(r.outcome.is_failure()))
        },
    },
    Family {
        name: "planguard_schedule_last_run_attempt",
        kind: "gauge",
        help: "Which attempt the most recent run is on or ended with (1: not retried).",
        value: |s| s.last_run.as_ref().and_then(|r| r.attempt).map(f64::from),
    },
    Family {
        name: "planguard_schedule_lag_seconds",
        kind: "gauge",
        help: "How late the scheduler is: the most recent run's start after its scheduled time, or how long a due fire time has gone unacted on.",
        value: |s| deployed(s, s.lag.as_secs_f64()),
    },
    Family {
        name: "planguard_schedule_running_workflows",
        kind: "gauge",
        help: "Workflow runs started by the schedule and still running.",
        value: |s| deployed(s, s.running_workflows as f64),
    },
    Family {
        name: "planguard_schedule_missed_catchup_windows_total",
        kind: "counter",
        help: "Fire times skipped because they were later than the catch-up window.",
        value: |s| deployed(s, s.missed_catchup_windows as f64),
    },
    Family {
        name: "planguard_schedule_overlap_skipped_total",
        kind: "counter",
        help: "Fire times skipped by the overlap policy.",
        value: |s| deployed(s, s.overlap_skipped as f64),
    },
    Family {
        name: "planguard_schedule_actions_total",
        kind: "counter",
        help: "Actions the schedule has taken.",
        value: |s| deployed(s, s.actions as f64),
    },
];

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(s: &ScheduleStatus, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("namespace", s.namespace.as_str()),
        ("schedule_id", s.schedule_id.as_str()),
        ("environment", s.environment.as_deref().unwrap_or("")),
        ("build", s.build.as_deref().unwrap_or("")),
    ];
    pairs.extend_from_slice(extra);
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

pub fn render(report: &StatusReport) -> Vec<u8> {
    let mut out = String::new();
    for family in FAMILIES {
        header(&mut out, family.name, family.kind, family.help);
        for s in &report.schedules {
            if let Some(value) = (family.value)(s) {
                let _ = writeln!(out, "{}{} {value}", family.name, labels(s, &[]));
            }
        }
    }
    header(
        &mut out,
        "planguard_schedule_last_run_outcome",
        "gauge",
        "1 for the outcome of the most recent run (running, completed, failed, timed_out, terminated, canceled, …).",
    );
    for s in &report.schedules {
        if let Some(run) = &s.last_run {
            let _ = writeln!(
                out,
                "planguard_schedule_last_run_outcome{} 1",
                labels(s, &[("outcome", run.outcome.as_str())])
            );
        }
    }
    header(
        &mut out,
        "planguard_schedule_recent_runs",
        "gauge",
        "How many of the schedule's most recent runs (as many as --history) ended with each outcome.",
    );
    for s in &report.schedules {
        let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for run in &s.history {
            *counts.entry(run.outcome.as_str()).or_default() += 1;
        }
        for (outcome, n) in counts {
            let _ = writeln!(
                out,
                "planguard_schedule_recent_runs{} {n}",
                labels(s, &[("outcome", outcome)])
            );
        }
    }
    header(
        &mut out,
        "planguard_schedule_recent_runs_retried",
        "gauge",
        "How many of those recent runs needed more than one attempt, by how they ended (0 for an outcome none of them needed a retry for).",
    );
    for s in &report.schedules {
        let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for run in &s.history {
            *counts.entry(run.outcome.as_str()).or_default() +=
                usize::from(run.attempt.is_some_and(|a| a > 1));
        }
        for (outcome, n) in counts {
            let _ = writeln!(
                out,
                "planguard_schedule_recent_runs_retried{} {n}",
                labels(s, &[("outcome", outcome)])
            );
        }
    }
    // Whether workers poll the task queue: by the queue, and absent (never
    // zero) when the server could not be asked.
    let queues = || {
        report
            .schedules
            .iter()
            .filter_map(|s| Some((s, s.task_queue.as_deref()?, s.workers.as_ref()?)))
    };
    header(
        &mut out,
        "planguard_schedule_task_queue_pollers",
        "gauge",
        "Workers that polled the schedule's task queue for workflow tasks in the last minutes (absent when the server could not be asked).",
    );
    for (s, queue, workers) in queues() {
        if let Workers::Polled { pollers, .. } = workers {
            let _ = writeln!(
                out,
                "planguard_schedule_task_queue_pollers{} {pollers}",
                labels(s, &[("task_queue", queue)])
            );
        }
    }
    header(
        &mut out,
        "planguard_schedule_task_queue_last_poll_timestamp_seconds",
        "gauge",
        "When a worker last polled the schedule's task queue for workflow tasks (Unix time).",
    );
    for (s, queue, workers) in queues() {
        if let Workers::Polled {
            last_poll: Some(t), ..
        } = workers
        {
            let _ = writeln!(
                out,
                "planguard_schedule_task_queue_last_poll_timestamp_seconds{} {}",
                labels(s, &[("task_queue", queue)]),
                t.timestamp_millis() as f64 / 1000.0
            );
        }
    }
    header(
        &mut out,
        "planguard_schedule_task_queue_describe_failed",
        "gauge",
        "1 when the server could not say who polls the schedule's task queue.",
    );
    for (s, queue, workers) in queues() {
        let failed = matches!(workers, Workers::Unknown(_));
        let _ = writeln!(
            out,
            "planguard_schedule_task_queue_describe_failed{} {}",
            labels(s, &[("task_queue", queue)]),
            u8::from(failed)
        );
    }
    header(
        &mut out,
        "planguard_schedule_plan_info",
        "gauge",
        "The plan a schedule was applied from: its sha256 (and build, as on every metric).",
    );
    for s in &report.schedules {
        if let Some(sha) = &s.plan_sha256 {
            let _ = writeln!(
                out,
                "planguard_schedule_plan_info{} 1",
                labels(s, &[("plan_sha256", sha)])
            );
        }
    }
    let totals = [
        (
            "planguard_status_schedules",
            "Schedules looked at.",
            report.schedules.len() as f64,
        ),
        (
            "planguard_status_unhealthy_schedules",
            "Schedules found unhealthy.",
            report.unhealthy() as f64,
        ),
        (
            "planguard_status_max_lag_seconds",
            "The lag threshold in force (--max-lag).",
            report.max_lag.as_secs_f64(),
        ),
        (
            "planguard_status_timestamp_seconds",
            "When planguard status took these values (Unix time); alert when it goes stale.",
            report.time.timestamp_millis() as f64 / 1000.0,
        ),
    ];
    for (name, help, value) in totals {
        header(&mut out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Success at the first attempt, success after retries and failure are
    /// told apart: the runs retried are counted by outcome next to all runs.
    #[test]
    fn recent_runs_retried_are_counted_by_outcome() {
        use super::super::{Outcome, Run};
        use chrono::DateTime;
        use std::time::Duration;
        let t = DateTime::from_timestamp(1_700_000_000, 0).expect("a time");
        let run = |outcome, attempt| Run {
            scheduled: t,
            started: t,
            workflow_id: "w".into(),
            run_id: "r".into(),
            outcome,
            attempt,
        };
        let history = vec![
            run(Outcome::Completed, Some(3)),
            run(Outcome::Completed, Some(1)),
            run(Outcome::Failed, Some(1)),
            run(Outcome::Completed, None),
            run(Outcome::Completed, Some(2)),
        ];
        let schedule = ScheduleStatus {
            namespace: "ingestion-dev".into(),
            schedule_id: "s".into(),
            environment: Some("dev".into()),
            plan: None,
            deployed: true,
            build: Some("12".into()),
            plan_sha256: None,
            paused: false,
            notes: String::new(),
            next_run: None,
            last_run: history.first().cloned(),
            history,
            task_queue: None,
            workers: None,
            lag: Duration::ZERO,
            missed_catchup_windows: 0,
            overlap_skipped: 0,
            actions: 5,
            running_workflows: 0,
            problems: Vec::new(),
        };
        let report = StatusReport {
            time: t,
            max_lag: Duration::from_secs(300),
            history: 5,
            schedules: vec![schedule],
        };
        let text = String::from_utf8(render(&report)).expect("UTF-8");
        let labels = |outcome: &str| {
            format!(
                "{{namespace=\"ingestion-dev\",schedule_id=\"s\",environment=\"dev\",build=\"12\",outcome=\"{outcome}\"}}"
            )
        };
        for line in [
            format!("planguard_schedule_recent_runs{} 4\n", labels("completed")),
            format!("planguard_schedule_recent_runs{} 1\n", labels("failed")),
            format!(
                "planguard_schedule_recent_runs_retried{} 2\n",
                labels("completed")
            ),
            format!(
                "planguard_schedule_recent_runs_retried{} 0\n",
                labels("failed")
            ),
            "# TYPE planguard_schedule_recent_runs_retried gauge\n".to_string(),
        ] {
            assert!(text.contains(&line), "{line} in {text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
