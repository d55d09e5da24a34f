//! The embedded backend: one directory, one crash-safe file (redb: ACID transactions over
//! copy-on-write B-trees, readers never block the writer), locked to one process.
//!
//! Traps: quota admission is one write transaction (redb has a single writer), so parallel
//! requests across the limit admit exactly the limit; a job is leased, not removed, until
//! its result is stored in the same transaction that removes it, so a worker killed mid-scan
//! leaves a job that is leased again once its lease runs out and finishes exactly once; every
//! tenant-owned key starts with the tenant's id and a NUL (tenant ids have none), so a range
//! or a lookup never leaves its tenant.

use std::any::Any;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::{
    Admission, Backend, CommitObserver, Encoded, Error, Job, JobState, LayerScope, Lease, Quota,
    Tenant, qualify, unpack, unqualify,
};

/// `tenant \0 scan id` → scan result (JSON bytes).
const SCANS: TableDefinition<&str, &[u8]> = TableDefinition::new("scans");
/// `tenant \0 image \0 created \0 scan id` → () : each image's scans in time order.
const HISTORY: TableDefinition<&str, ()> = TableDefinition::new("history");
/// `scope \0 diffID` → catalogue fragment (JSON bytes).
const LAYERS: TableDefinition<&str, &[u8]> = TableDefinition::new("layers");
/// `token \0 day` → scans admitted that UTC day.
const QUOTA: TableDefinition<&str, u32> = TableDefinition::new("quota");
/// sequence → `tenant/job id` (queue order; every job table is keyed so).
const QUEUE: TableDefinition<u64, &str> = TableDefinition::new("queue");
/// job id → (sequence, payload, lease holder, lease end in ms, attempts) encoded by [`Job`].
const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("jobs");
/// job id → result key, for jobs completed (exactly-once answers to re-deliveries).
const DONE: TableDefinition<&str, &str> = TableDefinition::new("done");
/// job id → why it failed (a problem document, JSON bytes).
const FAILED: TableDefinition<&str, &[u8]> = TableDefinition::new("failed");
/// sequence → audit entry (JSON bytes).
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
/// `tenant \0 sequence (20 digits)` → () : each tenant's audit entries.
const AUDIT_BY_TENANT: TableDefinition<&str, ()> = TableDefinition::new("audit_by_tenant");
/// `schema` → the layout version of this file ([`SCHEMA`]).
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The layout version: 1 had no tenants, 2 keys every tenant-owned record by its tenant.
const SCHEMA: u64 = 2;
/// name → document (policy history, signing keys, clients…).
const DOCS: TableDefinition<&str, &[u8]> = TableDefinition::new("docs");

/// `tenant \0 image` → its latest scan's input: scan id length (u32 LE), scan id, LZ4 input.
const INPUTS: TableDefinition<&str, &[u8]> = TableDefinition::new("inputs");
/// `job \0 started (20 digits) \0 run id` → run record (JSON bytes).
const RUNS: TableDefinition<&str, &[u8]> = TableDefinition::new("runs");
/// scheduled job → its lease and last finished slot ([`Lease`]).
const LEASES: TableDefinition<&str, &[u8]> = TableDefinition::new("leases");

/// `tenant \0 rest`: a tenant-owned key.
fn tkey(tenant: &Tenant, rest: &str) -> String {
    let mut k = String::with_capacity(tenant.as_str().len() + 1 + rest.len());
    k.push_str(tenant.as_str());
    k.push('\0');
    k.push_str(rest);
    k
}

/// Stores a scan of `tenant`: its result, its place in the image's history, and the image's
/// latest input when given.
fn store_scan(
    w: &redb::WriteTransaction,
    tenant: &Tenant,
    id: &str,
    image: &str,
    created: &str,
    value: &[u8],
    input: Option<&[u8]>,
) -> Result<(), redb::Error> {
    w.open_table(SCANS)?
        .insert(tkey(tenant, id).as_str(), value)?;
    w.open_table(HISTORY)?.insert(
        tkey(tenant, &format!("{image}\0{created}\0{id}")).as_str(),
        (),
    )?;
    if let Some(i) = input {
        put_input(w, &tkey(tenant, image), id, i)?;
    }
    Ok(())
}

/// Brings a file of an earlier layout to [`SCHEMA`] in the transaction that opens it: layout
/// 1's scans, history and inputs become the default tenant's, and so do its audit entries.
/// A file of a later layout is refused (an older binary must not write what it cannot read).
fn migrate(w: &redb::WriteTransaction) -> Result<Option<u64>, redb::Error> {
    {
        let mut meta = w.open_table(META)?;
        let version = meta.get("schema")?.map(|v| v.value());
        match version {
            Some(v) if v >= SCHEMA => return Ok(Some(v)),
            _ => {}
        }
        let default = Tenant::default_tenant();
        for table in [SCANS, INPUTS] {
            let mut t = w.open_table(table)?;
            let old: Vec<(String, Vec<u8>)> = t
                .iter()?
                .map(|e| e.map(|(k, v)| (k.value().to_string(), v.value().to_vec())))
                .collect::<Result<_, _>>()?;
            for (k, v) in old {
                t.remove(k.as_str())?;
                t.insert(tkey(&default, &k).as_str(), v.as_slice())?;
            }
        }
        let mut h = w.open_table(HISTORY)?;
        let old: Vec<String> = h
            .iter()?
            .map(|e| e.map(|(k, _)| k.value().to_string()))
            .collect::<Result<_, _>>()?;
        for k in old {
            h.remove(k.as_str())?;
            h.insert(tkey(&default, &k).as_str(), ())?;
        }
        let seqs: Vec<u64> = w
            .open_table(AUDIT)?
            .iter()?
            .map(|e| e.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()?;
        let mut by = w.open_table(AUDIT_BY_TENANT)?;
        for q in seqs {
            by.insert(tkey(&default, &format!("{q:020}")).as_str(), ())?;
        }
        meta.insert("schema", SCHEMA)?;
        Ok(version)
    }
}

fn put_input(
    w: &redb::WriteTransaction,
    image: &str,
    id: &str,
    packed: &[u8],
) -> Result<(), redb::Error> {
    let mut v = Vec::with_capacity(4 + id.len() + packed.len());
    v.extend_from_slice(&(id.len() as u32).to_le_bytes());
    v.extend_from_slice(id.as_bytes());
    v.extend_from_slice(packed);
    w.open_table(INPUTS)?.insert(image, v.as_slice())?;
    Ok(())
}

impl Lease {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(16 + self.holder.len());
        v.extend_from_slice(&self.last_slot.to_le_bytes());
        v.extend_from_slice(&self.until.to_le_bytes());
        v.extend_from_slice(self.holder.as_bytes());
        v
    }
    fn decode(b: &[u8]) -> Lease {
        let i64_at = |at: usize| {
            b.get(at..at + 8)
                .and_then(|x| x.try_into().ok())
                .map_or(0, i64::from_le_bytes)
        };
        Lease {
            last_slot: i64_at(0),
            until: i64_at(8),
            holder: b
                .get(16..)
                .map(|h| String::from_utf8_lossy(h).into_owned())
                .unwrap_or_default(),
        }
    }
}

/// A job as stored: sequence, lease end (ms since the epoch; 0 = not leased), attempts,
/// holder, payload.
struct Stored {
    seq: u64,
    lease_end: u64,
    attempts: u32,
    holder: String,
    payload: Vec<u8>,
}

impl Stored {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(24 + self.holder.len() + self.payload.len());
        v.extend_from_slice(&self.seq.to_le_bytes());
        v.extend_from_slice(&self.lease_end.to_le_bytes());
        v.extend_from_slice(&self.attempts.to_le_bytes());
        v.extend_from_slice(&(self.holder.len() as u32).to_le_bytes());
        v.extend_from_slice(self.holder.as_bytes());
        v.extend_from_slice(&self.payload);
        v
    }

    fn decode(b: &[u8]) -> Option<Stored> {
        let u64_at = |at: usize| Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?));
        let u32_at = |at: usize| Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?));
        let hl = u32_at(20)? as usize;
        Some(Stored {
            seq: u64_at(0)?,
            lease_end: u64_at(8)?,
            attempts: u32_at(16)?,
            holder: String::from_utf8(b.get(24..24 + hl)?.to_vec()).ok()?,
            payload: b.get(24 + hl..)?.to_vec(),
        })
    }
}

/// A write run inside the next group transaction.
type Op =
    Box<dyn FnOnce(&redb::WriteTransaction) -> Result<Box<dyn Any + Send>, redb::Error> + Send>;
/// What a grouped write answered, or why its group failed.
type Outcome = Result<Box<dyn Any + Send>, String>;

/// Writes waiting for a group commit, and who is committing. The first writer to find no
/// leader becomes it: it commits every write waiting (its own among them) in one transaction
/// and one fsync, hands each writer its answer and steps down; writers that arrived meanwhile
/// wait, and one of them leads the next group (LevelDB's writer queue). No committer thread:
/// a scan's write is not handed to another thread and back, two wake-ups fewer per scan.
#[derive(Default)]
struct Group {
    state: Mutex<GroupState>,
    turn: Condvar,
}

#[derive(Default)]
struct GroupState {
    /// Writes not yet taken by a leader, by ticket, oldest first.
    waiting: Vec<(u64, Op)>,
    /// Answers not yet picked up, by ticket.
    done: HashMap<u64, Outcome>,
    leading: bool,
    next_ticket: u64,
}

impl Group {
    fn lock(&self) -> MutexGuard<'_, GroupState> {
        // the state stays consistent across a panic (see `Leading`), so a poisoned lock is
        // still good
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The leader's duty while it commits: if it unwinds, the writes it took fail instead of
/// waiting forever, and another writer may lead.
struct Leading<'a> {
    group: &'a Group,
    tickets: Vec<u64>,
    answers: Option<Vec<(u64, Outcome)>>,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        let mut st = self.group.lock();
        match self.answers.take() {
            Some(answers) => st.done.extend(answers),
            None => {
                for t in &self.tickets {
                    st.done.insert(
                        *t,
                        Err("the group commit was cut short (a write panicked)".into()),
                    );
                }
            }
        }
        st.leading = false;
        drop(st);
        self.group.turn.notify_all();
    }
}

/// Quota counts admitted in memory and written by the next transaction of any kind: a scan
/// then costs one durable write (its result, with the count) instead of two.
///
/// Key → (admitted, written). `admitted` decides admission; the table holds `written`.
/// A crash loses only counts of scans whose results were not stored either.
#[derive(Debug, Default)]
struct Counts(std::collections::HashMap<String, (u32, u32)>);

/// Writes every count admitted since its last write into `w`; returns what was written, to be
/// marked once the transaction commits.
fn write_counts(
    w: &redb::WriteTransaction,
    counts: &Mutex<Counts>,
) -> Result<Vec<(String, u32)>, redb::Error> {
    let dirty: Vec<(String, u32)> = match counts.lock() {
        Ok(c) => {
            c.0.iter()
                .filter(|(_, (admitted, written))| admitted > written)
                .map(|(k, (admitted, _))| (k.clone(), *admitted))
                .collect()
        }
        Err(_) => return Ok(Vec::new()),
    };
    if dirty.is_empty() {
        return Ok(dirty);
    }
    let mut t = w.open_table(QUOTA)?;
    for (k, n) in &dirty {
        let stored = t.get(k.as_str())?.map_or(0, |v| v.value());
        t.insert(k.as_str(), stored.max(*n))?;
    }
    Ok(dirty)
}

fn mark_written(counts: &Mutex<Counts>, written: Vec<(String, u32)>) {
    if let Ok(mut c) = counts.lock() {
        for (k, n) in written {
            if let Some(e) = c.0.get_mut(&k) {
                e.1 = e.1.max(n);
            }
        }
    }
}

/// The store.
pub struct Embedded {
    db: Database,
    /// Failed logins: key → (count, last failure, forgotten after). One process holds the
    /// store, so memory is where they are shared; a restart forgets them.
    logins: Mutex<HashMap<String, (u32, u64, u64)>>,
    counts: Mutex<Counts>,
    path: String,
    queue_limit: u64,
    /// Hot writes are committed in groups: every write waiting goes into one transaction
    /// and one fsync, and each caller still returns only once its write is durable.
    group: Group,
    observer: std::sync::OnceLock<CommitObserver>,
}

impl Drop for Embedded {
    fn drop(&mut self) {
        // counts admitted after the last write (a clean shutdown keeps them)
        let _ = self.write(|_| Ok(()));
    }
}

/// Most writes one group commit takes.
const MAX_BATCH: usize = 256;

/// Runs `batch` in one transaction and commits it; one failed write (a storage error) fails
/// the whole batch, and nothing of it is kept.
fn commit_batch(
    db: &Database,
    counts: &Mutex<Counts>,
    batch: Vec<(u64, Op)>,
) -> Vec<(u64, Outcome)> {
    let w = match db.begin_write() {
        Ok(w) => w,
        Err(e) => {
            let e = e.to_string();
            return batch
                .into_iter()
                .map(|(t, _)| (t, Err(e.clone())))
                .collect();
        }
    };
    let mut results = Vec::with_capacity(batch.len());
    let mut failed = None;
    for (ticket, op) in batch {
        if failed.is_some() {
            results.push((ticket, None));
            continue;
        }
        match op(&w) {
            Ok(v) => results.push((ticket, Some(v))),
            Err(e) => {
                failed = Some(e.to_string());
                results.push((ticket, None));
            }
        }
    }
    let written = match failed {
        None => match write_counts(&w, counts) {
            Ok(x) => x,
            Err(e) => {
                failed = Some(e.to_string());
                Vec::new()
            }
        },
        Some(_) => Vec::new(),
    };
    let outcome = match failed {
        Some(e) => {
            let _ = w.abort();
            Err(e)
        }
        None => w.commit().map_err(|e| e.to_string()),
    };
    if outcome.is_ok() {
        mark_written(counts, written);
    }
    results
        .into_iter()
        .map(|(ticket, v)| {
            let answer = match (&outcome, v) {
                (Ok(()), Some(v)) => Ok(v),
                (Err(e), _) => Err(e.clone()),
                (Ok(()), None) => Err("the write was not run".into()),
            };
            (ticket, answer)
        })
        .collect()
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("path", &self.path)
            .finish()
    }
}

impl Embedded {
    /// Opens (or creates) the store in `dir`; the queue holds at most `queue_limit` jobs.
    pub fn open(dir: &Path, queue_limit: u64) -> Result<Embedded, Error> {
        let path = dir.join("stella.redb");
        let bad = |m: String| Error::Db {
            path: path.display().to_string(),
            message: m,
        };
        crate::private_dir(dir)?;
        // redb caches pages itself; its default (1 GiB) would be most of Core's memory
        let db = Database::builder()
            .set_cache_size(32 << 20)
            .create(&path)
            .map_err(|e| bad(e.to_string()))?;
        crate::private_file(&path)?;
        let s = Embedded {
            db,
            logins: Mutex::default(),
            counts: Mutex::new(Counts::default()),
            path: path.display().to_string(),
            queue_limit,
            group: Group::default(),
            observer: std::sync::OnceLock::new(),
        };
        // every table exists from the start, so readers never meet a missing one
        s.write(|w| {
            w.open_table(SCANS)?;
            w.open_table(HISTORY)?;
            w.open_table(LAYERS)?;
            w.open_table(QUOTA)?;
            w.open_table(QUEUE)?;
            w.open_table(JOBS)?;
            w.open_table(DONE)?;
            w.open_table(FAILED)?;
            w.open_table(AUDIT)?;
            w.open_table(DOCS)?;
            w.open_table(INPUTS)?;
            w.open_table(RUNS)?;
            w.open_table(LEASES)?;
            w.open_table(AUDIT_BY_TENANT)?;
            migrate(w)
        })
        .and_then(|version| match version {
            Some(v) if v > SCHEMA => Err(bad(format!(
                "this store was written by a newer Stella (layout {v}; this binary reads up to {SCHEMA}); run that version, or restore a backup made for this one"
            ))),
            _ => Ok(()),
        })?;
        Ok(s)
    }

    fn committed(&self, started: std::time::Instant, writes: usize) {
        if let Some(observe) = self.observer.get() {
            observe(started.elapsed(), writes);
        }
    }

    fn bad(&self, e: impl std::fmt::Display) -> Error {
        Error::Db {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, Error> {
        let started = std::time::Instant::now();
        let w = self.db.begin_write().map_err(|e| self.bad(e))?;
        let out = f(&w).map_err(|e| self.bad(e))?;
        let written = write_counts(&w, &self.counts).map_err(|e| self.bad(e))?;
        w.commit().map_err(|e| self.bad(e))?;
        mark_written(&self.counts, written);
        self.committed(started, 1);
        Ok(out)
    }

    /// A write committed with whatever else is waiting (see [`Group`]).
    fn write_grouped<T: Send + 'static>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error> + Send + 'static,
    ) -> Result<T, Error> {
        let op: Op = Box::new(move |w| f(w).map(|v| Box::new(v) as Box<dyn Any + Send>));
        let group = &self.group;
        let mut st = group.lock();
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        st.waiting.push((ticket, op));
        let answer = loop {
            if let Some(a) = st.done.remove(&ticket) {
                break a;
            }
            if st.leading {
                st = group.turn.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            st.leading = true;
            let n = st.waiting.len().min(MAX_BATCH);
            let batch: Vec<(u64, Op)> = st.waiting.drain(..n).collect();
            drop(st);
            let mut leading = Leading {
                group,
                tickets: batch.iter().map(|(t, _)| *t).collect(),
                answers: None,
            };
            let (started, n) = (std::time::Instant::now(), batch.len());
            leading.answers = Some(commit_batch(&self.db, &self.counts, batch));
            drop(leading);
            self.committed(started, n);
            st = group.lock();
        };
        drop(st);
        let v = answer.map_err(|e| self.bad(e))?;
        v.downcast::<T>()
            .map(|b| *b)
            .map_err(|_| self.bad("a write answered with the wrong type"))
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, Error> {
        let r = self.db.begin_read().map_err(|e| self.bad(e))?;
        f(&r).map_err(|e| self.bad(e))
    }

    /// Stored inputs `(tenant, image, latest scan id)` of one tenant or of all, in key order.
    fn inputs_from(&self, tenant: Option<&Tenant>) -> Result<Vec<(Tenant, String, String)>, Error> {
        let (lo, hi) = match tenant {
            Some(t) => (tkey(t, ""), tkey(t, "\u{10ffff}")),
            None => (String::new(), "\u{10ffff}".to_string()),
        };
        self.read(|r| {
            let t = r.open_table(INPUTS)?;
            let mut out = Vec::new();
            for e in t.range(lo.as_str()..hi.as_str())? {
                let (k, v) = e?;
                let Some((tenant, image)) = k.value().split_once('\0') else {
                    continue;
                };
                let Ok(tenant) = Tenant::new(tenant) else {
                    continue;
                };
                let v = v.value();
                let n = v
                    .get(..4)
                    .and_then(|x| x.try_into().ok())
                    .map_or(0, u32::from_le_bytes) as usize;
                if let Some(id) = v.get(4..4 + n) {
                    out.push((
                        tenant,
                        image.to_string(),
                        String::from_utf8_lossy(id).into_owned(),
                    ));
                }
            }
            Ok(out)
        })
    }
}

impl Backend for Embedded {
    fn observe_commits(&self, observe: CommitObserver) -> bool {
        let _ = self.observer.set(observe);
        true
    }

    // ---- quota ----

    /// Admits one scan on `day` under every one of `quotas`; the counts become durable with
    /// the next write of any kind (the caller's scan result, normally). A caller that writes
    /// nothing after admitting calls `flush`.
    fn admit_all_deferred(&self, quotas: &[Quota<'_>], day: &str) -> Result<Admission, Error> {
        let keys: Vec<String> = quotas.iter().map(|q| format!("{}\0{day}", q.key)).collect();
        let mut c = self
            .counts
            .lock()
            .map_err(|_| self.bad("the quota counts are poisoned"))?;
        let mut used = Vec::with_capacity(keys.len());
        for key in &keys {
            let n = match c.0.get(key) {
                Some(&(admitted, _)) => admitted,
                None => {
                    let stored = self.read(|r| {
                        let t = r.open_table(QUOTA)?;
                        Ok(t.get(key.as_str())?.map_or(0, |v| v.value()))
                    })?;
                    // counts of earlier days that are written are of no more use
                    if c.0.len() >= 4096 {
                        c.0.retain(|k, (admitted, written)| admitted > written || k.ends_with(day));
                    }
                    c.0.insert(key.clone(), (stored, stored));
                    stored
                }
            };
            used.push(n);
        }
        let a = crate::judge(quotas, &used);
        if a.admitted {
            for (key, n) in keys.iter().zip(&used) {
                if let Some(e) = c.0.get_mut(key) {
                    e.0 = n + 1;
                }
            }
        }
        Ok(a)
    }

    /// Makes every admitted count durable now.
    fn flush(&self) -> Result<(), Error> {
        self.write_grouped(|_| Ok(()))
    }

    /// Scans admitted for `token` on `day`.
    fn quota_used(&self, token: &str, day: &str) -> Result<u32, Error> {
        let key = format!("{token}\0{day}");
        if let Some(&(admitted, _)) = self.counts.lock().ok().as_ref().and_then(|c| c.0.get(&key)) {
            return Ok(admitted);
        }
        self.read(|r| {
            let t = r.open_table(QUOTA)?;
            Ok(t.get(key.as_str())?.map_or(0, |v| v.value()))
        })
    }

    // ---- scans ----

    /// Stores a scan result, files it under its image and appends `audit` to the audit log,
    /// in one transaction.
    fn put_scan(
        &self,
        tenant: &Tenant,
        id: &str,
        image: &str,
        created: &str,
        value: Encoded,
        audit: Option<&[u8]>,
    ) -> Result<(), Error> {
        let Encoded(value, input) = value;
        let (tenant, id, image, created) = (
            tenant.clone(),
            id.to_string(),
            image.to_string(),
            created.to_string(),
        );
        let audit = audit.map(<[u8]>::to_vec);
        self.write_grouped(move |w| {
            store_scan(w, &tenant, &id, &image, &created, &value, input.as_deref())?;
            if let Some(a) = &audit {
                append_audit(w, Some(&tenant), a)?;
            }
            Ok(())
        })
    }

    /// A scan result.
    fn get_scan(&self, tenant: &Tenant, id: &str) -> Result<Option<Vec<u8>>, Error> {
        let key = tkey(tenant, id);
        let packed = self.read(|r| {
            Ok(r.open_table(SCANS)?
                .get(key.as_str())?
                .map(|v| v.value().to_vec()))
        })?;
        packed
            .map(|p| {
                unpack(&p)
                    .ok_or_else(|| self.bad(format!("scan {id}: the stored result is damaged")))
            })
            .transpose()
    }

    /// An image's scans, oldest first: `(created, id)`.
    fn scans_of(&self, tenant: &Tenant, image: &str) -> Result<Vec<(String, String)>, Error> {
        let lo = tkey(tenant, &format!("{image}\0"));
        let hi = tkey(tenant, &format!("{image}\u{1}"));
        self.read(|r| {
            let t = r.open_table(HISTORY)?;
            let mut out = Vec::new();
            for e in t.range(lo.as_str()..hi.as_str())? {
                let (k, _) = e?;
                let mut parts = k.value()[lo.len()..].splitn(2, '\0');
                if let (Some(c), Some(id)) = (parts.next(), parts.next()) {
                    out.push((c.to_string(), id.to_string()));
                }
            }
            Ok(out)
        })
    }

    // ---- layers (Delta-SBOM) ----

    /// The layers of `diff_ids` the store has no fragment of under `scope` (who uploaded it
    /// and with which cataloger set), in the order given.
    fn missing_layers(
        &self,
        scope: &LayerScope,
        diff_ids: &[String],
    ) -> Result<Vec<String>, Error> {
        let scope = scope.as_str();
        self.read(|r| {
            let t = r.open_table(LAYERS)?;
            let mut out = Vec::new();
            let mut key = String::with_capacity(scope.len() + 80);
            for d in diff_ids {
                key.clear();
                key.push_str(scope);
                key.push('\0');
                key.push_str(d);
                if t.get(key.as_str())?.is_none() {
                    out.push(d.clone());
                }
            }
            Ok(out)
        })
    }

    /// Stores a layer's fragment under `scope`.
    fn put_layer(&self, scope: &LayerScope, diff_id: &str, fragment: &[u8]) -> Result<(), Error> {
        let key = format!("{}\0{diff_id}", scope.as_str());
        self.write(|w| {
            w.open_table(LAYERS)?.insert(key.as_str(), fragment)?;
            Ok(())
        })
    }

    /// A layer's fragment under `scope`.
    fn get_layer(&self, scope: &LayerScope, diff_id: &str) -> Result<Option<Vec<u8>>, Error> {
        let key = format!("{}\0{diff_id}", scope.as_str());
        self.read(|r| {
            Ok(r.open_table(LAYERS)?
                .get(key.as_str())?
                .map(|v| v.value().to_vec()))
        })
    }

    // ---- jobs ----

    /// Queues a job; refuses when the queue is full (back-pressure) and ignores an id already
    /// queued or done (a retried submission is not run twice).
    fn enqueue(&self, tenant: &Tenant, id: &str, payload: &[u8]) -> Result<(), Error> {
        let id = qualify(tenant, id);
        let limit = self.queue_limit;
        match self.write(|w| insert_job(w, &id, payload, limit))? {
            Queued::Full => Err(Error::QueueFull(limit)),
            Queued::Added | Queued::Known => Ok(()),
        }
    }

    fn admit_and_enqueue(
        &self,
        quotas: &[Quota<'_>],
        day: &str,
        tenant: &Tenant,
        id: &str,
        payload: &[u8],
    ) -> Result<Admission, Error> {
        /// What the transaction found.
        enum Outcome {
            Over(Admission),
            Known(Admission),
            Full,
            /// Admitted, with each counter's count made durable with the job.
            Queued(Admission, Vec<(u32, u32)>),
        }
        let keys: Vec<String> = quotas.iter().map(|q| format!("{}\0{day}", q.key)).collect();
        let id = qualify(tenant, id);
        let queue_limit = self.queue_limit;
        // the write transaction first, then the counts (the order a group commit takes them
        // in), held through the commit: no other admission of these counters can slip
        // between the check and the write
        let started = std::time::Instant::now();
        let w = self.db.begin_write().map_err(|e| self.bad(e))?;
        let mut c = self
            .counts
            .lock()
            .map_err(|_| self.bad("the quota counts are poisoned"))?;
        let outcome = (|| -> Result<Outcome, redb::Error> {
            let mut table = w.open_table(QUOTA)?;
            let mut used = Vec::with_capacity(keys.len());
            let mut stored_written = Vec::with_capacity(keys.len());
            for key in &keys {
                let stored = table.get(key.as_str())?.map_or(0, |v| v.value());
                let (admitted, written) = c.0.get(key).copied().unwrap_or((stored, stored));
                used.push(admitted.max(stored));
                stored_written.push(stored.max(written));
            }
            let a = crate::judge(quotas, &used);
            if !a.admitted {
                return Ok(Outcome::Over(a));
            }
            Ok(match insert_job(&w, &id, payload, queue_limit)? {
                // queued before (a retried request): answered, not charged again
                Queued::Known => Outcome::Known(Admission {
                    used: a.used - 1,
                    remaining: a.remaining + 1,
                    ..a
                }),
                Queued::Full => Outcome::Full,
                Queued::Added => {
                    // only this admission becomes durable with its job: others in flight
                    // are written with their own results
                    let mut counts = Vec::with_capacity(keys.len());
                    for ((key, n), sw) in keys.iter().zip(&used).zip(&stored_written) {
                        let durable = sw + 1;
                        table.insert(key.as_str(), durable)?;
                        counts.push((n + 1, durable));
                    }
                    Outcome::Queued(a, counts)
                }
            })
        })()
        .map_err(|e| self.bad(e))?;
        match outcome {
            Outcome::Over(a) | Outcome::Known(a) => Ok(a),
            Outcome::Full => Err(Error::QueueFull(queue_limit)),
            Outcome::Queued(a, counts) => {
                w.commit().map_err(|e| self.bad(e))?;
                for (key, (used, durable)) in keys.into_iter().zip(counts) {
                    let e = c.0.entry(key).or_insert((0, 0));
                    e.0 = e.0.max(used);
                    e.1 = e.1.max(durable);
                }
                drop(c);
                self.committed(started, 1);
                Ok(a)
            }
        }
    }

    /// Jobs waiting or running.
    fn queue_depth(&self) -> Result<u64, Error> {
        self.read(|r| Ok(r.open_table(JOBS)?.len()?))
    }

    /// Leases the oldest job that is not leased, or whose lease ran out (its worker died),
    /// to `worker` until `now_ms + lease_ms`.
    fn lease(&self, worker: &str, now_ms: u64, lease_ms: u64) -> Result<Option<Job>, Error> {
        self.write(|w| {
            let queue = w.open_table(QUEUE)?;
            let mut jobs = w.open_table(JOBS)?;
            let mut found = None;
            for e in queue.iter()? {
                let (_, id) = e?;
                let id = id.value().to_string();
                let Some(s) = jobs
                    .get(id.as_str())?
                    .and_then(|v| Stored::decode(v.value()))
                else {
                    continue;
                };
                if s.lease_end <= now_ms {
                    found = Some((id, s));
                    break;
                }
            }
            drop(queue);
            let Some((id, mut s)) = found else {
                return Ok(None);
            };
            s.lease_end = now_ms + lease_ms.max(1);
            s.attempts += 1;
            s.holder = worker.to_string();
            jobs.insert(id.as_str(), s.encode().as_slice())?;
            let (tenant, id) = unqualify(&id);
            Ok(Some(Job {
                tenant,
                id,
                payload: s.payload,
                attempts: s.attempts,
            }))
        })
    }

    /// Finishes a job: stores `result` under `result_key` (in [`SCANS`]) and removes the job
    /// in one transaction. Only the current lease holder may; a worker whose lease ran out
    /// and was taken over gets `false` and must drop its result (exactly one result).
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
    ) -> Result<bool, Error> {
        let Encoded(packed, input) = result;
        let id = qualify(tenant, id);
        let id = id.as_str();
        self.write(|w| {
            let mut jobs = w.open_table(JOBS)?;
            let Some(s) = held(&jobs, id, worker)? else {
                return Ok(false);
            };
            jobs.remove(id)?;
            w.open_table(QUEUE)?.remove(s.seq)?;
            w.open_table(DONE)?.insert(id, result_key)?;
            store_scan(
                w,
                tenant,
                result_key,
                image,
                created,
                &packed,
                input.as_deref(),
            )?;
            if let Some(a) = audit {
                append_audit(w, Some(tenant), a)?;
            }
            Ok(true)
        })
    }

    /// Ends a job that cannot succeed (bad input, or it crashed its worker too often): keeps
    /// `problem` as its answer and removes it, in one transaction; only the lease holder may.
    fn fail(&self, tenant: &Tenant, id: &str, worker: &str, problem: &[u8]) -> Result<bool, Error> {
        let id = qualify(tenant, id);
        let id = id.as_str();
        self.write(|w| {
            let mut jobs = w.open_table(JOBS)?;
            let Some(s) = held(&jobs, id, worker)? else {
                return Ok(false);
            };
            jobs.remove(id)?;
            w.open_table(QUEUE)?.remove(s.seq)?;
            w.open_table(FAILED)?.insert(id, problem)?;
            Ok(true)
        })
    }

    fn renew(
        &self,
        tenant: &Tenant,
        id: &str,
        worker: &str,
        now_ms: u64,
        lease_ms: u64,
    ) -> Result<bool, Error> {
        let id = qualify(tenant, id);
        let id = id.as_str();
        self.write(|w| {
            let mut jobs = w.open_table(JOBS)?;
            let Some(mut s) = held(&jobs, id, worker)? else {
                return Ok(false);
            };
            s.lease_end = now_ms + lease_ms.max(1);
            jobs.insert(id, s.encode().as_slice())?;
            Ok(true)
        })
    }

    /// Releases every lease: at start, when no worker of an earlier run can still be alive
    /// (the store is locked to one process), so interrupted jobs run again at once instead of
    /// after their lease. Returns how many were running.
    fn release_all(&self) -> Result<usize, Error> {
        self.write(|w| {
            let mut jobs = w.open_table(JOBS)?;
            let mut leased = Vec::new();
            for e in jobs.iter()? {
                let (k, v) = e?;
                if let Some(s) = Stored::decode(v.value())
                    && s.lease_end != 0
                {
                    leased.push((k.value().to_string(), s));
                }
            }
            let n = leased.len();
            for (id, mut s) in leased {
                s.lease_end = 0;
                s.holder.clear();
                jobs.insert(id.as_str(), s.encode().as_slice())?;
            }
            Ok(n)
        })
    }

    /// Where a job stands.
    fn job_state(&self, tenant: &Tenant, id: &str) -> Result<JobState, Error> {
        let id = qualify(tenant, id);
        let id = id.as_str();
        self.read(|r| {
            if r.open_table(DONE)?.get(id)?.is_some() {
                return Ok(JobState::Done);
            }
            if let Some(p) = r.open_table(FAILED)?.get(id)? {
                return Ok(JobState::Failed(p.value().to_vec()));
            }
            match r
                .open_table(JOBS)?
                .get(id)?
                .and_then(|v| Stored::decode(v.value()))
            {
                Some(s) if s.lease_end != 0 => Ok(JobState::Running {
                    attempts: s.attempts,
                }),
                Some(_) => Ok(JobState::Queued),
                None => Ok(JobState::Unknown),
            }
        })
    }

    /// The result key of a completed job.
    fn job_result(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, Error> {
        let id = qualify(tenant, id);
        let id = id.as_str();
        self.read(|r| Ok(r.open_table(DONE)?.get(id)?.map(|v| v.value().to_string())))
    }

    // ---- audit and documents ----

    /// Appends to the audit log (an entry the caller encodes, JSON by convention).
    fn audit(&self, tenant: Option<&Tenant>, entry: &[u8]) -> Result<u64, Error> {
        self.write(|w| append_audit(w, tenant, entry))
    }

    /// Audit entries from sequence `from` on, at most `limit`: a tenant's, or every one.
    fn audit_log(
        &self,
        tenant: Option<&Tenant>,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, Error> {
        self.read(|r| {
            let t = r.open_table(AUDIT)?;
            let mut out = Vec::new();
            match tenant {
                None => {
                    for e in t.range(from..)?.take(limit) {
                        let (k, v) = e?;
                        out.push((k.value(), v.value().to_vec()));
                    }
                }
                Some(tenant) => {
                    let by = r.open_table(AUDIT_BY_TENANT)?;
                    let lo = tkey(tenant, &format!("{from:020}"));
                    let hi = tkey(tenant, "\u{7f}");
                    for e in by.range(lo.as_str()..hi.as_str())?.take(limit) {
                        let (k, _) = e?;
                        let seq = k.value()[tenant.as_str().len() + 1..]
                            .parse::<u64>()
                            .unwrap_or(u64::MAX);
                        if let Some(v) = t.get(seq)? {
                            out.push((seq, v.value().to_vec()));
                        }
                    }
                }
            }
            Ok(out)
        })
    }

    /// A tenant's images with a stored input, each with its latest scan id, in image order.
    fn inputs(&self, tenant: &Tenant) -> Result<Vec<(String, String)>, Error> {
        Ok(self
            .inputs_from(Some(tenant))?
            .into_iter()
            .map(|(_, image, id)| (image, id))
            .collect())
    }

    fn all_inputs(&self) -> Result<Vec<(Tenant, String, String)>, Error> {
        self.inputs_from(None)
    }

    fn input(&self, tenant: &Tenant, image: &str) -> Result<Option<(String, Vec<u8>)>, Error> {
        let key = tkey(tenant, image);
        let v = self.read(|r| {
            Ok(r.open_table(INPUTS)?
                .get(key.as_str())?
                .map(|v| v.value().to_vec()))
        })?;
        let Some(v) = v else { return Ok(None) };
        let n = v
            .get(..4)
            .and_then(|x| x.try_into().ok())
            .map_or(0, u32::from_le_bytes) as usize;
        let (Some(id), Some(packed)) = (v.get(4..4 + n), v.get(4 + n..)) else {
            return Err(self.bad(format!("the stored input of {image} is damaged")));
        };
        let input = lz4_flex::decompress_size_prepended(packed)
            .map_err(|e| self.bad(format!("the stored input of {image} is damaged: {e}")))?;
        Ok(Some((String::from_utf8_lossy(id).into_owned(), input)))
    }

    // ---- scheduler ----

    /// Takes `job`'s lease for `holder` until `now + ttl` when nobody else holds a live one
    /// and, for a scheduled run (`slot`), when that slot has not finished yet.
    fn try_lease(
        &self,
        job: &str,
        holder: &str,
        slot: Option<i64>,
        now: i64,
        ttl: i64,
    ) -> Result<bool, Error> {
        self.write(|w| {
            let mut t = w.open_table(LEASES)?;
            let l = t
                .get(job)?
                .map(|v| Lease::decode(v.value()))
                .unwrap_or_default();
            if !l.holder.is_empty() && l.holder != holder && l.until > now {
                return Ok(false);
            }
            if slot.is_some_and(|s| s <= l.last_slot) {
                return Ok(false);
            }
            let next = Lease {
                holder: holder.to_string(),
                until: now + ttl,
                ..l
            };
            t.insert(job, next.encode().as_slice())?;
            Ok(true)
        })
    }

    /// Gives `job`'s lease back; a finished scheduled run records its slot.
    fn release(&self, job: &str, holder: &str, slot: Option<i64>) -> Result<(), Error> {
        self.write(|w| {
            let mut t = w.open_table(LEASES)?;
            let l = t
                .get(job)?
                .map(|v| Lease::decode(v.value()))
                .unwrap_or_default();
            if l.holder != holder {
                return Ok(());
            }
            let next = Lease {
                holder: String::new(),
                until: 0,
                last_slot: slot.map_or(l.last_slot, |s| s.max(l.last_slot)),
            };
            t.insert(job, next.encode().as_slice())?;
            Ok(())
        })
    }

    /// `job`'s lease as stored.
    fn job_lease(&self, job: &str) -> Result<Lease, Error> {
        self.read(|r| {
            Ok(r.open_table(LEASES)?
                .get(job)?
                .map(|v| Lease::decode(v.value()))
                .unwrap_or_default())
        })
    }

    /// Records (or updates) a run of `job` that started at `started`.
    fn put_run(&self, job: &str, started: i64, id: &str, record: &[u8]) -> Result<(), Error> {
        let key = format!("{job}\0{started:020}\0{id}");
        self.write(|w| {
            w.open_table(RUNS)?.insert(key.as_str(), record)?;
            Ok(())
        })
    }

    /// The latest `limit` runs of `job` (every job when empty), newest first.
    fn runs(&self, job: &str, limit: usize) -> Result<Vec<Vec<u8>>, Error> {
        self.read(|r| {
            let t = r.open_table(RUNS)?;
            let mut all: Vec<(String, Vec<u8>)> = Vec::new();
            if job.is_empty() {
                for e in t.iter()? {
                    let (k, v) = e?;
                    all.push((k.value().to_string(), v.value().to_vec()));
                }
                // newest first across jobs: by the start time inside the key
                all.sort_by(|a, b| {
                    let at = |k: &str| k.split('\0').nth(1).unwrap_or("").to_string();
                    at(&b.0).cmp(&at(&a.0))
                });
                all.truncate(limit);
            } else {
                let lo = format!("{job}\0");
                let hi = format!("{job}\u{1}");
                for e in t.range(lo.as_str()..hi.as_str())?.rev().take(limit) {
                    let (k, v) = e?;
                    all.push((k.value().to_string(), v.value().to_vec()));
                }
            }
            Ok(all.into_iter().map(|(_, v)| v).collect())
        })
    }

    /// Replaces a named document.
    fn put_doc(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        self.write(|w| {
            w.open_table(DOCS)?.insert(name, bytes)?;
            Ok(())
        })
    }

    /// A named document.
    fn get_doc(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        self.read(|r| Ok(r.open_table(DOCS)?.get(name)?.map(|v| v.value().to_vec())))
    }

    fn create_doc(&self, name: &str, bytes: &[u8]) -> Result<bool, Error> {
        self.write(|w| {
            let mut t = w.open_table(DOCS)?;
            if t.get(name)?.is_some() {
                return Ok(false);
            }
            t.insert(name, bytes)?;
            Ok(true)
        })
    }

    fn login_failed(&self, key: &str, now: u64, window_secs: u64) -> Result<(u32, u64), Error> {
        let mut m = self
            .logins
            .lock()
            .map_err(|_| self.bad("the login counts are poisoned"))?;
        if m.len() >= 100_000 {
            // bounded: forget what expired, else everything (an address flood)
            m.retain(|_, (_, _, until)| *until > now);
            if m.len() >= 100_000 {
                m.clear();
            }
        }
        let e = m.entry(key.to_string()).or_insert((0, 0, 0));
        if e.2 <= now {
            *e = (0, 0, 0);
        }
        e.0 = e.0.saturating_add(1);
        e.1 = now;
        e.2 = now + window_secs;
        Ok((e.0, e.1))
    }

    fn login_failures(&self, key: &str) -> Result<(u32, u64), Error> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let m = self
            .logins
            .lock()
            .map_err(|_| self.bad("the login counts are poisoned"))?;
        Ok(match m.get(key) {
            Some(&(n, last, until)) if until > now => (n, last),
            _ => (0, 0),
        })
    }

    fn login_reset(&self, key: &str) -> Result<(), Error> {
        if let Ok(mut m) = self.logins.lock() {
            m.remove(key);
        }
        Ok(())
    }

    fn login_reset_principal(&self, subject: &str) -> Result<(), Error> {
        let at = format!("{subject}@");
        if let Ok(mut m) = self.logins.lock() {
            m.retain(|k, _| k != subject && !k.starts_with(&at));
        }
        Ok(())
    }

    fn docs_generation(&self) -> Result<u64, Error> {
        // one process: nobody else changes documents under it
        Ok(0)
    }
}

/// What queueing a job did.
enum Queued {
    Added,
    /// Queued or finished before: left as it is.
    Known,
    /// The queue holds its limit.
    Full,
}

/// Queues job `id` (qualified) in `w` unless it is known or the queue is full.
fn insert_job(
    w: &redb::WriteTransaction,
    id: &str,
    payload: &[u8],
    limit: u64,
) -> Result<Queued, redb::Error> {
    let mut jobs = w.open_table(JOBS)?;
    if jobs.get(id)?.is_some() || w.open_table(DONE)?.get(id)?.is_some() {
        return Ok(Queued::Known);
    }
    if jobs.len()? >= limit {
        return Ok(Queued::Full);
    }
    let mut queue = w.open_table(QUEUE)?;
    let seq = queue.last()?.map_or(0, |(k, _)| k.value() + 1);
    queue.insert(seq, id)?;
    let s = Stored {
        seq,
        lease_end: 0,
        attempts: 0,
        holder: String::new(),
        payload: payload.to_vec(),
    };
    jobs.insert(id, s.encode().as_slice())?;
    Ok(Queued::Added)
}

/// Job `id` as stored, when `worker` holds its lease.
fn held(
    jobs: &redb::Table<&str, &[u8]>,
    id: &str,
    worker: &str,
) -> Result<Option<Stored>, redb::Error> {
    Ok(jobs
        .get(id)?
        .and_then(|v| Stored::decode(v.value()))
        .filter(|s| s.holder == worker))
}

fn append_audit(
    w: &redb::WriteTransaction,
    tenant: Option<&Tenant>,
    entry: &[u8],
) -> Result<u64, redb::Error> {
    let mut t = w.open_table(AUDIT)?;
    let seq = t.last()?.map_or(0, |(k, _)| k.value() + 1);
    t.insert(seq, entry)?;
    if let Some(tenant) = tenant {
        w.open_table(AUDIT_BY_TENANT)?
            .insert(tkey(tenant, &format!("{seq:020}")).as_str(), ())?;
    }
    Ok(seq)
}
