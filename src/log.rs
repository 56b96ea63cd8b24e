//! Structured events on standard error (`--log-format json`): one JSON object
//! per line, with the time, level, subcommand and whatever is known of the
//! namespace, schedule, workflow and plan. Events carry names, ids, hashes
//! and counts, never a document's values. In the default human format there
//! are no events; standard error reads as it always did.

use std::io::Write;

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// What a person reads (no structured events).
    #[default]
    Human,
    /// One JSON object per line on standard error.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// What an event is about, where known. Only names, ids, paths, hashes and
/// counts belong here.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    pub environment: Option<String>,
    pub namespace: Option<String>,
    pub schedule_id: Option<String>,
    pub workflow_id: Option<String>,
    pub build: Option<String>,
    pub plan_sha256: Option<String>,
    pub plan: Option<String>,
    pub outcome: Option<String>,
    /// Anything else: counts, field names.
    pub extra: Vec<(&'static str, Value)>,
}

impl Fields {
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.extra.push((key, value.into()));
        self
    }
}

/// The time now, as log events and audit records give it (RFC 3339, UTC, milliseconds).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One event as a line of JSON (with its newline).
pub fn line(level: Level, subcommand: &str, event: &str, message: &str, fields: &Fields) -> String {
    let mut object = Map::new();
    object.insert("time".into(), now().into());
    object.insert("level".into(), level.as_str().into());
    object.insert("subcommand".into(), subcommand.into());
    object.insert("event".into(), event.into());
    object.insert("message".into(), message.into());
    let known = [
        ("environment", &fields.environment),
        ("namespace", &fields.namespace),
        ("schedule_id", &fields.schedule_id),
        ("workflow_id", &fields.workflow_id),
        ("build", &fields.build),
        ("plan_sha256", &fields.plan_sha256),
        ("plan", &fields.plan),
        ("outcome", &fields.outcome),
    ];
    for (key, value) in known {
        if let Some(value) = value {
            object.insert(key.into(), value.clone().into());
        }
    }
    for (key, value) in &fields.extra {
        object.insert((*key).into(), value.clone());
    }
    let mut text = Value::Object(object).to_string();
    text.push('\n');
    text
}

/// The event sink of one run: standard error, and whether events are wanted.
pub struct Log<'a> {
    json: bool,
    subcommand: &'static str,
    out: &'a mut dyn Write,
}

impl<'a> Log<'a> {
    pub fn new(format: LogFormat, subcommand: &'static str, out: &'a mut dyn Write) -> Self {
        Self {
            json: format == LogFormat::Json,
            subcommand,
            out,
        }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// An event, written only in the JSON format.
    pub fn event(
        &mut self,
        level: Level,
        event: &str,
        message: &str,
        fields: &Fields,
    ) -> std::io::Result<()> {
        if !self.json {
            return Ok(());
        }
        self.out
            .write_all(line(level, self.subcommand, event, message, fields).as_bytes())
    }

    pub fn info(&mut self, event: &str, message: &str, fields: &Fields) -> std::io::Result<()> {
        self.event(Level::Info, event, message, fields)
    }

    /// A line for a person in the human format (as standard error always
    /// had it); the same text as an event in the JSON format.
    pub fn note(&mut self, level: Level, event: &str, text: &str) -> std::io::Result<()> {
        if self.json {
            self.event(level, event, text, &Fields::default())
        } else {
            writeln!(self.out, "{text}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_json_object_with_the_known_fields_only() {
        let fields = Fields {
            namespace: Some("ingestion-dev".into()),
            ..Fields::default()
        }
        .with("files", 3);
        let text = line(Level::Info, "check", "finished", "done", &fields);
        assert!(text.ends_with('\n') && text.lines().count() == 1);
        let value: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(value["namespace"], "ingestion-dev");
        assert_eq!(value["files"], 3);
        assert_eq!(value["level"], "info");
        assert!(value.get("schedule_id").is_none());
    }

    #[test]
    fn human_format_writes_no_events_but_keeps_notes() {
        let mut buffer = Vec::new();
        let mut log = Log::new(LogFormat::Human, "check", &mut buffer);
        log.info("started", "x", &Fields::default()).expect("write");
        log.note(Level::Debug, "settings", "settings: built-in defaults")
            .expect("write");
        assert_eq!(
            String::from_utf8(buffer).expect("UTF-8"),
            "settings: built-in defaults\n"
        );
    }
}
