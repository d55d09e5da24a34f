//! `stella serve`: Stella Core on this machine.

use std::sync::Arc;

use anyhow::Context as _;

use crate::cli::ServeArgs;
use crate::exit;

pub(crate) fn run(a: ServeArgs) -> anyhow::Result<u8> {
    if !a.db.exists() {
        anyhow::bail!(
            "{}: no vulnerability DB there\nhint: build one with `stella db update --db {0}` (or `stella db import --db {0} FEEDS…` offline)",
            a.db.display()
        );
    }
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
    rt.block_on(async move {
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
        let core = stella_core::Core::open(stella_core::Config {
            data: a.data.clone(),
            db: a.db.clone(),
            max_body: a.max_body_mib << 20,
            queue_limit: 10_000,
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
        })?;
        let core = Arc::new(core);
        let workers = core.start_workers()?;
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
