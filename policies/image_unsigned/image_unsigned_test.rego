package planguard.rules.image_unsigned_test

import data.planguard.rules.image_unsigned
import rego.v1

environments := {
	"dev": {"require_signature": false},
	"prod": {"require_signature": true},
}

ref := "registry.prod.salam.internal/salam/ingestion@sha256:98acea2354220ecc3aa5d4fb8f65437d1fe287a70288a53ed17c18f2524ae4dc"

signature := {
	"type": "cosign",
	"ref": "registry.prod.salam.internal/salam/ingestion:sha256-98acea2354220ecc3aa5d4fb8f65437d1fe287a70288a53ed17c18f2524ae4dc.sig",
}

test_unsigned_prod_plan_is_denied if {
	findings := image_unsigned.deny with input as {"image": {"ref": ref}}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
	count(findings) == 1
	some f in findings
	f.rule == "PG107"
	f.location == ["image"]
}

test_empty_signature_ref_is_denied if {
	count(image_unsigned.deny) == 1 with input as {"image": {"ref": ref, "signature": {"type": "cosign", "ref": ""}}}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
}

test_signed_prod_plan_passes if {
	count(image_unsigned.deny) == 0 with input as {"image": {"ref": ref, "signature": signature}}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
}

test_dev_needs_no_signature if {
	count(image_unsigned.deny) == 0 with input as {"image": {"ref": ref}}
		with data.planguard.file as {"kind": "plan", "environment": "dev"}
		with data.planguard.environments as environments
}

test_configs_are_not_checked if {
	count(image_unsigned.deny) == 0 with input as {"spark": {"image": ref}}
		with data.planguard.file as {"kind": "config", "environment": "prod"}
		with data.planguard.environments as environments
}

shape_findings(sig) := msgs if {
	msgs := [f.msg | some f in image_unsigned.deny] with input as {"image": {"ref": ref, "signature": sig}}
		with data.planguard.file as {"kind": "plan", "environment": "dev"}
		with data.planguard.environments as environments
}

test_a_cosign_signature_of_the_digest_passes if {
	shape_findings(signature) == []
}

test_a_cosign_signature_of_another_digest_is_denied if {
	other := object.union(signature, {"ref": "registry.prod.salam.internal/salam/ingestion:sha256-0000000000000000000000000000000000000000000000000000000000000000.sig"})
	shape_findings(other) == [sprintf("the cosign signature reference \"%v\" signs sha256:0000000000000000000000000000000000000000000000000000000000000000, not the image's digest sha256:98acea2354220ecc3aa5d4fb8f65437d1fe287a70288a53ed17c18f2524ae4dc", [other.ref])]
}

test_a_cosign_reference_of_another_shape_is_denied if {
	count(shape_findings({"type": "cosign", "ref": "pending"})) == 1
	count(shape_findings({"type": "cosign", "ref": "registry.prod.salam.internal/salam/ingestion:1.8.2"})) == 1
}

test_attestations_are_a_tag_of_the_digest_or_an_address if {
	shape_findings({"type": "attestation", "ref": "registry.prod.salam.internal/salam/ingestion:sha256-98acea2354220ecc3aa5d4fb8f65437d1fe287a70288a53ed17c18f2524ae4dc.att"}) == []
	shape_findings({"type": "attestation", "ref": "s3://salam-attestations/ingestion/98acea23.intoto.jsonl"}) == []
	count(shape_findings({"type": "attestation", "ref": "see the release page"})) == 1
}

test_bundles_are_an_address if {
	shape_findings({"type": "sigstore-bundle", "ref": "https://artifacts.salam.internal/ingestion/1.8.2.sigstore.json"}) == []
	count(shape_findings({"type": "sigstore-bundle", "ref": "bundle.json"})) == 1
}
