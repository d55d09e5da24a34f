//! The scan path: what a request asks for (an SBOM, or an image by its layers or by
//! reference), the durable job queue and its workers, live progress for `/events`, and the
//! Delta-SBOM layer routes.
//!
//! Traps: a request is read and checked before it is admitted against the quota or queued
//! (a typo costs no scan, and a queued job can only fail for reasons found later); `?wait`
//! scans run at once on a bounded pool and are not queued (the caller holds the connection and
//! retries if Core dies), queued scans are durable (the caller was promised a result); a layer
//! fragment is trusted only by the caller that uploaded it (its content cannot be checked
//! without the layer), while fragments Core catalogued itself serve everyone.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::problem::{Problem, internal};
use crate::quota::Admitted;
use crate::{Core, metrics};
use stella_sbom::hash::hex;

/// Layers one image may have at most.
const MAX_LAYERS: usize = 1000;

/// `{"image": {...}}`: scan an image by its layers (Delta-SBOM) or by reference (Core pulls it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageBody {
    image: ImageRequest,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ImageRequest {
    /// `registry/repo:tag`: the name scans are filed under; pulled when `layers` is absent.
    reference: Option<String>,
    /// The image's digest.
    digest: Option<String>,
    /// diffIDs, bottom first: compose the uploaded fragments.
    layers: Option<Vec<String>>,
    /// The platform to pull (`linux/amd64`).
    platform: Option<String>,
}

/// A request, read and checked, ready to scan or to queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Job {
    /// `tid` of the caller (its quota account).
    tid: String,
    /// The tenant the scan is filed under (its policy judges it, its fragments compose it);
    /// jobs queued before tenants existed are the default tenant's.
    #[serde(default = "default_tenant")]
    pub(crate) tenant: String,
    /// Who, for the audit log.
    pub(crate) who: String,
    /// From where, for the audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    /// `?image=` of the request.
    image: Option<String>,
    /// The SBOM type header.
    hint: Option<String>,
    /// An image request, or None for an SBOM in `body`.
    request: Option<ImageRequest>,
    /// When it was submitted (RFC 3339).
    submitted: String,
    /// `?labels=` of the request (re-scans can be limited to labelled images).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub(crate) labels: std::collections::BTreeMap<String, String>,
    #[serde(skip)]
    body: Bytes,
}

fn default_tenant() -> String {
    stella_store::Tenant::DEFAULT.to_string()
}

impl Job {
    /// The job's tenant (checked when it was made; a damaged one is refused).
    pub(crate) fn tenant(&self) -> Result<stella_store::Tenant, Problem> {
        stella_store::Tenant::new(&self.tenant).map_err(internal)
    }

    fn encode(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_default();
        v.push(b'\n');
        v.extend_from_slice(&self.body);
        v
    }

    pub(crate) fn decode(b: &[u8]) -> Option<Job> {
        let nl = b.iter().position(|&c| c == b'\n')?;
        let mut j: Job = serde_json::from_slice(&b[..nl]).ok()?;
        j.body = Bytes::copy_from_slice(&b[nl + 1..]);
        Some(j)
    }
}

impl Job {
    /// The same input, scanned again by the scheduler and filed under `image`.
    pub(crate) fn for_rescan(mut self, image: &str) -> Job {
        self.who = "scheduler".into();
        self.image = Some(image.to_string());
        self.submitted = stella_sbom::now();
        self
    }

    /// A stored input ([`Core::stored_input`]) as a job re-scanning `image`.
    pub(crate) fn for_stored(input: &[u8], image: &str) -> Result<Job, Problem> {
        Ok(Job::decode(input)
            .ok_or_else(|| internal("the stored scan input is unreadable"))?
            .for_rescan(image))
    }
}

fn sbom_format(hint: Option<&str>) -> Result<Option<stella_sbom::Format>, Problem> {
    let Some(h) = hint else {
        return Ok(None);
    };
    stella_sbom::Format::from_hint(h).map(Some).ok_or_else(|| {
        Problem::bad_request(
            "Unknown SBOM type",
            format!("X-Stella-Sbom-Type: `{h}` is not a format Stella reads (cyclonedx-json, cyclonedx-xml, spdx-json, spdx-tag-value, spdx3-json, syft-json, trivy-json); leave the header out to have it detected"),
        )
    })
}

fn read_sbom(body: &[u8], hint: Option<&str>) -> Result<stella_sbom::Read, Problem> {
    stella_sbom::read(body, sbom_format(hint)?).map_err(|e| {
        Problem::bad_request(
            "Unreadable SBOM",
            format!("the request body is not an SBOM Stella reads: {e}"),
        )
    })
}

/// Whether `s` is a diffID (`sha256:` and 64 lowercase hex digits): anything else is refused
/// before it reaches a key or a path.
pub(crate) fn is_diff_id(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn bad_diff_id(s: &str) -> Problem {
    let shown: String = s.chars().take(80).collect();
    Problem::bad_request(
        "Bad layer id",
        format!("`{shown}` is not a diffID (sha256: and 64 lowercase hex digits)"),
    )
}

/// The fragments a tenant's clients uploaded, for this cataloger set.
fn scope(tenant: &stella_store::Tenant) -> stella_store::LayerScope {
    stella_store::LayerScope::tenant(tenant, stella_catalog::CATALOGERS)
}

/// The fragments Core catalogued itself, for this cataloger set.
fn core_scope() -> stella_store::LayerScope {
    stella_store::LayerScope::core(stella_catalog::CATALOGERS)
}

/// What a running scan is doing, for `/events`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Progress {
    /// `queued`, `running`, `done`, `failed`.
    state: &'static str,
    /// The step (`pulling`, `cataloguing 2/5 layers`, `matching`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<String>,
    /// The verdict, once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<serde_json::Value>,
}

/// Live state shared by the workers and `/events`.
#[derive(Debug)]
pub(crate) struct Live {
    /// Steps of running jobs.
    steps: Mutex<HashMap<String, String>>,
    /// Wakes the workers when a job is queued.
    wake: (Mutex<u64>, Condvar),
    /// Tells `/events` streams something changed.
    changed: tokio::sync::broadcast::Sender<String>,
    /// `?wait` scans waiting for a slot (back-pressure).
    pub(crate) waiting: std::sync::atomic::AtomicU64,
}

impl Live {
    pub(crate) fn new() -> Live {
        Live {
            steps: Mutex::default(),
            wake: (Mutex::new(0), Condvar::new()),
            changed: tokio::sync::broadcast::channel(1024).0,
            waiting: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn step(&self, id: &str, step: &str) {
        if let Ok(mut s) = self.steps.lock() {
            s.insert(id.to_string(), step.to_string());
        }
        self.notify(id);
    }

    fn finish(&self, id: &str) {
        if let Ok(mut s) = self.steps.lock() {
            s.remove(id);
        }
        self.notify(id);
    }

    fn notify(&self, id: &str) {
        // no stream listening is no error
        let _ = self.changed.send(id.to_string());
    }

    pub(crate) fn wake_workers(&self) {
        if let Ok(mut n) = self.wake.0.lock() {
            *n += 1;
        }
        self.wake.1.notify_all();
    }

    /// Waits until woken or `d` passes.
    fn sleep(&self, d: std::time::Duration) {
        if let Ok(g) = self.wake.0.lock() {
            let seen = *g;
            let _ = self.wake.1.wait_timeout_while(g, d, |n| *n == seen);
        }
    }
}

impl Core {
    /// Reads and checks a request: an SBOM (parsed here, so a bad one is refused before it
    /// costs a scan) or an image request.
    fn prepare(
        &self,
        caller: &Caller,
        body: Bytes,
        hint: Option<String>,
        image: Option<String>,
        labels: std::collections::BTreeMap<String, String>,
    ) -> Result<(Job, Option<stella_sbom::Read>), Problem> {
        let mut job = Job {
            tid: caller.tid(),
            tenant: caller.tenant().as_str().to_string(),
            who: caller.who(),
            address: caller.address().map(str::to_string),
            image,
            hint,
            request: None,
            submitted: stella_sbom::now(),
            labels,
            body: Bytes::new(),
        };
        let looks_like_image = job.hint.is_none()
            && body
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|&b| b == b'{')
            && body
                .windows(8)
                .take(64)
                .any(|w| w == b"\"image\":" || w == b"\"image\" ");
        if looks_like_image
            && let Ok(ImageBody { image }) = serde_json::from_slice::<ImageBody>(&body)
        {
            match &image.layers {
                Some(layers) => {
                    if layers.is_empty() || layers.len() > MAX_LAYERS {
                        return Err(Problem::bad_request(
                            "Bad layers",
                            format!(
                                "an image has 1 to {MAX_LAYERS} layers, not {}",
                                layers.len()
                            ),
                        ));
                    }
                    if let Some(bad) = layers.iter().find(|l| !is_diff_id(l)) {
                        return Err(bad_diff_id(bad));
                    }
                }
                None => {
                    let Some(r) = image.reference.as_deref().filter(|r| !r.is_empty()) else {
                        return Err(Problem::bad_request(
                            "Nothing to scan",
                            "an image request needs `layers` (Delta-SBOM: upload the missing fragments first) or a `reference` Core can pull",
                        ));
                    };
                    stella_registry::Reference::parse(r)
                        .map_err(|e| Problem::bad_request("Bad image reference", e.to_string()))?;
                }
            }
            job.request = Some(image);
            return Ok((job, None));
        }
        let read = read_sbom(&body, job.hint.as_deref())?;
        job.body = body;
        Ok((job, Some(read)))
    }

    /// Runs a job now (not queued) and stores its result under `key` with its audit entry.
    pub(crate) fn execute_and_store(
        &self,
        key: &str,
        job: &Job,
        read: Option<stella_sbom::Read>,
    ) -> Result<(Bytes, String, Option<crate::cache::Entry>), Problem> {
        let tenant = job.tenant()?;
        self.execute(key, false, job, read, |reference, created, value, audit| {
            self.store
                .put_scan(&tenant, key, reference, created, value, Some(audit))
                .map_err(crate::problem::store)
        })
    }

    /// Runs a prepared job: compose or pull, match, judge, store. Returns the result JSON and
    /// its verdict.
    pub(crate) fn execute(
        &self,
        key: &str,
        track: bool,
        job: &Job,
        read: Option<stella_sbom::Read>,
        complete: impl FnOnce(&str, &str, stella_store::Encoded, &[u8]) -> Result<(), Problem>,
    ) -> Result<(Bytes, String, Option<crate::cache::Entry>), Problem> {
        let started = std::time::Instant::now();
        let (input, target) = self.input_of(key, track, job, read)?;
        if track {
            self.live.step(key, "matching");
        }
        let reference = target.reference.clone();
        let policy = self.active_policy(&job.tenant()?)?.map(|p| (*p).clone());
        let opts = self.scan_options(policy);
        let db = self.db()?;
        let t_input = started.elapsed();
        let report = stella_scan::scan(&db, input, target, &opts).map_err(policy_failed)?;
        let mut report = report;
        if let Some(note) = &self.config.db_note {
            report.warnings.push(note.clone());
        }
        // compact, serialised once: stored and answered with the same bytes (pretty-printing
        // a large result cost more than matching it)
        let t_scan = started.elapsed();
        let mut json = Vec::with_capacity(1024 + 1024 * report.findings.len());
        stella_json::to_writer(&mut json, &report).map_err(internal)?;
        let t_json = started.elapsed();
        let detail = format!("{key} {reference}");
        let audit = crate::Audit {
            who: job.who.clone(),
            tenant: Some(&job.tenant),
            address: job.address.as_deref(),
            action: "scan",
            detail: &detail,
            outcome: "ok",
        }
        .encode();
        // stored as a raw head and a compressed rest: an identical request later reuses the rest
        let json = Bytes::from(json);
        let entry = crate::cache::Entry::split(&json, &reference, &report.verdict.status);
        let encoded = match &entry {
            Some(e) => {
                let mut head = e.head().to_vec();
                head.extend_from_slice(report.created_at.as_bytes());
                stella_store::Encoded::parts(&head, &e.packed_tail)
            }
            None => stella_store::Encoded::json(&json),
        }
        // the image's latest input, for re-scans against later DBs without cataloguing
        .with_input(&job.encode());
        complete(&reference, &report.created_at, encoded, &audit)?;
        let t_store = started.elapsed();
        // nobody listening is no error
        let _ = self.stored.send(Arc::new(crate::live::Stored {
            tenant: job.tenant.clone(),
            id: key.to_string(),
            image: reference.clone(),
            created_at: report.created_at.clone(),
            verdict: report.verdict.status.clone(),
            summary: report.summary.clone(),
        }));
        tracing::debug!(
            target: "stella::scan",
            input_ms = t_input.as_secs_f64() * 1e3,
            scan_ms = (t_scan - t_input).as_secs_f64() * 1e3,
            json_ms = (t_json - t_scan).as_secs_f64() * 1e3,
            store_ms = (t_store - t_json).as_secs_f64() * 1e3,
            findings = report.findings.len(),
            bytes = json.len(),
            "scan timing"
        );
        metrics::SCAN_SECONDS.observe(started.elapsed());
        metrics::scanned(&report.verdict.status);
        Ok((json, report.verdict.status, entry))
    }

    /// A job's input and target: the SBOM read, or the image composed from uploaded layers
    /// or pulled.
    pub(crate) fn input_of(
        &self,
        key: &str,
        track: bool,
        job: &Job,
        read: Option<stella_sbom::Read>,
    ) -> Result<(stella_scan::Input, stella_scan::Target), Problem> {
        Ok(match &job.request {
            None => {
                let read = match read {
                    Some(r) => r,
                    None => read_sbom(&job.body, job.hint.as_deref())?,
                };
                let reference = job
                    .image
                    .clone()
                    .or_else(|| read.sbom.metadata.subject())
                    .unwrap_or_else(|| "sbom".into());
                (
                    stella_scan::input_from_sbom(read, "request body"),
                    stella_scan::Target {
                        kind: "sbom".into(),
                        reference,
                        digest: None,
                    },
                )
            }
            Some(req) => {
                let composed = match &req.layers {
                    Some(layers) => self.compose(&job.tenant()?, layers)?,
                    None => self.pull(key, track, req)?,
                };
                let reference = job
                    .image
                    .clone()
                    .or_else(|| req.reference.clone())
                    .or_else(|| req.digest.clone())
                    .unwrap_or_else(|| "image".into());
                (
                    stella_scan::input_from_catalog(&composed),
                    stella_scan::Target {
                        kind: "image".into(),
                        reference,
                        digest: req.digest.clone(),
                    },
                )
            }
        })
    }

    /// The options every scan of Core runs with, deciding by `policy`.
    pub(crate) fn scan_options(
        &self,
        policy: Option<stella_policy::PolicySet>,
    ) -> stella_scan::Options {
        stella_scan::Options {
            fail_on: self.config.fail_on.clone(),
            db_max_age_days: 7,
            // said to whoever scanned, on their machine: what Core's operator runs
            db_hint: "ask Core's operator to update its DB (`stella jobs run feeds`, with feeds configured by `stella serve --feeds FILE`)".into(),
            now: stella_sbom::now(),
            policy,
            on_policy_error: if self.config.policy_errors_pass {
                stella_scan::OnPolicyError::Pass
            } else {
                stella_scan::OnPolicyError::Verdict
            },
            ..stella_scan::Options::default()
        }
    }

    /// Composes an image from uploaded fragments (the caller's, or Core's own).
    fn compose(
        &self,
        tenant: &stella_store::Tenant,
        layers: &[String],
    ) -> Result<stella_catalog::Composed, Problem> {
        let mine = scope(tenant);
        let core = core_scope();
        let mut fragments = Vec::with_capacity(layers.len());
        let mut missing = Vec::new();
        for d in layers {
            let bytes = match self
                .store
                .get_layer(&mine, d)
                .map_err(crate::problem::store)?
            {
                Some(b) => Some(b),
                None => self
                    .store
                    .get_layer(&core, d)
                    .map_err(crate::problem::store)?,
            };
            match bytes {
                Some(b) => fragments.push(
                    serde_json::from_slice::<stella_catalog::Fragment>(&b).map_err(internal)?,
                ),
                None => missing.push(d.as_str()),
            }
        }
        if !missing.is_empty() {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "Layers missing",
                format!(
                    "no fragment for {} of the image's layers ({}); ask POST /api/v1/layers/missing and upload each with PUT /api/v1/layers/{{diffID}}/sbom first",
                    missing.len(),
                    missing.join(", ")
                ),
            ));
        }
        Ok(stella_catalog::compose::compose(&fragments))
    }

    /// Pulls an image and catalogs the layers Core has not catalogued before.
    fn pull(
        &self,
        key: &str,
        track: bool,
        req: &ImageRequest,
    ) -> Result<stella_catalog::Composed, Problem> {
        let reference = req.reference.as_deref().unwrap_or_default();
        if track {
            self.live.step(key, &format!("pulling {reference}"));
        }
        let image = stella_registry::open(
            reference,
            &stella_registry::Options {
                insecure: self.config.insecure_registry,
                username: self.config.registry_username.clone(),
                password: self.config.registry_password.clone(),
                platform: req.platform.clone(),
            },
        )
        .map_err(|e| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Cannot pull",
                format!("{reference}: {e}"),
            )
        })?;
        let core = core_scope();
        let mut fragments: Vec<Option<stella_catalog::Fragment>> = vec![None; image.layers.len()];
        let mut todo = Vec::new();
        for (i, l) in image.layers.iter().enumerate() {
            let cached = match &l.diff_id {
                Some(d) => self
                    .store
                    .get_layer(&core, d)
                    .map_err(crate::problem::store)?
                    .and_then(|b| serde_json::from_slice(&b).ok()),
                None => None,
            };
            match cached {
                Some(f) => fragments[i] = Some(f),
                None => todo.push(i),
            }
        }
        if track {
            self.live.step(
                key,
                &format!(
                    "cataloguing {} of {} layers",
                    todo.len(),
                    image.layers.len()
                ),
            );
        }
        let (made, _) = stella_catalog::catalog_layers(&image, &todo, 1).map_err(|e| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Cannot catalog",
                format!("{reference}: {e}"),
            )
        })?;
        for (i, f) in made {
            if is_diff_id(&f.diff_id) {
                let bytes = serde_json::to_vec(&f).map_err(internal)?;
                self.store
                    .put_layer(&core, &f.diff_id, &bytes)
                    .map_err(crate::problem::store)?;
            }
            fragments[i] = Some(f);
        }
        let fragments: Vec<_> = fragments.into_iter().flatten().collect();
        Ok(stella_catalog::compose::compose(&fragments))
    }

    /// One worker: leases jobs until Core stops.
    pub(crate) fn work(self: Arc<Self>, worker: String) {
        let lease_ms = u64::try_from(self.config.lease.as_millis())
            .unwrap_or(u64::MAX)
            .max(1_000);
        while !self.stopping.load(std::sync::atomic::Ordering::Relaxed) {
            let now = crate::auth::now_millis();
            let job = match self.store.lease(&worker, now, lease_ms) {
                Ok(Some(j)) => j,
                // a shared store waited for a job already
                Ok(None) if self.store.shared() => continue,
                Ok(None) => {
                    self.live.sleep(std::time::Duration::from_secs(1));
                    continue;
                }
                Err(_) => {
                    self.live.sleep(std::time::Duration::from_secs(1));
                    continue;
                }
            };
            let id = job.id.clone();
            tracing::info!(job = %id, worker = %worker, attempt = job.attempts, "scan started");
            self.live.step(&id, "running");
            // renew the lease while the scan runs, so only a dead worker's job moves on
            let done = std::sync::atomic::AtomicBool::new(false);
            std::thread::scope(|s| {
                s.spawn(|| {
                    let every = std::time::Duration::from_millis(lease_ms / 4);
                    let mut last = std::time::Instant::now();
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        std::thread::sleep(std::time::Duration::from_millis(50).min(every));
                        if last.elapsed() >= every {
                            last = std::time::Instant::now();
                            let _ = self.store.renew(
                                &job.tenant,
                                &id,
                                &worker,
                                crate::auth::now_millis(),
                                lease_ms,
                            );
                        }
                    }
                });
                self.run_leased(&worker, &job);
                done.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            self.live.finish(&id);
        }
    }

    /// Runs a leased job to its end. When the store's servers are down (the result cannot
    /// be stored), waits for them and runs it again instead of failing it.
    fn run_leased(&self, worker: &str, job: &stella_store::Job) {
        let id = job.id.clone();
        loop {
            let outcome = self.attempt(worker, job);
            let Err(p) = outcome else { return };
            if self.store.shared() && self.store.ready().is_err() {
                tracing::warn!(job = %id, "the store is unavailable; the scan waits for it");
                while self.store.ready().is_err() {
                    if self.stopping.load(std::sync::atomic::Ordering::Relaxed) {
                        // the lease runs out and another worker takes the job
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
                continue;
            }
            let _ = self.store.fail(&job.tenant, &id, worker, &p.to_json());
            return;
        }
    }

    fn attempt(&self, worker: &str, job: &stella_store::Job) -> Result<(), Problem> {
        let id = job.id.clone();
        match Job::decode(&job.payload) {
            _ if job.attempts > 3 => Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Scan abandoned",
                "this scan stopped Core three times; it is not tried again (report it with the SBOM)",
            )),
            None => Err(internal("the queued job is unreadable")),
            Some(j) => {
                let Some(_held) = self
                    .budget
                    .reserve_blocking(job.payload.len(), &self.stopping)
                else {
                    return Err(internal("Core is stopping"));
                };
                let store = &self.store;
                let w = worker;
                let jid = id.as_str();
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    // the job's tenant is the store's word, whatever the payload says
                    let mut j = j;
                    j.tenant = job.tenant.as_str().to_string();
                    self.execute(jid, true, &j, None, |reference, created, value, audit| {
                        store
                            .complete(
                                &job.tenant,
                                jid,
                                w,
                                jid,
                                reference,
                                created,
                                value,
                                Some(audit),
                            )
                            .map(|_| ())
                            .map_err(internal)
                    })
                }))
                .unwrap_or_else(|_| Err(internal("the scan panicked")))
                .map(|_| ())
            }
        }
    }

    /// A result another replica computed for the same request (scaled out: Redis holds the
    /// key → stored scan id for an hour); it becomes this replica's cached entry too.
    fn shared_result(
        &self,
        tenant: &stella_store::Tenant,
        key: &[u8; 32],
    ) -> Option<Arc<crate::cache::Entry>> {
        if !self.store.shared() || self.config.result_cache_bytes == 0 {
            return None;
        }
        let v = self.store.cache_get(&hex(key)).ok()??;
        let text = std::str::from_utf8(&v).ok()?;
        let mut parts = text.splitn(3, '\n');
        let (id, verdict, reference) = (parts.next()?, parts.next()?, parts.next()?);
        let json = Bytes::from(self.store.get_scan(tenant, id).ok()??);
        let e = crate::cache::Entry::split(&json, reference, verdict)?;
        self.results.put(*key, e);
        self.results.get(key)
    }

    /// Tells other replicas where this request's result is stored.
    fn share_result(&self, key: &[u8; 32], id: &str, e: &crate::cache::Entry) {
        if self.store.shared() && self.config.result_cache_bytes > 0 {
            let v = format!("{id}\n{}\n{}", e.verdict, e.reference);
            // a cache: failing to fill it is no failure of the scan
            let _ = self.store.cache_put(&hex(key), v.as_bytes(), 3600);
        }
    }

    /// Where a job stands, for `/events` and `GET /scans/{id}`.
    fn progress(
        &self,
        tenant: &stella_store::Tenant,
        id: &str,
    ) -> Result<Option<Progress>, Problem> {
        let state = self
            .store
            .job_state(tenant, id)
            .map_err(crate::problem::store)?;
        let step = self.live.steps.lock().ok().and_then(|s| s.get(id).cloned());
        Ok(match state {
            stella_store::JobState::Queued => Some(Progress {
                state: "queued",
                step: None,
                verdict: None,
                problem: None,
            }),
            stella_store::JobState::Running { .. } => Some(Progress {
                state: "running",
                step,
                verdict: None,
                problem: None,
            }),
            stella_store::JobState::Failed(p) => Some(Progress {
                state: "failed",
                step: None,
                verdict: None,
                problem: serde_json::from_slice(&p).ok(),
            }),
            stella_store::JobState::Done | stella_store::JobState::Unknown => self
                .store
                .get_scan(tenant, id)
                .map_err(crate::problem::store)?
                .map(|json| Progress {
                    state: "done",
                    step: None,
                    verdict: verdict_of(&json),
                    problem: None,
                }),
        })
    }
}

/// A scan result just stored under `key`: `200`, `Content-Location` naming it, and the
/// admission for the quota headers.
pub(crate) fn stored_result(json: Bytes, key: &str, admitted: Admitted) -> Response {
    result_in_parts(vec![json], key, admitted)
}

/// [`stored_result`] for a result sent as the parts it was made of, in order.
fn result_in_parts(parts: Vec<Bytes>, key: &str, admitted: Admitted) -> Response {
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        axum::body::Body::new(Parts(parts.into())),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/scans/{key}")) {
        r.headers_mut().insert(header::CONTENT_LOCATION, v);
    }
    r.extensions_mut().insert(admitted);
    r
}

/// A response body of several byte strings, written out in order and not copied together
/// first: a reused result is the cached head, a new creation time and the cached tail (its
/// size is exact, so the response still says its length).
struct Parts(std::collections::VecDeque<Bytes>);

impl http_body::Body for Parts {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.iter().map(|b| b.len() as u64).sum())
    }
}

/// The verdict's status of a stored result, without parsing the findings.
fn verdict_of(json: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct V {
        status: String,
    }
    #[derive(Deserialize)]
    struct R {
        verdict: V,
    }
    serde_json::from_slice::<R>(json)
        .ok()
        .map(|r| r.verdict.status)
}

#[derive(Deserialize)]
pub(crate) struct ScanParams {
    wait: Option<bool>,
    image: Option<String>,
    labels: Option<String>,
}

/// `?labels=team=payments,env=prod`: keys of letters, digits and `._-/`, values without
/// commas; at most 32.
pub(crate) fn parse_labels(
    s: Option<&str>,
) -> Result<std::collections::BTreeMap<String, String>, Problem> {
    let mut out = std::collections::BTreeMap::new();
    let Some(s) = s.filter(|s| !s.is_empty()) else {
        return Ok(out);
    };
    for pair in s.split(',') {
        let bad = || {
            let shown: String = pair.chars().take(80).collect();
            Problem::bad_request(
                "Bad label",
                format!(
                    "`{shown}` is not a label: write labels=KEY=VALUE,KEY=VALUE (keys of letters, digits and ._-/, at most 63 characters; values up to 256)"
                ),
            )
        };
        let (k, v) = pair.split_once('=').ok_or_else(bad)?;
        if k.is_empty()
            || k.len() > 63
            || v.len() > 256
            || !k
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
            || v.chars().any(char::is_control)
        {
            return Err(bad());
        }
        out.insert(k.to_string(), v.to_string());
    }
    if out.len() > 32 {
        return Err(Problem::bad_request(
            "Too many labels",
            "a scan takes at most 32 labels",
        ));
    }
    Ok(out)
}

/// `POST /scan`
pub(crate) async fn post_scan(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<ScanParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Scan)?;
    if body.is_empty() {
        return Err(Problem::bad_request(
            "Empty body",
            "send an SBOM (CycloneDX, SPDX, Syft or Trivy JSON) or {\"image\": {...}} as the request body",
        ));
    }
    let hint = headers
        .get("x-stella-sbom-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let wait = q.wait.unwrap_or(false);
    let labels = parse_labels(q.labels.as_deref())?;
    let key = format!("scan-{}", crate::unique_suffix());
    if wait {
        // back-pressure: no more waiting than the queue would hold
        let waiting = core
            .live
            .waiting
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _guard = Decrement(&core.live.waiting);
        if waiting >= core.config.queue_limit {
            return Err(busy(core.config.queue_limit));
        }
        // an identical request (same caller, body, DB, policy, gate and day) reuses its
        // result; the key is made of content, so every replica computes the same one
        let cache_key = {
            let day = crate::auth::utc_day(crate::auth::now_secs()).0;
            let db = core.db.read().map_err(internal)?.digest();
            let policy = core.policy_fingerprint(caller.tenant())?;
            crate::cache::Cache::key(
                &[
                    caller.tid().as_bytes(),
                    caller.tenant().as_str().as_bytes(),
                    hint.as_deref().unwrap_or("").as_bytes(),
                    q.image.as_deref().unwrap_or("\0").as_bytes(),
                    q.labels.as_deref().unwrap_or("").as_bytes(),
                    db.as_bytes(),
                    &policy,
                    core.config.fail_on.as_deref().unwrap_or("").as_bytes(),
                    day.as_bytes(),
                ],
                &body,
            )
        };
        // room in the memory budget first: a large SBOM waits for the scans before it
        let held = core.budget.reserve(body.len()).await;
        let c = core.clone();
        let k = key.clone();
        let (parts, admitted, hit) = core
            .scans
            .run(move || {
                let _held = held;
                if let Some(e) = c
                    .results
                    .get(&cache_key)
                    .or_else(|| c.shared_result(caller.tenant(), &cache_key))
                {
                    let admitted = c.admit(&caller)?;
                    let created = stella_sbom::now();
                    // answered as head, time and tail: the result is not copied per request
                    let mut head = Vec::with_capacity(e.head().len() + created.len());
                    head.extend_from_slice(e.head());
                    head.extend_from_slice(created.as_bytes());
                    let detail = format!("{k} {} (same as an earlier scan)", e.reference);
                    let audit = crate::Audit::by(&caller, "scan", &detail).encode();
                    if let Err(err) = c.store.put_scan(
                        caller.tenant(),
                        &k,
                        &e.reference,
                        &created,
                        stella_store::Encoded::parts(&head, &e.packed_tail),
                        Some(&audit),
                    ) {
                        c.settle_quota();
                        return Err(crate::problem::store(err));
                    }
                    metrics::scanned(&e.verdict);
                    return Ok::<_, Problem>((vec![Bytes::from(head), e.tail()], admitted, true));
                }
                let (job, read) = c.prepare(&caller, body, hint, q.image, labels)?;
                // admitted only once the request is readable: a typo does not cost a scan
                let admitted = c.admit(&caller)?;
                let (json, _, entry) = c
                    .execute_and_store(&k, &job, read)
                    .inspect_err(|_| c.settle_quota())?;
                if job.request.is_none()
                    && let Some(e) = entry
                {
                    c.share_result(&cache_key, &k, &e);
                    c.results.put(cache_key, e);
                }
                Ok::<_, Problem>((vec![json], admitted, false))
            })
            .await
            .map_err(internal)??;
        let mut r = result_in_parts(parts, &key, admitted);
        // say when the result was reused, so nobody mistakes it for a fresh match
        r.headers_mut().insert(
            "x-stella-result",
            HeaderValue::from_static(if hit { "reused" } else { "scanned" }),
        );
        return Ok(r);
    }
    let c = core.clone();
    let k = key.clone();
    let admitted = tokio::task::spawn_blocking(move || {
        let (job, _) = c.prepare(&caller, body, hint, q.image, labels)?;
        if c.store.queue_depth().map_err(crate::problem::store)? >= c.config.queue_limit {
            metrics::QUEUE_REJECTIONS.inc();
            return Err(busy(c.config.queue_limit));
        }
        // charged and queued in one step: a crash leaves both or neither
        let admitted = c.admit_and_enqueue(&caller, &k, &job.encode())?;
        c.live.wake_workers();
        Ok::<_, Problem>(admitted)
    })
    .await
    .map_err(internal)??;
    let location = format!("/api/v1/scans/{key}");
    let mut r = (
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({
            "id": key,
            "location": location,
            "events": format!("{location}/events"),
        })
        .to_string(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.extensions_mut().insert::<Admitted>(admitted);
    Ok(r)
}

struct Decrement<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for Decrement<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

pub(crate) fn busy(limit: u64) -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Busy",
        format!("{limit} scans are waiting already; retry after a few seconds"),
    )
    .with(header::RETRY_AFTER, "5")
}

/// Refuses ids that cannot be a scan's before they reach the store.
/// A policy that could not be evaluated, as the API tells it.
pub(crate) fn policy_failed(e: stella_scan::Error) -> Problem {
    match e {
        stella_scan::Error::Policy(p) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Policy failed",
            p.to_string(),
        ),
        other => internal(other),
    }
}

pub(crate) fn check_id(id: &str) -> Result<(), Problem> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        let shown: String = id.chars().take(80).collect();
        return Err(Problem::not_found(
            "No such scan",
            format!("`{shown}` is not a scan id"),
        ));
    }
    Ok(())
}

/// `GET /scans/{id}`: the result; `202` with the state while queued or running; the problem
/// when it failed.
pub(crate) async fn get_scan(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Read)?;
    check_id(&id)?;
    let c = core.clone();
    let i = id.clone();
    let t = caller.tenant().clone();
    let (json, progress) = tokio::task::spawn_blocking(move || {
        let mut json = c.store.get_scan(&t, &i).map_err(crate::problem::store)?;
        let progress = match json {
            Some(_) => None,
            None => c.progress(&t, &i)?,
        };
        // stored between the two reads (a worker finished meanwhile): answer the result
        if json.is_none() && progress.as_ref().is_some_and(|p| p.state == "done") {
            json = c.store.get_scan(&t, &i).map_err(crate::problem::store)?;
        }
        Ok::<_, Problem>((json, progress))
    })
    .await
    .map_err(internal)??;
    if let Some(json) = json {
        return Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response());
    }
    match progress {
        Some(p) if p.state == "failed" => {
            let status = p
                .problem
                .as_ref()
                .and_then(|v| v["status"].as_u64())
                .and_then(|s| StatusCode::from_u16(s as u16).ok())
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            Ok((
                status,
                [(header::CONTENT_TYPE, "application/problem+json")],
                p.problem.unwrap_or_default().to_string(),
            )
                .into_response())
        }
        Some(p) => Ok((
            StatusCode::ACCEPTED,
            [(header::RETRY_AFTER, "1")],
            axum::Json(p),
        )
            .into_response()),
        None => Err(Problem::not_found(
            "No such scan",
            format!("there is no scan `{id}`; list an image's scans with /api/v1/scans?image=REF"),
        )),
    }
}

/// `GET /scans/{id}/events`: server-sent events until the scan is done or failed.
pub(crate) async fn events(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    caller.require(stella_auth::Action::Read)?;
    check_id(&id)?;
    let tenant = caller.tenant().clone();
    let first = {
        let c = core.clone();
        let i = id.clone();
        let t = tenant.clone();
        tokio::task::spawn_blocking(move || c.progress(&t, &i))
            .await
            .map_err(internal)??
    };
    let Some(first) = first else {
        return Err(Problem::not_found(
            "No such scan",
            format!("there is no scan `{id}`"),
        ));
    };
    let rx = Some(core.live.changed.subscribe());
    struct St {
        core: Arc<Core>,
        tenant: stella_store::Tenant,
        id: String,
        rx: Option<tokio::sync::broadcast::Receiver<String>>,
        last: Option<String>,
        pending: Option<Progress>,
        ended: bool,
    }
    let st = St {
        core,
        tenant,
        id,
        rx,
        last: None,
        pending: Some(first),
        ended: false,
    };
    let stream = futures_util::stream::unfold(st, |mut st| async move {
        loop {
            if st.ended || st.core.stopping.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            if let Some(p) = st.pending.take() {
                let text = serde_json::to_string(&p).unwrap_or_default();
                if st.last.as_deref() != Some(text.as_str()) {
                    st.last = Some(text.clone());
                    st.ended = matches!(p.state, "done" | "failed");
                    let ev = Event::default().event(p.state).data(text);
                    return Some((Ok::<_, std::convert::Infallible>(ev), st));
                }
            }
            // wait for a change of this job (or a second, for changes made elsewhere)
            let deadline = tokio::time::sleep(std::time::Duration::from_secs(1));
            tokio::pin!(deadline);
            loop {
                let Some(rx) = st.rx.as_mut() else {
                    deadline.as_mut().await;
                    break;
                };
                tokio::select! {
                    _ = &mut deadline => break,
                    m = rx.recv() => match m {
                        Ok(changed) if changed == st.id => break,
                        Ok(_) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                        Err(_) => { st.rx = None; break }
                    },
                }
            }
            let c = st.core.clone();
            let i = st.id.clone();
            let t = st.tenant.clone();
            st.pending = tokio::task::spawn_blocking(move || c.progress(&t, &i))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten();
            st.pending.as_ref()?;
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MissingBody {
    layers: Vec<String>,
}

/// `POST /layers/missing`: which of these layers Core has no fragment of for this caller.
pub(crate) async fn layers_missing(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Scan)?;
    let req: MissingBody = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(
            "Bad request",
            format!("expected {{\"layers\": [\"sha256:…\", …]}}: {e}"),
        )
    })?;
    if req.layers.len() > MAX_LAYERS {
        return Err(Problem::bad_request(
            "Too many layers",
            format!("at most {MAX_LAYERS} layers per request"),
        ));
    }
    if let Some(bad) = req.layers.iter().find(|l| !is_diff_id(l)) {
        return Err(bad_diff_id(bad));
    }
    // a read transaction: cheap enough for the async worker (no blocking I/O beyond the page
    // cache)
    let mine = core
        .store
        .missing_layers(&scope(caller.tenant()), &req.layers)
        .map_err(crate::problem::store)?;
    let missing = if mine.is_empty() {
        mine
    } else {
        core.store
            .missing_layers(&core_scope(), &mine)
            .map_err(crate::problem::store)?
    };
    Ok(axum::Json(serde_json::json!({ "missing": missing })).into_response())
}

/// `PUT /layers/{diffId}/sbom`: one layer's fragment (`stella sbom --per-layer` shape).
pub(crate) async fn put_layer(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(diff_id): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Scan)?;
    if !is_diff_id(&diff_id) {
        return Err(bad_diff_id(&diff_id));
    }
    let c = core.clone();
    tokio::task::spawn_blocking(move || {
        let mut f: stella_catalog::Fragment = serde_json::from_slice(&body).map_err(|e| {
            Problem::bad_request(
                "Bad fragment",
                format!("the body is not a layer fragment (as `stella sbom --per-layer` writes under `fragment`): {e}"),
            )
        })?;
        if f.diff_id.is_empty() {
            f.diff_id = diff_id.clone();
        }
        if f.diff_id != diff_id {
            return Err(Problem::bad_request(
                "Layer mismatch",
                format!("the fragment is of {}, not of {diff_id}", f.diff_id),
            ));
        }
        if f.catalogers != stella_catalog::CATALOGERS {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Other catalogers",
                format!(
                    "the fragment was made by catalogers `{}`; this Core composes `{}` (use a stella CLI of the same version)",
                    f.catalogers,
                    stella_catalog::CATALOGERS
                ),
            ));
        }
        let bytes = serde_json::to_vec(&f).map_err(internal)?;
        c.store
            .put_layer(&scope(caller.tenant()), &diff_id, &bytes)
            .map_err(crate::problem::store)
    })
    .await
    .map_err(internal)??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_checked() {
        let l = parse_labels(Some("env=prod,team=pay-ments,k8s.io/app=web")).unwrap();
        assert_eq!(l["k8s.io/app"], "web");
        assert!(parse_labels(None).unwrap().is_empty());
        for bad in [
            "env",
            "=x",
            "a b=c",
            "x=\n",
            &format!("{}=v", "k".repeat(64)),
        ] {
            assert!(parse_labels(Some(bad)).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert!(parse_labels(Some(&many.join(","))).is_err());
    }

    #[test]
    fn diff_ids_are_strict() {
        let ok = format!("sha256:{}", "a".repeat(64));
        assert!(is_diff_id(&ok));
        assert!(!is_diff_id(&format!("sha256:{}", "A".repeat(64))));
        assert!(!is_diff_id(&format!("sha256:{}/../x", "a".repeat(58))));
        assert!(!is_diff_id("sha512:00"));
        assert!(!is_diff_id(""));
    }

    #[test]
    fn jobs_round_trip() {
        let j = Job {
            tid: "t".into(),
            tenant: "team-a".into(),
            who: "client:ci".into(),
            address: Some("127.0.0.1".into()),
            image: Some("a:1".into()),
            hint: None,
            request: None,
            submitted: "2026-11-29T00:00:00Z".into(),
            labels: [("env".to_string(), "prod".to_string())].into(),
            body: Bytes::from_static(b"{\"bomFormat\":\n\"CycloneDX\"}"),
        };
        let d = Job::decode(&j.encode()).unwrap();
        assert_eq!(d.body, j.body);
        assert_eq!(d.image, j.image);
        assert_eq!(d.labels, j.labels);
        assert_eq!(d.tenant, "team-a");
        // queued before tenants: the default tenant's
        let old = b"{\"tid\":\"t\",\"who\":\"w\",\"image\":null,\"hint\":null,\"request\":null,\"submitted\":\"x\"}\n{}";
        assert_eq!(Job::decode(old).unwrap().tenant, "default");
    }
}

/// A finding, as far as a diff needs it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DiffFinding {
    pub(crate) vulnerability_id: String,
    #[serde(default)]
    pub(crate) severity: String,
    pub(crate) package: DiffPackage,
    #[serde(default)]
    fixed_versions: Vec<String>,
}

impl DiffFinding {
    /// The same finding across two scans of an image: vulnerability, package type and name
    /// (an upgrade that is still affected is neither new nor fixed).
    pub(crate) fn key(&self) -> (String, String, String) {
        (
            self.vulnerability_id.clone(),
            self.package.kind.clone(),
            self.package.name.clone(),
        )
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DiffPackage {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) version: String,
    #[serde(rename = "type", default)]
    pub(crate) kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct DiffTarget {
    reference: String,
}

#[derive(Deserialize)]
pub(crate) struct DiffScan {
    target: DiffTarget,
    #[serde(rename = "createdAt")]
    created_at: String,
    pub(crate) findings: Vec<DiffFinding>,
}

#[derive(Deserialize)]
pub(crate) struct DiffParams {
    against: Option<String>,
}

/// `GET /scans/{id}/diff[?against=OTHER]`: what is new and what was fixed since another scan
/// of the image (by default the one before). A finding is the same across scans when its
/// vulnerability, package name and type are (an upgrade that is still affected is neither new
/// nor fixed).
pub(crate) async fn diff(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<DiffParams>,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Read)?;
    check_id(&id)?;
    if let Some(a) = &q.against {
        check_id(a)?;
    }
    let c = core.clone();
    let tenant = caller.tenant().clone();
    let v = tokio::task::spawn_blocking(move || {
        let load = |id: &str| -> Result<DiffScan, Problem> {
            let json = c
                .store
                .get_scan(&tenant, id)
                .map_err(crate::problem::store)?
                .ok_or_else(|| {
                    Problem::not_found("No such scan", format!("there is no stored scan `{id}`"))
                })?;
            serde_json::from_slice(&json).map_err(internal)
        };
        let head = load(&id)?;
        let base_id = match q.against {
            Some(a) => a,
            None => {
                let history = c
                    .store
                    .scans_of(&tenant, &head.target.reference)
                    .map_err(crate::problem::store)?;
                let pos = history.iter().position(|(_, i)| *i == id);
                match pos
                    .and_then(|p| p.checked_sub(1))
                    .and_then(|p| history.get(p))
                {
                    Some((_, prev)) => prev.clone(),
                    None => {
                        return Err(Problem::not_found(
                            "No earlier scan",
                            format!(
                                "`{id}` is the first scan of {}; give ?against=ID",
                                head.target.reference
                            ),
                        ));
                    }
                }
            }
        };
        let base = load(&base_id)?;
        let key = DiffFinding::key;
        let before: std::collections::BTreeSet<_> = base.findings.iter().map(key).collect();
        let after: std::collections::BTreeSet<_> = head.findings.iter().map(key).collect();
        let mut new: Vec<&DiffFinding> = head
            .findings
            .iter()
            .filter(|f| !before.contains(&key(f)))
            .collect();
        let mut fixed: Vec<&DiffFinding> = base
            .findings
            .iter()
            .filter(|f| !after.contains(&key(f)))
            .collect();
        new.sort_by_key(|f| key(f));
        new.dedup_by_key(|f| key(f));
        fixed.sort_by_key(|f| key(f));
        fixed.dedup_by_key(|f| key(f));
        let unchanged = after.intersection(&before).count();
        Ok::<_, Problem>(serde_json::json!({
            "image": head.target.reference,
            "base": { "id": base_id, "createdAt": base.created_at },
            "head": { "id": id, "createdAt": head.created_at },
            "new": new,
            "fixed": fixed,
            "unchanged": unchanged,
        }))
    })
    .await
    .map_err(internal)??;
    Ok(axum::Json(v).into_response())
}
