//! What planguard ships besides its code: every link in a shipped file is
//! derived from Cargo.toml's `repository` and `homepage`, and the license
//! Cargo.toml names is there.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::root;

/// Files shipped outside the crate's `include` (what `cargo package` puts in
/// the .crate): the action, the hook manifests, the documentation, the
/// wheel's build settings and the workflows.
const ALSO_SHIPPED: &[&str] = &[
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
    ("bford.info", "the CACHEDIR.TAG convention the cache follows"),
    (
        "token.actions.githubusercontent.com",
        "GitHub's OIDC issuer, the plan schema's example of a keyless signer",
    ),
    ("www.apache.org", "the license's own text"),
];

/// A host no one can visit: a single label (`https://a`), or a name under
/// `.internal` (reserved for private networks; the Salam examples live there)
/// or `example.com`.
fn example_host(host: &str) -> bool {
    !host.contains('.')
        || host.ends_with(".internal")
        || host == "example.com"
        || host.ends_with(".example.com")
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
    let walk = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_entry(|e| {
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
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// No shipped file links anywhere but planguard's own repository (and the
/// raw files GitHub serves from it), its homepage, or the few external
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
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "{expected} is shipped"
        );
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
    for schema in ["ingestion-config", "orchestration-plan", "report"] {
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
