//! The `planguard` binary: arguments in, exit status out. The only place
//! that prints fatal errors.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use planguard::cli::{self, Cli, CliError, EXIT_FAILURE};
use planguard::diagnostic::Report;
use planguard::log::{self, Fields, Level, LogFormat};

/// `--log-format json` among the arguments, for errors found before (or
/// while) they are parsed.
fn json_wanted() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--log-format=json"
            || (a == "--log-format" && args.get(i + 1).is_some_and(|v| v == "json"))
    })
}

/// A fatal error as one JSON event on standard error.
fn fatal_event(subcommand: &str, message: &str, causes: Vec<String>) {
    let fields = Fields::default().with("causes", causes);
    let line = log::line(Level::Error, subcommand, "fatal", message, &fields);
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not failures; anything else is a bad flag.
            if e.use_stderr() && json_wanted() {
                let text = e.to_string();
                let message = text.lines().next().unwrap_or_default();
                let message = message.strip_prefix("error: ").unwrap_or(message);
                // The subcommand, when one was named before the bad flag.
                let command = <Cli as clap::CommandFactory>::command();
                let names: Vec<String> = command
                    .get_subcommands()
                    .map(|c| c.get_name().to_string())
                    .collect();
                let subcommand = std::env::args()
                    .skip(1)
                    .find(|a| names.contains(a))
                    .unwrap_or_default();
                fatal_event(&subcommand, message, Vec::new());
                return ExitCode::from(EXIT_FAILURE);
            }
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_FAILURE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let color_errors = cli::use_color(
        cli.color,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let json = cli.log_format == LogFormat::Json;
    let subcommand = cli.command.name();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let result = cli::run(cli, &mut stdout.lock(), &mut stderr.lock());
    match result {
        Ok(code) => code,
        Err(CliError::Settings(error)) if json => {
            let causes = error
                .diagnostics
                .iter()
                .map(|d| match &d.location {
                    Some(l) => format!("{}: {}", l.file.display_path(), d.message),
                    None => d.message.clone(),
                })
                .collect();
            fatal_event(subcommand, "invalid settings; nothing was checked", causes);
            ExitCode::from(EXIT_FAILURE)
        }
        Err(CliError::Settings(error)) => {
            // Settings errors are located in planguard.toml: render them like any finding.
            let report = Report::new(error.diagnostics, 0, std::time::Duration::ZERO);
            let mut bytes = planguard::report::human::render(&report, color_errors);
            // Drop the "Checked 0 files" summary: nothing was checked.
            if let Some(cut) = bytes[..bytes.len().saturating_sub(1)]
                .iter()
                .rposition(|b| *b == b'\n')
            {
                bytes.truncate(cut + 1);
            }
            let mut err = stderr.lock();
            let _ = err.write_all(&bytes);
            let _ = writeln!(err, "planguard: invalid settings; nothing was checked");
            ExitCode::from(EXIT_FAILURE)
        }
        Err(error) => {
            // One line, then its causes: CI logs and scripts grep these.
            let report = miette::Report::new(Fatal(error));
            let line = report.to_string();
            if json {
                let causes = report
                    .chain()
                    .skip(1)
                    .map(|c| c.to_string())
                    .filter(|c| !line.contains(c.as_str()))
                    .collect();
                fatal_event(subcommand, &line, causes);
                return ExitCode::from(EXIT_FAILURE);
            }
            let mut err = stderr.lock();
            let _ = writeln!(err, "planguard: {line}");
            for cause in report.chain().skip(1) {
                let cause = cause.to_string();
                if !line.contains(&cause) {
                    let _ = writeln!(err, "  caused by: {cause}");
                }
            }
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// A tool failure rendered by miette, with its cause chain.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error(transparent)]
struct Fatal(CliError);
