# Where each orchestration field lives in a config and in a plan, so that
# rules name a field once and find it in either kind of document.
package planguard.lib.fields

import rego.v1

temporal := ["runtime", "orchestration", "temporal"]

# Written out, not built from `temporal` with array.concat: regorus evaluates
# this whole module for every document whose rules read a field.
paths := {
	"config": {
		"namespace": ["runtime", "orchestration", "temporal", "namespace"],
		"task_queue": ["runtime", "orchestration", "temporal", "task_queue"],
		"workflow_type": ["runtime", "orchestration", "temporal", "workflow_type"],
		"schedule": ["runtime", "orchestration", "temporal", "schedule"],
		"catchup_window": ["runtime", "orchestration", "temporal", "schedule", "catchup_window"],
		"overlap": ["runtime", "orchestration", "temporal", "schedule", "overlap_policy"],
		"retry_policy": ["runtime", "orchestration", "temporal", "retry_policy"],
		"timeouts": ["runtime", "orchestration", "temporal", "timeouts"],
		"auth": ["runtime", "orchestration", "temporal", "auth"],
		"image": ["spark", "image"],
		"config_ref": ["spark", "config_ref"],
		"environment": ["environment"],
		"spark": ["spark"],
		"cluster": ["spark", "cluster", "name"],
		"autoscale": ["spark", "cluster", "autoscale"],
	},
	"plan": {
		"namespace": ["namespace"],
		"task_queue": ["task_queue"],
		"workflow_type": ["workflow_type"],
		"schedule": ["schedule"],
		"catchup_window": ["policies", "catchup_window"],
		"overlap": ["policies", "overlap"],
		"retry_policy": ["retry_policy"],
		"timeouts": ["timeouts"],
		"image": ["image", "ref"],
		"config_ref": ["input", "spark", "config_ref"],
		"environment": ["environment"],
		"spark": ["input", "spark"],
		"cluster": ["input", "spark", "cluster"],
		"autoscale": ["input", "spark", "autoscale"],
	},
}

# Each field's value in the document being checked (`input`, of the kind in
# data.planguard.file), absent when unset: `values.schedule`. A rule rather
# than a function, so that each field is looked up once per document, not
# at every use.
values[field] := v if {
	some field, at in paths[data.planguard.file.kind]
	v := object.get(input, at, null)
	v != null
}

# The path of `field` in a document of `kind`.
path(kind, field) := paths[kind][field]

# Secret references name their store by scheme.
secret_ref_pattern := `^(vault|aws-sm|gcp-sm|azure-kv)://`

# The same test as secret_ref_pattern, without a regular expression: it runs
# on every string of every document.
secret_ref_prefixes := ["vault://", "aws-sm://", "gcp-sm://", "azure-kv://"]

is_secret_ref(s) if {
	is_string(s)
	strings.any_prefix_match(s, secret_ref_prefixes)
}

# The environment settings of the file being checked.
environment := data.planguard.environments[data.planguard.file.environment]

# The image reference's digest, from `@sha256:…` or the plan's image.digest.
digest(ref, _) := d if {
	is_string(ref)
	parts := split(ref, "@")
	count(parts) == 2
	d := parts[1]
}

digest(ref, image) := image.digest if {
	is_string(ref)
	not contains(ref, "@")
	is_string(image.digest)
}

# A duration in nanoseconds, -1 when it is not a duration. Only strings reach
# planguard.duration_ns, which rejects other types with an error that would
# fail the whole rule.
duration(d) := planguard.duration_ns(d) if is_string(d)

duration(d) := -1 if not is_string(d)
