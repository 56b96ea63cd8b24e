//! The built-in policy pack, rule by rule: each case of
//! fixtures/rules/cases.json is the clean workspace with one deliberate
//! change, and must give exactly the findings it lists, at their JSON
//! locations; secrets must never reach any output. Also: every rule has its
//! documentation, and the pack passes its own Rego tests.

use crate::common;

use common::workspace::Workspace;

use std::collections::BTreeSet;

use common::{planguard, root, run};
use serde_json::Value;

/// What one case found wrong, if anything.
fn check_case(case: &Value) -> Vec<String> {
    let name = case["name"].as_str().expect("name");
    let workspace = Workspace::copy_of("fixtures/workspaces/clean");
    workspace.apply(case);
    let dir = &workspace.dir;
    let mut args = vec!["check", "--color", "never"];
    if let Some(settings) = case["settings"].as_str() {
        std::fs::write(dir.path().join("planguard.toml"), settings).expect("write");
    } else {
        args.push("--isolated");
    }
    let secrets: Vec<&str> = case["never_printed"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().expect("string"))
        .collect();
    // Every format when there is a secret to keep out of them; JSON otherwise.
    let formats: &[&str] = if secrets.is_empty() {
        &["json"]
    } else {
        &["json", "human", "concise", "json-lines", "sarif", "github"]
    };
    let mut failures = Vec::new();
    let outputs: Vec<String> = formats
        .iter()
        .map(|format| {
            let out = run(planguard()
                .current_dir(dir.path())
                .args(&args)
                .args(["--format", format]));
            if out.code > 1 {
                failures.push(format!("{name}: exit {}: {}", out.code, out.stderr));
            }
            out.stdout + &out.stderr
        })
        .collect();
    let Ok(report) = serde_json::from_str::<Value>(&outputs[0]) else {
        failures.push(format!("{name}: no JSON report: {}", outputs[0]));
        return failures;
    };
    let found: BTreeSet<(String, String, String)> = report["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (s("rule"), s("file"), s("pointer"))
        })
        .collect();
    let expected: BTreeSet<(String, String, String)> = case["expect"]
        .as_array()
        .expect("expect")
        .iter()
        .map(|e| {
            let s = |i: usize| e[i].as_str().expect("string").to_string();
            (s(0), s(1), s(2))
        })
        .collect();
    if found != expected {
        failures.push(format!(
            "{name}:\n  expected {expected:?}\n  found    {found:?}"
        ));
    }
    if expected.iter().any(|(rule, ..)| rule.starts_with("PG2")) {
        failures.extend(named_one_by_one(name, dir.path(), &args, &report));
    }
    for secret in secrets {
        for output in &outputs {
            if output.contains(secret) {
                failures.push(format!(
                    "{name}: the secret {secret:?} was printed:\n{output}"
                ));
            }
        }
    }
    failures
}

/// Each file of a case's workspace named alone (as a pre-commit hook names
/// it, the rest its context) gets exactly the findings the whole-tree check
/// gives it: the cross-file rules then read only the facts those findings
/// depend on, and this is what shows none was left out.
fn named_one_by_one(
    name: &str,
    dir: &std::path::Path,
    args: &[&str],
    whole: &Value,
) -> Vec<String> {
    let about = |report: &Value, file: &str| -> BTreeSet<String> {
        report["diagnostics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["file"] == file)
            .map(|d| {
                let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
                format!("{} {} {}", s("rule"), s("pointer"), s("message"))
            })
            .collect()
    };
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| {
            let relative = e.path().strip_prefix(dir).ok()?.to_str()?.to_string();
            (relative.starts_with("conf/") || relative.starts_with("orchestration_plans/"))
                .then_some(relative)
        })
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for file in files {
        let out = run(planguard()
            .current_dir(dir)
            .args(args)
            .args(["--format", "json", &file]));
        let Ok(named) = serde_json::from_str::<Value>(&out.stdout) else {
            failures.push(format!(
                "{name}: {file} named: exit {}: {}",
                out.code, out.stderr
            ));
            continue;
        };
        let (alone, in_tree) = (about(&named, &file), about(whole, &file));
        if alone != in_tree {
            failures.push(format!(
                "{name}: {file} named alone:\n  found     {alone:?}\n  whole tree {in_tree:?}"
            ));
        }
    }
    failures
}

#[test]
fn every_rule_case_gives_exactly_its_findings() {
    let cases: Value =
        serde_json::from_str(&common::read("fixtures/rules/cases.json")).expect("json");
    let cases = cases["cases"].as_array().expect("cases");
    // Cases are independent processes: run them four at a time.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|worker| {
                scope.spawn(move || {
                    cases
                        .iter()
                        .skip(worker)
                        .step_by(4)
                        .flat_map(check_case)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker finished"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every Rego rule of the pack has a failing case.
    let covered: BTreeSet<&str> = cases
        .iter()
        .filter(|c| !c["expect"].as_array().expect("expect").is_empty())
        .map(|c| c["rule"].as_str().expect("rule"))
        .collect();
    for rule in planguard::rules::ALL {
        if matches!(
            rule.origin,
            planguard::rules::Origin::Policy | planguard::rules::Origin::Project
        ) {
            assert!(
                covered.contains(rule.code),
                "{} has no failing case",
                rule.code
            );
        }
    }
}

/// The ids the Rego policies emit are exactly the table's policy rules.
#[test]
fn policy_ids_match_the_rule_table() {
    let re = regex::Regex::new(r#""rule": "(PG\d+)""#).expect("valid");
    let mut in_policies = BTreeSet::new();
    for entry in walkdir::WalkDir::new(root().join("policies")) {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy();
        if name.ends_with(".rego") && !name.ends_with("_test.rego") {
            let text = std::fs::read_to_string(entry.path()).expect("read");
            in_policies.extend(re.captures_iter(&text).map(|c| c[1].to_string()));
        }
    }
    let in_table: BTreeSet<String> = planguard::rules::ALL
        .iter()
        .filter(|r| {
            matches!(
                r.origin,
                planguard::rules::Origin::Policy | planguard::rules::Origin::Project
            )
        })
        .map(|r| r.code.to_string())
        .collect();
    assert_eq!(in_policies, in_table);
}

#[test]
fn the_pack_passes_its_own_rego_tests() {
    let out = run(planguard().args(["test", "--coverage", "policies"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("PASS: "), "{}", out.stdout);
}
