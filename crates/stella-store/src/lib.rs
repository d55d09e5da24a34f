//! Core's store: scans and their history per image, layer fragments for Delta-SBOM, per-token
//! daily quota counters, the job queue, the audit log, named documents (policy history, keys,
//! clients) and the scheduler's leases and runs — behind one trait with two backends: the
//! embedded one (one directory, one process) and the scaled one (Redis for the hot path,
//! PostgreSQL for durable records, shared by any number of Core replicas and workers).

mod embedded;
mod scaled;
#[cfg(feature = "test-servers")]
pub mod servers;

pub use embedded::Embedded;
pub use scaled::{Scaled, ScaledOptions};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database file could not be opened or written.
    #[error("store {path}: {message}")]
    Db {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The job queue is full (back-pressure: try again later).
    #[error("the job queue is full ({0} jobs)")]
    QueueFull(u64),
    /// A tenant id that is not one (ids are checked before they reach a key).
    #[error("`{0}` is not a tenant id (1 to 63 lowercase letters, digits and inner hyphens)")]
    Tenant(String),
    /// A server the store needs (Redis, PostgreSQL) cannot be reached or answered with an
    /// error; the operation can be tried again once it is back.
    #[error("{server}: {message}")]
    Unavailable {
        /// Which server (`redis://…`, `PostgreSQL …`), without credentials.
        server: String,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// Whether trying again later may succeed (a server is down), as opposed to a damaged or
    /// refused write.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }
}

/// Creates a data directory readable by its owner only (0700), or checks one that exists: an
/// empty one is made private, one with content that other users may read or enter is
/// refused, since the store, the secrets and the key-encryption key live there.
pub fn private_dir(dir: &std::path::Path) -> Result<(), Error> {
    let bad = |m: String| Error::Db {
        path: dir.display().to_string(),
        message: m,
    };
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            b.mode(0o700);
        }
        b.create(dir)
            .map_err(|e| bad(format!("cannot create the directory: {e}")))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let m =
            std::fs::metadata(dir).map_err(|e| bad(format!("cannot read the directory: {e}")))?;
        if !m.is_dir() {
            return Err(bad("not a directory".into()));
        }
        let mode = m.permissions().mode() & 0o777;
        let empty = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
        if mode & 0o077 != 0 && empty {
            // a directory made for Core (`mkdir`, a volume, a temporary directory) and still
            // empty: made private before anything is written into it
            return std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| bad(format!("cannot make the directory private: {e}")));
        }
        if mode & 0o077 != 0 {
            return Err(bad(format!(
                "other users may read this data directory (mode {mode:o}), which holds the store and Core's secrets; run `chmod 700 {}` and start again",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// Makes a file of the store readable by its owner only (0600).
pub(crate) fn private_file(path: &std::path::Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
            Error::Db {
                path: path.display().to_string(),
                message: format!("cannot make the file private: {e}"),
            }
        })?;
    }
    Ok(())
}

/// Who owns a record: a tenant (a team or project). Every scan, history entry, stored input,
/// uploaded layer fragment, queued job and audit entry of a tenant is stored under its id and
/// found only through it, in both backends: a method that reads or writes such a record takes
/// the tenant, so no caller can reach another tenant's records by an id or a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tenant(String);

impl Tenant {
    /// The tenant everything lives in when no tenants are configured (the quick start).
    pub const DEFAULT: &'static str = "default";

    /// Checks an id: 1 to 63 of `a-z 0-9 -`, starting and ending with a letter or digit (a
    /// DNS label, so it is safe in keys, paths and URLs alike).
    pub fn new(id: &str) -> Result<Tenant, Error> {
        let ok = !id.is_empty()
            && id.len() <= 63
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !id.starts_with('-')
            && !id.ends_with('-');
        if ok {
            Ok(Tenant(id.to_string()))
        } else {
            Err(Error::Tenant(id.chars().take(80).collect()))
        }
    }

    /// The default tenant.
    pub fn default_tenant() -> Tenant {
        Tenant(Tenant::DEFAULT.to_string())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the default tenant.
    pub fn is_default(&self) -> bool {
        self.0 == Tenant::DEFAULT
    }
}

impl std::fmt::Display for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job id as the backends keep it: `tenant/id` (tenant ids have no `/`), so a job is found
/// only through its tenant; ids queued before tenants existed have no `/` and are the default
/// tenant's.
pub(crate) fn qualify(tenant: &Tenant, id: &str) -> String {
    format!("{}/{id}", tenant.0)
}

/// Splits a stored job id into its tenant and id.
pub(crate) fn unqualify(stored: &str) -> (Tenant, String) {
    match stored.split_once('/') {
        Some((t, id)) => match Tenant::new(t) {
            Ok(t) => (t, id.to_string()),
            Err(_) => (Tenant::default_tenant(), stored.to_string()),
        },
        None => (Tenant::default_tenant(), stored.to_string()),
    }
}

/// Whose layer fragments: those Core catalogued itself from images it pulled (trusted by
/// every tenant), or those a tenant's clients uploaded (trusted by that tenant only: their
/// content cannot be checked without the layer). Each is kept per cataloger set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerScope(String);

impl LayerScope {
    /// Core's own fragments.
    pub fn core(catalogers: &str) -> LayerScope {
        LayerScope(format!("core\0{catalogers}"))
    }

    /// A tenant's uploaded fragments.
    pub fn tenant(tenant: &Tenant, catalogers: &str) -> LayerScope {
        LayerScope(format!("tenant:{}\0{catalogers}", tenant.0))
    }

    /// The scope as the backends key it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A scheduled job's lease: who runs it until when, and the last slot (firing time) that
/// finished, so that several Core processes sharing a store run each slot once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lease {
    /// The last slot that finished (0: none).
    pub last_slot: i64,
    /// Who holds the lease (empty: nobody).
    pub holder: String,
    /// Until when (seconds since the epoch).
    pub until: i64,
}

/// The answer to a quota admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// Whether this scan may run.
    pub admitted: bool,
    /// Scans admitted today under the first quota charged (the token's), this one included
    /// when admitted.
    pub used: u32,
    /// How many more may run today (the least any quota charged has left).
    pub remaining: u32,
    /// When refused: which of the quotas charged was used up (its index).
    pub exhausted: Option<usize>,
}

/// One daily counter an admission charges: a token's own, or a cap over all of a tenant's
/// tokens. The keys of different kinds must not collide (Core prefixes a tenant's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota<'a> {
    /// The counter's name.
    pub key: &'a str,
    /// Scans it admits per UTC day.
    pub limit: u32,
}

impl<'a> Quota<'a> {
    /// The counter `key`, admitting `limit` a day.
    pub fn new(key: &'a str, limit: u32) -> Self {
        Quota { key, limit }
    }
}

/// What the quotas charged answer, given each one's count before this admission: refused
/// by the first that is used up, else admitted with every count one higher.
pub(crate) fn judge(quotas: &[Quota<'_>], used: &[u32]) -> Admission {
    let first = used.first().copied().unwrap_or(0);
    if let Some(i) = quotas.iter().zip(used).position(|(q, &n)| n >= q.limit) {
        return Admission {
            admitted: false,
            used: first,
            remaining: 0,
            exhausted: Some(i),
        };
    }
    let remaining = quotas
        .iter()
        .zip(used)
        .map(|(q, &n)| q.limit - n - 1)
        .min()
        .unwrap_or(u32::MAX);
    Admission {
        admitted: true,
        used: first + 1,
        remaining,
        exhausted: None,
    }
}

/// A job handed to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Whose job it is (its result is stored under this tenant).
    pub tenant: Tenant,
    /// Its id.
    pub id: String,
    /// What to do (the caller's encoding).
    pub payload: Vec<u8>,
    /// How many times it has been leased, this time included.
    pub attempts: u32,
}

/// Where a job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// A worker holds it.
    Running {
        /// Leases so far, this one included.
        attempts: u32,
    },
    /// Its result is stored (under the job's result key).
    Done,
    /// It ended with this problem document.
    Failed(Vec<u8>),
    /// No such job.
    Unknown,
}

/// What every backend keeps and how it answers; Core holds one as a [`Store`].
///
/// Promises every backend keeps (the contract tests run against both): quota admission is
/// exact under parallel callers (also across processes sharing a scaled store); a job id is
/// queued once; a leased job whose worker dies is leased again after its lease; exactly one
/// result is stored per job however many workers finish it; a scheduled job's slot runs once.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Admits one scan for `token` on UTC `day` (`2026-11-29`) when fewer than `limit` were
    /// admitted that day; the count is durable when this returns.
    fn admit(&self, token: &str, day: &str, limit: u32) -> Result<Admission, Error> {
        let a = self.admit_deferred(token, day, limit)?;
        if a.admitted {
            self.flush()?;
        }
        Ok(a)
    }
    /// Admits as [`Backend::admit`] does, but the count may become durable only with the next
    /// write of any kind; a caller that writes nothing after admitting calls
    /// [`Backend::flush`].
    fn admit_deferred(&self, token: &str, day: &str, limit: u32) -> Result<Admission, Error> {
        self.admit_all_deferred(&[Quota::new(token, limit)], day)
    }
    /// Admits one scan on `day` when every one of `quotas` has room, charging each of them,
    /// as one step (no other admission slips between the checks and the counts); durable as
    /// [`Backend::admit_deferred`]'s count is.
    fn admit_all_deferred(&self, quotas: &[Quota<'_>], day: &str) -> Result<Admission, Error>;
    /// Makes every admitted count durable now.
    fn flush(&self) -> Result<(), Error>;
    /// Scans admitted for `token` on `day`.
    fn quota_used(&self, token: &str, day: &str) -> Result<u32, Error>;

    /// Stores a scan result of `tenant`, files it under its image and appends `audit` to the
    /// audit log (as the tenant's), in one transaction.
    fn put_scan(
        &self,
        tenant: &Tenant,
        id: &str,
        image: &str,
        created: &str,
        value: Encoded,
        audit: Option<&[u8]>,
    ) -> Result<(), Error>;
    /// A scan result (JSON) of `tenant`.
    fn get_scan(&self, tenant: &Tenant, id: &str) -> Result<Option<Vec<u8>>, Error>;
    /// The scans of `tenant`'s image, oldest first: `(created, id)`.
    fn scans_of(&self, tenant: &Tenant, image: &str) -> Result<Vec<(String, String)>, Error>;

    /// The layers of `diff_ids` the store has no fragment of under `scope`, in the order
    /// given.
    fn missing_layers(&self, scope: &LayerScope, diff_ids: &[String])
    -> Result<Vec<String>, Error>;
    /// Stores a layer's fragment under `scope`.
    fn put_layer(&self, scope: &LayerScope, diff_id: &str, fragment: &[u8]) -> Result<(), Error>;
    /// A layer's fragment under `scope`.
    fn get_layer(&self, scope: &LayerScope, diff_id: &str) -> Result<Option<Vec<u8>>, Error>;

    /// Queues a job; refuses when the queue is full and ignores an id already queued or done.
    fn enqueue(&self, tenant: &Tenant, id: &str, payload: &[u8]) -> Result<(), Error>;
    /// Admits one scan on `day` under every one of `quotas` (as
    /// [`Backend::admit_all_deferred`]) and queues its job, as one atomic step: a crash
    /// leaves both or neither, so a token is charged exactly for the scans it queued. A full
    /// queue or a job id already known charges nothing.
    fn admit_and_enqueue(
        &self,
        quotas: &[Quota<'_>],
        day: &str,
        tenant: &Tenant,
        id: &str,
        payload: &[u8],
    ) -> Result<Admission, Error>;
    /// Jobs waiting or running.
    fn queue_depth(&self) -> Result<u64, Error>;
    /// Leases the oldest job nobody holds, or one whose lease ran out (its worker died), to
    /// `worker` for `lease_ms`. A shared backend may wait up to a second for one to arrive.
    fn lease(&self, worker: &str, now_ms: u64, lease_ms: u64) -> Result<Option<Job>, Error>;
    /// Extends `worker`'s lease of job `id` to `now_ms + lease_ms` (a worker renews while it
    /// works, so only a dead worker's job is taken over). `false` when it is not `worker`'s.
    fn renew(
        &self,
        tenant: &Tenant,
        id: &str,
        worker: &str,
        now_ms: u64,
        lease_ms: u64,
    ) -> Result<bool, Error>;
    /// Finishes a job: stores `result` under `result_key` (the job's tenant's), appends
    /// `audit` and removes the job, at once. `false` when the job is no longer this worker's
    /// or already finished (the result and its audit entry must be dropped: exactly one
    /// result per job, audited once).
    #[allow(clippy::too_many_arguments)]
    fn complete(
        &self,
        tenant: &Tenant,
        id: &str,
        worker: &str,
        result_key: &str,
        image: &str,
        created: &str,
        result: Encoded,
        audit: Option<&[u8]>,
    ) -> Result<bool, Error>;
    /// Ends a job that cannot succeed, keeping `problem` as its answer.
    fn fail(&self, tenant: &Tenant, id: &str, worker: &str, problem: &[u8]) -> Result<bool, Error>;
    /// Releases every lease, when no worker of an earlier run can be alive (a store of one
    /// process at its start); a shared backend leaves them to run out. Returns how many.
    fn release_all(&self) -> Result<usize, Error>;
    /// Where a job of `tenant` stands (another tenant's job is `Unknown`).
    fn job_state(&self, tenant: &Tenant, id: &str) -> Result<JobState, Error>;
    /// The result key of a completed job of `tenant`.
    fn job_result(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, Error>;

    /// Appends to the audit log (an entry the caller encodes, JSON by convention), as
    /// `tenant`'s (its admins read it) or, with `None`, the installation's only.
    fn audit(&self, tenant: Option<&Tenant>, entry: &[u8]) -> Result<u64, Error>;
    /// Audit entries from sequence `from` on, at most `limit`: `tenant`'s, or with `None`
    /// every entry (the installation's admins).
    fn audit_log(
        &self,
        tenant: Option<&Tenant>,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, Error>;

    /// `tenant`'s images with a stored input, each with its latest scan id, in image order.
    fn inputs(&self, tenant: &Tenant) -> Result<Vec<(String, String)>, Error>;
    /// Every tenant's images with a stored input (the scheduler's re-scan), in tenant and
    /// image order.
    fn all_inputs(&self) -> Result<Vec<(Tenant, String, String)>, Error>;
    /// `tenant`'s image's latest scan id and the input it was made from.
    fn input(&self, tenant: &Tenant, image: &str) -> Result<Option<(String, Vec<u8>)>, Error>;

    /// Takes `job`'s lease for `holder` until `now + ttl` when nobody else holds a live one
    /// and, for a scheduled run (`slot`), when that slot has not finished yet.
    fn try_lease(
        &self,
        job: &str,
        holder: &str,
        slot: Option<i64>,
        now: i64,
        ttl: i64,
    ) -> Result<bool, Error>;
    /// Gives `job`'s lease back; a finished scheduled run records its slot.
    fn release(&self, job: &str, holder: &str, slot: Option<i64>) -> Result<(), Error>;
    /// `job`'s lease as stored.
    fn job_lease(&self, job: &str) -> Result<Lease, Error>;
    /// Records (or updates) a run of `job` that started at `started`.
    fn put_run(&self, job: &str, started: i64, id: &str, record: &[u8]) -> Result<(), Error>;
    /// The latest `limit` runs of `job` (every job when empty), newest first.
    fn runs(&self, job: &str, limit: usize) -> Result<Vec<Vec<u8>>, Error>;

    /// Replaces a named document.
    fn put_doc(&self, name: &str, bytes: &[u8]) -> Result<(), Error>;
    /// Stores a named document only if there is none yet; `false` when there was (another
    /// process was first: replicas starting together agree on one keyring and one admin).
    fn create_doc(&self, name: &str, bytes: &[u8]) -> Result<bool, Error>;
    /// A named document.
    fn get_doc(&self, name: &str) -> Result<Option<Vec<u8>>, Error>;
    /// A number that changes whenever any document changes (other processes' writes
    /// included), so a replica knows when to read keys, clients and policy again.
    fn docs_generation(&self) -> Result<u64, Error>;

    /// Records a failed login under `key` at `now` (seconds); the count is forgotten
    /// `window_secs` after the last failure. Answers the failures counted and the last one's
    /// time. Shared by every replica of a scaled store.
    fn login_failed(&self, key: &str, now: u64, window_secs: u64) -> Result<(u32, u64), Error>;
    /// The failures counted under `key` and the last one's time (`(0, 0)`: none).
    fn login_failures(&self, key: &str) -> Result<(u32, u64), Error>;
    /// Forgets the failures under `key` (a good login).
    fn login_reset(&self, key: &str) -> Result<(), Error>;
    /// Forgets the failures of `subject` and of `subject@ADDRESS` for every address (an
    /// admin lifting a lockout).
    fn login_reset_principal(&self, subject: &str) -> Result<(), Error>;

    /// A value of the small shared cache (scaled: Redis, entries expire), `None` when absent
    /// or expired. The embedded store has none: Core's own memory is the cache there.
    fn cache_get(&self, _key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(None)
    }
    /// Keeps `value` under `key` for `ttl_secs` in the shared cache (nothing on the embedded
    /// store).
    fn cache_put(&self, _key: &str, _value: &[u8], _ttl_secs: u64) -> Result<(), Error> {
        Ok(())
    }

    /// Whether several processes share this store (workers of other processes may hold
    /// leases; documents may change under this process).
    fn shared(&self) -> bool {
        false
    }
    /// Whether the servers behind the store answer (`/readyz`).
    fn ready(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Calls `observe` after every commit from now on (the first observer set stays), with
    /// how long it took from asking for the write transaction until it was durable and how
    /// many writes it held. Answers whether this backend reports its commits: one that does
    /// not group writes into commits of its own ignores `observe`.
    fn observe_commits(&self, _observe: CommitObserver) -> bool {
        false
    }
}

/// Told the duration and the number of writes of each commit (for metrics).
pub type CommitObserver = fn(std::time::Duration, usize);

/// The store Core uses: one backend behind a pointer.
#[derive(Debug)]
pub struct Store(Box<dyn Backend>);

impl Store {
    /// Opens (or creates) the embedded store in `dir`; the queue holds at most
    /// `queue_limit` jobs.
    pub fn open(dir: &std::path::Path, queue_limit: u64) -> Result<Store, Error> {
        Ok(Store(Box::new(Embedded::open(dir, queue_limit)?)))
    }

    /// Connects to Redis and PostgreSQL (running migrations) for a scaled deployment.
    pub fn scaled(options: &ScaledOptions) -> Result<Store, Error> {
        Ok(Store(Box::new(Scaled::connect(options)?)))
    }
}

impl std::ops::Deref for Store {
    type Target = dyn Backend;
    fn deref(&self) -> &(dyn Backend + 'static) {
        &*self.0
    }
}

/// Scan results are stored LZ4-compressed (a result's JSON shrinks about sixfold, and the
/// store's writes with it): a tag byte, then either the whole JSON as one block with its size,
/// or a raw head (what differs between scans of the same content: the creation time) and the
/// compressed rest, so a result reused from an identical scan is stored without compressing it
/// again. Results stored raw by earlier versions start with `{` and are read as they are.
const LZ4: u8 = 1;
const HEAD_AND_LZ4: u8 = 2;

/// A scan result encoded for the store.
#[derive(Debug, Clone)]
pub struct Encoded(Vec<u8>, Option<Vec<u8>>);

impl Encoded {
    /// Keeps `input` (what the scan was made from) as its image's latest input, for
    /// re-scans that match again without cataloguing again.
    pub fn with_input(mut self, input: &[u8]) -> Encoded {
        self.1 = Some(lz4(input));
        self
    }

    /// The whole JSON, compressed.
    pub fn json(json: &[u8]) -> Encoded {
        let mut out = Vec::with_capacity(1 + json.len() / 4);
        out.push(LZ4);
        out.extend_from_slice(&lz4(json));
        Encoded(out, None)
    }

    /// A raw head and a tail compressed with [`Encoded::compress`]; read back as head + tail.
    pub fn parts(head: &[u8], compressed_tail: &[u8]) -> Encoded {
        let mut out = Vec::with_capacity(5 + head.len() + compressed_tail.len());
        out.push(HEAD_AND_LZ4);
        out.extend_from_slice(&(head.len() as u32).to_le_bytes());
        out.extend_from_slice(head);
        out.extend_from_slice(compressed_tail);
        Encoded(out, None)
    }

    /// Compresses a tail for [`Encoded::parts`].
    pub fn compress(tail: &[u8]) -> Vec<u8> {
        lz4(tail)
    }

    /// Stored bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is nothing (never, for a real result).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `lz4_flex::compress_prepend_size`'s bytes, without its costs per call: it zeroes an output
/// buffer of the worst-case size (110 % of the input: 620 KB for a 500-component scan's
/// result) and then shrinks it, copying. Here the worst-case buffer is one per thread,
/// zeroed once and reused, and the result is copied out at its size.
fn lz4(input: &[u8]) -> Vec<u8> {
    /// Larger inputs (rare: results of tens of thousands of findings) are compressed the
    /// plain way rather than keep such a buffer per thread.
    const REUSED_UP_TO: usize = 4 << 20;
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let max = lz4_flex::block::get_maximum_output_size(input.len());
    if max > REUSED_UP_TO {
        return lz4_flex::compress_prepend_size(input);
    }
    BUF.with(|b| {
        let Ok(mut buf) = b.try_borrow_mut() else {
            return lz4_flex::compress_prepend_size(input);
        };
        if buf.len() < max {
            buf.resize(max, 0);
        }
        match lz4_flex::block::compress_into(input, &mut buf[..max]) {
            Ok(n) => {
                let mut out = Vec::with_capacity(4 + n);
                out.extend_from_slice(&(input.len() as u32).to_le_bytes());
                out.extend_from_slice(&buf[..n]);
                out
            }
            Err(_) => lz4_flex::compress_prepend_size(input),
        }
    })
}

pub(crate) fn unpack(stored: &[u8]) -> Option<Vec<u8>> {
    match stored.split_first() {
        Some((&LZ4, block)) => lz4_flex::decompress_size_prepended(block).ok(),
        Some((&HEAD_AND_LZ4, rest)) => {
            let n = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            let head = rest.get(4..4 + n)?;
            let tail = lz4_flex::decompress_size_prepended(rest.get(4 + n..)?).ok()?;
            let mut out = Vec::with_capacity(head.len() + tail.len());
            out.extend_from_slice(head);
            out.extend_from_slice(&tail);
            Some(out)
        }
        Some((b'{', _)) => Some(stored.to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_scaled;
