//! planguard's own failures (exit 2) as miette diagnostics: each has a
//! stable code (`planguard::temporal::unreachable`), a help line saying what
//! to do, and a link to its entry in docs/errors.md. Findings are not these:
//! they are `Diagnostic`s, rendered by src/report/.

use std::fmt::Display;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

use super::CliError;
#[cfg(feature = "deploy")]
use crate::apply::DeployError;
#[cfg(feature = "deploy")]
use crate::apply::rollback::RollbackError;
#[cfg(feature = "deploy")]
use crate::apply::temporal::TemporalError;

/// A fatal error's code and what to do about it.
struct Entry {
    code: &'static str,
    help: Option<&'static str>,
}

const fn entry(code: &'static str, help: &'static str) -> Entry {
    Entry {
        code,
        help: Some(help),
    }
}

/// The docs link of a code: its heading's anchor in docs/errors.md, as this
/// version has it.
pub fn url(code: &str) -> String {
    format!(
        "{}#{}",
        crate::links::file("docs/errors.md"),
        code.replace(':', "")
    )
}

#[cfg(feature = "deploy")]
fn temporal(error: &TemporalError) -> Entry {
    match error {
        TemporalError::Unreachable { .. } => entry(
            "planguard::temporal::unreachable",
            "is a Temporal server running there? The address comes from --address (TEMPORAL_ADDRESS), else `address` in [environments.<env>] of planguard.toml, else the Temporal CLI profile, else 127.0.0.1:7233",
        ),
        TemporalError::NamespaceMissing(_) => entry(
            "planguard::temporal::namespace_missing",
            "create the namespace (`temporal operator namespace create`), or send the plan to one that exists (its `namespace`, --namespace or TEMPORAL_NAMESPACE)",
        ),
        TemporalError::PermissionDenied(_) => entry(
            "planguard::temporal::permission_denied",
            "check the credentials: the API key in the variable --api-key-env names (TEMPORAL_API_KEY by default), or the client certificate and key (--tls-cert, --tls-key)",
        ),
        TemporalError::Rejected(_) => entry(
            "planguard::temporal::rejected",
            "the plan passed the check but the server refused it; where the server names a plan field, the PG304 finding above shows it",
        ),
        TemporalError::Conflict(_) => entry(
            "planguard::temporal::conflict",
            "someone changed the schedule at the same time; run the apply again to compare with what is deployed now",
        ),
        TemporalError::Other { .. } => entry(
            "planguard::temporal::call_failed",
            "the server's message says why; run again once it is resolved",
        ),
        TemporalError::Runtime(_) => Entry {
            code: "planguard::runtime",
            help: None,
        },
        TemporalError::Tls(_) => entry(
            "planguard::temporal::tls",
            "give a readable certificate and its key together (--tls-cert and --tls-key, or tls-cert and tls-key in planguard.toml)",
        ),
        TemporalError::Profile { .. } => entry(
            "planguard::temporal::profile",
            "fix the Temporal CLI configuration (TEMPORAL_CONFIG_FILE, else the default temporal.toml) or name another profile (--profile, `profile` in planguard.toml)",
        ),
        TemporalError::PlaintextRefused { .. } => entry(
            "planguard::gate::plaintext_refused",
            "only a local dev server should be reached in plain text (--insecure); any other carries credentials and plans, and needs TLS",
        ),
    }
}

#[cfg(feature = "deploy")]
fn deploy(error: &DeployError) -> Entry {
    match error {
        DeployError::Temporal(e) => temporal(e),
        DeployError::Discover(_) => entry(
            "planguard::paths::not_found",
            "name files or folders that exist",
        ),
        DeployError::OverrideAcrossEnvironments { .. } => entry(
            "planguard::usage::override_across_environments",
            "name the plans of one environment, or leave the override out",
        ),
        DeployError::Plan(_) => entry(
            "planguard::deploy::plan",
            "a deployed plan needs a readable file naming its namespace and schedule_id",
        ),
        DeployError::Rollback(e) => match e {
            RollbackError::NoPlans { .. } => entry(
                "planguard::rollback::no_plans",
                "check --env and the workspace, and [files] plans in planguard.toml",
            ),
            RollbackError::NoSuchBuild { .. } => entry(
                "planguard::rollback::no_such_build",
                "`planguard rollback --env <env> --list` shows the builds of the plan store",
            ),
            RollbackError::NotDeployed { .. } | RollbackError::Unrecorded => entry(
                "planguard::rollback::no_target",
                "name the build to apply with --to",
            ),
            RollbackError::NoTarget(_) => entry(
                "planguard::rollback::no_target",
                "`planguard rollback --env <env> --list` shows the deployments; name a build with --to",
            ),
            RollbackError::Audit { .. } => entry(
                "planguard::audit::unreadable",
                "make the audit log (--audit-log, PLANGUARD_AUDIT_LOG) readable",
            ),
        },
        DeployError::Settings(_) => settings(),
        DeployError::Trust(_) => trust(),
        DeployError::Policy(_) => policy(),
        DeployError::NotAPlan(_) => entry(
            "planguard::gate::not_a_plan",
            "apply, rollback and trigger take a plan: orchestration_plans/<env>/<build>.json, or what [files] plans in planguard.toml names",
        ),
        DeployError::AuditLog { .. } => entry(
            "planguard::audit::unwritable",
            "make the audit log (--audit-log, PLANGUARD_AUDIT_LOG) writable; every change to Temporal is recorded there",
        ),
    }
}

fn settings() -> Entry {
    entry(
        "planguard::settings::invalid",
        "fix planguard.toml where shown above (or the file --config names); --isolated runs with the built-in defaults",
    )
}

#[cfg(feature = "deploy")]
fn trust() -> Entry {
    entry(
        "planguard::settings::untrusted",
        "the trusted settings (--settings-from-ref, --trusted-settings) must be readable: fetch the ref, or name the file",
    )
}

fn policy() -> Entry {
    entry(
        "planguard::policy::invalid",
        "fix the policy or data file named; `planguard test` runs the policies' own tests",
    )
}

fn of(error: &CliError) -> Entry {
    match error {
        CliError::Discover(_) => entry(
            "planguard::paths::not_found",
            "name files or folders that exist",
        ),
        CliError::Policy(_) => policy(),
        CliError::Settings(_) => settings(),
        CliError::Output(_) | CliError::OutputFile { .. } => entry(
            "planguard::output::unwritable",
            "check that the output (standard output, or the --output file and its folder) can be written",
        ),
        CliError::FixFile { .. } => entry(
            "planguard::fix::unwritable",
            "check that the files being fixed can be written",
        ),
        CliError::Test(_) => entry(
            "planguard::test::failed_to_run",
            "fix the policy or data file named",
        ),
        #[cfg(feature = "deploy")]
        CliError::Temporal(e) => temporal(e),
        #[cfg(feature = "deploy")]
        CliError::Deploy(e) => deploy(e),
        #[cfg(feature = "deploy")]
        CliError::Trust(_) => trust(),
        CliError::NoDeploy(_) => entry(
            "planguard::build::check_only",
            "install the full build: a release binary, `pip install planguard`, `cargo binstall planguard`, or `cargo install planguard` with its default features",
        ),
        CliError::Init(_) => entry(
            "planguard::init::unwritable",
            "check that the folder can be written; --force replaces files that exist",
        ),
        CliError::Baseline(_) => entry(
            "planguard::baseline::unusable",
            "write the baseline with `planguard check --write-baseline FILE`, and name that file",
        ),
        CliError::Usage(_) => entry(
            "planguard::usage",
            "`planguard help <command>` lists what each command takes",
        ),
        CliError::NothingToCheck { .. } => entry(
            "planguard::check::nothing_to_check",
            "check the paths and [files] in planguard.toml, or pass --allow-empty",
        ),
    }
}

impl Diagnostic for CliError {
    fn code<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
        Some(Box::new(of(self).code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
        of(self)
            .help
            .map(|help| Box::new(help) as Box<dyn Display + 'a>)
    }

    fn url<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
        Some(Box::new(url(of(self).code)))
    }
}

/// The causes of an error that its own message does not already say, in order.
pub fn causes(error: &CliError) -> Vec<String> {
    let line = error.to_string();
    let mut causes = Vec::new();
    let mut next = std::error::Error::source(error);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !line.contains(&text) && !causes.contains(&text) {
            causes.push(text);
        }
        next = cause.source();
    }
    causes
}

/// One cause as miette shows it, and the next.
#[derive(Debug)]
struct Cause {
    text: String,
    next: Option<Box<Cause>>,
}

impl Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.next
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

/// An error as shown: its message, the causes it does not already say, and
/// its code, help and link.
#[derive(Debug)]
struct Shown<'a> {
    error: &'a CliError,
    causes: Option<Box<Cause>>,
}

impl Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Display::fmt(self.error, f)
    }
}

impl std::error::Error for Shown<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.causes
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl Diagnostic for Shown<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
        self.error.code()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
        self.error.help()
    }

    fn url<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
        self.error.url()
    }
}

/// What a JSON log's fatal event carries besides the message.
pub fn code_help_url(error: &CliError) -> (&'static str, Option<&'static str>, String) {
    let entry = of(error);
    (entry.code, entry.help, url(entry.code))
}

/// A fatal error as miette renders it: the code and its docs link, the
/// message and its causes, then the help. Colours only for a terminal; never
/// wrapped, so a CI log keeps each line whole.
pub fn render(error: &CliError, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_wrap_lines(false)
        .with_cause_chain();
    let causes = causes(error)
        .into_iter()
        .rev()
        .fold(None, |next, text| Some(Box::new(Cause { text, next })));
    let shown = Shown { error, causes };
    let mut text = String::new();
    handler
        .render_report(&mut text, &shown)
        .expect("writing to a String");
    text
}

// The examples name every kind of error, the deploy commands' among them.
#[cfg(all(test, feature = "deploy"))]
mod tests {
    use super::*;

    const ERRORS_DOC: &str = include_str!("../../docs/errors.md");

    fn examples() -> Vec<CliError> {
        let temporal = [
            TemporalError::Unreachable {
                address: "127.0.0.1:1".into(),
                reason: "connection refused".into(),
            },
            TemporalError::NamespaceMissing("ingestion-prod".into()),
            TemporalError::PermissionDenied("bad key".into()),
            TemporalError::Rejected("bad cron".into()),
            TemporalError::Conflict("mismatched conflict token".into()),
            TemporalError::Other {
                code: temporalio_client::tonic::Code::Internal,
                message: "boom".into(),
            },
            TemporalError::Runtime(std::io::Error::other("no threads")),
            TemporalError::Tls("no key".into()),
            TemporalError::Profile {
                file: "temporal.toml".into(),
                reason: "no profile".into(),
            },
            TemporalError::PlaintextRefused {
                environment: "prod".into(),
                address: "x:7233".into(),
                unset: String::new(),
            },
        ];
        let deploy = [
            DeployError::OverrideAcrossEnvironments {
                flags: "--namespace".into(),
                environments: vec!["dev".into(), "uat".into()],
            },
            DeployError::Plan("no namespace".into()),
            DeployError::Rollback(RollbackError::NoSuchBuild {
                build: "4".into(),
                environment: "dev".into(),
            }),
            DeployError::Rollback(RollbackError::NoPlans {
                environment: "dev".into(),
                workspace: ".".into(),
                patterns: String::new(),
            }),
            DeployError::Rollback(RollbackError::Unrecorded),
            DeployError::Rollback(RollbackError::Audit {
                path: "a".into(),
                source: std::io::Error::other("x"),
            }),
            DeployError::NotAPlan("conf/dev.json is not a plan".into()),
            DeployError::AuditLog {
                path: "a".into(),
                source: std::io::Error::other("x"),
            },
        ];
        let mut all: Vec<CliError> = temporal.into_iter().map(CliError::Temporal).collect();
        all.extend(deploy.into_iter().map(CliError::Deploy));
        all.extend([
            CliError::Settings(crate::settings::SettingsError {
                diagnostics: Vec::new(),
            }),
            CliError::Usage("no rule `PG999`".into()),
            CliError::Output(std::io::Error::other("closed")),
            CliError::NothingToCheck {
                paths: vec![".".into()],
                patterns: vec!["conf/*.json".into()],
            },
            CliError::Trust(crate::apply::trust::TrustError::Git {
                reference: "origin/main".into(),
                reason: "unknown revision".into(),
            }),
            CliError::NoDeploy("apply"),
        ]);
        all
    }

    #[test]
    fn every_code_is_explained_in_the_docs() {
        for error in examples() {
            let (code, _, url) = code_help_url(&error);
            assert!(
                ERRORS_DOC.contains(&format!("## `{code}`")),
                "docs/errors.md has no heading for {code}"
            );
            assert!(
                url.ends_with(&format!("#{}", code.replace(':', ""))),
                "{url}"
            );
        }
    }

    #[test]
    fn a_fatal_error_shows_its_code_link_message_and_help() {
        let error = CliError::Temporal(TemporalError::Unreachable {
            address: "127.0.0.1:1".into(),
            reason: "connection refused".into(),
        });
        let text = render(&error, false);
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                format!(
                    "planguard::temporal::unreachable ({}#planguardtemporalunreachable)",
                    crate::links::file("docs/errors.md")
                )
                .as_str()
            ),
            "{text}"
        );
        assert!(
            text.contains("× cannot reach the Temporal server at 127.0.0.1:1: connection refused"),
            "{text}"
        );
        assert!(
            text.contains("help: is a Temporal server running there?"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "no colour codes: {text:?}");
        // A long message stays on one line.
        assert!(
            text.lines()
                .any(|l| l.contains("--address (TEMPORAL_ADDRESS), else `address`")),
            "{text}"
        );
    }
}
