//! `stella scan`: image → catalogued packages → matched against the local DB → report and
//! the exit code a pipeline gates on.

use anyhow::{Context, bail};
use stella_catalog::{Kind, Package};
use stella_match::{Eco, Pkg};

use crate::cli::ScanArgs;
use crate::exit;

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

fn to_pkg(p: &Package, os: Option<&stella_catalog::OsInfo>) -> Pkg {
    Pkg {
        eco: eco(p.kind),
        kind: p.kind.purl_type().to_string(),
        name: p.name.clone(),
        version: p.version.clone(),
        purl: stella_catalog::sbom::purl(p, os).map(|u| u.to_string()),
        source_name: p.source_name.clone(),
        arch: p.arch.clone(),
        module: p.module.clone(),
        layer: p.layer.clone(),
        location: Some(format!("/{}", p.location)),
    }
}

/// A component of another tool's SBOM as a package to match, from its Package URL (the only
/// identity SBOM producers agree on); `None` for components without a usable purl.
fn from_purl(c: &stella_sbom::Component) -> Option<(Pkg, Option<stella_catalog::OsInfo>)> {
    let u = c.purl.as_ref()?;
    let q = |k: &str| u.qualifiers.get(k).map(|s| s.to_string());
    let version = u.version.clone()?;
    let joined = |sep: &str| match &u.namespace {
        Some(ns) if !ns.is_empty() => format!("{ns}{sep}{}", u.name),
        _ => u.name.clone(),
    };
    let (eco, name) = match u.ty.as_str() {
        "deb" => (Eco::Deb, u.name.clone()),
        "apk" => (Eco::Apk, u.name.clone()),
        "rpm" => (Eco::Rpm, u.name.clone()),
        "pypi" => (Eco::Lang("pypi"), u.name.clone()),
        "npm" => (Eco::Lang("npm"), joined("/")),
        "golang" => (Eco::Lang("go"), joined("/")),
        "maven" => (Eco::Lang("maven"), joined(":")),
        "gem" => (Eco::Lang("rubygems"), u.name.clone()),
        "composer" => (Eco::Lang("packagist"), joined("/")),
        "nuget" => (Eco::Lang("nuget"), u.name.clone()),
        "cargo" => (Eco::Lang("crates.io"), u.name.clone()),
        _ => return None,
    };
    let mut version = version;
    let mut source = q("upstream").map(|s| s.split('@').next().unwrap_or(&s).to_string());
    if eco == Eco::Rpm {
        if let Some(e) = q("epoch").filter(|e| e != "0") {
            version = format!("{e}:{version}");
        }
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
    let os = q("distro").and_then(|d| {
        let (id, v) = d.rsplit_once('-').unwrap_or((d.as_str(), ""));
        (!id.is_empty()).then(|| stella_catalog::OsInfo {
            id: id.to_string(),
            version_id: (!v.is_empty()).then(|| v.to_string()),
            ..stella_catalog::OsInfo::default()
        })
    });
    let pkg = Pkg {
        eco,
        kind: u.ty.clone(),
        name,
        version,
        purl: Some(u.to_string()),
        source_name: source.or(c.source_name.clone()),
        arch: q("arch"),
        module: None,
        layer: c.locations.iter().find_map(|l| l.layer.clone()),
        location: c.locations.iter().next().map(|l| l.path.clone()),
    };
    Some((pkg, os))
}

/// Scans another tool's SBOM (CycloneDX, SPDX, Syft or Trivy JSON).
fn scan_sbom(a: &ScanArgs, db: &stella_advisory::Db, path: &std::path::Path) -> anyhow::Result<u8> {
    let bytes = crate::sbom_cmd::read_input(path, 512 << 20)?;
    let r = stella_sbom::read(&bytes, None)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut os: Option<stella_catalog::OsInfo> = None;
    let mut pkgs = Vec::new();
    let mut warnings: Vec<String> = r
        .warnings
        .iter()
        .map(|w| format!("{}: {}: {}", path.display(), w.at, w.message))
        .collect();
    for c in &r.sbom.components {
        if c.kind == stella_sbom::ComponentKind::OperatingSystem {
            continue;
        }
        match from_purl(c) {
            Some((p, o)) => {
                if os.is_none() {
                    os = o;
                }
                pkgs.push(p);
            }
            None if c.purl.is_none() => warnings.push(format!(
                "{} {}: no Package URL, so it cannot be matched",
                c.name,
                c.version.as_deref().unwrap_or("")
            )),
            None => {}
        }
    }
    let name = path.display().to_string();
    finish(a, db, &pkgs, os, warnings, ("sbom", &name, None))
}

/// Days since 1970-01-01 of an RFC 3339 date or time (`2026-11-29…`).
fn epoch_days(s: &str) -> Option<i64> {
    let d = s.get(..10)?;
    let mut it = d.split('-');
    let (y, m, day): (i64, i64, i64) = (
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Howard Hinnant's days_from_civil
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// One entry of an ignore file.
#[derive(serde::Deserialize)]
struct IgnoreEntry {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    expires: Option<String>,
}

#[derive(serde::Deserialize)]
struct IgnoreFile {
    #[serde(default)]
    ignore: Vec<IgnoreEntry>,
}

/// Reads an ignore file: YAML with `ignore:` entries, or one vulnerability id per line
/// (`#` comments), as `.trivyignore` files are.
fn read_ignores(path: &std::path::Path) -> anyhow::Result<Vec<IgnoreEntry>> {
    let text = fs_err::read_to_string(path)?;
    if let Ok(f) = serde_yaml::from_str::<IgnoreFile>(&text)
        && !f.ignore.is_empty()
    {
        for e in &f.ignore {
            if e.id.is_none() && e.purl.is_none() {
                bail!(
                    "{}: an ignore entry names neither `id` nor `purl`",
                    path.display()
                );
            }
            if let Some(x) = &e.expires
                && epoch_days(x).is_none()
            {
                bail!(
                    "{}: `expires: {x}` is not a date (YYYY-MM-DD)",
                    path.display()
                );
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

/// Matches, reports and gates.
fn finish(
    a: &ScanArgs,
    db: &stella_advisory::Db,
    pkgs: &[Pkg],
    os: Option<stella_catalog::OsInfo>,
    mut warnings: Vec<String>,
    (target_kind, name, digest): (&str, &str, Option<String>),
) -> anyhow::Result<u8> {
    let table = a.format == "table";
    let distro = os.as_ref().and_then(|o| o.namespace());
    if let Some(id) = &a.explain {
        let lines = stella_match::explain(db, pkgs, distro.as_deref(), id)?;
        let mut text = format!(
            "{id} in {name} (OS namespace {}):\n",
            distro.as_deref().unwrap_or("none detected")
        );
        if lines.is_empty() {
            text.push_str("no package of this image has a statement about it in the DB\n");
        }
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
        use std::io::Write as _;
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("cannot write to standard output")?;
        return Ok(exit::OK);
    }
    let progress = crate::progress::Progress::new();
    progress.step(&format!(
        "matching {} package(s) against the DB",
        pkgs.len()
    ));
    let started = std::time::Instant::now();
    if pkgs.len() >= 100 {
        db.prefault();
    }
    let mut m = stella_match::match_packages(db, pkgs, distro.as_deref())?;
    if std::env::var_os("STELLA_TIMING").is_some() {
        eprintln!(
            "timing: matched {} packages in {:.3} ms",
            pkgs.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    warnings.extend(m.warnings.iter().cloned());
    let today = epoch_days(&crate::db_cmd::now()).unwrap_or(0);
    let built = db.manifest().built.clone();
    if let Some(b) = epoch_days(&built)
        && today - b > i64::from(a.db_max_age)
    {
        warnings.push(format!(
            "the vulnerability DB was built {} days ago ({built}), more than {}; newer vulnerabilities are missing\nhint: stella db update --db {}",
            today - b,
            a.db_max_age,
            a.db.display()
        ));
    }
    if a.only_fixed {
        m.findings.retain(|f| !f.fixed_versions.is_empty());
    }
    let mut vex = Vec::new();
    for path in &a.vex {
        let bytes = crate::sbom_cmd::read_input(path, 256 << 20)?;
        vex.extend(
            stella_vex::read(&bytes, &path.display().to_string()).map_err(|e| {
                anyhow::anyhow!("{e}\nhint: --vex reads OpenVEX, CycloneDX VEX (JSON) and CSAF VEX")
            })?,
        );
    }
    stella_vex::apply(&vex, &mut m.findings);
    let mut ignored = Vec::new();
    if let Some(path) = &a.ignore_file {
        let entries = read_ignores(path)?;
        for e in &entries {
            if let Some(x) = &e.expires
                && epoch_days(x).is_some_and(|d| d < today)
            {
                warnings.push(format!(
                    "{}: the ignore entry for {} expired on {x} and no longer applies",
                    path.display(),
                    e.id.as_deref().or(e.purl.as_deref()).unwrap_or("?")
                ));
            }
        }
        m.findings.retain(|f| {
            let hit = entries.iter().find(|e| {
                let live = e
                    .expires
                    .as_deref()
                    .and_then(epoch_days)
                    .is_none_or(|d| d >= today);
                let id_ok = e
                    .id
                    .as_deref()
                    .is_none_or(|id| f.vulnerability_id == id || f.aliases.iter().any(|a| a == id));
                let purl_ok = e
                    .purl
                    .as_deref()
                    .is_none_or(|p| purl_matches(p, f.package.purl.as_deref()));
                live && id_ok && purl_ok
            });
            match hit {
                Some(e) => {
                    ignored.push(stella_report::Ignored {
                        vulnerability_id: f.vulnerability_id.clone(),
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
    let summary = stella_report::summarize(&m.findings);
    let verdict = stella_report::verdict(&m.findings, a.fail_on.as_deref());
    let manifest = db.manifest();
    let report = stella_report::Report {
        schema_version: "1".into(),
        scan_id: stella_report::scan_id(name, &m.findings),
        created_at: crate::db_cmd::now(),
        target: stella_report::Target {
            kind: target_kind.into(),
            reference: name.to_string(),
            digest,
            os: os.as_ref().map(|o| stella_report::Os {
                family: o.id.clone(),
                version: o.version_id.clone(),
            }),
        },
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
    };
    progress.done();
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let bytes = match a.format.as_str() {
        "table" => stella_report::table(&report).into_bytes(),
        "sarif" => stella_report::sarif(&report, env!("CARGO_PKG_VERSION")),
        "junit" => stella_report::junit(&report, a.fail_on.as_deref()),
        "cyclonedx" | "cyclonedx-json" => {
            stella_report::cyclonedx_vdr(&report, env!("CARGO_PKG_VERSION"))
        }
        "cyclonedx-vex" => stella_report::cyclonedx_vex(&report, env!("CARGO_PKG_VERSION")),
        "openvex" => stella_report::openvex(&report, env!("CARGO_PKG_VERSION")),
        "spdx" | "spdx-json" => stella_report::spdx(&report, env!("CARGO_PKG_VERSION")),
        "html" => stella_report::html(&report, env!("CARGO_PKG_VERSION")),
        _ => stella_report::json(&report),
    };
    match &a.output {
        Some(p) => crate::sbom_cmd::write_atomically(p, &bytes)?,
        None => {
            use std::io::Write as _;
            let mut so = std::io::stdout().lock();
            so.write_all(&bytes)
                .context("cannot write to standard output")?;
            so.flush().ok();
        }
    }
    if !table || a.output.is_some() {
        eprintln!(
            "{name}: {} finding(s), verdict {}",
            report.findings.len(),
            report.verdict.status
        );
    }
    Ok(if report.verdict.status == "FAIL" {
        exit::FAIL
    } else {
        exit::OK
    })
}

/// Runs `stella scan`.
pub fn run(a: ScanArgs) -> anyhow::Result<u8> {
    if !matches!(
        a.format.as_str(),
        "table"
            | "json"
            | "sarif"
            | "junit"
            | "cyclonedx"
            | "cyclonedx-json"
            | "cyclonedx-vex"
            | "openvex"
            | "spdx"
            | "spdx-json"
            | "html"
    ) {
        bail!(
            "unknown output format `{}`\nhint: use table, json, sarif, junit, cyclonedx, cyclonedx-vex, openvex, spdx or html",
            a.format
        );
    }
    if let Some(f) = &a.fail_on
        && stella_match::severity_rank(f).is_none()
    {
        bail!("unknown severity `{f}`\nhint: use critical, high, medium or low");
    }
    if !a.db.exists() {
        bail!(
            "{}: no vulnerability DB there\nhint: build one with `stella db update --db {0}` (or `stella db import --db {0} FEEDS…` offline)",
            a.db.display()
        );
    }
    let db = stella_advisory::Db::open(&a.db)?;
    let progress = crate::progress::Progress::new();
    if let Some(path) = a.target.strip_prefix("sbom:") {
        progress.step(&format!("reading {path}"));
        return scan_sbom(&a, &db, std::path::Path::new(path));
    }
    let target = stella_image::Target::parse(&a.target)?;
    progress.step(&format!("opening {}", a.target));
    let image = match &target {
        stella_image::Target::Registry(r) => stella_registry::open(
            r,
            &stella_registry::Options {
                insecure: a.insecure,
                username: a.username.clone(),
                password: a.password.clone(),
                platform: a.platform.clone(),
            },
        )
        .with_context(|| format!("cannot pull {r}"))?,
        t => stella_image::Image::open(t, a.platform.as_deref())
            .with_context(|| format!("cannot open {}", a.target))?,
    };
    let cache = if a.no_cache {
        None
    } else {
        a.cache
            .clone()
            .or_else(stella_catalog::cache::Cache::default_dir)
            .map(stella_catalog::cache::Cache::new)
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    progress.step(&format!("cataloguing {}", a.target));
    let cat = stella_catalog::catalog(&image, cache.as_ref(), threads)
        .with_context(|| format!("cannot catalog {}", a.target))?;
    let os = cat.composed.os.as_ref();
    let pkgs: Vec<Pkg> = cat
        .composed
        .packages
        .iter()
        .map(|p| to_pkg(p, os))
        .collect();
    let kind = if matches!(target, stella_image::Target::Dir(_)) {
        "directory"
    } else {
        "image"
    };
    finish(
        &a,
        &db,
        &pkgs,
        os.cloned(),
        cat.composed.warnings.clone(),
        (kind, &image.name, image.digest.clone()),
    )
}
