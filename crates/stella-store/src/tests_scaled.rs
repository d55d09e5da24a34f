//! The scaled backend against real `redis-server` and PostgreSQL on loopback: the same
//! promises as the embedded store's, across several store instances (replicas) at once, and
//! through a restart of either server.

use std::sync::Arc;

use super::*;

fn ls(tenant: &str) -> LayerScope {
    LayerScope::tenant(&Tenant::new(tenant).unwrap(), "c1")
}

fn dt() -> Tenant {
    Tenant::default_tenant()
}
use crate::servers::{PostgresServer, RedisServer, available};

struct Servers {
    redis: RedisServer,
    pg: PostgresServer,
}

fn servers(test: &str) -> Option<Servers> {
    if !available(test) {
        return None;
    }
    Some(Servers {
        redis: RedisServer::start().expect("redis-server starts"),
        pg: PostgresServer::start().expect("PostgreSQL starts"),
    })
}

/// Today (UTC): quota counters of past days expire.
fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    stella_sbom::rfc3339(now as i64)[..10].to_string()
}

fn replica(s: &Servers, queue_limit: u64) -> Store {
    Store::scaled(&ScaledOptions::new(
        &s.redis.url(),
        &s.pg.url(),
        queue_limit,
    ))
    .expect("the scaled store connects")
}

#[test]
fn scaled_quota_is_exact_across_replicas() {
    let Some(srv) = servers("scaled_quota_is_exact_across_replicas") else {
        return;
    };
    let replicas = [Arc::new(replica(&srv, 100)), Arc::new(replica(&srv, 100))];
    let day = today();
    let tomorrow = stella_sbom::rfc3339(stella_sbom::epoch_days(&day).unwrap() * 86_400 + 86_400)
        [..10]
        .to_string();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let s = replicas[i % 2].clone();
            let day = day.clone();
            std::thread::spawn(move || {
                (0..60)
                    .filter(|_| s.admit_deferred("tid-1", &day, 333).unwrap().admitted)
                    .count()
            })
        })
        .collect();
    let admitted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(
        admitted, 333,
        "480 attempts on two replicas, exactly the limit"
    );
    for r in &replicas {
        assert_eq!(r.quota_used("tid-1", &day).unwrap(), 333);
    }
    let a = replicas[1].admit("tid-1", &day, 333).unwrap();
    assert_eq!((a.admitted, a.remaining), (false, 0));
    let b = replicas[0].admit("tid-1", &tomorrow, 333).unwrap();
    assert_eq!((b.admitted, b.used, b.remaining), (true, 1, 332));
    assert!(replicas[0].admit("tid-1", "not-a-day", 3).is_err());
}

#[test]
fn scaled_records_match_the_embedded_store() {
    let Some(srv) = servers("scaled_records_match_the_embedded_store") else {
        return;
    };
    let s = replica(&srv, 100);
    let other = replica(&srv, 100);
    for (id, image, created) in [
        ("b", "alpine:3.19", "2026-11-29T10:00:00Z"),
        ("a", "alpine:3.19", "2026-11-28T10:00:00Z"),
        ("c", "alpine:3.190", "2026-11-29T11:00:00Z"),
    ] {
        s.put_scan(
            &dt(),
            id,
            image,
            created,
            Encoded::json(id.as_bytes()),
            Some(b"audit"),
        )
        .unwrap();
    }
    assert_eq!(
        other.get_scan(&dt(), "a").unwrap().as_deref(),
        Some(&b"a"[..])
    );
    assert_eq!(other.get_scan(&dt(), "zz").unwrap(), None);
    assert_eq!(
        other.scans_of(&dt(), "alpine:3.19").unwrap(),
        [
            ("2026-11-28T10:00:00Z".to_string(), "a".to_string()),
            ("2026-11-29T10:00:00Z".to_string(), "b".to_string())
        ]
    );
    let head = br#"{"createdAt":"2026-11-30T00:00:00Z"#;
    let tail = br#"","findings":[]}"#.repeat(100);
    s.put_scan(
        &dt(),
        "p",
        "img",
        "t",
        Encoded::parts(head, &Encoded::compress(&tail)),
        None,
    )
    .unwrap();
    assert_eq!(
        other.get_scan(&dt(), "p").unwrap().unwrap(),
        [&head[..], &tail].concat()
    );

    s.put_layer(&ls("t1"), "sha256:1", b"frag").unwrap();
    assert_eq!(
        other
            .missing_layers(
                &ls("t1"),
                &["sha256:0".into(), "sha256:1".into(), "sha256:2".into()]
            )
            .unwrap(),
        ["sha256:0", "sha256:2"]
    );
    assert_eq!(
        other
            .missing_layers(&ls("t2"), &["sha256:1".into()])
            .unwrap(),
        ["sha256:1"]
    );
    assert_eq!(
        other.get_layer(&ls("t1"), "sha256:1").unwrap().as_deref(),
        Some(&b"frag"[..])
    );

    let g0 = other.docs_generation().unwrap();
    s.put_doc("policy-history", b"{}").unwrap();
    let g1 = other.docs_generation().unwrap();
    assert!(g1 > g0, "another replica sees documents change");
    s.put_doc("policy-history", b"{\"v\":2}").unwrap();
    assert!(other.docs_generation().unwrap() > g1);
    assert_eq!(
        other.get_doc("policy-history").unwrap().as_deref(),
        Some(&b"{\"v\":2}"[..])
    );

    // three scans wrote three audit entries in one transaction each
    assert_eq!(s.audit(None, b"four").unwrap(), 3);
    assert_eq!(
        other.audit_log(None, 2, 10).unwrap(),
        [(2, b"audit".to_vec()), (3, b"four".to_vec())]
    );

    s.put_scan(
        &dt(),
        "s1",
        "app:1",
        "1",
        Encoded::json(b"{}").with_input(b"first"),
        None,
    )
    .unwrap();
    s.put_scan(
        &dt(),
        "s2",
        "app:1",
        "2",
        Encoded::json(b"{}").with_input(b"second"),
        None,
    )
    .unwrap();
    s.put_scan(
        &dt(),
        "s3",
        "APP:0",
        "2",
        Encoded::json(b"{}").with_input(b"x"),
        None,
    )
    .unwrap();
    assert_eq!(
        other.inputs(&dt()).unwrap(),
        [
            ("APP:0".to_string(), "s3".to_string()),
            ("app:1".to_string(), "s2".to_string())
        ],
        "byte order, as the embedded store"
    );
    assert_eq!(
        other.input(&dt(), "app:1").unwrap(),
        Some(("s2".into(), b"second".to_vec()))
    );

    // two replicas and one slot: one runs it, once
    let slot = 1_764_464_340;
    assert!(s.try_lease("feeds", "a", Some(slot), 100, 60).unwrap());
    assert!(!other.try_lease("feeds", "b", Some(slot), 101, 60).unwrap());
    s.release("feeds", "a", Some(slot)).unwrap();
    assert!(
        !other.try_lease("feeds", "b", Some(slot), 102, 60).unwrap(),
        "the slot is done"
    );
    assert!(
        other
            .try_lease("feeds", "b", Some(slot + 86_400), 103, 60)
            .unwrap()
    );
    assert!(
        !s.try_lease("feeds", "a", Some(slot + 86_400), 150, 60)
            .unwrap()
    );
    assert!(
        s.try_lease("feeds", "a", Some(slot + 86_400), 164, 60)
            .unwrap(),
        "b's lease ran out"
    );
    assert!(!other.try_lease("feeds", "b", None, 165, 60).unwrap());
    s.release("feeds", "a", Some(slot + 86_400)).unwrap();
    assert!(other.try_lease("feeds", "b", None, 166, 60).unwrap());
    assert_eq!(s.job_lease("feeds").unwrap().last_slot, slot + 86_400);

    s.put_run("feeds", 10, "r1", b"1").unwrap();
    s.put_run("feeds", 20, "r2", b"2").unwrap();
    s.put_run("rescan", 15, "r3", b"3").unwrap();
    s.put_run("feeds", 20, "r2", b"2'").unwrap();
    assert_eq!(
        other.runs("feeds", 10).unwrap(),
        [b"2'".to_vec(), b"1".to_vec()]
    );
    assert_eq!(other.runs("", 2).unwrap(), [b"2'".to_vec(), b"3".to_vec()]);
    assert!(s.shared() && s.ready().is_ok());
}

#[test]
fn scaled_jobs_survive_their_worker_and_finish_exactly_once() {
    let Some(srv) = servers("scaled_jobs_survive_their_worker_and_finish_exactly_once") else {
        return;
    };
    let a = replica(&srv, 3);
    let b = replica(&srv, 3);
    a.enqueue(&dt(), "job-1", b"scan this").unwrap();
    b.enqueue(&dt(), "job-2", b"and this").unwrap();
    b.enqueue(&dt(), "job-1", b"scan this").unwrap();
    assert_eq!(
        a.queue_depth().unwrap(),
        2,
        "a retried submission is queued once"
    );
    a.enqueue(&dt(), "job-3", b"").unwrap();
    assert!(matches!(
        b.enqueue(&dt(), "job-4", b""),
        Err(Error::QueueFull(3))
    ));
    assert_eq!(a.job_state(&dt(), "job-1").unwrap(), JobState::Queued);

    let lease_ms = 300;
    let j = a.lease("w1", 0, lease_ms).unwrap().unwrap();
    assert_eq!(
        (j.id.as_str(), j.attempts, j.payload.as_slice()),
        ("job-1", 1, &b"scan this"[..])
    );
    assert_eq!(
        b.job_state(&dt(), "job-1").unwrap(),
        JobState::Running { attempts: 1 }
    );
    // w1 dies holding job-1; w2 gets the others first, then job-1 once its lease ran out
    let j2 = b.lease("w2", 0, lease_ms).unwrap().unwrap();
    assert_eq!(j2.id, "job-2");
    let j3 = b.lease("w2", 0, lease_ms).unwrap().unwrap();
    assert_eq!(j3.id, "job-3");
    std::thread::sleep(std::time::Duration::from_millis(400));
    let j1 = b.lease("w2", 0, lease_ms).unwrap().unwrap();
    assert_eq!((j1.id.as_str(), j1.attempts), ("job-1", 2));
    assert!(
        !a.complete(
            &dt(),
            "job-1",
            "w1",
            "job-1",
            "img",
            "t",
            Encoded::json(b"late"),
            None
        )
        .unwrap()
    );
    assert!(
        b.complete(
            &dt(),
            "job-1",
            "w2",
            "job-1",
            "img",
            "t1",
            Encoded::json(b"{}"),
            None
        )
        .unwrap()
    );
    assert!(
        !b.complete(
            &dt(),
            "job-1",
            "w2",
            "job-1",
            "img",
            "t1",
            Encoded::json(b"{}"),
            None
        )
        .unwrap(),
        "once"
    );
    assert_eq!(
        a.get_scan(&dt(), "job-1").unwrap().as_deref(),
        Some(&b"{}"[..])
    );
    assert_eq!(a.job_state(&dt(), "job-1").unwrap(), JobState::Done);
    assert_eq!(
        a.job_result(&dt(), "job-1").unwrap().as_deref(),
        Some("job-1")
    );
    assert!(b.fail(&dt(), "job-2", "w2", b"{\"status\":422}").unwrap());
    assert_eq!(
        a.job_state(&dt(), "job-2").unwrap(),
        JobState::Failed(b"{\"status\":422}".to_vec())
    );
    assert!(
        b.complete(
            &dt(),
            "job-3",
            "w2",
            "job-3",
            "img",
            "t3",
            Encoded::json(b"{}"),
            None
        )
        .unwrap()
    );
    assert_eq!(a.queue_depth().unwrap(), 0);
    assert!(
        a.lease("w1", 0, lease_ms).unwrap().is_none(),
        "nothing left, after a wait"
    );
    a.enqueue(&dt(), "job-1", b"scan this").unwrap();
    assert_eq!(
        a.queue_depth().unwrap(),
        0,
        "a done job is not queued again"
    );
    assert_eq!(a.job_state(&dt(), "nope").unwrap(), JobState::Unknown);
    assert_eq!(a.scans_of(&dt(), "img").unwrap().len(), 2);
}

#[test]
fn scaled_store_rides_out_server_restarts() {
    let Some(mut srv) = servers("scaled_store_rides_out_server_restarts") else {
        return;
    };
    let s = replica(&srv, 10);
    let day = today();
    assert!(s.admit("t", &day, 5).unwrap().admitted);
    s.put_scan(&dt(), "a", "img", "1", Encoded::json(b"{}"), None)
        .unwrap();
    // Redis restarts (its append-only file keeps the counts): the next call reconnects
    srv.redis.stop();
    let e = s.quota_used("t", &day).unwrap_err();
    assert!(e.is_unavailable() && e.to_string().contains("Redis"), "{e}");
    assert!(s.ready().is_err());
    srv.redis.resume().unwrap();
    assert_eq!(s.quota_used("t", &day).unwrap(), 1);
    s.put_layer(&ls("t1"), "sha256:1", b"frag").unwrap();
    // PostgreSQL stops: a clear error, not a hang; back, and the same store goes on
    srv.pg.stop();
    assert_eq!(
        s.get_layer(&ls("t1"), "sha256:1").unwrap().as_deref(),
        Some(&b"frag"[..]),
        "recently used fragments come from Redis"
    );
    let e = s.get_scan(&dt(), "a").unwrap_err();
    assert!(
        e.is_unavailable() && e.to_string().contains("PostgreSQL"),
        "{e}"
    );
    assert!(s.ready().unwrap_err().to_string().contains("PostgreSQL"));
    srv.pg.resume().unwrap();
    assert_eq!(s.get_scan(&dt(), "a").unwrap().as_deref(), Some(&b"{}"[..]));
    assert!(s.ready().is_ok());
    // a store that cannot reach its servers says which
    let bad = Store::scaled(&ScaledOptions::new("redis://127.0.0.1:1", &srv.pg.url(), 1));
    assert!(bad.unwrap_err().to_string().contains("127.0.0.1:1"));
}

#[test]
fn scaled_retention_deletes_only_scans_past_it() {
    let Some(srv) = servers("scaled_retention_deletes_only_scans_past_it") else {
        return;
    };
    let s = replica(&srv, 10);
    s.put_scan(&dt(), "old", "img", "1", Encoded::json(b"{}"), None)
        .unwrap();
    s.put_scan(&dt(), "new", "img", "2", Encoded::json(b"{}"), None)
        .unwrap();
    let mut c = postgres::Client::connect(&srv.pg.url(), postgres::NoTls).unwrap();
    c.execute(
        "UPDATE scans SET stored_at = now() - interval '181 days' WHERE id = 'old'::bytea",
        &[],
    )
    .unwrap();
    // a replica started with a retention of 180 days prunes at once, then hourly
    let _pruning = Store::scaled(&ScaledOptions {
        retention_days: Some(180),
        ..ScaledOptions::new(&srv.redis.url(), &srv.pg.url(), 10)
    })
    .unwrap();
    let start = std::time::Instant::now();
    while s.get_scan(&dt(), "old").unwrap().is_some() {
        assert!(start.elapsed().as_secs() < 10, "pruned within 10 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        s.get_scan(&dt(), "new").unwrap().is_some(),
        "younger scans stay"
    );
    assert_eq!(s.scans_of(&dt(), "img").unwrap().len(), 1);
}

#[test]
fn scaled_tenants_never_see_each_others_records() {
    let Some(srv) = servers("scaled_tenants_never_see_each_others_records") else {
        return;
    };
    crate::tests::tenancy_contract(&replica(&srv, 100));
}

#[test]
fn scaled_failed_logins_are_shared_by_replicas() {
    let Some(srv) = servers("scaled_failed_logins_are_shared_by_replicas") else {
        return;
    };
    let a = replica(&srv, 10);
    crate::tests::login_contract(&a);
    let b = replica(&srv, 10);
    a.login_failed("client:z@h", 5, 3600).unwrap();
    assert_eq!(b.login_failed("client:z@h", 6, 3600).unwrap(), (2, 6));
    assert_eq!(a.login_failures("client:z@h").unwrap(), (2, 6));
}

#[test]
fn scaled_admission_and_enqueue_are_one_step() {
    let Some(srv) = servers("scaled_admission_and_enqueue_are_one_step") else {
        return;
    };
    crate::tests::admit_and_enqueue_contract(&replica(&srv, 10), 10);
}

#[test]
fn scaled_tenant_cap_binds_all_its_tokens() {
    let Some(srv) = servers("scaled_tenant_cap_binds_all_its_tokens") else {
        return;
    };
    crate::tests::tenant_cap_contract(&std::sync::Arc::new(replica(&srv, 1000)));
}

#[test]
fn scaled_rows_of_before_tenants_become_the_default_tenants() {
    let Some(srv) = servers("scaled_rows_of_before_tenants_become_the_default_tenants") else {
        return;
    };
    // the database as version 1 of the schema left it, with a scan, an input and an entry
    let mut c = postgres::Client::connect(&srv.pg.url(), postgres::NoTls).unwrap();
    c.batch_execute(
        "CREATE TABLE stella_migrations (version integer PRIMARY KEY,
                                         applied timestamptz NOT NULL DEFAULT now())",
    )
    .unwrap();
    c.batch_execute(crate::scaled::MIGRATIONS[0].1).unwrap();
    c.execute("INSERT INTO stella_migrations (version) VALUES (1)", &[])
        .unwrap();
    let mut packed = vec![1u8];
    packed.extend_from_slice(&lz4_flex::compress_prepend_size(b"{\"old\":1}"));
    c.execute(
        "INSERT INTO scans (id, image, created, result) VALUES ($1, $2, $3, $4)",
        &[
            &b"scan-old".to_vec(),
            &b"app:1".to_vec(),
            &b"2026-01-01".to_vec(),
            &packed,
        ],
    )
    .unwrap();
    c.execute(
        "INSERT INTO inputs (image, scan_id, input) VALUES ($1, $2, $3)",
        &[
            &b"app:1".to_vec(),
            &b"scan-old".to_vec(),
            &lz4_flex::compress_prepend_size(b"in"),
        ],
    )
    .unwrap();
    c.execute(
        "INSERT INTO audit (entry) VALUES ($1)",
        &[&b"old entry".to_vec()],
    )
    .unwrap();
    drop(c);
    let s = replica(&srv, 10);
    let d = dt();
    assert_eq!(
        s.get_scan(&d, "scan-old").unwrap().as_deref(),
        Some(&b"{\"old\":1}"[..])
    );
    assert_eq!(s.scans_of(&d, "app:1").unwrap().len(), 1);
    assert_eq!(s.input(&d, "app:1").unwrap().unwrap().1, b"in");
    assert_eq!(s.audit_log(Some(&d), 0, 10).unwrap().len(), 1);
    let other = Tenant::new("other").unwrap();
    assert!(s.get_scan(&other, "scan-old").unwrap().is_none());
    // a second replica finds it migrated already; a newer schema is refused
    drop(replica(&srv, 10));
    let mut c = postgres::Client::connect(&srv.pg.url(), postgres::NoTls).unwrap();
    c.execute("INSERT INTO stella_migrations (version) VALUES (99)", &[])
        .unwrap();
    let e = Store::scaled(&ScaledOptions::new(&srv.redis.url(), &srv.pg.url(), 10))
        .unwrap_err()
        .to_string();
    assert!(e.contains("newer Stella"), "{e}");
}
