package main_test

import data.main
import rego.v1

plan := {"kind": "plan", "environment": "dev"}

test_a_plan_without_jitter_is_denied if {
	count(main.deny) == 1 with input as {"schedule": {"cron": ["0 2 * * *"]}}
		with data.planguard.file as plan
}

test_a_plan_with_jitter_passes if {
	count(main.deny) == 0 with input as {"schedule": {"cron": ["0 2 * * *"], "jitter": "5m"}}
		with data.planguard.file as plan
}

test_configs_are_not_concerned if {
	count(main.deny) == 0 with input as {"schedule": {}}
		with data.planguard.file as {"kind": "config", "environment": "dev"}
}
