package planguard.rules.timeout_order_test

import data.planguard.rules.timeout_order
import rego.v1

# The findings for a plan with `timeouts`.
findings(timeouts) := result if {
	result := timeout_order.deny with input as {"timeouts": timeouts}
		with data.planguard.file as {"kind": "plan", "environment": "dev"}
}

test_run_longer_than_the_execution_is_denied if {
	fs := findings({"execution": "6h", "run": "8h", "task": "10s"})
	count(fs) == 1
	some f in fs
	f.rule == "PG117"
	f.location == ["timeouts", "run"]
}

test_task_longer_than_the_run_is_denied if {
	fs := timeout_order.deny with input as {"runtime": {"orchestration": {"temporal": {"timeouts": {"execution": "6h", "run": "2m", "task": "10m"}}}}}
		with data.planguard.file as {"kind": "config", "environment": "dev"}
	count(fs) == 1
	some f in fs
	f.rule == "PG117"
	f.location == ["runtime", "orchestration", "temporal", "timeouts", "task"]
}

test_both_pairs_are_reported if {
	fs := findings({"execution": "1h", "run": "2h", "task": "3h"})
	{f.location | some f in fs} == {["timeouts", "run"], ["timeouts", "task"]}
}

test_nested_timeouts_pass if {
	count(findings({"execution": "6h", "run": "2h", "task": "10s"})) == 0
}

test_equal_timeouts_pass if {
	count(findings({"execution": "2h", "run": "2h", "task": "2h"})) == 0
}

test_zero_outer_timeout_is_unlimited if {
	count(findings({"execution": "0s", "run": "8h"})) == 0
}

test_missing_or_invalid_timeouts_are_not_compared if {
	count(findings({"run": "8h", "task": "10s"})) == 0
	count(findings({"execution": "six hours", "run": "8h"})) == 0
	count(findings({"execution": "6h", "run": 28800})) == 0
}
