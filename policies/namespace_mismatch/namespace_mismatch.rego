# PG101 namespace-mismatch: the Temporal namespace must be the environment's
# (ingestion-dev, ingestion-uat, ingestion-prod by default; spec §1, §3).
package planguard.rules.namespace_mismatch

import data.planguard.lib.fields
import rego.v1

deny contains finding if {
	file := data.planguard.file
	env := fields.environment
	namespace := fields.values.namespace
	namespace != env.namespace
	finding := {
		"rule": "PG101",
		"msg": sprintf("namespace \"%v\" is not the %s environment's namespace \"%v\"", [namespace, file.environment, env.namespace]),
		"location": fields.path(file.kind, "namespace"),
		"help": sprintf("set it to \"%v\", or change [environments.%s] in planguard.toml", [env.namespace, file.environment]),
		"fix": {"replace": env.namespace},
	}
}
