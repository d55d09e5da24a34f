//! The Debian security tracker in JSON: the tracker's own document
//! (`security-tracker.debian.org/tracker/data/json`: per source package and CVE, a status per
//! release) and the per-CVE / per-advisory files of the `vuln-list-debian` mirror (the
//! tracker's annotations with `distributions.json` and the releases' `Sources` beside them).
//!
//! Traps: packages are *source* packages. In the annotated form a line without a release
//! speaks for unstable, and a release without a line of its own inherits it: fixed in
//! unstable's version, unless the release's own source version is older than that fix, in
//! which case the release is still affected with no fix yet (the verdict is the same, only
//! the fix hint differs). `no-dsa`, `ignored`, `postponed` and `end-of-life` are affected
//! without a fix; `removed` and `itp` say the package is not in the release; a fixed
//! version `0` means never affected; `unimportant` issues are affected at a negligible level.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;
use crate::model::{
    Advisory, Affected, Problem, Range, RangeEvent, RangeKind, Severity, Source, Status,
};

fn bad(path: &Path, why: impl Into<String>) -> Error {
    Error::Format {
        path: path.display().to_string(),
        why: why.into(),
    }
}

fn unfixed() -> Vec<Range> {
    vec![Range {
        kind: RangeKind::Ecosystem,
        events: vec![RangeEvent::Introduced("0".into())],
    }]
}

fn statement(ns: String, package: &str, status: Status, ranges: Vec<Range>) -> Affected {
    Affected {
        namespace: ns,
        package: package.to_string(),
        ranges,
        versions: Vec::new(),
        status,
        arches: Vec::new(),
        severity: None,
    }
}

// ---------------------------------------------------------------------------------------
// The tracker's JSON document

#[derive(Deserialize)]
struct TrackerIssue {
    #[serde(default)]
    description: Option<String>,
    #[serde(default, deserialize_with = "crate::null_default")]
    releases: BTreeMap<String, TrackerRelease>,
}

#[derive(Deserialize)]
struct TrackerRelease {
    #[serde(default)]
    status: String,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
}

/// Reads the tracker's JSON document: one advisory per CVE (and per `TEMP-…` id), every
/// release a namespace `debian:<number>`.
pub fn read_tracker_document(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    parse_tracker_document(&bytes, path, out, problems)
}

/// Parses the tracker's JSON document.
pub fn parse_tracker_document(
    bytes: &[u8],
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let doc: BTreeMap<String, BTreeMap<String, TrackerIssue>> =
        serde_json::from_slice(bytes).map_err(|e| bad(path, e.to_string()))?;
    let mut by_id: BTreeMap<String, Advisory> = BTreeMap::new();
    for (pkg, issues) in &doc {
        for (id, issue) in issues {
            let adv = by_id.entry(id.clone()).or_insert_with(|| Advisory {
                id: id.clone(),
                source: Source::Distro,
                summary: issue
                    .description
                    .as_ref()
                    .map(|d| d.trim().to_string())
                    .filter(|d| !d.is_empty()),
                ..Advisory::default()
            });
            for (codename, r) in &issue.releases {
                let Some(release) = crate::debian::release_of(codename) else {
                    problems.push(Problem {
                        file: path.display().to_string(),
                        message: format!("{pkg}/{id}: unknown Debian release `{codename}`"),
                    });
                    continue;
                };
                let ns = format!("debian:{release}");
                let fixed = r.fixed_version.as_deref().map(str::trim);
                let (status, ranges) = match (r.status.as_str(), fixed) {
                    ("resolved", Some("0")) => (Status::NotAffected, Vec::new()),
                    ("resolved", Some(v)) if !v.is_empty() => {
                        (Status::Affected, vec![Range::fixed_in(v)])
                    }
                    ("open" | "undetermined", _) => (Status::Affected, unfixed()),
                    (s, _) => {
                        problems.push(Problem {
                            file: path.display().to_string(),
                            message: format!(
                                "{pkg}/{id}/{codename}: status `{s}` without a usable fixed version (skipped)"
                            ),
                        });
                        continue;
                    }
                };
                let mut st = statement(ns, pkg, status, ranges);
                // the tracker rates each release apart: `unimportant` on one says nothing of
                // another's
                if r.urgency.as_deref() == Some("unimportant") {
                    st.severity = Some(negligible().value);
                }
                adv.affected.push(st);
            }
        }
    }
    out.extend(by_id.into_values());
    Ok(())
}

fn negligible() -> Severity {
    Severity {
        kind: "distro".into(),
        value: "low".into(),
        source: "distro".into(),
    }
}

// ---------------------------------------------------------------------------------------
// vuln-list-debian

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Annotated {
    header: Header,
    #[serde(default, deserialize_with = "crate::null_default")]
    annotations: Vec<Annotation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Header {
    #[serde(rename = "ID")]
    id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    original: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Annotation {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    release: Option<String>,
    #[serde(default)]
    package: Option<String>,
    #[serde(default, rename = "Kind")]
    state: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default, deserialize_with = "crate::null_default")]
    bugs: Vec<String>,
}

#[derive(Deserialize)]
struct Distribution {
    #[serde(default, rename = "major-version")]
    major: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SourcePkg {
    #[serde(default, deserialize_with = "crate::null_default")]
    version: Vec<String>,
}

/// What the files beside the annotations say, read once per tracker directory.
#[derive(Default)]
pub struct Context {
    trackers: HashMap<PathBuf, Tracker>,
}

#[derive(Default)]
struct Tracker {
    /// codename → release number, for the releases with a number.
    releases: BTreeMap<String, String>,
    /// (codename, source package) → newest version in the release or its updates.
    versions: HashMap<(String, String), Option<String>>,
}

impl Tracker {
    fn load(root: &Path) -> Tracker {
        let mut t = Tracker::default();
        let dists: BTreeMap<String, Distribution> = fs_err::read(root.join("distributions.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        for (codename, d) in dists {
            if !d.major.trim().is_empty() {
                t.releases.insert(codename, d.major.trim().to_string());
            }
        }
        if t.releases.is_empty() {
            // no distributions.json: the releases Stella knows
            for c in [
                "wheezy", "jessie", "stretch", "buster", "bullseye", "bookworm", "trixie",
            ] {
                if let Some(r) = crate::debian::release_of(c) {
                    t.releases.insert(c.into(), r.into());
                }
            }
        }
        t
    }

    /// The newest version of `pkg` in `codename` (`source/` and `updates-source/`), when
    /// the mirror has the release's sources at all.
    fn version(&mut self, root: &Path, codename: &str, pkg: &str) -> Option<String> {
        self.versions
            .entry((codename.to_string(), pkg.to_string()))
            .or_insert_with(|| {
                // the mirror files packages under their first letter; Debian's pool
                // under `libX` for libraries: try both
                let mut prefixes = vec![pkg.get(..1).unwrap_or("")];
                if pkg.starts_with("lib") && pkg.len() > 3 {
                    prefixes.extend(pkg.get(..4));
                }
                let mut best: Option<String> = None;
                let mut places = Vec::new();
                for dir in ["source", "updates-source"] {
                    for comp in ["main", "contrib", "non-free", "non-free-firmware"] {
                        for prefix in &prefixes {
                            places.push((dir, comp, *prefix));
                        }
                    }
                }
                for (dir, comp, prefix) in places {
                    {
                        let f = root
                            .join(dir)
                            .join(codename)
                            .join(comp)
                            .join(prefix)
                            .join(format!("{pkg}.json"));
                        let Some(sp) = fs_err::read(&f)
                            .ok()
                            .and_then(|b| serde_json::from_slice::<SourcePkg>(&b).ok())
                        else {
                            continue;
                        };
                        for v in sp.version {
                            let newer = match &best {
                                None => true,
                                Some(b) => stella_version::Scheme::Dpkg
                                    .compare(&v, b)
                                    .is_ok_and(|o| o.is_gt()),
                            };
                            if newer {
                                best = Some(v);
                            }
                        }
                    }
                }
                best
            })
            .clone()
    }
}

/// The tracker directory of a vuln-list-debian file (`…/tracker/CVE/CVE-….json` → `…/tracker`).
fn tracker_root(path: &Path) -> PathBuf {
    path.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// What a release-specific or unstable annotation says.
fn kind_of(a: &Annotation) -> Option<(Status, Vec<Range>)> {
    let version = a.version.as_deref().map(str::trim).unwrap_or("");
    Some(match a.state.as_deref().unwrap_or("") {
        "fixed" if version == "0" => (Status::NotAffected, Vec::new()),
        "fixed" if !version.is_empty() => (Status::Affected, vec![Range::fixed_in(version)]),
        "not-affected" => (Status::NotAffected, Vec::new()),
        "unfixed" | "no-dsa" | "ignored" | "postponed" | "end-of-life" | "undetermined" => {
            (Status::Affected, unfixed())
        }
        _ => return None,
    })
}

/// Reads one vuln-list-debian file: a CVE (`tracker/CVE/…`) or an advisory
/// (`tracker/{DSA,DLA,DTSA}/…`).
pub fn read_annotated(
    path: &Path,
    ctx: &mut Context,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    let doc: Annotated = serde_json::from_slice(&bytes).map_err(|e| bad(path, e.to_string()))?;
    let id = doc.header.id.trim().to_string();
    if id.is_empty() {
        return Err(bad(path, "no `Header.ID`"));
    }
    let root = tracker_root(path);
    let tracker = ctx
        .trackers
        .entry(root.clone())
        .or_insert_with(|| Tracker::load(&root));
    let is_cve = !(id.starts_with("DSA-") || id.starts_with("DLA-") || id.starts_with("DTSA-"));
    let mut adv = Advisory {
        id: id.clone(),
        source: Source::Distro,
        summary: doc
            .header
            .description
            .as_deref()
            .map(|d| {
                d.trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .trim()
                    .to_string()
            })
            .filter(|d| !d.is_empty() && !d.ends_with("...")),
        ..Advisory::default()
    };
    if !is_cve {
        // `[25 Jun 2021] DLA-2691-1 libgcrypt20 - security update`
        adv.published = doc
            .header
            .original
            .as_deref()
            .and_then(|o| o.strip_prefix('['))
            .and_then(|o| o.split_once(']'))
            .map(|(d, _)| crate::debian::iso_date(d.trim()));
    }
    // package → (unstable statement, release → statement)
    type Stated = (
        Option<(Status, Vec<Range>)>,
        BTreeMap<String, (Status, Vec<Range>)>,
    );
    let mut per_pkg: BTreeMap<String, Stated> = BTreeMap::new();
    for a in &doc.annotations {
        match a.kind.as_str() {
            "xref" => adv
                .aliases
                .extend(a.bugs.iter().map(|b| b.trim().to_string())),
            "package" => {
                let Some(pkg) = a
                    .package
                    .as_deref()
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                else {
                    continue;
                };
                if a.severity.as_deref() == Some("unimportant")
                    && !adv.severities.iter().any(|s| s.kind == "distro")
                {
                    adv.severities.push(negligible());
                }
                let Some(k) = kind_of(a) else { continue };
                let e = per_pkg.entry(pkg.to_string()).or_default();
                match a.release.as_deref().map(str::trim) {
                    None | Some("sid") => e.0 = Some(k),
                    Some(rel) => {
                        e.1.insert(rel.to_string(), k);
                    }
                }
            }
            _ => {}
        }
    }
    for (pkg, (unstable, releases)) in per_pkg {
        let releases_known: Vec<(String, String)> = tracker
            .releases
            .iter()
            .map(|(c, n)| (c.clone(), n.clone()))
            .collect();
        for (codename, number) in &releases_known {
            let k = match releases.get(codename) {
                Some(k) => k.clone(),
                // advisories speak only about the releases they name
                None if !is_cve => continue,
                None => match &unstable {
                    None => continue,
                    Some((Status::Affected, ranges)) => {
                        let fixed = ranges.iter().flat_map(|r| r.fixed_versions()).next();
                        match (fixed, tracker.version(&root, codename, &pkg)) {
                            (Some(f), Some(have))
                                if stella_version::Scheme::Dpkg
                                    .compare(&have, f)
                                    .is_ok_and(|o| o.is_lt()) =>
                            {
                                (Status::Affected, unfixed())
                            }
                            _ => (Status::Affected, ranges.clone()),
                        }
                    }
                    Some(k) => k.clone(),
                },
            };
            adv.affected
                .push(statement(format!("debian:{number}"), &pkg, k.0, k.1));
        }
        if is_cve && let Some(k) = unstable {
            adv.affected
                .push(statement("debian:unstable".into(), &pkg, k.0, k.1));
        }
    }
    if !is_cve && adv.affected.is_empty() {
        problems.push(Problem {
            file: path.display().to_string(),
            message: format!("{id}: no release statement"),
        });
    }
    out.push(adv);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_document() {
        // The shape of security-tracker.debian.org/tracker/data/json.
        let doc = br#"{"openssl": {"CVE-2021-3450": {"description": "X509_V_FLAG_X509_STRICT",
            "scope": "local", "releases": {
              "bullseye": {"status": "resolved", "repositories": {"bullseye": "1.1.1k-1"}, "fixed_version": "1.1.1k-1", "urgency": "not yet assigned"},
              "buster": {"status": "resolved", "repositories": {"buster": "1.1.1d-0+deb10u7"}, "fixed_version": "0", "urgency": "not yet assigned"},
              "bookworm": {"status": "open", "repositories": {"bookworm": "1.1.1j-1"}, "urgency": "unimportant"}}}}}"#;
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        parse_tracker_document(doc, Path::new("json"), &mut out, &mut problems).unwrap();
        assert!(problems.is_empty());
        let a = &out[0];
        assert_eq!(a.id, "CVE-2021-3450");
        let got: Vec<(&str, Status, Vec<&str>)> = a
            .affected
            .iter()
            .map(|f| {
                (
                    f.namespace.as_str(),
                    f.status,
                    f.ranges.iter().flat_map(|r| r.fixed_versions()).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("debian:12", Status::Affected, vec![]),
                ("debian:11", Status::Affected, vec!["1.1.1k-1"]),
                ("debian:10", Status::NotAffected, vec![]),
            ]
        );
        // bookworm's `unimportant` rates bookworm's statement alone
        let rated: Vec<(&str, Option<&str>)> = a
            .affected
            .iter()
            .map(|f| (f.namespace.as_str(), f.severity.as_deref()))
            .collect();
        assert_eq!(
            rated,
            [
                ("debian:12", Some("low")),
                ("debian:11", None),
                ("debian:10", None)
            ]
        );
        assert!(a.severities.is_empty());
    }
}
