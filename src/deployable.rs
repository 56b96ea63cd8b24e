//! A plan read as the Temporal Schedule it registers, in plain values, with
//! every value the schema accepts but Temporal cannot hold as written
//! (`Undeployable`, PG305). Check and the editor report these findings, the
//! gate refuses them, and `apply::model` turns the values into the Temporal
//! client's types; this module needs none of them, so that a check-only
//! build (without the `deploy` feature) reports exactly what the full one
//! does.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::cron::cron_fields;
use crate::diagnostic::Diagnostic;
use crate::load::Document;

/// Memo keys planguard sets on the started workflows, where Temporal lets
/// them be updated (a schedule's own memo cannot be changed after creation)
/// and where the workflow can read them at run time.
pub const MEMO_PLAN_SHA256: &str = "planguard_plan_sha256";
pub const MEMO_BUILD: &str = "planguard_build";
pub const MEMO_GIT_SHA: &str = "planguard_git_sha";
pub const MEMO_IMAGE: &str = "planguard_image";
pub const MEMO_SECRETS: &str = "planguard_secrets";
/// Memo keys with this prefix are planguard's; a plan's memo may not use it.
const MEMO_PREFIX: &str = "planguard_";

/// A value the schema accepts that cannot be deployed as written: refused
/// at its JSON pointer, never sent altered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeployable {
    pub pointer: String,
    pub message: String,
}

/// Temporal raises a catch-up window below this to it.
const MIN_CATCHUP_WINDOW_NANOS: u128 = 10_000_000_000;
/// Temporal's server holds durations as Go's int64 nanoseconds.
const MAX_DURATION_NANOS: u128 = i64::MAX as u128;
/// 0001-01-01T00:00:00Z, which Go (so Temporal) reads as "no time".
const ZERO_GO_TIME: i64 = -62_135_596_800;

/// The overlap policies Temporal knows, by the plan's names.
pub const OVERLAP_POLICIES: &[&str] = &[
    "skip",
    "buffer_one",
    "buffer_all",
    "cancel_other",
    "terminate_other",
    "allow_all",
];

/// A duration or a point in time as protobuf holds it: seconds and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds {
    pub seconds: i64,
    pub nanos: i32,
}

/// An interval schedule: every `every`, shifted by `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    pub every: Option<Seconds>,
    pub offset: Option<Seconds>,
}

/// The plan's retry policy; unset numbers are 0, which Temporal reads as
/// its own default.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    pub initial_interval: Option<Seconds>,
    pub backoff_coefficient: f64,
    pub maximum_interval: Option<Seconds>,
    pub maximum_attempts: i32,
    pub non_retryable_error_types: Vec<String>,
}

/// Everything of a plan that becomes its schedule, checked.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub schedule_id: String,
    pub namespace: String,
    pub workflow_type: String,
    pub task_queue: String,
    pub workflow_id: String,
    /// One of [`OVERLAP_POLICIES`].
    pub overlap: &'static str,
    pub cron: Vec<String>,
    pub intervals: Vec<Interval>,
    pub jitter: Option<Seconds>,
    pub timezone: String,
    pub start_at: Option<Seconds>,
    pub end_at: Option<Seconds>,
    pub input: Option<Value>,
    pub execution_timeout: Option<Seconds>,
    pub run_timeout: Option<Seconds>,
    pub task_timeout: Option<Seconds>,
    pub retry: Option<Retry>,
    /// The workflows' memo: the plan's own, and planguard's record of the plan.
    pub memo: HashMap<String, Value>,
    pub catchup_window: Option<Seconds>,
    pub pause_on_failure: bool,
}

/// A JSON pointer segment for `key`.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Reads a plan into schedule values, collecting what cannot be deployed.
struct Reader<'a> {
    plan: &'a Value,
    refused: Vec<Undeployable>,
}

impl Reader<'_> {
    fn refuse(&mut self, pointer: &str, message: impl Into<String>) {
        self.refused.push(Undeployable {
            pointer: pointer.to_string(),
            message: message.into(),
        });
    }

    fn text(&self, pointer: &str) -> Option<String> {
        self.plan
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    fn required(&mut self, pointer: &str) -> String {
        self.text(pointer).unwrap_or_else(|| {
            self.refuse(pointer, format!("the plan has no {}", &pointer[1..]));
            String::new()
        })
    }

    fn duration(&mut self, pointer: &str) -> Option<Seconds> {
        let text = self.plan.pointer(pointer)?;
        let Some(text) = text.as_str() else {
            self.refuse(pointer, format!("{text} is not a duration"));
            return None;
        };
        match crate::duration::parse_nanos(text) {
            Err(e) => self.refuse(pointer, e),
            Ok((_, false)) => self.refuse(
                pointer,
                format!("`{text}` has a fraction of a nanosecond, which Temporal cannot hold"),
            ),
            Ok((nanos, true)) if nanos > MAX_DURATION_NANOS => self.refuse(
                pointer,
                format!("`{text}` is longer than Temporal's longest duration (about 292 years)"),
            ),
            Ok((nanos, true)) => {
                return Some(Seconds {
                    seconds: (nanos / 1_000_000_000) as i64,
                    nanos: (nanos % 1_000_000_000) as i32,
                });
            }
        }
        None
    }

    fn timestamp(&mut self, pointer: &str) -> Option<Seconds> {
        let value = self.plan.pointer(pointer)?;
        let text = value.as_str().unwrap_or_default();
        let parsed = match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.refuse(
                    pointer,
                    format!("{value} is not an RFC 3339 date-time ({e})"),
                );
                return None;
            }
        };
        let fraction = text.split_once('.').map_or(0, |(_, rest)| {
            rest.chars().take_while(char::is_ascii_digit).count()
        });
        if fraction > 9 {
            self.refuse(
                pointer,
                format!("`{text}` has a fraction of a nanosecond, which Temporal cannot hold"),
            );
            return None;
        }
        let nanos = parsed.timestamp_subsec_nanos();
        if nanos >= 1_000_000_000 {
            self.refuse(
                pointer,
                format!("`{text}` is a leap second, which Temporal cannot hold"),
            );
            return None;
        }
        let seconds = parsed.timestamp();
        if seconds <= ZERO_GO_TIME {
            self.refuse(
                pointer,
                format!(
                    "`{text}` is not after 0001-01-01T00:00:00Z, which Temporal reads as unset"
                ),
            );
            return None;
        }
        Some(Seconds {
            seconds,
            nanos: nanos as i32,
        })
    }

    fn cron(&mut self) -> Vec<String> {
        let mut crons = Vec::new();
        let list = self.plan.pointer("/schedule/cron").cloned();
        for (i, cron) in list.iter().flat_map(|l| l.as_array()).flatten().enumerate() {
            let pointer = format!("/schedule/cron/{i}");
            let Some(text) = cron.as_str() else {
                self.refuse(&pointer, format!("{cron} is not a cron expression"));
                continue;
            };
            let first = text.split_ascii_whitespace().next().unwrap_or_default();
            if first.starts_with("CRON_TZ=") || first.starts_with("TZ=") {
                self.refuse(
                    &pointer,
                    "a time zone inside a cron expression is not compared with schedule.timezone; put it in schedule.timezone",
                );
                continue;
            }
            if let Err(e) = cron_fields(text) {
                self.refuse(
                    &pointer,
                    format!("planguard cannot read this cron expression, so it cannot verify what Temporal makes of it: {e}"),
                );
                continue;
            }
            // Temporal compiles `1-7` to Monday to Saturday: Sunday as 7 in a
            // range does not survive.
            let day_of_week = text.split_ascii_whitespace().nth(4).unwrap_or_default();
            let ends_on_seven = day_of_week.split(',').any(|item| {
                let base = item.split('/').next().unwrap_or_default();
                base.split_once('-')
                    .is_some_and(|(_, high)| high == "7" || high.eq_ignore_ascii_case("SUN"))
            });
            if ends_on_seven && !first.starts_with('@') {
                self.refuse(
                    &pointer,
                    "Temporal does not keep Sunday as 7 at the end of a day-of-week range (1-7 becomes Monday to Saturday); write Sunday as 0 (e.g. 0-6)",
                );
                continue;
            }
            crons.push(text.to_string());
        }
        crons
    }

    fn intervals(&mut self) -> Vec<Interval> {
        let count = self
            .plan
            .pointer("/schedule/intervals")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        (0..count)
            .map(|i| Interval {
                every: self.duration(&format!("/schedule/intervals/{i}/every")),
                offset: self.duration(&format!("/schedule/intervals/{i}/offset")),
            })
            .collect()
    }

    fn retry_policy(&mut self) -> Option<Retry> {
        let retry = self.plan.get("retry_policy")?.clone();
        let attempts = match retry.get("maximum_attempts") {
            None => 0,
            Some(n) => match n.as_u64().and_then(|n| i32::try_from(n).ok()) {
                Some(n) => n,
                None => {
                    self.refuse(
                        "/retry_policy/maximum_attempts",
                        format!(
                            "{n} is more attempts than Temporal can hold (at most {})",
                            i32::MAX
                        ),
                    );
                    0
                }
            },
        };
        Some(Retry {
            initial_interval: self.duration("/retry_policy/initial_interval"),
            // Unset stays unset: Temporal applies its own default (2.0).
            backoff_coefficient: retry
                .get("backoff_coefficient")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
            maximum_interval: self.duration("/retry_policy/maximum_interval"),
            maximum_attempts: attempts,
            non_retryable_error_types: retry
                .get("non_retryable_error_types")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        })
    }

    fn catchup_window(&mut self) -> Option<Seconds> {
        let window = self.duration("/policies/catchup_window")?;
        let nanos = window.seconds as u128 * 1_000_000_000 + window.nanos as u128;
        if nanos < MIN_CATCHUP_WINDOW_NANOS {
            self.refuse(
                "/policies/catchup_window",
                "Temporal raises a catch-up window under 10s to 10s (and reads 0 as one year); write 10s or more",
            );
            return None;
        }
        Some(window)
    }

    fn memo(&mut self, plan_sha256: &str) -> HashMap<String, Value> {
        let mut memo = HashMap::new();
        let user = self.plan.get("memo").and_then(Value::as_object).cloned();
        for (key, value) in user.into_iter().flatten() {
            if key.starts_with(MEMO_PREFIX) {
                self.refuse(
                    &format!("/memo/{}", escape(&key)),
                    format!("memo keys starting with `{MEMO_PREFIX}` are planguard's own record of the plan"),
                );
                continue;
            }
            memo.insert(key, value);
        }
        memo.insert(MEMO_PLAN_SHA256.to_string(), json!(plan_sha256));
        for (key, field) in [
            (MEMO_BUILD, "build"),
            (MEMO_GIT_SHA, "git_sha"),
            (MEMO_IMAGE, "image"),
            (MEMO_SECRETS, "secrets"),
        ] {
            if let Some(value) = self.plan.get(field) {
                memo.insert(key.to_string(), value.clone());
            }
        }
        memo
    }
}

/// The schedule a (checked) plan registers, with `plan_sha256` recorded on
/// the started workflows; or every field that cannot be deployed as written,
/// in the order of the plan's fields.
pub fn read(plan: &Value, plan_sha256: &str) -> Result<Schedule, Vec<Undeployable>> {
    let mut r = Reader {
        plan,
        refused: Vec::new(),
    };
    let schedule_id = r.required("/schedule_id");
    let namespace = r.required("/namespace");
    let workflow_type = r.required("/workflow_type");
    let task_queue = r.required("/task_queue");
    let workflow_id = r
        .text("/workflow_id_prefix")
        .unwrap_or_else(|| format!("{schedule_id}-"));
    let overlap_name = r.text("/policies/overlap");
    let overlap_name = overlap_name.as_deref().unwrap_or("skip");
    let overlap = match OVERLAP_POLICIES.iter().find(|p| **p == overlap_name) {
        Some(policy) => policy,
        None => {
            r.refuse("/policies/overlap", "unknown overlap policy");
            "skip"
        }
    };
    let schedule = Schedule {
        cron: r.cron(),
        intervals: r.intervals(),
        jitter: r.duration("/schedule/jitter"),
        timezone: r.text("/schedule/timezone").unwrap_or_default(),
        start_at: r.timestamp("/schedule/start_at"),
        end_at: r.timestamp("/schedule/end_at"),
        input: plan.get("input").cloned(),
        execution_timeout: r.duration("/timeouts/execution"),
        run_timeout: r.duration("/timeouts/run"),
        task_timeout: r.duration("/timeouts/task"),
        retry: r.retry_policy(),
        memo: r.memo(plan_sha256),
        catchup_window: r.catchup_window(),
        pause_on_failure: plan
            .pointer("/policies/pause_on_failure")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        schedule_id,
        namespace,
        workflow_type,
        task_queue,
        workflow_id,
        overlap,
    };
    if !r.refused.is_empty() {
        return Err(r.refused);
    }
    Ok(schedule)
}

/// What check reports about a plan that Temporal cannot hold as written
/// (PG305), so that check and the gate agree on it
/// ([`crate::check::Checker::with_plan_rule`]).
pub fn plan_refusals(plan: &Document) -> Vec<Diagnostic> {
    match read(&plan.value, "") {
        Ok(_) => Vec::new(),
        Err(refused) => undeployable(plan, refused),
    }
}

/// Values Temporal cannot hold as written, as findings at their fields.
pub fn undeployable(plan: &Document, refused: Vec<Undeployable>) -> Vec<Diagnostic> {
    refused
        .into_iter()
        .map(|u| {
            let target = plan.locate(&u.pointer);
            Diagnostic::builtin(&crate::rules::SCHEDULE_UNDEPLOYABLE, u.message).at(
                &plan.file,
                target.span,
                Some(target.pointer),
            )
        })
        .collect()
}
