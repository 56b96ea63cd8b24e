# PG102 task-queue-not-allowed: the task queue must be one the environment
# allows (dev: spark-ingest-dev, temporal-maintenance; uat: spark-ingest-uat;
# prod: spark-ingest-prod by default; spec §1), or its failover queue
# (spark-ingest-<env>-failover by default; spec §6.3 "switch worker queue").
package planguard.rules.task_queue_not_allowed

import data.planguard.lib.fields
import rego.v1

deny contains finding if {
	file := data.planguard.file
	env := fields.environment
	queue := fields.values.task_queue
	not queue in env.task_queues
	not queue in object.get(env, "failover_task_queues", [])
	finding := object.union(
		{
			"rule": "PG102",
			"msg": sprintf("task queue \"%v\" is not allowed in %s (allowed: %s%s)", [queue, file.environment, concat(", ", env.task_queues), failover_note(env)]),
			"location": fields.path(file.kind, "task_queue"),
		},
		only_queue(env.task_queues, file.environment),
	)
}

# When the environment allows one queue, the finding says which, and fixes it.
only_queue(queues, environment) := {
	"help": sprintf("set it to \"%v\", or change [environments.%s] in planguard.toml", [queues[0], environment]),
	"fix": {"replace": queues[0]},
} if count(queues) == 1

only_queue(queues, _) := {} if count(queues) != 1

failover_note(env) := sprintf("; failover: %s", [concat(", ", env.failover_task_queues)]) if count(object.get(env, "failover_task_queues", [])) > 0

failover_note(env) := "" if count(object.get(env, "failover_task_queues", [])) == 0
