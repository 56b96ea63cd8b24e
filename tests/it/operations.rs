//! Operations against a real worker (spec §3, §5, §7): `status` says
//! whether a worker polls each schedule's task queue and how its recent runs
//! went (outcomes, each run's attempt); `apply` warns when it registers a
//! schedule nobody serves; `trigger --wait` is the daily canary, judged by
//! the run's end. One dev server and one Python worker
//! (fixtures/worker/worker.py, on the temporalio SDK) serve every step.

use crate::common;

use std::time::{Duration, Instant};

use common::temporal::{Server, cli};
use common::worker::Worker;
use common::workspace::Workspace;
use common::{planguard, run};
use serde_json::Value;

const NS: &str = "ingestion-dev";
const QUEUE: &str = "spark-ingest-dev";
const PLAN: &str = "orchestration_plans/dev/12.json";
/// The password in the message of the worker's failing runs.
const PASSWORD: &str = "hunter2-not-for-logs";

/// A workspace whose schedule is `id`, retried after 1s (not the plan's 30s).
fn workspace(id: &str) -> Workspace {
    let ws = Workspace::with_schedule_id(id);
    // Environments differ only in namespace, queue and credentials (PG203).
    for env in ["dev", "uat", "prod"] {
        ws.edit(&format!("conf/{env}.json"), |c| {
            c["runtime"]["orchestration"]["temporal"]["retry_policy"]["initial_interval"] =
                Value::from("1s");
        });
    }
    ws.edit(PLAN, |p| {
        p["retry_policy"]["initial_interval"] = Value::from("1s");
    });
    ws
}

fn at(server: &Server, ws: &Workspace, args: &[&str]) -> common::Run {
    let mut cmd = planguard();
    common::temporal::hermetic(&mut cmd);
    cmd.current_dir(ws.dir.path())
        .env("TEMPORAL_ADDRESS", &server.address)
        .env("PLANGUARD_AUDIT_LOG", ws.dir.path().join("audit.jsonl"))
        .env_remove("TEMPORAL_NAMESPACE")
        .args(args);
    run(&mut cmd)
}

/// `status --format json` of the workspace's dev plan, its one schedule.
fn status(server: &Server, ws: &Workspace, extra: &[&str]) -> (i32, Value, Value) {
    let out = at(
        server,
        ws,
        &[
            &["status", "orchestration_plans/dev", "--format", "json"][..],
            extra,
        ]
        .concat(),
    );
    assert!(
        out.code == 0 || out.code == 1,
        "exit {}: {}{}",
        out.code,
        out.stdout,
        out.stderr
    );
    let report: Value = serde_json::from_str(&out.stdout).expect("--format json prints JSON");
    let schedule = report["schedules"][0].clone();
    (out.code, report, schedule)
}

/// Poll `status` until `ready` holds of the schedule.
fn status_when(
    server: &Server,
    ws: &Workspace,
    extra: &[&str],
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> (i32, Value, Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, report, schedule) = status(server, ws, extra);
        if ready(&schedule) {
            return (code, report, schedule);
        }
        assert!(Instant::now() < deadline, "never {what}: {schedule}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The value of a sample of the Prometheus text, by name and labels.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            l.split_once('{').is_some_and(|(n, _)| n == name)
                && labels
                    .iter()
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

fn prometheus(server: &Server, ws: &Workspace, extra: &[&str]) -> String {
    let out = at(
        server,
        ws,
        &[
            &[
                "status",
                "orchestration_plans/dev",
                "--format",
                "prometheus",
            ][..],
            extra,
        ]
        .concat(),
    );
    assert!(
        out.code == 0 || out.code == 1,
        "{}{}",
        out.stdout,
        out.stderr
    );
    out.stdout
}

fn trigger(server: &Server, ws: &Workspace, extra: &[&str]) -> common::Run {
    at(server, ws, &[&["trigger", PLAN][..], extra].concat())
}

fn schedule_trigger(server: &Server, id: &str) {
    let out = cli()
        .args([
            "schedule",
            "trigger",
            "-s",
            id,
            "--address",
            &server.address,
            "-n",
            NS,
        ])
        .output()
        .expect("temporal runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn status_apply_and_trigger_wait_against_a_real_worker() {
    let server = Server::start(&[NS]);
    let ws = workspace("op-served");

    // §3, worker heartbeat. No worker yet: apply registers the schedule and
    // warns; status says nobody polls (and stays healthy: it is reported).
    let applied = at(&server, &ws, &["apply", PLAN]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let warning = format!(
        "planguard apply: warning: no worker polls task queue `{QUEUE}` in {NS}; the schedule's runs will wait until one does"
    );
    assert!(applied.stdout.contains(&warning), "{}", applied.stdout);
    let (code, report, unserved) = status(&server, &ws, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(unserved["workers"]["task_queue"], QUEUE, "{unserved}");
    assert_eq!(unserved["workers"]["pollers"], 0, "{unserved}");
    assert_eq!(unserved["workers"]["last_poll"], Value::Null);
    assert!(unserved["workers"].get("error").is_none());
    common::assert_valid(&report.to_string(), "schemas/status.schema.json");
    let text = prometheus(&server, &ws, &[]);
    let queue = [("schedule_id", "op-served"), ("task_queue", QUEUE)];
    assert_eq!(
        sample(&text, "planguard_schedule_task_queue_pollers", &queue),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "planguard_schedule_task_queue_describe_failed",
            &queue
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "planguard_schedule_task_queue_last_poll_timestamp_seconds",
            &queue
        ),
        None
    );
    let table = at(&server, &ws, &["status", "orchestration_plans/dev"]);
    assert!(
        table.stdout.contains(&format!(
            "op-served ({NS}): no worker polls task queue `{QUEUE}`; its runs wait until one does"
        )),
        "{}",
        table.stdout
    );

    // A worker starts: status sees it poll, and a second apply on its
    // queue has nothing to warn of.
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let worker = Worker::start(&server.address, NS, &[QUEUE]);
    let (_, report, served) = status_when(&server, &ws, &[], "polled", |s| {
        s["workers"]["pollers"].as_u64().is_some_and(|n| n >= 1)
    });
    let last_poll: chrono::DateTime<chrono::Utc> = served["workers"]["last_poll"]
        .as_str()
        .expect("a last poll")
        .parse()
        .expect("RFC 3339");
    assert!(last_poll > before, "{served}");
    common::assert_valid(&report.to_string(), "schemas/status.schema.json");
    let text = prometheus(&server, &ws, &[]);
    assert!(
        sample(&text, "planguard_schedule_task_queue_pollers", &queue).is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "planguard_schedule_task_queue_last_poll_timestamp_seconds",
            &queue
        )
        .is_some_and(|t| t >= before.timestamp() as f64),
        "{text}"
    );
    let second = workspace("op-served-2");
    let applied = at(&server, &second, &["apply", PLAN]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    assert!(
        applied.stdout.contains("created schedule"),
        "{}",
        applied.stdout
    );
    assert!(!applied.stdout.contains("warning"), "{}", applied.stdout);

    // §7, the canary: trigger --wait exits with the run's end.
    let ok = trigger(&server, &ws, &["--wait"]);
    assert_eq!(ok.code, 0, "{}{}{}", ok.stdout, ok.stderr, worker.log());
    let completed = regex::Regex::new(
        r"planguard trigger: workflow `customer-orders-adhoc-[^`]+` completed in \S+ \(run [0-9a-f-]+, attempt 1\)\n$",
    )
    .expect("valid");
    assert!(completed.is_match(&ok.stdout), "{}", ok.stdout);

    worker.set("fail");
    let failed = trigger(&server, &ws, &["--wait", "--log-format", "json"]);
    assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
    assert!(
        failed.stdout.contains(" failed after ")
            && failed
                .stdout
                .contains(", attempt 1): cannot read jdbc:postgresql://ingest:"),
        "{}",
        failed.stdout
    );
    for said in [&failed.stdout, &failed.stderr] {
        assert!(!said.contains(PASSWORD), "{said}");
        assert!(!said.contains("hunter2"), "{said}");
    }

    // A retried run is judged by its last attempt.
    worker.set("flaky");
    let retried = trigger(&server, &ws, &["--wait", "--timeout", "1m"]);
    assert_eq!(retried.code, 0, "{}{}", retried.stdout, retried.stderr);
    assert!(
        retried.stdout.contains(", attempt 2)"),
        "{}",
        retried.stdout
    );

    // A run that hangs: the wait gives up at --timeout, says so, exit 1;
    // without --wait the same trigger only starts it, exit 0.
    worker.set("sleep");
    let started = Instant::now();
    let hung = trigger(&server, &ws, &["--wait", "--timeout", "2s"]);
    assert_eq!(hung.code, 1, "{}{}", hung.stdout, hung.stderr);
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(
        hung.stdout
            .contains("gave up waiting: workflow `customer-orders-adhoc-")
            && hung
                .stdout
                .contains("` was still running after --timeout 2s (run "),
        "{}",
        hung.stdout
    );
    let unwaited = trigger(&server, &ws, &[]);
    assert_eq!(unwaited.code, 0, "{}{}", unwaited.stdout, unwaited.stderr);
    assert!(!unwaited.stdout.contains("gave up"), "{}", unwaited.stdout);

    // §5, retry counts and recent history: the schedule's own runs, one
    // after the other (its overlap policy skips a run while one is running).
    let ran = |n: usize| {
        status_when(&server, &ws, &["--history", "10"], "ran", move |s| {
            s["recent_runs"].as_array().map(Vec::len) == Some(n)
                && s["last_run"]["outcome"] != "running"
        })
    };
    worker.set("ok");
    schedule_trigger(&server, "op-served");
    ran(1);
    worker.set("fail");
    schedule_trigger(&server, "op-served");
    let (code, _, failed) = ran(2);
    assert_eq!(code, 1, "{failed}");
    assert_eq!(failed["last_run"]["outcome"], "failed");
    worker.set("flaky");
    schedule_trigger(&server, "op-served");
    let (code, report, history) = ran(3);
    assert_eq!(code, 0, "{history}");
    common::assert_valid(&report.to_string(), "schemas/status.schema.json");
    assert_eq!(report["history"], 10);
    assert_eq!(history["last_run"]["outcome"], "completed");
    assert_eq!(history["last_run"]["attempt"], 2, "{history}");
    let outcomes: Vec<&str> = history["recent_runs"]
        .as_array()
        .expect("recent runs")
        .iter()
        .filter_map(|r| r["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["completed", "failed", "completed"], "{history}");
    // Each run's attempt, so that a success after retries is told from one
    // at the first attempt (the failure is not retryable).
    let attempts: Vec<i64> = history["recent_runs"]
        .as_array()
        .expect("recent runs")
        .iter()
        .filter_map(|r| r["attempt"].as_i64())
        .collect();
    assert_eq!(attempts, [2, 1, 1], "{history}");
    assert_eq!(history["recent_runs"][0], history["last_run"]);

    // --history N shows N runs (the default 5, here all three); 0 none.
    let (_, _, two) = status(&server, &ws, &["--history", "2"]);
    assert_eq!(
        two["recent_runs"].as_array().map(Vec::len),
        Some(2),
        "{two}"
    );
    let (_, default, _) = status(&server, &ws, &[]);
    assert_eq!(default["history"], 5);
    let (_, _, none) = status(&server, &ws, &["--history", "0"]);
    assert_eq!(none["recent_runs"], Value::Array(Vec::new()));
    assert_eq!(none["last_run"]["attempt"], 2);
    let too_many = at(
        &server,
        &ws,
        &["status", "--history", "11", "orchestration_plans/dev"],
    );
    assert_eq!(too_many.code, 2, "{}", too_many.stderr);

    let text = prometheus(&server, &ws, &["--history", "2"]);
    let id = [("schedule_id", "op-served")];
    let recent = |outcome| {
        sample(
            &text,
            "planguard_schedule_recent_runs",
            &[("schedule_id", "op-served"), ("outcome", outcome)],
        )
    };
    assert_eq!(recent("completed"), Some(1.0), "{text}");
    assert_eq!(recent("failed"), Some(1.0), "{text}");
    let retried = |outcome| {
        sample(
            &text,
            "planguard_schedule_recent_runs_retried",
            &[("schedule_id", "op-served"), ("outcome", outcome)],
        )
    };
    assert_eq!(retried("completed"), Some(1.0), "{text}");
    assert_eq!(retried("failed"), Some(0.0), "{text}");
    assert_eq!(
        sample(&text, "planguard_schedule_last_run_attempt", &id),
        Some(2.0)
    );

    let table = at(&server, &ws, &["status", "orchestration_plans/dev"]);
    assert!(
        table.stdout.contains("(attempt 2)") && table.stdout.contains("completed 2, failed 1"),
        "{}",
        table.stdout
    );
}
