# PG113 config-checksum: Spark configuration references carry a sha256
# checksum; when the reference is a file in the repository, the checksum
# matches its content (spec §4 "Validate checksums in CI/CD").
package planguard.rules.config_checksum

import data.planguard.lib.fields
import rego.v1

deny contains finding if {
	kind := data.planguard.file.kind
	ref := fields.value(input, kind, "config_ref")
	not ref.sha256
	finding := {
		"rule": "PG113",
		"msg": "the Spark configuration reference has no sha256 checksum",
		"location": fields.path(kind, "config_ref"),
		"help": "add sha256 (sha256sum of the file) so a changed configuration is noticed",
	}
}

# A reference to a repository file: relative, or file:// relative to the workspace.
repository_path(uri) := trim_prefix(uri, "file://") if {
	not regex.match(`^[A-Za-z][A-Za-z0-9+.-]*://`, trim_prefix(uri, "file://"))
	not startswith(trim_prefix(uri, "file://"), "/")
}

deny contains finding if {
	file := data.planguard.file
	ref := fields.value(input, file.kind, "config_ref")
	is_string(ref.sha256)
	relative := repository_path(ref.uri)
	path := concat("/", [p | some p in [file.workspace, relative]; p != ""])
	actual := planguard.file_sha256(path)
	actual != lower(ref.sha256)
	message := checksum_message(path, actual)
	finding := {
		"rule": "PG113",
		"msg": message,
		"location": array.concat(fields.path(file.kind, "config_ref"), ["sha256"]),
		"help": "update the checksum after reviewing the configuration change",
	}
}

checksum_message(path, "") := sprintf("the Spark configuration %s cannot be read to verify its checksum", [path])

checksum_message(path, actual) := sprintf("the checksum does not match %s (its sha256 is %s)", [path, actual]) if actual != ""
