//! The pre-commit hooks, run by the real pre-commit (`pre-commit try-repo`)
//! on throwaway git repositories.
//!
//! The `language: python` ones of pre-commit/ (the mirror repository's
//! content) install the wheel built from this repository, which the suite
//! builds anyway: they run on every test run. The `language: rust` ones of
//! .pre-commit-hooks.yaml are the same hooks (tests/it/packaging.rs holds the
//! two manifests to the same ids, entries, files and settings, and
//! tests/it/integrations.rs validates the manifest with pre-commit and
//! tries its `files` regexes), built by pre-commit with `cargo install --path .`:
//! a second release build of planguard, and pre-commit's `cargo install`
//! does not honour Cargo.lock, so it resolves (and fetches) newer
//! dependencies and shares little with the wheel's build. Their test runs on
//! demand: `cargo test --test it pre_commit:: -- --ignored`.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::root;
use common::workspace::Workspace;

/// `pre-commit try-repo <this repository> --all-files` in `repo`: every hook
/// of the manifest, against the files committed there.
///
/// try-repo clones this repository (with its uncommitted changes to tracked
/// files) into a store of its own and `cargo install`s the hooks there, on
/// every call. What makes a second call cheap is CARGO_TARGET_DIR: a folder
/// under target/ that outlives the test, so only planguard itself is
/// compiled again. The release profile is relaxed for the same reason; the
/// hooks run the same code either way.
fn try_repo(repo: &Path) -> (bool, String) {
    try_hooks(&root(), repo, &[])
}

/// `pre-commit try-repo <hooks> --all-files` in `repo`, with more environment.
// The build dominates the test's time; --nocapture shows it.
#[allow(clippy::print_stderr)]
fn try_hooks(hooks: &Path, repo: &Path, env: &[(&str, std::ffi::OsString)]) -> (bool, String) {
    let target = root().join("target");
    let started = Instant::now();
    let output = Command::new(common::venv_bin("pre-commit"))
        .args(["try-repo", "--all-files", "--color", "never"])
        .arg(hooks)
        .current_dir(repo)
        .env("CARGO_TARGET_DIR", target.join("pre-commit"))
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        // try-repo keeps its store in a temporary folder whatever this says;
        // set so that nothing of the test lands in the user's ~/.cache.
        .env("PRE_COMMIT_HOME", target.join("pre-commit-home"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("pre-commit runs (scripts/test installs it into .venv)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "pre-commit try-repo {} in {}: {:.0}s",
        hooks.display(),
        repo.display(),
        started.elapsed().as_secs_f64()
    );
    (output.status.success(), text)
}

/// A git repository holding a copy of `workspace`, everything committed.
fn git_repository(workspace: &Workspace) {
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(args)
            .current_dir(workspace.dir.path())
            // A CI machine may have no git identity, and a developer's global
            // settings (hooks, signing) must not change the outcome.
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "planguard tests")
            .env("GIT_AUTHOR_EMAIL", "tests@example.com")
            .env("GIT_COMMITTER_NAME", "planguard tests")
            .env("GIT_COMMITTER_EMAIL", "tests@example.com")
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "--quiet", "--initial-branch", "main"]);
    git(&["add", "--all"]);
    git(&["commit", "--quiet", "--message", "workspace"]);
}

/// The line of pre-commit's summary for one hook, e.g.
/// `planguard (workspace)....Failed`.
fn verdict<'a>(output: &'a str, hook: &str) -> &'a str {
    output
        .lines()
        .find(|line| {
            line.strip_prefix(hook)
                .is_some_and(|rest| rest.starts_with('.'))
        })
        .unwrap_or_else(|| panic!("no summary line for hook {hook:?}:\n{output}"))
}

/// A clean workspace passes both hooks; one plan with another environment's
/// namespace fails both, each reporting its findings once. `try_repo` runs
/// the hooks under test in a repository.
#[allow(clippy::print_stderr)]
fn clean_passes_and_broken_fails(try_repo: impl Fn(&Path) -> (bool, String)) {
    let started = Instant::now();

    let clean = Workspace::copy_of("fixtures/workspaces/clean");
    git_repository(&clean);
    let (passed, output) = try_repo(clean.dir.path());
    assert!(passed, "the clean workspace fails:\n{output}");
    // The staged-files hook gets the files in batches (one per CPU), so this
    // also proves each batch is checked with the whole workspace as context:
    // otherwise the cross-file rules would report the plans of the other
    // batches as missing (PG204).
    assert!(
        verdict(&output, "planguard").ends_with("Passed"),
        "{output}"
    );
    assert!(
        verdict(&output, "planguard (workspace)").ends_with("Passed"),
        "{output}"
    );

    // One plan with another environment's namespace: a per-file finding
    // (PG101) and a cross-file one (PG202, the plan disagrees with its
    // config; only the newest plan of an environment is compared), each
    // reported once by each hook.
    let broken = Workspace::copy_of("fixtures/workspaces/clean");
    let plan = "orchestration_plans/uat/12.json";
    let text = std::fs::read_to_string(broken.dir.path().join(plan)).expect("plan");
    let wrong = r#""namespace": "ingestion-dev""#;
    broken.write(
        plan,
        &text.replace(r#""namespace": "ingestion-uat""#, wrong),
    );
    let line = 1 + text
        .lines()
        .position(|l| l.contains(r#""namespace""#))
        .expect("the plan has a namespace");
    git_repository(&broken);
    let (passed, output) = try_repo(broken.dir.path());
    assert!(!passed, "the broken workspace passes:\n{output}");
    assert!(
        verdict(&output, "planguard").ends_with("Failed"),
        "{output}"
    );
    assert!(
        verdict(&output, "planguard (workspace)").ends_with("Failed"),
        "{output}"
    );
    let at = format!("{plan}:{line}:");
    assert!(
        output.contains("error[PG101]") && output.contains(&at),
        "no PG101 at {at}:\n{output}"
    );
    // The plan's disagreement with its config is the same problem as the
    // namespace: related information of PG101, not a second error.
    for rule in ["error[PG101]", "also PG202: "] {
        assert_eq!(
            output.matches(rule).count(),
            2,
            "each hook reports {rule} once:\n{output}"
        );
    }

    eprintln!("both cases: {:.0}s", started.elapsed().as_secs_f64());
}

// Both cases in one test, one after the other, so that the second build
// reuses the first one's compiled dependencies.
#[test]
#[ignore = "a second release build of planguard (minutes); the python hooks' test runs the same hooks"]
fn the_hooks_pass_a_clean_repository_and_fail_a_broken_one() {
    clean_passes_and_broken_fails(try_repo);
}

/// The `language: python` hooks, from a copy of pre-commit/ made a git
/// repository (the mirror as the release workflow publishes it): pre-commit
/// installs the mirror package, and with it the planguard wheel built from
/// this repository, into the hooks' environment. Hermetic: pip sees only the
/// wheel's folder and the setuptools wheel virtualenv ships (the mirror
/// package's build backend), no index, and no Rust toolchain is on the PATH.
#[test]
fn the_python_hooks_install_the_wheel_and_pass_or_fail_like_the_rust_ones() {
    let wheel = crate::packaging::wheel();
    let mirror = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(root().join("pre-commit")).expect("pre-commit/") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), mirror.path().join(entry.file_name())).expect("copy");
    }
    let mirror = Workspace { dir: mirror };
    git_repository(&mirror);
    let seeds = Command::new(common::python())
        .args([
            "-c",
            "import virtualenv.seed.wheels.embed as e; print(e.BUNDLE_FOLDER, end='')",
        ])
        .output()
        .expect("the test Python runs");
    assert!(seeds.status.success(), "virtualenv's bundled wheels");
    let find_links = format!(
        "{} {}",
        wheel.parent().expect("the wheels' folder").display(),
        String::from_utf8(seeds.stdout).expect("a path")
    );
    let home = tempfile::tempdir().expect("tempdir");
    let env = [
        ("PIP_FIND_LINKS", find_links.into()),
        ("PIP_NO_INDEX", "1".into()),
        ("PATH", crate::packaging::path_without_rust()),
        // A store of its own: the hooks' environment is made from scratch.
        ("PRE_COMMIT_HOME", home.path().into()),
    ];
    clean_passes_and_broken_fails(|repo| try_hooks(mirror.dir.path(), repo, &env));
}
