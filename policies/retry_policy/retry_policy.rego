# PG116 retry-policy: retries that behave and end: the initial interval not
# above the maximum, a sane number of attempts, and bounded attempts where the
# environment requires it (PROD by default). The schema already requires a
# backoff coefficient of at least 1 (PG010).
package planguard.rules.retry_policy

import data.planguard.lib.fields
import rego.v1

retry := fields.values.retry_policy

at(key) := array.concat(fields.path(data.planguard.file.kind, "retry_policy"), [key])

deny contains {"rule": "PG116", "msg": sprintf("initial interval \"%v\" is longer than the maximum interval \"%v\"", [initial, maximum]), "location": at("initial_interval")} if {
	initial := retry.initial_interval
	maximum := retry.maximum_interval
	is_string(initial)
	is_string(maximum)
	maximum_ns := planguard.duration_ns(maximum)
	maximum_ns > 0
	planguard.duration_ns(initial) > maximum_ns
}

deny contains finding if {
	fields.environment.require_bounded_retries
	retry
	object.get(retry, "maximum_attempts", 0) == 0
	finding := {
		"rule": "PG116",
		"msg": sprintf("retries are unbounded (maximum_attempts 0 or unset), which %s forbids", [data.planguard.file.environment]),
		"location": location_of_attempts,
		"help": "set maximum_attempts, e.g. 5",
	}
}

location_of_attempts := at("maximum_attempts") if retry.maximum_attempts

location_of_attempts := fields.path(data.planguard.file.kind, "retry_policy") if not retry.maximum_attempts

deny contains finding if {
	retry
	limit := retry.maximum_attempts
	is_number(limit)
	limit > 100
	finding := {
		"rule": "PG116",
		"msg": sprintf("%v attempts is far beyond what a failing Spark job needs; failures go unnoticed for too long", [limit]),
		"location": at("maximum_attempts"),
	}
}
