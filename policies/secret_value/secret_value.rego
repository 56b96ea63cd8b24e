# PG110 secret-value: no secret values in configs or plans; credentials are
# references into the environment's secrets store, fetched at run time (spec §4
# "Keep orchestration plan JSON free of secrets"). Findings are `sensitive`:
# planguard masks the value in every output and never prints it.
package planguard.rules.secret_value

import data.planguard.lib.fields
import rego.v1

# Each detector says where its secret starts when the secret's text could also
# occur earlier in the value (a password equal to a word of the host name);
# planguard masks every occurrence of the secret's text anyway.

# Keys whose literal value is a secret, whatever it looks like.
secret_key := `(?i)^(.*[_-])?(password|passwd|pwd|secret|client_secret|passphrase)$`

# Keys whose value is a secret when it looks random enough.
token_key := `(?i)^(.*[_-])?(token|access_token|refresh_token|api_key|apikey|access_key|secret_key|private_key|signing_key|auth_key|routing_key|integration_key|webhook_url|credentials?)$`

# What the detectors found, as [path, {kind, secret, start, rank}]: where the
# secret is, what kind it is, its text and where in the string it starts
# (when its text could also occur earlier, say a password that is also a word
# of the host name; planguard masks every occurrence of the text anyway).
# A string several detectors match is reported once, by the lowest rank.
strings contains [path, value] if {
	some path, value
	walk(input, [path, value])
	is_string(value)
}

detections contains [path, {"kind": "a password in a URL query", "secret": m[2], "start": (indexof(value, m[0]) + count(m[0])) - count(m[2]), "rank": 1}] if {
	some [path, value] in strings
	contains(value, "=")
	some m in regex.find_all_string_submatch_n(`(?i)[?&;](password|pwd|passwd)=([^&;]+)`, value, 1)
	not placeholder(m[2])
}

detections contains [path, {"kind": "a password in a URL's user information", "secret": m[1], "start": (count(m[0]) - 1) - count(m[1]), "rank": 2}] if {
	some [path, value] in strings
	contains(value, "@")
	some m in regex.find_all_string_submatch_n(`^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9+.-]+:)?//[^/:@\s]+:([^/@\s]+)@`, value, 1)
	not placeholder(m[1])
}

detections contains [path, {"kind": "a private key", "secret": value, "start": 0, "rank": 3}] if {
	some [path, value] in strings
	contains(value, "-----BEGIN ")
	contains(value, "PRIVATE KEY")
}

detections contains [path, {"kind": "an AWS access key id", "secret": m[0], "start": indexof(value, m[0]), "rank": 4}] if {
	some [path, value] in strings
	some prefix in ["AKIA", "ASIA"]
	contains(value, prefix)
	some m in regex.find_all_string_submatch_n(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`, value, 1)
}

detections contains [path, {"kind": "a Slack webhook URL", "secret": m[0], "start": indexof(value, m[0]), "rank": 5}] if {
	some [path, value] in strings
	contains(value, "hooks.slack.com")
	some m in regex.find_all_string_submatch_n(`https://hooks\.slack\.com/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+`, value, 1)
}

detections contains [path, {"kind": "a bearer token", "secret": m[1], "start": (indexof(value, m[0]) + count(m[0])) - count(m[1]), "rank": 6}] if {
	some [path, value] in strings
	contains(lower(value), "bearer")
	some m in regex.find_all_string_submatch_n(`(?i)\bbearer\s+([A-Za-z0-9._~+/-]{8,}=*)`, value, 1)
}

detections contains [path, {"kind": sprintf("a literal value under `%v`", [key]), "secret": value, "start": 0, "rank": 7}] if {
	some [path, value] in strings
	key := last_key(path)
	key in secret_keys
	literal(value)
}

detections contains [path, {"kind": "a PagerDuty integration key", "secret": value, "start": 0, "rank": 8}] if {
	some [path, value] in strings
	count(value) == 32
	regex.match(`^[a-zA-Z0-9+_-]{32}$`, value)
	contains(lower(concat("/", [sprintf("%v", [p]) | some p in path])), "pagerduty")
}

detections contains [path, {"kind": sprintf("a random-looking value under `%v`", [key]), "secret": value, "start": 0, "rank": 9}] if {
	some [path, value] in strings
	key := last_key(path)
	key in token_keys
	literal(value)
	count(value) >= 16
	planguard.entropy(value) >= 3.5
}

# The keys that name secrets or tokens. A document has few distinct keys and
# many strings, so each key is matched against the patterns once, not once
# per string: these detectors run on every string of every document, and
# each cheap test above spares a regular expression.
keys := {key | some [path, _] in strings; key := last_key(path)}

# Each pattern above ends in one of a few letters (or one that folds to it
# without case), a test cheaper than the pattern.
# (endswith, not a substring of the last character: counting characters in
# a key with non-ASCII text before the suffix differs between engines.)
secret_keys := {key | some key in keys; some letter in {"d", "D", "t", "T", "e", "E"}; endswith(key, letter); regex.match(secret_key, key)}

token_keys := {key | some key in keys; some letter in {"n", "N", "y", "Y", "l", "L", "s", "S", "ſ"}; endswith(key, letter); regex.match(token_key, key)}

last_key(path) := key if {
	key := path[count(path) - 1]
	is_string(key)
}

# A value that is not a reference, a placeholder or empty.
literal(value) if {
	value != ""
	not fields.is_secret_ref(value)
	not placeholder(value)
}

deny contains finding if {
	some detection in detections
	path := detection[0]
	found := detection[1]
	not outranked(path, found.rank)
	finding := {
		"rule": "PG110",
		"msg": sprintf("%v (%v characters) is stored in the file", [found.kind, count(found.secret)]),
		"location": path,
		"within": [found.start, found.start + count(found.secret)],
		"sensitive": true,
		"help": "store it in the environment's secrets store and put a reference here (vault://…); rotate it, since it was committed",
	}
}

outranked(path, rank) if {
	some other in detections
	other[0] == path
	other[1].rank < rank
}

# A reference to a variable, not a value: ${VAR}.
placeholder(text) if {
	startswith(text, "${")
	regex.match(`^\$\{[^}]+\}$`, text)
}
