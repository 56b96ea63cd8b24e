//! `planguard status` against a real Temporal dev server, over schedules put
//! in several states with planguard apply and the official `temporal` CLI:
//! healthy, paused by an operator, last run terminated, late (a backfill of
//! past fire times), and one a plan owns that is not deployed. The
//! Prometheus output is read back with prometheus_client's own parser.

use crate::common;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::temporal::{Server, cli};
use common::workspace::Workspace;
use common::{planguard, run};
use serde_json::Value;

const NS: &str = "ingestion-dev";

fn workspace(id: &str) -> Workspace {
    Workspace::with_schedule_id(id)
}

fn planguard_at(server_address: &str, ws: &Workspace, args: &[&str]) -> common::Run {
    let mut cmd = planguard();
    common::temporal::hermetic(&mut cmd);
    cmd.current_dir(ws.dir.path())
        .env("TEMPORAL_ADDRESS", server_address)
        .env("PLANGUARD_AUDIT_LOG", ws.dir.path().join("audit.jsonl"))
        .env_remove("TEMPORAL_NAMESPACE")
        .args(args);
    run(&mut cmd)
}

fn temporal(server: &Server, args: &[&str]) {
    let out = cli()
        .args(args)
        .args(["--address", &server.address, "-n", NS])
        .output()
        .expect("temporal runs");
    assert!(
        out.status.success(),
        "temporal {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Wait until `ready` holds of what `temporal schedule describe` says.
fn wait_for(server: &Server, id: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(described) = server.describe(NS, id)
            && ready(&described)
        {
            return described;
        }
        assert!(Instant::now() < deadline, "schedule {id} never got ready");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn recent_workflow(described: &Value) -> Option<String> {
    described["info"]["recentActions"].as_array()?.last()?["startWorkflowResult"]["workflowId"]
        .as_str()
        .map(str::to_string)
}

/// A dev server with four schedules in four states, and the workspaces
/// (kept alive) whose plans own them.
struct Fixture {
    server: Server,
    healthy: Workspace,
    paused: Workspace,
    failed: Workspace,
    late: Workspace,
    missing: Workspace,
}

fn fixture() -> Fixture {
    let server = Server::start(&[NS]);
    let f = Fixture {
        healthy: workspace("st-healthy"),
        paused: workspace("st-paused"),
        failed: workspace("st-failed"),
        late: workspace("st-late"),
        missing: workspace("st-missing"),
        server,
    };
    for ws in [&f.healthy, &f.paused, &f.failed, &f.late] {
        let applied = planguard_at(
            &f.server.address,
            ws,
            &["apply", "orchestration_plans/dev/12.json"],
        );
        assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    }
    let server = &f.server;
    temporal(
        server,
        &[
            "schedule",
            "toggle",
            "-s",
            "st-paused",
            "--pause",
            "--reason",
            "source database migration, INC-42",
        ],
    );
    // No worker exists, so a run never ends by itself: terminate it, as an
    // operator stopping a stuck ingestion would.
    temporal(server, &["schedule", "trigger", "-s", "st-failed"]);
    let described = wait_for(server, "st-failed", |d| recent_workflow(d).is_some());
    let workflow = recent_workflow(&described).expect("a run started");
    temporal(
        server,
        &[
            "workflow",
            "terminate",
            "-w",
            &workflow,
            "--reason",
            "stuck",
        ],
    );
    // A backfill of yesterday: runs started now for fire times long past.
    let now = Utc::now();
    let stamp = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    temporal(
        server,
        &[
            "schedule",
            "backfill",
            "-s",
            "st-late",
            "--start-time",
            &stamp(now - chrono::Duration::hours(36)),
            "--end-time",
            &stamp(now - chrono::Duration::hours(12)),
            "--overlap-policy",
            "AllowAll",
        ],
    );
    wait_for(server, "st-late", |d| recent_workflow(d).is_some());
    f
}

fn status_json(f: &Fixture, args: &[&str]) -> (i32, Value) {
    let out = planguard_at(&f.server.address, &f.healthy, args);
    assert!(
        out.code == 0 || out.code == 1,
        "exit {}: {}{}",
        out.code,
        out.stdout,
        out.stderr
    );
    (
        out.code,
        serde_json::from_str(&out.stdout).expect("--format json prints JSON"),
    )
}

/// The namespace's schedules, once the server's list (eventually consistent)
/// shows all four.
fn namespace_status(f: &Fixture) -> (i32, Value) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, value) = status_json(f, &["status", "--namespace", NS, "--format", "json"]);
        if value["schedules"].as_array().map(Vec::len) == Some(4) {
            return (code, value);
        }
        assert!(
            Instant::now() < deadline,
            "the namespace never listed 4 schedules: {value}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn schedule<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["schedules"]
        .as_array()
        .expect("schedules")
        .iter()
        .find(|s| s["schedule_id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report}"))
}

fn kinds(schedule: &Value) -> Vec<&str> {
    schedule["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["kind"].as_str())
        .collect()
}

fn sha256_of(ws: &Workspace, file: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(std::fs::read(ws.dir.path().join(file)).expect("plan"));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn prometheus_families(text: &str) -> Value {
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
families = []
for family in text_string_to_metric_families(sys.stdin.read()):
    families.append({
        "name": family.name,
        "type": family.type,
        "help": family.documentation,
        "samples": [
            {"name": s.name, "labels": s.labels, "value": s.value, "timestamp": s.timestamp}
            for s in family.samples
        ],
    })
print(json.dumps(families))
"#;
    let mut child = std::process::Command::new(common::python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python ends");
    assert!(
        out.status.success(),
        "prometheus_client cannot parse the output: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The value of `sample` for a schedule, from parsed families.
fn sample(families: &Value, sample: &str, id: &str) -> Option<f64> {
    families
        .as_array()?
        .iter()
        .flat_map(|f| f["samples"].as_array().into_iter().flatten())
        .find(|s| s["name"] == sample && s["labels"]["schedule_id"] == id)
        .and_then(|s| s["value"].as_f64())
}

#[test]
fn status_over_schedules_in_several_states() {
    let f = fixture();
    let started = Utc::now();

    // JSON: every field, for every state.
    let (code, report) = namespace_status(&f);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["healthy"], 1);
    assert_eq!(report["unhealthy"], 3);
    assert_eq!(report["max_lag_seconds"], 300.0);

    let healthy = schedule(&report, "st-healthy");
    assert_eq!(healthy["healthy"], true, "{healthy}");
    assert_eq!(healthy["paused"], false);
    assert_eq!(healthy["deployed"], true);
    assert_eq!(healthy["environment"], "dev");
    assert_eq!(healthy["build"], "12");
    assert_eq!(
        healthy["plan_sha256"],
        sha256_of(&f.healthy, "orchestration_plans/dev/12.json")
    );
    assert_eq!(healthy["last_run"], Value::Null);
    assert_eq!(healthy["recent_runs"], Value::Array(Vec::new()));
    // No worker serves these schedules: said, not judged.
    assert_eq!(healthy["workers"]["task_queue"], "spark-ingest-dev");
    assert_eq!(healthy["workers"]["pollers"], 0);
    common::assert_valid(&report.to_string(), "schemas/status.schema.json");
    assert_eq!(healthy["running_workflows"], 0);
    assert_eq!(healthy["lag_seconds"], 0.0);
    assert_eq!(healthy["missed_catchup_windows"], 0);
    let next: chrono::DateTime<Utc> = healthy["next_run"]
        .as_str()
        .expect("a next run")
        .parse()
        .expect("RFC 3339");
    // The dev plan fires at 02:00 and 14:00 Asia/Riyadh: within 12 hours (+ 5m jitter).
    assert!(next > started && next < started + chrono::Duration::minutes(12 * 60 + 6));

    let paused = schedule(&report, "st-paused");
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["notes"], "source database migration, INC-42");
    assert_eq!(kinds(paused), ["paused"]);
    assert_eq!(paused["next_run"], Value::Null);

    let failed = schedule(&report, "st-failed");
    assert_eq!(kinds(failed), ["last_run_failed"], "{failed}");
    let last = &failed["last_run"];
    assert_eq!(last["outcome"], "terminated");
    assert!(
        last["workflow_id"]
            .as_str()
            .is_some_and(|w| w.starts_with("customer-orders-"))
    );
    assert!(!last["run_id"].as_str().unwrap_or_default().is_empty());
    assert_eq!(last["attempt"], 1);
    assert_eq!(failed["recent_runs"][0], *last);
    assert_eq!(failed["running_workflows"], 0);
    assert_eq!(failed["actions"], 1);
    assert!(failed["lag_seconds"].as_f64().expect("lag") < 60.0);

    let late = schedule(&report, "st-late");
    assert_eq!(kinds(late), ["lagging"], "{late}");
    let lag = late["lag_seconds"].as_f64().expect("lag");
    assert!(lag > 11.0 * 3600.0, "{late}");
    assert_eq!(late["last_run"]["outcome"], "running");
    assert!(
        late["problems"][0]["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("is beyond --max-lag 5m"))
    );

    // With a lag threshold above the backfill's lateness, it is healthy.
    let (_, generous) = status_json(
        &f,
        &[
            "status",
            "--namespace",
            NS,
            "--format",
            "json",
            "--max-lag",
            "48h",
        ],
    );
    assert_eq!(kinds(schedule(&generous, "st-late")), Vec::<&str>::new());

    // The table: health first, one line per schedule, then why.
    let table = planguard_at(
        &f.server.address,
        &f.healthy,
        &["status", "--namespace", NS, "--color", "never"],
    );
    assert_eq!(table.code, 1);
    let spaces = regex::Regex::new(" +").expect("regex");
    let durations = regex::Regex::new(r"\b\d+(ms|d|h|m|s)(\d+(h|m|s))?\b").expect("regex");
    let single = spaces.replace_all(&table.stdout, " ");
    insta::assert_snapshot!(durations.replace_all(&single, "[T]"));

    // Colours on a terminal (forced here): green for healthy, red for not.
    let coloured = planguard_at(
        &f.server.address,
        &f.healthy,
        &["status", "--namespace", NS, "--color", "always"],
    );
    assert!(coloured.stdout.contains("\x1b[32mok\x1b[0m"));
    assert!(coloured.stdout.contains("\x1b[1;31mFAIL\x1b[0m"));

    // Only the healthy one asked about, through its plans: exit 0.
    let only = planguard_at(
        &f.server.address,
        &f.healthy,
        &["status", "orchestration_plans/dev"],
    );
    assert_eq!(only.code, 0, "{}{}", only.stdout, only.stderr);
    assert!(only.stdout.contains("1 schedule: 1 healthy, 0 unhealthy"));

    // A pause with a reason is an operator's decision only with --allow-paused.
    let paused_plans = ["status", "orchestration_plans/dev", "--format", "json"];
    let at_paused = |extra: &[&str]| {
        planguard_at(
            &f.server.address,
            &f.paused,
            &[&paused_plans[..], extra].concat(),
        )
    };
    assert_eq!(at_paused(&[]).code, 1);
    let allowed = at_paused(&["--allow-paused"]);
    assert_eq!(allowed.code, 0, "{}{}", allowed.stdout, allowed.stderr);

    // A plan whose schedule is not deployed: unhealthy, and said so.
    let missing = planguard_at(
        &f.server.address,
        &f.missing,
        &["status", "orchestration_plans/dev", "--format", "json"],
    );
    assert_eq!(missing.code, 1);
    let value: Value = serde_json::from_str(&missing.stdout).expect("JSON");
    let s = schedule(&value, "st-missing");
    assert_eq!(s["deployed"], false);
    assert_eq!(s["plan"], "orchestration_plans/dev/12.json");
    assert_eq!(kinds(s), ["not_deployed"]);

    // Prometheus text, written whole to a file, read by a real parser.
    let prom = f.healthy.dir.path().join("planguard.prom");
    let written = planguard_at(
        &f.server.address,
        &f.healthy,
        &[
            "status",
            "--namespace",
            NS,
            "--format",
            "prometheus",
            "-o",
            prom.to_str().expect("UTF-8 path"),
        ],
    );
    assert_eq!(written.code, 1, "{}", written.stderr);
    assert_eq!(written.stdout, "");
    let text = std::fs::read_to_string(&prom).expect("written");
    let families = prometheus_families(&text);
    let every_sample = families
        .as_array()
        .expect("families")
        .iter()
        .flat_map(|f| f["samples"].as_array().expect("samples").iter());
    for s in every_sample {
        // The textfile collector refuses samples with timestamps.
        assert_eq!(s["timestamp"], Value::Null, "{s}");
        if s["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("planguard_schedule_"))
        {
            for label in ["namespace", "schedule_id", "environment", "build"] {
                assert!(s["labels"].get(label).is_some(), "{s} lacks {label}");
            }
            assert_eq!(s["labels"]["namespace"], NS);
            assert_eq!(s["labels"]["environment"], "dev");
            assert_eq!(s["labels"]["build"], "12");
        }
    }
    let types: std::collections::BTreeMap<String, String> = families
        .as_array()
        .expect("families")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().expect("name").to_string(),
                f["type"].as_str().expect("type").to_string(),
            )
        })
        .collect();
    assert_eq!(types["planguard_schedule_healthy"], "gauge");
    assert_eq!(types["planguard_schedule_lag_seconds"], "gauge");
    // prometheus_client names a counter's family without its _total suffix.
    assert_eq!(
        types["planguard_schedule_missed_catchup_windows"],
        "counter"
    );
    assert_eq!(types["planguard_schedule_actions"], "counter");
    let value = |name: &str, id: &str| sample(&families, name, id);
    assert_eq!(value("planguard_schedule_healthy", "st-healthy"), Some(1.0));
    assert_eq!(value("planguard_schedule_healthy", "st-paused"), Some(0.0));
    assert_eq!(value("planguard_schedule_paused", "st-paused"), Some(1.0));
    assert_eq!(value("planguard_schedule_paused", "st-healthy"), Some(0.0));
    assert_eq!(
        value("planguard_schedule_last_run_failed", "st-failed"),
        Some(1.0)
    );
    assert_eq!(
        value("planguard_schedule_last_run_failed", "st-late"),
        Some(0.0)
    );
    assert_eq!(
        value("planguard_schedule_last_run_failed", "st-healthy"),
        None
    );
    assert!(value("planguard_schedule_lag_seconds", "st-late").expect("lag") > 11.0 * 3600.0);
    assert_eq!(
        value(
            "planguard_schedule_missed_catchup_windows_total",
            "st-healthy"
        ),
        Some(0.0)
    );
    assert_eq!(
        value("planguard_schedule_actions_total", "st-failed"),
        Some(1.0)
    );
    assert_eq!(
        value("planguard_schedule_running_workflows", "st-failed"),
        Some(0.0)
    );
    let next = value(
        "planguard_schedule_next_run_timestamp_seconds",
        "st-healthy",
    )
    .expect("next run");
    assert!(next > started.timestamp() as f64);
    let outcome = families
        .as_array()
        .expect("families")
        .iter()
        .find(|f| f["name"] == "planguard_schedule_last_run_outcome")
        .expect("the outcome family");
    assert!(
        outcome["samples"]
            .as_array()
            .expect("samples")
            .iter()
            .any(|s| s["labels"]["schedule_id"] == "st-failed"
                && s["labels"]["outcome"] == "terminated"
                && s["value"] == 1.0),
        "{outcome}"
    );
    let info = families
        .as_array()
        .expect("families")
        .iter()
        .find(|f| f["name"] == "planguard_schedule_plan_info")
        .expect("the plan family");
    assert!(info["samples"].as_array().expect("samples").iter().any(
        |s| s["labels"]["schedule_id"] == "st-healthy"
            && s["labels"]["plan_sha256"]
                == sha256_of(&f.healthy, "orchestration_plans/dev/12.json")
    ));
    let totals = |name: &str| {
        families
            .as_array()
            .expect("families")
            .iter()
            .find(|f| f["name"] == name)
            .and_then(|f| f["samples"][0]["value"].as_f64())
    };
    assert_eq!(totals("planguard_status_schedules"), Some(4.0));
    assert_eq!(totals("planguard_status_unhealthy_schedules"), Some(3.0));
}

#[test]
fn status_with_the_server_unreachable_is_one_fatal_error_and_exit_two() {
    let ws = workspace("st-down");
    let out = planguard_at(
        "127.0.0.1:1",
        &ws,
        &["status", "--namespace", NS, "--format", "prometheus"],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with("planguard::temporal::unreachable (https://"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("× cannot reach the Temporal server at 127.0.0.1:1: connection refused\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("help: is a Temporal server running there?"),
        "{}",
        out.stderr
    );
    // Nothing to look at is a usage error, not a pass.
    let nothing = planguard_at("127.0.0.1:1", &ws, &["status"]);
    assert_eq!(nothing.code, 2, "{}", nothing.stderr);
}

/// Regression: `status --namespace X` over the plans of several environments
/// looked for every environment's schedule in X. It is refused, before the
/// server is asked anything.
#[test]
fn a_namespace_over_plans_of_several_environments_is_refused() {
    let ws = workspace("st-envs");
    let out = planguard_at(
        "127.0.0.1:1",
        &ws,
        &["status", "--namespace", NS, "orchestration_plans"],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("--namespace would apply to the plans of 3 environments (dev, prod, uat)"),
        "{}",
        out.stderr
    );
}

/// TEMPORAL_NAMESPACE is a one-environment override, for every deploy
/// command alike: honoured when the run concerns one environment (apply,
/// status, drift), ignored with a note over several (where `--namespace`
/// is refused), so a CI variable never sends every environment to one place.
#[test]
fn temporal_namespace_counts_for_one_environment_and_is_ignored_over_several() {
    let server = Server::start(&[
        "ingestion-dev",
        "ingestion-uat",
        "ingestion-prod",
        "elsewhere",
    ]);
    let ws = workspace("st-nsvar");
    let with = |vars: &[(&str, &str)], args: &[&str]| {
        let mut cmd = planguard();
        common::temporal::hermetic(&mut cmd);
        cmd.current_dir(ws.dir.path())
            .env("TEMPORAL_ADDRESS", &server.address)
            .env("PLANGUARD_AUDIT_LOG", ws.dir.path().join("audit.jsonl"));
        for (name, value) in vars {
            cmd.env(name, value);
        }
        run(cmd.args(args))
    };
    let elsewhere = [("TEMPORAL_NAMESPACE", "elsewhere")];
    let plan = "orchestration_plans/dev/12.json";
    // apply checks the variable's namespace like the plan's own: refused.
    let refused = with(&elsewhere, &["apply", plan]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stdout.contains("namespace \"elsewhere\""),
        "{}",
        refused.stdout
    );
    let applied = with(&[], &["apply", plan]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);

    // One environment: looked for where the variable says (and not found there).
    let one = with(
        &elsewhere,
        &["status", "--format", "json", "orchestration_plans/dev"],
    );
    assert_eq!(one.code, 1, "{}{}", one.stdout, one.stderr);
    let report: Value = serde_json::from_str(&one.stdout).expect("JSON");
    assert_eq!(report["schedules"][0]["namespace"], "elsewhere", "{report}");
    let home = with(
        &[],
        &["status", "--format", "json", "orchestration_plans/dev"],
    );
    assert_eq!(home.code, 0, "{}{}", home.stdout, home.stderr);
    let drift = with(&elsewhere, &["drift", "orchestration_plans/dev"]);
    assert_eq!(drift.code, 1, "{}{}", drift.stdout, drift.stderr);
    assert!(
        drift
            .stdout
            .contains("is not deployed in namespace elsewhere"),
        "{}",
        drift.stdout
    );
    let without = with(&[], &["drift", "orchestration_plans/dev"]);
    assert_eq!(without.code, 0, "{}{}", without.stdout, without.stderr);

    // Several environments: each in its own namespace, and a note says why.
    let several = with(
        &elsewhere,
        &[
            "status",
            "--insecure",
            "--format",
            "json",
            "orchestration_plans",
        ],
    );
    assert_eq!(several.code, 1, "{}{}", several.stdout, several.stderr);
    assert!(
        several
            .stderr
            .contains("TEMPORAL_NAMESPACE is ignored: this run concerns 3 environments"),
        "{}",
        several.stderr
    );
    let report: Value = serde_json::from_str(&several.stdout).expect("JSON");
    let namespaces: Vec<&str> = report["schedules"]
        .as_array()
        .expect("schedules")
        .iter()
        .filter_map(|s| s["namespace"].as_str())
        .collect();
    assert_eq!(
        namespaces,
        ["ingestion-dev", "ingestion-prod", "ingestion-uat"],
        "{report}"
    );
}
