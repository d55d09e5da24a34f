//! A self-contained HTML report (no scripts, no external resources): summary, verdict, the
//! findings table, notices and warnings, for attaching to a CI run or mailing around.

use crate::Report;
use crate::exchange::advisory_url;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}\
th{background:#f4f4f4}.sev{font-weight:600;border-radius:3px;padding:1px 6px;color:#fff}\
.critical{background:#8b0000}.high{background:#d9480f}.medium{background:#e8a317}.low{background:#5c7cfa}\
.none,.unknown{background:#868e96}.vex{opacity:.55}.PASS{color:#2b8a3e}.WARN{color:#e67700}.FAIL{color:#c92a2a}\
code{font-size:12px}";

/// The report as one HTML page.
pub fn html(r: &Report, tool_version: &str) -> Vec<u8> {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    o.push_str(&format!(
        "<title>stella scan: {}</title><style>{STYLE}</style></head><body>\n",
        esc(&r.target.reference)
    ));
    o.push_str(&format!("<h1>{}</h1>\n<p>", esc(&r.target.reference)));
    if let Some(d) = &r.target.digest {
        o.push_str(&format!("<code>{}</code><br>", esc(d)));
    }
    if let Some(os) = &r.target.os {
        o.push_str(&format!(
            "OS: {} {}<br>",
            esc(&os.family),
            esc(os.version.as_deref().unwrap_or(""))
        ));
    }
    o.push_str(&format!(
        "Scanned {} with stella {} (DB built {})</p>\n",
        esc(&r.created_at),
        esc(tool_version),
        esc(&r.db.built)
    ));
    let s = &r.summary;
    o.push_str(&format!(
        "<h2 class=\"{v}\">Verdict: {v}</h2>\n<p>{} critical, {} high, {} medium, {} low, {} unknown",
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.unknown,
        v = esc(&r.verdict.status)
    ));
    for reason in &r.verdict.reasons {
        o.push_str(&format!("<br>{}", esc(reason)));
    }
    o.push_str("</p>\n");
    if !r.findings.is_empty() {
        o.push_str("<table><thead><tr><th>Severity</th><th>Vulnerability</th><th>Package</th><th>Installed</th><th>Fixed in</th><th>Summary</th></tr></thead><tbody>\n");
        for f in &r.findings {
            let sev = match &*f.severity {
                s @ ("critical" | "high" | "medium" | "low" | "none") => s,
                _ => "unknown",
            };
            let vex = f
                .vex
                .as_ref()
                .map(|v| format!(" <small>VEX {}</small>", esc(&v.status)))
                .unwrap_or_default();
            o.push_str(&format!(
                "<tr{}><td><span class=\"sev {sev}\">{}</span>{vex}</td><td><a href=\"{}\">{}</a></td><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                if f.vex.is_some() { " class=\"vex\"" } else { "" },
                sev.to_uppercase(),
                esc(&advisory_url(&f.vulnerability_id)),
                esc(&f.vulnerability_id),
                esc(f.package.purl.as_deref().unwrap_or("")),
                esc(&f.package.name),
                esc(&f.package.version),
                esc(&f.fixed_versions.join(", ")),
                esc(f.summary.as_deref().unwrap_or("")),
            ));
        }
        o.push_str("</tbody></table>\n");
    }
    if !r.notices.is_empty() {
        o.push_str("<h2>Notices</h2><ul>\n");
        for n in &r.notices {
            o.push_str(&format!(
                "<li>{} {} is {} (<a href=\"{}\">{}</a>)</li>\n",
                esc(&n.package.name),
                esc(&n.package.version),
                esc(&n.kind),
                esc(&advisory_url(&n.advisory)),
                esc(&n.advisory)
            ));
        }
        o.push_str("</ul>\n");
    }
    if !r.ignored.is_empty() {
        o.push_str("<h2>Ignored</h2><ul>\n");
        for i in &r.ignored {
            o.push_str(&format!(
                "<li>{} in {}: {}</li>\n",
                esc(&i.vulnerability_id),
                esc(&i.package),
                esc(i.reason.as_deref().unwrap_or(""))
            ));
        }
        o.push_str("</ul>\n");
    }
    if !r.warnings.is_empty() {
        o.push_str("<h2>Warnings</h2><ul>\n");
        for w in &r.warnings {
            o.push_str(&format!("<li>{}</li>\n", esc(w)));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</body></html>\n");
    o.into_bytes()
}
