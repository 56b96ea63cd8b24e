//! What planguard ships besides its code: every link in a shipped file is
//! derived from Cargo.toml's `repository` and `homepage`, the license
//! Cargo.toml names is there, the wheel that carries the binary installs
//! without a compiler and checks, and the pre-commit mirror matches the
//! hooks of this repository.

use crate::common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use common::{planguard, root, run};

/// The wheel of this machine, built from the repository: by scripts/test
/// before the tests were built (PLANGUARD_TEST_WHEEL), else by
/// scripts/build-wheel once per test run, in a target folder of its own.
// The build's time is worth seeing under --nocapture.
#[allow(clippy::print_stderr)]
pub fn wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(|| {
        if let Some(wheel) = std::env::var_os("PLANGUARD_TEST_WHEEL").map(PathBuf::from) {
            assert!(
                wheel.is_file(),
                "PLANGUARD_TEST_WHEEL: no wheel at {}",
                wheel.display()
            );
            return wheel;
        }
        let started = Instant::now();
        let mut build = Command::new(root().join("scripts/build-wheel"));
        // Not what `cargo test` sets for the tests (CARGO_PKG_*, the
        // library path, …): build scripts that watch such variables would
        // make the build that scripts/test ran stale. The workspace wrapper
        // scripts/test sets (clippy-driver) is part of that build: it stays.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if (key.starts_with("CARGO") && key != "CARGO_HOME")
                || (key.starts_with("RUSTC") && key != "RUSTC_WORKSPACE_WRAPPER")
                || key == "LD_LIBRARY_PATH"
                || key == "OUT_DIR"
            {
                build.env_remove(key.as_ref());
            }
        }
        let out = build
            .env("PLANGUARD_TEST_PYTHON", common::python())
            .output()
            .expect("scripts/build-wheel runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "the wheel does not build:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let wheel = PathBuf::from(stdout.trim());
        assert!(wheel.is_file(), "no wheel at {}", wheel.display());
        eprintln!(
            "wheel {} up to date in {:.0}s",
            wheel.display(),
            started.elapsed().as_secs_f64()
        );
        wheel
    })
}

/// This PATH without the folders that hold a Rust toolchain (cargo, rustc),
/// so that an installation that tried to compile would fail.
pub fn path_without_rust() -> OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|dir| !dir.join("cargo").exists() && !dir.join("rustc").exists())
        .collect();
    std::env::join_paths(kept).expect("PATH")
}

/// Files shipped outside the crate's `include` (what `cargo package` puts in
/// the .crate): the action, the hook manifests, the documentation, the
/// wheel's build settings, the workflows, and the alerting rules and
/// dashboard under contrib/.
const ALSO_SHIPPED: &[&str] = &[
    "contrib/**",
    "action.yml",
    ".pre-commit-hooks.yaml",
    "pre-commit/**",
    "pyproject.toml",
    ".github/**",
    "docs/**",
    "README.md",
];

/// The only hosts a shipped file may link to that are not planguard's own:
/// references the files genuinely need, each with the reason.
const EXTERNAL: &[(&str, &str)] = &[
    (
        "json-schema.org",
        "the JSON Schema dialect the schemas declare",
    ),
    ("json.schemastore.org", "the SARIF schema a report declares"),
    ("pre-commit.com", "what the hook manifests are for"),
    (
        "hooks.slack.com",
        "the Slack webhook form the secret rules recognise",
    ),
    (
        "bford.info",
        "the CACHEDIR.TAG convention the cache follows",
    ),
    (
        "token.actions.githubusercontent.com",
        "GitHub's OIDC issuer, the plan schema's example of a keyless signer",
    ),
    ("www.apache.org", "the license's own text"),
];

/// A host no one can visit: a single label (`https://a`), or a name under
/// `.internal` (reserved for private networks; the Salam examples live there),
/// `example.com` or the `.example` top-level domain (RFC 2606).
fn example_host(host: &str) -> bool {
    !host.contains('.')
        || host.ends_with(".internal")
        || host == "example.com"
        || host.ends_with(".example.com")
        || host.ends_with(".example")
}

fn package() -> toml::Table {
    common::read("Cargo.toml")
        .parse::<toml::Table>()
        .expect("Cargo.toml parses")["package"]
        .as_table()
        .expect("[package]")
        .clone()
}

/// Every shipped file, relative to the repository root.
fn shipped() -> Vec<String> {
    let package = package();
    let include = package["include"].as_array().expect("include is a list");
    let mut set = globset::GlobSetBuilder::new();
    for pattern in include
        .iter()
        .map(|p| p.as_str().expect("a pattern"))
        .chain(ALSO_SHIPPED.iter().copied())
    {
        set.add(
            globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .expect("a glob"),
        );
    }
    let set = set.build().expect("globs");
    let root = root();
    let mut files = Vec::new();
    let walk = walkdir::WalkDir::new(&root).into_iter().filter_entry(|e| {
        let name = e.file_name().to_string_lossy();
        !(e.depth() == 1 && ["target", ".git", ".venv", "fuzz"].contains(&name.as_ref()))
    });
    for entry in walk {
        let entry = entry.expect("the repository is readable");
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry
            .path()
            .strip_prefix(&root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        if set.is_match(&relative) {
            files.push(relative);
        }
    }
    files.sort();
    files
}

/// The http(s) links of `text`, as written (backslash escapes of regexes
/// removed).
fn links(text: &str) -> Vec<String> {
    let pattern = regex::Regex::new(r#"https?://[^\s"'`<>()\[\]{}|,]+"#).expect("regex");
    let text = text.replace("\\\\", "").replace('\\', "");
    pattern
        .find_iter(&text)
        .map(|m| m.as_str().to_string())
        .collect()
}

fn host(link: &str) -> &str {
    let rest = link.split_once("://").map_or(link, |(_, rest)| rest);
    // user:password@host
    let authority = rest.split('/').next().unwrap_or_default();
    let rest = match authority.rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// No shipped file links anywhere but planguard's own repository (the raw
/// files GitHub serves from it, and the pre-commit mirror next to it), its
/// homepage, or the few external
/// references listed in EXTERNAL. A placeholder domain, an old home or a
/// hand-written copy of another repository's address fails here.
#[test]
fn every_shipped_link_is_derived_from_repository_or_homepage() {
    let package = package();
    let repository = package["repository"].as_str().expect("repository is set");
    let homepage = package["homepage"].as_str().expect("homepage is set");
    assert_eq!(repository, planguard::links::REPOSITORY);
    assert_eq!(homepage, planguard::links::HOMEPAGE);
    let slug = repository
        .strip_prefix("https://github.com/")
        .expect("the repository is on GitHub (the action and the release assets are)");
    let own = [
        repository.to_string(),
        homepage.to_string(),
        format!("https://raw.githubusercontent.com/{slug}/"),
        planguard::links::PRE_COMMIT_MIRROR.to_string(),
    ];
    let files = shipped();
    for expected in [
        "README.md",
        "action.yml",
        ".pre-commit-hooks.yaml",
        "src/init/pre-commit-config.yaml",
        "docs/ci.md",
        "docs/rules/PG101.md",
        "schemas/orchestration-plan.schema.json",
        "LICENSE",
        "contrib/prometheus/planguard-alerts.yml",
        "contrib/grafana/planguard-dashboard.json",
    ] {
        assert!(files.iter().any(|f| f == expected), "{expected} is shipped");
    }

    let mut strangers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(root().join(file)) else {
            continue; // not text
        };
        for link in links(&text) {
            let host = host(&link);
            let ours = own.iter().any(|prefix| {
                link.strip_prefix(prefix.as_str()).is_some_and(|rest| {
                    prefix.ends_with('/') || rest.is_empty() || rest.starts_with(['/', '#', '.'])
                })
            });
            if ours
                || host.is_empty()
                || example_host(host)
                || EXTERNAL.iter().any(|(allowed, _)| *allowed == host)
            {
                continue;
            }
            strangers
                .entry(file.clone())
                .or_default()
                .push(link.clone());
        }
    }
    assert!(
        strangers.is_empty(),
        "links that are neither Cargo.toml's repository ({repository}) or homepage \
         ({homepage}) nor a listed external reference: {strangers:#?}"
    );
}

/// Where a shipped file names planguard's own release (a workflow's `uses:`,
/// pre-commit's `repo:`, a schema's `$id`), it names this repository and
/// this version's tag.
#[test]
fn shipped_references_name_this_repository_and_release() {
    let slug = planguard::links::slug();
    let tag = planguard::links::TAG;
    let uses = regex::Regex::new(r"uses: ([\w.-]+/planguard)@(\S+)").expect("regex");
    for file in shipped() {
        let Ok(text) = std::fs::read_to_string(root().join(&file)) else {
            continue;
        };
        for found in uses.captures_iter(&text) {
            assert_eq!(&found[1], slug, "{file}: {}", &found[0]);
            assert_eq!(&found[2], tag, "{file}: {}", &found[0]);
        }
    }
    for schema in ["ingestion-config", "orchestration-plan", "report", "status"] {
        let file = format!("schemas/{schema}.schema.json");
        let value: serde_json::Value =
            serde_json::from_str(&common::read(&file)).expect("a schema is JSON");
        assert_eq!(
            value["$id"],
            format!("https://raw.githubusercontent.com/{slug}/{tag}/{file}"),
            "{file}: the $id is the file as this release has it (update it with the version)"
        );
    }
}

/// Cargo.toml names Apache-2.0; the license text is at the root and in the
/// crate.
#[test]
fn the_license_cargo_toml_names_is_shipped() {
    assert_eq!(package()["license"].as_str(), Some("Apache-2.0"));
    let text = common::read("LICENSE");
    assert!(text.contains("Apache License"), "LICENSE");
    assert!(text.contains("Version 2.0, January 2004"), "LICENSE");
    assert!(Path::new(&root().join("LICENSE")).is_file());
    assert!(shipped().iter().any(|f| f == "LICENSE"));
}

/// The wheel installs into a fresh virtual environment with pip, from a
/// folder and no index, binary only and no Rust toolchain on the PATH, in
/// seconds; the `planguard` it puts there is this version and finds in
/// examples/salam exactly what the test build finds.
#[test]
#[allow(clippy::print_stderr)]
fn the_wheel_installs_without_a_compiler_and_checks() {
    let wheel = wheel();
    let name = wheel
        .file_name()
        .expect("a file")
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(&format!(
            "planguard-{}-py3-none-",
            env!("CARGO_PKG_VERSION")
        )),
        "{name}: the binary's wheel is for any Python 3"
    );
    let venv = tempfile::tempdir().expect("tempdir");
    let made = run(Command::new(common::python())
        .args(["-m", "venv"])
        .arg(venv.path()));
    assert_eq!(made.code, 0, "{}", made.stderr);
    let bin = venv.path().join("bin");

    let started = Instant::now();
    let installed = run(Command::new(bin.join("python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--only-binary",
            ":all:",
            "--find-links",
        ])
        .arg(wheel.parent().expect("a folder"))
        .arg("planguard")
        .env("PATH", path_without_rust())
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"));
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        installed.code, 0,
        "{}{}",
        installed.stdout, installed.stderr
    );
    eprintln!("pip install of {name}: {seconds:.1}s");
    assert!(seconds < 60.0, "pip install took {seconds:.0}s");

    let version = run(Command::new(bin.join("planguard")).arg("--version"));
    assert_eq!(
        version.stdout.trim(),
        format!("planguard {}", env!("CARGO_PKG_VERSION"))
    );
    let args = ["check", "--no-cache", "--format", "json", "examples/salam"];
    let from_wheel = run(Command::new(bin.join("planguard"))
        .args(args)
        .current_dir(root()));
    let from_test_build = run(planguard().args(args));
    assert_eq!(from_wheel.code, 1, "{}", from_wheel.stderr);
    assert_eq!(from_wheel.stdout, from_test_build.stdout);
}

fn hooks_without_comments(path: &str) -> Vec<String> {
    common::read(path)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(String::from)
        .collect()
}

/// The mirror's hooks are this repository's, installed from the wheel:
/// the same ids, names, entries and files, `language: python`; its package
/// depends on the wheel of this very version, and pre-commit accepts the
/// manifest.
#[test]
fn the_pre_commit_mirror_is_these_hooks_installed_from_the_wheel() {
    let rust = hooks_without_comments(".pre-commit-hooks.yaml");
    let python = hooks_without_comments("pre-commit/.pre-commit-hooks.yaml");
    assert_eq!(
        rust.iter()
            .map(|l| l.replace("language: rust", "language: python"))
            .collect::<Vec<_>>(),
        python
    );
    assert_eq!(
        rust.iter().filter(|l| l.contains("language: rust")).count(),
        2
    );

    let mirror: toml::Table = common::read("pre-commit/pyproject.toml")
        .parse()
        .expect("pyproject.toml");
    let project = mirror["project"].as_table().expect("[project]");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(project["version"].as_str(), Some(version));
    assert_eq!(
        project["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .map(|d| d.as_str().expect("a requirement"))
            .collect::<Vec<_>>(),
        [format!("planguard=={version}")]
    );

    let valid = run(Command::new(common::venv_bin("pre-commit"))
        .arg("validate-manifest")
        .arg(root().join("pre-commit/.pre-commit-hooks.yaml")));
    assert_eq!(valid.code, 0, "{}{}", valid.stdout, valid.stderr);
}

/// The wheel's settings: maturin's `bin` bindings, and the metadata maturin
/// takes from Cargo.toml (so that the links have one home there).
#[test]
fn the_wheel_takes_its_metadata_from_cargo_toml() {
    let pyproject: toml::Table = common::read("pyproject.toml")
        .parse()
        .expect("pyproject.toml");
    assert_eq!(
        pyproject["tool"]["maturin"]["bindings"].as_str(),
        Some("bin")
    );
    assert_eq!(pyproject["project"]["name"].as_str(), Some("planguard"));
    let dynamic: Vec<&str> = pyproject["project"]["dynamic"]
        .as_array()
        .expect("dynamic")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for field in ["version", "description", "license", "urls"] {
        assert!(dynamic.contains(&field), "{field} comes from Cargo.toml");
    }
    let metadata = zip_entry(wheel(), "METADATA");
    assert!(
        metadata.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))),
        "{metadata}"
    );
    assert!(
        metadata.contains(planguard::links::REPOSITORY),
        "the wheel links the repository:\n{metadata}"
    );
}

/// A file of the wheel (a zip), by the end of its name, read with Python's
/// zipfile.
fn zip_entry(wheel: &Path, suffix: &str) -> String {
    let out = run(Command::new(common::python())
        .args([
            "-c",
            "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nname = next(n for n in z.namelist() if n.endswith(sys.argv[2]))\nsys.stdout.write(z.read(name).decode())",
        ])
        .arg(wheel)
        .arg(suffix));
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}
