package planguard.rules.secret_value_test

import data.planguard.rules.secret_value
import rego.v1

file := {"kind": "config", "environment": "dev"}

# The findings for `doc`, checked as a dev config.
findings(doc) := result if {
	result := secret_value.deny with input as doc with data.planguard.file as file
}

# The text a finding's `within` span covers in `value`.
covered(f, value) := substring(value, f.within[0], f.within[1] - f.within[0])

# Exactly one finding, at `location`, covering `secret`.
found_once(doc, location, value, secret) if {
	fs := findings(doc)
	count(fs) == 1
	some f in fs
	f.rule == "PG110"
	f.location == location
	f.sensitive == true
	covered(f, value) == secret
}

test_password_in_url_query_is_denied if {
	url := "jdbc:postgresql://orders-db.uat.salam.internal:5432/orders?user=ingest&password=hunter2-uat"
	found_once({"sources": [{"url": url}]}, ["sources", 0, "url"], url, "hunter2-uat")
}

test_query_password_span_is_the_password_not_an_earlier_word if {
	url := "jdbc:postgresql://orders-db.uat.salam.internal:5432/orders?user=ingest&password=orders"
	some f in findings({"url": url})
	f.within == [count(url) - 6, count(url)]
}

test_password_in_user_information_is_denied if {
	url := "kafka://ingest:s3cr3t-kafka@kafka-1.dev.salam.internal:9093"
	found_once({"url": url}, ["url"], url, "s3cr3t-kafka")
}

test_password_in_jdbc_user_information_is_denied if {
	url := "jdbc:postgresql://ingest:s3cr3t@orders-db:5432/orders"
	found_once({"url": url}, ["url"], url, "s3cr3t")
}

test_private_key_is_denied if {
	key := "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----"
	found_once({"memo": {"key": key}}, ["memo", "key"], key, key)
}

test_public_key_passes if {
	count(findings({"memo": {"key": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"}})) == 0
}

test_aws_access_key_id_is_denied if {
	note := "uploaded with AKIAIOSFODNN7EXAMPLE yesterday"
	found_once({"memo": {"note": note}}, ["memo", "note"], note, "AKIAIOSFODNN7EXAMPLE")
}

test_slack_webhook_is_denied if {
	hook := "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx"
	found_once({"memo": {"hook": hook}}, ["memo", "hook"], hook, hook)
}

test_bearer_token_is_denied if {
	header := "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"
	found_once({"memo": {"header": header}}, ["memo", "header"], header, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig")
}

test_short_bearer_word_passes if {
	count(findings({"memo": {"note": "the bearer token lives in vault"}})) == 0
}

test_literal_under_password_key_is_denied if {
	found_once({"options": {"sasl_password": "hunter2"}}, ["options", "sasl_password"], "hunter2", "hunter2")
}

test_password_keys_match_in_any_case if {
	found_once({"options": {"Client-Secret": "x"}}, ["options", "Client-Secret"], "x", "x")
}

test_random_value_under_token_key_is_denied if {
	found_once({"options": {"api_key": "q8Zt3LmW0pR7xYv2Kc9N"}}, ["options", "api_key"], "q8Zt3LmW0pR7xYv2Kc9N", "q8Zt3LmW0pR7xYv2Kc9N")
}

test_short_or_plain_values_under_token_keys_pass if {
	count(findings({"options": {"api_key": "short-name", "access_token": "aaaaaaaaaaaaaaaaaaaaaaaa"}})) == 0
}

test_pagerduty_key_is_denied if {
	key := "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
	found_once({"alerts": {"pagerduty": {"routing": key}}}, ["alerts", "pagerduty", "routing"], key, key)
}

test_32_characters_outside_pagerduty_pass if {
	count(findings({"memo": {"build": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"}})) == 0
}

test_strings_in_arrays_are_checked if {
	header := "Authorization: Bearer abcdefgh12345678"
	found_once({"headers": ["Accept: */*", header]}, ["headers", 1], header, "abcdefgh12345678")
}

test_references_placeholders_and_empty_values_pass if {
	count(findings({"options": {
		"password": "${ORDERS_DB_PASSWORD}",
		"client_secret": "vault://vault.dev/kv/ingestion-dev/oidc#client_secret",
		"sasl_password": "aws-sm://dev/kafka/password",
		"pwd": "",
		"api_key": "gcp-sm://projects/dev/secrets/api-key",
		"access_token": "azure-kv://salam-dev-kv/token",
	}})) == 0
}

test_clean_document_passes if {
	count(findings({
		"sources": [{
			"url": "jdbc:postgresql://orders-db.dev.salam.internal:5432/orders?user=ingest",
			"credentials": "vault://vault.dev/kv/ingestion-dev/customer-orders/jdbc/orders",
			"options": {"fetchsize": 10000, "security_protocol": "SASL_SSL"},
		}],
		"alerts": {"pagerduty_key_ref": "vault://vault.dev/kv/ingestion-dev/alerts/pagerduty#routing_key"},
		"memo": {"runbook": "https://wiki.salam.internal/data/ingestion/customer-orders"},
	})) == 0
}

# The first report: four secrets in spark.conf and a source's options that
# only `_`/`-`-separated key patterns missed.
test_dotted_spark_and_hadoop_keys_are_denied if {
	conf := {"spark": {"conf": {
		"spark.hadoop.fs.s3a.secret.key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEY01",
		"spark.ssl.keyStorePassword": "Ks-Pa55-fake",
		"spark.authenticate.secret": "auth-fake-7f3a",
		"spark.sql.shuffle.partitions": "64",
		"spark.ssl.keyStore": "/etc/spark/ssl/keystore.jks",
		"fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
	}}}
	locations := {f.location | some f in findings(conf)}
	locations == {
		["spark", "conf", "spark.hadoop.fs.s3a.secret.key"],
		["spark", "conf", "spark.ssl.keyStorePassword"],
		["spark", "conf", "spark.authenticate.secret"],
	}
}

test_kafka_jaas_password_is_denied if {
	jaas := `org.apache.kafka.common.security.scram.ScramLoginModule required username="ingest" password="Jaas-Fake-9q";`
	found_once({"options": {"sasl.jaas.config": jaas}}, ["options", "sasl.jaas.config"], jaas, "Jaas-Fake-9q")
}

test_jaas_placeholder_passes if {
	jaas := `org.apache.kafka.common.security.plain.PlainLoginModule required username="ingest" password="${KAFKA_PASSWORD}";`
	count(findings({"options": {"sasl.jaas.config": jaas}})) == 0
}

test_camel_and_screaming_case_keys_are_denied if {
	found_once({"options": {"sfPassword": "Snow-Fake-22"}}, ["options", "sfPassword"], "Snow-Fake-22", "Snow-Fake-22")
	found_once({"env": {"DB_PASSWORD": "Env-Fake-8"}}, ["env", "DB_PASSWORD"], "Env-Fake-8", "Env-Fake-8")
}

test_name_value_pairs_are_read_as_one_key if {
	found_once({"env": [{"name": "DB_PASSWORD", "value": "Env-Fake-8"}]}, ["env", 0, "value"], "Env-Fake-8", "Env-Fake-8")
}

test_jdbc_urls_of_every_driver_are_denied if {
	every pair in [
		["jdbc:mysql://ingest:My-Fake-2@db:3306/orders", "My-Fake-2"],
		["jdbc:sqlserver://db:1433;databaseName=orders;user=ingest;password=Ms-Fake-3;encrypt=true", "Ms-Fake-3"],
		["jdbc:oracle:thin:ingest/Ora-Fake-4@//db:1521/ORCL", "Ora-Fake-4"],
		["mongodb+srv://ingest:Mongo-Fake-5@cluster0.example.net/orders", "Mongo-Fake-5"],
		["jdbc:redshift://rs.example:5439/dev?user=ingest&password=Rs-Fake-6", "Rs-Fake-6"],
		["jdbc:snowflake://acct.snowflakecomputing.com/?user=INGEST&password=Sf-Fake-7", "Sf-Fake-7"],
	] {
		found_once({"url": pair[0]}, ["url"], pair[0], pair[1])
	}
}

test_azure_connection_string_key_is_denied if {
	cs := "DefaultEndpointsProtocol=https;AccountName=salamdev;AccountKey=bm90LWEtcmVhbC1henVyZS1rZXktZmFrZTAxMjM0NTY3ODk=;EndpointSuffix=core.windows.net"
	found_once({"cs": cs}, ["cs"], cs, "bm90LWEtcmVhbC1henVyZS1rZXktZmFrZTAxMjM0NTY3ODk=")
}

test_service_tokens_are_denied if {
	tokens := [
		"ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake0123",
		"xoxb-000000000000-000000000000-FAKEfakeFAKEfake",
		"dapi0123456789abcdef0123456789abcdef",
		"sk_live_FAKEfakeFAKEfake01234567",
		"AIzaFAKEfakeFAKEfakeFAKEfakeFAKEfake012",
		"glpat-FAKEfake01234567890a",
	]
	fs := findings({"memo": {"tokens": tokens}})
	count(fs) == count(tokens)
	every f in fs {
		covered(f, tokens[f.location[2]]) == tokens[f.location[2]]
	}
}

test_look_alikes_pass if {
	count(findings({"spark": {"conf": {
		"spark.authenticate": "true",
		"spark.ssl.keyStoreType": "JKS",
		"fs.s3a.encryption.key": "arn:aws:kms:me-central-1:123456789012:key/0f0e0d0c-0b0a-0908-0706-050403020100",
		"spark.kubernetes.authenticate.oauthTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
		"access_token": "0f0e0d0c-0b0a-0908-0706-050403020100",
		"session_token_ttl": "1h",
		"client_secret": "{{ oidc_client_secret }}",
		"image_digest": "sha256:af0ecef63fc7a8b78888ce31d14f35345dd79ffe4b8c1033c9c2d465749a0f76",
		"api_key": "ingestion-service-account-01",
		"oracle": "jdbc:oracle:thin:@//db:1521/ORCL",
	}}})) == 0
}
