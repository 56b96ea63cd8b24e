"""planguard's built-in Rego findings, computed with OPA's own engine.

For the paths given, this finds the configs and plans the way planguard does
(its file patterns, read from `planguard check --show-settings`), builds the
same `data` and `input` (src/check/policy.rs) and evaluates every built-in
rule with OPA instead of regorus:

- per-document packages (`planguard.rules.*`): input = the document,
  data.planguard.file = {path, kind, workspace, environment, build};
- cross-file packages (`planguard.project.*`): run once, input = an array of
  {path, kind, workspace, environment, build, contents}, and a config's
  sha256 (of its file's bytes);
- data.planguard.environments and data.planguard.promotion from the settings;
- rules named deny/violation/warn (optionally _suffix): deny/violation give
  "error", warn "warning"; a result's `rule` (or `id`) names it, else
  `<package>.<rule>`; its `location` (pointer, dotted path or array) becomes
  a JSON pointer, resolved to its deepest existing ancestor as planguard's
  span resolver does.

Rule names are read from the evaluated package document, not scanned from
the source as planguard does, so the two sides find rules independently.
Policy trouble is reported in planguard's terms, the details on stderr: a
policy file OPA will not compile is a row [file, "PG020", "error",
"cannot load policy", ""] (and, as planguard does, the file is dropped and the
rest run); a rule whose evaluation fails is [subject file, "PG021", "error",
"`data.<package>.<rule>` failed", ""]. Note that opa_bindings evaluates with
strict built-in errors, so an erroring built-in fails the rule (as in
regorus) instead of being undefined (OPA's default).

usage: opa_fidelity.py [--config planguard.toml] PATH...
environment: PLANGUARD_BIN, the planguard binary (for --show-settings)
prints JSON: [[file, rule, severity, message, pointer], ...] sorted
"""

import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys

from opa_bindings import OpaEngine, OpaError, OpaUndefinedError

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from planguard_functions import register  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
DOCUMENT_PREFIX = "planguard.rules."
PROJECT_PREFIX = "planguard.project."
RULE_NAME = re.compile(r"^(deny|violation|warn)(_[a-zA-Z0-9]+)*$")
PACKAGE = re.compile(r"^[ \t]*package[ \t]+([A-Za-z_][A-Za-z0-9_.]*)", re.M)
ALWAYS_SKIPPED = {".git", "node_modules", "target", ".venv", "venv"}
# serde_json's recursion limit.
MAX_DEPTH = 128


# ------------------------------------------------------------------ settings


def show_settings(config, paths):
    args = [os.environ["PLANGUARD_BIN"], "check", "--show-settings"]
    if config:
        args += ["--config", config]
    out = subprocess.run(args + paths, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def path_pattern(pattern):
    """settings.rs PathPattern: {env}, {build}, `*`, `**/`; suffix match."""
    anchored = pattern.startswith("/")
    body = pattern[1:] if anchored else pattern
    regex = "^" if anchored else "(?:^|/)"
    i = 0
    while i < len(body):
        rest = body[i:]
        if rest.startswith("{env}"):
            regex += "(?P<env>[A-Za-z0-9_-]+)"
            i += 5
        elif rest.startswith("{build}"):
            regex += "(?P<build>[A-Za-z0-9._-]+)"
            i += 7
        elif rest.startswith("**/"):
            regex += "(?:[^/]+/)*"
            i += 3
        elif rest.startswith("*"):
            regex += "[^/]*"
            i += 1
        else:
            regex += re.escape(rest[0])
            i += 1
    return re.compile(regex + "$")


# ----------------------------------------------------------------- discovery


def display_path(path):
    s = str(path).replace("\\", "/")
    return s[2:] if s.startswith("./") else s


def classify(shown, settings):
    for kind, key in (("plan", "plans"), ("config", "configs")):
        for pattern in settings["files"][key]:
            m = path_pattern(pattern).search(shown)
            if m:
                return kind, {
                    "workspace": shown[: m.start()].rstrip("/"),
                    "env": m.groupdict().get("env"),
                    "build": m.groupdict().get("build"),
                }
    return None


def walk(root):
    """walkdir with sort_by_file_name, following links, skipping the usual."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d not in ALWAYS_SKIPPED)
        for name in sorted(filenames):
            if name.endswith(".json"):
                yield os.path.join(dirpath, name)


def candidates(paths, settings):
    found = {}
    for root in paths:
        if os.path.isfile(root):
            c = classify(display_path(root), settings)
            found[root] = (c[0], c[1]) if c else (None, None)
            continue
        for path in walk(root):
            c = classify(display_path(path), settings)
            if c:
                found[path] = c
    return [(p, *found[p]) for p in sorted(found, key=lambda p: pathlib.PurePath(p).parts)]


# -------------------------------------------------------------------- loading


class NotJson(Exception):
    pass


def _reject_constant(name):
    raise NotJson(name)


def _serde_number(value):
    # serde_json without arbitrary_precision: integers beyond i64/u64 are f64.
    if isinstance(value, int) and not isinstance(value, bool):
        if not -(2**63) <= value < 2**64:
            return float(value)
    return value


def _check(value, depth=1):
    if depth > MAX_DEPTH:
        raise NotJson("too deep")
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            _check_string(k)
            out[k] = _check(v, depth + 1)
        return out
    if isinstance(value, list):
        return [_check(v, depth + 1) for v in value]
    if isinstance(value, str):
        _check_string(value)
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        raise NotJson("number out of range")
    return _serde_number(value)


def _check_string(s):
    if any(0xD800 <= ord(c) <= 0xDFFF for c in s):
        raise NotJson("lone surrogate")


def load(path, max_size):
    """The document as serde_json would have it, or None when planguard would not load it."""
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError:
        return None
    if len(data) > max_size:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        # Duplicate keys: the last wins, as in serde_json.
        value = json.loads(text, parse_constant=_reject_constant)
        return _check(value)
    except (ValueError, NotJson, RecursionError):
        return None


def kind_by_content(value):
    if not isinstance(value, dict):
        return None
    if "plan_version" in value or "schedule_id" in value:
        return "plan"
    if "runtime" in value:
        return "config"
    return None


def documents(paths, settings):
    docs = []
    for path, kind, captures in candidates(paths, settings):
        value = load(path, settings["files"]["max-file-size"])
        if value is None:
            continue
        captures = captures or {"workspace": None, "env": None, "build": None}
        env = captures["env"]
        if env is None and isinstance(value, dict) and isinstance(value.get("environment"), str):
            env = value["environment"]
        docs.append(
            {
                "path": display_path(path),
                "kind": kind or kind_by_content(value),
                "workspace": captures["workspace"],
                "environment": env,
                "build": captures["build"],
                "value": value,
                "file": path,
            }
        )
    return docs


# ------------------------------------------------------------------ pointers


def escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


def location_pointer(location):
    """policy.rs location_pointer; None when it cannot be one."""
    if isinstance(location, str):
        if location == "" or location.startswith("/"):
            return location
        return "".join("/" + escape(t) for t in location.split("."))
    if isinstance(location, list):
        parts = []
        for p in location:
            if isinstance(p, str):
                parts.append("/" + escape(p))
            elif isinstance(p, (int, float)) and not isinstance(p, bool):
                parts.append("/" + json.dumps(p))
            else:
                return None
        return "".join(parts)
    return None


def array_index(token):
    canonical = token.isascii() and token.isdigit() and (token == "0" or not token.startswith("0"))
    return int(token) if canonical else None


def nearest(document, pointer):
    """The longest prefix of `pointer` that exists in `document`."""
    if not pointer.startswith("/"):
        return ""
    tokens = pointer.split("/")[1:]
    node = document
    kept = []
    for token in tokens:
        key = unescape(token)
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and (i := array_index(key)) is not None and i < len(node):
            node = node[i]
        else:
            break
        kept.append(token)
    return "".join("/" + t for t in kept)


# ----------------------------------------------------------------- evaluation


def policy_sources():
    sources = []
    for path in sorted(POLICIES.rglob("*.rego")):
        if path.name.endswith("_test.rego"):
            continue
        text = path.read_text()
        m = PACKAGE.search(text)
        sources.append((path, text, m.group(1) if m else None))
    return sources


def label(path):
    return str(path.relative_to(ROOT))


def new_engine(sources, data, root=None):
    engine = OpaEngine()
    register(engine, root)
    for path, text, _ in sources:
        engine.add_policy(label(path), text)
    engine.add_data(data)
    return engine


COMPILE_ERROR_AT = re.compile(r"(policies/[^:\s]+\.rego):\d+: (rego_[a-z_]+)")


def compilable(sources, data):
    """The policy files OPA compiles together, and a row per file it rejects.

    Like planguard (policy.rs), a file an error names is dropped and the rest
    tried again, so one rejected file does not hide every other rule.
    """
    sources = list(sources)
    rejected = []
    while True:
        engine = new_engine(sources, data)
        try:
            engine.eval_query("true")
            engine.close()
            return sources, rejected
        except OpaError as e:
            engine.close()
            culprits = {m.group(1): m.group(2) for m in COMPILE_ERROR_AT.finditer(str(e))}
            if not culprits:
                raise
            for file, kind in sorted(culprits.items()):
                rejected.append(file)
                print(f"OPA rejects {file} ({kind}):\n{e}", file=sys.stderr)
            sources = [s for s in sources if label(s[0]) not in culprits]


def rule_names(engine, package, text_of_package, input_value):
    try:
        document = engine.eval_document(package, input_value)
        if isinstance(document, dict):
            return sorted(r for r in document if RULE_NAME.match(r))
    except OpaUndefinedError:
        return []
    except Exception:  # noqa: BLE001 - one failing rule: find names in the source
        pass
    heads = re.findall(
        r"^[ \t]*(?:default[ \t]+)?((?:deny|violation|warn)(?:_[a-zA-Z0-9]+)*)\b", text_of_package, re.M
    )
    return sorted(set(heads))


def evaluate(engine, root, packages, input_value, emit):
    """Every rule of every package below `root`.

    One query for the whole tree (each distinct query costs OPA a compile);
    when it fails, package by package and rule by rule, so that one failing
    rule is one error row.
    """
    try:
        tree = engine.eval_document(root, input_value)
    except OpaUndefinedError:
        tree = {}
    except OpaError:
        tree = None
    for package, text in packages:
        if tree is not None:
            document = tree
            for part in package[len(root) + 1 :].split("."):
                document = document.get(part, {}) if isinstance(document, dict) else {}
            values = {r: v for r, v in document.items() if RULE_NAME.match(r)}
        else:
            values = {}
            for rule in rule_names(engine, package, text, input_value):
                try:
                    values[rule] = engine.eval_document(f"{package}.{rule}", input_value)
                except OpaUndefinedError:
                    continue
                except Exception as e:  # noqa: BLE001
                    print(f"OPA fails data.{package}.{rule}: {e}", file=sys.stderr)
                    emit("PG021", "error", f"`data.{package}.{rule}` failed", None)
        for rule, value in sorted(values.items()):
            results(package, rule, value, emit)


def results(package, rule, value, emit):
    if not isinstance(value, list):
        return
    severity = "error" if rule.startswith(("deny", "violation")) else "warning"
    default_id = f"{package}.{rule}"
    for result in value:
        if isinstance(result, str):
            emit(default_id, severity, result, {})
        elif isinstance(result, dict):
            msg = result.get("msg")
            if not isinstance(msg, str):
                continue  # planguard: PG022, not a finding of the rule
            rule_id = result.get("rule", result.get("id"))
            if not isinstance(rule_id, str):
                rule_id = default_id
            emit(rule_id, severity, msg, result)


def main():
    args = sys.argv[1:]
    config = None
    if args[:1] == ["--config"]:
        config, args = args[1], args[2:]
    settings = show_settings(config, args)
    if not settings["policy"]["builtin"]:
        print("[]")
        return
    docs = documents(args, settings)
    levels = settings.get("rules", {})

    certificates = {k.replace("-", "_"): v for k, v in settings["certificates"].items()}
    base = {"planguard": {"environments": settings["environments"], "promotion": settings["promotion"], "certificates": certificates}}
    for data_path in settings["policy"]["data"]:
        # --data / [policy] data files merge at the root of `data`, as planguard does.
        p = pathlib.Path(data_path)
        files = sorted(p.rglob("*.json")) if p.is_dir() else [p]
        for f in files:
            base = merge(json.loads(f.read_text()), base)

    sources, rejected = compilable(policy_sources(), base)
    rows = {(file, "PG020", "error", "cannot load policy", "", None) for file in rejected}
    packages = {}
    for _, text, name in sources:
        if name and name.startswith((DOCUMENT_PREFIX, PROJECT_PREFIX)):
            packages[name] = packages.get(name, "") + text + "\n"
    by_path = {d["path"]: d for d in docs}

    def emitter(subject):
        def emit(rule_id, severity, msg, result):
            severity = levels.get(rule_id, severity)
            if severity == "off":
                return
            if result is None:
                # planguard names the first document for a cross-file package.
                anchor = subject or (docs[0] if docs else None)
                rows.add((anchor["path"] if anchor else "", rule_id, severity, msg, "", None))
                return
            doc = subject
            if doc is None:  # a project finding names its file
                file = result.get("file")
                doc = by_path.get(display_path(file)) if isinstance(file, str) else None
            if doc is None:
                rows.add(("", rule_id, severity, msg, "", None))
                return
            location = result.get("location")
            pointer = location_pointer(location) if location is not None else ""
            pointer = nearest(doc["value"], pointer or "")
            # planguard folds findings that land on the same span; `within`
            # narrows the span, so it tells findings apart.
            within = json.dumps(result.get("within"))
            rows.add((doc["path"], rule_id, severity, msg, pointer, within))

        return emit

    context = lambda d: {k: d[k] for k in ("path", "kind", "workspace", "environment", "build")}  # noqa: E731
    document_packages = sorted((p, t) for p, t in packages.items() if p.startswith(DOCUMENT_PREFIX))
    project_packages = sorted((p, t) for p, t in packages.items() if p.startswith(PROJECT_PREFIX))
    for doc in docs:
        engine = new_engine(
            sources,
            merge({"planguard": {"file": context(doc)}}, base),
            sandbox(settings, doc["workspace"]),
        )
        evaluate(engine, DOCUMENT_PREFIX[:-1], document_packages, doc["value"], emitter(doc))
        engine.close()
    if docs and project_packages:
        engine = new_engine(sources, base, sandbox(settings, None))
        project_input = [dict(context(d), contents=d["value"], **config_sha256(d)) for d in docs]
        evaluate(engine, PROJECT_PREFIX[:-1], project_packages, project_input, emitter(None))
        engine.close()

    print(json.dumps(sorted([list(r[:5]) for r in rows])))


def config_sha256(doc):
    """A config's entry also has the sha256 of its file's bytes (PG208)."""
    if doc["kind"] != "config":
        return {}
    return {"sha256": hashlib.sha256(pathlib.Path(doc["file"]).read_bytes()).hexdigest()}


def sandbox(settings, workspace):
    """policy.rs `Policies::sandbox`: where the file functions may read for a
    document of `workspace`: the folder of planguard.toml when the workspace
    is in it, else the workspace."""
    workspace = workspace or "."
    if settings.get("file"):
        root = os.path.dirname(settings["file"]) or "."
        w, r = os.path.realpath(workspace), os.path.realpath(root)
        if os.path.exists(w) and os.path.exists(r) and (w == r or w.startswith(r.rstrip("/") + "/")):
            return root
    return workspace


def merge(a, b):
    """Deep merge, b winning on conflicts (planguard's `merge`)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(out[k], v) if k in out else v
        return out
    return b


if __name__ == "__main__":
    main()
