//! The `planguard` binary: arguments in, exit status out. The only place
//! that prints fatal errors.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use planguard::cli::{self, Cli, CliError, EXIT_FAILURE};
use planguard::diagnostic::Report;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not failures; anything else is a bad flag.
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
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let result = cli::run(cli, &mut stdout.lock(), &mut stderr.lock());
    match result {
        Ok(code) => code,
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
            let mut err = stderr.lock();
            let line = report.to_string();
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
