//! `check --profile`: where a check's time went, per rule and per stage
//! (reading and parsing, the schema, each Rego rule, the cross-file rules),
//! like `opa eval --profile`. Times are summed over threads, so shares are
//! of the work done, not of the wall clock.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What one run measured, filled from every thread.
#[derive(Debug, Default)]
pub struct Profile {
    entries: Mutex<BTreeMap<String, (u64, Duration)>>,
}

pub use crate::diagnostic::ProfileRow as Row;

impl Profile {
    /// Time `work` under `name`.
    pub fn time<T>(&self, name: &str, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let value = work();
        self.record(name, started.elapsed());
        value
    }

    pub fn record(&self, name: &str, took: Duration) {
        if let Ok(mut entries) = self.entries.lock() {
            let entry = entries.entry(name.to_string()).or_default();
            entry.0 += 1;
            entry.1 += took;
        }
    }

    /// Rows, the most time first; each package with several rules also as a
    /// whole.
    pub fn rows(&self) -> Vec<Row> {
        let Ok(entries) = self.entries.lock() else {
            return Vec::new();
        };
        let whole: Duration = entries.values().map(|(_, total)| *total).sum();
        let mut packages: BTreeMap<String, (u64, Duration, usize)> = BTreeMap::new();
        for (name, (count, total)) in entries.iter() {
            if let Some((package, _)) = name.strip_prefix("data.").and_then(|n| n.rsplit_once('.'))
            {
                let entry = packages.entry(format!("data.{package}")).or_default();
                entry.0 = entry.0.max(*count);
                entry.1 += *total;
                entry.2 += 1;
            }
        }
        let row = |name: &str, count: u64, total: Duration| Row {
            name: name.to_string(),
            count,
            total_ms: total.as_secs_f64() * 1e3,
            mean_ms: if count == 0 {
                0.0
            } else {
                total.as_secs_f64() * 1e3 / count as f64
            },
            share: if whole.is_zero() {
                0.0
            } else {
                total.as_secs_f64() / whole.as_secs_f64()
            },
        };
        let mut rows: Vec<Row> = entries
            .iter()
            .map(|(name, (count, total))| row(name, *count, *total))
            .chain(
                packages
                    .iter()
                    .filter(|(_, (_, _, rules))| *rules > 1)
                    .map(|(name, (count, total, _))| row(name, *count, *total)),
            )
            .collect();
        rows.sort_by(|a, b| {
            b.total_ms
                .total_cmp(&a.total_ms)
                .then_with(|| a.name.cmp(&b.name))
        });
        rows
    }
}

/// The rows as a table for people.
pub fn table(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "{:<width$}  {:>8}  {:>11}  {:>10}  {:>6}\n",
        "name", "count", "total (ms)", "mean (ms)", "share"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<width$}  {:>8}  {:>11.1}  {:>10.3}  {:>5.1}%\n",
            r.name,
            r.count,
            r.total_ms,
            r.mean_ms,
            r.share * 100.0
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sum_per_rule_and_per_package_and_share_the_whole() {
        let profile = Profile::default();
        profile.record("data.main.deny", Duration::from_millis(30));
        profile.record("data.main.deny", Duration::from_millis(30));
        profile.record("data.main.warn", Duration::from_millis(20));
        profile.record("schema", Duration::from_millis(20));
        let rows = profile.rows();
        let named: Vec<(&str, u64, f64)> = rows
            .iter()
            .map(|r| (r.name.as_str(), r.count, (r.share * 100.0).round()))
            .collect();
        assert_eq!(
            named,
            [
                ("data.main", 2, 80.0),
                ("data.main.deny", 2, 60.0),
                ("data.main.warn", 1, 20.0),
                ("schema", 1, 20.0),
            ]
        );
        assert!((rows[1].mean_ms - 30.0).abs() < 1e-9);
        assert!(
            table(&rows)
                .lines()
                .nth(1)
                .expect("a row")
                .starts_with("data.main ")
        );
    }
}
