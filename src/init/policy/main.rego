# An example of your own rule: every plan spreads its runs with a jitter, so
# that the pipelines of a namespace do not all start at the same second.
# `planguard check` applies it beside the built-in rules; `planguard test
# policy` runs its tests. Results follow conftest: a string, or an object
# with `msg` and, to point at the value, a JSON pointer in `location`.
package main

import rego.v1

deny contains finding if {
	data.planguard.file.kind == "plan"
	not input.schedule.jitter
	finding := {
		"rule": "team.schedule-jitter",
		"msg": "the schedule has no jitter: all its runs start on the second",
		"location": "/schedule",
	}
}
