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

test_names_that_move_are_denied if {
	every tag in ["stable", "main", "dev", "edge", "Nightly", "prod"] {
		findings := mutable_image_tag.deny with input as {"image": {"ref": sprintf("registry:5000/salam/ingestion:%s", [tag])}}
			with data.planguard.file as file
		[f.msg | some f in findings] == [sprintf("image \"registry:5000/salam/ingestion:%s\" is tagged `%s`, a name that moves, so what runs can change without a new plan", [tag, tag])]
	}
}

test_a_bare_major_or_minor_version_is_denied if {
	every tag in ["1", "v2", "1.8"] {
		count(mutable_image_tag.deny) == 1 with input as {"image": {"ref": sprintf("registry/salam/ingestion:%s", [tag])}}
			with data.planguard.file as file
	}
}

test_full_versions_and_builds_pass if {
	every tag in ["1.8.2", "v1.8.2", "1.8.2-rc1", "build-42", "2025-11-10.1", "stable-1.8.2"] {
		count(mutable_image_tag.deny) == 0 with input as {"image": {"ref": sprintf("registry/salam/ingestion:%s", [tag])}}
			with data.planguard.file as file
	}
}

test_a_digest_pins_whatever_the_tag if {
	count(mutable_image_tag.deny) == 0 with input as {"image": {"ref": "registry/salam/ingestion:stable@sha256:0123"}}
		with data.planguard.file as file
}
