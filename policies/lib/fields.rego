# Where each orchestration field lives in a config and in a plan, so that
# rules name a field once and find it in either kind of document.
package planguard.lib.fields

import rego.v1

paths := {
	"config": {
		"namespace": ["runtime", "orchestration", "temporal", "namespace"],
		"task_queue": ["runtime", "orchestration", "temporal", "task_queue"],
		"workflow_type": ["runtime", "orchestration", "temporal", "workflow_type"],
		"image": ["spark", "image"],
		"environment": ["environment"],
	},
	"plan": {
		"namespace": ["namespace"],
		"task_queue": ["task_queue"],
		"workflow_type": ["workflow_type"],
		"image": ["image", "ref"],
		"environment": ["environment"],
	},
}

# The path of `field` in a document of `kind`.
path(kind, field) := paths[kind][field]

# The value of `field` in `doc` (of `kind`), undefined when absent.
value(doc, kind, field) := v if {
	v := object.get(doc, paths[kind][field], null)
	v != null
}
