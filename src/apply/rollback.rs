//! Rollback from the record: the plan store is what `[files] plans`
//! classifies as the environment's plans; what is deployed is the plan hash
//! the schedule records; what was deployed before it is what the audit log
//! says (or, with no record, the plan of the build before the deployed one).

use std::path::{Path, PathBuf};

use super::DeployError;
use super::connect::{self, Requested};
use crate::discover::{self, Kind};
use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error(
        "no plans of environment `{environment}` under {} (plans are found by [files] plans: {patterns})",
        workspace.display()
    )]
    NoPlans {
        environment: String,
        workspace: PathBuf,
        patterns: String,
    },
    #[error("no plan of build {build} for {environment} in the plan store")]
    NoSuchBuild { build: String, environment: String },
    #[error(
        "schedule `{schedule_id}` is not deployed in namespace {namespace}: there is nothing to roll back (name a build with --to to apply one)"
    )]
    NotDeployed {
        namespace: String,
        schedule_id: String,
    },
    #[error(
        "the deployed schedule records no plan hash (it was not applied by planguard): name a build with --to"
    )]
    Unrecorded,
    #[error("{0}")]
    NoTarget(String),
    #[error("cannot read the audit log {}: {source}", path.display())]
    Audit {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One plan of the store.
#[derive(Debug, Clone)]
pub struct StoredPlan {
    pub path: PathBuf,
    pub build: Option<String>,
    pub sha256: String,
}

/// The plans of one environment, oldest build first, and the schedule they own.
#[derive(Debug)]
pub struct Store {
    pub environment: String,
    pub plans: Vec<StoredPlan>,
    pub namespace: String,
    pub schedule_id: String,
}

/// Build numbers compare as numbers (`041` is build 41), other builds as text.
fn build_key(build: Option<&str>) -> (Option<u64>, String) {
    let text = build.unwrap_or_default();
    (text.parse::<u64>().ok(), text.to_string())
}

/// Whether `given` names `build`: numerically when both are numbers.
pub fn same_build(given: &str, build: Option<&str>) -> bool {
    let Some(build) = build else { return false };
    match (given.trim().parse::<u64>(), build.parse::<u64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => given.trim() == build,
    }
}

pub use crate::digest::sha256_hex;

/// The plan store of `environment` under `workspace`, by the settings' plan
/// patterns; the schedule is the one the newest plan owns, in its namespace
/// (or the environment's, when the plan names none).
pub fn store(
    settings: &Settings,
    workspace: &Path,
    environment: &str,
) -> Result<Store, DeployError> {
    let discovery = discover::discover(&[workspace.to_path_buf()], settings)?;
    let mut plans: Vec<StoredPlan> = discovery
        .files
        .iter()
        .filter(|c| c.kind == Some(Kind::Plan) && c.env.as_deref() == Some(environment))
        .filter_map(|c| {
            let bytes = std::fs::read(&c.path).ok()?;
            Some(StoredPlan {
                path: c.path.clone(),
                build: c.build.clone(),
                sha256: sha256_hex(&bytes),
            })
        })
        .collect();
    plans.sort_by_key(|p| build_key(p.build.as_deref()));
    let no_plans = || RollbackError::NoPlans {
        environment: environment.to_string(),
        workspace: workspace.to_path_buf(),
        patterns: settings
            .plans
            .iter()
            .map(|p| p.source.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let newest = plans.last().ok_or_else(no_plans)?;
    let value: serde_json::Value = std::fs::read_to_string(&newest.path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_string);
    // TEMPORAL_NAMESPACE moves a rollback where it moved the apply.
    let namespace = connect::namespace_of_one_environment(None)
        .or_else(|| text("namespace"))
        .or_else(|| {
            settings
                .environments
                .get(environment)
                .map(|e| e.namespace.clone())
        })
        .ok_or_else(|| {
            DeployError::Plan(format!(
                "the plan {} names no namespace",
                crate::source::display_path(&newest.path)
            ))
        })?;
    let schedule_id = text("schedule_id").ok_or_else(|| {
        DeployError::Plan(format!(
            "the plan {} names no schedule_id",
            crate::source::display_path(&newest.path)
        ))
    })?;
    Ok(Store {
        environment: environment.to_string(),
        plans,
        namespace,
        schedule_id,
    })
}

/// Where a rollback goes, and what was learnt on the way: the plan store,
/// the environment's deployments by the audit log, what is deployed.
#[derive(Debug)]
pub struct Plan {
    pub store: Store,
    /// Oldest first; empty when the target was named (`--to`).
    pub history: Vec<Entry>,
    /// None when the target was named, or nothing is deployed.
    pub current: Option<Current>,
    /// The plan to go back to, or why there is none.
    pub target: Result<Target, DeployError>,
}

/// Plan a rollback of `environment` under `workspace`: to build `to` when
/// named (the server is then not asked), else to the plan deployed before
/// the current one (by the audit log and the schedule's record).
pub fn plan(
    settings: &Settings,
    workspace: &Path,
    environment: &str,
    to: Option<&str>,
    audit_log: &Path,
    requested: &Requested,
) -> Result<Plan, DeployError> {
    let store = store(settings, workspace, environment)?;
    let (history, current) = if to.is_some() {
        (Vec::new(), None)
    } else {
        (
            history(audit_log, &store)?,
            deployed(&store, requested, settings)?,
        )
    };
    let target = target(&store, &history, current.as_ref(), to).map_err(|e| match e {
        DeployError::Rollback(RollbackError::NoTarget(message)) => {
            RollbackError::NoTarget(kept_hint(audit_log, message)).into()
        }
        other => other,
    });
    Ok(Plan {
        store,
        history,
        current,
        target,
    })
}

/// A missing plan whose copy was kept when it was sent (beside the audit
/// log) can be put back: the message says where it is.
fn kept_hint(audit_log: &Path, message: String) -> String {
    let sha = regex::Regex::new(r"sha256 ([0-9a-f]{12})")
        .expect("valid")
        .captures(&message)
        .map(|c| c[1].to_string());
    let kept = sha.and_then(|prefix| {
        let folder = super::audit::kept_plan(audit_log, "x");
        let folder = folder.parent()?;
        std::fs::read_dir(folder).ok()?.flatten().find_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.starts_with(&prefix).then(|| e.path())
        })
    });
    match kept {
        Some(path) => format!(
            "{message} (the plan sent then is kept at {}: copy it back into the store as its build to roll back to it)",
            crate::source::display_path(&path)
        ),
        None => message,
    }
}

/// What the schedule records of the plan it was applied from.
#[derive(Debug, Clone)]
pub struct Current {
    pub sha256: String,
    pub build: Option<String>,
}

/// Describe the store's schedule. A failed describe is an error, never a
/// guess; a schedule that is not deployed is None.
pub fn deployed(
    store: &Store,
    requested: &Requested,
    settings: &Settings,
) -> Result<Option<Current>, DeployError> {
    let mut client = connect::client(
        requested,
        settings.environments.get(&store.environment),
        &store.namespace,
    )?;
    let Some(deployed) = client.describe(&store.schedule_id)? else {
        return Ok(None);
    };
    let sha256 = super::deployed_plan_sha256(&deployed).ok_or(RollbackError::Unrecorded)?;
    Ok(Some(Current {
        sha256,
        build: super::deployed_build(&deployed),
    }))
}

/// One apply or rollback of the environment's schedule, as the audit log has it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub time: String,
    pub actor: String,
    pub approved_by: Option<String>,
    pub action: String,
    pub outcome: String,
    pub build: Option<String>,
    pub plan_sha256: Option<String>,
}

impl Entry {
    /// Whether the schedule is now this entry's plan: a create, update or
    /// up-to-date apply or rollback.
    pub fn deployed(&self) -> bool {
        matches!(self.outcome.as_str(), "create" | "update" | "noop")
    }
}

/// The applies and rollbacks of the store's schedule, oldest first. A
/// missing audit log is an empty history; a torn line is passed over.
pub fn history(audit_log: &Path, store: &Store) -> Result<Vec<Entry>, DeployError> {
    let text = match std::fs::read_to_string(audit_log) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(RollbackError::Audit {
                path: audit_log.to_path_buf(),
                source,
            }
            .into());
        }
    };
    let text_of = |record: &serde_json::Value, key: &str| {
        record.get(key).and_then(|v| v.as_str()).map(str::to_string)
    };
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|r| {
            text_of(r, "environment").as_deref() == Some(store.environment.as_str())
                && matches!(text_of(r, "action").as_deref(), Some("apply" | "rollback"))
                && text_of(r, "outcome").as_deref() != Some("dry-run")
                // A refusal names no schedule: it is the environment's too.
                && text_of(r, "schedule_id")
                    .is_none_or(|id| id == store.schedule_id)
        })
        .map(|r| Entry {
            time: text_of(&r, "time").unwrap_or_default(),
            actor: text_of(&r, "actor").unwrap_or_default(),
            approved_by: text_of(&r, "approved_by"),
            action: text_of(&r, "action").unwrap_or_default(),
            outcome: text_of(&r, "outcome").unwrap_or_default(),
            build: text_of(&r, "build"),
            plan_sha256: text_of(&r, "plan_sha256"),
        })
        .collect())
}

/// The plans the schedule ran, in order, as the history tells: an apply
/// adds its plan; a rollback to a plan deployed earlier goes back to it (so
/// a second rollback goes further back, not forth). Ends at `current`.
fn deployments(history: &[Entry], current: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    for entry in history.iter().filter(|e| e.deployed()) {
        let Some(sha) = &entry.plan_sha256 else {
            continue;
        };
        match stack.iter().rposition(|s| s == sha) {
            Some(i) if entry.action == "rollback" => stack.truncate(i + 1),
            _ if stack.last() == Some(sha) => {}
            _ => stack.push(sha.clone()),
        }
    }
    // What the server says is deployed wins over the record.
    match stack.iter().rposition(|s| s == current) {
        Some(i) => stack.truncate(i + 1),
        None => stack.clear(),
    }
    stack
}

/// Where a rollback goes, and how that was decided.
#[derive(Debug, Clone)]
pub struct Target {
    pub plan: StoredPlan,
    pub reason: String,
}

/// The plan to go back to: build `to` when given; else the plan deployed
/// before the current one, from the audit log, or with no record of it, the
/// stored plan of the build before the deployed plan's.
pub fn target(
    store: &Store,
    history: &[Entry],
    current: Option<&Current>,
    to: Option<&str>,
) -> Result<Target, DeployError> {
    if let Some(to) = to {
        let plan = store
            .plans
            .iter()
            .find(|p| same_build(to, p.build.as_deref()))
            .ok_or_else(|| RollbackError::NoSuchBuild {
                build: to.to_string(),
                environment: store.environment.clone(),
            })?;
        return Ok(Target {
            plan: plan.clone(),
            reason: "named with --to".to_string(),
        });
    }
    let current = current.ok_or_else(|| RollbackError::NotDeployed {
        namespace: store.namespace.clone(),
        schedule_id: store.schedule_id.clone(),
    })?;
    let short = |sha: &str| sha.get(..12).unwrap_or(sha).to_string();
    let by_sha = |sha: &str| store.plans.iter().find(|p| p.sha256 == sha);
    let deployed = deployments(history, &current.sha256);
    if let [.., before, _] = deployed.as_slice() {
        let plan = by_sha(before).ok_or_else(|| {
            RollbackError::NoTarget(format!(
                "the plan deployed before the current one (sha256 {}) is no longer in the plan store; name a build with --to",
                short(before)
            ))
        })?;
        return Ok(Target {
            plan: plan.clone(),
            reason: "deployed before the current plan, by the audit log".to_string(),
        });
    }
    // No record of an earlier deployment: the build before the deployed plan.
    let index = store
        .plans
        .iter()
        .position(|p| p.sha256 == current.sha256)
        .ok_or_else(|| {
            RollbackError::NoTarget(format!(
                "the deployed plan (sha256 {}, build {}) is not in the plan store, and the audit log has no earlier deployment; name a build with --to",
                short(&current.sha256),
                current.build.as_deref().unwrap_or("?")
            ))
        })?;
    let plan = index
        .checked_sub(1)
        .and_then(|i| store.plans.get(i))
        .ok_or_else(|| {
            RollbackError::NoTarget(format!(
                "the deployed plan is the oldest in the plan store (build {}); there is nothing before it",
                current.build.as_deref().unwrap_or("?")
            ))
        })?;
    Ok(Target {
        plan: plan.clone(),
        reason: "the build before the deployed plan (the audit log has no earlier deployment)"
            .to_string(),
    })
}

/// The audit actor's view, for `--list`: who acted and who approved.
pub fn who(entry: &Entry) -> String {
    match &entry.approved_by {
        Some(approver) => format!("{} (approved by {approver})", entry.actor),
        None => entry.actor.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str, outcome: &str, sha: &str) -> Entry {
        Entry {
            time: String::new(),
            actor: "tester".into(),
            approved_by: None,
            action: action.into(),
            outcome: outcome.into(),
            build: None,
            plan_sha256: Some(sha.into()),
        }
    }

    #[test]
    fn builds_match_as_numbers() {
        assert!(same_build("041", Some("41")));
        assert!(same_build("41", Some("041")));
        assert!(!same_build("41", Some("410")));
        assert!(same_build("1.2.0", Some("1.2.0")));
        assert!(!same_build("1.2", Some("1.2.0")));
    }

    #[test]
    fn a_second_rollback_goes_further_back() {
        let history = [
            entry("apply", "create", "a"),
            entry("apply", "update", "b"),
            entry("apply", "refused", "x"),
            entry("apply", "update", "c"),
            entry("apply", "noop", "c"),
            entry("rollback", "update", "b"),
        ];
        assert_eq!(deployments(&history, "b"), ["a", "b"]);
        // The server disagrees with the record: it wins.
        assert_eq!(deployments(&history, "a"), ["a"]);
        assert!(deployments(&history, "z").is_empty());
    }
}
