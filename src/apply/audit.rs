//! The audit log: one JSON line per apply, rollback or trigger (spec §6.4
//! "Log every schedule change"), appended so that concurrent runs and crashes
//! never leave a torn line in the middle of the record.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::Serialize;

use super::gate::Cleared;

#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub time: String,
    pub actor: String,
    pub action: String,
    pub outcome: String,
    pub environment: Option<String>,
    pub namespace: Option<String>,
    pub schedule_id: Option<String>,
    pub plan: String,
    pub plan_sha256: Option<String>,
    pub previous_plan_sha256: Option<String>,
    pub build: Option<String>,
    pub git_sha: Option<String>,
    pub approved_by: Option<String>,
    /// Where the settings the gate used came from: a trusted source for an
    /// environment that requires approval (`origin/main:planguard.toml`).
    pub gate_settings: Option<String>,
    pub message: String,
}

impl Record {
    /// A record of `action` on the plan at `plan`, by this run's actor, now;
    /// nothing known yet of the schedule.
    pub fn new(action: &str, outcome: &str, plan: &Path, message: String) -> Self {
        Record {
            time: now(),
            actor: actor(),
            action: action.to_string(),
            outcome: outcome.to_string(),
            environment: None,
            namespace: None,
            schedule_id: None,
            plan: crate::source::display_path(plan),
            plan_sha256: None,
            previous_plan_sha256: None,
            build: None,
            git_sha: None,
            approved_by: None,
            gate_settings: None,
            message,
        }
    }

    /// A record of `action` on a cleared plan: its environment, schedule,
    /// hash, build, commit and approver.
    pub fn cleared(action: &str, outcome: &str, cleared: &Cleared, message: String) -> Self {
        let text = |pointer: &str| cleared.plan_text(pointer).map(str::to_string);
        Record {
            environment: Some(cleared.environment().name.clone()),
            namespace: Some(cleared.desired().namespace.clone()),
            schedule_id: Some(cleared.desired().schedule_id.clone()),
            plan_sha256: Some(cleared.plan_sha256().to_string()),
            build: text("/build"),
            git_sha: text("/git_sha"),
            approved_by: cleared.approved_by().map(str::to_string),
            ..Record::new(action, outcome, cleared.plan_path(), message)
        }
    }
}

/// The variables CI systems name their users in: who started the run (and,
/// on GitHub, who re-ran it).
const CI_ACTORS: &[&str] = &[
    "GITHUB_ACTOR",
    "GITHUB_TRIGGERING_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILDKITE_BUILD_CREATOR",
];

/// The CI system's users of this run; empty outside CI.
pub fn ci_actors() -> Vec<String> {
    let mut actors: Vec<String> = CI_ACTORS
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    actors.dedup();
    actors
}

/// Who is acting: the CI system's user when there is one, else the login.
pub fn actor() -> String {
    ci_actors()
        .into_iter()
        .next()
        .or_else(|| {
            ["USER", "USERNAME"]
                .iter()
                .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        })
        .unwrap_or_else(|| "unknown".to_string())
}

pub use crate::log::now;

/// Append one record to the audit log at `path`; a failure names the file.
pub fn write(path: &Path, record: &Record) -> Result<(), super::DeployError> {
    append(path, record).map_err(|source| super::DeployError::AuditLog {
        path: path.to_path_buf(),
        source,
    })
}

/// Append one record, under an exclusive lock on the file, in one write on a
/// file opened for appending; if an earlier crash left a partial last line,
/// it is closed off first so this record starts on a line of its own.
pub fn append(path: &Path, record: &Record) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)?;
    let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
    line.push('\n');
    // Other planguard runs append too: hold the file while looking at its
    // end and writing, or a write in progress looks like a torn line.
    file.lock()?;
    let length = file.metadata()?.len();
    if length > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(length - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.insert(0, '\n');
        }
    }
    file.write_all(line.as_bytes())?;
    file.sync_data()?;
    file.unlock()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(message: &str) -> Record {
        Record {
            time: now(),
            actor: "tester".into(),
            action: "apply".into(),
            outcome: "create".into(),
            environment: Some("dev".into()),
            namespace: None,
            schedule_id: None,
            plan: "p.json".into(),
            plan_sha256: None,
            previous_plan_sha256: None,
            build: None,
            git_sha: None,
            approved_by: None,
            gate_settings: None,
            message: message.into(),
        }
    }

    #[test]
    fn records_are_whole_lines_even_after_a_torn_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit/log.jsonl");
        append(&path, &record("first")).expect("append");
        // A crash mid-write left half a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"{\"time\": \"torn"))
            .expect("write");
        append(&path, &record("second")).expect("append");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        for line in [lines[0], lines[2]] {
            let value: serde_json::Value = serde_json::from_str(line).expect("a whole record");
            assert!(value["message"].is_string());
        }
    }

    #[test]
    fn concurrent_appends_never_interleave() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.jsonl");
        std::thread::scope(|scope| {
            for t in 0..4 {
                let path = &path;
                scope.spawn(move || {
                    for i in 0..50 {
                        append(path, &record(&format!("{t}-{i}-{}", "x".repeat(200))))
                            .expect("append");
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 200);
        assert!(
            text.lines()
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        );
    }
}
