"""The benchmark's reference: planguard's built-in Rego evaluated by OPA's own
engine (opa-golib-python-bindings), prepared once and run per document.

usage: opa_engine.py WORKSPACE
environment: PLANGUARD_BIN, the planguard binary (for --show-settings)
prints one JSON line: documents, seconds (load, documents, project,
callbacks), findings by rule id.

Discovery, loading, `data` and the reading of results are
tests/support/opa_fidelity.py's (the fidelity test's reference side); what
differs is that this engine is built once: every policy and
data.planguard.{environments,promotion} are added up front, and each document
is one evaluation of the same query (so OPA prepares it once),

    x = data.planguard.rules with data.planguard.file as input.file with input as input.document

which gives each document the same `input` and data.planguard.file as
planguard does. The cross-file packages then run once, with the input
planguard gives them: for each document its path, kind, workspace,
environment, build and, as `contents`, the fields listed in
data.planguard.lib.project.facts.

Timed: the evaluations (including the JSON hand-over to Go, which is OPA's
input path); not timed: finding and parsing the files in Python. planguard's
custom functions (planguard.cron_error…) are Python callbacks here; their
time is reported separately.
"""

import json
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

import opa_fidelity as fidelity  # noqa: E402
import planguard_functions  # noqa: E402
from opa_bindings import OpaEngine, OpaError, OpaUndefinedError  # noqa: E402

QUERY = "x = data.planguard.rules with data.planguard.file as input.file with input as input.document"
CONTEXT = ("path", "kind", "workspace", "environment", "build")


class Timed:
    """Wraps the engine's register_function so callbacks are timed."""

    def __init__(self, engine):
        self.engine = engine
        self.seconds = 0.0

    def register_function(self, name, fn, **kw):
        def timed(*args):
            started = time.perf_counter()
            try:
                return fn(*args)
            finally:
                self.seconds += time.perf_counter() - started

        self.engine.register_function(name, timed, **kw)


def project(value, paths):
    """The fields at `paths` of `value`, in place (policy.rs `facts`)."""
    if not isinstance(value, dict):
        return value
    out = {}
    for path in paths:
        source, target = value, out
        for i, key in enumerate(path):
            if not isinstance(source, dict) or key not in source:
                break
            if i == len(path) - 1 or not isinstance(source[key], dict):
                target[key] = source[key]
                break
            else:
                source = source[key]
                target = target.setdefault(key, {})
    return out


def main():
    workspace = sys.argv[1]
    settings = fidelity.show_settings(None, [workspace])
    started = time.perf_counter()
    docs = fidelity.documents([workspace], settings)
    load_seconds = time.perf_counter() - started

    base = {"planguard": {"environments": settings["environments"], "promotion": settings["promotion"]}}
    sources, rejected = fidelity.compilable(fidelity.policy_sources(), base)
    if rejected:
        raise SystemExit(f"OPA rejects {rejected}")
    engine = OpaEngine()
    timed = Timed(engine)
    planguard_functions.register(timed)
    for path, text, _ in sources:
        engine.add_policy(fidelity.label(path), text)
    engine.add_data(base)
    facts = engine.eval_document("planguard.lib.project.facts")

    # Findings as the fidelity test counts them: planguard folds those that
    # land on the same place with the same message.
    rows = set()
    by_path = {d["path"]: d for d in docs}

    def results(tree, prefix, subject=None):
        def emit(rule_id, severity, msg, result):
            doc = subject or by_path.get(fidelity.display_path(result.get("file", "")))
            pointer = fidelity.location_pointer(result.get("location", "")) or ""
            pointer = fidelity.nearest(doc["value"], pointer) if doc else pointer
            rows.add((doc and doc["path"], rule_id, msg, pointer, json.dumps(result.get("within"))))

        for package, rules in sorted(flatten(tree, prefix)):
            for rule, value in sorted(rules.items()):
                fidelity.results(package, rule, value, emit)

    started = time.perf_counter()
    for doc in docs:
        context = {k: doc[k] for k in CONTEXT}
        bindings = engine.eval_query(QUERY, {"file": context, "document": doc["value"]})
        results(bindings[0]["x"] if bindings else {}, "planguard.rules", doc)
    documents_seconds = time.perf_counter() - started
    document_callbacks = timed.seconds

    started = time.perf_counter()
    project_input = [
        dict({k: d[k] for k in CONTEXT}, contents=project(d["value"], facts.get(d["kind"], [])))
        for d in docs
    ]
    try:
        tree = engine.eval_document("planguard.project", project_input)
    except OpaUndefinedError:
        tree = {}
    results(tree, "planguard.project")
    project_seconds = time.perf_counter() - started
    engine.close()

    line = {
        "documents": len(docs),
        "seconds": {
            "load": load_seconds,
            "documents": documents_seconds,
            "project": project_seconds,
            "callbacks": timed.seconds,
            "document_callbacks": document_callbacks,
        },
        "findings": dict(sorted(count_by_rule(rows).items())),
    }
    print(json.dumps(line))


def count_by_rule(rows):
    counts = {}
    for row in rows:
        counts[row[1]] = counts.get(row[1], 0) + 1
    return counts


def flatten(tree, prefix):
    """(package, rules) for every package below `prefix` in an evaluated tree."""
    if not isinstance(tree, dict):
        return
    rules = {k: v for k, v in tree.items() if fidelity.RULE_NAME.match(k)}
    if rules:
        yield prefix, rules
    for key, value in tree.items():
        if isinstance(value, dict) and not fidelity.RULE_NAME.match(key):
            yield from flatten(value, f"{prefix}.{key}")


if __name__ == "__main__":
    try:
        main()
    except OpaError as e:
        raise SystemExit(f"OPA: {e}") from e
