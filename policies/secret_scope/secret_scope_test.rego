package planguard.rules.secret_scope_test

import data.planguard.rules.secret_scope
import rego.v1

environments := {
	"dev": {"namespace": "ingestion-dev", "secret_stores": ["vault://vault.dev/", "aws-sm://dev/"]},
	"uat": {"namespace": "ingestion-uat", "secret_stores": ["vault://vault.uat/"]},
	"prod": {"namespace": "ingestion-prod", "secret_stores": ["vault://vault.prod/"]},
}

# The findings for a plan of `env` whose first secret is `ref`.
findings(env, ref) := result if {
	result := secret_scope.deny with input as {"secrets": [{"name": "orders-db", "ref": ref}]}
		with data.planguard.file as {"kind": "plan", "environment": env}
		with data.planguard.environments as environments
}

test_reference_into_another_store_is_denied if {
	fs := findings("prod", "vault://vault.dev/kv/ingestion-prod/customer-orders/jdbc/orders")
	count(fs) == 1
	some f in fs
	f.rule == "PG111"
	f.location == ["secrets", 0, "ref"]
	contains(f.msg, "outside the prod secrets store")
}

test_another_environments_namespace_in_own_store_is_denied if {
	fs := findings("prod", "vault://vault.prod/kv/ingestion-uat/customer-orders/jdbc/orders")
	count(fs) == 1
	some f in fs
	f.rule == "PG111"
	f.location == ["secrets", 0, "ref"]
	contains(f.msg, "names the uat environment's scope")
}

test_another_environments_name_in_own_store_is_denied if {
	fs := findings("prod", "vault://vault.prod/kv/dev/kafka/events")
	count(fs) == 1
	some f in fs
	contains(f.msg, "names the dev environment's scope")
}

test_own_store_and_scope_passes if {
	count(findings("prod", "vault://vault.prod/kv/ingestion-prod/customer-orders/jdbc/orders")) == 0
}

test_every_store_of_the_environment_is_allowed if {
	count(findings("dev", "vault://vault.dev/kv/ingestion-dev/jdbc/orders")) == 0
	count(findings("dev", "aws-sm://dev/ingestion-dev/jdbc/orders")) == 0
}

test_environment_names_inside_a_segment_pass if {
	count(findings("prod", "vault://vault.prod/kv/ingestion-prod/devices/uat-like")) == 0
}

test_own_environment_name_passes if {
	count(findings("prod", "vault://vault.prod/kv/prod/jdbc/orders")) == 0
}

test_secrets_in_configs_are_checked_too if {
	fs := secret_scope.deny with input as {"sources": [{"credentials": "vault://vault.uat/kv/ingestion-uat/jdbc/orders"}]}
		with data.planguard.file as {"kind": "config", "environment": "prod"}
		with data.planguard.environments as environments
	some f in fs
	f.location == ["sources", 0, "credentials"]
}

test_strings_that_are_not_references_are_ignored if {
	count(secret_scope.deny) == 0 with input as {
		"memo": {"runbook": "https://vault.dev.salam.internal/kv/ingestion-dev"},
		"image": {"signature": {"key_ref": "hashivault://cosign-dev"}},
	}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
}

# With no stores configured, any store is accepted but the scope is still checked,
# over the whole reference.
no_stores := object.union(environments, {"prod": {"namespace": "ingestion-prod", "secret_stores": []}})

test_no_stores_turns_the_store_check_off if {
	count(secret_scope.deny) == 0 with input as {"ref": "vault://vault.elsewhere/kv/ingestion-prod/jdbc"}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as no_stores
}

test_no_stores_still_checks_the_scope if {
	fs := secret_scope.deny with input as {"ref": "vault://vault.elsewhere/kv/ingestion-uat/jdbc"}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as no_stores
	count(fs) == 1
	some f in fs
	f.location == ["ref"]
}

# The names of other environments are first looked for in all references at
# once; the finding is still on the reference that has one as a segment.
test_a_leak_is_reported_on_its_own_reference if {
	fs := secret_scope.deny with input as {"secrets": [
		{"name": "orders-db", "ref": "vault://vault.prod/kv/ingestion-prod/orders"},
		{"name": "events", "ref": "vault://vault.prod/kv/uat/events"},
	]}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
	count(fs) == 1
	some f in fs
	f.location == ["secrets", 1, "ref"]
	contains(f.msg, "names the uat environment's scope")
}
