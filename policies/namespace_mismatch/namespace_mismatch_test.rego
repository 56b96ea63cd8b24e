package planguard.rules.namespace_mismatch_test

import data.planguard.rules.namespace_mismatch
import rego.v1

environments := {"prod": {"namespace": "ingestion-prod"}}

test_plan_in_another_namespace_is_denied if {
	findings := namespace_mismatch.deny with input as {"namespace": "ingestion-dev"}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
	some f in findings
	f.rule == "PG101"
	f.location == ["namespace"]
}

test_config_in_its_namespace_passes if {
	count(namespace_mismatch.deny) == 0 with input as {"runtime": {"orchestration": {"temporal": {"namespace": "ingestion-prod"}}}}
		with data.planguard.file as {"kind": "config", "environment": "prod"}
		with data.planguard.environments as environments
}
