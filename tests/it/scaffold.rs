//! The commands around `check`: `init` scaffolding, `schema`, shell
//! completions and man pages, each checked with the program that consumes
//! its output (planguard itself, check-jsonschema, bash, groff).

use crate::common;

use std::process::Command;

use common::{planguard, root, run, venv_bin};

fn succeeds(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A scaffolded repository works at once: the workspace checks clean, the
/// example rule's tests pass, the example rule fires where it should, and
/// the workflow is one GitHub accepts.
#[test]
fn init_scaffolds_a_working_setup() {
    let ws = common::workspace::Workspace::copy_of("fixtures/workspaces/clean");
    let dir = ws.dir.path();
    let out = run(planguard().arg("init").arg(dir));
    assert_eq!(out.code, 0, "{}", out.stderr);
    for (file, _) in planguard::init::FILES {
        assert!(dir.join(file).is_file(), "{file} created");
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with("created  ") && l.ends_with(file)),
            "{}",
            out.stdout
        );
    }

    let checked = run(planguard()
        .current_dir(dir)
        .args(["check", "--format", "concise"]));
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    let tested = run(planguard().current_dir(dir).args(["test", "policy"]));
    assert_eq!(tested.code, 0, "{}{}", tested.stdout, tested.stderr);
    assert!(tested.stdout.contains("PASS: 3/3"), "{}", tested.stdout);

    ws.edit("orchestration_plans/dev/12.json", |plan| {
        plan["schedule"]
            .as_object_mut()
            .expect("schedule")
            .remove("jitter");
    });
    let found = run(planguard()
        .current_dir(dir)
        .args(["check", "--format", "concise"]));
    assert_eq!(found.code, 1);
    assert!(
        found
            .stdout
            .lines()
            .any(|l| l.starts_with("orchestration_plans/dev/12.json:")
                && l.contains(": error[team.schedule-jitter] the schedule has no jitter")),
        "{}",
        found.stdout
    );

    succeeds(
        Command::new(venv_bin("check-jsonschema"))
            .args(["--builtin-schema", "vendor.github-workflows"])
            .arg(dir.join(".github/workflows/planguard.yml")),
    );
    succeeds(
        Command::new(venv_bin("pre-commit"))
            .arg("validate-config")
            .arg(dir.join(".pre-commit-config.yaml")),
    );
    // The scaffold names hook ids this repository's manifest defines.
    let manifest = common::read(".pre-commit-hooks.yaml");
    for id in ["planguard", "planguard-workspace"] {
        assert!(manifest.contains(&format!("- id: {id}\n")), "{id}");
    }
    // The examples name this build's repository and release, placeholders filled.
    let written = |file: &str| std::fs::read_to_string(dir.join(file)).expect("scaffolded");
    let hooks = written(".pre-commit-config.yaml");
    let (repository, tag) = (planguard::links::REPOSITORY, planguard::links::TAG);
    assert!(
        hooks.contains(&format!("  - repo: {repository}\n    rev: {tag}\n")),
        "{hooks}"
    );
    let workflow = written(".github/workflows/planguard.yml");
    let action = format!("- uses: {}@{tag}\n", planguard::links::slug());
    assert!(workflow.contains(&action), "{workflow}");
    for (file, _) in planguard::init::FILES {
        assert!(!written(file).contains("@repository@"), "{file}");
        assert!(!written(file).contains("@tag@"), "{file}");
    }
}

/// Existing files are kept unless --force; nothing is half-replaced.
#[test]
fn init_keeps_existing_files_unless_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = dir.path().join("planguard.toml");
    std::fs::write(&settings, "# mine\n").expect("write");
    let out = run(planguard().arg("init").arg(dir.path()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("kept     "), "{}", out.stdout);
    assert_eq!(
        std::fs::read_to_string(&settings).expect("read"),
        "# mine\n"
    );
    let out = run(planguard().arg("init").arg("--force").arg(dir.path()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("replaced "), "{}", out.stdout);
    assert_ne!(
        std::fs::read_to_string(&settings).expect("read"),
        "# mine\n"
    );
}

/// `planguard schema` prints the very schemas the check compiles in; they
/// are valid draft 2020-12 schemas and the clean workspace validates against
/// them with another validator, as an editor would.
#[test]
fn schema_prints_the_bundled_schemas() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (kind, file, instances) in [
        ("config", "ingestion-config.schema.json", "conf/dev.json"),
        (
            "plan",
            "orchestration-plan.schema.json",
            "orchestration_plans/dev/10.json",
        ),
        ("report", "report.schema.json", ""),
    ] {
        let out = run(planguard().args(["schema", kind]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            out.stdout,
            common::read(format!("schemas/{file}")),
            "{kind}"
        );
        let path = dir.path().join(file);
        std::fs::write(&path, &out.stdout).expect("write");
        succeeds(
            Command::new(venv_bin("check-jsonschema"))
                .arg("--check-metaschema")
                .arg(&path),
        );
        if !instances.is_empty() {
            succeeds(
                Command::new(venv_bin("check-jsonschema"))
                    .arg("--schemafile")
                    .arg(&path)
                    .arg(root().join("fixtures/workspaces/clean").join(instances)),
            );
        }
    }
}

/// The bash completion script is valid bash and offers the subcommands.
#[test]
fn bash_completions_are_valid_bash() {
    let out = run(planguard().args(["completions", "bash"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("planguard.bash");
    std::fs::write(&script, &out.stdout).expect("write");
    succeeds(Command::new("bash").arg("-n").arg(&script));
    // Ask the completion function itself what follows `planguard `.
    let probe = format!(
        "source {}; COMP_WORDS=(planguard ''); COMP_CWORD=1; _planguard planguard '' planguard; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let offered = succeeds(Command::new("bash").args(["-c", &probe]));
    for sub in [
        "check", "apply", "drift", "rollback", "lsp", "init", "schema",
    ] {
        assert!(offered.lines().any(|l| l == sub), "{sub} in {offered}");
    }
}

/// Man pages, one per subcommand, that groff formats without a warning.
#[test]
fn man_pages_format_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(planguard().args(["man", "--dir"]).arg(dir.path()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    for page in ["planguard.1", "planguard-check.1", "planguard-apply.1"] {
        let path = dir.path().join(page);
        assert!(path.is_file(), "{page}");
        let formatted = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .arg(&path)
            .output()
            .expect("groff runs");
        assert!(formatted.status.success());
        assert_eq!(String::from_utf8_lossy(&formatted.stderr), "", "{page}");
        let source = std::fs::read_to_string(&path).expect("read");
        assert!(source.contains(".SH NAME"), "{page}: {source}");
        assert!(!formatted.stdout.is_empty(), "{page} formats to text");
    }
    let page = run(planguard().arg("man"));
    assert!(page.stdout.starts_with(".ie"), "{}", page.stdout);
}
