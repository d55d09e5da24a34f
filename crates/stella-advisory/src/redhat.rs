//! Red Hat Enterprise Linux statements from Red Hat's CSAF VEX documents (one per CVE,
//! `security.access.redhat.com/data/csaf/v2/vex/`, mirrored by `vuln-list-redhat/csaf-vex/`).
//!
//! A product id joins a platform and a component (`BaseOS-9.5.0.Z.MAIN:pam-0:1.5.1-21.el9_5.x86_64`,
//! relationships in the product tree); the platform's CPE gives the release, the component's
//! purl the package. Traps: fixed components are binary builds with their version, while
//! unfixed ones (`red_hat_enterprise_linux_7:pam`) name the *source* package without one; only
//! the main RHEL streams describe what a UBI or RHEL image installs (EUS/AUS/TUS/E4S
//! streams and layered products are left out); module builds carry their stream in the purl's
//! `rpmmod` qualifier; containers and other non-RPM components are not packages here. The
//! status comes from `product_status` and, in the reduced form vuln-list keeps, from the
//! remediations (`vendor_fix` fixed, `no_fix_planned`/`none_available` affected).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::model::{
    Advisory, Affected, Problem, Range, RangeEvent, RangeKind, Severity, Source, Status,
};

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    document: Option<Document>,
    #[serde(default)]
    product_tree: ProductTree,
    #[serde(default, deserialize_with = "crate::null_default")]
    vulnerabilities: Vec<Vuln>,
}

#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    tracking: Option<Tracking>,
}

#[derive(Deserialize)]
struct Tracking {
    #[serde(default)]
    initial_release_date: Option<String>,
    #[serde(default)]
    current_release_date: Option<String>,
}

#[derive(Deserialize, Default)]
struct ProductTree {
    #[serde(default, deserialize_with = "crate::null_default")]
    branches: Vec<Branch>,
    #[serde(default, deserialize_with = "crate::null_default")]
    relationships: Vec<Relationship>,
}

#[derive(Deserialize)]
struct Branch {
    #[serde(default, deserialize_with = "crate::null_default")]
    branches: Vec<Branch>,
    #[serde(default)]
    product: Option<Product>,
}

#[derive(Deserialize)]
struct Product {
    product_id: String,
    #[serde(default)]
    product_identification_helper: Option<Helper>,
}

#[derive(Deserialize)]
struct Helper {
    #[serde(default)]
    cpe: Option<String>,
    #[serde(default)]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct Relationship {
    full_product_name: FullName,
    product_reference: String,
    relates_to_product_reference: String,
}

#[derive(Deserialize)]
struct FullName {
    product_id: String,
}

#[derive(Deserialize)]
struct Vuln {
    #[serde(default)]
    cve: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    release_date: Option<String>,
    #[serde(default)]
    product_status: Option<ProductStatus>,
    #[serde(default, deserialize_with = "crate::null_default")]
    remediations: Vec<Remediation>,
    #[serde(default, deserialize_with = "crate::null_default")]
    scores: Vec<Score>,
    #[serde(default, deserialize_with = "crate::null_default")]
    threats: Vec<Threat>,
}

#[derive(Deserialize, Default)]
struct ProductStatus {
    #[serde(default, deserialize_with = "crate::null_default")]
    fixed: Vec<String>,
    #[serde(default, deserialize_with = "crate::null_default")]
    known_affected: Vec<String>,
    #[serde(default, deserialize_with = "crate::null_default")]
    known_not_affected: Vec<String>,
}

#[derive(Deserialize)]
struct Remediation {
    category: String,
    #[serde(default, deserialize_with = "crate::null_default")]
    product_ids: Vec<String>,
}

#[derive(Deserialize)]
struct Score {
    #[serde(default)]
    cvss_v3: Option<CvssScore>,
    #[serde(default)]
    cvss_v2: Option<CvssScore>,
}

#[derive(Deserialize)]
struct CvssScore {
    #[serde(default, rename = "vectorString")]
    vector: String,
}

#[derive(Deserialize)]
struct Threat {
    category: String,
    #[serde(default)]
    details: String,
}

/// The release of a RHEL main-stream CPE (`cpe:/o:redhat:enterprise_linux:9::baseos` → `9`,
/// `cpe:/a:redhat:enterprise_linux:8::appstream` → `8`); `None` for EUS and the like and for
/// other products.
pub fn rhel_release(cpe: &str) -> Option<String> {
    let rest = cpe
        .strip_prefix("cpe:/o:redhat:enterprise_linux:")
        .or_else(|| cpe.strip_prefix("cpe:/a:redhat:enterprise_linux:"))?;
    let version = rest.split(':').next()?;
    let major: String = version.chars().take_while(char::is_ascii_digit).collect();
    (!major.is_empty() && (version.len() == major.len() || version[major.len()..].starts_with('.')))
        .then_some(major)
}

/// A component as a package: key (with module stream), version (`epoch:version-release`,
/// epoch 0 left out).
struct Component {
    key: String,
    version: Option<String>,
}

fn component(purl: &str) -> Option<Component> {
    let p = stella_sbom::Purl::parse(purl).ok()?;
    if p.ty != "rpm" {
        return None;
    }
    let q = |k: &str| p.qualifiers.get(k).map(|s| s.trim().to_string());
    let module = q("rpmmod").and_then(|m| {
        let mut parts = m.split(':');
        Some((parts.next()?.to_string(), parts.next()?.to_string()))
    });
    let key = crate::namespace::modular_package(
        module.as_ref().map(|(m, s)| (m.as_str(), s.as_str())),
        &p.name,
    );
    let version = p.version.as_ref().map(|v| match q("epoch") {
        Some(e) if !e.is_empty() && e != "0" => format!("{e}:{v}"),
        _ => v.clone(),
    });
    Some(Component { key, version })
}

/// Reads one CSAF VEX document.
pub fn read_redhat_csaf(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    out.extend(parse_redhat_csaf(&bytes, path, problems)?);
    Ok(())
}

/// Parses one CSAF VEX document into one advisory per CVE it speaks about: per RHEL release
/// (`redhat:<major>`) and package, fixed in a version, affected without a fix, or not
/// affected.
pub fn parse_redhat_csaf(
    bytes: &[u8],
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Vec<Advisory>, Error> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| Error::Format {
        path: path.display().to_string(),
        why: e.to_string(),
    })?;
    let mut helpers: HashMap<&str, &Helper> = HashMap::new();
    let mut stack: Vec<&Branch> = doc.product_tree.branches.iter().collect();
    while let Some(b) = stack.pop() {
        if let Some(p) = &b.product
            && let Some(h) = &p.product_identification_helper
        {
            helpers.insert(p.product_id.as_str(), h);
        }
        stack.extend(b.branches.iter());
    }
    // composite id → (platform release, component)
    let mut products: HashMap<&str, (String, Component)> = HashMap::new();
    for r in &doc.product_tree.relationships {
        let Some(release) = helpers
            .get(r.relates_to_product_reference.as_str())
            .and_then(|h| h.cpe.as_deref())
            .and_then(rhel_release)
        else {
            continue;
        };
        let Some(c) = helpers
            .get(r.product_reference.as_str())
            .and_then(|h| h.purl.as_deref())
            .and_then(component)
        else {
            continue;
        };
        products.insert(r.full_product_name.product_id.as_str(), (release, c));
    }
    let (published, modified, title) = match &doc.document {
        Some(d) => (
            d.tracking
                .as_ref()
                .and_then(|t| t.initial_release_date.clone()),
            d.tracking
                .as_ref()
                .and_then(|t| t.current_release_date.clone()),
            d.title.clone(),
        ),
        None => (None, None, None),
    };
    let mut out = Vec::new();
    for v in &doc.vulnerabilities {
        let cve = v.cve.trim();
        if cve.is_empty() {
            problems.push(Problem {
                file: path.display().to_string(),
                message: "a vulnerability without a `cve` id".into(),
            });
            continue;
        }
        let mut fixed: Vec<&str> = Vec::new();
        let mut affected: Vec<&str> = Vec::new();
        let mut not_affected: Vec<&str> = Vec::new();
        if let Some(ps) = &v.product_status {
            fixed.extend(ps.fixed.iter().map(String::as_str));
            affected.extend(ps.known_affected.iter().map(String::as_str));
            not_affected.extend(ps.known_not_affected.iter().map(String::as_str));
        }
        for r in &v.remediations {
            let ids = r.product_ids.iter().map(String::as_str);
            match r.category.as_str() {
                "vendor_fix" => fixed.extend(ids),
                "no_fix_planned" | "none_available" => affected.extend(ids),
                _ => {}
            }
        }
        // (release, key) → (status, fixed version or none)
        let mut st: BTreeMap<(String, String), (Status, Option<String>)> = BTreeMap::new();
        for id in fixed {
            let Some((rel, c)) = products.get(id) else {
                continue;
            };
            let Some(ver) = &c.version else { continue };
            let e = st
                .entry((rel.clone(), c.key.clone()))
                .or_insert((Status::Affected, Some(ver.clone())));
            // builds of one package share the version; keep the lowest if they differ
            if let (Status::Affected, Some(old)) = e {
                if let Ok(std::cmp::Ordering::Less) = stella_version::Scheme::Rpm.compare(ver, old)
                {
                    *old = ver.clone();
                }
            } else {
                *e = (Status::Affected, Some(ver.clone()));
            }
        }
        for (ids, status) in [
            (&affected, Status::Affected),
            (&not_affected, Status::NotAffected),
        ] {
            for id in ids {
                let Some((rel, c)) = products.get(id) else {
                    continue;
                };
                st.entry((rel.clone(), c.key.clone()))
                    .or_insert((status, None));
            }
        }
        let mut adv = Advisory {
            id: cve.to_string(),
            source: Source::Distro,
            summary: v.title.clone().or_else(|| title.clone()),
            published: v.release_date.clone().or_else(|| published.clone()),
            modified: modified.clone(),
            ..Advisory::default()
        };
        for s in &v.scores {
            for (kind, c) in [("CVSS_V3", &s.cvss_v3), ("CVSS_V2", &s.cvss_v2)] {
                if let Some(c) = c.as_ref().filter(|c| !c.vector.trim().is_empty()) {
                    adv.severities.push(Severity {
                        kind: kind.into(),
                        value: c.vector.trim().into(),
                        source: "redhat".into(),
                    });
                }
            }
        }
        if let Some(level) = v
            .threats
            .iter()
            .find(|t| t.category == "impact")
            .and_then(|t| crate::cvss::Level::parse(&t.details))
        {
            adv.severities.push(Severity {
                kind: "distro".into(),
                value: level.as_str().into(),
                source: "distro".into(),
            });
        }
        for ((rel, key), (status, ver)) in st {
            let ranges = match (status, ver) {
                (Status::Affected, Some(v)) => vec![Range::fixed_in(&v)],
                (Status::Affected, None) => vec![Range {
                    kind: RangeKind::Ecosystem,
                    events: vec![RangeEvent::Introduced("0".into())],
                }],
                _ => Vec::new(),
            };
            adv.affected.push(Affected {
                namespace: format!("redhat:{rel}"),
                package: key,
                ranges,
                versions: Vec::new(),
                status,
                arches: Vec::new(),
                severity: None,
            });
        }
        out.push(adv);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases() {
        assert_eq!(
            rhel_release("cpe:/o:redhat:enterprise_linux:9::baseos").as_deref(),
            Some("9")
        );
        assert_eq!(
            rhel_release("cpe:/a:redhat:enterprise_linux:8::appstream").as_deref(),
            Some("8")
        );
        assert_eq!(
            rhel_release("cpe:/o:redhat:enterprise_linux:7").as_deref(),
            Some("7")
        );
        assert_eq!(rhel_release("cpe:/a:redhat:rhel_eus:8.4::appstream"), None);
        assert_eq!(rhel_release("cpe:/a:redhat:openshift:4.12::el8"), None);
        let c = component("pkg:rpm/redhat/nodejs@18.19.0-1.module%2Bel8.9.0%2B1?arch=x86_64&epoch=1&rpmmod=nodejs:18:8090020231128:a75119d5").unwrap();
        assert_eq!(c.key, "nodejs:18::nodejs");
        assert_eq!(c.version.as_deref(), Some("1:18.19.0-1.module+el8.9.0+1"));
        assert!(component("pkg:oci/ubi9@sha256:abc").is_none());
    }
}
