//! `--log-format json`: every line planguard writes on standard error is one
//! JSON event with the required keys (apply, trigger, status against a real
//! dev server; check; fatal errors and bad flags), and no secret planted in
//! fixtures/secrets ever appears in one.

use crate::common;

use common::temporal::Server;
use common::workspace::Workspace;
use common::{planguard, run};
use serde_json::Value;

/// Every stderr line parsed, each checked for the keys every event has.
fn events(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON event ({e}): {line}"));
            let time = event["time"].as_str().expect("time");
            assert!(time.ends_with('Z'), "not UTC: {time}");
            chrono::DateTime::parse_from_rfc3339(time).expect("RFC 3339 time");
            assert!(
                ["debug", "info", "warn", "error"].contains(&event["level"].as_str().unwrap_or("")),
                "{event}"
            );
            for key in ["subcommand", "event", "message"] {
                assert!(event[key].is_string(), "{key} missing: {event}");
            }
            event
        })
        .collect()
}

fn find<'a>(events: &'a [Value], name: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no `{name}` event in {events:?}"))
}

fn workspace(id: &str) -> Workspace {
    Workspace::with_schedule_id(id)
}

#[test]
fn apply_trigger_and_status_events_carry_the_schedule_and_plan() {
    let server = Server::start(&["ingestion-dev"]);
    let ws = workspace("logs-apply");
    let at = |args: &[&str]| {
        let mut cmd = planguard();
        cmd.current_dir(ws.dir.path())
            .env("TEMPORAL_ADDRESS", &server.address)
            .env("PLANGUARD_AUDIT_LOG", ws.dir.path().join("audit.jsonl"))
            .args(["--log-format", "json"])
            .args(args);
        run(&mut cmd)
    };
    let applied = at(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    // Standard output reads as it always did.
    assert!(applied.stdout.contains("created schedule `logs-apply`"));
    let log = events(&applied.stderr);
    assert!(log.iter().all(|e| e["subcommand"] == "apply"));
    let event = find(&log, "applied");
    assert_eq!(event["level"], "info");
    assert_eq!(event["outcome"], "create");
    assert_eq!(event["namespace"], "ingestion-dev");
    assert_eq!(event["schedule_id"], "logs-apply");
    assert_eq!(event["environment"], "dev");
    assert_eq!(event["build"], "12");
    assert_eq!(event["plan"], "orchestration_plans/dev/12.json");
    assert_eq!(event["plan_sha256"].as_str().map(str::len), Some(64));
    assert_eq!(find(&log, "cleared")["plan_sha256"], event["plan_sha256"]);

    // An update names the fields that changed, never their values.
    for env in ["dev", "uat", "prod"] {
        ws.edit(&format!("conf/{env}.json"), |c| {
            c["runtime"]["orchestration"]["temporal"]["schedule"]["jitter"] = Value::from("17m");
        });
    }
    ws.edit("orchestration_plans/dev/12.json", |p| {
        p["schedule"]["jitter"] = Value::from("17m")
    });
    let dry = at(&["apply", "--dry-run", "orchestration_plans/dev/12.json"]);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    assert!(dry.stdout.contains("jitter 5m → 17m"), "{}", dry.stdout);
    let log = events(&dry.stderr);
    let would = find(&log, "applied");
    assert_eq!(would["outcome"], "dry-run");
    assert!(
        would["changed"]
            .as_array()
            .expect("changed")
            .contains(&Value::from("jitter"))
    );
    assert!(!dry.stderr.contains("17m"), "{}", dry.stderr);

    let triggered = at(&["trigger", "orchestration_plans/dev/12.json"]);
    assert_eq!(
        triggered.code, 0,
        "{}{}",
        triggered.stdout, triggered.stderr
    );
    let log = events(&triggered.stderr);
    let started = find(&log, "started");
    assert_eq!(started["subcommand"], "trigger");
    assert!(
        started["workflow_id"]
            .as_str()
            .is_some_and(|w| w.starts_with("customer-orders-adhoc-")),
        "{started}"
    );
    assert_eq!(started["schedule_id"], "logs-apply");

    let status = at(&["status", "orchestration_plans/dev"]);
    assert_eq!(status.code, 0, "{}{}", status.stdout, status.stderr);
    let log = events(&status.stderr);
    let schedule = find(&log, "schedule");
    assert_eq!(schedule["subcommand"], "status");
    assert_eq!(schedule["schedule_id"], "logs-apply");
    assert_eq!(schedule["namespace"], "ingestion-dev");
    assert_eq!(schedule["build"], "12");
    assert_eq!(schedule["outcome"], "healthy");
    assert_eq!(find(&log, "finished")["schedules"], 1);

    let drift = at(&["drift", "orchestration_plans/dev"]);
    let log = events(&drift.stderr);
    assert_eq!(find(&log, "finished")["subcommand"], "drift");

    // The default format writes no events: standard error stays empty.
    let mut cmd = planguard();
    cmd.current_dir(ws.dir.path())
        .env("TEMPORAL_ADDRESS", &server.address)
        .env("PLANGUARD_AUDIT_LOG", ws.dir.path().join("audit.jsonl"))
        .args(["status", "orchestration_plans/dev"]);
    assert_eq!(run(&mut cmd).stderr, "");
}

#[test]
fn check_logs_start_and_finish_with_counts() {
    let out = run(planguard().args([
        "--log-format",
        "json",
        "check",
        "--verbose",
        "fixtures/workspaces/clean",
    ]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let log = events(&out.stderr);
    assert!(log.iter().all(|e| e["subcommand"] == "check"));
    assert_eq!(find(&log, "started")["paths"], 1);
    let finished = find(&log, "finished");
    assert_eq!(finished["errors"], 0);
    assert!(finished["files"].as_u64().is_some_and(|n| n > 0));
    // --verbose notes become events too.
    assert_eq!(find(&log, "settings")["level"], "debug");
}

#[test]
fn fatal_errors_and_bad_flags_are_json_events() {
    let ws = workspace("logs-down");
    let mut cmd = planguard();
    cmd.current_dir(ws.dir.path())
        .env("PLANGUARD_AUDIT_LOG", ws.dir.path().join("audit.jsonl"))
        .args([
            "apply",
            "--log-format",
            "json",
            "--address",
            "127.0.0.1:1",
            "orchestration_plans/dev/12.json",
        ]);
    let down = run(&mut cmd);
    assert_eq!(down.code, 2);
    let log = events(&down.stderr);
    let fatal = log.last().expect("an event");
    assert_eq!(fatal["event"], "fatal");
    assert_eq!(fatal["level"], "error");
    assert_eq!(fatal["subcommand"], "apply");
    assert!(
        fatal["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("cannot reach the Temporal server at 127.0.0.1:1")),
        "{fatal}"
    );
    assert_eq!(find(&log, "failed")["schedule_id"], "logs-down");

    let bad = run(planguard().args(["--log-format=json", "status", "--no-such-flag"]));
    assert_eq!(bad.code, 2);
    let log = events(&bad.stderr);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["subcommand"], "status");
    assert!(
        log[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("--no-such-flag")
    );

    let settings = run(planguard().args([
        "--log-format",
        "json",
        "check",
        "--config",
        "fixtures/settings/does-not-exist.toml",
    ]));
    assert_eq!(settings.code, 2);
    let log = events(&settings.stderr);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["message"], "invalid settings; nothing was checked");
    assert!(
        log[0]["causes"][0]
            .as_str()
            .unwrap_or("")
            .contains("does-not-exist.toml")
    );
}

#[test]
fn no_secret_in_json_logs() {
    let secrets: Vec<String> = common::read("fixtures/secrets/secrets.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let ws = Workspace::copy_of("fixtures/secrets");
    let audit = ws.dir.path().join("audit.jsonl");
    let mut runs = Vec::new();
    for action in [
        vec!["check", "--verbose", "."],
        vec!["check", "orchestration_plans/dev/12.json"],
        vec!["apply", "orchestration_plans/dev/12.json"],
        vec!["apply", "--dry-run", "orchestration_plans/dev/12.json"],
        vec!["trigger", "orchestration_plans/dev/12.json"],
        vec!["rollback", "--env", "dev", "--to", "11"],
        vec!["drift", "orchestration_plans"],
        vec!["status", "orchestration_plans"],
        vec!["apply", "conf/uat.json"],
    ] {
        let mut cmd = planguard();
        cmd.current_dir(ws.dir.path())
            .env("TEMPORAL_ADDRESS", "127.0.0.1:1")
            .env("PLANGUARD_AUDIT_LOG", &audit)
            .args(["--log-format", "json"])
            .args(&action);
        let out = run(&mut cmd);
        assert!((0..=2).contains(&out.code), "{action:?}: exit {}", out.code);
        events(&out.stderr);
        runs.push((action, out.stderr));
    }
    // Refusals log their findings (rule and place): the secret rules fired.
    assert!(runs[2].1.contains("\"event\":\"finding\""), "{}", runs[2].1);
    for (action, stderr) in runs {
        for secret in &secrets {
            assert!(
                !stderr.contains(secret.as_str()),
                "{action:?} logs the secret {secret:?}: {stderr}"
            );
        }
    }
}
