"""The Python side of tests/functions_twins.rs: planguard.* results from the
Python twins, called directly and through OPA's engine, for a fixed set of
inputs, so the Rust test can demand the same from its own functions and from
regorus running the same policy.

usage: functions_twin_check.py DIR
  DIR, inside the working folder (the sandbox of the file functions), holds
  the files the Rust test wrote for file_sha256: abc, empty, binary, big
  (over the 64 MiB limit), "outside" (a symbolic link to a file out of the
  working folder) and "abc-alias" (one to abc); "missing" must not exist.
prints JSON: {"policy": str, "input": {function: [argument, ...]},
              "python": {function: [result, ...]}, "opa": {...},
              "type_errors": {function: OPA's error for a number argument}}
Entropy results are printed as repr() strings so no JSON float parser stands
between the two sides.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from opa_bindings import OpaEngine, OpaError  # noqa: E402

import planguard_functions  # noqa: E402

CRON = [
    # Valid (the Rust unit table's VALID_CRON).
    "* * * * *",
    "0 0 * * *",
    "*/15 * * * *",
    "0 9-17 * * MON-FRI",
    "0 9-17/2 * * 1-5",
    "5/10 * * * *",
    "0,15,30,45 * * * *",
    "0 0 1 JAN,jul *",
    "0 0 ? * sun",
    "0 0 1 * ?",
    "0 12 * * 7",
    "0 12 * * 0-7",
    "59 23 31 12 6",
    "00 05 01 01 0",
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
    "CRON_TZ=Asia/Riyadh 0 3 * * *",
    "TZ=Europe/London @daily",
    "CRON_TZ=UTC */5 * * * *",
    "  0   0\t* * *  ",
    "0 0 1-31/7 Jan-Dec/3 *",
    # Invalid (the Rust unit table's INVALID_CRON).
    "",
    "   ",
    "61 * * * *",
    "* * * * * *",
    "* * * *",
    "0 24 * * *",
    "0 0 0 * *",
    "0 0 32 * *",
    "0 0 * 13 *",
    "0 0 * * 8",
    "*/0 * * * *",
    "0-30/00 * * * *",
    "30-10 * * * *",
    "0 0 * DEC-JAN *",
    "0 0 * FOO *",
    "0 0 * * FUNDAY",
    "0 MON * * *",
    "0 0 * 1 ?x",
    "? * * * *",
    "0 0 ?/2 * *",
    "1,,2 * * * *",
    "1, * * * *",
    "*/5/2 * * * *",
    "*/x * * * *",
    "*/ * * * *",
    "/5 * * * *",
    "-5 * * * *",
    "1-2-3 * * * *",
    "99999999999 * * * *",
    "@every 5m",
    "@DAILY",
    "@daily 5",
    "CRON_TZ=Mars/Olympus 0 0 * * *",
    "TZ=Local 0 0 * * *",
    "CRON_TZ= 0 0 * * *",
    "TZ=UTC",
    "0 0 * * \uff15",
    # Where Python's defaults and Rust's differ; the twin must follow Rust.
    "0 0 * * \u017fun",  # "ſun": str.upper() makes it SUN, ASCII folding does not
    "0\u00a00 * * *",  # no-break space is not ASCII whitespace
    "0\x0b0 * * *",  # nor is vertical tab, for Rust
    "0\x0c0\r*\n*\t*",  # form feed, CR, LF, tab are
    "0 0 * * " + "1" * 5000,  # beyond int()'s digit limit
    "0 0 * * " + "0" * 5000,
    "0 0 * * 7-1",
    "0 0 * * SAT-SUN",
    "0 0 * * ?,1",
    "0 0 * ** *",
    "TZ=utc 0 0 * * *",
    "tz=UTC 0 0 * * *",
]

TIMEZONES = [
    "Asia/Riyadh",
    "Europe/London",
    "UTC",
    "Etc/UTC",
    "Etc/GMT+5",
    "America/New_York",
    "America/Argentina/Buenos_Aires",
    "US/Eastern",
    "EST5EDT",
    "Europe/Kyiv",
    "Europe/Kiev",
    "Mars/Olympus",
    "",
    "Local",
    "localtime",
    "posixrules",
    "Factory",
    "utc",
    "europe/london",
    " UTC",
    "UTC ",
    "Europe/",
    "/Europe/London",
]

ENTROPY = [
    "",
    "a",
    "aaaa",
    "abcd",
    "aabb",
    "aab",
    "\u00e9\u00e9",
    "password",
    "8f2Kq9xZ7mP4wL1v",
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "hello world",
    "\U0001f600a\U0001f600b",
    "The quick brown fox jumps over the lazy dog",
    "".join(chr(c) for c in range(32, 127)),
]

# Names inside DIR; "" and DIR itself are added below.
FILES = ["abc", "empty", "binary", "big", "missing", "outside", "abc-alias"]

DURATIONS = [
    "30s",
    "1h30m",
    "250ms",
    "1.5h",
    "0",
    "1us",
    "1\u00b5s",
    "1\u03bcs",  # Greek mu: Go accepts it, planguard does not
    "7ns",
    "2562047h",
    "2562048h",
    "99999999999999h",
    "",
    "5",
    "5 minutes",
    "1d",
    "-5s",
    "+5s",
    "abc",
    " 30s ",
    "\u00a030s",
    "\x1c30s",  # str.strip() removes it, Rust's trim does not
    ".5s",
    "5.s",
    ".s",
    "1.5.5s",
    "1e3s",
    "1h-5m",
    "1h 5m",
    "0s",
    "00",
    "0.000000001s",
    "0.1ns",
    "1" + "0" * 400 + "h",
    "18446744073709551615ns",
    "9223372036854775807ns",
    "9223372036854775808ns",
    "2h45m30.5s",
]

POLICY = """package twins

import rego.v1

cron_error := [planguard.cron_error(x) | some x in input.cron_error]

timezone_valid := [planguard.timezone_valid(x) | some x in input.timezone_valid]

entropy := [planguard.entropy(x) | some x in input.entropy]

file_sha256 := [planguard.file_sha256(x) | some x in input.file_sha256]

duration_ns := [planguard.duration_ns(x) | some x in input.duration_ns]

certificates := [planguard.certificates(x) | some x in input.certificates]

path_error := [planguard.path_error(x) | some x in input.path_error]

type_error_cron_error := planguard.cron_error(61)

type_error_timezone_valid := planguard.timezone_valid(61)

type_error_entropy := planguard.entropy(61)

type_error_file_sha256 := planguard.file_sha256(61)

type_error_duration_ns := planguard.duration_ns(61)

type_error_certificates := planguard.certificates(61)

type_error_path_error := planguard.path_error(61)
"""


def main():
    (directory,) = sys.argv[1:]
    paths = [os.path.join(directory, f) for f in FILES] + [
        directory,
        "",
        "/etc/hostname",
        os.path.join(directory, "../" * 30, "etc/hostname"),
        os.path.join(directory, "..", os.path.basename(directory), "abc"),
        "a\x00b",
    ]
    inputs = {
        "cron_error": CRON,
        "timezone_valid": TIMEZONES,
        "entropy": ENTROPY,
        "file_sha256": paths,
        "path_error": paths,
        "duration_ns": DURATIONS,
        "certificates": [
            "fixtures/certs/client.pem",
            "fixtures/certs/temporal-ca.pem",
            "fixtures/certs/bundle.pem",
            "fixtures/certs/missing.pem",
            os.path.join(directory, "abc"),
            os.path.join(directory, "outside"),
            "/etc/ssl/certs/ca-certificates.crt",
            "",
        ],
    }
    python = {
        name: [planguard_functions.FUNCTIONS[f"planguard.{name}"](x) for x in values]
        for name, values in inputs.items()
    }
    engine = OpaEngine()
    planguard_functions.register(engine)
    engine.add_policy("twins.rego", POLICY)
    opa = {name: engine.eval_document(f"twins.{name}", inputs) for name in inputs}
    type_errors = {}
    for name in inputs:
        try:
            value = engine.eval_document(f"twins.type_error_{name}", inputs)
            type_errors[name] = f"no error: {value!r}"
        except OpaError as e:
            type_errors[name] = str(e)
    for results in (python, opa):
        results["entropy"] = [repr(float(x)) for x in results["entropy"]]
    print(
        json.dumps(
            {
                "policy": POLICY,
                "input": inputs,
                "python": python,
                "opa": opa,
                "type_errors": type_errors,
            }
        )
    )


if __name__ == "__main__":
    main()
