# PG206 plan-missing: every environment's config has at least one plan stored
# beside it (spec §2.1 "dump a plan for every target config"): a config
# nobody generated a plan from is not deployed, whatever it says.
package planguard.project.plan_missing

import data.planguard.lib.project
import rego.v1

warn contains finding if {
	some config in project.configs
	is_string(config.environment)
	not project.plans_by[config.workspace][config.environment]
	finding := {
		"rule": "PG206",
		"msg": sprintf("no plan is stored for the %v config: nothing under orchestration_plans/%v/", [config.environment, config.environment]),
		"file": config.path,
		"location": [],
		"help": sprintf("dump its plan (ingestion.py --config %v --dump-orchestration-plan) into orchestration_plans/%v/<build>.json", [config.path, config.environment]),
	}
}
