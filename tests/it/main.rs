//! planguard's integration tests, one module per area, built as one test
//! binary: linking the library once instead of once per area is most of
//! what building the tests costs. Run one area with
//! `cargo test --test it <area>::`, e.g. `cargo test --test it check_cli::`.

mod common;

mod apply;
mod check_cli;
mod conftest_compat;
mod fidelity;
mod functions_twins;
mod fuzz_smoke;
mod hostile;
mod integrations;
mod logs;
mod lsp;
mod packaging;
mod pre_commit;
mod rules;
mod scaffold;
mod secrets;
mod spans;
mod status;
