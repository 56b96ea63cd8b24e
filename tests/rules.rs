//! The built-in policy pack, rule by rule: each case of
//! fixtures/rules/cases.json is the clean workspace with one deliberate
//! change, and must give exactly the findings it lists, at their JSON
//! locations; secrets must never reach any output. Also: every rule has its
//! documentation, and the pack passes its own Rego tests.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{planguard, root, run};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("readable fixture");
        let target = to.join(entry.path().strip_prefix(from).expect("below"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn apply(dir: &Path, case: &Value) {
    for copy in case["copy"].as_array().into_iter().flatten() {
        let to = dir.join(copy["to"].as_str().expect("to"));
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(dir.join(copy["from"].as_str().expect("from")), to).expect("copy");
    }
    for (path, text) in case["files"].as_object().into_iter().flatten() {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text.as_str().expect("text")).expect("write");
    }
    for patch in case["patch"].as_array().into_iter().flatten() {
        let file = dir.join(patch["file"].as_str().expect("file"));
        let mut doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
        let pointer = patch["pointer"].as_str().expect("pointer");
        let (parent, key) = pointer.rsplit_once('/').expect("a member pointer");
        let key = key.replace("~1", "/").replace("~0", "~");
        let value = if let Some(suffix) = patch["append"].as_str() {
            Some(Value::from(format!(
                "{}{suffix}",
                doc.pointer(pointer)
                    .and_then(Value::as_str)
                    .expect("string")
            )))
        } else if let Some([old, new]) = patch["replace"]
            .as_array()
            .map(|r| [r[0].as_str().expect("old"), r[1].as_str().expect("new")])
        {
            let from = doc
                .pointer(patch["from_pointer"].as_str().expect("from_pointer"))
                .and_then(Value::as_str)
                .expect("string");
            assert!(from.contains(old), "{from} lacks {old}");
            Some(Value::from(from.replace(old, new)))
        } else if patch["remove"] == true {
            None
        } else {
            Some(sha_placeholders(dir, patch["value"].clone()))
        };
        let target = doc.pointer_mut(parent).expect("parent exists");
        match (target, value) {
            (Value::Object(map), Some(value)) => {
                map.insert(key, value);
            }
            (Value::Object(map), None) => {
                map.remove(&key);
            }
            (Value::Array(items), Some(value)) => {
                items[key.parse::<usize>().expect("index")] = value
            }
            (other, _) => panic!("cannot patch {pointer} in {other}"),
        }
        std::fs::write(
            &file,
            serde_json::to_string_pretty(&doc).expect("serializes"),
        )
        .expect("write");
    }
}

/// `"SHA256:<file>"` stands for that file's checksum, computed here.
fn sha_placeholders(dir: &Path, value: Value) -> Value {
    match value {
        Value::String(s) => match s.strip_prefix("SHA256:") {
            Some(file) => {
                let digest = Sha256::digest(std::fs::read(dir.join(file)).expect("file"));
                Value::from(
                    digest
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>(),
                )
            }
            None => Value::String(s),
        },
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, sha_placeholders(dir, v)))
                .collect(),
        ),
        other => other,
    }
}

/// What one case found wrong, if anything.
fn check_case(case: &Value) -> Vec<String> {
    let name = case["name"].as_str().expect("name");
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&root().join("fixtures/workspaces/clean"), dir.path());
    apply(dir.path(), case);
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
        &["json", "human", "concise"]
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
