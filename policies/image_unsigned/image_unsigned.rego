# PG107 image-unsigned: in environments that require it (PROD by default), a
# plan carries the image's signature or attestation reference (spec §1 "signed
# images").
package planguard.rules.image_unsigned

import data.planguard.lib.fields
import rego.v1

deny contains finding if {
	data.planguard.file.kind == "plan"
	fields.environment.require_signature
	not signed
	finding := {
		"rule": "PG107",
		"msg": sprintf("the image has no signature reference, which %s requires", [data.planguard.file.environment]),
		"location": ["image"],
		"help": "add image.signature (e.g. {\"type\": \"cosign\", \"ref\": \"…sig\"}) when generating the plan",
	}
}

signed if {
	is_string(input.image.signature.ref)
	input.image.signature.ref != ""
}
