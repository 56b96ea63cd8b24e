"""conftest's verdicts, computed with OPA's own engine.

conftest is a Go binary we cannot install here, so this follows its check loop
(policy/engine.go: rules named ^(deny|violation)(_[a-zA-Z0-9]+)*$ or
^warn(_[a-zA-Z0-9]+)*$, the exception query
data.<ns>.exception[_][_] == <rule without deny_/violation_>, only strings and
objects with msg count) on top of OPA's evaluator. Rule names are read from the
evaluated package document, not scanned from source as planguard does, so the
two sides find rules independently.

usage: conftest_oracle.py NAMESPACE POLICY_DIR INPUT...
prints JSON: [[path, "error"|"warning", message], ...] sorted
"""

import json
import pathlib
import re
import sys

from opa_bindings import OpaEngine, OpaUndefinedError

FAILURE = re.compile(r"^(deny|violation)(_[a-zA-Z0-9]+)*$")
WARNING = re.compile(r"^warn(_[a-zA-Z0-9]+)*$")


def remove_failure_prefix(rule):
    for prefix in ("deny_", "violation_"):
        if rule.startswith(prefix):
            return rule[len(prefix):]
    return rule


def main():
    namespace, policy_dir, *inputs = sys.argv[1:]
    engine = OpaEngine()
    for path in sorted(pathlib.Path(policy_dir).rglob("*.rego")):
        engine.add_policy(str(path), path.read_text())
    verdicts = []
    for path in inputs:
        document = json.loads(pathlib.Path(path).read_text())
        try:
            package = engine.eval_document(namespace.replace("/", "."), document)
        except OpaUndefinedError:
            package = {}
        rules = sorted(r for r in package if FAILURE.match(r) or WARNING.match(r))
        for rule in rules:
            name = json.dumps(remove_failure_prefix(rule))
            excepted = engine.eval_query(
                f"data.{namespace}.exception[_][_] == {name}", document
            )
            if excepted:
                continue
            value = package[rule]
            if not isinstance(value, list):
                continue
            severity = "error" if FAILURE.match(rule) else "warning"
            for item in value:
                if isinstance(item, str):
                    verdicts.append([path, severity, item])
                elif isinstance(item, dict):
                    verdicts.append([path, severity, item["msg"]])
    print(json.dumps(sorted(verdicts)))


if __name__ == "__main__":
    main()
