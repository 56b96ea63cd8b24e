//! `github`: workflow commands that annotate the pull request's diff
//! (`::error file=…,line=…::message`), escaped as the runner requires.

use std::fmt::Write as _;

use crate::diagnostic::{Report, Severity};

/// GitHub shows at most this many annotations of each level per step.
const SHOWN_PER_LEVEL: usize = 10;

/// Escape a message: `%`, CR and LF.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value: also `:` and `,`, which separate properties.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

pub fn render(report: &Report) -> Vec<u8> {
    let mut out = String::new();
    for d in &report.diagnostics {
        let mut properties = Vec::new();
        if let Some(location) = &d.location {
            let start = location.file.line_col(location.span.start);
            let end = location.file.line_col(location.span.end);
            properties.push(format!(
                "file={}",
                escape_property(&location.file.display_path())
            ));
            properties.push(format!("line={}", start.line));
            properties.push(format!("endLine={}", end.line));
            properties.push(format!("col={}", start.column));
            properties.push(format!("endColumn={}", end.column));
        }
        properties.push(format!(
            "title={}",
            escape_property(&format!("planguard {}", d.rule))
        ));
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        writeln!(
            out,
            "::{} {}::{}",
            command(d.severity),
            properties.join(","),
            escape_data(&message)
        )
        .expect("writing to a String");
    }
    let over: Vec<String> = [Severity::Error, Severity::Warning, Severity::Info]
        .into_iter()
        .filter(|s| report.count(*s) > SHOWN_PER_LEVEL)
        .map(|s| format!("{} {}s", report.count(s), s))
        .collect();
    if !over.is_empty() {
        writeln!(
            out,
            "::notice title=planguard::GitHub shows at most {SHOWN_PER_LEVEL} annotations per level in a step and there are {}; upload the SARIF report (--format sarif) to code scanning to see them all",
            over.join(" and ")
        )
        .expect("writing to a String");
    }
    out.push_str(&report.summary());
    out.push('\n');
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_properties_are_escaped_as_the_runner_reads_them() {
        assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
