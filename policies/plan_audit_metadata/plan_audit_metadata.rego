# PG118 plan-audit-metadata: a plan's audit trail is usable: its generation
# time is a real time and the config it names is its environment's (spec §2.2
# "visibility and audits", §6.4). That the fields exist at all is the schema's
# job (PG010).
package planguard.rules.plan_audit_metadata

import rego.v1

finding(msg, location) := {"rule": "PG118", "msg": msg, "location": location}

deny contains finding(sprintf("generated_at \"%v\" is not an RFC 3339 time", [input.generated_at]), ["generated_at"]) if {
	data.planguard.file.kind == "plan"
	is_string(input.generated_at)
	not time_ok(input.generated_at)
}

# A pattern, not time.parse_rfc3339_ns: engines differ on whether a builtin
# error is an error or undefined.
time_ok(t) if regex.match(`^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$`, t)

deny contains finding(sprintf("the plan was generated from \"%v\", not from the %s config", [path, env]), ["source_config", "path"]) if {
	data.planguard.file.kind == "plan"
	env := object.get(data.planguard.file, "environment", input.environment)
	is_string(env)
	path := input.source_config.path
	is_string(path)
	not endswith(path, sprintf("/%s.json", [env]))
	path != sprintf("%s.json", [env])
}
