package planguard.project.plan_orphaned_test

import data.planguard.project.plan_orphaned
import rego.v1

environments := {"dev": {}, "qa": {}}

config(env) := {"kind": "config", "path": sprintf("conf/%s.json", [env]), "workspace": "", "environment": env, "contents": {}}

plan(env, build) := {
	"kind": "plan", "path": sprintf("orchestration_plans/%s/%s.json", [env, build]),
	"workspace": "", "environment": env, "build": build, "contents": {},
}

test_orphans_are_reported_once_on_the_newest_plan if {
	findings := plan_orphaned.deny with data.planguard.environments as environments with input as [config("dev"), plan("qa", "9"), plan("qa", "10"), plan("dev", "1")]
	count(findings) == 1
	some f in findings
	f.file == "orchestration_plans/qa/10.json"
	contains(f.msg, "2 plans of environment qa")
}

test_one_orphan_is_a_plan if {
	some f in plan_orphaned.deny with data.planguard.environments as environments with input as [plan("qa", "3")]
	contains(f.msg, "a plan of environment qa")
}

test_without_numeric_builds_the_last_file_is_reported if {
	findings := plan_orphaned.deny with data.planguard.environments as environments with input as [plan("qa", "alpha"), plan("qa", "beta")]
	[f.file | some f in findings] == ["orchestration_plans/qa/beta.json"]
}

test_plans_with_their_config_pass if {
	count(plan_orphaned.deny) == 0 with data.planguard.environments as environments with input as [config("qa"), plan("qa", "3")]
}

test_the_config_must_be_in_the_same_workspace if {
	other := object.union(config("qa"), {"workspace": "elsewhere"})
	count(plan_orphaned.deny) == 1 with data.planguard.environments as environments with input as [other, plan("qa", "3")]
}

test_an_unknown_environment_is_left_to_pg104 if {
	count(plan_orphaned.deny) == 0 with data.planguard.environments as {"dev": {}} with input as [plan("qa", "3")]
}
