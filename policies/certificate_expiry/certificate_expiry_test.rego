package planguard.rules.certificate_expiry_test

import data.planguard.rules.certificate_expiry
import rego.v1

# fixtures/certs/client.pem expires at 1827297230 (2027-11-27T06:33:50Z);
# the bundle also holds the CA, which expires in 2036. Tests run from the
# repository root and set the clock.
expiry := 1827297230

day := 86400

now(days_before) := (expiry - (days_before * day)) * 1000000000

config(auth) := {"runtime": {"orchestration": {"temporal": {"auth": auth}}}}

file := {"kind": "config", "environment": "prod", "workspace": "fixtures"}

# client.pem is valid for a year: a rotation period of a year keeps the
# lifetime check quiet where a test is about expiry.
yearly := {"rotation_days": 366}

test_far_from_expiry_is_quiet if {
	count(certificate_expiry.deny) == 0 with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as file
		with time.now_ns as now(90)
	count(certificate_expiry.warn) == 0 with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as file
		with time.now_ns as now(90)
		with data.planguard.certificates as yearly
}

test_a_certificate_valid_longer_than_the_rotation_is_a_warning if {
	warnings := certificate_expiry.warn with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as file
		with time.now_ns as now(200)
	[w.msg | some w in warnings] == ["the certificate \"ingestion-worker.dev.salam.internal\" in fixtures/certs/client.pem is valid for 365 days, longer than the 90-day rotation period"]
}

test_the_rotation_period_is_a_setting if {
	count(certificate_expiry.warn) == 0 with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as file
		with time.now_ns as now(200)
		with data.planguard.certificates as {"rotation_days": 365}
}

test_an_expiring_certificate_gets_one_finding if {
	warnings := certificate_expiry.warn with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as file
		with time.now_ns as now(20)
	count(warnings) == 1
}

test_a_month_before_is_a_warning if {
	warnings := certificate_expiry.warn with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as file
		with time.now_ns as now(20)
	some w in warnings
	w.msg == "the certificate \"ingestion-worker.dev.salam.internal\" in fixtures/certs/client.pem expires on 2027-11-27T06:33:50Z, in 20 days"
	w.location == ["runtime", "orchestration", "temporal", "auth", "client_cert_file"]
	count(certificate_expiry.deny) == 0 with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as file
		with time.now_ns as now(20)
}

test_a_week_before_is_an_error if {
	errors := certificate_expiry.deny with input as config({"ca_file": "certs/bundle.pem"})
		with data.planguard.file as file
		with time.now_ns as now(5)
	count(errors) == 1
	some e in errors
	contains(e.msg, "\"ingestion-worker.dev.salam.internal\"")
	e.location == ["runtime", "orchestration", "temporal", "auth", "ca_file"]
}

test_expired_is_an_error if {
	errors := certificate_expiry.deny with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as file
		with time.now_ns as now(-3)
	some e in errors
	e.msg == "the certificate \"ingestion-worker.dev.salam.internal\" in fixtures/certs/client.pem expired on 2027-11-27T06:33:50Z"
}

test_limits_come_from_the_settings if {
	count(certificate_expiry.warn) == 1 with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as file
		with data.planguard.certificates as {"warn_days": 120, "error_days": 7}
		with time.now_ns as now(90)
}

test_an_unreadable_file_is_a_warning if {
	warnings := certificate_expiry.warn with input as config({"ca_file": "certs/missing.pem"})
		with data.planguard.file as file
	some w in warnings
	contains(w.msg, "no certificate can be read from fixtures/certs/missing.pem")
}

test_plans_are_not_concerned if {
	count(certificate_expiry.deny) == 0 with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as {"kind": "plan", "environment": "prod", "workspace": "fixtures"}
		with time.now_ns as now(-3)
}

test_expiry_day_is_an_error_saying_today if {
	errors := certificate_expiry.deny with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as file
		with time.now_ns as now(0)
	some e in errors
	e.msg == "the certificate \"ingestion-worker.dev.salam.internal\" in fixtures/certs/client.pem expires today (2027-11-27T06:33:50Z)"
}

# Whole UTC days: an hour after the expiry is still the day of expiry, and
# the day before counts one day whatever the hour.
test_days_are_calendar_days if {
	after := certificate_expiry.deny with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as file
		with time.now_ns as (expiry + 3600) * 1000000000
	some a in after
	contains(a.msg, "expires today")
	before := certificate_expiry.deny with input as config({"client_cert_file": "certs/client.pem"})
		with data.planguard.file as file
		with time.now_ns as ((expiry - 86400) + 20000) * 1000000000
	some b in before
	endswith(b.msg, "in 1 days")
}

# A PG120 error at the field, and no certificate read.
outside(auth, key) if {
	errors := certificate_expiry.deny with input as config(auth)
		with data.planguard.file as file
		with time.now_ns as now(90)
	count(errors) == 1
	some e in errors
	e.rule == "PG120"
	e.location == ["runtime", "orchestration", "temporal", "auth", key]
	count(certificate_expiry.warn) == 0 with input as config(auth)
		with data.planguard.file as file
		with time.now_ns as now(90)
}

test_files_outside_the_workspace_are_not_read if {
	outside({"client_cert_file": "/etc/passwd"}, "client_cert_file")
	outside({"ca_file": "../../../../../etc/ssl/certs/ca-certificates.crt"}, "ca_file")
}
