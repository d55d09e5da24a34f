//! The scaled backend: Redis for the hot path (the job queue on a Stream with a consumer
//! group, quota counters, layer sets) and PostgreSQL for durable records (scans and their
//! history, inputs, layer fragments, finished jobs, the audit log, documents, the scheduler's
//! runs and leases), shared by any number of Core replicas and workers.
//!
//! Traps: exactly one result per job comes from PostgreSQL's primary key on the finished job
//! (the first commit wins, later ones are told `false`), never from Redis, whose
//! acknowledgement can be lost with a crash; the PostgreSQL client runs a runtime of its own,
//! so its connections live on threads of their own, never inside Core's async runtime; text
//! keys are `bytea`, ordered byte-wise as the embedded store's, and NUL-safe (scopes hold
//! one).

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::{
    Admission, Backend, Encoded, Error, Job, JobState, LayerScope, Lease, Quota, Tenant, qualify,
    unpack, unqualify,
};

/// Where the scaled store's servers are.
#[derive(Debug, Clone)]
pub struct ScaledOptions {
    /// `redis://[:password@]host:port[/db]`.
    pub redis: String,
    /// `postgres://user[:password]@host:port/database` (or a key=value string).
    pub postgres: String,
    /// Jobs the queue holds at most.
    pub queue_limit: u64,
    /// The prefix of every Redis key (several deployments can share one Redis).
    pub prefix: String,
    /// Scans older than this many days are deleted (hourly); `None` keeps them all.
    pub retention_days: Option<u32>,
    /// PostgreSQL connections (each on a thread of its own).
    pub pg_connections: usize,
}

impl ScaledOptions {
    /// Options with the defaults: prefix `stella`, every scan kept, four connections.
    pub fn new(redis: &str, postgres: &str, queue_limit: u64) -> ScaledOptions {
        ScaledOptions {
            redis: redis.to_string(),
            postgres: postgres.to_string(),
            queue_limit,
            prefix: "stella".into(),
            retention_days: None,
            pg_connections: 4,
        }
    }
}

/// How long a finished job's state stays in Redis (re-submissions within it are not queued
/// again; PostgreSQL keeps the answer for good).
const DONE_TTL_SECS: u64 = 7 * 86_400;

/// How long a layer's fragment stays in Redis after it was last read (its scans recur: the
/// same base layers in every build).
const FRAGMENT_TTL_SECS: u64 = 3600;

/// The consumer group every worker reads the queue in.
const GROUP: &str = "workers";

/// Migrations, applied in order once each (under an advisory lock, so replicas starting
/// together do not race).
pub(crate) const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r#"
CREATE TABLE scans (
    id bytea PRIMARY KEY,
    image bytea NOT NULL,
    created bytea NOT NULL,
    result bytea NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);
-- results and inputs are LZ4 already: PostgreSQL's own compression would only cost CPU
ALTER TABLE scans ALTER COLUMN result SET STORAGE EXTERNAL;
CREATE INDEX scans_by_image ON scans (image, created, id);
CREATE INDEX scans_by_age ON scans (stored_at);
CREATE TABLE inputs (
    image bytea PRIMARY KEY,
    scan_id bytea NOT NULL,
    input bytea NOT NULL
);
ALTER TABLE inputs ALTER COLUMN input SET STORAGE EXTERNAL;
CREATE TABLE layers (
    scope bytea NOT NULL,
    diff_id bytea NOT NULL,
    fragment bytea NOT NULL,
    PRIMARY KEY (scope, diff_id)
);
CREATE TABLE jobs_done (
    job_id bytea PRIMARY KEY,
    result_key bytea NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE jobs_failed (
    job_id bytea PRIMARY KEY,
    problem bytea NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE audit_seq MINVALUE 0 START WITH 0;
CREATE TABLE audit (
    seq bigint PRIMARY KEY DEFAULT nextval('audit_seq'),
    entry bytea NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE docs_generation;
CREATE TABLE docs (
    name bytea PRIMARY KEY,
    body bytea NOT NULL,
    generation bigint NOT NULL
);
CREATE TABLE runs (
    job bytea NOT NULL,
    started bigint NOT NULL,
    id bytea NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (job, started, id)
);
CREATE TABLE leases (
    job bytea PRIMARY KEY,
    holder bytea NOT NULL,
    until bigint NOT NULL,
    last_slot bigint NOT NULL
);
"#,
    ),
    (
        2,
        // tenants: every tenant-owned row carries its tenant in its key; rows of before are
        // the default tenant's
        r#"
ALTER TABLE scans ADD COLUMN tenant bytea NOT NULL DEFAULT 'default'::bytea;
ALTER TABLE scans ALTER COLUMN tenant DROP DEFAULT;
ALTER TABLE scans DROP CONSTRAINT scans_pkey;
ALTER TABLE scans ADD PRIMARY KEY (tenant, id);
DROP INDEX scans_by_image;
CREATE INDEX scans_by_image ON scans (tenant, image, created, id);
ALTER TABLE inputs ADD COLUMN tenant bytea NOT NULL DEFAULT 'default'::bytea;
ALTER TABLE inputs ALTER COLUMN tenant DROP DEFAULT;
ALTER TABLE inputs DROP CONSTRAINT inputs_pkey;
ALTER TABLE inputs ADD PRIMARY KEY (tenant, image);
ALTER TABLE audit ADD COLUMN tenant bytea;
UPDATE audit SET tenant = 'default'::bytea;
CREATE INDEX audit_by_tenant ON audit (tenant, seq);
"#,
    ),
];

/// An arbitrary number all Stella migrations lock on.
const MIGRATION_LOCK: i64 = 0x5354_454c_4c41;

/// Admits one scan under every quota: `KEYS` the day's counters, `ARGV[1]` their expiry and
/// then each counter's limit. Answers `{admitted, exhausted (1-based, 0 none), count...}`
/// with every counter's count after the step.
const ADMIT: &str = r"
local n = {}
for i, k in ipairs(KEYS) do
  n[i] = tonumber(redis.call('GET', k) or '0')
  if n[i] >= tonumber(ARGV[i + 1]) then
    local out = {0, i}
    for j, k2 in ipairs(KEYS) do out[j + 2] = tonumber(redis.call('GET', k2) or '0') end
    return out
  end
end
local out = {1, 0}
for i, k in ipairs(KEYS) do
  out[i + 2] = redis.call('INCR', k)
  redis.call('EXPIREAT', k, ARGV[1])
end
return out
";

/// Queues a job unless its id is known or the queue is full: `KEYS` stream and job hash,
/// `ARGV` limit, id, payload. Answers 1 queued, 0 known, -1 full.
const ENQUEUE: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
local e = redis.call('XADD', KEYS[1], '*', 'id', ARGV[2], 'p', ARGV[3])
redis.call('HSET', KEYS[2], 'state', 'queued', 'attempts', 0, 'entry', e)
return 1
";

/// Admits one scan under every quota and queues its job in one step: `KEYS` the stream, the
/// job hash and then the day's counters; `ARGV` counter expiry, queue limit, id, payload and
/// then each counter's limit. Answers `{code, exhausted (1-based, 0 none), count...}`: code
/// 1 admitted and queued, 0 over a quota, -1 queue full, 2 job known (nothing charged).
const ADMIT_AND_ENQUEUE: &str = r"
local counts = function(code, at)
  local out = {code, at}
  for i = 3, #KEYS do out[i] = tonumber(redis.call('GET', KEYS[i]) or '0') end
  return out
end
for i = 3, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[i + 2]) then return counts(0, i - 2) end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return counts(2, 0) end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[2]) then return counts(-1, 0) end
local out = {1, 0}
for i = 3, #KEYS do
  out[i] = redis.call('INCR', KEYS[i])
  redis.call('EXPIREAT', KEYS[i], ARGV[1])
end
local e = redis.call('XADD', KEYS[1], '*', 'id', ARGV[3], 'p', ARGV[4])
redis.call('HSET', KEYS[2], 'state', 'queued', 'attempts', 0, 'entry', e)
return out
";

// ---- Redis ----

/// A small pool of Redis connections (the sync client: plain blocking sockets).
struct Redis {
    client: redis::Client,
    idle: Mutex<Vec<redis::Connection>>,
    name: String,
}

impl Redis {
    fn down(&self, e: impl std::fmt::Display) -> Error {
        Error::Unavailable {
            server: self.name.clone(),
            message: e.to_string(),
        }
    }

    fn connect(&self) -> Result<redis::Connection, Error> {
        let c = self
            .client
            .get_connection_with_timeout(Duration::from_secs(2))
            .map_err(|e| self.down(format!("cannot connect: {e}")))?;
        // a blocking read waits one second at most; anything past five is a dead server
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| self.down(e))?;
        c.set_write_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| self.down(e))?;
        Ok(c)
    }

    /// Runs `f` on a connection. A pooled connection that turns out broken (Redis restarted
    /// since) is dropped and `f` runs once more on a new one: the command never reached the
    /// old server's successor.
    fn with<T>(
        &self,
        f: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, Error> {
        let pooled = self.idle.lock().ok().and_then(|mut v| v.pop());
        let fresh = pooled.is_none();
        let mut con = match pooled {
            Some(c) => c,
            None => self.connect()?,
        };
        let broken = |e: &redis::RedisError| {
            e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal()
        };
        let out = match f(&mut con) {
            Err(e) if !fresh && broken(&e) => {
                con = self.connect()?;
                f(&mut con)
            }
            x => x,
        };
        match out {
            Ok(v) => {
                self.give_back(con);
                Ok(v)
            }
            Err(e) => {
                if !(broken(&e) || e.is_timeout()) {
                    self.give_back(con);
                }
                Err(self.down(e))
            }
        }
    }

    fn give_back(&self, con: redis::Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < 32
        {
            idle.push(con);
        }
    }
}

// ---- PostgreSQL ----

/// One PostgreSQL connection and the statements prepared on it.
pub(crate) struct Conn {
    client: postgres::Client,
    statements: HashMap<&'static str, postgres::Statement>,
}

impl Conn {
    /// The prepared statement for `sql` (prepared once per connection).
    fn st(&mut self, sql: &'static str) -> Result<postgres::Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let s = self.st(sql)?;
        self.client.execute(&s, params)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        let s = self.st(sql)?;
        self.client.query(&s, params)
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Option<postgres::Row>, postgres::Error> {
        let s = self.st(sql)?;
        self.client.query_opt(&s, params)
    }
}

type PgOp = Box<dyn Fn(&mut Conn) -> Result<Box<dyn Any + Send>, postgres::Error> + Send>;
type PgReply = mpsc::SyncSender<Result<Box<dyn Any + Send>, Error>>;

/// PostgreSQL connections, each on a thread of its own, taking operations from one channel.
struct Pg {
    tx: Mutex<Option<mpsc::Sender<(PgOp, PgReply)>>>,
    name: String,
}

fn pg_connect(config: &postgres::Config, name: &str) -> Result<Conn, Error> {
    let client = config
        .connect(postgres::NoTls)
        .map_err(|e| Error::Unavailable {
            server: name.to_string(),
            message: format!("cannot connect: {e}"),
        })?;
    Ok(Conn {
        client,
        statements: HashMap::new(),
    })
}

fn pg_error(name: &str, e: &postgres::Error) -> Error {
    match e.as_db_error() {
        // the server answered: a refused statement is not a server that is down
        Some(db) => Error::Db {
            path: name.to_string(),
            message: format!("{}: {}", db.code().code(), db.message()),
        },
        None => Error::Unavailable {
            server: name.to_string(),
            message: e.to_string(),
        },
    }
}

fn pg_thread(
    config: postgres::Config,
    name: String,
    rx: Arc<Mutex<mpsc::Receiver<(PgOp, PgReply)>>>,
) {
    let mut conn: Option<Conn> = None;
    loop {
        let next = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        let Ok((op, reply)) = next else { return };
        let mut answer = None;
        // a connection the server closed (a restart) is replaced once, then the error stands
        for _ in 0..2 {
            if conn.as_ref().is_none_or(|c| c.client.is_closed()) {
                conn = None;
                match pg_connect(&config, &name) {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        answer = Some(Err(e));
                        break;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { break };
            // a bug in one operation must not take a connection thread with it
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(c)));
            let Ok(ran) = ran else {
                conn = None;
                answer = Some(Err(Error::Db {
                    path: name.clone(),
                    message: "an operation failed unexpectedly (a bug; please report it)".into(),
                }));
                break;
            };
            match ran {
                Ok(v) => {
                    answer = Some(Ok(v));
                    break;
                }
                Err(e) => {
                    let closed = c.client.is_closed() || e.is_closed();
                    answer = Some(Err(pg_error(&name, &e)));
                    if !closed {
                        break;
                    }
                    conn = None;
                }
            }
        }
        let _ = reply.send(answer.unwrap_or_else(|| {
            Err(Error::Unavailable {
                server: name.clone(),
                message: "no connection".into(),
            })
        }));
    }
}

impl Pg {
    fn start(url: &str, connections: usize) -> Result<Pg, Error> {
        let mut config: postgres::Config = url.parse().map_err(|e| Error::Db {
            path: "PostgreSQL".into(),
            message: format!("`--postgres` is not a PostgreSQL URL or key=value string: {e}"),
        })?;
        config.connect_timeout(Duration::from_secs(3));
        config.application_name("stella");
        let name = pg_name(&config);
        let (tx, rx) = mpsc::channel::<(PgOp, PgReply)>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..connections.max(1) {
            let (c, n, r) = (config.clone(), name.clone(), rx.clone());
            std::thread::Builder::new()
                .name(format!("stella-pg-{i}"))
                .spawn(move || pg_thread(c, n, r))
                .map_err(|e| Error::Db {
                    path: name.clone(),
                    message: format!("cannot start a connection thread: {e}"),
                })?;
        }
        Ok(Pg {
            tx: Mutex::new(Some(tx)),
            name,
        })
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl Fn(&mut Conn) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (reply, answer) = mpsc::sync_channel(1);
        let op: PgOp = Box::new(move |c| f(c).map(|v| Box::new(v) as Box<dyn Any + Send>));
        let sent = self
            .tx
            .lock()
            .ok()
            .and_then(|t| t.as_ref().map(|t| t.send((op, reply)).is_ok()))
            .unwrap_or(false);
        let closing = || Error::Unavailable {
            server: self.name.clone(),
            message: "the store is closing".into(),
        };
        if !sent {
            return Err(closing());
        }
        let v = answer.recv().map_err(|_| closing())??;
        v.downcast::<T>().map(|b| *b).map_err(|_| Error::Db {
            path: self.name.clone(),
            message: "an operation answered with the wrong type".into(),
        })
    }
}

/// `PostgreSQL user@host:port/db`, never the password.
fn pg_name(c: &postgres::Config) -> String {
    let host = c
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(h) => h.clone(),
            postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!(
        "PostgreSQL {}@{host}:{port}/{}",
        c.get_user().unwrap_or(""),
        c.get_dbname().unwrap_or("")
    )
}

/// `redis://host:port/db`, never the password.
fn redis_name(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
            format!("Redis {scheme}://{rest}")
        }
        None => format!("Redis {url}"),
    }
}

// ---- the backend ----

/// The scaled store (see the module's documentation).
pub struct Scaled {
    redis: Redis,
    pg: Pg,
    prefix: String,
    queue_limit: u64,
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// The Lua scripts (their SHA-1 computed once; Redis caches them by it).
    admit: redis::Script,
    enqueue: redis::Script,
    admit_and_enqueue: redis::Script,
}

impl std::fmt::Debug for Scaled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scaled")
            .field("redis", &self.redis.name)
            .field("postgres", &self.pg.name)
            .finish()
    }
}

impl Drop for Scaled {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // the connection threads end when the channel closes
        if let Ok(mut t) = self.pg.tx.lock() {
            t.take();
        }
    }
}

/// When a day's (`YYYY-MM-DD`) quota counter expires: a day after the UTC midnight that
/// ends it, so a replica whose clock lags still counts into it (the key names the day, so
/// keeping it longer never carries counts over).
fn counter_expiry(day: &str) -> Option<i64> {
    stella_sbom::epoch_days(day).map(|d| (d + 2) * 86_400)
}

/// A text column stored as bytes (keys are `bytea`: compared byte-wise as in the embedded
/// store, and any text fits, NUL included).
fn text(r: &postgres::Row, i: usize) -> String {
    String::from_utf8_lossy(r.get::<_, &[u8]>(i)).into_owned()
}

/// A stream entry: its id and its fields.
type Entry = (String, HashMap<String, Vec<u8>>);

fn bulk(v: &redis::Value) -> Option<Vec<u8>> {
    match v {
        redis::Value::BulkString(b) => Some(b.clone()),
        redis::Value::SimpleString(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

/// Entries of an `XREADGROUP`/`XAUTOCLAIM` answer's entry list; entries deleted meanwhile
/// (fields nil) come back with no fields.
fn entries(v: &redis::Value) -> Vec<Entry> {
    let redis::Value::Array(items) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| {
            let redis::Value::Array(pair) = e else {
                return None;
            };
            let id = String::from_utf8(bulk(pair.first()?)?).ok()?;
            let mut fields = HashMap::new();
            if let Some(redis::Value::Array(kv)) = pair.get(1) {
                for f in kv.chunks(2) {
                    if let [k, v] = f
                        && let (Some(k), Some(v)) = (bulk(k), bulk(v))
                    {
                        fields.insert(String::from_utf8_lossy(&k).into_owned(), v);
                    }
                }
            }
            Some((id, fields))
        })
        .collect()
}

impl Scaled {
    /// Connects to both servers, runs PostgreSQL migrations and creates the queue's consumer
    /// group; fails with the server named when one cannot be reached.
    pub fn connect(o: &ScaledOptions) -> Result<Scaled, Error> {
        let client = redis::Client::open(o.redis.as_str()).map_err(|e| Error::Db {
            path: redis_name(&o.redis),
            message: format!("`--redis` is not a Redis URL: {e}"),
        })?;
        let redis = Redis {
            client,
            idle: Mutex::new(Vec::new()),
            name: redis_name(&o.redis),
        };
        let pg = Pg::start(&o.postgres, o.pg_connections)?;
        let s = Scaled {
            redis,
            pg,
            prefix: o.prefix.clone(),
            queue_limit: o.queue_limit,
            stop: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            admit: redis::Script::new(ADMIT),
            enqueue: redis::Script::new(ENQUEUE),
            admit_and_enqueue: redis::Script::new(ADMIT_AND_ENQUEUE),
        };
        s.migrate()?;
        let stream = s.key("queue");
        s.redis.with(|c| {
            let made: redis::RedisResult<()> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&stream)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query(c);
            match made {
                Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
                x => x,
            }
        })?;
        if let Some(days) = o.retention_days {
            s.start_retention(days);
        }
        Ok(s)
    }

    fn key(&self, k: &str) -> String {
        format!("{}:{k}", self.prefix)
    }

    fn job_key(&self, id: &str) -> String {
        format!("{}:job:{id}", self.prefix)
    }

    fn migrate(&self) -> Result<(), Error> {
        self.pg.run(|c| {
            let cl = &mut c.client;
            cl.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
            let out = (|| {
                cl.batch_execute(
                    "CREATE TABLE IF NOT EXISTS stella_migrations (
                        version integer PRIMARY KEY,
                        applied timestamptz NOT NULL DEFAULT now())",
                )?;
                let done: Vec<i32> = cl
                    .query("SELECT version FROM stella_migrations", &[])?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let known = MIGRATIONS.last().map_or(0, |m| m.0);
                if let Some(v) = done.iter().copied().filter(|v| *v > known).max() {
                    return Ok(Some(v));
                }
                for (v, sql) in MIGRATIONS {
                    if done.contains(v) {
                        continue;
                    }
                    let mut t = cl.transaction()?;
                    t.batch_execute(sql)?;
                    t.execute("INSERT INTO stella_migrations (version) VALUES ($1)", &[v])?;
                    t.commit()?;
                }
                Ok(None)
            })();
            cl.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
            out
        })
        .and_then(|newer: Option<i32>| match newer {
            Some(v) => Err(Error::Db {
                path: self.pg.name.clone(),
                message: format!(
                    "this database was migrated by a newer Stella (schema {v}; this binary knows up to {}); run that version",
                    MIGRATIONS.last().map_or(0, |m| m.0)
                ),
            }),
            None => Ok(()),
        })
    }

    /// Deletes scans older than `days` once an hour (their findings and verdicts with them).
    fn start_retention(&self, days: u32) {
        let tx = self.pg.tx.lock().ok().and_then(|t| t.clone());
        let stop = self.stop.clone();
        let name = self.pg.name.clone();
        let Some(tx) = tx else { return };
        let pg = Pg {
            tx: Mutex::new(Some(tx)),
            name,
        };
        let _ = std::thread::Builder::new()
            .name("stella-retention".into())
            .spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let d = i32::try_from(days).unwrap_or(i32::MAX);
                    let _ = pg.run(move |c| {
                        c.execute(
                            "DELETE FROM scans WHERE stored_at < now() - make_interval(days => $1)",
                            &[&d],
                        )
                    });
                    for _ in 0..3600 {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            return;
                        }
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            });
    }

    /// Whether `worker` holds job `id` (the last to lease it).
    fn holds(&self, id: &str, worker: &str) -> Result<bool, Error> {
        let job = self.job_key(id);
        let holder: Option<String> = self
            .redis
            .with(|c| redis::cmd("HGET").arg(&job).arg("holder").query(c))?;
        Ok(holder.as_deref() == Some(worker))
    }

    /// Acknowledges and deletes a job's stream entry and marks its state.
    fn finish_job(&self, id: &str, state: &str) -> Result<(), Error> {
        let (stream, job) = (self.key("queue"), self.job_key(id));
        self.redis.with(|c| {
            let entry: Option<String> = redis::cmd("HGET").arg(&job).arg("entry").query(c)?;
            let mut p = redis::pipe();
            if let Some(e) = &entry {
                p.cmd("XACK").arg(&stream).arg(GROUP).arg(e).ignore();
                p.cmd("XDEL").arg(&stream).arg(e).ignore();
            }
            p.cmd("HSET").arg(&job).arg("state").arg(state).ignore();
            p.cmd("EXPIRE").arg(&job).arg(DONE_TTL_SECS).ignore();
            p.query::<()>(c)
        })
    }

    /// Takes the job of a stream entry for `worker`; `None` when it was finished meanwhile
    /// (its acknowledgement was lost) — then it is acknowledged now.
    fn take(&self, worker: &str, entry: Entry) -> Result<Option<Job>, Error> {
        let (eid, fields) = entry;
        let stream = self.key("queue");
        let id = fields
            .get("id")
            .map(|b| String::from_utf8_lossy(b).into_owned());
        let (Some(id), Some(payload)) = (id, fields.get("p").cloned()) else {
            // deleted meanwhile: nothing to run
            self.redis.with(|c| {
                redis::cmd("XACK")
                    .arg(&stream)
                    .arg(GROUP)
                    .arg(&eid)
                    .query::<()>(c)
            })?;
            return Ok(None);
        };
        let job = self.job_key(&id);
        let (state, attempts): (Option<String>, u32) = self.redis.with(|c| {
            let state: Option<String> = redis::cmd("HGET").arg(&job).arg("state").query(c)?;
            if matches!(state.as_deref(), Some("done" | "failed")) {
                return Ok((state, 0));
            }
            let (attempts,): (u32,) = redis::pipe()
                .cmd("HSET")
                .arg(&job)
                .arg("state")
                .arg("running")
                .arg("holder")
                .arg(worker)
                .arg("entry")
                .arg(&eid)
                .ignore()
                .cmd("HINCRBY")
                .arg(&job)
                .arg("attempts")
                .arg(1)
                .query(c)?;
            Ok((state, attempts))
        })?;
        if matches!(state.as_deref(), Some("done" | "failed")) {
            self.finish_job(&id, state.as_deref().unwrap_or("done"))?;
            return Ok(None);
        }
        let (tenant, id) = unqualify(&id);
        Ok(Some(Job {
            tenant,
            id,
            payload,
            attempts,
        }))
    }
}

/// The least any of `quotas` has left after `counts` (each quota's count, in order).
fn least_left(quotas: &[Quota<'_>], counts: &[u32]) -> u32 {
    quotas
        .iter()
        .zip(counts)
        .map(|(q, &n)| q.limit.saturating_sub(n))
        .min()
        .unwrap_or(u32::MAX)
}

/// An admission as a script answered it: `{admitted, exhausted (1-based), count...}`, the
/// counts from `skip` on being each quota's after the step.
fn admission(quotas: &[Quota<'_>], answer: &[i64], skip: usize) -> Admission {
    let admitted = answer.first() == Some(&1);
    let counts: Vec<u32> = answer.iter().skip(skip).map(|&n| n as u32).collect();
    Admission {
        admitted,
        used: counts.first().copied().unwrap_or(0),
        remaining: if admitted {
            least_left(quotas, &counts)
        } else {
            0
        },
        exhausted: match answer.get(1) {
            Some(&i) if !admitted && i > 0 => Some(i as usize - 1),
            _ => None,
        },
    }
}

/// The answer to a job queued before: admitted, nothing charged, `used` as they stand.
fn known(quotas: &[Quota<'_>], used: &[u32]) -> Admission {
    Admission {
        admitted: true,
        used: used.first().copied().unwrap_or(0),
        remaining: least_left(quotas, used),
        exhausted: None,
    }
}

impl Scaled {
    /// When a day's counters expire.
    fn expiry(&self, day: &str) -> Result<i64, Error> {
        counter_expiry(day).ok_or_else(|| Error::Db {
            path: self.redis.name.clone(),
            message: format!("`{day}` is not a day (YYYY-MM-DD)"),
        })
    }
}

impl Backend for Scaled {
    fn admit_all_deferred(&self, quotas: &[Quota<'_>], day: &str) -> Result<Admission, Error> {
        let expire = self.expiry(day)?;
        let mut script = self.admit.prepare_invoke();
        for q in quotas {
            script.key(self.key(&format!("quota:{}:{day}", q.key)));
        }
        script.arg(expire);
        for q in quotas {
            script.arg(q.limit);
        }
        let answer: Vec<i64> = self.redis.with(|c| script.invoke(c))?;
        Ok(admission(quotas, &answer, 2))
    }

    fn flush(&self) -> Result<(), Error> {
        // Redis counted at admission
        Ok(())
    }

    fn quota_used(&self, token: &str, day: &str) -> Result<u32, Error> {
        let key = self.key(&format!("quota:{token}:{day}"));
        let n: Option<u32> = self.redis.with(|c| redis::cmd("GET").arg(&key).query(c))?;
        Ok(n.unwrap_or(0))
    }

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
        let t = tenant.as_str().as_bytes().to_vec();
        let (id, image, created) = (
            id.as_bytes().to_vec(),
            image.as_bytes().to_vec(),
            created.as_bytes().to_vec(),
        );
        let audit = audit.map(<[u8]>::to_vec);
        // one statement (one round trip, one implicit transaction): the scan, its image's
        // input and the audit entry, each only when given
        self.pg.run(move |c| {
            c.execute(
                "WITH s AS (
                    INSERT INTO scans (tenant, id, image, created, result)
                    VALUES ($7, $1, $2, $3, $4)
                    ON CONFLICT (tenant, id) DO UPDATE SET image = excluded.image,
                        created = excluded.created, result = excluded.result
                 ), i AS (
                    INSERT INTO inputs (tenant, image, scan_id, input)
                    SELECT $7, $2, $1, $5::bytea WHERE $5::bytea IS NOT NULL
                    ON CONFLICT (tenant, image) DO UPDATE SET scan_id = excluded.scan_id,
                        input = excluded.input
                 )
                 INSERT INTO audit (tenant, entry)
                 SELECT $7, $6::bytea WHERE $6::bytea IS NOT NULL",
                &[&id, &image, &created, &value, &input, &audit, &t],
            )
            .map(|_| ())
        })
    }

    fn get_scan(&self, tenant: &Tenant, id: &str) -> Result<Option<Vec<u8>>, Error> {
        let i = id.as_bytes().to_vec();
        let t = tenant.as_str().as_bytes().to_vec();
        let packed: Option<Vec<u8>> = self.pg.run(move |c| {
            Ok(c.query_opt(
                "SELECT result FROM scans WHERE tenant = $1 AND id = $2",
                &[&t, &i],
            )?
            .map(|r| r.get(0)))
        })?;
        packed
            .map(|p| {
                unpack(&p).ok_or_else(|| Error::Db {
                    path: self.pg.name.clone(),
                    message: format!("scan {id}: the stored result is damaged"),
                })
            })
            .transpose()
    }

    fn scans_of(&self, tenant: &Tenant, image: &str) -> Result<Vec<(String, String)>, Error> {
        let image = image.as_bytes().to_vec();
        let t = tenant.as_str().as_bytes().to_vec();
        self.pg.run(move |c| {
            Ok(c.query(
                "SELECT created, id FROM scans WHERE tenant = $1 AND image = $2
                 ORDER BY created, id",
                &[&t, &image],
            )?
            .iter()
            .map(|r| (text(r, 0), text(r, 1)))
            .collect())
        })
    }

    fn missing_layers(
        &self,
        scope: &LayerScope,
        diff_ids: &[String],
    ) -> Result<Vec<String>, Error> {
        let scope = scope.as_str();
        if diff_ids.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.key(&format!("layers:{scope}"));
        let known: Vec<bool> = self
            .redis
            .with(|c| redis::cmd("SMISMEMBER").arg(&key).arg(diff_ids).query(c))?;
        Ok(diff_ids
            .iter()
            .zip(known.iter().chain(std::iter::repeat(&false)))
            .filter(|(_, k)| !**k)
            .map(|(d, _)| d.clone())
            .collect())
    }

    fn put_layer(&self, scope: &LayerScope, diff_id: &str, fragment: &[u8]) -> Result<(), Error> {
        let scope = scope.as_str();
        let cached = self.key(&format!("fragment:{scope}:{diff_id}"));
        let (s, d, f) = (
            scope.as_bytes().to_vec(),
            diff_id.as_bytes().to_vec(),
            fragment.to_vec(),
        );
        // durable first: a layer Redis knows is always one PostgreSQL has
        self.pg.run(move |c| {
            c.execute(
                "INSERT INTO layers (scope, diff_id, fragment) VALUES ($1, $2, $3)
                 ON CONFLICT (scope, diff_id) DO UPDATE SET fragment = excluded.fragment",
                &[&s, &d, &f],
            )
        })?;
        let key = self.key(&format!("layers:{scope}"));
        self.redis.with(|c| {
            redis::pipe()
                .cmd("SADD")
                .arg(&key)
                .arg(diff_id)
                .ignore()
                .cmd("SET")
                .arg(&cached)
                .arg(fragment)
                .arg("EX")
                .arg(FRAGMENT_TTL_SECS)
                .ignore()
                .query::<()>(c)
        })
    }

    fn get_layer(&self, scope: &LayerScope, diff_id: &str) -> Result<Option<Vec<u8>>, Error> {
        let scope = scope.as_str();
        // the layers of images scanned lately are read from Redis; PostgreSQL has them all
        let cached = self.key(&format!("fragment:{scope}:{diff_id}"));
        if let Ok(Some(f)) = self.redis.with(|c| {
            redis::cmd("GETEX")
                .arg(&cached)
                .arg("EX")
                .arg(FRAGMENT_TTL_SECS)
                .query::<Option<Vec<u8>>>(c)
        }) {
            return Ok(Some(f));
        }
        let (s, d) = (scope.as_bytes().to_vec(), diff_id.as_bytes().to_vec());
        let found: Option<Vec<u8>> = self.pg.run(move |c| {
            Ok(c.query_opt(
                "SELECT fragment FROM layers WHERE scope = $1 AND diff_id = $2",
                &[&s, &d],
            )?
            .map(|r| r.get(0)))
        })?;
        if let Some(f) = &found {
            // a cache: failing to fill it is no failure
            let _ = self.redis.with(|c| {
                redis::cmd("SET")
                    .arg(&cached)
                    .arg(f.as_slice())
                    .arg("EX")
                    .arg(FRAGMENT_TTL_SECS)
                    .query::<()>(c)
            });
        }
        Ok(found)
    }

    fn enqueue(&self, tenant: &Tenant, id: &str, payload: &[u8]) -> Result<(), Error> {
        // a job finished more than a week ago is known to PostgreSQL only; while PostgreSQL
        // is down, scans still queue (and wait for it to store their results)
        match self.job_result(tenant, id) {
            Ok(Some(_)) => return Ok(()),
            Err(e) if !e.is_unavailable() => return Err(e),
            _ => {}
        }
        let id = &qualify(tenant, id);
        let (stream, job) = (self.key("queue"), self.job_key(id));
        let queued: i64 = self.redis.with(|c| {
            self.enqueue
                .key(&stream)
                .key(&job)
                .arg(self.queue_limit)
                .arg(id)
                .arg(payload)
                .invoke(c)
        })?;
        if queued < 0 {
            return Err(Error::QueueFull(self.queue_limit));
        }
        Ok(())
    }

    fn admit_and_enqueue(
        &self,
        quotas: &[Quota<'_>],
        day: &str,
        tenant: &Tenant,
        id: &str,
        payload: &[u8],
    ) -> Result<Admission, Error> {
        let expire = self.expiry(day)?;
        let q = qualify(tenant, id);
        let mut script = self.admit_and_enqueue.prepare_invoke();
        script.key(self.key("queue")).key(self.job_key(&q));
        for quota in quotas {
            script.key(self.key(&format!("quota:{}:{day}", quota.key)));
        }
        script
            .arg(expire)
            .arg(self.queue_limit)
            .arg(&q)
            .arg(payload);
        for quota in quotas {
            script.arg(quota.limit);
        }
        // a job already done has no hash any more: answered from its result, not charged
        match self.job_result(tenant, id) {
            Ok(Some(_)) => {
                let used = quotas
                    .iter()
                    .map(|q| self.quota_used(q.key, day))
                    .collect::<Result<Vec<u32>, Error>>()?;
                return Ok(known(quotas, &used));
            }
            Err(e) if !e.is_unavailable() => return Err(e),
            _ => {}
        }
        let answer: Vec<i64> = self.redis.with(|c| script.invoke(c))?;
        match answer.first() {
            Some(-1) => Err(Error::QueueFull(self.queue_limit)),
            Some(2) => {
                let used: Vec<u32> = answer.iter().skip(2).map(|&n| n as u32).collect();
                Ok(known(quotas, &used))
            }
            _ => Ok(admission(quotas, &answer, 2)),
        }
    }

    fn queue_depth(&self) -> Result<u64, Error> {
        let stream = self.key("queue");
        self.redis
            .with(|c| redis::cmd("XLEN").arg(&stream).query(c))
    }

    fn lease(&self, worker: &str, _now_ms: u64, lease_ms: u64) -> Result<Option<Job>, Error> {
        let stream = self.key("queue");
        // first a job whose worker died (idle in another consumer's pending list too long)
        let claimed: redis::Value = self.redis.with(|c| {
            redis::cmd("XAUTOCLAIM")
                .arg(&stream)
                .arg(GROUP)
                .arg(worker)
                .arg(lease_ms.max(1))
                .arg("0-0")
                .arg("COUNT")
                .arg(1)
                .query(c)
        })?;
        if let redis::Value::Array(parts) = &claimed
            && let Some(list) = parts.get(1)
        {
            for e in entries(list) {
                if let Some(job) = self.take(worker, e)? {
                    return Ok(Some(job));
                }
            }
        }
        let read: redis::Value = self.redis.with(|c| {
            redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(GROUP)
                .arg(worker)
                .arg("COUNT")
                .arg(1)
                .arg("BLOCK")
                .arg(1000)
                .arg("STREAMS")
                .arg(&stream)
                .arg(">")
                .query(c)
        })?;
        // [[stream, [entries]]] or nil after the wait
        if let redis::Value::Array(streams) = &read {
            for s in streams {
                if let redis::Value::Array(pair) = s
                    && let Some(list) = pair.get(1)
                {
                    for e in entries(list) {
                        if let Some(job) = self.take(worker, e)? {
                            return Ok(Some(job));
                        }
                    }
                }
            }
        }
        Ok(None)
    }

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
        let id = &qualify(tenant, id);
        // a worker whose lease ran out and was taken over drops its result; should both
        // get past this, PostgreSQL keeps the first
        if !self.holds(id, worker)? {
            return Ok(false);
        }
        let Encoded(value, input) = result;
        let t = tenant.as_str().as_bytes().to_vec();
        let audit = audit.map(<[u8]>::to_vec);
        let (i, k, image, created) = (
            id.as_bytes().to_vec(),
            result_key.as_bytes().to_vec(),
            image.as_bytes().to_vec(),
            created.as_bytes().to_vec(),
        );
        // one statement: the job marked done, and only if that was this call, its result
        // and input (a racing second completion finds the job done and stores nothing)
        let stored: i64 = self.pg.run(move |c| {
            let r = c.query(
                "WITH d AS (
                    INSERT INTO jobs_done (job_id, result_key) VALUES ($1, $2)
                    ON CONFLICT (job_id) DO NOTHING RETURNING 1
                 ), s AS (
                    INSERT INTO scans (tenant, id, image, created, result)
                    SELECT $7, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM d)
                    ON CONFLICT (tenant, id) DO UPDATE SET image = excluded.image,
                        created = excluded.created, result = excluded.result
                 ), i AS (
                    INSERT INTO inputs (tenant, image, scan_id, input)
                    SELECT $7, $3, $2, $6::bytea
                    WHERE $6::bytea IS NOT NULL AND EXISTS (SELECT 1 FROM d)
                    ON CONFLICT (tenant, image) DO UPDATE SET scan_id = excluded.scan_id,
                        input = excluded.input
                 ), a AS (
                    INSERT INTO audit (tenant, entry)
                    SELECT $7, $8::bytea
                    WHERE $8::bytea IS NOT NULL AND EXISTS (SELECT 1 FROM d)
                 )
                 SELECT count(*) FROM d",
                &[&i, &k, &image, &created, &value, &input, &t, &audit],
            )?;
            Ok(r.first().map_or(0, |r| r.get(0)))
        })?;
        // the result is durable now; a lost acknowledgement only makes a worker meet the
        // job again and drop it
        let _ = self.finish_job(id, "done");
        Ok(stored == 1)
    }

    fn fail(&self, tenant: &Tenant, id: &str, worker: &str, problem: &[u8]) -> Result<bool, Error> {
        let id = &qualify(tenant, id);
        if !self.holds(id, worker)? {
            return Ok(false);
        }
        let (i, p) = (id.as_bytes().to_vec(), problem.to_vec());
        let kept = self.pg.run(move |c| {
            c.execute(
                "INSERT INTO jobs_failed (job_id, problem)
                 SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM jobs_done WHERE job_id = $1)
                 ON CONFLICT (job_id) DO NOTHING",
                &[&i, &p],
            )
        })? == 1;
        let _ = self.finish_job(id, if kept { "failed" } else { "done" });
        Ok(kept)
    }

    fn renew(
        &self,
        tenant: &Tenant,
        id: &str,
        worker: &str,
        _now_ms: u64,
        _lease_ms: u64,
    ) -> Result<bool, Error> {
        let id = &qualify(tenant, id);
        let (stream, job) = (self.key("queue"), self.job_key(id));
        self.redis.with(|c| {
            let (holder, entry): (Option<String>, Option<String>) = redis::cmd("HMGET")
                .arg(&job)
                .arg("holder")
                .arg("entry")
                .query(c)?;
            let (Some(entry), true) = (entry, holder.as_deref() == Some(worker)) else {
                return Ok(false);
            };
            // claiming its own entry again resets its idle time, which XAUTOCLAIM measures
            let claimed: Vec<String> = redis::cmd("XCLAIM")
                .arg(&stream)
                .arg(GROUP)
                .arg(worker)
                .arg(0)
                .arg(&entry)
                .arg("JUSTID")
                .query(c)?;
            Ok(!claimed.is_empty())
        })
    }

    fn release_all(&self) -> Result<usize, Error> {
        // other processes' workers may be alive: their leases run out instead
        Ok(0)
    }

    fn job_state(&self, tenant: &Tenant, id: &str) -> Result<JobState, Error> {
        let id = &qualify(tenant, id);
        let job = self.job_key(id);
        let (state, attempts): (Option<String>, Option<u32>) = self.redis.with(|c| {
            redis::cmd("HMGET")
                .arg(&job)
                .arg("state")
                .arg("attempts")
                .query(c)
        })?;
        match state.as_deref() {
            Some("queued") => return Ok(JobState::Queued),
            Some("running") => {
                return Ok(JobState::Running {
                    attempts: attempts.unwrap_or(1),
                });
            }
            _ => {}
        }
        let i = id.as_bytes().to_vec();
        self.pg.run(move |c| {
            if c.query_opt("SELECT 1 FROM jobs_done WHERE job_id = $1", &[&i])?
                .is_some()
            {
                return Ok(JobState::Done);
            }
            Ok(
                match c.query_opt("SELECT problem FROM jobs_failed WHERE job_id = $1", &[&i])? {
                    Some(r) => JobState::Failed(r.get(0)),
                    None => JobState::Unknown,
                },
            )
        })
    }

    fn job_result(&self, tenant: &Tenant, id: &str) -> Result<Option<String>, Error> {
        let i = qualify(tenant, id).into_bytes();
        self.pg.run(move |c| {
            Ok(
                c.query_opt("SELECT result_key FROM jobs_done WHERE job_id = $1", &[&i])?
                    .map(|r| text(&r, 0)),
            )
        })
    }

    fn audit(&self, tenant: Option<&Tenant>, entry: &[u8]) -> Result<u64, Error> {
        let e = entry.to_vec();
        let t = tenant.map(|t| t.as_str().as_bytes().to_vec());
        let seq: i64 = self.pg.run(move |c| {
            let r = c.query(
                "INSERT INTO audit (tenant, entry) VALUES ($1, $2) RETURNING seq",
                &[&t, &e],
            )?;
            Ok(r.first().map_or(0, |r| r.get(0)))
        })?;
        Ok(seq.max(0) as u64)
    }

    fn audit_log(
        &self,
        tenant: Option<&Tenant>,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, Error> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let t = tenant.map(|t| t.as_str().as_bytes().to_vec());
        self.pg.run(move |c| {
            let rows = match &t {
                Some(t) => c.query(
                    "SELECT seq, entry FROM audit WHERE tenant = $1 AND seq >= $2
                     ORDER BY seq LIMIT $3",
                    &[t, &from, &limit],
                )?,
                None => c.query(
                    "SELECT seq, entry FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2",
                    &[&from, &limit],
                )?,
            };
            Ok(rows
                .iter()
                .map(|r| (r.get::<_, i64>(0).max(0) as u64, r.get(1)))
                .collect())
        })
    }

    fn inputs(&self, tenant: &Tenant) -> Result<Vec<(String, String)>, Error> {
        let t = tenant.as_str().as_bytes().to_vec();
        self.pg.run(move |c| {
            Ok(c.query(
                "SELECT image, scan_id FROM inputs WHERE tenant = $1 ORDER BY image",
                &[&t],
            )?
            .iter()
            .map(|r| (text(r, 0), text(r, 1)))
            .collect())
        })
    }

    fn all_inputs(&self) -> Result<Vec<(Tenant, String, String)>, Error> {
        self.pg.run(|c| {
            Ok(c.query(
                "SELECT tenant, image, scan_id FROM inputs ORDER BY tenant, image",
                &[],
            )?
            .iter()
            .filter_map(|r| Some((Tenant::new(&text(r, 0)).ok()?, text(r, 1), text(r, 2))))
            .collect())
        })
    }

    fn input(&self, tenant: &Tenant, image: &str) -> Result<Option<(String, Vec<u8>)>, Error> {
        let i = image.as_bytes().to_vec();
        let t = tenant.as_str().as_bytes().to_vec();
        let row: Option<(String, Vec<u8>)> = self.pg.run(move |c| {
            Ok(c.query_opt(
                "SELECT scan_id, input FROM inputs WHERE tenant = $1 AND image = $2",
                &[&t, &i],
            )?
            .map(|r| (text(&r, 0), r.get(1))))
        })?;
        let Some((id, packed)) = row else {
            return Ok(None);
        };
        let input = lz4_flex::decompress_size_prepended(&packed).map_err(|e| Error::Db {
            path: self.pg.name.clone(),
            message: format!("the stored input of {image} is damaged: {e}"),
        })?;
        Ok(Some((id, input)))
    }

    fn try_lease(
        &self,
        job: &str,
        holder: &str,
        slot: Option<i64>,
        now: i64,
        ttl: i64,
    ) -> Result<bool, Error> {
        let (j, h) = (job.as_bytes().to_vec(), holder.as_bytes().to_vec());
        self.pg.run(move |c| {
            c.execute(
                "INSERT INTO leases (job, holder, until, last_slot) VALUES ($1, ''::bytea, 0, 0)
                 ON CONFLICT (job) DO NOTHING",
                &[&j],
            )?;
            // one statement decides: two replicas racing for the row are serialised by its lock
            let n = c.execute(
                "UPDATE leases SET holder = $2, until = $3
                 WHERE job = $1 AND (holder = ''::bytea OR holder = $2 OR until <= $4)
                   AND ($5::bigint IS NULL OR last_slot < $5)",
                &[&j, &h, &(now + ttl), &now, &slot],
            )?;
            Ok(n == 1)
        })
    }

    fn release(&self, job: &str, holder: &str, slot: Option<i64>) -> Result<(), Error> {
        let (j, h) = (job.as_bytes().to_vec(), holder.as_bytes().to_vec());
        self.pg.run(move |c| {
            c.execute(
                "UPDATE leases SET holder = ''::bytea, until = 0,
                    last_slot = GREATEST(last_slot, COALESCE($3::bigint, last_slot))
                 WHERE job = $1 AND holder = $2",
                &[&j, &h, &slot],
            )
            .map(|_| ())
        })
    }

    fn job_lease(&self, job: &str) -> Result<Lease, Error> {
        let j = job.as_bytes().to_vec();
        self.pg.run(move |c| {
            Ok(c.query_opt(
                "SELECT last_slot, holder, until FROM leases WHERE job = $1",
                &[&j],
            )?
            .map(|r| Lease {
                last_slot: r.get(0),
                holder: text(&r, 1),
                until: r.get(2),
            })
            .unwrap_or_default())
        })
    }

    fn put_run(&self, job: &str, started: i64, id: &str, record: &[u8]) -> Result<(), Error> {
        let (j, i, r) = (
            job.as_bytes().to_vec(),
            id.as_bytes().to_vec(),
            record.to_vec(),
        );
        self.pg.run(move |c| {
            c.execute(
                "INSERT INTO runs (job, started, id, record) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (job, started, id) DO UPDATE SET record = excluded.record",
                &[&j, &started, &i, &r],
            )
            .map(|_| ())
        })
    }

    fn runs(&self, job: &str, limit: usize) -> Result<Vec<Vec<u8>>, Error> {
        let j = job.as_bytes().to_vec();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.pg.run(move |c| {
            let rows = if j.is_empty() {
                c.query(
                    "SELECT record FROM runs ORDER BY started DESC, job, id LIMIT $1",
                    &[&limit],
                )?
            } else {
                c.query(
                    "SELECT record FROM runs WHERE job = $1 ORDER BY started DESC, id DESC LIMIT $2",
                    &[&j, &limit],
                )?
            };
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn put_doc(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let (n, b) = (name.as_bytes().to_vec(), bytes.to_vec());
        self.pg.run(move |c| {
            c.execute(
                "INSERT INTO docs (name, body, generation) VALUES ($1, $2, nextval('docs_generation'))
                 ON CONFLICT (name) DO UPDATE SET body = excluded.body,
                    generation = excluded.generation",
                &[&n, &b],
            )
            .map(|_| ())
        })
    }

    fn get_doc(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        let n = name.as_bytes().to_vec();
        self.pg.run(move |c| {
            Ok(c.query_opt("SELECT body FROM docs WHERE name = $1", &[&n])?
                .map(|r| r.get(0)))
        })
    }

    fn create_doc(&self, name: &str, bytes: &[u8]) -> Result<bool, Error> {
        let (n, b) = (name.as_bytes().to_vec(), bytes.to_vec());
        self.pg.run(move |c| {
            let created = c.execute(
                "INSERT INTO docs (name, body, generation) VALUES ($1, $2, nextval('docs_generation'))
                 ON CONFLICT (name) DO NOTHING",
                &[&n, &b],
            )?;
            Ok(created == 1)
        })
    }

    fn docs_generation(&self) -> Result<u64, Error> {
        let g: i64 = self.pg.run(|c| {
            Ok(
                c.query_opt("SELECT coalesce(max(generation), 0) FROM docs", &[])?
                    .map_or(0, |r| r.get(0)),
            )
        })?;
        Ok(g.max(0) as u64)
    }

    fn login_failed(&self, key: &str, now: u64, window_secs: u64) -> Result<(u32, u64), Error> {
        let k = self.key(&format!("login:{key}"));
        let (n,): (u32,) = self.redis.with(|c| {
            redis::pipe()
                .atomic()
                .cmd("HINCRBY")
                .arg(&k)
                .arg("n")
                .arg(1)
                .cmd("HSET")
                .arg(&k)
                .arg("last")
                .arg(now)
                .ignore()
                .cmd("EXPIRE")
                .arg(&k)
                .arg(window_secs.max(1))
                .ignore()
                .query(c)
        })?;
        Ok((n, now))
    }

    fn login_failures(&self, key: &str) -> Result<(u32, u64), Error> {
        let k = self.key(&format!("login:{key}"));
        let (n, last): (Option<u32>, Option<u64>) = self
            .redis
            .with(|c| redis::cmd("HMGET").arg(&k).arg("n").arg("last").query(c))?;
        Ok((n.unwrap_or(0), last.unwrap_or(0)))
    }

    fn login_reset(&self, key: &str) -> Result<(), Error> {
        let k = self.key(&format!("login:{key}"));
        self.redis
            .with(|c| redis::cmd("DEL").arg(&k).query::<()>(c))
    }

    fn login_reset_principal(&self, subject: &str) -> Result<(), Error> {
        let exact = self.key(&format!("login:{subject}"));
        // names are letters, digits and `-_.@:`, none of which a glob treats specially
        let pattern = format!("{exact}@*");
        self.redis.with(|c| {
            let mut cursor: u64 = 0;
            let mut keys = vec![exact.clone()];
            loop {
                let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query(c)?;
                keys.extend(found);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            redis::cmd("DEL").arg(&keys).query::<()>(c)
        })
    }

    fn cache_get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let k = self.key(&format!("cache:{key}"));
        self.redis.with(|c| redis::cmd("GET").arg(&k).query(c))
    }

    fn cache_put(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<(), Error> {
        let k = self.key(&format!("cache:{key}"));
        self.redis.with(|c| {
            redis::cmd("SET")
                .arg(&k)
                .arg(value)
                .arg("EX")
                .arg(ttl_secs.max(1))
                .query::<()>(c)
        })
    }

    fn shared(&self) -> bool {
        true
    }

    fn ready(&self) -> Result<(), Error> {
        self.redis.with(|c| redis::cmd("PING").query::<String>(c))?;
        self.pg.run(|c| c.query("SELECT 1", &[]).map(|_| ()))
    }
}
