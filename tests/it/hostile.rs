//! The hostile corpus (fixtures/hostile/cases.json): broken, huge, binary,
//! odd and unreachable inputs and policies, each placed into a scratch copy of
//! the clean workspace. Every case must end in the listed findings and exit
//! status — within a time limit, and never with a panic.

use crate::common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{root, workspace::Workspace};
use serde_json::{Value, json};

/// What tells a hang from a slow run, not a measure of speed (that is the
/// benchmark's): the test build evaluating a policy's 1.2 million results
/// (policy-huge-results) took over 90 s on a slow hour of a shared 2-core
/// machine, and about 10 s as a release build.
const LIMIT: Duration = Duration::from_secs(300);

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Run a command, killing it (and failing the case) if it outlives `LIMIT`.
fn run_bounded(mut cmd: Command, case: &str) -> Outcome {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("planguard starts");
    // Drain both pipes on threads so that a large report cannot block the child.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = out.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = err.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("{case}: still running after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().expect("reader");
    let stderr = err.join().expect("reader");
    Outcome {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8(stdout)
            .unwrap_or_else(|e| panic!("{case}: stdout is not UTF-8: {e}")),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id runs");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Permissions do not stop root, so unreadable-file cases run planguard as
/// `nobody` when the tests run as root: a copy of the binary in a folder
/// anyone can enter, over a workspace anyone can read.
fn unprivileged(binary: &Path, scratch: &Path) -> Command {
    use std::os::unix::fs::PermissionsExt;
    let shared = std::env::temp_dir().join(format!("planguard-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&shared).expect("mkdir");
    let copy = shared.join("planguard");
    if !copy.exists() {
        std::fs::copy(binary, &copy).expect("copy the binary");
    }
    for path in [&shared, &copy] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let _ = scratch;
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(copy);
    cmd
}

/// Let `nobody` read the scratch workspace (tempdirs are private).
fn open_up(scratch: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in walkdir::WalkDir::new(scratch) {
        let entry = entry.expect("walk");
        let mode = if entry.file_type().is_dir() {
            0o755
        } else {
            0o644
        };
        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode))
            .expect("chmod");
    }
}

/// Files the corpus cannot hold as plain files: too big, not files at all,
/// or named unusually.
fn generate(kind: &str, target: &Path, scratch: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let plan = || {
        std::fs::read_to_string(
            root().join("fixtures/workspaces/clean/orchestration_plans/dev/12.json"),
        )
        .expect("plan")
    };
    if let Some(folder) = target.parent() {
        std::fs::create_dir_all(folder).expect("mkdir");
    }
    match kind {
        "nesting-100000" => {
            let text = format!(
                "{{\"x-deep\": {}{}}}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            );
            std::fs::write(target, text).expect("write");
        }
        "sparse-200MB" => {
            let file = std::fs::File::create(target).expect("create");
            file.set_len(200 * 1024 * 1024).expect("sparse file");
        }
        "nul-bytes" => std::fs::write(target, vec![0u8; 4096]).expect("write"),
        "binary" => {
            let mut bytes = b"\x7fELF\x02\x01\x01\x00".to_vec();
            bytes.extend((0..4096u32).map(|i| (i * 37 % 251) as u8));
            std::fs::write(target, bytes).expect("write");
        }
        "long-string" => {
            // A 10 MB value in a field the policies quote in their messages.
            let text = plan().replacen(
                "\"namespace\": \"ingestion-dev\"",
                &format!("\"namespace\": \"{}\"", "n".repeat(10 * 1024 * 1024)),
                1,
            );
            std::fs::write(target, text).expect("write");
        }
        "long-line" => {
            // The whole plan on one 4 MB line, with a finding on it.
            let value: Value = serde_json::from_str(&plan()).expect("json");
            let mut text = serde_json::to_string(&value).expect("json");
            text = text.replacen("\"ingestion-dev\"", "\"ingestion-uat\"", 1);
            text.insert_str(
                1,
                &format!("\"x-padding\": \"{}\",", " ".repeat(4 * 1024 * 1024)),
            );
            std::fs::write(target, text).expect("write");
        }
        "fifo" => {
            let status = Command::new("mkfifo")
                .arg(target)
                .status()
                .expect("mkfifo runs");
            assert!(status.success());
        }
        "dangling-link" => {
            std::os::unix::fs::symlink("does-not-exist.json", target).expect("symlink")
        }
        "symlink-loop" => {
            std::fs::create_dir_all(target).expect("mkdir");
            std::os::unix::fs::symlink("..", target.join("up")).expect("symlink");
        }
        "unreadable-file" => {
            std::fs::write(target, plan()).expect("write");
            std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o000))
                .expect("chmod");
        }
        "unreadable-folder" => {
            std::fs::create_dir_all(target).expect("mkdir");
            std::fs::write(target.join("14.json"), plan()).expect("write");
            std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o000))
                .expect("chmod");
        }
        other => panic!("unknown generator {other}"),
    }
    let _ = scratch;
}

/// The findings of a JSON report, as the corpus lists them.
fn findings(report: &Value, scratch: &str) -> Vec<Value> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            // Relative to the scratch workspace, or to the repository for
            // the corpus's own policies.
            let repository = root().display().to_string();
            let file = d["file"].as_str().map(|f| {
                f.strip_prefix(scratch)
                    .or_else(|| f.strip_prefix(repository.as_str()))
                    .map(|f| f.trim_start_matches('/').to_string())
                    .unwrap_or_else(|| f.to_string())
            });
            json!({
                "rule": d["rule"],
                "file": file,
                "line": d["start"]["line"],
                "column": d["start"]["column"],
                "message": d["message"],
                "pointer": d["pointer"],
            })
        })
        .collect()
}

fn matches(expected: &Value, found: &Value) -> bool {
    ["rule", "file", "line", "column", "pointer"]
        .iter()
        .all(|k| expected.get(*k).is_none_or(|v| v == &found[*k]))
        && expected["message"]
            .as_str()
            .is_none_or(|m| found["message"].as_str().is_some_and(|f| f.contains(m)))
}

/// What a run found, as a corpus entry would list it (for writing down a new
/// case's outcome with PLANGUARD_HOSTILE_BLESS=1, to be read before committing).
fn as_expected(found: &[Value]) -> Value {
    Value::Array(
        found
            .iter()
            .map(|f| {
                let mut e = f.clone();
                let message: String = f["message"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(90)
                    .collect();
                e["message"] = json!(message);
                if f["pointer"].is_null() {
                    e.as_object_mut().expect("object").remove("pointer");
                }
                e
            })
            .collect(),
    )
}

fn run_case(case: &Value, binary: &Path, as_root: bool) -> Result<(), String> {
    let name = case["name"].as_str().expect("name");
    let ws = Workspace::copy_of("fixtures/workspaces/clean");
    let folder = match case["folder"].as_str() {
        // The workspace itself under an unusual path.
        Some(sub) => {
            let moved = ws.dir.path().join(sub);
            std::fs::create_dir_all(&moved).expect("mkdir");
            for entry in ["conf", "orchestration_plans"] {
                std::fs::rename(ws.dir.path().join(entry), moved.join(entry)).expect("move");
            }
            moved
        }
        None => ws.dir.path().to_path_buf(),
    };
    let unprivileged_case = case["unprivileged"].as_bool() == Some(true);
    if unprivileged_case && as_root {
        open_up(ws.dir.path());
    }
    let path = case["path"].as_str().expect("path");
    let target = folder.join(path);
    if let Some(file) = case["file"].as_str() {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::copy(root().join("fixtures/hostile/files").join(file), &target).expect("copy");
    }
    if let Some(kind) = case["generate"].as_str() {
        generate(kind, &target, &folder);
    }
    let mut args: Vec<String> = vec!["check".into(), "--format".into(), "json".into()];
    if let Some(policy) = case["policy"].as_str() {
        args.push("--policy".into());
        args.push(
            root()
                .join("fixtures/hostile/policies")
                .join(policy)
                .display()
                .to_string(),
        );
    }
    if let Some(settings) = case["settings"].as_str() {
        std::fs::write(folder.join("planguard.toml"), settings).expect("write");
    }
    let mut cmd = if unprivileged_case && as_root {
        unprivileged(binary, ws.dir.path())
    } else {
        Command::new(binary)
    };
    // A workspace under an unusual folder is named by that folder's path, so
    // that the path shows in the report; others are checked from inside.
    let (cwd, arg, subject) = match case["folder"].as_str() {
        Some(sub) => (
            ws.dir.path().to_path_buf(),
            sub.to_string(),
            format!("{sub}/{path}"),
        ),
        None => (folder.clone(), ".".to_string(), path.to_string()),
    };
    cmd.args(&args)
        .arg(&arg)
        .current_dir(&cwd)
        .env("RAYON_NUM_THREADS", "2")
        .env_remove("NO_COLOR");
    let out = run_bounded(cmd, name);
    if out.stderr.contains("panicked") || out.code > 2 || out.code < 0 {
        return Err(format!(
            "{name}: crashed (exit {}): {}",
            out.code, out.stderr
        ));
    }
    let want_code = case["exit"].as_i64().expect("exit");
    if i64::from(out.code) != want_code {
        return Err(format!(
            "{name}: exit {} instead of {want_code}\nstdout: {}\nstderr: {}",
            out.code,
            out.stdout.chars().take(3000).collect::<String>(),
            out.stderr
        ));
    }
    if out.code == 2 {
        let want = case["stderr"]
            .as_str()
            .expect("exit-2 cases say what stderr holds");
        return if out.stderr.contains(want) {
            Ok(())
        } else {
            Err(format!("{name}: stderr lacks {want:?}: {}", out.stderr))
        };
    }
    let report: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("{name}: the report is not JSON ({e}): {}", out.stdout))?;
    let mut found = findings(&report, &cwd.display().to_string());
    // Findings elsewhere in the workspace (a cross-file rule noticing the
    // newcomer) are not this case's subject, unless the case lists them.
    if case["all_files"].as_bool() != Some(true) {
        found.retain(|f| {
            f["file"].is_null()
                || f["file"] == subject.as_str()
                || f["rule"].as_str().is_some_and(|r| r.starts_with("PG02"))
        });
    }
    if let Some(rules) = case["only_rules"].as_array() {
        found.retain(|f| rules.contains(&f["rule"]));
    }
    if let Some(limit) = case["max_message_chars"].as_u64() {
        for f in &found {
            let length = f["message"].as_str().map_or(0, |m| m.chars().count()) as u64;
            if length > limit {
                return Err(format!("{name}: a message of {length} characters"));
            }
        }
    }
    if let Some(counts) = case["counts"].as_object() {
        // Too many findings to list: how many of each rule.
        let mut got = serde_json::Map::new();
        for f in &found {
            let rule = f["rule"].as_str().unwrap_or_default().to_string();
            let n = got.get(&rule).and_then(Value::as_u64).unwrap_or(0);
            got.insert(rule, json!(n + 1));
        }
        return if &got == counts {
            Ok(())
        } else {
            Err(format!("{name}: counts {got:?} instead of {counts:?}"))
        };
    }
    if std::env::var_os("PLANGUARD_HOSTILE_BLESS").is_some() {
        return Err(format!("BLESS {name} {}", as_expected(&found)));
    }
    let expected = case["expect"].as_array().expect("expect");
    let unmatched: Vec<&Value> = expected
        .iter()
        .filter(|e| !found.iter().any(|f| matches(e, f)))
        .collect();
    let unexpected: Vec<&Value> = found
        .iter()
        .filter(|f| !expected.iter().any(|e| matches(e, f)))
        .collect();
    if unmatched.is_empty() && unexpected.is_empty() && found.len() == expected.len() {
        Ok(())
    } else {
        Err(format!(
            "{name}:\n  missing: {}\n  unexpected: {}\n  found: {}",
            serde_json::to_string(&unmatched).expect("json"),
            serde_json::to_string(&unexpected).expect("json"),
            serde_json::to_string_pretty(&found).expect("json")
        ))
    }
}

#[test]
fn every_hostile_input_ends_in_its_diagnostics_and_exit_status() {
    let corpus: Value =
        serde_json::from_str(&common::read("fixtures/hostile/cases.json")).expect("cases.json");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_planguard"));
    let as_root = running_as_root();
    let failures: Vec<String> = corpus["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|case| run_case(case, &binary, as_root).err())
        .collect();
    let shared = std::env::temp_dir().join(format!("planguard-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(shared);
    if std::env::var_os("PLANGUARD_HOSTILE_BLESS").is_some() {
        let mut corpus = corpus.clone();
        for failure in &failures {
            if let Some(rest) = failure.strip_prefix("BLESS ") {
                let (name, found) = rest.split_once(' ').expect("name and findings");
                for case in corpus["cases"].as_array_mut().expect("cases") {
                    if case["name"] == name {
                        case["expect"] = serde_json::from_str(found).expect("json");
                    }
                }
            }
        }
        let text = serde_json::to_string_pretty(&corpus).expect("json") + "\n";
        std::fs::write(root().join("fixtures/hostile/cases.json"), text).expect("write");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
