# PG110 secret-value: no secret values in configs or plans; credentials are
# references into the environment's secrets store, fetched at run time (spec §4
# "Keep orchestration plan JSON free of secrets"). Findings are `sensitive`:
# planguard masks the value in every output and never prints it.
package planguard.rules.secret_value

import rego.v1

# planguard.secrets (src/check/secrets.rs) walks the document once and says,
# for each string that holds a secret, what it found and where: keys that
# name a credential in any naming style (dotted Spark/Hadoop/Kafka
# properties, camelCase, SCREAMING_CASE), credentials inside values (URL user
# information, `password=` in a query, connection string, JAAS configuration
# or JVM option, Oracle's user/password@, `AccountKey=`, Authorization
# headers) and service token formats (AWS, Google, Azure, GitHub, GitLab,
# Slack, Databricks, Stripe, JWTs, private keys…). References, placeholders,
# paths, digests, UUIDs and ordinary identifiers are not secrets.
#
# `start`/`end` are the characters of the string that every secret in it
# covers, so that the finding points at the secret, not its whole string;
# `length` is that of the secret `kind` names. planguard masks every
# occurrence of the covered text in every output anyway.
deny contains finding if {
	some [path, found] in planguard.secrets(input)
	finding := {
		"rule": "PG110",
		"msg": sprintf("%v (%v characters) is stored in the file", [found.kind, found.length]),
		"location": path,
		"within": [found.start, found.end],
		"sensitive": true,
		"help": "store it in the environment's secrets store and put a reference here (vault://…); rotate it, since it was committed",
	}
}
