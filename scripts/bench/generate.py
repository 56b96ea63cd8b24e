#!/usr/bin/env python3
"""A deterministic generator of realistic Salam workspaces for the benchmark.

usage: generate.py --plans N [--builds B] [--seed S] [--violations F] OUT

Writes OUT/pipelines/<pipeline>/conf/{dev,uat,prod}.json and
OUT/pipelines/<pipeline>/orchestration_plans/<env>/<build>.json: about N/(3*B)
pipelines, each one workspace with B builds per environment. Every document
is derived from fixtures/workspaces/clean (which passes the schema and every
built-in rule), renamed per pipeline and grown with sources and Spark
settings so that plans weigh 2-10 KB, like real ones. Each build has its own
image digest, promoted dev -> uat -> prod, and the newest plan of each
environment agrees with its config.

A known fraction of pipelines (--violations, 0.1 by default) gets one
injected problem, of a kind picked in turn from INJECTIONS; each kind yields a
known number of findings per rule, so OUT/expected.json holds the exact
finding counts a correct check reports. The same arguments always write the
same bytes.
"""

import argparse
import copy
import hashlib
import json
import pathlib
import random
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLEAN = ROOT / "fixtures" / "workspaces" / "clean"
ENVS = ("dev", "uat", "prod")
TEMPLATE_PIPELINE = "customer-orders"
FIRST_BUILD = 100

# kind -> findings it causes, by rule id. Calibrated against planguard and
# OPA (scripts/bench/run asserts both report exactly these numbers). `B` in a
# count stands for the number of builds per environment.
INJECTIONS = {
    # an older uat plan names the dev namespace: per-document only (older
    # plans are history, so no plan <-> config comparison).
    "namespace": {"PG101": 1},
    # an older dev plan with an impossible cron minute.
    "cron": {"PG115": 1},
    # an older prod plan with unbounded retries.
    "retry": {"PG116": 1},
    # an older dev plan declaring another build than its file name.
    "layout": {"PG201": 1},
    # a password inside an older dev plan's JDBC URL.
    "secret": {"PG110": 1},
    # an older uat plan with a misspelt property.
    "schema": {"PG010": 1},
    # prod's config changes its jitter: parity against dev and uat, in the
    # prod config and in each of the others, and the newest prod plan now
    # differs from its config.
    "parity": {"PG203": 4, "PG202": 1},
    # the newest dev plan takes another pipeline's schedule id: a conflict
    # on each of that pipeline's B dev plans, one on this plan (its B
    # findings land on the same span and message, which planguard folds
    # into one), and the plan differs from its config.
    "conflict": {"PG205": "B+1", "PG202": 1},
}


def load(path):
    return json.loads(path.read_text())


def rename(value, name):
    return json.loads(json.dumps(value).replace(TEMPLATE_PIPELINE, name))


def digest(*parts):
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def source(rng, env, pipeline, i, template):
    s = copy.deepcopy(template[i % len(template)])
    name = f"{s['name']}-{i}"
    s["name"] = name
    s["credentials"] = s["credentials"].rsplit("/", 1)[0] + f"/{name}"
    if "table" in s["options"]:
        s["options"]["table"] = f"public.{pipeline.replace('-', '_')}_{i}"
        s["options"]["num_partitions"] = rng.choice((2, 4, 8, 16))
    else:
        s["options"]["topic"] = f"{pipeline}.events.v{i}"
    return s


def pipeline_documents(rng, index, builds, templates):
    """configs[env], plans[env][build] for one pipeline."""
    name = f"pipeline-{index:05d}"
    n_sources = rng.randint(1, 9)
    n_conf = rng.randint(0, 40)
    conf_keys = {f"spark.{name}.setting.{k:02d}": str(rng.randint(1, 4096)) for k in range(n_conf)}
    build_numbers = [FIRST_BUILD + b for b in range(builds)]
    configs, plans = {}, {}
    for env in ENVS:
        config = rename(templates["configs"][env], name)
        plan_template = rename(templates["plans"][env], name)
        sources = [source(rng, env, name, i, config["sources"]) for i in range(n_sources)]
        config["sources"] = sources
        config["spark"]["conf"].update(conf_keys)
        latest = build_numbers[-1]
        images = {}
        for b in build_numbers:
            d = digest(name, b)
            if env == "dev":
                images[b] = {"ref": f"registry.dev.salam.internal/salam/ingestion:1.{b}.0", "digest": f"sha256:{d}"}
            else:
                images[b] = copy.deepcopy(plan_template["image"])
                images[b]["ref"] = f"registry.{env}.salam.internal/salam/ingestion@sha256:{d}"
                if "signature" in images[b]:
                    images[b]["signature"]["ref"] = f"registry.{env}.salam.internal/salam/ingestion:sha256-{d}.sig"
        config["spark"]["image"] = images[latest]["ref"]
        configs[env] = config
        plans[env] = {}
        for b in build_numbers:
            plan = copy.deepcopy(plan_template)
            plan["build"] = str(b)
            plan["git_sha"] = digest("git", name, b)[:40]
            plan["generated_at"] = f"2025-{1 + b % 12:02d}-{1 + b % 28:02d}T07:29:11Z"
            plan["generator"]["version"] = f"1.{b}.0"
            plan["image"] = images[b]
            plan["input"]["sources"] = copy.deepcopy(sources)
            plan["input"]["spark"]["conf"].update(conf_keys)
            plan["secrets"] = [{"name": s["name"], "ref": s["credentials"]} for s in sources] + [
                s for s in plan_template["secrets"] if s["name"] in ("slack-webhook", "pagerduty")
            ]
            plan["memo"]["build"] = str(b)
            plan["memo"]["git_sha"] = plan["git_sha"]
            plans[env][b] = plan
    return name, configs, plans


def inject(kind, configs, plans, other):
    oldest = min(plans["dev"])
    newest = max(plans["dev"])
    if kind == "namespace":
        plans["uat"][oldest]["namespace"] = "ingestion-dev"
    elif kind == "cron":
        plans["dev"][oldest]["schedule"]["cron"][0] = "61 2 * * *"
    elif kind == "retry":
        plans["prod"][oldest]["retry_policy"]["maximum_attempts"] = 0
    elif kind == "layout":
        plans["dev"][oldest]["build"] = "999"
    elif kind == "secret":
        source = plans["dev"][oldest]["input"]["sources"][0]
        source["url"] = source["url"].replace("://", "://ingest:Xq7v9TzK2mWp4LrB@", 1)
    elif kind == "schema":
        plans["uat"][oldest]["scheduel"] = {"cron": ["0 3 * * *"]}
    elif kind == "parity":
        configs["prod"]["runtime"]["orchestration"]["temporal"]["schedule"]["jitter"] = "10m"
    elif kind == "conflict":
        plans["dev"][newest]["schedule_id"] = other
    else:
        raise ValueError(kind)


def write(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(value, indent=2) + "\n"
    path.write_text(text)
    return len(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--plans", type=int, required=True, help="about this many plan files")
    parser.add_argument("--builds", type=int, default=4, help="builds per environment")
    parser.add_argument("--seed", type=int, default=20251020)
    parser.add_argument("--violations", type=float, default=0.1, help="share of pipelines with one problem")
    args = parser.parse_args()

    templates = {
        "configs": {env: load(CLEAN / "conf" / f"{env}.json") for env in ENVS},
        "plans": {env: load(CLEAN / "orchestration_plans" / env / "12.json") for env in ENVS},
    }
    rng = random.Random(args.seed)
    pipelines = max(2, round(args.plans / (3 * args.builds)))
    step = max(1, round(1 / args.violations)) if args.violations > 0 else 0
    kinds = list(INJECTIONS)

    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    # The default settings; a settings file also makes this folder the
    # project root, where planguard keeps its cache.
    (args.out / "planguard.toml").write_text("# A generated benchmark workspace: the default settings.\n")
    findings, injected = {}, {}
    files = {"configs": 0, "plans": 0}
    sizes = []
    for index in range(pipelines):
        name, configs, plans = pipeline_documents(rng, index, args.builds, templates)
        # Pipelines 1, 1+step, 1+2*step… get a problem; the conflict kind
        # borrows the schedule id of the pipeline before, which never has one.
        if step and index % step == 1 % step and index >= 1:
            kind = kinds[(index // step) % len(kinds)]
            inject(kind, configs, plans, f"pipeline-{index - 1:05d}")
            injected[kind] = injected.get(kind, 0) + 1
            for rule, count in INJECTIONS[kind].items():
                n = args.builds + 1 if count == "B+1" else count
                findings[rule] = findings.get(rule, 0) + n
        base = args.out / "pipelines" / name
        for env in ENVS:
            write(base / "conf" / f"{env}.json", configs[env])
            files["configs"] += 1
            # CI dumped the newest plan from the config as written (PG208).
            newest = plans[env][max(plans[env])]
            newest["source_config"]["sha256"] = hashlib.sha256((base / "conf" / f"{env}.json").read_bytes()).hexdigest()
            for build, plan in plans[env].items():
                sizes.append(write(base / "orchestration_plans" / env / f"{build}.json", plan))
                files["plans"] += 1
    sizes.sort()
    expected = {
        "seed": args.seed,
        "pipelines": pipelines,
        "builds": args.builds,
        "files": files,
        "documents": files["configs"] + files["plans"],
        "plan_bytes": {"total": sum(sizes), "min": sizes[0], "median": sizes[len(sizes) // 2], "max": sizes[-1]},
        "injected": injected,
        "findings": dict(sorted(findings.items())),
    }
    write(args.out / "expected.json", expected)
    print(json.dumps(expected))


if __name__ == "__main__":
    main()
