//! `stella db import | update | info | query | export`.

use anyhow::{Context, bail};
use stella_advisory::import::{FeedFormat, import};
use stella_advisory::{Db, DbBuilder, sign};

use crate::cli::{
    DbCommand, DbExportArgs, DbImportArgs, DbInfoArgs, DbQueryArgs, DbSignArgs, DbUpdateArgs,
};
use crate::exit;

/// Runs a `stella db` subcommand.
pub fn run(cmd: DbCommand) -> anyhow::Result<u8> {
    match cmd {
        DbCommand::Import(a) => import_cmd(a),
        DbCommand::Update(a) => update(a),
        DbCommand::Info(a) => info(a),
        DbCommand::Query(a) => query(a),
        DbCommand::Export(a) => export(a),
        DbCommand::Sign(a) => sign(a),
    }
}

fn sign(a: DbSignArgs) -> anyhow::Result<u8> {
    let db = Db::open(&a.db)?;
    let key = sign::read_private_key(&a.key)?;
    let sig = sign::sign(&db, &key)?;
    let out = a.output.unwrap_or_else(|| sign::sig_path(&a.db));
    let mut body = serde_json::to_vec_pretty(&sig)?;
    body.push(b'\n');
    fs_err::write(&out, body)?;
    eprintln!(
        "signed {} ({}) with key {} → {}",
        a.db.display(),
        sig.digest,
        sig.key_id,
        out.display()
    );
    Ok(exit::OK)
}

fn export(a: DbExportArgs) -> anyhow::Result<u8> {
    if a.format != "osv" {
        bail!(
            "unknown export format `{}`; the only format is `osv`",
            a.format
        );
    }
    // Writing into a directory holding older files would mix two DBs on re-import.
    if let Ok(mut entries) = std::fs::read_dir(&a.output)
        && entries.next().is_some()
    {
        bail!(
            "{} is not empty; export into a new or empty directory",
            a.output.display()
        );
    }
    let db = Db::open(&a.db)?;
    let n = stella_advisory::export::export_osv(&db, &a.output)
        .with_context(|| format!("exporting into {}", a.output.display()))?;
    eprintln!("exported {n} advisories to {}", a.output.display());
    Ok(exit::OK)
}

fn format_names() -> String {
    stella_advisory::import::FORMAT_NAMES
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

fn import_cmd(a: DbImportArgs) -> anyhow::Result<u8> {
    let format = match &a.format {
        Some(f) => Some(FeedFormat::parse(f).with_context(|| {
            format!(
                "unknown feed format `{f}`\nhint: use one of {}",
                format_names()
            )
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
    let stamp = stella_sbom::now();
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
    let mut signed_by = None;
    if let Some(pubkey) = &a.pubkey {
        let key = sign::read_public_key(pubkey)?;
        let sig_path = a.signature.clone().unwrap_or_else(|| sign::sig_path(&a.db));
        if !sig_path.exists() {
            return Err(stella_advisory::Error::Signature {
                path: sig_path.display().to_string(),
                why: "no signature beside the DB, and --pubkey asks for one\nhint: sign it with `stella db sign --key KEY.pem`, or pass --signature FILE".into(),
            }
            .into());
        }
        let sig = sign::read_signature(&sig_path)?;
        sign::verify(&db, &sig, &sig_path, &key)?;
        signed_by = Some(sig.key_id);
    } else if a.verify {
        db.verify()?;
    }
    let verified = a.verify || signed_by.is_some();
    let m = db.manifest();
    if a.json {
        let mut v = serde_json::to_value(m)?;
        v["digest"] = serde_json::Value::String(format!("sha256:{}", db.digest()));
        v["bytes"] = serde_json::Value::from(db.len());
        if let Some(k) = &signed_by {
            v["signed_by"] = serde_json::Value::String(k.clone());
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(exit::OK);
    }
    outln!("database:        {}", a.db.display());
    outln!("schema version:  {}", m.schema_version);
    outln!("built:           {}", m.built);
    outln!("size:            {} bytes", db.len());
    outln!(
        "digest:          sha256:{}{}",
        db.digest(),
        if verified { " (verified)" } else { "" }
    );
    if let Some(k) = &signed_by {
        outln!("signature:       valid, key {k}");
    }
    outln!("vulnerabilities: {}", m.vulnerabilities);
    outln!("packages:        {}", m.packages);
    outln!("kev / epss:      {} / {}", m.kev, m.epss);
    outln!("\nfeeds:");
    for (name, f) in &m.feeds {
        outln!(
            "  {name:<40} {:>7} records  {:>4} skipped  newest {}",
            f.records,
            f.skipped,
            f.newest.as_deref().unwrap_or("-")
        );
    }
    outln!("\nnamespaces:");
    for (ns, n) in &m.namespaces {
        outln!("  {ns:<24} {n:>7} packages");
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
                "ranges": e.ranges, "versions": e.versions, "arches": e.arches,
            }),
        );
    }
    outln!("{}", serde_json::to_string_pretty(&out)?);
    Ok(exit::OK)
}

/// Fetches a DB built elsewhere and its `.sig`, checks its structure, digest and (with a
/// key) signature, and only then puts it in place of the local DB, atomically.
fn update_prebuilt(
    a: &DbUpdateArgs,
    config: &stella_fetch::Config,
    cache: &std::path::Path,
    opts: &stella_fetch::Options,
) -> anyhow::Result<u8> {
    use stella_core::feeds::PrebuiltError;
    let p = match stella_core::feeds::fetch_prebuilt(config, cache, opts, a.pubkey.as_deref()) {
        Ok(p) => p,
        Err(e @ PrebuiltError::Fetch { .. }) => {
            eprintln!("warning: {e}");
            eprintln!("the DB at {} is unchanged", a.db.display());
            return Ok(exit::RETRYABLE);
        }
        Err(e) => return Err(e.into()),
    };
    match &p.key_id {
        Some(k) => eprintln!("{}: signature verified ({k})", p.source.name),
        None => eprintln!(
            "note: {}: signature not checked; pass --pubkey (or set STELLA_DB_PUBKEY) to require one",
            p.source.name
        ),
    }
    if a.db.exists() && Db::open(&a.db).is_ok_and(|old| old.digest() == p.digest) {
        eprintln!("{} is up to date", a.db.display());
        return Ok(exit::OK);
    }
    install_atomically(&p.file, &a.db)?;
    if let Some(sig_path) = &p.signature {
        install_atomically(sig_path, &sign::sig_path(&a.db))?;
    }
    let fetched = Db::open(&a.db)?;
    let m = fetched.manifest();
    eprintln!(
        "installed {}: {} vulnerabilities, {} packages in {} namespaces, built {}",
        a.db.display(),
        m.vulnerabilities,
        m.packages,
        m.namespaces.len(),
        m.built
    );
    Ok(exit::OK)
}

/// Copies `from` beside `to` and renames it into place: a reader sees the old file or the
/// new one, never a part.
fn install_atomically(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    let dir = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    fs_err::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        to.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let r = (|| -> std::io::Result<()> {
        fs_err::copy(from, &tmp)?;
        fs_err::File::open(&tmp)?.sync_all()?;
        fs_err::rename(&tmp, to)
    })();
    if r.is_err() {
        let _ = fs_err::remove_file(&tmp);
    }
    Ok(r?)
}

fn update(a: DbUpdateArgs) -> anyhow::Result<u8> {
    let config = match &a.config {
        Some(p) => stella_fetch::Config::load(p)?,
        None => stella_fetch::Config::defaults(),
    }
    .resolve(&a.disable)
    .map_err(|e| anyhow::anyhow!("{e}\nhint: `stella db update --list` shows the feeds"))?;
    if a.list {
        for s in &config.sources {
            outln!("{}\t{}\t{}", s.name, s.format, s.url);
        }
        return Ok(exit::OK);
    }
    let cache = a.cache.clone().unwrap_or_else(|| {
        let mut p = a.db.clone().into_os_string();
        p.push(".feeds");
        std::path::PathBuf::from(p)
    });
    let opts = stella_fetch::Options {
        attempts: a.attempts,
        backoff: std::time::Duration::from_millis(a.backoff_ms),
        nvd_api_key: a.nvd_api_key.clone().filter(|k| !k.trim().is_empty()),
        nvd_window: std::time::Duration::from_millis(a.nvd_window_ms),
        ..stella_fetch::Options::default()
    };
    if stella_core::feeds::is_prebuilt(&config) {
        return update_prebuilt(&a, &config, &cache, &opts);
    }
    let m = match stella_core::feeds::merge(&config, &a.db, &cache, &opts) {
        Ok(m) => m,
        Err(stella_core::feeds::MergeError::NothingUsable(why)) => bail!(
            "no feed could be fetched and none was fetched before ({why}); the DB at {} is unchanged\nhint: check the network or the feed URLs",
            a.db.display()
        ),
        Err(e) => return Err(e.into()),
    };
    for s in &m.sources {
        match (s.outcome, &s.error) {
            ("fetched", _) => eprintln!("{}: fetched {} bytes", s.name, s.bytes.unwrap_or(0)),
            ("not-modified", _) => eprintln!("{}: not modified", s.name),
            (_, Some(error)) if s.stale == Some(true) => eprintln!(
                "warning: {}: {error}; using the copy fetched earlier",
                s.name
            ),
            (_, error) => eprintln!(
                "warning: {}: {}; this feed is missing from the DB",
                s.name,
                error.as_deref().unwrap_or("failed")
            ),
        }
    }
    for p in &m.problems {
        eprintln!("warning: {p} (skipped)");
    }
    if m.unchanged {
        eprintln!(
            "{} is up to date: {} vulnerabilities, {} packages in {} namespaces",
            a.db.display(),
            m.vulnerabilities,
            m.packages,
            m.namespaces
        );
        return Ok(exit::OK);
    }
    eprintln!(
        "wrote {}: {} vulnerabilities, {} packages in {} namespaces",
        a.db.display(),
        m.vulnerabilities,
        m.packages,
        m.namespaces
    );
    let failed = m.failed();
    // Some feeds failed: the DB is usable, and a retry later may complete it.
    Ok(if failed > 0 {
        exit::RETRYABLE
    } else {
        exit::OK
    })
}
