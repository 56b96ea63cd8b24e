package planguard.rules.alerts_missing_test

import data.planguard.rules.alerts_missing
import rego.v1

environments := {
	"dev": {"require_alerts": false},
	"prod": {"require_alerts": true},
}

slack_ref := "vault://vault.prod/kv/ingestion-prod/customer-orders/alerts/slack#webhook_url"

pagerduty_ref := "vault://vault.prod/kv/ingestion-prod/customer-orders/alerts/pagerduty#routing_key"

# The findings for `doc` checked as a config of `env`.
findings(doc, env) := result if {
	result := alerts_missing.deny with input as doc
		with data.planguard.file as {"kind": "config", "environment": env}
		with data.planguard.environments as environments
}

test_prod_without_alerts_is_denied if {
	fs := findings({"environment": "prod"}, "prod")
	count(fs) == 1
	some f in fs
	f.rule == "PG114"
	f.location == ["alerts"]
}

test_prod_with_channels_but_no_endpoint_is_denied if {
	count(findings({"alerts": {"channels": ["#ingestion-alerts-prod"]}}, "prod")) == 1
}

test_prod_with_either_endpoint_passes if {
	count(findings({"alerts": {"slack_webhook_ref": slack_ref}}, "prod")) == 0
	count(findings({"alerts": {"pagerduty_key_ref": pagerduty_ref}}, "prod")) == 0
}

test_dev_needs_no_alerts if {
	count(findings({"environment": "dev"}, "dev")) == 0
}

test_literal_endpoint_is_denied_in_every_environment if {
	fs := findings({"alerts": {"slack_webhook_ref": "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx"}}, "dev")
	count(fs) == 1
	some f in fs
	f.rule == "PG114"
	f.location == ["alerts", "slack_webhook_ref"]
	f.sensitive == true
}

test_literal_endpoint_alone_does_not_satisfy_prod if {
	fs := findings({"alerts": {"pagerduty_key_ref": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"}}, "prod")
	{f.location | some f in fs} == {["alerts"], ["alerts", "pagerduty_key_ref"]}
}

test_plans_are_not_checked if {
	count(alerts_missing.deny) == 0 with input as {"namespace": "ingestion-prod"}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as environments
}

hooked := {"uat": {"require_alerts": false, "alert_on": ["failure", "retry_exhausted"]}}

events_findings(doc) := result if {
	result := alerts_missing.deny with input as doc
		with data.planguard.file as {"kind": "config", "environment": "uat"}
		with data.planguard.environments as hooked
}

test_alerts_raised_only_on_success_are_denied if {
	findings := events_findings({"alerts": {"slack_webhook_ref": slack_ref, "on": ["success"]}})
	[[f.msg, f.location] | some f in findings] == [[
		"alerts are not raised on failure, retry_exhausted, which uat requires",
		["alerts", "on"],
	]]
}

test_one_missing_event_is_named if {
	findings := events_findings({"alerts": {"slack_webhook_ref": slack_ref, "on": ["failure", "timeout"]}})
	[f.msg | some f in findings] == ["alerts are not raised on retry_exhausted, which uat requires"]
}

test_no_events_is_reported_at_the_alerts if {
	findings := events_findings({"alerts": {"slack_webhook_ref": slack_ref}})
	[f.location | some f in findings] == [["alerts"]]
}

test_no_alerts_at_all_is_reported_at_the_top if {
	findings := events_findings({})
	[f.location | some f in findings] == [[]]
}

test_every_required_event_passes if {
	count(events_findings({"alerts": {"slack_webhook_ref": slack_ref, "on": ["retry_exhausted", "failure", "success"]}})) == 0
}
