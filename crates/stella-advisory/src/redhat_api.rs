//! Red Hat's Security Data API CVE documents (`access.redhat.com/hydra/rest/securitydata/cve/
//! CVE-….json`, mirrored by `vuln-list-redhat/api/<year>/`).
//!
//! Traps: `affected_release` and `package_state` are a list, a single object or null; fixed
//! packages are *source* NVRs (`edk2-20190308git89910a39dcfd-6.el8`, sometimes with an epoch
//! `pam-0:1.5.1-21.el9_5`), and module streams (`nodejs:12-8030…`) are not packages; the
//! release comes from the CPE (main RHEL streams only, as for CSAF).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::model::{
    Advisory, Affected, Problem, Range, RangeEvent, RangeKind, Severity, Source, Status,
};

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::Many(v) => v,
            OneOrMany::One(t) => vec![t],
        }
    }
}

#[derive(Deserialize)]
struct Cve {
    name: String,
    #[serde(default)]
    affected_release: Option<OneOrMany<Release>>,
    #[serde(default)]
    package_state: Option<OneOrMany<PackageState>>,
    #[serde(default)]
    threat_severity: Option<String>,
    #[serde(default)]
    public_date: Option<String>,
    #[serde(default)]
    bugzilla: Option<Bugzilla>,
    #[serde(default)]
    cvss: Option<Cvss2>,
    #[serde(default)]
    cvss3: Option<Cvss3>,
}

#[derive(Deserialize)]
struct Release {
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    cpe: Option<String>,
}

#[derive(Deserialize)]
struct PackageState {
    #[serde(default)]
    fix_state: Option<String>,
    #[serde(default)]
    package_name: Option<String>,
    #[serde(default)]
    cpe: Option<String>,
}

#[derive(Deserialize)]
struct Bugzilla {
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct Cvss2 {
    #[serde(default)]
    cvss_scoring_vector: String,
}

#[derive(Deserialize)]
struct Cvss3 {
    #[serde(default)]
    cvss3_scoring_vector: String,
}

/// `edk2-20190308git89910a39dcfd-6.el8` → (`edk2`, `20190308git89910a39dcfd-6.el8`), with an
/// `N:` epoch kept unless it is 0.
fn split_nvr(nvr: &str) -> Option<(String, String)> {
    let (nv, release) = nvr.rsplit_once('-')?;
    let (name, version) = nv.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() || name.contains(':') {
        return None;
    }
    let version = version.strip_prefix("0:").unwrap_or(version);
    Some((name.to_string(), format!("{version}-{release}")))
}

/// Reads one Security Data API CVE document.
pub fn read_redhat_api(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    out.push(parse_redhat_api(&bytes, path, problems)?);
    Ok(())
}

/// Parses one Security Data API CVE document.
pub fn parse_redhat_api(
    bytes: &[u8],
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Advisory, Error> {
    let bad = |why: String| Error::Format {
        path: path.display().to_string(),
        why,
    };
    let c: Cve = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let id = c.name.trim().to_string();
    if !id.starts_with("CVE-") {
        return Err(bad(format!("`{id}` is not a CVE id")));
    }
    let mut adv = Advisory {
        id,
        source: Source::Distro,
        summary: c
            .bugzilla
            .and_then(|b| b.description)
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty()),
        published: c.public_date.filter(|d| !d.is_empty()),
        ..Advisory::default()
    };
    for (kind, v) in [
        ("CVSS_V3", c.cvss3.map(|x| x.cvss3_scoring_vector)),
        ("CVSS_V2", c.cvss.map(|x| x.cvss_scoring_vector)),
    ] {
        if let Some(v) = v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
            adv.severities.push(Severity {
                kind: kind.into(),
                value: v,
                source: "redhat".into(),
            });
        }
    }
    if let Some(level) = c
        .threat_severity
        .as_deref()
        .and_then(crate::cvss::Level::parse)
    {
        adv.severities.push(Severity {
            kind: "distro".into(),
            value: level.as_str().into(),
            source: "distro".into(),
        });
    }
    // (release, source package) → (status, fixed)
    let mut st: BTreeMap<(String, String), (Status, Option<String>)> = BTreeMap::new();
    for r in c
        .affected_release
        .map(OneOrMany::into_vec)
        .unwrap_or_default()
    {
        let Some(rel) = r.cpe.as_deref().and_then(crate::redhat::rhel_release) else {
            continue;
        };
        let Some((name, ver)) = r.package.as_deref().and_then(|p| split_nvr(p.trim())) else {
            continue;
        };
        let e = st
            .entry((rel, name))
            .or_insert((Status::Affected, Some(ver.clone())));
        if let (Status::Affected, Some(old)) = e
            && let Ok(std::cmp::Ordering::Less) = stella_version::Scheme::Rpm.compare(&ver, old)
        {
            *old = ver;
        }
    }
    for p in c.package_state.map(OneOrMany::into_vec).unwrap_or_default() {
        let Some(rel) = p.cpe.as_deref().and_then(crate::redhat::rhel_release) else {
            continue;
        };
        let Some(name) = p
            .package_name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
        else {
            continue;
        };
        let status = match p.fix_state.as_deref().map(str::trim) {
            Some("Not affected") => Status::NotAffected,
            Some(
                "Affected"
                | "Fix deferred"
                | "Will not fix"
                | "Out of support scope"
                | "Under investigation"
                | "New",
            ) => Status::Affected,
            other => {
                problems.push(Problem {
                    file: path.display().to_string(),
                    message: format!(
                        "{}: {name}: unknown fix state `{}`",
                        adv.id,
                        other.unwrap_or("")
                    ),
                });
                continue;
            }
        };
        st.entry((rel, name)).or_insert((status, None));
    }
    for ((rel, package), (status, fixed)) in st {
        let ranges = match (status, fixed) {
            (Status::Affected, Some(v)) => vec![Range::fixed_in(&v)],
            (Status::Affected, None) => vec![Range {
                kind: RangeKind::Ecosystem,
                events: vec![RangeEvent::Introduced("0".into())],
            }],
            _ => Vec::new(),
        };
        adv.affected.push(Affected {
            namespace: format!("redhat:{rel}"),
            package,
            ranges,
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
    fn source_nvrs() {
        assert_eq!(
            split_nvr("edk2-20190308git89910a39dcfd-6.el8"),
            Some(("edk2".into(), "20190308git89910a39dcfd-6.el8".into()))
        );
        assert_eq!(
            split_nvr("pam-0:1.5.1-21.el9_5"),
            Some(("pam".into(), "1.5.1-21.el9_5".into()))
        );
        assert_eq!(
            split_nvr("bind-32:9.11.4-17.P2.el8_0"),
            Some(("bind".into(), "32:9.11.4-17.P2.el8_0".into()))
        );
        assert_eq!(split_nvr("nodejs:12-8030020201124152102.229f0a1c"), None);
    }
}
