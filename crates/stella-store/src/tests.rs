//! The store's promises: exact quotas under parallel load, jobs that survive their worker,
//! exactly one result, durability across reopening.

use std::path::Path;
use std::sync::Arc;

use super::*;

fn ls(tenant: &str) -> LayerScope {
    LayerScope::tenant(&Tenant::new(tenant).unwrap(), "c1")
}

fn dt() -> Tenant {
    Tenant::default_tenant()
}

fn store(dir: &Path) -> Store {
    Store::open(dir, 100).unwrap()
}

#[test]
fn quota_is_exact_under_parallel_admissions() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(store(dir.path()));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                (0..60)
                    .filter(|_| s.admit("tid-1", "2026-11-29", 333).unwrap().admitted)
                    .count()
            })
        })
        .collect();
    let admitted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(admitted, 333, "480 attempts, exactly the limit admitted");
    assert_eq!(s.quota_used("tid-1", "2026-11-29").unwrap(), 333);
    let a = s.admit("tid-1", "2026-11-29", 333).unwrap();
    assert_eq!((a.admitted, a.remaining), (false, 0));
    // per token and per day
    let b = s.admit("tid-1", "2026-11-30", 333).unwrap();
    assert_eq!((b.admitted, b.used, b.remaining), (true, 1, 332));
    assert!(s.admit("tid-2", "2026-11-29", 333).unwrap().admitted);
}

#[test]
fn deferred_counts_are_exact_and_become_durable_with_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Arc::new(store(dir.path()));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let s = s.clone();
                std::thread::spawn(move || {
                    (0..60)
                        .filter(|j| {
                            let a = s.admit_deferred("tid-1", "2026-11-29", 333).unwrap();
                            // every third admitted scan stores a result, as Core does
                            if a.admitted && j % 3 == 0 {
                                s.put_scan(
                                    &dt(),
                                    &format!("scan-{i}-{j}"),
                                    "app:1",
                                    "2026-11-29T10:00:00Z",
                                    Encoded::json(b"{}"),
                                    None,
                                )
                                .unwrap();
                            }
                            a.admitted
                        })
                        .count()
                })
            })
            .collect();
        let admitted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(admitted, 333, "480 attempts, exactly the limit admitted");
        assert_eq!(s.quota_used("tid-1", "2026-11-29").unwrap(), 333);
        assert!(
            !s.admit_deferred("tid-1", "2026-11-29", 333)
                .unwrap()
                .admitted
        );
        // admitted after the last write: durable only once something is written
        assert!(s.admit_deferred("tid-2", "2026-11-29", 5).unwrap().admitted);
        s.flush().unwrap();
        assert!(s.admit_deferred("tid-3", "2026-11-29", 5).unwrap().admitted);
    }
    let s = store(dir.path());
    assert_eq!(s.quota_used("tid-1", "2026-11-29").unwrap(), 333);
    assert_eq!(s.quota_used("tid-2", "2026-11-29").unwrap(), 1);
    // admitted after the last write: closing the store writes it
    assert_eq!(s.quota_used("tid-3", "2026-11-29").unwrap(), 1);
    let a = s.admit_deferred("tid-2", "2026-11-29", 5).unwrap();
    assert_eq!((a.admitted, a.used, a.remaining), (true, 2, 3));
}

#[test]
fn scans_history_layers_docs_audit_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = store(dir.path());
        s.put_scan(
            &dt(),
            "b",
            "alpine:3.19",
            "2026-11-29T10:00:00Z",
            Encoded::json(b"{\"n\":2}"),
            None,
        )
        .unwrap();
        s.put_scan(
            &dt(),
            "a",
            "alpine:3.19",
            "2026-11-28T10:00:00Z",
            Encoded::json(b"{\"n\":1}"),
            None,
        )
        .unwrap();
        s.put_scan(
            &dt(),
            "c",
            "alpine:3.190",
            "2026-11-29T11:00:00Z",
            Encoded::json(b"{}"),
            None,
        )
        .unwrap();
        s.put_layer(&ls("t1"), "sha256:1", b"frag").unwrap();
        s.put_doc("policy-history", b"{}").unwrap();
        assert_eq!(s.audit(None, b"one").unwrap(), 0);
        assert_eq!(s.audit(None, b"two").unwrap(), 1);
    }
    let s = store(dir.path());
    assert_eq!(
        s.get_scan(&dt(), "a").unwrap().as_deref(),
        Some(&b"{\"n\":1}"[..])
    );
    assert_eq!(s.get_scan(&dt(), "zz").unwrap(), None);
    assert_eq!(
        s.scans_of(&dt(), "alpine:3.19").unwrap(),
        [
            ("2026-11-28T10:00:00Z".to_string(), "a".to_string()),
            ("2026-11-29T10:00:00Z".to_string(), "b".to_string())
        ],
        "oldest first, and not another image that merely shares the prefix"
    );
    assert_eq!(
        s.missing_layers(
            &ls("t1"),
            &["sha256:0".into(), "sha256:1".into(), "sha256:2".into()]
        )
        .unwrap(),
        ["sha256:0", "sha256:2"]
    );
    assert_eq!(
        s.get_layer(&ls("t1"), "sha256:1").unwrap().as_deref(),
        Some(&b"frag"[..])
    );
    assert_eq!(
        s.missing_layers(&ls("t2"), &["sha256:1".into()]).unwrap(),
        ["sha256:1"],
        "another scope does not see the fragment"
    );
    assert_eq!(
        s.get_doc("policy-history").unwrap().as_deref(),
        Some(&b"{}"[..])
    );
    assert_eq!(s.audit_log(None, 1, 10).unwrap(), [(1, b"two".to_vec())]);
}

#[test]
fn a_dead_workers_job_is_leased_again_and_finishes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = store(dir.path());
        s.enqueue(&dt(), "job-1", b"scan this").unwrap();
        s.enqueue(&dt(), "job-2", b"and this").unwrap();
        // a retried submission is not queued twice
        s.enqueue(&dt(), "job-1", b"scan this").unwrap();
        assert_eq!(s.queue_depth().unwrap(), 2);
        let j = s.lease("w1", 1_000, 30_000).unwrap().unwrap();
        assert_eq!((j.id.as_str(), j.attempts), ("job-1", 1));
        // w1 dies here (the store is dropped without completing)
    }
    let s = store(dir.path());
    // while w1's lease runs, w2 gets the next job
    let j2 = s.lease("w2", 2_000, 30_000).unwrap().unwrap();
    assert_eq!(j2.id, "job-2");
    assert!(s.lease("w2", 2_000, 30_000).unwrap().is_none());
    // after it ran out, job-1 goes to w2
    let j1 = s.lease("w2", 40_000, 30_000).unwrap().unwrap();
    assert_eq!(
        (j1.id.as_str(), j1.attempts, j1.payload.as_slice()),
        ("job-1", 2, &b"scan this"[..])
    );
    // w1 comes back late: its result is refused; w2's is the one stored
    assert!(
        !s.complete(
            &dt(),
            "job-1",
            "w1",
            "scan-x",
            "img",
            "t",
            Encoded::json(b"late"),
            None
        )
        .unwrap()
    );
    assert!(
        s.complete(
            &dt(),
            "job-1",
            "w2",
            "scan-1",
            "img",
            "t1",
            Encoded::json(b"{}"),
            None
        )
        .unwrap()
    );
    assert!(
        !s.complete(
            &dt(),
            "job-1",
            "w2",
            "scan-1",
            "img",
            "t1",
            Encoded::json(b"{}"),
            None
        )
        .unwrap(),
        "once"
    );
    assert!(
        s.complete(
            &dt(),
            "job-2",
            "w2",
            "scan-2",
            "img",
            "t2",
            Encoded::json(b"{}"),
            None
        )
        .unwrap()
    );
    assert_eq!(
        s.job_result(&dt(), "job-1").unwrap().as_deref(),
        Some("scan-1")
    );
    assert_eq!(s.get_scan(&dt(), "scan-x").unwrap(), None);
    assert_eq!(s.queue_depth().unwrap(), 0);
    assert_eq!(s.scans_of(&dt(), "img").unwrap().len(), 2);
    // a done job is not queued again
    s.enqueue(&dt(), "job-1", b"scan this").unwrap();
    assert_eq!(s.queue_depth().unwrap(), 0);
}

#[test]
fn a_full_queue_pushes_back() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), 2).unwrap();
    s.enqueue(&dt(), "a", b"").unwrap();
    s.enqueue(&dt(), "b", b"").unwrap();
    assert!(matches!(
        s.enqueue(&dt(), "c", b""),
        Err(Error::QueueFull(2))
    ));
}

#[test]
fn an_unusable_place_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let e = Store::open(&file, 1).unwrap_err().to_string();
    assert!(e.contains("plain-file"), "{e}");
}

#[test]
fn interrupted_jobs_run_again_at_once_and_failures_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), 10).unwrap();
    s.enqueue(&dt(), "j1", b"p1").unwrap();
    s.enqueue(&dt(), "j2", b"p2").unwrap();
    assert_eq!(s.job_state(&dt(), "j1").unwrap(), JobState::Queued);
    let j = s.lease("w1", 1_000, 3_600_000).unwrap().unwrap();
    assert_eq!(j.id, "j1");
    assert_eq!(
        s.job_state(&dt(), "j1").unwrap(),
        JobState::Running { attempts: 1 }
    );
    drop(s);
    // the process died; the next start releases the lease
    let s = Store::open(dir.path(), 10).unwrap();
    assert_eq!(s.release_all().unwrap(), 1);
    let j = s.lease("w2", 2_000, 3_600_000).unwrap().unwrap();
    assert_eq!((j.id.as_str(), j.attempts), ("j1", 2));
    assert!(
        !s.complete(
            &dt(),
            "j1",
            "w1",
            "j1",
            "img",
            "t",
            Encoded::json(b"{}"),
            None
        )
        .unwrap(),
        "the dead worker's result is refused"
    );
    assert!(
        s.complete(
            &dt(),
            "j1",
            "w2",
            "j1",
            "img",
            "t",
            Encoded::json(b"{}"),
            None
        )
        .unwrap()
    );
    assert_eq!(s.job_state(&dt(), "j1").unwrap(), JobState::Done);
    let j = s.lease("w2", 2_000, 3_600_000).unwrap().unwrap();
    assert!(s.fail(&dt(), &j.id, "w2", b"{\"status\":422}").unwrap());
    assert_eq!(
        s.job_state(&dt(), "j2").unwrap(),
        JobState::Failed(b"{\"status\":422}".to_vec())
    );
    assert_eq!(s.queue_depth().unwrap(), 0);
    assert_eq!(s.job_state(&dt(), "nope").unwrap(), JobState::Unknown);
}

#[test]
fn results_stored_in_parts_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), 10).unwrap();
    let head = br#"{"schemaVersion":"1","createdAt":"2026-11-30T00:00:00Z"#;
    let tail = br#"","findings":[]}"#.repeat(100);
    s.put_scan(
        &dt(),
        "p",
        "img",
        "2026-11-30T00:00:00Z",
        Encoded::parts(head, &Encoded::compress(&tail)),
        None,
    )
    .unwrap();
    let mut whole = head.to_vec();
    whole.extend_from_slice(&tail);
    assert_eq!(s.get_scan(&dt(), "p").unwrap().unwrap(), whole);
}

#[test]
fn the_commit_observer_hears_every_write_once() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    static COMMITS: AtomicUsize = AtomicUsize::new(0);
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    fn observe(_: std::time::Duration, writes: usize) {
        COMMITS.fetch_add(1, SeqCst);
        WRITES.fetch_add(writes, SeqCst);
    }
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(store(dir.path()));
    assert!(
        s.observe_commits(observe),
        "the embedded store reports its commits"
    );
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let id = format!("s-{t}-{i}");
                    s.put_scan(
                        &dt(),
                        &id,
                        "img",
                        "2026-11-30T00:00:00Z",
                        Encoded::json(b"{}"),
                        None,
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // grouped writes: one count each, however they were grouped
    assert_eq!(WRITES.load(SeqCst), 100);
    let commits = COMMITS.load(SeqCst);
    assert!((1..=100).contains(&commits), "{commits}");
    // an ungrouped write (a queue entry) is one commit of one write
    s.enqueue(&dt(), "job-1", b"{}").unwrap();
    assert_eq!(WRITES.load(SeqCst), 101);
    assert_eq!(COMMITS.load(SeqCst), commits + 1);
}

#[test]
fn grouped_writes_from_many_threads_each_commit_once_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Arc::new(store(dir.path()));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for i in 0..40 {
                        // an admission rides along with the next group, as a scan's does
                        assert!(
                            s.admit_deferred("tid", "2026-11-30", 1000)
                                .unwrap()
                                .admitted
                        );
                        let id = format!("s-{t}-{i}");
                        let json = format!("{{\"scanId\":\"{id}\"}}");
                        s.put_scan(
                            &dt(),
                            &id,
                            &format!("img-{t}"),
                            &format!("2026-11-30T00:00:{i:02}Z"),
                            Encoded::json(json.as_bytes()),
                            Some(id.as_bytes()),
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
    let s = store(dir.path());
    for t in 0..8 {
        let history = s.scans_of(&dt(), &format!("img-{t}")).unwrap();
        assert_eq!(history.len(), 40, "every scan of img-{t} filed once");
        for (_, id) in history {
            let json = s.get_scan(&dt(), &id).unwrap().unwrap();
            assert_eq!(json, format!("{{\"scanId\":\"{id}\"}}").into_bytes());
        }
    }
    let audit = s.audit_log(None, 0, 1000).unwrap();
    assert_eq!(audit.len(), 320, "one audit entry per scan");
    let mut seqs: Vec<u64> = audit.iter().map(|(n, _)| *n).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), 320, "no sequence number given twice");
    assert_eq!(s.quota_used("tid", "2026-11-30").unwrap(), 320);
}

#[test]
fn inputs_keep_each_images_latest_and_leases_run_each_slot_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    s.put_scan(
        &dt(),
        "s1",
        "app:1",
        "2026-11-29T10:00:00Z",
        Encoded::json(b"{}").with_input(b"first"),
        None,
    )
    .unwrap();
    s.put_scan(
        &dt(),
        "s2",
        "app:1",
        "2026-11-30T10:00:00Z",
        Encoded::json(b"{}").with_input(b"second"),
        None,
    )
    .unwrap();
    s.put_scan(
        &dt(),
        "s3",
        "other:2",
        "2026-11-30T10:00:00Z",
        Encoded::json(b"{}"),
        None,
    )
    .unwrap();
    assert_eq!(
        s.inputs(&dt()).unwrap(),
        vec![("app:1".to_string(), "s2".to_string())]
    );
    assert_eq!(
        s.input(&dt(), "app:1").unwrap(),
        Some(("s2".into(), b"second".to_vec()))
    );
    assert_eq!(s.input(&dt(), "other:2").unwrap(), None);

    // two replicas (holders) and one slot: one runs it, once
    let slot = 1_764_464_340;
    assert!(s.try_lease("feeds", "a", Some(slot), 100, 60).unwrap());
    assert!(
        !s.try_lease("feeds", "b", Some(slot), 101, 60).unwrap(),
        "a holds it"
    );
    s.release("feeds", "a", Some(slot)).unwrap();
    assert!(
        !s.try_lease("feeds", "b", Some(slot), 102, 60).unwrap(),
        "the slot is done"
    );
    assert!(
        s.try_lease("feeds", "b", Some(slot + 86_400), 103, 60)
            .unwrap()
    );
    // b dies holding it: once the lease runs out, a takes the unfinished slot over
    assert!(
        !s.try_lease("feeds", "a", Some(slot + 86_400), 150, 60)
            .unwrap()
    );
    assert!(
        s.try_lease("feeds", "a", Some(slot + 86_400), 164, 60)
            .unwrap()
    );
    // a manual run (no slot) still waits for the holder
    assert!(!s.try_lease("feeds", "b", None, 165, 60).unwrap());
    s.release("feeds", "a", Some(slot + 86_400)).unwrap();
    assert!(s.try_lease("feeds", "b", None, 166, 60).unwrap());
    assert_eq!(s.job_lease("feeds").unwrap().last_slot, slot + 86_400);

    s.put_run("feeds", 10, "r1", b"{\"n\":1}").unwrap();
    s.put_run("feeds", 20, "r2", b"{\"n\":2}").unwrap();
    s.put_run("rescan", 15, "r3", b"{\"n\":3}").unwrap();
    assert_eq!(
        s.runs("feeds", 10).unwrap(),
        vec![b"{\"n\":2}".to_vec(), b"{\"n\":1}".to_vec()]
    );
    assert_eq!(
        s.runs("", 2).unwrap(),
        vec![b"{\"n\":2}".to_vec(), b"{\"n\":3}".to_vec()]
    );
}

#[test]
fn lz4_gives_lz4_flex_bytes_at_every_size_and_reuse() {
    // sizes around the hash-table switch (64 KiB) and the reuse limit, in an order that
    // reuses a larger buffer for a smaller input (old bytes must not leak into the output)
    let mut sizes = vec![0usize, 1, 13, 4096, 65_534, 65_536, 700_000, 100, 3_000_000];
    sizes.push((4 << 20) + 10);
    for n in sizes {
        let input: Vec<u8> = (0..n)
            .map(|i| b"{\"vulnerabilityId\":\"CVE-2024-"[i % 29] ^ ((i / 977) as u8 & 3))
            .collect();
        let ours = super::lz4(&input);
        assert_eq!(ours, lz4_flex::compress_prepend_size(&input), "size {n}");
        assert_eq!(lz4_flex::decompress_size_prepended(&ours).unwrap(), input);
    }
}

/// What both backends promise about tenants: a record of one tenant is never found, listed,
/// finished or overwritten through another, whatever id or name the other uses.
pub(crate) fn tenancy_contract(s: &Store) {
    let a = Tenant::new("team-a").unwrap();
    let b = Tenant::new("team-b").unwrap();
    for (t, body) in [(&a, &b"a-result"[..]), (&b, &b"b-result"[..])] {
        s.put_scan(
            t,
            "scan-1",
            "app:1",
            "2026-12-01T00:00:00Z",
            Encoded::json(body).with_input(body),
            Some(format!("audit of {t}").as_bytes()),
        )
        .unwrap();
    }
    // the same id and image name in two tenants are two records
    assert_eq!(
        s.get_scan(&a, "scan-1").unwrap().as_deref(),
        Some(&b"a-result"[..])
    );
    assert_eq!(
        s.get_scan(&b, "scan-1").unwrap().as_deref(),
        Some(&b"b-result"[..])
    );
    let c = Tenant::new("team-c").unwrap();
    assert_eq!(s.get_scan(&c, "scan-1").unwrap(), None);
    assert!(s.scans_of(&c, "app:1").unwrap().is_empty());
    assert_eq!(s.scans_of(&a, "app:1").unwrap().len(), 1);
    assert!(s.inputs(&c).unwrap().is_empty());
    assert_eq!(s.input(&a, "app:1").unwrap().unwrap().1, b"a-result");
    assert_eq!(s.input(&b, "app:1").unwrap().unwrap().1, b"b-result");
    assert!(s.input(&c, "app:1").unwrap().is_none());
    let all = s.all_inputs().unwrap();
    assert!(all.contains(&(a.clone(), "app:1".into(), "scan-1".into())));
    assert!(all.contains(&(b.clone(), "app:1".into(), "scan-1".into())));
    // a tenant name that is a prefix of another's reads nothing of it
    let team = Tenant::new("team").unwrap();
    assert!(s.inputs(&team).unwrap().is_empty());
    assert_eq!(s.get_scan(&team, "-a\0scan-1").unwrap(), None);

    // layer fragments: a tenant's upload is not another's, nor Core's
    let la = LayerScope::tenant(&a, "c1");
    let lb = LayerScope::tenant(&b, "c1");
    s.put_layer(&la, "sha256:x", b"poison").unwrap();
    assert_eq!(
        s.missing_layers(&lb, &["sha256:x".into()]).unwrap(),
        ["sha256:x"]
    );
    assert_eq!(
        s.missing_layers(&LayerScope::core("c1"), &["sha256:x".into()])
            .unwrap(),
        ["sha256:x"]
    );
    assert!(s.get_layer(&lb, "sha256:x").unwrap().is_none());
    // a tenant named `core` is not Core
    let core_tenant = Tenant::new("core").unwrap();
    s.put_layer(&LayerScope::tenant(&core_tenant, "c1"), "sha256:y", b"p")
        .unwrap();
    assert!(
        s.get_layer(&LayerScope::core("c1"), "sha256:y")
            .unwrap()
            .is_none()
    );

    // jobs: queued under a tenant, seen and finished only through it
    s.enqueue(&a, "job-t", b"payload").unwrap();
    assert_eq!(s.job_state(&a, "job-t").unwrap(), JobState::Queued);
    assert_eq!(s.job_state(&b, "job-t").unwrap(), JobState::Unknown);
    let job = loop {
        if let Some(j) = s.lease("w", 1, 60_000).unwrap()
            && j.id == "job-t"
        {
            break j;
        }
    };
    assert_eq!(job.tenant, a);
    assert!(!s.renew(&b, "job-t", "w", 2, 60_000).unwrap());
    assert!(
        !s.complete(
            &b,
            "job-t",
            "w",
            "job-t",
            "img",
            "t",
            Encoded::json(b"{}"),
            None
        )
        .unwrap(),
        "another tenant cannot finish the job"
    );
    assert!(
        s.complete(
            &a,
            "job-t",
            "w",
            "job-t",
            "img",
            "t",
            Encoded::json(b"{}"),
            Some(b"queued scan")
        )
        .unwrap()
    );
    assert_eq!(s.job_state(&a, "job-t").unwrap(), JobState::Done);
    assert_eq!(s.job_result(&b, "job-t").unwrap(), None);
    assert!(s.get_scan(&b, "job-t").unwrap().is_none());
    assert!(s.get_scan(&a, "job-t").unwrap().is_some());

    // audit: each tenant reads its own; the installation reads all
    s.audit(None, b"installation only").unwrap();
    let of = |t: &Tenant| -> Vec<Vec<u8>> {
        s.audit_log(Some(t), 0, 100)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .collect()
    };
    assert_eq!(
        of(&a),
        [b"audit of team-a".to_vec(), b"queued scan".to_vec()]
    );
    assert_eq!(of(&b), [b"audit of team-b".to_vec()]);
    assert!(of(&c).is_empty());
    let everything: Vec<Vec<u8>> = s
        .audit_log(None, 0, 100)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert!(everything.contains(&b"installation only".to_vec()));
    assert!(everything.contains(&b"audit of team-b".to_vec()));
    // paging a tenant's log from a sequence number
    let seqs: Vec<u64> = s
        .audit_log(Some(&a), 0, 100)
        .unwrap()
        .iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(s.audit_log(Some(&a), seqs[1], 100).unwrap().len(), 1);
}

/// Failed logins: counted per key, forgotten after the window and on reset.
pub(crate) fn login_contract(s: &Store) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(s.login_failures("client:x@1.2.3.4").unwrap(), (0, 0));
    for i in 1..=3 {
        assert_eq!(
            s.login_failed("client:x@1.2.3.4", now, 3600).unwrap(),
            (i, now)
        );
    }
    assert_eq!(s.login_failures("client:x@1.2.3.4").unwrap(), (3, now));
    assert_eq!(
        s.login_failures("client:y@1.2.3.4").unwrap().0,
        0,
        "per key"
    );
    s.login_reset("client:x@1.2.3.4").unwrap();
    assert_eq!(s.login_failures("client:x@1.2.3.4").unwrap(), (0, 0));
    // an admin's unlock: the principal from every address, not others
    for k in [
        "client:v",
        "client:v@1.1.1.1",
        "client:v@2.2.2.2",
        "client:vw@1.1.1.1",
    ] {
        s.login_failed(k, now, 3600).unwrap();
    }
    s.login_reset_principal("client:v").unwrap();
    for k in ["client:v", "client:v@1.1.1.1", "client:v@2.2.2.2"] {
        assert_eq!(s.login_failures(k).unwrap().0, 0, "{k}");
    }
    assert_eq!(s.login_failures("client:vw@1.1.1.1").unwrap().0, 1);
}

/// A tenant's daily cap over all its tokens: each token keeps its own limit, the cap binds
/// them together, exactly under parallel admissions, and a refusal charges nothing.
pub(crate) fn tenant_cap_contract(s: &Arc<Store>) {
    let day = "2026-12-08";
    // each token's own limit is above the cap: only the cap binds here
    let cap = |tid: &'static str| [Quota::new(tid, 100), Quota::new("tenant:team-c", 50)];
    let threads: Vec<_> = ["tid-c1", "tid-c2"]
        .into_iter()
        .flat_map(|tid| (0..4).map(move |i| (tid, i)))
        .map(|(tid, i)| {
            let s = s.clone();
            std::thread::spawn(move || {
                (0..20)
                    .filter(|j| {
                        let t = Tenant::new("team-c").unwrap();
                        // half queue their jobs, half run at once: both charge the cap
                        if j % 2 == 0 {
                            s.admit_all_deferred(&cap(tid), day).unwrap().admitted
                        } else {
                            s.admit_and_enqueue(&cap(tid), day, &t, &format!("{tid}-{i}-{j}"), b"p")
                                .unwrap()
                                .admitted
                        }
                    })
                    .count()
            })
        })
        .collect();
    let admitted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(
        admitted, 50,
        "160 attempts, exactly the tenant's cap admitted"
    );
    s.flush().unwrap();
    assert_eq!(s.quota_used("tenant:team-c", day).unwrap(), 50);
    let (c1, c2) = (
        s.quota_used("tid-c1", day).unwrap(),
        s.quota_used("tid-c2", day).unwrap(),
    );
    assert_eq!(c1 + c2, 50, "each token charged for its own scans only");
    // refused by the cap (the second quota), the token's count unchanged
    let refused = s.admit_all_deferred(&cap("tid-c1"), day).unwrap();
    assert_eq!(
        (refused.admitted, refused.exhausted, refused.used),
        (false, Some(1), c1)
    );
    assert_eq!(s.quota_used("tid-c1", day).unwrap(), c1);
    // a token of another tenant is not held back
    let other = s
        .admit_all_deferred(
            &[Quota::new("tid-o", 40), Quota::new("tenant:team-o", 50)],
            day,
        )
        .unwrap();
    assert_eq!((other.admitted, other.remaining), (true, 39));
    // the token's own limit still binds first
    let own = s
        .admit_all_deferred(
            &[Quota::new("tid-o", 1), Quota::new("tenant:team-o", 50)],
            day,
        )
        .unwrap();
    assert_eq!((own.admitted, own.exhausted), (false, Some(0)));
}

#[test]
fn a_tenants_daily_cap_binds_all_its_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(Store::open(dir.path(), 1000).unwrap());
    tenant_cap_contract(&s);
}

/// Admission and enqueue in one step: charged exactly for what was queued.
pub(crate) fn admit_and_enqueue_contract(s: &Store, queue_limit: u64) {
    let day = "2026-12-07";
    let t = Tenant::new("team-q").unwrap();
    let a = s
        .admit_and_enqueue(&[Quota::new("tid-q", 3)], day, &t, "q1", b"p")
        .unwrap();
    assert_eq!((a.admitted, a.used, a.remaining), (true, 1, 2));
    assert_eq!(s.job_state(&t, "q1").unwrap(), JobState::Queued);
    // the same job again (a retried request): not charged, not queued twice
    let again = s
        .admit_and_enqueue(&[Quota::new("tid-q", 3)], day, &t, "q1", b"p")
        .unwrap();
    assert!(again.admitted);
    assert_eq!(s.quota_used("tid-q", day).unwrap(), 1);
    s.admit_and_enqueue(&[Quota::new("tid-q", 3)], day, &t, "q2", b"p")
        .unwrap();
    s.admit_and_enqueue(&[Quota::new("tid-q", 3)], day, &t, "q3", b"p")
        .unwrap();
    let over = s
        .admit_and_enqueue(&[Quota::new("tid-q", 3)], day, &t, "q4", b"p")
        .unwrap();
    assert!(!over.admitted, "over the limit");
    assert_eq!(
        s.job_state(&t, "q4").unwrap(),
        JobState::Unknown,
        "and not queued"
    );
    assert_eq!(s.quota_used("tid-q", day).unwrap(), 3);
    // a full queue charges nothing
    let mut n = 0;
    let full = loop {
        n += 1;
        match s.admit_and_enqueue(
            &[Quota::new("tid-f", 10_000)],
            day,
            &t,
            &format!("f{n}"),
            b"p",
        ) {
            Ok(a) => assert!(a.admitted),
            Err(e) => break e,
        }
    };
    assert!(matches!(full, Error::QueueFull(_)), "{full}");
    assert_eq!(
        u64::from(s.quota_used("tid-f", day).unwrap()),
        queue_limit - 3
    );
}

#[test]
fn admission_and_enqueue_are_one_step() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path(), 10).unwrap();
        admit_and_enqueue_contract(&s, 10);
        // in flight: admitted for a scan whose result is not stored yet
        assert!(
            s.admit_deferred("tid-q2", "2026-12-07", 5)
                .unwrap()
                .admitted
        );
        s.admit_and_enqueue(&[Quota::new("tid-q2", 5)], "2026-12-07", &dt(), "z1", b"p")
            .unwrap_err();
    }
    // durable as written: the counts of the queued jobs, nothing of the one in flight
    let s = Store::open(dir.path(), 10).unwrap();
    assert_eq!(s.quota_used("tid-q", "2026-12-07").unwrap(), 3);
    assert_eq!(s.quota_used("tid-f", "2026-12-07").unwrap(), 7);
}

#[test]
fn failed_logins_are_counted_per_key_until_reset() {
    let dir = tempfile::tempdir().unwrap();
    login_contract(&store(dir.path()));
}

#[test]
fn tenants_never_see_each_others_records() {
    let dir = tempfile::tempdir().unwrap();
    tenancy_contract(&store(dir.path()));
}

#[test]
fn tenant_ids_are_dns_labels() {
    for ok in ["default", "team-a", "a", "0", "a1-b2"] {
        assert!(Tenant::new(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "-a",
        "a-",
        "A",
        "a/b",
        "a\0b",
        "a b",
        "ä",
        &"x".repeat(64),
    ] {
        assert!(Tenant::new(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_store_of_the_first_layout_becomes_the_default_tenants() {
    // layout 1 (before tenants): the tables as that version wrote them, no meta table
    let dir = tempfile::tempdir().unwrap();
    {
        let db = redb::Database::create(dir.path().join("stella.redb")).unwrap();
        let w = db.begin_write().unwrap();
        {
            const SCANS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("scans");
            const HISTORY: redb::TableDefinition<&str, ()> = redb::TableDefinition::new("history");
            const INPUTS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("inputs");
            const AUDIT: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("audit");
            let mut packed = Vec::new();
            packed.push(1u8);
            packed.extend_from_slice(&lz4_flex::compress_prepend_size(b"{\"old\":1}"));
            w.open_table(SCANS)
                .unwrap()
                .insert("scan-old", packed.as_slice())
                .unwrap();
            w.open_table(HISTORY)
                .unwrap()
                .insert("app:1\x002026-01-01T00:00:00Z\x00scan-old", ())
                .unwrap();
            let mut input = 8u32.to_le_bytes().to_vec();
            input.extend_from_slice(b"scan-old");
            input.extend_from_slice(&lz4_flex::compress_prepend_size(b"in"));
            w.open_table(INPUTS)
                .unwrap()
                .insert("app:1", input.as_slice())
                .unwrap();
            w.open_table(AUDIT)
                .unwrap()
                .insert(0, &b"old entry"[..])
                .unwrap();
        }
        w.commit().unwrap();
    }
    // layout 1 made its directory 0755: refused until the owner makes it private
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(
        Store::open(dir.path(), 10)
            .unwrap_err()
            .to_string()
            .contains("chmod 700")
    );
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let s = store(dir.path());
    let d = dt();
    assert_eq!(
        s.get_scan(&d, "scan-old").unwrap().as_deref(),
        Some(&b"{\"old\":1}"[..])
    );
    assert_eq!(s.scans_of(&d, "app:1").unwrap().len(), 1);
    assert_eq!(s.input(&d, "app:1").unwrap().unwrap().1, b"in");
    assert_eq!(s.audit_log(Some(&d), 0, 10).unwrap().len(), 1);
    assert!(
        s.get_scan(&Tenant::new("other").unwrap(), "scan-old")
            .unwrap()
            .is_none()
    );
    drop(s);
    // opened again: migrated once, nothing doubled
    let s = store(dir.path());
    assert_eq!(s.scans_of(&d, "app:1").unwrap().len(), 1);
    assert_eq!(s.inputs(&d).unwrap().len(), 1);
}

#[test]
fn data_directories_are_private_and_readable_ones_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let w = tempfile::tempdir().unwrap();
    let dir = w.path().join("data");
    drop(store(&dir));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("stella.redb")), 0o600);
    // a directory others may read is refused, with what to do
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = Store::open(&dir, 10).unwrap_err().to_string();
    assert!(e.contains("chmod 700"), "{e}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(Store::open(&dir, 10).is_ok());
}
