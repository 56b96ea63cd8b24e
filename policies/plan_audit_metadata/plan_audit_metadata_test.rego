package planguard.rules.plan_audit_metadata_test

import data.planguard.rules.plan_audit_metadata
import rego.v1

plan(changes) := object.union({
	"environment": "prod",
	"generated_at": "2025-11-17T08:15:17Z",
	"source_config": {"path": "conf/prod.json", "sha256": "39ce525decb94e77e24f6fe05d1bee66e88f9f847486293ce9e3439a9bc35ede"},
}, changes)

# The findings for `doc` checked as a prod plan.
findings(doc) := result if {
	result := plan_audit_metadata.deny with input as doc
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
}

# Exactly one finding, at `location`.
denied_at(doc, location) if {
	fs := findings(doc)
	count(fs) == 1
	some f in fs
	f.rule == "PG118"
	f.location == location
}

test_good_plan_passes if {
	count(findings(plan({}))) == 0
}

test_rfc3339_times_with_fractions_and_offsets_pass if {
	count(findings(plan({"generated_at": "2025-11-17T08:15:17.123456+03:00"}))) == 0
	count(findings(plan({"generated_at": "2025-11-17T08:15:17-05:00"}))) == 0
}

test_generation_time_that_is_not_a_time_is_denied if {
	denied_at(plan({"generated_at": "yesterday"}), ["generated_at"])
}

test_time_without_t_or_zone_is_denied if {
	denied_at(plan({"generated_at": "2025-11-17 08:15"}), ["generated_at"])
	denied_at(plan({"generated_at": "2025-11-17T08:15:17"}), ["generated_at"])
}

test_plan_from_another_environments_config_is_denied if {
	denied_at(plan({"source_config": {"path": "conf/uat.json"}}), ["source_config", "path"])
}

test_config_name_must_match_whole if {
	denied_at(plan({"source_config": {"path": "conf/preprod.json"}}), ["source_config", "path"])
}

test_bare_config_name_passes if {
	count(findings(plan({"source_config": {"path": "prod.json"}}))) == 0
}

test_environment_field_is_used_when_the_path_gives_none if {
	fs := plan_audit_metadata.deny with input as plan({"environment": "uat"})
		with data.planguard.file as {"kind": "plan"}
	count(fs) == 1
	some f in fs
	f.location == ["source_config", "path"]
}

test_configs_are_not_checked if {
	count(plan_audit_metadata.deny) == 0 with input as {"environment": "prod", "generated_at": "yesterday"}
		with data.planguard.file as {"kind": "config", "environment": "prod"}
}
