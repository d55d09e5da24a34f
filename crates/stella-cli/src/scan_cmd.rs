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

/// Runs `stella scan`.
pub fn run(a: ScanArgs) -> anyhow::Result<u8> {
    let table = match a.format.as_str() {
        "table" => true,
        "json" => false,
        f => bail!("unknown output format `{f}`\nhint: use table or json"),
    };
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
    let target = stella_image::Target::parse(&a.target)?;
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
    let cat = stella_catalog::catalog(&image, cache.as_ref(), threads)
        .with_context(|| format!("cannot catalog {}", a.target))?;
    let os = cat.composed.os.as_ref();
    let distro = os.and_then(|o| o.namespace());
    let pkgs: Vec<Pkg> = cat
        .composed
        .packages
        .iter()
        .map(|p| to_pkg(p, os))
        .collect();
    let m = stella_match::match_packages(&db, &pkgs, distro.as_deref())?;
    let mut warnings: Vec<String> = cat.composed.warnings.clone();
    warnings.extend(m.warnings.iter().cloned());
    let summary = stella_report::summarize(&m.findings);
    let verdict = stella_report::verdict(&m.findings, a.fail_on.as_deref());
    let manifest = db.manifest();
    let report = stella_report::Report {
        schema_version: "1".into(),
        scan_id: stella_report::scan_id(&image.name, &m.findings),
        created_at: crate::db_cmd::now(),
        target: stella_report::Target {
            kind: if matches!(target, stella_image::Target::Dir(_)) {
                "directory"
            } else {
                "image"
            }
            .into(),
            reference: image.name.clone(),
            digest: image.digest.clone(),
            os: os.map(|o| stella_report::Os {
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
    };
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let bytes = if table {
        stella_report::table(&report).into_bytes()
    } else {
        stella_report::json(&report)
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
            "{}: {} finding(s), verdict {}",
            image.name,
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
