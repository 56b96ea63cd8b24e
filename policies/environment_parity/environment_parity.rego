# PG203 environment-parity: every environment's config mirrors the same
# runtime.orchestration.temporal surface, differing only in namespace, task
# queue and credential scopes (spec §1). Each differing setting is reported in
# every file involved.
package planguard.project.environment_parity

import data.planguard.lib.fields
import data.planguard.lib.project
import rego.v1

# What may differ between environments: where each runs, and its credentials
# (whether authentication is required is PG112's business).
per_environment := {"namespace", "task_queue", "auth"}

# Settings of the temporal surface, by path below it: objects are walked,
# arrays and scalars compared whole; credential references may differ.
# Team extensions (x-…) are not part of the surface. planguard.leaves is
# what `walk` gives for values that are not objects, in one native pass:
# `walk` and its filters were half of the cross-file rules' time.
settings(config) := {path: value |
	surface := object.get(config.contents, fields.temporal, {})
	is_object(surface)
	some [path, value] in planguard.leaves(object.remove(surface, per_environment))
	not endswith(path[count(path) - 1], "_ref")
	not strings.any_prefix_match(path, "x-")
}

# Each config's settings, computed once.
settings_of := {config.path: settings(config) | some config in project.configs}

deny contains finding if {
	some config in project.configs
	some other in project.configs_by[config.workspace]
	other.environment != config.environment
	mine := settings_of[config.path]
	theirs := settings_of[other.path]
	# Most environments agree: one comparison spares comparing each setting.
	mine != theirs
	some path, value in mine
	object.get(theirs, [path], null) != value
	finding := {
		"rule": "PG203",
		"msg": message(path, value, object.get(theirs, [path], null), other),
		"file": config.path,
		"location": array.concat(fields.temporal, path),
		"related": [{"file": other.path, "location": array.concat(fields.temporal, path), "msg": sprintf("%s has this", [other.environment])}],
		"help": "environments differ only in namespace, task queue and credentials; change every environment's config together",
	}
}

# A setting another environment does not have at all.
deny contains finding if {
	some config in project.configs
	some other in project.configs_by[config.workspace]
	other.environment != config.environment
	mine := settings_of[config.path]
	theirs := settings_of[other.path]
	mine != theirs
	keys := object.keys(mine)
	some path, _ in theirs
	not path in keys
	finding := {
		"rule": "PG203",
		"msg": sprintf("`%s` is set in %s but not here", [concat(".", path), other.environment]),
		"file": config.path,
		"location": array.concat(fields.temporal, path),
		"related": [{"file": other.path, "location": array.concat(fields.temporal, path), "msg": sprintf("set in %s", [other.environment])}],
	}
}


# Values are not printed: engines format numbers differently, and the related
# snippet shows the other file's value.
message(path, _, null, other) := sprintf("`%v` is not set in %v", [concat(".", path), other.environment])

message(path, _, theirs, other) := sprintf("`%v` differs from %v", [concat(".", path), other.environment]) if theirs != null
