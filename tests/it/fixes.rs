//! `check --fix`, `--diff` and `--unsafe-fixes` through the real binary, on a
//! scratch copy of the clean workspace with one problem planted per case:
//! each fixable rule's fix is applied, the file byte-compared to the
//! expected one in fixtures/fixes/<case>/after.json (formatting, key order,
//! line endings and the rest of the file as they were), and the workspace
//! checked again.

use crate::common::{self, planguard, run};

use common::workspace::Workspace;
use serde_json::Value;

/// A planted problem: the case's before.json at `target` in the clean
/// workspace, which `--fix` must turn into its after.json.
struct Case {
    name: &'static str,
    target: &'static str,
    /// The rules it is found by, in order.
    rules: &'static [&'static str],
    /// How many findings the fix fixes (a rule with no fix of its own may
    /// go with the one fixed: PG202 on a misspelt plan field).
    fixed: usize,
    unsafe_fix: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "misspelt-property",
        fixed: 1,
        target: "orchestration_plans/uat/12.json",
        // The plan's disagreement with its config (PG202) about the field
        // is related information of PG010: one problem, one finding.
        rules: &["PG010"],
        unsafe_fix: false,
    },
    Case {
        name: "namespace-config",
        fixed: 1,
        target: "conf/prod.json",
        rules: &["PG101", "PG202", "PG208"],
        unsafe_fix: false,
    },
    Case {
        name: "namespace-plan",
        fixed: 1,
        target: "orchestration_plans/uat/12.json",
        rules: &["PG101"],
        unsafe_fix: false,
    },
    Case {
        name: "task-queue",
        fixed: 1,
        target: "conf/uat.json",
        rules: &["PG102", "PG202", "PG208"],
        unsafe_fix: false,
    },
    Case {
        name: "plan-field",
        fixed: 3,
        target: "orchestration_plans/prod/12.json",
        rules: &["PG202"],
        unsafe_fix: false,
    },
    Case {
        name: "config-checksum",
        fixed: 1,
        target: "conf/dev.json",
        rules: &["PG113", "PG208"],
        unsafe_fix: true,
    },
];

fn fixture(case: &str, file: &str) -> String {
    common::read(format!("fixtures/fixes/{case}/{file}"))
}

/// The clean workspace with the case planted. A planted config is an edit
/// made after the newest plan of its environment was dumped from the good
/// config (after.json): that plan is stale (PG208) until the fix restores it.
fn planted(case: &Case) -> Workspace {
    let workspace = Workspace::copy_of("fixtures/workspaces/clean");
    workspace.write(case.target, &fixture(case.name, "before.json"));
    if let Some(env) = case
        .target
        .strip_prefix("conf/")
        .and_then(|f| f.strip_suffix(".json"))
    {
        let sha = common::workspace::sha256(fixture(case.name, "after.json").as_bytes());
        let plan = workspace
            .dir
            .path()
            .join(format!("orchestration_plans/{env}/12.json"));
        let text = std::fs::read_to_string(&plan).expect("plan");
        let current: Value = serde_json::from_str(&text).expect("JSON");
        let old = current["source_config"]["sha256"].as_str().expect("sha256");
        std::fs::write(&plan, text.replace(old, &sha)).expect("write");
    }
    let extra = common::root()
        .join("fixtures/fixes")
        .join(case.name)
        .join("spark");
    if extra.is_dir() {
        let into = workspace.dir.path().join("spark");
        std::fs::create_dir_all(&into).expect("mkdir");
        for entry in std::fs::read_dir(&extra).expect("listable") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), into.join(entry.file_name())).expect("copy");
        }
    }
    workspace
}

fn check(workspace: &Workspace, args: &[&str]) -> common::Run {
    run(planguard()
        .current_dir(workspace.dir.path())
        .arg("check")
        .args(args)
        .arg("."))
}

/// The rules of the findings a JSON check reports.
fn rules_found(workspace: &Workspace) -> Vec<String> {
    let out = check(workspace, &["--format", "json"]);
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON");
    report["diagnostics"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| d["rule"].as_str().expect("rule").to_string())
        .collect()
}

fn on_disk(workspace: &Workspace, file: &str) -> String {
    std::fs::read_to_string(workspace.dir.path().join(file)).expect("readable")
}

#[test]
fn fix_applies_each_fixable_rule_and_the_result_checks_clean() {
    for case in CASES {
        let workspace = planted(case);
        let mut found = rules_found(&workspace);
        found.sort();
        found.dedup();
        assert_eq!(found, case.rules, "{}: the planted problem", case.name);
        let flags: &[&str] = if case.unsafe_fix {
            &["--fix", "--unsafe-fixes"]
        } else {
            &["--fix"]
        };
        let out = check(&workspace, flags);
        assert_eq!(out.code, 0, "{}: {}{}", case.name, out.stdout, out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "Fixed {} (0 remaining).",
                match case.fixed {
                    1 => "1 finding".to_string(),
                    n => format!("{n} findings"),
                }
            )),
            "{}: {}",
            case.name,
            out.stderr
        );
        assert_eq!(
            on_disk(&workspace, case.target),
            fixture(case.name, "after.json"),
            "{}: the fixed file",
            case.name
        );
        assert_eq!(
            rules_found(&workspace),
            Vec::<String>::new(),
            "{}",
            case.name
        );
    }
}

#[test]
fn unsafe_fixes_apply_only_when_asked() {
    let case = CASES
        .iter()
        .find(|c| c.name == "config-checksum")
        .expect("the case");
    let workspace = planted(case);
    let before = on_disk(&workspace, case.target);
    let out = check(&workspace, &["--fix"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "Fixed 0 findings (2 remaining). 1 more fix is unsafe: --unsafe-fixes applies it."
        ),
        "{}",
        out.stderr
    );
    assert_eq!(on_disk(&workspace, case.target), before);
    // --diff holds it back the same way.
    let out = check(&workspace, &["--diff"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    let out = check(&workspace, &["--diff", "--unsafe-fixes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains("+      \"sha256\": \""),
        "{}",
        out.stdout
    );
    assert_eq!(on_disk(&workspace, case.target), before);
}

#[test]
fn diff_shows_what_fix_would_change_and_changes_nothing() {
    let case = CASES
        .iter()
        .find(|c| c.name == "namespace-config")
        .expect("the case");
    let workspace = planted(case);
    let before = on_disk(&workspace, case.target);
    let out = check(&workspace, &["--diff"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let line = before
        .lines()
        .position(|l| l.contains("\"ingestion-dev\""))
        .expect("planted")
        + 1;
    assert_eq!(
        out.stdout,
        format!(
            "--- a/conf/prod.json\n+++ b/conf/prod.json\n@@ -{0},7 +{0},7 @@\n     \"orchestration\": {{\n       \"engine\": \"temporal\",\n       \"temporal\": {{\n-        \"namespace\" :\"ingestion-dev\" ,\n+        \"namespace\" :\"ingestion-prod\" ,\n         \"task_queue\": \"spark-ingest-prod\",\n         \"workflow_type\": \"SparkIngestionWorkflow\",\n         \"workflow_id_prefix\": \"customer-orders-\",\n",
            line - 3
        )
    );
    assert!(
        out.stderr.contains("Would fix 1 finding."),
        "{}",
        out.stderr
    );
    assert_eq!(on_disk(&workspace, case.target), before);
    // The plan that disagrees with the wrong config is not "fixed" to it:
    // its fix waits for the config's.
    assert!(
        !out.stdout.contains("orchestration_plans"),
        "{}",
        out.stdout
    );

    assert_eq!(check(&workspace, &["--fix"]).code, 0);
    let out = check(&workspace, &["--diff"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    assert!(out.stderr.contains("No fixes available."), "{}", out.stderr);
}

#[test]
fn fixes_never_show_or_write_a_secret() {
    // A credential on the line of a fixable namespace: the diff masks it on
    // both sides, and the fix still applies around it.
    let workspace = Workspace::copy_of("fixtures/workspaces/clean");
    let file = "orchestration_plans/uat/12.json";
    let secret = "S3cr3t-Pr0d!";
    let text = on_disk(&workspace, file).replacen(
        "  \"namespace\": \"ingestion-uat\",",
        &format!("  \"generator_url\": \"postgres://ingest:{secret}@db.internal/orders\", \"namespace\": \"ingestion-dev\","),
        1,
    );
    workspace.write(file, &text);
    let out = check(&workspace, &["--diff"]);
    assert!(!out.stdout.contains(secret), "{}", out.stdout);
    assert!(!out.stderr.contains(secret), "{}", out.stderr);
    assert!(
        out.stdout.contains("+  \"generator_url\""),
        "{}",
        out.stdout
    );
    let out = check(&workspace, &["--format", "json"]);
    assert!(!out.stdout.contains(secret));
    let out = check(&workspace, &["--fix", "--unsafe-fixes"]);
    assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    assert_eq!(
        on_disk(&workspace, file),
        text.replacen("\"ingestion-dev\"", "\"ingestion-uat\"", 1),
        "only the namespace changed; the secret is the file's own"
    );
}

#[test]
fn json_and_sarif_reports_carry_the_fix() {
    let case = CASES
        .iter()
        .find(|c| c.name == "misspelt-property")
        .expect("the case");
    let workspace = planted(case);
    let out = check(&workspace, &["--format", "json"]);
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let finding = report["diagnostics"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|d| d["rule"] == "PG010")
        .expect("the misspelt key");
    let before = fixture(case.name, "before.json");
    let at = before.find("\"timezon\"").expect("planted");
    assert_eq!(
        finding["fix"],
        serde_json::json!({
            "title": "rename to `timezone`",
            "applicability": "safe",
            "edits": [{
                "start": finding["start"],
                "end": finding["end"],
                "range": {"start": at, "end": at + "\"timezon\"".len()},
                "content": "\"timezone\"",
            }],
        })
    );
    common::assert_valid(&out.stdout, "schemas/report.schema.json");

    let out = check(&workspace, &["--format", "sarif"]);
    common::assert_valid(&out.stdout, "tests/data/sarif-schema-2.1.0.json");
    let sarif: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let result = results
        .iter()
        .find(|r| r["ruleId"] == "PG010")
        .expect("the misspelt key");
    assert!(
        results
            .iter()
            .all(|r| r == result || r.get("fixes").is_none())
    );
    let fix = &result["fixes"][0];
    assert_eq!(fix["description"]["text"], "rename to `timezone`");
    let change = &fix["artifactChanges"][0];
    assert_eq!(change["artifactLocation"]["uri"], case.target);
    assert_eq!(
        change["replacements"][0]["insertedContent"]["text"],
        "\"timezone\""
    );
    assert_eq!(
        change["replacements"][0]["deletedRegion"],
        result["locations"][0]["physicalLocation"]["region"]
    );
}
