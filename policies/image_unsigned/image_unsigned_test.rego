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
