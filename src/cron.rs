//! Temporal's schedule grammar: cron strings (five fields, names, ranges,
//! steps, lists, @descriptors, a CRON_TZ=/TZ= prefix) and IANA zone names.
//! The `planguard.cron_error` Rego function reports with it, and apply turns
//! a plan's cron strings into the calendar ranges Temporal stores with it.

/// The five fields in order, with their bounds and, for month and weekday,
/// the names they accept (a name's value is its index plus `names_first`).
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    names_first: u32,
    /// `?` ("no specific value") only makes sense for the two day fields.
    question_mark: bool,
    /// What the field's names are called in a message.
    name_kind: &'static str,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        names_first: 0,
        question_mark: false,
        name_kind: "",
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        names_first: 0,
        question_mark: false,
        name_kind: "",
    },
    Field {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
        names_first: 0,
        question_mark: true,
        name_kind: "",
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
        names_first: 1,
        question_mark: false,
        name_kind: "month",
    },
    Field {
        name: "day-of-week",
        // 7 is Sunday again, as in Vixie cron and Temporal.
        min: 0,
        max: 7,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
        names_first: 0,
        question_mark: true,
        name_kind: "weekday",
    },
];

const DESCRIPTORS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// `""` when `expr` is a valid Temporal schedule cron string, else a short
/// message naming the first problem found.
pub fn cron_error(expr: &str) -> String {
    cron_fields(expr).err().unwrap_or_default()
}

/// One range of a cron field as Temporal's structured calendar holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CronRange {
    pub start: u32,
    pub end: u32,
    pub step: u32,
}

/// The five fields of a valid cron expression (minute, hour, day of month,
/// month, day of week) as ranges, descriptors expanded; what Temporal turns a
/// cron string into, so a deployed schedule can be compared with its plan.
pub fn cron_fields(expr: &str) -> Result<[Vec<CronRange>; 5], String> {
    let mut tokens: Vec<&str> = expr.split_ascii_whitespace().collect();
    if tokens
        .first()
        .is_some_and(|t| t.starts_with("CRON_TZ=") || t.starts_with("TZ="))
    {
        cron_check(expr)?;
        tokens.remove(0);
    }
    let expanded;
    if let Some(first) = tokens.first().filter(|t| t.starts_with('@')) {
        cron_check(expr)?;
        expanded = match *first {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@hourly" => "0 * * * *",
            _ => "0 0 * * *",
        };
        tokens = expanded.split(' ').collect();
    }
    cron_check(&tokens.join(" "))?;
    let mut fields: [Vec<CronRange>; 5] = Default::default();
    for ((slot, field), text) in fields.iter_mut().zip(&FIELDS).zip(tokens) {
        for item in text.split(',') {
            slot.extend(item_ranges(field, item)?);
        }
    }
    Ok(fields)
}

/// The ranges of one list entry that `check_item` accepted.
fn item_ranges(field: &Field, item: &str) -> Result<Vec<CronRange>, String> {
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, step.parse().map_err(|_| item.to_string())?),
        None => (item, 1),
    };
    let (start, end) = match base {
        // Every day of the week is 0-6 (7 would be Sunday again).
        "*" | "?" if field.name == "day-of-week" => (0, 6),
        "*" | "?" => (field.min, field.max),
        _ => match base.split_once('-') {
            Some((low, high)) => (field_value(field, low)?, field_value(field, high)?),
            // `a/n` runs from a to the end of the field, as in Go's cron.
            None if step > 1 => (field_value(field, base)?, field.max),
            None => {
                let v = field_value(field, base)?;
                (v, v)
            }
        },
    };
    // Sunday is 0 or 7; Temporal's calendar knows it as 0, so a range that
    // ends on 7 continues at 0.
    if field.name == "day-of-week" && end == 7 {
        if start == 7 {
            return Ok(vec![CronRange {
                start: 0,
                end: 0,
                step,
            }]);
        }
        let mut ranges = vec![CronRange {
            start,
            end: 6,
            step,
        }];
        if (7 - start) % step == 0 {
            ranges.push(CronRange {
                start: 0,
                end: 0,
                step: 1,
            });
        }
        return Ok(ranges);
    }
    Ok(vec![CronRange { start, end, step }])
}

fn cron_check(expr: &str) -> Result<(), String> {
    // ASCII whitespace only, so the Python twin can split identically.
    let mut tokens: Vec<&str> = expr.split_ascii_whitespace().collect();
    if tokens.is_empty() {
        return Err("cron expression is empty".to_string());
    }
    if let Some(prefix) = ["CRON_TZ=", "TZ="]
        .into_iter()
        .find(|prefix| tokens[0].starts_with(prefix))
    {
        let zone = &tokens[0][prefix.len()..];
        if zone.is_empty() {
            return Err(format!("time zone is missing after \"{prefix}\""));
        }
        if !timezone_valid(zone) {
            return Err(format!("unknown time zone \"{zone}\""));
        }
        tokens.remove(0);
        if tokens.is_empty() {
            return Err("cron expression has a time zone but no schedule".to_string());
        }
    }
    if tokens[0].starts_with('@') {
        if !DESCRIPTORS.contains(&tokens[0]) {
            return Err(format!(
                "unknown descriptor \"{}\" (expected @yearly, @annually, @monthly, \
                 @weekly, @daily, @midnight or @hourly)",
                tokens[0]
            ));
        }
        if tokens.len() > 1 {
            return Err(format!(
                "descriptor \"{}\" must stand alone, found {} fields",
                tokens[0],
                tokens.len()
            ));
        }
        return Ok(());
    }
    if tokens.len() != FIELDS.len() {
        return Err(format!(
            "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
            tokens.len()
        ));
    }
    FIELDS
        .iter()
        .zip(tokens)
        .try_for_each(|(field, text)| check_field(field, text))
}

fn check_field(field: &Field, text: &str) -> Result<(), String> {
    let name = field.name;
    if text == "?" {
        return if field.question_mark {
            Ok(())
        } else {
            Err(format!(
                "{name} field \"?\" is only allowed in day-of-month and day-of-week"
            ))
        };
    }
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!("{name} field \"{text}\" has an empty list entry"));
        }
        check_item(field, item)?;
    }
    Ok(())
}

/// One list entry: `*`, `a`, `a-b`, each optionally followed by `/step`.
fn check_item(field: &Field, item: &str) -> Result<(), String> {
    let name = field.name;
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, Some(step)),
        None => (item, None),
    };
    if let Some(step) = step {
        if step.contains('/') {
            return Err(format!("{name} field \"{item}\" has more than one \"/\""));
        }
        if !is_digits(step) {
            return Err(format!(
                "{name} field \"{item}\" has a step \"{step}\" that is not a whole number"
            ));
        }
        if step.bytes().all(|b| b == b'0') {
            return Err(format!("{name} field \"{item}\" has a step of 0"));
        }
    }
    match base {
        "*" => Ok(()),
        "?" => Err(format!(
            "{name} field \"{item}\": \"?\" must be the whole field"
        )),
        "" => Err(format!(
            "{name} field \"{item}\" is missing a value before \"/\""
        )),
        _ => match base.split_once('-') {
            None => field_value(field, base).map(|_| ()),
            Some((low, high)) => {
                if low.is_empty() || high.is_empty() || high.contains('-') {
                    return Err(format!("{name} field \"{base}\" is not a valid range"));
                }
                if field_value(field, low)? > field_value(field, high)? {
                    return Err(format!("{name} field \"{base}\" is a reversed range"));
                }
                Ok(())
            }
        },
    }
}

/// A number within the field's bounds, or one of its names.
fn field_value(field: &Field, text: &str) -> Result<u32, String> {
    let name = field.name;
    if is_digits(text) {
        // Too many digits for u32 is as out of range as 61 is.
        return match text.parse::<u32>() {
            Ok(n) if (field.min..=field.max).contains(&n) => Ok(n),
            _ => Err(format!(
                "{name} field \"{text}\" is out of range {}-{}",
                field.min, field.max
            )),
        };
    }
    if field.names.is_empty() {
        return Err(format!("{name} field \"{text}\" is not a number"));
    }
    let upper = text.to_ascii_uppercase();
    field
        .names
        .iter()
        .position(|n| *n == upper)
        .map(|index| index as u32 + field.names_first)
        .ok_or_else(|| {
            format!(
                "{name} field \"{text}\" is not a number or {} name",
                field.name_kind
            )
        })
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// True for an IANA zone name chrono-tz knows. "Local" is not one: a
/// Temporal schedule must name its zone explicitly.
pub fn timezone_valid(name: &str) -> bool {
    name.parse::<chrono_tz::Tz>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID_CRON: &[&str] = &[
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
    ];

    const INVALID_CRON: &[(&str, &str)] = &[
        ("", "cron expression is empty"),
        ("   ", "cron expression is empty"),
        ("61 * * * *", "minute field \"61\" is out of range 0-59"),
        (
            "* * * * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week), found 6",
        ),
        (
            "* * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week), found 4",
        ),
        ("0 24 * * *", "hour field \"24\" is out of range 0-23"),
        ("0 0 0 * *", "day-of-month field \"0\" is out of range 1-31"),
        (
            "0 0 32 * *",
            "day-of-month field \"32\" is out of range 1-31",
        ),
        ("0 0 * 13 *", "month field \"13\" is out of range 1-12"),
        ("0 0 * * 8", "day-of-week field \"8\" is out of range 0-7"),
        ("*/0 * * * *", "minute field \"*/0\" has a step of 0"),
        (
            "0-30/00 * * * *",
            "minute field \"0-30/00\" has a step of 0",
        ),
        (
            "30-10 * * * *",
            "minute field \"30-10\" is a reversed range",
        ),
        (
            "0 0 * DEC-JAN *",
            "month field \"DEC-JAN\" is a reversed range",
        ),
        (
            "0 0 * FOO *",
            "month field \"FOO\" is not a number or month name",
        ),
        (
            "0 0 * * FUNDAY",
            "day-of-week field \"FUNDAY\" is not a number or weekday name",
        ),
        ("0 MON * * *", "hour field \"MON\" is not a number"),
        (
            "0 0 * 1 ?x",
            "day-of-week field \"?x\" is not a number or weekday name",
        ),
        (
            "? * * * *",
            "minute field \"?\" is only allowed in day-of-month and day-of-week",
        ),
        (
            "0 0 ?/2 * *",
            "day-of-month field \"?/2\": \"?\" must be the whole field",
        ),
        (
            "1,,2 * * * *",
            "minute field \"1,,2\" has an empty list entry",
        ),
        ("1, * * * *", "minute field \"1,\" has an empty list entry"),
        (
            "*/5/2 * * * *",
            "minute field \"*/5/2\" has more than one \"/\"",
        ),
        (
            "*/x * * * *",
            "minute field \"*/x\" has a step \"x\" that is not a whole number",
        ),
        (
            "*/ * * * *",
            "minute field \"*/\" has a step \"\" that is not a whole number",
        ),
        (
            "/5 * * * *",
            "minute field \"/5\" is missing a value before \"/\"",
        ),
        ("-5 * * * *", "minute field \"-5\" is not a valid range"),
        (
            "1-2-3 * * * *",
            "minute field \"1-2-3\" is not a valid range",
        ),
        (
            "99999999999 * * * *",
            "minute field \"99999999999\" is out of range 0-59",
        ),
        (
            "@every 5m",
            "unknown descriptor \"@every\" (expected @yearly, @annually, @monthly, \
             @weekly, @daily, @midnight or @hourly)",
        ),
        (
            "@DAILY",
            "unknown descriptor \"@DAILY\" (expected @yearly, @annually, @monthly, \
             @weekly, @daily, @midnight or @hourly)",
        ),
        (
            "@daily 5",
            "descriptor \"@daily\" must stand alone, found 2 fields",
        ),
        (
            "CRON_TZ=Mars/Olympus 0 0 * * *",
            "unknown time zone \"Mars/Olympus\"",
        ),
        ("TZ=Local 0 0 * * *", "unknown time zone \"Local\""),
        (
            "CRON_TZ= 0 0 * * *",
            "time zone is missing after \"CRON_TZ=\"",
        ),
        ("TZ=UTC", "cron expression has a time zone but no schedule"),
        (
            "0 0 * * ５",
            "day-of-week field \"５\" is not a number or weekday name",
        ),
    ];

    #[test]
    fn cron_fields_are_temporal_calendar_ranges() {
        let r = |start, end, step| CronRange { start, end, step };
        let [minute, hour, dom, month, dow] = cron_fields("0 2 * * *").expect("valid");
        assert_eq!(minute, [r(0, 0, 1)]);
        assert_eq!(hour, [r(2, 2, 1)]);
        assert_eq!(dom, [r(1, 31, 1)]);
        assert_eq!(month, [r(1, 12, 1)]);
        assert_eq!(dow, [r(0, 6, 1)]);
        let [minute, _, _, month, dow] = cron_fields("*/15 * * JAN-MAR 5-7").expect("valid");
        assert_eq!(minute, [r(0, 59, 15)]);
        assert_eq!(month, [r(1, 3, 1)]);
        assert_eq!(dow, [r(5, 6, 1), r(0, 0, 1)]);
        assert_eq!(cron_fields("@daily"), cron_fields("0 0 * * *"));
        assert!(cron_fields("61 * * * *").is_err());
    }

    #[test]
    fn accepts_valid_cron() {
        for expr in VALID_CRON {
            assert_eq!(cron_error(expr), "", "{expr:?} should be valid");
        }
    }

    #[test]
    fn explains_invalid_cron() {
        for (expr, message) in INVALID_CRON {
            assert_eq!(cron_error(expr), *message, "for {expr:?}");
        }
    }

    #[test]
    fn knows_iana_zones() {
        for zone in [
            "Asia/Riyadh",
            "Europe/London",
            "UTC",
            "America/New_York",
            "Etc/UTC",
        ] {
            assert!(timezone_valid(zone), "{zone} is a zone");
        }
        for zone in ["Mars/Olympus", "", "Local", "utc", "europe/london", " UTC"] {
            assert!(!timezone_valid(zone), "{zone:?} is not a zone");
        }
    }
}
