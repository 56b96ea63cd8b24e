# PG117 timeout-order: timeouts that nest: a run fits in the execution and a
# workflow task in a run, or the outer timeout can never fire first.
package planguard.rules.timeout_order

import data.planguard.lib.fields
import rego.v1

kind := data.planguard.file.kind

timeouts := fields.value(input, kind, "timeouts")

pairs := [["run", "execution"], ["task", "run"]]

deny contains finding if {
	some pair in pairs
	inner := pair[0]
	outer := pair[1]
	a := fields.duration(timeouts[inner])
	b := fields.duration(timeouts[outer])
	b > 0
	a > b
	finding := {
		"rule": "PG117",
		"msg": sprintf("the %s timeout \"%v\" is longer than the %s timeout \"%v\"", [inner, timeouts[inner], outer, timeouts[outer]]),
		"location": array.concat(fields.path(kind, "timeouts"), [inner]),
		"help": sprintf("the %s timeout bounds every %s; make it the longer one", [outer, inner]),
	}
}
