//! `stella serve`: Stella Core on this machine; `stella worker`: scan workers only, on the
//! Redis and PostgreSQL that Core replicas share.

use std::sync::Arc;

use anyhow::Context as _;

use crate::cli::ServeArgs;
use crate::exit;

pub(crate) fn run(a: ServeArgs, worker: bool) -> anyhow::Result<u8> {
    // mimalloc asks for transparent huge pages for its arena: good for a one-shot scan (fewer
    // page faults), bad for a server whose churn of large buffers leaves 4 KiB in use per
    // 2 MiB page (peak RSS under load 265-297 MB with them, ≈ 200 MB without); off for this
    // process from here on, whatever the host's THP setting (a failure only costs memory)
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    if worker && a.store.redis.is_none() {
        anyhow::bail!(
            "stella worker needs --redis and --postgres (the store Core replicas share)\nhint: on one machine, `stella serve` runs its workers itself"
        );
    }
    if worker && a.no_workers {
        anyhow::bail!("stella worker --no-workers would do nothing");
    }
    let scaled = a
        .store
        .scaled(a.queue_limit.max(1))
        .map(|o| stella_store::ScaledOptions {
            retention_days: a.retention_days,
            ..o
        });
    let db = match &a.db {
        Some(db) => {
            if !db.exists() {
                anyhow::bail!(
                    "{}: no vulnerability DB there\nhint: build one with `stella db update --db {0}` (or `stella db import --db {0} FEEDS…` offline), or leave --db out to start on the bundled snapshot",
                    db.display()
                );
            }
            db.clone()
        }
        None => bundled_db(&a.data)?,
    };
    let db_note = a.db.is_none().then(|| {
        "scanned against the bundled advisory snapshot, which is old and frozen (Alpine secdb to 2020, Debian tracker to 2023-03, PyPI to 2024-10); run `stella db update --db stella.db` and `stella serve --db stella.db` for current data".to_string()
    });
    // checked here for file:line errors; Core records them as a policy version
    let policy_files = if a.policy.is_empty() {
        Vec::new()
    } else {
        crate::policy_cmd::load_set(&a.policy)?;
        a.policy
            .iter()
            .map(|p| {
                let name = p.file_name().map_or_else(
                    || p.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                Ok((name, fs_err::read_to_string(p)?))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(stella_core::tls_config(c, k)?),
        _ => None,
    };
    init_logs(&a.log_format)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let config = |issuer: String,
                  db: std::path::PathBuf,
                  db_note: Option<String>,
                  policy_files: Vec<(String, String)>|
     -> anyhow::Result<stella_core::Config> {
        Ok(stella_core::Config {
            data: a.data.clone(),
            db,
            db_note,
            max_body: a.max_body_mib << 20,
            scan_memory: a.scan_memory_mib << 20,
            queue_limit: a.queue_limit.max(1),
            policy_files,
            rego_runner: crate::policy_cmd::sandbox_runner()?,
            fail_on: a.fail_on.clone(),
            issuer,
            anonymous: a.anonymous,
            insecure_registry: a.insecure_registry,
            registry_username: a.registry_username.clone(),
            registry_password: a.registry_password.clone(),
            workers: a.workers,
            request_timeout: std::time::Duration::from_secs(a.request_timeout_secs.max(1)),
            header_timeout: std::time::Duration::from_secs(a.header_timeout_secs.max(1)),
            schedule: stella_core::scheduler::Settings {
                // `--feeds off`: no feed job at all (air-gapped sites import kits instead)
                feeds: a.feeds.clone().filter(|f| f.as_os_str() != "off"),
                default_feeds: a.feeds.is_none(),
                feeds_cron: (a.feeds_cron != "off").then(|| a.feeds_cron.clone()),
                rescan_cron: a.rescan_cron.clone(),
                jitter_secs: a.schedule_jitter_secs,
                retries: a.job_retries,
                backoff_secs: a.job_backoff_secs,
                rescan_images: a.rescan_images.clone(),
                rescan_max_age_days: Some(a.rescan_max_age_days),
                rescan_labels: a
                    .rescan_labels
                    .iter()
                    .map(|l| {
                        l.split_once('=')
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .with_context(|| format!("--rescan-label `{l}`: write KEY=VALUE"))
                    })
                    .collect::<anyhow::Result<_>>()?,
                webhook: a.webhook.clone(),
                webhook_secret: a.webhook_secret.clone(),
                db_pubkey: a.db_pubkey.clone(),
            },
            scaled: scaled.clone(),
            result_cache_bytes: a.result_cache_mib << 20,
            kek_file: a.kek_file.clone(),
            policy_errors_pass: a.policy_errors == "pass",
            lease: std::time::Duration::from_secs(a.lease_secs.max(1)),
            kit_keys: a.kit_key.clone(),
            installation: a.installation.clone(),
        })
    };
    if worker {
        // the policy and keys come from the store the replicas share
        let core = stella_core::Core::open(config(String::new(), db, db_note, Vec::new())?)
            .context("cannot start the worker")?;
        let core = Arc::new(core);
        core.start_sync()?;
        core.start_db_watch()?;
        let workers = core.start_workers()?;
        eprintln!(
            "stella worker: {} workers on {}",
            workers.len(),
            a.store.redis_prefix
        );
        rt.block_on(shutdown_signal());
        eprintln!("stella worker: stopping after the scans in progress");
        core.stop_workers();
        for w in workers {
            let _ = w.join();
        }
        return Ok(exit::OK);
    }
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        let issuer = a
            .issuer
            .clone()
            .unwrap_or_else(|| {
                let scheme = if tls.is_some() { "https" } else { "http" };
                format!("{scheme}://{addr}")
            });
        let core = stella_core::Core::open(config(issuer, db, db_note, policy_files)?)?;
        let core = Arc::new(core);
        core.start_sync()?;
        core.start_db_watch()?;
        let workers = if a.no_workers {
            Vec::new()
        } else {
            core.start_workers()?
        };
        core.start_scheduler(Arc::new(stella_core::scheduler::SystemClock), true)
            .context("the scheduler")?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        eprintln!(
            "stella serve: listening on {scheme}://{addr} (data {})",
            a.data.display()
        );
        if let Some(p) = core.bootstrap_secret() {
            eprintln!(
                "stella serve: first start: created the client `admin` (scope admin); its secret is in {}\nhint: stella token get --server {scheme}://{addr} --client-id admin --client-secret-file {}",
                p.display(),
                p.display()
            );
        }
        let shutdown = async {
            shutdown_signal().await;
            eprintln!("stella serve: shutting down after the requests in flight");
        };
        let served = stella_core::serve(listener, core.clone(), tls, shutdown)
            .await
            .context("the server failed");
        // queued jobs stay queued; a job in progress finishes (or is resumed on the next start)
        core.stop_workers();
        for w in workers {
            let _ = w.join();
        }
        served
    })?;
    Ok(exit::OK)
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Request logs on standard error: JSON lines by default; `STELLA_LOG` filters
/// (`info` by default, `warn` to drop request lines).
fn init_logs(format: &str) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STELLA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let r = match format {
        "json" => b.json().flatten_event(true).try_init(),
        "text" => b.with_ansi(false).try_init(),
        other => anyhow::bail!("--log-format {other}: use json or text"),
    };
    r.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}

/// The advisory snapshot compiled into the binary (crates/stella-cli/snapshot/SOURCES.md).
const SNAPSHOT: &[u8] = include_bytes!("../snapshot/advisories.zip");
/// When the snapshot was taken: the DB says so, and scans warn that it is old.
const SNAPSHOT_DATE: &str = "2026-11-29T00:00:00Z";

/// The bundled snapshot as a DB in the data directory, compiled on first start (and again
/// when a new binary bundles another snapshot).
fn bundled_db(data: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let db = data.join("bundled-advisories.db");
    let marker = data.join("bundled-advisories.id");
    let id = format!("{:016x}", stella_sbom::hash::Fnv64::of(SNAPSHOT));
    if db.exists() && std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == id) {
        return Ok(db);
    }
    eprintln!(
        "stella serve: no --db given; compiling the bundled advisory snapshot (Alpine secdb, Debian tracker, PyPI OSV, KEV, EPSS; frozen, so scans will say it is old) into {}",
        db.display()
    );
    // private from the start: the store, its secrets and the key-encryption key go here too
    stella_store::private_dir(data)?;
    let tmp = data.join(".snapshot");
    let _ = std::fs::remove_dir_all(&tmp);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(SNAPSHOT))
        .context("the bundled snapshot is unreadable")?;
    let mut roots = std::collections::BTreeSet::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i)?;
        // our own archive, but never a path outside the scratch directory
        let Some(rel) = f.enclosed_name() else {
            anyhow::bail!("the bundled snapshot names a path outside its directory");
        };
        if f.is_dir() {
            continue;
        }
        if let Some(first) = rel.components().next() {
            roots.insert(tmp.join(first.as_os_str()));
        }
        let out = tmp.join(&rel);
        fs_err::create_dir_all(out.parent().unwrap_or(&tmp))?;
        let mut w = fs_err::File::create(&out)?;
        std::io::copy(&mut f, &mut w)?;
    }
    let mut b = stella_advisory::DbBuilder::new();
    let paths: Vec<std::path::PathBuf> = roots.into_iter().collect();
    stella_advisory::import::import(&mut b, None, &paths, SNAPSHOT_DATE)
        .context("cannot compile the bundled snapshot")?;
    let part = data.join("bundled-advisories.db.part");
    b.write(&part, SNAPSHOT_DATE)?;
    fs_err::rename(&part, &db)?;
    fs_err::write(&marker, format!("{id}\n"))?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(db)
}
