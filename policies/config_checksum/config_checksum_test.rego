package planguard.rules.config_checksum_test

import data.planguard.rules.config_checksum
import rego.v1

# A file of this repository; tests run from its root.
bom := "fixtures/hostile/files/bom.json"

bom_sha256 := "c67ad930127d98cc061682148063f79b5bcfa6d1ec9ffeee144f110198a985a9"

wrong_sha256 := "0000000000000000000000000000000000000000000000000000000000000000"

config(uri, sha256) := {"spark": {"config_ref": {"uri": uri, "sha256": sha256}}}

# The findings for `doc`, a dev config in `workspace`.
findings(doc, workspace) := result if {
	result := config_checksum.deny with input as doc
		with data.planguard.file as {"kind": "config", "environment": "dev", "workspace": workspace, "path": "conf/dev.json"}
}

test_wrong_checksum_is_denied if {
	fs := findings(config(bom, wrong_sha256), "")
	count(fs) == 1
	some f in fs
	f.rule == "PG113"
	f.location == ["spark", "config_ref", "sha256"]
	contains(f.msg, bom_sha256)
}

test_matching_checksum_passes if {
	count(findings(config(bom, bom_sha256), "")) == 0
}

test_checksum_is_compared_case_insensitively if {
	count(findings(config(bom, upper(bom_sha256)), "")) == 0
}

test_file_uri_is_a_repository_file if {
	count(findings(config(sprintf("file://%v", [bom]), wrong_sha256), "")) == 1
	count(findings(config(sprintf("file://%v", [bom]), bom_sha256), "")) == 0
}

test_path_is_relative_to_the_workspace if {
	count(findings(config("hostile/files/bom.json", bom_sha256), "fixtures")) == 0
	fs := findings(config("hostile/files/bom.json", wrong_sha256), "fixtures")
	some f in fs
	contains(f.msg, bom)
}

test_plan_reference_is_checked if {
	fs := config_checksum.deny with input as {"input": {"spark": {"config_ref": {"uri": bom, "sha256": wrong_sha256}}}}
		with data.planguard.file as {"kind": "plan", "environment": "dev", "workspace": "", "path": "orchestration_plans/dev/1.json"}
	count(fs) == 1
	some f in fs
	f.location == ["input", "spark", "config_ref", "sha256"]
}

test_unreadable_file_is_reported if {
	fs := findings(config("spark/missing-spark-defaults.conf", wrong_sha256), "")
	count(fs) == 1
	some f in fs
	contains(f.msg, "cannot be read")
}

test_remote_uris_are_not_checked if {
	count(findings(config("s3://salam-dev-spark-conf/customer-orders/spark-defaults.conf", wrong_sha256), "")) == 0
	count(findings(config("configmap://spark-defaults", wrong_sha256), "")) == 0
}

# PG120 at the uri, and no PG113: nothing outside the workspace is read.
outside(uri, workspace) if {
	fs := findings(config(uri, wrong_sha256), workspace)
	count(fs) == 1
	some f in fs
	f.rule == "PG120"
	f.location == ["spark", "config_ref", "uri"]
	startswith(f.msg, sprintf("the Spark configuration %v ", [uri]))
}

test_absolute_paths_are_not_read if {
	outside("/etc/hostname", "")
	outside("/etc/hostname", "fixtures")
	outside("file:///etc/hostname", "")
}

test_paths_out_of_the_workspace_are_not_read if {
	outside("../../../../../etc/hostname", "")
	outside("file://../../../../../etc/hostname", "fixtures")
}

test_dots_that_stay_inside_are_followed if {
	count(findings(config("hostile/../hostile/files/bom.json", bom_sha256), "fixtures")) == 0
}

test_reference_without_checksum_is_not_checked if {
	count(findings({"spark": {"config_ref": {"uri": bom}}}, "")) == 0
}
