//! `planguard test`: runs the `test_*` rules of Rego policies with regorus and
//! reports them the way `opa test` does, so a policy and its `_test.rego`
//! can be developed without OPA installed.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use regex::Regex;
use regorus::Engine;

use crate::rego::{self, EngineError, ErrorKind};
use regorus::utils::limits::ExecutionTimerConfig;

use crate::load::data::{self, DataError, Layout};
use crate::settings::relative_to_cwd;
use crate::source::{SourceFile, display_path};

/// What to run and how.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// Rego files, or folders walked recursively for `.rego` files; the JSON
    /// and YAML files among them are data.
    pub paths: Vec<PathBuf>,
    pub rego_v0: bool,
    pub coverage: bool,
    pub verbose: bool,
    /// Only tests whose `package.name` (or `data.package.name`) matches.
    pub run: Option<Regex>,
    /// The time limit of each test.
    pub timeout: Duration,
}

/// Everything one run found, in file-then-line order.
#[derive(Debug)]
pub struct TestReport {
    pub results: Vec<TestResult>,
    pub coverage: Option<Coverage>,
    /// Policy files that did not parse or compile, as `file:line:col: message`;
    /// their tests did not run.
    pub load_errors: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct TestResult {
    /// Without the `data.` prefix.
    pub package: String,
    pub name: String,
    pub file: String,
    /// 1-based line of the rule head.
    pub line: usize,
    pub outcome: Outcome,
    pub duration: Duration,
    /// What `print()` wrote while the test ran.
    pub prints: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The rule's value is `true`.
    Pass,
    /// The rule is undefined, false or not a boolean.
    Fail,
    /// Evaluation raised; the message is `file:line:col: reason`.
    Error(String),
}

/// Line coverage of the loaded policy files, as regorus measures it: a line
/// counts when it holds an expression of a rule, and is covered when one of
/// its expressions was evaluated. Lines are 1-based. A rule reached through
/// an import (`import data.p` then `p.allow`) makes regorus evaluate every
/// rule of that package, so such files may read as better covered than the
/// tests make them.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    pub files: Vec<FileCoverage>,
}

#[derive(Debug, Clone)]
pub struct FileCoverage {
    pub file: String,
    pub covered: BTreeSet<u32>,
    pub not_covered: BTreeSet<u32>,
    /// regorus reports nothing for a file none of whose expressions ran, so
    /// its line count is unknown; such a file is listed but not counted.
    pub evaluated: bool,
}

/// Why no test could run at all (exit status 2), as opposed to a broken
/// policy file, which is a load error in the report.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error("cannot read policy path {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot register the planguard functions: {0:#}")]
    Register(anyhow::Error),
    #[error("cannot write the test report: {0}")]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("cannot use the data: {0:#}")]
    DataValue(anyhow::Error),
}

/// `planguard test` flags.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Rego files, or folders walked for them, holding policies and their
    /// tests; JSON and YAML files among them are data, as for `opa test`.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// List every test, grouped by file, with its print() output.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Report the share of policy lines the tests evaluated.
    #[arg(long)]
    pub coverage: bool,
    /// Run only the tests whose `package.test_name` matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub run: Option<Regex>,
    /// Rego syntax of the policies.
    #[arg(long, value_enum, default_value_t = RegoSyntax::V1)]
    pub rego_version: RegoSyntax,
    /// Time limit of each test (Go-style duration: 500ms, 5s, 1m).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RegoSyntax {
    V0,
    V1,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    match crate::duration::parse(text)? {
        d if d.is_zero() => Err("the timeout must be above zero".to_string()),
        d => Ok(d),
    }
}

/// Run the tests `args` select and write the report: exit status 0 when all
/// passed, 1 when any failed or errored, a policy did not load or there were
/// no tests. A tool failure is the error (exit status 2).
pub fn main(
    args: &TestArgs,
    out: &mut dyn Write,
    register: &dyn Fn(&mut Engine) -> anyhow::Result<()>,
) -> Result<u8, TestError> {
    let options = TestOptions {
        paths: args.paths.clone(),
        rego_v0: args.rego_version == RegoSyntax::V0,
        coverage: args.coverage,
        verbose: args.verbose,
        run: args.run.clone(),
        timeout: args.timeout,
    };
    let report = run_tests(&options, register)?;
    render(&report, options.verbose, out)?;
    Ok(if report.passed() { 0 } else { 1 })
}

impl TestReport {
    /// True only when tests ran, all passed, and every policy file loaded.
    pub fn passed(&self) -> bool {
        !self.results.is_empty()
            && self.load_errors.is_empty()
            && self.results.iter().all(|r| r.outcome == Outcome::Pass)
    }
}

impl FileCoverage {
    pub fn lines(&self) -> usize {
        self.covered.len() + self.not_covered.len()
    }

    pub fn percent(&self) -> f64 {
        percent(self.covered.len(), self.lines())
    }
}

impl Coverage {
    pub fn covered_lines(&self) -> usize {
        self.files.iter().map(|f| f.covered.len()).sum()
    }

    pub fn lines(&self) -> usize {
        self.files.iter().map(FileCoverage::lines).sum()
    }

    pub fn percent(&self) -> f64 {
        percent(self.covered_lines(), self.lines())
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// A policy file as loaded: its display label, text and package.
struct Policy {
    label: String,
    text: String,
    /// Without the `data.` prefix.
    package: String,
}

static TEST_HEAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(test_[A-Za-z0-9_]+)\b").expect("valid regex"));

/// Load the policies below `options.paths` and run their tests.
pub fn run_tests(
    options: &TestOptions,
    register: &dyn Fn(&mut Engine) -> anyhow::Result<()>,
) -> Result<TestReport, TestError> {
    let new_engine = || {
        let mut engine = Engine::new();
        engine.set_rego_v0(options.rego_v0);
        // Like `opa test`, a built-in error (1/0, a bad regex…) is an ERROR
        // rather than a silently undefined expression that reads as FAIL.
        engine.set_strict_builtin_errors(true);
        engine.set_execution_timer_config(ExecutionTimerConfig {
            limit: options.timeout,
            check_interval: NonZeroU32::new(256).expect("not zero"),
        });
        engine
    };

    let mut files = Vec::new();
    for path in rego_files(&options.paths)? {
        let text = std::fs::read(&path).map_err(|source| TestError::Read {
            path: path.clone(),
            source,
        })?;
        let label = display_path(&relative_to_cwd(&path));
        files.push(SourceFile::new(
            label,
            String::from_utf8_lossy(&text).into_owned(),
        ));
    }

    // Data files among the paths, as `opa test` loads them: each below the
    // path of its folder relative to the folder given.
    let data_paths: Vec<PathBuf> = options
        .paths
        .iter()
        .filter(|p| p.extension().is_none_or(|e| e != "rego"))
        .cloned()
        .collect();
    let data = regorus::Value::from(data::load(&data_paths, Layout::Folder)?);

    let rego::Loaded {
        mut engine,
        policies,
        failures,
    } = rego::load(files, || {
        let mut engine = new_engine();
        register(&mut engine).map_err(TestError::Register)?;
        engine
            .add_data(data.clone())
            .map_err(TestError::DataValue)?;
        Ok::<_, TestError>(engine)
    })?;
    let load_errors: Vec<String> = failures
        .iter()
        .map(|f| {
            engine_error(
                &f.error,
                f.file.as_ref().map(SourceFile::display_path).as_deref(),
            )
        })
        .collect();
    let policies: Vec<Policy> = policies
        .into_iter()
        .map(|p| Policy {
            label: p.file.display_path(),
            text: p.file.text().to_string(),
            package: p.package,
        })
        .collect();

    engine.set_gather_prints(true);
    // After the compile probe, so that only the tests' evaluation counts.
    engine.set_enable_coverage(options.coverage);

    // Each test runs on its own clone of the prepared engine, so that a test
    // that errors cannot leave state behind for the next; coverage is merged.
    let base = engine;
    let mut covered: HashMap<String, (BTreeSet<u32>, BTreeSet<u32>)> = HashMap::new();
    let mut seen = HashSet::new();
    let mut results = Vec::new();
    for policy in &policies {
        for (name, line) in test_rules(&policy.text) {
            // A test may have several bodies (an incremental rule); it is one test.
            if !seen.insert((policy.package.clone(), name.clone())) {
                continue;
            }
            let qualified = format!("{}.{name}", policy.package);
            if let Some(run) = &options.run
                && !run.is_match(&qualified)
                && !run.is_match(&format!("data.{qualified}"))
            {
                continue;
            }
            let mut engine = base.clone();
            let started = Instant::now();
            let value = engine.eval_rule(format!("data.{qualified}"));
            let duration = started.elapsed();
            let outcome = match value {
                Ok(regorus::Value::Bool(true)) => Outcome::Pass,
                Ok(_) => Outcome::Fail,
                Err(e) => Outcome::Error(engine_error(
                    &EngineError::from_engine(ErrorKind::Eval, &e),
                    None,
                )),
            };
            if options.coverage {
                for file in engine.get_coverage_report().unwrap_or_default().files {
                    let entry = covered.entry(file.path).or_default();
                    entry.0.extend(file.covered);
                    entry.1.extend(file.not_covered);
                }
            }
            results.push(TestResult {
                package: policy.package.clone(),
                name,
                file: policy.label.clone(),
                line,
                outcome,
                duration,
                // Cannot fail in regorus 0.14; losing prints must not lose the result.
                prints: engine.take_prints().unwrap_or_default(),
            });
        }
    }

    let coverage = if options.coverage {
        let mut files: Vec<FileCoverage> = policies
            .iter()
            .map(|policy| {
                let measured = covered.get(&policy.label);
                FileCoverage {
                    file: policy.label.clone(),
                    covered: measured.map(|f| f.0.clone()).unwrap_or_default(),
                    // A line some test covered is covered, whatever the others did.
                    not_covered: measured
                        .map(|f| f.1.difference(&f.0).copied().collect())
                        .unwrap_or_default(),
                    evaluated: measured.is_some(),
                }
            })
            .collect();
        files.sort_by(|a, b| a.file.cmp(&b.file));
        Some(Coverage { files })
    } else {
        None
    };

    Ok(TestReport {
        results,
        coverage,
        load_errors,
    })
}

/// The `.rego` files below `paths`, tests included, sorted and without duplicates.
fn rego_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, TestError> {
    let mut files = BTreeSet::new();
    for path in paths {
        let found =
            rego::files(path, true).map_err(|(path, source)| TestError::Read { path, source })?;
        files.extend(found);
    }
    Ok(files.into_iter().collect())
}

/// The `test_*` rules of a policy and the 1-based line of each head.
///
/// A head is a `test_` name at the start of a line outside any brackets, so
/// that a local variable `test_x := …` inside a rule body is not taken for a
/// test, and `test_x(…)` (a function, which cannot be evaluated alone) is
/// skipped.
fn test_rules(text: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let mut scanner = Scanner::default();
    for (index, line) in text.lines().enumerate() {
        if scanner.depth == 0
            && !scanner.in_raw_string
            && let Some(c) = TEST_HEAD.captures(line)
        {
            let name = &c[1];
            let rest = line[c.get(1).map_or(0, |m| m.end())..].trim_start();
            if !rest.starts_with('(') {
                found.push((name.to_string(), index + 1));
            }
        }
        scanner.feed(line);
    }
    found
}

/// Tracks bracket depth across lines, skipping strings and comments.
#[derive(Default)]
struct Scanner {
    depth: usize,
    /// Inside a back-quoted string, which may span lines.
    in_raw_string: bool,
}

impl Scanner {
    fn feed(&mut self, line: &str) {
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if self.in_raw_string {
                if c == '`' {
                    self.in_raw_string = false;
                }
                continue;
            }
            match c {
                '#' => return,
                '`' => self.in_raw_string = true,
                '"' => {
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => {
                                chars.next();
                            }
                            '"' => break,
                            _ => {}
                        }
                    }
                }
                '{' | '[' | '(' => self.depth += 1,
                '}' | ']' | ')' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
    }
}

/// An engine error as `file:line:col: reason`; `file` names the policy when
/// the error has no location of its own.
fn engine_error(error: &EngineError, file: Option<&str>) -> String {
    let reason = match error.kind {
        ErrorKind::Timeout => "exceeded the time limit (--timeout)".to_string(),
        _ => error.reason.clone(),
    };
    match (&error.at, file) {
        (Some((at, line, column)), _) => format!("{at}:{line}:{column}: {reason}"),
        (None, Some(file)) => format!("{file}: {reason}"),
        (None, None) => reason,
    }
}

const SEPARATOR: &str =
    "--------------------------------------------------------------------------------";

/// Write the report like `opa test`: failures and errors (every test with
/// `verbose`, grouped by file), then the counts, then coverage if measured.
pub fn render(report: &TestReport, verbose: bool, out: &mut dyn Write) -> std::io::Result<()> {
    for error in &report.load_errors {
        writeln!(out, "ERROR: {error}")?;
    }
    let mut current_file: Option<&str> = None;
    for result in &report.results {
        let shown = verbose || result.outcome != Outcome::Pass;
        if !shown {
            continue;
        }
        if verbose && current_file != Some(result.file.as_str()) {
            if current_file.is_some() || !report.load_errors.is_empty() {
                writeln!(out)?;
            }
            writeln!(out, "{}:", result.file)?;
            current_file = Some(&result.file);
        }
        let test = format!(
            "data.{}.{} ({})",
            result.package,
            result.name,
            format_duration(result.duration)
        );
        match &result.outcome {
            Outcome::Pass => writeln!(out, "PASS: {test}")?,
            Outcome::Fail => writeln!(out, "FAIL: {test}")?,
            Outcome::Error(message) => writeln!(out, "ERROR: {test}: {message}")?,
        }
        if result.outcome != Outcome::Pass {
            writeln!(out, "  {}:{}", result.file, result.line)?;
        }
        for print in &result.prints {
            writeln!(out, "  | {print}")?;
        }
    }

    writeln!(out, "{SEPARATOR}")?;
    let total = report.results.len();
    let count =
        |wanted: fn(&Outcome) -> bool| report.results.iter().filter(|r| wanted(&r.outcome)).count();
    let passed = count(|o| *o == Outcome::Pass);
    let failed = count(|o| *o == Outcome::Fail);
    let errored = count(|o| matches!(o, Outcome::Error(_)));
    if total == 0 {
        writeln!(out, "no tests found")?;
    }
    if passed > 0 {
        writeln!(out, "PASS: {passed}/{total}")?;
    }
    if failed > 0 {
        writeln!(out, "FAIL: {failed}/{total}")?;
    }
    if errored > 0 {
        writeln!(out, "ERROR: {errored}/{total}")?;
    }
    match report.load_errors.len() {
        0 => {}
        1 => writeln!(
            out,
            "ERROR: 1 policy file did not load, so its tests did not run"
        )?,
        n => writeln!(
            out,
            "ERROR: {n} policy files did not load, so their tests did not run"
        )?,
    }

    if let Some(coverage) = &report.coverage {
        writeln!(out, "{SEPARATOR}")?;
        for file in &coverage.files {
            if file.evaluated {
                writeln!(
                    out,
                    "coverage: {} {:.1}% ({}/{})",
                    file.file,
                    file.percent(),
                    file.covered.len(),
                    file.lines()
                )?;
            } else {
                writeln!(out, "coverage: {} not evaluated", file.file)?;
            }
        }
        let unevaluated = coverage.files.iter().filter(|f| !f.evaluated).count();
        let note = if unevaluated > 0 {
            format!(
                "; {} not evaluated",
                crate::diagnostic::plural(unevaluated, "file")
            )
        } else {
            String::new()
        };
        writeln!(
            out,
            "coverage: total {:.1}% ({}/{} lines{note})",
            coverage.percent(),
            coverage.covered_lines(),
            coverage.lines()
        )?;
    }
    Ok(())
}

/// Like Go's durations, which `opa test` prints: 850µs, 1.2ms, 3.04s.
fn format_duration(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0}µs")
    } else if micros < 1e6 {
        format!("{:.1}ms", micros / 1e3)
    } else {
        format!("{:.2}s", micros / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_functions(_: &mut Engine) -> anyhow::Result<()> {
        Ok(())
    }

    fn options(paths: Vec<PathBuf>) -> TestOptions {
        TestOptions {
            paths,
            rego_v0: false,
            coverage: false,
            verbose: false,
            run: None,
            timeout: Duration::from_secs(5),
        }
    }

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
            std::fs::write(path, text).expect("write policy");
        }
        dir
    }

    fn run(options: &TestOptions) -> TestReport {
        run_tests(options, &no_functions).expect("paths are readable")
    }

    fn rendered(report: &TestReport, verbose: bool) -> String {
        let mut out = Vec::new();
        render(report, verbose, &mut out).expect("writing to a Vec");
        String::from_utf8(out).expect("UTF-8")
    }

    fn outcomes(report: &TestReport) -> Vec<(String, Outcome)> {
        report
            .results
            .iter()
            .map(|r| (r.name.clone(), r.outcome.clone()))
            .collect()
    }

    const POLICY: &str = "package demo\n\nallow if input.user == \"root\"\n\ndouble(x) := 2 * x\n";
    const TESTS: &str = r#"package demo_test

import data.demo

test_root_is_allowed if demo.allow with input as {"user": "root"}

test_guest_is_allowed if {
	print("checking guest")
	demo.allow with input as {"user": "guest"}
}

test_division if {
	x := 1 / 0
	x > 0
}

test_helper(x) := x

test_double if demo.double(2) == 4
"#;

    #[test]
    fn passing_failing_and_erroring_tests_are_told_apart() {
        let dir = folder(&[("demo.rego", POLICY), ("demo_test.rego", TESTS)]);
        let report = run(&options(vec![dir.path().to_path_buf()]));
        let found = outcomes(&report);
        assert_eq!(found.len(), 4, "{found:?}");
        assert_eq!(found[0], ("test_root_is_allowed".into(), Outcome::Pass));
        assert_eq!(found[1], ("test_guest_is_allowed".into(), Outcome::Fail));
        assert_eq!(found[3], ("test_double".into(), Outcome::Pass));
        let Outcome::Error(message) = &found[2].1 else {
            panic!("1/0 should be an error: {found:?}");
        };
        assert!(message.contains("demo_test.rego:13:"), "{message}");
        assert!(message.contains("divide by zero"), "{message}");
        let division = &report.results[2];
        assert_eq!(
            (division.package.as_str(), division.line),
            ("demo_test", 12)
        );
        assert!(division.file.ends_with("demo_test.rego"));
        assert!(!report.passed());

        let text = rendered(&report, false);
        assert!(
            text.contains("FAIL: data.demo_test.test_guest_is_allowed ("),
            "{text}"
        );
        assert!(text.contains("demo_test.rego:7\n"), "{text}");
        // regorus prefixes print() output with its file and line.
        assert!(
            text.contains("  | ") && text.contains("demo_test.rego:8: checking guest"),
            "{text}"
        );
        assert!(
            text.contains("ERROR: data.demo_test.test_division ("),
            "{text}"
        );
        assert!(!text.contains("PASS: data."), "{text}");
        assert!(
            text.ends_with(&format!("{SEPARATOR}\nPASS: 2/4\nFAIL: 1/4\nERROR: 1/4\n")),
            "{text}"
        );
    }

    #[test]
    fn verbose_lists_every_test_by_file() {
        let dir = folder(&[("demo.rego", POLICY), ("demo_test.rego", TESTS)]);
        let report = run(&options(vec![dir.path().to_path_buf()]));
        let text = rendered(&report, true);
        assert!(
            text.contains("demo_test.rego:\nPASS: data.demo_test.test_root_is_allowed ("),
            "{text}"
        );
        assert!(
            text.contains("PASS: data.demo_test.test_double ("),
            "{text}"
        );
    }

    #[test]
    fn all_passing_is_a_pass() {
        let dir = folder(&[("demo.rego", POLICY), ("demo_test.rego", TESTS)]);
        let mut opts = options(vec![dir.path().to_path_buf()]);
        opts.run = Some(Regex::new("root|double").expect("valid regex"));
        let report = run(&opts);
        assert_eq!(report.results.len(), 2);
        assert!(report.passed());
        assert!(rendered(&report, false).ends_with(&format!("{SEPARATOR}\nPASS: 2/2\n")));
    }

    #[test]
    fn run_filters_on_package_and_name() {
        let dir = folder(&[("demo.rego", POLICY), ("demo_test.rego", TESTS)]);
        let mut opts = options(vec![dir.path().to_path_buf()]);
        opts.run = Some(Regex::new(r"^demo_test\.test_guest").expect("valid regex"));
        let report = run(&opts);
        assert_eq!(
            outcomes(&report),
            [("test_guest_is_allowed".into(), Outcome::Fail)]
        );
        // `opa test --run` matches the full path, so that form works too.
        opts.run = Some(Regex::new(r"^data\.demo_test\.test_root").expect("valid regex"));
        assert_eq!(run(&opts).results.len(), 1);
        opts.run = Some(Regex::new("nothing").expect("valid regex"));
        let report = run(&opts);
        assert!(report.results.is_empty());
        assert!(!report.passed(), "no tests is not a pass");
        assert!(rendered(&report, false).contains("no tests found"));
    }

    #[test]
    fn prints_are_captured_per_test() {
        let dir = folder(&[(
            "p_test.rego",
            "package p\n\ntest_a if {\n\tprint(\"from a\", 1)\n}\n\ntest_b if {\n\tprint(\"from b\")\n\tfalse\n}\n",
        )]);
        let report = run(&options(vec![dir.path().to_path_buf()]));
        let prints: Vec<_> = report.results.iter().map(|r| r.prints.clone()).collect();
        assert_eq!(prints.len(), 2);
        assert_eq!(prints[0].len(), 1, "{prints:?}");
        assert!(prints[0][0].contains("from a 1"), "{prints:?}");
        assert_eq!(prints[1].len(), 1, "{prints:?}");
        assert!(prints[1][0].contains("from b"), "{prints:?}");
        // Only the failing test's prints are shown without --verbose.
        let text = rendered(&report, false);
        assert!(
            text.contains("from b") && !text.contains("from a"),
            "{text}"
        );
        assert!(rendered(&report, true).contains("from a"));
    }

    #[test]
    fn a_file_that_does_not_parse_does_not_stop_the_others() {
        let dir = folder(&[
            ("a_test.rego", "package a\n\ntest_ok if true\n"),
            (
                "b/broken.rego",
                "package b\n\nx := {\n\ntest_never if true\n",
            ),
            ("c_test.rego", "package c\n\ntest_ok if 1 < 2\n"),
        ]);
        let report = run(&options(vec![dir.path().to_path_buf()]));
        assert_eq!(report.results.len(), 2);
        assert!(report.results.iter().all(|r| r.outcome == Outcome::Pass));
        assert_eq!(report.load_errors.len(), 1, "{:?}", report.load_errors);
        let error = &report.load_errors[0];
        assert!(
            Regex::new(r"broken\.rego:\d+:\d+: \S")
                .expect("valid regex")
                .is_match(error),
            "{error}"
        );
        assert!(!report.passed());
        let text = rendered(&report, false);
        assert!(text.starts_with("ERROR: "), "{text}");
        assert!(
            text.contains("ERROR: 1 policy file did not load, so its tests did not run"),
            "{text}"
        );
    }

    #[test]
    fn a_compile_error_names_its_file_and_spares_the_others() {
        let dir = folder(&[
            ("a_test.rego", "package a\n\ntest_ok if true\n"),
            ("unsafe.rego", "package u\n\ntest_unsafe if {\n\tx > 1\n}\n"),
        ]);
        let report = run(&options(vec![dir.path().to_path_buf()]));
        assert_eq!(outcomes(&report), [("test_ok".into(), Outcome::Pass)]);
        assert_eq!(report.load_errors.len(), 1, "{:?}", report.load_errors);
        assert!(
            report.load_errors[0].contains("unsafe.rego:4:"),
            "{:?}",
            report.load_errors
        );
    }

    #[test]
    fn a_test_that_runs_too_long_is_an_error() {
        let dir = folder(&[(
            "slow_test.rego",
            // 10⁸ iterations over small arrays: slow, but not memory-hungry.
            "package slow\n\ntest_slow if {\n\tsome i in numbers.range(1, 10000)\n\tsome j in numbers.range(1, 10000)\n\ti * j < 0\n}\n",
        )]);
        let mut opts = options(vec![dir.path().to_path_buf()]);
        opts.timeout = Duration::from_millis(50);
        let report = run(&opts);
        let [result] = report.results.as_slice() else {
            panic!("one test: {:?}", report.results);
        };
        assert_eq!(
            result.outcome,
            Outcome::Error("exceeded the time limit (--timeout)".into())
        );
    }

    #[test]
    fn coverage_counts_the_lines_the_tests_evaluated() {
        let dir = folder(&[
            (
                "p.rego",
                "package p\n\nallow if {\n\tinput.a > 1\n\tinput.b == 2\n}\n\nunused if {\n\tinput.c\n}\n",
            ),
            (
                "p_test.rego",
                // A direct reference: through `import data.p`, regorus
                // evaluates every rule of the package and `unused` would count.
                "package p_test\n\n\n\ntest_allow if data.p.allow with input as {\"a\": 2, \"b\": 2}\n",
            ),
            ("q.rego", "package q\n\nnever if {\n\tinput.x\n}\n"),
        ]);
        let mut opts = options(vec![dir.path().to_path_buf()]);
        opts.coverage = true;
        let report = run(&opts);
        assert!(report.passed(), "{:?}", report.results);
        let coverage = report.coverage.as_ref().expect("coverage was asked for");
        let files: Vec<_> = coverage
            .files
            .iter()
            .map(|f| {
                (
                    f.file.rsplit('/').next().unwrap_or_default().to_string(),
                    f.covered.iter().copied().collect::<Vec<_>>(),
                    f.not_covered.iter().copied().collect::<Vec<_>>(),
                    f.evaluated,
                )
            })
            .collect();
        assert_eq!(
            files,
            [
                ("p.rego".into(), vec![4, 5], vec![9], true),
                ("p_test.rego".into(), vec![5], vec![], true),
                ("q.rego".into(), vec![], vec![], false),
            ]
        );
        assert_eq!((coverage.covered_lines(), coverage.lines()), (3, 4));
        let text = rendered(&report, false);
        assert!(text.contains("coverage: "), "{text}");
        assert!(text.contains("p.rego 66.7% (2/3)\n"), "{text}");
        assert!(text.contains("q.rego not evaluated\n"), "{text}");
        assert!(
            text.ends_with("coverage: total 75.0% (3/4 lines; 1 file not evaluated)\n"),
            "{text}"
        );
    }

    #[test]
    fn rego_v0_policies_run_with_rego_v0() {
        let dir = folder(&[("v0_test.rego", "package v0\n\ntest_old {\n\t1 < 2\n}\n")]);
        let mut opts = options(vec![dir.path().to_path_buf()]);
        opts.rego_v0 = true;
        let report = run(&opts);
        assert!(
            report.passed(),
            "{:?} {:?}",
            report.results,
            report.load_errors
        );
    }

    #[test]
    fn unreadable_paths_are_a_tool_failure() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing");
        let result = run_tests(&options(vec![missing]), &no_functions);
        assert!(matches!(result, Err(TestError::Read { .. })));
    }

    #[test]
    fn only_top_level_test_rules_are_tests() {
        let text = "package p\n\ntest_a if {\n\ttest_local := 1\n\ttest_local == 1\n}\n\
                    test_b := true\ntest_f(x) := x\n# test_comment\nmsg := `\ntest_raw\n`\n\
                    s := \"{\"\ntest_c contains 1\n  test_d if true\n";
        let found: Vec<_> = test_rules(text)
            .into_iter()
            .map(|(name, line)| format!("{name}:{line}"))
            .collect();
        assert_eq!(found, ["test_a:3", "test_b:7", "test_c:14", "test_d:15"]);
    }

    #[test]
    fn main_maps_outcomes_to_exit_status() {
        let dir = folder(&[("t_test.rego", "package t\n\ntest_ok if true\n")]);
        let args = TestArgs {
            paths: vec![dir.path().to_path_buf()],
            verbose: true,
            coverage: false,
            run: None,
            rego_version: RegoSyntax::V1,
            timeout: Duration::from_secs(5),
        };
        let mut out = Vec::new();
        assert_eq!(main(&args, &mut out, &no_functions).expect("runs"), 0);
        let args = TestArgs {
            run: Some(Regex::new("none").expect("valid regex")),
            ..args
        };
        assert_eq!(main(&args, &mut out, &no_functions).expect("runs"), 1);
    }

    #[test]
    fn flags_parse() {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: TestArgs,
        }
        let cli = Cli::try_parse_from([
            "test",
            "policies",
            "-v",
            "--coverage",
            "--run",
            "^a\\.",
            "--rego-version",
            "v0",
            "--timeout",
            "250ms",
        ])
        .expect("valid flags");
        assert!(cli.args.verbose && cli.args.coverage);
        assert_eq!(cli.args.rego_version, RegoSyntax::V0);
        assert_eq!(cli.args.timeout, Duration::from_millis(250));
        assert!(cli.args.run.is_some_and(|r| r.is_match("a.test_x")));
        assert!(Cli::try_parse_from(["test", "p", "--timeout", "0"]).is_err());
        assert!(Cli::try_parse_from(["test", "p", "--run", "("]).is_err());
        assert!(Cli::try_parse_from(["test"]).is_err(), "a path is required");
        let defaults = Cli::try_parse_from(["test", "p"]).expect("defaults");
        assert_eq!(defaults.args.timeout, Duration::from_secs(5));
        assert_eq!(defaults.args.rego_version, RegoSyntax::V1);
    }

    #[test]
    fn the_built_in_policies_pass_their_own_tests() {
        let mut opts = options(vec![PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies"
        ))]);
        opts.coverage = true;
        let report = run_tests(&opts, &crate::check::functions::register_all)
            .expect("policies/ is readable");
        let text = rendered(&report, true);
        assert!(report.results.len() >= 15, "{text}");
        assert!(report.passed(), "{text}");
    }
}
