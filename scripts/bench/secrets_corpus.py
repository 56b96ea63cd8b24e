#!/usr/bin/env python3
"""Writes fixtures/secrets/corpus: the PG110 benchmark corpus.

usage: secrets_corpus.py [OUT]   (default: fixtures/secrets/corpus)

A planguard workspace (conf/<env>.json, orchestration_plans/<env>/11.json)
copied from fixtures/workspaces/clean, with secrets and clean look-alikes
planted where a Spark ingestion team would put them: spark.conf properties,
source options and URLs, memo entries. OUT/manifest.json lists each planted
item: its file, JSON pointer, family, whether it is a secret and, for a
secret, the text that must never be printed. Every value is fake: made of
the right characters at the right length by a seeded generator, most with
FAKE or Fake in them. The same run always writes the same bytes.
"""

import base64
import json
import pathlib
import random
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLEAN = ROOT / "fixtures" / "workspaces" / "clean"
ENVS = ("dev", "uat", "prod")

rng = random.Random(110)
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
ALNUM = UPPER + LOWER + DIGITS
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"


def fake(n, charset=ALNUM, marker="FAKE"):
    """n characters of charset with `marker` at a random place, and a digit."""
    body = [rng.choice(charset) for _ in range(n - len(marker))]
    if not any(c in DIGITS for c in body) and any(c in DIGITS for c in charset):
        body[rng.randrange(len(body))] = rng.choice(DIGITS)
    at = rng.randrange(len(body) + 1)
    return "".join(body[:at]) + marker + "".join(body[at:])


def b64(n_bytes):
    chars = 4 * ((n_bytes + 2) // 3)
    pad = (3 - n_bytes % 3) % 3
    return fake(chars - pad, B64) + "=" * pad


def password():
    return "Fake-" + fake(12, ALNUM + "!#%", marker="Pw") + "-" + rng.choice(DIGITS)


def conf(env):
    return f"conf/{env}.json"


def plan(env):
    return f"orchestration_plans/{env}/11.json"


SPARK_CONF = "/spark/conf/"
PLAN_CONF = "/input/spark/conf/"
PG = 0  # sources/0 is the orders Postgres
KAFKA = 1  # sources/1 is the order events topic


def items():
    """(file, pointer, family, secret?, value, secret text or None)."""
    out = []

    def secret(file, pointer, family, value, text=None):
        out.append((file, pointer, family, True, value, text if text is not None else value))

    def clean(file, pointer, family, value):
        out.append((file, pointer, family, False, value, None))

    # Spark / Hadoop properties in dotted keys.
    secret(conf("dev"), SPARK_CONF + "spark.hadoop.fs.s3a.secret.key", "spark-property", fake(40, B64))
    secret(conf("dev"), SPARK_CONF + "spark.ssl.keyStorePassword", "spark-property", password())
    secret(conf("dev"), SPARK_CONF + "spark.authenticate.secret", "spark-property", "fake-" + fake(24, HEX, "f00d"))
    secret(conf("dev"), SPARK_CONF + "spark.ssl.keyPassword", "spark-property", password())
    secret(conf("uat"), SPARK_CONF + "spark.ssl.trustStorePassword", "spark-property", password())
    secret(conf("uat"), SPARK_CONF + "spark.hadoop.javax.jdo.option.ConnectionPassword", "spark-property", password())
    secret(conf("prod"), SPARK_CONF + "spark.hadoop.fs.s3a.session.token", "spark-property", "FwoGZXIvYXdzE" + fake(180, B64))
    secret(
        conf("prod"),
        SPARK_CONF + "spark.hadoop.fs.azure.account.key.salamprodlake.dfs.core.windows.net",
        "spark-property",
        b64(64),
    )
    secret(plan("dev"), PLAN_CONF + "spark.hadoop.fs.azure.account.oauth2.client.secret", "spark-property", fake(40, URLSAFE))
    secret(plan("uat"), PLAN_CONF + "spark.executorEnv.DB_PASSWORD", "spark-property", password())
    secret(plan("prod"), PLAN_CONF + "spark.kubernetes.driverEnv.AWS_SECRET_ACCESS_KEY", "spark-property", fake(40, B64))
    # Kafka client properties.
    secret(conf("dev"), f"/sources/{KAFKA}/options/ssl.truststore.password", "kafka-property", password())
    secret(conf("uat"), f"/sources/{KAFKA}/options/ssl.keystore.password", "kafka-property", password())
    secret(conf("prod"), f"/sources/{KAFKA}/options/ssl.key.password", "kafka-property", password())
    secret(plan("dev"), f"/input/sources/{KAFKA}/options/kafka.sasl.password", "kafka-property", password())
    # JAAS configurations.
    for file, pointer, module in [
        (conf("dev"), f"/sources/{KAFKA}/options/sasl.jaas.config", "plain.PlainLoginModule"),
        (conf("prod"), f"/sources/{KAFKA}/options/sasl.jaas.config", "scram.ScramLoginModule"),
        (plan("uat"), f"/input/sources/{KAFKA}/options/kafka.sasl.jaas.config", "scram.ScramLoginModule"),
    ]:
        pw = password()
        secret(
            file,
            pointer,
            "jaas",
            f'org.apache.kafka.common.security.{module} required username="ingest-orders" password="{pw}";',
            pw,
        )
    # Credential keys in camelCase, SCREAMING_CASE and name/value lists.
    secret(plan("dev"), f"/input/sources/{PG}/options/sfPassword", "camel-screaming-key", password())
    secret(conf("uat"), f"/sources/{PG}/options/clientSecret", "camel-screaming-key", fake(34, URLSAFE))
    secret(conf("prod"), f"/sources/{PG}/options/apiKey", "camel-screaming-key", fake(32, ALNUM))
    secret(plan("uat"), f"/input/sources/{PG}/options/AWS_SECRET_ACCESS_KEY", "camel-screaming-key", fake(40, B64))
    secret(plan("prod"), f"/input/sources/{PG}/options/SNOWFLAKE_PRIVATE_KEY_PASSPHRASE", "camel-screaming-key", password())
    env_pw = password()
    secret(conf("dev"), f"/sources/{PG}/options/env/0/value", "camel-screaming-key", env_pw)
    # JDBC and database URLs of every major driver.
    pg = password()
    secret(
        conf("dev"),
        f"/sources/{PG}/url",
        "jdbc-postgresql",
        f"jdbc:postgresql://orders-db.dev.salam.internal:5432/orders?user=ingest&password={pg}&ssl=true",
        pg,
    )
    pg = password()
    secret(
        conf("uat"),
        f"/sources/{PG}/url",
        "jdbc-postgresql",
        f"jdbc:postgresql://ingest:{pg}@orders-db.uat.salam.internal:5432/orders",
        pg,
    )
    my = password()
    secret(
        conf("prod"),
        SPARK_CONF + "spark.hadoop.javax.jdo.option.ConnectionURL",
        "jdbc-mysql",
        f"jdbc:mysql://hive:{my}@metastore-db.prod.salam.internal:3306/hive?useSSL=true",
        my,
    )
    my = password()
    secret(
        plan("dev"),
        f"/input/sources/{PG}/options/lookup_url",
        "jdbc-mysql",
        f"jdbc:mysql://crm-db.dev.salam.internal:3306/crm?user=reader&password={my}",
        my,
    )
    ms = password()
    secret(
        conf("dev"),
        f"/sources/{PG}/options/billing_url",
        "jdbc-sqlserver",
        f"jdbc:sqlserver://billing-db.dev.salam.internal:1433;databaseName=billing;user=ingest;password={ms};encrypt=true",
        ms,
    )
    ora = password().replace("-", "_").replace("!", "_").replace("#", "_").replace("%", "_")
    secret(
        conf("uat"),
        f"/sources/{PG}/options/ledger_url",
        "jdbc-oracle",
        f"jdbc:oracle:thin:ledger_ro/{ora}@//ledger-db.uat.salam.internal:1521/LEDGER",
        ora,
    )
    mongo = password()
    secret(
        plan("prod"),
        f"/input/sources/{PG}/options/profiles_uri",
        "mongodb",
        f"mongodb+srv://ingest:{mongo}@profiles.prod.salam.internal/profiles?retryWrites=true",
        mongo,
    )
    rs = password()
    secret(
        conf("prod"),
        f"/sources/{PG}/options/warehouse_url",
        "jdbc-redshift",
        f"jdbc:redshift://dwh.prod.salam.internal:5439/analytics?user=ingest&password={rs}",
        rs,
    )
    sf = password()
    secret(
        plan("uat"),
        f"/input/sources/{PG}/options/snowflake_url",
        "jdbc-snowflake",
        f"jdbc:snowflake://salam-uat.snowflakecomputing.com/?user=INGEST&password={sf}&warehouse=INGEST_WH&db=RAW",
        sf,
    )
    # Connection strings.
    key = b64(64)
    secret(
        conf("dev"),
        "/runtime/orchestration/temporal/memo/landing_connection",
        "connection-string",
        f"DefaultEndpointsProtocol=https;AccountName=salamdevlanding;AccountKey={key};EndpointSuffix=core.windows.net",
        key,
    )
    key = b64(32)
    secret(
        plan("prod"),
        f"/input/sources/{KAFKA}/options/eventhubs.connectionString",
        "connection-string",
        f"Endpoint=sb://salam-prod.servicebus.windows.net/;SharedAccessKeyName=ingest;SharedAccessKey={key};EntityPath=orders",
        key,
    )
    pw = password()
    secret(
        conf("uat"),
        f"/sources/{PG}/options/odbc",
        "connection-string",
        f"Driver={{ODBC Driver 18 for SQL Server}};Server=tcp:billing.uat.salam.internal,1433;Uid=ingest;Pwd={pw};Encrypt=yes",
        pw,
    )
    sig = fake(43, B64).replace("+", "%2B").replace("/", "%2F") + "%3D"
    secret(
        plan("dev"),
        "/memo/landing_sas_url",
        "connection-string",
        f"https://salamdevlanding.blob.core.windows.net/raw?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2026-12-31T00:00:00Z&sig={sig}",
        sig,
    )
    # Authorization headers.
    tok = fake(48, URLSAFE)
    secret(conf("dev"), f"/sources/{PG}/options/headers/0", "authorization-header", f"Authorization: Bearer {tok}", tok)
    basic = b64(27)
    secret(conf("prod"), f"/sources/{PG}/options/http_headers/Authorization", "authorization-header", f"Basic {basic}", basic)
    tok = fake(40, HEX, "fa6e")
    secret(plan("uat"), "/memo/status_api_header", "authorization-header", f"Authorization: token {tok}", tok)
    tok = fake(36, URLSAFE)
    secret(plan("prod"), "/memo/callback_auth", "authorization-header", f"bearer {tok}", tok)
    # Service token formats.
    secret(conf("uat"), SPARK_CONF + "spark.hadoop.fs.s3a.access.key", "aws-access-key-id", "AKIA" + fake(16, UPPER + DIGITS))
    asia = "ASIA" + fake(16, UPPER + DIGITS)
    secret(plan("dev"), "/memo/debug_note", "aws-access-key-id", f"ran with temporary key {asia} from the ops laptop", asia)
    secret(conf("prod"), "/runtime/orchestration/temporal/memo/maps_api", "gcp-api-key", "AIza" + fake(35, URLSAFE))
    secret(plan("uat"), f"/input/sources/{PG}/options/gcp_oauth_client", "gcp-oauth", "GOCSPX-" + fake(28, URLSAFE))
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(fake(64, B64) for _ in range(4)) + "\n-----END PRIVATE KEY-----\n"
    gcp_json = json.dumps(
        {
            "type": "service_account",
            "project_id": "salam-dev-ingest",
            "private_key_id": fake(40, HEX, "fa4e"),
            "private_key": pem,
            "client_email": "ingest@salam-dev-ingest.iam.gserviceaccount.com",
        }
    )
    secret(conf("dev"), f"/sources/{PG}/options/gcs_service_account_json", "private-key", gcp_json, pem.split("\n")[1])
    azure = fake(3, ALNUM, "") + "8Q~" + fake(34, ALNUM + "_~.-")
    secret(plan("uat"), PLAN_CONF + "spark.hadoop.fs.azure.account.oauth2.client.secret", "azure-client-secret", azure)
    secret(plan("dev"), "/memo/ci_token", "github-token", "ghp_" + fake(36, ALNUM))
    pat = "github_pat_" + fake(22, ALNUM) + "_" + fake(59, ALNUM)
    secret(conf("uat"), "/runtime/orchestration/temporal/memo/release_note", "github-token", f"published with {pat}", pat)
    secret(conf("prod"), f"/sources/{PG}/options/gitlab_deploy", "gitlab-token", "glpat-" + fake(20, URLSAFE))
    slack = "xoxb-" + "".join(rng.choice(DIGITS) for _ in range(12)) + "-" + "".join(rng.choice(DIGITS) for _ in range(13)) + "-" + fake(24, ALNUM)
    secret(plan("prod"), "/memo/slack_bot", "slack-token", slack)
    hook = "https://hooks.slack.com/services/T" + fake(10, UPPER + DIGITS, "F") + "/B" + fake(10, UPPER + DIGITS, "F") + "/" + fake(24, ALNUM)
    secret(conf("uat"), "/runtime/orchestration/temporal/memo/alerts_hook", "slack-webhook", hook)
    dapi = "dapi" + fake(32, HEX, "fa6e")
    secret(conf("dev"), SPARK_CONF + "spark.databricks.token", "databricks-token", dapi)
    dapi2 = "dapi" + fake(32, HEX, "fa6e") + "-2"
    secret(plan("prod"), f"/input/sources/{PG}/options/notebook_trigger", "databricks-token", f"curl -H 'Authorization: Bearer {dapi2}' https://adb-1234.5.azuredatabricks.net/api/2.1/jobs/run-now", dapi2)
    secret(conf("uat"), f"/sources/{PG}/options/billing_api", "stripe-key", "sk_live_" + fake(24, ALNUM))
    secret(plan("dev"), f"/input/sources/{PG}/options/refund_api", "stripe-key", "rk_live_" + fake(32, ALNUM))
    claims = {"iss": "https://auth.salam.internal", "sub": "ingest-orders", "aud": "status-api",
              "exp": 1893456000, "jti": fake(16, HEX, "fa6e")}
    jwt = ".".join(
        base64.urlsafe_b64encode(json.dumps(part, separators=(",", ":")).encode()).decode().rstrip("=")
        for part in ({"alg": "RS256", "typ": "JWT"}, claims)
    ) + "." + fake(86, URLSAFE)
    secret(conf("prod"), "/runtime/orchestration/temporal/memo/service_jwt", "jwt", jwt)
    rsa = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(fake(64, B64) for _ in range(6)) + "\n-----END RSA PRIVATE KEY-----"
    secret(conf("uat"), f"/sources/{KAFKA}/options/ssl.keystore.key", "private-key", rsa, rsa.split("\n")[1])
    ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA" + fake(40, B64) + "\n" + fake(70, B64) + "\n-----END OPENSSH PRIVATE KEY-----"
    secret(plan("uat"), f"/input/sources/{PG}/options/sftp_key", "private-key", ssh, ssh.split("\n")[2])
    secret(plan("prod"), f"/input/sources/{PG}/options/vault_token", "vault-token", "hvs." + fake(24, URLSAFE))
    secret(conf("dev"), "/runtime/orchestration/temporal/memo/npm_publish", "npm-token", "npm_" + fake(36, ALNUM))
    secret(conf("prod"), "/runtime/orchestration/temporal/memo/email_api_key", "sendgrid-key", "SG." + fake(22, URLSAFE) + "." + fake(43, URLSAFE))
    secret(plan("prod"), "/memo/pagerduty_routing", "pagerduty-key", fake(32, HEX, "fa6e"))
    secret(conf("uat"), f"/sources/{PG}/options/token", "generic-token", fake(32, ALNUM))
    secret(conf("prod"), f"/sources/{KAFKA}/options/schema.registry.basic.auth.user.info", "basic-auth", "ingest:" + password(), None)

    # Clean look-alikes: references, placeholders, paths, digests, hashes,
    # UUIDs, durations and ordinary settings under credential-like names.
    clean(conf("dev"), SPARK_CONF + "spark.authenticate", "ordinary", "true")
    clean(conf("dev"), SPARK_CONF + "spark.ssl.keyStore", "path", "/etc/spark/ssl/keystore.jks")
    clean(conf("dev"), SPARK_CONF + "spark.ssl.keyStoreType", "ordinary", "JKS")
    clean(conf("dev"), SPARK_CONF + "spark.ssl.trustStore", "path", "/etc/spark/ssl/truststore.jks")
    clean(conf("dev"), SPARK_CONF + "spark.ssl.protocol", "ordinary", "TLSv1.3")
    clean(conf("uat"), SPARK_CONF + "spark.ssl.keyStorePassword", "placeholder", "${SPARK_KEYSTORE_PASSWORD}")
    clean(conf("uat"), SPARK_CONF + "spark.authenticate.secret.file", "path", "/var/run/secrets/spark/auth-secret")
    clean(conf("uat"), SPARK_CONF + "spark.hadoop.fs.s3a.aws.credentials.provider", "ordinary", "org.apache.hadoop.fs.s3a.auth.AssumedRoleCredentialProvider")
    clean(conf("uat"), SPARK_CONF + "spark.hadoop.fs.s3a.assumed.role.session.duration", "duration", "1h")
    clean(conf("uat"), SPARK_CONF + "spark.hadoop.fs.s3a.encryption.key", "reference", "arn:aws:kms:me-central-1:123456789012:key/" + "4f1c2a9e-8b7d-4c3e-9a1f-2b3c4d5e6f70")
    clean(conf("prod"), SPARK_CONF + "spark.hadoop.fs.azure.account.oauth2.client.id", "uuid", "7d3e9c1a-2b4f-4e8d-9c6a-1f2e3d4c5b6a")
    clean(conf("prod"), SPARK_CONF + "spark.hadoop.fs.azure.account.oauth2.client.secret", "reference", "azure-kv://salam-prod-kv/ingest-oauth-client-secret")
    clean(conf("prod"), SPARK_CONF + "spark.hadoop.fs.azure.account.oauth2.client.endpoint", "ordinary", "https://login.microsoftonline.com/5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b/oauth2/token")
    clean(conf("prod"), SPARK_CONF + "spark.kubernetes.authenticate.oauthTokenFile", "path", "/var/run/secrets/kubernetes.io/serviceaccount/token")
    clean(conf("dev"), f"/sources/{KAFKA}/options/sasl.mechanism", "ordinary", "SCRAM-SHA-512")
    clean(conf("dev"), f"/sources/{KAFKA}/options/ssl.truststore.location", "path", "/etc/kafka/ssl/truststore.p12")
    clean(conf("uat"), f"/sources/{KAFKA}/options/sasl.jaas.config", "placeholder", 'org.apache.kafka.common.security.scram.ScramLoginModule required username="ingest-orders" password="${KAFKA_PASSWORD}";')
    clean(conf("uat"), f"/sources/{KAFKA}/options/ssl.truststore.password", "reference", "vault://vault.uat/kv/ingestion-uat/kafka#truststore_password")
    clean(conf("prod"), f"/sources/{KAFKA}/options/ssl.truststore.type", "ordinary", "PKCS12")
    clean(conf("prod"), f"/sources/{KAFKA}/options/ssl.keystore.password", "reference", "aws-sm://prod/ingestion/kafka#keystore_password")
    clean(plan("dev"), f"/input/sources/{PG}/options/password", "placeholder", "{{ orders_db_password }}")
    clean(plan("dev"), f"/input/sources/{PG}/options/password_rotation_days", "ordinary", "30")
    clean(plan("dev"), f"/input/sources/{PG}/options/secret_scope", "ordinary", "ingestion-dev")
    clean(plan("dev"), f"/input/sources/{PG}/options/api_key_header", "ordinary", "X-Api-Key")
    clean(plan("dev"), "/memo/artifact_digest", "digest", "sha256:" + "".join(rng.choice(HEX) for _ in range(64)))
    clean(plan("uat"), f"/input/sources/{PG}/options/oracle_url", "ordinary", "jdbc:oracle:thin:@//ledger-db.uat.salam.internal:1521/LEDGER")
    clean(plan("uat"), f"/input/sources/{PG}/options/mssql_url", "ordinary", "jdbc:sqlserver://billing-db.uat.salam.internal:1433;databaseName=billing;integratedSecurity=true;encrypt=true")
    clean(plan("uat"), f"/input/sources/{PG}/options/pg_url", "placeholder", "jdbc:postgresql://orders-db.uat.salam.internal:5432/orders?user=ingest&password=${PG_PASSWORD}")
    clean(plan("uat"), f"/input/sources/{PG}/options/client_id", "uuid", "0b9f6c2e-4d1a-4f7b-8e3c-5a6b7c8d9e0f")
    clean(plan("uat"), "/memo/source_commit", "hash", "".join(rng.choice(HEX) for _ in range(40)))
    clean(plan("prod"), f"/input/sources/{PG}/options/client_secret", "reference", "gcp-sm://projects/salam-prod/secrets/oidc-client-secret")
    clean(plan("prod"), f"/input/sources/{PG}/options/headers/0", "placeholder", "Authorization: Bearer ${STATUS_API_TOKEN}")
    clean(plan("prod"), f"/input/sources/{PG}/options/storage_connection", "placeholder", "DefaultEndpointsProtocol=https;AccountName=salamprodlanding;AccountKey={{ landing_account_key }};EndpointSuffix=core.windows.net")
    clean(plan("prod"), f"/input/sources/{PG}/options/token_refresh_interval", "duration", "15m")
    clean(plan("prod"), f"/input/sources/{PG}/options/public_key", "ordinary", "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" + fake(50, B64) + "\n-----END PUBLIC KEY-----")
    clean(plan("prod"), "/memo/checksum_md5", "hash", "".join(rng.choice(HEX) for _ in range(32)))
    clean(plan("prod"), "/memo/tenant_id", "uuid", "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f")
    clean(conf("dev"), "/runtime/orchestration/temporal/memo/token_ttl", "duration", "720h")
    clean(conf("uat"), "/runtime/orchestration/temporal/memo/kafka_bootstrap", "ordinary", "kafka-1.uat.salam.internal:9093,kafka-2.uat.salam.internal:9093")
    clean(conf("prod"), "/runtime/orchestration/temporal/memo/service_account_key", "ordinary", "ingestion-prod-sa-key-01")
    return out


def set_pointer(doc, pointer, value):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = doc
    for i, part in enumerate(parts[:-1]):
        following = parts[i + 1]
        if isinstance(node, list):
            part = int(part)
            while len(node) <= part:
                node.append([] if following.isdigit() else {})
            node = node[part]
        else:
            if part not in node:
                node[part] = [] if following.isdigit() else {}
            node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        index = int(last)
        while len(node) <= index:
            node.append(None)
        node[index] = value
    else:
        node[last] = value


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fixtures" / "secrets" / "corpus"
    if out.exists():
        shutil.rmtree(out)
    docs = {}
    for env in ENVS:
        docs[conf(env)] = json.loads((CLEAN / conf(env)).read_text())
        docs[plan(env)] = json.loads((CLEAN / plan(env)).read_text())
    planted = items()
    for file, pointer, family, is_secret, value, _ in planted:
        if pointer.endswith("/env/0/value"):
            set_pointer(docs[file], pointer[: -len("value")] + "name", "ORDERS_DB_PASSWORD")
        set_pointer(docs[file], pointer, value)
    for file, doc in docs.items():
        path = out / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    manifest = {
        "description": (
            "PG110 benchmark corpus (scripts/bench/secrets_corpus.py writes it): each planted item, "
            "its file, JSON pointer, family and whether it is a secret; `text` is the secret that "
            "must never be printed. Every value is fake."
        ),
        "items": [
            {"file": file, "pointer": pointer, "family": family, "secret": is_secret}
            | ({"text": text} if is_secret else {})
            for file, pointer, family, is_secret, _, text in planted
        ],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    secrets = sum(1 for i in planted if i[3])
    print(f"{out}: {secrets} secrets, {len(planted) - secrets} clean look-alikes", file=sys.stderr)


if __name__ == "__main__":
    main()
