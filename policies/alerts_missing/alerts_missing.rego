# PG114 alerts-missing: in environments that require it (PROD by default), a
# config routes failures to an alert endpoint (Slack webhook or PagerDuty key)
# held as a secret reference (spec §4 "Alert endpoints", §5 "Alerts"), and in
# environments that name events (`alert-on`: failure and retry exhaustion in
# UAT and PROD by default) its alerts are raised on them (spec §5 "hook into
# Temporal failure hooks").
package planguard.rules.alerts_missing

import data.planguard.lib.fields
import rego.v1

endpoints := ["slack_webhook_ref", "pagerduty_key_ref"]

deny contains finding if {
	data.planguard.file.kind == "config"
	fields.environment.require_alerts
	not has_endpoint
	finding := {
		"rule": "PG114",
		"msg": sprintf("no alert endpoint is configured, which %s requires", [data.planguard.file.environment]),
		"location": ["alerts"],
		"help": "set alerts.slack_webhook_ref or alerts.pagerduty_key_ref to a secret reference",
	}
}

has_endpoint if {
	some key in endpoints
	fields.is_secret_ref(input.alerts[key])
}

deny contains finding if {
	data.planguard.file.kind == "config"
	some key in endpoints
	value := input.alerts[key]
	not fields.is_secret_ref(value)
	finding := {
		"rule": "PG114",
		"msg": sprintf("`%s` must be a secret reference", [key]),
		"location": ["alerts", key],
		"sensitive": true,
		"help": "a webhook URL or routing key is a credential: store it and reference it (vault://…)",
	}
}

deny contains finding if {
	data.planguard.file.kind == "config"
	required := object.get(fields.environment, "alert_on", [])
	count(required) > 0
	raised := object.get(input, ["alerts", "on"], [])
	is_array(raised)
	missing := [event | some event in required; not event in raised]
	count(missing) > 0
	finding := {
		"rule": "PG114",
		"msg": sprintf("alerts are not raised on %s, which %s requires", [concat(", ", missing), data.planguard.file.environment]),
		"location": events_location,
		"help": sprintf("add %s to alerts.on", [concat(", ", [sprintf("\"%s\"", [e]) | some e in missing])]),
	}
}

# Where a missing event is reported: the list, else the alerts, else the top.
default events_location := []

events_location := ["alerts"] if {
	is_object(input.alerts)
	not input.alerts.on
}

events_location := ["alerts", "on"] if input.alerts.on
