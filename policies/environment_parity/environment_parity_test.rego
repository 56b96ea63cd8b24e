package planguard.project.environment_parity_test

import data.planguard.project.environment_parity
import rego.v1

temporal := ["runtime", "orchestration", "temporal"]

surface(env) := {
	"namespace": sprintf("ingestion-%v", [env]),
	"task_queue": sprintf("spark-ingest-%v", [env]),
	"workflow_type": "SparkIngestionWorkflow",
	"schedule": {"id": "customer-orders", "cron": ["0 2 * * *", "0 14 * * *"], "jitter": "5m"},
	"retry_policy": {"initial_interval": "30s", "maximum_interval": "10m", "maximum_attempts": 5},
	"auth": {"mode": "mtls", "client_cert_ref": sprintf("vault://vault.%v/kv/temporal#cert", [env])},
}

config(env, changes) := {
	"kind": "config", "path": sprintf("conf/%v.json", [env]), "workspace": "", "environment": env, "build": "",
	"contents": {"runtime": {"orchestration": {"temporal": object.union(surface(env), changes)}}},
}

files(findings) := {f.file | some f in findings}

test_identical_surfaces_pass if {
	count(environment_parity.deny) == 0 with input as [config("dev", {}), config("uat", {}), config("prod", {})]
}

test_differing_value_is_reported_in_both_files if {
	findings := environment_parity.deny with input as [config("dev", {}), config("prod", {"schedule": {"jitter": "10m"}})]
	count(findings) == 2
	files(findings) == {"conf/dev.json", "conf/prod.json"}
	every f in findings {
		f.rule == "PG203"
		f.location == array.concat(temporal, ["schedule", "jitter"])
	}
}

test_one_finding_per_other_environment if {
	findings := environment_parity.deny with input as [config("dev", {}), config("uat", {}), config("prod", {"schedule": {"jitter": "10m"}})]
	count(findings) == 4
	count({f | some f in findings; f.file == "conf/prod.json"}) == 2
}

test_finding_points_at_the_other_file if {
	findings := environment_parity.deny with input as [config("dev", {}), config("prod", {"workflow_type": "OtherWorkflow"})]
	some f in findings
	f.file == "conf/prod.json"
	f.related[0].file == "conf/dev.json"
	f.related[0].location == array.concat(temporal, ["workflow_type"])
}

test_setting_missing_elsewhere_is_reported_in_both_files if {
	findings := environment_parity.deny with input as [config("dev", {}), config("prod", {"schedule": {"catchup_window": "1h"}})]
	count(findings) == 2
	files(findings) == {"conf/dev.json", "conf/prod.json"}
	every f in findings {
		f.location == array.concat(temporal, ["schedule", "catchup_window"])
	}
}

test_arrays_are_compared_whole if {
	findings := environment_parity.deny with input as [config("dev", {}), config("prod", {"schedule": {"cron": ["0 2 * * *"]}})]
	{f.location | some f in findings} == {array.concat(temporal, ["schedule", "cron"])}
}

test_namespace_task_queue_and_credentials_may_differ if {
	prod := config("prod", {
		"auth": {"mode": "oidc", "oidc": {"issuer": "https://login.salam.internal", "client_id": "worker"}},
		"memo": {"runbook_ref": "vault://vault.prod/kv/runbook"},
	})
	dev := config("dev", {
		"auth": {"mode": "none"},
		"memo": {"runbook_ref": "vault://vault.dev/kv/runbook"},
	})
	count(environment_parity.deny) == 0 with input as [dev, prod]
}

test_team_extensions_may_differ if {
	count(environment_parity.deny) == 0 with input as [config("dev", {"x-team": "dev-notes"}), config("prod", {})]
}

test_other_workspaces_are_not_compared if {
	refunds := object.union(config("prod", {"schedule": {"jitter": "10m"}}), {"workspace": "refunds", "path": "refunds/conf/prod.json"})
	count(environment_parity.deny) == 0 with input as [config("dev", {}), refunds]
}

test_plans_are_not_compared if {
	plan := {"kind": "plan", "path": "orchestration_plans/prod/1.json", "workspace": "", "environment": "prod", "build": "1", "contents": {"runtime": {"orchestration": {"temporal": {"workflow_type": "Other"}}}}}
	count(environment_parity.deny) == 0 with input as [config("dev", {}), config("prod", {}), plan]
}

test_nested_team_extensions_may_differ if {
	dev := config("dev", {"schedule": {"id": "customer-orders", "cron": ["0 2 * * *", "0 14 * * *"], "jitter": "5m", "x-notes": {"owner": "dev"}}})
	count(environment_parity.deny) == 0 with input as [dev, config("prod", {})]
}

# A surface that is not an object (a schema error) has no settings: each
# setting of the other environment is missing there, and nothing fails.
test_a_surface_that_is_not_an_object_has_no_settings if {
	broken := object.union(config("dev", {}), {"contents": {"runtime": {"orchestration": {"temporal": "none"}}}})
	findings := environment_parity.deny with input as [broken, config("prod", {})]
	count(findings) > 0
	files(findings) == {"conf/dev.json", "conf/prod.json"}
	{f.msg | some f in findings; f.file == "conf/dev.json"; not contains(f.msg, "is set in prod but not here")} == set()
	{f.msg | some f in findings; f.file == "conf/prod.json"; not contains(f.msg, "is not set in dev")} == set()
}
