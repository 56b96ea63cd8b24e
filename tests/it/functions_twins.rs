//! The planguard.* Rego functions against their Python twins
//! (tests/support/planguard_functions.py), which the OPA cross-checks use:
//! same inputs, identical results, called directly and through each engine.
//! planguard.secrets, which takes documents, has its own test.

use crate::common;

use std::process::Command;

use planguard::check::{functions, secrets};
use serde_json::{Value, json};

/// What functions_twin_check.py printed, for files it read from `_dir`.
struct Twin {
    _dir: tempfile::TempDir,
    _outside: tempfile::TempDir,
    report: Value,
}

impl Twin {
    fn run() -> Self {
        // Inside the working folder, the file functions' sandbox.
        let dir = tempfile::tempdir_in(common::root().join("target")).expect("temp dir");
        std::fs::write(dir.path().join("abc"), "abc").expect("write abc");
        std::fs::write(dir.path().join("empty"), "").expect("write empty");
        let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        std::fs::write(dir.path().join("binary"), binary).expect("write binary");
        // Sparse, so the over-the-limit case costs no disk.
        std::fs::File::create(dir.path().join("big"))
            .and_then(|f| f.set_len(functions::FILE_SHA256_MAX_BYTES + 1))
            .expect("create big");
        // Links: one leading out of the sandbox to a readable file, one inside.
        let outside = tempfile::tempdir().expect("temp dir");
        std::fs::write(outside.path().join("abc"), "abc").expect("write outside");
        std::os::unix::fs::symlink(outside.path().join("abc"), dir.path().join("outside"))
            .expect("symlink");
        std::os::unix::fs::symlink("abc", dir.path().join("abc-alias")).expect("symlink");
        let output = Command::new(common::python())
            .arg(common::root().join("tests/support/functions_twin_check.py"))
            .arg(dir.path())
            .current_dir(common::root())
            .output()
            .expect("the test Python runs");
        assert!(
            output.status.success(),
            "functions_twin_check.py failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
        Self {
            _dir: dir,
            _outside: outside,
            report,
        }
    }

    fn inputs(&self, function: &str) -> Vec<&str> {
        self.report["input"][function]
            .as_array()
            .expect("inputs are a list")
            .iter()
            .map(|v| v.as_str().expect("every input is a string"))
            .collect()
    }

    /// Results as printed, with entropy's repr() strings read back as f64
    /// (Rust's parser is exact, so equal bits mean equal results).
    fn results(&self, side: &str, function: &str) -> Vec<Value> {
        let values = self.report[side][function]
            .as_array()
            .expect("results are a list");
        values
            .iter()
            .map(|v| match (function, v.as_str()) {
                ("entropy", Some(repr)) => json!(repr.parse::<f64>().expect("repr of a float")),
                _ => v.clone(),
            })
            .collect()
    }
}

const FUNCTIONS: [&str; 7] = [
    "cron_error",
    "timezone_valid",
    "entropy",
    "file_sha256",
    "duration_ns",
    "certificates",
    "path_error",
];

/// The Rust function's result, in the same JSON shape the script prints.
fn rust(function: &str, input: &str) -> Value {
    match function {
        "cron_error" => json!(functions::cron_error(input)),
        "timezone_valid" => json!(functions::timezone_valid(input)),
        "entropy" => json!(functions::entropy(input)),
        // Outside any workspace the working folder is the limit, as the
        // twin's is.
        "file_sha256" => json!(functions::Sandbox::working_folder().file_sha256(input)),
        "duration_ns" => json!(functions::duration_ns(input)),
        "certificates" => functions::Sandbox::working_folder().certificates(input),
        "path_error" => json!(functions::Sandbox::working_folder().path_error(input)),
        other => panic!("no function {other}"),
    }
}

/// A regorus result in the script's shape: numbers are f64 for entropy and
/// integers for durations, whatever regorus stores them as.
fn from_regorus(function: &str, value: &regorus::Value) -> Value {
    match function {
        "entropy" => json!(value.as_f64().expect("entropy is a number")),
        "duration_ns" => json!(value.as_i64().expect("duration_ns is an integer")),
        "timezone_valid" => json!(*value.as_bool().expect("timezone_valid is a boolean")),
        "certificates" => serde_json::from_str(&value.to_json_str().expect("JSON")).expect("JSON"),
        _ => json!(&**value.as_string().expect("a string result")),
    }
}

fn assert_same(function: &str, inputs: &[&str], left: &[Value], right: &[Value], what: &str) {
    assert_eq!(left.len(), inputs.len(), "{function}: result count");
    assert_eq!(right.len(), inputs.len(), "{function}: result count");
    let differences: Vec<String> = inputs
        .iter()
        .zip(left.iter().zip(right))
        .filter(|(_, (l, r))| l != r)
        .map(|(input, (l, r))| format!("  {function}({input:?}): {l} vs {r}"))
        .collect();
    assert!(
        differences.is_empty(),
        "{what} differ:\n{}",
        differences.join("\n")
    );
}

#[test]
fn python_twins_return_what_the_rust_functions_return() {
    let twin = Twin::run();
    for function in FUNCTIONS {
        let inputs = twin.inputs(function);
        let expected: Vec<Value> = inputs.iter().map(|i| rust(function, i)).collect();
        let python = twin.results("python", function);
        assert_same(
            function,
            &inputs,
            &expected,
            &python,
            "Rust and Python results",
        );
    }
    // The table must reach both outcomes, or agreement proves little.
    let cron = twin.results("python", "cron_error");
    assert!(cron.iter().filter(|r| *r == "").count() >= 15);
    assert!(cron.iter().filter(|r| *r != "").count() >= 15);
    let certificates = twin.results("python", "certificates");
    assert_eq!(
        certificates[2].as_array().map(Vec::len),
        Some(2),
        "the bundle"
    );
    assert_eq!(certificates[3], json!([]), "a missing file");
    // Both sides refuse what leads out, and read what stays in.
    let errors = twin.results("python", "path_error");
    let refused = |e: &&Value| e.as_str().is_some_and(|e| !e.is_empty());
    assert_eq!(errors.iter().filter(refused).count(), 3, "{errors:?}");
    let digests = twin.results("python", "file_sha256");
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(
        digests.iter().filter(|d| *d == abc).count(),
        3,
        "{digests:?}"
    );
}

/// planguard.secrets takes documents, not strings: its inputs and results are
/// compared as JSON, document by document.
#[test]
fn the_secret_scanner_and_its_twin_agree_on_every_document() {
    let twin = Twin::run();
    let documents = twin.report["input"]["secrets"]
        .as_array()
        .expect("documents are a list");
    let rust: Vec<Value> = documents
        .iter()
        .map(|doc| {
            let found = secrets::secrets(&regorus::Value::from(doc.clone()));
            serde_json::from_str(&found.to_json_str().expect("JSON")).expect("JSON")
        })
        .collect();
    let differences: Vec<String> = documents
        .iter()
        .zip(
            rust.iter()
                .zip(twin.report["python"]["secrets"].as_array().expect("list")),
        )
        .filter(|(_, (r, p))| r != p)
        .map(|(doc, (r, p))| format!("  {doc}:\n    Rust   {r}\n    Python {p}"))
        .collect();
    assert!(
        differences.is_empty(),
        "Rust and Python secrets differ:\n{}",
        differences.join("\n")
    );
    // The table reaches both outcomes and many kinds, or agreement proves little.
    let kinds: std::collections::BTreeSet<&str> = rust
        .iter()
        .flat_map(|rows| rows.as_array().expect("rows").iter())
        .filter_map(|row| row[1]["kind"].as_str())
        .collect();
    assert!(kinds.len() >= 25, "{kinds:?}");
    assert!(rust.iter().any(|rows| rows == &json!([])));
    // And OPA, through the same policy, with regorus.
    let mut engine = regorus::Engine::new();
    functions::register_all(&mut engine).expect("planguard functions register");
    engine
        .add_policy(
            "twins.rego".to_string(),
            twin.report["policy"].as_str().expect("policy").to_string(),
        )
        .expect("regorus parses the twin policy");
    engine.set_input(regorus::Value::from(twin.report["input"].clone()));
    let regorus = engine
        .eval_rule("data.twins.secrets".to_string())
        .expect("the twin policy evaluates in regorus");
    let regorus: Value = serde_json::from_str(&regorus.to_json_str().expect("JSON")).expect("JSON");
    assert_eq!(regorus, json!(rust), "regorus through Rego");
    assert_eq!(
        twin.report["opa"]["secrets"],
        json!(rust),
        "OPA through Rego"
    );
}

#[test]
fn opa_and_regorus_agree_on_the_same_policy() {
    let twin = Twin::run();
    let mut engine = regorus::Engine::new();
    functions::register_all(&mut engine).expect("planguard functions register");
    engine
        .add_policy(
            "twins.rego".to_string(),
            twin.report["policy"]
                .as_str()
                .expect("the policy is a string")
                .to_string(),
        )
        .expect("regorus parses the twin policy");
    engine.set_input(regorus::Value::from(twin.report["input"].clone()));
    for function in FUNCTIONS {
        let inputs = twin.inputs(function);
        let value = engine
            .eval_rule(format!("data.twins.{function}"))
            .expect("the twin policy evaluates in regorus");
        let regorus: Vec<Value> = value
            .as_array()
            .expect("each rule is a list")
            .iter()
            .map(|v| from_regorus(function, v))
            .collect();
        let opa = twin.results("opa", function);
        assert_same(function, &inputs, &regorus, &opa, "regorus and OPA results");
    }
}

#[test]
fn a_wrong_argument_type_is_an_error_naming_the_function_in_both_engines() {
    let twin = Twin::run();
    let mut engine = regorus::Engine::new();
    functions::register_all(&mut engine).expect("planguard functions register");
    engine
        .add_policy(
            "twins.rego".to_string(),
            twin.report["policy"]
                .as_str()
                .expect("the policy is a string")
                .to_string(),
        )
        .expect("regorus parses the twin policy");
    for function in FUNCTIONS {
        let expected = format!("planguard.{function} expects a string argument, got number");
        let opa = twin.report["type_errors"][function]
            .as_str()
            .expect("an OPA error message");
        assert!(opa.contains(&expected), "OPA: {opa}");
        let error = engine
            .eval_rule(format!("data.twins.type_error_{function}"))
            .expect_err("a number is not a string");
        let regorus = format!("{error:#}");
        assert!(regorus.contains(&expected), "regorus: {regorus}");
    }
}
