//! `concise`: one line per problem, `path:line:col: severity[RULE] message`,
//! the shape Vim's default errorformat and most problem matchers read.

use std::fmt::Write as _;

use crate::diagnostic::Report;

pub fn render(report: &Report) -> Vec<u8> {
    let mut out = String::new();
    for d in &report.diagnostics {
        let place = match &d.location {
            Some(l) => {
                let at = l.file.line_col(l.span.start);
                format!("{}:{}:{}: ", l.file.display_path(), at.line, at.column)
            }
            None => String::new(),
        };
        // One line each, whatever the message holds.
        let message = d.message.replace(['\n', '\r'], " ");
        writeln!(out, "{place}{}[{}] {message}", d.severity, d.rule).expect("writing to a String");
    }
    out.into_bytes()
}
