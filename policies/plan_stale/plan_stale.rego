# PG208 plan-stale: the newest plan of an environment was generated from its
# config as it is now: the plan's `source_config.sha256` is the sha256 of the
# config file's bytes. A config edited after its plan was dumped, with no new
# plan, would otherwise pass while `apply` registers the old one. Older plans
# are history and keep the checksum of their day.
package planguard.project.plan_stale

import data.planguard.lib.project
import rego.v1

deny contains finding if {
	some plan in project.latest_plans
	config := project.config_of(plan)
	claimed := plan.contents.source_config.sha256
	is_string(claimed)
	is_string(config.sha256)
	lower(claimed) != config.sha256
	finding := {
		"rule": "PG208",
		"msg": sprintf("the plan was generated from another version of %v: its source_config.sha256 is not the config's (%v)", [config.path, config.sha256]),
		"file": plan.path,
		"location": ["source_config", "sha256"],
		"related": [{"file": config.path, "location": [], "msg": "the config as it is now"}],
		"help": "dump the plan again from the config as it is now (ingestion.py --dump-orchestration-plan)",
	}
}
