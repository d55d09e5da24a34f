//! Scan reports: the JSON scan result of DESIGN.md §4 (camelCase, deterministic: the same
//! inputs give the same bytes) and the table people read in a terminal.

use serde::Serialize;
use stella_match::{Finding, severity_rank};

/// What was scanned.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// `image`, `directory`, `sbom`.
    pub kind: String,
    /// As given.
    pub reference: String,
    /// The image digest, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The detected OS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<Os>,
}

/// An OS.
#[derive(Debug, Clone, Serialize)]
pub struct Os {
    /// `debian`…
    pub family: String,
    /// `12`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The DB used.
#[derive(Debug, Clone, Serialize)]
pub struct DbInfo {
    /// When it was built.
    pub built: String,
    /// Its feeds.
    pub sources: Vec<String>,
}

/// Counts per severity.
#[derive(Debug, Clone, Default, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// `PASS`, `WARN` or `FAIL`.
    pub status: String,
    /// Why.
    pub reasons: Vec<String>,
}

/// A scan result.
#[derive(Debug, Clone, Serialize)]
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<Ignored>,
}

/// A finding an ignore entry silenced.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ignored {
    /// The vulnerability.
    pub vulnerability_id: String,
    /// The package (`name@version`).
    pub package: String,
    /// Why, as the ignore file says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Until when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// Counts findings per severity.
pub fn summarize(findings: &[Finding]) -> Summary {
    let mut s = Summary::default();
    for f in findings {
        match f.severity.as_str() {
            "critical" => s.critical += 1,
            "high" => s.high += 1,
            "medium" => s.medium += 1,
            "low" | "none" => s.low += 1,
            _ => s.unknown += 1,
        }
    }
    s
}

/// The verdict for `--fail-on SEVERITY` (none: always PASS, findings only WARN).
pub fn verdict(findings: &[Finding], fail_on: Option<&str>) -> Verdict {
    let threshold = fail_on.and_then(severity_rank);
    let failing: Vec<&Finding> = findings
        .iter()
        .filter(|f| threshold.is_some_and(|t| severity_rank(&f.severity).unwrap_or(0) >= t))
        .collect();
    if let (Some(level), false) = (fail_on, failing.is_empty()) {
        Verdict {
            status: "FAIL".into(),
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
        }
    } else {
        Verdict {
            status: "WARN".into(),
            reasons: vec![format!("{} finding(s) below the gate", findings.len())],
        }
    }
}

/// A stable id from the findings and target (FNV-1a), so the same scan gets the same id.
pub fn scan_id(target: &str, findings: &[Finding]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |s: &str| {
        for b in s.bytes().chain(std::iter::once(0)) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(target);
    for f in findings {
        eat(&f.vulnerability_id);
        eat(&f.package.name);
        eat(&f.package.version);
    }
    format!("{h:016x}")
}

/// The JSON report.
pub fn json(r: &Report) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(r).unwrap_or_default();
    v.push(b'\n');
    v
}

/// The terminal table: one line per finding, most severe first.
pub fn table(r: &Report) -> String {
    let head = [
        "SEVERITY",
        "VULNERABILITY",
        "PACKAGE",
        "VERSION",
        "FIXED IN",
        "LAYER",
    ];
    let rows: Vec<[String; 6]> = r
        .findings
        .iter()
        .map(|f| {
            [
                f.severity.to_uppercase(),
                f.vulnerability_id.clone(),
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
            ]
        })
        .collect();
    let mut w = head.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(w[i] - c.chars().count() + 2));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = String::new();
    if !rows.is_empty() {
        out.push_str(&line(&head.map(String::from)));
        out.push('\n');
        for r in &rows {
            out.push_str(&line(r));
            out.push('\n');
        }
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
