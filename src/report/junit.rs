//! `junit`: JUnit XML for CI test dashboards. One test suite per file, one
//! failed test case per finding; a clean run is one passing test case, so
//! dashboards show that the check ran.

use std::fmt::Write as _;

use crate::diagnostic::{Diagnostic, Report};

/// Escape text for XML content and attribute values, and drop the control
/// characters XML 1.0 cannot carry at all.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Findings with no file (engine problems) are grouped under this name.
const NO_FILE: &str = "planguard";

pub fn render(report: &Report) -> Vec<u8> {
    // The report is sorted by path, so each file's findings are adjacent.
    let mut suites: Vec<(String, Vec<&Diagnostic>)> = Vec::new();
    for d in &report.diagnostics {
        let name = d.path().unwrap_or_else(|| NO_FILE.to_string());
        match suites.last_mut() {
            Some((last, findings)) if *last == name => findings.push(d),
            _ => suites.push((name, vec![d])),
        }
    }
    let total = report.diagnostics.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests = total.max(1);
    writeln!(
        out,
        "<testsuites name=\"planguard\" tests=\"{tests}\" failures=\"{total}\" errors=\"0\">"
    )
    .expect("writing to a String");
    if suites.is_empty() {
        out.push_str("  <testsuite name=\"planguard\" tests=\"1\" failures=\"0\" errors=\"0\">\n");
        writeln!(
            out,
            "    <testcase name=\"planguard check\" classname=\"planguard\">\n      <system-out>{}</system-out>\n    </testcase>",
            escape(&report.summary())
        )
        .expect("writing to a String");
        out.push_str("  </testsuite>\n");
    }
    for (name, findings) in &suites {
        let file = escape(name);
        writeln!(
            out,
            "  <testsuite name=\"{file}\" tests=\"{n}\" failures=\"{n}\" errors=\"0\">",
            n = findings.len()
        )
        .expect("writing to a String");
        for d in findings {
            let (place, line) = match &d.location {
                Some(l) => {
                    let at = l.file.line_col(l.span.start);
                    (format!("{}:{}:{}", name, at.line, at.column), Some(at.line))
                }
                None => (name.clone(), None),
            };
            let line_attr = line
                .map(|l| format!(" file=\"{file}\" line=\"{l}\""))
                .unwrap_or_default();
            writeln!(
                out,
                "    <testcase name=\"{rule} at {place}\" classname=\"{file}\"{line_attr}>\n      <failure type=\"{severity}\" message=\"{message}\">{place}: {severity}[{rule}] {message}</failure>\n    </testcase>",
                rule = escape(d.rule.as_str()),
                place = escape(&place),
                severity = d.severity,
                message = escape(&d.message),
            )
            .expect("writing to a String");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_and_control_characters_cannot_break_the_document() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}\u{7}\tok\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\tok\n"
        );
    }
}
