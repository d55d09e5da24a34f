//! The scan engine every front end calls (the CLI now; Core, the scheduler's re-scans and the
//! admission webhook later): packages from a catalogued image or another tool's SBOM, matched
//! against the DB, VEX statements and ignore entries applied, counted and gated into one
//! [`stella_report::Report`].

use stella_catalog::{Kind, Package};
use stella_match::{Eco, Pkg};
pub use stella_sbom::epoch_days;

/// Why a scan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The DB could not be read.
    #[error(transparent)]
    Match(#[from] stella_match::Error),
    /// A policy could not be evaluated (a Rego policy ran past its limits).
    #[error(transparent)]
    Policy(#[from] stella_policy::Error),
    /// An ignore file is not usable.
    #[error("{source_name}: {why}")]
    Ignore {
        /// The file.
        source_name: String,
        /// What is wrong.
        why: String,
    },
}

/// What was scanned, for the report.
#[derive(Debug, Clone)]
pub struct Target {
    /// `image`, `directory`, `sbom`.
    pub kind: String,
    /// As the user gave it.
    pub reference: String,
    /// The image digest, when there is one.
    pub digest: Option<String>,
}

/// The packages to match and what is known about where they run.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// The packages.
    pub packages: Vec<Pkg>,
    /// The detected OS release (its namespace selects the distro's advisories).
    pub os: Option<stella_catalog::OsInfo>,
    /// Problems met while collecting them.
    pub warnings: Vec<String>,
}

/// How to judge and filter.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--fail-on`: the lowest severity that fails the gate.
    pub fail_on: Option<String>,
    /// Keep only findings with a fixed version.
    pub only_fixed: bool,
    /// Also match NVD CPE configurations for language packages their ecosystem's data says
    /// nothing about.
    pub cpe: bool,
    /// VEX statements to apply.
    pub vex: Vec<stella_vex::Statement>,
    /// Ignore entries, with the name of the file they came from.
    pub ignores: Option<(String, Vec<IgnoreEntry>)>,
    /// Warn when the DB is older than this many days.
    pub db_max_age_days: u32,
    /// What the reader of a warning about the DB (old, or missing a namespace) can do about
    /// it, on their side: `stella db update --db PATH` for a local scan, the feed job for
    /// Core's (never a path on another machine).
    pub db_hint: String,
    /// Now (RFC 3339): the report's time, and the day ignore entries expire against.
    pub now: String,
    /// The policy that decides the verdict (with `fail_on`, when both are given: either
    /// failing fails).
    pub policy: Option<stella_policy::PolicySet>,
    /// The base image's layers (diff ids), for policies' `layer` conditions.
    pub base_layers: std::collections::BTreeSet<String>,
    /// What a policy that cannot be evaluated (a Rego part that errs or runs past its
    /// limits) does to the scan.
    pub on_policy_error: OnPolicyError,
}

/// What a policy that cannot be evaluated does to a scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnPolicyError {
    /// The scan fails with [`Error::Policy`] (a local scan of one's own policy: exit 2).
    #[default]
    Refuse,
    /// The verdict is `ERROR`, which fails the gate (fail-closed; Core's default).
    Verdict,
    /// The verdict follows `fail_on` alone, with a warning (fail-open).
    Pass,
}

fn eco(k: Kind) -> Eco {
    match k {
        Kind::Apk => Eco::Apk,
        Kind::Deb => Eco::Deb,
        Kind::Rpm => Eco::Rpm,
        Kind::Python => Eco::Lang("pypi"),
        Kind::Npm => Eco::Lang("npm"),
        Kind::Go => Eco::Lang("go"),
        Kind::Maven => Eco::Lang("maven"),
        Kind::Gem => Eco::Lang("rubygems"),
        Kind::Composer => Eco::Lang("packagist"),
        Kind::Nuget => Eco::Lang("nuget"),
        Kind::Cargo => Eco::Lang("crates.io"),
    }
}

/// A catalogued package as a package to match.
pub fn to_pkg(p: &Package, os: Option<&stella_catalog::OsInfo>) -> Pkg {
    Pkg {
        eco: eco(p.kind),
        kind: p.kind.purl_type().to_string(),
        name: p.name.clone(),
        version: p.version.clone(),
        purl: stella_catalog::sbom::purl(p, os).map(|u| u.canonical()),
        source_name: p.source_name.clone(),
        arch: p.arch.clone(),
        module: p.module.clone(),
        layer: p.layer.clone(),
        location: Some(format!("/{}", p.location)),
    }
}

/// A component of another tool's SBOM as a package to match, from its Package URL (the only
/// identity SBOM producers agree on); `None` for components without a usable purl.
pub fn from_purl(c: &stella_sbom::Component) -> Option<(Pkg, Option<stella_catalog::OsInfo>)> {
    from_component(&mut c.clone(), true)
}

/// [`from_purl`] taking the component apart (no copies of its strings; by reference, as a
/// component is ≈ 470 bytes to move); the distribution is worked out only when `want_os`
/// (the first package of an SBOM that names one decides).
fn from_component(
    c: &mut stella_sbom::Component,
    want_os: bool,
) -> Option<(Pkg, Option<stella_catalog::OsInfo>)> {
    let u = c.purl.as_mut()?;
    u.version.as_ref()?;
    let eco = match u.ty.as_str() {
        "deb" => Eco::Deb,
        "apk" => Eco::Apk,
        "rpm" => Eco::Rpm,
        "pypi" => Eco::Lang("pypi"),
        "npm" => Eco::Lang("npm"),
        "golang" => Eco::Lang("go"),
        "maven" => Eco::Lang("maven"),
        "gem" => Eco::Lang("rubygems"),
        "composer" => Eco::Lang("packagist"),
        "nuget" => Eco::Lang("nuget"),
        "cargo" => Eco::Lang("crates.io"),
        _ => return None,
    };
    // the text first: everything below takes the purl's parts
    let purl = u.canonical();
    let sep = match u.ty.as_str() {
        "npm" | "golang" | "composer" => Some("/"),
        "maven" => Some(":"),
        _ => None,
    };
    let name = match (sep, &u.namespace) {
        (Some(sep), Some(ns)) if !ns.is_empty() => format!("{ns}{sep}{}", u.name),
        _ => std::mem::take(&mut u.name),
    };
    let mut version = u.version.take()?;
    let mut source = u
        .qualifiers
        .take("upstream")
        .map(|s| match s.split_once('@') {
            Some((n, _)) => n.to_string(),
            None => s,
        });
    // the epoch as a qualifier: rpm purls by the spec, deb purls as Trivy writes them
    // (`libattr1@2.5.1-4?epoch=1`; Syft puts `1:2.5.1-4` in the version)
    if matches!(eco, Eco::Rpm | Eco::Deb)
        && !version.contains(':')
        && let Some(e) = u.qualifiers.get("epoch").filter(|e| *e != "0")
    {
        version = format!("{e}:{version}");
    }
    if eco == Eco::Rpm {
        source = source.map(|s| {
            stella_catalog::rpm::split_source_rpm(&s)
                .map(|(n, _)| n)
                .unwrap_or(s)
        });
    }
    // go stdlib: Syft writes `go1.21.5`, OSV's Go ecosystem `1.21.5`
    if eco == Eco::Lang("go") && name == "stdlib" {
        version = version.trim_start_matches("go").to_string();
    }
    let os = want_os
        .then(|| u.qualifiers.get("distro"))
        .flatten()
        .and_then(|d| stella_distro::from_qualifier(d, u.namespace.as_deref()))
        .map(|(id, version_id)| stella_catalog::OsInfo {
            id,
            version_id,
            ..stella_catalog::OsInfo::default()
        });
    let arch = u.qualifiers.take("arch");
    let kind = std::mem::take(&mut u.ty);
    // the first location's path, and the first layer any location names
    let mut layer = None;
    let mut location = None;
    for l in std::mem::take(&mut c.locations) {
        if location.is_none() {
            location = Some(l.path);
        }
        if layer.is_none() {
            layer = l.layer;
        }
        if layer.is_some() {
            break;
        }
    }
    let pkg = Pkg {
        eco,
        kind,
        name,
        version,
        purl: Some(purl),
        source_name: source.or(c.source_name.take()),
        arch,
        module: None,
        layer,
        location,
    };
    Some((pkg, os))
}

/// The packages of another tool's SBOM, by their purls; components without one are warned
/// about (they cannot be matched).
pub fn input_from_sbom(r: stella_sbom::Read, name: &str) -> Input {
    let mut input = Input {
        warnings: r
            .warnings
            .iter()
            .map(|w| format!("{name}: {}: {}", w.at, w.message))
            .collect(),
        ..Input::default()
    };
    input.packages.reserve(r.sbom.components.len());
    let mut components = r.sbom.components;
    // the producer's operating-system component says which OS it found (Trivy, Syft and
    // cdxgen write one); a purl's `distro=` qualifier only when it names none Stella knows
    input.os = components
        .iter()
        .filter(|c| c.kind == stella_sbom::ComponentKind::OperatingSystem)
        .find_map(os_of_component);
    for c in &mut components {
        if c.kind == stella_sbom::ComponentKind::OperatingSystem {
            continue;
        }
        let missing = c.purl.is_none().then(|| {
            format!(
                "{} {}: no Package URL, so it cannot be matched",
                c.name,
                c.version.as_deref().unwrap_or("")
            )
        });
        match from_component(c, input.os.is_none()) {
            Some((p, o)) => {
                if input.os.is_none() {
                    input.os = o;
                }
                input.packages.push(p);
            }
            None => input.warnings.extend(missing),
        }
    }
    input
}

/// The OS an SBOM's operating-system component names (`alpine` 3.10.2, `amazon` `2 (Karoo)`,
/// `debian` 12), when it names a distribution Stella knows.
fn os_of_component(c: &stella_sbom::Component) -> Option<stella_catalog::OsInfo> {
    let d = stella_distro::identify(&c.name)?;
    Some(stella_catalog::OsInfo {
        id: d
            .os_release_ids
            .first()
            .copied()
            .unwrap_or(d.namespace)
            .to_string(),
        version_id: c
            .version
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string),
        ..stella_catalog::OsInfo::default()
    })
}

/// The packages of a catalogued image.
pub fn input_from_catalog(c: &stella_catalog::Composed) -> Input {
    let os = c.os.as_ref();
    Input {
        packages: c.packages.iter().map(|p| to_pkg(p, os)).collect(),
        os: c.os.clone(),
        warnings: c.warnings.clone(),
    }
}

/// One entry of an ignore file.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct IgnoreEntry {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    expires: Option<String>,
}

impl IgnoreEntry {
    /// Whether the entry applies on `today` (days since 1970-01-01, UTC): it stops on its
    /// `expires` day, as Trivy's `exp:` does.
    fn live(&self, today: i64) -> bool {
        self.expires
            .as_deref()
            .and_then(epoch_days)
            .is_none_or(|d| d > today)
    }
}

#[derive(serde::Deserialize)]
struct IgnoreFile {
    #[serde(default)]
    ignore: Vec<IgnoreEntry>,
}

/// Parses an ignore file (`source` names it in errors): YAML with `ignore:` entries, or one
/// vulnerability id per line (`#` comments), as `.trivyignore` files are.
pub fn parse_ignores(text: &str, source: &str) -> Result<Vec<IgnoreEntry>, Error> {
    let bad = |why: String| Error::Ignore {
        source_name: source.to_string(),
        why,
    };
    if let Ok(f) = serde_yaml::from_str::<IgnoreFile>(text)
        && !f.ignore.is_empty()
    {
        for e in &f.ignore {
            if e.id.is_none() && e.purl.is_none() {
                return Err(bad("an ignore entry names neither `id` nor `purl`".into()));
            }
            if let Some(x) = &e.expires
                && epoch_days(x).is_none()
            {
                return Err(bad(format!("`expires: {x}` is not a date (YYYY-MM-DD)")));
            }
        }
        return Ok(f.ignore);
    }
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| IgnoreEntry {
            id: Some(l.to_string()),
            purl: None,
            reason: None,
            expires: None,
        })
        .collect())
}

fn purl_matches(pattern: &str, purl: Option<&str>) -> bool {
    let Some(p) = purl else { return false };
    match pattern.strip_suffix('*') {
        Some(prefix) => p.starts_with(prefix),
        // a purl without version or qualifiers names every version of the package
        None => {
            p == pattern
                || p.starts_with(&format!("{pattern}@"))
                || p.starts_with(&format!("{pattern}?"))
        }
    }
}

/// What a scan says of namespaces the DB does not cover and of releases past their end of
/// life: a PASS must never hide that nothing was checked.
pub fn coverage_warnings(coverage: &[stella_match::Coverage], db_hint: &str) -> Vec<String> {
    let mut out = Vec::new();
    for c in coverage {
        if c.is_missing() {
            out.push(format!(
                "{}: the vulnerability DB has no advisories for this namespace, so its {} package(s) were not checked at all (a PASS says nothing about them)\nhint: add a feed that covers it (docs/vulnerability-db.md), then {}",
                c.namespace,
                c.packages,
                if db_hint.is_empty() { "rebuild the DB" } else { db_hint }
            ));
        }
        if let Some(d) = &c.end_of_life {
            out.push(format!(
                "{}: this release reached its end of life on {d}; its maintainers no longer publish fixes, so new vulnerabilities stay unfixed (and may go unreported)\nhint: move the image to a supported release",
                c.namespace
            ));
        }
    }
    out
}

/// The namespace an OS's packages are matched in: its own, or the first distribution's whose
/// advisories speak for it that `db` has data for (CentOS: Red Hat's), else its own (so
/// coverage says it is missing).
pub fn distro_namespace(
    db: &stella_advisory::Db,
    os: Option<&stella_catalog::OsInfo>,
) -> Option<String> {
    let own = os?.namespace()?;
    let have = &db.manifest().namespaces;
    Some(
        stella_distro::lookup_order(&own)
            .into_iter()
            .find(|ns| have.get(ns).is_some_and(|&n| n > 0))
            .unwrap_or(own),
    )
}

/// Matches `input` against `db` and makes the report: VEX applied, `--only-fixed` and ignore
/// entries honoured, counted, gated.
pub fn scan(
    db: &stella_advisory::Db,
    input: Input,
    target: Target,
    opts: &Options,
) -> Result<stella_report::Report, Error> {
    let Input {
        packages,
        os,
        mut warnings,
    } = input;
    let distro = distro_namespace(db, os.as_ref());
    if packages.len() >= 100 {
        db.prefault();
    }
    let packages: Vec<std::sync::Arc<Pkg>> =
        packages.into_iter().map(std::sync::Arc::new).collect();
    let mut m = stella_match::match_packages_with(
        db,
        &packages,
        distro.as_deref(),
        &stella_match::Options { cpe: opts.cpe },
    )?;
    warnings.extend(m.warnings.iter().cloned());
    let today = epoch_days(&opts.now).unwrap_or(0);
    let coverage = stella_match::coverage(db, &packages, distro.as_deref(), today);
    warnings.extend(coverage_warnings(&coverage, &opts.db_hint));
    let built = db.manifest().built.clone();
    if let Some(b) = epoch_days(&built)
        && today - b > i64::from(opts.db_max_age_days)
    {
        warnings.push(format!(
            "the vulnerability DB was built {} days ago ({built}), more than {}; newer vulnerabilities are missing\nhint: {}",
            today - b,
            opts.db_max_age_days,
            opts.db_hint
        ));
    }
    if opts.only_fixed {
        m.findings.retain(|f| !f.fixed_versions.is_empty());
    }
    stella_vex::apply(&opts.vex, &mut m.findings);
    let mut ignored = Vec::new();
    if let Some((source, entries)) = &opts.ignores {
        for e in entries {
            if let Some(x) = &e.expires
                && !e.live(today)
            {
                warnings.push(format!(
                    "{source}: the ignore entry for {} expired on {x} and no longer applies",
                    e.id.as_deref().or(e.purl.as_deref()).unwrap_or("?")
                ));
            }
        }
        m.findings.retain(|f| {
            let hit = entries.iter().find(|e| {
                let live = e.live(today);
                let id_ok = e.id.as_deref().is_none_or(|id| {
                    &*f.vulnerability_id == id || f.aliases.iter().any(|a| a == id)
                });
                let purl_ok = e
                    .purl
                    .as_deref()
                    .is_none_or(|p| purl_matches(p, f.package.purl.as_deref()));
                live && id_ok && purl_ok
            });
            match hit {
                Some(e) => {
                    ignored.push(stella_report::Ignored {
                        vulnerability_id: f.vulnerability_id.to_string(),
                        package: format!("{}@{}", f.package.name, f.package.version),
                        reason: e.reason.clone(),
                        expires: e.expires.clone(),
                    });
                    false
                }
                None => true,
            }
        });
    }
    let report_target = stella_report::Target {
        kind: target.kind.clone(),
        reference: target.reference.clone(),
        digest: target.digest.clone(),
        os: os.as_ref().map(|o| stella_report::Os {
            family: o.id.clone(),
            version: o.version_id.clone(),
        }),
    };
    let verdict = match &opts.policy {
        Some(p) => {
            let mut types: std::collections::BTreeMap<&str, usize> = Default::default();
            for pkg in &packages {
                *types.entry(pkg.kind.as_str()).or_default() += 1;
            }
            let ctx = stella_policy::Context {
                today,
                image: (target.kind == "image").then(|| target.reference.clone()),
                base_layers: opts.base_layers.clone(),
                target: serde_json::to_value(&report_target).unwrap_or_default(),
                sbom: serde_json::json!({ "packages": packages.len(), "types": types }),
                coverage: coverage.clone(),
            };
            match stella_policy::evaluate_set(p, &mut m.findings, &ctx) {
                Ok(mut v) => {
                    if let Some(f) = &opts.fail_on {
                        stella_report::gate(&mut v, &m.findings, f);
                    }
                    v
                }
                Err(e) if opts.on_policy_error == OnPolicyError::Refuse => return Err(e.into()),
                Err(e) if opts.on_policy_error == OnPolicyError::Pass => {
                    warnings.push(format!(
                        "the policy could not be evaluated ({e}); judged by --fail-on alone, as configured (fail-open)"
                    ));
                    stella_report::verdict(&m.findings, opts.fail_on.as_deref())
                }
                Err(e) => stella_report::Verdict {
                    status: "ERROR".into(),
                    reasons: vec![format!(
                        "the policy could not be evaluated: {e}; the gate fails closed (fix the policy, or let such scans pass with `stella serve --policy-errors pass`)"
                    )],
                    details: Vec::new(),
                },
            }
        }
        None => stella_report::verdict(&m.findings, opts.fail_on.as_deref()),
    };
    let summary = stella_report::summarize(&m.findings);
    let manifest = db.manifest();
    Ok(stella_report::Report {
        schema_version: "1".into(),
        scan_id: stella_report::scan_id(&target.reference, &m.findings),
        created_at: opts.now.clone(),
        target: report_target,
        db: stella_report::DbInfo {
            built: manifest.built.clone(),
            sources: manifest.feeds.keys().cloned().collect(),
        },
        findings: m.findings,
        summary,
        verdict,
        warnings,
        ignored,
        notices: m.notices,
        coverage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_files() {
        let y = "ignore:\n  - id: CVE-1\n    purl: pkg:apk/alpine/libssl1.1\n    reason: r\n    expires: 2099-01-01\n  - purl: pkg:npm/lodash*\n";
        let e = parse_ignores(y, "i.yaml").unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].reason.as_deref(), Some("r"));
        let plain = parse_ignores("# comment\nCVE-1\n\nGHSA-x # why\n", "t").unwrap();
        assert_eq!(
            plain
                .iter()
                .map(|e| e.id.clone().unwrap())
                .collect::<Vec<_>>(),
            ["CVE-1", "GHSA-x"]
        );
        assert!(parse_ignores("ignore:\n  - reason: r\n", "i.yaml").is_err());
        let bad = parse_ignores("ignore:\n  - id: X\n    expires: soon\n", "i.yaml").unwrap_err();
        assert!(bad.to_string().contains("i.yaml") && bad.to_string().contains("soon"));
    }

    #[test]
    fn ignore_entries_stop_on_their_expiry_day() {
        let e = &parse_ignores("ignore:\n  - id: X\n    expires: 2026-12-31\n", "i").unwrap()[0];
        assert!(e.live(epoch_days("2026-12-30").unwrap()));
        assert!(!e.live(epoch_days("2026-12-31").unwrap()));
        assert!(parse_ignores("X\n", "i").unwrap()[0].live(i64::MAX));
    }

    #[test]
    fn purl_patterns() {
        let p = Some("pkg:apk/alpine/libssl1.1@1.1.1c-r0?arch=x86_64");
        assert!(purl_matches("pkg:apk/alpine/libssl1.1", p));
        assert!(purl_matches("pkg:apk/alpine/libssl1.1@1.1.1c-r0", p));
        assert!(purl_matches("pkg:apk/alpine/libssl*", p));
        assert!(!purl_matches("pkg:apk/alpine/libssl", p));
        assert!(!purl_matches("pkg:apk/alpine/libssl1.1@1.1.1d-r0", p));
        assert!(!purl_matches("pkg:apk/alpine/libssl1.1", None));
    }

    #[test]
    fn days() {
        assert_eq!(epoch_days("1970-01-01"), Some(0));
        assert_eq!(epoch_days("2000-03-01T00:00:00Z"), Some(11_017));
        assert_eq!(epoch_days("2026-13-01"), None);
        assert_eq!(epoch_days("soon"), None);
    }
}
