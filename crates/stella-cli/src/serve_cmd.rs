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
    let policy = if a.policy.is_empty() {
        None
    } else {
        Some(crate::policy_cmd::load_set(&a.policy)?)
    };
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
            .unwrap_or_else(|| format!("http://{addr}"));
        let core = stella_core::Core::open(stella_core::Config {
            data: a.data.clone(),
            db: a.db.clone(),
            max_body: a.max_body_mib << 20,
            queue_limit: 10_000,
            policy,
            fail_on: a.fail_on.clone(),
            issuer,
            anonymous: a.anonymous,
            insecure_registry: a.insecure_registry,
            registry_username: a.registry_username.clone(),
            registry_password: a.registry_password.clone(),
            workers: a.workers,
        })?;
        let core = Arc::new(core);
        let workers = core.start_workers()?;
        eprintln!(
            "stella serve: listening on http://{addr} (data {})",
            a.data.display()
        );
        if let Some(p) = core.bootstrap_secret() {
            eprintln!(
                "stella serve: first start: created the client `admin` (scope admin); its secret is in {}\nhint: stella token get --server http://{addr} --client-id admin --client-secret-file {}",
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
        let served = stella_core::serve(listener, core.clone(), shutdown)
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
