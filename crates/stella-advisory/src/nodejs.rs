//! The Node.js security working group's database (`nodejs/security-wg` `vuln/core/*.json` for
//! the runtime, `vuln/npm/*.json` for packages, as vuln-list mirrors them).
//!
//! Traps: affected versions are `vulnerable` minus `patched`, both node-semver ranges (core:
//! `vulnerable`/`patched`; npm: `vulnerable_versions`/`patched_versions`), turned into OSV
//! ranges by [`crate::intervals`]; core advisories speak about the `node` runtime itself
//! (namespace `nodejs`), not an npm package; CVSS comes as a vector with or without its
//! `CVSS:` prefix, or only as a score (`6.5 (High)` or `6.5`).

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::Error;
use crate::model::{Advisory, Affected, Problem, Severity, Source, Status};

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, deserialize_with = "crate::null_default")]
    cve: Vec<String>,
    #[serde(default, deserialize_with = "crate::null_default")]
    cves: Vec<String>,
    #[serde(default)]
    module_name: Option<String>,
    #[serde(default)]
    vulnerable: Option<String>,
    #[serde(default)]
    patched: Option<String>,
    #[serde(default)]
    vulnerable_versions: Option<String>,
    #[serde(default)]
    patched_versions: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    cvss: Option<Value>,
    #[serde(default)]
    cvss_vector: Option<String>,
    #[serde(default)]
    cvss_score: Option<Value>,
    #[serde(default)]
    publish_date: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

/// Reads one record; the file name gives its number when the record has no `id`.
pub fn read_nodejs(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    out.extend(parse_nodejs(&bytes, path, problems)?);
    Ok(())
}

/// Parses one record; `None` when it states no affected range.
pub fn parse_nodejs(
    bytes: &[u8],
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Option<Advisory>, Error> {
    let r: Record = serde_json::from_slice(bytes).map_err(|e| Error::Format {
        path: path.display().to_string(),
        why: e.to_string(),
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let number = match &r.id {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => stem,
    };
    let module = r
        .module_name
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let (ns, package, id) = match module {
        Some(m) => ("npm", m.to_lowercase(), format!("NSWG-ECO-{number}")),
        None => ("nodejs", "node".to_string(), format!("NSWG-CORE-{number}")),
    };
    let vulnerable = r.vulnerable.or(r.vulnerable_versions).unwrap_or_default();
    let patched = r.patched.or(r.patched_versions).unwrap_or_default();
    let mut cves: Vec<String> = r.cve.into_iter().chain(r.cves).collect();
    cves.sort();
    cves.dedup();
    let mut adv = Advisory {
        // one CVE: the record is that CVE's statement
        id: if cves.len() == 1 {
            cves[0].clone()
        } else {
            id.clone()
        },
        source: Source::Osv,
        summary: r.title.or(r.description).map(|t| t.trim().to_string()),
        published: r.publish_date,
        modified: r.updated_at,
        ..Advisory::default()
    };
    adv.aliases
        .extend(cves.iter().filter(|c| **c != adv.id).cloned());
    if adv.id != id {
        adv.aliases.insert(id);
    }
    let vector = r
        .cvss_vector
        .or_else(|| r.cvss.and_then(|v| v.as_str().map(str::to_string)))
        .map(|v| v.trim().to_string())
        .filter(|v| v.contains("AV:"));
    if let Some(v) = vector {
        let v = if v.starts_with("CVSS:") || !v.starts_with('3') {
            v
        } else {
            format!("CVSS:{v}")
        };
        let kind = if v.starts_with("CVSS:3") {
            "CVSS_V3"
        } else {
            "CVSS_V2"
        };
        adv.severities.push(Severity {
            kind: kind.into(),
            value: v,
            source: "nodejs".into(),
        });
    } else if let Some(level) = r.cvss_score.as_ref().and_then(score_level) {
        adv.severities.push(Severity {
            kind: "nodejs".into(),
            value: level.as_str().into(),
            source: "nodejs".into(),
        });
    }
    if vulnerable.trim().is_empty() {
        return Ok(None);
    }
    match crate::intervals::affected_ranges(stella_version::Scheme::Npm, &vulnerable, &patched) {
        Ok(ranges) if !ranges.is_empty() => adv.affected.push(Affected {
            namespace: ns.into(),
            package,
            ranges,
            versions: Vec::new(),
            status: Status::Affected,
            arches: Vec::new(),
            severity: None,
        }),
        Ok(_) => return Ok(None),
        Err(why) => {
            problems.push(Problem {
                file: path.display().to_string(),
                message: format!("{}: `{vulnerable}` minus `{patched}`: {why}", adv.id),
            });
            return Ok(None);
        }
    }
    Ok(Some(adv))
}

/// `6.5 (High)`, `"6.5"` or `6.5` as a level.
fn score_level(v: &Value) -> Option<crate::cvss::Level> {
    let s = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.split_whitespace().next()?.parse().ok()?,
        _ => return None,
    };
    (s.is_finite() && s >= 0.0).then(|| crate::cvss::Level::from_score(s))
}
