"""The Python side of tests/it/functions_twins.rs: planguard.* results from the
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
planguard.secrets takes any value: its inputs are documents, not strings, and
it has no type error.
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

# Documents for planguard.secrets: every family of detector, the look-alikes
# it must pass, and the places where Python's defaults and Rust's differ.
SECRETS = [
    {},
    "a bare string",
    "password=Bare-Str1ng-Fake",
    [1, None, True, 2.5],
    {
        "spark": {
            "conf": {
                "spark.hadoop.fs.s3a.secret.key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEY01",
                "spark.hadoop.fs.s3a.access.key": "AKIAIOSFODNN7PLANGRD",
                "spark.ssl.keyStorePassword": "Ks-Pa55-fake",
                "spark.ssl.keyStore": "/etc/spark/ssl/keystore.jks",
                "spark.authenticate.secret": "auth-fake-7f3a",
                "spark.authenticate": "true",
                "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
                "fs.azure.account.key.salamdev.dfs.core.windows.net": "bm90LWEtcmVhbC1henVyZS1rZXktZmFrZTAxMjM0NTY3ODk=",
                "spark.driver.extraJavaOptions": "-Djavax.net.ssl.trustStorePassword=Trust-Fake-1 -Dfile.encoding=UTF-8",
            }
        },
        "options": {
            "sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required username="ingest" password="Jaas-Fake-9q";',
            "sasl.jaas.ref": 'org.apache.kafka.common.security.plain.PlainLoginModule required username="ingest" password="${KAFKA_PASSWORD}";',
            "sfPassword": "Snow-Fake-22",
            "SECRET_KEY": "Zx9-fake-Qw3-secret-key",
            "apiKey": "0f0e0d0c-0b0a-0908-0706-050403020100",
        },
        "env": [
            {"name": "DB_PASSWORD", "value": "Env-Fake-8"},
            {"name": "DB_HOST", "value": "orders-db"},
            {"key": "X_API_KEY", "value": "q8Zt3LmW0pR7xYv2Kc9N"},
        ],
        "alerts": {"PagerDuty": {"routing": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"}},
        "http_headers": {"Authorization": "Basic aW5nZXN0OmZha2UtcGFzcw==", "Accept": "Basic text"},
        "schema.registry.basic.auth.user.info": "ingest:Fake-Registry-1",
    },
    {
        "urls": [
            "jdbc:postgresql://db:5432/orders?user=ingest&password=Pg-Fake-1",
            "jdbc:mysql://ingest:My-Fake-2@db:3306/orders",
            "jdbc:sqlserver://db:1433;databaseName=orders;user=ingest;password=Ms-Fake-3;encrypt=true",
            "jdbc:oracle:thin:ingest/Ora-Fake-4@//db:1521/ORCL",
            "jdbc:oracle:thin:@//db:1521/ORCL",
            "mongodb+srv://ingest:Mongo-Fake-5@cluster0.example.net/orders",
            "jdbc:redshift://rs.example:5439/dev?user=ingest&password=Rs-Fake-6",
            "jdbc:snowflake://acct.snowflakecomputing.com/?user=INGEST&password=Sf-Fake-7&warehouse=W",
            "DefaultEndpointsProtocol=https;AccountName=salamdev;AccountKey=bm90LWEtcmVhbC1henVyZS1rZXktZmFrZTAxMjM0NTY3ODk=;EndpointSuffix=core.windows.net",
            "Endpoint=sb://salam.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=ZmFrZS1zaGFyZWQtYWNjZXNzLWtleS0wMTIz=",
            "https://salamdev.blob.core.windows.net/landing?sv=2022-11-02&sp=rl&sig=ZmFrZS1zaWduYXR1cmUtMDEyMzQ1Njc4OQ%3D%3D",
            "kafka://ingest:${KAFKA_PASSWORD}@kafka-1:9093",
            "naïve ünïcödé 🎉 https://ex/?password=Un1code-Fake&x=1",
            "é x://u:pw1@h?password=pw2",
        ],
        "headers": [
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
            "authorization: basic aW5nZXN0OmZha2UtcGFzcw==",
            "the bearer authentication uses vault",
            "BEARER abcdefgh12345678",
        ],
        "tokens": [
            "ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake0123",
            "glpat-FAKEfake01234567890a",
            "xoxb-000000000000-000000000000-FAKEfakeFAKEfake",
            "https://hooks.slack.com/services/T0000PLAN/B0000GUARD/XyZfakeWebhookValue1",
            "dapi0123456789abcdef0123456789abcdef",
            "sk_live_FAKEfakeFAKEfake01234567",
            "AIzaFAKEfakeFAKEfakeFAKEfakeFAKEfake012",
            "ya29.FAKEfakeFAKEfakeFAKEfakeFAKEfake0123",
            "GOCSPX-FAKEfakeFAKEfakeFAKEfake0123",
            "abc8Q~FAKEfakeFAKEfakeFAKEfakeFAKEfake01",
            "hvs.FAKEfakeFAKEfakeFAKEfake0123",
            "npm_FAKEfakeFAKEfakeFAKEfakeFAKEfake0123",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA",
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
            "sha256:af0ecef63fc7a8b78888ce31d14f35345dd79ffe4b8c1033c9c2d465749a0f76",
        ],
    },
    {
        # Where Python's defaults and Rust's differ; the twin must follow Rust.
        "\u017fecret": "not a key named secret",  # "ſecret": no ASCII folding
        "pa\u00dfword": "Scharfes-S-1",
        "password": "\u00a0Nbsp-Lead1",
        "api_key": "\uff11\uff12\uff13abcdefghijklmnopq",
        "token": "*" * 3,
        "client_secret": "$CLIENT_SECRET",
        "db_pwd": "$\u00e9t\u00e9",
        "access_token": "AKIA\u0130OSFODNN7PLANGRD",
        "KEY": "BEARER\u00a0abcdefgh12345678",
        "x": {"\u212aey": "not a key"},
    },
]

POLICY = """package twins

import rego.v1

cron_error := [planguard.cron_error(x) | some x in input.cron_error]

timezone_valid := [planguard.timezone_valid(x) | some x in input.timezone_valid]

entropy := [planguard.entropy(x) | some x in input.entropy]

file_sha256 := [planguard.file_sha256(x) | some x in input.file_sha256]

duration_ns := [planguard.duration_ns(x) | some x in input.duration_ns]

certificates := [planguard.certificates(x) | some x in input.certificates]

secrets := [planguard.secrets(x) | some x in input.secrets]
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
        "secrets": SECRETS,
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
        if name == "secrets":
            continue  # it takes any value
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
