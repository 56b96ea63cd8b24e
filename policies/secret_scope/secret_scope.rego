# PG111 secret-scope: secret references point into the environment's own store
# and scope: a PROD plan never reads a DEV secret (spec §1 secrets row, §4).
package planguard.rules.secret_scope

import data.planguard.lib.fields
import rego.v1

# Every secret reference in the document, with where it is (one native pass
# over its strings: `walk` in Rego was the most expensive part of the pack).
refs contains [path, value] if {
	some row in planguard.prefixed_strings(input, fields.secret_ref_prefixes)
	path := row[0]
	value := row[1]
}

deny contains finding if {
	stores := fields.environment.secret_stores
	count(stores) > 0
	some [path, value] in refs
	not strings.any_prefix_match(value, stores)
	finding := {
		"rule": "PG111",
		"msg": sprintf("secret reference \"%v\" is outside the %s secrets store (%s)", [value, data.planguard.file.environment, concat(", ", stores)]),
		"location": path,
		"help": "reference the secret in this environment's store; each environment has its own credentials",
	}
}

# The names and namespaces of the other environments, with the environment
# each one names.
foreign_scopes contains [name, other] if {
	env := data.planguard.file.environment
	some other, settings in data.planguard.environments
	other != env
	some name in {other, settings.namespace}
}

# The names of other environments that occur anywhere in the document's
# secret references. Almost always there are none, which spares splitting
# every reference into segments: this rule was a quarter of the pack's time.
mentioned contains name if {
	text := concat("\n", [value | some [_, value] in refs])
	some [name, _] in foreign_scopes
	is_string(name)
	contains(text, name)
}

# Within the right store, a path naming another environment is a scope leak.
deny contains finding if {
	count(mentioned) > 0
	env := data.planguard.file.environment
	some [path, value] in refs
	segments := {segment | some segment in split(scoped_path(value), "/")}
	some [name, other] in foreign_scopes
	name in segments
	finding := {
		"rule": "PG111",
		"msg": sprintf("secret reference \"%v\" names the %v environment's scope in a %v file", [value, other, env]),
		"location": path,
		"help": sprintf("use the %v path of this secret", [env]),
	}
}

# The part of a reference after the environment's store prefix (the whole
# reference when no stores are configured); undefined outside the stores,
# which the rule above reports.
scoped_path(value) := value if count(fields.environment.secret_stores) == 0

scoped_path(value) := substring(value, count(prefix), -1) if {
	some prefix in fields.environment.secret_stores
	startswith(value, prefix)
}
