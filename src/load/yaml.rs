//! YAML data files as OPA reads them: one document, its plain scalars typed
//! by YAML 1.1's rules as go-yaml v2 applies them (so `on`, `yes` and `off`
//! are booleans, as they are to conftest and OPA), then made JSON.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};

/// The YAML in `text` as a JSON value; an error names the line it is about.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut reader = Reader {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
    };
    let mut document = None;
    loop {
        let (event, span) = reader.next()?;
        match event {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                if document.is_some() {
                    return Err(at(
                        span,
                        "a data file holds one YAML document; this is a second one",
                    ));
                }
                let (event, span) = reader.next()?;
                document = Some(reader.node(event, span)?);
            }
            other => return Err(at(span, &format!("unexpected {other:?}"))),
        }
    }
    document.ok_or_else(|| "the file holds no YAML document".to_string())
}

fn at(span: Span, message: &str) -> String {
    format!("line {}: {message}", span.start.line())
}

struct Reader<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Value>,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), String> {
        match self.parser.next() {
            Some(Ok(next)) => Ok(next),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("the YAML ends early".to_string()),
        }
    }

    fn node(&mut self, event: Event<'a>, span: Span) -> Result<Value, String> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar(&text, style, tag.as_deref()).map_err(|m| at(span, &m))?;
                self.remember(anchor, &value);
                Ok(value)
            }
            Event::Alias(anchor) => self
                .anchors
                .get(&anchor)
                .cloned()
                .ok_or_else(|| at(span, "an alias to an unknown anchor")),
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq").map_err(|m| at(span, &m))?;
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if let Event::SequenceEnd = event {
                        break;
                    }
                    items.push(self.node(event, span)?);
                }
                let value = Value::Array(items);
                self.remember(anchor, &value);
                Ok(value)
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map").map_err(|m| at(span, &m))?;
                let mut map = Map::new();
                // `<<` merge keys fill in what the mapping does not set itself.
                let mut merged = Map::new();
                loop {
                    let (event, key_span) = self.next()?;
                    if let Event::MappingEnd = event {
                        break;
                    }
                    let is_merge = matches!(
                        &event,
                        Event::Scalar(text, ScalarStyle::Plain, _, None) if text == "<<"
                    );
                    let key = self.node(event, key_span)?;
                    let (event, value_span) = self.next()?;
                    let value = self.node(event, value_span)?;
                    if is_merge {
                        let sources = match value {
                            Value::Array(items) => items,
                            other => vec![other],
                        };
                        for source in sources {
                            let Value::Object(source) = source else {
                                return Err(at(
                                    value_span,
                                    "a `<<` merge takes a mapping or a list of mappings",
                                ));
                            };
                            for (k, v) in source {
                                merged.entry(k).or_insert(v);
                            }
                        }
                        continue;
                    }
                    map.insert(key_string(key).map_err(|m| at(key_span, &m))?, value);
                }
                for (k, v) in merged {
                    map.entry(k).or_insert(v);
                }
                let value = Value::Object(map);
                self.remember(anchor, &value);
                Ok(value)
            }
            other => Err(at(span, &format!("unexpected {other:?}"))),
        }
    }

    fn remember(&mut self, anchor: usize, value: &Value) {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
    }
}

/// The name of a core-schema tag (`!!str` → `str`), or None for another tag.
fn core_tag(tag: &Tag) -> Option<&str> {
    tag.is_yaml_core_schema().then_some(tag.suffix.as_str())
}

fn check_collection_tag(tag: Option<&Tag>, expected: &str) -> Result<(), String> {
    match tag {
        None => Ok(()),
        Some(tag) if core_tag(tag) == Some(expected) => Ok(()),
        Some(tag) => Err(format!("unsupported tag {tag}")),
    }
}

/// A mapping key as JSON object keys are: strings, with numbers and
/// booleans written out, as sigs.k8s.io/yaml does for OPA.
fn key_string(key: Value) -> Result<String, String> {
    match key {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err("a null mapping key cannot be a JSON object key".to_string()),
        Value::Array(_) | Value::Object(_) => {
            Err("a collection as a mapping key cannot be a JSON object key".to_string())
        }
    }
}

fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    let resolved =
        || resolve_plain(text).map(|v| v.unwrap_or_else(|| Value::String(text.to_string())));
    match tag {
        None if style == ScalarStyle::Plain => resolved(),
        None => Ok(Value::String(text.to_string())),
        Some(tag) => match core_tag(tag) {
            Some("str") => Ok(Value::String(text.to_string())),
            Some(kind @ ("int" | "float" | "bool" | "null")) => {
                let value = resolved()?;
                let fits = match kind {
                    "int" => value.is_i64() || value.is_u64(),
                    "float" => value.is_number(),
                    "bool" => value.is_boolean(),
                    _ => value.is_null(),
                };
                if fits {
                    Ok(value)
                } else {
                    Err(format!("`{text}` is not a valid !!{kind}"))
                }
            }
            _ => Err(format!("unsupported tag {tag}")),
        },
    }
}

/// go-yaml v2's reading of a plain scalar: null, boolean, integer or float;
/// None when it is a string.
fn resolve_plain(text: &str) -> Result<Option<Value>, String> {
    let value = match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            return Err(format!("`{text}` is not a number JSON can hold"));
        }
        _ if text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) => {
            match number(text) {
                Some(n) => Value::Number(n),
                None => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(value))
}

/// Go's `strconv.ParseInt(s, 0, 64)` after dropping underscores (sign, and
/// `0x`, `0o`, `0b` or a leading `0` for octal), then its float syntax.
fn number(text: &str) -> Option<Number> {
    let plain = text.replace('_', "");
    let (negative, digits) = match plain.as_bytes().first() {
        Some(b'-') => (true, &plain[1..]),
        Some(b'+') => (false, &plain[1..]),
        _ => (false, plain.as_str()),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if !body.is_empty()
        && body.chars().all(|c| c.is_digit(radix))
        && let Ok(magnitude) = u64::from_str_radix(body, radix)
    {
        if !negative {
            return Some(Number::from(magnitude));
        }
        if let Ok(value) = i64::try_from(magnitude) {
            return Some(Number::from(-value));
        }
        if magnitude == 1 << 63 {
            return Some(Number::from(i64::MIN));
        }
    }
    // YAML's float syntax, which Go's parser then reads.
    let float = plain.strip_prefix(['+', '-']).unwrap_or(&plain);
    let (mantissa, exponent) = match float.find(['e', 'E']) {
        Some(i) => (&float[..i], Some(&float[i + 1..])),
        None => (float, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        // `.5`, `5.` and `5.5`, not a lone `.`.
        Some((whole, fraction)) => {
            (!whole.is_empty() || !fraction.is_empty())
                && whole.chars().all(|c| c.is_ascii_digit())
                && fraction.chars().all(|c| c.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    if !mantissa_ok || !exponent_ok {
        return None;
    }
    let value: f64 = plain.parse().ok()?;
    // Go's JSON writes a whole float without a fraction (1.0 → 1), which
    // OPA then reads as that integer.
    if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        return Some(Number::from(value as i64));
    }
    Number::from_f64(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_scalars_are_typed_as_go_yaml_v2_types_them() {
        let value = parse(
            "a: yes\nb: off\nc: ~\nd: 0x1F\ne: 0777\nf: 1_000\ng: 2.50\nh: 1e3\ni: '42'\nj: 2001-12-14\nk: -7\nl: .5\nm: y\np: 08\n",
        )
        .expect("valid");
        assert_eq!(
            value,
            json!({"a": true, "b": false, "c": null, "d": 31, "e": 511, "f": 1000, "g": 2.5,
                   "h": 1000, "i": "42", "j": "2001-12-14", "k": -7, "l": 0.5, "m": true, "p": 8})
        );
    }

    #[test]
    fn anchors_merge_keys_and_tags() {
        let value = parse(
            "base: &base {size: 1, zone: eu}\nnode:\n  <<: *base\n  size: 2\nlist: [*base]\nforced: !!str 12\n1: one\ntrue: yes\n",
        )
        .expect("valid");
        assert_eq!(
            value,
            json!({"base": {"size": 1, "zone": "eu"}, "node": {"size": 2, "zone": "eu"},
                   "list": [{"size": 1, "zone": "eu"}], "forced": "12", "1": "one", "true": true})
        );
    }

    #[test]
    fn what_json_cannot_hold_is_an_error() {
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
        assert!(parse("a: .inf\n").is_err());
        assert!(parse("a: !custom x\n").is_err());
        assert!(parse("~: x\n").is_err());
        assert!(parse("a: [1\n").is_err());
    }
}
