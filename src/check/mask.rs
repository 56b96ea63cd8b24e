//! Mask: a second, text-level line of defence against showing a secret. The
//! secret rules (PG110) find secrets in parsed documents; this finds what
//! looks like one in any file a finding shows, parsed or not — a file with a
//! syntax error, the first of two duplicate keys, a value no rule reached —
//! so that no snippet prints it.

use std::sync::LazyLock;

use regex::Regex;

use crate::source::Span;

/// Each pattern's first capture group is the secret.
static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // "…password": "value" and the other secret-holding keys.
        r#"(?i)"(?:[^"\\\n]|\\.)*?(?:password|passwd|pwd|secret|passphrase|token|api_?key|access_?key|private_?key|signing_key|auth_key|routing_key|integration_key|webhook_url|credentials?|secret\.key|access\.key|account\.key[^"]*)"\s*:\s*"((?:[^"\\\n]|\\.)+)""#,
        // A password in a URL's user information.
        r#"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9+.-]+:)?//[^/:@\s"]+:([^/@\s"]+)@"#,
        // A password in a query string.
        r#"(?i)[?&;](?:password|pwd|passwd)=([^&;"\s]+)"#,
        // AWS access key ids, Slack webhooks, bearer tokens.
        r#"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b"#,
        r#"(https://hooks\.slack\.com/services/[A-Za-z0-9/]+)"#,
        r#"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{8,}=*)"#,
        // A private key, up to the end of its string.
        r#"(-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[^"\\]|\\.)*)"#,
    ]
    .iter()
    .map(|p| Regex::new(p).expect("valid regex"))
    .collect()
});

/// References to a secrets store are not secrets.
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:vault|aws-sm|gcp-sm|azure-kv)://|^\$\{[^}]+\}$").expect("valid regex")
});

/// The byte ranges of everything in `text` that looks like a secret.
pub fn likely_secrets(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    // Service tokens (GitHub, Slack, Databricks…): their text has no JSON
    // escapes, so PG110's patterns apply to the raw file as they are.
    for pattern in super::secrets::token_patterns() {
        spans.extend(
            pattern
                .captures_iter(text)
                .filter_map(|c| c.get(1))
                .map(|m| m.range()),
        );
    }
    for pattern in PATTERNS.iter() {
        for captures in pattern.captures_iter(text) {
            if let Some(secret) = captures.get(1)
                && !REFERENCE.is_match(secret.as_str())
            {
                spans.push(secret.range());
            }
        }
    }
    spans.sort_by_key(|s| (s.start, s.end));
    spans.dedup();
    spans
}

#[cfg(test)]
mod tests {
    use super::likely_secrets;

    fn masked(text: &str) -> Vec<&str> {
        likely_secrets(text).into_iter().map(|s| &text[s]).collect()
    }

    #[test]
    fn finds_service_tokens_and_dotted_keys() {
        assert_eq!(
            masked(r#""ci": "ghp_FAKEq8Zt3LmW0pR7xYv2Kc9Nfake0123abcd""#),
            ["ghp_FAKEq8Zt3LmW0pR7xYv2Kc9Nfake0123abcd"]
        );
        assert_eq!(
            masked(r#""spark.hadoop.fs.s3a.secret.key": "q7Rk2FAKEs3a" "#),
            ["q7Rk2FAKEs3a"]
        );
        assert_eq!(masked(r#""spark.ssl.keyStorePassword": "Pw-1""#), ["Pw-1"]);
    }

    #[test]
    fn finds_secrets_by_key_url_and_shape_but_not_references() {
        assert_eq!(masked(r#""db_password": "hunter2", "#), ["hunter2"]);
        assert_eq!(masked(r#""password": "a\"b" }"#), [r#"a\"b"#]);
        assert_eq!(
            masked(r#""token_ref": "vault://prod/x""#),
            Vec::<&str>::new()
        );
        assert_eq!(
            masked(r#""password": "${DB_PASSWORD}""#),
            Vec::<&str>::new()
        );
        assert_eq!(
            masked(r#""url": "postgres://app:S3cr3t@db:5432/x""#),
            ["S3cr3t"]
        );
        assert_eq!(
            masked(r#""url": "https://x/?a=1&password=S3cr3t&b=2""#),
            ["S3cr3t"]
        );
        assert_eq!(
            masked(r#""k": "AKIAABCDEFGHIJKLMNOP""#),
            ["AKIAABCDEFGHIJKLMNOP"]
        );
        // A broken file still has its secret masked: no parse is needed.
        assert_eq!(masked("{\"password\": \"p4ss\" \"next\": 1"), ["p4ss"]);
    }
}
