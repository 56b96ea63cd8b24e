# PG115 schedule-invalid: a schedule Temporal will accept and that does what
# it says: cron expressions parse, the time zone is a real IANA zone,
# intervals, jitter and catch-up window are durations, and jitter is shorter
# than the interval it delays.
package planguard.rules.schedule_invalid

import data.planguard.lib.fields
import rego.v1

kind := data.planguard.file.kind

schedule := fields.value(input, kind, "schedule")

schedule_path := fields.path(kind, "schedule")

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

# Every duration of the schedule, with its location.
durations contains [array.concat(schedule_path, ["intervals", i, key]), d] if {
	some i, interval in schedule.intervals
	some key in ["every", "offset"]
	d := interval[key]
}

durations contains [array.concat(schedule_path, ["jitter"]), schedule.jitter]

durations contains [fields.path(kind, "catchup_window"), d] if d := fields.value(input, kind, "catchup_window")

deny contains finding(sprintf("\"%v\" is not a duration like 30s, 5m or 1h30m", [d]), location) if {
	some item in durations
	location := item[0]
	d := item[1]
	is_string(d)
	fields.duration(d) < 0
}

deny contains finding(sprintf("interval `every` of \"%v\" must be longer than zero", [interval.every]), array.concat(schedule_path, ["intervals", i, "every"])) if {
	some i, interval in schedule.intervals
	fields.duration(interval.every) == 0
}

deny contains finding(sprintf("offset \"%v\" is not shorter than the interval \"%v\"", [interval.offset, interval.every]), array.concat(schedule_path, ["intervals", i, "offset"])) if {
	some i, interval in schedule.intervals
	period := fields.duration(interval.every)
	period > 0
	fields.duration(interval.offset) >= period
}

deny contains finding(sprintf("jitter \"%v\" is not shorter than the interval \"%v\", so runs can overlap or be skipped", [schedule.jitter, interval.every]), array.concat(schedule_path, ["jitter"])) if {
	jitter := fields.duration(schedule.jitter)
	some interval in schedule.intervals
	period := fields.duration(interval.every)
	period > 0
	jitter >= period
}

deny contains finding(sprintf("catch-up window \"%v\" is shorter than 10s, the least Temporal allows", [window]), fields.path(kind, "catchup_window")) if {
	window := fields.value(input, kind, "catchup_window")
	ns := fields.duration(window)
	ns >= 0
	ns < 10000000000
}
