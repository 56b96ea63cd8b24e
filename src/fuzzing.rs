//! Fuzzing: the properties the fuzz targets (fuzz/) check, kept in the
//! library so that `cargo test` runs them too, on the hostile corpus and on
//! generated inputs. Each function panics when a property fails — that is
//! what a fuzzer looks for — and returns quietly otherwise.

use serde_json::Value;

use crate::discover::{Candidate, Kind};
use crate::load;
use crate::source::SourceFile;

fn candidate() -> Candidate {
    Candidate {
        path: "orchestration_plans/dev/1.json".into(),
        kind: Some(Kind::Plan),
        workspace: Some(String::new()),
        env: Some("dev".into()),
        build: Some("1".into()),
        explicit: false,
    }
}

/// Any bytes: loading never panics; every diagnostic's span lies inside the
/// file on character boundaries; and in a document that loads, every JSON
/// pointer of every value resolves exactly, to text that parses back to that
/// very value.
pub fn load_and_locate(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = SourceFile::new("orchestration_plans/dev/1.json", text);
    let (document, diagnostics) = load::parse(file.clone(), &candidate());
    for d in &diagnostics {
        if let Some(location) = &d.location {
            let span = &location.span;
            assert!(span.start <= span.end && span.end <= location.file.text().len());
            assert!(location.file.text().is_char_boundary(span.start));
            assert!(location.file.text().is_char_boundary(span.end));
        }
    }
    let Some(document) = document else { return };
    let mut pointers = Vec::new();
    collect_pointers(&document.value, String::new(), &mut pointers, 2_000);
    for (pointer, value) in pointers {
        let target = document.locate(&pointer);
        assert!(target.exact, "{pointer} resolves exactly");
        assert!(target.span.end <= text.len());
        let value_span = load::spans::locate_nearest(text, &pointer).0.value;
        let raw = &text[value_span];
        let parsed: Value = serde_json::from_str(raw.trim_start_matches('\u{FEFF}'))
            .unwrap_or_else(|e| panic!("{pointer}: `{raw}` does not parse: {e}"));
        assert_eq!(&parsed, value, "{pointer}");
    }
}

fn collect_pointers<'a>(
    value: &'a Value,
    pointer: String,
    out: &mut Vec<(String, &'a Value)>,
    limit: usize,
) {
    if out.len() >= limit {
        return;
    }
    out.push((pointer.clone(), value));
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let token = load::spans::escape_token(key);
                collect_pointers(child, format!("{pointer}/{token}"), out, limit);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_pointers(child, format!("{pointer}/{i}"), out, limit);
            }
        }
        _ => {}
    }
}

/// Any policy result (the first half of the bytes as the result's JSON, the
/// rest as the document): decoding it never panics and yields a diagnostic
/// whose location lies inside the document, on character boundaries.
pub fn decode_policy_result(data: &[u8]) {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let (result, document) = data.split_at(split);
    let Ok(result) = serde_json::from_slice::<Value>(result) else {
        return;
    };
    let document = document.get(1..).unwrap_or_default();
    let text =
        std::str::from_utf8(document).unwrap_or("{\"schedule\": {\"cron\": [\"0 2 * * *\"]}}");
    let file = SourceFile::new("orchestration_plans/dev/1.json", text);
    let (Some(document), _) = load::parse(file, &candidate()) else {
        return;
    };
    if let Some(d) = crate::check::policy::decode_result("main", "deny", &result, &document) {
        for location in d
            .location
            .iter()
            .chain(d.related.iter().map(|r| &r.location))
        {
            let text = location.file.text();
            assert!(location.span.start <= location.span.end && location.span.end <= text.len());
            assert!(text.is_char_boundary(location.span.start));
            assert!(text.is_char_boundary(location.span.end));
        }
    }
}
