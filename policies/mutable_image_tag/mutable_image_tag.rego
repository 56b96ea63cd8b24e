# PG103 mutable-image-tag: images are versioned, never `latest` or untagged
# (spec §2.1 "versioned tags", §2.2 "immutable tags").
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
		"help": "use a version tag (ingestion:1.8.2) or, better, a digest (ingestion@sha256:…)",
	}
}
