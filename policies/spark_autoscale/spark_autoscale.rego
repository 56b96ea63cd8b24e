# PG121 spark-autoscale: the Spark cluster scales within sane bounds. In
# environments that require it (UAT and PROD by default; spec §1 "Staging
# autoscale cluster", "Dedicated prod cluster with autoscale") a config or
# plan gives executor bounds, and everywhere min_executors ≤ max_executors
# (which the schemas promise is checked by policy).
package planguard.rules.spark_autoscale

import data.planguard.lib.fields
import rego.v1

deny contains finding if {
	file := data.planguard.file
	fields.environment.require_autoscale
	is_object(fields.values.spark)
	not has_bounds
	path := fields.path(file.kind, "autoscale")
	finding := {
		"rule": "PG121",
		"msg": sprintf("the Spark cluster has no autoscale bounds, which %s requires", [file.environment]),
		"location": array.slice(path, 0, count(path) - 1),
		"help": "add autoscale: {\"min_executors\": …, \"max_executors\": …} (spark.dynamicAllocation bounds)",
	}
}

deny contains finding if {
	file := data.planguard.file
	bounds := fields.values.autoscale
	is_number(bounds.min_executors)
	is_number(bounds.max_executors)
	bounds.min_executors > bounds.max_executors
	finding := {
		"rule": "PG121",
		"msg": sprintf("min_executors %v is above max_executors %v, so Spark cannot start the run", [bounds.min_executors, bounds.max_executors]),
		"location": array.concat(fields.path(file.kind, "autoscale"), ["min_executors"]),
		"help": "keep min_executors at or below max_executors",
	}
}

# A rule of its own, so that `not` applies to a defined rule: OPA and regorus
# differ on `not f(x)` when x is undefined.
has_bounds if is_object(fields.values.autoscale)
