# PG119 certificate-expiry: the Temporal TLS certificates a config names as
# repository files (the public client certificate, the CA bundle) do not
# expire unnoticed (spec §4 "Temporal certificates: rotate quarterly"): a
# warning 30 days before, an error from 7 days before and once expired. Days
# are whole UTC days, so a verdict changes only at midnight UTC (which lets
# the cache keep it for the day). A file that leads out of the workspace is
# not read: PG120.
package planguard.rules.certificate_expiry

import data.planguard.lib.fields
import data.planguard.lib.files
import rego.v1

# [certificates] in planguard.toml (warn-days, error-days, rotation-days) may
# change the limits.
default configured := {}

configured := data.planguard.certificates

limits := object.union({"warn_days": 30, "error_days": 7, "rotation_days": 90}, configured)

# [key under auth, the file as named] of each named certificate file.
named_files contains [key, relative] if {
	data.planguard.file.kind == "config"
	auth := fields.values.auth
	some key in ["client_cert_file", "ca_file"]
	relative := auth[key]
	is_string(relative)
}

# [key under auth, path from the working folder] of each certificate file to read.
certificate_files contains [key, files.path(relative)] if {
	some [key, relative] in named_files
	files.problem(relative) == ""
}

certificates contains [key, path, certificate] if {
	some [key, path] in certificate_files
	some certificate in planguard.certificates(path)
}

# Whole days from today to the day of expiry, both UTC.
days_left(certificate) := floor(certificate.not_after_s / 86400) - floor(time.now_ns() / 86400000000000)

location(key) := array.concat(fields.temporal, ["auth", key])

deny contains finding if {
	some [key, path, certificate] in certificates
	days_left(certificate) <= limits.error_days
	finding := {
		"rule": "PG119",
		"msg": message(path, certificate),
		"location": location(key),
		"help": "issue a new certificate, deploy it, and commit its public part here",
	}
}

warn contains finding if {
	some [key, path, certificate] in certificates
	days_left(certificate) > limits.error_days
	days_left(certificate) <= limits.warn_days
	finding := {
		"rule": "PG119",
		"msg": message(path, certificate),
		"location": location(key),
		"help": "plan the rotation: issue a new certificate before this date",
	}
}

warn contains finding if {
	some [key, path] in certificate_files
	count(planguard.certificates(path)) == 0
	finding := {
		"rule": "PG119",
		"msg": sprintf("no certificate can be read from %v, so its expiry is not watched", [path]),
		"location": location(key),
		"help": "name a PEM file of the repository, relative to the workspace",
	}
}

message(path, certificate) := sprintf("the certificate \"%v\" in %v expired on %v", [certificate.subject, path, certificate.not_after]) if {
	days_left(certificate) < 0
}

message(path, certificate) := sprintf("the certificate \"%v\" in %v expires today (%v)", [certificate.subject, path, certificate.not_after]) if {
	days_left(certificate) == 0
}

message(path, certificate) := sprintf("the certificate \"%v\" in %v expires on %v, in %v days", [certificate.subject, path, certificate.not_after, days_left(certificate)]) if {
	days_left(certificate) > 0
}

deny contains finding if {
	some [key, relative] in named_files
	problem := files.problem(relative)
	problem != ""
	finding := {
		"rule": "PG120",
		"msg": sprintf("the certificate file %v %v: planguard reads only files inside the workspace, so its expiry is not watched", [relative, problem]),
		"location": location(key),
		"help": "name a PEM file of the repository, relative to the workspace (the folder holding conf/)",
	}
}

# Rotated quarterly (spec §4): a certificate valid for longer than the
# rotation period outlives it. Only while no expiry finding is due, so that
# one certificate gets one finding.
warn contains finding if {
	some [key, path, certificate] in certificates
	days_left(certificate) > limits.warn_days
	lifetime := lifetime_days(certificate)
	lifetime > limits.rotation_days
	finding := {
		"rule": "PG119",
		"msg": sprintf("the certificate \"%v\" in %v is valid for %v days, longer than the %v-day rotation period", [certificate.subject, path, lifetime, limits.rotation_days]),
		"location": location(key),
		"help": sprintf("issue certificates valid for at most %v days and rotate them, or set rotation-days under [certificates] in planguard.toml", [limits.rotation_days]),
	}
}

lifetime_days(certificate) := floor((certificate.not_after_s - certificate.not_before_s) / 86400)
