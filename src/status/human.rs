//! The status table: one line per schedule, health first (coloured on a
//! terminal), then why each unhealthy one is, then a summary line.

use chrono::{DateTime, Utc};

use super::{Run, ScheduleStatus, StatusReport, Workers, compact, span};

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[1;31m";
const RESET: &str = "\x1b[0m";

fn relative(when: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if when >= now {
        format!("in {}", compact(span(now, when)))
    } else {
        format!("{} ago", compact(span(when, now)))
    }
}

fn last_run(r: &Run, now: DateTime<Utc>) -> String {
    let mut text = format!("{} {}", r.outcome.as_str(), relative(r.started, now));
    if let Some(attempt) = r.attempt {
        text.push_str(&format!(" (attempt {attempt})"));
    }
    text
}

/// The recent runs counted by outcome, in the order they first appear
/// (newest first): `completed 3, failed 1`.
fn recent(history: &[Run]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for run in history {
        let outcome = run.outcome.as_str();
        match counts.iter_mut().find(|(o, _)| *o == outcome) {
            Some((_, n)) => *n += 1,
            None => counts.push((outcome, 1)),
        }
    }
    if counts.is_empty() {
        return "-".to_string();
    }
    counts
        .iter()
        .map(|(o, n)| format!("{o} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn workers(s: &ScheduleStatus, now: DateTime<Utc>) -> String {
    match &s.workers {
        None => "-".to_string(),
        Some(Workers::Polled { pollers: 0, .. }) => "none".to_string(),
        Some(Workers::Polled { pollers, last_poll }) => match last_poll {
            Some(t) => format!("{pollers}, polled {}", relative(*t, now)),
            None => pollers.to_string(),
        },
        Some(Workers::Unknown(_)) => "unknown".to_string(),
    }
}

fn row(s: &ScheduleStatus, now: DateTime<Utc>) -> Vec<String> {
    let dash = || "-".to_string();
    if !s.deployed {
        return vec![
            "FAIL".into(),
            s.schedule_id.clone(),
            s.namespace.clone(),
            s.environment.clone().unwrap_or_else(dash),
            "not deployed".into(),
        ];
    }
    vec![
        if s.healthy() { "ok" } else { "FAIL" }.to_string(),
        s.schedule_id.clone(),
        s.namespace.clone(),
        s.environment.clone().unwrap_or_else(dash),
        s.build.clone().unwrap_or_else(dash),
        if s.paused { "yes" } else { "no" }.to_string(),
        s.next_run.map_or_else(dash, |t| relative(t, now)),
        s.last_run
            .as_ref()
            .map_or_else(|| "never".to_string(), |r| last_run(r, now)),
        recent(&s.history),
        workers(s, now),
        compact(s.lag),
        s.missed_catchup_windows.to_string(),
        s.running_workflows.to_string(),
    ]
}

pub fn render(report: &StatusReport, color: bool) -> Vec<u8> {
    let header: Vec<String> = [
        "HEALTH",
        "SCHEDULE",
        "NAMESPACE",
        "ENV",
        "BUILD",
        "PAUSED",
        "NEXT RUN",
        "LAST RUN",
        "RECENT",
        "WORKERS",
        "LAG",
        "MISSED",
        "RUNNING",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let rows: Vec<Vec<String>> = report
        .schedules
        .iter()
        .map(|s| row(s, report.time))
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: &[String], paint: Option<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let last = i + 1 == cells.len();
            let padded = if last {
                cell.clone()
            } else {
                format!("{cell:<width$}  ", width = widths[i])
            };
            match (i, paint) {
                (0, Some(colour)) => {
                    text.push_str(colour);
                    text.push_str(cell);
                    text.push_str(RESET);
                    text.push_str(&padded[cell.len()..]);
                }
                _ => text.push_str(&padded),
            }
        }
        text.push('\n');
        text
    };
    let mut out = String::new();
    if report.schedules.is_empty() {
        out.push_str("no schedules\n");
        return out.into_bytes();
    }
    out.push_str(&line(&header, None));
    for (status, cells) in report.schedules.iter().zip(&rows) {
        let paint = color.then_some(if status.healthy() { GREEN } else { RED });
        out.push_str(&line(cells, paint));
    }
    let unhealthy: Vec<&ScheduleStatus> =
        report.schedules.iter().filter(|s| !s.healthy()).collect();
    if !unhealthy.is_empty() {
        out.push('\n');
        for status in &unhealthy {
            for problem in &status.problems {
                out.push_str(&format!(
                    "{} ({}): {}\n",
                    status.schedule_id,
                    status.namespace,
                    problem.message()
                ));
            }
        }
    }
    let notes: Vec<String> = report
        .schedules
        .iter()
        .filter_map(|s| {
            let note = s.workers_note()?;
            Some(format!("{} ({}): {note}\n", s.schedule_id, s.namespace))
        })
        .collect();
    if !notes.is_empty() {
        out.push('\n');
        out.extend(notes);
    }
    out.push_str(&format!(
        "\n{}: {} healthy, {} unhealthy\n",
        crate::diagnostic::plural(report.schedules.len(), "schedule"),
        report.schedules.len() - unhealthy.len(),
        unhealthy.len()
    ));
    out.into_bytes()
}
