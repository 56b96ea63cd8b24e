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
    /// The one-screen documentation `planguard explain` prints (docs/rules/<code>.md).
    pub doc: &'static str,
    /// How grave a finding is as a security problem (CVSS-like, 0.0–10.0),
    /// for code scanning and Code Quality; None for rules about other things.
    pub security_severity: Option<f32>,
    /// Its findings locate a secret: every output masks the located text.
    pub sensitive: bool,
}

impl Rule {
    /// A security problem serious enough to rank as critical (9.0 and above).
    pub fn is_critical(&self) -> bool {
        self.security_severity.is_some_and(|s| s >= 9.0)
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}

impl Eq for Rule {}

macro_rules! rules {
    ($($ident:ident = $code:literal, $name:literal, $sev:ident, $origin:ident
        $(, security $security:literal)? $(, sensitive $sensitive:literal)?, $summary:literal;)*) => {
        $(pub const $ident: Rule = Rule {
            code: $code,
            name: $name,
            severity: Severity::$sev,
            origin: Origin::$origin,
            summary: $summary,
            doc: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules/", $code, ".md")),
            security_severity: rules!(@some $($security)?),
            sensitive: rules!(@flag $($sensitive)?),
        };)*
        pub const ALL: &[Rule] = &[$($ident),*];
    };
    (@some) => { None };
    (@some $value:literal) => { Some($value) };
    (@flag) => { false };
    (@flag $value:literal) => { $value };
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
    SUPPRESSION_UNUSED = "PG007", "unused-suppression", Warning, Load,
        "An `x-planguard` suppression suppresses nothing where it is, or names no rule.";
    SUPPRESSION_INVALID = "PG008", "invalid-suppression", Warning, Load,
        "An `x-planguard` member is malformed or gives no reason, so it suppresses nothing.";
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
        "A container image is untagged, or tagged `latest` or another tag that moves (a branch, a channel, a bare major version), so what runs can change without a new plan.";
    UNKNOWN_ENVIRONMENT = "PG104", "unknown-environment", Error, Policy,
        "The file's environment is not one of the configured environments.";
    IMAGE_NOT_PINNED = "PG105", "image-not-pinned", Error, Policy,
        "An image in an environment that requires immutable images (UAT, PROD) is not pinned by digest.";
    IMAGE_REGISTRY = "PG106", "image-registry", Error, Policy,
        "An image does not come from the environment's registry (its prefixes, else a name that holds the environment's name).";
    IMAGE_UNSIGNED = "PG107", "image-unsigned", Error, Policy,
        "A plan for an environment that requires signed images (PROD) has no signature reference, or a plan's signature reference cannot be its image's (another digest, not cosign's tag, not an address).";
    SECRET_VALUE = "PG110", "secret-value", Error, Policy, security 9.0, sensitive true,
        "A secret value (password, key, token, webhook) is stored in a config or plan instead of a reference.";
    SECRET_SCOPE = "PG111", "secret-scope", Error, Policy, security 7.0,
        "A secret reference points outside the environment's own secrets store or scope.";
    TEMPORAL_AUTH = "PG112", "temporal-auth", Error, Policy, security 7.0,
        "Temporal authentication (mTLS, API key or OIDC, by secret reference) is missing where required (UAT, PROD).";
    CONFIG_CHECKSUM = "PG113", "config-checksum", Error, Policy,
        "A Spark configuration file in the repository does not match the sha256 checksum its reference gives.";
    ALERTS_MISSING = "PG114", "alerts-missing", Error, Policy,
        "No alert endpoint (Slack webhook or PagerDuty key reference) where one is required (PROD).";
    SCHEDULE_INVALID = "PG115", "schedule-invalid", Error, Policy,
        "A schedule has an invalid cron expression, time zone or duration, or jitter as long as its interval.";
    RETRY_POLICY = "PG116", "retry-policy", Error, Policy,
        "A retry policy that misbehaves: initial interval above the maximum, absurd or (where required) unbounded attempts.";
    TIMEOUT_ORDER = "PG117", "timeout-order", Error, Policy,
        "Timeouts do not nest: a run longer than the execution, or a task longer than the run.";
    PLAN_AUDIT = "PG118", "plan-audit-metadata", Error, Policy,
        "A plan's audit trail is unusable: its generation time is not a time, or it names another environment's config.";
    CERTIFICATE_EXPIRY = "PG119", "certificate-expiry", Warning, Policy,
        "A Temporal TLS certificate committed to the repository expires within 30 days (an error within 7, or once expired), or is valid for longer than the 90-day rotation.";
    FILE_OUTSIDE_WORKSPACE = "PG120", "file-outside-workspace", Error, Policy,
        "A file a rule would read (a Spark configuration, a certificate) leads out of the workspace, so it is not read.";
    SPARK_AUTOSCALE = "PG121", "spark-autoscale", Error, Policy,
        "A Spark cluster without executor bounds where they are required (UAT, PROD), or with min_executors above max_executors.";
    PLAN_LAYOUT = "PG201", "plan-store-layout", Error, Policy,
        "A plan under orchestration_plans/<env>/<build>.json declares another environment or build, or a config at conf/<env>.json another environment.";
    PLAN_CONFIG = "PG202", "plan-config-mismatch", Error, Project,
        "The newest plan of an environment disagrees with its config, so it is stale or hand-edited.";
    ENVIRONMENT_PARITY = "PG203", "environment-parity", Error, Project,
        "Environments' configs differ in more than namespace, task queue and credentials.";
    PROMOTION = "PG204", "promotion-unverified", Error, Project,
        "A plan deploys an image no plan of the previous environment deployed (DEV → UAT → PROD).";
    SCHEDULE_ID_CONFLICT = "PG205", "schedule-id-conflict", Error, Project,
        "Two pipelines use the same schedule id in one Temporal namespace.";
    PLAN_MISSING = "PG206", "plan-missing", Warning, Project,
        "An environment's config has no plan stored for it, so nothing it says is deployed.";
    PLAN_ORPHANED = "PG207", "plan-orphaned", Error, Project,
        "An environment's plans have no config beside them: it was removed or renamed, but its plans would still be applied.";
    PLAN_STALE = "PG208", "plan-stale", Error, Project,
        "The newest plan of an environment was generated from another version of its config: its source_config.sha256 is not the config file's.";
    SPARK_CLUSTER_SHARED = "PG209", "spark-cluster-shared", Error, Project,
        "An environment that requires a dedicated Spark cluster (PROD) shares its cluster (name or master) with another environment.";
    SCHEDULE_DRIFT = "PG301", "schedule-drift", Error, Engine,
        "A deployed Temporal Schedule differs from the newest plan of its environment.";
    SCHEDULE_MISSING = "PG302", "schedule-missing", Error, Engine,
        "The newest plan of an environment has no deployed Temporal Schedule.";
    SCHEDULE_UNMANAGED = "PG303", "schedule-unmanaged", Warning, Engine,
        "A Temporal Schedule in the namespace is owned by no plan.";
    SCHEDULE_REJECTED = "PG304", "schedule-rejected", Error, Engine,
        "The Temporal server rejected a schedule that passed the check.";
    SCHEDULE_UNDEPLOYABLE = "PG305", "schedule-undeployable", Error, Engine,
        "A plan value the schema accepts cannot be deployed to a Temporal Schedule as written.";
}

/// The built-in rule with this id or name, in any case.
pub fn lookup(code: &str) -> Option<&'static Rule> {
    ALL.iter()
        .find(|r| r.code.eq_ignore_ascii_case(code) || r.name.eq_ignore_ascii_case(code))
}

/// The built-in rule with this exact id.
pub fn by_code(code: &str) -> Option<&'static Rule> {
    ALL.iter().find(|r| r.code == code)
}

/// Where a rule's documentation lives: its page in docs/rules/ of the
/// repository, as this version has it.
pub fn doc_url(code: &str) -> Option<String> {
    lookup(code).map(|r| crate::links::file(&format!("docs/rules/{}.md", r.code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_doc_has_the_sections_a_reader_needs() {
        for rule in ALL {
            let title = format!("# {} {}", rule.code, rule.name);
            assert!(
                rule.doc.starts_with(&title),
                "{}: doc must open with {title:?}",
                rule.code
            );
            for section in [
                "## What it checks",
                "## Why",
                "## Example",
                "## Configure or suppress",
            ] {
                assert!(
                    rule.doc.contains(section),
                    "{}: doc lacks {section:?}",
                    rule.code
                );
            }
        }
    }

    #[test]
    fn codes_and_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for rule in ALL {
            assert!(seen.insert(rule.code), "duplicate code {}", rule.code);
            assert!(seen.insert(rule.name), "duplicate name {}", rule.name);
        }
    }
}
