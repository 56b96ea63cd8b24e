//! Schema check: each document against the JSON Schema of its kind. The
//! schemas are compiled into the binary and built once; every error is
//! reported at the span of the value it is about.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::diagnostic::{Applicability, Diagnostic, Fix};
use crate::discover::Kind;
use crate::load::{Document, spans};
use crate::rules;

/// How a finding about a member the schema does not allow begins.
pub const UNKNOWN_PROPERTY: &str = "unknown property";

pub const CONFIG_SCHEMA: &str = include_str!("../../schemas/ingestion-config.schema.json");
pub const PLAN_SCHEMA: &str = include_str!("../../schemas/orchestration-plan.schema.json");

/// The compiled schemas, shared by every worker thread.
pub struct Schemas {
    config: (Value, Validator),
    plan: (Value, Validator),
}

impl Schemas {
    pub fn builtin() -> Self {
        Self {
            config: compile(CONFIG_SCHEMA),
            plan: compile(PLAN_SCHEMA),
        }
    }

    pub fn check(&self, document: &Document) -> Vec<Diagnostic> {
        let (schema, validator) = match document.kind {
            Some(Kind::Config) => &self.config,
            Some(Kind::Plan) => &self.plan,
            None => return Vec::new(),
        };
        validator
            .iter_errors(&document.value)
            .flat_map(|error| to_diagnostics(document, schema, &error))
            .collect()
    }
}

fn compile(text: &str) -> (Value, Validator) {
    let schema: Value = serde_json::from_str(text).expect("built-in schemas are valid JSON");
    let validator =
        jsonschema::draft202012::new(&schema).expect("built-in schemas are valid draft 2020-12");
    (schema, validator)
}

fn to_diagnostics(document: &Document, schema: &Value, error: &ValidationError) -> Vec<Diagnostic> {
    let pointer = error.instance_path().as_str();
    let help = description_at(schema, error.schema_path().as_str());
    let field = last_key(pointer);
    let diagnostic = |pointer: &str, message: String, key_only: bool| {
        let target = document.locate(pointer);
        let span = if key_only {
            spans::locate(document.file.text(), pointer)
                .and_then(|l| l.key)
                .unwrap_or(target.span)
        } else {
            target.span
        };
        let mut d = Diagnostic::builtin(&rules::SCHEMA, message).at(
            &document.file,
            span,
            Some(pointer.to_string()),
        );
        d.help = help.clone();
        d
    };
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let within = if pointer.is_empty() {
                "the document".to_string()
            } else {
                format!("`{field}`")
            };
            let mut d = diagnostic(
                pointer,
                format!("missing required property `{name}` in {within}"),
                false,
            );
            d.help = property_description(schema, error.schema_path().as_str(), name).or(d.help);
            vec![d]
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => unexpected
            .iter()
            .map(|key| {
                let member = format!("{pointer}/{}", spans::escape_token(key));
                let mut d = diagnostic(&member, format!("{UNKNOWN_PROPERTY} `{key}`"), true);
                let allowed = allowed_properties(schema, error.schema_path().as_str());
                let near = allowed.as_ref().and_then(|allowed| {
                    crate::suggest::closest_unique(key, allowed.iter().map(String::as_str))
                });
                d.fix = near.and_then(|(near, unique)| {
                    rename_fix(document, error.instance(), &member, near, unique)
                });
                d.help = Some(match &allowed {
                    Some(allowed) => match near {
                        Some((near, _)) => format!(
                            "did you mean `{near}`? allowed here: {}",
                            allowed.join(", ")
                        ),
                        None => format!("allowed here: {}", allowed.join(", ")),
                    },
                    None => {
                        "remove it, or prefix it with `x-` to mark it as an extension".to_string()
                    }
                });
                d
            })
            .collect(),
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(ts) => ts
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            let found = json_type(error.instance());
            vec![diagnostic(
                pointer,
                format!(
                    "{} must be {} {expected}, not {} {found}",
                    subject(&field),
                    article(&expected),
                    article(found)
                ),
                false,
            )]
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(|o| o.to_string()).collect())
                .unwrap_or_default();
            vec![diagnostic(
                pointer,
                format!("{} must be one of {}", subject(&field), options.join(", ")),
                false,
            )]
        }
        ValidationErrorKind::Constant { expected_value } => vec![diagnostic(
            pointer,
            format!("{} must be {expected_value}", subject(&field)),
            false,
        )],
        ValidationErrorKind::Pattern { pattern } => vec![diagnostic(
            pointer,
            format!(
                "{} does not have the expected format (pattern `{pattern}`)",
                subject(&field)
            ),
            false,
        )],
        // Other messages quote the offending value; mask it, since a value in
        // the wrong place may be a secret.
        _ => vec![diagnostic(
            pointer,
            format!("{}: {}", subject(&field), error.masked_with("the value")),
            false,
        )],
    }
}

/// Rename the misspelt key of `member` to `near`: safe when `near` is the
/// only name that close and the object has no `near` yet (then the rename
/// would make a duplicate key, so there is no fix).
fn rename_fix(
    document: &Document,
    object: &Value,
    member: &str,
    near: &str,
    unique: bool,
) -> Option<Fix> {
    if object.get(near).is_some() {
        return None;
    }
    let key = spans::locate(document.file.text(), member)?.key?;
    let applicability = if unique {
        Applicability::Safe
    } else {
        Applicability::Unsafe
    };
    Some(Fix::replace(
        format!("rename to `{near}`"),
        applicability,
        key,
        serde_json::to_string(near).ok()?,
    ))
}

fn subject(field: &str) -> String {
    if field.is_empty() {
        "the document".to_string()
    } else {
        format!("`{field}`")
    }
}

fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn last_key(pointer: &str) -> String {
    pointer
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .replace("~1", "/")
        .replace("~0", "~")
}

/// The schema object a keyword location is in, following local `$ref`s as
/// the validator did (a keyword path such as
/// `/properties/retry_policy/$ref/properties/maximum_attempts/type`).
fn schema_at<'s>(schema: &'s Value, keyword_path: &str) -> Option<&'s Value> {
    let mut current = schema;
    let mut segments: Vec<&str> = keyword_path.split('/').skip(1).collect();
    segments.pop(); // the keyword itself
    for segment in segments {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment == "$ref" {
            let target = current.get("$ref")?.as_str()?.strip_prefix('#')?;
            current = schema.pointer(target)?;
            continue;
        }
        current = match current {
            Value::Object(map) => map.get(&segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    // A schema that is only a reference describes what it refers to.
    while let Some(target) = current.get("$ref").and_then(Value::as_str) {
        if current.get("description").is_some() {
            break;
        }
        current = schema.pointer(target.strip_prefix('#')?)?;
    }
    Some(current)
}

fn description_at(schema: &Value, keyword_path: &str) -> Option<String> {
    schema_at(schema, keyword_path)?
        .get("description")?
        .as_str()
        .map(str::to_string)
}

fn property_description(schema: &Value, keyword_path: &str, name: &str) -> Option<String> {
    let object = schema_at(schema, keyword_path)?;
    let property = object.get("properties")?.get(name)?;
    let property = match property.get("$ref").and_then(Value::as_str) {
        Some(target) if property.get("description").is_none() => {
            schema.pointer(target.strip_prefix('#')?)?
        }
        _ => property,
    };
    Some(format!(
        "`{name}`: {}",
        property.get("description")?.as_str()?
    ))
}

fn allowed_properties(schema: &Value, keyword_path: &str) -> Option<Vec<String>> {
    let object = schema_at(schema, keyword_path)?;
    let properties = object.get("properties")?.as_object()?;
    // Every object allows the suppressions member; it is no field to suggest.
    Some(
        properties
            .keys()
            .filter(|k| *k != super::suppress::MEMBER)
            .cloned()
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_paths_are_followed_through_references() {
        let schema = serde_json::json!({
            "properties": {"retry": {"$ref": "#/$defs/retry"}},
            "$defs": {"retry": {"description": "Retry policy", "properties": {
                "attempts": {"type": "integer", "description": "How many"}}}}
        });
        assert_eq!(
            description_at(&schema, "/properties/retry/$ref/properties/attempts/type").as_deref(),
            Some("How many")
        );
        assert_eq!(
            description_at(&schema, "/properties/retry/$ref/required").as_deref(),
            Some("Retry policy")
        );
    }
}
