//! Every located finding points at what its JSON pointer names: for a scalar
//! the value itself, for an object or array its key (or opening bracket).
//! Checked over every finding planguard reports on the repository's fixtures
//! and example, and over generated documents.

use crate::common;

use common::{check_json, read};
use proptest::prelude::*;
use serde_json::Value;

fn assert_points_at_its_pointer(diagnostic: &Value) {
    let Some(pointer) = diagnostic["pointer"].as_str() else {
        return;
    };
    let file = diagnostic["file"].as_str().expect("file");
    let text = read(file);
    let start = diagnostic["range"]["start"].as_u64().expect("start") as usize;
    let end = diagnostic["range"]["end"].as_u64().expect("end") as usize;
    let slice = &text[start..end];
    let document: Value = match serde_json::from_str(text.trim_start_matches('\u{feff}')) {
        Ok(document) => document,
        Err(_) => return,
    };
    let value = document
        .pointer(pointer)
        .unwrap_or_else(|| panic!("{file}: {pointer} exists"));
    // Findings about a key itself (a duplicate, an unknown property) underline the key.
    let about_key = diagnostic["rule"] == "PG002"
        || diagnostic["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("unknown property"));
    if about_key || value.is_object() || value.is_array() {
        let last = pointer
            .rsplit('/')
            .next()
            .expect("token")
            .replace("~1", "/")
            .replace("~0", "~");
        match serde_json::from_str::<String>(slice) {
            Ok(key) => assert_eq!(key, last, "{file}: {pointer}"),
            Err(_) => assert!(
                slice == "{" || slice == "[",
                "{file}: {pointer} -> {slice:?}"
            ),
        }
    } else if diagnostic["range"]["start"] != diagnostic["range"]["end"]
        && value.is_string()
        && serde_json::from_str::<Value>(slice).is_err()
    {
        // A finding narrowed to part of a string (the password inside a URL):
        // the range lies inside the string's quotes.
        let whole = planguard::load::spans::locate(&text, pointer).expect("located");
        assert!(
            whole.value.start < start && end < whole.value.end,
            "{file}: {pointer}: {start}..{end} is not inside {:?}",
            whole.value
        );
    } else {
        let found: Value = serde_json::from_str(slice)
            .unwrap_or_else(|e| panic!("{file}: {pointer} -> {slice:?}: {e}"));
        assert_eq!(&found, value, "{file}: {pointer}");
    }
}

#[test]
fn every_reported_span_matches_its_pointer() {
    // Walked folders, plus every fixture named explicitly so that files whose
    // paths match no pattern are checked too.
    let mut args = vec!["examples/salam".to_string(), "fixtures".to_string()];
    for folder in [
        "fixtures/schema/config/fail",
        "fixtures/schema/plan/fail",
        "fixtures/hostile/files",
    ] {
        for entry in std::fs::read_dir(common::root().join(folder)).expect("fixture folder") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".json") {
                args.push(format!("{folder}/{name}"));
            }
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, report) = check_json(&args);
    let diagnostics = report["diagnostics"].as_array().expect("array");
    let with_pointer = diagnostics
        .iter()
        .filter(|d| d["pointer"].is_string())
        .count();
    assert!(with_pointer > 30, "only {with_pointer} located findings");
    diagnostics.iter().for_each(assert_points_at_its_pointer);
}

/// JSON values with awkward keys and strings, to a bounded depth.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("".to_string()),
        Just("a/b".to_string()),
        Just("m~n".to_string()),
        Just("é".to_string()),
        Just("\"q\"".to_string()),
        "[a-z]{1,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-zA-Z0-9 \\\\\"/😀é\n\t]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn pointers(value: &Value, prefix: String, out: &mut Vec<String>) {
    out.push(prefix.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(
                    v,
                    format!("{prefix}/{}", planguard::load::spans::escape_token(k)),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{prefix}/{i}"), out);
            }
        }
        _ => {}
    }
}

proptest! {
    #[test]
    fn located_targets_match_their_pointer(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value).expect("serializes")
        } else {
            serde_json::to_string(&value).expect("serializes")
        };
        let file = planguard::source::SourceFile::new("doc.json", text.clone());
        let mut all = Vec::new();
        pointers(&value, String::new(), &mut all);
        for pointer in all {
            let target = planguard::load::locate(&file, &pointer);
            prop_assert!(target.exact);
            let slice = &text[target.span.clone()];
            let expected = value.pointer(&pointer).expect("exists");
            if expected.is_object() || expected.is_array() {
                let is_key = serde_json::from_str::<String>(slice).is_ok();
                prop_assert!(is_key || slice == "{" || slice == "[", "{pointer}: {slice:?}");
            } else {
                let found: Value = serde_json::from_str(slice).expect("a value");
                prop_assert_eq!(&found, expected);
            }
        }
    }
}
