package planguard.rules.spark_autoscale_test

import data.planguard.rules.spark_autoscale
import rego.v1

uat := {"uat": {"require_autoscale": true}, "dev": {"require_autoscale": false}}

config(cluster) := {"spark": {"cluster": cluster}}

test_a_uat_config_without_bounds_is_denied if {
	findings := spark_autoscale.deny with input as config({"name": "spark-uat"})
		with data.planguard.file as {"kind": "config", "environment": "uat"}
		with data.planguard.environments as uat
	[f.location | some f in findings] == [["spark", "cluster"]]
}

test_a_uat_plan_without_bounds_is_denied if {
	findings := spark_autoscale.deny with input as {"input": {"spark": {"cluster": "spark-uat"}}}
		with data.planguard.file as {"kind": "plan", "environment": "uat"}
		with data.planguard.environments as uat
	[f.location | some f in findings] == [["input", "spark"]]
}

test_dev_may_run_without_bounds if {
	count(spark_autoscale.deny) == 0 with input as config({"name": "spark-qa"})
		with data.planguard.file as {"kind": "config", "environment": "dev"}
		with data.planguard.environments as uat
}

test_bounds_out_of_order_are_denied_everywhere if {
	findings := spark_autoscale.deny with input as config({"name": "spark-qa", "autoscale": {"min_executors": 8, "max_executors": 4}})
		with data.planguard.file as {"kind": "config", "environment": "dev"}
		with data.planguard.environments as uat
	[f.location | some f in findings] == [["spark", "cluster", "autoscale", "min_executors"]]
}

test_equal_bounds_pass if {
	count(spark_autoscale.deny) == 0 with input as config({"name": "spark-uat", "autoscale": {"min_executors": 4, "max_executors": 4}})
		with data.planguard.file as {"kind": "config", "environment": "uat"}
		with data.planguard.environments as uat
}

test_no_spark_section_is_left_to_the_schema if {
	count(spark_autoscale.deny) == 0 with input as {}
		with data.planguard.file as {"kind": "config", "environment": "uat"}
		with data.planguard.environments as uat
}
