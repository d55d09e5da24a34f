//! Stella Core's REST API: SBOMs in, scan results and verdicts out, every scan kept in the
//! embedded store. The routes of DESIGN.md §4 arrive issue by issue; this is the scan path.
//!
//! Traps: scanning is CPU work and runs on the blocking pool, never on the async workers;
//! every error is `application/problem+json` with a `detail` that says what to do, and bad
//! input is a 4xx, never a 500; bodies are limited before they are read.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// The OpenAPI 3.1 document of the routes Core serves.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// How Core runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory (the embedded store).
    pub data: std::path::PathBuf,
    /// The vulnerability DB.
    pub db: std::path::PathBuf,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Jobs the queue holds at most.
    pub queue_limit: u64,
    /// The policy that decides verdicts, if any.
    pub policy: Option<stella_policy::PolicySet>,
    /// `--fail-on` for every scan.
    pub fail_on: Option<String>,
}

/// Why Core could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store.
    #[error(transparent)]
    Store(#[from] stella_store::Error),
    /// The vulnerability DB.
    #[error(transparent)]
    Db(#[from] stella_advisory::Error),
}

/// A running Core's shared state.
pub struct Core {
    store: stella_store::Store,
    db: stella_advisory::Db,
    config: Config,
    /// Scans running at once: one per core (more only adds threads, memory and contention).
    scans: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("config", &self.config)
            .finish()
    }
}

/// An RFC 7807 problem.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
}

impl Problem {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            title,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

fn internal(e: impl std::fmt::Display) -> Problem {
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error",
        format!("{e}; nothing stored was lost, try again"),
    )
}

impl Core {
    /// Opens the store and the DB.
    pub fn open(config: Config) -> Result<Core, Error> {
        let store = stella_store::Store::open(&config.data, config.queue_limit)?;
        let db = stella_advisory::Db::open(&config.db)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Core {
            store,
            db,
            config,
            scans: tokio::sync::Semaphore::new(cores),
        })
    }

    /// Scans an SBOM and stores the result.
    fn scan_sbom(
        &self,
        body: &[u8],
        hint: Option<&str>,
        image: Option<&str>,
    ) -> Result<(String, Vec<u8>), Problem> {
        let format = match hint {
            Some(h) => Some(stella_sbom::Format::from_hint(h).ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "Unknown SBOM type",
                    format!("X-Stella-Sbom-Type: `{h}` is not a format Stella reads (cyclonedx-json, cyclonedx-xml, spdx-json, spdx-tag-value, spdx3-json, syft-json, trivy-json); leave the header out to have it detected"),
                )
            })?),
            None => None,
        };
        let read = stella_sbom::read(body, format).map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "Unreadable SBOM",
                format!("the request body is not an SBOM Stella reads: {e}"),
            )
        })?;
        let reference = image
            .map(str::to_string)
            .or_else(|| read.sbom.metadata.target.clone())
            .unwrap_or_else(|| "sbom".into());
        let input = stella_scan::input_from_sbom(&read, "request body");
        let opts = stella_scan::Options {
            fail_on: self.config.fail_on.clone(),
            db_max_age_days: 7,
            db_hint: self.config.db.display().to_string(),
            now: stella_sbom::now(),
            policy: self.config.policy.clone(),
            ..stella_scan::Options::default()
        };
        let report = stella_scan::scan(
            &self.db,
            input,
            stella_scan::Target {
                kind: "sbom".into(),
                reference: reference.clone(),
                digest: None,
            },
            &opts,
        )
        .map_err(|e| match e {
            stella_scan::Error::Policy(p) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Policy failed",
                p.to_string(),
            ),
            other => internal(other),
        })?;
        // scan ids derive from the content; every request's result is kept under its own key
        let key = format!("{}-{}", report.scan_id, unique_suffix());
        // compact, serialised once: stored and answered with the same bytes (pretty-printing
        // a large result cost more than matching it)
        let mut json = Vec::with_capacity(1024 + 1024 * report.findings.len());
        serde_json::to_writer(&mut json, &report).map_err(internal)?;
        self.store
            .put_scan(&key, &reference, &report.created_at, &json)
            .map_err(internal)?;
        Ok((key, json))
    }
}

/// A suffix no other scan of this Core has: the time in nanoseconds and a counter.
fn unique_suffix() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{nanos:x}{n:04x}")
}

/// The routes.
pub fn router(core: Arc<Core>) -> Router {
    let max = core.config.max_body;
    let api = Router::new()
        .route("/scan", post(post_scan))
        .route("/scans", get(list_scans))
        .route("/scans/{id}", get(get_scan));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi))
        // the seed's unversioned path
        .route("/scan", post(post_scan))
        .nest("/api/v1", api)
        .fallback(|| async {
            Problem::new(
                StatusCode::NOT_FOUND,
                "Not found",
                "no such route; the API is described at /openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(max))
        .with_state(core)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn readyz(State(core): State<Arc<Core>>) -> Response {
    match core.store.queue_depth() {
        Ok(_) => "ready\n".into_response(),
        Err(e) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready",
            format!("the store cannot be read: {e}"),
        )
        .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct ScanParams {
    wait: Option<bool>,
    image: Option<String>,
}

async fn post_scan(
    State(core): State<Arc<Core>>,
    Query(q): Query<ScanParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    if body.is_empty() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "Empty body",
            "send an SBOM (CycloneDX, SPDX, Syft or Trivy JSON) as the request body",
        ));
    }
    let hint = headers
        .get("x-stella-sbom-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let permit = core.scans.acquire().await.map_err(internal)?;
    let c = core.clone();
    let image = q.image.clone();
    let (key, json) =
        tokio::task::spawn_blocking(move || c.scan_sbom(&body, hint.as_deref(), image.as_deref()))
            .await
            .map_err(internal)??;
    drop(permit);
    let location = format!("/api/v1/scans/{key}");
    if q.wait.unwrap_or(false) {
        let mut r = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::CONTENT_LOCATION, v);
        }
        return Ok(r);
    }
    let mut r = (
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "id": key, "location": location }).to_string(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

async fn get_scan(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    match core.store.get_scan(&id).map_err(internal)? {
        Some(json) => Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response()),
        None => Err(Problem::new(
            StatusCode::NOT_FOUND,
            "No such scan",
            format!("there is no scan `{id}`; list an image's scans with /api/v1/scans?image=REF"),
        )),
    }
}

#[derive(serde::Deserialize)]
struct ListParams {
    image: Option<String>,
}

async fn list_scans(
    State(core): State<Arc<Core>>,
    Query(q): Query<ListParams>,
) -> Result<Response, Problem> {
    let Some(image) = q.image else {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "Missing image",
            "say which image: /api/v1/scans?image=REF",
        ));
    };
    let scans: Vec<serde_json::Value> = core
        .store
        .scans_of(&image)
        .map_err(internal)?
        .into_iter()
        .map(|(created, id)| serde_json::json!({ "id": id, "createdAt": created }))
        .collect();
    Ok(axum::Json(serde_json::json!({ "image": image, "scans": scans })).into_response())
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    core: Arc<Core>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(core))
        .with_graceful_shutdown(shutdown)
        .await
}
