# PG106 image-registry: images come from the environment's registry: one of
# the `registries` prefixes of [environments.<env>] in planguard.toml when
# given, else a name that matches its `registry-pattern` (by default, one
# holding the environment's name as a word of its host or path:
# registry.prod.…, …/ingestion-prod/…; spec §1 "Dev repo", "UAT repo",
# "Prod repo"). An empty pattern and no prefixes: any registry.
package planguard.rules.image_registry

import data.planguard.lib.fields
import rego.v1

deny contains finding if {
	file := data.planguard.file
	allowed := fields.environment.registries
	count(allowed) > 0
	ref := fields.values.image
	is_string(ref)
	not strings.any_prefix_match(ref, allowed)
	finding := {
		"rule": "PG106",
		"msg": sprintf("image \"%v\" is not from the %s registry (%s)", [ref, file.environment, concat(", ", allowed)]),
		"location": fields.path(file.kind, "image"),
		"help": "promote the image into this environment's registry and reference it there",
	}
}

deny contains finding if {
	file := data.planguard.file
	count(fields.environment.registries) == 0
	pattern := object.get(fields.environment, "registry_pattern", "")
	pattern != ""
	ref := fields.values.image
	is_string(ref)
	not regex.match(pattern, name(ref))
	finding := {
		"rule": "PG106",
		"msg": sprintf("image \"%v\" is not from a %s registry: its name does not match `%s`", [ref, file.environment, pattern]),
		"location": fields.path(file.kind, "image"),
		"help": sprintf("promote the image into the %s registry and reference it there, or set registries (or registry-pattern) of [environments.%s] in planguard.toml", [file.environment, file.environment]),
	}
}

# The image's name: the reference without its digest and tag (a registry
# host may carry a port: registry:5000/app).
name(ref) := concat("/", array.concat(array.slice(parts, 0, count(parts) - 1), [split(last, ":")[0]])) if {
	parts := split(split(ref, "@")[0], "/")
	last := parts[count(parts) - 1]
}
