//! The fuzz targets' properties (src/fuzzing.rs) on every fixture file, on
//! mutations of them (truncated, bytes flipped, spliced) and on generated
//! bytes: a bounded, deterministic share of what `cargo fuzz` explores.

use crate::common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn fixture_files() -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for folder in ["fixtures", "examples"] {
        for entry in walkdir::WalkDir::new(common::root().join(folder)).sort_by_file_name() {
            let entry = entry.expect("walk");
            if entry.file_type().is_file() && entry.path().extension().is_some_and(|x| x == "json")
            {
                files.push(std::fs::read(entry.path()).expect("read"));
            }
        }
    }
    files
}

#[test]
fn every_fixture_loads_and_locates() {
    let files = fixture_files();
    assert!(files.len() > 80, "{} fixture files", files.len());
    for bytes in &files {
        planguard::fuzzing::load_and_locate(bytes);
    }
}

#[test]
fn mutated_fixtures_load_and_locate() {
    let files = fixture_files();
    let mut runner = TestRunner::new(Config {
        cases: 600,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        0..files.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        any::<prop::sample::Index>(),
        prop::option::of(any::<prop::sample::Index>()),
    );
    runner
        .run(&strategy, |(which, flips, cut, splice)| {
            let mut bytes = files[which].clone();
            if bytes.is_empty() {
                return Ok(());
            }
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            if let Some(at) = splice {
                // Repeat a slice of the file inside itself: deep or duplicated structure.
                let i = at.index(bytes.len());
                let copy = bytes[i..].to_vec();
                bytes.splice(i..i, copy);
            }
            bytes.truncate(cut.index(bytes.len() + 1).max(1));
            planguard::fuzzing::load_and_locate(&bytes);
            Ok(())
        })
        .expect("the load properties hold");
}

#[test]
fn generated_policy_results_decode() {
    let plan = common::read("fixtures/workspaces/clean/orchestration_plans/dev/12.json");
    let mut runner = TestRunner::new(Config {
        cases: 800,
        failure_persistence: None,
        ..Config::default()
    });
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-z/~.0-9_é🎉]{0,12}".prop_map(serde_json::Value::from),
        Just(serde_json::json!("/schedule/cron/0")),
        Just(serde_json::json!(["image", "ref"])),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("msg".to_string()),
                    Just("location".to_string()),
                    Just("within".to_string()),
                    Just("related".to_string()),
                    Just("sensitive".to_string()),
                    Just("rule".to_string()),
                    "[a-z]{1,6}".prop_map(|s| s),
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    runner
        .run(&value, |result| {
            let mut bytes = serde_json::to_vec(&result).expect("json");
            bytes.push(0);
            bytes.extend(plan.as_bytes());
            planguard::fuzzing::decode_policy_result(&bytes);
            Ok(())
        })
        .expect("decoding never panics and stays inside the file");
}
