//! A policy folder written for conftest gives the verdicts conftest would:
//! the same failures and warnings, with the same messages, for each file.
//! The reference side is OPA's own engine running conftest's check loop
//! (tests/support/conftest_oracle.py).

mod common;

use std::process::Command;

use common::{check_json, python, root};
use serde_json::Value;

const POLICY: &str = "fixtures/conftest/policy";

fn inputs() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join("fixtures/conftest/inputs"))
        .expect("inputs folder")
        .map(|e| {
            format!(
                "fixtures/conftest/inputs/{}",
                e.expect("entry").file_name().to_string_lossy()
            )
        })
        .collect();
    files.sort();
    files
}

fn oracle(namespace: &str) -> Vec<(String, String, String)> {
    let output = Command::new(python())
        .current_dir(root())
        .arg("tests/support/conftest_oracle.py")
        .arg(namespace)
        .arg(POLICY)
        .args(inputs())
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("oracle prints JSON")
}

fn planguard(extra: &[&str], namespace: &str) -> Vec<(String, String, String)> {
    let inputs = inputs();
    let mut args = vec!["--no-builtin", "--policy", POLICY];
    args.extend_from_slice(extra);
    args.extend(inputs.iter().map(String::as_str));
    let (_, report) = check_json(&args);
    let mut verdicts: Vec<_> = report["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|d| {
            d["rule"]
                .as_str()
                .is_some_and(|r| r.starts_with(&format!("{namespace}.")))
        })
        .map(|d| {
            let field = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (field("file"), field("severity"), field("message"))
        })
        .collect();
    verdicts.sort();
    verdicts
}

#[test]
fn conftest_policies_give_conftest_verdicts() {
    let expected = oracle("main");
    // The fixture exercises every convention; make sure the oracle saw them.
    assert!(expected.len() >= 6, "{expected:?}");
    assert!(expected.iter().any(|v| v.1 == "warning"));
    assert_eq!(planguard(&[], "main"), expected);
}

#[test]
fn other_namespaces_run_when_asked() {
    let expected = oracle("other");
    assert!(!expected.is_empty());
    assert_eq!(planguard(&["--namespace", "other"], "other"), expected);
    assert_eq!(planguard(&["--all-namespaces"], "other"), expected);
    assert!(planguard(&[], "other").is_empty());
}

#[test]
fn an_object_result_without_msg_is_reported_not_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("bad.rego"),
        "package main\n\nimport rego.v1\n\ndeny contains {\"message\": \"wrong key\"} if { true }\n",
    )
    .expect("write");
    let (code, report) = check_json(&[
        "--no-builtin",
        "--policy",
        dir.path().to_str().expect("utf-8"),
        "fixtures/conftest/inputs/clean.json",
    ]);
    assert_eq!(code, 1);
    let rules: Vec<&Value> = report["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| &d["rule"])
        .collect();
    assert!(rules.contains(&&Value::from("PG022")), "{report}");
}
