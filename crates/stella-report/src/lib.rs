//! Scan reports: the JSON scan result of DESIGN.md §4 (camelCase, deterministic: the same
//! inputs give the same bytes) and the table people read in a terminal.

pub mod exchange;
pub mod html;

pub use exchange::{cyclonedx_vdr, cyclonedx_vex, openvex, spdx};
pub use html::html;

use serde::{Deserialize, Serialize};
use stella_match::{Finding, severity_rank};

/// What was scanned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// `image`, `directory`, `sbom`.
    pub kind: String,
    /// As given.
    pub reference: String,
    /// The image digest, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The detected OS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Os>,
}

/// An OS.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Os {
    /// `debian`…
    pub family: String,
    /// `12`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The DB used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DbInfo {
    /// When it was built.
    pub built: String,
    /// Its feeds.
    pub sources: Vec<String>,
}

/// Counts per severity.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Critical.
    pub critical: usize,
    /// High.
    pub high: usize,
    /// Medium.
    pub medium: usize,
    /// Low (and none).
    pub low: usize,
    /// Unknown.
    pub unknown: usize,
}

/// The gate's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    /// `PASS`, `WARN` or `FAIL`.
    pub status: String,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// Every policy rule that decided something, finding by finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<VerdictReason>,
}

/// One rule's decision about one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerdictReason {
    /// The rule.
    pub rule: String,
    /// `deny` or `warn`.
    pub action: String,
    /// The finding's vulnerability.
    pub vulnerability_id: String,
    /// The finding's package (purl, or `name@version`).
    pub package: String,
    /// The rule's message, filled in.
    pub message: String,
}

/// A scan result.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `1`.
    pub schema_version: String,
    /// Derived from the content, so repeated scans of the same inputs agree.
    pub scan_id: String,
    /// RFC 3339.
    pub created_at: String,
    /// What was scanned.
    pub target: Target,
    /// The DB.
    pub db: DbInfo,
    /// Findings, sorted.
    pub findings: Vec<Finding>,
    /// Counts.
    pub summary: Summary,
    /// The verdict.
    pub verdict: Verdict,
    /// Packages or statements that could not be evaluated.
    pub warnings: Vec<String>,
    /// Findings an ignore file silenced, with its reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<Ignored>,
    /// Informational advisories (unmaintained, unsound, notice): not findings, not gated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<stella_match::Notice>,
    /// Which namespaces the scan's packages were looked up in, and whether the DB covers
    /// each (a `missing` one's packages were not checked at all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<stella_match::Coverage>,
}

/// A finding an ignore entry silenced.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ignored {
    /// The vulnerability.
    pub vulnerability_id: String,
    /// The package (`name@version`).
    pub package: String,
    /// Why, as the ignore file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// Counts findings per severity.
pub fn summarize(findings: &[Finding]) -> Summary {
    let mut s = Summary::default();
    // findings a VEX statement set aside are reported, not counted
    for f in findings.iter().filter(|f| counts(f)) {
        match &*f.severity {
            "critical" => s.critical += 1,
            "high" => s.high += 1,
            "medium" => s.medium += 1,
            "low" | "none" => s.low += 1,
            _ => s.unknown += 1,
        }
    }
    s
}

/// Puts a `--fail-on` gate on top of a verdict another judge gave (a policy, Core): the
/// stricter of the two stands, with the gate's reason added, so the verdict shown is the one
/// that decides the exit code. `ERROR` (a policy that could not run) stays `ERROR`.
pub fn gate(verdict: &mut Verdict, findings: &[Finding], fail_on: &str) {
    let g = self::verdict(findings, Some(fail_on));
    if g.status != "FAIL" {
        return;
    }
    if verdict.status != "ERROR" {
        verdict.status = "FAIL".into();
    }
    verdict.reasons.extend(
        g.reasons
            .into_iter()
            .map(|r| format!("--fail-on {fail_on}: {r}")),
    );
}

/// The verdict for `--fail-on SEVERITY` (none: always PASS, findings only WARN).
pub fn verdict(findings: &[Finding], fail_on: Option<&str>) -> Verdict {
    let threshold = fail_on.and_then(severity_rank);
    // findings a VEX statement set aside do not count
    let findings: Vec<&Finding> = findings.iter().filter(|f| counts(f)).collect();
    let failing: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| threshold.is_some_and(|t| severity_rank(&f.severity).unwrap_or(0) >= t))
        .collect();
    if let (Some(level), false) = (fail_on, failing.is_empty()) {
        Verdict {
            status: "FAIL".into(),
            details: Vec::new(),
            reasons: vec![format!(
                "{} finding(s) at or above {level}: {}",
                failing.len(),
                failing
                    .iter()
                    .take(5)
                    .map(|f| format!(
                        "{} in {} {}",
                        f.vulnerability_id, f.package.name, f.package.version
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
        }
    } else if findings.is_empty() {
        Verdict {
            status: "PASS".into(),
            reasons: Vec::new(),
            details: Vec::new(),
        }
    } else {
        Verdict {
            status: "WARN".into(),
            reasons: vec![format!("{} finding(s) below the gate", findings.len())],
            details: Vec::new(),
        }
    }
}

/// Why a policy set a finding aside (`muted until 2026-12-31: reason`, `ignored by rule`),
/// for reports that show it.
pub fn set_aside_by_policy(f: &Finding) -> Option<String> {
    let p = f.policy.as_ref()?;
    match p.action.as_str() {
        "muted" => Some(format!(
            "muted{}{}",
            p.until
                .as_deref()
                .map(|u| format!(" until {u}"))
                .unwrap_or_default(),
            p.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )),
        "ignore" => Some(format!(
            "ignored by {}",
            p.rule.as_deref().unwrap_or("the policy")
        )),
        _ => None,
    }
}

/// Whether a finding counts for summaries and gates: not set aside by a VEX statement, a
/// policy mute or an `ignore` rule (such findings stay in the report, marked).
pub fn counts(f: &Finding) -> bool {
    f.vex.is_none()
        && !f
            .policy
            .as_ref()
            .is_some_and(|p| p.action == "muted" || p.action == "ignore")
}

/// A stable id from the findings and target (FNV-1a), so the same scan gets the same id.
pub fn scan_id(target: &str, findings: &[Finding]) -> String {
    let mut h = stella_sbom::hash::Fnv64::default();
    let mut eat = |s: &str| {
        h.write(s.as_bytes()).write(&[0]);
    };
    eat(target);
    for f in findings {
        eat(&f.vulnerability_id);
        eat(&f.package.name);
        eat(&f.package.version);
    }
    format!("{:016x}", h.finish())
}

/// The JSON report.
pub fn json(r: &Report) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(r).unwrap_or_default();
    v.push(b'\n');
    v
}

/// The terminal table: one line per finding, most severe first.
pub fn table(r: &Report) -> String {
    table_with(r, false)
}

/// The ANSI colour of a severity.
fn colour(sev: &str) -> &'static str {
    match sev {
        "critical" => "\x1b[1;31m",
        "high" => "\x1b[31m",
        "medium" => "\x1b[33m",
        "low" => "\x1b[34m",
        _ => "\x1b[2m",
    }
}

/// The table, grouped by where the packages were found (the OS's package database first,
/// then each lockfile, manifest or binary), severities coloured when `color` (a terminal).
pub fn table_with(r: &Report, color: bool) -> String {
    let head = [
        "SEVERITY",
        "VULNERABILITY",
        "PACKAGE",
        "VERSION",
        "FIXED IN",
        "LAYER",
    ];
    let os_label = match &r.target.os {
        Some(o) => format!(
            "OS packages ({} {})",
            o.family,
            o.version.as_deref().unwrap_or("")
        )
        .replace(" )", ")"),
        None => "OS packages".to_string(),
    };
    // (group, severity, cells), in group order, findings keeping their order inside
    type Rows<'a> = Vec<(&'a Finding, [String; 6])>;
    let mut groups: Vec<(String, Rows)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for f in &r.findings {
        let group = if matches!(f.package.kind.as_str(), "deb" | "apk" | "rpm") {
            (0, os_label.clone())
        } else {
            (
                1,
                format!(
                    "{} ({})",
                    f.package.location.as_deref().unwrap_or("-"),
                    f.package.kind
                ),
            )
        };
        let cells = [
            match (&f.vex, set_aside_by_policy(f)) {
                (Some(v), _) => format!("{} (VEX {})", f.severity.to_uppercase(), v.status),
                // why it is set aside goes under the table: a mute's reason would widen the
                // severity column for every row
                (None, Some(why)) => {
                    notes.push(format!(
                        "[{}] {} in {}: {why}",
                        notes.len() + 1,
                        f.vulnerability_id,
                        f.package.name
                    ));
                    let kind = f.policy.as_ref().map_or("set aside", |p| {
                        if p.action == "muted" {
                            "muted"
                        } else {
                            "ignored"
                        }
                    });
                    format!("{} ({kind} [{}])", f.severity.to_uppercase(), notes.len())
                }
                (None, None) => f.severity.to_uppercase(),
            },
            f.vulnerability_id.to_string(),
            f.package.name.clone(),
            f.package.version.clone(),
            if f.fixed_versions.is_empty() {
                "-".into()
            } else {
                f.fixed_versions.join(", ")
            },
            f.package
                .layer
                .as_deref()
                .map(|l| l.trim_start_matches("sha256:").chars().take(12).collect())
                .unwrap_or_else(|| "-".into()),
        ];
        let label = format!("{}\u{0}{}", group.0, group.1);
        match groups.iter_mut().find(|(g, _)| *g == label) {
            Some((_, rows)) => rows.push((f, cells)),
            None => groups.push((label, vec![(f, cells)])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    let mut w = head.map(str::len);
    for (_, rows) in &groups {
        for (_, r) in rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: &[String], sev: Option<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            match (i, sev) {
                (0, Some(sev)) if color => {
                    s.push_str(colour(sev));
                    s.push_str(c);
                    s.push_str("\x1b[0m");
                }
                _ => s.push_str(c),
            }
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(w[i] - c.chars().count() + 2));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = String::new();
    let several = groups.len() > 1;
    for (gi, (label, rows)) in groups.iter().enumerate() {
        if several {
            if gi > 0 {
                out.push('\n');
            }
            let name = label.split_once('\u{0}').map(|x| x.1).unwrap_or(label);
            if color {
                out.push_str(&format!("\x1b[1m{name}\x1b[0m\n"));
            } else {
                out.push_str(&format!("{name}\n"));
            }
        }
        if gi == 0 || several {
            out.push_str(&line(&head.map(String::from), None));
            out.push('\n');
        }
        for (f, r) in rows {
            out.push_str(&line(r, Some(&*f.severity)));
            out.push('\n');
        }
    }
    for n in &notes {
        out.push_str(n);
        out.push('\n');
    }
    for n in &r.notices {
        out.push_str(&format!(
            "note: {} {} is {} ({}{})\n",
            n.package.name,
            n.package.version,
            n.kind,
            n.advisory,
            n.summary
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        ));
    }
    let s = &r.summary;
    out.push_str(&format!(
        "{} finding(s): {} critical, {} high, {} medium, {} low, {} unknown. Verdict: {}",
        r.findings.len(),
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.unknown,
        r.verdict.status
    ));
    for reason in &r.verdict.reasons {
        out.push_str(&format!(" ({reason})"));
    }
    out.push('\n');
    out
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters at all
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// A SARIF artifact location as code-scanning dashboards take it: a relative URI reference
/// (no leading `/`, no scheme-like first segment such as `alpine:3.19`, spaces and the like
/// percent-encoded).
fn sarif_uri(location: &str) -> String {
    let rel = location.trim_start_matches('/');
    let mut out = String::with_capacity(rel.len() + 2);
    let first = rel.split('/').next().unwrap_or("");
    if first.contains(':') {
        // `./` makes `alpine:3.19` a path, not a URI of the scheme `alpine`
        out.push_str("./");
    }
    for b in rel.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b':'
            | b'@'
            | b'+'
            | b'='
            | b',' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    if out.is_empty() { ".".into() } else { out }
}

/// SARIF 2.1.0, as GitHub code scanning and other CI dashboards read it: one rule per
/// vulnerability (with `security-severity`), one result per finding, located at the file
/// the package was found in.
pub fn sarif(r: &Report, tool_version: &str) -> Vec<u8> {
    use serde_json::json;
    let mut rules: std::collections::BTreeMap<&str, serde_json::Value> = Default::default();
    let mut results = Vec::new();
    for f in &r.findings {
        let level = match &*f.severity {
            "critical" | "high" => "error",
            "medium" => "warning",
            _ => "note",
        };
        rules.entry(&*f.vulnerability_id).or_insert_with(|| {
            // GitHub ranks alerts by `security-severity` (a CVSS-like number): the score when
            // there is one, else the severity's usual value (as other scanners write it)
            let score = f.score.map(f64::from).unwrap_or(match &*f.severity {
                "critical" => 9.5,
                "high" => 8.0,
                "medium" => 5.5,
                "low" => 2.0,
                _ => 0.0,
            });
            let props = json!({
                "tags": ["security", "vulnerability"],
                "security-severity": format!("{score:.1}"),
            });
            json!({
                "id": f.vulnerability_id,
                "shortDescription": { "text": f.summary.as_deref().unwrap_or(&f.vulnerability_id) },
                "properties": props,
            })
        });
        let fix = if f.fixed_versions.is_empty() {
            "no fixed version yet".to_string()
        } else {
            format!("fixed in {}", f.fixed_versions.join(", "))
        };
        let uri = sarif_uri(f.package.location.as_deref().unwrap_or(&r.target.reference));
        let suppressions = match (&f.vex, set_aside_by_policy(f)) {
            (Some(v), _) => json!([{ "kind": "external", "status": "accepted",
                                "justification": format!("VEX {}: {}", v.status, v.justification.clone().unwrap_or_default()) }]),
            (None, Some(why)) => {
                json!([{ "kind": "external", "status": "accepted", "justification": why }])
            }
            (None, None) => json!([]),
        };
        results.push(json!({
            "suppressions": suppressions,
            "ruleId": f.vulnerability_id,
            "level": level,
            "message": { "text": format!("{} {} is vulnerable to {} ({}); {}", f.package.name, f.package.version, f.vulnerability_id, f.severity, fix) },
            "locations": [{ "physicalLocation": { "artifactLocation": { "uri": uri } } }],
            "properties": { "purl": f.package.purl, "severity": f.severity },
        }));
    }
    let doc = json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": { "driver": {
                "name": "stella",
                "version": tool_version,
                "informationUri": "https://example.invalid/stella-ops",
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
            // what the scan warns of (a namespace the DB does not cover, an end-of-life
            // release, an old DB) reaches the dashboard as notifications
            "invocations": [{
                "executionSuccessful": r.verdict.status != "ERROR",
                "toolExecutionNotifications": r.warnings.iter().map(|w| json!({
                    "level": "warning",
                    "message": { "text": w },
                })).collect::<Vec<_>>(),
            }],
        }],
    });
    let mut v = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    v.push(b'\n');
    v
}

/// JUnit XML: one test case per finding, failing when it trips the gate (every finding
/// fails when there is no gate), so CI test reports show what to fix.
pub fn junit(r: &Report, fail_on: Option<&str>) -> Vec<u8> {
    let threshold = fail_on.and_then(severity_rank);
    let fails = |f: &Finding| {
        counts(f) && threshold.is_none_or(|t| severity_rank(&f.severity).unwrap_or(0) >= t)
    };
    let failures = r.findings.iter().filter(|f| fails(f)).count();
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    o.push_str(&format!(
        "<testsuites name=\"stella\" tests=\"{}\" failures=\"{failures}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        r.findings.len(),
        xml_escape(&r.target.reference),
        r.findings.len()
    ));
    for f in &r.findings {
        o.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\">",
            xml_escape(&format!("{}@{}", f.package.name, f.package.version)),
            xml_escape(&f.vulnerability_id)
        ));
        if let Some(v) = &f.vex {
            o.push_str(&format!(
                "\n      <skipped message=\"{}\"/>\n    ",
                xml_escape(&format!("VEX {} ({})", v.status, v.document))
            ));
        } else if let Some(why) = set_aside_by_policy(f) {
            o.push_str(&format!(
                "\n      <skipped message=\"{}\"/>\n    ",
                xml_escape(&why)
            ));
        } else if fails(f) {
            let fix = if f.fixed_versions.is_empty() {
                "no fixed version yet".to_string()
            } else {
                format!("fixed in {}", f.fixed_versions.join(", "))
            };
            o.push_str(&format!(
                "\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    ",
                xml_escape(&f.severity),
                xml_escape(&format!("{} ({}); {fix}", f.vulnerability_id, f.severity)),
                xml_escape(f.summary.as_deref().unwrap_or(""))
            ));
        }
        o.push_str("</testcase>\n");
    }
    o.push_str("  </testsuite>\n</testsuites>\n");
    o.into_bytes()
}

#[cfg(test)]
mod sarif_uri_tests {
    #[test]
    fn locations_are_relative_uri_references() {
        assert_eq!(
            super::sarif_uri("/lib/apk/db/installed"),
            "lib/apk/db/installed"
        );
        assert_eq!(super::sarif_uri("alpine:3.19"), "./alpine:3.19");
        assert_eq!(
            super::sarif_uri("registry.example.com:5000/team/app:1"),
            "./registry.example.com:5000/team/app:1"
        );
        assert_eq!(
            super::sarif_uri("app/site packages/x.json"),
            "app/site%20packages/x.json"
        );
        assert_eq!(super::sarif_uri("payments-api@2.1.0"), "payments-api@2.1.0");
        assert_eq!(super::sarif_uri("/"), ".");
    }
}
