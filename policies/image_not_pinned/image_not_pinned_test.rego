package planguard.rules.image_not_pinned_test

import data.planguard.rules.image_not_pinned
import rego.v1

environments := {
	"dev": {"require_digest": false},
	"uat": {"require_digest": true},
	"prod": {"require_digest": true},
}

digest := "sha256:98acea2354220ecc3aa5d4fb8f65437d1fe287a70288a53ed17c18f2524ae4dc"

plan(ref) := {"image": {"ref": ref}}

test_tag_in_prod_plan_is_denied if {
	findings := image_not_pinned.deny with input as plan("registry.prod.salam.internal/salam/ingestion:1.2.1")
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
	count(findings) == 1
	some f in findings
	f.rule == "PG105"
	f.location == ["image", "ref"]
}

test_tag_in_uat_config_is_denied if {
	findings := image_not_pinned.deny with input as {"spark": {"image": "registry.uat.salam.internal/salam/ingestion:1.2.1"}}
		with data.planguard.file as {"kind": "config", "environment": "uat"}
		with data.planguard.environments as environments
	some f in findings
	f.rule == "PG105"
	f.location == ["spark", "image"]
}

test_digest_passes if {
	count(image_not_pinned.deny) == 0 with input as plan(sprintf("registry.prod.salam.internal/salam/ingestion@%v", [digest]))
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
}

test_tag_and_digest_passes if {
	count(image_not_pinned.deny) == 0 with input as plan(sprintf("registry.prod.salam.internal/salam/ingestion:1.2.1@%v", [digest]))
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
}

test_truncated_digest_is_denied if {
	count(image_not_pinned.deny) == 1 with input as plan("registry.prod.salam.internal/salam/ingestion@sha256:98acea23")
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
}

test_tags_are_allowed_where_digests_are_not_required if {
	count(image_not_pinned.deny) == 0 with input as plan("registry.dev.salam.internal/salam/ingestion:1.2.1")
		with data.planguard.file as {"kind": "plan", "environment": "dev"}
		with data.planguard.environments as environments
}

test_document_without_image_passes if {
	count(image_not_pinned.deny) == 0 with input as {"namespace": "ingestion-prod"}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
}
