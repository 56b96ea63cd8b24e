# PG107 image-unsigned: in environments that require it (PROD by default), a
# plan carries the image's signature or attestation reference (spec §1 "signed
# images"), and wherever a plan carries one, it has the shape of a reference
# to that image's signature: a cosign signature (or attestation) tag names the
# image's digest (`<repository>:sha256-<hex>.sig`), a bundle or attestation
# elsewhere is an s3://, gs://, https:// or oci:// address. planguard checks
# the shape; `cosign verify` in CI checks the signature itself (docs).
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

# The digest's hex the image reference or image.digest gives.
image_hex := trim_prefix(fields.digest(input.image.ref, input.image), "sha256:")

# cosign's tag for a digest's signature (.sig) or attestation (.att).
cosign_tag(ref, suffix) := hex if {
	parts := split(ref, "/")
	last := parts[count(parts) - 1]
	pieces := split(last, ":")
	count(pieces) == 2
	startswith(pieces[1], "sha256-")
	endswith(pieces[1], suffix)
	hex := trim_suffix(trim_prefix(pieces[1], "sha256-"), suffix)
}

address(ref) if regex.match(`^(s3|gs|https|oci)://[^/\s]+/\S+$`, ref)

shape_problem(kind, ref) := sprintf("is not cosign's signature tag (<repository>:sha256-<digest>.sig)", []) if {
	kind == "cosign"
	not cosign_tag(ref, ".sig")
}

shape_problem(kind, ref) := sprintf("signs sha256:%v, not the image's digest sha256:%v", [hex, image_hex]) if {
	kind in {"cosign", "attestation"}
	hex := cosign_tag(ref, suffix_of(kind))
	hex != image_hex
}

shape_problem(kind, ref) := "is neither cosign's attestation tag (<repository>:sha256-<digest>.att) nor an s3://, gs://, https:// or oci:// address" if {
	kind == "attestation"
	not cosign_tag(ref, ".att")
	not address(ref)
}

shape_problem(kind, ref) := "is not an s3://, gs://, https:// or oci:// address of the bundle" if {
	kind == "sigstore-bundle"
	not address(ref)
}

suffix_of("cosign") := ".sig"

suffix_of("attestation") := ".att"

deny contains finding if {
	data.planguard.file.kind == "plan"
	signature := input.image.signature
	is_string(signature.type)
	is_string(signature.ref)
	signature.ref != ""
	problem := shape_problem(signature.type, signature.ref)
	finding := {
		"rule": "PG107",
		"msg": sprintf("the %v signature reference \"%v\" %v", [signature.type, signature.ref, problem]),
		"location": ["image", "signature", "ref"],
		"help": "record the reference cosign printed when it signed this digest (cosign sign … <image>@sha256:…), and verify it in CI with cosign verify",
	}
}
