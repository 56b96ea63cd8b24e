package planguard.rules.task_queue_not_allowed_test

import data.planguard.rules.task_queue_not_allowed
import rego.v1

environments := {"dev": {"task_queues": ["spark-ingest-dev", "temporal-maintenance"]}}

test_maintenance_queue_is_allowed_in_dev if {
	count(task_queue_not_allowed.deny) == 0 with input as {"task_queue": "temporal-maintenance"}
		with data.planguard.file as {"kind": "plan", "environment": "dev"}
		with data.planguard.environments as environments
}

test_prod_queue_is_denied_in_dev if {
	count(task_queue_not_allowed.deny) == 1 with input as {"task_queue": "spark-ingest-prod"}
		with data.planguard.file as {"kind": "plan", "environment": "dev"}
		with data.planguard.environments as environments
}

test_the_failover_queue_is_allowed if {
	count(task_queue_not_allowed.deny) == 0 with input as {"task_queue": "spark-ingest-prod-failover"}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as {"prod": {"task_queues": ["spark-ingest-prod"], "failover_task_queues": ["spark-ingest-prod-failover"]}}
}

test_another_environments_failover_queue_is_not if {
	count(task_queue_not_allowed.deny) == 1 with input as {"task_queue": "spark-ingest-dev-failover"}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as {"prod": {"task_queues": ["spark-ingest-prod"], "failover_task_queues": ["spark-ingest-prod-failover"]}}
}
