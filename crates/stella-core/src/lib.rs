//! Stella Core's REST API: SBOMs in, scan results and verdicts out, every scan kept in the
//! embedded store, every caller identified by an EdDSA-signed token and held to a daily quota.
//!
//! Traps: scanning is CPU work and runs on Core's scan slots (`slots`), never on the async
//! workers (queued jobs on worker threads, other blocking work on tokio's blocking pool);
//! every error is `application/problem+json` with a `detail` that says what to do, and bad
//! input is a 4xx, never a 500; bodies are limited before they are read.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

mod admin;
mod attest;
mod auth;
mod budget;
mod cache;
pub mod feeds;
pub mod identity;
mod images;
mod live;
pub mod metrics;
mod ouk;
mod policy;
mod preview;
mod problem;
mod quota;
mod scan;
pub mod scheduler;
mod server;
mod slots;
mod tenants;
mod ui;
mod vulns;

pub use auth::{Caller, now_secs};
pub use problem::Problem;
use problem::internal;

/// The OpenAPI 3.1 document of the routes Core serves.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// How Core runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory (the embedded store).
    pub data: std::path::PathBuf,
    /// The vulnerability DB.
    pub db: std::path::PathBuf,
    /// A warning every scan carries about the DB (the bundled snapshot is frozen).
    pub db_note: Option<String>,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Memory scans may take at once, in bytes (see `budget`): scans beyond it wait.
    pub scan_memory: usize,
    /// Jobs the queue holds at most.
    pub queue_limit: u64,
    /// Policy files (name, text) given at start: recorded as a new version when they differ
    /// from the active one.
    pub policy_files: Vec<(String, String)>,
    /// How Rego policies run (a sandboxed child process in `stella serve`).
    pub rego_runner: stella_policy::rego::Runner,
    /// `--fail-on` for every scan.
    pub fail_on: Option<String>,
    /// Whether a scan whose policy cannot be evaluated passes by `fail_on` alone (fail-open)
    /// instead of getting the verdict `ERROR` (fail-closed, the default).
    pub policy_errors_pass: bool,
    /// The URL tokens name as their issuer (`iss`), also the base of discovery.
    pub issuer: String,
    /// Whether callers without a token may scan (33 scans a day per address).
    pub anonymous: bool,
    /// Allow pulling from plain-HTTP registries on this machine.
    pub insecure_registry: bool,
    /// Credentials for pulling images (basic auth or a token service).
    pub registry_username: Option<String>,
    /// Password or token for `registry_username`.
    pub registry_password: Option<String>,
    /// Workers taking queued scans (default: the number of cores).
    pub workers: usize,
    /// How long one request may take.
    pub request_timeout: std::time::Duration,
    /// How long a client may take to send its request headers (slow clients are dropped).
    pub header_timeout: std::time::Duration,
    /// The feed merge and re-scan jobs.
    pub schedule: scheduler::Settings,
    /// Redis and PostgreSQL shared with other replicas and workers; `None`: the embedded
    /// store in `data`.
    pub scaled: Option<stella_store::ScaledOptions>,
    /// Memory for results reused by identical requests (0: never reuse, here or, scaled
    /// out, from other replicas).
    pub result_cache_bytes: usize,
    /// Where the key-encryption key is (`None`: `STELLA_KEK`, else `DATA/kek.key`).
    pub kek_file: Option<std::path::PathBuf>,
    /// How long a worker holds a job without renewing it (it renews a quarter of the way);
    /// a killed worker's job goes to another worker after it.
    pub lease: std::time::Duration,
    /// Public keys (PEM files) an Offline Update Kit posted to `/api/v1/ouk` must be signed
    /// with; none: kits are refused.
    pub kit_keys: Vec<std::path::PathBuf>,
    /// This installation's id, for kits built for one installation.
    pub installation: Option<String>,
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
    /// The stored keys or clients.
    #[error("identity: {0}")]
    Auth(stella_auth::Error),
    /// The data directory.
    #[error("{0}")]
    Io(String),
}

impl From<stella_auth::Error> for Error {
    // not a `source`: the message already says it, and a chain would say it twice
    fn from(e: stella_auth::Error) -> Error {
        Error::Auth(e)
    }
}

/// A running Core's shared state.
pub struct Core {
    store: stella_store::Store,
    /// Whether the store reports its commits to [`metrics::committed`] (the embedded one).
    commits_observed: bool,
    /// The DB scans use; swapped whole by POST /feeds/update (scans keep the one they began
    /// with).
    db: std::sync::RwLock<Arc<stella_advisory::Db>>,
    config: Config,
    /// Scans running at once: two per core, so one computes while another waits for its
    /// commit's fsync (on two cores, 4 slots gave a lower p95 than 2 or 3; more only adds
    /// threads, memory and contention).
    scans: slots::Slots,
    /// The memory scans in flight may take.
    budget: budget::Budget,
    /// Signing keys.
    keys: std::sync::RwLock<stella_auth::Keyring>,
    /// What the signing keys are sealed under in the store.
    kek: stella_auth::Kek,
    /// Tokens verified lately (see [`auth::Verified`]).
    verified: auth::Verified,
    /// Clients and users.
    principals: std::sync::RwLock<stella_auth::Directory>,
    /// Where the first admin secret was written, on the start that created it.
    bootstrap: Option<std::path::PathBuf>,
    /// Live progress, worker wake-ups, back-pressure.
    live: scan::Live,
    /// Told of every scan this replica stores (`GET /events`).
    stored: tokio::sync::broadcast::Sender<Arc<live::Stored>>,
    /// Each tenant's policy versions, API mutes, and the set its scans use.
    policy: policy::Policies,
    /// Results of identical requests, reused.
    results: cache::Cache,
    /// Set when Core shuts down: workers finish their job and stop.
    stopping: std::sync::atomic::AtomicBool,
    /// The scheduler, once started.
    scheduler: std::sync::OnceLock<Arc<scheduler::Scheduler>>,
    /// The DB file loaded last (see [`Core::start_db_watch`]).
    db_file: std::sync::Mutex<Option<FileId>>,
    /// Stored results' counts and verdicts, for the dashboard (results never change).
    headlines: std::sync::Mutex<std::collections::HashMap<String, images::Headline>>,
}

/// A file's identity: a file renamed into place has another inode or modification time.
type FileId = (u64, u64, i64, i64, u64);

fn file_id(path: &std::path::Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt as _;
    let m = std::fs::metadata(path).ok()?;
    Some((m.dev(), m.ino(), m.mtime(), m.mtime_nsec(), m.len()))
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("config", &self.config)
            .finish()
    }
}

impl Core {
    /// Opens the store and the DB.
    pub fn open(config: Config) -> Result<Core, Error> {
        let store = match &config.scaled {
            Some(o) => {
                // the data directory still holds local files (the first admin secret, the
                // key-encryption key, a DB)
                stella_store::private_dir(&config.data)?;
                stella_store::Store::scaled(o)?
            }
            None => stella_store::Store::open(&config.data, config.queue_limit)?,
        };
        let commits_observed = store.observe_commits(metrics::committed);
        let db = stella_advisory::Db::open(&config.db)?;
        let config_db = config.db.clone();
        let cache_bytes = config.result_cache_bytes;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let kek = identity::resolve_kek(&config.data, config.kek_file.as_deref())?;
        let (keys, principals, bootstrap) =
            identity::load_identity(&store, &kek, &config.data, &config.issuer)?;
        let policy = policy::Policies::default();
        {
            // `--policy` files are the default tenant's (the quick start's one team)
            let default = stella_store::Tenant::default_tenant();
            let state = Core::load_policy(
                &store,
                &default,
                &config.policy_files,
                &config.rego_runner,
                config.fail_on.is_none(),
            )?;
            if let Ok(mut m) = policy.states.write() {
                m.insert(default, Arc::new(state));
            }
        }
        Ok(Core {
            store,
            commits_observed,
            db: std::sync::RwLock::new(Arc::new(db)),
            budget: budget::Budget::new(config.scan_memory),
            config,
            scans: slots::Slots::new(2 * cores)
                .map_err(|e| Error::Io(format!("cannot start the scan threads: {e}")))?,
            keys: std::sync::RwLock::new(keys),
            kek,
            verified: auth::Verified::default(),
            principals: std::sync::RwLock::new(principals),
            bootstrap,
            live: scan::Live::new(),
            stored: live::channel(),
            results: cache::Cache::new(cache_bytes),
            policy,
            stopping: std::sync::atomic::AtomicBool::new(false),
            scheduler: std::sync::OnceLock::new(),
            db_file: std::sync::Mutex::new(file_id(&config_db)),
            headlines: std::sync::Mutex::default(),
        })
    }

    /// Starts the scheduler on `clock` (a thread that ticks until Core stops; `tick` is
    /// false for tests that drive it themselves).
    pub fn start_scheduler(
        self: &Arc<Self>,
        clock: Arc<dyn scheduler::Clock>,
        tick: bool,
    ) -> Result<Arc<scheduler::Scheduler>, Error> {
        let s = Arc::new(
            scheduler::Scheduler::new(self.clone(), clock).map_err(|e| Error::Io(e.to_string()))?,
        );
        if self.scheduler.set(s.clone()).is_err() {
            return Err(Error::Io("the scheduler is running already".into()));
        }
        if tick {
            s.clone()
                .spawn()
                .map_err(|e| Error::Io(format!("cannot start the scheduler: {e}")))?;
        }
        Ok(s)
    }

    /// On a shared store, follows what other replicas change — keys, clients and users,
    /// policy versions and mutes — by reading them again whenever the store's documents
    /// change (checked every second). Nothing to do on the embedded store.
    pub fn start_sync(self: &Arc<Self>) -> Result<(), Error> {
        if !self.store.shared() {
            return Ok(());
        }
        let mut seen = self.store.docs_generation()?;
        self.every_second("stella-sync", move |core| {
            let Ok(now) = core.store.docs_generation() else {
                return;
            };
            if now != seen {
                match core.reload() {
                    Ok(()) => seen = now,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read what another replica changed");
                    }
                }
            }
        })
    }

    /// Runs `tick` on a thread of its own once a second until Core stops (or is dropped).
    fn every_second(
        self: &Arc<Self>,
        name: &str,
        mut tick: impl FnMut(&Core) + Send + 'static,
    ) -> Result<(), Error> {
        let core = Arc::downgrade(self);
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    let Some(core) = core.upgrade() else { return };
                    if core.stopping.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    tick(&core);
                }
            })
            .map_err(|e| Error::Io(format!("cannot start {name}: {e}")))?;
        Ok(())
    }

    /// Reads keys, principals and policy from the store again.
    fn reload(&self) -> Result<(), Error> {
        let (keys, principals) = identity::load(&self.store, &self.kek)?;
        let poisoned = || Error::Io("a lock is poisoned".into());
        let loaded: Vec<stella_store::Tenant> = self
            .policy
            .states
            .read()
            .map_err(|_| poisoned())?
            .keys()
            .cloned()
            .collect();
        let mut fresh = std::collections::HashMap::new();
        for t in loaded {
            let state = Core::load_policy(
                &self.store,
                &t,
                &[],
                &self.config.rego_runner,
                self.config.fail_on.is_none(),
            )?;
            fresh.insert(t, Arc::new(state));
        }
        *self.keys.write().map_err(|_| poisoned())? = keys;
        // another replica may have revoked keys: check every token again
        self.verified.clear();
        *self.principals.write().map_err(|_| poisoned())? = principals;
        self.policy
            .states
            .write()
            .map_err(|_| poisoned())?
            .extend(fresh);
        Ok(())
    }

    pub(crate) fn scheduler(&self) -> Result<Arc<scheduler::Scheduler>, problem::Problem> {
        self.scheduler.get().cloned().ok_or_else(|| {
            problem::Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Scheduler not running",
                "this Core runs no scheduler",
            )
        })
    }

    /// Opens, checks and swaps in the DB at `path` (renamed over the configured DB path
    /// first when it is elsewhere); scans in flight keep the DB they began with.
    pub(crate) fn install_db(&self, path: &std::path::Path) -> Result<(String, String), String> {
        // one install at a time, and the watcher sees the file this one put in place
        let mut file = self.db_file.lock().map_err(|e| e.to_string())?;
        let db = stella_advisory::Db::open(path).map_err(|e| e.to_string())?;
        db.verify().map_err(|e| e.to_string())?;
        if path != self.config.db {
            std::fs::rename(path, &self.config.db).map_err(|e| {
                format!(
                    "cannot put the DB in place at {}: {e}",
                    self.config.db.display()
                )
            })?;
        }
        db.prefault();
        let built = db.manifest().built.clone();
        let digest = db.digest();
        *self.db.write().map_err(|e| e.to_string())? = Arc::new(db);
        *file = file_id(&self.config.db);
        Ok((digest, built))
    }

    /// Watches the DB file: when it is replaced on disk (`stella db update` on this host, or
    /// another replica's feed merge on a shared volume), Core loads it within a second, as
    /// `POST /feeds/update` would. A file that does not open is reported once and the DB in
    /// use stays.
    pub fn start_db_watch(self: &Arc<Self>) -> Result<(), Error> {
        self.every_second("stella-db-watch", |core| {
            let now = file_id(&core.config.db);
            let changed = core.db_file.lock().is_ok_and(|mut f| {
                let changed = now.is_some() && *f != now;
                if changed {
                    // tried once per file, whatever the outcome
                    *f = now;
                }
                changed
            });
            if changed {
                match core.install_db(&core.config.db) {
                    Ok((digest, built)) => {
                        tracing::info!(%digest, %built, "the DB file was replaced; loaded it");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the DB file was replaced by one that does not load; the DB in use stays");
                    }
                }
            }
        })
    }

    /// Starts the workers (each an OS thread: scans are CPU work). Jobs an earlier run left
    /// running are released first, so they run again at once.
    pub fn start_workers(self: &Arc<Self>) -> Result<Vec<std::thread::JoinHandle<()>>, Error> {
        let resumed = self.store.release_all()?;
        if resumed > 0 {
            tracing::info!(resumed, "scans interrupted by the last stop run again");
        }
        let run = unique_suffix();
        let n = if self.config.workers == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            self.config.workers
        };
        (0..n)
            .map(|i| {
                let core = self.clone();
                let name = format!("worker-{run}-{i}");
                std::thread::Builder::new()
                    .name(format!("stella-worker-{i}"))
                    .spawn(move || core.work(name))
                    .map_err(|e| Error::Io(format!("cannot start a worker: {e}")))
            })
            .collect()
    }

    /// Tells the workers to stop after their current job.
    pub fn stop_workers(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.live.wake_workers();
    }

    /// Where the first admin client's secret was written, when this start created it.
    pub fn bootstrap_secret(&self) -> Option<&std::path::Path> {
        self.bootstrap.as_deref()
    }

    /// Records who did what in the caller's tenant (failures to record are not the caller's
    /// problem).
    pub(crate) fn audit(&self, caller: &Caller, action: &str, detail: &str) {
        let e = Audit::by(caller, action, detail);
        let _ = self.store.audit(Some(caller.tenant()), &e.encode());
    }

    /// Records an installation-wide action (tenants, keys, feeds, jobs): only installation
    /// admins read it.
    pub(crate) fn audit_installation(&self, caller: &Caller, action: &str, detail: &str) {
        let e = Audit::by(caller, action, detail);
        let _ = self.store.audit(None, &e.encode());
    }
}

/// An installation-wide entry by a named actor, encoded.
pub(crate) fn audit_entry(who: &str, action: &str, detail: &str) -> Vec<u8> {
    Audit::of(who, action, detail).encode()
}

/// One audit entry: who (and from where) did what, in which tenant, with what outcome.
#[derive(Debug, Clone)]
pub(crate) struct Audit<'a> {
    pub(crate) who: String,
    pub(crate) tenant: Option<&'a str>,
    pub(crate) address: Option<&'a str>,
    pub(crate) action: &'a str,
    pub(crate) detail: &'a str,
    /// `ok`, `denied` or `failed`.
    pub(crate) outcome: &'a str,
}

impl<'a> Audit<'a> {
    /// A successful action of `caller` in its tenant.
    pub(crate) fn by(caller: &'a Caller, action: &'a str, detail: &'a str) -> Audit<'a> {
        Audit {
            who: caller.who(),
            tenant: Some(caller.tenant().as_str()),
            address: caller.address(),
            action,
            detail,
            outcome: "ok",
        }
    }

    /// A successful action of a named actor (`stella token`, `scheduler`).
    pub(crate) fn of(who: &'a str, action: &'a str, detail: &'a str) -> Audit<'a> {
        Audit {
            who: who.to_string(),
            tenant: None,
            address: None,
            action,
            detail,
            outcome: "ok",
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = serde_json::json!({
            "at": stella_sbom::rfc3339(auth::now_secs() as i64),
            "who": self.who,
            "action": self.action,
            "detail": self.detail,
            "outcome": self.outcome,
        });
        if let Some(t) = self.tenant {
            v["tenant"] = t.into();
        }
        if let Some(a) = self.address {
            v["address"] = a.into();
        }
        serde_json::to_vec(&v).unwrap_or_default()
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
    // everything a token (or anonymous access) is needed for
    let protected = Router::new()
        .route("/scan", post(scan::post_scan))
        .route("/scans", get(list_scans))
        .route("/scans/{id}", get(scan::get_scan))
        .route("/scans/{id}/events", get(scan::events))
        .route("/events", get(live::events))
        .route("/vulnerabilities/{id}", get(vulns::vulnerability))
        .route("/layers/missing", post(scan::layers_missing))
        .route(
            "/layers/{diff_id}/sbom",
            axum::routing::put(scan::put_layer).post(scan::put_layer),
        )
        .route("/quota", get(quota::quota))
        .route("/token/offline", post(auth::offline_token))
        .route("/policy", get(policy::get_policy).put(policy::put_policy))
        .route("/policy/default", get(policy::default_policy))
        .route("/policy/validate", post(policy::validate_policy))
        .route("/policy/preview", post(preview::preview))
        .route("/policy/history", get(policy::history))
        .route("/policy/activate", post(policy::activate))
        .route("/policy/mute", post(policy::mute))
        .route("/policy/mutes", get(policy::mutes))
        .route("/policy/mute/{id}", axum::routing::delete(policy::unmute))
        .route("/policy/export", get(policy::export))
        .route("/policy/import", post(policy::import))
        .route("/audit", get(audit_log))
        .route("/principals", get(admin::list).post(admin::add))
        .route(
            "/principals/{kind}/{name}",
            axum::routing::delete(admin::remove),
        )
        .route("/principals/{kind}/{name}/unlock", post(admin::unlock))
        .route("/keys/rotate", post(admin::rotate))
        .route("/attest", post(attest::attest))
        .route("/attest/keys/rotate", post(attest::rotate))
        .route("/ouk", post(ouk::import))
        .route("/tenants", get(tenants::list).post(tenants::add))
        .route(
            "/tenants/{id}",
            axum::routing::delete(tenants::remove).patch(tenants::update),
        )
        .route("/tenants/{id}/members", get(tenants::members))
        .route(
            "/tenants/{id}/members/{kind}/{name}",
            axum::routing::put(tenants::put_member).delete(tenants::remove_member),
        )
        .route("/feeds", get(feeds))
        .route("/feeds/update", post(feeds_update))
        .route("/jobs", get(scheduler::jobs))
        .route("/jobs/runs", get(scheduler::runs))
        .route("/jobs/{name}/run", post(scheduler::run_job))
        .route("/criticals", get(scheduler::criticals))
        .route("/scans/{id}/diff", get(scan::diff))
        .route("/images", get(images::images))
        .route("/stats", get(images::stats))
        .route("/images/rescan", post(images::rescan_image));
    let seed = Router::new()
        .route("/scan", post(scan::post_scan))
        .route("/layers/missing", post(scan::layers_missing))
        .route("/quota", get(quota::quota));
    let protected = Router::new()
        .nest("/api/v1", protected)
        .merge(seed)
        .route_layer(axum::middleware::from_fn_with_state(
            core.clone(),
            auth::authenticate,
        ));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_route))
        .route("/openapi.json", get(openapi))
        .route("/connect/token", post(auth::token))
        .route("/.well-known/openid-configuration", get(auth::discovery))
        .route("/jwks", get(auth::jwks))
        .route("/api/v1/attest/keys", get(attest::keys))
        .route("/", get(ui::root))
        .route("/ui/", get(ui::index))
        .route("/ui", get(ui::root))
        .route("/ui/{*path}", get(ui::asset))
        .route("/locales/{name}", get(ui::locale))
        .merge(protected)
        .fallback(|| async {
            Problem::not_found(
                "Not found",
                "no such route; the API is described at /openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(max))
        .layer(axum::middleware::from_fn_with_state(
            core.clone(),
            too_large,
        ))
        .layer(axum::middleware::from_fn_with_state(core.clone(), observe))
        .with_state(core)
}

/// Refuses a body whose announced length is over the limit before reading any of it (or
/// checking the token: a large upload costs the client, not Core). Chunked bodies are cut off
/// at the limit by `DefaultBodyLimit`.
async fn too_large(
    State(core): State<Arc<Core>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = announced.filter(|n| *n > core.config.max_body as u64) {
        let mut r = Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Body too large",
            format!(
                "the body has {n} bytes, over this server's limit of {} (`stella serve --max-body-mib`); send a smaller SBOM or use Delta-SBOM layer uploads",
                core.config.max_body
            ),
        )
        .into_response();
        // the rest of the body is not read: the connection cannot be reused
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    }
    next.run(req).await
}

/// Records every request's latency and status class, logs it, and bounds how long it may
/// take (a client trickling its body, a pull that hangs).
async fn observe(
    State(core): State<Arc<Core>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let family = metrics::family(req.uri().path());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let start = std::time::Instant::now();
    let resp = match tokio::time::timeout(core.config.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "Request timeout",
            format!(
                "the request took longer than {} s (`stella serve --request-timeout-secs`); send the body faster, or queue the scan (without ?wait=true) and follow its events",
                core.config.request_timeout.as_secs()
            ),
        )
        .into_response(),
    };
    let resp = as_problem(resp).await;
    let took = start.elapsed();
    metrics::REQUESTS[family].observe(took);
    let status = resp.status().as_u16();
    let class = (status / 100).clamp(1, 5) as usize - 1;
    metrics::STATUS[class].inc();
    let who = resp
        .extensions()
        .get::<Caller>()
        .map(Caller::who)
        .unwrap_or_default();
    tracing::info!(
        target: "stella::http",
        method = %method,
        path = %path,
        status,
        ms = took.as_secs_f64() * 1e3,
        who = %who,
        "request"
    );
    resp
}

/// Turns the framework's own rejections (a query string that does not parse, a method the
/// route does not have: plain text or nothing) into problem documents like every other error.
async fn as_problem(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/problem+json") || ct.starts_with("application/json") {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let detail = match String::from_utf8_lossy(&text).trim() {
        "" if status == StatusCode::METHOD_NOT_ALLOWED => {
            "this route does not take this method; see /openapi.json".to_string()
        }
        "" => status.canonical_reason().unwrap_or("error").to_string(),
        t => t.to_string(),
    };
    let mut r =
        Problem::new(status, status.canonical_reason().unwrap_or("Error"), detail).into_response();
    // keep what the framework said beyond the body (Allow, WWW-Authenticate…)
    for (k, v) in &parts.headers {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            r.headers_mut().insert(k.clone(), v.clone());
        }
    }
    r
}

async fn metrics_route(State(core): State<Arc<Core>>) -> Response {
    let depth = core.store.queue_depth().unwrap_or(0);
    let age = core.db().ok().and_then(|db| db_age(&db));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::render(
            depth,
            age,
            core.commits_observed,
            core.budget.reserved_kib() * 1024,
        ),
    )
        .into_response()
}

/// Seconds since the DB was built.
fn db_age(db: &stella_advisory::Db) -> Option<u64> {
    let built = &db.manifest().built;
    let days = stella_sbom::epoch_days(built)?;
    let t = built.get(11..19).and_then(|hms| {
        let mut p = hms.split(':').map(|x| x.parse::<u64>().ok());
        Some(p.next()?? * 3600 + p.next()?? * 60 + p.next()??)
    });
    let at = u64::try_from(days).ok()? * 86_400 + t.unwrap_or(0);
    Some(auth::now_secs().saturating_sub(at))
}

impl Core {
    /// The DB scans use now.
    pub(crate) fn db(&self) -> Result<Arc<stella_advisory::Db>, Problem> {
        Ok(self.db.read().map_err(internal)?.clone())
    }
}

#[derive(serde::Deserialize)]
struct AuditParams {
    from: Option<u64>,
    limit: Option<usize>,
}

/// `GET /audit` (admin): who did what and when, oldest first, from a sequence number.
async fn audit_log(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<AuditParams>,
) -> Result<Response, Problem> {
    // an installation admin reads every entry, a tenant's admin the tenant's
    let tenant = if caller.is_installation_admin() {
        None
    } else {
        caller.require(stella_auth::Action::Manage)?;
        Some(caller.tenant())
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let entries = core
        .store
        .audit_log(tenant, q.from.unwrap_or(0), limit)
        .map_err(crate::problem::store)?;
    let next = entries.last().map(|(seq, _)| seq + 1);
    let entries: Vec<serde_json::Value> = entries
        .into_iter()
        .map(|(seq, bytes)| {
            let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("seq".into(), seq.into());
            }
            v
        })
        .collect();
    Ok(axum::Json(serde_json::json!({ "entries": entries, "next": next })).into_response())
}

/// `GET /feeds`: the DB's feeds and how old they are.
async fn feeds(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Read)?;
    let db = core.db()?;
    let m = db.manifest();
    Ok(axum::Json(serde_json::json!({
        "db": core.config.db.display().to_string(),
        "digest": db.digest(),
        "built": m.built,
        "ageSeconds": db_age(&db),
        "vulnerabilities": m.vulnerabilities,
        "packages": m.packages,
        "kev": m.kev,
        "epss": m.epss,
        "feeds": m.feeds,
        "sources": core.feed_status(),
    }))
    .into_response())
}

/// `POST /feeds/update` (admin): loads the DB file again (after `stella db update` replaced
/// it, or an Offline Update Kit was imported); checked before it is swapped in.
async fn feeds_update(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    let c = core.clone();
    let (digest, built) = tokio::task::spawn_blocking(move || {
        c.install_db(&c.config.db).map_err(|e| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "DB not loaded",
                format!("{e}; the DB in use stays"),
            )
        })
    })
    .await
    .map_err(internal)??;
    core.audit_installation(&caller, "feeds.update", &format!("{digest} built {built}"));
    Ok(axum::Json(serde_json::json!({ "built": built, "digest": digest })).into_response())
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn readyz(State(core): State<Arc<Core>>) -> Response {
    let c = core.clone();
    let ready = tokio::task::spawn_blocking(move || {
        c.store.ready()?;
        c.store.queue_depth()
    })
    .await;
    match ready {
        Ok(Ok(_)) => "ready\n".into_response(),
        Ok(Err(e)) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready",
            format!("the store cannot be used: {e}"),
        )
        .into_response(),
        Err(e) => internal(e).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct ListParams {
    image: Option<String>,
}

async fn list_scans(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<ListParams>,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Read)?;
    let Some(image) = q.image else {
        return Err(Problem::bad_request(
            "Missing image",
            "say which image: /api/v1/scans?image=REF",
        ));
    };
    let c = core.clone();
    let tenant = caller.tenant().clone();
    let img = image.clone();
    // each scan's verdict and counts (read once per result, then kept): the image's timeline
    let scans = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for (created, id) in c
            .store
            .scans_of(&tenant, &img)
            .map_err(crate::problem::store)?
        {
            let head = c.headline(&tenant, &id)?.unwrap_or_default();
            out.push(serde_json::json!({
                "id": id, "createdAt": created, "verdict": head.status, "summary": head.summary,
            }));
        }
        Ok::<_, Problem>(out)
    })
    .await
    .map_err(internal)??;
    Ok(axum::Json(serde_json::json!({ "image": image, "scans": scans })).into_response())
}

pub use server::{TlsError, serve, tls_config};
