# PG209 spark-cluster-shared: in environments that require a dedicated Spark
# cluster (PROD by default; spec §1 "Dedicated prod cluster", against DEV's
# "Shared QA cluster"), the config's cluster is no other environment's: not
# the same name, not the same master URL. Compared within a workspace.
package planguard.project.spark_cluster_shared

import data.planguard.lib.project
import rego.v1

# [field under spark.cluster, how the message names it]
identities := [["name", "cluster"], ["master", "master"]]

deny contains finding if {
	some config in project.configs
	data.planguard.environments[config.environment].require_dedicated_cluster
	some [field, noun] in identities
	mine := config.contents.spark.cluster[field]
	is_string(mine)
	others := [other |
		some other in project.configs_by[config.workspace]
		other.environment != config.environment
		other.contents.spark.cluster[field] == mine
	]
	count(others) > 0
	first := sort([other.path | some other in others])[0]
	some other in others
	other.path == first
	finding := {
		"rule": "PG209",
		"msg": sprintf("the Spark %s \"%v\" is also %v's, but %v requires a dedicated cluster", [noun, mine, other.environment, config.environment]),
		"file": config.path,
		"location": ["spark", "cluster", field],
		"related": [{"file": other.path, "location": ["spark", "cluster", field], "msg": "also used here"}],
		"help": sprintf("run %v on a cluster of its own", [config.environment]),
	}
}
