//! Root.io's feed of its patched distribution packages (`vuln-list/rootio/cve_feed.json`):
//! per distribution and release, per source package, the CVEs its `.root.io.N` builds fix.
//!
//! Traps: the fixes only apply to Root.io's own builds, so they live in their own namespaces
//! (`rootio:debian:12`, `rootio:alpine:3.17`, `rootio:ubuntu:22.04`) which the matcher uses for
//! packages whose version carries `.root.io`; vulnerable ranges are comparator lists whose
//! upper bound is the fix only when listed in `fixed_versions`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::model::{Advisory, Affected, Problem, Range, RangeKind, Severity, Source, Status};

#[derive(Deserialize)]
struct Release {
    distroversion: String,
    #[serde(default, deserialize_with = "crate::null_default")]
    packages: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    pkg: Pkg,
}

#[derive(Deserialize)]
struct Pkg {
    name: String,
    #[serde(default, deserialize_with = "crate::null_default")]
    cves: BTreeMap<String, CveFix>,
}

#[derive(Deserialize)]
struct CveFix {
    #[serde(default, deserialize_with = "crate::null_default")]
    vulnerable_ranges: Vec<String>,
    #[serde(default, deserialize_with = "crate::null_default")]
    fixed_versions: Vec<String>,
    #[serde(default)]
    severity: Option<String>,
}

/// Reads the Root.io feed.
pub fn read_rootio(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    parse_rootio(&bytes, path, out, problems)
}

/// Parses the Root.io feed: one advisory per CVE.
pub fn parse_rootio(
    bytes: &[u8],
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let doc: BTreeMap<String, Vec<Release>> =
        serde_json::from_slice(bytes).map_err(|e| Error::Format {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
    let mut by_id: BTreeMap<String, Advisory> = BTreeMap::new();
    for (distro, releases) in doc {
        if !matches!(distro.as_str(), "alpine" | "debian" | "ubuntu") {
            problems.push(Problem {
                file: path.display().to_string(),
                message: format!("distribution `{distro}` is not one Root.io patches"),
            });
            continue;
        }
        for r in releases {
            let ns = format!(
                "rootio:{distro}:{}",
                r.distroversion.trim().trim_start_matches('v')
            );
            for e in r.packages {
                for (cve, fix) in e.pkg.cves {
                    let adv = by_id.entry(cve.clone()).or_insert_with(|| Advisory {
                        id: cve.clone(),
                        source: Source::Distro,
                        ..Advisory::default()
                    });
                    if let Some(level) = fix.severity.as_deref().and_then(crate::cvss::Level::parse)
                        && adv.severities.is_empty()
                    {
                        adv.severities.push(Severity {
                            kind: "distro".into(),
                            value: level.as_str().into(),
                            source: "distro".into(),
                        });
                    }
                    let mut ranges = Vec::new();
                    let mut versions = Vec::new();
                    for vr in &fix.vulnerable_ranges {
                        match crate::comparators::parse_alternatives(vr, &fix.fixed_versions) {
                            Ok(alts) => {
                                for a in alts {
                                    if !a.events.is_empty() {
                                        ranges.push(Range {
                                            kind: RangeKind::Ecosystem,
                                            events: a.events,
                                        });
                                    }
                                    versions.extend(a.versions);
                                }
                            }
                            Err(why) => problems.push(Problem {
                                file: path.display().to_string(),
                                message: format!("{cve}/{}: {why}", e.pkg.name),
                            }),
                        }
                    }
                    if ranges.is_empty() && versions.is_empty() {
                        continue;
                    }
                    adv.affected.push(Affected {
                        namespace: ns.clone(),
                        package: e.pkg.name.trim().to_string(),
                        ranges,
                        versions,
                        status: Status::Affected,
                        arches: Vec::new(),
                        severity: None,
                    });
                }
            }
        }
    }
    out.extend(by_id.into_values().filter(|a| !a.affected.is_empty()));
    Ok(())
}
