//! The gate: nothing reaches Temporal without a clean check of exactly what
//! is about to be sent. `Cleared` can only be made here, and the Temporal
//! client only accepts a `Cleared`, so "no schedule without a clean pass" is
//! a fact the compiler checks.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::model::{self, Desired};
use crate::check::{Budget, Checker, Input, Workset};
pub use crate::deployable::{plan_refusals, undeployable};
use crate::diagnostic::{Diagnostic, Severity};
use crate::discover::{self, Kind};
use crate::load;
use crate::settings::{Environment, Settings};

/// A plan that passed the gate, ready to send. Its fields are private and it
/// cannot be cloned: only the gate makes one, and nothing can change what it
/// cleared afterwards (the rest of the crate reads it through the accessors).
#[derive(Debug)]
pub struct Cleared {
    plan_path: PathBuf,
    plan: Value,
    /// The plan file's text: what `plan_sha256` is the hash of.
    source: String,
    desired: Desired,
    plan_sha256: String,
    environment: Environment,
    approved_by: Option<String>,
    warnings: Vec<Diagnostic>,
}

impl Cleared {
    /// The plan file, as given.
    pub fn plan_path(&self) -> &Path {
        &self.plan_path
    }

    /// The plan document, with the overrides applied: exactly what was checked.
    pub fn plan(&self) -> &Value {
        &self.plan
    }

    /// The schedule to send, and where.
    pub fn desired(&self) -> &Desired {
        &self.desired
    }

    /// The plan file's text, byte for byte as it was checked and hashed.
    pub fn plan_source(&self) -> &str {
        &self.source
    }

    /// The hash of the plan file.
    pub fn plan_sha256(&self) -> &str {
        &self.plan_sha256
    }

    /// The plan's environment, as planguard.toml sets it up.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The approver, when one was named (trimmed; never empty).
    pub fn approved_by(&self) -> Option<&str> {
        self.approved_by.as_deref()
    }

    /// Warnings the check found; they do not stop an apply.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// A text field of the plan (`/build`, `/git_sha`), if it has one.
    pub fn plan_text(&self, pointer: &str) -> Option<&str> {
        self.plan.pointer(pointer).and_then(Value::as_str)
    }
}

/// Why the gate said no.
#[derive(Debug)]
pub enum Refused {
    /// The check found errors in the plan, its config, or across them.
    Findings(Vec<Diagnostic>),
    /// The environment needs an approver and none was named (an empty or
    /// blank name is none).
    Unapproved { environment: String },
    /// The approver is the one applying: an approval needs a second person.
    SelfApproved {
        environment: String,
        approver: String,
    },
    /// The environment needs an approver, and so settings from outside the
    /// change under review; none were named.
    Untrusted { environment: String },
    /// The change's own settings weaken the gate for the environment,
    /// compared with the trusted settings.
    Weakened {
        environment: String,
        changes: Vec<String>,
    },
    /// The file is not something `apply` can send.
    NotAPlan(String),
}

/// Command-line overrides injected by CI (spec §2.3), applied before the
/// check. They are given for one environment's plan: apply takes one plan,
/// and drift and status refuse them over plans of several environments.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub namespace: Option<String>,
    pub task_queue: Option<String>,
}

impl Overrides {
    pub fn is_empty(&self) -> bool {
        self.namespace.is_none() && self.task_queue.is_none()
    }

    /// The flags given, as typed: `--namespace` and/or `--task-queue`.
    pub fn flags(&self) -> String {
        let given: Vec<&str> = [
            self.namespace.as_ref().map(|_| "--namespace"),
            self.task_queue.as_ref().map(|_| "--task-queue"),
        ]
        .into_iter()
        .flatten()
        .collect();
        given.join(" and ")
    }

    /// Put the overrides into a plan document, as if the plan said them.
    pub fn apply_to(&self, plan: &mut Value) {
        if let Some(object) = plan.as_object_mut() {
            if let Some(namespace) = &self.namespace {
                object.insert("namespace".to_string(), Value::from(namespace.clone()));
            }
            if let Some(queue) = &self.task_queue {
                object.insert("task_queue".to_string(), Value::from(queue.clone()));
            }
        }
    }
}

/// Who approves, and who acts.
#[derive(Debug, Clone, Default)]
pub struct Approval {
    /// As given (`--approved-by`, PLANGUARD_APPROVED_BY).
    pub approver: Option<String>,
    /// The CI system's users of this run, when there is one (see
    /// `audit::ci_actors`): none of them may approve their own apply.
    pub actors: Vec<String>,
}

impl Approval {
    /// The approver's name, trimmed; blank is no approver.
    pub fn approver(&self) -> Option<String> {
        self.approver
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
    }
}

/// Check exactly what would be sent. `change`, when the checker runs with
/// trusted settings, is the change's own settings: what they weaken for the
/// plan's environment is refused.
pub fn gate(
    checker: &Checker,
    plan_path: &Path,
    overrides: &Overrides,
    approval: &Approval,
    change: Option<&Settings>,
) -> Result<Cleared, Refused> {
    let settings = &checker.settings;
    let Some((Kind::Plan, captures)) = discover::classify(plan_path, settings) else {
        return Err(Refused::NotAPlan(format!(
            "{} is not under orchestration_plans/<env>/<build>.json (or [files] plans)",
            plan_path.display()
        )));
    };
    // Everything of the plan's workspace, so that cross-file rules see its
    // config and the other plans (promotion, layout, schedule ids).
    let root = if captures.workspace.is_empty() {
        PathBuf::from(".")
    } else {
        PathBuf::from(&captures.workspace)
    };
    // The plan is checked whatever `exclude` says: it is what is sent.
    let mut walk = settings.clone();
    walk.force_exclude = false;
    let discovery = discover::discover(&[root, plan_path.to_path_buf()], &walk)
        .map_err(|e| Refused::NotAPlan(e.to_string()))?;
    let Some(candidate) = discovery
        .files
        .iter()
        .find(|c| same_file(&c.path, plan_path))
    else {
        return Err(Refused::NotAPlan(format!(
            "{} was not found",
            plan_path.display()
        )));
    };
    // Reported: the plan as it will be sent (overrides applied) and its
    // config, exactly as `planguard check <plan> <its config>` reports them;
    // the rest of the workspace is context.
    let is_config = |c: &discover::Candidate| {
        c.kind == Some(Kind::Config) && c.env == candidate.env && c.workspace == candidate.workspace
    };
    let config = discovery.files.iter().find(|c| is_config(c));
    let (document, _) = load::load(candidate, settings.max_file_size);
    let plan = document.map(|mut document| {
        overrides.apply_to(&mut document.value);
        document
    });
    let mut work = Workset {
        report: vec![match &plan {
            Some(document) => Input::Loaded(document.clone()),
            // It does not load: the check says why.
            None => Input::Disk(candidate.clone()),
        }],
        context: Vec::new(),
    };
    for other in &discovery.files {
        if same_file(&other.path, plan_path) {
            continue;
        }
        let input = Input::Disk(other.clone());
        if Some(other) == config {
            work.report.push(input);
        } else {
            work.context.push(input);
        }
    }
    let diagnostics = checker.run(&work, None, &Budget::default()).diagnostics;
    let Some(plan) = plan else {
        return Err(Refused::Findings(diagnostics));
    };
    let plan = &plan;
    let config = config.map(|c| c.path.clone());
    if let (Some(change), Some(env)) = (change, plan.env.as_deref()) {
        let mut files = vec![plan.file.path()];
        files.extend(config.as_deref());
        let changes = super::trust::weakenings(settings, change, env, &files);
        if !changes.is_empty() {
            return Err(Refused::Weakened {
                environment: env.to_string(),
                changes,
            });
        }
    }
    let (errors, warnings): (Vec<_>, Vec<_>) = diagnostics
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(Refused::Findings(errors));
    }
    let environment = plan
        .env
        .as_ref()
        .and_then(|env| settings.environments.get(env))
        .cloned()
        .ok_or_else(|| Refused::NotAPlan("the plan's environment is not configured".to_string()))?;
    let approved_by = approval.approver();
    if environment.approval_required {
        let Some(approver) = &approved_by else {
            return Err(Refused::Unapproved {
                environment: environment.name.clone(),
            });
        };
        // Logins are case-insensitive on the CI systems that name them.
        if approval
            .actors
            .iter()
            .any(|actor| actor.trim().eq_ignore_ascii_case(approver))
        {
            return Err(Refused::SelfApproved {
                environment: environment.name.clone(),
                approver: approver.clone(),
            });
        }
    }
    let plan_sha256 = crate::digest::sha256_hex(plan.file.text().as_bytes());
    let desired = model::desired(&plan.value, &plan_sha256)
        .map_err(|refused| Refused::Findings(undeployable(plan, refused)))?;
    Ok(Cleared {
        plan_path: plan_path.to_path_buf(),
        plan: plan.value.clone(),
        source: plan.file.text().to_string(),
        desired,
        plan_sha256,
        environment,
        approved_by,
        warnings,
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
