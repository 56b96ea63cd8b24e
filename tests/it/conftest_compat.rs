//! A policy folder written for conftest gives the verdicts conftest would:
//! the same failures and warnings, with the same messages, for each file.
//! The reference side is OPA's own engine running conftest's check loop and
//! data loading (tests/support/conftest_oracle.py).

use crate::common;

use std::process::Command;

use common::{check_json, planguard, python, root, run};
use serde_json::Value;

/// One finding: file, rule id (`<namespace>.<rule>`), severity, message.
type Verdict = (String, String, String, String);

fn inputs(folder: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join(folder))
        .expect("inputs folder")
        .map(|e| {
            format!(
                "{folder}/{}",
                e.expect("entry").file_name().to_string_lossy()
            )
        })
        .collect();
    files.sort();
    files
}

/// conftest's verdicts: `options` are the oracle's (`--namespace`, `--data`).
fn oracle(options: &[&str], policy: &str, inputs: &[String]) -> Vec<Verdict> {
    let output = Command::new(python())
        .current_dir(root())
        .arg("tests/support/conftest_oracle.py")
        .args(options)
        .arg(policy)
        .args(inputs)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Vec<Verdict> =
        serde_json::from_slice(&output.stdout).expect("oracle prints JSON");
    verdicts
}

/// planguard's verdicts: every diagnostic but the note that an input is
/// neither a config nor a plan, so that a policy file that failed to load
/// (a PG diagnostic) is a difference too.
fn planguard_verdicts(args: &[&str], inputs: &[String]) -> Vec<Verdict> {
    // Without the cache: a result cached by another build would hide a change.
    let mut all = vec!["--no-builtin", "--no-cache"];
    all.extend_from_slice(args);
    all.extend(inputs.iter().map(String::as_str));
    verdicts(&check_json(&all).1)
}

fn verdicts(report: &Value) -> Vec<Verdict> {
    let mut verdicts: Vec<Verdict> = report["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|d| d["rule"] != "PG005")
        .map(|d| {
            let field = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (
                field("file"),
                field("rule"),
                field("severity"),
                field("message"),
            )
        })
        .collect();
    verdicts.sort();
    verdicts
}

fn of_namespace(verdicts: &[Verdict], namespace: &str) -> Vec<Verdict> {
    verdicts
        .iter()
        .filter(|v| v.1.starts_with(&format!("{namespace}.")))
        .cloned()
        .collect()
}

const POLICY: &str = "fixtures/conftest/policy";

#[test]
fn conftest_policies_give_conftest_verdicts() {
    let inputs = inputs("fixtures/conftest/inputs");
    let expected = oracle(&[], POLICY, &inputs);
    // The fixture exercises every convention; make sure the oracle saw them.
    assert!(expected.len() >= 6, "{expected:?}");
    assert!(expected.iter().any(|v| v.2 == "warning"));
    assert_eq!(planguard_verdicts(&["--policy", POLICY], &inputs), expected);
}

#[test]
fn other_namespaces_run_when_asked() {
    let inputs = inputs("fixtures/conftest/inputs");
    let expected = oracle(&["--namespace", "other"], POLICY, &inputs);
    assert!(!expected.is_empty());
    let asked = planguard_verdicts(&["--policy", POLICY, "--namespace", "other"], &inputs);
    assert_eq!(asked, expected);
    let all = planguard_verdicts(&["--policy", POLICY, "--all-namespaces"], &inputs);
    assert_eq!(of_namespace(&all, "other"), expected);
    let default = planguard_verdicts(&["--policy", POLICY], &inputs);
    assert!(of_namespace(&default, "other").is_empty());
}

const MULTI: &str = "fixtures/conftest/multi/policy";
const MULTI_V0: &str = "fixtures/conftest/multi/policy_v0";

/// Regression: with package `main` spread over several files (conftest's
/// Kubernetes example), the rules of some files were never evaluated.
#[test]
fn a_package_split_across_files_runs_every_file() {
    let inputs = inputs("fixtures/conftest/multi/inputs");
    let expected = oracle(&["--namespace", "main"], MULTI, &inputs);
    // Every file of package main, and an exception, shows in the verdicts.
    for rule in [
        "main.deny",
        "main.deny_images",
        "main.violation",
        "main.violation_schedule",
        "main.warn",
        "main.warn_legacy",
    ] {
        assert!(expected.iter().any(|v| v.1 == rule), "{rule}: {expected:?}");
    }
    assert_eq!(planguard_verdicts(&["--policy", MULTI], &inputs), expected);
    // The same package in Rego v0 syntax; OPA's engine here reads v1 only, so
    // the v0 files are held to its verdicts on their v1 twins.
    assert_eq!(
        planguard_verdicts(&["--policy", MULTI_V0, "--rego-version", "v0"], &inputs),
        expected
    );
}

#[test]
fn several_namespaces_and_all_of_them() {
    let inputs = inputs("fixtures/conftest/multi/inputs");
    let expected = oracle(
        &["--namespace", "main", "--namespace", "audit"],
        MULTI,
        &inputs,
    );
    assert!(!of_namespace(&expected, "audit").is_empty());
    let asked = ["--namespace", "main", "--namespace", "audit"];
    for (policy, syntax) in [(MULTI, "v1"), (MULTI_V0, "v0")] {
        let mut args = vec!["--policy", policy, "--rego-version", syntax];
        args.extend(asked);
        assert_eq!(planguard_verdicts(&args, &inputs), expected, "{policy}");
    }
    // `shapes` has no deny/warn rules, so all namespaces are these two.
    assert_eq!(
        planguard_verdicts(&["--policy", MULTI, "--all-namespaces"], &inputs),
        expected
    );
}

const DATA_POLICY: &str = "fixtures/conftest/data/policy";
const DATA: &str = "fixtures/conftest/data/data";

/// Regression: a YAML file in a `--data` folder was skipped without a word,
/// so the rules that needed it passed.
#[test]
fn data_folders_load_json_and_yaml_like_conftest() {
    let inputs = inputs("fixtures/conftest/multi/inputs");
    let expected = oracle(&["--data", DATA], DATA_POLICY, &inputs);
    // Each data file (YAML at the top, JSON and .yml in nested folders, YAML
    // 1.1 booleans) decides some verdict.
    for rule in [
        "main.deny",
        "main.deny_owner",
        "main.warn",
        "main.deny_description",
        "main.warn_legacy",
    ] {
        assert!(expected.iter().any(|v| v.1 == rule), "{rule}: {expected:?}");
    }
    let args = ["--policy", DATA_POLICY, "--data", DATA];
    assert_eq!(planguard_verdicts(&args, &inputs), expected);
    // The same data named file by file.
    let files = [
        "--data",
        "fixtures/conftest/data/data/registries.yaml",
        "--data",
        "fixtures/conftest/data/data/teams/owners.json",
        "--data",
        "fixtures/conftest/data/data/limits/nested/limits.yml",
    ];
    let mut args = vec!["--policy", DATA_POLICY];
    args.extend(files);
    assert_eq!(planguard_verdicts(&args, &inputs), expected);
}

#[test]
fn data_from_planguard_toml_loads_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("planguard.toml");
    std::fs::write(
        &config,
        format!(
            "[policy]\nbuiltin = false\npaths = [\"{}\"]\ndata = [\"{}\"]\n",
            root().join(DATA_POLICY).display(),
            root().join(DATA).display()
        ),
    )
    .expect("write");
    let inputs = inputs("fixtures/conftest/multi/inputs");
    let expected = oracle(&["--data", DATA], DATA_POLICY, &inputs);
    let mut args = vec!["--no-cache", "--config", config.to_str().expect("utf-8")];
    args.extend(inputs.iter().map(String::as_str));
    assert_eq!(verdicts(&check_json(&args).1), expected);
}

fn data_failure(data: &str) -> common::Run {
    run(planguard().args([
        "check",
        "--no-builtin",
        "--policy",
        DATA_POLICY,
        "--data",
        data,
        "fixtures/conftest/multi/inputs/clean.json",
    ]))
}

#[test]
fn a_data_file_planguard_does_not_load_is_exit_2_naming_it() {
    // Named directly.
    let out = data_failure("fixtures/conftest/data_bad/unknown/extra/settings.toml");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("settings.toml"), "{}", out.stderr);
    // Found in a folder: conftest would skip it; its data would be missing.
    let out = data_failure("fixtures/conftest/data_bad/unknown");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("settings.toml"), "{}", out.stderr);
}

#[test]
fn two_data_files_setting_one_key_is_exit_2_as_in_opa() {
    let out = data_failure("fixtures/conftest/data_bad/conflict");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("b.yaml") && out.stderr.contains("data.teams"),
        "{}",
        out.stderr
    );
    // conftest refuses the same data.
    let status = Command::new(python())
        .current_dir(root())
        .args([
            "tests/support/conftest_oracle.py",
            "--data",
            "fixtures/conftest/data_bad/conflict",
            DATA_POLICY,
        ])
        .output()
        .expect("python runs")
        .status;
    assert_eq!(status.code(), Some(3));
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

/// `planguard test` shares the conventions: a package over several files,
/// and JSON/YAML data among its paths, below their folder as `opa test` puts them.
#[test]
fn planguard_test_runs_split_packages_with_yaml_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy");
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("nested")).expect("mkdir");
    std::fs::create_dir_all(&policy).expect("mkdir");
    for entry in std::fs::read_dir(root().join(MULTI)).expect("policy folder") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, policy.join(path.file_name().expect("name"))).expect("copy");
    }
    std::fs::copy(
        root().join("fixtures/conftest/data/data/limits/nested/limits.yml"),
        data.join("nested/limits.yml"),
    )
    .expect("copy");
    std::fs::copy(
        root().join(DATA).join("registries.yaml"),
        data.join("registries.yaml"),
    )
    .expect("copy");
    std::fs::write(
        policy.join("main_test.rego"),
        r#"package main_test

import rego.v1

test_rules_of_every_file if {
	found := data.main.deny with input as {"name": "x", "kind": "plan", "image": "x:latest"}
	found == {"plan x must name an owner", "plan x pins no image version"}
}

test_yaml_data_below_its_folder if {
	data.nested.limits.prod == {"retries": 3, "window": 16}
	data.flags.strict == true
}
"#,
    )
    .expect("write");
    let test = |extra: &[&str]| {
        let mut args = vec!["test".to_string(), "-v".to_string()];
        args.extend([&policy, &data].map(|p| p.display().to_string()));
        args.extend(extra.iter().map(|s| s.to_string()));
        run(planguard().args(&args))
    };
    let out = test(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("PASS: 2/2"), "{}", out.stdout);

    std::fs::write(data.join("notes.toml"), "a = 1\n").expect("write");
    let out = test(&[]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("notes.toml"), "{}", out.stderr);
}
