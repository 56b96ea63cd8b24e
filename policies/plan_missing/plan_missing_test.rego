package planguard.project.plan_missing_test

import data.planguard.project.plan_missing
import rego.v1

config(env) := {"kind": "config", "path": sprintf("conf/%s.json", [env]), "workspace": "", "environment": env, "contents": {}}

plan(env, build) := {
	"kind": "plan", "path": sprintf("orchestration_plans/%s/%s.json", [env, build]),
	"workspace": "", "environment": env, "build": build, "contents": {},
}

test_a_config_without_plans_is_reported_on_the_config if {
	findings := plan_missing.warn with input as [config("dev"), config("prod"), plan("dev", "1")]
	count(findings) == 1
	some f in findings
	f.file == "conf/prod.json"
	f.location == []
}

test_one_plan_is_enough if {
	count(plan_missing.warn) == 0 with input as [config("prod"), plan("prod", "7")]
}

test_a_plan_of_another_workspace_does_not_count if {
	other := object.union(plan("prod", "7"), {"workspace": "elsewhere"})
	count(plan_missing.warn) == 1 with input as [config("prod"), other]
}

test_a_config_without_environment_is_left_to_other_rules if {
	count(plan_missing.warn) == 0 with input as [object.union(config("prod"), {"environment": null})]
}
