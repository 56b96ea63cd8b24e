package planguard.project.plan_config_mismatch_test

import data.planguard.project.plan_config_mismatch
import rego.v1

config := {
	"kind": "config", "path": "conf/prod.json", "workspace": "", "environment": "prod",
	"contents": {"runtime": {"orchestration": {"temporal": {"namespace": "ingestion-prod", "task_queue": "spark-ingest-prod"}}}},
}

plan(build, queue) := {
	"kind": "plan", "path": sprintf("orchestration_plans/prod/%s.json", [build]), "workspace": "", "environment": "prod", "build": build,
	"contents": {"namespace": "ingestion-prod", "task_queue": queue},
}

test_stale_task_queue_is_denied if {
	findings := plan_config_mismatch.deny with input as [config, plan("1", "spark-ingest-old")]
	count(findings) == 1
	some f in findings
	f.location == ["task_queue"]
}

test_agreeing_plan_passes if {
	count(plan_config_mismatch.deny) == 0 with input as [config, plan("1", "spark-ingest-prod")]
}

test_only_the_newest_plan_is_compared if {
	count(plan_config_mismatch.deny) == 0 with input as [config, plan("1", "spark-ingest-old"), plan("2", "spark-ingest-prod")]
}

test_other_workspaces_are_not_compared if {
	other := object.union(config, {"workspace": "elsewhere"})
	count(plan_config_mismatch.deny) == 0 with input as [other, plan("1", "spark-ingest-old")]
}
