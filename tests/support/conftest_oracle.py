"""conftest's verdicts, computed with OPA's own engine.

conftest is a Go binary we cannot install here, so this follows its check loop
(policy/engine.go: rules named ^(deny|violation)(_[a-zA-Z0-9]+)*$ or
^warn(_[a-zA-Z0-9]+)*$, the exception query
data.<ns>.exception[_][_] == <rule without deny_/violation_>, only strings and
objects with msg count) on top of OPA's evaluator. Rule names are read from the
evaluated package document, not scanned from source as planguard does, so the
two sides find rules independently.

Data (--data) is loaded as conftest's LoadWithData does: every .json, .yaml or
.yml file below each path (extension as written), each merged at the root of
`data` whatever its folder, a key set by two files being a conflict (OPA's
loader). YAML is read by PyYAML, a YAML 1.1 reader as OPA's go-yaml v2 is.

usage: conftest_oracle.py [--namespace NS]... [--data PATH]... POLICY_DIR INPUT...
(no --namespace: main)
prints JSON: [[path, "<ns>.<rule>", "error"|"warning", message], ...] sorted;
a data path conftest cannot load: exit status 3, the reason on stderr.
"""

import argparse
import json
import pathlib
import re
import sys

import yaml
from opa_bindings import OpaEngine, OpaUndefinedError

FAILURE = re.compile(r"^(deny|violation)(_[a-zA-Z0-9]+)*$")
WARNING = re.compile(r"^warn(_[a-zA-Z0-9]+)*$")
DATA_EXTENSIONS = (".json", ".yaml", ".yml")


def remove_failure_prefix(rule):
    for prefix in ("deny_", "violation_"):
        if rule.startswith(prefix):
            return rule[len(prefix):]
    return rule


class DataConflict(Exception):
    pass


def data_files(path):
    """OPA's FilteredPaths with conftest's filter: the filter applies to a
    file named directly too, and a folder is walked in name order."""
    path = pathlib.Path(path)
    if path.is_file():
        return [path] if path.suffix in DATA_EXTENSIONS else []
    found = []
    for child in sorted(path.iterdir()):
        found.extend(data_files(child))
    return found


def merge(into, document, at):
    """OPA's merge.InterfaceMaps: objects merge, any other meeting conflicts."""
    for key, value in document.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            merge(into[key], value, at + [key])
        else:
            raise DataConflict(".".join(at + [key]))


def load_data(paths):
    data = {}
    for path in paths:
        for file in data_files(path):
            text = file.read_text()
            if file.suffix == ".json":
                document = json.loads(text)
            else:
                document = yaml.safe_load(text)
            if not isinstance(document, dict):
                raise DataConflict(f"{file}: not an object")
            merge(data, document, [])
    return data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--namespace", action="append")
    parser.add_argument("--data", action="append", default=[])
    parser.add_argument("policy_dir")
    parser.add_argument("inputs", nargs="*")
    args = parser.parse_args()
    namespaces = args.namespace or ["main"]

    engine = OpaEngine()
    for path in sorted(pathlib.Path(args.policy_dir).rglob("*.rego")):
        if not path.name.endswith("_test.rego"):
            engine.add_policy(str(path), path.read_text())
    try:
        data = load_data(args.data)
    except (DataConflict, ValueError, yaml.YAMLError) as e:
        print(f"conftest cannot load the data: {e}", file=sys.stderr)
        sys.exit(3)
    if data:
        engine.add_data(data)

    verdicts = []
    for path in args.inputs:
        document = json.loads(pathlib.Path(path).read_text())
        for namespace in namespaces:
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
                rule_id = f"{namespace}.{rule}"
                for item in value:
                    if isinstance(item, str):
                        verdicts.append([path, rule_id, severity, item])
                    elif isinstance(item, dict):
                        verdicts.append([path, rule_id, severity, item["msg"]])
    print(json.dumps(sorted(verdicts)))


if __name__ == "__main__":
    main()
