//! Helpers shared by the integration tests: the real binary, the repository
//! root, and the Python environment holding the real peers (OPA, check-jsonschema).

#![allow(dead_code)]

pub mod plans;
pub mod temporal;
pub mod worker;
pub mod workspace;

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The planguard binary, run from the repository root with colours off and a
/// clean environment for the variables that change its output.
pub fn planguard() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_planguard"));
    cmd.current_dir(root())
        .env_remove("NO_COLOR")
        .env("RAYON_NUM_THREADS", "2");
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let output = cmd.output().expect("the planguard binary runs");
    Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

pub fn check_json(args: &[&str]) -> (i32, serde_json::Value) {
    let out = run(planguard()
        .arg("check")
        .arg("--format")
        .arg("json")
        .args(args));
    assert!(
        out.code == 0 || out.code == 1,
        "exit {}: {}",
        out.code,
        out.stderr
    );
    let value = serde_json::from_str(&out.stdout).expect("--format json prints JSON");
    (out.code, value)
}

/// The Python of the test environment that scripts/test builds. Tests that
/// compare against a real peer need it; they fail, never skip, without it.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("PLANGUARD_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no test Python environment: run scripts/test (it installs the peers into .venv)"
    );
    venv
}

pub fn venv_bin(tool: &str) -> PathBuf {
    python()
        .parent()
        .expect("python lives in a bin folder")
        .join(tool)
}

/// `document` (JSON text) is valid against `schema` (a path from the
/// repository root), as the real check-jsonschema judges.
pub fn assert_valid(document: &str, schema: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("document.json");
    std::fs::write(&path, document).expect("write");
    let out = run(std::process::Command::new(venv_bin("check-jsonschema"))
        .arg("--schemafile")
        .arg(root().join(schema))
        .arg(&path));
    assert_eq!(out.code, 0, "{schema}: {}{}", out.stdout, out.stderr);
}

pub fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(root().join(path)).expect("fixture exists")
}

/// Markdown rendered to HTML by a real CommonMark renderer with GFM tables
/// (markdown-it-py, from the test environment).
pub fn render_markdown(text: &str) -> String {
    use std::io::Write as _;
    let script = "import sys\nfrom markdown_it import MarkdownIt\nsys.stdout.write(MarkdownIt('commonmark').enable('table').render(sys.stdin.read()))\n";
    let mut child = Command::new(python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python ends");
    assert!(out.status.success(), "markdown-it-py failed");
    String::from_utf8(out.stdout).expect("HTML is UTF-8")
}
