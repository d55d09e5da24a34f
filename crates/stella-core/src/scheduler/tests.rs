//! The scheduler with a clock the test moves: slots fire once, after their jitter, across
//! two schedulers sharing one store; failures are retried with doubling waits and recorded.

use std::sync::Mutex;

use super::*;

#[derive(Debug)]
struct ManualClock {
    now: Mutex<i64>,
    slept: Mutex<Vec<u64>>,
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        *self.now.lock().unwrap()
    }
    fn sleep(&self, secs: u64) {
        self.slept.lock().unwrap().push(secs);
        *self.now.lock().unwrap() += secs as i64;
    }
}

fn at(day: i64, h: i64, m: i64) -> i64 {
    // 2026-11-30 is day 20_422 since the epoch
    (20_422 + day) * 86_400 + h * 3600 + m * 60
}

/// One key-encryption key file per shared store (its key prefix), private to the owner.
fn shared_kek(prefix: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let p = std::env::temp_dir().join(format!("stella-test-{prefix}.kek"));
    if !p.exists() {
        let tmp = p.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(&tmp, stella_auth::Kek::generate().unwrap().encode()).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
        // renamed into place: two replicas starting at once agree on the first
        let _ = std::fs::hard_link(&tmp, &p);
        let _ = std::fs::remove_file(&tmp);
    }
    p
}

fn core(dir: &std::path::Path, schedule: Settings) -> Arc<Core> {
    core_on(dir, schedule, None)
}

fn core_on(
    dir: &std::path::Path,
    schedule: Settings,
    scaled: Option<stella_store::ScaledOptions>,
) -> Arc<Core> {
    let secdb = dir.join("main.json");
    std::fs::write(
        &secdb,
        r#"{"distroversion":"v3.17","reponame":"main","archs":["x86_64"],"packages":[{"pkg":{"name":"memcached","secfixes":{"1.6.18-r0":["CVE-2022-48571"]}}}]}"#,
    )
    .unwrap();
    let mut b = stella_advisory::DbBuilder::new();
    stella_advisory::import::import_file_as(
        &mut b,
        stella_advisory::import::FeedFormat::parse("alpine-secdb").unwrap(),
        &secdb,
        "alpine-secdb",
        "2026-11-29T00:00:00Z",
    )
    .unwrap();
    let db = dir.join("advisories.db");
    b.write(&db, "2026-11-29T00:00:00Z").unwrap();
    let kek_file = scaled.as_ref().map(|o| shared_kek(&o.prefix));
    let config = crate::Config {
        data: dir.join("data"),
        db,
        db_note: None,
        scan_memory: 256 << 20,
        max_body: 1 << 20,
        queue_limit: 10,
        policy_files: Vec::new(),
        rego_runner: stella_policy::rego::Runner::InProcess,
        fail_on: None,
        policy_errors_pass: false,
        issuer: "http://127.0.0.1:1".into(),
        anonymous: false,
        insecure_registry: false,
        registry_username: None,
        registry_password: None,
        workers: 1,
        request_timeout: std::time::Duration::from_secs(5),
        header_timeout: std::time::Duration::from_secs(5),
        schedule,
        scaled,
        result_cache_bytes: 32 << 20,
        // replicas sharing a store share its key-encryption key
        kek_file,
        lease: std::time::Duration::from_secs(60),
        kit_keys: Vec::new(),
        installation: None,
    };
    Arc::new(Core::open(config).unwrap())
}

fn nightly(dir: &std::path::Path) -> Settings {
    Settings {
        jitter_secs: 120,
        retries: 2,
        backoff_secs: 60,
        rescan_cron: Some("0 2 * * *".into()),
        feeds: Some(dir.join("no-such-feeds.json")),
        ..Settings::default()
    }
}

#[test]
fn each_slot_runs_once_after_its_jitter_with_retries_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let c = core(dir.path(), nightly(dir.path()));
    // two schedulers on one store stand for two replicas
    each_slot_runs_once(&c, &c);
}

#[test]
fn two_replicas_on_redis_and_postgres_run_each_slot_once() {
    use stella_store::servers::{PostgresServer, RedisServer, available};
    if !available("two_replicas_on_redis_and_postgres_run_each_slot_once") {
        return;
    }
    let redis = RedisServer::start().unwrap();
    let pg = PostgresServer::start().unwrap();
    let shared = stella_store::ScaledOptions::new(&redis.url(), &pg.url(), 10);
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // two Cores, each with its own data directory, sharing only Redis and PostgreSQL
    let a = core_on(da.path(), nightly(da.path()), Some(shared.clone()));
    let b = core_on(db.path(), nightly(db.path()), Some(shared));
    each_slot_runs_once(&a, &b);
}

fn each_slot_runs_once(ca: &Arc<Core>, cb: &Arc<Core>) {
    let clock = Arc::new(ManualClock {
        now: Mutex::new(at(0, 0, 58)),
        slept: Mutex::new(Vec::new()),
    });
    let a = Scheduler::new(ca.clone(), clock.clone()).unwrap();
    let b = Scheduler::new(cb.clone(), clock.clone()).unwrap();
    assert!(
        a.tick().is_empty() && b.tick().is_empty(),
        "00:58: nothing is due"
    );
    let slot = at(0, 0, 59);
    let fire = slot + jitter("feeds", slot, 120);
    *clock.now.lock().unwrap() = fire - 1;
    assert!(a.tick().is_empty(), "before its jitter");
    *clock.now.lock().unwrap() = fire;
    let runs = a.tick();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let r = &runs[0];
    // the feeds file is missing: every attempt fails and says why; waits double
    assert_eq!((r.job.as_str(), r.outcome.as_str()), ("feeds", "failed"));
    assert_eq!(r.errors.len(), 3);
    assert!(
        r.errors[0].contains("no-such-feeds.json"),
        "{}",
        r.errors[0]
    );
    assert_eq!(*clock.slept.lock().unwrap(), vec![60, 120]);
    assert_eq!(r.slot.as_deref(), Some(stella_sbom::rfc3339(slot).as_str()));
    // the other replica, and the same one later that day: the slot is done
    assert!(b.tick().is_empty());
    assert!(a.tick().is_empty());
    // the failed feed merge does not start a re-scan; the re-scan's own schedule does
    *clock.now.lock().unwrap() = at(0, 2, 10);
    let runs = b.tick();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].job.as_str(), runs[0].outcome.as_str()),
        ("rescan", "ok")
    );
    assert_eq!(runs[0].detail["images"], 0);
    assert!(a.tick().is_empty());
    // the next night's slot goes to whoever ticks first
    *clock.now.lock().unwrap() = at(1, 1, 30);
    let runs = b.tick();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].job, "feeds");
    assert!(a.tick().is_empty());
    // the history has every run, newest first
    let history = cb.store.runs("feeds", 10).unwrap();
    assert_eq!(history.len(), 2);
    let first: Run = serde_json::from_slice(&history[1]).unwrap();
    assert_eq!(first.outcome, "failed");
    assert!(first.duration_ms.is_some() && first.finished.is_some());
}

#[test]
fn a_manual_run_waits_for_a_running_one() {
    let dir = tempfile::tempdir().unwrap();
    let c = core(dir.path(), Settings::default());
    let clock = Arc::new(ManualClock {
        now: Mutex::new(at(0, 12, 0)),
        slept: Mutex::new(Vec::new()),
    });
    let a = Scheduler::new(c.clone(), clock.clone()).unwrap();
    assert!(
        c.store
            .try_lease("rescan", "someone-else", None, at(0, 12, 0), 60)
            .unwrap()
    );
    assert!(a.run_now("rescan").unwrap().is_none());
    *clock.now.lock().unwrap() = at(0, 12, 2);
    let runs = a.run_now("rescan").unwrap().unwrap();
    assert_eq!(runs[0].trigger, "manual");
    assert_eq!(runs[0].outcome, "ok");
}

#[test]
fn hmac_matches_rfc_4231() {
    // test case 2
    assert_eq!(
        hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    // test case 6: a key longer than the block
    assert_eq!(
        hex(&hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        )),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}

#[test]
fn without_feeds_nothing_is_scheduled() {
    let dir = tempfile::tempdir().unwrap();
    let c = core(dir.path(), Settings::default());
    let clock = Arc::new(ManualClock {
        now: Mutex::new(at(0, 0, 0)),
        slept: Mutex::new(Vec::new()),
    });
    let a = Scheduler::new(c, clock.clone()).unwrap();
    *clock.now.lock().unwrap() = at(0, 1, 30);
    assert!(a.tick().is_empty());
    assert_eq!(a.next("feeds"), None);
}

#[test]
fn bad_cron_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = core(
        dir.path(),
        Settings {
            feeds_cron: Some("61 0 * * *".into()),
            ..Settings::default()
        },
    );
    let e = Scheduler::new(c, Arc::new(SystemClock)).unwrap_err();
    assert!(e.to_string().contains("61 is outside 0-59"), "{e}");
}
