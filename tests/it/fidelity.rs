//! Fidelity: OPA's own engine, given the same documents, `data` and `input`
//! as planguard builds (src/check/policy.rs), finds exactly what planguard
//! finds with the built-in policies — same file, rule id, severity, message
//! and JSON pointer. The reference side is tests/support/opa_fidelity.py,
//! which discovers files and evaluates every built-in rule with OPA.
//!
//! Only findings of the Rego rules (PG1xx, PG2xx) are compared, plus trouble
//! with the built-in policies themselves: a policy file one engine will not
//! load (PG020) and a rule whose evaluation fails (PG021), normalized to the
//! file and rule concerned. Load and schema diagnostics are planguard's own.
//! A disagreement fails the test with the findings only one side has.

use crate::common;

use common::workspace::Workspace;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{check_json, python, root};
use serde_json::{Value, json};

/// (file, rule, severity, message, pointer)
type Finding = (String, String, String, String, String);

/// planguard's findings of the built-in Rego rules (PG1xx, PG2xx), plus its
/// built-in policy trouble in the harness's terms: a policy file it could not
/// load (PG020) and a rule whose evaluation failed (PG021). Also every PG02x
/// diagnostic in full, to show when the sides differ.
fn planguard_findings(config: Option<&Path>, paths: &[String]) -> (Vec<Finding>, Vec<String>) {
    let mut args: Vec<String> = Vec::new();
    if let Some(config) = config {
        args.push("--config".into());
        args.push(config.to_string_lossy().into_owned());
    }
    args.extend(paths.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, report) = check_json(&args);
    let diagnostics = report["diagnostics"].as_array().expect("diagnostics array");
    let field = |d: &Value, k: &str| d[k].as_str().unwrap_or_default().to_string();
    let failed =
        regex::Regex::new(r"^`(data\.planguard\.(?:rules|project)\.[^`]+)` failed on (.+?): ")
            .expect("valid regex");
    let mut findings: Vec<Finding> = diagnostics
        .iter()
        .filter_map(|d| {
            let rule = field(d, "rule");
            let file = field(d, "file");
            let message = field(d, "message");
            if rule.starts_with("PG1") || rule.starts_with("PG2") {
                return Some((
                    file,
                    rule,
                    field(d, "severity"),
                    message,
                    field(d, "pointer"),
                ));
            }
            let error = |file: &str, message: String| {
                Some((
                    file.to_string(),
                    rule.clone(),
                    "error".to_string(),
                    message,
                    String::new(),
                ))
            };
            match rule.as_str() {
                "PG020" => error(
                    file.strip_prefix("<builtin>/")?,
                    "cannot load policy".into(),
                ),
                "PG021" => {
                    let c = failed.captures(&message)?;
                    error(&c[2], format!("`{}` failed", &c[1]))
                }
                _ => None,
            }
        })
        .collect();
    findings.sort();
    let engine_errors = diagnostics
        .iter()
        .filter(|d| field(d, "rule").starts_with("PG02"))
        .map(|d| {
            format!(
                "{} {}: {}",
                field(d, "rule"),
                field(d, "file"),
                field(d, "message")
            )
        })
        .collect();
    // A cross-file finding about the value a per-file finding reports is
    // shown as that finding's related information ("also PG202: …"); it is
    // still one of the policies' findings. Its severity is not shown there
    // (it is the rule's, set in Rust, not by the Rego being compared), so
    // `compare` takes OPA's.
    let also = regex::Regex::new(r"^also (PG\d+): (.*)$").expect("valid regex");
    for d in diagnostics {
        for r in d["related"].as_array().into_iter().flatten() {
            if let Some(c) = also.captures(r["message"].as_str().unwrap_or_default()) {
                findings.push((
                    field(r, "file"),
                    c[1].to_string(),
                    MERGED.to_string(),
                    c[2].to_string(),
                    field(r, "pointer"),
                ));
            }
        }
    }
    findings.sort();
    (findings, engine_errors)
}

/// The severity of a finding planguard shows as related information.
const MERGED: &str = "(related)";

/// OPA's findings, and what the harness said on stderr (why OPA rejected a
/// policy or failed a rule).
fn opa_findings(config: Option<&Path>, paths: &[String]) -> (Vec<Finding>, String) {
    let mut cmd = Command::new(python());
    cmd.current_dir(root())
        .env("PLANGUARD_BIN", env!("CARGO_BIN_EXE_planguard"))
        .arg("tests/support/opa_fidelity.py");
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let output = cmd.args(paths).output().expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "opa_fidelity.py failed: {stderr}");
    let mut findings: Vec<Finding> =
        serde_json::from_slice(&output.stdout).expect("opa_fidelity.py prints JSON");
    findings.sort();
    (findings, stderr)
}

fn show(findings: &[&Finding]) -> String {
    if findings.is_empty() {
        return "  (none)\n".to_string();
    }
    findings
        .iter()
        .map(|(file, rule, severity, message, pointer)| {
            format!("  {rule} {severity} {file} at {pointer:?}: {message}\n")
        })
        .collect()
}

/// Multiset difference: what `a` has more of than `b`.
fn only_in<'a>(a: &'a [Finding], b: &[Finding]) -> Vec<&'a Finding> {
    let mut counts: BTreeMap<&Finding, usize> = BTreeMap::new();
    for f in b {
        *counts.entry(f).or_default() += 1;
    }
    a.iter()
        .filter(|f| match counts.get_mut(f) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

/// Both sides on one input; Err(readable diff) when they disagree.
fn compare(case: &str, config: Option<&Path>, paths: &[String]) -> Result<Vec<Finding>, String> {
    let (mut planguard, engine_errors) = planguard_findings(config, paths);
    let (opa, opa_notes) = opa_findings(config, paths);
    for f in planguard.iter_mut().filter(|f| f.2 == MERGED) {
        if let Some(o) = opa
            .iter()
            .find(|o| (&o.0, &o.1, &o.3, &o.4) == (&f.0, &f.1, &f.3, &f.4))
        {
            f.2.clone_from(&o.2);
        }
    }
    planguard.sort();
    if planguard == opa {
        return Ok(planguard);
    }
    let mut text = format!(
        "{case}: planguard and OPA disagree on {} (config: {})\n",
        paths.join(" "),
        config.map_or("none".into(), |c| c.display().to_string())
    );
    text += "only in planguard:\n";
    text += &show(&only_in(&planguard, &opa));
    text += "only in OPA:\n";
    text += &show(&only_in(&opa, &planguard));
    if !engine_errors.is_empty() {
        text += "planguard policy engine diagnostics:\n";
        for e in engine_errors {
            text += &format!("  {e}\n");
        }
    }
    if !opa_notes.trim().is_empty() {
        text += &format!("OPA harness notes:\n{opa_notes}");
    }
    Err(text)
}

fn assert_same(case: &str, config: Option<&Path>, paths: &[String]) -> Vec<Finding> {
    compare(case, config, paths).unwrap_or_else(|diff| panic!("{diff}"))
}

#[test]
fn example_workspace() {
    let findings = assert_same("examples/salam", None, &["examples/salam".into()]);
    assert!(!findings.is_empty(), "the example has known problems");
}

#[test]
fn clean_workspace() {
    let paths = ["fixtures/workspaces/clean".to_string()];
    let findings = assert_same("fixtures/workspaces/clean", None, &paths);
    assert!(findings.is_empty(), "{findings:?}");
}

/// Every per-rule fixture: folders fixtures/rules/<CODE>-<name>/{pass,fail}/
/// (each a workspace, with the planguard.toml it or its rule's folder holds),
/// and every case of fixtures/rules/cases.json (the clean workspace with the
/// case's changes applied, and its `settings` as planguard.toml).
#[test]
fn rule_fixtures() {
    let rules = root().join("fixtures/rules");
    let mut failures: Vec<String> = Vec::new();
    let mut count = 0;
    let cases_file = rules.join("cases.json");
    if cases_file.is_file() {
        let cases: Value =
            serde_json::from_str(&std::fs::read_to_string(&cases_file).expect("read"))
                .expect("cases.json is JSON");
        let cases = cases["cases"].as_array().expect("cases");
        count += cases.len();
        // A few at a time: each case runs OPA in a Python process of its own.
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let results: Vec<Option<String>> = std::thread::scope(|scope| {
            cases
                .chunks(cases.len().div_ceil(threads).max(1))
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|case| {
                                let name = case["name"].as_str().expect("name");
                                let ws = Workspace::copy_of("fixtures/workspaces/clean");
                                ws.apply(case);
                                let config = case["settings"].as_str().map(|settings| {
                                    ws.write("planguard.toml", settings);
                                    ws.dir.path().join("planguard.toml")
                                });
                                compare(
                                    &format!("cases.json: {name}"),
                                    config.as_deref(),
                                    &[ws.path()],
                                )
                                .err()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .flat_map(|h| h.join().expect("no panic"))
                .collect()
        });
        failures.extend(results.into_iter().flatten());
    }
    assert!(
        failures.is_empty(),
        "{} of {count} rule fixtures disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn temporal(config: &mut Value) -> &mut Value {
    &mut config["runtime"]["orchestration"]["temporal"]
}

/// The clean workspace with many problems planted: the real workout, where
/// formatting of numbers, regexes, string lengths, JSON encoding and the
/// custom functions all reach the messages.
#[test]
fn adversarial_workspace() {
    let ws = Workspace::copy_of("fixtures/workspaces/clean");

    ws.edit("conf/dev.json", |c| {
        // A `latest` image in dev.
        c["spark"]["image"] = json!("registry.dev.salam.internal/salam/ingestion:latest");
        // A bad cron expression.
        temporal(c)["schedule"]["cron"][1] = json!("61 * * * *");
        // A `user:pass@` URI.
        c["sources"][1]["url"] =
            json!("kafka://svc-ingest:Kafk4Passw0rd@kafka-1.dev.salam.internal:9093");
        // A parity difference whose JSON encoding differs by encoder (`&`, `<`).
        temporal(c)["memo"]["runbook"] = json!("https://wiki.salam.internal/run?a=1&b=<2>");
        // An unknown property.
        c["colour"] = json!("blue");
    });
    ws.edit("conf/uat.json", |c| {
        // A password in a JDBC URL, with non-ASCII characters in it.
        c["sources"][0]["url"] = json!(
            "jdbc:postgresql://orders-db.uat.salam.internal:5432/orders?user=ingest&password=p\u{e4}ssw\u{f6}rd-42"
        );
        // An AWS access key id in an ordinary string.
        c["pipeline"]["description"] = json!("orders, uploaded by AKIAABCDEFGHIJKLMNOP nightly");
        // A time zone that is not one.
        temporal(c)["schedule"]["timezone"] = json!("Mars/Olympus_Mons");
        // Jitter longer than an interval.
        temporal(c)["schedule"]["intervals"] = json!([{"every": "10m", "offset": "15m"}]);
        temporal(c)["schedule"]["jitter"] = json!("30m");
        // A backoff below 1.
        temporal(c)["retry_policy"]["backoff_coefficient"] = json!(0.5);
    });
    ws.edit("conf/prod.json", |c| {
        // A run timeout longer than the execution timeout.
        temporal(c)["timeouts"]["run"] = json!("12h");
        // A prod secret reference into the dev store.
        c["sources"][0]["credentials"] =
            json!("vault://vault.dev/kv/ingestion-dev/customer-orders/jdbc/orders");
        // A digest-less image in prod.
        c["spark"]["image"] = json!("registry.prod.salam.internal/salam/ingestion:1.2.2");
        // Unbounded retries where prod forbids them.
        temporal(c)["retry_policy"]["maximum_attempts"] = json!(0);
        // Numbers in messages: an exponent, a fraction.
        temporal(c)["schedule"]["pause_on_failure"] = json!(1e21);
        temporal(c)["schedule"]["catchup_window"] = json!(12.5);
        // No authentication in prod.
        temporal(c)["auth"] = json!({"mode": "none"});
        c.as_object_mut().expect("object").remove("alerts");
    });
    ws.edit("orchestration_plans/dev/12.json", |p| {
        p["image"]["ref"] = json!("registry.dev.salam.internal/salam/ingestion:latest");
        // Differs from the config's list (which has the bad one): arrays in a message.
        p["schedule"]["cron"][1] = json!("0 14 * * 1-5");
        // Not an RFC 3339 time (2025 is no leap year).
        p["generated_at"] = json!("2025-02-29T08:15:17Z");
        p["retry_policy"]["maximum_attempts"] = json!(1e3);
    });
    ws.edit("orchestration_plans/dev/11.json", |p| {
        // A build declared as a number, with a fraction that prints as an integer.
        p["build"] = json!(11.0);
        p["source_config"]["path"] = json!("conf/uat.json");
    });
    ws.edit("orchestration_plans/uat/12.json", |p| {
        p["task_queue"] = json!("spark-ingest-dev");
        p["namespace"] = json!("ingestion-dev");
        p["retry_policy"]["backoff_coefficient"] = json!(0.5);
        p["retry_policy"]["initial_interval"] = json!("1h");
        p["schedule"]["timezone"] = json!("Mars/Olympus_Mons");
        p["schedule"]["jitter"] = json!("1.5h");
        p["schedule"]["catchup_window"] = json!("5s");
    });
    ws.edit("orchestration_plans/prod/12.json", |p| {
        p["image"]["ref"] = json!("registry.prod.salam.internal/salam/ingestion:1.2.2");
        p["image"]
            .as_object_mut()
            .expect("object")
            .remove("signature");
        p["timeouts"]["run"] = json!("12h");
        p["environment"] = json!("uat");
        p["input"]["sources"][0]["credentials"] =
            json!("vault://vault.dev/kv/ingestion-dev/customer-orders/jdbc/orders");
        p["input"]["sources"][0]["password"] = json!("correct horse battery staple");
    });
    // A plan that is not JSON: neither side loads it.
    ws.write("orchestration_plans/dev/13.json", "{\"plan_version\": 1,");

    let findings = assert_same("adversarial workspace", None, &[ws.path()]);
    assert!(
        findings.len() >= 10,
        "the planted problems should give many findings, got {}: {findings:#?}",
        findings.len()
    );
}
