//! `planguard check` through the real binary: exit statuses, output formats,
//! every kind of input problem, settings and determinism.

use crate::common;

use common::workspace::Workspace;
use common::{check_json, planguard, read, root, run};
use serde_json::Value;
use std::path::Path;

fn rules_at(report: &Value) -> Vec<(String, String, u64, u64)> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap_or_default().to_string(),
                d["file"].as_str().unwrap_or_default().to_string(),
                d["start"]["line"].as_u64().unwrap_or(0),
                d["start"]["column"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn redact_time(text: &str) -> String {
    let re = regex::Regex::new(r"in \d+\.\d+s").expect("valid");
    re.replace_all(text, "in [TIME]").into_owned()
}

#[test]
fn example_workspace_human_output() {
    let out = run(planguard().args(["check", "--color", "never", "examples/salam"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(redact_time(&out.stdout));
}

#[test]
fn example_workspace_json_output() {
    let out = run(planguard().args(["check", "--format", "json", "examples/salam"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let version = format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    insta::assert_snapshot!(out.stdout.replace(&version, "\"version\": \"[VERSION]\""));
}

#[test]
fn example_workspace_concise_output() {
    let out = run(planguard().args(["check", "--format", "concise", "examples/salam"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn example_workspace_shows_each_kind_of_problem_at_its_place() {
    let (code, report) = check_json(&["examples/salam"]);
    assert_eq!(code, 1);
    let found = rules_at(&report);
    let expect = [
        // a. duplicate key: the second `jitter`, line 29.
        ("PG002", "examples/salam/conf/uat.json", 29),
        // b. schema: maximum_attempts is a string (line 37), `timezon` is unknown (line 25).
        (
            "PG010",
            "examples/salam/orchestration_plans/prod/42.json",
            37,
        ),
        (
            "PG010",
            "examples/salam/orchestration_plans/prod/42.json",
            25,
        ),
        // c. a Rego finding with a location: the image tag.
        ("PG103", "examples/salam/orchestration_plans/dev/43.json", 0),
        // d. namespace of another environment (the plan's disagreement with
        //    its config there is the same problem: related, not repeated).
        ("PG101", "examples/salam/orchestration_plans/uat/42.json", 0),
        // e. malformed JSON: the parser stops at line 36, column 5.
        (
            "PG001",
            "examples/salam/orchestration_plans/dev/44.json",
            36,
        ),
        // g. the newest prod plan was dumped before the password went into
        //    its config: stale (line 13, its source_config.sha256).
        (
            "PG208",
            "examples/salam/orchestration_plans/prod/42.json",
            13,
        ),
    ];
    for (rule, file, line) in expect {
        assert!(
            found
                .iter()
                .any(|(r, f, l, _)| r == rule && f == file && (line == 0 || *l == line)),
            "{rule} in {file} at line {line} missing from {found:#?}"
        );
    }
    let malformed = found.iter().find(|(r, ..)| r == "PG001").expect("PG001");
    assert_eq!(malformed.3, 5);
    // One problem, one finding: the seven above and the password in
    // conf/prod.json are the example's eight planted problems.
    assert_eq!(found.len(), expect.len() + 1, "{found:#?}");
    let namespace = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["rule"] == "PG101")
        .expect("PG101");
    let related: Vec<&str> = namespace["related"]
        .as_array()
        .expect("related")
        .iter()
        .filter_map(|r| r["message"].as_str())
        .collect();
    assert_eq!(
        related,
        [
            "also PG202: plan namespace \"ingestion-dev\" differs from examples/salam/conf/uat.json's \"ingestion-uat\"",
            "the config says this"
        ]
    );
}

#[test]
fn a_clean_workspace_exits_zero() {
    let out = run(planguard().args(["check", "fixtures/workspaces/clean"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("no problems found"), "{}", out.stdout);
}

#[test]
fn zero_configuration_in_the_current_folder() {
    let out = run(planguard()
        .current_dir(root().join("fixtures/workspaces/clean"))
        .arg("check"));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.starts_with("Checked 12 files"), "{}", out.stdout);
}

#[test]
fn tool_failures_exit_two() {
    let bad_flag = run(planguard().args(["check", "--frobnicate"]));
    assert_eq!(bad_flag.code, 2);
    let missing = run(planguard().args(["check", "no/such/path"]));
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("no/such/path: no such file or directory"),
        "{}",
        missing.stderr
    );
    let policy = run(planguard().args([
        "check",
        "--policy",
        "no/such/policies",
        "fixtures/workspaces/clean",
    ]));
    assert_eq!(policy.code, 2);
    assert!(
        policy
            .stderr
            .contains("cannot read policy path no/such/policies"),
        "{}",
        policy.stderr
    );
}

#[test]
fn invalid_settings_are_located_and_exit_two() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = dir.path().join("planguard.toml");
    std::fs::write(
        &settings,
        "[policy]\ntimeout = \"soon\"\n\n[rules]\nPG999 = \"off\"\n",
    )
    .expect("write");
    let out = run(planguard()
        .args(["check", "--color", "never", "--config"])
        .arg(&settings)
        .arg("fixtures/workspaces/clean"));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("error[PG006]: `soon` is not a duration like 30s, 5m or 1h30m"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(":2:11"), "{}", out.stderr);
    assert!(
        out.stderr.contains("error[PG006]: unknown rule `PG999`"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn warnings_fail_only_with_fail_on_warn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = dir.path().join("planguard.toml");
    // The plan's image also differs from its config's (PG202, an error):
    // turned off, so that a warning is all that is left.
    std::fs::write(&settings, "[rules]\nPG103 = \"warning\"\nPG202 = \"off\"\n").expect("write");
    let file = "examples/salam/orchestration_plans/dev/43.json";
    let args = |extra: &[&str]| {
        let mut cmd = planguard();
        cmd.args(["check", "--config"])
            .arg(&settings)
            .arg(file)
            .args(extra);
        run(&mut cmd)
    };
    let lenient = args(&[]);
    assert_eq!(lenient.code, 0, "{}", lenient.stdout);
    assert!(lenient.stdout.contains("warning[PG103]"));
    assert_eq!(args(&["--fail-on-warn"]).code, 1);
}

#[test]
fn rules_can_be_turned_off_and_ignored_per_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = dir.path().join("planguard.toml");
    std::fs::write(
        &settings,
        "[rules]\nPG103 = \"off\"\n\n[[ignore]]\nrule = \"PG101\"\npaths = [\"**/uat/42.json\"]\n",
    )
    .expect("write");
    let (_, report) = check_json(&[
        "--config",
        settings.to_str().expect("utf-8 path"),
        "examples/salam",
    ]);
    let rules: Vec<_> = rules_at(&report).into_iter().map(|r| r.0).collect();
    assert!(!rules.contains(&"PG103".to_string()), "{rules:?}");
    assert!(!rules.contains(&"PG101".to_string()), "{rules:?}");
    assert!(rules.contains(&"PG202".to_string()), "{rules:?}");
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let json = |threads: &str| {
        run(planguard().env("RAYON_NUM_THREADS", threads).args([
            "check",
            "--format",
            "json",
            "examples/salam",
            "fixtures",
        ]))
        .stdout
    };
    let one = json("1");
    assert!(one.len() > 1000);
    assert_eq!(one, json("2"));
    assert_eq!(one, json("7"));
}

#[test]
fn colours_follow_the_flag_and_no_color() {
    let file = "examples/salam/orchestration_plans/dev/43.json";
    let always = run(planguard().args(["check", "--color", "always", file]));
    assert!(always.stdout.contains("\u{1b}["));
    let never = run(planguard().args(["check", "--color", "never", file]));
    assert!(!never.stdout.contains("\u{1b}["));
    // Not a terminal: auto means no colour.
    let auto = run(planguard().args(["check", file]));
    assert!(!auto.stdout.contains("\u{1b}["));
}

#[test]
fn verbose_says_what_was_skipped() {
    let out = run(planguard().args(["check", "--verbose", "fixtures"]));
    assert!(
        out.stderr.contains(
            "fixtures/conftest/inputs/clean.json: matches neither a config nor a plan pattern"
        ),
        "{}",
        out.stderr
    );
}

/// The clean workspace in a fresh git repository, with a plan that does not
/// parse: checked, it is a PG001 finding unless an ignore rule leaves it out.
fn repository_with_a_broken_plan() -> common::workspace::Workspace {
    let ws = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    write_file(
        ws.dir.path(),
        "orchestration_plans/dev/13.json",
        "{ not json",
    );
    let init = std::process::Command::new("git")
        .args(["init", "--quiet"])
        .current_dir(ws.dir.path())
        .status()
        .expect("git runs");
    assert!(init.success(), "git init");
    ws
}

/// `planguard check --verbose <path>` with `env`: whether it reported the
/// broken plan, and what it said on stderr.
fn reports_broken_plan(path: &std::path::Path, env: &[(&str, &std::path::Path)]) -> (bool, String) {
    let out = run(planguard()
        .args(["check", "--verbose", "--format", "json"])
        .arg(path)
        .envs(env.iter().copied()));
    assert!(
        out.code == 0 || out.code == 1,
        "exit {}: {}",
        out.code,
        out.stderr
    );
    let report: Value = serde_json::from_str(&out.stdout).expect("--format json prints JSON");
    let reported = rules_at(&report).iter().any(|(rule, file, _, _)| {
        rule == "PG001" && file.ends_with("orchestration_plans/dev/13.json")
    });
    (reported, out.stderr)
}

/// Regression: only `.gitignore` files inside the checked folder were read,
/// so a rule in the repository's top folder did not apply to a subfolder.
#[test]
fn a_gitignore_in_a_parent_of_the_checked_folder_is_honoured() {
    let ws = repository_with_a_broken_plan();
    let plans = ws.dir.path().join("orchestration_plans");
    assert!(
        reports_broken_plan(&plans, &[]).0,
        "without a rule, the plan is checked"
    );
    write_file(
        ws.dir.path(),
        ".gitignore",
        "/orchestration_plans/dev/13.json\n",
    );
    let (reported, stderr) = reports_broken_plan(&plans, &[]);
    assert!(!reported, "{stderr}");
    assert!(
        stderr.contains("dev/13.json: ignored by .gitignore"),
        "{stderr}"
    );
    // `respect-gitignore = false` turns every ignore file off, parents' too.
    write_file(
        ws.dir.path(),
        "planguard.toml",
        "[files]\nrespect-gitignore = false\n",
    );
    assert!(reports_broken_plan(&plans, &[]).0);
}

/// Regression: the repository's own excludes (`.git/info/exclude`) and the
/// user's (`core.excludesFile`) were not read; git leaves those files out.
#[test]
fn git_info_exclude_and_the_global_excludes_file_are_honoured() {
    let ws = repository_with_a_broken_plan();
    let root = ws.dir.path();
    // A home of its own, so that the user's git configuration plays no part.
    let home = tempfile::tempdir().expect("tempdir");
    let env: [(&str, &std::path::Path); 2] =
        [("HOME", home.path()), ("XDG_CONFIG_HOME", home.path())];
    assert!(
        reports_broken_plan(root, &env).0,
        "without a rule, the plan is checked"
    );

    write_file(
        root,
        ".git/info/exclude",
        "orchestration_plans/dev/13.json\n",
    );
    let (reported, stderr) = reports_broken_plan(root, &env);
    assert!(!reported, "{stderr}");
    assert!(
        stderr.contains("dev/13.json: ignored by .gitignore"),
        "{stderr}"
    );

    write_file(root, ".git/info/exclude", "");
    assert!(reports_broken_plan(root, &env).0);
    let global = home.path().join("excludes");
    write_file(home.path(), "excludes", "13.json\n");
    write_file(
        home.path(),
        ".gitconfig",
        &format!("[core]\n\texcludesFile = {}\n", global.display()),
    );
    let (reported, stderr) = reports_broken_plan(root, &env);
    assert!(!reported, "{stderr}");
}

/// Every load fixture: the diagnostic, its rule and where it points.
#[test]
fn load_problems_are_diagnostics_at_their_place() {
    let cases = [
        ("malformed-missing-comma.json", "PG001", 16, 5),
        ("trailing-comma.json", "PG001", 31, 5),
        ("truncated.json", "PG001", 26, 0),
        ("empty.json", "PG001", 1, 1),
        ("non-utf8.json", "PG003", 5, 0),
        ("deeply-nested.json", "PG004", 3, 0),
    ];
    for (file, rule, line, column) in cases {
        let path = format!("fixtures/hostile/files/{file}");
        let (code, report) = check_json(&[&path]);
        assert_eq!(code, 1, "{file}");
        let found = rules_at(&report);
        assert!(
            found.iter().any(|(r, f, l, c)| r == rule
                && *f == path
                && *l == line
                && (column == 0 || *c == column)),
            "{file}: expected {rule} at {line}:{column}, got {found:?}"
        );
    }
}

#[test]
fn duplicate_keys_are_each_reported_with_the_first_definition() {
    let (_, report) = check_json(&["fixtures/hostile/files/duplicate-keys.json"]);
    let duplicates: Vec<_> = report["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|d| d["rule"] == "PG002")
        .map(|d| {
            (
                d["pointer"].as_str().unwrap_or_default().to_string(),
                d["start"]["line"].as_u64().unwrap_or(0),
                d["related"][0]["start"]["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        duplicates,
        vec![
            ("/schedule/timezone".to_string(), 11, 9),
            ("/retry_policy/maximum_attempts".to_string(), 17, 15),
            ("/input/sources/1/credentials".to_string(), 33, 31),
            ("/namespace".to_string(), 37, 4),
        ]
    );
}

#[test]
fn a_byte_order_mark_and_a_top_level_array_load() {
    let (_, report) = check_json(&["fixtures/hostile/files/bom.json"]);
    assert!(rules_at(&report).iter().all(|r| r.0 != "PG001"), "{report}");
    let (_, report) = check_json(&["fixtures/hostile/files/not-an-object.json"]);
    assert!(rules_at(&report).iter().all(|r| r.0 != "PG001"), "{report}");
}

/// Each schema fail fixture gives exactly the schema errors listed for it,
/// at the listed instance location.
#[test]
fn schema_fixtures_give_their_expected_errors() {
    let expected: Value =
        serde_json::from_str(&read("fixtures/schema/expected.json")).expect("json");
    for (file, errors) in expected.as_object().expect("object") {
        let path = format!("fixtures/schema/{file}");
        let (_, report) = check_json(&["--no-builtin", &path]);
        let mut found: Vec<String> = report["diagnostics"]
            .as_array()
            .expect("array")
            .iter()
            .filter(|d| d["rule"] == "PG010")
            .map(|d| {
                let pointer = d["pointer"].as_str().unwrap_or_default();
                // Unknown properties are located at the property itself; the
                // fixture lists the object that has it, as JSON Schema does.
                if d["message"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("unknown property")
                {
                    pointer
                        .rsplit_once('/')
                        .map_or("", |(parent, _)| parent)
                        .to_string()
                } else {
                    pointer.to_string()
                }
            })
            .collect();
        let mut wanted: Vec<String> = errors
            .as_array()
            .expect("array")
            .iter()
            .map(|e| {
                e["instance_pointer"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        found.sort();
        wanted.sort();
        assert_eq!(found, wanted, "{file}");
    }
}

#[test]
fn broken_policies_are_located_in_the_rego_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("syntax.rego"),
        "package main\n\ndeny contains msg if {\n  input.x ==\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("unsafe.rego"),
        "package main\n\ndeny contains \"u\" if {\n  x == 1\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("good.rego"),
        "package main\n\nwarn contains \"still runs\" if { true }\n",
    )
    .expect("write");
    let out = run(planguard()
        .args(["check", "--format", "concise", "--policy"])
        .arg(dir.path())
        .arg("examples/salam/conf/dev.json"));
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.iter().any(|l| l
            .ends_with("syntax.rego:5:1: error[PG020] cannot parse policy: expecting expression")),
        "{}",
        out.stdout
    );
    assert!(
        lines.iter().any(|l| l.contains("unsafe.rego:4:3: error[PG020] cannot compile policy: use of undefined variable `x` is unsafe")),
        "{}",
        out.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("warning[main.warn] still runs")),
        "{}",
        out.stdout
    );
}

#[test]
fn a_runaway_policy_fails_that_evaluation_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("slow.rego"),
        "package main\n\ndeny contains \"never\" if {\n  some i in numbers.range(1, 100000)\n  some j in numbers.range(1, 100000)\n  i + j < 0\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("planguard.toml"),
        "[policy]\ntimeout = \"300ms\"\npaths = [\".\"]\n",
    )
    .expect("write");
    let out = run(planguard()
        .args(["check", "--format", "concise", "--config"])
        .arg(dir.path().join("planguard.toml"))
        .arg("examples/salam/conf/dev.json"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains("error[PG021] `data.main.deny` failed on examples/salam/conf/dev.json: exceeded the policy time limit"),
        "{}",
        out.stdout
    );
}

#[test]
fn rego_v0_policies_run_with_rego_version_v0() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("old.rego"), "package main\n\ndeny[msg] {\n  input.environment == \"dev\"\n  msg := \"old syntax works\"\n}\n").expect("write");
    let out = run(planguard()
        .args([
            "check",
            "--format",
            "concise",
            "--rego-version",
            "v0",
            "--policy",
        ])
        .arg(dir.path())
        .arg("examples/salam/conf/dev.json"));
    assert!(
        out.stdout.contains("error[main.deny] old syntax works"),
        "{}",
        out.stdout
    );
}

#[test]
fn findings_name_their_rule_and_location() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("located.rego"),
        "package main\n\nimport rego.v1\n\nwarn contains {\"msg\": \"pool too small\", \"rule\": \"TEAM1\", \"location\": [\"spark\", \"cluster\", \"autoscale\", \"max_executors\"]} if { true }\n",
    )
    .expect("write");
    let (_, report) = check_json(&[
        "--no-builtin",
        "--policy",
        dir.path().to_str().expect("utf-8"),
        "examples/salam/conf/dev.json",
    ]);
    let finding = &report["diagnostics"][0];
    assert_eq!(finding["rule"], "TEAM1");
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["pointer"], "/spark/cluster/autoscale/max_executors");
    let text = read("examples/salam/conf/dev.json");
    let range = finding["range"]["start"].as_u64().expect("start") as usize
        ..finding["range"]["end"].as_u64().expect("end") as usize;
    let value: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        serde_json::from_str::<Value>(&text[range]).expect("a JSON value"),
        value["spark"]["cluster"]["autoscale"]["max_executors"]
    );
}

/// The JSON report validates against its documented schema, checked by the
/// real check-jsonschema.
#[test]
fn json_output_matches_its_published_schema() {
    let out = run(planguard().args(["check", "--format", "json", "examples/salam", "fixtures"]));
    common::assert_valid(&out.stdout, "schemas/report.schema.json");
}

#[test]
fn example_workspace_github_annotations() {
    let out = run(planguard().args(["check", "--format", "github", "examples/salam"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(redact_time(&out.stdout));
}

#[test]
fn json_lines_are_the_json_findings_one_per_line() {
    let lines = run(planguard().args(["check", "--format", "json-lines", "examples/salam"])).stdout;
    let (_, report) = check_json(&["examples/salam"]);
    let findings: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(&Value::Array(findings), &report["diagnostics"]);
}

/// The SARIF report validates against the official SARIF 2.1.0 schema,
/// checked by the real check-jsonschema, and carries
/// what GitHub code scanning needs.
#[test]
fn sarif_output_matches_the_official_schema() {
    let out = run(planguard().args(["check", "--format", "sarif", "examples/salam"]));
    assert_eq!(out.code, 1);
    // A copy of the official schema (OASIS SARIF 2.1.0, errata 01), kept in
    // the repository so the test does not depend on where it runs.
    common::assert_valid(&out.stdout, "tests/data/sarif-schema-2.1.0.json");
    let sarif: Value = serde_json::from_str(&out.stdout).expect("json");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), planguard::rules::ALL.len());
    let secret = rules.iter().find(|r| r["id"] == "PG110").expect("PG110");
    assert_eq!(secret["properties"]["security-severity"], "9.0");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 8);
    let first = &results[0];
    assert_eq!(first["ruleId"], "PG110");
    let region = &first["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(84), Some(96))
    );
    assert_eq!(region["endColumn"].as_u64(), Some(108));
    assert!(first["partialFingerprints"]["planguard/v1"].is_string());
    assert!(!out.stdout.contains("S3cr3t"));
}

#[test]
fn example_workspace_junit_output() {
    let out = run(planguard().args(["check", "--format", "junit", "examples/salam"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
}

/// The JUnit report is XML that a real parser reads back: one suite per
/// file, one failed case per finding, messages intact through the escaping.
#[test]
fn junit_output_parses_as_one_suite_per_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("report.xml");
    let out = run(planguard().args(["check", "--format", "junit", "examples/salam"]));
    std::fs::write(&path, &out.stdout).expect("write");
    let script = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
print(json.dumps([
    [suite.get("name"), [[case.find("failure").get("type"), case.find("failure").get("message")]
                         for case in suite.findall("testcase")]]
    for suite in root.findall("testsuite")
]))
"#;
    let parsed = std::process::Command::new(common::python())
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("python runs");
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let suites: Value = serde_json::from_slice(&parsed.stdout).expect("json");
    let (_, report) = check_json(&["examples/salam"]);
    let diagnostics = report["diagnostics"].as_array().expect("array");
    let mut expected: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for d in diagnostics {
        let file = d["file"].as_str().unwrap_or("planguard").to_string();
        let case = (
            d["severity"].as_str().expect("severity").to_string(),
            d["message"].as_str().expect("message").to_string(),
        );
        match expected.last_mut() {
            Some((last, cases)) if *last == file => cases.push(case),
            _ => expected.push((file, vec![case])),
        }
    }
    let got: Vec<(String, Vec<(String, String)>)> =
        serde_json::from_value(suites).expect("suites shape");
    assert_eq!(got, expected);
}

#[test]
fn example_workspace_gitlab_output() {
    let out = run(planguard().args(["check", "--format", "gitlab", "examples/salam"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
    let issues: Vec<Value> = serde_json::from_str(&out.stdout).expect("a JSON array");
    assert_eq!(issues.len(), 8);
    let mut fingerprints = std::collections::HashSet::new();
    for issue in &issues {
        for field in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[field].is_string(), "{field} in {issue}");
        }
        assert!(issue["location"]["path"].is_string(), "{issue}");
        assert!(issue["location"]["lines"]["begin"].as_u64() >= Some(1));
        assert!(
            ["info", "minor", "major", "critical", "blocker"]
                .contains(&issue["severity"].as_str().expect("string")),
            "{issue}"
        );
        assert!(fingerprints.insert(issue["fingerprint"].clone()), "unique");
    }
}

/// `--output` writes exactly the report the format prints, to a file
/// (creating its folder), and leaves the summary on the terminal.
#[test]
fn output_writes_the_report_to_a_file_and_the_summary_to_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    for format in ["sarif", "junit", "gitlab", "human"] {
        let path = dir.path().join(format!("reports/planguard.{format}"));
        let out = run(planguard()
            .args(["check", "--color", "always", "--format", format, "--output"])
            .arg(&path)
            .arg("examples/salam"));
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert_eq!(
            redact_time(&out.stdout),
            "Checked 14 files in [TIME]: 8 errors, 0 warnings.\n"
        );
        let written = std::fs::read_to_string(&path).expect("report written");
        let printed = run(planguard().args(["check", "--format", format, "examples/salam"])).stdout;
        assert_eq!(redact_time(&written), redact_time(&printed), "{format}");
        assert!(!written.contains('\u{1b}'), "no colour codes in a file");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
        .expect("folder")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, "").expect("write");
    let out = run(planguard()
        .args(["check", "--format", "sarif", "--output"])
        .arg(blocked.join("report.sarif"))
        .arg("examples/salam"));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("planguard::output::unwritable (https://"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("× cannot write the report to "),
        "{}",
        out.stderr
    );
}

/// A file named on its own (a pre-commit hook's staged plan) is checked with
/// the rest of its workspace as context: the cross-file comparison with its
/// config is made, and only the named file is reported on.
#[test]
fn named_files_are_checked_with_their_workspace_as_context() {
    let plan = "examples/salam/orchestration_plans/prod/42.json";
    let (code, report) = check_json(&[plan]);
    assert_eq!(code, 1);
    let found = rules_at(&report);
    assert!(
        found.iter().all(|(_, file, _, _)| file == plan),
        "{found:?}"
    );
    // The comparison with the config (PG202) is made; it names the same
    // problem as the misspelt `timezon` (PG010), so it is related to it.
    let related: Vec<&str> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .flat_map(|d| d["related"].as_array().into_iter().flatten())
        .filter_map(|r| r["message"].as_str())
        .collect();
    assert!(
        related
            .iter()
            .any(|m| m.starts_with("also PG202: plan time zone (unset)")),
        "the config is compared: {related:?}"
    );
    let (_, whole) = check_json(&["examples/salam"]);
    let whole: Vec<_> = rules_at(&whole)
        .into_iter()
        .filter(|(_, file, _, _)| file == plan)
        .collect();
    assert_eq!(found, whole, "the same findings as in the whole-tree check");
    let human = run(planguard().args(["check", "--color", "never", plan]));
    assert!(
        human.stdout.contains("Checked 1 file in"),
        "{}",
        human.stdout
    );
    // conf/prod.json (context only) holds a password; it shows nowhere.
    assert!(!human.stdout.contains("S3cr3t-Pr0d!"), "{}", human.stdout);
}

#[test]
fn example_workspace_markdown_output() {
    let out = run(planguard().args(["check", "--format", "markdown", "examples/salam"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
}

/// The Markdown report renders as a table with one row per finding, each
/// rule linked, when a real CommonMark + GFM-tables renderer reads it.
#[test]
fn markdown_output_renders_as_a_table() {
    let out = run(planguard().args(["check", "--format", "markdown", "examples/salam"]));
    let html = common::render_markdown(&out.stdout);
    let counts = (
        html.matches("<tr>").count(),
        html.matches(&format!(
            "<a href=\"{}/blob/{}/docs/rules/",
            planguard::links::REPOSITORY,
            planguard::links::TAG
        ))
        .count(),
        html.matches("<h3>").count(),
    );
    assert_eq!(counts, (9, 8, 1));
    let clean =
        run(planguard().args(["check", "--format", "markdown", "fixtures/workspaces/clean"]));
    assert_eq!(clean.code, 0);
    assert_eq!(clean.stdout, "### ✅ planguard: no problems in 12 files\n");
}

/// A certificate for `{name}.salam.internal`, made now by openssl, that
/// expires in `days` days.
fn certificate(path: &std::path::Path, name: &str, days: u32) {
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-keyout", "/dev/null", "-days", &days.to_string()])
        .args(["-subj", &format!("/CN={name}.salam.internal")])
        .arg("-out")
        .arg(path)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
}

/// PG119 on certificates made now by openssl: one expiring in 3 days (an
/// error), one in 20 (a warning), one in 80 (nothing: far from expiry, and
/// valid for less than the 90-day rotation), each named with its subject and
/// date at the config field that names it.
#[test]
fn committed_certificates_are_watched_for_expiry() {
    let ws = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    let certs = ws.dir.path().join("certs");
    std::fs::create_dir_all(&certs).expect("mkdir");
    for (name, days) in [("soon", 3), ("month", 20), ("quarter", 80)] {
        certificate(&certs.join(format!("{name}.pem")), name, days);
    }
    let auth = |file: &str, key: &str, pem: &str| {
        ws.edit(file, |c| {
            c["runtime"]["orchestration"]["temporal"]["auth"][key] = Value::from(pem);
        });
    };
    auth("conf/prod.json", "client_cert_file", "certs/soon.pem");
    auth("conf/uat.json", "client_cert_file", "certs/month.pem");
    auth("conf/dev.json", "ca_file", "certs/quarter.pem");
    // Parity (PG203) ignores credentials; keep the three configs otherwise equal.
    let (code, report) = check_json(&[&ws.path()]);
    assert_eq!(code, 1, "{report}");
    let found: Vec<(String, String, String, String)> = report["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap_or_default().to_string(),
                d["severity"].as_str().unwrap_or_default().to_string(),
                d["pointer"].as_str().unwrap_or_default().to_string(),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(found.len(), 2, "{found:#?}");
    let (rule, severity, pointer, message) = &found[0];
    assert_eq!((rule.as_str(), severity.as_str()), ("PG119", "error"));
    assert_eq!(
        pointer,
        "/runtime/orchestration/temporal/auth/client_cert_file"
    );
    assert!(
        message.starts_with("the certificate \"soon.salam.internal\" in ")
            && message.contains("certs/soon.pem expires on ")
            && message.ends_with(", in 3 days"),
        "{message}"
    );
    let (rule, severity, _, message) = &found[1];
    assert_eq!((rule.as_str(), severity.as_str()), ("PG119", "warning"));
    assert!(message.ends_with(", in 20 days"), "{message}");
}

// ------------------------------------------------ cache soundness and reads

/// `planguard check --format json` in `dir` (so the cache is the
/// workspace's own), with `PLANGUARD_NOW` when given: (rule, severity,
/// pointer, message) of each finding, and all that was printed.
fn check_in(dir: &std::path::Path, now: Option<i64>) -> (Vec<[String; 4]>, String) {
    let mut cmd = planguard();
    cmd.current_dir(dir)
        .args(["check", "--format", "json", "."]);
    if let Some(now) = now {
        cmd.env("PLANGUARD_NOW", now.to_string());
    }
    let out = run(&mut cmd);
    assert!(out.code <= 1, "exit {}: {}", out.code, out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let found = report["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| {
            ["rule", "severity", "pointer", "message"]
                .map(|k| d[k].as_str().unwrap_or_default().to_string())
        })
        .collect();
    (found, out.stdout + &out.stderr)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

const DAY: i64 = 86_400;

/// Regression: PG119 verdicts were cached by the config's content alone, so
/// a certificate crossing the warning threshold went unreported until the
/// config changed. With a warm cache, moving the clock (PLANGUARD_NOW) or
/// replacing the certificate file changes the verdict.
#[test]
fn certificate_verdicts_follow_the_clock_and_the_file_with_a_warm_cache() {
    let ws = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    let dir = ws.dir.path();
    std::fs::create_dir_all(dir.join("certs")).expect("mkdir");
    let pem = dir.join("certs/client.pem");
    certificate(&pem, "worker", 40);
    ws.edit("conf/prod.json", |c| {
        c["runtime"]["orchestration"]["temporal"]["auth"]["client_cert_file"] =
            Value::from("certs/client.pem");
    });
    let now = unix_now();
    let pg119 = |found: &[[String; 4]]| -> Vec<(String, String)> {
        found
            .iter()
            .filter(|[rule, ..]| rule == "PG119")
            .map(|[_, severity, _, message]| (severity.clone(), message.clone()))
            .collect()
    };
    let (cold, _) = check_in(dir, Some(now));
    assert_eq!(pg119(&cold), [], "40 days left: quiet");
    assert!(
        dir.join(".planguard/cache").is_dir(),
        "the run filled the cache"
    );
    // The clock moves on: the same warm cache, another verdict.
    let (later, _) = check_in(dir, Some(now + 15 * DAY));
    let later = pg119(&later);
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(later[0].0, "warning");
    assert!(later[0].1.ends_with(", in 25 days"), "{later:?}");
    let (last_week, _) = check_in(dir, Some(now + 36 * DAY));
    let last_week = pg119(&last_week);
    assert_eq!(last_week.len(), 1, "{last_week:?}");
    assert_eq!(last_week[0].0, "error");
    assert!(last_week[0].1.ends_with(", in 4 days"), "{last_week:?}");
    // The same day again reuses the verdict: still the warning.
    let (again, _) = check_in(dir, Some(now + 15 * DAY));
    assert_eq!(pg119(&again), later);
    // The certificate is rotated in place; the config does not change.
    certificate(&pem, "worker", 20);
    let (rotated, _) = check_in(dir, Some(now));
    let rotated = pg119(&rotated);
    assert_eq!(rotated.len(), 1, "{rotated:?}");
    assert!(rotated[0].1.ends_with(", in 20 days"), "{rotated:?}");
    certificate(&pem, "worker", 80);
    let (renewed, _) = check_in(dir, Some(now));
    assert_eq!(pg119(&renewed), [], "a renewed certificate");
}

/// A policy of the user's that reads the clock: its verdicts are never
/// reused, so moving the clock changes them with a cache in place; a
/// `PLANGUARD_NOW` that is no time is a tool failure naming the variable.
#[test]
fn user_policies_that_read_the_clock_are_never_cached() {
    let ws = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    let dir = ws.dir.path();
    let policy = dir.join("policy");
    std::fs::create_dir(&policy).expect("mkdir");
    std::fs::write(
        policy.join("deadline.rego"),
        "package main\nimport rego.v1\n\nwarn contains \"past the freeze\" if {\n\tinput.environment == \"prod\"\n\ttime.now_ns() > 2000000000 * 1000000000\n}\n",
    )
    .expect("write");
    let check = |now: &str| {
        let out = run(planguard()
            .current_dir(dir)
            .env("PLANGUARD_NOW", now)
            .args(["check", "--format", "concise", "--policy", "policy", "."]));
        (out.code, out.stdout + &out.stderr)
    };
    for (now, frozen) in [
        ("1999999999", false),
        ("2033-05-18T04:00:00Z", true),
        ("1999999999", false),
    ] {
        let (code, printed) = check(now);
        assert!(code <= 1, "{printed}");
        assert_eq!(
            printed.contains("past the freeze"),
            frozen,
            "{now}: {printed}"
        );
    }
    let (code, printed) = check("next tuesday");
    assert_eq!(code, 2, "{printed}");
    assert!(printed.contains("PLANGUARD_NOW"), "{printed}");
}

/// Regression: PG113 verdicts that read a Spark configuration were never
/// cached, and are now cached with its digest: editing the file alone, with
/// a warm cache, changes the verdict both ways.
#[test]
fn checksum_verdicts_follow_the_file_with_a_warm_cache() {
    use sha2::Digest;
    let ws = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    let dir = ws.dir.path();
    std::fs::create_dir_all(dir.join("spark")).expect("mkdir");
    let conf = dir.join("spark/spark-defaults.conf");
    let text = "spark.sql.shuffle.partitions 64\n";
    std::fs::write(&conf, text).expect("write");
    let sha = planguard::check::cache::hex(&sha2::Sha256::digest(text));
    ws.edit("conf/dev.json", |c| {
        c["spark"]["config_ref"] =
            serde_json::json!({"uri": "spark/spark-defaults.conf", "sha256": sha});
    });
    let pg113 = |found: &[[String; 4]]| found.iter().filter(|f| f[0] == "PG113").count();
    let (cold, _) = check_in(dir, None);
    assert_eq!(pg113(&cold), 0, "{cold:?}");
    let (warm, _) = check_in(dir, None);
    assert_eq!(pg113(&warm), 0, "{warm:?}");
    // The verdict is kept, with the digest it was judged by.
    let index = std::fs::read_dir(dir.join(".planguard/cache"))
        .expect("the cache exists")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("index-"))
        })
        .expect("an index");
    let index: Value = serde_json::from_str(&read(&index)).expect("JSON");
    let reads = index["files"]["conf/dev.json"]["reads"].to_string();
    assert!(
        reads.contains("planguard.file_sha256") && reads.contains(&sha),
        "{index}"
    );
    std::fs::write(&conf, "spark.sql.shuffle.partitions 65\n").expect("write");
    let (edited, _) = check_in(dir, None);
    assert_eq!(pg113(&edited), 1, "{edited:?}");
    std::fs::write(&conf, text).expect("write");
    let (restored, _) = check_in(dir, None);
    assert_eq!(pg113(&restored), 0, "{restored:?}");
}

/// Regression: a config naming `../../../../../etc/hostname` or an absolute
/// path made planguard read that file and print its checksum or its
/// certificates' names. Every way out of the workspace (absolute, `..`,
/// `file://`, a symbolic link) is a PG120 error at the field naming it, and
/// nothing of the file reaches any output; in-workspace paths still work.
#[cfg(unix)]
#[test]
fn files_outside_the_workspace_are_reported_and_never_read() {
    use sha2::Digest;
    let outside = tempfile::tempdir().expect("temp dir");
    let target = outside.path().join("spark-defaults.conf");
    std::fs::write(&target, "spark.secret.thing outside\n").expect("write");
    let digest =
        planguard::check::cache::hex(&sha2::Sha256::digest("spark.secret.thing outside\n"));
    let pem = outside.path().join("ca.pem");
    certificate(&pem, "outside-the-workspace", 3);
    let absolute = |p: &std::path::Path| p.to_str().expect("UTF-8").to_string();
    let climb = |p: &std::path::Path| {
        format!(
            "{}{}",
            "../".repeat(30),
            absolute(p).trim_start_matches('/')
        )
    };
    let ws = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    let dir = ws.dir.path();
    std::fs::create_dir_all(dir.join("spark/shared")).expect("mkdir");
    std::os::unix::fs::symlink(&target, dir.join("spark/link.conf")).expect("symlink");
    std::os::unix::fs::symlink(outside.path(), dir.join("spark/away")).expect("symlink");
    std::os::unix::fs::symlink(&pem, dir.join("ca-link.pem")).expect("symlink");
    for (uri, ca_file) in [
        (absolute(&target), absolute(&pem)),
        (climb(&target), climb(&pem)),
        (
            format!("file://{}", absolute(&target)),
            "ca-link.pem".to_string(),
        ),
        (
            "spark/link.conf".to_string(),
            "spark/away/ca.pem".to_string(),
        ),
        (
            "file://spark/away/spark-defaults.conf".to_string(),
            "./spark/../ca-link.pem".to_string(),
        ),
    ] {
        ws.edit("conf/dev.json", |c| {
            c["spark"]["config_ref"] = serde_json::json!({"uri": uri, "sha256": "0".repeat(64)});
            c["runtime"]["orchestration"]["temporal"]["auth"]["ca_file"] =
                Value::from(ca_file.as_str());
        });
        for cache in [false, true] {
            let (found, printed) = check_in(dir, None);
            // The schema also refuses an absolute uri (PG010): its own view.
            let mut rules: Vec<(&str, &str)> = found
                .iter()
                .filter(|f| f[0] != "PG010")
                .map(|f| (f[0].as_str(), f[2].as_str()))
                .collect();
            rules.sort();
            assert_eq!(
                rules,
                [
                    ("PG120", "/runtime/orchestration/temporal/auth/ca_file"),
                    ("PG120", "/spark/config_ref/uri"),
                ],
                "{uri} / {ca_file} (cache warm: {cache}): {found:?}"
            );
            assert!(
                !printed.contains(&digest),
                "the outside file was hashed: {printed}"
            );
            assert!(
                !printed.contains("outside-the-workspace.salam.internal"),
                "the outside certificate was read: {printed}"
            );
        }
    }
    // A `..` that stays inside, and a link inside the workspace, are followed.
    std::fs::write(dir.join("spark/shared/defaults.conf"), "x\n").expect("write");
    std::os::unix::fs::symlink("shared/defaults.conf", dir.join("spark/alias.conf"))
        .expect("symlink");
    certificate(&dir.join("ca.pem"), "inside", 3);
    let sha = planguard::check::cache::hex(&sha2::Sha256::digest("x\n"));
    for uri in [
        "spark/../spark/shared/defaults.conf",
        "file://spark/alias.conf",
    ] {
        ws.edit("conf/dev.json", |c| {
            c["spark"]["config_ref"] = serde_json::json!({"uri": uri, "sha256": sha});
            c["runtime"]["orchestration"]["temporal"]["auth"]["ca_file"] =
                Value::from("spark/../ca.pem");
        });
        let (found, _) = check_in(dir, None);
        let rules: Vec<&str> = found.iter().map(|f| f[0].as_str()).collect();
        assert_eq!(rules, ["PG119"], "{uri}: {found:?}");
        assert!(
            found[0][3].contains("\"inside.salam.internal\""),
            "{found:?}"
        );
    }
}

#[test]
fn example_workspace_json_lines_output() {
    let out = run(planguard().args(["check", "--format", "json-lines", "examples/salam"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
}

/// The SARIF run without its rule table (every rule's full documentation,
/// checked by `sarif_output_matches_the_official_schema`): the results as
/// code scanning receives them.
#[test]
fn example_workspace_sarif_results() {
    let out = run(planguard().args(["check", "--format", "sarif", "examples/salam"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let mut sarif: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let driver = &mut sarif["runs"][0]["tool"]["driver"];
    let rules = driver["rules"].as_array().map_or(0, Vec::len);
    driver["rules"] = Value::from(format!("[{rules} rules]"));
    driver["version"] = Value::from("[VERSION]");
    driver["semanticVersion"] = Value::from("[VERSION]");
    insta::assert_json_snapshot!(sarif);
}

/// `--shard i/n`: the shards' findings together are the whole check's, each
/// finding in exactly one shard, cross-file ones included (every shard sees
/// every file's facts); a bad shard is a usage error.
#[test]
fn shards_together_find_what_the_whole_check_finds() {
    let (_, whole) = check_json(&["--no-cache", "examples/salam"]);
    let mut together = Vec::new();
    let mut files = 0;
    let mut related = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let (_, part) = check_json(&["--no-cache", "--shard", shard, "examples/salam"]);
        together.extend(rules_at(&part));
        related.extend(
            part["diagnostics"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|d| d["related"].as_array().into_iter().flatten())
                .filter_map(|r| r["message"].as_str().map(str::to_string)),
        );
        files += part["summary"]["files"].as_u64().unwrap_or(0);
    }
    together.sort();
    let mut expected = rules_at(&whole);
    expected.sort();
    assert_eq!(together, expected);
    // Cross-file findings too (each of the example's is related to the
    // per-file finding about the same value).
    assert_eq!(
        related
            .iter()
            .filter(|m| m.starts_with("also PG202: "))
            .count(),
        4,
        "cross-file findings too: {related:?}"
    );
    assert_eq!(files, whole["summary"]["files"].as_u64().unwrap_or(0));
    for bad in ["0/3", "4/3", "1/0", "x"] {
        let out = run(planguard().args(["check", "--shard", bad, "examples/salam"]));
        assert_eq!(out.code, 2, "{bad}");
        assert!(out.stderr.contains("--shard"), "{bad}: {}", out.stderr);
    }
}

/// The cache gives the same findings as a fresh check, named files and
/// context included, and a second run reuses it.
#[test]
fn cached_runs_find_what_a_fresh_check_finds() {
    let ws = common::workspace::Workspace::copy_of("examples/salam");
    let dir = ws.path();
    let (_, fresh) = check_json(&["--no-cache", &dir]);
    let (_, cold) = check_json(&[&dir]);
    let (_, warm) = check_json(&[&dir]);
    assert_eq!(rules_at(&cold), rules_at(&fresh));
    assert_eq!(rules_at(&warm), rules_at(&fresh));
    let plan = format!("{dir}/orchestration_plans/prod/42.json");
    let (_, named_fresh) = check_json(&["--no-cache", &plan]);
    let (_, named_warm) = check_json(&[&plan]);
    assert_eq!(rules_at(&named_warm), rules_at(&named_fresh));
    assert!(
        rules_at(&named_warm)
            .iter()
            .all(|(_, file, ..)| *file == plan)
    );
}

// ------------------------------------------------------------ every setting

/// What one run of `check --format json` found: its exit status, how many
/// files it checked, and each finding as `RULE file`.
#[derive(Debug, PartialEq)]
struct Outcome {
    code: i32,
    files: u64,
    findings: std::collections::BTreeSet<String>,
    stdout: String,
    /// Whether it left a cache behind.
    cached: bool,
}

impl Outcome {
    fn has(&self, rule: &str) -> bool {
        self.findings
            .iter()
            .any(|f| f.starts_with(&format!("{rule} ")))
    }
}

/// Run check in `dir` (the workspace) with a planguard.toml and flags.
fn outcome_in(dir: &std::path::Path, settings: &str, args: &[&str]) -> Outcome {
    std::fs::write(dir.join("planguard.toml"), settings).expect("write settings");
    let _ = std::fs::remove_dir_all(dir.join(".planguard"));
    let mut cmd = planguard();
    cmd.current_dir(dir);
    match args {
        ["apply", ..] => cmd.args(args),
        // `+cache`: let check use its cache, as it does by default.
        ["+cache", rest @ ..] => cmd.arg("check").args(rest),
        _ => cmd.args(["check", "--no-cache"]).args(args),
    };
    let out = run(&mut cmd);
    let report: Option<Value> = serde_json::from_str(&out.stdout).ok();
    let findings = report
        .as_ref()
        .and_then(|r| r["diagnostics"].as_array())
        .into_iter()
        .flatten()
        .map(|d| {
            format!(
                "{} {}",
                d["rule"].as_str().unwrap_or_default(),
                d["file"].as_str().unwrap_or_default()
            )
        })
        .collect();
    Outcome {
        code: out.code,
        files: report
            .as_ref()
            .and_then(|r| r["summary"]["files"].as_u64())
            .unwrap_or(0),
        findings,
        stdout: out.stdout + &out.stderr,
        cached: dir.join(".planguard/cache").exists(),
    }
}

/// How a setting must change the outcome, compared with the same run
/// without it.
enum Effect {
    /// A finding of this rule appears.
    Adds(&'static str),
    /// Every finding of this rule disappears (and there was one).
    Removes(&'static str),
    /// Fewer files are checked.
    FewerFiles,
    /// More files are checked.
    MoreFiles,
    /// The exit status goes from the first to the second.
    Exit(i32, i32),
    /// The output contains this text, and did not before.
    Prints(&'static str),
    /// The cache is written before and not after.
    NoCache,
}

/// One setting or flag: the same workspace checked with `before` and with
/// `after` (planguard.toml text and flags).
struct Case {
    covers: &'static [&'static str],
    setup: fn(&std::path::Path),
    before: (&'static str, &'static [&'static str]),
    after: (&'static str, &'static [&'static str]),
    effect: Effect,
}

fn no_setup(_: &std::path::Path) {}

fn write_file(dir: &std::path::Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

use common::workspace::edit_json;

const JSON: &[&str] = &["--format", "json"];
const DENY_TEAM: &str =
    "package team\n\nimport rego.v1\n\ndeny contains \"team rule\" if input.plan_version == 1\n";

fn policy_team(dir: &std::path::Path) {
    write_file(dir, "policy/team.rego", DENY_TEAM);
}

fn policy_main_data(dir: &std::path::Path) {
    write_file(
        dir,
        "policy/main.rego",
        "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tsome queue in data.banned.queues\n\tinput.task_queue == queue\n\tmsg := sprintf(\"task queue %s is banned\", [queue])\n}\n",
    );
    write_file(
        dir,
        "policy/data/banned.json",
        "{\"banned\": {\"queues\": [\"spark-ingest-dev\"]}}",
    );
}

fn policy_project(dir: &std::path::Path) {
    write_file(
        dir,
        "policy/cross.rego",
        "package crosscheck\n\nimport rego.v1\n\ndeny contains {\"msg\": \"too many plans\", \"file\": doc.path} if {\n\tcount(input) > 3\n\tsome doc in input\n\tdoc.kind == \"config\"\n\tdoc.environment == \"dev\"\n}\n",
    );
}

fn policy_v0(dir: &std::path::Path) {
    write_file(
        dir,
        "policy/old.rego",
        "package main\n\ndeny[msg] {\n\tinput.plan_version == 1\n\tmsg := \"v0 rule\"\n}\n",
    );
}

fn policy_slow(dir: &std::path::Path) {
    write_file(
        dir,
        "policy/slow.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"slow\" if {\n\tinput.plan_version == 1\n\tcount([x | some x in numbers.range(1, 20000); x % 7 == 0]) < 0\n}\n",
    );
}

fn gitignored_broken_plan(dir: &std::path::Path) {
    write_file(dir, "orchestration_plans/dev/13.json", "{ not json");
    write_file(dir, ".gitignore", "orchestration_plans/dev/13.json\n");
}

fn dev_without_auth(dir: &std::path::Path) {
    edit_json(dir, "conf/dev.json", |c| {
        if let Some(t) = c["runtime"]["orchestration"]["temporal"].as_object_mut() {
            t.remove("auth");
        }
    });
}

fn dev_without_alerts(dir: &std::path::Path) {
    edit_json(dir, "conf/dev.json", |c| {
        if let Some(config) = c.as_object_mut() {
            config.remove("alerts");
        }
    });
}

/// dev's newest build records another digest than uat's, so uat's image
/// was never deployed to dev.
fn dev_rebuilt_image(dir: &std::path::Path) {
    edit_json(dir, "orchestration_plans/dev/12.json", |p| {
        p["image"]["digest"] = Value::from(format!("sha256:{}", "1".repeat(64)));
    });
}

fn dev_unsigned(dir: &std::path::Path) {
    for build in 10..=12 {
        edit_json(dir, &format!("orchestration_plans/dev/{build}.json"), |p| {
            if let Some(image) = p["image"].as_object_mut() {
                image.remove("signature");
            }
        });
    }
}

fn dev_tag_only(dir: &std::path::Path) {
    for build in 10..=12 {
        edit_json(dir, &format!("orchestration_plans/dev/{build}.json"), |p| {
            if let Some(image) = p["image"].as_object_mut() {
                image.remove("digest");
            }
        });
    }
}

fn dev_unbounded_retries(dir: &std::path::Path) {
    for build in 10..=12 {
        edit_json(dir, &format!("orchestration_plans/dev/{build}.json"), |p| {
            p["retry_policy"]["maximum_attempts"] = Value::from(0);
        });
    }
}

fn dev_without_autoscale(dir: &std::path::Path) {
    edit_json(dir, "conf/dev.json", |c| {
        if let Some(cluster) = c["spark"]["cluster"].as_object_mut() {
            cluster.remove("autoscale");
        }
    });
}

/// dev runs on uat's cluster.
fn dev_on_the_uat_cluster(dir: &std::path::Path) {
    let uat: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("conf/uat.json")).expect("read"))
            .expect("json");
    edit_json(dir, "conf/dev.json", |c| {
        c["spark"]["cluster"]["name"] = uat["spark"]["cluster"]["name"].clone();
    });
}

/// uat raises its alerts on successes only.
fn uat_alerts_on_success(dir: &std::path::Path) {
    edit_json(dir, "conf/uat.json", |c| {
        c["alerts"]["on"] = serde_json::json!(["success"]);
    });
}

/// dev's newest plan runs on a disaster-recovery queue of another name than
/// the default failover one.
fn dev_on_a_dr_queue(dir: &std::path::Path) {
    edit_json(dir, "orchestration_plans/dev/12.json", |p| {
        p["task_queue"] = Value::from("spark-ingest-dev-dr");
    });
    edit_json(dir, "conf/dev.json", |c| {
        c["runtime"]["orchestration"]["temporal"]["task_queue"] =
            Value::from("spark-ingest-dev-dr");
    });
}

fn two_month_certificate(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("certs")).expect("mkdir");
    let status = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args([
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "/dev/null",
        ])
        .args([
            "-days",
            "60",
            "-subj",
            "/CN=two-months.salam.internal",
            "-out",
        ])
        .arg(dir.join("certs/ca.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    for env in ["dev", "uat", "prod"] {
        edit_json(dir, &format!("conf/{env}.json"), |c| {
            c["runtime"]["orchestration"]["temporal"]["auth"]["ca_file"] =
                Value::from("certs/ca.pem");
        });
    }
}

/// Every key of planguard.toml and every flag of `check`, each shown to
/// change what check finds or says. A key or flag added without a case here
/// fails `every_setting_and_flag_has_a_case`.
fn setting_cases() -> Vec<Case> {
    vec![
        Case {
            covers: &["files.configs"],
            setup: no_setup,
            before: ("", JSON),
            after: ("[files]\nconfigs = [\"settings/{env}.json\"]\n", JSON),
            effect: Effect::FewerFiles,
        },
        Case {
            covers: &["files.plans"],
            setup: no_setup,
            before: ("", JSON),
            after: ("[files]\nplans = [\"plans/{env}/{build}.json\"]\n", JSON),
            effect: Effect::FewerFiles,
        },
        Case {
            covers: &["files.exclude"],
            setup: no_setup,
            before: ("", JSON),
            after: (
                "[files]\nexclude = [\"orchestration_plans/dev/**\"]\n",
                JSON,
            ),
            effect: Effect::FewerFiles,
        },
        Case {
            covers: &["files.respect-gitignore"],
            setup: gitignored_broken_plan,
            before: ("", JSON),
            after: ("[files]\nrespect-gitignore = false\n", JSON),
            effect: Effect::Adds("PG001"),
        },
        Case {
            covers: &["files.max-file-size"],
            setup: no_setup,
            before: ("", JSON),
            after: ("[files]\nmax-file-size = 100\n", JSON),
            effect: Effect::Adds("PG004"),
        },
        Case {
            covers: &["policy.paths"],
            setup: policy_main_data,
            before: ("", &["--format", "json", "--data", "policy/data"]),
            after: (
                "[policy]\npaths = [\"policy/main.rego\"]\n",
                &["--format", "json", "--data", "policy/data"],
            ),
            effect: Effect::Adds("main.deny"),
        },
        Case {
            covers: &["--policy"],
            setup: policy_main_data,
            before: ("", &["--format", "json", "--data", "policy/data"]),
            after: (
                "",
                &[
                    "--format",
                    "json",
                    "--data",
                    "policy/data",
                    "--policy",
                    "policy/main.rego",
                ],
            ),
            effect: Effect::Adds("main.deny"),
        },
        Case {
            covers: &["--data"],
            setup: policy_main_data,
            before: ("", &["--format", "json", "--policy", "policy/main.rego"]),
            after: (
                "",
                &[
                    "--format",
                    "json",
                    "--policy",
                    "policy/main.rego",
                    "--data",
                    "policy/data",
                ],
            ),
            effect: Effect::Adds("main.deny"),
        },
        Case {
            covers: &["--namespace"],
            setup: policy_team,
            before: ("", &["--format", "json", "--policy", "policy"]),
            after: (
                "",
                &[
                    "--format",
                    "json",
                    "--policy",
                    "policy",
                    "--namespace",
                    "team",
                ],
            ),
            effect: Effect::Adds("team.deny"),
        },
        Case {
            covers: &["--all-namespaces"],
            setup: policy_team,
            before: ("", &["--format", "json", "--policy", "policy"]),
            after: (
                "",
                &["--format", "json", "--policy", "policy", "--all-namespaces"],
            ),
            effect: Effect::Adds("team.deny"),
        },
        Case {
            covers: &["--rego-version"],
            setup: policy_v0,
            before: ("", &["--format", "json", "--policy", "policy"]),
            after: (
                "",
                &[
                    "--format",
                    "json",
                    "--policy",
                    "policy",
                    "--rego-version",
                    "v0",
                ],
            ),
            effect: Effect::Adds("main.deny"),
        },
        Case {
            covers: &["--no-builtin"],
            setup: dev_tag_only,
            before: ("[environments.dev]\nrequire-digest = true\n", JSON),
            after: (
                "[environments.dev]\nrequire-digest = true\n",
                &["--format", "json", "--no-builtin"],
            ),
            effect: Effect::Removes("PG105"),
        },
        Case {
            covers: &["--no-cache"],
            setup: no_setup,
            before: ("", &["+cache", "--format", "json"]),
            after: ("", &["+cache", "--format", "json", "--no-cache"]),
            effect: Effect::NoCache,
        },
        Case {
            covers: &["environments.*.approval-required"],
            setup: no_setup,
            // Unreachable: the gate's verdict comes first, then the connection fails.
            before: (
                "",
                &[
                    "apply",
                    "orchestration_plans/dev/12.json",
                    "--address",
                    "127.0.0.1:1",
                ],
            ),
            after: (
                "[environments.dev]\napproval-required = true\n",
                &[
                    "apply",
                    "orchestration_plans/dev/12.json",
                    "--address",
                    "127.0.0.1:1",
                ],
            ),
            effect: Effect::Exit(2, 1),
        },
        Case {
            covers: &["policy.data"],
            setup: policy_main_data,
            before: ("[policy]\npaths = [\"policy/main.rego\"]\n", JSON),
            after: (
                "[policy]\npaths = [\"policy/main.rego\"]\ndata = [\"policy/data\"]\n",
                JSON,
            ),
            effect: Effect::Adds("main.deny"),
        },
        Case {
            covers: &["policy.namespaces"],
            setup: policy_team,
            before: ("[policy]\npaths = [\"policy\"]\n", JSON),
            after: (
                "[policy]\npaths = [\"policy\"]\nnamespaces = [\"team\"]\n",
                JSON,
            ),
            effect: Effect::Adds("team.deny"),
        },
        Case {
            covers: &["policy.all-namespaces"],
            setup: policy_team,
            before: ("[policy]\npaths = [\"policy\"]\n", JSON),
            after: (
                "[policy]\npaths = [\"policy\"]\nall-namespaces = true\n",
                JSON,
            ),
            effect: Effect::Adds("team.deny"),
        },
        Case {
            covers: &["policy.project-namespaces"],
            setup: policy_project,
            before: ("[policy]\npaths = [\"policy\"]\n", JSON),
            after: (
                "[policy]\npaths = [\"policy\"]\nproject-namespaces = [\"project\", \"crosscheck\"]\n",
                JSON,
            ),
            effect: Effect::Adds("crosscheck.deny"),
        },
        Case {
            covers: &["policy.rego-version"],
            setup: policy_v0,
            before: ("[policy]\npaths = [\"policy\"]\n", JSON),
            after: (
                "[policy]\npaths = [\"policy\"]\nrego-version = \"v0\"\n",
                JSON,
            ),
            effect: Effect::Adds("main.deny"),
        },
        Case {
            covers: &["policy.timeout"],
            setup: policy_slow,
            before: ("[policy]\npaths = [\"policy\"]\nbuiltin = false\n", JSON),
            after: (
                "[policy]\npaths = [\"policy\"]\nbuiltin = false\ntimeout = \"1ms\"\n",
                JSON,
            ),
            effect: Effect::Adds("PG021"),
        },
        Case {
            covers: &["policy.builtin"],
            setup: dev_tag_only,
            before: ("[environments.dev]\nrequire-digest = true\n", JSON),
            after: (
                "[environments.dev]\nrequire-digest = true\n[policy]\nbuiltin = false\n",
                JSON,
            ),
            effect: Effect::Removes("PG105"),
        },
        Case {
            covers: &["environments.*.namespace"],
            setup: no_setup,
            before: ("", JSON),
            after: (
                "[environments.dev]\nnamespace = \"ingestion-sandbox\"\n",
                JSON,
            ),
            effect: Effect::Adds("PG101"),
        },
        Case {
            covers: &["environments.*.task-queues"],
            setup: no_setup,
            before: ("", JSON),
            after: (
                "[environments.dev]\ntask-queues = [\"spark-ingest-sandbox\"]\n",
                JSON,
            ),
            effect: Effect::Adds("PG102"),
        },
        Case {
            covers: &["environments.*.registries"],
            setup: no_setup,
            before: ("", JSON),
            after: (
                "[environments.dev]\nregistries = [\"registry.elsewhere.example/\"]\n",
                JSON,
            ),
            effect: Effect::Adds("PG106"),
        },
        Case {
            covers: &["environments.*.secret-stores"],
            setup: no_setup,
            before: ("", JSON),
            after: (
                "[environments.dev]\nsecret-stores = [\"vault://vault.elsewhere/\"]\n",
                JSON,
            ),
            effect: Effect::Adds("PG111"),
        },
        Case {
            covers: &["environments.*.require-digest"],
            setup: dev_tag_only,
            before: ("", JSON),
            after: ("[environments.dev]\nrequire-digest = true\n", JSON),
            effect: Effect::Adds("PG105"),
        },
        Case {
            covers: &["environments.*.require-signature"],
            setup: dev_unsigned,
            before: ("", JSON),
            after: ("[environments.dev]\nrequire-signature = true\n", JSON),
            effect: Effect::Adds("PG107"),
        },
        Case {
            covers: &["environments.*.require-auth"],
            setup: dev_without_auth,
            before: ("", JSON),
            after: ("[environments.dev]\nrequire-auth = true\n", JSON),
            effect: Effect::Adds("PG112"),
        },
        Case {
            covers: &["environments.*.require-alerts"],
            setup: dev_without_alerts,
            before: ("", JSON),
            after: ("[environments.dev]\nrequire-alerts = true\n", JSON),
            effect: Effect::Adds("PG114"),
        },
        Case {
            covers: &["environments.*.require-bounded-retries"],
            setup: dev_unbounded_retries,
            before: ("", JSON),
            after: ("[environments.dev]\nrequire-bounded-retries = true\n", JSON),
            effect: Effect::Adds("PG116"),
        },
        Case {
            covers: &["environments.*.alert-on"],
            setup: uat_alerts_on_success,
            before: ("", JSON),
            after: (
                "[environments.dev]\n[environments.prod]\n[environments.uat]\nalert-on = []\n",
                JSON,
            ),
            effect: Effect::Removes("PG114"),
        },
        Case {
            covers: &["environments.*.failover-task-queues"],
            setup: dev_on_a_dr_queue,
            before: ("", JSON),
            after: (
                "[environments.uat]\n[environments.prod]\n[environments.dev]\nfailover-task-queues = [\"spark-ingest-dev-dr\"]\n",
                JSON,
            ),
            effect: Effect::Removes("PG102"),
        },
        Case {
            covers: &["environments.*.registry-pattern"],
            setup: no_setup,
            before: ("", JSON),
            after: (
                "[environments.dev]\n[environments.uat]\n[environments.prod]\nregistry-pattern = \"^mirror\\\\.\"\n",
                JSON,
            ),
            effect: Effect::Adds("PG106"),
        },
        Case {
            covers: &["environments.*.require-autoscale"],
            setup: dev_without_autoscale,
            before: ("", JSON),
            after: ("[environments.dev]\nrequire-autoscale = true\n", JSON),
            effect: Effect::Adds("PG121"),
        },
        Case {
            covers: &["environments.*.require-dedicated-cluster"],
            setup: dev_on_the_uat_cluster,
            before: ("", JSON),
            after: (
                "[environments.dev]\nrequire-dedicated-cluster = true\n",
                JSON,
            ),
            effect: Effect::Adds("PG209"),
        },
        Case {
            covers: &["promotion"],
            setup: dev_rebuilt_image,
            before: ("", JSON),
            after: ("promotion = [\"uat\", \"prod\"]\n", JSON),
            effect: Effect::Removes("PG204"),
        },
        Case {
            covers: &["certificates.warn-days"],
            setup: two_month_certificate,
            before: ("", JSON),
            after: ("[certificates]\nwarn-days = 90\n", JSON),
            effect: Effect::Adds("PG119"),
        },
        Case {
            covers: &["certificates.rotation-days"],
            setup: two_month_certificate,
            before: ("", JSON),
            after: ("[certificates]\nrotation-days = 30\n", JSON),
            effect: Effect::Adds("PG119"),
        },
        Case {
            covers: &["certificates.error-days"],
            setup: two_month_certificate,
            before: ("[certificates]\nwarn-days = 90\n", JSON),
            after: ("[certificates]\nwarn-days = 90\nerror-days = 90\n", JSON),
            effect: Effect::Exit(0, 1),
        },
        Case {
            covers: &["rules"],
            setup: dev_tag_only,
            before: ("[environments.dev]\nrequire-digest = true\n", JSON),
            after: (
                "[environments.dev]\nrequire-digest = true\n[rules]\nimage-not-pinned = \"off\"\n",
                JSON,
            ),
            effect: Effect::Removes("PG105"),
        },
        Case {
            covers: &["ignore.rule", "ignore.paths"],
            setup: dev_tag_only,
            before: ("[environments.dev]\nrequire-digest = true\n", JSON),
            after: (
                "[environments.dev]\nrequire-digest = true\n[[ignore]]\nrule = \"PG105\"\npaths = [\"orchestration_plans/dev/**\", \"./conf/dev.json\"]\n",
                JSON,
            ),
            effect: Effect::Removes("PG105"),
        },
        Case {
            covers: &["--fail-on-warn"],
            setup: two_month_certificate,
            before: ("[certificates]\nwarn-days = 90\n", JSON),
            after: (
                "[certificates]\nwarn-days = 90\n",
                &["--format", "json", "--fail-on-warn"],
            ),
            effect: Effect::Exit(0, 1),
        },
        Case {
            covers: &["--format"],
            setup: dev_tag_only,
            before: ("[environments.dev]\nrequire-digest = true\n", JSON),
            after: (
                "[environments.dev]\nrequire-digest = true\n",
                &["--format", "concise"],
            ),
            effect: Effect::Prints(": error[PG105] "),
        },
        Case {
            covers: &["--output"],
            setup: no_setup,
            before: ("", JSON),
            after: ("", &["--format", "json", "--output", "report.json"]),
            effect: Effect::Prints("Checked 12 files"),
        },
        Case {
            covers: &["--color"],
            setup: dev_tag_only,
            before: ("[environments.dev]\nrequire-digest = true\n", &[]),
            after: (
                "[environments.dev]\nrequire-digest = true\n",
                &["--color", "always"],
            ),
            effect: Effect::Prints("\u{1b}["),
        },
        Case {
            covers: &["--log-format"],
            setup: no_setup,
            before: ("", JSON),
            after: ("", &["--format", "json", "--log-format", "json"]),
            effect: Effect::Prints("\"event\":\"finished\""),
        },
        Case {
            covers: &["--config"],
            setup: |dir| {
                write_file(
                    dir,
                    "strict.toml",
                    "[environments.dev]\nnamespace = \"ingestion-sandbox\"\n",
                )
            },
            before: ("", JSON),
            after: ("", &["--format", "json", "--config", "strict.toml"]),
            effect: Effect::Adds("PG101"),
        },
        Case {
            covers: &["--isolated"],
            setup: no_setup,
            before: (
                "[environments.dev]\nnamespace = \"ingestion-sandbox\"\n",
                JSON,
            ),
            after: (
                "[environments.dev]\nnamespace = \"ingestion-sandbox\"\n",
                &["--format", "json", "--isolated"],
            ),
            effect: Effect::Removes("PG101"),
        },
        Case {
            covers: &["--verbose"],
            setup: gitignored_broken_plan,
            before: ("", JSON),
            after: ("", &["--format", "json", "--verbose"]),
            effect: Effect::Prints("ignored by .gitignore"),
        },
        Case {
            covers: &["--show-settings"],
            setup: no_setup,
            before: ("", JSON),
            after: ("", &["--show-settings"]),
            effect: Effect::Prints("\"project-namespaces\""),
        },
        Case {
            covers: &["--shard"],
            setup: no_setup,
            before: ("", JSON),
            after: ("", &["--format", "json", "--shard", "1/3"]),
            effect: Effect::FewerFiles,
        },
        Case {
            covers: &["--allow-empty"],
            setup: |dir| {
                std::fs::create_dir_all(dir.join("empty")).expect("mkdir");
            },
            before: ("", &["--format", "json", "empty"]),
            after: ("", &["--format", "json", "--allow-empty", "empty"]),
            effect: Effect::Exit(2, 0),
        },
        Case {
            covers: &["--no-force-exclude"],
            setup: no_setup,
            before: (
                "[files]\nexclude = [\"orchestration_plans/dev/**\"]\n",
                &[
                    "--format",
                    "json",
                    "conf/dev.json",
                    "orchestration_plans/dev/10.json",
                ],
            ),
            after: (
                "[files]\nexclude = [\"orchestration_plans/dev/**\"]\n",
                &[
                    "--format",
                    "json",
                    "--no-force-exclude",
                    "conf/dev.json",
                    "orchestration_plans/dev/10.json",
                ],
            ),
            effect: Effect::MoreFiles,
        },
    ]
}

#[test]
fn every_setting_and_flag_changes_the_outcome() {
    let cases = setting_cases();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|case| {
                scope.spawn(move || {
                    let ws = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
                    let dir = ws.dir.path();
                    (case.setup)(dir);
                    let before = outcome_in(dir, case.before.0, case.before.1);
                    let after = outcome_in(dir, case.after.0, case.after.1);
                    let holds = match case.effect {
                        Effect::Adds(rule) => !before.has(rule) && after.has(rule),
                        Effect::Removes(rule) => before.has(rule) && !after.has(rule),
                        Effect::FewerFiles => after.files < before.files && after.code != 2,
                        Effect::MoreFiles => after.files > before.files && after.code != 2,
                        Effect::Exit(from, to) => before.code == from && after.code == to,
                        Effect::Prints(text) => {
                            !before.stdout.contains(text) && after.stdout.contains(text)
                        }
                        Effect::NoCache => before.cached && !after.cached,
                    };
                    (!holds).then(|| {
                        format!("{:?}:\n  before {before:?}\n  after {after:?}", case.covers)
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("case thread"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The keys planguard.toml accepts, as its own parser lists them when
/// given an unknown one.
fn settings_keys() -> Vec<String> {
    let tables = [
        ("", ""),
        ("files", "[files]\n"),
        ("policy", "[policy]\n"),
        ("certificates", "[certificates]\n"),
        ("environments.*", "[environments.dev]\n"),
        ("ignore", "[[ignore]]\nrule = \"PG101\"\npaths = []\n"),
        ("check", "[check]\n"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut keys = Vec::new();
    let quoted = regex::Regex::new(r"`([a-z-]+)`").expect("valid");
    for (table, header) in tables {
        let settings = dir.path().join("planguard.toml");
        std::fs::write(&settings, format!("{header}no-such-key = 1\n")).expect("write");
        let out = run(planguard()
            .args(["check", "--color", "never", "--config"])
            .arg(&settings)
            .arg("fixtures/workspaces/clean"));
        assert_eq!(out.code, 2, "{}", out.stderr);
        let listed = out
            .stderr
            .split_once("expected one of ")
            .or_else(|| out.stderr.split_once("expected "))
            .map(|(_, rest)| rest.lines().next().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("no key list for [{table}]: {}", out.stderr));
        for key in quoted.captures_iter(&listed) {
            let key = &key[1];
            if table.is_empty() {
                // Tables are covered through their keys; `promotion` and
                // `rules` are keys of their own.
                if ["promotion", "rules"].contains(&key) {
                    keys.push(key.to_string());
                }
            } else {
                keys.push(format!("{table}.{key}"));
            }
        }
    }
    keys
}

/// Settings whose effect is a connection to a Temporal server: shown by
/// tests against real servers (and a TLS proxy) in another test file, each
/// named here so that removing it fails this list.
const COVERED_ELSEWHERE: &[(&str, &str, &str)] = &[
    (
        "--baseline",
        "tests/it/check_cli.rs",
        "a_baseline_adopts_todays_findings_and_reports_new_and_gone_ones",
    ),
    (
        "--write-baseline",
        "tests/it/check_cli.rs",
        "a_baseline_adopts_todays_findings_and_reports_new_and_gone_ones",
    ),
    (
        "check.baseline",
        "tests/it/check_cli.rs",
        "a_baseline_adopts_todays_findings_and_reports_new_and_gone_ones",
    ),
    (
        "--select",
        "tests/it/check_cli.rs",
        "rule_selection_flags_take_ids_names_prefixes_and_all_in_any_case",
    ),
    (
        "--extend-select",
        "tests/it/check_cli.rs",
        "rule_selection_flags_take_ids_names_prefixes_and_all_in_any_case",
    ),
    (
        "--ignore",
        "tests/it/check_cli.rs",
        "rule_selection_flags_take_ids_names_prefixes_and_all_in_any_case",
    ),
    (
        "--warn",
        "tests/it/check_cli.rs",
        "rule_selection_flags_take_ids_names_prefixes_and_all_in_any_case",
    ),
    (
        "--exit-zero",
        "tests/it/check_cli.rs",
        "rule_selection_flags_take_ids_names_prefixes_and_all_in_any_case",
    ),
    (
        "--fix",
        "tests/it/fixes.rs",
        "fix_applies_each_fixable_rule_and_the_result_checks_clean",
    ),
    (
        "--diff",
        "tests/it/fixes.rs",
        "diff_shows_what_fix_would_change_and_changes_nothing",
    ),
    (
        "--unsafe-fixes",
        "tests/it/fixes.rs",
        "unsafe_fixes_apply_only_when_asked",
    ),
    (
        "--profile",
        "tests/it/check_cli.rs",
        "profile_says_where_the_time_goes_per_rule_and_stage",
    ),
    (
        "--report",
        "tests/it/integrations.rs",
        "one_check_writes_every_report_as_separate_runs_print_them",
    ),
    (
        "environments.*.address",
        "tests/it/apply.rs",
        "each_environment_connects_where_planguard_toml_or_its_profile_says",
    ),
    (
        "environments.*.profile",
        "tests/it/apply.rs",
        "each_environment_connects_where_planguard_toml_or_its_profile_says",
    ),
    (
        "environments.*.tls",
        "tests/it/apply.rs",
        "each_environment_connects_where_planguard_toml_or_its_profile_says",
    ),
    (
        "environments.*.tls-ca",
        "tests/it/apply.rs",
        "tls_mtls_and_an_api_key_only_over_tls_through_a_proxy",
    ),
    (
        "environments.*.tls-server-name",
        "tests/it/apply.rs",
        "tls_mtls_and_an_api_key_only_over_tls_through_a_proxy",
    ),
    (
        "environments.*.tls-cert",
        "tests/it/apply.rs",
        "tls_mtls_and_an_api_key_only_over_tls_through_a_proxy",
    ),
    (
        "environments.*.tls-key",
        "tests/it/apply.rs",
        "tls_mtls_and_an_api_key_only_over_tls_through_a_proxy",
    ),
    (
        "environments.*.api-key-env",
        "tests/it/apply.rs",
        "tls_mtls_and_an_api_key_only_over_tls_through_a_proxy",
    ), // The flags of status and trigger of their own (those they share with
    // apply are the connection's and the gate's, covered above and in
    // tests/it/apply.rs).
    (
        "status --max-lag",
        "tests/it/status.rs",
        "status_over_schedules_in_several_states",
    ),
    (
        "status --allow-paused",
        "tests/it/status.rs",
        "status_over_schedules_in_several_states",
    ),
    (
        "status --output",
        "tests/it/status.rs",
        "status_over_schedules_in_several_states",
    ),
    (
        "status --history",
        "tests/it/operations.rs",
        "status_apply_and_trigger_wait_against_a_real_worker",
    ),
    (
        "trigger --wait",
        "tests/it/operations.rs",
        "status_apply_and_trigger_wait_against_a_real_worker",
    ),
    (
        "trigger --timeout",
        "tests/it/operations.rs",
        "status_apply_and_trigger_wait_against_a_real_worker",
    ),
];

#[test]
fn every_setting_and_flag_has_a_case() {
    let mut covered: std::collections::BTreeSet<&str> = setting_cases()
        .iter()
        .flat_map(|c| c.covers.iter().copied())
        .collect();
    for (key, file, test) in COVERED_ELSEWHERE {
        assert!(
            read(file).contains(&format!("fn {test}()")),
            "{key}: {file} has no test {test}"
        );
        covered.insert(key);
    }
    let mut missing: Vec<String> = settings_keys()
        .into_iter()
        .filter(|k| !covered.contains(k.as_str()))
        .collect();
    let command = <planguard::cli::Cli as clap::CommandFactory>::command();
    let check = command.find_subcommand("check").expect("check subcommand");
    for arg in check.get_arguments().chain(command.get_arguments()) {
        let Some(long) = arg.get_long() else { continue };
        let flag = format!("--{long}");
        if !["--help", "--version"].contains(&long) && !covered.contains(flag.as_str()) {
            missing.push(flag);
        }
    }
    // The flags status and trigger have that apply has not (in the check-only
    // build they are not built, and have none).
    let apply = command.find_subcommand("apply").expect("apply subcommand");
    let shared: Vec<&str> = apply.get_arguments().filter_map(|a| a.get_long()).collect();
    for name in ["status", "trigger"] {
        let sub = command.find_subcommand(name).expect("subcommand");
        for long in sub.get_arguments().filter_map(|a| a.get_long()) {
            let flag = format!("{name} --{long}");
            if long != "help" && !shared.contains(&long) && !covered.contains(flag.as_str()) {
                missing.push(flag);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "settings or flags without a case: {missing:?}"
    );
}

/// The `[[ignore]]` entry of the README's planguard.toml, as written there.
fn readme_ignore_example() -> String {
    let readme = read("README.md");
    let section = readme
        .split_once("## Settings: planguard.toml")
        .expect("the README has a settings section")
        .1;
    let block = section
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a toml block")
        .0;
    let ignore = block
        .split_once("[[ignore]]")
        .expect("the block has an [[ignore]] entry")
        .1;
    format!("[[ignore]]{ignore}")
}

#[test]
fn the_readme_ignore_example_works_however_the_paths_are_given() {
    let example = readme_ignore_example();
    let ws = common::workspace::Workspace::copy_of("examples/salam");
    let dir = ws.dir.path();
    let absolute = dir.to_str().expect("utf-8 path").to_string();
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("folder name")
        .to_string();
    let findings = |settings: &str, cwd: &std::path::Path, args: &[&str]| {
        std::fs::write(dir.join("planguard.toml"), settings).expect("write");
        let out = run(planguard()
            .current_dir(cwd)
            .args(["check", "--no-cache", "--format", "concise"])
            .args(args));
        assert!(
            out.code == 0 || out.code == 1,
            "{}{}",
            out.stdout,
            out.stderr
        );
        out.stdout
            .lines()
            .filter(|l| l.contains("[PG"))
            .map(|l| {
                let (path, rest) = l.split_once(':').expect("path:line:col");
                let rule = &rest[rest.find("[PG").expect("rule") + 1..][..5];
                // The same file whichever way it was named.
                let file = path
                    .rsplit_once(&format!("{name}/"))
                    .map_or(path, |(_, f)| f);
                format!("{rule} {}", file.trim_start_matches("./"))
            })
            .collect::<std::collections::BTreeSet<String>>()
    };
    let without = findings("", dir, &[]);
    assert!(
        without
            .iter()
            .any(|f| f.starts_with("PG103 orchestration_plans/dev/")),
        "the example has a mutable tag in a dev plan: {without:?}"
    );
    // The plan that differs from its config by that tag was reported once,
    // as PG103 with PG202 related; with PG103 ignored, PG202 is its own.
    assert!(!without.contains("PG202 orchestration_plans/dev/43.json"));
    let expected: std::collections::BTreeSet<String> = without
        .iter()
        .filter(|f| !f.starts_with("PG103 orchestration_plans/dev/"))
        .cloned()
        .chain(["PG202 orchestration_plans/dev/43.json".to_string()])
        .collect();
    let parent = dir.parent().expect("parent");
    let dotted = format!("./{name}/");
    let plain: &[&str] = &[];
    for (cwd, args) in [
        (dir, plain),
        (dir, &["."][..]),
        (dir, &["./orchestration_plans", "./conf"][..]),
        (dir, &["orchestration_plans/dev/43.json"][..]),
        (dir, &["./orchestration_plans/dev/43.json"][..]),
        (dir, &[absolute.as_str()][..]),
        (parent, &[name.as_str()][..]),
        (parent, &[dotted.as_str()][..]),
    ] {
        let with = findings(&example, cwd, args);
        // A named plan is reported on alone.
        let want: std::collections::BTreeSet<String> =
            if args.iter().any(|a| a.ends_with("43.json")) {
                expected
                    .iter()
                    .filter(|f| f.ends_with("dev/43.json"))
                    .cloned()
                    .collect()
            } else {
                expected.clone()
            };
        assert_eq!(with, want, "check {args:?} in {}", cwd.display());
    }
}

#[test]
fn unknown_rules_in_settings_are_errors_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = dir.path().join("planguard.toml");
    let check = |text: &str, extra: &[&str]| {
        std::fs::write(&settings, text).expect("write");
        run(planguard()
            .args(["check", "--color", "never", "--config"])
            .arg(&settings)
            .args(extra)
            .arg("fixtures/workspaces/clean"))
    };
    for (text, message) in [
        (
            "[rules]\nPG1033 = \"off\"\n",
            "unknown rule `PG1033`; did you mean `PG103`?",
        ),
        (
            "[rules]\nimage-not-pined = \"off\"\n",
            "unknown rule `image-not-pined`; did you mean `image-not-pinned`?",
        ),
        (
            "[[ignore]]\nrule = \"PG999\"\npaths = [\"**\"]\n",
            "unknown rule `PG999`",
        ),
        (
            "[[ignore]]\nrule = \"namespace-mismatc\"\npaths = [\"**\"]\n",
            "did you mean `namespace-mismatch`?",
        ),
        // A rule id no built-in rule has, with no user policy that could report it.
        (
            "[rules]\nTEAM001 = \"off\"\n",
            "no built-in rule `TEAM001`, and no user policy is configured",
        ),
    ] {
        let out = check(text, &[]);
        assert_eq!(out.code, 2, "{text}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("error[PG006]"),
            "{text}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(message), "{text}: {}", out.stderr);
        assert!(
            out.stderr.contains("planguard.toml:"),
            "located: {}",
            out.stderr
        );
    }
    // Ids and names in any case are the built-in rules'.
    let out = check(
        "[rules]\npg103 = \"off\"\nIMAGE-NOT-PINNED = \"warning\"\n[[ignore]]\nrule = \"Namespace-Mismatch\"\npaths = [\"**\"]\n",
        &[],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // With a user policy, a rule id of its own is welcome.
    let policy = dir.path().join("policy");
    std::fs::create_dir_all(&policy).expect("mkdir");
    std::fs::write(
        policy.join("team.rego"),
        "package main\n\nimport rego.v1\n\ndeny contains {\"rule\": \"TEAM001\", \"msg\": \"team rule\"} if input.plan_version == 1\n",
    )
    .expect("write");
    let out = check(
        "[rules]\nTEAM001 = \"off\"\n",
        &["--policy", policy.to_str().expect("utf-8")],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let out = check(
        "[rules]\nTEAM001 = \"warning\"\n",
        &["--policy", policy.to_str().expect("utf-8")],
    );
    assert!(out.stdout.contains("warning[TEAM001]"), "{}", out.stdout);
}

#[test]
fn nothing_to_check_is_an_error_naming_the_paths_and_patterns() {
    let empty = tempfile::tempdir().expect("tempdir");
    let out = run(planguard().current_dir(empty.path()).arg("check"));
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    // The code and its docs link, the message on one line, then the help.
    assert!(
        out.stderr
            .starts_with("planguard::check::nothing_to_check (https://"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("× nothing to check: no config or plan under `.` matches")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("help: check the paths"),
        "{}",
        out.stderr
    );
    for text in [
        "nothing to check",
        "`.`",
        "`conf/{env}.json`",
        "`orchestration_plans/{env}/{build}.json`",
        "--allow-empty",
    ] {
        assert!(out.stderr.contains(text), "{text}: {}", out.stderr);
    }
    // A layout that moved: the configs are elsewhere now.
    let moved = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    std::fs::rename(
        moved.dir.path().join("conf"),
        moved.dir.path().join("settings"),
    )
    .expect("mv");
    std::fs::rename(
        moved.dir.path().join("orchestration_plans"),
        moved.dir.path().join("plans"),
    )
    .expect("mv");
    let out = run(planguard().arg("check").arg(moved.dir.path()));
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let out = run(planguard()
        .arg("check")
        .arg("--allow-empty")
        .arg(moved.dir.path()));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Checked 0 files"), "{}", out.stdout);
}

#[test]
fn exclude_applies_to_named_files_unless_told_otherwise() {
    let ws = common::workspace::Workspace::copy_of("examples/salam");
    let dir = ws.dir.path();
    std::fs::write(
        dir.join("planguard.toml"),
        "[files]\nexclude = [\"orchestration_plans/uat/**\"]\n",
    )
    .expect("write");
    let check = |args: &[&str]| {
        run(planguard()
            .current_dir(dir)
            .args(["check", "--no-cache", "--format", "concise"])
            .args(args))
    };
    // What a pre-commit hook passes: the staged files, one of them excluded.
    let hook = check(&[
        "orchestration_plans/uat/42.json",
        "orchestration_plans/dev/43.json",
    ]);
    assert!(!hook.stdout.contains("uat/42.json"), "{}", hook.stdout);
    assert!(hook.stdout.contains("dev/43.json"), "{}", hook.stdout);
    // Only excluded files named: nothing to do, and that is fine (as ruff's --force-exclude).
    let only = check(&["./orchestration_plans/uat/42.json"]);
    assert_eq!(only.code, 0, "{}{}", only.stdout, only.stderr);
    let verbose = check(&["--verbose", "orchestration_plans/uat/42.json"]);
    assert!(
        verbose.stderr.contains("excluded in planguard.toml"),
        "{}",
        verbose.stderr
    );
    // --no-force-exclude checks them anyway.
    let forced = check(&["--no-force-exclude", "orchestration_plans/uat/42.json"]);
    assert_eq!(forced.code, 1, "{}", forced.stdout);
    assert!(forced.stdout.contains("uat/42.json"), "{}", forced.stdout);
    // apply checks the plan it would send whatever exclude says: refused for
    // its own findings, never waved through or lost.
    let apply = run(planguard().current_dir(dir).args([
        "apply",
        "--color",
        "never",
        "--insecure",
        "orchestration_plans/uat/42.json",
        "--address",
        "127.0.0.1:1",
    ]));
    assert_eq!(apply.code, 1, "{}{}", apply.stdout, apply.stderr);
    assert!(apply.stdout.contains("error[PG101]"), "{}", apply.stdout);
    assert!(
        apply.stdout.contains("refused: the check found"),
        "{}",
        apply.stdout
    );
}

/// `apply`'s gate and `check` agree on what a plan's findings are: the gate
/// refuses exactly when `check <plan> <its config>` reports an error.
#[test]
fn the_gate_refuses_exactly_when_check_reports_an_error_for_the_plan() {
    let ws = common::workspace::Workspace::copy_of("examples/salam");
    let dir = ws.dir.path();
    let mut plans: Vec<String> = Vec::new();
    for env in ["dev", "uat", "prod"] {
        for entry in std::fs::read_dir(dir.join("orchestration_plans").join(env)).expect("ls") {
            let name = entry.expect("entry").file_name();
            plans.push(format!(
                "orchestration_plans/{env}/{}",
                name.to_string_lossy()
            ));
        }
    }
    plans.sort();
    let mut clean = 0;
    for plan in &plans {
        let env = plan.split('/').nth(1).expect("env");
        let config = format!("conf/{env}.json");
        let check = run(planguard().current_dir(dir).args([
            "check",
            "--no-cache",
            "--format",
            "concise",
            plan,
            &config,
        ]));
        let apply = run(planguard().current_dir(dir).args([
            "apply",
            "--color",
            "never",
            plan,
            "--approved-by",
            "alice",
            "--isolated",
            "--address",
            "127.0.0.1:1",
        ]));
        let check_errors: Vec<&str> = check
            .stdout
            .lines()
            .filter(|l| l.contains(": error["))
            .collect();
        if check_errors.is_empty() {
            clean += 1;
            // Past the gate, the unreachable server is the failure.
            assert_eq!(
                apply.code, 2,
                "{plan}: check is clean, apply: {}{}",
                apply.stdout, apply.stderr
            );
            assert!(
                !apply.stdout.contains("refused"),
                "{plan}: {}",
                apply.stdout
            );
        } else {
            assert_eq!(
                apply.code, 1,
                "{plan}: check found {check_errors:?}; apply: {}{}",
                apply.stdout, apply.stderr
            );
            assert!(
                apply.stdout.contains("refused: the check found"),
                "{plan}: {}",
                apply.stdout
            );
            // Each error check reports is in the refusal, at its file and line.
            for line in check_errors {
                let (place, rest) = line.split_once(": ").expect("place: message");
                let (file, position) = place.split_once(':').expect("file:line:col");
                let line_number = position.split(':').next().expect("line");
                let rule = &rest[rest.find('[').expect("rule") + 1..][..5];
                assert!(
                    apply.stdout.contains(&format!("{file}:{line_number}:"))
                        && apply.stdout.contains(rule),
                    "{plan}: the refusal lacks {rule} at {file}:{line_number}: {}",
                    apply.stdout
                );
            }
        }
    }
    assert!(
        clean >= 1 && clean < plans.len(),
        "the example has clean and failing plans: {clean}/{}",
        plans.len()
    );
}

/// Regression: a value Temporal cannot hold as written (PG305) was refused
/// by apply but passed check, so a pull request stayed green.
#[test]
fn check_reports_what_apply_would_refuse_as_undeployable() {
    let ws = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    // planguard's own memo keys are reserved: apply would refuse the plan.
    ws.edit("orchestration_plans/dev/12.json", |p| {
        p["memo"]["planguard_build"] = Value::from("7");
    });
    let dir = ws.dir.path();
    let check = run(planguard().current_dir(dir).args([
        "check",
        "--format",
        "json",
        "orchestration_plans/dev/12.json",
    ]));
    assert_eq!(check.code, 1, "{}{}", check.stdout, check.stderr);
    let report: Value = serde_json::from_str(&check.stdout).expect("JSON");
    let found: Vec<(String, String, String)> = report["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap_or_default().to_string(),
                d["file"].as_str().unwrap_or_default().to_string(),
                d["pointer"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [(
            "PG305".to_string(),
            "orchestration_plans/dev/12.json".to_string(),
            "/memo/planguard_build".to_string()
        )],
        "{}",
        check.stdout
    );
    let apply = run(planguard().current_dir(dir).args([
        "apply",
        "--color",
        "never",
        "orchestration_plans/dev/12.json",
        "--address",
        "127.0.0.1:1",
    ]));
    assert_eq!(apply.code, 1, "{}{}", apply.stdout, apply.stderr);
    assert!(apply.stdout.contains("error[PG305]"), "{}", apply.stdout);
}

/// `--profile` adds a table (human, concise) or a `profile` list (json) of
/// every rule and stage that ran: one evaluation per document for a
/// per-document rule, one per run for a cross-file rule; the findings are
/// those of a plain check.
#[test]
fn profile_says_where_the_time_goes_per_rule_and_stage() {
    let example = root().join("examples/salam");
    let example = example.to_str().expect("UTF-8");
    let (plain_code, plain) = check_json(&["--no-cache", example]);
    assert!(plain.get("profile").is_none(), "no timings unless asked");
    let (code, profiled) = check_json(&["--no-cache", "--profile", example]);
    assert_eq!(code, plain_code);
    assert_eq!(profiled["diagnostics"], plain["diagnostics"]);
    let documents = plain["summary"]["files"].as_u64().expect("a count");
    let rows = profiled["profile"].as_array().expect("profile rows");
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no row {name} in {rows:#?}"))
    };
    assert_eq!(row("read")["count"], documents);
    assert_eq!(row("parse")["count"], documents);
    // One file of the example is not JSON: the rest are checked.
    let parsed = documents - 1;
    assert_eq!(row("schema")["count"], parsed);
    assert_eq!(
        row("data.planguard.rules.namespace_mismatch.deny")["count"],
        parsed
    );
    assert_eq!(
        row("data.planguard.project.plan_config_mismatch.deny")["count"],
        1
    );
    // Every rule and stage, each a share of one whole (a package's row
    // repeats its rules').
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["name"].as_str().expect("a name"))
        .collect();
    let is_package = |n: &str| names.iter().any(|m| m.starts_with(&format!("{n}.")));
    assert!(is_package("data.planguard.rules.certificate_expiry"));
    let share: f64 = rows
        .iter()
        .filter(|r| !is_package(r["name"].as_str().expect("a name")))
        .map(|r| r["share"].as_f64().expect("a share"))
        .sum();
    assert!((share - 1.0).abs() < 1e-6, "{share}");
    let totals: Vec<f64> = rows
        .iter()
        .map(|r| r["total_ms"].as_f64().expect("a time"))
        .collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "most time first");

    let out = run(planguard().args([
        "check",
        "--no-cache",
        "--profile",
        "--format",
        "concise",
        example,
    ]));
    let table = out
        .stdout
        .split("\n\n")
        .last()
        .expect("a table after the report");
    assert!(
        table.starts_with("name ")
            && table.contains("mean (ms)")
            && table.contains("data.planguard.rules.secret_value.deny"),
        "{}",
        out.stdout
    );
}

/// A store that keeps every build's plan: 5,000 builds in one environment.
/// The cross-file rules find the newest by a maximum per environment (not by
/// comparing every pair, which took minutes at this size), so the newest
/// plan's disagreement with its config is found, an older plan's is history,
/// and a pre-commit check of one plan reads the others only for their facts.
#[test]
fn five_thousand_builds_in_one_environment() {
    let workspace = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    let dir = workspace.dir.path();
    let plan = read(dir.join("orchestration_plans/dev/12.json"));
    for build in 100..5100 {
        let text = plan.replacen("\"build\": \"12\"", &format!("\"build\": \"{build}\""), 1);
        let text = if build == 5099 || build == 100 {
            text.replacen("\"jitter\": \"5m\"", "\"jitter\": \"7m\"", 1)
        } else {
            text
        };
        std::fs::write(
            dir.join(format!("orchestration_plans/dev/{build}.json")),
            text,
        )
        .expect("write plan");
    }
    let newest = dir.join("orchestration_plans/dev/5099.json");
    let oldest = dir.join("orchestration_plans/dev/100.json");
    let (code, report) = check_json(&["--profile", newest.to_str().expect("UTF-8")]);
    assert_eq!(code, 1);
    let found: Vec<(String, u64)> = rules_at(&report)
        .into_iter()
        .map(|(rule, _, line, _)| (rule, line))
        .collect();
    assert_eq!(found, [("PG202".to_string(), 26)], "{report:#}");
    let schema = report["profile"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["name"] == "schema")
        .map(|r| r["count"].clone());
    // The plan, and the config its finding shows (to mask its secrets).
    assert_eq!(schema, Some(2.into()));
    let (code, report) = check_json(&[oldest.to_str().expect("UTF-8")]);
    assert_eq!((code, rules_at(&report)), (0, Vec::new()), "{report:#}");
}

/// The cross-file rules run as one query (what they share is computed once);
/// one failing rule must not take the others' findings with it: its error is
/// said against it, and every other rule, built-in or the user's, reports.
#[test]
fn a_failing_cross_file_rule_costs_only_its_own_findings() {
    let workspace = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    let dir = workspace.dir.path();
    // A built-in cross-file finding: the dev plan's jitter against its config.
    let plan = dir.join("orchestration_plans/dev/12.json");
    let text = read(&plan).replacen("\"jitter\": \"5m\"", "\"jitter\": \"7m\"", 1);
    std::fs::write(&plan, text).expect("write plan");
    write_file(
        dir,
        "planguard.toml",
        "[policy]\npaths = [\"policy\"]\nproject-namespaces = [\"crosscheck\"]\n",
    );
    write_file(
        dir,
        "policy/cross.rego",
        "package crosscheck\n\nimport rego.v1\n\n\
         deny contains {\"msg\": \"a config\", \"file\": doc.path} if {\n\
         \tsome doc in input\n\tdoc.kind == \"config\"\n\tdoc.environment == \"dev\"\n}\n\n\
         # Two values for the same argument: an evaluation error.\n\
         twice(_) := 1\n\ntwice(_) := 2\n\n\
         violation contains \"never\" if twice(input) == 3\n",
    );
    let (code, report) = check_json(&["--no-cache", dir.to_str().expect("UTF-8")]);
    assert_eq!(code, 1, "{report:#}");
    let rules: Vec<String> = rules_at(&report).into_iter().map(|(r, ..)| r).collect();
    assert!(rules.contains(&"PG202".to_string()), "{report:#}");
    assert!(rules.contains(&"crosscheck.deny".to_string()), "{report:#}");
    let error = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["rule"] == "PG021")
        .unwrap_or_else(|| panic!("no PG021: {report:#}"));
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("data.crosscheck.violation")),
        "{error:#}"
    );
}

/// A plan named alone is checked against only the facts its findings depend
/// on, which include older builds: the dev build that first deployed an
/// image (PG204 of a uat plan) and an old build of another pipeline with the
/// same schedule id (PG205). Named or in the whole tree, the same findings.
#[test]
fn a_named_plan_sees_the_older_builds_its_findings_depend_on() {
    let workspace = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    let dir = workspace.dir.path();
    let digest = format!("sha256:{}", "1".repeat(64));
    edit_json(dir, "orchestration_plans/dev/10.json", |plan| {
        plan["image"]["ref"] =
            format!("registry.dev.salam.internal/salam/ingestion@{digest}").into();
        plan["input"]["pipeline"] = "another-pipeline".into();
    });
    edit_json(dir, "orchestration_plans/uat/10.json", |plan| {
        plan["image"]["ref"] =
            format!("registry.uat.salam.internal/salam/ingestion@{digest}").into();
    });
    let check = |target: &str| -> Value {
        let out = run(planguard().current_dir(dir).args([
            "check",
            "--isolated",
            "--no-cache",
            "--format",
            "json",
            target,
        ]));
        serde_json::from_str(&out.stdout).unwrap_or_else(|_| panic!("{}", out.stderr))
    };
    let about = |report: &Value, file: &str| -> Vec<String> {
        report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter(|d| d["file"] == file)
            .map(|d| format!("{} {}", d["rule"], d["message"]))
            .collect()
    };
    let whole = check(".");
    let uat = "orchestration_plans/uat/10.json";
    let dev = "orchestration_plans/dev/12.json";
    assert_eq!(about(&whole, uat), Vec::<String>::new(), "{whole:#}");
    assert!(
        about(&whole, dev)
            .iter()
            .any(|f| f.starts_with("\"PG205\"")),
        "{whole:#}"
    );
    for file in [
        uat,
        dev,
        "orchestration_plans/dev/10.json",
        "orchestration_plans/uat/12.json",
    ] {
        assert_eq!(about(&check(file), file), about(&whole, file), "{file}");
    }
}

/// A check of named files reads only the facts their findings need; its
/// cross-file verdict is about those files only, so it is not kept, and a
/// second such check with nothing changed writes nothing to the cache.
#[test]
fn a_check_of_named_files_leaves_the_cache_index_alone_when_nothing_changed() {
    let workspace = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    let dir = workspace.dir.path();
    let check = || {
        run(planguard().current_dir(dir).args([
            "check",
            "--isolated",
            "--format",
            "json",
            "orchestration_plans/dev/12.json",
        ]))
    };
    let first = check();
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let index = || -> Vec<(std::path::PathBuf, std::time::SystemTime)> {
        let mut found: Vec<_> = std::fs::read_dir(dir.join(".planguard/cache"))
            .expect("a cache")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("index-"))
            .map(|e| {
                (
                    e.path(),
                    e.metadata().and_then(|m| m.modified()).expect("mtime"),
                )
            })
            .collect();
        found.sort();
        found
    };
    let before = index();
    assert_eq!(before.len(), 1, "{before:?}");
    let index_text = std::fs::read_to_string(&before[0].0).expect("index");
    assert!(
        index_text.contains("\"summary\""),
        "facts summaries are kept: {index_text}"
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = check();
    assert_eq!((second.code, &second.stdout), (first.code, &first.stdout));
    assert_eq!(index(), before, "the index was written again");
}

/// A file's cross-file facts are packed once: an edit outside them (the
/// commit a plan was built from) keeps them where they are, so the hook's
/// check writes no new pack; an edit to one of them (the schedule's
/// jitter) writes the file's new facts into a pack of their own.
#[test]
fn an_edit_that_leaves_the_facts_alone_keeps_them_in_their_pack() {
    let workspace = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    let dir = workspace.dir.path();
    let plan_path = "orchestration_plans/dev/12.json";
    let check = |what: &str, code: i32| {
        let out = run(planguard().current_dir(dir).args([
            "check",
            "--isolated",
            "--format",
            "json",
            what,
        ]));
        assert_eq!(out.code, code, "{what}: {}{}", out.stdout, out.stderr);
    };
    let packs = || -> Vec<String> {
        let mut found: Vec<String> = std::fs::read_dir(dir.join(".planguard/cache/facts"))
            .expect("a facts folder")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".pack"))
            .collect();
        found.sort();
        found
    };
    let place = || -> Value {
        let index = std::fs::read_dir(dir.join(".planguard/cache"))
            .expect("a cache")
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().starts_with("index-"))
            .expect("an index");
        let index: Value =
            serde_json::from_str(&std::fs::read_to_string(index.path()).expect("index"))
                .expect("index JSON");
        index["files"][plan_path]["at"].clone()
    };
    let edit = |change: &dyn Fn(&mut Value)| {
        let file = dir.join(plan_path);
        let mut plan: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("plan")).expect("JSON");
        change(&mut plan);
        std::fs::write(&file, serde_json::to_string_pretty(&plan).expect("text")).expect("write");
    };

    check(".", 0);
    let first = packs();
    assert_eq!(first.len(), 1, "{first:?}");
    let packed = place();
    assert!(packed.is_array(), "the plan's facts have a place: {packed}");

    edit(&|plan| plan["git_sha"] = serde_json::json!("0123456789abcdef0123456789abcdef01234567"));
    check(plan_path, 0);
    assert_eq!(
        packs(),
        first,
        "facts the edit left alone were packed again"
    );
    assert_eq!(place(), packed);

    // The plan's jitter now differs from its config's (PG202).
    edit(&|plan| plan["schedule"]["jitter"] = serde_json::json!("7m"));
    check(plan_path, 1);
    let now = packs();
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.contains(&first[0]), "{now:?}");
    assert_ne!(place(), packed);
    assert!(place().is_array(), "{}", place());
}

/// Each edit of the policies' data (as of a policy, or a new build of
/// planguard) makes another configuration of the cache: the cache keeps the
/// last few, index and facts, not every one it ever saw.
#[test]
fn the_cache_keeps_the_last_few_configurations_not_every_one() {
    let workspace = Workspace::copy_of("fixtures/workspaces/clean");
    let dir = workspace.dir.path();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let data = data_dir.path().join("data.json");
    let configurations = || -> (usize, std::collections::BTreeSet<String>) {
        let cache = dir.join(".planguard/cache");
        let indexes = std::fs::read_dir(&cache)
            .expect("a cache")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("index-"))
            .count();
        let packed = std::fs::read_dir(cache.join("facts"))
            .expect("a facts folder")
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.ends_with(".pack")
                    .then(|| name.split('-').next().unwrap_or_default().to_string())
            })
            .collect();
        (indexes, packed)
    };
    for round in 0..6 {
        std::fs::write(&data, format!("{{\"round\": {round}}}")).expect("data");
        let out = run(planguard()
            .current_dir(dir)
            .args(["check", "--isolated", "--data"])
            .arg(&data)
            .args(["--format", "json", "."]));
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        let (indexes, packed) = configurations();
        assert_eq!(indexes, (round + 1).min(4), "round {round}");
        assert_eq!(packed.len(), indexes, "round {round}: {packed:?}");
    }
}

/// The rules of a JSON report and the files they are about, sorted.
fn rules_and_files(stdout: &str) -> Vec<(String, String)> {
    let report: Value = serde_json::from_str(stdout).expect("a JSON report");
    let mut found: Vec<(String, String)> = rules_at(&report)
        .into_iter()
        .map(|(rule, file, ..)| (rule, file))
        .collect();
    found.sort();
    found
}

/// From inside the layout (`cd orchestration_plans/dev`), a plan named by
/// its bare name, or the folder `.`, is checked as from the workspace: its
/// environment and build come from its absolute path, its config and the
/// other builds are its context. Before, the bare name said nothing of them:
/// every cross-file rule failed on the plan (PG021), and `.` was "nothing
/// to check".
#[test]
fn a_plan_named_from_inside_the_layout_is_checked_as_from_the_workspace() {
    let workspace = Workspace::copy_of("fixtures/workspaces/clean");
    let dir = workspace.dir.path();
    let plans = dir.join("orchestration_plans/dev");
    // The plan's jitter differs from its config's: PG202, a cross-file rule.
    let plan = plans.join("12.json");
    let text = std::fs::read_to_string(&plan).expect("plan");
    let mut edited: Value = serde_json::from_str(&text).expect("JSON");
    edited["schedule"]["jitter"] = serde_json::json!("7m");
    std::fs::write(&plan, serde_json::to_string_pretty(&edited).expect("text")).expect("write");
    let check = |cwd: &Path, what: &str| {
        let out = run(planguard().current_dir(cwd).args([
            "check",
            "--no-cache",
            "--format",
            "json",
            what,
        ]));
        assert_eq!(
            out.code, 1,
            "{what} in {cwd:?}: {}{}",
            out.stdout, out.stderr
        );
        let report: Value = serde_json::from_str(&out.stdout).expect("a JSON report");
        (
            rules_and_files(&out.stdout),
            report["summary"]["files"].clone(),
        )
    };
    let absolute = plan.canonicalize().expect("canonical");
    let shown = |found: Vec<(String, String)>| -> Vec<(String, String)> {
        found
            .into_iter()
            .map(|(rule, file)| {
                let file = Path::new(&file).canonicalize().map_or(file, |f| {
                    assert_eq!(f, absolute, "a finding about another file");
                    "12.json".to_string()
                });
                (rule, file)
            })
            .collect()
    };
    let (from_root, files) = check(dir, "orchestration_plans/dev/12.json");
    assert_eq!(
        from_root,
        vec![(
            "PG202".to_string(),
            "orchestration_plans/dev/12.json".to_string()
        )]
    );
    assert_eq!(files, 1);
    let (named, files) = check(&plans, "12.json");
    assert_eq!(named.len(), 1, "{named:?}");
    assert_eq!(named[0].0, "PG202", "{named:?}");
    assert!(Path::new(&named[0].1).is_absolute(), "{named:?}");
    assert_eq!(files, 1);
    let (folder, files) = check(&plans, ".");
    assert_eq!(
        shown(folder),
        vec![("PG202".to_string(), "12.json".to_string())]
    );
    assert_eq!(files, 3, "the three dev plans");
}

/// A plan named outside any layout (a copy in a scratch folder) has no
/// workspace, environment or build from its path: its own rules run, and
/// the cross-file rules see a plan without a config (PG207). Named beside a
/// plan of a workspace, it takes nothing from that plan's checks. Before,
/// its missing build made every cross-file rule fail, for every file.
#[test]
fn a_plan_named_outside_any_layout_is_checked_without_failing_the_cross_file_rules() {
    let workspace = Workspace::copy_of("fixtures/workspaces/clean");
    let dir = workspace.dir.path();
    let scratch = tempfile::tempdir().expect("temp dir");
    let loose = scratch.path().join("copy.json");
    std::fs::copy(dir.join("orchestration_plans/dev/11.json"), &loose).expect("copy");
    let plan = dir.join("orchestration_plans/dev/12.json");
    let text = std::fs::read_to_string(&plan).expect("plan");
    let mut edited: Value = serde_json::from_str(&text).expect("JSON");
    edited["schedule"]["jitter"] = serde_json::json!("7m");
    std::fs::write(&plan, serde_json::to_string_pretty(&edited).expect("text")).expect("write");

    let out = run(planguard().current_dir(scratch.path()).args([
        "check",
        "--no-cache",
        "--format",
        "json",
        "copy.json",
    ]));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        rules_and_files(&out.stdout),
        vec![("PG207".to_string(), "copy.json".to_string())]
    );

    let out = run(planguard()
        .current_dir(dir)
        .args([
            "check",
            "--no-cache",
            "--format",
            "json",
            "orchestration_plans/dev/12.json",
            "orchestration_plans/dev/11.json",
        ])
        .arg(&loose));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let found = rules_and_files(&out.stdout);
    assert!(!found.iter().any(|(rule, _)| rule == "PG021"), "{found:?}");
    assert!(
        found.contains(&(
            "PG202".to_string(),
            "orchestration_plans/dev/12.json".to_string()
        )),
        "{found:?}"
    );
}

/// `--fix` with a warm cache, after lines were added above a cross-file
/// finding (its facts untouched): the fix goes where the value now is.
/// Before, the cross-file verdict was reused with its old byte offsets, and
/// the fix wrote `"jitter"5m"7m"`, breaking the plan.
#[test]
fn a_fix_from_a_warm_cache_lands_where_the_value_now_is() {
    let workspace = Workspace::copy_of("fixtures/workspaces/clean");
    let dir = workspace.dir.path();
    let plan = dir.join("orchestration_plans/dev/12.json");
    let mut edited: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).expect("plan")).expect("JSON");
    edited["schedule"]["jitter"] = serde_json::json!("7m");
    std::fs::write(&plan, serde_json::to_string_pretty(&edited).expect("text")).expect("write");
    let check = |args: &[&str]| {
        run(planguard()
            .current_dir(dir)
            .args(["check", "--format", "concise"])
            .args(args)
            .arg("."))
    };
    let first = check(&[]);
    assert_eq!(first.code, 1, "{}{}", first.stdout, first.stderr);
    assert!(first.stdout.contains("PG202"), "{}", first.stdout);
    let text = std::fs::read_to_string(&plan).expect("plan");
    std::fs::write(&plan, format!("\n\n\n{text}")).expect("write");
    let warm = check(&[]);
    let cold = check(&["--no-cache"]);
    assert_eq!(warm.stdout, cold.stdout);
    let fixed = check(&["--fix"]);
    assert_eq!(fixed.code, 0, "{}{}", fixed.stdout, fixed.stderr);
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&plan).expect("plan"))
        .expect("the plan is still JSON");
    assert_eq!(after["schedule"]["jitter"], "5m");
}

/// The rules and severities of a check of the example with `args`, and its exit status.
fn selected(args: &[&str]) -> (i32, Vec<String>) {
    let out = run(planguard()
        .args(["check", "--no-cache", "--format", "json"])
        .args(args)
        .arg("examples/salam"));
    let report: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
    let mut found: Vec<String> = report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            format!(
                "{} {}",
                d["rule"].as_str().unwrap_or_default(),
                d["severity"].as_str().unwrap_or_default()
            )
        })
        .collect();
    found.sort();
    found.dedup();
    (out.code, found)
}

#[test]
fn rule_selection_flags_take_ids_names_prefixes_and_all_in_any_case() {
    let all = selected(&[]);
    assert_eq!(all.0, 1);
    let everything: Vec<String> = [
        "PG001 error",
        "PG002 error",
        "PG010 error",
        "PG101 error",
        "PG103 error",
        "PG110 error",
        "PG208 error",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(all.1, everything);
    let cases: &[(&[&str], i32, &[&str])] = &[
        (
            &["--select", "PG1"],
            1,
            &["PG101 error", "PG103 error", "PG110 error"],
        ),
        (
            &["--select", "pg1"],
            1,
            &["PG101 error", "PG103 error", "PG110 error"],
        ),
        (
            &["--select", "mutable-image-tag,PG001"],
            1,
            &["PG001 error", "PG103 error"],
        ),
        (
            &["--select", "MUTABLE-IMAGE-TAG", "--select", "pg001"],
            1,
            &["PG001 error", "PG103 error"],
        ),
        // With PG010 ignored, PG202 says what the misspelt key and the string cause.
        (
            &["--select", "ALL", "--ignore", "PG0"],
            1,
            &[
                "PG101 error",
                "PG103 error",
                "PG110 error",
                "PG202 error",
                "PG208 error",
            ],
        ),
        (
            &["--select", "PG001", "--extend-select", "secret-value"],
            1,
            &["PG001 error", "PG110 error"],
        ),
        // With PG101 ignored, the plan's disagreement with its config is its own finding.
        (
            &["--select", "PG101,PG202", "--ignore", "namespace-mismatch"],
            1,
            &["PG202 error"],
        ),
        (
            &["--select", "PG1", "--warn", "PG1"],
            0,
            &["PG101 warning", "PG103 warning", "PG110 warning"],
        ),
        (
            &["--select", "PG1", "--warn", "PG1", "--fail-on-warn"],
            1,
            &["PG101 warning", "PG103 warning", "PG110 warning"],
        ),
        (&["--ignore", "ALL"], 0, &[]),
        (
            &["--exit-zero"],
            0,
            &[
                "PG001 error",
                "PG002 error",
                "PG010 error",
                "PG101 error",
                "PG103 error",
                "PG110 error",
                "PG208 error",
            ],
        ),
    ];
    for (args, code, want) in cases {
        let (got_code, got) = selected(args);
        assert_eq!(
            (got_code, got.as_slice()),
            (
                *code,
                &want.iter().map(|s| s.to_string()).collect::<Vec<_>>()[..]
            ),
            "{args:?}"
        );
    }
    // A rule planguard.toml turns off stays off for a prefix, not for its id.
    let ws = Workspace::copy_of("examples/salam");
    let settings = ws.dir.path().join("planguard.toml");
    let mut text = std::fs::read_to_string(&settings).unwrap_or_default();
    text.push_str("\n[rules]\nPG103 = \"off\"\n");
    std::fs::write(&settings, text).expect("write");
    let in_ws = |args: &[&str]| {
        let out = run(planguard()
            .current_dir(ws.dir.path())
            .args(["check", "--no-cache", "--format", "concise"])
            .args(args));
        out.stdout.contains("PG103")
    };
    assert!(!in_ws(&["--select", "PG1"]));
    assert!(in_ws(&["--select", "PG103"]));
    assert!(in_ws(&["--extend-select", "mutable-image-tag"]));
    // A selector that matches no rule is a usage error that suggests one.
    for flag in ["--select", "--extend-select", "--ignore", "--warn"] {
        let out = run(planguard().args(["check", flag, "image-not-pined", "examples/salam"]));
        assert_eq!(out.code, 2, "{flag}");
        assert!(
            out.stderr.contains(&format!("{flag} `image-not-pined` matches no built-in rule; did you mean `image-not-pinned`?")),
            "{}",
            out.stderr
        );
    }
    // explain takes names and ids in any case too.
    for rule in ["pg105", "IMAGE-NOT-PINNED"] {
        let out = run(planguard().args(["explain", rule]));
        assert_eq!(out.code, 0, "{rule}");
        assert!(
            out.stdout.starts_with("# PG105 image-not-pinned"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn the_output_format_comes_from_the_environment_when_no_flag_gives_it() {
    let out = run(planguard()
        .env("PLANGUARD_OUTPUT_FORMAT", "concise")
        .args(["check", "examples/salam"]));
    assert!(
        out.stdout
            .starts_with("examples/salam/conf/prod.json:84:96: error[PG110]"),
        "{}",
        out.stdout
    );
    let flag = run(planguard().env("PLANGUARD_OUTPUT_FORMAT", "concise").args([
        "check",
        "--format",
        "json",
        "examples/salam",
    ]));
    assert!(
        serde_json::from_str::<Value>(&flag.stdout).is_ok(),
        "{}",
        flag.stdout
    );
    let wrong = run(planguard()
        .env("PLANGUARD_OUTPUT_FORMAT", "yaml")
        .args(["check", "examples/salam"]));
    assert_eq!(wrong.code, 2);
}

#[test]
fn x_planguard_suppresses_a_rule_in_its_object_and_below_with_a_reason() {
    let ws = Workspace::copy_of("examples/salam");
    let plan = ws.dir.path().join("orchestration_plans/uat/42.json");
    let text = std::fs::read_to_string(&plan).expect("plan");
    let check = |text: &str| {
        std::fs::write(&plan, text).expect("write");
        let out = run(planguard().current_dir(ws.dir.path()).args([
            "check",
            "--no-cache",
            "--format",
            "concise",
            "orchestration_plans/uat/42.json",
        ]));
        (out.code, out.stdout)
    };
    let (code, before) = check(&text);
    assert_eq!(code, 1);
    assert!(before.contains("error[PG101]"), "{before}");
    // On the root object, by name in another case, with a reason: gone, and
    // the schema says nothing of the member. Each rule is suppressed by its
    // own entry: PG202 (the plan's disagreement with its config) is its own
    // finding once PG101 is gone.
    let member = "{\n  \"x-planguard\": {\"ignore\": {\"Namespace-Mismatch\": \"shared namespace until OPS-77\", \"PG202\": \"same\"}},";
    let (code, after) = check(&text.replacen('{', member, 1));
    assert_eq!((code, after.as_str()), (0, ""), "{after}");
    // On another object (the retry policy): the finding stays, the entry is unused.
    let elsewhere = text.replacen(
        "\"retry_policy\": {",
        "\"retry_policy\": {\"x-planguard\": {\"ignore\": {\"PG101\": \"not here\"}},",
        1,
    );
    let (code, out) = check(&elsewhere);
    assert_eq!(code, 1);
    assert!(out.contains("error[PG101]"), "{out}");
    assert!(
        out.contains("warning[PG007] PG101 is suppressed here but reports nothing in this object"),
        "{out}"
    );
    // No reason (blank, or the placeholder the editor's ignore action
    // writes): it does not apply, and says so.
    for reason in ["  ", planguard::check::suppress::REASON_PLACEHOLDER] {
        let (code, out) = check(&text.replacen(
            '{',
            &format!("{{\"x-planguard\": {{\"ignore\": {{\"PG101\": \"{reason}\"}}}},"),
            1,
        ));
        assert_eq!(code, 1, "{reason:?}");
        assert!(out.contains("error[PG101]"), "{out}");
        assert!(
            out.contains(
                "warning[PG008] the suppression of PG101 gives no reason, so it does not apply"
            ),
            "{out}"
        );
    }
    // An unknown rule, and a malformed member.
    let (_, out) = check(&text.replacen(
        '{',
        "{\"x-planguard\": {\"ignore\": {\"PG999\": \"typo\"}, \"skip\": true},",
        1,
    ));
    assert!(
        out.contains("warning[PG007] PG999 is no rule, so suppressing it here does nothing"),
        "{out}"
    );
    assert!(
        out.contains("warning[PG008] `x-planguard` knows only `ignore`, not `skip`"),
        "{out}"
    );
    let (_, out) = check(&text.replacen('{', "{\"x-planguard\": [\"PG101\"],", 1));
    assert!(
        out.contains("warning[PG008] `x-planguard` must be an object; it suppresses nothing"),
        "{out}"
    );
    // An entry for a rule that is off in this run is not reported unused.
    std::fs::write(&plan, elsewhere.as_str()).expect("write");
    let out = run(planguard().current_dir(ws.dir.path()).args([
        "check",
        "--no-cache",
        "--format",
        "concise",
        "--ignore",
        "PG101",
        "orchestration_plans/uat/42.json",
    ]));
    assert!(!out.stdout.contains("PG007"), "{}", out.stdout);
    // The bundled schema allows the member on every object, as an editor
    // or check-jsonschema reads it.
    common::assert_valid(
        &elsewhere.replacen('{', member, 1),
        "schemas/orchestration-plan.schema.json",
    );
    // The member is not part of what environments compare (PG203).
    let config = ws.dir.path().join("conf/dev.json");
    let dev = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        dev.replacen(
            '{',
            "{\"x-planguard\": {\"ignore\": {\"PG112\": \"dev has no auth\"}},",
            1,
        ),
    )
    .expect("write");
    let out = run(planguard().current_dir(ws.dir.path()).args([
        "check",
        "--no-cache",
        "--format",
        "concise",
    ]));
    assert!(!out.stdout.contains("PG203"), "{}", out.stdout);
}

#[test]
fn a_baseline_adopts_todays_findings_and_reports_new_and_gone_ones() {
    let ws = Workspace::copy_of("examples/salam");
    let dir = ws.dir.path();
    let check = |args: &[&str]| {
        let out = run(planguard()
            .current_dir(dir)
            .args(["check", "--no-cache", "--color", "never"])
            .args(args));
        (out.code, format!("{}{}", out.stdout, out.stderr))
    };
    // Adopt: every finding of today recorded, exit 0.
    let (code, out) = check(&["--write-baseline", "planguard-baseline.json"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("Wrote 8 findings to the baseline planguard-baseline.json"),
        "{out}"
    );
    let written = std::fs::read_to_string(dir.join("planguard-baseline.json")).expect("baseline");
    let baseline: Value = serde_json::from_str(&written).expect("json");
    assert_eq!(baseline["findings"].as_array().map(Vec::len), Some(8));
    // The password of conf/prod.json is in it in no form.
    assert!(!written.contains("S3cr3t-Pr0d!"), "{written}");
    let (code, out) = check(&["--baseline", "planguard-baseline.json"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(": no problems found (8 in the baseline)."),
        "{out}"
    );
    let json = run(planguard().current_dir(dir).args([
        "check",
        "--no-cache",
        "--format",
        "json",
        "--baseline",
        "planguard-baseline.json",
    ]));
    let report: Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(report["summary"]["baselined"], 8, "{}", json.stdout);
    assert_eq!(report["summary"]["baseline_gone"], 0, "{}", json.stdout);
    common::assert_valid(&json.stdout, "schemas/report.schema.json");
    // The same from planguard.toml.
    std::fs::write(
        dir.join("planguard.toml"),
        "[check]\nbaseline = \"planguard-baseline.json\"\n",
    )
    .expect("write");
    let (code, out) = check(&[]);
    assert_eq!(code, 0, "{out}");
    // Relative to planguard.toml's folder, wherever the check runs from.
    let name = dir
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let parent = run(planguard()
        .current_dir(dir.parent().expect("parent"))
        .args(["check", "--no-cache", &name]));
    assert_eq!(parent.code, 0, "{}{}", parent.stdout, parent.stderr);
    assert!(
        parent.stdout.contains("(8 in the baseline)"),
        "{}",
        parent.stdout
    );
    // An edit above a finding moves its line, not its fingerprint.
    let plan = dir.join("orchestration_plans/uat/42.json");
    let text = std::fs::read_to_string(&plan).expect("plan");
    std::fs::write(&plan, text.replacen("{\n", "{\n\n\n", 1)).expect("write");
    let (code, out) = check(&[]);
    assert_eq!(code, 0, "lines moved: {out}");
    // A change of the offending value is a new finding.
    std::fs::write(&plan, text.replace("\"ingestion-dev\"", "\"ingestion-qa\"")).expect("write");
    let (code, out) = check(&["--format", "concise"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error[PG101] namespace \"ingestion-qa\""),
        "{out}"
    );
    // A fixed problem is reported as gone, so the baseline can shrink.
    std::fs::write(
        &plan,
        text.replace("\"ingestion-dev\"", "\"ingestion-uat\""),
    )
    .expect("write");
    let (code, out) = check(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(7 in the baseline; 1 of its entries no longer found: write it again with --write-baseline to shrink it)."), "{out}");
    // A new problem in another file fails.
    let config = dir.join("conf/dev.json");
    let dev = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        dev.replacen("\"ingestion-dev\"", "\"ingestion-prod\"", 1),
    )
    .expect("write");
    let (code, _) = check(&[]);
    assert_eq!(code, 1);
    // --baseline wins over planguard.toml; a missing or foreign file is a tool failure.
    let (code, out) = check(&["--baseline", "no-such-baseline.json"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("cannot read the baseline no-such-baseline.json"),
        "{out}"
    );
    std::fs::write(dir.join("other.json"), "{\"findings\": 3}").expect("write");
    let (code, out) = check(&["--baseline", "other.json"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("the baseline other.json is not a planguard baseline"),
        "{out}"
    );
}

/// The cross-file rules see the whole workspace whichever of its folders are
/// named: a config is not "without a plan" (PG206) because the folder of its
/// plans was left off the command line, and only what was named is reported.
#[test]
fn naming_some_folders_keeps_the_rest_of_the_workspace_as_context() {
    let ws = Workspace::copy_of("fixtures/workspaces/clean");
    let check = |paths: &[&str]| {
        let out = run(planguard()
            .current_dir(ws.dir.path())
            .args(["check", "--no-cache", "--isolated", "--format", "concise"])
            .args(paths));
        (out.code, out.stdout)
    };
    let (code, out) = check(&["conf", "orchestration_plans/dev"]);
    assert_eq!((code, out.as_str()), (0, ""));
    for build in 10..=12 {
        std::fs::remove_file(
            ws.dir
                .path()
                .join(format!("orchestration_plans/prod/{build}.json")),
        )
        .expect("remove");
    }
    let (code, out) = check(&["conf", "orchestration_plans/dev"]);
    assert_eq!(code, 0, "a warning: {out}");
    assert_eq!(
        out,
        "conf/prod.json:1:1: warning[PG206] no plan is stored for the prod config: nothing under orchestration_plans/prod/\n"
    );
    // Named alone, the dev plans are checked against the configs all the same.
    let (code, out) = check(&["orchestration_plans/dev"]);
    assert_eq!((code, out.as_str()), (0, ""));
}

/// A rule's findings are capped at 100 per file, with a PG021 that says how
/// many there were: a document rule with 150 findings on one file is cut;
/// a cross-file rule with 60 findings in each of three files is not (a large
/// repository rightly has more than 100 in all).
#[test]
fn a_rule_s_findings_are_capped_per_file_not_per_rule() {
    let workspace = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    let dir = workspace.dir.path();
    write_file(
        dir,
        "planguard.toml",
        "[policy]\npaths = [\"policy\"]\nproject-namespaces = [\"crosscheck\"]\n",
    );
    write_file(
        dir,
        "policy/many.rego",
        "package main\n\nimport rego.v1\n\n\
         warn contains sprintf(\"finding %d\", [i]) if {\n\
         \tdata.planguard.file.kind == \"config\"\n\tdata.planguard.file.environment == \"dev\"\n\
         \tsome i in numbers.range(1, 150)\n}\n",
    );
    write_file(
        dir,
        "policy/cross.rego",
        "package crosscheck\n\nimport rego.v1\n\n\
         warn contains {\"msg\": sprintf(\"cross %d\", [i]), \"file\": doc.path} if {\n\
         \tsome doc in input\n\tdoc.kind == \"plan\"\n\tdoc.environment == \"dev\"\n\
         \tsome i in numbers.range(1, 60)\n}\n",
    );
    let (code, report) = check_json(&["--no-cache", dir.to_str().expect("UTF-8")]);
    assert_eq!(code, 1, "{report:#}");
    let diagnostics = report["diagnostics"].as_array().expect("diagnostics");
    let count = |rule: &str| diagnostics.iter().filter(|d| d["rule"] == rule).count();
    assert_eq!(count("main.warn"), 100, "{report:#}");
    let dev_plans = std::fs::read_dir(dir.join("orchestration_plans/dev"))
        .expect("dev plans")
        .count();
    assert!(dev_plans >= 2, "the fixture has {dev_plans} dev plans");
    assert_eq!(count("crosscheck.warn"), 60 * dev_plans, "{report:#}");
    let errors: Vec<&str> = diagnostics
        .iter()
        .filter(|d| d["rule"] == "PG021")
        .filter_map(|d| d["message"].as_str())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("data.main.warn") && errors[0].contains("returned 150 results"),
        "{errors:#?}"
    );
}
