package planguard.rules.temporal_auth_test

import data.planguard.rules.temporal_auth
import rego.v1

environments := {
	"dev": {"require_auth": false},
	"uat": {"require_auth": true},
	"prod": {"require_auth": true},
}

temporal := ["runtime", "orchestration", "temporal"]

config(auth) := {"runtime": {"orchestration": {"temporal": {"namespace": "ingestion-prod", "auth": auth}}}}

no_auth := {"runtime": {"orchestration": {"temporal": {"namespace": "ingestion-prod"}}}}

mtls := {
	"mode": "mtls",
	"client_cert_ref": "vault://vault.prod/kv/ingestion-prod/temporal/mtls#client_cert",
	"client_key_ref": "vault://vault.prod/kv/ingestion-prod/temporal/mtls#client_key",
}

# The findings for `doc` checked as a config of `env`.
findings(doc, env) := result if {
	result := temporal_auth.deny with input as doc
		with data.planguard.file as {"kind": "config", "environment": env}
		with data.planguard.environments as environments
}

test_missing_auth_in_uat_is_denied if {
	fs := findings(no_auth, "uat")
	count(fs) == 1
	some f in fs
	f.rule == "PG112"
	f.location == array.concat(temporal, ["auth"])
}

test_mode_none_in_prod_is_denied if {
	fs := findings(config({"mode": "none"}), "prod")
	count(fs) == 1
	some f in fs
	f.rule == "PG112"
	f.location == array.concat(temporal, ["auth", "mode"])
}

test_no_auth_or_mode_none_is_allowed_in_dev if {
	count(findings(no_auth, "dev")) == 0
	count(findings(config({"mode": "none"}), "dev")) == 0
}

test_mtls_with_references_passes if {
	count(findings(config(mtls), "prod")) == 0
}

test_inline_key_material_is_denied if {
	auth := object.union(mtls, {"client_key_ref": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"})
	fs := findings(config(auth), "prod")
	count(fs) == 1
	some f in fs
	f.rule == "PG112"
	f.location == array.concat(temporal, ["auth"])
	contains(f.msg, "client_key_ref")
}

test_missing_references_are_denied_even_in_dev if {
	fs := findings(config({"mode": "mtls"}), "dev")
	count(fs) == 2
	msgs := {f.msg | some f in fs}
	some m1 in msgs
	contains(m1, "client_cert_ref")
	some m2 in msgs
	contains(m2, "client_key_ref")
}

test_api_key_needs_a_reference if {
	count(findings(config({"mode": "api_key", "api_key_ref": "vault://vault.uat/kv/ingestion-uat/temporal#api_key"}), "uat")) == 0
	count(findings(config({"mode": "api_key", "api_key_ref": "tc-key-0123456789"}), "uat")) == 1
}

test_oidc_with_its_client_secret_reference_passes if {
	auth := {"mode": "oidc", "oidc": {
		"issuer": "https://login.salam.internal",
		"client_id": "ingestion-worker",
		"client_secret_ref": "vault://vault.prod/kv/ingestion-prod/temporal/oidc#client_secret",
	}}
	count(findings(config(auth), "prod")) == 0
}

test_oidc_without_a_client_secret_reference_is_denied if {
	auth := {"mode": "oidc", "oidc": {"issuer": "https://login.salam.internal", "client_id": "ingestion-worker"}}
	fs := findings(config(auth), "prod")
	count(fs) == 1
	some f in fs
	contains(f.msg, "oidc.client_secret_ref")
}

test_plans_are_not_checked if {
	count(temporal_auth.deny) == 0 with input as {"namespace": "ingestion-prod"}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
}
