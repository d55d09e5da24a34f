//! Feeds → compiled DB → lookups, on the crate's fixtures and on the shared advisories.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use stella_advisory::import::{FeedFormat, import};
use stella_advisory::{Db, DbBuilder, Error, Status};

fn td(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(p)
}

fn build(paths: &[PathBuf], format: Option<FeedFormat>) -> (Db, DbBuilder) {
    let mut b = DbBuilder::new();
    import(&mut b, format, paths, "2026-11-29T00:00:00Z").unwrap();
    let problems = std::mem::take(&mut b.problems);
    let (bytes, _) = b.build("2026-11-29T00:00:00Z").unwrap();
    let mut rest = DbBuilder::new();
    rest.problems = problems;
    (Db::from_bytes(bytes).unwrap(), rest)
}

/// Entries with their indices resolved, for comparing across DBs.
fn resolved(db: &Db, ns: &str, pkg: &str) -> Vec<(Vec<String>, String, String, String)> {
    db.package(ns, pkg)
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                db.vulnerability_list(e.vulnerabilities).unwrap(),
                e.advisory.clone(),
                db.feed_name(e.feed).to_string(),
                format!("{:?}{:?}{:?}{:?}", e.status, e.ranges, e.versions, e.arches),
            )
        })
        .collect()
}

fn fixed(db: &Db, ns: &str, pkg: &str, vuln: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in db.package(ns, pkg).unwrap() {
        if db
            .vulnerability_list(e.vulnerabilities)
            .unwrap()
            .iter()
            .any(|v| v == vuln)
        {
            out.extend(
                e.ranges
                    .iter()
                    .flat_map(|r| r.fixed_versions().map(str::to_string)),
            );
        }
    }
    out
}

#[test]
fn osv_records_normalise_and_bad_ones_are_reported() {
    let (db, rest) = build(&[td("osv")], Some(FeedFormat::Osv));
    let e = db.package("pypi", "example-pkg").unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(
        db.vulnerability_list(e[0].vulnerabilities).unwrap(),
        ["CVE-2024-0001"]
    );
    // versions already inside the range are not stored again; the others are kept
    assert_eq!(e[0].versions, ["0.9.9-legacy"]);
    assert!(!db.package("npm", "@scope/example").unwrap().is_empty());
    let v = db.vulnerability("CVE-2024-0001").unwrap().unwrap();
    assert_eq!(v.aliases, ["GHSA-xxxx-yyyy-zzzz", "PYSEC-2024-1"]);
    assert_eq!(v.summary.as_deref(), Some("Example flaw in example-pkg"));
    assert!(v.severities[0].value.starts_with("CVSS:3.1/"));
    assert_eq!(rest.problems.len(), 1);
    assert!(
        rest.problems[0].file.ends_with("bad-range.json")
            && rest.problems[0]
                .message
                .contains("unknown range type `WEIRD`"),
        "{:?}",
        rest.problems
    );
}

#[test]
fn alpine_secdb_fixes_openssl_on_3_10() {
    let (db, _) = build(&[td("alpine")], None);
    for cve in ["CVE-2019-1547", "CVE-2019-1549", "CVE-2019-1563"] {
        assert_eq!(
            fixed(&db, "alpine:3.10", "openssl", cve),
            ["1.1.1d-r0"],
            "{cve}"
        );
    }
    assert!(
        db.package("alpine:3.10", "libssl1.1").unwrap().is_empty(),
        "distro data is keyed by source package"
    );
}

#[test]
fn debian_lists_keep_releases_and_not_affected() {
    let (db, _) = build(&[td("debian")], None);
    assert_eq!(
        fixed(&db, "debian:11", "examplepkg", "CVE-2023-9999"),
        ["1.2-3+deb11u1"]
    );
    assert_eq!(
        fixed(&db, "debian:11", "examplepkg", "CVE-2023-9998"),
        ["1.2-3+deb11u1"]
    );
    let buster = db.package("debian:10", "examplepkg").unwrap();
    assert_eq!(buster.len(), 1);
    assert_eq!(buster[0].status, Status::NotAffected);
    assert!(
        db.package("debian:12", "examplepkg").unwrap().is_empty(),
        "<unfixed> states no fixed version"
    );
    assert_eq!(
        fixed(&db, "debian:11", "xorg-server", "CVE-2023-1393"),
        ["2:1.20.11-1+deb11u6"]
    );
    let v = db.vulnerability("CVE-2023-9999").unwrap().unwrap();
    assert!(v.aliases.contains(&"DSA-9999-1".to_string()));
    assert!(
        db.vulnerability("DSA-9999-1").unwrap().is_none(),
        "a DSA is not a vulnerability of its own"
    );
}

#[test]
fn damaged_dbs_are_refused_with_a_reason() {
    let mut b = DbBuilder::new();
    import(&mut b, None, &[td("alpine")], "t").unwrap();
    let (bytes, _) = b.build("t").unwrap();
    let dir = tempfile::tempdir().unwrap();
    // truncated
    let p = dir.path().join("t.db");
    std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
    let e = Db::open(&p).unwrap_err().to_string();
    assert!(e.contains("truncated") && e.contains("hint:"), "{e}");
    // flipped content byte: structure fine, digest wrong
    let mut flipped = bytes.clone();
    let n = flipped.len();
    flipped[n - 3] ^= 0xff;
    std::fs::write(&p, &flipped).unwrap();
    let db = Db::open(&p).unwrap();
    assert!(matches!(db.verify(), Err(Error::Corrupt { .. })));
    // older schema: says so, and how to get a current DB
    let mut older = bytes.clone();
    older[8..12].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(&p, &older).unwrap();
    let e = Db::open(&p).unwrap_err();
    assert!(matches!(e, Error::OlderSchema { found: 1, .. }), "{e}");
    assert!(e.to_string().contains("stella db update"), "{e}");
    // newer schema
    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&p, &newer).unwrap();
    let e = Db::open(&p).unwrap_err().to_string();
    assert!(
        e.contains("schema version 99")
            && e.contains(&format!(
                "reads version {}",
                stella_advisory::db::SCHEMA_VERSION
            )),
        "{e}"
    );
    // not a DB
    std::fs::write(&p, b"hello").unwrap();
    assert!(Db::open(&p).unwrap_err().to_string().contains("bad magic"));
    // intact
    std::fs::write(&p, &bytes).unwrap();
    let db = Db::open(&p).unwrap();
    db.verify().unwrap();
}

#[test]
fn incremental_import_adds_and_replaces_feeds() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.db");
    let mut b = DbBuilder::new();
    import(&mut b, None, &[td("alpine")], "2026-11-29T00:00:00Z").unwrap();
    b.write(&p, "2026-11-29T00:00:00Z").unwrap();
    let first = Db::open(&p).unwrap();
    let mut b = DbBuilder::from_db(&first).unwrap();
    import(&mut b, None, &[td("debian")], "2026-11-30T00:00:00Z").unwrap();
    b.write(&p, "2026-11-30T00:00:00Z").unwrap();
    let db = Db::open(&p).unwrap();
    assert!(!db.package("alpine:3.10", "openssl").unwrap().is_empty());
    assert!(!db.package("debian:11", "examplepkg").unwrap().is_empty());
    // re-importing a feed replaces it rather than duplicating it
    let mut b = DbBuilder::from_db(&db).unwrap();
    import(&mut b, None, &[td("alpine")], "t3").unwrap();
    let (bytes, m) = b.build("t3").unwrap();
    let again = Db::from_bytes(bytes).unwrap();
    assert_eq!(
        resolved(&again, "alpine:3.10", "openssl"),
        resolved(&db, "alpine:3.10", "openssl")
    );
    assert_eq!(m.vulnerabilities, db.manifest().vulnerabilities);
}

fn shared() -> Option<PathBuf> {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let p = Path::new(&dir).join("advisories");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} is absent; set STELLA_SHARED_DATA to import the real feeds",
            p.display()
        );
        None
    }
}

#[test]
fn imports_all_shared_advisories() {
    let Some(root) = shared() else { return };
    let (db, rest) = build(&[root], None);
    let m = db.manifest();
    assert!(m.vulnerabilities > 30_000, "{}", m.vulnerabilities);
    for ns in [
        "alpine:3.10",
        "debian:11",
        "almalinux:9",
        "almalinux:8",
        "pypi",
        "go",
        "crates.io",
    ] {
        assert!(
            m.namespaces.get(ns).copied().unwrap_or(0) > 0,
            "no packages in {ns}: {:?}",
            m.namespaces
        );
    }
    // every namespace the importers produce can be evaluated: it has a version scheme
    for ns in m.namespaces.keys() {
        assert!(
            ns == "cpe" || stella_advisory::namespace::scheme(ns).is_some(),
            "no version scheme for namespace `{ns}`"
        );
    }
    // the OSV linter's broken fixtures and the sad-path test records are reported, not fatal
    assert!(
        rest.problems
            .iter()
            .all(|p| p.file.contains("sad") || p.file.contains("testdata")),
        "{:?}",
        rest.problems
    );
    assert_eq!(
        fixed(&db, "alpine:3.10", "openssl", "CVE-2019-1547"),
        ["1.1.1d-r0"]
    );
    assert!(m.kev > 100 && m.epss > 0, "kev {} epss {}", m.kev, m.epss);
    let log4j = db.vulnerability("CVE-2021-44228").unwrap().unwrap();
    assert!(log4j.kev.is_some(), "KEV attached by CVE");
    // AlmaLinux: the source-free binary package names of ALSA advisories
    assert!(!db.package("almalinux:9", "thunderbird").unwrap().is_empty());
    // the DB is smaller than the zipped sources it came from
    let zipped: u64 = std::fs::read_dir(shared().unwrap().join("osv"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    // (the other sources zip to about 0.5 MB)
    assert!(
        (db.len() as u64) < zipped + 500_000,
        "db {} vs osv zips {}",
        db.len(),
        zipped
    );
}

#[test]
fn one_severity_is_chosen_with_its_source() {
    let (db, _) = build(&[td("osv")], Some(FeedFormat::Osv));
    let v = db.vulnerability("CVE-2024-0001").unwrap().unwrap();
    assert_eq!(v.severity, stella_advisory::cvss::Level::Critical);
    assert_eq!(v.score, Some(9.8));
    assert_eq!(
        v.severities[v.severity_from.unwrap() as usize].kind,
        "CVSS_V3"
    );
}

#[test]
fn alpine_secdb_yaml_equals_json() {
    let Some(root) = shared() else { return };
    let dir = root.join("alpine-secdb/v3.10");
    let (json, _) = build(&[dir.join("main.json")], Some(FeedFormat::AlpineSecdb));
    let (yaml, _) = build(&[dir.join("main.yaml")], Some(FeedFormat::AlpineSecdb));
    assert_eq!(json.manifest().packages, yaml.manifest().packages);
    assert_eq!(
        resolved(&json, "alpine:3.10", "openssl"),
        resolved(&yaml, "alpine:3.10", "openssl")
    );
    let all_json: Vec<_> = json
        .all_packages()
        .unwrap()
        .into_iter()
        .map(|(n, p, _)| (n, p))
        .collect();
    for (n, p) in all_json {
        assert_eq!(resolved(&json, &n, &p), resolved(&yaml, &n, &p), "{n}/{p}");
    }
}

#[test]
fn nvd_items_give_cpe_ranges_and_scored_severity() {
    let Some(root) = shared() else { return };
    let nvd = root.join("vuln-list-fixtures/nvd/testdata");
    let (db, rest) = build(&[nvd], Some(FeedFormat::Nvd));
    assert!(
        db.manifest().feeds.contains_key("nvd"),
        "{:?}",
        db.manifest().feeds.keys().collect::<Vec<_>>()
    );
    let e = db
        .package("cpe", "paloaltonetworks:cortex_xdr_agent")
        .unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0].ranges[0].events,
        [
            stella_advisory::RangeEvent::Introduced("7.5".into()),
            stella_advisory::RangeEvent::Fixed("7.5.101".into())
        ]
    );
    let v = db.vulnerability("CVE-2023-0001").unwrap().unwrap();
    assert_eq!(v.score, Some(6.7));
    assert_eq!(v.severity, stella_advisory::cvss::Level::Medium);
    // a CPE for one target software is keyed with it
    assert!(
        db.package("cpe", "clashforwindows:clash")
            .unwrap()
            .is_empty()
    );
    let clash = db.package("cpe", "clashforwindows:clash:windows").unwrap();
    assert!(
        clash[0].ranges[0]
            .events
            .contains(&stella_advisory::RangeEvent::LastAffected("0.20.1".into()))
    );
    // the sad fixture is reported, not fatal
    assert!(
        rest.problems.iter().any(|p| p.file.contains("sad")),
        "{:?}",
        rest.problems
    );
}

/// Exports `db`, imports the export into a fresh DB, and checks both say the same thing
/// about every package and every vulnerability.
fn assert_export_round_trips(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let n = stella_advisory::export::export_osv(db, dir.path()).unwrap();
    assert!(n > 0);
    let (again, rest) = build(&[dir.path().to_path_buf()], None);
    assert!(rest.problems.is_empty(), "{:?}", rest.problems);
    let before = db.all_packages().unwrap();
    let after = again.all_packages().unwrap();
    if before.len() != after.len() {
        let a: std::collections::BTreeSet<_> = after
            .iter()
            .map(|(n, p, _)| (n.clone(), p.clone()))
            .collect();
        let missing: Vec<_> = before
            .iter()
            .filter(|(n, p, _)| !a.contains(&(n.clone(), p.clone())))
            .map(|(n, p, _)| format!("{n}/{p}"))
            .take(20)
            .collect();
        eprintln!("MISSING {missing:?}");
    }
    assert_eq!(before.len(), after.len(), "package count");
    for (ns, pkg, _) in &before {
        assert_eq!(
            resolved(db, ns, pkg),
            resolved(&again, ns, pkg),
            "{ns}/{pkg}"
        );
    }
    let (va, vb) = (
        db.all_vulnerabilities().unwrap(),
        again.all_vulnerabilities().unwrap(),
    );
    let ids = |v: &[stella_advisory::Vulnerability]| {
        v.iter()
            .map(|x| x.id.clone())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let (ia, ib) = (ids(&va), ids(&vb));
    assert_eq!(
        ia.difference(&ib).take(20).collect::<Vec<_>>(),
        ib.difference(&ia).take(20).collect::<Vec<_>>(),
        "vulnerabilities only before / only after the round trip"
    );
    for (a, b) in va.iter().zip(&vb) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.aliases, b.aliases, "{}", a.id);
        assert_eq!(a.summary, b.summary, "{}", a.id);
        assert_eq!(
            (&a.published, &a.modified, &a.withdrawn),
            (&b.published, &b.modified, &b.withdrawn),
            "{}",
            a.id
        );
        let sev = |d: &Db, v: &stella_advisory::Vulnerability| {
            let mut s: Vec<(String, String, String)> = v
                .severities
                .iter()
                .map(|s| {
                    (
                        s.kind.clone(),
                        s.value.clone(),
                        d.feed_name(s.feed).to_string(),
                    )
                })
                .collect();
            s.sort();
            s
        };
        assert_eq!(sev(db, a), sev(&again, b), "{}", a.id);
        assert_eq!((a.severity, a.score), (b.severity, b.score), "{}", a.id);
        assert_eq!(a.kev, b.kev, "{}", a.id);
        assert_eq!(a.epss, b.epss, "{}", a.id);
    }
    assert_eq!(db.manifest().namespaces, again.manifest().namespaces);
}

#[test]
fn export_round_trips_fixtures() {
    let (db, _) = build(&[td("alpine"), td("debian"), td("osv")], None);
    // Debian's "not affected" statements must survive the trip
    assert!(
        db.package("debian:11", "examplepkg")
            .unwrap()
            .iter()
            .any(|e| e.status == Status::NotAffected)
            || db
                .all_packages()
                .unwrap()
                .iter()
                .any(|(_, _, es)| es.iter().any(|e| e.status == Status::NotAffected))
    );
    assert_export_round_trips(&db);
}

#[test]
fn export_round_trips_shared_advisories() {
    let Some(root) = shared() else { return };
    let (db, _) = build(&[root], None);
    assert_export_round_trips(&db);
}

#[test]
fn amazon_alas_and_ubuntu_tracker() {
    let (db, rest) = build(&[td("vuln-list")], None);
    assert!(rest.problems.is_empty(), "{:?}", rest.problems);
    // the arch builds collapse to one statement per binary package, epoch 0 left out
    assert_eq!(
        fixed(&db, "amazon:2", "kernel", "CVE-2021-22543"),
        ["4.14.243-185.433.amzn2"]
    );
    assert_eq!(
        fixed(&db, "amazon:2", "kernel-headers", "CVE-2021-22543"),
        ["4.14.243-185.433.amzn2"]
    );
    assert_eq!(
        fixed(&db, "amazon:2022", "log4j", "CVE-2021-44228"),
        ["2.15.0-1.amzn2022.0.1"]
    );
    let log4j = db.vulnerability("CVE-2021-44228").unwrap().unwrap();
    assert_eq!(log4j.severity, stella_advisory::cvss::Level::Critical);
    assert_eq!(log4j.published.as_deref(), Some("2021-12-10T21:56:00Z"));
    assert!(log4j.aliases.contains(&"ALAS2022-2021-003".to_string()));
    // Ubuntu: released → fixed; pending / needs-triage → affected without a fix
    assert_eq!(
        fixed(&db, "ubuntu:18.04", "xen", "CVE-2020-1234"),
        ["1.2.3"]
    );
    for rel in ["20.04", "22.04"] {
        let e = db.package(&format!("ubuntu:{rel}"), "xen").unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].status, Status::Affected);
        assert!(
            e[0].ranges
                .iter()
                .all(|r| r.fixed_versions().next().is_none()),
            "{rel}: {:?}",
            e[0].ranges
        );
    }
    let v = db.vulnerability("CVE-2020-1234").unwrap().unwrap();
    assert_eq!(v.severity, stella_advisory::cvss::Level::Medium);
    assert_export_round_trips(&db);
}

#[test]
fn broken_vuln_list_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("vuln-list/amazon/2");
    let u = dir.path().join("vuln-list/ubuntu");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&u).unwrap();
    std::fs::write(a.join("ALAS2-1.json"), "{foo}").unwrap();
    std::fs::write(
        u.join("CVE-1.json"),
        r#"{"Candidate":"CVE-2020-1","Patches":{"x":{"focal":{"Status":"released","Note":""},"jammy":{"Status":"weird","Note":""}}}}"#,
    )
    .unwrap();
    let (db, rest) = build(&[dir.path().join("vuln-list")], None);
    let msgs: Vec<String> = rest
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.file, p.message))
        .collect();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("ALAS2-1.json")), "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("x/20.04") && m.contains("without a version")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("unknown status `weird`")),
        "{msgs:?}"
    );
    assert!(db.package("ubuntu:20.04", "x").unwrap().is_empty());
}

#[test]
fn github_bound_without_a_patch_limits_the_range() {
    let Some(root) = shared() else { return };
    let f = root.join(
        "vuln-list-fixtures/ghsa/testdata/happy/ghsa/advisories/github-reviewed/2023/04/GHSA-32qq-m9fh-f74w/GHSA-32qq-m9fh-f74w.json",
    );
    let (db, _) = build(&[f], Some(FeedFormat::Osv));
    let e = db.package("maven", "com.baomidou:mybatis-plus").unwrap();
    assert_eq!(e.len(), 1);
    let r = &e[0].ranges[0];
    assert_eq!(
        r.events,
        [
            stella_advisory::RangeEvent::Introduced("0".into()),
            stella_advisory::RangeEvent::Limit("3.5.3.1".into())
        ]
    );
    // 3.5.3.1 itself and later are not known to be affected; no fix is claimed
    let s = stella_version::Scheme::Maven;
    let osv = [r.to_osv().unwrap()];
    use stella_version::range::{Affected, is_affected};
    assert_eq!(is_affected(s, "3.5.3", &osv, &[]).unwrap(), Affected::Yes);
    assert_eq!(is_affected(s, "3.5.3.1", &osv, &[]).unwrap(), Affected::No);
    assert!(r.fixed_versions().next().is_none());
    // a range with its own fix keeps it
    let copy = db
        .package("maven", "com.baomidou:mybatis-plus-copy")
        .unwrap();
    assert_eq!(
        copy[0].ranges[0].fixed_versions().collect::<Vec<_>>(),
        ["3.5.0"]
    );
}

#[test]
fn signatures_verify_and_catch_tampering() {
    use stella_advisory::sign;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.db");
    let mut b = DbBuilder::new();
    import(&mut b, None, &[td("alpine")], "t").unwrap();
    b.write(&p, "t").unwrap();
    let db = Db::open(&p).unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let other = ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]);
    let sig = sign::sign(&db, &key).unwrap();
    let sp = sign::sig_path(&p);
    assert!(sp.to_string_lossy().ends_with("s.db.sig"));
    sign::verify(&db, &sig, &sp, &key.verifying_key()).unwrap();
    // another trusted key
    let e = sign::verify(&db, &sig, &sp, &other.verifying_key()).unwrap_err();
    assert!(e.to_string().contains("trusted key"), "{e}");
    // a forged signature under the right key id
    let mut forged = sig.clone();
    // (the last byte changed, whatever it was)
    let last = if sig.signature.ends_with("00") {
        "01"
    } else {
        "00"
    };
    forged.signature = format!("{}{last}", &sig.signature[..126]);
    let e = sign::verify(&db, &forged, &sp, &key.verifying_key()).unwrap_err();
    assert!(e.to_string().contains("does not verify"), "{e}");
    // a DB changed after signing: its content no longer matches the signed digest
    let mut bytes = std::fs::read(&p).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = Db::from_bytes(bytes).unwrap();
    let e = sign::verify(&tampered, &sig, &sp, &key.verifying_key()).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
    // and a damaged DB is never signed
    assert!(sign::sign(&tampered, &key).is_err());
}

#[test]
fn rocky_errata_collapse_across_release_dirs_and_arches() {
    let Some(root) = shared() else { return };
    let dir = root.join("vuln-list-fixtures/rocky/testdata/duplicates");
    let (db, rest) = build(&[dir], None);
    assert!(rest.problems.is_empty(), "{:?}", rest.problems);
    let e = db.package("rocky:8", "aspnetcore-runtime-6.0").unwrap();
    // RLSA-2022:2200 sits in rocky/8 and rocky/8.6, for two arches: one statement
    let rlsa: Vec<_> = e
        .iter()
        .filter(|x| x.advisory == "RLSA-2022:2200")
        .collect();
    assert_eq!(rlsa.len(), 1, "{e:?}");
    assert_eq!(
        fixed(&db, "rocky:8", "aspnetcore-runtime-6.0", "CVE-2022-29117"),
        ["6.0.5-1.el8_6", "6.0.5-1.el8_6"]
    );
    let v = db.vulnerability("CVE-2022-29117").unwrap().unwrap();
    assert_eq!(v.severity, stella_advisory::cvss::Level::High);
    assert_export_round_trips(&db);
}

/// (status, fixed versions, arches) of every statement about `vuln` for a package.
fn said(db: &Db, ns: &str, pkg: &str, vuln: &str) -> Vec<(Status, Vec<String>, Vec<String>)> {
    let mut out: Vec<_> = db
        .package(ns, pkg)
        .unwrap()
        .into_iter()
        .filter(|e| {
            db.vulnerability_list(e.vulnerabilities)
                .unwrap()
                .iter()
                .any(|v| v == vuln)
        })
        .map(|e| {
            (
                e.status,
                e.ranges
                    .iter()
                    .flat_map(|r| r.fixed_versions().map(str::to_string))
                    .collect(),
                e.arches.clone(),
            )
        })
        .collect();
    out.sort();
    out
}

fn fixed_in(v: &str) -> (Status, Vec<String>, Vec<String>) {
    (Status::Affected, vec![v.to_string()], Vec::new())
}

fn unfixed() -> (Status, Vec<String>, Vec<String>) {
    (Status::Affected, Vec::new(), Vec::new())
}

#[test]
fn debian_vuln_list_inherits_unstable_by_release_sources() {
    let Some(root) = shared() else { return };
    let dir = root.join("vuln-list-fixtures/debian/testdata/happy");
    let (db, rest) = build(&[dir], None);
    assert!(rest.problems.is_empty(), "{:?}", rest.problems);
    // bullseye has no line of its own; its updates carry unstable's fix
    assert_eq!(
        said(&db, "debian:11", "libgcrypt20", "CVE-2021-33560"),
        [fixed_in("1.8.7-6")]
    );
    // buster's own line, stretch's no-dsa, and the DLA for stretch
    assert_eq!(
        said(&db, "debian:10", "libgcrypt20", "CVE-2021-33560"),
        [fixed_in("1.8.4-5+deb10u1")]
    );
    assert_eq!(
        said(&db, "debian:9", "libgcrypt20", "CVE-2021-33560"),
        [unfixed(), fixed_in("1.7.6-2+deb9u4")]
    );
    assert_eq!(
        said(&db, "debian:10", "openssl", "CVE-2021-3450"),
        [(Status::NotAffected, vec![], vec![])]
    );
    assert_eq!(
        said(&db, "debian:11", "openssl", "CVE-2021-3450"),
        [fixed_in("1.1.1k-1")]
    );
    assert_eq!(
        said(&db, "debian:11", "cloud-init", "CVE-2020-8631"),
        [unfixed()]
    );
    assert_eq!(
        said(&db, "debian:unstable", "cloud-init", "CVE-2020-8631"),
        [fixed_in("19.4-2")]
    );
    assert_eq!(
        said(&db, "debian:11", "gnutls28", "CVE-2023-5981"),
        [fixed_in("3.7.1-5+deb11u5")]
    );
    let v = db.vulnerability("CVE-2021-29629").unwrap().unwrap();
    assert_eq!(v.severity, stella_advisory::cvss::Level::Low, "unimportant");
    assert_export_round_trips(&db);
}

#[test]
fn debian_release_older_than_the_unstable_fix_has_no_fix_yet() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("vuln-list-debian/tracker");
    std::fs::create_dir_all(t.join("CVE")).unwrap();
    std::fs::create_dir_all(t.join("source/bookworm/main/f")).unwrap();
    std::fs::write(
        t.join("distributions.json"),
        r#"{"bookworm":{"major-version":"12"},"trixie":{"major-version":"13"},"sid":{"major-version":""}}"#,
    )
    .unwrap();
    std::fs::write(
        t.join("source/bookworm/main/f/foo.json"),
        r#"{"Package":["foo"],"Version":["1.0-1"]}"#,
    )
    .unwrap();
    std::fs::write(
        t.join("CVE/CVE-2099-1.json"),
        r#"{"Header":{"ID":"CVE-2099-1"},"Annotations":[{"Type":"package","Package":"foo","Kind":"fixed","Version":"1.0-2"}]}"#,
    )
    .unwrap();
    let (db, rest) = build(&[dir.path().to_path_buf()], None);
    assert!(rest.problems.is_empty(), "{:?}", rest.problems);
    assert_eq!(said(&db, "debian:12", "foo", "CVE-2099-1"), [unfixed()]);
    // no sources for trixie: unstable's fix is the best hint
    assert_eq!(
        said(&db, "debian:13", "foo", "CVE-2099-1"),
        [fixed_in("1.0-2")]
    );
}

#[test]
fn oracle_builds_differ_by_arch_and_flavour() {
    let Some(root) = shared() else { return };
    let dir = root.join("vuln-list-fixtures/oracle-oval/testdata");
    let (db, _) = build(
        &[
            dir.join("multi-flavor"),
            dir.join("multi-arch"),
            dir.join("ksplice"),
        ],
        None,
    );
    let arch = |a: &str| vec![a.to_string()];
    // ELSA-2021-4451 built the fix per arch; ELSA-2022-9221 is the FIPS build
    assert_eq!(
        said(&db, "oracle:8", "gnutls", "CVE-2021-20231"),
        [
            fixed_in("10:3.6.16-4.0.1.el8_fips"),
            (
                Status::Affected,
                vec!["3.6.16-4.el8".into()],
                arch("aarch64")
            ),
            (
                Status::Affected,
                vec!["3.6.16-5.el8".into()],
                arch("x86_64")
            ),
        ]
    );
    // the FIPS build is its own flavour, for every arch
    let fips = said(&db, "oracle:8", "gnutls", "CVE-2021-3580");
    assert!(
        fips.contains(&fixed_in("10:3.6.16-4.0.1.el8_fips")),
        "{fips:?}"
    );
    let ks = said(&db, "oracle:8", "glibc", "CVE-2016-10228");
    assert!(
        ks.contains(&fixed_in("2:2.28-151.0.1.ksplice1.el8")),
        "{ks:?}"
    );
    assert_eq!(
        stella_advisory::oracle::flavor("2:2.28-151.0.1.ksplice1.el8"),
        "ksplice"
    );
    assert_export_round_trips(&db);
}

#[test]
fn suse_products_become_os_release_namespaces() {
    let Some(root) = shared() else { return };
    let dir = root.join("vuln-list-fixtures/suse-cvrf/testdata/happy");
    let (db, rest) = build(&[dir], None);
    assert!(rest.problems.is_empty(), "{:?}", rest.problems);
    assert_eq!(
        said(&db, "sle-micro:5.3", "libgnutls30-hmac", "CVE-2024-28834"),
        [fixed_in("3.7.3-150400.8.1")]
    );
    assert_eq!(
        said(&db, "opensuse-leap:15.1", "strongswan", "CVE-2018-10811"),
        [fixed_in("5.6.0-lp151.4.3.1")]
    );
    assert_eq!(
        said(&db, "sles:15.1", "helm-mirror", "CVE-2018-16873"),
        [fixed_in("0.2.1-1.7.1")]
    );
    assert_eq!(
        said(
            &db,
            "opensuse-tumbleweed",
            "python3-logilab-common",
            "CVE-2014-1838"
        ),
        [fixed_in("1.2.2-1.2")]
    );
    assert_eq!(
        said(&db, "sl-micro:6.0", "docker", "CVE-2025-22868"),
        [fixed_in("27.5.1_ce-3.1")]
    );
    assert_export_round_trips(&db);
}

#[test]
fn redhat_csaf_vex_fixed_and_unfixed() {
    let Some(root) = shared() else { return };
    let dir = root.join("vuln-list-fixtures/redhat-csaf/testdata/happy");
    let (db, rest) = build(&[dir], None);
    assert!(rest.problems.is_empty(), "{:?}", rest.problems);
    assert_eq!(
        said(&db, "redhat:9", "pam", "CVE-2024-10041"),
        [fixed_in("1.5.1-21.el9_5")]
    );
    assert_eq!(
        said(&db, "redhat:9", "test-package", "CVE-2024-9999"),
        [fixed_in("1:1.0.0-1.el9")]
    );
    assert_eq!(
        said(&db, "redhat:9", "affected-package", "CVE-2024-9999"),
        [unfixed()]
    );
    let v = db.vulnerability("CVE-2024-10041").unwrap().unwrap();
    assert!(
        v.severities
            .iter()
            .any(|s| s.value.starts_with("CVSS:3.1/AV:L"))
    );
    assert_export_round_trips(&db);
}

#[test]
fn alma_bottlerocket_and_secfixes_distros() {
    let Some(root) = shared() else { return };
    let f = root.join("vuln-list-fixtures");
    let (db, rest) = build(
        &[
            f.join("alma/testdata/happy"),
            f.join("alma/testdata/duplicate"),
            f.join("bottlerocket/testdata/happy"),
            f.join("wolfi/testdata/happy"),
            f.join("chainguard/testdata/happy"),
            f.join("minimos/testdata/happy"),
        ],
        None,
    );
    assert!(rest.problems.is_empty(), "{:?}", rest.problems);
    // a module stream's build is keyed by its stream
    assert_eq!(
        said(
            &db,
            "almalinux:8",
            "go-toolset:rhel8::golang",
            "CVE-2021-27918"
        ),
        [fixed_in("1.15.14-1.module_el8.4.0+2519+614b07b8")]
    );
    assert!(db.package("almalinux:8", "golang").unwrap().is_empty());
    let v = db.vulnerability("ALSA-2021:3076");
    assert!(v.is_ok());
    assert_eq!(
        said(&db, "bottlerocket", "glibc", "CVE-2025-15281"),
        [fixed_in("1:2.43-1.1773716061.e2e9d7a9.br1")]
    );
    assert_eq!(
        said(&db, "wolfi", "binutils", "CVE-2022-38533"),
        [fixed_in("2.39-r2")]
    );
    assert_eq!(
        said(&db, "minimos", "apache2", "CVE-1999-0289"),
        [(Status::NotAffected, vec![], vec![])]
    );
    assert!(!db.package("chainguard", "binutils").unwrap().is_empty());
    assert_export_round_trips(&db);
}

#[test]
fn ghsa_graphql_shape() {
    let (db, rest) = build(&[td("ghsa")], None);
    assert!(rest.problems.is_empty(), "{:?}", rest.problems);
    assert_eq!(
        said(&db, "packagist", "contao/core-bundle", "CVE-2019-19745"),
        [(
            Status::Affected,
            vec!["4.8.6".into(), "4.4.46".into()],
            vec![]
        )]
    );
    let e = db.package("packagist", "contao/core-bundle").unwrap();
    assert_eq!(e[0].source, stella_advisory::Source::Ghsa);
    let s = stella_version::Scheme::Packagist;
    let osv: Vec<_> = e[0].ranges.iter().map(|r| r.to_osv().unwrap()).collect();
    use stella_version::range::{Affected, is_affected};
    for (v, want) in [
        ("4.4.45", Affected::Yes),
        ("4.4.46", Affected::No),
        ("4.5.0", Affected::Yes),
        ("4.8.6", Affected::No),
    ] {
        assert_eq!(is_affected(s, v, &osv, &[]).unwrap(), want, "{v}");
    }
    let v = db.vulnerability("CVE-2019-19745").unwrap().unwrap();
    assert!(v.aliases.contains(&"GHSA-wjx8-cgrm-hh8p".to_string()));
    assert_eq!(v.score, Some(8.8));
    assert_export_round_trips(&db);
}

#[test]
fn the_other_vuln_list_feeds() {
    let Some(root) = shared() else { return };
    let f = root.join("vuln-list-fixtures");
    let dirs: Vec<PathBuf> = [
        "azure/testdata/happy",
        "azure/testdata/not-applicable-definition",
        "redhat/testdata/happy1",
        "redhat/testdata/happy3",
        "photon/testdata/happy",
        "echo/testdata/happy",
        "rootio/testdata/happy",
        "glad/testdata/happy",
        "arch-linux/testdata/happy",
        "alpine/testdata/happy",
        "node/testdata/happy",
        "k8svulndb/testdata/happy-fixed",
        "seal/testdata/happy",
    ]
    .iter()
    .map(|d| f.join(d))
    .collect();
    let (db, rest) = build(&dirs, None);
    assert!(rest.problems.is_empty(), "{:?}", rest.problems);
    // Azure Linux OVAL: test → object + state; `> 0.0.0` is no bound
    assert_eq!(
        said(&db, "azurelinux:3.0", "golang", "CVE-2023-29409"),
        [fixed_in("1.20.7-1.azl3")]
    );
    assert!(
        db.package("mariner:2.0", "libnotify").unwrap().is_empty(),
        "not applicable"
    );
    // Red Hat Security Data API: source NVRs and fix states
    assert_eq!(
        said(&db, "redhat:8", "edk2", "CVE-2019-0160"),
        [fixed_in("20190308git89910a39dcfd-6.el8")]
    );
    assert_eq!(
        said(&db, "redhat:7", "webkitgtk3", "CVE-2019-8559"),
        [unfixed()]
    );
    assert_eq!(
        said(&db, "photon:3.0", "apache-tomcat", "CVE-2019-0199"),
        [fixed_in("8.5.40-1.ph3")]
    );
    assert!(
        db.package("photon:3.0", "curl").unwrap().is_empty(),
        "NA gives nothing"
    );
    assert_eq!(
        said(&db, "echo", "curl", "CVE-2024-11053"),
        [fixed_in("7.88.1-10+deb12u8")]
    );
    assert_eq!(
        said(&db, "rootio:debian:12", "sqlite3", "CVE-2025-29088"),
        [fixed_in("3.40.1-2+deb12u1.root.io.2")]
    );
    assert_eq!(
        said(&db, "arch", "linux-lts", "CVE-2019-11478"),
        [fixed_in("4.19.52-1")]
    );
    assert_eq!(
        said(&db, "alpine:3.12", "ansible", "CVE-2020-1737"),
        [fixed_in("2.9.6-r0")]
    );
    // GitLab (Conan): `=2.8.107` is one version
    let e = db.package("conan", "gsoap").unwrap();
    assert_eq!(e[0].versions, ["2.8.107"]);
    // Node.js core: vulnerable minus patched
    use stella_version::range::{Affected, is_affected};
    let node = db.package("nodejs", "node").unwrap();
    let osv: Vec<_> = node[0].ranges.iter().map(|r| r.to_osv().unwrap()).collect();
    for (v, want) in [
        ("4.5.0", Affected::Yes),
        ("4.6.0", Affected::No),
        ("5.12.0", Affected::Yes),
        ("6.6.0", Affected::Yes),
        ("6.7.0", Affected::No),
        ("7.0.0", Affected::No),
    ] {
        assert_eq!(
            is_affected(stella_version::Scheme::Npm, v, &osv, &[]).unwrap(),
            want,
            "{v}"
        );
    }
    assert_eq!(
        said(&db, "npm", "bassmaster", "CVE-2014-7205"),
        [(Status::Affected, vec![], vec![])]
    );
    // the Kubernetes feed leaves range types out
    assert_eq!(
        said(&db, "kubernetes", "k8s.io/apiserver", "CVE-2023-2727"),
        [fixed_in("1.24.14")]
    );
    // Seal's rebuilds live beside the ecosystem they rebuild
    assert!(
        !db.package("seal:redhat:6", "seal-expat")
            .unwrap()
            .is_empty()
    );
    assert!(!db.package("seal:pypi", "seal-requests").unwrap().is_empty());
    assert_export_round_trips(&db);
}

/// A record's severity from a feed with no package statement for it (an OSV record carrying
/// only a CVSS vector for a CVE Alpine's secdb fixes) survives every later import: the
/// incremental builder used to drop that advisory, leaving findings `unknown`.
#[test]
fn a_rating_without_package_statements_survives_later_imports() {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(
        osv.join("CVE-2019-1547.json"),
        r#"{"id":"CVE-2019-1547","modified":"2019-09-10T00:00:00Z","summary":"ECDSA side channel","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:L/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N"}]}"#,
    )
    .unwrap();
    let kev = dir.path().join("kev.json");
    std::fs::write(
        &kev,
        r#"{"vulnerabilities":[{"cveID":"CVE-2019-1547","dateAdded":"2024-01-10","dueDate":"2024-01-31"}]}"#,
    )
    .unwrap();
    let p = dir.path().join("x.db");
    let mut b = DbBuilder::new();
    import(&mut b, None, &[td("alpine")], "2026-11-29T00:00:00Z").unwrap();
    import(&mut b, None, &[osv], "2026-11-29T00:00:00Z").unwrap();
    b.write(&p, "2026-11-29T00:00:00Z").unwrap();
    let rated = |db: &Db| {
        let v = db.vulnerability("CVE-2019-1547").unwrap().unwrap();
        (v.severity, v.score, v.summary.clone(), v.kev.is_some())
    };
    let first = rated(&Db::open(&p).unwrap());
    assert_eq!(first.0, stella_advisory::cvss::Level::Medium, "{first:?}");
    let mut b = DbBuilder::from_db(&Db::open(&p).unwrap()).unwrap();
    import(
        &mut b,
        Some(FeedFormat::Kev),
        &[kev],
        "2026-11-30T00:00:00Z",
    )
    .unwrap();
    b.write(&p, "2026-11-30T00:00:00Z").unwrap();
    let db = Db::open(&p).unwrap();
    let after = rated(&db);
    assert_eq!((&after.0, after.1, &after.2), (&first.0, first.1, &first.2));
    assert!(after.3, "the KEV import itself landed");
    // and once more, with nothing new: the same DB
    let again = DbBuilder::from_db(&db)
        .unwrap()
        .build("2026-11-30T00:00:00Z")
        .unwrap()
        .0;
    assert_eq!(rated(&Db::from_bytes(again).unwrap()), after);
    assert_eq!(
        fixed(&db, "alpine:3.10", "openssl", "CVE-2019-1547"),
        ["1.1.1d-r0"]
    );
}
