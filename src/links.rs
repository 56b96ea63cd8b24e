//! Where planguard's pages live. Every link planguard prints or writes is
//! derived from Cargo.toml's `repository` and `homepage`, at this version's
//! release tag, so that the links of a build match its documentation and a
//! move of the repository changes one line; tests/it/packaging.rs fails on
//! any other host in a shipped file.

/// The source repository (Cargo.toml `repository`).
pub const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");
/// The project's home page (Cargo.toml `homepage`).
pub const HOMEPAGE: &str = env!("CARGO_PKG_HOMEPAGE");
/// The mirror repository of the `language: python` pre-commit hooks
/// (pre-commit/ is its content): the repository's address with `-pre-commit`.
pub const PRE_COMMIT_MIRROR: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "-pre-commit");
/// The release tag of this version: what the action, the pre-commit hooks
/// and the release assets are named by.
pub const TAG: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// A file of the repository as this version has it, e.g. `docs/errors.md`.
pub fn file(path: &str) -> String {
    format!("{REPOSITORY}/blob/{TAG}/{path}")
}

/// `owner/name` of the repository: what a workflow's `uses:` names.
pub fn slug() -> &'static str {
    let path = REPOSITORY.trim_end_matches('/');
    // The last two segments of the address.
    let cut = path.rmatch_indices('/').nth(1).map_or(0, |(i, _)| i + 1);
    &path[cut..]
}

/// `text` with the placeholders of a scaffolded file filled in:
/// `@repository@`, `@slug@` (owner/name), `@tag@` and `@blob@` (the
/// repository's files at this version).
pub fn expand(text: &str) -> String {
    text.replace("@repository@", REPOSITORY)
        .replace("@slug@", slug())
        .replace("@tag@", TAG)
        .replace("@blob@", &format!("{REPOSITORY}/blob/{TAG}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_the_repository_at_this_version() {
        assert_eq!(
            file("docs/errors.md"),
            format!(
                "{REPOSITORY}/blob/v{}/docs/errors.md",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(REPOSITORY.ends_with(&format!("/{}", slug())));
        assert_eq!(slug().matches('/').count(), 1, "{}", slug());
        assert_eq!(
            expand("@slug@@@tag@ @blob@/x"),
            format!("{}@{TAG} {REPOSITORY}/blob/{TAG}/x", slug())
        );
    }
}
