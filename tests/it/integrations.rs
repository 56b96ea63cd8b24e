//! What planguard ships for other tools: the GitHub Action (action.yml, its
//! scripts run the way the runner runs them), the example workflow, the
//! problem matcher for `--format concise` and Vim's reading of that format,
//! and the pre-commit manifest (the hooks themselves run in tests/it/pre_commit.rs).

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::workspace::Workspace;
use common::{planguard, root, run, venv_bin};
use serde_json::Value;

/// A YAML file as JSON, read by PyYAML from the test environment (pre-commit
/// depends on it), the parser pre-commit itself reads manifests with.
fn yaml(path: &str) -> Value {
    let output = Command::new(common::python())
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
        ])
        .arg(root().join(path))
        .output()
        .expect("the test Python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn check_jsonschema(schema: &str, file: &str) {
    let out = run(Command::new(venv_bin("check-jsonschema"))
        .args(["--builtin-schema", schema])
        .arg(root().join(file)));
    assert_eq!(out.code, 0, "{file}:\n{}{}", out.stdout, out.stderr);
}

#[test]
fn action_yml_is_a_valid_action() {
    check_jsonschema("vendor.github-actions", "action.yml");
}

#[test]
fn the_example_workflow_is_a_valid_workflow() {
    check_jsonschema("vendor.github-workflows", "examples/github/planguard.yml");
}

#[test]
fn every_run_step_declares_its_shell_and_takes_inputs_through_env() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().expect("steps");
    let mut scripts = 0;
    for step in steps {
        let name = step["name"].as_str().expect("every step is named");
        if let Some(script) = step["run"].as_str() {
            scripts += 1;
            assert!(step["shell"].is_string(), "step {name:?} has no shell");
            assert!(
                !script.contains("${{"),
                "step {name:?} expands an expression inside its script"
            );
        } else {
            let uses = step["uses"].as_str().expect("a step runs or uses");
            assert!(uses.contains('@'), "step {name:?} uses an unpinned {uses}");
        }
    }
    assert!(scripts >= 4, "the action's scripts were not found");
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("the action uploads SARIF");
    assert_eq!(
        upload["with"]["category"],
        "${{ steps.check.outputs.category }}"
    );
}

/// One `run` step of action.yml, run as the runner runs `shell: bash`
/// (`bash --noprofile --norc -eo pipefail {0}`), with planguard on the PATH.
struct Step {
    code: i32,
    stdout: String,
    outputs: HashMap<String, String>,
}

fn run_step(name: &str, dir: &Path, env: &[(&str, &str)]) -> Step {
    run_script(&action_script(name), dir, env)
}

/// The script of one step of action.yml.
fn action_script(name: &str) -> String {
    let action = yaml("action.yml");
    let step = action["runs"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name:?}"))
        .clone();
    assert_eq!(step["shell"], "bash");
    step["run"].as_str().expect("a script").to_string()
}

/// A bash script of a workflow or action step, run as the runner runs it.
fn run_script(text: &str, dir: &Path, env: &[(&str, &str)]) -> Step {
    let scratch = tempfile::tempdir().expect("tempdir");
    let script = scratch.path().join("step.sh");
    std::fs::write(&script, text).expect("write");
    let outputs = scratch.path().join("outputs");
    std::fs::write(&outputs, "").expect("write");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_planguard"));
    let path = std::env::join_paths(
        std::iter::once(bin.parent().expect("a folder").to_path_buf()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ),
    )
    .expect("PATH");
    let out = run(Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&script)
        .current_dir(dir)
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_ACTION_PATH", root())
        .env("GITHUB_ACTOR", "someone")
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", scratch.path())
        .env_remove("NO_COLOR")
        .envs(env.iter().copied()));
    let outputs = std::fs::read_to_string(&outputs)
        .expect("outputs")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Step {
        code: out.code,
        stdout: format!("{}{}", out.stdout, out.stderr),
        outputs,
    }
}

/// The Check step's inputs, as the action passes them by default.
fn check_inputs<'a>(more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("PATHS", "."),
        ("FORMAT", "github"),
        ("FAIL_ON_WARN", "false"),
        ("ARGS", ""),
        ("SARIF_FILE", "planguard.sarif"),
        ("JOB_SUMMARY", "true"),
    ];
    for (key, value) in more {
        env.retain(|(k, _)| k != key);
        env.push((key, value));
    }
    env
}

fn sarif_results(dir: &Path) -> usize {
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("planguard.sarif")).expect("SARIF"))
            .expect("JSON");
    sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .len()
}

#[test]
fn the_check_step_records_the_verdict_and_writes_sarif_even_with_findings() {
    let clean = Workspace::copy_of("fixtures/workspaces/clean");
    let step = run_step("Check", clean.dir.path(), &check_inputs(&[]));
    assert_eq!(step.code, 0, "{}", step.stdout);
    assert_eq!(step.outputs["exit-code"], "0", "{}", step.stdout);
    assert_eq!(step.outputs["sarif-file"], "planguard.sarif");
    assert_eq!(sarif_results(clean.dir.path()), 0);

    // Findings: the step itself succeeds (so that the upload runs), the exit
    // status waits for the verdict, and SARIF holds every finding.
    let salam = Workspace::copy_of("examples/salam");
    let step = run_step("Check", salam.dir.path(), &check_inputs(&[]));
    assert_eq!(step.code, 0, "{}", step.stdout);
    assert_eq!(step.outputs["exit-code"], "1", "{}", step.stdout);
    assert_eq!(step.outputs["sarif-file"], "planguard.sarif");
    assert_eq!(sarif_results(salam.dir.path()), 8);
    assert_eq!(
        step.stdout.matches("::error file=").count(),
        8,
        "{}",
        step.stdout
    );

    // The job summary gets the Markdown table when the runner offers one.
    let summary = salam.dir.path().join("summary.md");
    std::fs::write(&summary, "").expect("write");
    let summary_path = summary.to_string_lossy().into_owned();
    let step = run_step(
        "Check",
        salam.dir.path(),
        &check_inputs(&[("GITHUB_STEP_SUMMARY", summary_path.as_str())]),
    );
    assert_eq!(step.outputs["exit-code"], "1", "{}", step.stdout);
    let table = std::fs::read_to_string(&summary).expect("summary");
    assert!(
        table.starts_with("### planguard: 8 errors, 0 warnings in 14 files"),
        "{table}"
    );
    assert_eq!(table.matches("| ❌ |").count(), 8, "{table}");

    // A failure of planguard itself: exit status 2, and no report to upload.
    let step = run_step(
        "Check",
        clean.dir.path(),
        &check_inputs(&[("PATHS", "no/such/folder")]),
    );
    assert_eq!(step.code, 0, "{}", step.stdout);
    assert_eq!(step.outputs["exit-code"], "2", "{}", step.stdout);
    assert_eq!(step.outputs["sarif-file"], "");
}

#[test]
fn the_check_step_passes_paths_args_and_fail_on_warn_through() {
    let ws = Workspace::copy_of("fixtures/workspaces/clean");
    std::fs::create_dir(ws.dir.path().join("policy")).expect("mkdir");
    ws.write(
        "policy/owner.rego",
        "package main\nimport rego.v1\n\
         warn contains {\"rule\": \"TEAM001\", \"msg\": \"no owner\"} if { not input.owner }\n",
    );
    let warn_only = run_step(
        "Check",
        ws.dir.path(),
        &check_inputs(&[
            ("PATHS", "conf\norchestration_plans/dev"),
            ("ARGS", "--policy policy"),
        ]),
    );
    assert_eq!(warn_only.outputs["exit-code"], "0", "{}", warn_only.stdout);
    assert!(warn_only.stdout.contains("::warning file=conf/dev.json"));
    assert!(!warn_only.stdout.contains("orchestration_plans/uat"));
    let failing = run_step(
        "Check",
        ws.dir.path(),
        &check_inputs(&[
            ("PATHS", "conf"),
            ("ARGS", "--policy policy"),
            ("FAIL_ON_WARN", "true"),
        ]),
    );
    assert_eq!(failing.outputs["exit-code"], "1", "{}", failing.stdout);
}

#[test]
fn the_concise_format_registers_the_problem_matcher() {
    let salam = Workspace::copy_of("examples/salam");
    let step = run_step(
        "Check",
        salam.dir.path(),
        &check_inputs(&[("FORMAT", "concise")]),
    );
    assert_eq!(step.outputs["exit-code"], "1", "{}", step.stdout);
    let matcher = root().join(".github/planguard-problem-matcher.json");
    let add = format!("::add-matcher::{}", matcher.display());
    assert!(step.stdout.contains(&add), "{}", step.stdout);
    assert!(step.stdout.contains("::remove-matcher owner=planguard::"));
    assert!(step.stdout.contains("conf/uat.json:29:11: error[PG002]"));
    let step = run_step(
        "Check",
        salam.dir.path(),
        &check_inputs(&[("FORMAT", "sarif")]),
    );
    assert_eq!(
        step.outputs["exit-code"], "2",
        "an unknown format is a failure"
    );
}

#[test]
fn the_verdict_step_fails_on_findings_and_loudly_on_a_failure() {
    let dir = root();
    let verdict = |code: &str, fail: &str| {
        run_step(
            "Verdict",
            &dir,
            &[("CODE", code), ("FAIL_ON_FINDINGS", fail)],
        )
    };
    assert_eq!(verdict("0", "true").code, 0);
    let findings = verdict("1", "true");
    assert_eq!(findings.code, 1);
    assert!(findings.stdout.contains("::error title=planguard::"));
    let tolerated = verdict("1", "false");
    assert_eq!(tolerated.code, 0);
    assert!(tolerated.stdout.contains("::warning title=planguard::"));
    assert_eq!(verdict("2", "false").code, 2);
    // The check step never ran (installation failed): no status at all.
    assert_eq!(verdict("", "false").code, 2);
}

#[test]
fn the_sarif_upload_is_skipped_where_the_token_cannot_write() {
    let dir = root();
    let decide = |env: &[(&str, &str)]| {
        let mut all = vec![
            ("UPLOAD", "true"),
            ("SARIF_FILE", "planguard.sarif"),
            ("EVENT", "pull_request"),
            ("HEAD_REPOSITORY", "acme/ingestion"),
            ("REPOSITORY", "acme/ingestion"),
        ];
        all.extend_from_slice(env);
        let step = run_step("Decide on the SARIF upload", &dir, &all);
        assert_eq!(step.code, 0, "{}", step.stdout);
        step.outputs["upload"].clone()
    };
    assert_eq!(decide(&[]), "true");
    assert_eq!(
        decide(&[("EVENT", "push"), ("HEAD_REPOSITORY", "")]),
        "true"
    );
    assert_eq!(decide(&[("HEAD_REPOSITORY", "someone/ingestion")]), "false");
    assert_eq!(
        decide(&[
            ("EVENT", "pull_request_target"),
            ("HEAD_REPOSITORY", "someone/ingestion")
        ]),
        "false"
    );
    assert_eq!(decide(&[("GITHUB_ACTOR", "dependabot[bot]")]), "false");
    assert_eq!(decide(&[("UPLOAD", "false")]), "false");
    assert_eq!(decide(&[("SARIF_FILE", "")]), "false");
}

#[test]
fn the_install_plan_keys_the_cache_by_the_action_sources() {
    let dir = root();
    let plan = |source: &str, version: &str| {
        run_step(
            "Plan the installation",
            &dir,
            &[("SOURCE", source), ("VERSION", version)],
        )
    };
    let own = plan("action", "");
    assert_eq!(own.code, 0, "{}", own.stdout);
    let key = &own.outputs["key"];
    let digest = key
        .strip_prefix("planguard-Linux-X64-")
        .expect("keyed by runner");
    assert!(
        digest.len() == 16 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "{key}"
    );
    assert_eq!(plan("action", "").outputs["key"], *key, "stable");
    assert_eq!(
        plan("crates-io", "0.1.0").outputs["key"],
        "planguard-Linux-X64-crates-io-0.1.0"
    );
    assert_eq!(
        plan("action", "0.1.0").code,
        2,
        "version needs another source"
    );
}

/// The concise report of `dir` and the same findings as JSON.
fn concise_and_json(dir: &str, args: &[&str]) -> (String, Vec<Value>) {
    let concise = run(planguard()
        .current_dir(dir)
        .args(["check", "--format", "concise"])
        .args(args));
    assert_eq!(concise.code, 1, "{}", concise.stderr);
    let json = run(planguard()
        .current_dir(dir)
        .args(["check", "--format", "json"])
        .args(args));
    let report: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let diagnostics = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .clone();
    (concise.stdout, diagnostics)
}

/// The problem matcher's patterns, compiled as written: they use only what
/// JavaScript's and Rust's regex syntaxes share.
fn matcher_patterns() -> Vec<(regex::Regex, Value)> {
    let file: Value = serde_json::from_str(&common::read(".github/planguard-problem-matcher.json"))
        .expect("the problem matcher is JSON");
    file["problemMatcher"]
        .as_array()
        .expect("matchers")
        .iter()
        .map(|m| {
            let pattern = &m["pattern"][0];
            let regexp = pattern["regexp"].as_str().expect("regexp");
            (
                regex::Regex::new(regexp).expect("a valid regexp"),
                pattern.clone(),
            )
        })
        .collect()
}

fn group<'a>(captures: &regex::Captures<'a>, pattern: &Value, name: &str) -> Option<&'a str> {
    let index = pattern[name].as_u64()?;
    captures.get(index as usize).map(|m| m.as_str())
}

#[test]
fn the_problem_matcher_reads_every_concise_line() {
    let patterns = matcher_patterns();
    assert_eq!(patterns.len(), 2);
    let (located, unlocated) = (&patterns[0], &patterns[1]);

    let (concise, diagnostics) = concise_and_json("examples/salam", &[]);
    let lines: Vec<&str> = concise.lines().collect();
    assert_eq!(lines.len(), diagnostics.len());
    assert_eq!(lines.len(), 8);
    for (line, d) in lines.iter().zip(&diagnostics) {
        let (re, pattern) = located;
        let c = re
            .captures(line)
            .unwrap_or_else(|| panic!("no match: {line}"));
        let line_number = d["start"]["line"].as_u64().expect("line").to_string();
        let column = d["start"]["column"].as_u64().expect("column").to_string();
        assert_eq!(group(&c, pattern, "file"), d["file"].as_str(), "{line}");
        assert_eq!(group(&c, pattern, "line"), Some(line_number.as_str()));
        assert_eq!(group(&c, pattern, "column"), Some(column.as_str()));
        assert_eq!(group(&c, pattern, "severity"), d["severity"].as_str());
        assert_eq!(group(&c, pattern, "code"), d["rule"].as_str());
        assert_eq!(group(&c, pattern, "message"), d["message"].as_str());
        assert!(!unlocated.0.is_match(line), "{line}");
    }

    // A cross-file finding that names no file has no location.
    let ws = Workspace::copy_of("fixtures/workspaces/clean");
    std::fs::create_dir(ws.dir.path().join("policy")).expect("mkdir");
    ws.write(
        "policy/owners.rego",
        "package project\nimport rego.v1\n\
         deny contains {\"rule\": \"TEAM900\", \"msg\": \"every environment needs an owner\"} if { count(input) > 0 }\n",
    );
    let (concise, diagnostics) = concise_and_json(&ws.path(), &["--policy", "policy"]);
    assert_eq!(concise, "error[TEAM900] every environment needs an owner\n");
    assert!(diagnostics[0]["file"].is_null(), "{diagnostics:?}");
    let (re, pattern) = unlocated;
    let c = re
        .captures(concise.trim_end())
        .expect("the unlocated pattern matches");
    assert_eq!(group(&c, pattern, "severity"), Some("error"));
    assert_eq!(group(&c, pattern, "code"), Some("TEAM900"));
    assert_eq!(
        group(&c, pattern, "message"),
        Some("every environment needs an owner")
    );
    assert!(!located.0.is_match(concise.trim_end()));
}

/// Vim's default 'errorformat' (its `%f:%l:%c:%m` entry) reads the concise
/// format into the quickfix list. Vim is not installed by scripts/test: on a
/// machine without it this test fails and says so.
#[test]
fn vim_reads_the_concise_format_into_its_quickfix_list() {
    let (concise, diagnostics) = concise_and_json("examples/salam", &[]);
    let scratch = tempfile::tempdir().expect("tempdir");
    let report = scratch.path().join("report.txt");
    let quickfix = scratch.path().join("quickfix.json");
    std::fs::write(&report, &concise).expect("write");
    let output = Command::new("vim")
        .args(["-es", "-u", "NONE", "-i", "NONE", "-N"])
        .arg("-c")
        .arg(format!("cgetexpr readfile('{}')", report.display()))
        .arg("-c")
        .arg(format!(
            "call writefile([json_encode(map(getqflist(), \
             {{_, e -> {{'file': bufname(e.bufnr), 'lnum': e.lnum, 'col': e.col, 'text': e.text, 'valid': e.valid}}}}))], '{}')",
            quickfix.display()
        ))
        .args(["-c", "qa!"])
        .current_dir(root())
        .output()
        .expect("vim is installed (apt-get install vim)");
    assert!(output.status.success(), "vim: {output:?}");
    let entries: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&quickfix).expect("vim wrote the list"))
            .expect("JSON");
    assert_eq!(entries.len(), diagnostics.len());
    for (entry, d) in entries.iter().zip(&diagnostics) {
        assert_eq!(entry["valid"], 1, "{entry}");
        assert_eq!(entry["file"], d["file"], "{entry}");
        assert_eq!(entry["lnum"], d["start"]["line"], "{entry}");
        assert_eq!(entry["col"], d["start"]["column"], "{entry}");
        let text = format!(
            "{}[{}] {}",
            d["severity"].as_str().expect("severity"),
            d["rule"].as_str().expect("rule"),
            d["message"].as_str().expect("message")
        );
        assert_eq!(entry["text"].as_str().map(str::trim), Some(text.as_str()));
    }
}

#[test]
fn the_pre_commit_manifest_is_valid() {
    let out = run(Command::new(venv_bin("pre-commit"))
        .args(["validate-manifest"])
        .arg(root().join(".pre-commit-hooks.yaml")));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

/// The hooks' `files` regexes, applied as pre-commit applies them (Python's
/// `re.search` on paths relative to the repository root).
#[test]
fn the_hooks_select_configs_plans_policies_and_settings() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let files = |id: &str| {
        hooks
            .as_array()
            .expect("a list of hooks")
            .iter()
            .find(|h| h["id"] == id)
            .unwrap_or_else(|| panic!("no hook {id}"))["files"]
            .as_str()
            .expect("files")
            .to_string()
    };
    let paths = [
        "conf/prod.json",
        "services/ingest/conf/dev.json",
        "orchestration_plans/prod/42.json",
        "services/ingest/orchestration_plans/uat/7.json",
        "policy/team.rego",
        "planguard.toml",
        "services/ingest/planguard.toml",
        "conf/extra/prod.json",
        "orchestration_plans/prod.json",
        "orchestration_plans/prod/42.yaml",
        "myconf/prod.json",
        "README.md",
    ];
    let selected = |regex: &str| -> Vec<String> {
        let output = Command::new(common::python())
            .args([
                "-c",
                "import re, sys; print('\\n'.join(p for p in sys.argv[2:] if re.search(sys.argv[1], p)))",
                regex,
            ])
            .args(paths)
            .output()
            .expect("the test Python runs");
        String::from_utf8(output.stdout)
            .expect("UTF-8")
            .lines()
            .map(String::from)
            .collect()
    };
    assert_eq!(
        selected(&files("planguard")),
        paths[..4].to_vec(),
        "the staged-files hook"
    );
    assert_eq!(
        selected(&files("planguard-workspace")),
        paths[..7].to_vec(),
        "the whole-tree hook"
    );
}

#[test]
fn the_release_workflow_is_a_valid_workflow() {
    check_jsonschema("vendor.github-workflows", ".github/workflows/release.yml");
}

/// The action checks once: one `planguard check` writes the log's format,
/// the SARIF report and the job summary (`--report`); the SARIF category
/// names the shard of a `--shard I/N` matrix so that its jobs' uploads do
/// not replace one another.
#[test]
fn the_check_step_checks_once_and_names_the_sarif_category_by_shard() {
    assert_eq!(
        action_script("Check").matches("planguard check").count(),
        1,
        "one check per run"
    );
    let ws = Workspace::copy_of("fixtures/workspaces/clean");
    let category = |args: &str| {
        let step = run_step("Check", ws.dir.path(), &check_inputs(&[("ARGS", args)]));
        assert_eq!(step.outputs["exit-code"], "0", "{}", step.stdout);
        step.outputs["category"].clone()
    };
    assert_eq!(category(""), "planguard");
    assert_eq!(category("--shard 2/4"), "planguard-shard-2-of-4");
    assert_eq!(category("--shard=1/2"), "planguard-shard-1-of-2");
    // Each shard's SARIF holds its own files' findings only.
    let salam = Workspace::copy_of("examples/salam");
    let whole = run_step("Check", salam.dir.path(), &check_inputs(&[]));
    assert_eq!(whole.outputs["exit-code"], "1", "{}", whole.stdout);
    let all = sarif_results(salam.dir.path());
    assert!(all > 1, "examples/salam has findings to split");
    let mut total = 0;
    for shard in ["1/2", "2/2"] {
        let args = format!("--shard {shard}");
        let step = run_step(
            "Check",
            salam.dir.path(),
            &check_inputs(&[("ARGS", args.as_str())]),
        );
        assert_eq!(step.outputs["exit-code"], "1", "{}", step.stdout);
        total += sarif_results(salam.dir.path());
    }
    assert_eq!(total, all, "every finding in exactly one shard's report");
}

/// Where the action installs from, by its own ref: the release archive of
/// the runner's platform when the ref is the tag of the version its sources
/// declare, else (a branch, a commit, a local `uses: ./`, another tag) a
/// build of its sources.
#[test]
fn the_install_plan_takes_the_release_of_the_actions_own_tag() {
    let dir = root();
    let tag = planguard::links::TAG;
    let plan = |env: &[(&str, &str)]| {
        let mut all = vec![("SOURCE", "action"), ("VERSION", "")];
        all.extend_from_slice(env);
        let step = run_step("Plan the installation", &dir, &all);
        assert_eq!(step.code, 0, "{}", step.stdout);
        step.outputs
    };
    let release = plan(&[("ACTION_REF", tag)]);
    assert_eq!(release["method"], "release");
    assert_eq!(release["tag"], tag);
    assert_eq!(
        release["asset"],
        format!("planguard-{tag}-x86_64-unknown-linux-musl.tar.gz")
    );
    for (os, arch, asset) in [
        ("Linux", "ARM64", "aarch64-unknown-linux-musl.tar.gz"),
        ("macOS", "X64", "x86_64-apple-darwin.tar.gz"),
        ("macOS", "ARM64", "aarch64-apple-darwin.tar.gz"),
        ("Windows", "X64", "x86_64-pc-windows-msvc.zip"),
    ] {
        let outputs = plan(&[
            ("ACTION_REF", tag),
            ("RUNNER_OS", os),
            ("RUNNER_ARCH", arch),
        ]);
        assert_eq!(outputs["asset"], format!("planguard-{tag}-{asset}"));
    }
    for other in [
        "main",
        "0123456789abcdef0123456789abcdef01234567",
        "",
        "v0.0.1",
    ] {
        let outputs = plan(&[("ACTION_REF", other)]);
        assert_eq!(outputs["method"], "source", "{other:?}");
        assert_eq!(outputs["asset"], "", "{other:?}");
    }
    // A runner no release is built for.
    let outputs = plan(&[("ACTION_REF", tag), ("RUNNER_ARCH", "ARM")]);
    assert_eq!(outputs["method"], "source");
}

/// One release archive, made by the release workflow's own Archive step
/// from a binary, installed by the action's own Install step from a local
/// release folder laid out as GitHub serves one: the names the workflow, the
/// action and `cargo binstall` use agree, the sha256 is verified (a wrong
/// one is refused), the binary lands on the PATH and the job summary says
/// where it came from and how long it took. Without an archive for its tag
/// the step falls back to the source build (here its cache).
#[test]
fn a_release_archive_installs_through_the_action_and_binstall_names_it() {
    let tag = planguard::links::TAG;
    let target = "x86_64-unknown-linux-musl";
    let asset = format!("planguard-{tag}-{target}.tar.gz");

    // The release workflow's Archive step, on a binary where cargo puts it.
    let build = tempfile::tempdir().expect("tempdir");
    let release_dir = build.path().join(format!("target/{target}/release"));
    std::fs::create_dir_all(&release_dir).expect("mkdir");
    std::fs::copy(
        env!("CARGO_BIN_EXE_planguard"),
        release_dir.join("planguard"),
    )
    .expect("copy");
    for file in ["LICENSE", "README.md"] {
        std::fs::copy(root().join(file), build.path().join(file)).expect("copy");
    }
    let workflow = yaml(".github/workflows/release.yml");
    let archive = workflow["jobs"]["binaries"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "Archive")
        .expect("an Archive step")["run"]
        .as_str()
        .expect("a script")
        .to_string();
    let step = run_script(
        &archive,
        build.path(),
        &[("TARGET", target), ("TAG", tag), ("RUNNER_OS", "Linux")],
    );
    assert_eq!(step.code, 0, "{}", step.stdout);
    let dist = build.path().join("dist");
    let mut made: Vec<String> = std::fs::read_dir(&dist)
        .expect("dist")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    made.sort();
    assert_eq!(made, [asset.clone(), format!("{asset}.sha256")]);

    // cargo binstall's templates name the same archive and the binary in it.
    let cargo: toml::Table = common::read("Cargo.toml").parse().expect("Cargo.toml");
    let binstall = &cargo["package"]["metadata"]["binstall"];
    let expand = |template: &str| {
        template
            .replace("{ repo }", planguard::links::REPOSITORY)
            .replace("{ version }", env!("CARGO_PKG_VERSION"))
            .replace("{ name }", "planguard")
            .replace("{ target }", target)
            .replace("{ archive-suffix }", ".tar.gz")
            .replace("{ bin }", "planguard")
            .replace("{ binary-ext }", "")
    };
    assert_eq!(
        expand(binstall["pkg-url"].as_str().expect("pkg-url")),
        format!(
            "{}/releases/download/{tag}/{asset}",
            planguard::links::REPOSITORY
        )
    );
    assert_eq!(binstall["pkg-fmt"].as_str(), Some("tgz"));
    let listed = run(Command::new("tar").arg("tzf").arg(dist.join(&asset)));
    let bin_dir = expand(binstall["bin-dir"].as_str().expect("bin-dir"));
    assert!(
        listed.stdout.lines().any(|l| l == bin_dir),
        "{bin_dir} not in {asset}:\n{}",
        listed.stdout
    );

    // A release folder as GitHub serves it: releases/download/<tag>/<asset>.
    let releases = tempfile::tempdir().expect("tempdir");
    let served = releases.path().join(tag);
    std::fs::create_dir_all(&served).expect("mkdir");
    for file in &made {
        std::fs::copy(dist.join(file), served.join(file)).expect("copy");
    }
    let base = format!("file://{}", releases.path().display());

    // The README's download lines, as written, against that folder.
    let readme = common::read("README.md");
    let first = readme
        .find("\nasset=")
        .expect("the README's download lines")
        + 1;
    let last = first
        + readme[first..]
            .find("~/.local/bin/planguard\n")
            .expect("the README's install line")
        + "~/.local/bin/planguard".len();
    let download = format!("{}/releases/download", planguard::links::REPOSITORY);
    let lines = &readme[first..last];
    assert!(lines.contains(&format!("asset={asset}\n")), "{lines}");
    assert!(lines.contains(&download), "{lines}");
    let home = tempfile::tempdir().expect("tempdir");
    let step = run_script(
        &format!("set -euo pipefail\n{}\n", lines.replace(&download, &base)),
        home.path(),
        &[("HOME", home.path().to_str().expect("UTF-8"))],
    );
    assert_eq!(step.code, 0, "{lines}\n{}", step.stdout);
    let version = run(Command::new(home.path().join(".local/bin/planguard")).arg("--version"));
    assert_eq!(
        version.stdout.trim(),
        format!("planguard {}", env!("CARGO_PKG_VERSION"))
    );
    let plan = run_step(
        "Plan the installation",
        &root(),
        &[("SOURCE", "action"), ("VERSION", ""), ("ACTION_REF", tag)],
    );
    assert_eq!(plan.outputs["asset"], asset);

    let install = |tag: &str, cached: &str| {
        let scratch = tempfile::tempdir().expect("tempdir");
        let root_dir = scratch.path().join("planguard");
        let github_path = scratch.path().join("path");
        let summary = scratch.path().join("summary.md");
        std::fs::write(&github_path, "").expect("write");
        std::fs::write(&summary, "").expect("write");
        let asset = format!("planguard-{tag}-{target}.tar.gz");
        let root_text = root_dir.to_string_lossy().into_owned();
        let path_text = github_path.to_string_lossy().into_owned();
        let summary_text = summary.to_string_lossy().into_owned();
        if cached == "true" {
            // What restoring an earlier build from the cache leaves.
            std::fs::create_dir_all(root_dir.join("bin")).expect("mkdir");
            std::fs::copy(
                env!("CARGO_BIN_EXE_planguard"),
                root_dir.join("bin/planguard"),
            )
            .expect("copy");
        }
        let step = run_step(
            "Install planguard",
            &root(),
            &[
                ("SOURCE", "action"),
                ("VERSION", ""),
                ("METHOD", "release"),
                ("TAG", tag),
                ("ASSET", asset.as_str()),
                ("ROOT", root_text.as_str()),
                ("CACHED", cached),
                ("RELEASES", base.as_str()),
                ("GITHUB_PATH", path_text.as_str()),
                ("GITHUB_STEP_SUMMARY", summary_text.as_str()),
            ],
        );
        let summary = std::fs::read_to_string(&summary).expect("summary");
        let path = std::fs::read_to_string(&github_path).expect("path");
        let installed = root_dir.join("bin/planguard").is_file();
        (scratch, step, summary, path, installed)
    };

    let (_scratch, step, summary, path, installed) = install(tag, "");
    assert_eq!(step.code, 0, "{}", step.stdout);
    assert!(installed, "{}", step.stdout);
    assert!(path.trim_end().ends_with("planguard/bin"), "{path}");
    let said = format!(
        "planguard {} installed from the release asset {asset} (sha256 verified) in ",
        env!("CARGO_PKG_VERSION")
    );
    assert!(summary.starts_with(&said), "{summary}");

    // A sha256 that does not match: refused, nothing installed.
    std::fs::write(
        served.join(format!("{asset}.sha256")),
        format!("{}  {asset}\n", "0".repeat(64)),
    )
    .expect("write");
    let (_scratch, step, _, path, installed) = install(tag, "");
    assert_eq!(step.code, 1, "{}", step.stdout);
    assert!(
        step.stdout.contains("::error title=planguard::") && step.stdout.contains("sha256"),
        "{}",
        step.stdout
    );
    assert!(!installed && path.is_empty(), "{}", step.stdout);

    // No archive for this tag: the sources' build instead (restored here
    // from the cache, as the action's cache step would).
    let (_scratch, step, summary, _, installed) = install("v0.0.1", "true");
    assert_eq!(step.code, 0, "{}", step.stdout);
    assert!(
        step.stdout
            .contains("::notice title=planguard::no release asset"),
        "{}",
        step.stdout
    );
    assert!(installed);
    assert!(
        summary.contains("installed from the cache of an earlier build"),
        "{summary}"
    );
}

/// `check --report FORMAT=FILE` (repeatable) writes, in one run, each
/// format's bytes exactly as a separate run with `--format FORMAT` prints
/// them; a report that cannot be written fails the run (exit 2) and names
/// the file.
#[test]
fn one_check_writes_every_report_as_separate_runs_print_them() {
    let formats = [
        "human",
        "concise",
        "json",
        "json-lines",
        "sarif",
        "github",
        "junit",
        "gitlab",
        "markdown",
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = planguard();
    cmd.args(["check", "--no-cache", "--format", "concise"]);
    for format in formats {
        cmd.arg("--report")
            .arg(format!("{format}={}", dir.path().join(format).display()));
    }
    let once = run(cmd.arg("examples/salam"));
    assert_eq!(once.code, 1, "{}", once.stderr);
    let concise = run(planguard().args([
        "check",
        "--no-cache",
        "--format",
        "concise",
        "examples/salam",
    ]));
    assert_eq!(once.stdout, concise.stdout, "--report leaves stdout alone");
    for format in formats {
        let separate =
            run(planguard().args(["check", "--no-cache", "--format", format, "examples/salam"]));
        assert_eq!(separate.code, 1);
        let written = std::fs::read_to_string(dir.path().join(format)).expect("written");
        assert_eq!(
            normalize_elapsed(&written),
            normalize_elapsed(&separate.stdout),
            "{format}"
        );
    }

    let unwritable = run(planguard().args([
        "check",
        "--report",
        "sarif=README.md/x.sarif",
        "examples/salam",
    ]));
    assert_eq!(unwritable.code, 2, "{}", unwritable.stderr);
    assert!(
        unwritable.stderr.contains("README.md/x.sarif"),
        "{}",
        unwritable.stderr
    );
    for bad in ["sarif", "pdf=x", "=x", "sarif="] {
        let out = run(planguard().args(["check", "--report", bad, "examples/salam"]));
        assert_eq!(out.code, 2, "--report {bad}: {}", out.stderr);
        assert!(out.stderr.contains("--report"), "{}", out.stderr);
    }
}

/// The time a run took, which the summary line of `human` and `github`
/// states (`Checked 14 files in 0.15s: …`), as `<elapsed>`; everything else
/// is compared byte for byte.
fn normalize_elapsed(text: &str) -> String {
    let elapsed = regex::Regex::new(r"(?m)^(Checked .*) in [0-9.]+m?s:").expect("regex");
    elapsed.replace_all(text, "$1 in <elapsed>:").into_owned()
}
