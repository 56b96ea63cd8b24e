package planguard.rules.schedule_invalid_test

import data.planguard.rules.schedule_invalid
import rego.v1

schedule := {"cron": ["0 2 * * *", "0 14 * * *"], "timezone": "Asia/Riyadh", "jitter": "5m"}

plan(changes) := object.union({"schedule": schedule, "policies": {"catchup_window": "1h", "overlap": "skip"}}, changes)

# The findings for `doc` checked as a dev plan.
findings(doc) := result if {
	result := schedule_invalid.deny with input as doc
		with data.planguard.file as {"kind": "plan", "environment": "dev"}
}

# Exactly one finding, at `location`.
denied_at(doc, location) if {
	fs := findings(doc)
	count(fs) == 1
	some f in fs
	f.rule == "PG115"
	f.location == location
}

test_valid_schedule_passes if {
	count(findings(plan({}))) == 0
}

test_valid_intervals_pass if {
	count(findings(plan({"schedule": {"intervals": [{"every": "1h", "offset": "5m"}], "jitter": "5m"}}))) == 0
}

test_invalid_cron_is_denied if {
	denied_at(plan({"schedule": {"cron": ["0 2 * * *", "61 * * * *"]}}), ["schedule", "cron", 1])
}

test_invalid_cron_message_says_why if {
	some f in findings(plan({"schedule": {"cron": ["0 25 * * *"]}}))
	contains(f.msg, "hour")
}

test_invalid_cron_in_a_config_is_denied if {
	fs := schedule_invalid.deny with input as {"runtime": {"orchestration": {"temporal": {"schedule": {"cron": ["every day"]}}}}}
		with data.planguard.file as {"kind": "config", "environment": "dev"}
	some f in fs
	f.location == ["runtime", "orchestration", "temporal", "schedule", "cron", 0]
}

test_unknown_time_zone_is_denied if {
	denied_at(plan({"schedule": {"cron": ["0 2 * * *"], "timezone": "Mars/Olympus"}}), ["schedule", "timezone"])
	denied_at(plan({"schedule": {"cron": ["0 2 * * *"], "timezone": "Local"}}), ["schedule", "timezone"])
}

test_jitter_that_is_not_a_duration_is_denied if {
	denied_at(plan({"schedule": {"cron": ["0 2 * * *"], "jitter": "1d"}}), ["schedule", "jitter"])
}

test_interval_that_is_not_a_duration_is_denied if {
	denied_at(plan({"schedule": {"intervals": [{"every": "ten minutes"}]}}), ["schedule", "intervals", 0, "every"])
	denied_at(plan({"schedule": {"intervals": [{"every": "1h", "offset": "5 min"}]}}), ["schedule", "intervals", 0, "offset"])
}

test_catchup_window_that_is_not_a_duration_is_denied if {
	denied_at(plan({"policies": {"catchup_window": "soon"}}), ["policies", "catchup_window"])
}

test_zero_interval_is_denied if {
	denied_at(plan({"schedule": {"intervals": [{"every": "0s"}]}}), ["schedule", "intervals", 0, "every"])
}

test_offset_as_long_as_the_interval_is_denied if {
	denied_at(plan({"schedule": {"intervals": [{"every": "1h", "offset": "1h"}]}}), ["schedule", "intervals", 0, "offset"])
}

test_jitter_as_long_as_the_interval_is_denied if {
	denied_at(plan({"schedule": {"intervals": [{"every": "15m"}], "jitter": "15m"}}), ["schedule", "jitter"])
	denied_at(plan({"schedule": {"intervals": [{"every": "10m"}], "jitter": "15m"}}), ["schedule", "jitter"])
}

test_jitter_shorter_than_the_interval_passes if {
	count(findings(plan({"schedule": {"intervals": [{"every": "15m"}], "jitter": "14m59s"}}))) == 0
}

test_catchup_window_under_10s_is_denied if {
	denied_at(plan({"policies": {"catchup_window": "5s"}}), ["policies", "catchup_window"])
}

test_catchup_window_of_10s_passes if {
	count(findings(plan({"policies": {"catchup_window": "10s"}}))) == 0
}

test_short_catchup_window_in_a_config_is_denied if {
	fs := schedule_invalid.deny with input as {"runtime": {"orchestration": {"temporal": {"schedule": {"cron": ["@daily"], "catchup_window": "9s"}}}}}
		with data.planguard.file as {"kind": "config", "environment": "dev"}
	count(fs) == 1
	some f in fs
	f.location == ["runtime", "orchestration", "temporal", "schedule", "catchup_window"]
}

# Types are the schema's business (PG010); a number must not fail the rule.
test_durations_that_are_not_strings_are_left_to_the_schema if {
	count(findings(plan({"schedule": {"intervals": [{"every": 600, "offset": 0}], "jitter": 60}}))) == 0
}
