//! The floor `planguard check` is measured against: find the configs and plans
//! exactly as `check` does, read every file, parse it with serde_json and
//! validate it against the same compiled JSON Schemas, collecting every error.
//! No policies, no spans, no report. Run by scripts/bench/run:
//!
//! ```text
//! cargo bench --bench floor -- [--threads N] PATH
//! ```
//!
//! prints one JSON line: documents, bytes, schema errors, seconds.

use std::path::PathBuf;
use std::time::Instant;

use planguard::check::schema::{CONFIG_SCHEMA, PLAN_SCHEMA};
use planguard::discover::{self, Kind};
use planguard::settings::Settings;
use rayon::prelude::*;
use serde_json::Value;

fn compile(text: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(text).expect("built-in schemas are valid JSON");
    jsonschema::draft202012::new(&schema).expect("built-in schemas are valid draft 2020-12")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut threads = 0;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().ok_or("--threads N")?.parse()?,
            // cargo bench passes --bench to every bench target.
            "--bench" => {}
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let started = Instant::now();
    let settings = Settings::default();
    let config = compile(CONFIG_SCHEMA);
    let plan = compile(PLAN_SCHEMA);
    let found = discover::discover(&paths, &settings)?;
    let (bytes, errors) = pool.install(|| {
        found
            .files
            .par_iter()
            .map(|candidate| {
                let Ok(text) = std::fs::read(&candidate.path) else {
                    return (0, 1);
                };
                let Ok(value) = serde_json::from_slice::<Value>(&text) else {
                    return (text.len(), 1);
                };
                let validator = match candidate.kind {
                    Some(Kind::Config) => &config,
                    Some(Kind::Plan) => &plan,
                    None => return (text.len(), 0),
                };
                (text.len(), validator.iter_errors(&value).count())
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    let seconds = started.elapsed().as_secs_f64();
    let line = serde_json::json!({
        "documents": found.files.len(),
        "bytes": bytes,
        "schema_errors": errors,
        "threads": pool.current_num_threads(),
        "seconds": seconds,
    });
    std::io::Write::write_all(&mut std::io::stdout(), format!("{line}\n").as_bytes())?;
    Ok(())
}
