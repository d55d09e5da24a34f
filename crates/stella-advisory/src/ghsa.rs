//! GitHub Security Advisories in the GraphQL shape (`securityVulnerabilities` nodes, one file
//! per advisory and package as the `vuln-list` mirror keeps them under
//! `ghsa/advisories/github-reviewed/<ecosystem>/<package>/GHSA-….json`).
//!
//! Traps: `VulnerableVersionRange` is GitHub's own comparator list (`>= 4.5.0, < 4.8.6`,
//! `<= 1.2`, `= 1.0`), one range per entry with its `FirstPatchedVersion`; an upper bound
//! without a patched version is a limit, not a fix (the same rule as for GitHub's OSV form);
//! ecosystems are GitHub's enum names (`PIP`, `COMPOSER`, `RUST`…), not OSV's.

use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::model::{
    Advisory, Affected, Problem, Range, RangeEvent, RangeKind, Severity, Source, Status,
};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Node {
    package: Package,
    advisory: GhAdvisory,
    #[serde(default, deserialize_with = "crate::null_default")]
    versions: Vec<Version>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Package {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GhAdvisory {
    ghsa_id: String,
    #[serde(default, deserialize_with = "crate::null_default")]
    identifiers: Vec<Identifier>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    published_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    withdrawn_at: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default, rename = "CVSS")]
    cvss: Option<Cvss>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Identifier {
    #[serde(rename = "Type")]
    kind: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Cvss {
    #[serde(default)]
    vector_string: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Version {
    #[serde(default)]
    first_patched_version: Option<Patched>,
    #[serde(default)]
    vulnerable_version_range: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Patched {
    #[serde(default)]
    identifier: String,
}

/// The namespace of a GitHub ecosystem enum value.
pub fn namespace(ecosystem: &str) -> Option<&'static str> {
    Some(match ecosystem.to_ascii_uppercase().as_str() {
        "COMPOSER" => "packagist",
        "NPM" => "npm",
        "PIP" => "pypi",
        "MAVEN" => "maven",
        "NUGET" => "nuget",
        "RUBYGEMS" => "rubygems",
        "GO" => "go",
        "RUST" => "crates.io",
        "ERLANG" => "hex",
        "PUB" => "pub",
        "SWIFT" => "swifturl",
        "ACTIONS" => "github-actions",
        _ => return None,
    })
}

/// One `VulnerableVersionRange` with its patched version as events; `Err` says why not.
fn events(range: &str, patched: Option<&str>) -> Result<(Vec<RangeEvent>, Vec<String>), String> {
    let patched = patched.map(str::trim).filter(|p| !p.is_empty());
    let fixed: Vec<String> = patched.iter().map(|p| p.to_string()).collect();
    let mut p = crate::comparators::parse(range, &fixed)?;
    // GitHub's first patched version is the fix even when the range's bound says otherwise
    if let Some(fix) = patched
        && !p.events.is_empty()
    {
        p.events.truncate(1);
        p.events.push(RangeEvent::Fixed(fix.to_string()));
    }
    Ok((p.events, p.versions))
}

/// Reads one GraphQL-shaped advisory file.
pub fn read_ghsa(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    out.push(parse_ghsa(&bytes, path, problems)?);
    Ok(())
}

/// Parses one GraphQL-shaped advisory file.
pub fn parse_ghsa(
    bytes: &[u8],
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Advisory, Error> {
    let bad = |why: String| Error::Format {
        path: path.display().to_string(),
        why,
    };
    let n: Node = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let id = n.advisory.ghsa_id.trim().to_string();
    if !id.starts_with("GHSA-") {
        return Err(bad(format!("`{id}` is not a GHSA id")));
    }
    let ns = namespace(&n.package.ecosystem).ok_or_else(|| {
        bad(format!(
            "unknown GitHub ecosystem `{}`",
            n.package.ecosystem
        ))
    })?;
    let mut adv = Advisory {
        id,
        source: Source::Ghsa,
        summary: n
            .advisory
            .summary
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        published: n.advisory.published_at.filter(|d| !d.is_empty()),
        modified: n.advisory.updated_at.filter(|d| !d.is_empty()),
        withdrawn: n.advisory.withdrawn_at.filter(|d| !d.trim().is_empty()),
        ..Advisory::default()
    };
    adv.aliases.extend(
        n.advisory
            .identifiers
            .iter()
            .filter(|i| i.kind != "GHSA")
            .map(|i| i.value.trim().to_string())
            .filter(|v| !v.is_empty()),
    );
    if let Some(v) = n.advisory.cvss.map(|c| c.vector_string.trim().to_string())
        && !v.is_empty()
    {
        let kind = if v.starts_with("CVSS:4") {
            "CVSS_V4"
        } else if v.starts_with("CVSS:3") {
            "CVSS_V3"
        } else {
            "CVSS_V2"
        };
        adv.severities.push(Severity {
            kind: kind.into(),
            value: v,
            source: "ghsa".into(),
        });
    }
    if let Some(level) = n
        .advisory
        .severity
        .as_deref()
        .and_then(crate::cvss::Level::parse)
    {
        adv.severities.push(Severity {
            kind: "ghsa".into(),
            value: level.as_str().into(),
            source: "ghsa".into(),
        });
    }
    let mut ranges = Vec::new();
    let mut versions = Vec::new();
    for v in &n.versions {
        let patched = v
            .first_patched_version
            .as_ref()
            .map(|p| p.identifier.as_str());
        match events(&v.vulnerable_version_range, patched) {
            Ok((ev, exact)) => {
                if !ev.is_empty() {
                    ranges.push(Range {
                        kind: RangeKind::Ecosystem,
                        events: ev,
                    });
                }
                versions.extend(exact);
            }
            Err(why) => problems.push(Problem {
                file: path.display().to_string(),
                message: format!("{}: range skipped: {why}", adv.id),
            }),
        }
    }
    if !ranges.is_empty() || !versions.is_empty() {
        adv.affected.push(Affected {
            namespace: ns.to_string(),
            package: crate::namespace::normalize_package(ns, &n.package.name),
            ranges,
            versions,
            status: Status::Affected,
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
    fn github_ranges() {
        use RangeEvent::*;
        let ev = |r: &str, p: Option<&str>| events(r, p).unwrap();
        assert_eq!(
            ev(">= 4.5.0, < 4.8.6", Some("4.8.6")).0,
            [Introduced("4.5.0".into()), Fixed("4.8.6".into())]
        );
        assert_eq!(
            ev("< 1.2", None).0,
            [Introduced("0".into()), Limit("1.2".into())]
        );
        assert_eq!(
            ev("<= 1.2", None).0,
            [Introduced("0".into()), LastAffected("1.2".into())]
        );
        assert_eq!(ev("= 1.0", None).1, ["1.0"]);
        assert!(events("~ 1.0", None).is_err());
        assert_eq!(namespace("PIP"), Some("pypi"));
        assert_eq!(namespace("COMPOSER"), Some("packagist"));
    }
}
