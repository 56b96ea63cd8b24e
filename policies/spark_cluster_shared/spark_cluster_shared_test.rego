package planguard.project.spark_cluster_shared_test

import data.planguard.project.spark_cluster_shared
import rego.v1

environments := {"dev": {}, "uat": {}, "prod": {"require_dedicated_cluster": true}}

config(env, name, master) := {
	"kind": "config", "path": sprintf("conf/%s.json", [env]), "workspace": "", "environment": env,
	"contents": {"spark": {"cluster": {"name": name, "master": master}}},
}

test_prod_on_the_shared_qa_cluster_is_denied if {
	findings := spark_cluster_shared.deny with data.planguard.environments as environments
		with input as [config("dev", "spark-qa", "k8s://qa"), config("prod", "spark-qa", "k8s://prod")]
	count(findings) == 1
	some f in findings
	f.file == "conf/prod.json"
	f.location == ["spark", "cluster", "name"]
	f.related[0].file == "conf/dev.json"
}

test_the_same_master_under_another_name_is_shared if {
	findings := spark_cluster_shared.deny with data.planguard.environments as environments
		with input as [config("dev", "spark-qa", "k8s://qa"), config("prod", "spark-prod", "k8s://qa")]
	[f.location | some f in findings] == [["spark", "cluster", "master"]]
}

test_one_finding_when_several_environments_share_it if {
	findings := spark_cluster_shared.deny with data.planguard.environments as environments
		with input as [config("dev", "c", "m1"), config("uat", "c", "m2"), config("prod", "c", "m3")]
	[f.related[0].file | some f in findings] == ["conf/dev.json"]
}

test_a_dedicated_cluster_passes if {
	count(spark_cluster_shared.deny) == 0 with data.planguard.environments as environments
		with input as [config("dev", "spark-qa", "k8s://qa"), config("prod", "spark-prod", "k8s://prod")]
}

test_dev_and_uat_may_share if {
	count(spark_cluster_shared.deny) == 0 with data.planguard.environments as environments
		with input as [config("dev", "spark-qa", "k8s://qa"), config("uat", "spark-qa", "k8s://qa")]
}

test_other_workspaces_are_not_compared if {
	other := object.union(config("dev", "spark-qa", "k8s://qa"), {"workspace": "elsewhere"})
	count(spark_cluster_shared.deny) == 0 with data.planguard.environments as environments
		with input as [other, config("prod", "spark-qa", "k8s://qa")]
}
