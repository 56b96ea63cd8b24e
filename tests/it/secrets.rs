//! The secret matrix: fixtures/secrets holds secrets in every kind of place
//! (nested arrays, odd keys, URLs after non-ASCII text, base64, a duplicate
//! key, a minified one-line plan, a file that does not parse), listed in
//! fixtures/secrets/secrets.txt, and the benchmark corpus (corpus/, every
//! family PG110 knows, listed in corpus/manifest.json). No byte sequence of any of them may appear in
//! anything planguard writes: every output format, `--output` files,
//! `--verbose`, the language server's messages, apply's refusal and its audit
//! log, and error messages.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use common::{planguard, root, workspace::Workspace};
use serde_json::{Value, json};

/// The secrets of the matrix (secrets.txt) and of the benchmark corpus
/// (corpus/manifest.json: the `text` of every secret item).
fn secrets() -> Vec<String> {
    let mut all: Vec<String> = common::read("fixtures/secrets/secrets.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    all.extend(
        corpus_items()
            .into_iter()
            .filter_map(|i| i["text"].as_str().map(str::to_string)),
    );
    all
}

/// The planted items of fixtures/secrets/corpus (scripts/bench/secrets_corpus.py).
fn corpus_items() -> Vec<Value> {
    let manifest: Value =
        serde_json::from_str(&common::read("fixtures/secrets/corpus/manifest.json"))
            .expect("the manifest is JSON");
    manifest["items"].as_array().expect("items").clone()
}

/// Fails naming the first secret found in `bytes`, and where.
fn assert_clean(what: &str, bytes: &[u8]) {
    for secret in secrets() {
        if let Some(at) = bytes
            .windows(secret.len())
            .position(|w| w == secret.as_bytes())
        {
            let from = at.saturating_sub(80);
            panic!(
                "{what} shows the secret {secret:?}: …{}…",
                String::from_utf8_lossy(&bytes[from..(at + secret.len() + 20).min(bytes.len())])
            );
        }
    }
}

fn output(cmd: &mut Command) -> (i32, Vec<u8>) {
    let out = cmd.output().expect("planguard runs");
    let mut bytes = out.stdout;
    bytes.extend(out.stderr);
    (out.status.code().unwrap_or(-1), bytes)
}

/// The fixture is what it claims: planguard finds each secret (so masking is
/// tested, not luck), or the file holding it does not parse.
#[test]
fn the_fixture_holds_what_the_secret_rules_find() {
    let (code, report) = common::check_json(&["fixtures/secrets"]);
    assert_eq!(code, 1);
    let diagnostics = report["diagnostics"].as_array().expect("array");
    let in_corpus = |d: &&Value| {
        d["file"]
            .as_str()
            .is_some_and(|f| f.starts_with("fixtures/secrets/corpus/"))
    };
    let rules: Vec<&str> = diagnostics
        .iter()
        .filter(|d| !in_corpus(d))
        .filter_map(|d| d["rule"].as_str())
        .collect();
    assert_eq!(
        rules.iter().filter(|r| **r == "PG110").count(),
        9,
        "{rules:?}"
    );
    // The corpus: a finding at each secret, none at a clean look-alike or
    // anywhere else.
    let mut found: Vec<String> = diagnostics
        .iter()
        .filter(in_corpus)
        .filter(|d| d["rule"] == "PG110")
        .map(|d| {
            format!(
                "{}{}",
                d["file"].as_str().unwrap_or_default(),
                d["pointer"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let mut planted: Vec<String> = corpus_items()
        .iter()
        .filter(|i| i["secret"] == true)
        .map(|i| {
            format!(
                "fixtures/secrets/corpus/{}{}",
                i["file"].as_str().unwrap_or_default(),
                i["pointer"].as_str().unwrap_or_default()
            )
        })
        .collect();
    found.sort();
    planted.sort();
    assert_eq!(found, planted);
    assert!(rules.contains(&"PG001"), "the broken file: {rules:?}");
    assert!(rules.contains(&"PG002"), "the duplicate key: {rules:?}");
    // And the raw files do hold them.
    let mut all = Vec::new();
    for entry in walkdir::WalkDir::new(root().join("fixtures/secrets/conf"))
        .into_iter()
        .chain(walkdir::WalkDir::new(
            root().join("fixtures/secrets/orchestration_plans"),
        ))
        .chain(walkdir::WalkDir::new(
            root().join("fixtures/secrets/corpus/conf"),
        ))
        .chain(walkdir::WalkDir::new(
            root().join("fixtures/secrets/corpus/orchestration_plans"),
        ))
    {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            all.extend(std::fs::read(entry.path()).expect("read"));
        }
    }
    for secret in secrets() {
        assert!(
            all.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the fixture"
        );
    }
}

#[test]
fn no_output_format_shows_a_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    for format in [
        "human",
        "concise",
        "json",
        "json-lines",
        "sarif",
        "github",
        "junit",
        "gitlab",
    ] {
        for color in ["never", "always"] {
            let (code, bytes) = output(planguard().args([
                "check",
                "--verbose",
                "--color",
                color,
                "--format",
                format,
                "fixtures/secrets",
            ]));
            assert_eq!(code, 1, "{format}");
            assert_clean(&format!("--format {format} --color {color}"), &bytes);
        }
        let file = dir.path().join(format!("report.{format}"));
        let (_, bytes) = output(
            planguard()
                .args(["check", "--format", format, "--output"])
                .arg(&file)
                .arg("fixtures/secrets"),
        );
        assert_clean(&format!("{format}: the terminal with --output"), &bytes);
        assert_clean(
            &format!("{format}: the --output file"),
            &std::fs::read(&file).expect("report written"),
        );
    }
    // A single file named alone, with its workspace as context.
    for file in [
        "conf/dev.json",
        "conf/uat.json",
        "orchestration_plans/dev/12.json",
    ] {
        let (_, bytes) = output(
            planguard()
                .args(["check", "--color", "never", "--verbose"])
                .arg(format!("fixtures/secrets/{file}")),
        );
        assert_clean(&format!("check {file}"), &bytes);
    }
}

/// apply refuses the plan (its config holds secrets): the refusal, the audit
/// log and a failed connection show none of them.
#[test]
fn apply_refusals_and_the_audit_log_show_no_secret() {
    let ws = Workspace::copy_of("fixtures/secrets");
    let audit = ws.dir.path().join("audit.jsonl");
    for action in [
        vec!["apply", "orchestration_plans/dev/12.json"],
        vec!["apply", "--dry-run", "orchestration_plans/dev/12.json"],
        vec!["trigger", "orchestration_plans/dev/12.json"],
        vec!["rollback", "--env", "dev", "--to", "11"],
        vec!["drift", "orchestration_plans"],
        vec!["apply", "conf/uat.json"],
    ] {
        let (code, bytes) = output(
            planguard()
                .current_dir(ws.dir.path())
                .args(&action)
                .args(["--address", "127.0.0.1:1"])
                .env("PLANGUARD_AUDIT_LOG", &audit),
        );
        assert!(code == 1 || code == 2, "{action:?}: exit {code}");
        assert_clean(&format!("{action:?}"), &bytes);
    }
    let log = std::fs::read(&audit).expect("refusals are audited");
    assert!(!log.is_empty());
    assert_clean("the audit log", &log);
}

fn send(stdin: &mut impl Write, message: &Value) {
    let body = serde_json::to_vec(message).expect("json");
    write!(stdin, "Content-Length: {}\r\n\r\n", body.len()).expect("write");
    stdin.write_all(&body).expect("write");
    stdin.flush().expect("flush");
}

/// Read one framed message; None at the end of the stream.
fn receive(reader: &mut impl BufRead) -> Option<(Vec<u8>, Value)> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = Some(n.parse::<usize>().expect("length"));
        }
    }
    let mut body = vec![0; length.expect("a Content-Length header")];
    reader.read_exact(&mut body).expect("body");
    let value = serde_json::from_slice(&body).expect("json");
    Some((body, value))
}

/// The language server publishes the findings of every opened file, hovers
/// included, without a secret in any message.
#[test]
fn the_language_server_shows_no_secret() {
    let ws = Workspace::copy_of("fixtures/secrets");
    let root_uri = format!("file://{}", ws.dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_planguard"))
        .arg("lsp")
        .current_dir(ws.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lsp starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    // Read on a thread, so that a hung server fails the test by timeout.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        while let Some(message) = receive(&mut reader) {
            if tx.send(message).is_err() {
                break;
            }
        }
    });
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"processId": null, "rootUri": root_uri, "capabilities": {}}}),
    );
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    let files = [
        "conf/dev.json",
        "conf/uat.json",
        "orchestration_plans/dev/12.json",
    ];
    for (i, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(ws.dir.path().join(file)).expect("read");
        send(
            &mut stdin,
            &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
                "uri": format!("{root_uri}/{file}"), "languageId": "json", "version": i, "text": text}}}),
        );
    }
    // Hover on every PG110 finding of conf/dev.json once they arrive.
    let mut raw = Vec::new();
    let mut published = std::collections::BTreeSet::new();
    let mut hovers_sent = false;
    let mut hovers_answered = 0;
    let mut hovers_expected = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while published.len() < files.len() || hovers_answered < hovers_expected || !hovers_sent {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let (bytes, message) = rx.recv_timeout(left).expect("the server answers in time");
        raw.extend(&bytes);
        if message["method"] == "textDocument/publishDiagnostics" {
            let uri = message["params"]["uri"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if let Some(file) = files.iter().find(|f| uri.ends_with(*f)) {
                published.insert(*file);
            }
            if uri.ends_with("conf/dev.json") && !hovers_sent {
                hovers_sent = true;
                for (n, d) in message["params"]["diagnostics"]
                    .as_array()
                    .expect("diagnostics")
                    .iter()
                    .enumerate()
                {
                    hovers_expected += 1;
                    send(
                        &mut stdin,
                        &json!({"jsonrpc": "2.0", "id": 100 + n, "method": "textDocument/hover",
                                "params": {"textDocument": {"uri": uri}, "position": d["range"]["start"]}}),
                    );
                }
            }
        } else if message["id"].as_u64().is_some_and(|id| id >= 100) {
            hovers_answered += 1;
        }
    }
    assert!(hovers_expected >= 9, "hovered {hovers_expected} findings");
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
    );
    send(&mut stdin, &json!({"jsonrpc": "2.0", "method": "exit"}));
    drop(stdin);
    while let Ok((bytes, _)) = rx.recv_timeout(std::time::Duration::from_secs(10)) {
        raw.extend(bytes);
    }
    let status = child.wait().expect("exits");
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_end(&mut stderr)
        .expect("read");
    assert!(status.success(), "{}", String::from_utf8_lossy(&stderr));
    assert_clean("the language server's messages", &raw);
    assert_clean("the language server's log", &stderr);
}

/// The benchmark (scripts/bench/secrets --ci) against the real detect-secrets
/// and whispers: planguard finds at least 95 % of the corpus's secrets and
/// flags none of its clean look-alikes.
#[test]
fn the_secret_benchmark_meets_its_targets() {
    let out = Command::new(common::python())
        .arg(root().join("scripts/bench/secrets"))
        .args(["--ci", "--planguard", env!("CARGO_BIN_EXE_planguard")])
        .current_dir(root())
        .output()
        .expect("the benchmark runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("detect-secrets"), "{stdout}");
    assert_clean("the benchmark's report", &out.stdout);
}
