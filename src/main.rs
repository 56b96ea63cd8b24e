//! The `planguard` binary: arguments in, exit status out. The only place
//! that prints fatal errors.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// The allocator (see Cargo.toml): a check is mostly small values made and
/// dropped, where mimalloc is a fifth faster than the system's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
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

/// A fatal error as one JSON event on standard error: the message, the
/// causes, and (for planguard's own errors) the code, help and docs link.
fn fatal_event(subcommand: &str, message: &str, causes: Vec<String>, error: Option<&CliError>) {
    let mut fields = Fields::default().with("causes", causes);
    if let Some(error) = error {
        let (code, help, url) = cli::fatal::code_help_url(error);
        fields = fields.with("code", code).with("url", url);
        if let Some(help) = help {
            fields = fields.with("help", help);
        }
    }
    let line = log::line(Level::Error, subcommand, "fatal", message, &fields);
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Library backtraces off unless asked for by name. regorus's evaluator
/// builds (and drops) an error for every reference it cannot resolve
/// statically, and with `RUST_BACKTRACE` set each of those captures a
/// backtrace: a quarter of a check's time, for backtraces planguard never
/// shows. A panic's backtrace still follows `RUST_BACKTRACE`.
fn no_library_backtraces() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: called first thing in main, before any other thread exists
        // that could read the environment.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("RUST_LIB_BACKTRACE", "0");
        }
    }
}

fn main() -> ExitCode {
    no_library_backtraces();
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
                fatal_event(&subcommand, message, Vec::new(), None);
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
    let error = match result {
        Ok(code) => return code,
        Err(error) => error,
    };
    if json {
        let causes = match &error {
            // Settings errors are located in planguard.toml: each is a cause.
            CliError::Settings(settings) => settings
                .diagnostics
                .iter()
                .map(|d| match &d.location {
                    Some(l) => format!("{}: {}", l.file.display_path(), d.message),
                    None => d.message.clone(),
                })
                .collect(),
            error => cli::fatal::causes(error),
        };
        fatal_event(subcommand, &error.to_string(), causes, Some(&error));
        return ExitCode::from(EXIT_FAILURE);
    }
    let mut err = stderr.lock();
    if let CliError::Settings(settings) = &error {
        // Settings errors are located in planguard.toml: render them like any
        // finding, without the "Checked 0 files" summary (nothing was checked).
        let report = Report::new(settings.diagnostics.clone(), 0, std::time::Duration::ZERO);
        let mut bytes = planguard::report::human::render(&report, color_errors);
        if let Some(cut) = bytes[..bytes.len().saturating_sub(1)]
            .iter()
            .rposition(|b| *b == b'\n')
        {
            bytes.truncate(cut + 1);
        }
        let _ = err.write_all(&bytes);
    }
    let _ = err.write_all(cli::fatal::render(&error, color_errors).as_bytes());
    ExitCode::from(EXIT_FAILURE)
}
