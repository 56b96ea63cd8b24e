# PG204 promotion-unverified: images move DEV → UAT → PROD by content: the
# image a plan deploys was deployed by a plan of the previous environment in
# the store (spec §2.2 "Promote Docker images and plan JSON between DEV → UAT →
# PROD using immutable tags"). Compared by digest, so a re-tagged image is
# caught.
package planguard.project.promotion_unverified

import data.planguard.lib.fields
import data.planguard.lib.project
import rego.v1

order := data.planguard.promotion

previous(env) := order[i - 1] if {
	some i, name in order
	name == env
	i > 0
}

digest_of(plan) := fields.digest(plan.contents.image.ref, plan.contents.image)

# Group by group: the previous environment is found once per environment,
# not once per build kept.
deny contains finding if {
	some workspace, environment
	before := previous(environment)
	known := object.get(digests, [workspace, before], set())
	some plan in project.plans_by[workspace][environment]
	digest := digest_of(plan)
	not digest in known
	finding := {
		"rule": "PG204",
		"msg": sprintf("image %s was never deployed to %s by a plan in the store", [digest, before]),
		"file": plan.path,
		"location": ["image", "ref"],
		"help": sprintf("promote the image through %s first (its plan records the same digest)", [before]),
	}
}

# The digests each environment's plans deployed, by workspace, computed once
# (not by comparing each plan with every plan of the previous environment).
digests[plan.workspace][plan.environment] contains digest if {
	some plan in project.plans
	digest := digest_of(plan)
}
