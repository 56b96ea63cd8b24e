# PG205 schedule-id-conflict: a schedule id names one pipeline in a Temporal
# namespace; two pipelines registering the same id would overwrite each
# other's schedule.
package planguard.project.schedule_id_conflict

import data.planguard.lib.project
import rego.v1

pipeline(plan) := object.get(plan.contents, ["input", "pipeline"], plan.workspace)

# The pipelines behind each schedule id: every build of a pipeline shares its
# id, so plans are compared pairwise only where two pipelines do.
pipelines[plan.contents.namespace][plan.contents.schedule_id] contains pipeline(plan) if some plan in project.plans

# The plans of a schedule id that two pipelines register, gathered only for
# such ids (rare), so that a store of many builds is read once.
shared[namespace][schedule_id] := [plan |
	some plan in project.plans
	plan.contents.namespace == namespace
	plan.contents.schedule_id == schedule_id
] if {
	some namespace, schedule_id
	count(pipelines[namespace][schedule_id]) > 1
}

deny contains finding if {
	some namespace, schedule_id
	members := shared[namespace][schedule_id]
	some plan in members
	some other in members
	plan.path != other.path
	pipeline(plan) != pipeline(other)
	finding := {
		"rule": "PG205",
		"msg": sprintf("schedule id \"%v\" in %s is also used by pipeline \"%v\"", [plan.contents.schedule_id, plan.contents.namespace, pipeline(other)]),
		"file": plan.path,
		"location": ["schedule_id"],
		"related": [{"file": other.path, "location": ["schedule_id"], "msg": "also registered here"}],
		"help": "give each pipeline its own schedule id (e.g. prefix it with the pipeline name)",
	}
}
