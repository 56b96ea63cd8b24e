# PG105 image-not-pinned: in environments that require it (UAT and PROD by
# default), images are pinned immutably by digest (spec §1 "immutable tags",
# §2.2).
package planguard.rules.image_not_pinned

import data.planguard.lib.fields
import rego.v1

deny contains finding if {
	file := data.planguard.file
	fields.environment.require_digest
	ref := fields.values.image
	is_string(ref)
	not regex.match(`@sha256:[a-f0-9]{64}$`, ref)
	finding := {
		"rule": "PG105",
		"msg": sprintf("image \"%v\" is not pinned by digest, which %s requires", [ref, file.environment]),
		"location": fields.path(file.kind, "image"),
		"help": "reference the image as registry/repository@sha256:<digest> (tags can be moved)",
	}
}
