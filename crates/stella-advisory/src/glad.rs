//! GitLab's advisory database (`gemnasium-db`, vuln-list `glad/<type>/<package>/….json`),
//! read for Conan packages: the C/C++ ecosystem GitHub and OSV do not cover.
//!
//! Traps: `AffectedRange` is a comparator list with `||` alternatives (`>=1.0 <2.0||=2.5`);
//! an upper bound is a fix only when it is among `FixedVersions`; other package types are
//! better served by GHSA/OSV and are passed over.

use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::model::{Advisory, Affected, Problem, Range, RangeKind, Severity, Source, Status};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Glad {
    identifier: String,
    package_slug: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    pubdate: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    affected_range: String,
    #[serde(default, deserialize_with = "crate::null_default")]
    fixed_versions: Vec<String>,
    #[serde(default)]
    cvss_v2: Option<String>,
    #[serde(default)]
    cvss_v3: Option<String>,
}

/// Reads one GitLab advisory; `Ok` with nothing for package types other than Conan.
pub fn read_glad(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    out.extend(parse_glad(&bytes, path, problems)?);
    Ok(())
}

/// Parses one GitLab advisory.
pub fn parse_glad(
    bytes: &[u8],
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Option<Advisory>, Error> {
    let g: Glad = serde_json::from_slice(bytes).map_err(|e| Error::Format {
        path: path.display().to_string(),
        why: e.to_string(),
    })?;
    let Some(name) = g.package_slug.trim().strip_prefix("conan/") else {
        return Ok(None);
    };
    let mut adv = Advisory {
        id: g.identifier.trim().to_string(),
        source: Source::Osv,
        summary: g.title.filter(|t| !t.trim().is_empty()),
        published: g.pubdate.filter(|d| !d.is_empty()),
        modified: g.date.filter(|d| !d.is_empty()),
        ..Advisory::default()
    };
    for (kind, v) in [("CVSS_V3", g.cvss_v3), ("CVSS_V2", g.cvss_v2)] {
        if let Some(v) = v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
            adv.severities.push(Severity {
                kind: kind.into(),
                value: v,
                source: "gitlab".into(),
            });
        }
    }
    let mut ranges = Vec::new();
    let mut versions = Vec::new();
    match crate::comparators::parse_alternatives(&g.affected_range, &g.fixed_versions) {
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
            message: format!("{}: affected range skipped: {why}", adv.id),
        }),
    }
    if !ranges.is_empty() || !versions.is_empty() {
        adv.affected.push(Affected {
            namespace: "conan".into(),
            package: name.to_string(),
            ranges,
            versions,
            status: Status::Affected,
            arches: Vec::new(),
            severity: None,
        });
    }
    Ok(Some(adv))
}
