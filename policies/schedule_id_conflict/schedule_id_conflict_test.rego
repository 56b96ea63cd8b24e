package planguard.project.schedule_id_conflict_test

import data.planguard.project.schedule_id_conflict
import rego.v1

plan(path, workspace, namespace, id, pipeline) := {
	"kind": "plan", "path": path, "workspace": workspace, "environment": "prod", "build": "1",
	"contents": {"namespace": namespace, "schedule_id": id, "input": {"pipeline": pipeline}},
}

orders := plan("orchestration_plans/prod/42.json", "", "ingestion-prod", "customer-orders", "customer-orders")

refunds := plan("refunds/orchestration_plans/prod/7.json", "refunds", "ingestion-prod", "customer-orders", "customer-refunds")

test_two_pipelines_with_one_schedule_id_are_denied_in_both_files if {
	findings := schedule_id_conflict.deny with input as [orders, refunds]
	count(findings) == 2
	{f.file | some f in findings} == {orders.path, refunds.path}
	every f in findings {
		f.rule == "PG205"
		f.location == ["schedule_id"]
	}
}

test_finding_names_the_other_pipeline if {
	findings := schedule_id_conflict.deny with input as [orders, refunds]
	some f in findings
	f.file == orders.path
	contains(f.msg, "customer-refunds")
	f.related[0].file == refunds.path
}

test_builds_of_one_pipeline_may_share_an_id if {
	next := plan("orchestration_plans/prod/43.json", "", "ingestion-prod", "customer-orders", "customer-orders")
	count(schedule_id_conflict.deny) == 0 with input as [orders, next]
}

test_different_ids_pass if {
	own := plan(refunds.path, "refunds", "ingestion-prod", "customer-refunds", "customer-refunds")
	count(schedule_id_conflict.deny) == 0 with input as [orders, own]
}

test_other_namespaces_pass if {
	uat := plan("refunds/orchestration_plans/uat/7.json", "refunds", "ingestion-uat", "customer-orders", "customer-refunds")
	count(schedule_id_conflict.deny) == 0 with input as [orders, uat]
}

test_pipeline_defaults_to_the_workspace if {
	one := unnamed("orders/orchestration_plans/prod/42.json", "orders")
	two := unnamed("refunds/orchestration_plans/prod/7.json", "refunds")
	count(schedule_id_conflict.deny) == 2 with input as [one, two]
	same := unnamed("orders/orchestration_plans/prod/43.json", "orders")
	count(schedule_id_conflict.deny) == 0 with input as [one, same]
}

# A plan that does not name its pipeline.
unnamed(path, workspace) := {
	"kind": "plan", "path": path, "workspace": workspace, "environment": "prod", "build": "1",
	"contents": {"namespace": "ingestion-prod", "schedule_id": "customer-orders"},
}
