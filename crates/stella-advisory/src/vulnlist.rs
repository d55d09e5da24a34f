//! Distribution feeds in the JSON layout of aquasecurity's `vuln-list` mirror: Amazon Linux
//! ALAS advisories, Rocky Linux and AlmaLinux errata, Bottlerocket advisories and Ubuntu CVE
//! tracker entries.

use std::collections::BTreeMap;
use std::path::Path;

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

// ---------------------------------------------------------------------------------------
// Amazon Linux

/// An erratum as vuln-list writes Amazon's and Rocky's: Amazon lists `packages`, Rocky
/// groups them in `collections` (one per module stream, or one without).
#[derive(Deserialize)]
struct Erratum {
    id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    issued: Option<ErratumDate>,
    #[serde(default)]
    updated: Option<ErratumDate>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default, deserialize_with = "crate::null_default")]
    packages: Vec<ErratumPackage>,
    #[serde(default, deserialize_with = "crate::null_default")]
    collections: Vec<ErratumCollection>,
    #[serde(default, deserialize_with = "crate::null_default")]
    cveids: Vec<String>,
    #[serde(default, deserialize_with = "crate::null_default")]
    references: Vec<ErratumRef>,
}

#[derive(Deserialize)]
struct ErratumDate {
    date: String,
}

#[derive(Deserialize)]
struct ErratumCollection {
    #[serde(default, deserialize_with = "crate::null_default")]
    packages: Vec<ErratumPackage>,
    #[serde(default)]
    module: Option<ErratumModule>,
}

/// The module stream an erratum's packages belong to.
#[derive(Deserialize)]
struct ErratumModule {
    name: String,
    stream: String,
}

impl ErratumModule {
    fn key(&self, package: &str) -> String {
        crate::namespace::modular_package(Some((&self.name, &self.stream)), package)
    }
}

/// A reference of an erratum (`type: cve`, `id: CVE-…`).
#[derive(Deserialize)]
struct ErratumRef {
    #[serde(default)]
    id: String,
    #[serde(default, rename = "type")]
    kind: String,
}

fn cve_refs(refs: &[ErratumRef]) -> impl Iterator<Item = String> + '_ {
    refs.iter()
        .filter(|r| r.kind.eq_ignore_ascii_case("cve") && r.id.trim().starts_with("CVE-"))
        .map(|r| r.id.trim().to_string())
}

#[derive(Deserialize)]
struct ErratumPackage {
    name: String,
    #[serde(default)]
    epoch: Option<String>,
    version: String,
    release: String,
    #[serde(default)]
    arch: Option<String>,
}

/// The distribution's own rating, as a severity statement.
fn distro_level(level: Option<&str>) -> Option<Severity> {
    let level = level.and_then(crate::cvss::Level::parse)?;
    Some(Severity {
        kind: "distro".into(),
        value: level.as_str().into(),
        source: "distro".into(),
    })
}

/// An erratum as an advisory: one `fixed` statement per binary package name in `namespace`
/// (the arch builds share a version), `epoch:version-release` with epoch 0 left out. Packages
/// come with their key (the name, or `module:stream::name` for a module stream's build).
fn erratum_advisory<'a>(
    e: &Erratum,
    packages: impl Iterator<Item = (String, &'a ErratumPackage)>,
    aliases: impl Iterator<Item = String>,
    namespace: &str,
) -> Advisory {
    let mut fixed: BTreeMap<String, String> = BTreeMap::new();
    for (key, p) in packages {
        let epoch = p.epoch.as_deref().map(str::trim).unwrap_or("");
        let v = if epoch.is_empty() || epoch == "0" {
            format!("{}-{}", p.version.trim(), p.release.trim())
        } else {
            format!("{epoch}:{}-{}", p.version.trim(), p.release.trim())
        };
        fixed.entry(key).or_insert(v);
    }
    let mut adv = Advisory {
        id: e.id.trim().to_string(),
        source: Source::Distro,
        summary: e.title.as_ref().map(|t| t.trim().to_string()),
        published: e.issued.as_ref().map(|d| erratum_date(&d.date)),
        modified: e.updated.as_ref().map(|d| erratum_date(&d.date)),
        ..Advisory::default()
    };
    adv.aliases.extend(aliases);
    adv.severities.extend(distro_level(e.severity.as_deref()));
    for (name, v) in fixed {
        adv.affected.push(Affected {
            namespace: namespace.to_string(),
            package: name,
            ranges: vec![Range::fixed_in(&v)],
            versions: Vec::new(),
            status: Status::Affected,
            arches: Vec::new(),
            severity: None,
        });
    }
    adv
}

/// The Amazon Linux release of an ALAS id (`ALAS2-…` → `2`, `ALAS2023-…` → `2023`,
/// `ALAS-…` → `1`); kernel livepatch / extras ids (`ALAS2KERNEL-5.10-…`) are Amazon Linux 2.
fn amazon_release(id: &str, dir: Option<&str>) -> Option<String> {
    let rest = id.strip_prefix("ALAS")?;
    // vuln-list files sit in a directory named after the release; trust it when it is one
    if let Some(d) = dir.filter(|d| matches!(*d, "1" | "2" | "2022" | "2023")) {
        return Some(d.to_string());
    }
    if rest.starts_with('-') {
        return Some("1".into());
    }
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    match digits.as_str() {
        "2" | "2022" | "2023" => Some(digits),
        _ => None,
    }
}

/// `2021-08-13 17:31` → `2021-08-13T17:31:00Z`; other forms are kept as written.
fn erratum_date(d: &str) -> String {
    let d = d.trim();
    match d.split_once(' ') {
        Some((day, time)) if day.len() == 10 && time.len() == 5 => format!("{day}T{time}:00Z"),
        Some((day, time)) if day.len() == 10 && time.len() == 8 => format!("{day}T{time}Z"),
        _ => d.to_string(),
    }
}

/// Reads one ALAS advisory (vuln-list `amazon/<release>/ALAS….json`). Packages are binary
/// RPM names; the fixed version is `epoch:version-release`, the epoch left out when 0.
pub fn read_amazon(
    path: &Path,
    out: &mut Vec<Advisory>,
    _problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    let dir = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str());
    out.push(parse_amazon(&bytes, dir, path)?);
    Ok(())
}

/// Parses one ALAS advisory; `dir` is the name of the directory it sat in (its release in
/// the vuln-list layout), `path` names it in errors.
pub fn parse_amazon(bytes: &[u8], dir: Option<&str>, path: &Path) -> Result<Advisory, Error> {
    let a: Erratum = serde_json::from_slice(bytes).map_err(|e| bad(path, e.to_string()))?;
    let Some(release) = amazon_release(a.id.trim(), dir) else {
        return Err(bad(
            path,
            format!(
                "`{}` is not an ALAS id of a known Amazon Linux release",
                a.id
            ),
        ));
    };
    let aliases = a
        .cveids
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    Ok(erratum_advisory(
        &a,
        a.packages.iter().map(|p| (p.name.trim().to_string(), p)),
        aliases,
        &format!("amazon:{release}"),
    ))
}

// ---------------------------------------------------------------------------------------
// Rocky Linux

/// The Rocky major release of a vuln-list path (`rocky/8.6/BaseOS/x86_64/2022/RLSA-….json`
/// → `8`).
fn rocky_release(path: &Path) -> Option<String> {
    let parts: Vec<&str> = path.iter().filter_map(|p| p.to_str()).collect();
    parts.windows(2).rev().find_map(|w| {
        let major: String = w[1].chars().take_while(char::is_ascii_digit).collect();
        (w[0] == "rocky" && !major.is_empty()).then_some(major)
    })
}

/// Reads one Rocky Linux erratum (vuln-list `rocky/<release>/<repo>/<arch>/<year>/RLSA-….json`):
/// binary RPM names with their fixed `epoch:version-release` (epoch 0 left out), namespace
/// `rocky:<major>`; a module stream's packages are keyed `module:stream::name`.
pub fn read_rocky(
    path: &Path,
    out: &mut Vec<Advisory>,
    _problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    let Some(release) = rocky_release(path) else {
        return Err(bad(
            path,
            "not under `rocky/<release>/`, so its Rocky release is unknown",
        ));
    };
    out.push(parse_rocky(&bytes, &release, path)?);
    Ok(())
}

/// Parses one Rocky erratum for `release` (`8`, `9`).
pub fn parse_rocky(bytes: &[u8], release: &str, path: &Path) -> Result<Advisory, Error> {
    let r: Erratum = serde_json::from_slice(bytes).map_err(|e| bad(path, e.to_string()))?;
    let id = r.id.trim();
    if !id.starts_with("RLSA-") && !id.starts_with("RLBA-") && !id.starts_with("RLEA-") {
        return Err(bad(path, format!("`{id}` is not a Rocky erratum id")));
    }
    let packages = r.collections.iter().flat_map(|c| {
        c.packages
            .iter()
            .filter(|p| p.arch.as_deref() != Some("src"))
            .map(move |p| match &c.module {
                Some(m) => (m.key(p.name.trim()), p),
                None => (p.name.trim().to_string(), p),
            })
    });
    let aliases = r
        .cveids
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| c.starts_with("CVE-"));
    Ok(erratum_advisory(
        &r,
        packages,
        aliases,
        &format!("rocky:{release}"),
    ))
}

// ---------------------------------------------------------------------------------------
// AlmaLinux

/// An AlmaLinux erratum as vuln-list copies it from errata.almalinux.org (MongoDB export).
#[derive(Deserialize)]
struct AlmaErratum {
    updateinfo_id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    issued_date: Option<MongoDate>,
    #[serde(default)]
    updated_date: Option<MongoDate>,
    #[serde(default)]
    pkglist: AlmaPkglist,
    #[serde(default, deserialize_with = "crate::null_default")]
    references: Vec<ErratumRef>,
}

#[derive(Deserialize)]
struct MongoDate {
    #[serde(rename = "$date")]
    millis: i64,
}

#[derive(Deserialize, Default)]
struct AlmaPkglist {
    #[serde(default, deserialize_with = "crate::null_default")]
    packages: Vec<ErratumPackage>,
    #[serde(default)]
    module: Option<ErratumModule>,
}

/// The AlmaLinux major release of a vuln-list path (`alma/8/2021/ALSA-….json` → `8`).
fn alma_release(path: &Path) -> Option<String> {
    let parts: Vec<&str> = path.iter().filter_map(|p| p.to_str()).collect();
    parts.windows(2).rev().find_map(|w| {
        (w[0] == "alma" && !w[1].is_empty() && w[1].bytes().all(|b| b.is_ascii_digit()))
            .then(|| w[1].to_string())
    })
}

/// Reads one AlmaLinux erratum (vuln-list `alma/<major>/<year>/ALSA-….json`), namespace
/// `almalinux:<major>` like the AlmaLinux OSV feed. Bug-fix and enhancement errata fix no
/// vulnerability and give nothing.
pub fn read_alma(
    path: &Path,
    out: &mut Vec<Advisory>,
    _problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    let Some(release) = alma_release(path) else {
        return Err(bad(
            path,
            "not under `alma/<major>/`, so its AlmaLinux release is unknown",
        ));
    };
    out.extend(parse_alma(&bytes, &release, path)?);
    Ok(())
}

/// Parses one AlmaLinux erratum for `release` (`8`, `9`); `None` for non-security errata.
pub fn parse_alma(bytes: &[u8], release: &str, path: &Path) -> Result<Option<Advisory>, Error> {
    let a: AlmaErratum = serde_json::from_slice(bytes).map_err(|e| bad(path, e.to_string()))?;
    let id = a.updateinfo_id.trim();
    if !id.starts_with("ALSA-") && !id.starts_with("ALBA-") && !id.starts_with("ALEA-") {
        return Err(bad(path, format!("`{id}` is not an AlmaLinux erratum id")));
    }
    if a.kind.as_deref().is_some_and(|k| k != "security") || !id.starts_with("ALSA-") {
        return Ok(None);
    }
    let date = |d: &MongoDate| crate::time::rfc3339(d.millis.div_euclid(1000));
    let e = Erratum {
        id: id.to_string(),
        title: a.title.clone(),
        issued: None,
        updated: None,
        severity: a.severity.clone(),
        packages: Vec::new(),
        collections: Vec::new(),
        cveids: Vec::new(),
        references: Vec::new(),
    };
    let module = a.pkglist.module.as_ref();
    let packages = a
        .pkglist
        .packages
        .iter()
        .filter(|p| p.arch.as_deref() != Some("src"))
        .map(|p| match module {
            Some(m) => (m.key(p.name.trim()), p),
            None => (p.name.trim().to_string(), p),
        });
    let mut adv = erratum_advisory(
        &e,
        packages,
        cve_refs(&a.references),
        &format!("almalinux:{release}"),
    );
    adv.published = a.issued_date.as_ref().map(date);
    adv.modified = a.updated_date.as_ref().map(date);
    Ok(Some(adv))
}

// ---------------------------------------------------------------------------------------
// Bottlerocket

/// Reads one Bottlerocket advisory (vuln-list `bottlerocket/BRSA-….json`): binary package
/// names with their fixed `epoch:version-release`, namespace `bottlerocket` (the variants
/// share one package set).
pub fn read_bottlerocket(
    path: &Path,
    out: &mut Vec<Advisory>,
    _problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    out.push(parse_bottlerocket(&bytes, path)?);
    Ok(())
}

/// Parses one Bottlerocket advisory.
pub fn parse_bottlerocket(bytes: &[u8], path: &Path) -> Result<Advisory, Error> {
    let a: Erratum = serde_json::from_slice(bytes).map_err(|e| bad(path, e.to_string()))?;
    if !a.id.trim().starts_with("BRSA-") {
        return Err(bad(path, format!("`{}` is not a Bottlerocket id", a.id)));
    }
    Ok(erratum_advisory(
        &a,
        a.packages.iter().map(|p| (p.name.trim().to_string(), p)),
        cve_refs(&a.references),
        "bottlerocket",
    ))
}

// ---------------------------------------------------------------------------------------
// Photon OS

#[derive(Deserialize)]
struct PhotonCve {
    os_version: String,
    cve_id: String,
    pkg: String,
    #[serde(default)]
    cve_score: Option<f64>,
    #[serde(default)]
    res_ver: Option<String>,
}

/// Reads one Photon OS CVE record (vuln-list `photon/<release>/<pkg>/CVE-….json`): namespace
/// `photon:<release>`, fixed in `res_ver`; `NA` there means Photon states no fix for the
/// release, and the record gives nothing.
pub fn read_photon(
    path: &Path,
    out: &mut Vec<Advisory>,
    _problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    out.extend(parse_photon(&bytes, path)?);
    Ok(())
}

/// Parses one Photon OS CVE record.
pub fn parse_photon(bytes: &[u8], path: &Path) -> Result<Option<Advisory>, Error> {
    let c: PhotonCve = serde_json::from_slice(bytes).map_err(|e| bad(path, e.to_string()))?;
    let (id, pkg, rel) = (c.cve_id.trim(), c.pkg.trim(), c.os_version.trim());
    if id.is_empty() || pkg.is_empty() || rel.is_empty() {
        return Err(bad(path, "needs `cve_id`, `pkg` and `os_version`"));
    }
    let Some(fixed) = c
        .res_ver
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "NA")
    else {
        return Ok(None);
    };
    let mut adv = Advisory {
        id: id.to_string(),
        source: Source::Distro,
        ..Advisory::default()
    };
    // Photon gives a bare score, no vector
    if let Some(level) = c
        .cve_score
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(crate::cvss::Level::from_score)
    {
        adv.severities.push(Severity {
            kind: "distro".into(),
            value: level.as_str().into(),
            source: "distro".into(),
        });
    }
    adv.affected.push(Affected {
        namespace: format!("photon:{rel}"),
        package: pkg.to_string(),
        ranges: vec![Range::fixed_in(fixed)],
        versions: Vec::new(),
        status: Status::Affected,
        arches: Vec::new(),
        severity: None,
    });
    Ok(Some(adv))
}

// ---------------------------------------------------------------------------------------
// Arch Linux

#[derive(Deserialize)]
struct ArchGroup {
    name: String,
    #[serde(default, deserialize_with = "crate::null_default")]
    packages: Vec<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    fixed: Option<String>,
    #[serde(default, deserialize_with = "crate::null_default")]
    issues: Vec<String>,
}

/// Reads one Arch Linux vulnerability group (vuln-list `arch-linux/AVG-….json`, from
/// security.archlinux.org): namespace `arch` (rolling), pacman versions; `Fixed` (and
/// `Testing`, fixed in the testing repository) state the fixed version, `Vulnerable` and
/// `Unknown` are affected without a fix, `Not affected` is recorded as such.
pub fn read_arch(
    path: &Path,
    out: &mut Vec<Advisory>,
    _problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    out.push(parse_arch(&bytes, path)?);
    Ok(())
}

/// Parses one Arch Linux vulnerability group.
pub fn parse_arch(bytes: &[u8], path: &Path) -> Result<Advisory, Error> {
    let g: ArchGroup = serde_json::from_slice(bytes).map_err(|e| bad(path, e.to_string()))?;
    let id = g.name.trim();
    if !id.starts_with("AVG-") {
        return Err(bad(
            path,
            format!("`{id}` is not an Arch vulnerability group id"),
        ));
    }
    let mut adv = Advisory {
        id: id.to_string(),
        source: Source::Distro,
        ..Advisory::default()
    };
    adv.aliases.extend(
        g.issues
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty()),
    );
    adv.severities.extend(distro_level(g.severity.as_deref()));
    let fixed = g.fixed.as_deref().map(str::trim).filter(|f| !f.is_empty());
    let (status, ranges) = match (g.status.as_str(), fixed) {
        ("Fixed" | "Testing", Some(v)) => (Status::Affected, vec![Range::fixed_in(v)]),
        ("Not affected", _) => (Status::NotAffected, Vec::new()),
        (_, _) => (
            Status::Affected,
            vec![Range {
                kind: RangeKind::Ecosystem,
                events: vec![RangeEvent::Introduced("0".into())],
            }],
        ),
    };
    for p in &g.packages {
        adv.affected.push(Affected {
            namespace: "arch".into(),
            package: p.trim().to_string(),
            ranges: ranges.clone(),
            versions: Vec::new(),
            status,
            arches: Vec::new(),
            severity: None,
        });
    }
    Ok(adv)
}

// ---------------------------------------------------------------------------------------
// Echo

#[derive(Deserialize)]
struct EchoFix {
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    severity: Option<String>,
}

/// Reads one Echo package document (vuln-list `echo/<source package>.json`: CVE → fixed
/// version and severity), namespace `echo` (a Debian-based rolling distribution); an empty
/// fixed version means affected with no fix yet.
pub fn read_echo(
    path: &Path,
    out: &mut Vec<Advisory>,
    _problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    let pkg = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.extend(parse_echo(&bytes, &pkg, path)?);
    Ok(())
}

/// Parses one Echo package document for source package `pkg`.
pub fn parse_echo(bytes: &[u8], pkg: &str, path: &Path) -> Result<Vec<Advisory>, Error> {
    let doc: BTreeMap<String, EchoFix> =
        serde_json::from_slice(bytes).map_err(|e| bad(path, e.to_string()))?;
    let mut out = Vec::new();
    for (id, fix) in doc {
        let mut adv = Advisory {
            id: id.trim().to_string(),
            source: Source::Distro,
            ..Advisory::default()
        };
        adv.severities.extend(distro_level(fix.severity.as_deref()));
        let ranges = match fix.fixed_version.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => vec![Range::fixed_in(v)],
            _ => vec![Range {
                kind: RangeKind::Ecosystem,
                events: vec![RangeEvent::Introduced("0".into())],
            }],
        };
        adv.affected.push(Affected {
            namespace: "echo".into(),
            package: pkg.to_string(),
            ranges,
            versions: Vec::new(),
            status: Status::Affected,
            arches: Vec::new(),
            severity: None,
        });
        out.push(adv);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Ubuntu

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UbuntuCve {
    candidate: String,
    #[serde(default)]
    public_date: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default, deserialize_with = "crate::null_default")]
    patches: BTreeMap<String, BTreeMap<String, UbuntuPatch>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UbuntuPatch {
    status: String,
    #[serde(default)]
    note: String,
}

/// The release a tracker column speaks about: `focal`, and the ESM columns `focal/esm`,
/// `esm-infra/focal`, `esm-apps/focal` (ESM fixes ship to the same release). `upstream`,
/// `devel`, `snap`, `fips…` columns are not releases.
fn ubuntu_release(column: &str) -> Option<&'static str> {
    if column.starts_with("fips") || column.starts_with("ros-esm") {
        return None;
    }
    column
        .split('/')
        .find_map(|part| stella_distro::release_of_codename("ubuntu", part))
}

/// How sure a status is; when a release has several columns (main and ESM), the most
/// informative one speaks for it.
fn ubuntu_rank(status: &str) -> u8 {
    match status {
        "released" => 3,
        "needed" | "pending" | "deferred" | "active" | "ignored" | "needs-triage" => 2,
        "not-affected" => 1,
        _ => 0,
    }
}

/// Reads one Ubuntu CVE tracker entry (vuln-list `ubuntu/CVE-….json`): per source package and
/// release, `released` (fixed in the noted version), `not-affected`, or still affected
/// (`needed`, `needs-triage`, `pending`, `deferred`, `ignored`); `DNE` rows say nothing.
pub fn read_ubuntu(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    out.push(parse_ubuntu(&bytes, path, problems)?);
    Ok(())
}

/// Parses one Ubuntu CVE tracker entry; rows it cannot use are added to `problems`.
pub fn parse_ubuntu(
    bytes: &[u8],
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Advisory, Error> {
    let c: UbuntuCve = serde_json::from_slice(bytes).map_err(|e| bad(path, e.to_string()))?;
    let id = c.candidate.trim().to_string();
    if id.is_empty() {
        return Err(bad(path, "no `Candidate` id"));
    }
    let mut adv = Advisory {
        id,
        source: Source::Distro,
        summary: c
            .description
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty()),
        published: c
            .public_date
            .filter(|d| !d.starts_with("0001-"))
            .map(|d| d.trim().to_string()),
        ..Advisory::default()
    };
    adv.severities.extend(distro_level(c.priority.as_deref()));
    for (pkg, columns) in &c.patches {
        // (release → (rank, status, note)) keeping the most informative column
        let mut best: BTreeMap<&str, (u8, &str, &str)> = BTreeMap::new();
        for (column, p) in columns {
            let Some(rel) = ubuntu_release(column) else {
                continue;
            };
            let status = p.status.trim();
            let rank = ubuntu_rank(status);
            if rank == 0 {
                if status != "DNE" {
                    problems.push(Problem {
                        file: path.display().to_string(),
                        message: format!("{pkg}/{column}: unknown status `{status}` (skipped)"),
                    });
                }
                continue;
            }
            let e = best.entry(rel).or_insert((0, "", ""));
            if rank > e.0 {
                *e = (rank, status, p.note.trim());
            }
        }
        for (rel, (_, status, note)) in best {
            let (status, ranges) = match status {
                "released" => {
                    // the fixed version, sometimes written in parentheses
                    let v = note.trim_matches(|c| c == '(' || c == ')').trim();
                    if v.is_empty() || v.contains(char::is_whitespace) {
                        problems.push(Problem {
                            file: path.display().to_string(),
                            message: format!(
                                "{pkg}/{rel}: released without a version (`{note}`); skipped"
                            ),
                        });
                        continue;
                    }
                    (
                        Status::Affected,
                        vec![
                            RangeEvent::Introduced("0".into()),
                            RangeEvent::Fixed(v.into()),
                        ],
                    )
                }
                "not-affected" => (Status::NotAffected, Vec::new()),
                _ => (Status::Affected, vec![RangeEvent::Introduced("0".into())]),
            };
            adv.affected.push(Affected {
                namespace: format!("ubuntu:{rel}"),
                package: pkg.trim().to_string(),
                ranges: if ranges.is_empty() {
                    Vec::new()
                } else {
                    vec![Range {
                        kind: RangeKind::Ecosystem,
                        events: ranges,
                    }]
                },
                versions: Vec::new(),
                status,
                arches: Vec::new(),
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
    fn amazon_releases() {
        assert_eq!(amazon_release("ALAS-2018-1093", None).as_deref(), Some("1"));
        assert_eq!(
            amazon_release("ALAS2-2021-1699", None).as_deref(),
            Some("2")
        );
        assert_eq!(
            amazon_release("ALAS2023-2024-1", None).as_deref(),
            Some("2023")
        );
        assert_eq!(
            amazon_release("ALAS2KERNEL-5.10-2022-001", Some("2")).as_deref(),
            Some("2")
        );
        assert_eq!(amazon_release("ELSA-2020-1", None), None);
        // a Rocky advisory in a `2022` directory is not Amazon Linux 2022
        assert_eq!(amazon_release("RLSA-2022-2200", Some("2022")), None);
        assert_eq!(erratum_date("2021-08-13 17:31"), "2021-08-13T17:31:00Z");
        assert_eq!(erratum_date("2022-05-18 19:34:03"), "2022-05-18T19:34:03Z");
        assert_eq!(
            rocky_release(Path::new("x/vuln-list/rocky/8.6/BaseOS/x86_64/2022/R.json")).as_deref(),
            Some("8")
        );
        assert_eq!(rocky_release(Path::new("x/8.6/R.json")), None);
        assert_eq!(
            rocky_release(Path::new("f/rocky/testdata/vuln-list/rocky/9.1/B/R.json")).as_deref(),
            Some("9")
        );
    }

    #[test]
    fn alma_releases() {
        assert_eq!(
            alma_release(Path::new("x/vuln-list/alma/8/2021/ALSA-2021-3076.json")).as_deref(),
            Some("8")
        );
        assert_eq!(alma_release(Path::new("x/8/2021/A.json")), None);
    }

    #[test]
    fn ubuntu_columns() {
        assert_eq!(ubuntu_release("focal"), Some("20.04"));
        assert_eq!(ubuntu_release("esm-infra/xenial"), Some("16.04"));
        assert_eq!(ubuntu_release("trusty/esm"), Some("14.04"));
        assert_eq!(ubuntu_release("upstream"), None);
        assert_eq!(ubuntu_release("devel"), None);
        assert_eq!(ubuntu_release("fips/bionic"), None);
    }
}
