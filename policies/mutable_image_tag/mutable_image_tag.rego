# PG103 mutable-image-tag: images are versioned, never `latest` or untagged
# (spec §2.1 "versioned tags", §2.2 "immutable tags"), nor tagged with any
# other name that moves (a branch, a channel, an environment) or a bare major
# or major.minor version, which moves to each release under it.
package planguard.rules.mutable_image_tag

import data.planguard.lib.fields
import rego.v1

# Tags that name a branch, a channel or an environment rather than a build.
moving_tags := {
	"stable", "main", "master", "trunk", "dev", "develop", "development", "edge",
	"nightly", "head", "current", "snapshot", "canary", "beta", "alpha", "release",
	"prod", "production", "staging", "uat", "qa", "test",
}

# What is wrong with the last path component of an image reference without a
# digest (`last`, where the tag lives: a registry host may carry a port, as in
# registry:5000/app), split at its colons (`pieces`).
problem(last, _) := "is tagged `latest`" if endswith(last, ":latest")

problem(_, pieces) := sprintf("is tagged `%v`, a name that moves", [pieces[1]]) if {
	count(pieces) == 2
	lower(pieces[1]) in moving_tags
}

problem(_, pieces) := sprintf("is tagged `%v`, a version that moves to each release under it", [pieces[1]]) if {
	count(pieces) == 2
	regex.match(`^[vV]?[0-9]+(\.[0-9]+)?$`, pieces[1])
}

problem(_, pieces) := "has no tag or digest" if count(pieces) == 1

deny contains finding if {
	ref := fields.values.image
	is_string(ref)
	not contains(ref, "@")
	parts := split(ref, "/")
	last := parts[count(parts) - 1]
	reason := problem(last, split(last, ":"))
	finding := {
		"rule": "PG103",
		"msg": sprintf("image \"%v\" %s, so what runs can change without a new plan", [ref, reason]),
		"location": fields.path(data.planguard.file.kind, "image"),
		"help": "use a full version tag (ingestion:1.8.2) or, better, a digest (ingestion@sha256:…)",
	}
}
