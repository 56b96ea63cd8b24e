# PG115 schedule-invalid: a schedule Temporal will accept and that does what
# it says: cron expressions parse, the time zone is a real IANA zone,
# intervals, jitter and catch-up window are durations, and jitter is shorter
# than the interval it delays.
package planguard.rules.schedule_invalid

import data.planguard.lib.fields
import rego.v1

kind := data.planguard.file.kind

schedule := fields.values.schedule

schedule_path := fields.path(kind, "schedule")

catchup_window := fields.values.catchup_window

finding(msg, location) := {"rule": "PG115", "msg": msg, "location": location}

deny contains finding(sprintf("cron expression \"%v\" is invalid: %s", [expr, problem]), array.concat(schedule_path, ["cron", i])) if {
	some i, expr in schedule.cron
	is_string(expr)
	problem := planguard.cron_error(expr)
	problem != ""
}

deny contains finding(sprintf("\"%v\" is not an IANA time zone", [zone]), array.concat(schedule_path, ["timezone"])) if {
	zone := schedule.timezone
	is_string(zone)
	not planguard.timezone_valid(zone)
}

# Durations that do not parse. Each rule tests the value before it builds
# the finding's location, which most documents never need.
not_a_duration(d) := sprintf("\"%v\" is not a duration like 30s, 5m or 1h30m", [d])

deny contains finding(not_a_duration(d), array.concat(schedule_path, ["intervals", i, key])) if {
	some i, interval in schedule.intervals
	some key in ["every", "offset"]
	d := interval[key]
	is_string(d)
	planguard.duration_ns(d) < 0
}

deny contains finding(not_a_duration(d), array.concat(schedule_path, ["jitter"])) if {
	d := schedule.jitter
	is_string(d)
	planguard.duration_ns(d) < 0
}

deny contains finding(not_a_duration(d), fields.path(kind, "catchup_window")) if {
	d := catchup_window
	is_string(d)
	planguard.duration_ns(d) < 0
}

deny contains finding(sprintf("interval `every` of \"%v\" must be longer than zero", [period_text]), array.concat(schedule_path, ["intervals", i, "every"])) if {
	some i, interval in schedule.intervals
	period_text := interval.every
	is_string(period_text)
	planguard.duration_ns(period_text) == 0
}

deny contains finding(sprintf("offset \"%v\" is not shorter than the interval \"%v\"", [offset, period_text]), array.concat(schedule_path, ["intervals", i, "offset"])) if {
	some i, interval in schedule.intervals
	period_text := interval.every
	offset := interval.offset
	is_string(period_text)
	is_string(offset)
	period := planguard.duration_ns(period_text)
	period > 0
	planguard.duration_ns(offset) >= period
}

deny contains finding(sprintf("jitter \"%v\" is not shorter than the interval \"%v\", so runs can overlap or be skipped", [jitter, period_text]), array.concat(schedule_path, ["jitter"])) if {
	some interval in schedule.intervals
	jitter := schedule.jitter
	period_text := interval.every
	is_string(jitter)
	is_string(period_text)
	period := planguard.duration_ns(period_text)
	period > 0
	planguard.duration_ns(jitter) >= period
}

deny contains finding(sprintf("catch-up window \"%v\" is shorter than 10s, the least Temporal allows", [window]), fields.path(kind, "catchup_window")) if {
	window := catchup_window
	is_string(window)
	ns := planguard.duration_ns(window)
	ns >= 0
	ns < 10000000000
}
