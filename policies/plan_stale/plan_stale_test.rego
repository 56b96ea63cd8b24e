package planguard.project.plan_stale_test

import data.planguard.project.plan_stale
import rego.v1

today := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

config := {"kind": "config", "path": "conf/prod.json", "workspace": "", "environment": "prod", "sha256": today, "contents": {}}

plan(build, sha) := {
	"kind": "plan", "path": sprintf("orchestration_plans/prod/%s.json", [build]),
	"workspace": "", "environment": "prod", "build": build,
	"contents": {"source_config": {"path": "conf/prod.json", "sha256": sha}},
}

test_a_newest_plan_of_another_config_version_is_stale if {
	findings := plan_stale.deny with input as [config, plan("41", today), plan("42", "0123")]
	count(findings) == 1
	some f in findings
	f.file == "orchestration_plans/prod/42.json"
	f.location == ["source_config", "sha256"]
	f.related[0].file == "conf/prod.json"
}

test_older_plans_keep_the_checksum_of_their_day if {
	count(plan_stale.deny) == 0 with input as [config, plan("41", "0123"), plan("42", today)]
}

test_the_checksum_is_compared_without_regard_to_case if {
	count(plan_stale.deny) == 0 with input as [config, plan("42", upper(today))]
}

test_no_config_no_comparison if {
	count(plan_stale.deny) == 0 with input as [plan("42", "0123")]
}

test_a_missing_checksum_is_left_to_the_schema if {
	bare := object.union(plan("42", today), {"contents": {}})
	count(plan_stale.deny) == 0 with input as [config, bare]
}
