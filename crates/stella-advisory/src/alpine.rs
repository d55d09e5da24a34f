//! Alpine secdb (`secdb.alpinelinux.org/<release>/<repo>.json`): per source package, the
//! versions that fixed each CVE. A fixed version of `0` means "never affected".

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::model::{Advisory, Affected, Problem, Range, Source, Status};

#[derive(Deserialize)]
struct Db {
    distroversion: String,
    #[serde(default)]
    packages: Option<Vec<Entry>>,
}

#[derive(Deserialize)]
struct Entry {
    pkg: Pkg,
}

#[derive(Deserialize)]
struct Pkg {
    name: String,
    #[serde(default)]
    secfixes: BTreeMap<String, Option<Vec<String>>>,
}

/// Ids in a secfixes line (`CVE-2019-1547`, `CVE-2018-1 CVE-2018-2`, `XSA-123 (some note)`).
fn ids(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| {
            t.len() > 4
                && t.contains('-')
                && t.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        })
}

/// Reads one secdb file (JSON, or YAML when the name ends in `.yaml`/`.yml`) into per-CVE
/// advisories. YAML keys are read as written, so `1.20` stays `1.20`.
pub fn read_json(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    let bad = |why: String| Error::Format {
        path: path.display().to_string(),
        why,
    };
    let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    let db: Db = if yaml {
        serde_yaml::from_slice(&bytes).map_err(|e| bad(e.to_string()))?
    } else {
        serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?
    };
    let release = db.distroversion.trim().trim_start_matches('v');
    if release.is_empty() {
        return Err(Error::Format {
            path: path.display().to_string(),
            why: "empty `distroversion`".into(),
        });
    }
    let ns = format!("alpine:{release}");
    let pkgs = db.packages.unwrap_or_default().into_iter().map(|e| e.pkg);
    out.extend(secfixes_advisories(
        pkgs,
        &ns,
        "alpine-secdb",
        path,
        problems,
    ));
    Ok(())
}

/// Per-CVE advisories from packages' `secfixes` maps (version → ids fixed there).
fn secfixes_advisories(
    pkgs: impl Iterator<Item = Pkg>,
    ns: &str,
    feed: &str,
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Vec<Advisory> {
    let mut by_id: BTreeMap<String, Advisory> = BTreeMap::new();
    for pkg in pkgs {
        for (version, fixes) in pkg.secfixes {
            let version = version.trim().to_string();
            if stella_version::apk::ApkVersion::parse(&version).is_err() {
                problems.push(Problem {
                    file: path.display().to_string(),
                    message: format!("{}: unusable fixed version `{version}`", pkg.name),
                });
                continue;
            }
            for line in fixes.unwrap_or_default() {
                for id in ids(&line) {
                    let adv = by_id.entry(id.to_string()).or_insert_with(|| Advisory {
                        id: id.to_string(),
                        feed: feed.into(),
                        source: Source::Distro,
                        ..Advisory::default()
                    });
                    let (status, ranges) = if version == "0" {
                        (Status::NotAffected, Vec::new())
                    } else {
                        (Status::Affected, vec![Range::fixed_in(&version)])
                    };
                    adv.affected.push(Affected {
                        namespace: ns.to_string(),
                        package: pkg.name.trim().to_string(),
                        ranges,
                        versions: Vec::new(),
                        status,
                        arches: Vec::new(),
                        severity: None,
                    });
                }
            }
        }
    }
    by_id.into_values().collect()
}

/// The apk-based distributions that publish one secfixes document per package (vuln-list
/// `wolfi/<pkg>.json`, `chainguard/<pkg>.json`, `minimos/os/<pkg>.json`); rolling releases,
/// so the namespace is the distribution alone.
pub const SECFIXES_DISTROS: &[&str] = &["wolfi", "chainguard", "minimos"];

#[derive(Deserialize)]
struct PackageDoc {
    #[serde(flatten)]
    pkg: Pkg,
    #[serde(default)]
    distroversion: Option<String>,
}

/// Reads one per-package secfixes document of `distro` (one of [`SECFIXES_DISTROS`], or
/// `alpine`, whose per-package documents in vuln-list name their `distroversion`).
pub fn read_package_secfixes(
    path: &Path,
    distro: &str,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    let doc: PackageDoc = serde_json::from_slice(&bytes).map_err(|e| Error::Format {
        path: path.display().to_string(),
        why: e.to_string(),
    })?;
    let pkg = doc.pkg;
    let ns = match doc.distroversion.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => format!("{distro}:{}", v.trim_start_matches('v')),
        _ if distro == "alpine" => {
            return Err(Error::Format {
                path: path.display().to_string(),
                why: "no `distroversion`, so the Alpine release is unknown".into(),
            });
        }
        _ => distro.to_string(),
    };
    if pkg.name.trim().is_empty() {
        return Err(Error::Format {
            path: path.display().to_string(),
            why: "empty package `name`".into(),
        });
    }
    out.extend(secfixes_advisories(
        std::iter::once(pkg),
        &ns,
        distro,
        path,
        problems,
    ));
    Ok(())
}
