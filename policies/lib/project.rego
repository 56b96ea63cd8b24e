# Helpers for cross-file rules: which documents belong together.
package planguard.lib.project

import rego.v1

# The fields of each kind of document that the built-in cross-file rules
# read (besides a config's `sha256`: the hash of its file's bytes). planguard hands those rules only these fields of each document (as
# `contents`, at the same paths), so that a check over many files holds small
# facts rather than whole documents. A rule that reads another field must
# list it here.
facts := {
	"plan": [
		["namespace"], ["task_queue"], ["workflow_type"], ["schedule_id"],
		["schedule"], ["policies"], ["retry_policy"], ["timeouts"],
		["image", "ref"], ["image", "digest"], ["input", "pipeline"],
		["source_config", "sha256"],
	],
	"config": [
		["runtime", "orchestration", "temporal"], ["spark", "image"],
		["spark", "cluster", "name"], ["spark", "cluster", "master"],
	],
}

plans contains doc if {
	some doc in input
	doc.kind == "plan"
}

configs contains doc if {
	some doc in input
	doc.kind == "config"
}

# Plans by workspace and environment, configs by workspace: rules compare a
# document with its own group only, so that checking N files stays close to
# O(N) instead of comparing every pair.
plans_by[plan.workspace][plan.environment] contains plan if some plan in plans

configs_by[config.workspace] contains config if some config in configs

# Digits only (a build number), without a regular expression: regorus
# rebuilds a regex's matching state on every call, and this is asked of every
# plan. A plan named outside the layout has no build (null): not a number.
numeric(build) if {
	is_string(build)
	build != ""
	trim_left(build, "0123456789") == ""
}

# The newest plan of each environment in each workspace: the one `apply`
# would register. Older plans are history, kept for rollback.
latest(plan) if {
	numeric(plan.build)
	to_number(plan.build) == newest_build[plan.workspace][plan.environment]
}

# The newest plan of each group, found once per check: rules that look at
# the newest plans only iterate these, not every build kept.
latest_plans contains plan if {
	some workspace, environment
	newest := newest_build[workspace][environment]
	some plan in plans_by[workspace][environment]
	numeric(plan.build)
	to_number(plan.build) == newest
}

# The highest numeric build of each group, computed once: comparing each
# plan with every other plan of its environment made a store that keeps
# every build's plan quadratic to check.
newest_build[workspace][environment] := max(builds) if {
	some workspace, environment
	group := plans_by[workspace][environment]
	builds := {to_number(plan.build) |
		some plan in group
		numeric(plan.build)
	}
	count(builds) > 0
}

# The config of a plan's environment, in its workspace.
config_of(plan) := config if {
	some config in configs_by[plan.workspace]
	config.environment == plan.environment
}
