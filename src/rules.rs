//! The catalogue of built-in rules: stable ids, names, default severities and
//! what each one is about. Rego rules in `policies/` name their id; everything
//! else (load, schema, policy errors) is raised by Rust code through this table.

use crate::diagnostic::Severity;

/// Where a rule's findings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Load,
    Schema,
    Policy,
    Project,
    Engine,
}

#[derive(Debug)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub origin: Origin,
    pub summary: &'static str,
}

macro_rules! rules {
    ($($ident:ident = $code:literal, $name:literal, $sev:ident, $origin:ident, $summary:literal;)*) => {
        $(pub const $ident: Rule = Rule {
            code: $code,
            name: $name,
            severity: Severity::$sev,
            origin: Origin::$origin,
            summary: $summary,
        };)*
        pub const ALL: &[Rule] = &[$($ident),*];
    };
}

rules! {
    INVALID_JSON = "PG001", "invalid-json", Error, Load,
        "The file is not well-formed JSON.";
    DUPLICATE_KEY = "PG002", "duplicate-key", Error, Load,
        "An object has the same key twice; JSON parsers silently keep only one of the values.";
    INVALID_ENCODING = "PG003", "invalid-encoding", Error, Load,
        "The file is not valid UTF-8.";
    UNREADABLE_FILE = "PG004", "unreadable-file", Error, Load,
        "The file could not be read (permissions, I/O error), or exceeds a size or nesting limit.";
    UNCLASSIFIED_FILE = "PG005", "unclassified-file", Warning, Load,
        "A file given on the command line is neither an ingestion config nor an orchestration plan by path or content.";
    INVALID_SETTINGS = "PG006", "invalid-settings", Error, Engine,
        "planguard.toml is not valid; nothing was checked.";
    SCHEMA = "PG010", "schema-violation", Error, Schema,
        "The document does not match the JSON Schema of its kind (ingestion config or orchestration plan).";
    POLICY_SYNTAX = "PG020", "policy-syntax-error", Error, Engine,
        "A Rego policy file could not be parsed or compiled; its rules did not run.";
    POLICY_ERROR = "PG021", "policy-evaluation-error", Error, Engine,
        "A Rego rule failed while evaluating a document, or exceeded the time limit.";
    POLICY_RESULT = "PG022", "invalid-policy-result", Error, Engine,
        "A deny/warn/violation rule produced a value that is neither a string nor an object with `msg`.";
    NAMESPACE = "PG101", "namespace-mismatch", Error, Policy,
        "The Temporal namespace is not the one of the file's environment.";
    TASK_QUEUE = "PG102", "task-queue-not-allowed", Error, Policy,
        "The task queue is not one the file's environment allows.";
    MUTABLE_IMAGE = "PG103", "mutable-image-tag", Error, Policy,
        "A container image is untagged or tagged `latest`, so what runs can change without a new plan.";
    UNKNOWN_ENVIRONMENT = "PG104", "unknown-environment", Error, Policy,
        "The file's environment is not one of the configured environments.";
    PLAN_LAYOUT = "PG201", "plan-store-layout", Error, Policy,
        "A plan under orchestration_plans/<env>/<build>.json declares another environment or build.";
    PLAN_CONFIG = "PG202", "plan-config-mismatch", Error, Project,
        "A plan disagrees with its environment's ingestion config, so it is stale or hand-edited.";
}

pub fn lookup(code: &str) -> Option<&'static Rule> {
    ALL.iter().find(|r| r.code == code || r.name == code)
}

/// Where a rule's documentation lives; the base is the package homepage.
pub fn doc_url(code: &str) -> Option<String> {
    lookup(code).map(|r| format!("{}/rules/{}", env!("CARGO_PKG_HOMEPAGE"), r.code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for rule in ALL {
            assert!(seen.insert(rule.code), "duplicate code {}", rule.code);
            assert!(seen.insert(rule.name), "duplicate name {}", rule.name);
        }
    }
}
