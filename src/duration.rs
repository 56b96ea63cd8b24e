//! Go-style durations (`30s`, `1h30m`, `250ms`), the syntax Temporal and its CLI
//! use for every interval, timeout and window.

use std::time::Duration;

/// Parse a Go-style duration. Units: ns, us/µs, ms, s, m, h; at least one
/// number+unit pair; fractions allowed (`1.5h`). `0` alone is zero.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err("empty duration".to_string());
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{text}` lacks a unit (ns, us, ms, s, m, h)"))?;
        if digits == 0 {
            return Err(format!("`{text}` is not a duration like 30s, 5m or 1h30m"));
        }
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}` has a malformed number"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            unit => return Err(format!("`{text}` has an unknown unit `{unit}`")),
        };
        total += number * nanos_per;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return Err(format!("`{text}` is too long a duration"));
    }
    Ok(Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in ["", "5", "5 minutes", "m", "1d", "-5s"] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }
}
