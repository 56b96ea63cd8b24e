package planguard.rules.plan_store_layout_test

import data.planguard.rules.plan_store_layout
import rego.v1

test_plan_in_the_wrong_folder_is_denied if {
	count(plan_store_layout.deny) == 2 with input as {"environment": "dev", "build": "41"}
		with data.planguard.file as {"kind": "plan", "environment": "prod", "build": "42"}
}

test_plan_in_its_folder_passes if {
	count(plan_store_layout.deny) == 0 with input as {"environment": "prod", "build": "42"}
		with data.planguard.file as {"kind": "plan", "environment": "prod", "build": "42"}
}

test_config_named_after_another_environment_is_denied if {
	findings := plan_store_layout.deny with input as {"environment": "uat"}
		with data.planguard.file as {"kind": "config", "path": "conf/prod.json", "environment": "prod"}
	count(findings) == 1
	some f in findings
	f.location == ["environment"]
	contains(f.msg, "declares environment \"uat\"")
}

test_config_named_after_its_environment_passes if {
	count(plan_store_layout.deny) == 0 with input as {"environment": "prod"}
		with data.planguard.file as {"kind": "config", "path": "conf/prod.json", "environment": "prod"}
}

test_the_workflow_input_of_another_environment_is_denied if {
	findings := plan_store_layout.deny with input as {"environment": "prod", "build": "42", "input": {"environment": "dev"}}
		with data.planguard.file as {"kind": "plan", "environment": "prod", "build": "42"}
	[f.location | some f in findings] == [["input", "environment"]]
}
