//! Where the gate's settings come from. A change under review may edit
//! planguard.toml; for an environment that requires approval, the gate runs
//! with settings from outside the change (a file, or planguard.toml at a git
//! ref such as origin/main), and refuses a change that weakens the gate for
//! that environment compared with them.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::gate::Refused;
use crate::diagnostic::Severity;
use crate::discover;
use crate::rules;
use crate::settings::{self, Settings, SettingsError};

/// Where trusted settings are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A settings file kept outside the change (`--trusted-settings FILE`).
    File(PathBuf),
    /// planguard.toml as a git ref has it (`--settings-from-ref origin/main`).
    GitRef(String),
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read the trusted settings at git ref `{reference}`: {reason}")]
    Git { reference: String, reason: String },
    /// The trusted settings themselves are invalid (located in them).
    #[error("the trusted settings are invalid")]
    Settings(SettingsError),
}

/// Trusted settings, and how the audit names where they came from.
#[derive(Debug, Clone)]
pub struct Trusted {
    pub settings: Settings,
    pub label: String,
}

/// Read the trusted settings. At a git ref, planguard.toml is read from the
/// place the change's own settings file is at (the working folder when there
/// is none), and its relative paths resolve against the working tree; a ref
/// that has no such file means the built-in defaults.
pub fn load(source: &Source, working: &Settings) -> Result<Trusted, TrustError> {
    match source {
        Source::File(path) => Ok(Trusted {
            settings: Settings::load(path).map_err(TrustError::Settings)?,
            label: crate::source::display_path(path),
        }),
        Source::GitRef(reference) => {
            let (folder, name) = match &working.file {
                Some(file) => (
                    file.parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
                    file.file_name().map_or_else(
                        || settings::FILE_NAME.to_string(),
                        |n| n.to_string_lossy().into_owned(),
                    ),
                ),
                None => (PathBuf::from("."), settings::FILE_NAME.to_string()),
            };
            let git = |args: &[&str]| {
                Command::new("git")
                    .arg("-C")
                    .arg(&folder)
                    .args(args)
                    .output()
                    .map_err(|e| TrustError::Git {
                        reference: reference.clone(),
                        reason: format!("cannot run git: {e}"),
                    })
            };
            let failed = |output: &std::process::Output| TrustError::Git {
                reference: reference.clone(),
                reason: String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .next()
                    .unwrap_or("git failed")
                    .trim_start_matches("fatal: ")
                    .to_string(),
            };
            let commit = git(&[
                "rev-parse",
                "--verify",
                "--end-of-options",
                &format!("{reference}^{{commit}}"),
            ])?;
            if !commit.status.success() {
                return Err(failed(&commit));
            }
            let object = format!("{reference}:./{name}");
            let label = format!("{reference}:{name}");
            if !git(&["cat-file", "-e", "--end-of-options", &object])?
                .status
                .success()
            {
                return Ok(Trusted {
                    settings: Settings::default(),
                    label: format!("{label} (absent: the built-in defaults)"),
                });
            }
            let shown = git(&["show", "--end-of-options", &object])?;
            if !shown.status.success() {
                return Err(failed(&shown));
            }
            let text = String::from_utf8(shown.stdout).map_err(|_| TrustError::Git {
                reference: reference.clone(),
                reason: format!("{name} is not UTF-8 there"),
            })?;
            let root = std::path::absolute(&folder).unwrap_or(folder);
            Ok(Trusted {
                settings: Settings::from_text(root, &label, text).map_err(TrustError::Settings)?,
                label,
            })
        }
    }
}

/// The settings a plan is gated with.
#[derive(Debug)]
pub struct GateSettings {
    /// What the check runs with.
    pub settings: Settings,
    /// The change's own settings, when the check runs with trusted ones:
    /// the gate refuses what they weaken.
    pub change: Option<Settings>,
    /// Where `settings` came from, for the audit.
    pub source: String,
}

/// For an environment that requires approval (by the change's settings, the
/// trusted ones or the built-in defaults), the trusted settings, with the
/// change's to compare; without a trusted source, a refusal (unless the
/// settings are the built-in defaults, which no change can edit: `builtin`,
/// or no planguard.toml at all). Any other environment is gated by the
/// change's own settings.
pub fn choose(
    working: Settings,
    trusted: Option<Trusted>,
    builtin: bool,
    plan: &Path,
) -> Result<GateSettings, Refused> {
    let environment = discover::classify(plan, trusted.as_ref().map_or(&working, |t| &t.settings))
        .and_then(|(_, captures)| captures.env);
    let requires = |settings: &Settings| {
        environment
            .as_ref()
            .and_then(|env| settings.environments.get(env))
            .is_some_and(|e| e.approval_required)
    };
    // The built-in defaults count too: a change that turns approval off in
    // its own planguard.toml for an environment the defaults protect (prod)
    // still needs settings from outside the change to be judged against.
    let required = requires(&working)
        || requires(&Settings::default())
        || trusted.as_ref().is_some_and(|t| requires(&t.settings));
    let own_source = if builtin {
        "built-in defaults (--isolated)".to_string()
    } else {
        working.file.as_ref().map_or_else(
            || "built-in defaults".to_string(),
            |f| crate::source::display_path(f),
        )
    };
    match (required, trusted) {
        (true, Some(trusted)) => Ok(GateSettings {
            settings: trusted.settings,
            change: Some(working),
            source: trusted.label,
        }),
        // Without a planguard.toml the settings are the built-in defaults,
        // which no change can edit.
        (true, None) if !builtin && working.file.is_some() => Err(Refused::Untrusted {
            environment: environment.unwrap_or_default(),
        }),
        _ => Ok(GateSettings {
            settings: working,
            change: None,
            source: own_source,
        }),
    }
}

/// The rules about deployed schedules: they report what the server did or
/// holds, and stop no apply.
const AFTER_THE_GATE: &[&rules::Rule] = &[
    &rules::SCHEDULE_DRIFT,
    &rules::SCHEDULE_MISSING,
    &rules::SCHEDULE_UNMANAGED,
    &rules::SCHEDULE_REJECTED,
];

/// What `change` weakens for `environment` compared with `trusted`: the
/// approval, a `require-*` guarantee or an allow-list, a rule that stops an
/// apply (turned off, downgraded, or ignored for one of `files`), the
/// built-in policies. Each is one line saying what changed.
pub fn weakenings(
    trusted: &Settings,
    change: &Settings,
    environment: &str,
    files: &[&Path],
) -> Vec<String> {
    let mut found = Vec::new();
    let Some(before) = trusted.environments.get(environment) else {
        return found;
    };
    let Some(after) = change.environments.get(environment) else {
        found.push(format!("environment `{environment}` is removed"));
        return found;
    };
    let guarantees = [
        (
            "approval-required",
            before.approval_required,
            after.approval_required,
        ),
        (
            "require-digest",
            before.require_digest,
            after.require_digest,
        ),
        (
            "require-signature",
            before.require_signature,
            after.require_signature,
        ),
        ("require-auth", before.require_auth, after.require_auth),
        (
            "require-alerts",
            before.require_alerts,
            after.require_alerts,
        ),
        (
            "require-bounded-retries",
            before.require_bounded_retries,
            after.require_bounded_retries,
        ),
        (
            "require-autoscale",
            before.require_autoscale,
            after.require_autoscale,
        ),
        (
            "require-dedicated-cluster",
            before.require_dedicated_cluster,
            after.require_dedicated_cluster,
        ),
    ];
    for (key, was, is) in guarantees {
        if was && !is {
            found.push(format!("{key} is turned off for {environment}"));
        }
    }
    // An allow-list of prefixes (empty: anything) widened: something is
    // allowed that the trusted list did not allow.
    let prefixes = [
        ("registries", &before.registries, &after.registries),
        ("secret-stores", &before.secret_stores, &after.secret_stores),
    ];
    for (key, was, is) in prefixes {
        let widened = !was.is_empty()
            && (is.is_empty() || is.iter().any(|p| !was.iter().any(|w| p.starts_with(w))));
        if widened {
            found.push(format!("{key} of {environment} allow more than before"));
        }
    }
    for (key, was, is) in [
        ("task-queues", &before.task_queues, &after.task_queues),
        (
            "failover-task-queues",
            &before.failover_task_queues,
            &after.failover_task_queues,
        ),
    ] {
        if is.iter().any(|q| !was.contains(q)) {
            found.push(format!("{key} of {environment} allow more than before"));
        }
    }
    // Without registries, the trusted registry pattern is the allow-list:
    // another pattern may admit anything, and a list of prefixes replaces it
    // only with prefixes the pattern admits.
    if before.registries.is_empty() && !before.registry_pattern.is_empty() {
        if after.registries.is_empty() && after.registry_pattern != before.registry_pattern {
            found.push(format!("registry-pattern of {environment} is changed"));
        }
        let pattern = regex::Regex::new(&before.registry_pattern).ok();
        let admitted = |prefix: &String| pattern.as_ref().is_some_and(|re| re.is_match(prefix));
        if !after.registries.iter().all(admitted) {
            found.push(format!(
                "registries of {environment} allow more than before"
            ));
        }
    }
    let dropped: Vec<&str> = before
        .alert_on
        .iter()
        .filter(|e| !after.alert_on.contains(e))
        .map(String::as_str)
        .collect();
    if !dropped.is_empty() {
        found.push(format!(
            "alert-on of {environment} no longer requires {}",
            dropped.join(", ")
        ));
    }
    if trusted.policy.builtin && !change.policy.builtin {
        found.push("the built-in policies are turned off".to_string());
    }
    // Every rule that stops an apply under the trusted settings: the
    // built-in ones, and any rule either file names.
    let mut codes: Vec<(String, Severity)> = rules::ALL
        .iter()
        .filter(|r| !AFTER_THE_GATE.iter().any(|a| a.code == r.code))
        .map(|r| (r.code.to_string(), r.severity))
        .collect();
    for code in trusted.severities.keys().chain(change.severities.keys()) {
        let known = rules::lookup(code).is_some();
        if !known && !codes.iter().any(|(c, _)| c == code) {
            codes.push((code.clone(), Severity::Error));
        }
    }
    // Ignores match paths as the settings file gives them: `a/b`, not `./a/b`.
    let files: Vec<PathBuf> = files
        .iter()
        .map(|f| PathBuf::from(crate::source::display_path(f)))
        .collect();
    // An ignore of every rule is one change, not one per rule.
    let everything: Vec<&PathBuf> = files
        .iter()
        .filter(|file| change.is_ignored("*", file) && !trusted.is_ignored("*", file))
        .collect();
    for file in &everything {
        found.push(format!(
            "every rule is ignored for {}",
            crate::source::display_path(file)
        ));
    }
    for (code, default) in codes {
        if trusted.severity_for(&code, default) != Some(Severity::Error) {
            continue;
        }
        match change.severity_for(&code, default) {
            Some(Severity::Error) => {}
            None => found.push(format!("{code} is turned off")),
            Some(level) => found.push(format!("{code} is downgraded to {}", level.as_str())),
        }
        for file in files.iter().filter(|f| !everything.contains(f)) {
            if change.is_ignored(&code, file) && !trusted.is_ignored(&code, file) {
                found.push(format!(
                    "{code} is ignored for {}",
                    crate::source::display_path(file)
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Settings {
        Settings::from_text(PathBuf::from("."), "planguard.toml", text.to_string())
            .expect("valid settings")
    }

    fn weakened(trusted: &str, change: &str) -> Vec<String> {
        let plan = Path::new("orchestration_plans/prod/12.json");
        let config = Path::new("./conf/prod.json");
        weakenings(
            &settings(trusted),
            &settings(change),
            "prod",
            &[plan, config],
        )
    }

    #[test]
    fn the_same_or_a_stricter_change_weakens_nothing() {
        assert!(weakened("", "").is_empty());
        assert!(
            weakened(
                "",
                "[environments.prod]\nregistries = [\"registry.prod/\"]\n[rules]\nPG303 = \"error\"\n"
            )
            .is_empty()
        );
        // A rule that does not stop an apply may be changed freely.
        assert!(
            weakened(
                "",
                "[rules]\nPG301 = \"off\"\nPG304 = \"info\"\nPG005 = \"off\"\n"
            )
            .is_empty()
        );
        // Another environment's guarantees are its own business.
        assert!(
            weakened(
                "",
                "[environments.prod]\n[environments.dev]\nrequire-auth = false\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn each_weakening_is_named() {
        assert_eq!(
            weakened(
                "[environments.prod]\nregistries = [\"registry.prod/\"]\n",
                "[environments.prod]\nregistries = [\"registry.prod/\", \"docker.io/\"]\nrequire-auth = false\ntask-queues = [\"spark-ingest-prod\", \"anything\"]\n[policy]\nbuiltin = false\n[rules]\nPG101 = \"off\"\nschedule-rejected = \"info\"\n[[ignore]]\nrule = \"*\"\npaths = [\"conf/prod.json\"]\n[[ignore]]\nrule = \"PG106\"\npaths = [\"orchestration_plans/**\"]\n"
            ),
            [
                "require-auth is turned off for prod",
                "registries of prod allow more than before",
                "task-queues of prod allow more than before",
                "the built-in policies are turned off",
                "every rule is ignored for conf/prod.json",
                "PG101 is turned off",
                "PG106 is ignored for orchestration_plans/prod/12.json",
            ]
        );
        assert_eq!(
            weakened("", "[environments.dev]\n"),
            ["environment `prod` is removed"]
        );
    }

    #[test]
    fn the_spark_alert_queue_and_registry_guarantees_are_watched_too() {
        assert_eq!(
            weakened(
                "",
                "[environments.prod]\nrequire-autoscale = false\nrequire-dedicated-cluster = false\n\
                 failover-task-queues = [\"spark-ingest-prod-failover\", \"spark-ingest-dev\"]\n\
                 alert-on = [\"failure\"]\nregistry-pattern = \".\"\n"
            ),
            [
                "require-autoscale is turned off for prod",
                "require-dedicated-cluster is turned off for prod",
                "failover-task-queues of prod allow more than before",
                "registry-pattern of prod is changed",
                "alert-on of prod no longer requires retry_exhausted",
            ]
        );
        // Prefixes in place of the pattern: only those it admits.
        assert!(
            weakened(
                "",
                "[environments.prod]\nregistries = [\"registry.prod.salam.internal/\"]\n"
            )
            .is_empty()
        );
        assert_eq!(
            weakened("", "[environments.prod]\nregistries = [\"docker.io/\"]\n"),
            ["registries of prod allow more than before"]
        );
        // More events, or a pattern where any registry was allowed: stricter.
        assert!(
            weakened(
                "[environments.prod]\nregistry-pattern = \"\"\n",
                "[environments.prod]\nregistry-pattern = \"^registry\\\\.prod\\\\.\"\n\
                 alert-on = [\"failure\", \"retry_exhausted\", \"timeout\"]\n"
            )
            .is_empty()
        );
    }
}
