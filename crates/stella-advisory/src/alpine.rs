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
    let mut by_id: BTreeMap<String, Advisory> = BTreeMap::new();
    for e in db.packages.unwrap_or_default() {
        for (version, fixes) in e.pkg.secfixes {
            let version = version.trim().to_string();
            if stella_version::apk::ApkVersion::parse(&version).is_err() {
                problems.push(Problem {
                    file: path.display().to_string(),
                    message: format!("{}: unusable fixed version `{version}`", e.pkg.name),
                });
                continue;
            }
            for line in fixes.unwrap_or_default() {
                for id in ids(&line) {
                    let adv = by_id.entry(id.to_string()).or_insert_with(|| Advisory {
                        id: id.to_string(),
                        feed: "alpine-secdb".into(),
                        source: Source::Distro,
                        ..Advisory::default()
                    });
                    let (status, ranges) = if version == "0" {
                        (Status::NotAffected, Vec::new())
                    } else {
                        (Status::Affected, vec![Range::fixed_in(&version)])
                    };
                    adv.affected.push(Affected {
                        namespace: ns.clone(),
                        package: e.pkg.name.clone(),
                        ranges,
                        versions: Vec::new(),
                        status,
                    });
                }
            }
        }
    }
    out.extend(by_id.into_values());
    Ok(())
}
