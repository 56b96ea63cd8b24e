# PG106 image-registry: images come from the environment's registry (the
# `registries` of [environments.<env>] in planguard.toml; no check when unset).
package planguard.rules.image_registry

import data.planguard.lib.fields
import rego.v1

deny contains finding if {
	file := data.planguard.file
	allowed := fields.environment.registries
	count(allowed) > 0
	ref := fields.value(input, file.kind, "image")
	is_string(ref)
	not strings.any_prefix_match(ref, allowed)
	finding := {
		"rule": "PG106",
		"msg": sprintf("image \"%v\" is not from the %s registry (%s)", [ref, file.environment, concat(", ", allowed)]),
		"location": fields.path(file.kind, "image"),
		"help": "promote the image into this environment's registry and reference it there",
	}
}
