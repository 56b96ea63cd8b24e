//! Orchestration plans generated over the whole plan schema from a seed,
//! each with what Temporal must hold for it, worked out here independently
//! of planguard's own mapping (src/apply/model.rs): durations and calendar
//! sets are known by construction, not parsed back.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// SplitMix64: small, seedable, and the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in low..=high.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(1, 100) <= percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }
}

/// A generated plan and what Temporal must hold for it.
pub struct Generated {
    pub plan: Value,
    /// Each calendar as its six sets (second, minute, hour, day of month,
    /// month, day of week), sorted.
    pub calendars: Vec<[BTreeSet<u32>; 6]>,
    /// (every, offset) in nanoseconds, sorted.
    pub intervals: Vec<(u128, u128)>,
    pub jitter: u128,
    /// Unset is one year, as Temporal fills it in.
    pub catchup: u128,
    pub timeouts: [u128; 3],
    /// Initial and maximum interval (ns, 0 when unset); no retry policy is None.
    pub retry: Option<(u128, u128)>,
}

const UNITS: &[(&str, u128)] = &[
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("µs", 1_000),
    ("ns", 1),
];

/// A Go-style duration of at least `min` ns, written one of many ways
/// (`90s`, `1m30s`, `1.5m`, `90000ms`), with its exact length.
pub fn duration(rng: &mut Rng, min: u128, max_seconds: u64) -> (String, u128) {
    loop {
        let parts = rng.range(1, 2);
        let mut text = String::new();
        let mut total = 0u128;
        for _ in 0..parts {
            let (unit, per) = *rng.pick(UNITS);
            let whole = u128::from(rng.range(
                0,
                (max_seconds * 1_000_000_000 / per as u64 / 2).clamp(1, 5000),
            ));
            text.push_str(&whole.to_string());
            total += whole * per;
            // An exact decimal fraction: up to three digits, of units of a microsecond or more.
            if per >= 1_000 && rng.chance(30) {
                let digits = rng.range(1, 3) as u32;
                let fraction = u128::from(rng.range(0, 10u64.pow(digits) - 1));
                text.push_str(&format!(".{fraction:0width$}", width = digits as usize));
                total += fraction * per / 10u128.pow(digits);
            }
            text.push_str(unit);
        }
        if total >= min && total <= u128::from(max_seconds) * 1_000_000_000 {
            return (text, total);
        }
    }
}

const WORDS: &[&str] = &[
    "orders",
    "événements",
    "客户",
    "ingest",
    "β-test",
    "🚀",
    "a b",
    "line\nbreak",
    "quote\"d",
    "back\\slash",
    "x",
    "0",
    "",
];

fn word(rng: &mut Rng) -> String {
    let mut text = String::new();
    for _ in 0..rng.range(1, 3) {
        let w: &&str = rng.pick(WORDS);
        text.push_str(w);
    }
    text
}

fn token(rng: &mut Rng, first: &[u8], rest: &[u8], max: u64) -> String {
    let mut text = String::from(*rng.pick(first) as char);
    for _ in 0..rng.range(0, max) {
        text.push(*rng.pick(rest) as char);
    }
    text
}

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn name(rng: &mut Rng) -> String {
    token(rng, b"abcdefghijklmnopqrstuvwxyz", LOWER, 10)
}

fn hex(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| *rng.pick(b"0123456789abcdef") as char)
        .collect()
}

/// Any JSON value, nested up to `depth`.
fn any_value(rng: &mut Rng, depth: u32) -> Value {
    match rng.range(0, if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.next() % 1_000_000_000_000),
        3 => json!((rng.next() % 2_000_000) as f64 / 64.0 - 10_000.0),
        4 => json!(-((rng.next() % 1000) as i64)),
        5 => json!(word(rng)),
        6 => Value::Array(
            (0..rng.range(0, 3))
                .map(|_| any_value(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.range(0, 3) {
                map.insert(word(rng), any_value(rng, depth - 1));
            }
            Value::Object(map)
        }
    }
}

fn extensions(rng: &mut Rng, object: &mut Map<String, Value>) {
    if rng.chance(15) {
        object.insert(format!("x-{}", name(rng)), any_value(rng, 2));
    }
}

/// One field of a cron expression from its parts, with the values it matches.
fn cron_field(rng: &mut Rng, low: u32, high: u32) -> (String, BTreeSet<u32>) {
    let mut items = Vec::new();
    let mut values = BTreeSet::new();
    for _ in 0..rng.range(1, 2) {
        let a = rng.range(u64::from(low), u64::from(high)) as u32;
        let b = rng.range(u64::from(a), u64::from(high)) as u32;
        let step = rng.range(2, 7) as u32;
        let (text, start, end, step) = match rng.range(0, 5) {
            0 => ("*".to_string(), low, high, 1),
            1 => (format!("*/{step}"), low, high, step),
            2 | 3 => (a.to_string(), a, a, 1),
            4 => (format!("{a}-{b}"), a, b, 1),
            _ => (format!("{a}-{b}/{step}"), a, b, step),
        };
        items.push(text);
        values.extend((start..=end).step_by(step as usize));
    }
    (items.join(","), values)
}

fn cron(rng: &mut Rng) -> (String, [BTreeSet<u32>; 6]) {
    let all = |low: u32, high: u32| (low..=high).collect::<BTreeSet<u32>>();
    let one = |v: u32| BTreeSet::from([v]);
    if rng.chance(10) {
        let (text, sets) = match rng.range(0, 4) {
            0 => (
                "@hourly",
                [
                    one(0),
                    one(0),
                    all(0, 23),
                    all(1, 31),
                    all(1, 12),
                    all(0, 6),
                ],
            ),
            1 => (
                "@daily",
                [one(0), one(0), one(0), all(1, 31), all(1, 12), all(0, 6)],
            ),
            2 => (
                "@weekly",
                [one(0), one(0), one(0), all(1, 31), all(1, 12), one(0)],
            ),
            3 => (
                "@monthly",
                [one(0), one(0), one(0), one(1), all(1, 12), all(0, 6)],
            ),
            _ => (
                "@yearly",
                [one(0), one(0), one(0), one(1), one(1), all(0, 6)],
            ),
        };
        return (text.to_string(), sets);
    }
    let (minute, minutes) = cron_field(rng, 0, 59);
    let (hour, hours) = cron_field(rng, 0, 23);
    let (dom, days) = cron_field(rng, 1, 31);
    let (month, months) = cron_field(rng, 1, 12);
    // Sunday may be written 7 on its own.
    let (dow, weekdays) = if rng.chance(10) {
        ("7".to_string(), one(0))
    } else {
        cron_field(rng, 0, 6)
    };
    (
        format!("{minute} {hour} {dom} {month} {dow}"),
        [one(0), minutes, hours, days, months, weekdays],
    )
}

/// An RFC 3339 date-time in some offset, with up to nine fractional digits.
fn date_time(rng: &mut Rng, low_year: i32) -> String {
    let year = low_year + rng.range(0, 40) as i32;
    let (month, day) = (rng.range(1, 12), rng.range(1, 28));
    let (h, m, s) = (rng.range(0, 23), rng.range(0, 59), rng.range(0, 59));
    let fraction = match rng.range(0, 3) {
        0 => String::new(),
        1 => format!(".{:03}", rng.range(0, 999)),
        2 => format!(".{:06}", rng.range(0, 999_999)),
        _ => format!(".{:09}", rng.range(0, 999_999_999)),
    };
    let zone = match rng.range(0, 3) {
        0 => "Z".to_string(),
        1 => "+03:00".to_string(),
        2 => "-05:30".to_string(),
        _ => "+00:00".to_string(),
    };
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{fraction}{zone}")
}

pub const TIMEZONES: &[&str] = &[
    "UTC",
    "Asia/Riyadh",
    "Europe/London",
    "America/New_York",
    "Asia/Kolkata",
];

const OVERLAPS: &[&str] = &[
    "skip",
    "buffer_one",
    "buffer_all",
    "cancel_other",
    "terminate_other",
    "allow_all",
];

fn secret_ref(rng: &mut Rng) -> String {
    format!(
        "{}://{}/{}{}",
        rng.pick(&["vault", "aws-sm", "gcp-sm", "azure-kv"]),
        name(rng),
        name(rng),
        if rng.chance(50) {
            format!("#{}", name(rng))
        } else {
            String::new()
        }
    )
}

fn input(rng: &mut Rng) -> Value {
    let mut input = Map::new();
    input.insert("pipeline".into(), json!(name(rng)));
    input.insert("environment".into(), json!("dev"));
    let sources: Vec<Value> = (0..rng.range(0, 3))
        .map(|_| {
            let mut source = Map::new();
            source.insert("name".into(), json!(name(rng)));
            source.insert(
                "type".into(),
                json!(rng.pick(&["jdbc", "kafka", "s3", "gcs", "adls", "api", "sftp"])),
            );
            source.insert(
                "url".into(),
                json!(format!(
                    "jdbc:postgresql://{}:5432/{}",
                    name(rng),
                    word(rng)
                )),
            );
            if rng.chance(60) {
                source.insert("credentials".into(), json!(secret_ref(rng)));
            }
            if rng.chance(60) {
                source.insert("options".into(), any_value(rng, 3));
                if !source["options"].is_object() {
                    source.insert(
                        "options".into(),
                        json!({"value": source["options"].clone()}),
                    );
                }
            }
            extensions(rng, &mut source);
            Value::Object(source)
        })
        .collect();
    input.insert("sources".into(), Value::Array(sources));
    if rng.chance(60) {
        let mut spark = Map::new();
        if rng.chance(70) {
            spark.insert("cluster".into(), json!(word(rng) + "c"));
        }
        if rng.chance(50) {
            let min = rng.range(0, 10);
            spark.insert(
                "autoscale".into(),
                json!({"min_executors": min, "max_executors": rng.range(min.max(1), 400)}),
            );
        }
        if rng.chance(50) {
            spark.insert(
                "config_ref".into(),
                json!({"uri": format!("s3://{}/{}.conf", name(rng), name(rng)), "sha256": hex(rng, 64)}),
            );
        }
        if rng.chance(50) {
            let conf: Map<String, Value> = (0..rng.range(0, 3))
                .map(|_| (format!("spark.{}", name(rng)), json!(word(rng))))
                .collect();
            spark.insert("conf".into(), Value::Object(conf));
        }
        extensions(rng, &mut spark);
        input.insert("spark".into(), Value::Object(spark));
    }
    if rng.chance(60) {
        let mut landing = Map::new();
        landing.insert("uri".into(), json!(format!("s3://{}/landing/", name(rng))));
        if rng.chance(50) {
            landing.insert(
                "format".into(),
                json!(rng.pick(&["parquet", "delta", "iceberg", "avro", "json", "csv"])),
            );
        }
        if rng.chance(50) {
            landing.insert("partition_by".into(), json!([name(rng), word(rng) + "p"]));
        }
        input.insert("landing".into(), Value::Object(landing));
    }
    if rng.chance(60) {
        let mut options = Map::new();
        if rng.chance(50) {
            options.insert("mode".into(), json!(rng.pick(&["incremental", "full"])));
        }
        if rng.chance(50) {
            options.insert("lookback".into(), json!(duration(rng, 0, 86_400).0));
        }
        if rng.chance(50) {
            options.insert("dry_run".into(), json!(rng.chance(50)));
        }
        if rng.chance(50) {
            options.insert("max_parallel_sources".into(), json!(rng.range(1, 64)));
        }
        input.insert("run_options".into(), Value::Object(options));
    }
    extensions(rng, &mut input);
    Value::Object(input)
}

/// A plan over the whole schema: every optional member present or not, in
/// many forms. `with_retry` forces a retry policy.
pub fn plan(rng: &mut Rng, schedule_id: &str, namespace: &str, with_retry: bool) -> Generated {
    let mut plan = Map::new();
    if rng.chance(20) {
        plan.insert(
            "$schema".into(),
            json!(format!(
                "https://raw.githubusercontent.com/{}/{}/schemas/orchestration-plan.schema.json",
                planguard::links::slug(),
                planguard::links::TAG
            )),
        );
    }
    plan.insert("plan_version".into(), json!(1));
    plan.insert("environment".into(), json!("dev"));
    plan.insert("build".into(), json!("1"));
    plan.insert("git_sha".into(), json!(hex(rng, 40)));
    plan.insert("generated_at".into(), json!(date_time(rng, 2020)));
    if rng.chance(50) {
        plan.insert("generator".into(), json!({"name": "salam-ingestion", "version": format!("1.{}.{}", rng.range(0, 9), rng.range(0, 9))}));
    }
    plan.insert(
        "source_config".into(),
        json!({"path": "conf/dev.json", "sha256": hex(rng, 64)}),
    );
    plan.insert("namespace".into(), json!(namespace));
    plan.insert(
        "task_queue".into(),
        json!(token(
            rng,
            b"abcdefghijklmnopqrstuvwxyz",
            b"abcdefghijklmnopqrstuvwxyz0123456789-_.:/",
            20
        )),
    );
    plan.insert("schedule_id".into(), json!(schedule_id));
    plan.insert(
        "workflow_type".into(),
        json!(token(
            rng,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ_",
            b"abcdefghijklmnopqrstuvwxyz0123456789_.-",
            20
        )),
    );
    if rng.chance(60) {
        plan.insert(
            "workflow_id_prefix".into(),
            json!(format!("{}{}-", name(rng), word(rng))),
        );
    }

    let mut schedule = Map::new();
    let mut calendars = Vec::new();
    let mut intervals = Vec::new();
    let (want_cron, want_intervals) = match rng.range(0, 2) {
        0 => (true, false),
        1 => (false, true),
        _ => (true, true),
    };
    if want_cron {
        let crons: Vec<String> = (0..rng.range(1, 3))
            .map(|_| {
                let (text, sets) = cron(rng);
                calendars.push(sets);
                text
            })
            .collect();
        schedule.insert("cron".into(), json!(crons));
    }
    if want_intervals {
        let list: Vec<Value> = (0..rng.range(1, 3))
            .map(|_| {
                // Ten minutes at least: a test server starting workflows
                // every few seconds for hundreds of schedules slows to a crawl.
                let (every, every_ns) = duration(rng, 600_000_000_000, 7 * 86_400);
                let mut interval = Map::new();
                interval.insert("every".into(), json!(every));
                let mut offset_ns = 0;
                if rng.chance(50) {
                    let (offset, ns) = loop {
                        let candidate = duration(rng, 0, 7 * 86_400);
                        if candidate.1 < every_ns {
                            break candidate;
                        }
                    };
                    interval.insert("offset".into(), json!(offset));
                    offset_ns = ns;
                }
                extensions(rng, &mut interval);
                intervals.push((every_ns, offset_ns));
                Value::Object(interval)
            })
            .collect();
        schedule.insert("intervals".into(), json!(list));
    }
    if rng.chance(60) {
        schedule.insert("timezone".into(), json!(rng.pick(TIMEZONES)));
    }
    let mut jitter = 0;
    if rng.chance(60) {
        let (text, ns) = duration(rng, 0, 3600);
        schedule.insert("jitter".into(), json!(text));
        jitter = ns;
    }
    if rng.chance(50) {
        schedule.insert("start_at".into(), json!(date_time(rng, 2001)));
    }
    if rng.chance(50) {
        schedule.insert("end_at".into(), json!(date_time(rng, 2045)));
    }
    extensions(rng, &mut schedule);
    plan.insert("schedule".into(), Value::Object(schedule));

    let mut catchup = 365 * 86_400 * 1_000_000_000;
    if rng.chance(70) {
        let mut policies = Map::new();
        if rng.chance(70) {
            policies.insert("overlap".into(), json!(rng.pick(OVERLAPS)));
        }
        if rng.chance(60) {
            let (text, ns) = duration(rng, 10_000_000_000, 30 * 86_400);
            policies.insert("catchup_window".into(), json!(text));
            catchup = ns;
        }
        if rng.chance(60) {
            policies.insert("pause_on_failure".into(), json!(rng.chance(50)));
        }
        extensions(rng, &mut policies);
        plan.insert("policies".into(), Value::Object(policies));
    }

    let mut retry = None;
    if with_retry || rng.chance(60) {
        let mut policy = Map::new();
        let (mut initial, mut maximum) = (0, 0);
        if rng.chance(70) {
            let (text, ns) = duration(rng, 1_000_000, 600);
            policy.insert("initial_interval".into(), json!(text));
            initial = ns;
        }
        if rng.chance(60) {
            let coefficient = 1.0 + (rng.range(0, 40) as f64) * 0.25;
            policy.insert("backoff_coefficient".into(), json!(coefficient));
        }
        if rng.chance(60) {
            let (text, ns) = duration(rng, initial.max(1_000_000), 86_400);
            policy.insert("maximum_interval".into(), json!(text));
            maximum = ns;
        }
        if rng.chance(60) {
            let attempts = if rng.chance(10) {
                i32::MAX as u64
            } else {
                rng.range(0, 100)
            };
            policy.insert("maximum_attempts".into(), json!(attempts));
        }
        if rng.chance(60) {
            let types: BTreeSet<String> =
                (0..rng.range(0, 3)).map(|_| word(rng) + "Error").collect();
            policy.insert("non_retryable_error_types".into(), json!(types));
        }
        extensions(rng, &mut policy);
        plan.insert("retry_policy".into(), Value::Object(policy));
        retry = Some((initial, maximum));
    }

    let mut timeouts = [0; 3];
    if rng.chance(70) {
        let mut object = Map::new();
        for (i, key) in ["execution", "run", "task"].iter().enumerate() {
            if rng.chance(60) {
                let (text, ns) =
                    duration(rng, 1_000_000_000, if i == 2 { 120 } else { 7 * 86_400 });
                object.insert(key.to_string(), json!(text));
                timeouts[i] = ns;
            }
        }
        extensions(rng, &mut object);
        plan.insert("timeouts".into(), Value::Object(object));
    }

    let mut image = Map::new();
    image.insert(
        "ref".into(),
        json!(format!(
            "registry.dev.salam.internal/salam/{}:{}",
            name(rng),
            name(rng)
        )),
    );
    if rng.chance(50) {
        image.insert("digest".into(), json!(format!("sha256:{}", hex(rng, 64))));
    }
    if rng.chance(40) {
        let mut signature = Map::new();
        signature.insert(
            "type".into(),
            json!(rng.pick(&["cosign", "sigstore-bundle", "attestation"])),
        );
        signature.insert(
            "ref".into(),
            json!(format!("s3://{}/{}.sig", name(rng), name(rng))),
        );
        if rng.chance(50) {
            signature.insert("key_ref".into(), json!(format!("awskms://{}", name(rng))));
        }
        if rng.chance(50) {
            signature.insert("certificate_identity".into(), json!(word(rng) + "@ci"));
            signature.insert(
                "certificate_oidc_issuer".into(),
                json!("https://token.actions.githubusercontent.com"),
            );
        }
        if rng.chance(50) {
            signature.insert("rekor_log_index".into(), json!(rng.range(0, 1 << 40)));
        }
        image.insert("signature".into(), Value::Object(signature));
    }
    extensions(rng, &mut image);
    plan.insert("image".into(), Value::Object(image));
    plan.insert("input".into(), input(rng));
    if rng.chance(60) {
        let secrets: Vec<Value> = (0..rng.range(0, 3))
            .map(|_| json!({"name": name(rng), "ref": secret_ref(rng)}))
            .collect();
        plan.insert("secrets".into(), json!(secrets));
    }
    if rng.chance(70) {
        let memo: Map<String, Value> = (0..rng.range(0, 4))
            .map(|_| (word(rng) + "k", json!(word(rng))))
            .collect();
        plan.insert("memo".into(), Value::Object(memo));
    }
    extensions(rng, &mut plan);
    intervals.sort();
    calendars.sort();
    Generated {
        plan: Value::Object(plan),
        calendars,
        intervals,
        jitter,
        catchup,
        timeouts,
        retry,
    }
}
