package planguard.rules.mutable_image_tag_test

import data.planguard.rules.mutable_image_tag
import rego.v1

deny_for(ref) := mutable_image_tag.deny with input as {"image": {"ref": ref}}
	with data.planguard.file as {"kind": "plan", "environment": "dev"}

test_latest_is_denied if count(deny_for("registry.dev/salam/ingestion:latest")) == 1

test_untagged_is_denied if count(deny_for("registry:5000/salam/ingestion")) == 1

test_versions_and_digests_pass if {
	count(deny_for("registry:5000/salam/ingestion:1.8.2")) == 0
	count(deny_for("registry/salam/ingestion@sha256:0123")) == 0
}
