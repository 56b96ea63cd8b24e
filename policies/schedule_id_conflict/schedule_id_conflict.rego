# PG205 schedule-id-conflict: a schedule id names one pipeline in a Temporal
# namespace; two pipelines registering the same id would overwrite each
# other's schedule.
package planguard.project.schedule_id_conflict

import data.planguard.lib.project
import rego.v1

pipeline(plan) := object.get(plan.contents, ["input", "pipeline"], plan.workspace)

# Plans by namespace and schedule id: only plans that share both can conflict.
by_schedule[plan.contents.namespace][plan.contents.schedule_id] contains plan if some plan in project.plans

# The pipelines behind each schedule id: every build of a pipeline shares its
# id, so plans are compared pairwise only where two pipelines do.
pipelines[plan.contents.namespace][plan.contents.schedule_id] contains pipeline(plan) if some plan in project.plans

deny contains finding if {
	some plan in project.plans
	count(pipelines[plan.contents.namespace][plan.contents.schedule_id]) > 1
	some other in by_schedule[plan.contents.namespace][plan.contents.schedule_id]
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
