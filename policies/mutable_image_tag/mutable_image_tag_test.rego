package planguard.rules.mutable_image_tag_test

import data.planguard.rules.mutable_image_tag
import rego.v1

file := {"kind": "plan", "environment": "dev"}

test_latest_is_denied if {
	count(mutable_image_tag.deny) == 1 with input as {"image": {"ref": "registry.dev/salam/ingestion:latest"}}
		with data.planguard.file as file
}

test_untagged_is_denied if {
	count(mutable_image_tag.deny) == 1 with input as {"image": {"ref": "registry:5000/salam/ingestion"}}
		with data.planguard.file as file
}

test_versions_and_digests_pass if {
	count(mutable_image_tag.deny) == 0 with input as {"image": {"ref": "registry:5000/salam/ingestion:1.8.2"}}
		with data.planguard.file as file
	count(mutable_image_tag.deny) == 0 with input as {"image": {"ref": "registry/salam/ingestion@sha256:0123"}}
		with data.planguard.file as file
}
