//! `GET /events`: a tenant's stream of stored scans (server-sent events), so the UI's lists
//! and dashboard update as results arrive instead of on reload.
//!
//! Traps: the stream carries only what this replica stored (scaled out, each browser hears
//! the replica it is connected to; the UI also refreshes on a timer); a slow reader that lags
//! behind the channel is told to reload (`event: lagged`), never handed a partial history.

use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use crate::Core;
use crate::auth::Caller;
use crate::problem::Problem;

/// A stored scan, as the stream tells it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Stored {
    #[serde(skip)]
    pub tenant: String,
    pub id: String,
    pub image: String,
    pub created_at: String,
    pub verdict: String,
    pub summary: stella_report::Summary,
}

/// The channel every replica-local store of a scan is told on.
pub(crate) fn channel() -> tokio::sync::broadcast::Sender<Arc<Stored>> {
    tokio::sync::broadcast::channel(1024).0
}

/// `GET /events`: `event: scan` with a [`Stored`] for every scan stored in the caller's
/// tenant from now on.
pub(crate) async fn events(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Read)?;
    let tenant = caller.tenant().as_str().to_string();
    let rx = core.stored.subscribe();
    let stream = futures_util::stream::unfold(
        (rx, tenant, core, false),
        |(mut rx, tenant, core, mut hello)| async move {
            if !hello {
                hello = true;
                let ev = Event::default().event("hello").data("{}");
                return Some((
                    Ok::<_, std::convert::Infallible>(ev),
                    (rx, tenant, core, hello),
                ));
            }
            loop {
                if core.stopping.load(std::sync::atomic::Ordering::Relaxed) {
                    return None;
                }
                // woken each second to notice a shutdown (a quiet tenant sends nothing)
                let m = tokio::select! {
                    m = rx.recv() => m,
                    _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                };
                match m {
                    Ok(s) if s.tenant == tenant => {
                        let data = serde_json::to_string(&*s).unwrap_or_default();
                        let ev = Event::default().event("scan").data(data);
                        return Some((Ok(ev), (rx, tenant, core, hello)));
                    }
                    Ok(_) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        let ev = Event::default()
                            .event("lagged")
                            .data(format!("{{\"missed\":{n}}}"));
                        return Some((Ok(ev), (rx, tenant, core, hello)));
                    }
                    Err(_) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}
