# PG201 plan-store-layout: a plan stored at orchestration_plans/<env>/<build>.json
# declares that environment and that build (spec §2.2), and a config stored
# as conf/<env>.json declares that environment (spec §1: one config per
# environment, named after it).
package planguard.rules.plan_store_layout

import rego.v1

deny contains finding if {
	file := data.planguard.file
	file.kind == "plan"
	is_string(file.environment)
	declared := input.environment
	declared != file.environment
	finding := {
		"rule": "PG201",
		"msg": sprintf("plan stored under \"%v\" declares environment \"%v\"", [file.environment, declared]),
		"location": ["environment"],
		"help": "move the plan to its environment's folder, or regenerate it for this one",
	}
}

deny contains finding if {
	file := data.planguard.file
	file.kind == "plan"
	is_string(file.build)
	declared := input.build
	sprintf("%v", [declared]) != file.build
	finding := {
		"rule": "PG201",
		"msg": sprintf("plan stored as build \"%v\" declares build %v", [file.build, declared]),
		"location": ["build"],
		"help": "a plan's file name is its build number",
	}
}

deny contains finding if {
	file := data.planguard.file
	file.kind == "config"
	is_string(file.environment)
	declared := input.environment
	is_string(declared)
	declared != file.environment
	finding := {
		"rule": "PG201",
		"msg": sprintf("config stored as \"%v\" declares environment \"%v\"", [file.path, declared]),
		"location": ["environment"],
		"help": sprintf("rename the file conf/%v.json, or set its environment to \"%v\"", [declared, file.environment]),
	}
}

# The workflow's input names the environment too: the worker reads it there.
deny contains finding if {
	file := data.planguard.file
	file.kind == "plan"
	is_string(file.environment)
	declared := input.input.environment
	is_string(declared)
	declared != file.environment
	finding := {
		"rule": "PG201",
		"msg": sprintf("plan stored under \"%v\" gives its workflow environment \"%v\"", [file.environment, declared]),
		"location": ["input", "environment"],
		"help": "regenerate the plan for this environment: the workflow would run with the other one's settings",
	}
}
