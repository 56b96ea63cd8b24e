# PG202 plan-config-mismatch: the newest plan of each environment agrees with
# that environment's config (same workspace) on everything Temporal is told:
# namespace, task queue, workflow type, schedule, policies, retry, timeouts and
# image. A stale or hand-edited plan is caught before it is applied.
package planguard.project.plan_config_mismatch

import data.planguard.lib.fields
import data.planguard.lib.project
import rego.v1

# [name, path in a plan, path in a config]
compared := [
	["namespace", ["namespace"], fields.paths.config.namespace],
	["task queue", ["task_queue"], fields.paths.config.task_queue],
	["workflow type", ["workflow_type"], fields.paths.config.workflow_type],
	["schedule id", ["schedule_id"], array.concat(fields.paths.config.schedule, ["id"])],
	["cron", ["schedule", "cron"], array.concat(fields.paths.config.schedule, ["cron"])],
	["intervals", ["schedule", "intervals"], array.concat(fields.paths.config.schedule, ["intervals"])],
	["time zone", ["schedule", "timezone"], array.concat(fields.paths.config.schedule, ["timezone"])],
	["jitter", ["schedule", "jitter"], array.concat(fields.paths.config.schedule, ["jitter"])],
	["catch-up window", ["policies", "catchup_window"], fields.paths.config.catchup_window],
	["overlap policy", ["policies", "overlap"], fields.paths.config.overlap],
	["pause on failure", ["policies", "pause_on_failure"], array.concat(fields.paths.config.schedule, ["pause_on_failure"])],
	["image", ["image", "ref"], fields.paths.config.image],
]

# Objects compared member by member, so a finding names the member that differs.
compared_objects := [
	["retry policy", ["retry_policy"], fields.paths.config.retry_policy],
	["timeout", ["timeouts"], fields.paths.config.timeouts],
]

# Every comparison for one plan and config: the scalars, and each member of
# the objects present on either side.
comparisons(plan, config) := array.concat(compared, [[sprintf("%v %v", [name, key]), array.concat(plan_path, [key]), array.concat(config_path, [key])] |
	some field in compared_objects
	name := field[0]
	plan_path := field[1]
	config_path := field[2]
	keys := object.keys(object.union(object.get(plan.contents, plan_path, {}), object.get(config.contents, config_path, {})))
	some key in keys
])

shown(v) := sprintf("\"%v\"", [v]) if is_string(v)

shown(v) := "(unset)" if v == null

# Booleans and whole numbers print alike in every engine; other values are
# not printed (the snippet shows them).
shown(v) := sprintf("%v", [v]) if is_boolean(v)

shown(v) := format_int(v, 10) if printable_number(v)

shown(v) := "a different value" if {
	not is_string(v)
	not is_boolean(v)
	v != null
	not printable_number(v)
}

printable_number(v) if {
	is_number(v)
	v == round(v)
	abs(v) < 1000000000000000
}

deny contains finding if {
	some plan in project.latest_plans
	config := project.config_of(plan)
	some field in comparisons(plan, config)
	name := field[0]
	plan_path := field[1]
	config_path := field[2]
	planned := object.get(plan.contents, plan_path, null)
	configured := object.get(config.contents, config_path, null)
	planned != configured
	finding := {
		"rule": "PG202",
		"msg": message(name, planned, configured, config.path),
		"file": plan.path,
		"location": plan_path,
		"related": [{"file": config.path, "location": config_path, "msg": "the config says this"}],
		"help": "regenerate the plan from the config (ingestion.py --dump-orchestration-plan)",
		# A scalar the plan has takes the config's value (planguard makes no
		# other fix of this finding).
		"fix": {"replace": configured},
	}
}

message(name, planned, configured, path) := sprintf("plan %s %s differs from %s's %s", [name, shown(planned), path, shown(configured)]) if {
	not is_object(planned)
	not is_object(configured)
}

message(name, planned, _, path) := sprintf("plan %s differs from %s's", [name, path]) if is_object(planned)

message(name, planned, configured, path) := sprintf("plan %s differs from %s's", [name, path]) if {
	not is_object(planned)
	is_object(configured)
}
