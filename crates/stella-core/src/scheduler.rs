//! Core's scheduler: the nightly feed merge and the re-scan of stored SBOMs after it, on cron
//! schedules (UTC) with jitter, retries with doubling backoff and a run history; a lease in
//! the store makes each scheduled slot run once however many schedulers share it.
//!
//! A re-scan matches each image's latest stored input (its SBOM, or its layer list for
//! fragments already in the store) against the DB now in use, without cataloguing again,
//! stores the result as the image's newest scan and compares it with the one before: new
//! findings, fixed ones, changed severities. New criticals are kept for the dashboard
//! (`GET /api/v1/criticals`) and sent to the webhook, signed (HMAC-SHA256).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::problem::{Problem, internal};
use crate::{Caller, Core};
use stella_sbom::hash::hex;

/// Time for the scheduler: the system's, or one a test moves.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Seconds since the epoch.
    fn now(&self) -> i64;
    /// Waits (a test clock may just move on).
    fn sleep(&self, secs: u64);
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        crate::now_secs() as i64
    }
    fn sleep(&self, secs: u64) {
        std::thread::sleep(std::time::Duration::from_secs(secs));
    }
}

/// What the scheduler does (flags of `stella serve`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The feeds configuration (`{"sources": [...]}`); without it the feed job fails (and says
    /// why) and only on-demand DB swaps (`POST /feeds/update`) change the DB.
    pub feeds: Option<std::path::PathBuf>,
    /// Without `feeds`: merge the default public feeds ([`stella_fetch::Config::defaults`]),
    /// as `stella serve` does unless told `--feeds off`.
    pub default_feeds: bool,
    /// When to merge feeds (cron, UTC); `None`: only on demand.
    pub feeds_cron: Option<String>,
    /// When to re-scan; `None`: after every successful feed merge.
    pub rescan_cron: Option<String>,
    /// Up to this many seconds after the scheduled minute (fixed per job and slot, so
    /// replicas agree), to spread the load on feed servers.
    pub jitter_secs: u64,
    /// Attempts after the first failure.
    pub retries: u32,
    /// First wait before a retry; doubles each time.
    pub backoff_secs: u64,
    /// Images to re-scan (globs); empty: all.
    pub rescan_images: Vec<String>,
    /// Images whose latest scan is older are not re-scanned.
    pub rescan_max_age_days: Option<u64>,
    /// Only images whose latest scan carries every one of these labels (`KEY=VALUE`).
    pub rescan_labels: Vec<(String, String)>,
    /// Where to send new criticals and expired mutes (POST, JSON).
    pub webhook: Option<String>,
    /// Key of the webhook's HMAC-SHA256 signature.
    pub webhook_secret: Option<String>,
    /// Public key a prebuilt DB (`stella-db` feed) must be signed with.
    pub db_pubkey: Option<std::path::PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            feeds: None,
            default_feeds: false,
            feeds_cron: Some("59 0 * * *".into()),
            rescan_cron: None,
            jitter_secs: 300,
            retries: 3,
            backoff_secs: 60,
            rescan_images: Vec::new(),
            rescan_max_age_days: Some(180),
            rescan_labels: Vec::new(),
            webhook: None,
            webhook_secret: None,
            db_pubkey: None,
        }
    }
}

/// The jobs there are.
pub const JOBS: [&str; 2] = ["feeds", "rescan"];

/// One run, as stored and listed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Run id.
    pub id: String,
    /// `feeds` or `rescan`.
    pub job: String,
    /// `schedule`, `manual` or `after feeds`.
    pub trigger: String,
    /// The scheduled minute it ran for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// Start (RFC 3339).
    pub started: String,
    /// End (RFC 3339), once finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// Duration in milliseconds, once finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// `running`, `ok` or `failed`.
    pub outcome: String,
    /// Each failed attempt's error.
    pub errors: Vec<String>,
    /// What the job did.
    pub detail: serde_json::Value,
}

/// Deterministic jitter: the same for every replica for one job and slot.
fn jitter(job: &str, slot: i64, max: u64) -> i64 {
    if max == 0 {
        return 0;
    }
    let mut h = stella_sbom::hash::Fnv64::default();
    h.write(job.as_bytes());
    h.write(&slot.to_le_bytes());
    (h.finish() % (max + 1)) as i64
}

fn rfc3339(t: i64) -> String {
    stella_sbom::rfc3339(t)
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha2::Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = sha2::Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = sha2::Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The scheduler of one Core process.
#[derive(Debug)]
pub struct Scheduler {
    core: Arc<Core>,
    clock: Arc<dyn Clock>,
    /// Who holds leases (unique per process).
    holder: String,
    feeds_cron: Option<stella_cron::Schedule>,
    rescan_cron: Option<stella_cron::Schedule>,
    /// `--rescan-image` patterns, parsed once.
    rescan_globs: Vec<stella_policy::Glob>,
    /// When this scheduler started: a job that never ran does not catch up on slots from
    /// before (a fresh install does not fetch feeds the moment it starts).
    started: i64,
}

/// A lease outlives a stuck scheduler by this much before another may take the job over.
const LEASE_SECS: i64 = 15 * 60;

impl Scheduler {
    /// A scheduler for `core` (its settings checked: a bad cron expression or re-scan glob is
    /// an error at start, not a surprise at night).
    pub fn new(core: Arc<Core>, clock: Arc<dyn Clock>) -> Result<Scheduler, String> {
        let s = &core.config.schedule;
        let rescan_globs = s
            .rescan_images
            .iter()
            .map(|g| stella_policy::Glob::new(g).map_err(|e| format!("--rescan-image `{g}`: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let feeds_cron = s
            .feeds_cron
            .as_deref()
            .map(stella_cron::Schedule::parse)
            .transpose()
            .map_err(|e| e.to_string())?
            // without feeds to fetch, a schedule would only fail every night
            .filter(|_| s.feeds.is_some() || s.default_feeds);
        let rescan_cron = s
            .rescan_cron
            .as_deref()
            .map(stella_cron::Schedule::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        Ok(Scheduler {
            rescan_globs,
            started: clock.now(),
            holder: format!("{}-{}", std::process::id(), crate::unique_suffix()),
            core,
            clock,
            feeds_cron,
            rescan_cron,
        })
    }

    fn cron(&self, job: &str) -> Option<&stella_cron::Schedule> {
        match job {
            "feeds" => self.feeds_cron.as_ref(),
            "rescan" => self.rescan_cron.as_ref(),
            _ => None,
        }
    }

    /// Runs every job whose slot is due (and not run yet by anyone sharing the store);
    /// returns the runs made.
    pub fn tick(&self) -> Vec<Run> {
        let now = self.clock.now();
        let mut out = Vec::new();
        for job in JOBS {
            let Some(cron) = self.cron(job) else { continue };
            let Some(slot) = cron.prev(now) else { continue };
            let jitter_max = self.core.config.schedule.jitter_secs;
            if now < slot + jitter(job, slot, jitter_max) {
                continue;
            }
            let done = self
                .core
                .store
                .job_lease(job)
                .map_or(i64::MAX, |l| l.last_slot);
            if slot <= done || (done == 0 && slot < self.started) {
                continue;
            }
            match self
                .core
                .store
                .try_lease(job, &self.holder, Some(slot), now, LEASE_SECS)
            {
                Ok(true) => out.extend(self.run(job, "schedule", Some(slot))),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(target: "stella::scheduler", job, error = %e, "cannot take the lease")
                }
            }
        }
        out
    }

    /// Runs `job` now (the lease taken first: `None` when another run holds it).
    pub fn run_now(&self, job: &str) -> Result<Option<Vec<Run>>, stella_store::Error> {
        if !self
            .core
            .store
            .try_lease(job, &self.holder, None, self.clock.now(), LEASE_SECS)?
        {
            return Ok(None);
        }
        Ok(Some(self.run(job, "manual", None)))
    }

    /// Runs `job` holding its lease, with retries; a successful feed merge is followed by a
    /// re-scan when the re-scan has no schedule of its own. Returns the runs made.
    fn run(&self, job: &str, trigger: &str, slot: Option<i64>) -> Vec<Run> {
        let s = &self.core.config.schedule;
        let started = self.clock.now();
        let t0 = std::time::Instant::now();
        let mut run = Run {
            id: format!("run-{}", crate::unique_suffix()),
            job: job.to_string(),
            trigger: trigger.to_string(),
            slot: slot.map(rfc3339),
            started: rfc3339(started),
            finished: None,
            duration_ms: None,
            outcome: "running".into(),
            errors: Vec::new(),
            detail: serde_json::Value::Null,
        };
        self.record(&run, started);
        let mut backoff = s.backoff_secs;
        for attempt in 0..=s.retries {
            let result = match job {
                "feeds" => self.core.feed_job(),
                "rescan" => self.core.rescan_job(&run.id, &self.rescan_globs),
                other => Err(format!("no job `{other}`")),
            };
            match result {
                Ok(detail) => {
                    run.detail = detail;
                    run.outcome = "ok".into();
                    break;
                }
                Err(e) => {
                    tracing::warn!(target: "stella::scheduler", job, attempt, error = %e, "job failed");
                    run.errors.push(e);
                    run.outcome = "failed".into();
                    if attempt < s.retries {
                        self.record(&run, started);
                        self.clock.sleep(backoff);
                        backoff = backoff.saturating_mul(2);
                        let _ = self.core.store.try_lease(
                            job,
                            &self.holder,
                            None,
                            self.clock.now(),
                            LEASE_SECS,
                        );
                    }
                }
            }
        }
        let end = self.clock.now();
        run.finished = Some(rfc3339(end));
        run.duration_ms = Some(t0.elapsed().as_millis() as u64);
        self.record(&run, started);
        if let Err(e) = self.core.store.release(job, &self.holder, slot) {
            tracing::warn!(target: "stella::scheduler", job, error = %e, "cannot release the lease");
        }
        tracing::info!(target: "stella::scheduler", job, outcome = %run.outcome, ms = run.duration_ms, "run finished");
        let chained = job == "feeds" && run.outcome == "ok" && self.rescan_cron.is_none();
        let mut out = vec![run];
        if chained {
            match self.core.store.try_lease(
                "rescan",
                &self.holder,
                None,
                self.clock.now(),
                LEASE_SECS,
            ) {
                Ok(true) => out.extend(self.run("rescan", "after feeds", None)),
                _ => {
                    tracing::warn!(target: "stella::scheduler", "a re-scan is already running; this feed merge's re-scan is skipped")
                }
            }
        }
        out
    }

    fn record(&self, run: &Run, started: i64) {
        if let Ok(b) = serde_json::to_vec(run)
            && let Err(e) = self.core.store.put_run(&run.job, started, &run.id, &b)
        {
            tracing::warn!(target: "stella::scheduler", error = %e, "cannot record the run");
        }
    }

    /// Ticks every few seconds until Core stops.
    pub fn spawn(self: Arc<Self>) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("stella-scheduler".into())
            .spawn(move || {
                while !self.core.stopping.load(Ordering::Relaxed) {
                    self.tick();
                    std::thread::sleep(std::time::Duration::from_secs(5));
                }
            })
    }

    /// When each job runs next.
    fn next(&self, job: &str) -> Option<i64> {
        let now = self.clock.now();
        let cron = self.cron(job)?;
        let done = self.core.store.job_lease(job).map_or(0, |l| l.last_slot);
        // a due slot not run yet runs at once
        if let Some(p) = cron
            .prev(now)
            .filter(|&p| p > done && (done > 0 || p >= self.started))
        {
            return Some(p + jitter(job, p, self.core.config.schedule.jitter_secs));
        }
        cron.next(now)
            .map(|n| n + jitter(job, n, self.core.config.schedule.jitter_secs))
    }
}

/// One image's re-scan, compared with its scan before.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageChange {
    /// Whose image (a tenant sees only its own at `/criticals`).
    tenant: String,
    image: String,
    scan_id: String,
    previous_scan_id: String,
    new: Vec<Change>,
    fixed: usize,
    changed_severity: Vec<Change>,
    new_criticals: Vec<Change>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Change {
    vulnerability_id: String,
    package: String,
    version: String,
    severity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_severity: Option<String>,
}

fn compare(
    image: &str,
    id: &str,
    prev_id: &str,
    before: &[u8],
    after: &[u8],
) -> Option<ImageChange> {
    let b: crate::scan::DiffScan = serde_json::from_slice(before).ok()?;
    let a: crate::scan::DiffScan = serde_json::from_slice(after).ok()?;
    let old: BTreeMap<_, _> = b.findings.iter().map(|f| (f.key(), f)).collect();
    let cur: BTreeMap<_, _> = a.findings.iter().map(|f| (f.key(), f)).collect();
    let change = |f: &crate::scan::DiffFinding, prev: Option<&str>| Change {
        vulnerability_id: f.vulnerability_id.clone(),
        package: f.package.name.clone(),
        version: f.package.version.clone(),
        severity: f.severity.clone(),
        previous_severity: prev.map(str::to_string),
    };
    let mut new = Vec::new();
    let mut changed = Vec::new();
    for (k, f) in &cur {
        match old.get(k) {
            None => new.push(change(f, None)),
            Some(o) if o.severity != f.severity => changed.push(change(f, Some(&o.severity))),
            Some(_) => {}
        }
    }
    let fixed = old.keys().filter(|k| !cur.contains_key(*k)).count();
    let new_criticals = new
        .iter()
        .chain(changed.iter())
        .filter(|c| c.severity == "critical")
        .cloned()
        .collect();
    Some(ImageChange {
        tenant: String::new(),
        image: image.to_string(),
        scan_id: id.to_string(),
        previous_scan_id: prev_id.to_string(),
        new,
        fixed,
        changed_severity: changed,
        new_criticals,
    })
}

const CRITICALS_DOC: &str = "scheduler/criticals";
const FEEDS_DOC: &str = "scheduler/feeds";

impl Core {
    /// The feed job: merge, check, swap in; per-source freshness recorded for `/feeds`.
    fn feed_job(&self) -> Result<serde_json::Value, String> {
        let config = match &self.config.schedule.feeds {
            Some(path) => stella_fetch::Config::load(path).map_err(|e| e.to_string())?,
            None if self.config.schedule.default_feeds => stella_fetch::Config::defaults(),
            None => return Err("no feeds configured: Core was started with `--feeds off`; start it with `stella serve --feeds FILE` (the format of `stella db update --config`) or without `--feeds` for the default feeds".into()),
        }
        .resolve(&[])?;
        let cache = self.config.data.join("feeds-cache");
        let mut tmp = self.config.db.as_os_str().to_owned();
        tmp.push(".merging");
        let tmp = std::path::PathBuf::from(tmp);
        let opts = stella_fetch::Options {
            attempts: 2,
            ..stella_fetch::Options::default()
        };
        if crate::feeds::is_prebuilt(&config) {
            return self.prebuilt_job(&config, &cache, &opts, &tmp);
        }
        let merged = match crate::feeds::merge(&config, &tmp, &cache, &opts) {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(format!("{e}; the DB in use stays"));
            }
        };
        self.record_sources(&merged.sources);
        if merged.failed() > 0 {
            let _ = std::fs::remove_file(&tmp);
            let why: Vec<String> = merged
                .sources
                .iter()
                .filter_map(|s| s.error.as_ref().map(|e| format!("{}: {e}", s.name)))
                .collect();
            return Err(format!(
                "{} of {} feeds failed ({}); the DB in use stays",
                merged.failed(),
                merged.sources.len(),
                why.join("; ")
            ));
        }
        let (digest, built) = self
            .install_db(&tmp)
            .map_err(|e| format!("{e}; the DB in use stays"))?;
        let _ = self.store.audit(
            None,
            &crate::audit_entry(
                "scheduler",
                "feeds.merge",
                &format!("{digest} built {built}"),
            ),
        );
        Ok(serde_json::json!({
            "digest": digest,
            "built": built,
            "vulnerabilities": merged.vulnerabilities,
            "packages": merged.packages,
            "sources": merged.sources,
            "problems": merged.problems,
        }))
    }

    /// Freshness per source, kept across runs: the last attempt and the last success (the
    /// UI's feed-age tile, `/feeds`).
    fn record_sources(&self, sources: &[crate::feeds::SourceOutcome]) {
        let now = stella_sbom::now();
        let mut status: BTreeMap<String, serde_json::Value> = self
            .store
            .get_doc(FEEDS_DOC)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        for s in sources {
            let prev_ok = status
                .get(&s.name)
                .and_then(|v| v.get("lastSuccess").cloned())
                .unwrap_or(serde_json::Value::Null);
            let ok = s.outcome != "failed";
            status.insert(
                s.name.clone(),
                serde_json::json!({
                    "lastAttempt": now,
                    "outcome": s.outcome,
                    "error": s.error,
                    "lastSuccess": if ok { serde_json::Value::String(now.clone()) } else { prev_ok },
                }),
            );
        }
        if let Ok(b) = serde_json::to_vec(&status) {
            let _ = self.store.put_doc(FEEDS_DOC, &b);
        }
    }

    /// The feed job for a DB built elsewhere (`stella-db` source: another Core, a mirror):
    /// fetched, verified (signature too with `--db-pubkey`), swapped in unless it is the one
    /// in use.
    fn prebuilt_job(
        &self,
        config: &stella_fetch::Config,
        cache: &std::path::Path,
        opts: &stella_fetch::Options,
        tmp: &std::path::Path,
    ) -> Result<serde_json::Value, String> {
        let fetched = crate::feeds::fetch_prebuilt(
            config,
            cache,
            opts,
            self.config.schedule.db_pubkey.as_deref(),
        );
        let p = match fetched {
            Ok(p) => p,
            Err(e) => {
                if let crate::feeds::PrebuiltError::Fetch { name, error } = &e {
                    self.record_sources(&[crate::feeds::SourceOutcome {
                        name: name.clone(),
                        outcome: "failed",
                        bytes: None,
                        error: Some(error.clone()),
                        stale: None,
                    }]);
                }
                return Err(e.to_string());
            }
        };
        self.record_sources(std::slice::from_ref(&p.source));
        let current = self.db.read().map_err(|e| e.to_string())?.digest();
        if current == p.digest {
            return Ok(serde_json::json!({
                "digest": p.digest, "upToDate": true, "sources": [p.source], "signedBy": p.key_id,
            }));
        }
        // the cache keeps its copy for the next conditional request
        std::fs::copy(&p.file, tmp).map_err(|e| format!("cannot copy the fetched DB: {e}"))?;
        let (digest, built) = self.install_db(tmp).map_err(|e| {
            let _ = std::fs::remove_file(tmp);
            format!("{e}; the DB in use stays")
        })?;
        if let Some(sig) = &p.signature {
            let _ = std::fs::copy(sig, stella_advisory::sign::sig_path(&self.config.db));
        }
        let _ = self.store.audit(
            None,
            &crate::audit_entry(
                "scheduler",
                "feeds.prebuilt",
                &format!("{digest} built {built}"),
            ),
        );
        Ok(serde_json::json!({
            "digest": digest, "built": built, "sources": [p.source], "signedBy": p.key_id,
        }))
    }

    /// The re-scan job.
    fn rescan_job(
        &self,
        run_id: &str,
        globs: &[stella_policy::Glob],
    ) -> Result<serde_json::Value, String> {
        let s = &self.config.schedule;
        let now = crate::now_secs() as i64;
        let all = self.store.all_inputs().map_err(|e| e.to_string())?;
        let mut chosen = Vec::new();
        for (tenant, image, prev) in all {
            if !globs.is_empty() && !globs.iter().any(|g| g.matches(&image)) {
                continue;
            }
            if let Some(days) = s.rescan_max_age_days {
                let created = self
                    .store
                    .scans_of(&tenant, &image)
                    .ok()
                    .and_then(|h| h.last().map(|(c, _)| c.clone()));
                let age = created
                    .as_deref()
                    .and_then(stella_sbom::epoch_days)
                    .map(|d| now.div_euclid(86_400) - d);
                if age.is_some_and(|a| a > days as i64) {
                    continue;
                }
            }
            chosen.push((tenant, image, prev));
        }
        let next = AtomicUsize::new(0);
        let failed = AtomicUsize::new(0);
        let skipped = AtomicUsize::new(0);
        let changes = std::sync::Mutex::new(Vec::new());
        // two per core, as for scans: one matches while the other waits for its commit
        let threads = 2 * if self.config.workers == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            self.config.workers
        };
        std::thread::scope(|sc| {
            for _ in 0..threads.min(chosen.len()).max(1) {
                sc.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((tenant, image, prev)) = chosen.get(i) else { break };
                        match self.rescan_one(tenant, image, prev) {
                            Ok(Some(c)) => {
                                if let Ok(mut v) = changes.lock() {
                                    v.push(c);
                                }
                            }
                            Ok(None) => {
                                skipped.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(target: "stella::scheduler", image = %image, error = %e, "re-scan failed");
                            }
                        }
                    }
                });
            }
        });
        let mut changes = changes.into_inner().unwrap_or_default();
        changes.sort_by(|a, b| (&a.tenant, &a.image).cmp(&(&b.tenant, &b.image)));
        let criticals: Vec<&ImageChange> = changes
            .iter()
            .filter(|c| !c.new_criticals.is_empty())
            .collect();
        let today = stella_sbom::rfc3339(now)[..10].to_string();
        let mut tenants: Vec<&stella_store::Tenant> = chosen.iter().map(|c| &c.0).collect();
        let default = stella_store::Tenant::default_tenant();
        tenants.push(&default);
        tenants.sort();
        tenants.dedup();
        let expired: Vec<serde_json::Value> = tenants
            .into_iter()
            .flat_map(|t| self.mutes_expiring(t, &today))
            .collect();
        let at = stella_sbom::now();
        let doc = serde_json::json!({
            "runId": run_id,
            "at": at,
            "images": criticals,
        });
        self.store
            .put_doc(
                CRITICALS_DOC,
                &serde_json::to_vec(&doc).map_err(|e| e.to_string())?,
            )
            .map_err(|e| e.to_string())?;
        let mut delivered = serde_json::Value::Null;
        if (!criticals.is_empty() || !expired.is_empty())
            && let Some(url) = &s.webhook
        {
            let payload = serde_json::json!({
                "event": "rescan",
                "runId": run_id,
                "sentAt": at,
                "newCriticals": criticals,
                "expiredMutes": expired,
            });
            // a receiver that is down or busy (5xx, no answer) is tried again: three attempts,
            // 1 s then 4 s apart; a 4xx is its verdict on the request and is not repeated
            let mut attempts = 0;
            delivered = loop {
                attempts += 1;
                match self.deliver(url, &payload) {
                    Ok(status) => {
                        break serde_json::json!({ "status": status, "attempts": attempts });
                    }
                    Err((retry, e)) if retry && attempts < 3 => {
                        tracing::warn!(target: "stella::scheduler", attempt = attempts, error = %e, "webhook not delivered; trying again");
                        std::thread::sleep(std::time::Duration::from_secs(if attempts == 1 {
                            1
                        } else {
                            4
                        }));
                    }
                    Err((_, e)) => break serde_json::json!({ "error": e, "attempts": attempts }),
                }
            };
        }
        let skipped = skipped.load(Ordering::Relaxed);
        Ok(serde_json::json!({
            "images": chosen.len() - skipped,
            "rescanned": chosen.len() - skipped - failed.load(Ordering::Relaxed),
            "failed": failed.load(Ordering::Relaxed),
            "withNewFindings": changes.iter().filter(|c| !c.new.is_empty()).count(),
            "newCriticals": criticals.iter().map(|c| c.new_criticals.len()).sum::<usize>(),
            "imagesWithNewCriticals": criticals.iter().map(|c| c.image.clone()).collect::<Vec<_>>(),
            "expiredMutes": expired,
            "webhook": delivered,
        }))
    }

    fn rescan_one(
        &self,
        tenant: &stella_store::Tenant,
        image: &str,
        prev: &str,
    ) -> Result<Option<ImageChange>, String> {
        let Some((_, input)) = self.store.input(tenant, image).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let _held = self
            .budget
            .reserve_blocking(input.len(), &self.stopping)
            .ok_or("Core is stopping")?;
        let mut job = crate::scan::Job::decode(&input)
            .ok_or_else(|| format!("the stored input of {image} is unreadable"))?
            .for_rescan(image);
        // the store's tenant, whatever the stored input says
        job.tenant = tenant.as_str().to_string();
        let labels = &self.config.schedule.rescan_labels;
        if !labels
            .iter()
            .all(|(k, v)| job.labels.get(k).is_some_and(|x| x == v))
        {
            return Ok(None);
        }
        let key = format!("scan-{}", crate::unique_suffix());
        let (json, _, _) = self
            .execute_and_store(&key, &job, None)
            .map_err(|p| String::from_utf8_lossy(&p.to_json()).into_owned())?;
        let before = self
            .store
            .get_scan(tenant, prev)
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        Ok(compare(image, &key, prev, &before, &json).map(|mut c| {
            c.tenant = tenant.as_str().to_string();
            c
        }))
    }

    /// POSTs `payload` to the webhook, signed; the error says whether trying again may help.
    fn deliver(&self, url: &str, payload: &serde_json::Value) -> Result<u16, (bool, String)> {
        let body = serde_json::to_vec(payload).map_err(|e| (false, e.to_string()))?;
        let mut req = ureq::post(url)
            .timeout(std::time::Duration::from_secs(10))
            .set("content-type", "application/json")
            .set("x-stella-event", "rescan");
        if let Some(secret) = &self.config.schedule.webhook_secret {
            let sig = hex(&hmac_sha256(secret.as_bytes(), &body));
            req = req.set("x-stella-signature-256", &format!("sha256={sig}"));
        }
        match req.send_bytes(&body) {
            Ok(r) => Ok(r.status()),
            Err(ureq::Error::Status(code, _)) => {
                Err((code >= 500, format!("the webhook answered {code}")))
            }
            Err(e) => Err((true, e.to_string())),
        }
    }

    /// Per-source freshness recorded by the feed job.
    pub(crate) fn feed_status(&self) -> serde_json::Value {
        self.store
            .get_doc(FEEDS_DOC)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(serde_json::Value::Null)
    }
}

// ---- routes ----

/// `GET /jobs`: each job's schedule, next run and last run.
pub(crate) async fn jobs(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Read)?;
    let install = caller.is_installation_admin();
    let sched = core.scheduler()?;
    let c = core.clone();
    let v = tokio::task::spawn_blocking(move || {
        let mut jobs = Vec::new();
        for job in JOBS {
            let last = c
                .store
                .runs(job, 1)
                .map_err(crate::problem::store)?
                .first()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .map(|mut v| {
                    // what a run found spans every tenant: theirs to read, not a tenant's
                    if !install && let Some(o) = v.as_object_mut() {
                        o.remove("result");
                    }
                    v
                });
            let lease = c.store.job_lease(job).map_err(crate::problem::store)?;
            jobs.push(serde_json::json!({
                "name": job,
                "schedule": sched.cron(job).map(|s| s.to_string()),
                "after": (job == "rescan" && sched.rescan_cron.is_none()).then_some("feeds"),
                "next": sched.next(job).map(rfc3339),
                "running": !lease.holder.is_empty() && lease.until > sched.clock.now(),
                "lastRun": last,
            }));
        }
        Ok::<_, Problem>(serde_json::json!({ "jobs": jobs }))
    })
    .await
    .map_err(internal)??;
    Ok(axum::Json(v).into_response())
}

#[derive(Deserialize)]
pub(crate) struct RunsParams {
    job: Option<String>,
    limit: Option<usize>,
}

/// `GET /jobs/runs[?job=&limit=]`: the run history, newest first.
pub(crate) async fn runs(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<RunsParams>,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    let job = q.job.unwrap_or_default();
    if !job.is_empty() && !JOBS.contains(&job.as_str()) {
        return Err(unknown_job(&job));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let c = core.clone();
    let v = tokio::task::spawn_blocking(move || {
        let runs: Vec<serde_json::Value> = c
            .store
            .runs(&job, limit)
            .map_err(crate::problem::store)?
            .iter()
            .filter_map(|b| serde_json::from_slice(b).ok())
            .collect();
        Ok::<_, Problem>(serde_json::json!({ "runs": runs }))
    })
    .await
    .map_err(internal)??;
    Ok(axum::Json(v).into_response())
}

fn unknown_job(job: &str) -> Problem {
    let shown: String = job.chars().take(40).collect();
    Problem::not_found(
        "No such job",
        format!(
            "there is no job `{shown}`; the jobs are {}",
            JOBS.join(", ")
        ),
    )
}

/// `POST /jobs/{name}/run` (admin): runs a job now, in the background.
pub(crate) async fn run_job(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    if !JOBS.contains(&name.as_str()) {
        return Err(unknown_job(&name));
    }
    if name == "feeds"
        && core.config.schedule.feeds.is_none()
        && !core.config.schedule.default_feeds
    {
        // nothing to fetch: a mistake to fix, not a failure to retry
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "No feeds configured",
            "Core was started with `--feeds off`, so there is nothing to update: start it with `stella serve --feeds FILE` (the format of `stella db update --config`) or without `--feeds` for the default feeds, or import feeds offline with `stella db import`",
        ));
    }
    let sched = core.scheduler()?;
    let held = core.store.job_lease(&name).map_err(crate::problem::store)?;
    if !held.holder.is_empty() && held.until > sched.clock.now() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "Job running",
            format!("`{name}` is running already; follow GET /api/v1/jobs/runs?job={name}"),
        ));
    }
    core.audit_installation(&caller, "job.run", &name);
    let job = name.clone();
    std::thread::Builder::new()
        .name(format!("stella-job-{name}"))
        .spawn(move || {
            if let Ok(None) = sched.run_now(&job) {
                tracing::info!(target: "stella::scheduler", job, "already running elsewhere");
            }
        })
        .map_err(internal)?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({
            "job": name,
            "runs": format!("/api/v1/jobs/runs?job={name}"),
        })),
    )
        .into_response())
}

/// `GET /criticals`: images whose latest re-scan found new criticals.
pub(crate) async fn criticals(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Read)?;
    let mut v: serde_json::Value = match core
        .store
        .get_doc(CRITICALS_DOC)
        .map_err(crate::problem::store)?
    {
        Some(b) => serde_json::from_slice(&b).map_err(internal)?,
        None => serde_json::json!({ "runId": null, "at": null, "images": [] }),
    };
    // each tenant sees its own images (entries of before tenants are the default tenant's)
    let mine = caller.tenant().as_str();
    if let Some(list) = v.get_mut("images").and_then(|i| i.as_array_mut()) {
        list.retain(|c| {
            c["tenant"]
                .as_str()
                .unwrap_or(stella_store::Tenant::DEFAULT)
                == mine
        });
    }
    Ok(axum::Json(v).into_response())
}

#[cfg(test)]
mod tests;
