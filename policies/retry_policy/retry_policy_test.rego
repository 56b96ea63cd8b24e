package planguard.rules.retry_policy_test

import data.planguard.rules.retry_policy
import rego.v1

environments := {
	"dev": {"require_bounded_retries": false},
	"prod": {"require_bounded_retries": true},
}

good := {"initial_interval": "30s", "backoff_coefficient": 2.0, "maximum_interval": "10m", "maximum_attempts": 5}

# The findings for a plan of `env` with `retry` as its retry policy.
findings(retry, env) := result if {
	result := retry_policy.deny with input as {"retry_policy": retry}
		with data.planguard.file as {"kind": "plan", "environment": env}
		with data.planguard.environments as environments
}

# Exactly one finding, at `location`.
denied_at(retry, env, location) if {
	fs := findings(retry, env)
	count(fs) == 1
	some f in fs
	f.rule == "PG116"
	f.location == location
}

test_good_policy_passes_in_prod if {
	count(findings(good, "prod")) == 0
}

test_initial_interval_above_the_maximum_is_denied if {
	denied_at(object.union(good, {"initial_interval": "20m"}), "dev", ["retry_policy", "initial_interval"])
}

test_initial_interval_equal_to_the_maximum_passes if {
	count(findings(object.union(good, {"initial_interval": "10m"}), "dev")) == 0
}

test_zero_or_invalid_maximum_interval_is_not_compared if {
	count(findings(object.union(good, {"maximum_interval": "0s"}), "dev")) == 0
	count(findings(object.union(good, {"maximum_interval": "ten minutes"}), "dev")) == 0
	count(findings(object.union(good, {"maximum_interval": 600}), "dev")) == 0
}

test_config_retry_policy_is_checked if {
	fs := retry_policy.deny with input as {"runtime": {"orchestration": {"temporal": {"retry_policy": object.union(good, {"initial_interval": "1h"})}}}}
		with data.planguard.file as {"kind": "config", "environment": "dev"}
		with data.planguard.environments as environments
	count(fs) == 1
	some f in fs
	f.location == ["runtime", "orchestration", "temporal", "retry_policy", "initial_interval"]
}

test_zero_attempts_in_prod_is_denied if {
	denied_at(object.union(good, {"maximum_attempts": 0}), "prod", ["retry_policy", "maximum_attempts"])
}

test_unset_attempts_in_prod_is_denied_at_the_policy if {
	denied_at(object.remove(good, ["maximum_attempts"]), "prod", ["retry_policy"])
}

test_unbounded_retries_are_allowed_in_dev if {
	count(findings(object.union(good, {"maximum_attempts": 0}), "dev")) == 0
	count(findings(object.remove(good, ["maximum_attempts"]), "dev")) == 0
}

test_more_than_100_attempts_is_denied_everywhere if {
	denied_at(object.union(good, {"maximum_attempts": 500}), "dev", ["retry_policy", "maximum_attempts"])
	denied_at(object.union(good, {"maximum_attempts": 101}), "prod", ["retry_policy", "maximum_attempts"])
}

test_100_attempts_passes if {
	count(findings(object.union(good, {"maximum_attempts": 100}), "prod")) == 0
}

test_missing_retry_policy_passes_in_prod if {
	count(retry_policy.deny) == 0 with input as {"namespace": "ingestion-prod"}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
}
