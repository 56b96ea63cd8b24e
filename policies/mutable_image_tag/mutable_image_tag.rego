# PG103 mutable-image-tag: images are versioned, never `latest` or untagged
# (spec §2.1 "versioned tags", §2.2 "immutable tags"), nor tagged with any
# other name that moves (a branch, a channel, an environment) or a bare major
# or major.minor version, which moves to each release under it.
package planguard.rules.mutable_image_tag

import data.planguard.lib.fields
import rego.v1

# The last path component of an image reference, where its tag lives
# (a registry host may carry a port: registry:5000/app).
last_component(ref) := parts[count(parts) - 1] if parts := split(ref, "/")

problem(ref) := "is tagged `latest`" if {
	not contains(ref, "@")
	endswith(last_component(ref), ":latest")
}

# Tags that name a branch, a channel or an environment rather than a build.
moving_tags := {
	"stable", "main", "master", "trunk", "dev", "develop", "development", "edge",
	"nightly", "head", "current", "snapshot", "canary", "beta", "alpha", "release",
	"prod", "production", "staging", "uat", "qa", "test",
}

tag(ref) := t if {
	parts := split(last_component(ref), ":")
	count(parts) == 2
	t := parts[1]
}

problem(ref) := sprintf("is tagged `%v`, a name that moves", [tag(ref)]) if {
	not contains(ref, "@")
	lower(tag(ref)) in moving_tags
}

problem(ref) := sprintf("is tagged `%v`, a version that moves to each release under it", [tag(ref)]) if {
	not contains(ref, "@")
	regex.match(`^[vV]?[0-9]+(\.[0-9]+)?$`, tag(ref))
}

problem(ref) := "has no tag or digest" if {
	not contains(ref, "@")
	not contains(last_component(ref), ":")
}

deny contains finding if {
	file := data.planguard.file
	ref := fields.value(input, file.kind, "image")
	is_string(ref)
	reason := problem(ref)
	finding := {
		"rule": "PG103",
		"msg": sprintf("image \"%v\" %s, so what runs can change without a new plan", [ref, reason]),
		"location": fields.path(file.kind, "image"),
		"help": "use a full version tag (ingestion:1.8.2) or, better, a digest (ingestion@sha256:…)",
	}
}
