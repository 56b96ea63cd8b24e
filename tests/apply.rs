//! apply, drift, rollback and trigger against a real Temporal dev server,
//! cross-checked with the official `temporal` CLI.

mod common;

use common::temporal::{Server, cli};
use common::workspace::Workspace;
use common::{planguard, run};
use serde_json::Value;

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
        let mut cmd = planguard();
        cmd.current_dir(self.ws.dir.path())
            .env("TEMPORAL_ADDRESS", &self.server.address)
            .env("PLANGUARD_AUDIT_LOG", self.audit_path())
            .env_remove("PLANGUARD_APPROVED_BY")
            .env_remove("TEMPORAL_NAMESPACE")
            .args(args);
        run(&mut cmd)
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
        updated.stdout.contains("updated schedule `apply-basic` in ingestion-dev: jitter 5m → 10m; plan record (sha256, build); verified"),
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

    // PROD needs an approver.
    let unapproved = ctx.planguard(&["apply", "orchestration_plans/prod/12.json"]);
    assert_eq!(unapproved.code, 1);
    assert!(
        unapproved.stdout.contains("prod requires an approver"),
        "{}",
        unapproved.stdout
    );
    assert!(server.describe("ingestion-prod", "apply-gate").is_none());
    let approved = ctx.planguard(&[
        "apply",
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
    assert_eq!(
        ctx.planguard(&["apply", "orchestration_plans/dev/12.json"])
            .code,
        0
    );
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
    let missing = ctx.planguard(&["drift", "--color", "never", "orchestration_plans/uat"]);
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
    assert_eq!(
        ctx.planguard(&["apply", "orchestration_plans/dev/12.json"])
            .code,
        0
    );
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
    assert_eq!(
        Ctx { server, ws: &base }
            .planguard(&["apply", "orchestration_plans/dev/12.json"])
            .code,
        0
    );

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
    assert_eq!(
        ctx.planguard(&["apply", "orchestration_plans/dev/12.json"])
            .code,
        0
    );
    let again = ctx.planguard(&["apply", "orchestration_plans/dev/12.json"]);
    assert!(again.stdout.contains("is up to date"), "{}", again.stdout);
}

/// With the built-in rules off, a cron the server refuses is shown at the
/// plan's cron, from the server's own message.
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
        p["schedule"]["cron"][0] = Value::from("61 * * * *")
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
        rejected.stdout.contains("at: /schedule/cron"),
        "{}",
        rejected.stdout
    );
    assert!(server.describe("ingestion-dev", "apply-rejected").is_none());
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
    assert_eq!(
        ctx.planguard(&["apply", "orchestration_plans/dev/12.json"])
            .code,
        0
    );
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
    assert_eq!(died.stderr.lines().count(), 1, "{}", died.stderr);
    assert!(died.stderr.starts_with("planguard: "), "{}", died.stderr);
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
    assert_eq!(
        ctx.planguard(&["apply", "orchestration_plans/dev/12.json"])
            .code,
        0
    );
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
    let drift = ctx.planguard(&["drift", "--format", "markdown", "orchestration_plans"]);
    assert_eq!(drift.code, 1, "{}{}", drift.stdout, drift.stderr);
    let sha = regex::Regex::new(r"sha256 `[0-9a-f]{12}`").expect("valid");
    let text = format!(
        "{}\n---\n{}\n---\n{}\n---\n{}",
        create.stdout, same.stdout, update.stdout, drift.stdout
    );
    let text = sha.replace_all(&text, "sha256 `[SHA]`");
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
