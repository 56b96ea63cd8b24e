//! Secrets in a document, the findings of PG110: one pass over every string,
//! each judged on three kinds of evidence. A key that names a credential, in
//! any naming style (`spark.ssl.keyStorePassword`, `fs.s3a.secret.key`,
//! `SECRET_KEY`, `sfPassword`); a credential inside a value (a URL's user
//! information, `password=` or `AccountKey=` in a query, connection string,
//! JAAS configuration or JVM option, Oracle's `user/password@`, an
//! Authorization header); and the token formats of the services a Spark
//! ingestion stack talks to (AWS, Google, Azure, GitHub, Slack, Databricks…).
//! References, placeholders, paths, digests, UUIDs and ordinary identifiers
//! are not secrets.
//!
//! Rego calls it as `planguard.secrets(doc)`. Its Python twin is in
//! tests/support/planguard_functions.py, so every pattern here must mean the
//! same to Python's `re` with `re.ASCII`: ASCII classes only, no `\b`, `\w`,
//! `\s` or `$`, and case-insensitive matching done on an ASCII-lowercased copy
//! of the text (same length, same offsets) rather than with `(?i)`.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};
use regorus::Value;

use super::functions::entropy;

/// One string that holds a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Where the string is: object keys and array indices from the root.
    pub path: Vec<PathItem>,
    /// What was found, for the message: "a GitHub token", "a password in a URL query".
    pub kind: String,
    /// The characters (not bytes) of the string that every secret found in it
    /// covers, from the first one's start to the last one's end.
    pub start: usize,
    pub end: usize,
    /// The length in characters of the secret that `kind` names.
    pub length: usize,
}

/// One step of a path; indices sort before keys, as in the Python twin.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathItem {
    Index(usize),
    Key(String),
}

/// Every secret in `doc`, one detection per string, sorted by path.
pub fn scan(doc: &Value) -> Vec<Detection> {
    let mut scanner = Scanner::default();
    scanner.walk(doc, &mut Vec::new(), None);
    let mut found = scanner.found;
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// `planguard.secrets`: [[path, {kind, start, end, length}], …].
pub fn secrets(doc: &Value) -> Value {
    let rows: Vec<Value> = scan(doc)
        .into_iter()
        .map(|d| {
            let path: Vec<Value> = d
                .path
                .into_iter()
                .map(|item| match item {
                    PathItem::Index(i) => Value::from(i),
                    PathItem::Key(k) => Value::from(k),
                })
                .collect();
            let mut found = std::collections::BTreeMap::new();
            found.insert(Value::from("kind"), Value::from(d.kind));
            found.insert(Value::from("start"), Value::from(d.start));
            found.insert(Value::from("end"), Value::from(d.end));
            found.insert(Value::from("length"), Value::from(d.length));
            Value::from(vec![Value::from(path), Value::from(found)])
        })
        .collect();
    Value::from(rows)
}

#[derive(Default)]
struct Scanner {
    found: Vec<Detection>,
    /// A document has few distinct keys and many strings: each key is
    /// classified once.
    classes: HashMap<String, Option<KeyClass>>,
    /// How many keys on the current path mention PagerDuty.
    pagerduty: usize,
}

impl Scanner {
    fn walk(&mut self, value: &Value, path: &mut Vec<PathItem>, key: Option<&str>) {
        match value {
            Value::String(text) => {
                let class = key.and_then(|k| self.class(k));
                if let Some(hit) = scan_string(text, key, class, self.pagerduty > 0) {
                    self.found.push(hit.into_detection(path.clone(), text));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(PathItem::Index(i));
                    self.walk(item, path, None);
                    path.pop();
                }
            }
            Value::Object(members) => {
                // {"name": "DB_PASSWORD", "value": "…"}: the value is named
                // by its sibling, as in Kubernetes env lists.
                let named = ["name", "key"].iter().find_map(|k| {
                    match (
                        members.get(&Value::from(*k)),
                        members.get(&Value::from("value")),
                    ) {
                        (Some(Value::String(name)), Some(Value::String(_))) => Some(name.clone()),
                        _ => None,
                    }
                });
                for (k, v) in members.iter() {
                    let Value::String(k) = k else { continue };
                    let pagerduty = k.to_ascii_lowercase().contains("pagerduty");
                    self.pagerduty += usize::from(pagerduty);
                    path.push(PathItem::Key(k.to_string()));
                    let key = match &named {
                        Some(name) if &**k == "value" => name,
                        _ => k,
                    };
                    self.walk(v, path, Some(key));
                    path.pop();
                    self.pagerduty -= usize::from(pagerduty);
                }
            }
            _ => {}
        }
    }

    fn class(&mut self, key: &str) -> Option<KeyClass> {
        if let Some(class) = self.classes.get(key) {
            return *class;
        }
        let class = key_class(key);
        self.classes.insert(key.to_string(), class);
        class
    }
}

// ---------------------------------------------------------------- keys

/// What a key says about its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClass {
    /// A password or secret: any literal value is one.
    Password,
    /// A token or key: a value is one when it looks random.
    Token,
    /// A webhook URL: the URL itself is the secret when it looks random.
    Webhook,
    /// An HTTP Authorization header: `Basic <credential>`, `Bearer <token>`.
    Authorization,
}

/// Last words that make a key a password's.
const PASSWORD_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "passcode",
    "secret",
];

/// Last words that make a key a token's.
const TOKEN_WORDS: &[&str] = &[
    "token",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "credential",
    "credentials",
    "sig",
];

/// Words before a last `key` that make it a credential (`api key`,
/// `secret key`, Azure's `account key`), unlike `partition key` or `sort key`.
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "signing",
    "auth",
    "account",
    "routing",
    "integration",
    "master",
    "client",
    "app",
    "shared",
    "storage",
    "subscription",
    "license",
    "encryption",
    "webhook",
    "sas",
    "ssh",
    "deploy",
    "service",
];

/// The class of a key, from its words: `spark.ssl.keyStorePassword`,
/// `SSL_KEYSTORE_PASSWORD` and `ssl-keystore-password` all end in `password`.
pub fn key_class(key: &str) -> Option<KeyClass> {
    let words = key_words(key);
    let last = words.last()?.as_str();
    let before = words.len().checked_sub(2).map(|i| words[i].as_str());
    if PASSWORD_WORDS.contains(&last) {
        return Some(KeyClass::Password);
    }
    if TOKEN_WORDS.contains(&last) {
        return Some(KeyClass::Token);
    }
    if last == "key" && before.is_some_and(|w| KEY_QUALIFIERS.contains(&w)) {
        return Some(KeyClass::Token);
    }
    if last == "url" && before == Some("webhook") {
        return Some(KeyClass::Webhook);
    }
    if last == "authorization" {
        return Some(KeyClass::Authorization);
    }
    // Kafka's basic.auth.user.info and the like: `user:password`.
    if words.ends_with(&["auth".to_string(), "user".to_string(), "info".to_string()]) {
        return Some(KeyClass::Password);
    }
    // Hadoop's Azure key: fs.azure.account.key.<account>.dfs.core.windows.net
    if words.windows(2).any(|w| w[0] == "account" && w[1] == "key") {
        return Some(KeyClass::Token);
    }
    None
}

/// A key's words, lowercase: split at anything not an ASCII letter or digit,
/// at camelCase humps (`keyStore`, `SSLKey`) and between letters and digits;
/// all-digit words dropped (`password_2` ends in `password`).
pub fn key_words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        if !word.is_empty() {
            let p = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            let boundary = (c.is_ascii_uppercase()
                && (p.is_ascii_lowercase() || p.is_ascii_digit()))
                || (c.is_ascii_uppercase() && p.is_ascii_uppercase() && next_lower)
                || (c.is_ascii_digit() != p.is_ascii_digit());
            if boundary {
                words.push(std::mem::take(&mut word));
            }
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
        .into_iter()
        .filter(|w| !w.bytes().all(|b| b.is_ascii_digit()))
        .map(|w| w.to_ascii_lowercase())
        .collect()
}

// ---------------------------------------------------------------- values

/// Service token formats: (kind, pattern whose group 1 is the token).
const TOKENS: &[(&str, &str)] = &[
    (
        "an AWS access key id",
        r"(?:^|[^A-Za-z0-9])((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})",
    ),
    (
        "a Google API key",
        r"(?:^|[^A-Za-z0-9_-])(AIza[0-9A-Za-z_-]{35})",
    ),
    (
        "a Google OAuth token",
        r"(?:^|[^A-Za-z0-9_-])(ya29\.[0-9A-Za-z_-]{30,})",
    ),
    (
        "a Google OAuth client secret",
        r"(?:^|[^A-Za-z0-9_-])(GOCSPX-[0-9A-Za-z_-]{28})",
    ),
    (
        "an Azure client secret",
        r"(?:^|[^A-Za-z0-9_~.-])([A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})",
    ),
    (
        "a GitHub token",
        r"(?:^|[^A-Za-z0-9_])((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})",
    ),
    (
        "a GitLab token",
        r"(?:^|[^A-Za-z0-9_-])(glpat-[A-Za-z0-9_-]{20})",
    ),
    (
        "a Slack token",
        r"(?:^|[^A-Za-z0-9_-])(xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,})",
    ),
    (
        "a Slack webhook URL",
        r"(https://hooks\.slack\.com/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+)",
    ),
    (
        "a Databricks token",
        r"(?:^|[^A-Za-z0-9_])(dapi[0-9a-f]{32}(?:-[0-9]+)?)",
    ),
    (
        "a Stripe key",
        r"(?:^|[^A-Za-z0-9_])((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,})",
    ),
    (
        "a JSON web token",
        r"(?:^|[^A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
    ),
    (
        "a HashiCorp Vault token",
        r"(?:^|[^A-Za-z0-9_])(hv[sb]\.[A-Za-z0-9_-]{24,})",
    ),
    ("an npm token", r"(?:^|[^A-Za-z0-9_])(npm_[A-Za-z0-9]{36})"),
    (
        "a SendGrid API key",
        r"(?:^|[^A-Za-z0-9_])(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})",
    ),
    (
        "a PyPI token",
        r"(?:^|[^A-Za-z0-9_])(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})",
    ),
];

/// `scheme://user:password@`; group 1 is the password.
const USERINFO: &str = r"(?:^|[^A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9+.-]+:)?//[^/:@ \t\r\n]+:([^/@ \t\r\n]+)@";

/// Oracle's `jdbc:oracle:thin:user/password@host`; group 1 is the password.
const ORACLE: &str = r"jdbc:oracle:[a-z0-9]+:[A-Za-z0-9_#]+/([^@/ \t\r\n]+)@";

/// `name=value` inside a value: a URL query, a connection string, a JAAS
/// configuration, a JVM option. Groups: 1 what precedes, 2 `-D` or `--`,
/// 3 the name, 4/5/6 the value double-quoted, single-quoted or bare.
const ASSIGNMENT: &str = r#"(^|[ \t\r\n?&;,])(-D|--)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*(?:"([^"]*)"|'([^']*)'|([^ \t\r\n;&,"']+))"#;

/// On the ASCII-lowercased text: `bearer <token>`; group 1 is the token.
const BEARER: &str = r"(?:^|[^a-z0-9_])bearer[ \t]+([a-z0-9._~+/-]{8,}=*)";

/// On the ASCII-lowercased text: `Authorization: Basic|Token <credential>`.
const AUTHORIZATION: &str =
    r"authorization[ \t]*[:=][ \t]*(?:basic|token|apikey)[ \t]+([a-z0-9._~+/-]{8,}=*)";

/// On the ASCII-lowercased value of an Authorization key: the credential.
const AUTHORIZATION_VALUE: &str =
    r"^(?:basic|bearer|token|apikey|digest)[ \t]+([a-z0-9._~+/-]{8,}=*)";

/// The start of a private key block.
const PRIVATE_KEY: &str = r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----";

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the secret patterns are valid")
}

static TOKEN_SET: LazyLock<RegexSet> =
    LazyLock::new(|| RegexSet::new(TOKENS.iter().map(|(_, p)| p)).expect("valid token patterns"));
static TOKEN_PATTERNS: LazyLock<Vec<Regex>> =
    LazyLock::new(|| TOKENS.iter().map(|(_, p)| compile(p)).collect());
static USERINFO_PATTERN: LazyLock<Regex> = LazyLock::new(|| compile(USERINFO));
static ORACLE_PATTERN: LazyLock<Regex> = LazyLock::new(|| compile(ORACLE));
static ASSIGNMENT_PATTERN: LazyLock<Regex> = LazyLock::new(|| compile(ASSIGNMENT));
static BEARER_PATTERN: LazyLock<Regex> = LazyLock::new(|| compile(BEARER));
static AUTHORIZATION_PATTERN: LazyLock<Regex> = LazyLock::new(|| compile(AUTHORIZATION));
static AUTHORIZATION_VALUE_PATTERN: LazyLock<Regex> =
    LazyLock::new(|| compile(AUTHORIZATION_VALUE));
static PRIVATE_KEY_PATTERN: LazyLock<Regex> = LazyLock::new(|| compile(PRIVATE_KEY));

/// The token patterns, for the text-level mask (src/check/mask.rs).
pub fn token_patterns() -> &'static [Regex] {
    &TOKEN_PATTERNS
}

/// One secret in a string: its rank (lower is reported first) and byte range.
#[derive(Debug)]
struct Hit {
    rank: u8,
    kind: String,
    start: usize,
    end: usize,
}

/// Every secret found in one string, the best-ranked first.
#[derive(Debug)]
struct Hits(Vec<Hit>);

impl Hits {
    fn into_detection(self, path: Vec<PathItem>, text: &str) -> Detection {
        let chars = |byte: usize| text[..byte].chars().count();
        let best = self
            .0
            .iter()
            .min_by_key(|h| (h.rank, h.start))
            .expect("Hits is never empty");
        let start = self.0.iter().map(|h| h.start).min().unwrap_or(best.start);
        let end = self.0.iter().map(|h| h.end).max().unwrap_or(best.end);
        Detection {
            path,
            kind: best.kind.clone(),
            start: chars(start),
            end: chars(end),
            length: text[best.start..best.end].chars().count(),
        }
    }
}

/// The secrets in one string under `key` (of `class`), or None.
fn scan_string(
    text: &str,
    key: Option<&str>,
    class: Option<KeyClass>,
    under_pagerduty: bool,
) -> Option<Hits> {
    if text.is_empty() {
        return None;
    }
    let mut hits = Vec::new();
    let mut hit = |rank: u8, kind: &str, start: usize, end: usize| {
        hits.push(Hit {
            rank,
            kind: kind.to_string(),
            start,
            end,
        })
    };
    // 1. A private key block, to its END line or the end of the string.
    if text.contains("-----BEGIN ")
        && let Some(m) = PRIVATE_KEY_PATTERN.find(text)
    {
        let end = text[m.end()..]
            .find("-----END ")
            .and_then(|i| {
                let after = m.end() + i + "-----END ".len();
                text[after..]
                    .find("-----")
                    .map(|j| after + j + "-----".len())
            })
            .unwrap_or(text.len());
        hit(1, "a private key", m.start(), end);
    }
    // 2. Token formats.
    for i in TOKEN_SET.matches(text).iter() {
        for captures in TOKEN_PATTERNS[i].captures_iter(text) {
            let token = captures.get(1).expect("every token pattern has group 1");
            hit(2, TOKENS[i].0, token.start(), token.end());
        }
    }
    // 3. A URL's user information, and Oracle's user/password@.
    if text.contains('@') {
        for captures in USERINFO_PATTERN.captures_iter(text) {
            let password = captures.get(1).expect("group 1");
            if !not_a_value(password.as_str()) {
                hit(
                    3,
                    "a password in a URL's user information",
                    password.start(),
                    password.end(),
                );
            }
        }
        for captures in ORACLE_PATTERN.captures_iter(text) {
            let password = captures.get(1).expect("group 1");
            if !not_a_value(password.as_str()) {
                hit(
                    3,
                    "a password in an Oracle connect string",
                    password.start(),
                    password.end(),
                );
            }
        }
    }
    // 4. name=value inside the value.
    if text.contains('=') {
        for captures in ASSIGNMENT_PATTERN.captures_iter(text) {
            let name = captures.get(3).expect("group 3").as_str();
            let Some(value) = captures.get(4).or(captures.get(5)).or(captures.get(6)) else {
                continue;
            };
            let class = key_class(name);
            let secret = match class {
                Some(KeyClass::Password) => literal(value.as_str()),
                Some(KeyClass::Token) => random_looking(value.as_str(), false),
                Some(KeyClass::Webhook) => random_looking(value.as_str(), true),
                Some(KeyClass::Authorization) | None => false,
            };
            if secret {
                let before = captures.get(1).map_or("", |m| m.as_str());
                let flag = captures.get(2).map_or("", |m| m.as_str());
                let place = if text.contains("LoginModule") {
                    "a JAAS configuration"
                } else if flag == "-D" {
                    "a JVM option"
                } else if before == "?" || before == "&" {
                    "a URL query"
                } else {
                    "a connection string"
                };
                let what = if class == Some(KeyClass::Password) {
                    "a password".to_string()
                } else {
                    format!("a secret (`{name}`)")
                };
                hit(4, &format!("{what} in {place}"), value.start(), value.end());
            }
        }
    }
    // 5. Authorization headers.
    let lower = text.to_ascii_lowercase();
    let header = if class == Some(KeyClass::Authorization) {
        Some(&*AUTHORIZATION_VALUE_PATTERN)
    } else {
        None
    };
    for (pattern, kind) in [
        (&*BEARER_PATTERN, "a bearer token"),
        (
            &*AUTHORIZATION_PATTERN,
            "an Authorization header credential",
        ),
    ]
    .into_iter()
    .chain(header.map(|p| (p, "an Authorization header credential")))
    {
        for captures in pattern.captures_iter(&lower) {
            let token = captures.get(1).expect("group 1");
            // "bearer authentication" is prose, not a token.
            if !token.as_str().bytes().all(|b| b.is_ascii_lowercase()) {
                hit(5, kind, token.start(), token.end());
            }
        }
    }
    // 6. What the key says.
    let whole = |kind: String| (kind, 0, text.len());
    let by_key = match (key, class) {
        (Some(key), Some(KeyClass::Password)) if literal(text) => {
            Some((6, whole(format!("a literal value under `{key}`"))))
        }
        (Some(key), Some(KeyClass::Token)) if random_looking(text, false) => {
            Some((8, whole(format!("a random-looking value under `{key}`"))))
        }
        (Some(key), Some(KeyClass::Webhook)) if random_looking(text, true) => {
            Some((8, whole(format!("a random-looking value under `{key}`"))))
        }
        _ => None,
    };
    if let Some((rank, (kind, start, end))) = by_key {
        hit(rank, &kind, start, end);
    }
    // 7. PagerDuty integration keys: 32 characters under a PagerDuty key.
    if under_pagerduty
        && text.len() == 32
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'_' || b == b'-')
    {
        hit(7, "a PagerDuty integration key", 0, text.len());
    }
    (!hits.is_empty()).then_some(Hits(hits))
}

/// Store schemes of secret references (policies/lib: secret_ref_prefixes).
const REFERENCE_PREFIXES: &[&str] = &["vault://", "aws-sm://", "gcp-sm://", "azure-kv://"];

/// Not a value at all: a reference into a secrets store, a placeholder for
/// one (`${VAR}`, `{{ var }}`, `$VAR`, `<password>`), or a mask (`****`).
pub fn not_a_value(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if text.is_empty()
        || REFERENCE_PREFIXES.iter().any(|p| lower.starts_with(p))
        || lower.starts_with("arn:")
        || ["${", "{{", "#{", "%{", "$("]
            .iter()
            .any(|p| text.starts_with(p))
        || (text.starts_with('<') && text.ends_with('>'))
        || (text.len() >= 3 && text.bytes().all(|b| b == b'*'))
    {
        return true;
    }
    // $VAR
    let mut chars = text.chars();
    chars.next() == Some('$')
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value stored under a password key that is one: not a reference or a
/// placeholder, a file path, or a flag.
fn literal(text: &str) -> bool {
    if not_a_value(text) {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    let path = (text.starts_with('/')
        || text.starts_with("./")
        || text.starts_with("~/")
        || lower.starts_with("file:"))
        && !text.bytes().any(is_space);
    !path && !["true", "false", "none", "null"].contains(&lower.as_str())
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// A value stored under a token key that looks like a token: 16 or more
/// characters with letters and digits and some entropy, and not a UUID, a
/// digest, a dotted class or host name, a lowercase identifier or (unless
/// `url` allows it) a URL.
fn random_looking(text: &str, url: bool) -> bool {
    if !literal(text) || text.chars().count() < 16 || text.bytes().any(is_space) {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    if text.contains("://") {
        return url && entropy(text) >= 3.5;
    }
    if ["sha1:", "sha256:", "sha384:", "sha512:", "md5:"]
        .iter()
        .any(|p| lower.starts_with(p))
        || uuid(text)
        || dotted_identifier(text)
        || lowercase_identifier(text)
    {
        return false;
    }
    text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().any(|b| b.is_ascii_alphabetic())
        && entropy(text) >= 3.0
}

/// 8-4-4-4-12 hexadecimal digits.
fn uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider`, `kafka-1.dev.internal`.
fn dotted_identifier(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            p.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// `ingestion-service-account-01`: lowercase words and numbers.
fn lowercase_identifier(text: &str) -> bool {
    let parts: Vec<&str> = text.split(['-', '_', '.']).collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && (p.bytes().all(|b| b.is_ascii_lowercase())
                    || p.bytes().all(|b| b.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(doc: serde_json::Value) -> Vec<(String, String, String)> {
        let doc = Value::from(doc);
        scan(&doc)
            .into_iter()
            .map(|d| {
                let pointer: String = d
                    .path
                    .iter()
                    .map(|p| match p {
                        PathItem::Index(i) => format!("/{i}"),
                        PathItem::Key(k) => format!("/{k}"),
                    })
                    .collect();
                // The secret, as the string's characters start..end.
                let text = lookup(&doc, &d.path);
                let secret: String = text.chars().skip(d.start).take(d.end - d.start).collect();
                (pointer, d.kind, secret)
            })
            .collect()
    }

    fn lookup(doc: &Value, path: &[PathItem]) -> String {
        let mut at = doc.clone();
        for item in path {
            at = match item {
                PathItem::Index(i) => at[*i].clone(),
                PathItem::Key(k) => at[k.as_str()].clone(),
            };
        }
        at.as_string().expect("a string").to_string()
    }

    fn secret_of(doc: serde_json::Value) -> String {
        let all = found(doc);
        assert_eq!(all.len(), 1, "{all:?}");
        all[0].2.clone()
    }

    #[test]
    fn splits_keys_in_every_naming_style() {
        assert_eq!(
            key_words("spark.ssl.keyStorePassword"),
            ["spark", "ssl", "key", "store", "password"]
        );
        assert_eq!(key_words("SSLKeyPassword"), ["ssl", "key", "password"]);
        assert_eq!(
            key_words("AWS_SECRET_ACCESS_KEY"),
            ["aws", "secret", "access", "key"]
        );
        assert_eq!(
            key_words("fs.s3a.secret.key"),
            ["fs", "s", "a", "secret", "key"]
        );
        assert_eq!(key_words("password_2"), ["password"]);
        assert_eq!(key_words("ключ/~ 🎉_password"), ["password"]);
    }

    #[test]
    fn classifies_keys() {
        for key in [
            "spark.ssl.keyStorePassword",
            "spark.authenticate.secret",
            "javax.jdo.option.ConnectionPassword",
            "sfPassword",
            "Client-Secret",
            "DB_PASSWORD",
        ] {
            assert_eq!(key_class(key), Some(KeyClass::Password), "{key}");
        }
        for key in [
            "spark.hadoop.fs.s3a.secret.key",
            "fs.s3a.session.token",
            "apiKey",
            "x-api-key",
            "fs.azure.account.key.salamdev.dfs.core.windows.net",
            "AccountKey",
            "SharedAccessKey",
        ] {
            assert_eq!(key_class(key), Some(KeyClass::Token), "{key}");
        }
        for key in [
            "spark.ssl.keyStore",
            "spark.ssl.keyStoreType",
            "fs.s3a.aws.credentials.provider",
            "SharedAccessKeyName",
            "token_endpoint",
            "password_rotation_days",
            "partition_key",
            "spark.authenticate.secret.file",
            "secret_ref",
        ] {
            assert_eq!(key_class(key), None, "{key}");
        }
    }

    #[test]
    fn finds_what_the_first_report_missed() {
        use serde_json::json;
        let conf = json!({"spark": {"conf": {
            "spark.hadoop.fs.s3a.secret.key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEY01",
            "spark.ssl.keyStorePassword": "Ks-Pa55-fake",
            "spark.authenticate.secret": "auth-fake-7f3a",
        }}, "options": {"sasl.jaas.config":
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"ingest\" password=\"Jaas-Fake-9q\";"}});
        let all = found(conf);
        let secrets: Vec<&str> = all.iter().map(|f| f.2.as_str()).collect();
        assert_eq!(
            secrets,
            [
                "Jaas-Fake-9q",
                "auth-fake-7f3a",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEY01",
                "Ks-Pa55-fake"
            ],
            "{all:?}"
        );
        assert_eq!(all[0].1, "a password in a JAAS configuration");
    }

    #[test]
    fn finds_passwords_in_jdbc_urls() {
        use serde_json::json;
        for (url, secret) in [
            (
                "jdbc:postgresql://db:5432/orders?user=ingest&password=Pg-Fake-1",
                "Pg-Fake-1",
            ),
            ("jdbc:mysql://ingest:My-Fake-2@db:3306/orders", "My-Fake-2"),
            (
                "jdbc:sqlserver://db:1433;databaseName=orders;user=ingest;password=Ms-Fake-3;encrypt=true",
                "Ms-Fake-3",
            ),
            (
                "jdbc:oracle:thin:ingest/Ora-Fake-4@//db:1521/ORCL",
                "Ora-Fake-4",
            ),
            (
                "mongodb+srv://ingest:Mongo-Fake-5@cluster0.example.net/orders",
                "Mongo-Fake-5",
            ),
            (
                "Server=db;Database=orders;Uid=ingest;Pwd=Odbc-Fake-6;",
                "Odbc-Fake-6",
            ),
        ] {
            assert_eq!(secret_of(json!({"url": url})), secret, "{url}");
        }
    }

    #[test]
    fn passes_references_placeholders_and_ordinary_values() {
        use serde_json::json;
        let doc = json!({
            "password": "${DB_PASSWORD}",
            "client_secret": "{{ oidc_client_secret }}",
            "api_key": "vault://vault.dev/kv/x#api_key",
            "spark.ssl.keyStore": "/etc/spark/ssl/keystore.jks",
            "spark.authenticate": "true",
            "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            "fs.s3a.encryption.key": "arn:aws:kms:me-central-1:123456789012:key/0f0e0d0c-0b0a-0908-0706-050403020100",
            "access_token": "0f0e0d0c-0b0a-0908-0706-050403020100",
            "session_token": "ingestion-service-account-01",
            "image": "sha256:af0ecef63fc7a8b78888ce31d14f35345dd79ffe4b8c1033c9c2d465749a0f76",
            "url": "jdbc:postgresql://db:5432/orders?user=ingest&password=${PG_PASSWORD}",
            "kafka": "kafka://ingest:${KAFKA_PASSWORD}@kafka-1:9093",
            "oracle": "jdbc:oracle:thin:@//db:1521/ORCL",
            "note": "the bearer authentication uses vault",
            "jaas": "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"ingest\" password=\"${KAFKA_PASSWORD}\";",
        });
        assert_eq!(found(doc), []);
    }

    #[test]
    fn spans_are_characters_and_cover_every_secret() {
        use serde_json::json;
        let url = "é x://u:pw1@h?password=pw2";
        let doc = Value::from(json!({ "u": url }));
        let all = scan(&doc);
        assert_eq!(all.len(), 1);
        // "é" is one character; the span runs from pw1 to the end, and
        // the kind is the best-ranked find's.
        assert_eq!((all[0].start, all[0].end, all[0].length), (8, 26, 3));
        assert_eq!(all[0].kind, "a password in a URL's user information");
    }
}
