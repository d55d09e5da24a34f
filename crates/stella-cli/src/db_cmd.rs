//! `stella db import | info | query`.

use anyhow::{Context, bail};
use stella_advisory::import::{FeedFormat, import};
use stella_advisory::{Db, DbBuilder};

use crate::cli::{DbCommand, DbImportArgs, DbInfoArgs, DbQueryArgs};
use crate::exit;

/// Runs a `stella db` subcommand.
pub fn run(cmd: DbCommand) -> anyhow::Result<u8> {
    match cmd {
        DbCommand::Import(a) => import_cmd(a),
        DbCommand::Info(a) => info(a),
        DbCommand::Query(a) => query(a),
    }
}

fn now() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    stella_sbom::rfc3339(secs)
}

fn import_cmd(a: DbImportArgs) -> anyhow::Result<u8> {
    let format = match &a.format {
        Some(f) => Some(FeedFormat::parse(f).with_context(|| {
            format!("unknown feed format `{f}`\nhint: use osv, alpine-secdb, debian-tracker, kev or epss")
        })?),
        None => None,
    };
    let mut b = if a.db.exists() && !a.fresh {
        let db = Db::open(&a.db).with_context(|| {
            format!(
                "cannot open {} to add to it (use --fresh to rebuild)",
                a.db.display()
            )
        })?;
        DbBuilder::from_db(&db)?
    } else {
        DbBuilder::new()
    };
    let stamp = now();
    let report = import(&mut b, format, &a.paths, &stamp)?;
    for p in &b.problems {
        eprintln!("warning: {}: {} (skipped)", p.file, p.message);
    }
    for (f, why) in &report.unsupported {
        eprintln!("note: {}: {why}", f.display());
    }
    if report.feeds.is_empty() {
        bail!(
            "nothing was imported from {}\nhint: pass feed files or directories, and `--format` if their names do not say what they are",
            a.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let skipped = b.problems.len();
    let m = b.write(&a.db, &stamp)?;
    for (feed, n) in &report.feeds {
        eprintln!("imported {n} records from {feed}");
    }
    eprintln!(
        "wrote {}: {} vulnerabilities, {} packages in {} namespaces ({skipped} records skipped)",
        a.db.display(),
        m.vulnerabilities,
        m.packages,
        m.namespaces.len()
    );
    Ok(exit::OK)
}

fn info(a: DbInfoArgs) -> anyhow::Result<u8> {
    let db = Db::open(&a.db)?;
    if a.verify {
        db.verify()?;
    }
    let m = db.manifest();
    if a.json {
        let mut v = serde_json::to_value(m)?;
        v["digest"] = serde_json::Value::String(format!("sha256:{}", db.digest()));
        v["bytes"] = serde_json::Value::from(db.len());
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(exit::OK);
    }
    println!("database:        {}", a.db.display());
    println!("schema version:  {}", m.schema_version);
    println!("built:           {}", m.built);
    println!("size:            {} bytes", db.len());
    println!(
        "digest:          sha256:{}{}",
        db.digest(),
        if a.verify { " (verified)" } else { "" }
    );
    println!("vulnerabilities: {}", m.vulnerabilities);
    println!("packages:        {}", m.packages);
    println!("kev / epss:      {} / {}", m.kev, m.epss);
    println!("\nfeeds:");
    for (name, f) in &m.feeds {
        println!(
            "  {name:<40} {:>7} records  {:>4} skipped  newest {}",
            f.records,
            f.skipped,
            f.newest.as_deref().unwrap_or("-")
        );
    }
    println!("\nnamespaces:");
    for (ns, n) in &m.namespaces {
        println!("  {ns:<24} {n:>7} packages");
    }
    Ok(exit::OK)
}

fn query(a: DbQueryArgs) -> anyhow::Result<u8> {
    let db = Db::open(&a.db)?;
    let entries = db.package(&a.namespace, &a.package)?;
    if entries.is_empty() {
        eprintln!("no advisories for {} in {}", a.package, a.namespace);
        return Ok(4);
    }
    let mut out: Vec<serde_json::Value> = Vec::new();
    for e in &entries {
        let vulns = db.vulnerability_list(e.vulnerabilities)?;
        out.push(
            serde_json::json!({
                "vulnerabilities": vulns, "advisory": e.advisory, "feed": db.feed_name(e.feed),
                "source": format!("{:?}", e.source), "status": format!("{:?}", e.status),
                "fixed": e.ranges.iter().flat_map(|r| r.fixed_versions().map(str::to_string)).collect::<Vec<_>>(),
                "ranges": e.ranges, "versions": e.versions,
            }),
        );
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(exit::OK)
}
