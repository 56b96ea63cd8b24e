# PG202 plan-config-mismatch: a plan agrees with its environment's config
# (same workspace) on namespace, task queue and workflow type, so a stale or
# hand-edited plan is caught before it is applied.
package planguard.project.plan_config_mismatch

import data.planguard.lib.fields
import rego.v1

compared := ["namespace", "task_queue", "workflow_type"]

deny contains finding if {
	some plan in input
	plan.kind == "plan"
	some config in input
	config.kind == "config"
	config.workspace == plan.workspace
	config.environment == plan.environment
	some field in compared
	planned := fields.value(plan.contents, "plan", field)
	configured := fields.value(config.contents, "config", field)
	planned != configured
	finding := {
		"rule": "PG202",
		"msg": sprintf("plan %s %q differs from %s's %q", [field, planned, config.path, configured]),
		"file": plan.path,
		"location": fields.path("plan", field),
		"related": [{
			"file": config.path,
			"location": fields.path("config", field),
			"msg": "the config says this",
		}],
		"help": "regenerate the plan from the config (ingestion.py --dump-orchestration-plan)",
	}
}
