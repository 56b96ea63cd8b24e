//! planguard's integration tests, one module per area, built as one test
//! binary: linking the library once instead of once per area is most of
//! what building the tests costs. Run one area with
//! `cargo test --test it <area>::`, e.g. `cargo test --test it check_cli::`.

mod common;

// The deploy commands' tests need the full build (the `deploy` feature).
#[cfg(feature = "deploy")]
mod apply;
mod check_cli;
mod conftest_compat;
#[cfg(feature = "deploy")]
mod contrib;
mod fidelity;
mod fixes;
mod functions_twins;
mod fuzz_smoke;
mod hostile;
mod integrations;
#[cfg(feature = "deploy")]
mod logs;
mod lsp;
#[cfg(feature = "deploy")]
mod operations;
mod packaging;
mod pre_commit;
mod rules;
mod scaffold;
mod secrets;
mod spans;
#[cfg(feature = "deploy")]
mod status;
