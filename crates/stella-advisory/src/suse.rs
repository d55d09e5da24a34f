//! SUSE and openSUSE security updates from SUSE's CVRF documents, in the JSON layout of the
//! `vuln-list` mirror (`cvrf/suse/{suse,opensuse}/…/SUSE-SU-….json`).
//!
//! A product status names `<product>:<package>-<version>-<release>`. Traps: the product is a
//! marketing name that must become the release an image's `/etc/os-release` names
//! (`SUSE Linux Enterprise Server 15 SP1` and its modules → `sles:15.1`, `openSUSE Leap 15.1`
//! → `opensuse-leap:15.1`, `SUSE Linux Enterprise Micro 5.3` → `sle-micro:5.3`); products that
//! are not an operating system (SUSE Manager, Storage, OpenStack Cloud…) are left out; the
//! package name may itself contain `-`, so the version and release are the last two fields.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::model::{Advisory, Affected, Problem, Range, Severity, Source, Status};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Cvrf {
    #[serde(default)]
    title: Option<String>,
    tracking: Tracking,
    #[serde(default, deserialize_with = "crate::null_default")]
    vulnerabilities: Vec<Vulnerability>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tracking {
    #[serde(rename = "ID")]
    id: String,
    #[serde(default)]
    initial_release_date: Option<String>,
    #[serde(default)]
    current_release_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Vulnerability {
    #[serde(default, rename = "CVE")]
    cve: String,
    #[serde(default, deserialize_with = "crate::null_default")]
    threats: Vec<Threat>,
    #[serde(default, deserialize_with = "crate::null_default")]
    product_statuses: Vec<ProductStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Threat {
    #[serde(default, rename = "Type")]
    kind: String,
    #[serde(default)]
    severity: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProductStatus {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(
        default,
        rename = "ProductID",
        deserialize_with = "crate::null_default"
    )]
    product_id: Vec<String>,
}

/// `N` or `N SPk` at the end of a product name → `N` / `N.k`.
fn release_of(s: &str) -> Option<String> {
    let s = s.trim();
    let (major, sp) = match s.split_once(" SP") {
        Some((m, sp)) => (m.trim(), Some(sp.trim())),
        None => (s, None),
    };
    if major.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match sp {
        Some(sp) if !sp.is_empty() && sp.bytes().all(|b| b.is_ascii_digit()) => {
            Some(format!("{major}.{sp}"))
        }
        Some(_) => None,
        None => Some(major.to_string()),
    }
}

/// The namespace of a SUSE product name, as `ID:VERSION_ID` of its `/etc/os-release`;
/// `None` for products that are not an operating system an image can be built on.
pub fn namespace(product: &str) -> Option<String> {
    let p = product.trim();
    if p == "openSUSE Tumbleweed" {
        return Some("opensuse-tumbleweed".into());
    }
    let dotted = |r: &str| {
        let r = r.trim();
        (!r.is_empty()
            && r.split('.')
                .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit())))
        .then(|| r.to_string())
    };
    if let Some(r) = p.strip_prefix("openSUSE Leap Micro ") {
        return dotted(r).map(|r| format!("opensuse-leap-micro:{r}"));
    }
    if let Some(r) = p.strip_prefix("openSUSE Leap ") {
        return dotted(r).map(|r| format!("opensuse-leap:{r}"));
    }
    if let Some(r) = p.strip_prefix("SUSE Linux Enterprise Micro ") {
        return dotted(r).map(|r| format!("sle-micro:{r}"));
    }
    if let Some(r) = p.strip_prefix("SUSE Linux Micro ") {
        return dotted(r).map(|r| format!("sl-micro:{r}"));
    }
    // Every SLE 15 SP1 product and module ships into the same installed system.
    if let Some(rest) = p
        .strip_prefix("SUSE Linux Enterprise ")
        .or_else(|| p.strip_prefix("SUSE Package Hub for SUSE Linux Enterprise "))
    {
        // the release is the first `N[ SPk]` in the name (`Module for Basesystem 15 SP1`,
        // `Server for SAP Applications 15 SP1`, `Server 12 SP5-LTSS`)
        let words: Vec<&str> = rest.split(' ').collect();
        for (i, w) in words.iter().enumerate() {
            if w.bytes().all(|b| b.is_ascii_digit()) && !w.is_empty() {
                let sp = words
                    .get(i + 1)
                    .filter(|n| n.starts_with("SP"))
                    .map(|n| n.split('-').next().unwrap_or(n));
                let candidate = match sp {
                    Some(sp) => format!("{w} {sp}"),
                    None => w.to_string(),
                };
                return release_of(&candidate).map(|r| format!("sles:{r}"));
            }
        }
    }
    None
}

/// `libgnutls30-hmac-3.7.3-150400.8.1` → (`libgnutls30-hmac`, `3.7.3-150400.8.1`).
fn split_nvr(nvr: &str) -> Option<(&str, &str)> {
    let (nv, _release) = nvr.rsplit_once('-')?;
    let (name, _version) = nv.rsplit_once('-')?;
    (!name.is_empty()).then(|| (name, &nvr[name.len() + 1..]))
}

/// Reads one CVRF document.
pub fn read_suse(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    out.push(parse_suse(&bytes, path, problems)?);
    Ok(())
}

/// Parses one CVRF document: one advisory named after the update, every CVE an alias, and
/// per (release, binary package) the version that fixed it.
pub fn parse_suse(
    bytes: &[u8],
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Advisory, Error> {
    let bad = |why: String| Error::Format {
        path: path.display().to_string(),
        why,
    };
    let doc: Cvrf = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let id = doc.tracking.id.trim().to_string();
    if id.is_empty() {
        return Err(bad("no `Tracking.ID`".into()));
    }
    let mut adv = Advisory {
        id,
        source: Source::Distro,
        summary: doc
            .title
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty()),
        published: doc.tracking.initial_release_date,
        modified: doc.tracking.current_release_date,
        ..Advisory::default()
    };
    // (namespace, package) → (status, fixed version)
    let mut st: BTreeMap<(String, String), (Status, Option<String>)> = BTreeMap::new();
    let mut levels = Vec::new();
    for v in &doc.vulnerabilities {
        let cve = v.cve.trim();
        if cve.starts_with("CVE-") {
            adv.aliases.insert(cve.to_string());
        }
        levels.extend(
            v.threats
                .iter()
                .filter(|t| t.kind == "Impact")
                .filter_map(|t| crate::cvss::Level::parse(&t.severity)),
        );
        for ps in &v.product_statuses {
            let status = match ps.kind.as_str() {
                "Fixed" => Status::Affected,
                "Known Affected" => Status::Affected,
                "Known Not Affected" => Status::NotAffected,
                _ => continue,
            };
            for pid in &ps.product_id {
                let Some((product, component)) = pid.split_once(':') else {
                    continue;
                };
                let Some(ns) = namespace(product) else {
                    continue;
                };
                let (name, fixed) = if ps.kind == "Fixed" {
                    match split_nvr(component.trim()) {
                        Some((n, v)) => (n.to_string(), Some(v.to_string())),
                        None => {
                            problems.push(Problem {
                                file: path.display().to_string(),
                                message: format!("{cve}: `{pid}` names no version"),
                            });
                            continue;
                        }
                    }
                } else {
                    (component.trim().to_string(), None)
                };
                // A fix stated for one CVE wins over "known affected" for another.
                let e = st.entry((ns, name)).or_insert((status, fixed.clone()));
                if fixed.is_some() {
                    *e = (Status::Affected, fixed);
                }
            }
        }
    }
    // One rating for the update only when its CVEs agree.
    levels.sort();
    levels.dedup();
    if let [level] = levels.as_slice() {
        adv.severities.push(Severity {
            kind: "distro".into(),
            value: level.as_str().into(),
            source: "distro".into(),
        });
    }
    for ((namespace, package), (status, fixed)) in st {
        adv.affected.push(Affected {
            namespace,
            package,
            ranges: match (&status, fixed) {
                (Status::Affected, Some(v)) => vec![Range::fixed_in(&v)],
                (Status::Affected, None) => vec![crate::model::Range {
                    kind: crate::model::RangeKind::Ecosystem,
                    events: vec![crate::model::RangeEvent::Introduced("0".into())],
                }],
                _ => Vec::new(),
            },
            versions: Vec::new(),
            status,
            arches: Vec::new(),
            severity: None,
        });
    }
    Ok(adv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products() {
        let ns = |p| namespace(p);
        assert_eq!(
            ns("SUSE Linux Enterprise Server 15 SP1").as_deref(),
            Some("sles:15.1")
        );
        assert_eq!(
            ns("SUSE Linux Enterprise Module for Containers 15 SP1").as_deref(),
            Some("sles:15.1")
        );
        assert_eq!(
            ns("SUSE Linux Enterprise Server 12 SP5-LTSS").as_deref(),
            Some("sles:12.5")
        );
        assert_eq!(
            ns("SUSE Linux Enterprise Server 15").as_deref(),
            Some("sles:15")
        );
        assert_eq!(
            ns("SUSE Package Hub for SUSE Linux Enterprise 15").as_deref(),
            Some("sles:15")
        );
        assert_eq!(
            ns("openSUSE Leap 15.1").as_deref(),
            Some("opensuse-leap:15.1")
        );
        assert_eq!(
            ns("openSUSE Tumbleweed").as_deref(),
            Some("opensuse-tumbleweed")
        );
        assert_eq!(
            ns("SUSE Linux Enterprise Micro 5.3").as_deref(),
            Some("sle-micro:5.3")
        );
        assert_eq!(ns("SUSE Linux Micro 6.0").as_deref(), Some("sl-micro:6.0"));
        assert_eq!(ns("SUSE Manager Server 4.0"), None);
        assert_eq!(
            split_nvr("libgnutls30-hmac-3.7.3-150400.8.1"),
            Some(("libgnutls30-hmac", "3.7.3-150400.8.1"))
        );
        assert_eq!(
            split_nvr("docker-27.5.1_ce-3.1"),
            Some(("docker", "27.5.1_ce-3.1"))
        );
        assert_eq!(split_nvr("nover"), None);
    }
}
