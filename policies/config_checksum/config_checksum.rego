# PG113 config-checksum: when a Spark configuration reference is a file in the
# repository, its sha256 checksum matches the file's content (spec §4 "Validate
# checksums in CI/CD"). That a checksum is present is the schema's job (PG010).
# A reference that leads out of the workspace is not read: PG120.
package planguard.rules.config_checksum

import data.planguard.lib.fields
import data.planguard.lib.files
import rego.v1

# A reference to a file, not a remote object: a path, or file:// and a path.
repository_path(uri) := trim_prefix(uri, "file://") if {
	not regex.match(`^[A-Za-z][A-Za-z0-9+.-]*://`, trim_prefix(uri, "file://"))
}

deny contains finding if {
	file := data.planguard.file
	ref := fields.values.config_ref
	is_string(ref.sha256)
	relative := repository_path(ref.uri)
	files.problem(relative) == ""
	path := files.path(relative)
	actual := planguard.file_sha256(path)
	actual != lower(ref.sha256)
	message := checksum_message(path, actual)
	finding := object.union(
		{
			"rule": "PG113",
			"msg": message,
			"location": array.concat(fields.path(file.kind, "config_ref"), ["sha256"]),
			"help": "update the checksum after reviewing the configuration change",
		},
		checksum_fix(actual),
	)
}

# The new checksum attests content nobody has reviewed yet: an unsafe fix.
checksum_fix("") := {}

checksum_fix(actual) := {
	"help": sprintf("after reviewing the configuration change, set it to \"%s\"", [actual]),
	"fix": {"replace": actual, "applicability": "unsafe", "title": "update the checksum to the file's"},
} if actual != ""

checksum_message(path, "") := sprintf("the Spark configuration %s cannot be read to verify its checksum", [path])

checksum_message(path, actual) := sprintf("the checksum does not match %s (its sha256 is %s)", [path, actual]) if actual != ""

deny contains finding if {
	file := data.planguard.file
	ref := fields.values.config_ref
	is_string(ref.sha256)
	problem := files.problem(repository_path(ref.uri))
	problem != ""
	finding := {
		"rule": "PG120",
		"msg": sprintf("the Spark configuration %v %v: planguard reads only files inside the workspace, so its checksum is not verified", [ref.uri, problem]),
		"location": array.concat(fields.path(file.kind, "config_ref"), ["uri"]),
		"help": "name a file of the repository, relative to the workspace (the folder holding conf/)",
	}
}
