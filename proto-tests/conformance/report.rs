//! The conformance table printed at the end of the suite, and the details
//! of every deviation (what was sent, what the RFC says, what came back).

use std::fmt::Write as _;

/// One line of the table.
pub struct Row {
    pub name: String,
    pub rfc: String,
    pub expected: String,
    pub observed: String,
    pub pass: bool,
    /// The bytes sent, in hex (or a description for scenario rows).
    pub sent: String,
    /// Transcript and log excerpts, kept for failing rows.
    pub details: Vec<String>,
}

impl Row {
    pub fn new(name: &str, rfc: &str, expected: &str, sent: String) -> Row {
        Row {
            name: name.to_string(),
            rfc: rfc.to_string(),
            expected: expected.to_string(),
            observed: String::new(),
            pass: false,
            sent,
            details: Vec::new(),
        }
    }

    pub fn fail(&mut self, observed: String) {
        self.observed = observed;
        self.pass = false;
    }
}

/// A Markdown table: case | expected | observed | result.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from("| case | expected | observed | result |\n|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            r.name,
            cell(&r.expected),
            cell(&r.observed),
            if r.pass { "pass" } else { "FAIL" }
        );
    }
    let passed = rows.iter().filter(|r| r.pass).count();
    let _ = writeln!(
        out,
        "\n{passed} of {} cases conform. Every row also requires that the other session of \
         the same vipd kept its KEEPALIVEs (no gap of a hold time), was not dropped and still \
         had every VIP after a ROUTE-REFRESH, and that vipd still ran and exited 0 on SIGTERM.",
        rows.len()
    );
    out
}

/// Everything the lead needs to fix one deviation.
pub fn deviations(rows: &[Row]) -> String {
    let mut out = String::new();
    for r in rows.iter().filter(|r| !r.pass) {
        let _ = writeln!(out, "=== {}", r.name);
        let _ = writeln!(out, "sent:     {}", r.sent);
        let _ = writeln!(out, "expected: {}", r.expected);
        let _ = writeln!(out, "observed: {}", r.observed);
        let _ = writeln!(out, "RFC:      {}", r.rfc);
        for d in &r.details {
            let _ = writeln!(out, "{d}");
        }
        out.push('\n');
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
