//! `apply --format markdown`: what an apply did or would do, for a pull
//! request or the job summary: the schedule, the plan, and field by field
//! what changes (src/apply/deploy.rs decides the rows; this only writes them).

/// One field of the schedule: what is deployed (empty for a create) and
/// what the plan says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub field: String,
    pub deployed: String,
    pub planned: String,
}

/// What the apply does to the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    UpToDate,
    /// Creates it, with these fields.
    Create(Vec<Row>),
    /// Changes these fields.
    Update(Vec<Row>),
}

/// An apply's preview, in plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub action: String,
    pub dry_run: bool,
    pub environment: String,
    pub schedule_id: String,
    pub namespace: String,
    /// The plan file, as displayed.
    pub plan: String,
    pub build: String,
    pub plan_sha256: String,
    pub change: Change,
}

pub fn render(preview: &Preview) -> String {
    let Preview {
        action,
        dry_run,
        environment,
        schedule_id,
        namespace,
        plan,
        build,
        plan_sha256,
        change,
    } = preview;
    let flag = if *dry_run { " --dry-run" } else { "" };
    let mut text = format!(
        "### planguard {action}{flag}: {environment}\n\nSchedule `{schedule_id}` in `{namespace}`, from `{plan}` (build {build}, sha256 `{}`).\n\n",
        plan_sha256.get(..12).unwrap_or(plan_sha256),
    );
    let table = |text: &mut String, rows: &[Row], deployed: bool| {
        if deployed {
            text.push_str("| Field | Deployed | Plan |\n|---|---|---|\n");
        } else {
            text.push_str("| Field | Plan |\n|---|---|\n");
        }
        for row in rows {
            if deployed {
                text.push_str(&format!(
                    "| {} | {} | {} |\n",
                    row.field,
                    super::markdown::cell(&row.deployed),
                    super::markdown::cell(&row.planned)
                ));
            } else {
                text.push_str(&format!(
                    "| {} | {} |\n",
                    row.field,
                    super::markdown::cell(&row.planned)
                ));
            }
        }
    };
    match change {
        Change::UpToDate => text.push_str("✅ **Up to date**: nothing would change.\n"),
        Change::Create(rows) => {
            text.push_str(if *dry_run {
                "🆕 **Would create** the schedule:\n\n"
            } else {
                "🆕 **Created** the schedule (verified):\n\n"
            });
            table(&mut text, rows, false);
        }
        Change::Update(rows) => {
            text.push_str(&format!(
                "✏️ **{}** {}:\n\n",
                if *dry_run { "Would update" } else { "Updated" },
                crate::diagnostic::plural(rows.len(), "field")
            ));
            table(&mut text, rows, true);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preview(change: Change, dry_run: bool) -> Preview {
        Preview {
            action: "apply".into(),
            dry_run,
            environment: "dev".into(),
            schedule_id: "ingest-dev".into(),
            namespace: "ingestion-dev".into(),
            plan: "orchestration_plans/dev/12.json".into(),
            build: "12".into(),
            plan_sha256: "0123456789abcdef0123".into(),
            change,
        }
    }

    #[test]
    fn an_update_is_a_table_of_deployed_and_planned_values() {
        let text = render(&preview(
            Change::Update(vec![Row {
                field: "jitter".into(),
                deployed: "1m".into(),
                planned: "5m|x".into(),
            }]),
            true,
        ));
        assert!(
            text.starts_with("### planguard apply --dry-run: dev\n"),
            "{text}"
        );
        assert!(text.contains("sha256 `0123456789ab`"), "{text}");
        assert!(text.contains("✏️ **Would update** 1 field:"), "{text}");
        assert!(text.contains("| jitter | 1m | 5m\\|x |"), "{text}");
    }

    #[test]
    fn a_create_shows_only_the_plan() {
        let text = render(&preview(
            Change::Create(vec![Row {
                field: "cron".into(),
                deployed: String::new(),
                planned: "0 2 * * *".into(),
            }]),
            false,
        ));
        assert!(
            text.contains("🆕 **Created** the schedule (verified):"),
            "{text}"
        );
        assert!(
            text.contains("| Field | Plan |\n|---|---|\n| cron | 0 2 * * * |\n"),
            "{text}"
        );
        let same = render(&preview(Change::UpToDate, true));
        assert!(
            same.ends_with("✅ **Up to date**: nothing would change.\n"),
            "{same}"
        );
    }
}
