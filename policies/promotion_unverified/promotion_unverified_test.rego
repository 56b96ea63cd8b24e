package planguard.project.promotion_unverified_test

import data.planguard.project.promotion_unverified
import rego.v1

promotion := ["dev", "uat", "prod"]

a := "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

b := "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

plan(env, build, image) := {
	"kind": "plan", "path": sprintf("orchestration_plans/%v/%v.json", [env, build]), "workspace": "", "environment": env, "build": build,
	"contents": {"environment": env, "image": image},
}

# A plan whose image is pinned by digest.
pinned(env, build, digest) := plan(env, build, {"ref": sprintf("registry.%v.salam.internal/salam/ingestion@%v", [env, digest])})

# A plan whose image is a tag, with its digest recorded beside it.
tagged(env, build, digest) := plan(env, build, {"ref": sprintf("registry.%v.salam.internal/salam/ingestion:1.2.1", [env]), "digest": digest})

test_image_missing_in_the_previous_environment_is_denied if {
	findings := promotion_unverified.deny with input as [tagged("dev", "1", a), pinned("uat", "1", b)]
		with data.planguard.promotion as promotion
	count(findings) == 1
	some f in findings
	f.rule == "PG204"
	f.file == "orchestration_plans/uat/1.json"
	f.location == ["image", "ref"]
	contains(f.msg, b)
}

test_image_present_in_the_previous_environment_passes if {
	count(promotion_unverified.deny) == 0 with input as [tagged("dev", "1", a), pinned("uat", "1", a), pinned("prod", "1", a)]
		with data.planguard.promotion as promotion
}

test_first_environment_has_no_previous if {
	count(promotion_unverified.deny) == 0 with input as [tagged("dev", "1", a), pinned("dev", "2", b)]
		with data.planguard.promotion as promotion
}

test_prod_is_compared_with_uat_only if {
	findings := promotion_unverified.deny with input as [tagged("dev", "1", a), tagged("dev", "2", b), pinned("uat", "2", b), pinned("prod", "1", a)]
		with data.planguard.promotion as promotion
	count(findings) == 1
	some f in findings
	f.file == "orchestration_plans/prod/1.json"
	contains(f.msg, "uat")
}

test_any_plan_of_the_previous_environment_counts if {
	count(promotion_unverified.deny) == 0 with input as [tagged("dev", "1", a), tagged("dev", "2", b), pinned("uat", "3", a)]
		with data.planguard.promotion as promotion
}

test_image_without_a_digest_is_skipped if {
	count(promotion_unverified.deny) == 0 with input as [tagged("dev", "1", a), plan("uat", "1", {"ref": "registry.uat.salam.internal/salam/ingestion:1.2.1"})]
		with data.planguard.promotion as promotion
}

test_other_workspaces_do_not_count if {
	elsewhere := object.union(tagged("dev", "1", a), {"workspace": "refunds", "path": "refunds/orchestration_plans/dev/1.json"})
	count(promotion_unverified.deny) == 1 with input as [elsewhere, pinned("uat", "1", a)]
		with data.planguard.promotion as promotion
}

test_promotion_order_is_configurable if {
	count(promotion_unverified.deny) == 0 with input as [pinned("uat", "1", a), pinned("prod", "1", a)]
		with data.planguard.promotion as ["uat", "prod"]
	count(promotion_unverified.deny) == 1 with input as [pinned("uat", "1", a), pinned("prod", "1", a)]
		with data.planguard.promotion as promotion
}

test_environments_outside_the_order_are_not_checked if {
	count(promotion_unverified.deny) == 0 with input as [pinned("staging", "1", b)]
		with data.planguard.promotion as promotion
}
