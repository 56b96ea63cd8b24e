# PG104 unknown-environment: a file's environment (from its path, or its
# `environment` field) must be one of the configured environments.
package planguard.rules.unknown_environment

import data.planguard.lib.fields
import rego.v1

deny contains finding if {
	file := data.planguard.file
	is_string(file.environment)
	not fields.environment
	known := [name | some name, _ in data.planguard.environments]
	finding := {
		"rule": "PG104",
		"msg": sprintf("environment \"%v\" is not configured (known: %s)", [file.environment, concat(", ", sort(known))]),
		"location": fields.path(file.kind, "environment"),
		"help": "add it under [environments] in planguard.toml, or move the file",
	}
}
