//! `planguard lsp` through the real binary: JSON-RPC with Content-Length
//! framing over its stdin and stdout, on a scratch copy of a workspace. Every
//! wait has a deadline, so a hung server fails the test instead of hanging it,
//! and every byte the server writes must belong to a framed message.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::workspace::Workspace;
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);
const PLAN: &str = "orchestration_plans/dev/12.json";
const CONFIG: &str = "conf/dev.json";

/// A running server and what it has said.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Result<Value, String>>,
    /// Messages read while waiting for another one, oldest first.
    backlog: Vec<Value>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    next_id: i64,
    root: PathBuf,
}

/// What a server left behind when it ended.
struct Ended {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Server {
    fn start(root: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_planguard"))
            .arg("lsp")
            .current_dir(root)
            .env("RAYON_NUM_THREADS", "2")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the planguard binary starts");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (sender, messages) = channel();
        let out = child.stdout.take().expect("piped stdout");
        let raw = Arc::clone(&stdout);
        std::thread::spawn(move || read_messages(out, &raw, &sender));
        let mut err = child.stderr.take().expect("piped stderr");
        let raw = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(n) = err.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                raw.lock().expect("lock").extend_from_slice(&buffer[..n]);
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            messages,
            backlog: Vec::new(),
            stdout,
            stderr,
            next_id: 1,
            root: root.to_path_buf(),
        }
    }

    /// Start on a workspace and initialize with these client capabilities.
    fn initialized(root: &Path, capabilities: Value) -> (Self, Value) {
        let mut server = Self::start(root);
        let response = server.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri(root),
                "workspaceFolders": [{"uri": uri(root), "name": "workspace"}],
                "capabilities": capabilities,
            }),
        );
        server.notify("initialized", json!({}));
        (server, response["result"].clone())
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("the server reads");
        stdin.flush().expect("flush");
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Send a request and wait for its response (the whole message).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait_for(&format!("the response to {method}"), |m| {
            m["id"] == id && m.get("method").is_none()
        })
    }

    /// The oldest message, already read or still to come, that `matches`.
    fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.backlog.iter().position(&matches) {
            return self.backlog.remove(i);
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(Ok(message)) if matches(&message) => return message,
                Ok(Ok(message)) => self.backlog.push(message),
                Ok(Err(violation)) => {
                    panic!("protocol violation while waiting for {what}: {violation}")
                }
                Err(_) => panic!(
                    "no {what} within {TIMEOUT:?}; got {:#?}\nstderr: {}",
                    self.backlog,
                    String::from_utf8_lossy(&self.stderr.lock().expect("lock"))
                ),
            }
        }
    }

    /// The next diagnostics published for a file (for the given version of an
    /// open document, when one is given).
    fn diagnostics(&mut self, file: &str, version: Option<i64>) -> Vec<Value> {
        let target = uri(&self.root.join(file));
        let message = self.wait_for(&format!("diagnostics for {file}"), |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == target
                && version.is_none_or(|v| m["params"]["version"] == v)
        });
        message["params"]["diagnostics"]
            .as_array()
            .expect("a list")
            .clone()
    }

    fn open(&mut self, file: &str, text: &str) {
        let uri = uri(&self.root.join(file));
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "json", "version": 1, "text": text}}),
        );
    }

    fn change(&mut self, file: &str, version: i64, text: &str) {
        let uri = uri(&self.root.join(file));
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"text": text}],
            }),
        );
    }

    fn hover(&mut self, file: &str, position: &Value) -> Value {
        let uri = uri(&self.root.join(file));
        self.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": position}),
        )
    }

    /// Shut down and exit as a client does; the process must end by itself.
    fn shutdown(mut self) -> Ended {
        let response = self.request("shutdown", Value::Null);
        assert_eq!(response["result"], Value::Null, "{response}");
        assert!(response.get("error").is_none(), "{response}");
        self.notify("exit", Value::Null);
        self.end()
    }

    /// Wait for the process to end, and check that everything it wrote on
    /// stdout was framed messages.
    fn end(mut self) -> Ended {
        drop(self.stdin.take());
        let deadline = Instant::now() + TIMEOUT;
        let code = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status.code();
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader reports a violation, or ends when stdout closes.
        while let Ok(message) = self.messages.recv_timeout(TIMEOUT) {
            if let Err(violation) = message {
                panic!("protocol violation: {violation}");
            }
        }
        // Give the stderr thread a moment to drain the closed pipe.
        std::thread::sleep(Duration::from_millis(50));
        Ended {
            code,
            stdout: self.stdout.lock().expect("lock").clone(),
            stderr: self.stderr.lock().expect("lock").clone(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parse stdout strictly as the protocol frames it; anything else is a violation.
fn read_messages(
    stdout: impl Read,
    raw: &Mutex<Vec<u8>>,
    sender: &std::sync::mpsc::Sender<Result<Value, String>>,
) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut length = None;
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) if length.is_none() => return,
                Ok(_) => {}
                Err(e) => {
                    let _ = sender.send(Err(format!("reading stdout: {e}")));
                    return;
                }
            }
            raw.lock().expect("lock").extend_from_slice(&line);
            if line == b"\r\n" {
                break;
            }
            let text = String::from_utf8_lossy(&line);
            match text
                .strip_suffix("\r\n")
                .and_then(|header| header.split_once(": "))
            {
                Some(("Content-Length", n)) => length = n.parse::<usize>().ok(),
                Some(("Content-Type", _)) => {}
                _ => {
                    let _ = sender.send(Err(format!("not a header line: {text:?}")));
                    return;
                }
            }
        }
        let Some(length) = length else {
            let _ = sender.send(Err("a message without Content-Length".to_string()));
            return;
        };
        let mut body = vec![0; length];
        if let Err(e) = reader.read_exact(&mut body) {
            let _ = sender.send(Err(format!("a truncated message: {e}")));
            return;
        }
        raw.lock().expect("lock").extend_from_slice(&body);
        match serde_json::from_slice::<Value>(&body) {
            Ok(message) if message["jsonrpc"] == "2.0" => {
                if sender.send(Ok(message)).is_err() {
                    return;
                }
            }
            _ => {
                let _ = sender.send(Err(format!(
                    "a body that is not JSON-RPC: {}",
                    String::from_utf8_lossy(&body)
                )));
                return;
            }
        }
    }
}

/// A file URI as editors send them.
fn uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.to_str().expect("a UTF-8 path").bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// The LSP position of a byte offset, columns in UTF-16 code units or bytes.
fn position(text: &str, offset: usize, utf16: bool) -> Value {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..offset].matches('\n').count();
    let before = &text[line_start..offset];
    let character = if utf16 {
        before.encode_utf16().count()
    } else {
        before.len()
    };
    json!({"line": line, "character": character})
}

fn range(text: &str, start: usize, end: usize, utf16: bool) -> Value {
    json!({"start": position(text, start, utf16), "end": position(text, end, utf16)})
}

fn codes(diagnostics: &[Value]) -> Vec<&str> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().expect("a string code"))
        .collect()
}

fn clean() -> Workspace {
    Workspace::copy_of("fixtures/workspaces/clean")
}

fn text(workspace: &Workspace, file: &str) -> String {
    std::fs::read_to_string(workspace.dir.path().join(file)).expect("the fixture exists")
}

#[test]
fn initialize_negotiates_the_position_encoding_and_shutdown_exits_zero() {
    let workspace = clean();
    let (server, result) = Server::initialized(workspace.dir.path(), json!({}));
    let capabilities = &result["capabilities"];
    assert_eq!(capabilities["positionEncoding"], "utf-16", "{result}");
    assert_eq!(capabilities["textDocumentSync"]["openClose"], true);
    assert_eq!(capabilities["textDocumentSync"]["change"], 1, "full sync");
    assert_eq!(capabilities["hoverProvider"], true);
    assert_eq!(result["serverInfo"]["name"], "planguard");
    let ended = server.shutdown();
    assert_eq!(ended.code, Some(0));
    assert!(ended.stdout.starts_with(b"Content-Length: "));

    let (server, result) = Server::initialized(
        workspace.dir.path(),
        json!({"general": {"positionEncodings": ["utf-8", "utf-16"]}}),
    );
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
    assert_eq!(server.shutdown().code, Some(0));

    // `exit` without `shutdown` is an abnormal end (LSP: exit status 1).
    let (mut server, _) = Server::initialized(workspace.dir.path(), json!({}));
    server.notify("exit", Value::Null);
    assert_eq!(server.end().code, Some(1));
}

#[test]
fn a_broken_plan_is_diagnosed_on_open_and_cleared_when_fixed() {
    let workspace = clean();
    let fixed = text(&workspace, PLAN);
    let (mut server, _) = Server::initialized(workspace.dir.path(), json!({}));

    // A missing comma: serde_json stops at the next member's quote.
    let broken = fixed.replacen(
        "\"task_queue\": \"spark-ingest-dev\",",
        "\"task_queue\": \"spark-ingest-dev\"",
        1,
    );
    server.open(PLAN, &broken);
    let diagnostics = server.diagnostics(PLAN, Some(1));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    let at = broken.find("\"schedule_id\"").expect("present");
    assert_eq!(d["range"], range(&broken, at, at + 1, true));
    assert_eq!(d["code"], "PG001");
    assert_eq!(
        d["codeDescription"]["href"],
        planguard::rules::doc_url("PG001").expect("a rule")
    );
    assert_eq!(d["source"], "planguard");
    assert_eq!(d["severity"], 1);
    assert!(
        d["message"]
            .as_str()
            .expect("message")
            .starts_with("expected `,`"),
        "{d}"
    );
    // The related location says where the comma belongs.
    let comma =
        broken.find("\"spark-ingest-dev\"\n").expect("present") + "\"spark-ingest-dev\"".len();
    assert_eq!(
        d["relatedInformation"][0]["location"]["range"],
        range(&broken, comma - 1, comma, true)
    );

    server.change(PLAN, 2, &fixed);
    assert_eq!(server.diagnostics(PLAN, Some(2)), Vec::<Value>::new());

    // A policy finding, located at the value.
    let wrong = fixed.replacen("\"ingestion-dev\"", "\"ingestion-uat\"", 1);
    server.change(PLAN, 3, &wrong);
    let diagnostics = server.diagnostics(PLAN, Some(3));
    // The newest plan also disagrees with its config now: the same
    // problem, so PG202 is related information of PG101, with the config's
    // place.
    assert_eq!(codes(&diagnostics), ["PG101"], "{diagnostics:#?}");
    let related = diagnostics[0]["relatedInformation"]
        .as_array()
        .expect("related");
    assert!(
        related[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("also PG202: ")),
        "{related:#?}"
    );
    assert_eq!(
        related[1]["location"]["uri"],
        uri(&workspace.dir.path().join(CONFIG))
    );
    let at = wrong.find("\"ingestion-uat\"").expect("present");
    assert_eq!(
        diagnostics[0]["range"],
        range(&wrong, at, at + "\"ingestion-uat\"".len(), true)
    );
    assert_eq!(
        diagnostics[0]["codeDescription"]["href"],
        planguard::rules::doc_url("PG101").expect("a rule")
    );

    server.change(PLAN, 4, &fixed);
    assert_eq!(server.diagnostics(PLAN, Some(4)), Vec::<Value>::new());
    assert_eq!(server.shutdown().code, Some(0));
}

#[test]
fn cross_file_findings_appear_in_the_other_file_and_go_when_fixed_and_hover_explains() {
    let workspace = clean();
    let config = text(&workspace, CONFIG);
    let (mut server, _) = Server::initialized(workspace.dir.path(), json!({}));
    server.open(CONFIG, &config);
    assert_eq!(server.diagnostics(CONFIG, Some(1)), Vec::<Value>::new());

    // An untagged image in the config: PG103 here, and the newest dev plan
    // (not open) now disagrees with its config (PG202) and was dumped from
    // another version of it (PG208: the buffer is the config now).
    let tagged = "\"registry.dev.salam.internal/salam/ingestion:1.2.2\"";
    let untagged = config.replacen(tagged, "\"registry.dev.salam.internal/salam/ingestion\"", 1);
    server.change(CONFIG, 2, &untagged);
    let here = server.diagnostics(CONFIG, Some(2));
    assert_eq!(codes(&here), ["PG103"], "{here:#?}");
    let there = server.diagnostics(PLAN, None);
    let mut there_codes = codes(&there);
    there_codes.sort();
    assert_eq!(there_codes, ["PG202", "PG208"], "{there:#?}");
    let plan = text(&workspace, PLAN);
    let at = plan
        .find("\"registry.dev.salam.internal/salam/ingestion:1.2.2\"")
        .expect("present");
    let mismatch = there.iter().find(|d| d["code"] == "PG202").expect("PG202");
    assert_eq!(mismatch["range"]["start"], position(&plan, at, true));

    // Hover anywhere on the finding shows the rule's documentation, the same
    // text `planguard explain` prints.
    let explain = common::run(common::planguard().args(["explain", "PG103"]));
    let inside = json!({
        "line": here[0]["range"]["start"]["line"],
        "character": here[0]["range"]["start"]["character"].as_u64().expect("n") + 3,
    });
    let hover = server.hover(CONFIG, &inside);
    let value = hover["result"]["contents"]["value"]
        .as_str()
        .expect("markdown");
    assert_eq!(hover["result"]["contents"]["kind"], "markdown");
    assert!(value.contains(&explain.stdout), "{value}");
    assert!(value.contains(here[0]["message"].as_str().expect("message")));
    assert_eq!(hover["result"]["range"], here[0]["range"]);
    // Nowhere near a finding: no hover.
    let nothing = server.hover(CONFIG, &json!({"line": 0, "character": 0}));
    assert_eq!(nothing["result"], Value::Null, "{nothing}");

    server.change(CONFIG, 3, &config);
    assert_eq!(server.diagnostics(CONFIG, Some(3)), Vec::<Value>::new());
    assert_eq!(server.diagnostics(PLAN, None), Vec::<Value>::new());
    let ended = server.shutdown();
    assert_eq!(ended.code, Some(0));
    // Each edit was answered by a check of the open buffer (the rest of the
    // workspace as context), and the plan's findings came with the check of
    // the whole workspace once the edits paused.
    let log = String::from_utf8_lossy(&ended.stderr);
    let quick = log.matches("(the open ones, the rest as context)").count();
    let whole = log
        .lines()
        .filter(|l| l.contains("checked") && !l.contains("the open ones"))
        .count();
    assert!(quick >= 2 && whole >= 3, "{log}");
}

#[test]
fn columns_count_utf16_units_or_bytes_as_negotiated_and_secrets_never_leave() {
    const SECRET: &str = "AKIAIOSFODNN7EXAMPLE";
    let workspace = clean();
    let plan = text(&workspace, PLAN).replacen(
        "\"owner\": \"data-platform-ingestion\",",
        &format!("\"owner\": \"data-platform-ingestion\", \"note\": \"🚀 déployé with {SECRET}\","),
        1,
    );
    for (encodings, utf16) in [
        (json!(["utf-16"]), true),
        (json!(["utf-8", "utf-16"]), false),
    ] {
        let (mut server, _) = Server::initialized(
            workspace.dir.path(),
            json!({"general": {"positionEncodings": encodings}}),
        );
        server.open(PLAN, &plan);
        let diagnostics = server.diagnostics(PLAN, Some(1));
        assert_eq!(codes(&diagnostics), ["PG110"], "{diagnostics:#?}");
        let at = plan.find(SECRET).expect("present");
        let expected = range(&plan, at, at + SECRET.len(), utf16);
        assert_eq!(diagnostics[0]["range"], expected);
        // The emoji and the accents make the encodings disagree, and the
        // server must not count characters either.
        let line_start = plan[..at].rfind('\n').expect("a line") + 1;
        let chars = plan[line_start..at].chars().count();
        assert_ne!(expected["start"]["character"], chars);

        let hover = server.hover(PLAN, &expected["start"]);
        assert!(
            hover["result"]["contents"]["value"]
                .as_str()
                .expect("markdown")
                .contains("PG110")
        );
        let ended = server.shutdown();
        assert_eq!(ended.code, Some(0));
        for (stream, bytes) in [("stdout", &ended.stdout), ("stderr", &ended.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            assert!(!text.contains(SECRET), "the secret is on {stream}: {text}");
        }
    }
}

#[test]
fn bad_input_gets_protocol_errors_or_is_ignored_and_the_server_keeps_serving() {
    let workspace = clean();
    let fixed = text(&workspace, PLAN);
    let (mut server, _) = Server::initialized(workspace.dir.path(), json!({}));

    // Malformed JSON in a well-framed message: a parse error with a null id.
    let body = "{\"jsonrpc\": \"2.0\", \"id\": 99, \"method\": ";
    server.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    let error = server.wait_for("a parse error", |m| m["error"]["code"] == -32700);
    assert_eq!(error["id"], Value::Null);
    // Headers that frame nothing.
    server.send_raw(b"this is not a header\r\n\r\n");
    let error = server.wait_for("a parse error", |m| m["error"]["code"] == -32700);
    assert_eq!(error["id"], Value::Null);
    // JSON that is no JSON-RPC message keeps its id.
    server.send(json!({"jsonrpc": "2.0", "id": 98, "method": 42}));
    let error = server.wait_for("an invalid request", |m| m["id"] == 98);
    assert_eq!(error["error"]["code"], -32600);

    let unknown = server.request("planguard/unknown", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let invalid = server.request("textDocument/hover", json!({"nonsense": true}));
    assert_eq!(invalid["error"]["code"], -32602, "{invalid}");
    server.notify("planguard/unknownNotification", json!({"x": 1}));
    server.notify("textDocument/didChange", json!({"bad": "params"}));
    server.change("orchestration_plans/dev/never-opened.json", 5, "{}");
    let hover = server.hover(PLAN, &json!({"line": 0, "character": 0}));
    assert_eq!(hover["result"], Value::Null, "{hover}");

    // Rapid edits: only the final text's diagnostics count.
    server.open(PLAN, &fixed);
    assert_eq!(server.diagnostics(PLAN, Some(1)), Vec::<Value>::new());
    let wrong = fixed.replacen("\"ingestion-dev\"", "\"ingestion-uat\"", 1);
    let broken = fixed.replacen("{", "[", 1);
    for version in 2..=40 {
        let text = match version % 3 {
            0 => &fixed,
            1 => &broken,
            _ => &wrong,
        };
        server.change(PLAN, version, text);
    }
    server.change(PLAN, 41, &wrong);
    let last = server.diagnostics(PLAN, Some(41));
    assert_eq!(codes(&last), ["PG101"], "{last:#?}");
    // Edits queued while a check runs are coalesced into one check of the
    // latest text (the 40 edits arrive within microseconds; a check takes
    // milliseconds), so far fewer lists than edits were published.
    let published = server
        .backlog
        .iter()
        .filter(|m| m["method"] == "textDocument/publishDiagnostics")
        .count();
    assert!(published < 20, "{published} lists published for 40 edits");

    // Still serving after all of it.
    let hover = server.hover(PLAN, &last[0]["range"]["start"]);
    assert!(hover["result"]["contents"]["value"].is_string(), "{hover}");
    assert_eq!(server.shutdown().code, Some(0));
}

#[test]
fn a_document_over_the_size_limit_gets_a_diagnostic_not_a_hang() {
    let workspace = clean();
    workspace.write("planguard.toml", "[files]\nmax-file-size = 100000\n");
    let fixed = text(&workspace, PLAN);
    let (mut server, _) = Server::initialized(workspace.dir.path(), json!({}));
    let huge = format!("{fixed}{}", " ".repeat(200_000));
    server.open(PLAN, &huge);
    let diagnostics = server.diagnostics(PLAN, Some(1));
    assert_eq!(codes(&diagnostics), ["PG004"], "{diagnostics:#?}");
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .expect("message")
            .contains("100000-byte limit")
    );
    server.change(PLAN, 2, &fixed);
    assert_eq!(server.diagnostics(PLAN, Some(2)), Vec::<Value>::new());
    assert_eq!(server.shutdown().code, Some(0));
}

#[test]
fn files_that_are_neither_configs_nor_plans_are_left_alone() {
    let workspace = clean();
    let (mut server, _) = Server::initialized(workspace.dir.path(), json!({}));
    server.open("package.json", "{ not json at all");
    assert_eq!(
        server.diagnostics("package.json", Some(1)),
        Vec::<Value>::new()
    );
    assert_eq!(server.shutdown().code, Some(0));
}

#[test]
fn an_invalid_planguard_toml_is_diagnosed_and_saving_the_fix_reloads_it() {
    let workspace = clean();
    workspace.write("planguard.toml", "[files]\nno-such-setting = 1\n");
    let (mut server, _) = Server::initialized(workspace.dir.path(), json!({}));
    let shown = server.wait_for("a message about the settings", |m| {
        m["method"] == "window/showMessage"
    });
    assert!(
        shown["params"]["message"]
            .as_str()
            .expect("message")
            .contains("planguard.toml is invalid"),
        "{shown}"
    );
    let diagnostics = server.diagnostics("planguard.toml", None);
    assert_eq!(codes(&diagnostics), ["PG006"], "{diagnostics:#?}");
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 1);

    // The built-in settings apply meanwhile.
    let plan = text(&workspace, PLAN);
    let wrong = plan.replacen("\"ingestion-dev\"", "\"ingestion-uat\"", 1);
    server.open(PLAN, &wrong);
    assert_eq!(codes(&server.diagnostics(PLAN, Some(1))), ["PG101"]);

    // Fixed and saved: reloaded, and the rule turned off there now applies.
    workspace.write("planguard.toml", "[rules]\nPG101 = \"off\"\n");
    let settings = uri(&workspace.dir.path().join("planguard.toml"));
    server.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": settings}}),
    );
    assert_eq!(
        server.diagnostics("planguard.toml", None),
        Vec::<Value>::new()
    );
    assert_eq!(codes(&server.diagnostics(PLAN, Some(1))), ["PG202"]);

    // Closing the plan puts the file on disk back in its place: clean.
    server.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri(&workspace.dir.path().join(PLAN))}}),
    );
    assert_eq!(server.diagnostics(PLAN, None), Vec::<Value>::new());
    assert_eq!(server.shutdown().code, Some(0));
}

/// The server's log lines saying what each check re-evaluated, once there
/// are `count` of them (stderr is read on a thread of its own).
fn check_logs(server: &Server, count: usize) -> Vec<String> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let logs: Vec<String> = String::from_utf8_lossy(&server.stderr.lock().expect("lock"))
            .lines()
            .filter(|l| l.contains("re-evaluated"))
            .map(str::to_string)
            .collect();
        if logs.len() >= count || Instant::now() > deadline {
            return logs;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// In the shape of a repository whose CI keeps every build's plan: an edit
/// to one open plan re-runs that plan's per-document rules (and the
/// cross-file rules, its schedule being one of their facts), never the
/// other thousand files'.
#[test]
fn an_edit_re_evaluates_only_the_edited_file() {
    let workspace = clean();
    let builds = 1000 / 3;
    for env in ["dev", "uat", "prod"] {
        let plan = text(&workspace, &format!("orchestration_plans/{env}/12.json"));
        for build in 100..100 + builds {
            workspace.write(
                &format!("orchestration_plans/{env}/{build}.json"),
                &plan.replacen("\"build\": \"12\"", &format!("\"build\": \"{build}\""), 1),
            );
        }
    }
    let files = 3 + 3 * (3 + builds);
    let (mut server, _) = Server::initialized(workspace.dir.path(), json!({}));
    // The first check ends before the plan is opened (an open would stop it).
    check_logs(&server, 1);
    let plan = text(&workspace, PLAN);
    server.open(PLAN, &plan);
    server.diagnostics(PLAN, Some(1));
    let edited = plan.replacen("\"jitter\": \"5m\"", "\"jitter\": \"7m\"", 1);
    assert_ne!(edited, plan);
    server.change(PLAN, 2, &edited);
    assert_eq!(server.diagnostics(PLAN, Some(2)), Vec::<Value>::new());
    // The first check evaluates every file; opening the plan with the text
    // it has on disk, none; the edit, that one (checked as an open file, the
    // rest of the workspace as context).
    let logs = check_logs(&server, 3);
    assert!(logs[1].contains("re-evaluated 0;"), "{logs:#?}");
    let last = logs.last().expect("a check was logged");
    assert_eq!(
        last,
        &format!(
            "planguard lsp: checked {files} files (the open ones, the rest as context), re-evaluated 1; cross-file rules ran"
        ),
        "{logs:#?}"
    );
    assert!(
        logs[0].contains(&format!("re-evaluated {files};")),
        "{logs:#?}"
    );
    assert_eq!(server.shutdown().code, Some(0));
}

/// Settings come from the closest planguard.toml above a file, as on the
/// command line; a policy saved while the server runs applies at once.
#[test]
fn each_file_gets_its_closest_settings_and_policy_changes_reload() {
    let outer = tempfile::tempdir().expect("temp dir");
    let nested = outer.path().join("team");
    let workspace = clean();
    let status = Command::new("cp")
        .arg("-r")
        .arg(workspace.dir.path())
        .arg(&nested)
        .status()
        .expect("cp runs");
    assert!(status.success());
    std::fs::write(nested.join("planguard.toml"), "[rules]\nPG101 = \"off\"\n").expect("write");
    let file = format!("team/{PLAN}");
    let plan = std::fs::read_to_string(nested.join(PLAN)).expect("read");
    let wrong = plan.replacen("\"ingestion-dev\"", "\"ingestion-uat\"", 1);
    let (mut server, _) = Server::initialized(outer.path(), json!({}));
    server.open(&file, &wrong);
    // team/planguard.toml turns PG101 off; the root has no settings.
    assert_eq!(codes(&server.diagnostics(&file, Some(1))), ["PG202"]);

    // A policy appears in the folder the settings name, and is saved.
    std::fs::write(
        nested.join("planguard.toml"),
        "[rules]\nPG101 = \"off\"\n\n[policy]\npaths = [\"policy\"]\n",
    )
    .expect("write");
    std::fs::create_dir_all(nested.join("policy")).expect("mkdir");
    let saved = |server: &mut Server, path: &Path| {
        server.notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": uri(path), "type": 2}]}),
        );
    };
    saved(&mut server, &nested.join("planguard.toml"));
    let rego = nested.join("policy").join("team.rego");
    std::fs::write(
        &rego,
        "package main\n\nimport rego.v1\n\nwarn contains \"team rule\" if input.plan_version == 1\n",
    )
    .expect("write");
    saved(&mut server, &rego);
    assert_eq!(
        codes(&server.diagnostics(&file, Some(1))),
        ["main.warn", "PG202"]
    );
    std::fs::write(&rego, "package main\n").expect("write");
    saved(&mut server, &rego);
    assert_eq!(codes(&server.diagnostics(&file, Some(1))), ["PG202"]);
    assert_eq!(server.shutdown().code, Some(0));
}

/// Apply LSP text edits (UTF-16 positions) to `text`, as a client does.
fn apply_edits(text: &str, edits: &[Value]) -> String {
    let offset = |position: &Value| {
        let line = position["line"].as_u64().expect("line") as usize;
        let character = position["character"].as_u64().expect("character") as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= character {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().expect("newText"),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (start, end, new) in spans {
        out.replace_range(start..end, new);
    }
    out
}

#[test]
fn code_actions_offer_each_fix_and_an_ignore_over_json_rpc() {
    let workspace = clean();
    let fixed = text(&workspace, PLAN);
    let (mut server, result) = Server::initialized(workspace.dir.path(), json!({}));
    assert_eq!(
        result["capabilities"]["codeActionProvider"]["codeActionKinds"],
        json!(["quickfix"])
    );
    // A non-ASCII value before the finding on its line: columns in UTF-16.
    let wrong = fixed.replacen(
        "  \"namespace\": \"ingestion-dev\",",
        "  \"workflow_id_suffix_é\": \"ü\", \"namespace\": \"ingestion-uat\",",
        1,
    );
    server.open(PLAN, &wrong);
    let diagnostics = server.diagnostics(PLAN, Some(1));
    assert_eq!(codes(&diagnostics), ["PG010", "PG101"], "{diagnostics:#?}");
    let at = wrong.find("\"ingestion-uat\"").expect("planted");
    let uri_of_plan = uri(&workspace.dir.path().join(PLAN));
    let response = server.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri_of_plan},
            "range": range(&wrong, at + 1, at + 1, true),
            "context": {"diagnostics": []},
        }),
    );
    let actions = response["result"].as_array().expect("a list").clone();
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().expect("title"))
        .collect();
    assert_eq!(
        titles,
        [
            "Replace with \"ingestion-dev\" (PG101)",
            "Ignore PG101 for this object",
        ],
        "{actions:#?}"
    );
    let fix = &actions[0];
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(fix["isPreferred"], true);
    assert_eq!(fix["diagnostics"][0]["code"], "PG101");
    assert_eq!(fix["diagnostics"][0]["range"], diagnostics[1]["range"]);
    let edits = fix["edit"]["changes"][&uri_of_plan]
        .as_array()
        .expect("edits for the plan")
        .clone();
    assert_eq!(
        edits,
        [
            json!({"range": range(&wrong, at, at + "\"ingestion-uat\"".len(), true), "newText": "\"ingestion-dev\""})
        ]
    );
    let after_fix = apply_edits(&wrong, &edits);
    assert_eq!(
        after_fix,
        wrong.replacen("\"ingestion-uat\"", "\"ingestion-dev\"", 1)
    );

    // The ignore goes first in the plan's top-level object, on its own line.
    let ignore = &actions[1];
    assert!(ignore.get("isPreferred").is_none(), "{ignore}");
    let edits = ignore["edit"]["changes"][&uri_of_plan]
        .as_array()
        .expect("edits")
        .clone();
    assert_eq!(
        apply_edits(&wrong, &edits),
        wrong.replacen(
            "{\n  \"plan_version\"",
            "{\n  \"x-planguard\": {\"ignore\": {\"PG101\": \"TODO: say why this is fine here\"}},\n  \"plan_version\"",
            1
        )
    );

    // The misspelt key's rename, on the same line, is offered where it is.
    let key = wrong.find("\"workflow_id_suffix_é\"").expect("planted");
    let response = server.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri_of_plan},
            "range": range(&wrong, key, key + 3, true),
            "context": {"diagnostics": [], "only": ["quickfix"]},
        }),
    );
    let actions = response["result"].as_array().expect("a list");
    assert_eq!(
        actions.len(),
        1,
        "no near name, so only the ignore: {actions:#?}"
    );
    assert_eq!(actions[0]["title"], "Ignore PG010 for this object");

    // Applying the fix clears every finding.
    let clean_text = apply_edits(
        &after_fix,
        &[
            json!({"range": range(&after_fix, after_fix.find("\"workflow_id_suffix_é\"").expect("there"), after_fix.find("\"namespace\"").expect("there"), true), "newText": ""}),
        ],
    );
    assert_eq!(clean_text, fixed);
    server.change(PLAN, 2, &clean_text);
    assert_eq!(server.diagnostics(PLAN, Some(2)), Vec::<Value>::new());
    let response = server.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri_of_plan},
            "range": range(&clean_text, 0, clean_text.len(), true),
            "context": {"diagnostics": []},
        }),
    );
    assert_eq!(response["result"], json!([]));
    assert_eq!(server.shutdown().code, Some(0));
}

/// A check of the whole workspace (here after a policy changed on disk,
/// which re-evaluates every file) gives way to an edit: it stops between
/// files, the edit is answered by a check of the open plan, and the whole
/// workspace is checked to the end once the edits pause, without
/// evaluating again the files the stopped check had done.
#[test]
fn an_edit_stops_a_check_of_the_whole_workspace() {
    let workspace = clean();
    // Forty files, and a policy that takes a while on each of them.
    let plan = text(&workspace, PLAN);
    for env in ["dev", "uat", "prod"] {
        for build in 100..110 {
            let other = plan.replacen("\"build\": \"12\"", &format!("\"build\": \"{build}\""), 1);
            workspace.write(&format!("orchestration_plans/{env}/{build}.json"), &other);
        }
    }
    std::fs::create_dir_all(workspace.dir.path().join("policy")).expect("mkdir");
    let slow = |below: i32| {
        format!(
            "package main\n\nimport rego.v1\n\n\
             deny contains \"never\" if count([i | some i in numbers.range(1, {SLOW_RANGE})]) < {below}\n"
        )
    };
    workspace.write("policy/slow.rego", &slow(0));
    workspace.write("planguard.toml", "[policy]\npaths = [\"policy\"]\n");
    let (mut server, _) = Server::initialized(workspace.dir.path(), json!({}));
    check_logs(&server, 1);
    server.open(PLAN, &plan);
    assert_eq!(server.diagnostics(PLAN, Some(1)), Vec::<Value>::new());
    // The policy changes on disk: every file is evaluated again.
    workspace.write("policy/slow.rego", &slow(-1));
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri(&workspace.dir.path().join("policy/slow.rego")), "type": 2}]}),
    );
    std::thread::sleep(UNDER_WAY);
    let edited = plan.replacen("\"jitter\": \"5m\"", "\"jitter\": \"7m\"", 1);
    server.change(PLAN, 2, &edited);
    assert_eq!(server.diagnostics(PLAN, Some(2)), Vec::<Value>::new());
    let checks = |server: &Server| -> Vec<String> {
        String::from_utf8_lossy(&server.stderr.lock().expect("lock"))
            .lines()
            .filter(|l| l.contains("re-evaluated") || l.contains("stopped checking"))
            .map(|l| match l {
                _ if l.contains("stopped") => "stopped".to_string(),
                _ if l.contains("the open ones") => format!("buffer {}", evaluated(l)),
                _ => format!("whole {}", evaluated(l)),
            })
            .collect()
    };
    // After the edit pauses, the whole workspace is checked to the end:
    // the files neither the stopped check nor the edit's evaluated.
    let deadline = Instant::now() + TIMEOUT;
    while !checks(&server)
        .last()
        .is_some_and(|l| l.starts_with("whole"))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let said = checks(&server);
    let files = 3 + 3 * (3 + 10);
    let log = String::from_utf8_lossy(&server.stderr.lock().expect("lock")).to_string();
    assert_eq!(
        said[..4],
        [
            format!("whole {files}"),
            "whole 0".to_string(),
            "stopped".to_string(),
            "buffer 1".to_string(),
        ],
        "{log}"
    );
    assert_eq!(said.len(), 5, "{log}");
    let rest: usize = said[4]
        .strip_prefix("whole ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{log}"));
    assert!(rest > 0 && rest < files - 1, "{log}");
    assert_eq!(server.shutdown().code, Some(0));
}

/// The count in a check's log line: "re-evaluated N".
fn evaluated(log: &str) -> usize {
    log.split("re-evaluated ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {log:?}"))
}

/// How long the policy of `an_edit_stops_a_check_of_the_whole_workspace`
/// loops on each document: long enough that its forty files take seconds.
const SLOW_RANGE: u32 = 400_000;

/// A margin for the check after a policy change to be under way (the
/// reload before it takes about 0.1 s), and to have evaluated some files.
const UNDER_WAY: Duration = Duration::from_millis(1000);
