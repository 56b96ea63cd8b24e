# PG117 timeout-order: timeouts that nest: a run fits in the execution and a
# workflow task in a run, or the outer timeout can never fire first.
package planguard.rules.timeout_order

import data.planguard.lib.fields
import rego.v1

kind := data.planguard.file.kind

deny contains finding if {
	timeouts := fields.values.timeouts
	some pair in [["run", "execution"], ["task", "run"]]
	inner := pair[0]
	outer := pair[1]
	a := timeouts[inner]
	b := timeouts[outer]
	is_string(a)
	is_string(b)
	outer_ns := planguard.duration_ns(b)
	outer_ns > 0
	planguard.duration_ns(a) > outer_ns
	finding := {
		"rule": "PG117",
		"msg": sprintf("the %s timeout \"%v\" is longer than the %s timeout \"%v\"", [inner, a, outer, b]),
		"location": array.concat(fields.path(kind, "timeouts"), [inner]),
		"help": sprintf("the %s timeout bounds every %s; make it the longer one", [outer, inner]),
	}
}
