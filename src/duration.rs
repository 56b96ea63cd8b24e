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

/// A Go-style duration in nanoseconds, computed exactly as Go does (what
/// apply sends; `parse` keeps the float arithmetic the policy functions and
/// their twins agree on), and whether it was whole (false when a fraction of
/// a nanosecond was dropped, as in `1.5ns`).
pub fn parse_nanos(text: &str) -> Result<(u128, bool), String> {
    let text = text.trim();
    if text == "0" {
        return Ok((0, true));
    }
    if text.is_empty() {
        return Err("empty duration".to_string());
    }
    let too_long = || format!("`{text}` is too long a duration");
    let mut total: u128 = 0;
    let mut exact = true;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{text}` lacks a unit (ns, us, ms, s, m, h)"))?;
        if digits == 0 {
            return Err(format!("`{text}` is not a duration like 30s, 5m or 1h30m"));
        }
        let number = &rest[..digits];
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty())
            || fraction.contains('.')
            || !whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(format!("`{text}` has a malformed number"));
        }
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let per: u128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            unit => return Err(format!("`{text}` has an unknown unit `{unit}`")),
        };
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| too_long())?
        };
        total = whole
            .checked_mul(per)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(too_long)?;
        // The fraction, digit by digit, in units of `per`.
        let mut scale: u128 = 1;
        let mut numerator: u128 = 0;
        for digit in fraction.bytes().take(20) {
            numerator = numerator * 10 + u128::from(digit - b'0');
            scale *= 10;
        }
        if fraction.len() > 20 && fraction[20..].bytes().any(|b| b != b'0') {
            exact = false;
        }
        let part = numerator * per;
        exact &= part.is_multiple_of(scale);
        total = total.checked_add(part / scale).ok_or_else(too_long)?;
        rest = &rest[unit_len..];
    }
    Ok((total, exact))
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
        // Exactly, as Go: 1.1h is 3960s, not a float's 3959.999…s.
        assert_eq!(parse_nanos("1.1h"), Ok((3_960_000_000_000, true)));
        assert_eq!(parse_nanos("0.3s"), Ok((300_000_000, true)));
        assert_eq!(parse_nanos("1.5ns"), Ok((1, false)));
        assert_eq!(
            parse_nanos("1h30m0.000000001s"),
            Ok((5_400_000_000_001, true))
        );
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in ["", "5", "5 minutes", "m", "1d", "-5s"] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }
}
