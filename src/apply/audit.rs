//! The audit log: one JSON line per apply, rollback or trigger (spec §6.4
//! "Log every schedule change"), appended so that concurrent runs and crashes
//! never leave a torn line in the middle of the record. Each record names the
//! CI run that made it, and a plan sent to Temporal is kept beside the log,
//! content-addressed (`plans/<sha256>.json`), so that an auditor, or a
//! rollback whose plan left the store, sees exactly what was sent (§6.4
//! "store plan JSON + CI/CD metadata").

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
    /// The CI run that acted, when there is one.
    pub ci: Option<CiRun>,
    /// Where the plan that was sent is kept (`plans/<sha256>.json` beside
    /// the log).
    pub plan_copy: Option<String>,
    pub message: String,
}

/// The CI run an action came from, by the variables its system sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiRun {
    /// github-actions, gitlab-ci, jenkins or buildkite.
    pub system: &'static str,
    pub run_id: Option<String>,
    pub run_url: Option<String>,
    pub repository: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub commit: Option<String>,
}

/// The CI run of this process, from `var` (the environment, or a test's).
pub fn ci_run_from(var: impl Fn(&str) -> Option<String>) -> Option<CiRun> {
    let get = |name: &str| {
        var(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let url = |value: Option<String>| value.map(|u| without_credentials(&u));
    if get("GITHUB_ACTIONS").as_deref() == Some("true") {
        // Actions sets GITHUB_SERVER_URL in every job (github.com or the
        // GitHub Enterprise server).
        let (repository, run) = (get("GITHUB_REPOSITORY"), get("GITHUB_RUN_ID"));
        let run_url = match (get("GITHUB_SERVER_URL"), &repository, &run) {
            (Some(server), Some(repository), Some(run)) => Some(match get("GITHUB_RUN_ATTEMPT") {
                Some(attempt) => {
                    format!("{server}/{repository}/actions/runs/{run}/attempts/{attempt}")
                }
                None => format!("{server}/{repository}/actions/runs/{run}"),
            }),
            _ => None,
        };
        return Some(CiRun {
            system: "github-actions",
            run_id: run,
            run_url: url(run_url),
            repository,
            git_ref: get("GITHUB_REF"),
            commit: get("GITHUB_SHA"),
        });
    }
    if get("GITLAB_CI").as_deref() == Some("true") {
        return Some(CiRun {
            system: "gitlab-ci",
            run_id: get("CI_JOB_ID").or_else(|| get("CI_PIPELINE_ID")),
            run_url: url(get("CI_JOB_URL").or_else(|| get("CI_PIPELINE_URL"))),
            repository: get("CI_PROJECT_PATH"),
            git_ref: get("CI_COMMIT_REF_NAME"),
            commit: get("CI_COMMIT_SHA"),
        });
    }
    if get("BUILDKITE").as_deref() == Some("true") {
        return Some(CiRun {
            system: "buildkite",
            run_id: get("BUILDKITE_BUILD_NUMBER").or_else(|| get("BUILDKITE_BUILD_ID")),
            run_url: url(get("BUILDKITE_BUILD_URL")),
            repository: url(get("BUILDKITE_REPO")),
            git_ref: get("BUILDKITE_BRANCH"),
            commit: get("BUILDKITE_COMMIT"),
        });
    }
    if get("JENKINS_URL").is_some() {
        return Some(CiRun {
            system: "jenkins",
            run_id: get("BUILD_TAG").or_else(|| get("BUILD_NUMBER")),
            run_url: url(get("BUILD_URL")),
            repository: url(get("GIT_URL")),
            git_ref: get("GIT_BRANCH"),
            commit: get("GIT_COMMIT"),
        });
    }
    None
}

/// An address without the user and password it may carry
/// (`https://token@host/…`, as Jenkins' GIT_URL can): the audit log never
/// holds a credential.
fn without_credentials(address: &str) -> String {
    let Some((scheme, rest)) = address.split_once("://") else {
        return address.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => address.to_string(),
    }
}

/// Keep the plan that was sent beside the audit log, named by its sha256
/// (written once: the same content is the same file). Returns its path.
pub fn keep_plan(
    audit_log: &Path,
    cleared: &Cleared,
) -> Result<std::path::PathBuf, super::DeployError> {
    let path = kept_plan(audit_log, cleared.plan_sha256());
    if !path.exists() {
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(|source| super::DeployError::AuditLog {
                path: path.clone(),
                source,
            })?;
        }
        crate::fsutil::write_atomically(
            &path,
            cleared.plan_source().as_bytes(),
            crate::fsutil::Durability::Synced,
        )
        .map_err(|source| super::DeployError::AuditLog {
            path: path.clone(),
            source,
        })?;
    }
    Ok(path)
}

/// Where the plan with this sha256 is kept, beside `audit_log`.
pub fn kept_plan(audit_log: &Path, sha256: &str) -> std::path::PathBuf {
    audit_log
        .parent()
        .unwrap_or(Path::new(""))
        .join("plans")
        .join(format!("{sha256}.json"))
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
            ci: ci_run_from(|name| std::env::var(name).ok()),
            plan_copy: None,
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
            ci: None,
            plan_copy: None,
            message: message.into(),
        }
    }

    fn ci(vars: &[(&str, &str)]) -> Option<CiRun> {
        ci_run_from(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn the_ci_run_is_read_from_each_systems_variables() {
        assert_eq!(ci(&[("GITHUB_REPOSITORY", "a/b")]), None, "not in CI");
        let gitlab = ci(&[
            ("GITLAB_CI", "true"),
            ("CI_JOB_ID", "77"),
            (
                "CI_JOB_URL",
                "https://gitlab.example/salam/ingestion/-/jobs/77",
            ),
            ("CI_PROJECT_PATH", "salam/ingestion"),
            ("CI_COMMIT_REF_NAME", "main"),
            ("CI_COMMIT_SHA", "abc"),
        ])
        .expect("gitlab");
        assert_eq!(
            (
                gitlab.system,
                gitlab.run_id.as_deref(),
                gitlab.run_url.as_deref()
            ),
            (
                "gitlab-ci",
                Some("77"),
                Some("https://gitlab.example/salam/ingestion/-/jobs/77")
            )
        );
        assert_eq!(gitlab.git_ref.as_deref(), Some("main"));
        let jenkins = ci(&[
            ("JENKINS_URL", "https://jenkins.example/"),
            ("BUILD_TAG", "jenkins-ingestion-12"),
            ("BUILD_URL", "https://jenkins.example/job/ingestion/12/"),
            (
                "GIT_URL",
                "https://deploy:s3cr3t-t0ken@git.example/salam/ingestion.git",
            ),
            ("GIT_BRANCH", "origin/main"),
            ("GIT_COMMIT", "def"),
        ])
        .expect("jenkins");
        assert_eq!(
            jenkins.repository.as_deref(),
            Some("https://git.example/salam/ingestion.git")
        );
        assert!(!format!("{jenkins:?}").contains("s3cr3t"));
        let buildkite = ci(&[
            ("BUILDKITE", "true"),
            ("BUILDKITE_BUILD_NUMBER", "5"),
            (
                "BUILDKITE_BUILD_URL",
                "https://buildkite.example/salam/ingestion/builds/5",
            ),
            ("BUILDKITE_REPO", "git@github.com:salam/ingestion.git"),
            ("BUILDKITE_BRANCH", "main"),
            ("BUILDKITE_COMMIT", "fed"),
        ])
        .expect("buildkite");
        assert_eq!(
            (
                buildkite.system,
                buildkite.run_id.as_deref(),
                buildkite.repository.as_deref()
            ),
            (
                "buildkite",
                Some("5"),
                Some("git@github.com:salam/ingestion.git")
            )
        );
        let github = ci(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://ghe.salam.internal"),
            ("GITHUB_REPOSITORY", "a/b"),
            ("GITHUB_RUN_ID", "9"),
        ])
        .expect("github");
        assert_eq!(
            github.run_url.as_deref(),
            Some("https://ghe.salam.internal/a/b/actions/runs/9")
        );
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
