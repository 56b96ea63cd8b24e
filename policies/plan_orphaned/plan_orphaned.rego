# PG207 plan-orphaned: the plans of an environment have that environment's
# config beside them. A plan whose config is gone (a removed or renamed
# environment) can no longer be regenerated or compared, yet `apply` would
# still register it. Reported once per environment, on its newest plan, and
# only for configured environments: a plan of an unknown one is PG104's.
package planguard.project.plan_orphaned

import data.planguard.lib.project
import rego.v1

deny contains finding if {
	some workspace, environment
	group := project.plans_by[workspace][environment]
	data.planguard.environments[environment]
	not has_config(workspace, environment)
	plan := newest(group)
	finding := {
		"rule": "PG207",
		"msg": sprintf("%v of environment %v, and no conf/%v.json they were generated from", [plans(count(group)), environment, environment]),
		"file": plan.path,
		"location": [],
		"help": sprintf("restore conf/%v.json, or remove orchestration_plans/%v/ if the environment is gone", [environment, environment]),
	}
}

has_config(workspace, environment) if {
	some config in project.configs_by[workspace]
	config.environment == environment
}

plans(1) := "a plan"

plans(n) := sprintf("%v plans", [n]) if n > 1

# The newest plan of a group: its highest numeric build, else (no numeric
# build at all) the last path.
newest(group) := plan if {
	some plan in group
	project.latest(plan)
}

newest(group) := plan if {
	not any_latest(group)
	last := max({plan.path | some plan in group})
	some plan in group
	plan.path == last
}

any_latest(group) if {
	some plan in group
	project.latest(plan)
}
