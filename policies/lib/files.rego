# Files a document names, relative to its workspace: the path planguard reads
# them at, and why it will not read one. Reads stay inside the workspace (the
# folder of planguard.toml, else the document's workspace): an absolute path,
# a `..` or a symbolic link that leads out is a PG120 finding, and the file
# functions refuse it anyway.
package planguard.lib.files

import rego.v1

# The path from the working folder of the file `relative` names.
path(relative) := concat("/", [p |
	some p in [object.get(data.planguard.file, "workspace", ""), relative]
	is_string(p)
	p != ""
])

# Why the file `relative` names is not read, or "" when it is.
problem(relative) := "is an absolute path" if absolute(relative)

problem(relative) := planguard.path_error(path(relative)) if not absolute(relative)

absolute(relative) if regex.match(`^([A-Za-z]:)?[/\\]`, relative)
