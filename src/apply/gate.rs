//! The gate: nothing reaches Temporal without a clean check of exactly what
//! is about to be sent. `Cleared` can only be made here, and the Temporal
//! client only accepts a `Cleared`, so "no schedule without a clean pass" is
//! a fact the compiler checks.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::model::{self, Desired};
use crate::check::Checker;
use crate::diagnostic::{Diagnostic, Severity};
use crate::discover::{self, Kind};
use crate::load::{self, Document};
use crate::settings::Environment;

/// A plan that passed the gate, ready to send.
// A private field, not #[non_exhaustive]: that would still let the rest of
// the crate build one, and only this module may.
#[allow(clippy::manual_non_exhaustive)]
#[derive(Debug, Clone)]
pub struct Cleared {
    pub plan_path: PathBuf,
    pub plan: Value,
    pub desired: Desired,
    pub plan_sha256: String,
    pub environment: Environment,
    pub approved_by: Option<String>,
    /// Warnings the check found; they do not stop an apply.
    pub warnings: Vec<Diagnostic>,
    _sealed: (),
}

/// Why the gate said no.
#[derive(Debug)]
pub enum Refused {
    /// The check found errors in the plan, its config, or across them.
    Findings(Vec<Diagnostic>),
    /// The environment needs an approver and none was named.
    Unapproved { environment: String },
    /// The file is not something `apply` can send.
    NotAPlan(String),
}

/// Command-line overrides injected by CI (spec §2.3), applied before the check.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub namespace: Option<String>,
    pub task_queue: Option<String>,
}

pub fn gate(
    checker: &Checker,
    plan_path: &Path,
    overrides: &Overrides,
    approved_by: Option<String>,
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
    let discovery = discover::discover(&[root, plan_path.to_path_buf()], settings)
        .map_err(|e| Refused::NotAPlan(e.to_string()))?;
    let mut documents: Vec<Document> = Vec::new();
    let mut diagnostics = Vec::new();
    let mut plan_index = None;
    for candidate in &discovery.files {
        let (document, found) = load::load(candidate, settings.max_file_size);
        diagnostics.extend(found);
        if let Some(mut document) = document {
            if same_file(&candidate.path, plan_path) {
                apply_overrides(&mut document.value, overrides);
                plan_index = Some(documents.len());
            }
            documents.push(document);
        }
    }
    diagnostics.extend(checker.check_loaded(&documents));
    let Some(plan_index) = plan_index else {
        // The plan did not even parse: its load diagnostics say why.
        return Err(Refused::Findings(relevant(diagnostics, plan_path, None)));
    };
    let plan = &documents[plan_index];
    let config = documents
        .iter()
        .find(|d| {
            d.kind == Some(Kind::Config) && d.env == plan.env && d.workspace == plan.workspace
        })
        .map(|d| d.file.path().to_path_buf());
    let relevant = relevant(diagnostics, plan_path, config.as_deref());
    let (errors, warnings): (Vec<_>, Vec<_>) = relevant
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
    if environment.approval_required && approved_by.is_none() {
        return Err(Refused::Unapproved {
            environment: environment.name.clone(),
        });
    }
    let plan_sha256: String = Sha256::digest(plan.file.text().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let desired = model::desired(&plan.value, &plan_sha256)
        .map_err(|refused| Refused::Findings(undeployable(plan, refused)))?;
    Ok(Cleared {
        plan_path: plan_path.to_path_buf(),
        plan: plan.value.clone(),
        desired,
        plan_sha256,
        environment,
        approved_by,
        warnings,
        _sealed: (),
    })
}

/// Values Temporal cannot hold as written, as findings at their fields.
pub fn undeployable(plan: &Document, refused: Vec<model::Undeployable>) -> Vec<Diagnostic> {
    refused
        .into_iter()
        .map(|u| {
            let target = plan.locate(&u.pointer);
            Diagnostic::builtin(&crate::rules::SCHEDULE_UNDEPLOYABLE, u.message).at(
                &plan.file,
                target.span,
                Some(target.pointer),
            )
        })
        .collect()
}

fn apply_overrides(plan: &mut Value, overrides: &Overrides) {
    if let Some(object) = plan.as_object_mut() {
        if let Some(namespace) = &overrides.namespace {
            object.insert("namespace".to_string(), Value::from(namespace.clone()));
        }
        if let Some(queue) = &overrides.task_queue {
            object.insert("task_queue".to_string(), Value::from(queue.clone()));
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The findings that concern what is being applied: located in the plan or
/// its config, or naming either among their related places, or policy
/// failures (which mean a rule did not run).
fn relevant(diagnostics: Vec<Diagnostic>, plan: &Path, config: Option<&Path>) -> Vec<Diagnostic> {
    let concerns =
        |path: &Path| same_file(path, plan) || config.is_some_and(|c| same_file(path, c));
    diagnostics
        .into_iter()
        .filter(|d| {
            d.rule.starts_with("PG02")
                || d.location.as_ref().is_some_and(|l| concerns(l.file.path()))
                || d.related.iter().any(|r| concerns(r.location.file.path()))
        })
        .collect()
}
