package planguard.rules.unknown_environment_test

import data.planguard.rules.unknown_environment
import rego.v1

test_staging_is_unknown_by_default if {
	count(unknown_environment.deny) == 1 with input as {"environment": "staging"}
		with data.planguard.file as {"kind": "plan", "environment": "staging"}
		with data.planguard.environments as {"dev": {}, "uat": {}, "prod": {}}
}

test_known_environment_passes if {
	count(unknown_environment.deny) == 0 with input as {}
		with data.planguard.file as {"kind": "plan", "environment": "uat"}
		with data.planguard.environments as {"dev": {}, "uat": {}, "prod": {}}
}
