//! Oracle Linux ELSA advisories from Oracle's OVAL feed, in the JSON layout of the
//! `vuln-list` mirror (`oval/oracle/<year>/ELSA-….json`).
//!
//! The OVAL criteria tree says everything in its comments: `Oracle Linux 8 is installed`,
//! `Oracle Linux arch is x86_64`, `glibc is earlier than 2:2.28-151.0.1.el8`. Traps: one ELSA
//! can cover several releases and architectures, and the same package can be fixed in a
//! different build per architecture; FIPS (`_fips`) and Ksplice (`.ksplice1.`) builds are
//! separate flavours whose fixed versions only speak for installed builds of the same
//! flavour (the matcher compares flavours); criteria with an empty package name are noise.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::model::{Advisory, Affected, Problem, Range, Severity, Source, Status};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Elsa {
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, deserialize_with = "crate::null_default")]
    references: Vec<ElsaRef>,
    #[serde(default)]
    criteria: Criteria,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default, deserialize_with = "crate::null_default")]
    cves: Vec<ElsaCve>,
    #[serde(default)]
    issued: Option<ElsaDate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ElsaRef {
    #[serde(default)]
    source: String,
    #[serde(default, rename = "ID")]
    id: String,
}

#[derive(Deserialize)]
struct ElsaCve {
    #[serde(default, rename = "ID")]
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ElsaDate {
    #[serde(default)]
    date: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Criteria {
    #[serde(default, deserialize_with = "crate::null_default")]
    criterias: Vec<Criteria>,
    #[serde(default, deserialize_with = "crate::null_default")]
    criterions: Vec<Criterion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Criterion {
    #[serde(default)]
    comment: String,
}

/// One `earlier than` test with the release and architecture around it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Fix {
    release: String,
    package: String,
    version: String,
    arch: Option<String>,
}

fn walk(c: &Criteria, release: Option<&str>, arch: Option<&str>, out: &mut Vec<Fix>) {
    let mut release = release.map(str::to_string);
    let mut arch = arch.map(str::to_string);
    for t in &c.criterions {
        let s = t.comment.trim();
        if let Some(r) = s
            .strip_prefix("Oracle Linux ")
            .and_then(|r| r.strip_suffix(" is installed"))
        {
            release = Some(r.trim().to_string());
        } else if let Some(a) = s.strip_prefix("Oracle Linux arch is ") {
            arch = Some(a.trim().to_string());
        }
    }
    for t in &c.criterions {
        // Not trimmed first: " is earlier than …" has no package name.
        if let Some((pkg, ver)) = t.comment.split_once(" is earlier than ") {
            let (pkg, ver) = (pkg.trim(), ver.trim());
            if let (Some(rel), false, false) = (&release, pkg.is_empty(), ver.is_empty()) {
                out.push(Fix {
                    release: rel.clone(),
                    package: pkg.to_string(),
                    version: ver.to_string(),
                    arch: arch.clone(),
                });
            }
        }
    }
    for sub in &c.criterias {
        walk(sub, release.as_deref(), arch.as_deref(), out);
    }
}

/// The build flavour of an Oracle Linux version: `ksplice`, `fips`, or `` for the normal one.
pub fn flavor(version: &str) -> &'static str {
    if version.contains(".ksplice") {
        "ksplice"
    } else if version.contains("_fips") {
        "fips"
    } else {
        ""
    }
}

/// `0:1.2-3.el8` → `1.2-3.el8`: epoch 0 is written out in OVAL and left out elsewhere.
fn strip_zero_epoch(v: &str) -> &str {
    v.strip_prefix("0:").unwrap_or(v)
}

/// Reads one ELSA document.
pub fn read_oracle(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    out.push(parse_oracle(&bytes, path, problems)?);
    Ok(())
}

/// Parses one ELSA document: per release (`oracle:<major>`) and binary package, the fixed
/// version, limited to the architectures it was built for when they differ.
pub fn parse_oracle(
    bytes: &[u8],
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Advisory, Error> {
    let bad = |why: String| Error::Format {
        path: path.display().to_string(),
        why,
    };
    let e: Elsa = serde_json::from_slice(bytes).map_err(|x| bad(x.to_string()))?;
    let id = e
        .references
        .iter()
        .find(|r| r.source.eq_ignore_ascii_case("elsa") && r.id.starts_with("ELSA-"))
        .map(|r| r.id.trim().to_string())
        .or_else(|| {
            let t = e.title.split(':').next()?.trim();
            t.starts_with("ELSA-").then(|| t.to_string())
        })
        .ok_or_else(|| bad(format!("no ELSA id in title `{}`", e.title)))?;
    let mut fixes = Vec::new();
    walk(&e.criteria, None, None, &mut fixes);
    if fixes.is_empty() {
        problems.push(Problem {
            file: path.display().to_string(),
            message: format!("{id}: no `<package> is earlier than <version>` criteria"),
        });
    }
    // (release, package, flavour) → version → arches
    type Arches = BTreeSet<Option<String>>;
    let mut by_pkg: BTreeMap<(String, String, &str), BTreeMap<String, Arches>> = BTreeMap::new();
    for f in fixes {
        let v = strip_zero_epoch(&f.version).to_string();
        by_pkg
            .entry((f.release, f.package, flavor(&f.version)))
            .or_default()
            .entry(v)
            .or_default()
            .insert(f.arch);
    }
    let summary = e
        .title
        .split_once(':')
        .map(|(_, t)| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .or_else(|| e.description.clone());
    let mut adv = Advisory {
        id,
        source: Source::Distro,
        summary,
        published: e
            .issued
            .map(|d| d.date.trim().to_string())
            .filter(|d| !d.is_empty()),
        ..Advisory::default()
    };
    adv.aliases.extend(
        e.cves
            .iter()
            .map(|c| c.id.trim().to_string())
            .filter(|c| c.starts_with("CVE-")),
    );
    if let Some(level) = e.severity.as_deref().and_then(crate::cvss::Level::parse) {
        adv.severities.push(Severity {
            kind: "distro".into(),
            value: level.as_str().into(),
            source: "distro".into(),
        });
    }
    for ((release, package, _), versions) in by_pkg {
        let split = versions.len() > 1;
        for (v, arches) in versions {
            adv.affected.push(Affected {
                namespace: format!("oracle:{release}"),
                package: package.clone(),
                ranges: vec![Range::fixed_in(&v)],
                versions: Vec::new(),
                status: Status::Affected,
                // One build for every architecture needs no limit.
                arches: if split {
                    arches.into_iter().flatten().collect()
                } else {
                    Vec::new()
                },
                severity: None,
            });
        }
    }
    Ok(adv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavours() {
        assert_eq!(flavor("2:2.28-151.0.1.ksplice1.el8"), "ksplice");
        assert_eq!(flavor("10:3.6.16-4.0.1.el8_fips"), "fips");
        assert_eq!(flavor("0:3.6.16-4.el8"), "");
        assert_eq!(strip_zero_epoch("0:3.6.16-4.el8"), "3.6.16-4.el8");
        assert_eq!(strip_zero_epoch("30:9.3"), "30:9.3");
    }

    #[test]
    fn arch_specific_builds() {
        let doc = br#"{"Title":"ELSA-2022-1:  rsyslog security update (IMPORTANT)",
          "References":[{"Source":"elsa","ID":"ELSA-2022-1"}],
          "Cves":[{"ID":"CVE-2022-24903"}], "Severity":"IMPORTANT",
          "Criteria":{"Criterions":[{"Comment":"Oracle Linux 7 is installed"}],
            "Criterias":[
              {"Criterions":[{"Comment":"Oracle Linux arch is x86_64"}],
               "Criterias":[{"Criterions":[{"Comment":"rsyslog is earlier than 0:8.24.0-57.0.1.el7_9.3"}]}]},
              {"Criterions":[{"Comment":"Oracle Linux arch is aarch64"}],
               "Criterias":[{"Criterions":[{"Comment":"rsyslog is earlier than 0:8.24.0-57.0.4.el7_9.3"},
                                            {"Comment":" is earlier than 0:1"}]}]}]}}"#;
        let mut problems = Vec::new();
        let a = parse_oracle(doc, Path::new("t.json"), &mut problems).unwrap();
        assert_eq!(a.id, "ELSA-2022-1");
        assert!(a.aliases.contains("CVE-2022-24903"));
        let got: Vec<(&str, &str, Vec<String>)> = a
            .affected
            .iter()
            .map(|f| {
                (
                    f.namespace.as_str(),
                    f.ranges[0].fixed_versions().next().unwrap(),
                    f.arches.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "oracle:7",
                    "8.24.0-57.0.1.el7_9.3",
                    vec!["x86_64".to_string()]
                ),
                (
                    "oracle:7",
                    "8.24.0-57.0.4.el7_9.3",
                    vec!["aarch64".to_string()]
                ),
            ]
        );
    }
}
