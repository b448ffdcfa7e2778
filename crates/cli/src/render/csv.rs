//! `scan --format csv`: one row per server for spreadsheets (RFC 4180, CRLF line ends).
//!
//! Two kinds of escaping: the RFC's (fields with a comma, quote or line break are quoted, inner
//! quotes doubled), and against formula injection. A certificate subject is chosen by whoever
//! runs the server; a spreadsheet would run `=HYPERLINK(...)` or `@SUM(...)` in it, so text that
//! starts with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`, which spreadsheets show as
//! text (OWASP's advice). Numbers are written as numbers and never prefixed.

use std::borrow::Cow;
use std::fmt::Write;

use rdpdoctor_core::scan::ServerRow;

/// The columns, in order.
pub const COLUMNS: [&str; 19] = [
    "target",
    "host",
    "port",
    "outcome",
    "verdict",
    "top_cause",
    "causes",
    "unreachable_reason",
    "address",
    "selected_protocol",
    "protocols",
    "tls_version",
    "cert_subject",
    "cert_not_after",
    "cert_days_left",
    "cert_self_signed",
    "credssp_version",
    "duration_ms",
    "checked_at",
];

pub fn header() -> String {
    COLUMNS.join(",") + "\r\n"
}

/// One server as one CSV line (with its CRLF).
pub fn row(r: &ServerRow) -> String {
    let opt = |v: &Option<String>| v.as_deref().map(text).unwrap_or_default().into_owned();
    let fields: [String; 19] = [
        text(&r.target).into_owned(),
        text(&r.host).into_owned(),
        r.port.to_string(),
        r.outcome.as_str().to_string(),
        r.verdict.to_string(),
        opt(&r.top_cause),
        text(&r.causes.join(";")).into_owned(),
        opt(&r.unreachable_reason),
        opt(&r.address),
        opt(&r.selected_protocol),
        text(&r.protocols.join(";")).into_owned(),
        opt(&r.tls_version),
        opt(&r.cert_subject),
        r.cert_not_after.map(|d| d.to_rfc3339()).unwrap_or_default(),
        r.cert_days_left.map(|d| d.to_string()).unwrap_or_default(),
        r.cert_self_signed
            .map(|b| b.to_string())
            .unwrap_or_default(),
        r.credssp_version.map(|v| v.to_string()).unwrap_or_default(),
        format!("{:.1}", r.duration_ms),
        r.checked_at.to_rfc3339(),
    ];
    let mut line = String::with_capacity(256);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let _ = write!(line, "{f}");
    }
    line.push_str("\r\n");
    line
}

/// A text field: neutralised against formulas, then quoted as needed.
pub fn text(s: &str) -> Cow<'_, str> {
    let s: Cow<str> = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    };
    if s.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_quoting() {
        assert_eq!(text("server01"), "server01");
        assert_eq!(text("CN=a, O=b"), "\"CN=a, O=b\"");
        assert_eq!(text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("two\nlines"), "\"two\nlines\"");
        assert_eq!(text(""), "");
    }

    #[test]
    fn formulas_from_a_hostile_certificate_stay_text() {
        assert_eq!(
            text("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("+1"), "'+1");
        assert_eq!(text("-2+3"), "'-2+3");
        assert_eq!(text("\tx"), "'\tx");
    }

    #[test]
    fn the_header_matches_the_row() {
        assert_eq!(header().trim_end().split(',').count(), COLUMNS.len());
    }
}
