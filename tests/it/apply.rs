//! apply, drift, rollback and trigger against a real Temporal dev server,
//! cross-checked with the official `temporal` CLI.

use crate::common;

use std::collections::BTreeSet;

use common::temporal::{Server, cli};
use common::workspace::Workspace;
use common::{planguard, plans, run};
use serde_json::{Value, json};

const NAMESPACES: &[&str] = &["ingestion-dev", "ingestion-uat", "ingestion-prod"];

fn workspace(id: &str) -> Workspace {
    Workspace::with_schedule_id(id)
}

/// Change the jitter the way a team does: every environment's config (else
/// PG203 parity refuses) and the dev plan (else PG202 plan/config agreement).
fn set_jitter(ws: &Workspace, jitter: &str) {
    for env in ["dev", "uat", "prod"] {
        ws.edit(&format!("conf/{env}.json"), |c| {
            c["runtime"]["orchestration"]["temporal"]["schedule"]["jitter"] = Value::from(jitter);
        });
    }
    ws.edit("orchestration_plans/dev/12.json", |p| {
        p["schedule"]["jitter"] = Value::from(jitter)
    });
}

struct Ctx<'a> {
    server: &'a Server,
    ws: &'a Workspace,
}

impl Ctx<'_> {
    fn planguard(&self, args: &[&str]) -> common::Run {
        self.planguard_with(&[], args)
    }

    /// The same, with these environment variables set.
    fn planguard_with(&self, vars: &[(&str, &str)], args: &[&str]) -> common::Run {
        let mut cmd = planguard();
        common::temporal::hermetic(&mut cmd);
        cmd.current_dir(self.ws.dir.path())
            .env("TEMPORAL_ADDRESS", &self.server.address)
            .env("PLANGUARD_AUDIT_LOG", self.audit_path())
            .env_remove("PLANGUARD_APPROVED_BY")
            .env_remove("PLANGUARD_TRUSTED_SETTINGS")
            .env_remove("PLANGUARD_SETTINGS_FROM_REF")
            .env_remove("TEMPORAL_NAMESPACE");
        // Not the CI run these tests may run in: a test names its own.
        for var in [
            "GITHUB_ACTOR",
            "GITHUB_TRIGGERING_ACTOR",
            "GITLAB_USER_LOGIN",
            "BUILDKITE_BUILD_CREATOR",
            "GITHUB_ACTIONS",
            "GITLAB_CI",
            "BUILDKITE",
            "JENKINS_URL",
        ] {
            cmd.env_remove(var);
        }
        for (name, value) in vars {
            cmd.env(name, value);
        }
        run(cmd.args(args))
    }

    fn audit_path(&self) -> std::path::PathBuf {
        self.ws.dir.path().join("audit.jsonl")
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.audit_path())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("every audit line is a JSON record"))
            .collect()
    }
}

fn outcomes(audit: &[Value]) -> Vec<String> {
    audit
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["action"].as_str().unwrap_or(""),
                r["outcome"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn create_then_up_to_date_then_update_verified_with_the_official_cli() {
    let server = Server::start(NAMESPACES);
    let ws = workspace("apply-basic");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };

    let created = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(created.code, 0, "{}{}", created.stdout, created.stderr);
    assert!(
        created
            .stdout
            .contains("created schedule `apply-basic` in ingestion-dev; verified"),
        "{}",
        created.stdout
    );

    // What the official CLI sees is what the plan says.
    let described = server
        .describe("ingestion-dev", "apply-basic")
        .expect("the schedule exists");
    let schedule = &described["schedule"];
    assert_eq!(schedule["spec"]["timezoneName"], "Asia/Riyadh");
    assert_eq!(schedule["spec"]["jitter"], "300s");
    assert_eq!(
        schedule["spec"]["structuredCalendar"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(schedule["policies"]["catchupWindow"], "3600s");
    let action = &schedule["action"]["startWorkflow"];
    assert_eq!(action["workflowType"]["name"], "SparkIngestionWorkflow");
    assert_eq!(action["taskQueue"]["name"], "spark-ingest-dev");
    assert_eq!(action["workflowRunTimeout"], "7200s");
    assert_eq!(action["retryPolicy"]["maximumAttempts"], 5);

    let again = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains("is up to date"), "{}", again.stdout);

    set_jitter(&ws, "10m");
    let dry = ctx.planguard(&["apply", "--dry-run", "orchestration_plans/dev/12.json"]);
    assert!(
        dry.stdout
            .contains("would update schedule `apply-basic` in ingestion-dev: jitter 5m → 10m"),
        "{}",
        dry.stdout
    );
    assert_eq!(
        server
            .describe("ingestion-dev", "apply-basic")
            .expect("exists")["schedule"]["spec"]["jitter"],
        "300s"
    );

    let updated = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(updated.code, 0, "{}{}", updated.stdout, updated.stderr);
    assert!(
        updated.stdout.contains(
            "updated schedule `apply-basic` in ingestion-dev: jitter 5m → 10m; plan sha256 "
        ) && updated
            .stdout
            .lines()
            .next()
            .is_some_and(|l| l.ends_with("; verified")),
        "{}",
        updated.stdout
    );
    assert_eq!(
        server
            .describe("ingestion-dev", "apply-basic")
            .expect("exists")["schedule"]["spec"]["jitter"],
        "600s"
    );

    let audit = ctx.audit();
    assert_eq!(
        outcomes(&audit),
        ["apply:create", "apply:noop", "apply:update"]
    );
    let last = &audit[2];
    assert_eq!(last["environment"], "dev");
    assert_eq!(last["namespace"], "ingestion-dev");
    assert_eq!(last["build"], "12");
    assert_eq!(last["previous_plan_sha256"], audit[0]["plan_sha256"]);
    assert_ne!(last["plan_sha256"], audit[0]["plan_sha256"]);
}

#[test]
fn the_gate_refuses_and_the_server_stays_untouched() {
    let server = Server::start(NAMESPACES);
    let ws = workspace("apply-gate");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    ws.edit("orchestration_plans/dev/12.json", |p| {
        p["image"]["ref"] = Value::from("registry.dev.salam.internal/salam/ingestion:latest");
    });
    let refused = ctx.planguard(&[
        "apply",
        "--color",
        "never",
        "orchestration_plans/dev/12.json",
    ]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stdout.contains("error[PG103]"),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stdout.contains("refused: the check found"),
        "{}",
        refused.stdout
    );
    assert!(server.describe("ingestion-dev", "apply-gate").is_none());

    // PROD needs an approver (and settings from outside the change: here
    // the built-in defaults, --isolated).
    let unapproved = ctx.planguard(&["apply", "--isolated", "orchestration_plans/prod/12.json"]);
    assert_eq!(unapproved.code, 1);
    assert!(
        unapproved.stdout.contains("prod requires an approver"),
        "{}",
        unapproved.stdout
    );
    assert!(server.describe("ingestion-prod", "apply-gate").is_none());
    let approved = ctx.planguard(&[
        "apply",
        "--insecure",
        "--isolated",
        "--approved-by",
        "alice",
        "orchestration_plans/prod/12.json",
    ]);
    assert_eq!(approved.code, 0, "{}{}", approved.stdout, approved.stderr);
    assert!(server.describe("ingestion-prod", "apply-gate").is_some());

    let audit = ctx.audit();
    assert_eq!(
        outcomes(&audit),
        ["apply:refused", "apply:refused", "apply:create"]
    );
    assert_eq!(audit[2]["approved_by"], "alice");
}

#[test]
fn drift_injected_with_the_official_cli_is_found_in_the_plan() {
    let server = Server::start(NAMESPACES);
    let ws = workspace("apply-drift");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    let applied = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let clean = ctx.planguard(&["drift", "--color", "never", "orchestration_plans/dev"]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);

    // An operator changes the jitter by hand (the CLI replaces the whole schedule).
    let status = cli()
        .args([
            "schedule",
            "update",
            "--address",
            &server.address,
            "-n",
            "ingestion-dev",
        ])
        .args([
            "--schedule-id",
            "apply-drift",
            "--workflow-id",
            "customer-orders-",
        ])
        .args([
            "--task-queue",
            "spark-ingest-dev",
            "--type",
            "SparkIngestionWorkflow",
        ])
        .args([
            "--cron",
            "0 2 * * *",
            "--cron",
            "0 14 * * *",
            "--time-zone",
            "Asia/Riyadh",
        ])
        .args(["--jitter", "30s"])
        .status()
        .expect("temporal runs");
    assert!(status.success());
    let drift = ctx.planguard(&["drift", "--color", "never", "orchestration_plans/dev"]);
    assert_eq!(drift.code, 1, "{}{}", drift.stdout, drift.stderr);
    assert!(
        drift
            .stdout
            .contains("error[PG301]: deployed jitter is 30s, plan says 5m"),
        "{}",
        drift.stdout
    );
    assert!(
        drift.stdout.contains("orchestration_plans/dev/12.json:"),
        "{}",
        drift.stdout
    );

    // An unmanaged schedule and a missing one.
    let missing = ctx.planguard(&[
        "drift",
        "--insecure",
        "--color",
        "never",
        "orchestration_plans/uat",
    ]);
    assert!(
        missing.stdout.contains(
            "error[PG302]: schedule `apply-drift` is not deployed in namespace ingestion-uat"
        ),
        "{}",
        missing.stdout
    );

    // A schedule no plan owns, created by hand.
    let status = cli()
        .args([
            "schedule",
            "create",
            "--address",
            &server.address,
            "-n",
            "ingestion-dev",
        ])
        .args([
            "--schedule-id",
            "orders-backfill",
            "--workflow-id",
            "backfill-",
        ])
        .args([
            "--task-queue",
            "spark-ingest-dev",
            "--type",
            "SparkIngestionWorkflow",
        ])
        .args(["--interval", "1h"])
        .status()
        .expect("temporal runs");
    assert!(status.success());
    let unmanaged = ctx.planguard(&[
        "drift",
        "--color",
        "never",
        "--namespace",
        "ingestion-dev",
        "orchestration_plans/dev",
    ]);
    assert!(
        unmanaged
            .stdout
            .contains("warning[PG303]: schedule `orders-backfill` in namespace ingestion-dev is owned by no plan"),
        "{}",
        unmanaged.stdout
    );
    assert!(
        !unmanaged
            .stdout
            .contains("`apply-drift` in namespace ingestion-dev is owned"),
        "{}",
        unmanaged.stdout
    );

    // apply brings it back.
    let fixed = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert!(fixed.stdout.contains("jitter 30s → 5m"), "{}", fixed.stdout);
    assert_eq!(ctx.planguard(&["drift", "orchestration_plans/dev"]).code, 0);
}

#[test]
fn rollback_and_trigger() {
    let server = Server::start(NAMESPACES);
    let ws = workspace("apply-rollback");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    let applied = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let back = ctx.planguard(&["rollback", "--env", "dev"]);
    assert_eq!(back.code, 0, "{}{}", back.stdout, back.stderr);
    assert!(
        back.stdout
            .contains("rollback: to orchestration_plans/dev/11.json"),
        "{}",
        back.stdout
    );
    let described = server
        .describe("ingestion-dev", "apply-rollback")
        .expect("exists");
    let memo = &described["schedule"]["action"]["startWorkflow"]["memo"]["fields"]["planguard_build"]
        ["data"];
    // Payload data is base64 of the JSON "11".
    assert_eq!(memo, "IjExIg==");

    let triggered = ctx.planguard(&["trigger", "orchestration_plans/dev/12.json"]);
    assert_eq!(
        triggered.code, 0,
        "{}{}",
        triggered.stdout, triggered.stderr
    );
    let workflow_id = triggered
        .stdout
        .split('`')
        .nth(1)
        .expect("the workflow id is quoted")
        .to_string();
    let shown = cli()
        .args([
            "workflow",
            "describe",
            "--address",
            &server.address,
            "-n",
            "ingestion-dev",
            "-w",
            &workflow_id,
        ])
        .output()
        .expect("temporal runs");
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );

    assert_eq!(
        outcomes(&ctx.audit()),
        ["apply:create", "rollback:update", "trigger:started"]
    );
}

#[test]
fn server_and_namespace_failures_are_one_line_and_exit_two() {
    let ws = workspace("apply-down");
    let mut cmd = planguard();
    common::temporal::hermetic(&mut cmd);
    cmd.current_dir(ws.dir.path())
        .env("PLANGUARD_AUDIT_LOG", ws.dir.path().join("audit.jsonl"))
        .args([
            "apply",
            "--address",
            "127.0.0.1:1",
            "orchestration_plans/dev/12.json",
        ]);
    let down = run(&mut cmd);
    assert_eq!(down.code, 2, "{}{}", down.stdout, down.stderr);
    assert!(
        down.stderr
            .contains("cannot reach the Temporal server at 127.0.0.1:1"),
        "{}",
        down.stderr
    );

    let server = Server::start(&["ingestion-dev"]);
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    let missing = ctx.planguard(&[
        "apply",
        "--insecure",
        "--isolated",
        "--approved-by",
        "bob",
        "orchestration_plans/prod/12.json",
    ]);
    assert_eq!(missing.code, 2, "{}{}", missing.stdout, missing.stderr);
    assert!(
        missing
            .stderr
            .contains("namespace `ingestion-prod` does not exist"),
        "{}",
        missing.stderr
    );
    // TLS against a plain server: the handshake fails, and says so.
    let tls = ctx.planguard(&["apply", "--tls", "orchestration_plans/dev/12.json"]);
    assert_eq!(tls.code, 2, "{}{}", tls.stdout, tls.stderr);
    assert!(
        tls.stderr
            .contains("TLS handshake failed; is TLS enabled on the server?"),
        "{}",
        tls.stderr
    );
    let audit = ctx.audit();
    assert_eq!(
        outcomes(&audit),
        ["apply:failed", "apply:failed", "apply:failed"]
    );
}

/// planguard's own failures are diagnostics with a stable code, a help line
/// and a link to their entry in docs/errors.md: here an unreachable server
/// and invalid settings (shown first as findings located in planguard.toml),
/// in the human format and as the JSON log's fatal event.
#[test]
fn fatal_errors_show_their_code_help_and_docs_link() {
    let ws = workspace("apply-fatal");
    let errors_doc = common::read("docs/errors.md");
    let fatal = |args: &[&str]| {
        let mut cmd = planguard();
        common::temporal::hermetic(&mut cmd);
        cmd.current_dir(ws.dir.path())
            .env("PLANGUARD_AUDIT_LOG", ws.dir.path().join("audit.jsonl"))
            .args(args);
        run(&mut cmd)
    };
    let plan = "orchestration_plans/dev/12.json";

    let down = fatal(&["apply", "--address", "127.0.0.1:1", plan]);
    assert_eq!(down.code, 2, "{}{}", down.stdout, down.stderr);
    let errors = planguard::links::file("docs/errors.md");
    let url = format!("{errors}#planguardtemporalunreachable");
    assert_eq!(
        down.stderr.lines().next(),
        Some(format!("planguard::temporal::unreachable ({url})").as_str()),
        "{}",
        down.stderr
    );
    assert!(
        down.stderr
            .contains("× cannot reach the Temporal server at 127.0.0.1:1: connection refused"),
        "{}",
        down.stderr
    );
    assert!(
        down.stderr
            .contains("help: is a Temporal server running there?"),
        "{}",
        down.stderr
    );
    assert!(errors_doc.contains("## `planguard::temporal::unreachable`"));

    ws.write("bad.toml", "[files]\nconfigs = 7\n");
    let invalid = fatal(&[
        "apply",
        "--config",
        "bad.toml",
        "--address",
        "127.0.0.1:1",
        plan,
    ]);
    assert_eq!(invalid.code, 2, "{}{}", invalid.stdout, invalid.stderr);
    // The findings, located in the settings file, come first.
    let located = invalid.stderr.find("error[PG006]").expect(&invalid.stderr);
    assert!(invalid.stderr.contains("bad.toml:2:"), "{}", invalid.stderr);
    let code = invalid
        .stderr
        .find(&format!(
            "planguard::settings::invalid ({errors}#planguardsettingsinvalid)"
        ))
        .expect(&invalid.stderr);
    assert!(located < code, "{}", invalid.stderr);
    assert!(
        invalid
            .stderr
            .contains("× invalid settings; nothing was checked"),
        "{}",
        invalid.stderr
    );
    assert!(
        invalid
            .stderr
            .contains("help: fix planguard.toml where shown above"),
        "{}",
        invalid.stderr
    );
    assert!(errors_doc.contains("## `planguard::settings::invalid`"));

    // The JSON log carries the same code, help and link.
    let json = fatal(&[
        "--log-format",
        "json",
        "apply",
        "--address",
        "127.0.0.1:1",
        plan,
    ]);
    let event: Value = serde_json::from_str(json.stderr.lines().last().expect(&json.stderr))
        .expect("a JSON event");
    assert_eq!(event["event"], "fatal", "{event}");
    assert_eq!(event["code"], "planguard::temporal::unreachable", "{event}");
    assert_eq!(event["url"], url, "{event}");
    assert!(
        event["help"]
            .as_str()
            .is_some_and(|h| h.starts_with("is a Temporal server running there?")),
        "{event}"
    );
}

/// Two applies of different plans at once: the one that updates first wins,
/// the other finds its update was not applied and says so; nothing is lost
/// and the audit records the failure, not a success.
fn concurrent_applies(server: &Server, id: &str) {
    let a = workspace(id);
    let b = workspace(id);
    set_jitter(&a, "10m");
    set_jitter(&b, "15m");
    let first = Ctx { server, ws: &a };
    let second = Ctx { server, ws: &b };
    // The schedule exists (from the clean plan) before both start.
    let base = workspace(id);
    let created =
        Ctx { server, ws: &base }.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(created.code, 0, "{}{}", created.stdout, created.stderr);

    let (child, hold) = spawn_held(
        server,
        &a,
        "PLANGUARD_TEST_HOLD_BEFORE_UPDATE",
        "orchestration_plans/dev/12.json",
    );
    // Meanwhile the other apply goes through.
    let winner = second.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(winner.code, 0, "{}{}", winner.stdout, winner.stderr);
    std::fs::write(&hold, b"").expect("release");
    let loser = child.wait_with_output().expect("planguard ends");
    let stdout = String::from_utf8_lossy(&loser.stdout);
    assert_eq!(loser.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("the schedule was changed concurrently"),
        "{stdout}"
    );
    // No lost update: the winner's schedule stands.
    assert_eq!(
        server.describe("ingestion-dev", id).expect("exists")["schedule"]["spec"]["jitter"],
        "900s"
    );
    assert_eq!(outcomes(&first.audit()), ["apply:failed"]);
    assert_eq!(outcomes(&second.audit()), ["apply:update"]);
}

#[test]
fn concurrent_applies_on_the_workflow_backed_scheduler() {
    let server = Server::start(NAMESPACES);
    concurrent_applies(&server, "apply-race");
}

#[test]
fn concurrent_applies_on_the_newer_scheduler() {
    let server = Server::start_chasm(NAMESPACES);
    concurrent_applies(&server, "apply-race-chasm");
    // And the rest of the cycle works there too.
    let ws = workspace("apply-chasm-cycle");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    let applied = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let again = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert!(again.stdout.contains("is up to date"), "{}", again.stdout);
}

/// With the built-in rules off, an interval the server refuses (an offset
/// longer than the period) is shown at the plan's intervals, from the
/// server's own message.
#[test]
fn a_schedule_the_server_rejects_points_at_the_plan_field() {
    let server = Server::start(NAMESPACES);
    let ws = workspace("apply-rejected");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    ws.write("planguard.toml", "[policy]\nbuiltin = false\n");
    ws.edit("orchestration_plans/dev/12.json", |p| {
        p["schedule"]["intervals"] = json!([{"every": "1h", "offset": "2h"}]);
    });
    let rejected = ctx.planguard(&[
        "apply",
        "--color",
        "never",
        "orchestration_plans/dev/12.json",
    ]);
    assert_eq!(rejected.code, 2, "{}{}", rejected.stdout, rejected.stderr);
    assert!(
        rejected
            .stdout
            .contains("error[PG304]: the Temporal server rejected the schedule"),
        "{}",
        rejected.stdout
    );
    assert!(
        rejected.stdout.contains("orchestration_plans/dev/12.json:"),
        "{}",
        rejected.stdout
    );
    assert!(
        rejected.stdout.contains("at: /schedule/intervals"),
        "{}",
        rejected.stdout
    );
    assert!(server.describe("ingestion-dev", "apply-rejected").is_none());

    // With PG304 off the finding is not shown; the apply failed all the same.
    ws.write(
        "planguard.toml",
        "[policy]\nbuiltin = false\n\n[rules]\nschedule-rejected = \"off\"\n",
    );
    let quiet = ctx.planguard(&[
        "apply",
        "--color",
        "never",
        "orchestration_plans/dev/12.json",
    ]);
    assert_eq!(quiet.code, 2, "{}{}", quiet.stdout, quiet.stderr);
    assert!(!quiet.stdout.contains("PG304"), "{}", quiet.stdout);
    assert!(
        quiet
            .stderr
            .contains("the Temporal server rejected the schedule"),
        "{}",
        quiet.stderr
    );
}

/// An update replaces a schedule's whole state: an operator's pause and its
/// note survive it, unless --unpause.
#[test]
fn an_operators_pause_survives_an_update_unless_unpause() {
    let server = Server::start(NAMESPACES);
    let ws = workspace("apply-pause");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    let applied = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let status = cli()
        .args([
            "schedule",
            "toggle",
            "--address",
            &server.address,
            "-n",
            "ingestion-dev",
        ])
        .args([
            "--schedule-id",
            "apply-pause",
            "--pause",
            "--reason",
            "warehouse maintenance",
        ])
        .status()
        .expect("temporal runs");
    assert!(status.success());
    let state = || {
        server
            .describe("ingestion-dev", "apply-pause")
            .expect("exists")["schedule"]["state"]
            .clone()
    };

    set_jitter(&ws, "10m");
    let kept = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(kept.code, 0, "{}{}", kept.stdout, kept.stderr);
    assert_eq!(state()["paused"], true);
    assert_eq!(state()["notes"], "warehouse maintenance");

    set_jitter(&ws, "15m");
    let resumed = ctx.planguard(&["apply", "--unpause", "orchestration_plans/dev/12.json"]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    assert_ne!(state()["paused"], true);
}

/// Start `apply <plan>` in `ws` held at a test seam (see `hold_for_tests` in
/// src/apply/mod.rs), and wait until it is there. Returns the process and the
/// file whose creation lets it go on.
fn spawn_held(
    server: &Server,
    ws: &Workspace,
    seam: &str,
    plan: &str,
) -> (std::process::Child, std::path::PathBuf) {
    let hold = ws.dir.path().join("go");
    let waiting = ws.dir.path().join("go.waiting");
    let _ = std::fs::remove_file(&hold);
    let _ = std::fs::remove_file(&waiting);
    let mut held = planguard();
    common::temporal::hermetic(&mut held);
    held.current_dir(ws.dir.path())
        .env("TEMPORAL_ADDRESS", &server.address)
        .env("PLANGUARD_AUDIT_LOG", ws.dir.path().join("audit.jsonl"))
        .env(seam, &hold)
        .args(["apply", plan])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = held.spawn().expect("planguard runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !waiting.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply never reached {seam}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (child, hold)
}

/// Run an apply held at a test seam, stop the server while it waits, then
/// let it go on. Returns the apply's outcome.
fn apply_while_the_server_dies(server: &mut Server, ws: &Workspace, seam: &str) -> common::Run {
    let (child, hold) = spawn_held(server, ws, seam, "orchestration_plans/dev/12.json");
    server.kill();
    std::fs::write(&hold, b"").expect("release");
    let out = child.wait_with_output().expect("planguard ends");
    common::Run {
        code: out.status.code().expect("exited"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The server dies mid-apply — after the create and before it is described
/// back, or after the describe and before the update. Either way planguard
/// exits 2 with one line, the audit records a failure and never a success,
/// and once the server is back (same database) a re-run converges to the plan.
#[test]
fn a_server_dying_mid_apply_fails_cleanly_and_a_rerun_converges() {
    let mut server = Server::start(NAMESPACES);

    // After the create, before the verify: the create landed, unverified.
    let ws = workspace("apply-dies-after-create");
    let died = apply_while_the_server_dies(&mut server, &ws, "PLANGUARD_TEST_HOLD_BEFORE_VERIFY");
    assert_eq!(died.code, 2, "{}{}", died.stdout, died.stderr);
    // One fatal error: its code, and its message on one line.
    assert!(
        died.stderr.starts_with("planguard::temporal::"),
        "{}",
        died.stderr
    );
    assert_eq!(
        died.stderr.lines().filter(|l| l.contains('×')).count(),
        1,
        "{}",
        died.stderr
    );
    server.restart();
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    assert_eq!(outcomes(&ctx.audit()), ["apply:failed"]);
    let landed = server
        .describe("ingestion-dev", "apply-dies-after-create")
        .expect("the create reached the server before it died");
    assert_eq!(landed["schedule"]["spec"]["jitter"], "300s");
    let again = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("is up to date"), "{}", again.stdout);
    assert_eq!(outcomes(&ctx.audit()), ["apply:failed", "apply:noop"]);

    // After the describe, before the update: nothing was written.
    let ws = workspace("apply-dies-before-update");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    let applied = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    set_jitter(&ws, "10m");
    let died = apply_while_the_server_dies(&mut server, &ws, "PLANGUARD_TEST_HOLD_BEFORE_UPDATE");
    assert_eq!(died.code, 2, "{}{}", died.stdout, died.stderr);
    server.restart();
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    assert_eq!(outcomes(&ctx.audit()), ["apply:create", "apply:failed"]);
    assert_eq!(
        server
            .describe("ingestion-dev", "apply-dies-before-update")
            .expect("exists")["schedule"]["spec"]["jitter"],
        "300s",
        "the update never reached the server"
    );
    let again = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert_eq!(
        server
            .describe("ingestion-dev", "apply-dies-before-update")
            .expect("exists")["schedule"]["spec"]["jitter"],
        "600s"
    );
    assert_eq!(
        outcomes(&ctx.audit()),
        ["apply:create", "apply:failed", "apply:update"]
    );
}

/// `apply --dry-run --format markdown` previews a change for a pull request:
/// a create lists the plan's fields, an update each changed field with its
/// deployed and planned value, and an applied plan says nothing would change;
/// `drift --format markdown` is the drift table. Snapshotted, and rendered
/// as tables by a real CommonMark renderer.
#[test]
fn a_dry_run_previews_the_change_in_markdown() {
    let server = Server::start(NAMESPACES);
    let ws = workspace("apply-preview");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    let plan = "orchestration_plans/dev/12.json";
    let create = ctx.planguard(&["apply", "--dry-run", "--format", "markdown", plan]);
    assert_eq!(create.code, 0, "{}{}", create.stdout, create.stderr);
    assert_eq!(ctx.planguard(&["apply", plan]).code, 0);
    let same = ctx.planguard(&["apply", "--dry-run", "--format", "markdown", plan]);
    set_jitter(&ws, "10m");
    let update = ctx.planguard(&["apply", "--dry-run", "--format", "markdown", plan]);
    assert_eq!(update.code, 0, "{}{}", update.stdout, update.stderr);
    let drift = ctx.planguard(&[
        "drift",
        "--insecure",
        "--format",
        "markdown",
        "orchestration_plans",
    ]);
    assert_eq!(drift.code, 1, "{}{}", drift.stdout, drift.stderr);
    let sha = regex::Regex::new(r"sha256 `[0-9a-f]{12}`").expect("valid");
    let text = format!(
        "{}\n---\n{}\n---\n{}\n---\n{}",
        create.stdout, same.stdout, update.stdout, drift.stdout
    );
    let text = sha.replace_all(&text, "sha256 `[SHA]`");
    let hash = regex::Regex::new(r"\b[0-9a-f]{12}\b").expect("valid");
    let text: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with("| plan sha256 |") {
                hash.replace_all(line, "[SHA]").into_owned()
            } else {
                line.to_string()
            }
        })
        .collect();
    let text = text.join("\n");
    insta::assert_snapshot!(text);
    assert!(
        update.stdout.contains("| jitter | 5m | 10m |"),
        "{}",
        update.stdout
    );
    // Nothing was changed by the previews.
    assert_eq!(
        server
            .describe("ingestion-dev", "apply-preview")
            .expect("exists")["schedule"]["spec"]["jitter"],
        "300s"
    );
    let html = common::render_markdown(&format!("{}\n{}", create.stdout, update.stdout));
    assert_eq!(
        (
            html.matches("<table>").count(),
            html.matches("<h3>").count()
        ),
        (2, 2)
    );
}

/// Regression: `drift --namespace X` rewrote the namespace of every plan, so
/// drift over orchestration_plans/ compared the dev and uat plans with the
/// schedules of one namespace; a `--task-queue` given to apply was drift
/// forever, with no way to tell drift about it; and `[rules]`/`[[ignore]]`
/// did nothing to PG301–PG303.
#[test]
fn drift_compares_each_environment_in_its_own_namespace_and_honours_settings() {
    let server = Server::start(NAMESPACES);
    let ws = workspace("drift-envs");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    // The dev config moved to the maintenance queue; CI sends the plan
    // generated before that with the queue overridden.
    ws.edit("conf/dev.json", |c| {
        c["runtime"]["orchestration"]["temporal"]["task_queue"] =
            Value::from("temporal-maintenance");
    });
    let dev = ctx.planguard(&[
        "apply",
        "--task-queue",
        "temporal-maintenance",
        "orchestration_plans/dev/12.json",
    ]);
    assert_eq!(dev.code, 0, "{}{}", dev.stdout, dev.stderr);
    let uat = ctx.planguard(&["apply", "--insecure", "orchestration_plans/uat/12.json"]);
    assert_eq!(uat.code, 0, "{}{}", uat.stdout, uat.stderr);

    // Each plan in its own namespace: uat is clean, dev runs on the queue
    // the override gave it, prod is not deployed.
    let all = ctx.planguard(&[
        "drift",
        "--insecure",
        "--color",
        "never",
        "orchestration_plans",
    ]);
    assert_eq!(all.code, 1, "{}{}", all.stdout, all.stderr);
    assert!(
        all.stdout.contains(
            "error[PG301]: deployed task queue is temporal-maintenance, plan says spark-ingest-dev"
        ),
        "{}",
        all.stdout
    );
    assert!(
        all.stdout.contains(
            "error[PG302]: schedule `drift-envs` is not deployed in namespace ingestion-prod"
        ),
        "{}",
        all.stdout
    );
    assert_eq!(all.stdout.matches("error[").count(), 2, "{}", all.stdout);

    // The override apply was given, for that environment's plans: no drift.
    let same = ctx.planguard(&[
        "drift",
        "--task-queue",
        "temporal-maintenance",
        "orchestration_plans/dev",
    ]);
    assert_eq!(same.code, 0, "{}{}", same.stdout, same.stderr);

    // An override over the plans of several environments is refused.
    for flag in [
        ["--namespace", "ingestion-dev"],
        ["--task-queue", "temporal-maintenance"],
    ] {
        let refused = ctx.planguard(&[
            "drift",
            "--insecure",
            flag[0],
            flag[1],
            "orchestration_plans",
        ]);
        assert_eq!(refused.code, 2, "{}{}", refused.stdout, refused.stderr);
        assert!(
            refused.stderr.contains(&format!(
                "{} would apply to the plans of 3 environments (dev, prod, uat)",
                flag[0]
            )),
            "{}",
            refused.stderr
        );
    }

    // [rules] and [[ignore]] hold for the drift rules as for any other.
    ws.write(
        "planguard.toml",
        "[rules]\nPG301 = \"warning\"\n\n[[ignore]]\nrule = \"PG302\"\npaths = [\"orchestration_plans/prod/**\"]\n",
    );
    let settled = ctx.planguard(&[
        "drift",
        "--insecure",
        "--color",
        "never",
        "orchestration_plans",
    ]);
    assert_eq!(settled.code, 0, "{}{}", settled.stdout, settled.stderr);
    assert!(
        settled
            .stdout
            .contains("warning[PG301]: deployed task queue"),
        "{}",
        settled.stdout
    );
    assert!(!settled.stdout.contains("PG302"), "{}", settled.stdout);

    let status = cli()
        .args([
            "schedule",
            "create",
            "--address",
            &server.address,
            "-n",
            "ingestion-dev",
        ])
        .args(["--schedule-id", "drift-envs-by-hand", "--workflow-id", "x-"])
        .args([
            "--task-queue",
            "spark-ingest-dev",
            "--type",
            "SparkIngestionWorkflow",
        ])
        .args(["--interval", "1h"])
        .status()
        .expect("temporal runs");
    assert!(status.success());
    ws.write(
        "planguard.toml",
        "[rules]\nschedule-drift = \"off\"\nPG303 = \"error\"\n",
    );
    let unmanaged = ctx.planguard(&[
        "drift",
        "--color",
        "never",
        "--namespace",
        "ingestion-dev",
        "orchestration_plans/dev",
    ]);
    assert_eq!(
        unmanaged.code, 1,
        "{}{}",
        unmanaged.stdout, unmanaged.stderr
    );
    assert!(
        unmanaged
            .stdout
            .contains("error[PG303]: schedule `drift-envs-by-hand` in namespace ingestion-dev"),
        "{}",
        unmanaged.stdout
    );
    assert!(!unmanaged.stdout.contains("PG301"), "{}", unmanaged.stdout);
}

/// `git` in the workspace, as a CI checkout would have it.
fn git(ws: &Workspace, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(ws.dir.path())
        .args(["-c", "user.name=ci", "-c", "user.email=ci@example.invalid"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Regression: the prod approval tested only that `--approved-by` was
/// there (an empty one passed), anyone could approve their own apply, and a
/// pull request could turn the gate off in its own planguard.toml for the
/// very apply it was about to run.
#[test]
fn approval_needs_another_person_and_settings_from_outside_the_change() {
    let server = Server::start(NAMESPACES);
    let ws = workspace("apply-trust");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    let plan = "orchestration_plans/prod/12.json";
    // The main branch's settings: the defaults, and PG303 made an error.
    ws.write("planguard.toml", "[rules]\nPG303 = \"error\"\n");
    git(&ws, &["init", "--quiet", "--initial-branch", "main"]);
    git(&ws, &["add", "."]);
    git(&ws, &["commit", "--quiet", "-m", "main"]);
    let trusted = ["--settings-from-ref", "main"];

    // A blank approver is no approver, by flag or by variable.
    let blank = ctx.planguard(&[
        "apply",
        "--insecure",
        trusted[0],
        trusted[1],
        "--approved-by",
        "",
        plan,
    ]);
    assert_eq!(blank.code, 1, "{}{}", blank.stdout, blank.stderr);
    assert!(
        blank.stdout.contains("prod requires an approver"),
        "{}",
        blank.stdout
    );
    let spaces = ctx.planguard_with(
        &[("PLANGUARD_APPROVED_BY", "  ")],
        &["apply", "--insecure", trusted[0], trusted[1], plan],
    );
    assert_eq!(spaces.code, 1, "{}{}", spaces.stdout, spaces.stderr);
    assert!(
        spaces.stdout.contains("prod requires an approver"),
        "{}",
        spaces.stdout
    );

    // The CI user cannot approve their own apply.
    let own = ctx.planguard_with(
        &[("GITHUB_ACTOR", "alice")],
        &[
            "apply",
            "--insecure",
            trusted[0],
            trusted[1],
            "--approved-by",
            " Alice ",
            plan,
        ],
    );
    assert_eq!(own.code, 1, "{}{}", own.stdout, own.stderr);
    assert!(
        own.stdout.contains("`Alice` is the CI user of this run"),
        "{}",
        own.stdout
    );

    // Without settings from outside the change, prod is not applied.
    let untrusted = ctx.planguard(&["apply", "--insecure", "--approved-by", "bob", plan]);
    assert_eq!(
        untrusted.code, 1,
        "{}{}",
        untrusted.stdout, untrusted.stderr
    );
    assert!(
        untrusted
            .stdout
            .contains("its gate settings must come from outside the change under review"),
        "{}",
        untrusted.stdout
    );

    // The change turns the gate off for prod in its own planguard.toml.
    let weakened = "[environments.prod]\napproval-required = false\nrequire-signature = false\n\n\
        [rules]\nmutable-image-tag = \"warning\"\nPG303 = \"error\"\n\n\
        [[ignore]]\nrule = \"PG105\"\npaths = [\"orchestration_plans/prod/**\"]\n";
    ws.write("planguard.toml", weakened);
    // Turning approval off for prod does not make prod's gate the change's
    // own: the built-in defaults protect prod, so a trusted source is needed.
    let unapproved = ctx.planguard(&["apply", plan]);
    assert_eq!(
        unapproved.code, 1,
        "{}{}",
        unapproved.stdout, unapproved.stderr
    );
    assert!(
        unapproved
            .stdout
            .contains("its gate settings must come from outside the change under review"),
        "{}",
        unapproved.stdout
    );
    let expected = "refused: this change weakens the gate for prod compared with the trusted settings: \
        approval-required is turned off for prod; require-signature is turned off for prod; \
        PG103 is downgraded to warning; PG105 is ignored for orchestration_plans/prod/12.json";
    let from_ref = ctx.planguard(&[
        "apply",
        "--insecure",
        trusted[0],
        trusted[1],
        "--approved-by",
        "bob",
        plan,
    ]);
    assert_eq!(from_ref.code, 1, "{}{}", from_ref.stdout, from_ref.stderr);
    assert!(from_ref.stdout.contains(expected), "{}", from_ref.stdout);
    // The same from a trusted file kept outside the change.
    let outside = tempfile::tempdir().expect("tempdir");
    let file = outside.path().join("planguard.toml");
    std::fs::write(&file, "[rules]\nPG303 = \"error\"\n").expect("write");
    let from_file = ctx.planguard(&[
        "apply",
        "--insecure",
        "--trusted-settings",
        &file.to_string_lossy(),
        "--approved-by",
        "bob",
        plan,
    ]);
    assert_eq!(
        from_file.code, 1,
        "{}{}",
        from_file.stdout, from_file.stderr
    );
    assert!(from_file.stdout.contains(expected), "{}", from_file.stdout);
    // A ref that does not exist is a failure of the run, not a pass.
    let bad = ctx.planguard(&[
        "apply",
        "--insecure",
        "--settings-from-ref",
        "no-such-branch",
        "--approved-by",
        "bob",
        plan,
    ]);
    assert_eq!(bad.code, 2, "{}{}", bad.stdout, bad.stderr);
    assert!(
        bad.stderr
            .contains("cannot read the trusted settings at git ref `no-such-branch`"),
        "{}",
        bad.stderr
    );
    assert!(server.describe("ingestion-prod", "apply-trust").is_none());

    // Back to main's settings: a second person approves, and it is applied.
    git(&ws, &["checkout", "--quiet", "--", "planguard.toml"]);
    let applied = ctx.planguard_with(
        &[
            ("GITHUB_ACTOR", "alice"),
            ("PLANGUARD_SETTINGS_FROM_REF", "main"),
        ],
        &["apply", "--insecure", "--approved-by", "bob", plan],
    );
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    assert!(server.describe("ingestion-prod", "apply-trust").is_some());

    let audit = ctx.audit();
    assert_eq!(
        outcomes(&audit),
        [
            "apply:refused",
            "apply:refused",
            "apply:refused",
            "apply:refused",
            "apply:refused",
            "apply:refused",
            "apply:refused",
            "apply:create"
        ]
    );
    // Who approved is recorded, refused or not, and where the gate's settings came from.
    assert_eq!(audit[1]["approved_by"], Value::Null);
    assert_eq!(audit[2]["approved_by"], "Alice");
    assert_eq!(audit[2]["actor"], "alice");
    let last = &audit[7];
    assert_eq!(last["approved_by"], "bob");
    assert_eq!(last["actor"], "alice");
    assert_eq!(last["gate_settings"], "main:planguard.toml");
}

/// Regression: rollback read orchestration_plans/<env> whatever `[files]
/// plans` said, went to the numerically previous build rather than the plan
/// deployed before the current one, fell back to the newest build when the
/// schedule could not be described, and `--to 041` matched no build 41.
#[test]
fn rollback_goes_back_to_the_plan_deployed_before_by_the_record() {
    let server = Server::start(NAMESPACES);
    let ws = workspace("apply-history");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    // A plan store of another layout.
    std::fs::rename(
        ws.dir.path().join("orchestration_plans"),
        ws.dir.path().join("releases"),
    )
    .expect("rename");
    ws.write(
        "planguard.toml",
        "[files]\nplans = [\"releases/{env}/{build}.json\"]\n",
    );
    for build in ["10", "12"] {
        let applied = ctx.planguard(&["apply", &format!("releases/dev/{build}.json")]);
        assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    }

    // The schedule cannot be described: an error, not a guess.
    let blind = ctx.planguard(&["rollback", "--env", "dev", "--address", "127.0.0.1:1"]);
    assert_eq!(blind.code, 2, "{}{}", blind.stdout, blind.stderr);
    assert!(
        blind
            .stderr
            .contains("cannot reach the Temporal server at 127.0.0.1:1"),
        "{}",
        blind.stderr
    );
    assert_eq!(blind.stdout, "");

    // 12 replaced 10: back to 10, not to 11.
    let back = ctx.planguard(&["rollback", "--env", "dev"]);
    assert_eq!(back.code, 0, "{}{}", back.stdout, back.stderr);
    assert!(
        back.stdout.contains(
            "rollback: to releases/dev/10.json (build 10: deployed before the current plan, by the audit log)"
        ),
        "{}",
        back.stdout
    );
    let memo = |server: &Server| {
        server.describe("ingestion-dev", "apply-history").expect("exists")["schedule"]["action"]
            ["startWorkflow"]["memo"]["fields"]["planguard_build"]["data"]
            .clone()
    };
    // Payload data is base64 of the JSON "10".
    assert_eq!(memo(&server), "IjEwIg==");

    let list = ctx.planguard(&["rollback", "--env", "dev", "--list"]);
    assert_eq!(list.code, 0, "{}{}", list.stdout, list.stderr);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "planguard rollback: dev — schedule `apply-history` in ingestion-dev"
    );
    assert!(lines[1].starts_with("BUILD  SHA256"), "{}", list.stdout);
    let rows: Vec<Vec<&str>> = lines[2..5]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows.iter().map(|r| r[0]).collect::<Vec<_>>(),
        ["10", "12", "10"],
        "{}",
        list.stdout
    );
    assert_eq!(rows[0][1], rows[2][1], "{}", list.stdout);
    assert!(
        lines[4].ends_with("rollback update  ← deployed"),
        "{}",
        list.stdout
    );
    assert!(!lines[3].contains("deployed"), "{}", list.stdout);
    assert!(
        lines[5].starts_with("deployed: build 10 (sha256 "),
        "{}",
        list.stdout
    );
    assert!(
        lines[6].starts_with("rollback would go nowhere: the deployed plan is the oldest"),
        "{}",
        list.stdout
    );
    assert_eq!(memo(&server), "IjEwIg==", "--list changes nothing");

    // A build number is a number.
    let forward = ctx.planguard(&["rollback", "--env", "dev", "--to", "012", "--dry-run"]);
    assert_eq!(forward.code, 0, "{}{}", forward.stdout, forward.stderr);
    assert!(
        forward
            .stdout
            .contains("rollback: to releases/dev/12.json (build 12: named with --to)"),
        "{}",
        forward.stdout
    );
    assert!(
        forward.stdout.contains("would update schedule"),
        "{}",
        forward.stdout
    );
    let none = ctx.planguard(&["rollback", "--env", "dev", "--to", "9"]);
    assert_eq!(none.code, 2, "{}{}", none.stdout, none.stderr);
    assert!(
        none.stderr
            .contains("no plan of build 9 for dev in the plan store"),
        "{}",
        none.stderr
    );

    assert_eq!(
        outcomes(&ctx.audit()),
        ["apply:create", "apply:update", "rollback:update"]
    );

    // From a CI run: the record names it, and the plan sent is kept beside
    // the log under its sha256, byte for byte.
    let github = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.example"),
        ("GITHUB_REPOSITORY", "salam/ingestion"),
        ("GITHUB_RUN_ID", "4242"),
        ("GITHUB_RUN_ATTEMPT", "2"),
        ("GITHUB_REF", "refs/heads/main"),
        ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
    ];
    let again = ctx.planguard_with(&github, &["apply", "releases/dev/12.json"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    let audit = ctx.audit();
    let last = audit.last().expect("a record");
    assert_eq!(
        last["ci"],
        serde_json::json!({
            "system": "github-actions",
            "run_id": "4242",
            "run_url": "https://github.example/salam/ingestion/actions/runs/4242/attempts/2",
            "repository": "salam/ingestion",
            "ref": "refs/heads/main",
            "commit": "0123456789abcdef0123456789abcdef01234567",
        })
    );
    assert_eq!(audit[0]["ci"], Value::Null, "outside CI");
    let sent = std::fs::read(ws.dir.path().join("releases/dev/12.json")).expect("plan");
    let sha = last["plan_sha256"].as_str().expect("sha256");
    assert_eq!(common::workspace::sha256(&sent), sha);
    let copy = ws.dir.path().join(format!("plans/{sha}.json"));
    assert_eq!(std::fs::read(&copy).expect("the plan is kept"), sent);
    assert!(
        last["plan_copy"]
            .as_str()
            .expect("plan_copy")
            .ends_with(&format!("plans/{sha}.json")),
        "{last}"
    );
    let kept: Vec<_> = std::fs::read_dir(ws.dir.path().join("plans"))
        .expect("kept")
        .collect();
    assert_eq!(kept.len(), 2, "one file per plan sent: 10 and 12");

    // A plan that left the store: the rollback says where its copy is.
    let ten = std::fs::read(ws.dir.path().join("releases/dev/10.json")).expect("plan");
    std::fs::remove_file(ws.dir.path().join("releases/dev/10.json")).expect("remove");
    let gone = ctx.planguard(&["rollback", "--env", "dev"]);
    assert_eq!(gone.code, 2, "{}{}", gone.stdout, gone.stderr);
    let ten_sha = common::workspace::sha256(&ten);
    assert!(
        gone.stderr.contains("is kept at ")
            && gone.stderr.contains(&format!("plans/{ten_sha}.json")),
        "{}",
        gone.stderr
    );
}

/// Standard base64 (the protobuf JSON form of bytes).
fn base64(text: &str) -> Vec<u8> {
    let digit = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(digit).collect();
    digits
        .chunks(4)
        .flat_map(|chunk| {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, d)| n | u32::from(*d) << (18 - 6 * i));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            bytes[..chunk.len() - 1].to_vec()
        })
        .collect()
}

/// A payload of a describe as JSON.
fn payload(p: &Value) -> Value {
    assert_eq!(
        base64(p["metadata"]["encoding"].as_str().expect("encoding")),
        b"json/plain"
    );
    serde_json::from_slice(&base64(p["data"].as_str().unwrap_or(""))).expect("a JSON payload")
}

/// A protobuf JSON duration ("2.500s") in nanoseconds; absent is 0.
fn proto_nanos(value: &Value) -> u128 {
    let Some(text) = value.as_str() else {
        return 0;
    };
    let seconds = text.strip_suffix('s').expect("protobuf durations end in s");
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    let fraction = format!("{fraction:0<9}");
    whole.parse::<u128>().expect("seconds") * 1_000_000_000
        + fraction.parse::<u128>().expect("nanoseconds")
}

/// The six value sets of a described calendar, with Temporal's defaults for
/// an absent field and Sunday as 0.
fn described_calendar(calendar: &Value) -> [BTreeSet<u32>; 6] {
    let fields = [
        ("second", 0, 59, Some((0, 0))),
        ("minute", 0, 59, Some((0, 0))),
        ("hour", 0, 23, Some((0, 0))),
        ("dayOfMonth", 1, 31, None),
        ("month", 1, 12, None),
        ("dayOfWeek", 0, 6, None),
    ];
    fields.map(|(name, low, high, empty)| {
        let ranges = calendar[name].as_array().cloned().unwrap_or_default();
        if ranges.is_empty() {
            let (start, end) = empty.unwrap_or((low, high));
            return (start..=end).collect();
        }
        let mut values = BTreeSet::new();
        for range in ranges {
            let start = range["start"].as_u64().unwrap_or(0) as u32;
            let end = (range["end"].as_u64().unwrap_or(0) as u32).max(start);
            let step = range["step"].as_u64().unwrap_or(1).max(1) as usize;
            values.extend(
                (start..=end)
                    .step_by(step)
                    .map(|v| if name == "dayOfWeek" && v == 7 { 0 } else { v }),
            );
        }
        values
    })
}

fn instant(text: &str) -> (i64, u32) {
    let t = chrono::DateTime::parse_from_rfc3339(text).expect("an RFC 3339 date-time");
    (t.timestamp(), t.timestamp_subsec_nanos())
}

/// What the official CLI describes, field by field against the plan, by
/// this test's own mapping; the mismatches, as text.
fn mismatches(generated: &plans::Generated, text: &str, described: &Value) -> Vec<String> {
    let plan = &generated.plan;
    let schedule = &described["schedule"];
    let spec = &schedule["spec"];
    let action = &schedule["action"]["startWorkflow"];
    let policies = &schedule["policies"];
    let mut wrong = Vec::new();
    let mut expect = |what: &str, planned: Value, deployed: Value| {
        if planned != deployed {
            wrong.push(format!("{what}: plan {planned}, deployed {deployed}"));
        }
    };
    let mut calendars: Vec<_> = spec["structuredCalendar"]
        .as_array()
        .into_iter()
        .flatten()
        .map(described_calendar)
        .collect();
    calendars.sort();
    expect(
        "calendars",
        json!(format!("{:?}", generated.calendars)),
        json!(format!("{calendars:?}")),
    );
    expect(
        "cron strings are compiled",
        json!(null),
        spec["cronString"].clone(),
    );
    let mut intervals: Vec<(u128, u128)> = spec["interval"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| (proto_nanos(&i["interval"]), proto_nanos(&i["phase"])))
        .collect();
    intervals.sort();
    expect(
        "intervals",
        json!(format!("{:?}", generated.intervals)),
        json!(format!("{intervals:?}")),
    );
    expect(
        "timezone",
        plan["schedule"]["timezone"].clone(),
        spec["timezoneName"].clone(),
    );
    expect(
        "jitter",
        json!(generated.jitter.to_string()),
        json!(proto_nanos(&spec["jitter"]).to_string()),
    );
    for (key, name) in [("start_at", "startTime"), ("end_at", "endTime")] {
        let planned = plan["schedule"][key].as_str().map(instant);
        let deployed = spec[name].as_str().map(instant);
        expect(
            key,
            json!(format!("{planned:?}")),
            json!(format!("{deployed:?}")),
        );
    }
    let overlap = plan["policies"]["overlap"].as_str().unwrap_or("skip");
    expect(
        "overlap",
        json!(format!(
            "SCHEDULE_OVERLAP_POLICY_{}",
            overlap.to_uppercase()
        )),
        policies["overlapPolicy"].clone(),
    );
    expect(
        "catchup window",
        json!(generated.catchup.to_string()),
        json!(proto_nanos(&policies["catchupWindow"]).to_string()),
    );
    expect(
        "pause on failure",
        json!(
            plan["policies"]["pause_on_failure"]
                .as_bool()
                .unwrap_or(false)
        ),
        json!(policies["pauseOnFailure"].as_bool().unwrap_or(false)),
    );
    let id = plan["schedule_id"].as_str().expect("id");
    expect(
        "workflow id",
        plan.get("workflow_id_prefix")
            .cloned()
            .unwrap_or_else(|| json!(format!("{id}-"))),
        action["workflowId"].clone(),
    );
    expect(
        "workflow type",
        plan["workflow_type"].clone(),
        action["workflowType"]["name"].clone(),
    );
    expect(
        "task queue",
        plan["task_queue"].clone(),
        action["taskQueue"]["name"].clone(),
    );
    let inputs: Vec<Value> = action["input"]["payloads"]
        .as_array()
        .into_iter()
        .flatten()
        .map(payload)
        .collect();
    expect("input", json!([plan["input"]]), json!(inputs));
    for (i, name) in [
        "workflowExecutionTimeout",
        "workflowRunTimeout",
        "workflowTaskTimeout",
    ]
    .iter()
    .enumerate()
    {
        expect(
            name,
            json!(generated.timeouts[i].to_string()),
            json!(proto_nanos(&action[name]).to_string()),
        );
    }
    let retry = &action["retryPolicy"];
    match generated.retry {
        None => expect("retry policy", json!(null), retry.clone()),
        Some((initial, maximum)) => {
            let r = &plan["retry_policy"];
            expect(
                "retry policy",
                json!([
                    initial.to_string(),
                    r["backoff_coefficient"].as_f64().unwrap_or(0.0),
                    maximum.to_string(),
                    r["maximum_attempts"].as_u64().unwrap_or(0),
                    r["non_retryable_error_types"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                ]),
                json!([
                    proto_nanos(&retry["initialInterval"]).to_string(),
                    retry["backoffCoefficient"].as_f64().unwrap_or(0.0),
                    proto_nanos(&retry["maximumInterval"]).to_string(),
                    retry["maximumAttempts"].as_u64().unwrap_or(0),
                    retry["nonRetryableErrorTypes"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                ]),
            );
        }
    }
    let mut memo: serde_json::Map<String, Value> =
        plan["memo"].as_object().cloned().unwrap_or_default();
    use sha2::Digest as _;
    let sha: String = sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    memo.insert("planguard_plan_sha256".into(), json!(sha));
    for (key, field) in [
        ("planguard_build", "build"),
        ("planguard_git_sha", "git_sha"),
        ("planguard_image", "image"),
        ("planguard_secrets", "secrets"),
    ] {
        if let Some(value) = plan.get(field) {
            memo.insert(key.into(), value.clone());
        }
    }
    let deployed_memo: serde_json::Map<String, Value> = action["memo"]["fields"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), payload(v)))
        .collect();
    expect("memo", Value::Object(memo), Value::Object(deployed_memo));
    wrong
}

/// The deployed fields an operator changes by hand, one per schedule, each
/// with the plan field drift must name; `plan_sha256` (planguard's record
/// of the plan file) and `paused` (operator state) must be no drift at all.
const CHANGED_BY_HAND: &[(&str, Option<&str>)] = &[
    ("calendars", Some("/schedule/cron")),
    ("intervals", Some("/schedule/intervals")),
    ("timezone", Some("/schedule/timezone")),
    ("jitter", Some("/schedule/jitter")),
    ("start_at", Some("/schedule/start_at")),
    ("end_at", Some("/schedule/end_at")),
    ("overlap", Some("/policies/overlap")),
    ("catchup_window", Some("/policies/catchup_window")),
    ("pause_on_failure", Some("/policies/pause_on_failure")),
    ("workflow_id", Some("/workflow_id_prefix")),
    ("workflow_type", Some("/workflow_type")),
    ("task_queue", Some("/task_queue")),
    ("input", Some("/input")),
    ("execution_timeout", Some("/timeouts/execution")),
    ("run_timeout", Some("/timeouts/run")),
    ("task_timeout", Some("/timeouts/task")),
    ("retry_policy", Some("/retry_policy")),
    (
        "retry_initial_interval",
        Some("/retry_policy/initial_interval"),
    ),
    (
        "retry_backoff_coefficient",
        Some("/retry_policy/backoff_coefficient"),
    ),
    (
        "retry_maximum_interval",
        Some("/retry_policy/maximum_interval"),
    ),
    (
        "retry_maximum_attempts",
        Some("/retry_policy/maximum_attempts"),
    ),
    (
        "retry_non_retryable_error_types",
        Some("/retry_policy/non_retryable_error_types"),
    ),
    ("memo", Some("/memo")),
    ("image", Some("/image")),
    ("secrets", Some("/secrets")),
    ("build", Some("/build")),
    ("git_sha", Some("/git_sha")),
    ("plan_sha256", None),
    ("paused", None),
];

/// `temporal schedule describe -o json`, asked again when a busy server
/// times the query out.
fn describe(server: &Server, namespace: &str, id: &str) -> Value {
    let mut errors = String::new();
    for _ in 0..3 {
        let out = cli()
            .args([
                "schedule",
                "describe",
                "--address",
                &server.address,
                "-n",
                namespace,
            ])
            .args(["-s", id, "-o", "json"])
            .output()
            .expect("temporal runs");
        if out.status.success() {
            return serde_json::from_slice(&out.stdout).expect("describe prints JSON");
        }
        errors.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    panic!("cannot describe {namespace}/{id}: {errors}");
}

/// Run `work` on each item on a few threads; results in item order.
fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = 3;
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&work).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker thread"))
            .collect()
    })
}

/// The round-trip contract, against the real dev server: plans generated
/// over the whole schema are applied by the binary, described by the
/// official CLI and compared field by field by this test's own mapping;
/// then one field of each is changed by hand on the server and `drift`
/// must report exactly that field, at its place in the plan, and nothing
/// else. (Found by a user: a schedule window was dropped while apply said
/// "verified" and drift saw nothing.) PLANGUARD_TEST_SEED and
/// PLANGUARD_TEST_PLANS choose other plans.
#[test]
// Its wall time, phase by phase, is worth seeing with --nocapture.
#[allow(clippy::print_stderr)]
fn every_plan_field_round_trips_through_apply_describe_and_drift() {
    let started = std::time::Instant::now();
    let seed: u64 = std::env::var("PLANGUARD_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_251_117);
    let count: usize = std::env::var("PLANGUARD_TEST_PLANS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(210);
    let server = Server::start(NAMESPACES);
    let root = tempfile::tempdir().expect("tempdir");
    // The built-in rules judge values (promotion, parity, cron style); here
    // every value the schema accepts must deploy faithfully.
    std::fs::write(
        root.path().join("planguard.toml"),
        "[policy]\nbuiltin = false\n",
    )
    .expect("write");
    let mut rng = plans::Rng::new(seed);
    let cases: Vec<(String, String, plans::Generated, &str)> = (0..count)
        .map(|i| {
            let (field, _) = CHANGED_BY_HAND[i % CHANGED_BY_HAND.len()];
            let id = format!("rt-{i:03}");
            let namespace = *rng.pick(NAMESPACES);
            let generated = plans::plan(
                &mut rng,
                &id,
                namespace,
                field.starts_with("retry_") && field != "retry_policy",
            );
            let path = format!("ws-{i:03}/orchestration_plans/dev/1.json");
            let file = root.path().join(&path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            let text = serde_json::to_string_pretty(&generated.plan).expect("JSON");
            std::fs::write(&file, &text).expect("write");
            (path, text, generated, field)
        })
        .collect();
    let planguard_in_root = |args: &[&str]| {
        let mut cmd = planguard();
        cmd.current_dir(root.path())
            .env("TEMPORAL_ADDRESS", &server.address)
            .env("PLANGUARD_AUDIT_LOG", root.path().join("audit.jsonl"))
            .env_remove("TEMPORAL_NAMESPACE")
            .args(args);
        run(&mut cmd)
    };
    let context = |i: usize| format!("seed {seed}, plan {}:\n{}", cases[i].0, cases[i].1);

    // Apply each through the real binary: created, and verified.
    let applied = in_parallel(&cases, |(path, ..)| {
        planguard_in_root(&["apply", "--color", "never", path])
    });
    for (i, out) in applied.iter().enumerate() {
        let id = cases[i].2.plan["schedule_id"].as_str().expect("id");
        assert!(
            out.code == 0
                && out.stdout.contains(&format!("created schedule `{id}`"))
                // (then the warning that no worker polls its queue)
                && out.stdout.lines().next().is_some_and(|l| l.ends_with("verified")),
            "exit {}: {}{}\n{}",
            out.code,
            out.stdout,
            out.stderr,
            context(i)
        );
    }
    let applied_at = started.elapsed();

    // Describe each with the official CLI and compare by this test's mapping.
    let described = in_parallel(&cases, |(_, _, generated, _)| {
        let plan = &generated.plan;
        describe(
            &server,
            plan["namespace"].as_str().expect("ns"),
            plan["schedule_id"].as_str().expect("id"),
        )
    });
    for (i, described) in described.iter().enumerate() {
        let wrong = mismatches(&cases[i].2, &cases[i].1, described);
        assert!(wrong.is_empty(), "{wrong:#?}\n{}", context(i));
    }
    let compared_at = started.elapsed();

    // No drift straight after apply.
    let clean = planguard_in_root(&["drift", "--format", "json", "."]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);

    // One field of each changed by hand: operator state with the CLI, the
    // rest with Temporal's SDK (the CLI's update cannot carry a retry policy).
    let mut changes = Vec::new();
    for (_, _, generated, field) in &cases {
        let (namespace, id) = (
            generated.plan["namespace"].as_str().expect("ns"),
            generated.plan["schedule_id"].as_str().expect("id"),
        );
        if *field == "paused" {
            let status = cli()
                .args([
                    "schedule",
                    "toggle",
                    "--address",
                    &server.address,
                    "-n",
                    namespace,
                ])
                .args(["--schedule-id", id, "--pause", "--reason", "by hand"])
                .status()
                .expect("temporal runs");
            assert!(status.success());
        } else {
            changes.push(json!({"namespace": namespace, "schedule_id": id, "field": field}));
        }
    }
    let mut python = std::process::Command::new(common::python())
        .arg(common::root().join("tests/it/common/mutate_schedules.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    {
        use std::io::Write as _;
        let job = json!({"address": server.address, "changes": changes});
        python
            .stdin
            .take()
            .expect("stdin")
            .write_all(job.to_string().as_bytes())
            .expect("write the changes");
    }
    let changed = python.wait_with_output().expect("python ends");
    assert!(
        changed.status.success(),
        "the SDK could not change the schedules: {}",
        String::from_utf8_lossy(&changed.stderr)
    );
    let changed_at = started.elapsed();

    let drift = planguard_in_root(&["drift", "--format", "json", "."]);
    assert_eq!(drift.code, 1, "{}{}", drift.stdout, drift.stderr);
    let report: Value =
        serde_json::from_str(&drift.stdout).expect("drift --format json prints JSON");
    let findings = report["diagnostics"].as_array().expect("diagnostics");
    for (i, (path, _, _, field)) in cases.iter().enumerate() {
        let mine: Vec<&Value> = findings
            .iter()
            .filter(|d| {
                d["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with(path.as_str()))
            })
            .collect();
        let expected = CHANGED_BY_HAND
            .iter()
            .find(|(f, _)| f == field)
            .and_then(|(_, pointer)| *pointer);
        match expected {
            None => assert!(
                mine.is_empty(),
                "{field} changed: {mine:#?}\n{}",
                context(i)
            ),
            Some(pointer) => {
                assert_eq!(
                    mine.len(),
                    1,
                    "{field} changed: {mine:#?}\n{}\ndrift said: {}",
                    context(i),
                    drift.stdout
                );
                let finding = mine[0];
                assert_eq!(finding["rule"], "PG301", "{finding}");
                let at = finding["pointer"].as_str().unwrap_or("");
                // At the field, or at its nearest parent when the plan leaves it out.
                let mut nearest = String::new();
                for segment in pointer.split('/').skip(1) {
                    let deeper = format!("{nearest}/{segment}");
                    if cases[i].2.plan.pointer(&deeper).is_none() {
                        break;
                    }
                    nearest = deeper;
                }
                assert_eq!(at, nearest, "{field}: want {pointer}\n{}", context(i));
                let said = format!("deployed {} is ", field.replace('_', " "));
                assert!(
                    finding["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with(&said)),
                    "{finding}"
                );
            }
        }
    }
    let unmatched: Vec<&Value> = findings
        .iter()
        .filter(|d| {
            !cases
                .iter()
                .any(|(p, ..)| d["file"].as_str().is_some_and(|f| f.ends_with(p.as_str())))
        })
        .collect();
    assert!(unmatched.is_empty(), "{unmatched:#?}");
    eprintln!(
        "round trip of {count} plans (seed {seed}): applied in {:.1?}, compared by {:.1?}, changed by {:.1?}, drift by {:.1?}",
        applied_at,
        compared_at,
        changed_at,
        started.elapsed()
    );
}

/// A value the schema accepts and Temporal would change is refused at its
/// field by apply (exit 1, nothing sent) and by drift.
#[test]
fn what_temporal_cannot_hold_is_refused_at_the_field() {
    let server = Server::start(&["ingestion-dev"]);
    let ws = workspace("apply-undeployable");
    let ctx = Ctx {
        server: &server,
        ws: &ws,
    };
    ws.write("planguard.toml", "[policy]\nbuiltin = false\n");
    ws.edit("orchestration_plans/dev/12.json", |p| {
        p["policies"]["catchup_window"] = Value::from("5s");
    });
    let refused = ctx.planguard(&[
        "apply",
        "--color",
        "never",
        "orchestration_plans/dev/12.json",
    ]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stdout
            .contains("error[PG305]: Temporal raises a catch-up window under 10s to 10s"),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stdout.contains("at: /policies/catchup_window"),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stdout.contains("nothing was sent"),
        "{}",
        refused.stdout
    );
    assert!(
        server
            .describe("ingestion-dev", "apply-undeployable")
            .is_none()
    );
    let drift = ctx.planguard(&["drift", "--color", "never", "orchestration_plans/dev"]);
    assert_eq!(drift.code, 1, "{}{}", drift.stdout, drift.stderr);
    assert!(drift.stdout.contains("error[PG305]"), "{}", drift.stdout);
}

/// planguard in `ws` with no TEMPORAL_ADDRESS: where it connects is what
/// planguard.toml, the profile and `vars` say.
fn deploy(ws: &Workspace, vars: &[(&str, &str)], args: &[&str]) -> common::Run {
    let mut cmd = planguard();
    common::temporal::hermetic(&mut cmd);
    cmd.current_dir(ws.dir.path())
        .env("PLANGUARD_AUDIT_LOG", ws.dir.path().join("audit.jsonl"));
    for (name, value) in vars {
        cmd.env(name, value);
    }
    run(cmd.args(args))
}

/// `[environments.*]` with these extra lines for dev and uat (prod keeps its defaults).
fn environments(dev: &str, uat: &str) -> String {
    format!("[environments.dev]\n{dev}\n[environments.uat]\n{uat}\n[environments.prod]\n")
}

#[test]
fn each_environment_connects_where_planguard_toml_or_its_profile_says() {
    let dev_server = Server::start(&["ingestion-dev"]);
    let uat_server = Server::start(&["ingestion-uat"]);
    let ws = workspace("connect-envs");
    let (dev, uat) = (dev_server.address.as_str(), uat_server.address.as_str());
    ws.write(
        "planguard.toml",
        &environments(
            &format!("address = \"{dev}\""),
            &format!("address = \"{uat}\""),
        ),
    );
    let dev_plan = "orchestration_plans/dev/12.json";
    let uat_plan = "orchestration_plans/uat/12.json";

    // [environments.<env>] address: the dev plan goes to one server, uat to the other.
    let applied = deploy(&ws, &[], &["apply", dev_plan]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    assert!(
        dev_server
            .describe("ingestion-dev", "connect-envs")
            .is_some()
    );

    // require-auth (uat's default) refuses plain text, in one error naming
    // the environment and the way out; --insecure lets it through.
    let refused = deploy(&ws, &[], &["apply", uat_plan]);
    assert_eq!(refused.code, 2, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .starts_with("planguard::gate::plaintext_refused (https://"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        refused.stderr.lines().filter(|l| l.contains('×')).count(),
        1,
        "{}",
        refused.stderr
    );
    for said in ["uat requires auth", "plaintext", "--insecure", uat] {
        assert!(refused.stderr.contains(said), "{said}: {}", refused.stderr);
    }
    assert!(
        uat_server
            .describe("ingestion-uat", "connect-envs")
            .is_none()
    );
    let insecure = deploy(&ws, &[], &["apply", "--insecure", uat_plan]);
    assert_eq!(insecure.code, 0, "{}{}", insecure.stdout, insecure.stderr);
    assert!(
        uat_server
            .describe("ingestion-uat", "connect-envs")
            .is_some()
    );

    // Drift over both environments compares each on its own server.
    let drift = deploy(
        &ws,
        &[],
        &[
            "drift",
            "--insecure",
            "orchestration_plans/dev",
            "orchestration_plans/uat",
        ],
    );
    assert_eq!(drift.code, 0, "{}{}", drift.stdout, drift.stderr);

    // TEMPORAL_ADDRESS wins over planguard.toml, and --address over both.
    let env_wins = deploy(&ws, &[("TEMPORAL_ADDRESS", uat)], &["drift", dev_plan]);
    assert_eq!(env_wins.code, 2, "{}{}", env_wins.stdout, env_wins.stderr);
    assert!(
        env_wins
            .stderr
            .contains("namespace `ingestion-dev` does not exist"),
        "{}",
        env_wins.stderr
    );
    let flag_wins = deploy(
        &ws,
        &[("TEMPORAL_ADDRESS", uat)],
        &["drift", "--address", dev, dev_plan],
    );
    assert_eq!(
        flag_wins.code, 0,
        "{}{}",
        flag_wins.stdout, flag_wins.stderr
    );

    // tls = true: TLS to a server that speaks none fails the handshake
    // (and satisfies require-auth, so it is not refused for plain text).
    ws.write(
        "tls.toml",
        &environments("", &format!("address = \"{uat}\"\ntls = true")),
    );
    let tls = deploy(&ws, &[], &["drift", "--config", "tls.toml", uat_plan]);
    assert_eq!(tls.code, 2, "{}{}", tls.stdout, tls.stderr);
    assert!(tls.stderr.contains("TLS"), "{}", tls.stderr);

    // A Temporal CLI profile from TEMPORAL_CONFIG_FILE: `default` for dev,
    // the one uat's `profile` names for uat; planguard.toml's address wins
    // over a profile's.
    ws.write(
        "temporal.toml",
        &format!(
            "[profile.default]\naddress = \"{dev}\"\n[profile.staging]\naddress = \"{uat}\"\n"
        ),
    );
    ws.write("profiles.toml", &environments("", "profile = \"staging\""));
    let config_file = ws.dir.path().join("temporal.toml");
    let config_file = config_file.to_str().expect("UTF-8 path");
    let profile = [("TEMPORAL_CONFIG_FILE", config_file)];
    let both = deploy(
        &ws,
        &profile,
        &[
            "drift",
            "--insecure",
            "--config",
            "profiles.toml",
            "orchestration_plans/dev",
            "orchestration_plans/uat",
        ],
    );
    assert_eq!(both.code, 0, "{}{}", both.stdout, both.stderr);
    let settings_win = deploy(
        &ws,
        &[
            ("TEMPORAL_CONFIG_FILE", config_file),
            ("TEMPORAL_PROFILE", "staging"),
        ],
        &["drift", dev_plan],
    );
    assert_eq!(
        settings_win.code, 0,
        "{}{}",
        settings_win.stdout, settings_win.stderr
    );
    // TEMPORAL_PROFILE wins over the `profile` key and picks another server.
    let chosen = deploy(
        &ws,
        &[
            ("TEMPORAL_CONFIG_FILE", config_file),
            ("TEMPORAL_PROFILE", "default"),
        ],
        &["drift", "--insecure", "--config", "profiles.toml", uat_plan],
    );
    assert_eq!(chosen.code, 2, "{}{}", chosen.stdout, chosen.stderr);
    assert!(
        chosen
            .stderr
            .contains("namespace `ingestion-uat` does not exist"),
        "{}",
        chosen.stderr
    );
    let missing = deploy(
        &ws,
        &[
            ("TEMPORAL_CONFIG_FILE", config_file),
            ("TEMPORAL_PROFILE", "nope"),
        ],
        &["drift", dev_plan],
    );
    assert_eq!(missing.code, 2, "{}{}", missing.stdout, missing.stderr);
    assert!(
        missing.stderr.contains("no profile `nope`"),
        "{}",
        missing.stderr
    );
}

#[test]
fn tls_mtls_and_an_api_key_only_over_tls_through_a_proxy() {
    use common::temporal::{Certificates, TlsProxy};
    let server = Server::start(&["ingestion-dev", "ingestion-uat"]);
    let certificates = Certificates::make();
    let proxy = TlsProxy::start(&server.address, &certificates);
    let ws = workspace("connect-tls");
    let ca = certificates.path("ca.pem");
    let (cert, key) = (
        certificates.path("client.pem"),
        certificates.path("client.key"),
    );
    let uat_plan = "orchestration_plans/uat/12.json";
    let dev_plan = "orchestration_plans/dev/12.json";

    // TLS verified against the CA planguard.toml names; uat requires auth,
    // and TLS with an API key from the variable api-key-env names satisfies it.
    ws.write(
        "planguard.toml",
        &environments(
            &format!(
                "address = \"{}\"\ntls-ca = \"{ca}\"\ntls-cert = \"{cert}\"\ntls-key = \"{key}\"",
                proxy.mtls
            ),
            &format!(
                "address = \"{}\"\ntls-ca = \"{ca}\"\napi-key-env = \"UAT_TEMPORAL_KEY\"",
                proxy.tls
            ),
        ),
    );
    let secret = "pg-test-key-5f0c1d";
    let uat = deploy(&ws, &[("UAT_TEMPORAL_KEY", secret)], &["apply", uat_plan]);
    assert_eq!(uat.code, 0, "{}{}", uat.stdout, uat.stderr);
    assert!(server.describe("ingestion-uat", "connect-tls").is_some());
    let port = proxy.tls.rsplit(':').next().expect("a port");
    assert!(
        proxy
            .access_log()
            .lines()
            .any(|l| l == format!("{port} Bearer {secret}")),
        "the key reached the server side of TLS: {}",
        proxy.access_log()
    );

    // Without the CA the server's certificate is not trusted; a wrong
    // tls-server-name fails verification too.
    ws.write(
        "no-ca.toml",
        &environments("", &format!("address = \"{}\"\ntls = true", proxy.tls)),
    );
    let untrusted = deploy(&ws, &[], &["drift", "--config", "no-ca.toml", uat_plan]);
    assert_eq!(
        untrusted.code, 2,
        "{}{}",
        untrusted.stdout, untrusted.stderr
    );
    ws.write(
        "wrong-name.toml",
        &environments(
            "",
            &format!(
                "address = \"{}\"\ntls-ca = \"{ca}\"\ntls-server-name = \"not-this-server.test\"",
                proxy.tls
            ),
        ),
    );
    let wrong = deploy(
        &ws,
        &[],
        &["drift", "--config", "wrong-name.toml", uat_plan],
    );
    assert_eq!(wrong.code, 2, "{}{}", wrong.stdout, wrong.stderr);
    ws.write(
        "right-name.toml",
        &environments(
            "",
            &format!(
                "address = \"{}\"\ntls-ca = \"{ca}\"\ntls-server-name = \"localhost\"",
                proxy.tls
            ),
        ),
    );
    let right = deploy(
        &ws,
        &[],
        &["drift", "--config", "right-name.toml", uat_plan],
    );
    assert_eq!(right.code, 0, "{}{}", right.stdout, right.stderr);

    // mTLS: refused without the client certificate, accepted with it.
    ws.write(
        "no-cert.toml",
        &environments(
            &format!("address = \"{}\"\ntls-ca = \"{ca}\"", proxy.mtls),
            "",
        ),
    );
    let refused = deploy(&ws, &[], &["apply", "--config", "no-cert.toml", dev_plan]);
    assert_eq!(refused.code, 2, "{}{}", refused.stdout, refused.stderr);
    assert!(server.describe("ingestion-dev", "connect-tls").is_none());
    let accepted = deploy(&ws, &[], &["apply", dev_plan]);
    assert_eq!(accepted.code, 0, "{}{}", accepted.stdout, accepted.stderr);
    assert!(server.describe("ingestion-dev", "connect-tls").is_some());

    // An API key never travels in plain text: to a plain listener,
    // planguard opens with a TLS handshake, not the HTTP/2 preface.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let plain = listener.local_addr().expect("address").to_string();
    let first_bytes = std::thread::spawn(move || {
        use std::io::Read as _;
        let (mut stream, _) = listener.accept().expect("planguard connects");
        let mut bytes = [0u8; 3];
        stream
            .read_exact(&mut bytes)
            .expect("planguard speaks first");
        bytes
    });
    let keyed = deploy(
        &ws,
        &[("TEMPORAL_API_KEY", secret), ("TEMPORAL_ADDRESS", &plain)],
        &["drift", "--isolated", dev_plan],
    );
    assert_eq!(keyed.code, 2, "{}{}", keyed.stdout, keyed.stderr);
    let bytes = first_bytes.join().expect("the listener thread");
    assert_eq!(bytes[0], 0x16, "a TLS handshake record, not {bytes:?}");
    assert_ne!(&bytes, b"PRI", "the plain HTTP/2 preface");
    let audit = std::fs::read_to_string(ws.dir.path().join("audit.jsonl")).unwrap_or_default();
    for text in [
        &keyed.stdout,
        &keyed.stderr,
        &uat.stdout,
        &uat.stderr,
        &audit,
    ] {
        assert!(!text.contains(secret), "the key was shown: {text}");
    }
}
