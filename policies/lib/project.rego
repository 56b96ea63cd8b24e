# Helpers for cross-file rules: which documents belong together.
package planguard.lib.project

import rego.v1

plans contains doc if {
	some doc in input
	doc.kind == "plan"
}

configs contains doc if {
	some doc in input
	doc.kind == "config"
}

numeric(build) if regex.match(`^[0-9]+$`, build)

# The newest plan of each environment in each workspace: the one `apply`
# would register. Older plans are history, kept for rollback.
latest(plan) if {
	numeric(plan.build)
	not newer_exists(plan)
}

newer_exists(plan) if {
	some other in plans
	other.workspace == plan.workspace
	other.environment == plan.environment
	numeric(other.build)
	to_number(other.build) > to_number(plan.build)
}

# The config of a plan's environment, in its workspace.
config_of(plan) := config if {
	some config in configs
	config.workspace == plan.workspace
	config.environment == plan.environment
}
