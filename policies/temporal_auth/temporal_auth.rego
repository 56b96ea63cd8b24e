# PG112 temporal-auth: UAT and PROD workers authenticate to Temporal with mTLS
# certificates, an API key or OIDC, through secret references, never inline key
# material (spec §3 "Authentication", §4 "Temporal certificates").
package planguard.rules.temporal_auth

import data.planguard.lib.fields
import rego.v1

# Where each mode keeps its credentials, below auth.
required_refs := {
	"mtls": [["client_cert_ref"], ["client_key_ref"]],
	"api_key": [["api_key_ref"]],
	"oidc": [["oidc", "client_secret_ref"]],
}

deny contains finding if {
	data.planguard.file.kind == "config"
	fields.environment.require_auth
	not fields.values.auth
	finding := {
		"rule": "PG112",
		"msg": sprintf("no Temporal authentication is configured, which %s requires", [data.planguard.file.environment]),
		"location": array.concat(fields.temporal, ["auth"]),
		"help": "add runtime.orchestration.temporal.auth with mode mtls, api_key or oidc and secret references",
	}
}

deny contains finding if {
	data.planguard.file.kind == "config"
	fields.environment.require_auth
	auth := fields.values.auth
	not required_refs[auth.mode]
	finding := {
		"rule": "PG112",
		"msg": sprintf("Temporal authentication mode \"%v\" is not allowed in %s (use mtls, api_key or oidc)", [auth.mode, data.planguard.file.environment]),
		"location": array.concat(fields.temporal, ["auth", "mode"]),
	}
}

deny contains finding if {
	data.planguard.file.kind == "config"
	auth := fields.values.auth
	some key in required_refs[auth.mode]
	not fields.is_secret_ref(object.get(auth, key, null))
	finding := {
		"rule": "PG112",
		"msg": sprintf("Temporal %v authentication needs `%v` as a secret reference", [auth.mode, concat(".", key)]),
		"location": array.concat(fields.temporal, ["auth"]),
		"help": "point it at the certificate, key or secret in the environment's store (vault://…)",
	}
}
