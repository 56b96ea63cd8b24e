//! `planguard init`: scaffold a repository for planguard — settings, an
//! example policy with its test, a pre-commit configuration and a GitHub
//! workflow. Never replaces a file unless asked to.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Each scaffolded file: where it goes, relative to the target folder, and
/// what it holds, with `@…@` placeholders for this build's repository and
/// release tag ([`crate::links::expand`]).
pub const FILES: &[(&str, &str)] = &[
    ("planguard.toml", include_str!("planguard.toml")),
    ("policy/main.rego", include_str!("policy/main.rego")),
    (
        "policy/main_test.rego",
        include_str!("policy/main_test.rego"),
    ),
    (
        ".pre-commit-config.yaml",
        include_str!("pre-commit-config.yaml"),
    ),
    (
        ".github/workflows/planguard.yml",
        include_str!("workflow/planguard.yml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("cannot write {}: {source}", .path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot say what was written: {0}")]
    Output(#[from] std::io::Error),
}

/// Write the scaffold into `root`, saying what was created and what was kept.
pub fn init(root: &Path, force: bool, out: &mut dyn Write) -> Result<(), InitError> {
    for (relative, text) in FILES {
        let path = root.join(relative);
        let shown = crate::source::display_path(&path);
        let fail = |source| InitError::File {
            path: path.clone(),
            source,
        };
        let existed = path.exists();
        if existed && !force {
            writeln!(out, "kept     {shown} (it exists; --force replaces it)")?;
            continue;
        }
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(fail)?;
        }
        std::fs::write(&path, crate::links::expand(text)).map_err(fail)?;
        let verb = if existed { "replaced" } else { "created " };
        writeln!(out, "{verb} {shown}")?;
    }
    writeln!(
        out,
        "\nNext: `planguard check` checks the workspace, `planguard test policy` runs the example rule's tests."
    )?;
    Ok(())
}
