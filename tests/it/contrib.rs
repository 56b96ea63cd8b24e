//! contrib/: the Prometheus alerting rules and the Grafana dashboard that
//! read `planguard status --format prometheus` (spec §5). The rules are
//! checked and unit-tested by the real promtool (Debian's `prometheus`
//! package, which scripts/test installs); every metric and label the rules
//! and the dashboard name is one status exports.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chrono::DateTime;
use planguard::status::{Outcome, Run, ScheduleStatus, StatusReport, Workers};
use serde_json::Value;

const RULES: &str = "contrib/prometheus/planguard-alerts.yml";
const RULE_TESTS: &str = "contrib/prometheus/planguard-alerts.test.yml";
const DASHBOARD: &str = "contrib/grafana/planguard-dashboard.json";

/// Labels the scrape adds (node_exporter's target), not status: an
/// annotation or a legend may name them.
const SCRAPE_LABELS: &[&str] = &["instance", "job"];

/// The real promtool, or a failure that says how to get it: never a skip.
fn promtool(args: &[&str], dir: &Path) -> common::Run {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "promtool cannot run ({error}): install Debian's `prometheus` package \
                 (scripts/test does), e.g. apt-get install prometheus"
            )
        });
    common::Run {
        code: output.status.code().expect("promtool exited"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn promtool_checks_the_alerting_rules() {
    let out = promtool(&["check", "rules", RULES], &common::root());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("SUCCESS"), "{}", out.stdout);
}

#[test]
fn promtool_unit_tests_of_the_alerting_rules_pass() {
    let out = promtool(&["test", "rules", RULE_TESTS], &common::root());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("SUCCESS"), "{}", out.stdout);
}

/// Each alert has a unit test that expects it to fire, and one that expects
/// it quiet (an `exp_alerts: []` at some time).
#[test]
fn every_alert_is_unit_tested_firing_and_quiet() {
    let tests = planguard::load::yaml::parse(&common::read(RULE_TESTS)).expect("YAML");
    let mut fired = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    for case in tests["tests"].as_array().expect("tests") {
        for check in case["alert_rule_test"].as_array().expect("alert_rule_test") {
            let name = check["alertname"].as_str().expect("alertname").to_string();
            match check["exp_alerts"].as_array() {
                Some(alerts) if !alerts.is_empty() => fired.insert(name),
                _ => quiet.insert(name),
            };
        }
    }
    for rule in rules() {
        let alert = rule["alert"].as_str().expect("an alerting rule");
        assert!(fired.contains(alert), "no test where {alert} fires");
        assert!(quiet.contains(alert), "no test where {alert} stays quiet");
    }
}

fn rules() -> Vec<Value> {
    let rules = planguard::load::yaml::parse(&common::read(RULES)).expect("YAML");
    rules["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules").clone())
        .collect()
}

/// Every alert has a severity, a summary and description that name the
/// schedule and namespace (when its expression has them), and a runbook
/// link into the README of Cargo.toml's repository.
#[test]
fn every_alert_has_severity_summary_description_and_runbook() {
    let readme = common::read("README.md");
    for rule in rules() {
        let alert = rule["alert"].as_str().expect("alert");
        let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
        assert!(
            ["critical", "warning"].contains(&severity),
            "{alert}: severity {severity:?}"
        );
        let annotations = &rule["annotations"];
        let summary = annotations["summary"].as_str().expect("summary");
        let description = annotations["description"].as_str().expect("description");
        if rule["expr"]
            .as_str()
            .expect("expr")
            .contains("planguard_schedule_")
        {
            for text in [summary, description] {
                for label in ["$labels.schedule_id", "$labels.namespace"] {
                    assert!(text.contains(label), "{alert} does not say {label}: {text}");
                }
            }
        }
        let runbook = annotations["runbook_url"].as_str().expect("runbook_url");
        let anchor = runbook
            .strip_prefix(&format!("{}#", planguard::links::REPOSITORY))
            .unwrap_or_else(|| panic!("{alert}: {runbook} is not the repository's README"));
        // GitHub's anchor of a heading: lower case, spaces as hyphens.
        let heading = readme.lines().any(|l| {
            l.starts_with('#')
                && l.trim_start_matches('#')
                    .trim()
                    .to_lowercase()
                    .replace(' ', "-")
                    .chars()
                    .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
                    .collect::<String>()
                    == anchor
        });
        assert!(heading, "{alert}: README.md has no heading #{anchor}");
    }
}

/// What status exports: each family's type and the labels its samples
/// carry, from a report rendered by planguard's own renderer, with every
/// field filled in so that every family has samples.
fn exported() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let t = DateTime::from_timestamp(1_700_000_000, 0).expect("a time");
    let run = Run {
        scheduled: t,
        started: t,
        workflow_id: "w".into(),
        run_id: "r".into(),
        outcome: Outcome::Completed,
        attempt: Some(2),
    };
    let schedule = ScheduleStatus {
        namespace: "ingestion-prod".into(),
        schedule_id: "s".into(),
        environment: Some("prod".into()),
        plan: Some("orchestration_plans/prod/42.json".into()),
        deployed: true,
        build: Some("42".into()),
        plan_sha256: Some("0".repeat(64)),
        paused: false,
        notes: String::new(),
        next_run: Some(t),
        last_run: Some(run.clone()),
        history: vec![run],
        task_queue: Some("spark-ingest-prod".into()),
        workers: Some(Workers::Polled {
            pollers: 1,
            last_poll: Some(t),
        }),
        lag: Duration::ZERO,
        missed_catchup_windows: 0,
        overlap_skipped: 0,
        actions: 1,
        running_workflows: 0,
        problems: Vec::new(),
    };
    let report = StatusReport {
        time: t,
        max_lag: Duration::from_secs(300),
        history: 5,
        schedules: vec![schedule],
    };
    let text = String::from_utf8(planguard::status::prometheus::render(&report)).expect("UTF-8");
    let mut families = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            families.insert(name.to_string(), (kind.to_string(), BTreeSet::new()));
        }
    }
    let label = regex::Regex::new(r#"([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*""#).expect("regex");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().expect("a sample has a name");
        let (_, labels) = families
            .get_mut(name)
            .unwrap_or_else(|| panic!("{name} has no # TYPE line"));
        if let Some((_, rest)) = line.split_once('{') {
            let inner = &rest[..rest.rfind('}').expect("labels close")];
            for c in label.captures_iter(inner) {
                labels.insert(c[1].to_string());
            }
        }
    }
    for (name, (_, labels)) in &families {
        assert!(
            name.starts_with("planguard_status_") || !labels.is_empty(),
            "{name} has no sample in the rendered report: fill in the report"
        );
    }
    families
}

/// The metrics and labels one PromQL expression names, read closely enough
/// for the few constructs contrib/ uses: selectors with their matchers,
/// grouping and matching clauses, range functions.
#[derive(Debug, Default)]
struct Names {
    /// Metric name and the labels its matchers name.
    selectors: Vec<(String, Vec<String>)>,
    /// Labels of by (…) and on (…): on every metric of the expression.
    everywhere: Vec<String>,
    /// Labels of without, ignoring, group_left and group_right: on some.
    somewhere: Vec<String>,
    /// Metrics taken a rate or an increase of.
    rated: Vec<String>,
}

fn names(expr: &str) -> Names {
    let strings = regex::Regex::new(r#""(?:[^"\\]|\\.)*""#).expect("regex");
    let ranges = regex::Regex::new(r"\[[^\]]*\]").expect("regex");
    let expr = strings.replace_all(expr, "\"\"");
    let expr = ranges.replace_all(&expr, "");
    let mut names = Names::default();
    let selector =
        regex::Regex::new(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{([^}]*)\})?").expect("regex");
    let clause =
        regex::Regex::new(r"\b(by|on|without|ignoring|group_left|group_right)\s*\(([^)]*)\)")
            .expect("regex");
    let rated =
        regex::Regex::new(r"\b(?:rate|irate|increase|delta)\s*\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)")
            .expect("regex");
    for c in clause.captures_iter(&expr) {
        let labels = c[2]
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string);
        match &c[1] {
            "by" | "on" => names.everywhere.extend(labels),
            _ => names.somewhere.extend(labels),
        }
    }
    let without_clauses = clause.replace_all(&expr, " ");
    for c in selector.captures_iter(&without_clauses) {
        let name = &c[1];
        if let Some(matchers) = c.get(3) {
            let labels = matchers
                .as_str()
                .split(',')
                .filter_map(|m| {
                    let m = m.trim();
                    (!m.is_empty()).then(|| {
                        m.split(['=', '!', '~'])
                            .next()
                            .unwrap_or(m)
                            .trim()
                            .to_string()
                    })
                })
                .collect();
            names.selectors.push((name.to_string(), labels));
        } else if name.starts_with("planguard_") {
            names.selectors.push((name.to_string(), Vec::new()));
        }
    }
    names.rated = rated
        .captures_iter(&expr)
        .map(|c| c[1].to_string())
        .collect();
    names
}

/// The labels `{{ $labels.x }}` (an alert's annotations) or `{{x}}` (a
/// panel's legend) of a template.
fn template_labels(text: &str) -> Vec<String> {
    let pattern =
        regex::Regex::new(r"\{\{-?\s*(?:\$labels\.)?([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:\|[^}]*)?-?\}\}")
            .expect("regex");
    regex::Regex::new(r"\{\{[^}]*\$value[^}]*\}\}")
        .expect("regex")
        .replace_all(text, "")
        .lines()
        .flat_map(|l| {
            pattern
                .captures_iter(l)
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether `expr`, with the labels its templates name, asks only for what
/// status exports; every fault, described.
fn faults(
    what: &str,
    expr: &str,
    templates: &[String],
    exported: &BTreeMap<String, (String, BTreeSet<String>)>,
) -> Vec<String> {
    let mut faults = Vec::new();
    let names = names(expr);
    let mut metrics = Vec::new();
    for (metric, labels) in &names.selectors {
        let Some((_, known)) = exported.get(metric) else {
            faults.push(format!(
                "{what}: {metric} is not a metric planguard status exports"
            ));
            continue;
        };
        metrics.push(known);
        for label in labels {
            if !known.contains(label) {
                faults.push(format!("{what}: {metric} has no label {label}"));
            }
        }
    }
    if metrics.is_empty() {
        faults.push(format!(
            "{what}: names no metric of planguard status: {expr}"
        ));
    }
    for label in &names.everywhere {
        if !metrics.iter().all(|known| known.contains(label)) {
            faults.push(format!(
                "{what}: groups or matches by {label}, which not every metric of it has"
            ));
        }
    }
    for label in names.somewhere.iter().chain(templates) {
        if !metrics.iter().any(|known| known.contains(label))
            && !SCRAPE_LABELS.contains(&label.as_str())
        {
            faults.push(format!(
                "{what}: names label {label}, which none of its metrics has"
            ));
        }
    }
    for metric in &names.rated {
        if let Some((kind, _)) = exported.get(metric)
            && kind != "counter"
        {
            faults.push(format!("{what}: takes the rate of {metric}, a {kind}"));
        }
    }
    faults
}

#[test]
fn the_expression_reader_finds_metrics_and_labels() {
    let names = names(
        r#"sum by (namespace) (increase(planguard_a_total{schedule_id=~"x,}y"}[1h])) > on() group_left(outcome) planguard_b"#,
    );
    assert_eq!(
        names.selectors,
        [
            (
                "planguard_a_total".to_string(),
                vec!["schedule_id".to_string()]
            ),
            ("planguard_b".to_string(), vec![])
        ]
    );
    assert_eq!(names.everywhere, ["namespace"]);
    assert_eq!(names.somewhere, ["outcome"]);
    assert_eq!(names.rated, ["planguard_a_total"]);
    assert_eq!(
        template_labels(
            "{{ $labels.schedule_id }} is {{ $value | humanizeDuration }} ({{task_queue}})"
        ),
        ["schedule_id", "task_queue"]
    );
    // A name status does not export, a label a metric lacks: both said.
    let exported = exported();
    let said = faults(
        "probe",
        r#"planguard_schedule_lags{namespace="a"} + on(task_queue) planguard_schedule_paused{queue="q"}"#,
        &["outcome".to_string()],
        &exported,
    );
    assert_eq!(
        said,
        [
            "probe: planguard_schedule_lags is not a metric planguard status exports",
            "probe: planguard_schedule_paused has no label queue",
            "probe: groups or matches by task_queue, which not every metric of it has",
            "probe: names label outcome, which none of its metrics has",
        ]
    );
}

#[test]
fn the_rules_name_only_metrics_and_labels_status_exports() {
    let exported = exported();
    let mut all = Vec::new();
    for rule in rules() {
        let alert = rule["alert"].as_str().expect("alert");
        let expr = rule["expr"].as_str().expect("expr");
        let templates: Vec<String> = rule["annotations"]
            .as_object()
            .expect("annotations")
            .values()
            .filter_map(Value::as_str)
            .flat_map(template_labels)
            .collect();
        all.extend(faults(alert, expr, &templates, &exported));
    }
    assert!(all.is_empty(), "{all:#?}");
}

fn dashboard() -> Value {
    serde_json::from_str(&common::read(DASHBOARD)).expect("the dashboard is valid JSON")
}

/// Panels, those of collapsed rows included.
fn panels(dashboard: &Value) -> Vec<Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        all.push(panel.clone());
        if let Some(inner) = panel["panels"].as_array() {
            all.extend(inner.iter().cloned());
        }
    }
    all
}

fn queries(dashboard: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut queries = Vec::new();
    for panel in panels(dashboard) {
        let title = panel["title"].as_str().unwrap_or_default().to_string();
        for target in panel["targets"].as_array().into_iter().flatten() {
            let legend = target["legendFormat"].as_str().unwrap_or_default();
            queries.push((
                format!("panel {title:?} {}", target["refId"]),
                target["expr"]
                    .as_str()
                    .expect("a target's expr")
                    .to_string(),
                template_labels(legend),
            ));
        }
    }
    // label_values(selector, label): a variable's choices.
    let label_values =
        regex::Regex::new(r"^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$").expect("regex");
    for variable in dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
    {
        let query = variable["query"]["query"]
            .as_str()
            .or(variable["query"].as_str())
            .expect("a variable's query");
        let c = label_values
            .captures(query)
            .unwrap_or_else(|| panic!("not label_values(…): {query}"));
        queries.push((
            format!("variable {}", variable["name"]),
            c[1].to_string(),
            vec![c[2].to_string()],
        ));
    }
    queries
}

#[test]
fn the_dashboard_names_only_metrics_and_labels_status_exports() {
    let exported = exported();
    let dashboard = dashboard();
    let mut all = Vec::new();
    let queries = queries(&dashboard);
    assert!(queries.len() > 10, "{queries:?}");
    for (what, expr, templates) in &queries {
        all.extend(faults(what, expr, templates, &exported));
    }
    assert!(all.is_empty(), "{all:#?}");
    // The outcomes panel tells success, success after retries and failure.
    let exprs: Vec<&str> = queries.iter().map(|(_, e, _)| e.as_str()).collect();
    for metric in [
        "planguard_schedule_recent_runs_retried",
        "planguard_schedule_recent_runs{",
        "planguard_schedule_lag_seconds",
        "planguard_schedule_paused",
        "planguard_schedule_last_run_outcome",
        "planguard_schedule_task_queue_pollers",
        "planguard_schedule_healthy",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(metric)),
            "no panel reads {metric}"
        );
    }
}

/// Every dashboard query is PromQL the real parser takes: each one checked
/// by promtool as a recording rule (the variables given a value).
#[test]
fn promtool_parses_every_dashboard_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, (_, expr, _)) in queries(&dashboard()).iter().enumerate() {
        let expr = expr.replace("$namespace", ".*").replace("$schedule", ".*");
        rules.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(&expr).expect("a JSON string is a YAML string")
        ));
    }
    std::fs::write(dir.path().join("queries.yml"), &rules).expect("write");
    let out = promtool(&["check", "rules", "queries.yml"], dir.path());
    assert_eq!(out.code, 0, "{}{}\n{rules}", out.stdout, out.stderr);
}

#[test]
fn the_dashboard_is_an_importable_grafana_dashboard() {
    let dashboard = dashboard();
    assert!(
        dashboard["schemaVersion"].as_i64().expect("schemaVersion") >= 39,
        "a current Grafana's schema"
    );
    let inputs = dashboard["__inputs"].as_array().expect("__inputs");
    assert!(
        inputs.iter().any(|i| i["name"] == "DS_PROMETHEUS"
            && i["type"] == "datasource"
            && i["pluginId"] == "prometheus"),
        "{inputs:?}"
    );
    let input = serde_json::json!({"type": "prometheus", "uid": "${DS_PROMETHEUS}"});
    let mut ids = BTreeSet::new();
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().unwrap_or_default();
        let id = panel["id"].as_i64().expect("a panel id");
        assert!(ids.insert(id), "panel id {id} twice ({title})");
        let targets = panel["targets"].as_array();
        if panel["type"] == "row" {
            assert!(targets.is_none_or(|t| t.is_empty()), "row {title} queries");
            continue;
        }
        assert_eq!(panel["datasource"], input, "panel {title}");
        let targets = targets.expect("a panel's targets");
        assert!(!targets.is_empty(), "panel {title} queries nothing");
        for target in targets {
            assert_eq!(target["datasource"], input, "panel {title}");
        }
    }
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
        .iter()
        .map(|v| {
            assert_eq!(v["datasource"], input, "{v}");
            v["name"].as_str().expect("name")
        })
        .collect();
    assert_eq!(variables, ["namespace", "schedule"]);
    // Every query is filtered by both variables, or by none (the run-wide
    // values of status itself).
    for (what, expr, _) in queries(&dashboard) {
        if what.starts_with("panel") && expr.contains("planguard_schedule_") {
            assert!(
                expr.contains("namespace=~\"$namespace\"")
                    && expr.contains("schedule_id=~\"$schedule\""),
                "{what}: {expr}"
            );
        }
    }
}
