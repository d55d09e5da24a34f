//! NVD CVE API 2.0 JSON: one CVE item, an API response page, or a yearly feed file.
//!
//! Kept: English description (first line, for a summary), dates, `Rejected` as withdrawn,
//! every CVSS metric (v2, v3.0, v3.1, v4.0) with its source, and the vulnerable CPE matches
//! of the configurations as `cpe` namespace entries keyed `vendor:product`, or
//! `vendor:product:target_sw` when the CPE names one target software (for the CPE matcher,
//! which is off by default).
//!
//! Traps: `versionStartExcluding` has no OSV event; it is stored as `introduced: ">V"`, which
//! the matcher reads as "from V, V itself excluded".
//! A criteria with a concrete version and no range fields means exactly that version.
//! Platform conditions of `AND` configurations (application on an OS) are not evaluated.

use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::model::{
    Advisory, Affected, Problem, Range, RangeEvent, RangeKind, Severity, Source, Status,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    id: String,
    published: Option<String>,
    last_modified: Option<String>,
    vuln_status: Option<String>,
    #[serde(default)]
    descriptions: Vec<Text>,
    #[serde(default)]
    metrics: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    configurations: Vec<Config>,
}

#[derive(Deserialize)]
struct Text {
    lang: String,
    value: String,
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    #[serde(default)]
    cpe_match: Vec<CpeMatch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CpeMatch {
    vulnerable: bool,
    criteria: String,
    version_start_including: Option<String>,
    version_start_excluding: Option<String>,
    version_end_including: Option<String>,
    version_end_excluding: Option<String>,
}

fn item_to_advisory(it: Item, at: &str, problems: &mut Vec<Problem>) -> Advisory {
    let summary = it
        .descriptions
        .iter()
        .find(|d| d.lang == "en")
        .or_else(|| it.descriptions.first())
        .map(|d| {
            d.value
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(240)
                .collect::<String>()
        });
    let withdrawn = (it.vuln_status.as_deref() == Some("Rejected"))
        .then(|| it.last_modified.clone().unwrap_or_default());
    let mut adv = Advisory {
        id: it.id.clone(),
        feed: "nvd".into(),
        source: Source::Nvd,
        summary,
        published: it.published,
        modified: it.last_modified,
        withdrawn,
        ..Advisory::default()
    };
    for (key, list) in &it.metrics {
        let kind = match key.as_str() {
            "cvssMetricV2" => "CVSS_V2",
            "cvssMetricV30" | "cvssMetricV31" => "CVSS_V3",
            "cvssMetricV40" => "CVSS_V4",
            _ => continue,
        };
        for m in list.as_array().into_iter().flatten() {
            if let Some(v) = m.pointer("/cvssData/vectorString").and_then(|x| x.as_str()) {
                adv.severities.push(Severity {
                    kind: kind.into(),
                    value: v.to_string(),
                    source: "nvd".into(),
                });
            }
        }
    }
    for cfg in it.configurations {
        for node in cfg.nodes {
            for m in node.cpe_match.into_iter().filter(|m| m.vulnerable) {
                let Some((vendor, product, version, target_sw)) = cpe_parts(&m.criteria) else {
                    problems.push(Problem {
                        file: at.to_string(),
                        message: format!("{}: invalid CPE `{}`", it.id, m.criteria),
                    });
                    continue;
                };
                // a CPE for one target software (`node.js`, `python`, `windows`) is keyed
                // with it, so a matcher only reads the configurations that can apply
                let package = match target_sw.as_str() {
                    "*" | "-" | "" => format!("{vendor}:{product}"),
                    sw => format!("{vendor}:{product}:{sw}"),
                };
                let has_range = m.version_start_including.is_some()
                    || m.version_start_excluding.is_some()
                    || m.version_end_including.is_some()
                    || m.version_end_excluding.is_some();
                let (ranges, versions) = if has_range {
                    // an exclusive start is written `>V`: OSV has no such event, and the
                    // matcher excludes V itself
                    let mut events = vec![RangeEvent::Introduced(
                        match (m.version_start_including, m.version_start_excluding) {
                            (Some(v), _) => v,
                            (None, Some(v)) => format!(">{v}"),
                            (None, None) => "0".into(),
                        },
                    )];
                    if let Some(v) = m.version_end_excluding {
                        events.push(RangeEvent::Fixed(v));
                    } else if let Some(v) = m.version_end_including {
                        events.push(RangeEvent::LastAffected(v));
                    }
                    (
                        vec![Range {
                            kind: RangeKind::Ecosystem,
                            events,
                        }],
                        Vec::new(),
                    )
                } else if version != "*" && version != "-" {
                    (Vec::new(), vec![version])
                } else {
                    // Every version: the CPE alone says so.
                    (
                        vec![Range {
                            kind: RangeKind::Ecosystem,
                            events: vec![RangeEvent::Introduced("0".into())],
                        }],
                        Vec::new(),
                    )
                };
                adv.affected.push(Affected {
                    namespace: "cpe".into(),
                    package,
                    ranges,
                    versions,
                    status: Status::Affected,
                    arches: Vec::new(),
                    severity: None,
                });
            }
        }
    }
    adv
}

/// Vendor, product, version and target software of a CPE 2.3 formatted string, unescaped and
/// lower-cased.
fn cpe_parts(s: &str) -> Option<(String, String, String, String)> {
    let rest = s.strip_prefix("cpe:2.3:")?;
    let mut fields = Vec::with_capacity(11);
    let mut cur = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cur.push(chars.next()?),
            ':' => fields.push(std::mem::take(&mut cur)),
            c => cur.extend(c.to_lowercase()),
        }
    }
    fields.push(cur);
    if fields.len() != 11 || fields[1].is_empty() || fields[2].is_empty() {
        return None;
    }
    Some((
        fields[1].clone(),
        fields[2].clone(),
        fields[3].clone(),
        fields[8].clone(),
    ))
}

/// Reads a CVE item, an API page (`vulnerabilities[].cve`) or a yearly file.
pub fn read_path(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    let at = path.display().to_string();
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Error::Format {
        path: at.clone(),
        why: e.to_string(),
    })?;
    let items: Vec<serde_json::Value> = match v.get("vulnerabilities").and_then(|x| x.as_array()) {
        Some(list) => list.iter().filter_map(|x| x.get("cve").cloned()).collect(),
        None => vec![v],
    };
    for (i, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<Item>(item) {
            Ok(it) => out.push(item_to_advisory(it, &at, problems)),
            Err(e) => problems.push(Problem {
                file: format!("{at}[{i}]"),
                message: e.to_string(),
            }),
        }
    }
    Ok(())
}
