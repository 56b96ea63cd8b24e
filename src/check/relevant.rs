//! Which cross-file facts a check of a few named files needs.
//!
//! A pre-commit hook names the files that changed; the rest of the workspace
//! is context. The built-in cross-file rules only report on the named files
//! then, and each of those findings depends on a small part of the facts:
//!
//! - the newest plan of its group (PG202, PG208, PG207): the newest plans of
//!   every group and the configs;
//! - its schedule id (PG205): the plans of other pipelines with the same
//!   namespace and id;
//! - its promotion (PG204): every plan of the previous environment;
//! - a config's findings (PG203, PG206, PG209): the configs, and whether an
//!   environment has plans at all, which its newest plan tells.
//!
//! So with thousands of builds kept per environment, the rules read a few
//! plans instead of all of them, and say exactly what they would have said
//! about the named files. A group whose newest build is not plain (no
//! numeric build, or one too long to compare), or that has no config, is
//! kept whole. Only the built-in rules are known this way: with a user's
//! cross-file package every fact is kept.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// A group of plans: workspace and environment, as JSON text (compared as
/// Rego compares them).
type Group = (String, String);

fn group_of(entry: &Value) -> Group {
    (
        entry["workspace"].to_string(),
        entry["environment"].to_string(),
    )
}

fn is(entry: &Value, kind: &str) -> bool {
    entry["kind"] == kind
}

/// A plan's build as `numeric` and `to_number` in lib/project.rego read it.
enum Build {
    /// Digits: a build number.
    Number(u128),
    /// Digits, but too many to compare exactly (beyond 15, a Rego number
    /// is no longer exact).
    TooLong,
    /// Anything else: never the newest.
    Other,
}

fn build_of(entry: &Value) -> Build {
    let Some(build) = entry["build"].as_str() else {
        return Build::Other;
    };
    if build.is_empty() || !build.bytes().all(|b| b.is_ascii_digit()) {
        return Build::Other;
    }
    let digits = build.trim_start_matches('0');
    if digits.len() > 15 {
        return Build::TooLong;
    }
    Build::Number(digits.parse().unwrap_or(0))
}

/// What of a file's facts tells whether a check of other files needs them:
/// where it is (path, kind, workspace, environment, build) and its
/// namespace, schedule id and pipeline, in the shape of its entry.
pub fn summary(entry: &Value) -> Value {
    let contents = &entry["contents"];
    // A document that is not an object gives the cross-file rules nothing
    // (they never see it): said by a null.
    if !contents.is_object() {
        return serde_json::json!({"path": entry["path"], "contents": null});
    }
    let mut kept = serde_json::Map::new();
    for key in ["namespace", "schedule_id"] {
        if let Some(value) = contents.get(key) {
            kept.insert(key.to_string(), value.clone());
        }
    }
    if let Some(pipeline) = contents.get("input").and_then(|i| i.get("pipeline")) {
        kept.insert(
            "input".to_string(),
            serde_json::json!({"pipeline": pipeline}),
        );
    }
    serde_json::json!({
        "path": entry["path"],
        "kind": entry["kind"],
        "workspace": entry["workspace"],
        "environment": entry["environment"],
        "build": entry["build"],
        "contents": kept,
    })
}

/// Which of the files (by their summaries; None is a file that gave no
/// facts, kept) the built-in cross-file rules need to say what they say
/// about the files in `reported`; `promotion` is the environments'
/// promotion order.
pub fn needed(
    summaries: &[Option<&Value>],
    reported: &HashSet<String>,
    promotion: &[String],
) -> Vec<bool> {
    // Only objects reach the rules (see `Policies::check_project`). Each
    // plan's and config's group, worked out once: with thousands of builds
    // kept, this runs over every one of them on every hook run.
    let groups: Vec<Option<Group>> = summaries
        .iter()
        .map(|summary| {
            summary
                .filter(|e| e["contents"].is_object() && (is(e, "plan") || is(e, "config")))
                .map(group_of)
        })
        .collect();
    let entries = || {
        summaries
            .iter()
            .zip(&groups)
            .filter_map(|(summary, group)| Some(((*summary)?, group.as_ref()?)))
    };
    // Each plan group's newest build: None while it has no build number,
    // or once one of them is too long to compare (it is then kept whole).
    let mut newest: HashMap<&Group, Option<u128>> = HashMap::new();
    let mut too_long: HashSet<&Group> = HashSet::new();
    let mut configured: HashSet<&Group> = HashSet::new();
    for (entry, group) in entries() {
        if is(entry, "config") {
            configured.insert(group);
        } else {
            let slot = newest.entry(group).or_default();
            match build_of(entry) {
                Build::Number(n) => *slot = Some(slot.map_or(n, |m| m.max(n))),
                Build::TooLong => {
                    too_long.insert(group);
                }
                Build::Other => {}
            }
        }
    }
    for group in too_long {
        newest.insert(group, None);
    }

    // What the reported plans need besides the newest plans.
    let mut whole: HashSet<Group> = HashSet::new();
    // The pipelines of the reported plans, by namespace and schedule id.
    let mut schedules: HashMap<(String, String), HashSet<String>> = HashMap::new();
    // Their schedule ids, to pass over the other plans without writing out
    // theirs: equal text is an equal value.
    let mut ids: HashSet<&Value> = HashSet::new();
    for (entry, (workspace, environment)) in entries().filter(|(e, _)| is(e, "plan")) {
        let Some(path) = entry["path"].as_str() else {
            continue;
        };
        if !reported.contains(path) {
            continue;
        }
        let text = |name: &String| Value::from(name.as_str()).to_string();
        for (i, name) in promotion.iter().enumerate() {
            if i > 0 && text(name) == *environment {
                whole.insert((workspace.clone(), text(&promotion[i - 1])));
            }
        }
        schedules
            .entry(schedule_of(entry))
            .or_default()
            .insert(pipeline_of(entry));
        ids.insert(&entry["contents"]["schedule_id"]);
    }
    for (group, newest_build) in &newest {
        if newest_build.is_none() || !configured.contains(group) {
            whole.insert((*group).clone());
        }
    }

    summaries
        .iter()
        .zip(&groups)
        .map(|(summary, group)| {
            let Some(entry) = summary else {
                return true;
            };
            if !entry["contents"].is_object() {
                return false;
            }
            let Some(group) = group.as_ref().filter(|_| is(entry, "plan")) else {
                return true;
            };
            entry["path"]
                .as_str()
                .is_some_and(|path| reported.contains(path))
                || whole.contains(group)
                || matches!(build_of(entry), Build::Number(n)
                    if newest.get(group).copied().flatten() == Some(n))
                || (ids.contains(&entry["contents"]["schedule_id"])
                    && schedules.get(&schedule_of(entry)).is_some_and(|pipelines| {
                        // Another pipeline's plan with a reported plan's id.
                        let mine = pipeline_of(entry);
                        pipelines.iter().any(|p| *p != mine)
                    }))
        })
        .collect()
}

/// The entries `needed` keeps, in their order.
#[cfg(test)]
fn for_reported(
    entries: Vec<Value>,
    reported: &HashSet<String>,
    promotion: &[String],
) -> Vec<Value> {
    let summaries: Vec<Option<Value>> = entries.iter().map(|e| Some(summary(e))).collect();
    let summaries: Vec<Option<&Value>> = summaries.iter().map(Option::as_ref).collect();
    let keep = needed(&summaries, reported, promotion);
    entries
        .into_iter()
        .zip(keep)
        .filter_map(|(entry, keep)| keep.then_some(entry))
        .collect()
}

/// A plan's pipeline as PG205 names it: `input.pipeline`, else its
/// workspace; as JSON text.
fn pipeline_of(entry: &Value) -> String {
    match entry["contents"]
        .get("input")
        .and_then(|i| i.get("pipeline"))
    {
        Some(pipeline) => pipeline.to_string(),
        None => entry["workspace"].to_string(),
    }
}

/// A plan's namespace and schedule id, as JSON text.
fn schedule_of(entry: &Value) -> (String, String) {
    (
        entry["contents"]["namespace"].to_string(),
        entry["contents"]["schedule_id"].to_string(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn plan(environment: &str, build: &str, schedule: &str) -> Value {
        json!({
            "path": format!("orchestration_plans/{environment}/{build}.json"),
            "kind": "plan",
            "workspace": ".",
            "environment": environment,
            "build": build,
            "contents": {"namespace": format!("ingestion-{environment}"), "schedule_id": schedule},
        })
    }

    fn config(environment: &str) -> Value {
        json!({
            "path": format!("conf/{environment}.json"),
            "kind": "config",
            "workspace": ".",
            "environment": environment,
            "build": null,
            "contents": {},
        })
    }

    fn paths(entries: &[Value]) -> Vec<&str> {
        entries.iter().filter_map(|e| e["path"].as_str()).collect()
    }

    #[test]
    fn a_named_dev_plan_needs_the_newest_plans_and_its_schedule_only() {
        let mut entries = vec![config("dev"), config("uat")];
        for build in ["9", "10", "11"] {
            entries.push(plan("dev", build, "ingest"));
            entries.push(plan("uat", build, "ingest"));
        }
        entries.push(plan("dev", "12", "other-id"));
        let named: HashSet<String> = ["orchestration_plans/dev/10.json".to_string()].into();
        let promotion = ["dev".to_string(), "uat".to_string()];
        let kept = for_reported(entries.clone(), &named, &promotion);
        // The older dev builds share its schedule id but are the same
        // pipeline's; dev/12 and uat/11 are the newest of their groups.
        assert_eq!(
            paths(&kept),
            [
                "conf/dev.json",
                "conf/uat.json",
                "orchestration_plans/dev/10.json",
                "orchestration_plans/uat/11.json",
                "orchestration_plans/dev/12.json",
            ]
        );
        // Another pipeline's build with the same id is kept, however old.
        let mut other = plan("dev", "9", "ingest");
        other["contents"]["input"] = json!({"pipeline": "another"});
        entries[2] = other;
        let kept = for_reported(entries.clone(), &named, &promotion);
        assert!(paths(&kept).contains(&"orchestration_plans/dev/9.json"));
        // A uat plan needs every dev plan (the digests it may have been
        // promoted from).
        let named: HashSet<String> = ["orchestration_plans/uat/9.json".to_string()].into();
        let kept = for_reported(entries, &named, &promotion);
        for dev in ["9", "10", "11", "12"] {
            let path = format!("orchestration_plans/dev/{dev}.json");
            assert!(paths(&kept).contains(&path.as_str()), "{path}");
        }
    }

    #[test]
    fn a_plan_that_is_not_an_object_is_not_the_newest() {
        let mut broken = plan("dev", "13", "ingest");
        broken["contents"] = json!(["not", "an", "object"]);
        let entries = vec![
            config("dev"),
            plan("dev", "11", "x"),
            plan("dev", "12", "y"),
            broken,
        ];
        let named: HashSet<String> = ["orchestration_plans/dev/11.json".to_string()].into();
        let kept = for_reported(entries, &named, &[]);
        assert_eq!(
            paths(&kept),
            [
                "conf/dev.json",
                "orchestration_plans/dev/11.json",
                "orchestration_plans/dev/12.json"
            ]
        );
    }

    #[test]
    fn groups_without_a_config_or_a_plain_build_are_kept_whole() {
        let entries = vec![
            plan("dev", "1", "a"),
            plan("dev", "2", "b"),
            config("uat"),
            plan("uat", "nightly", "c"),
            plan("uat", "3", "d"),
            plan("uat", "4", "e"),
            plan("uat", "12345678901234567890", "f"),
        ];
        let named: HashSet<String> = HashSet::new();
        let kept = for_reported(entries.clone(), &named, &[]);
        assert_eq!(kept, entries);
    }
}
