//! The per-DB memo of package results: a package matched again gives the same findings, and
//! findings written from the memo's JSON are the bytes serde_json writes for them, also
//! after they change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use stella_match::{Eco, Pkg, PolicyNote};

fn db() -> stella_advisory::Db {
    let rec = |id: &str, name: &str, fixed: &str, summary: &str| {
        let json = serde_json::json!({
            "id": id,
            "summary": summary,
            "published": "2023-05-01T00:00:00Z",
            "aliases": [format!("CVE-2023-000{}", &id[11..])],
            "affected": [{
                "package": {"ecosystem": "PyPI", "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]
            }],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
        });
        stella_advisory::osv::parse_record(json.to_string().as_bytes(), "osv-test").unwrap()
    };
    let mut b = stella_advisory::DbBuilder::new();
    b.add_feed(
        "osv-test",
        vec![
            rec(
                "PYSEC-2023-1",
                "flask",
                "2.2.5",
                "Cookie \"leak\" with\ttabs and ünïcode",
            ),
            rec("PYSEC-2023-2", "flask", "2.3.0", "Second one"),
            rec("PYSEC-2023-3", "requests", "2.31.0", "Proxy header leak"),
        ],
        0,
        "2026-01-01T00:00:00Z",
    );
    let (bytes, _) = b.build("2026-01-01T00:00:00Z").unwrap();
    stella_advisory::Db::from_bytes(bytes).unwrap()
}

fn pkg(name: &str, version: &str, location: &str) -> Arc<Pkg> {
    Arc::new(Pkg {
        eco: Eco::Lang("pypi"),
        kind: "pypi".into(),
        name: name.into(),
        version: version.into(),
        purl: Some(format!("pkg:pypi/{name}@{version}")),
        source_name: None,
        arch: None,
        module: None,
        layer: Some("sha256:aa".into()),
        location: Some(location.into()),
    })
}

fn run(db: &stella_advisory::Db, pkgs: &[Arc<Pkg>]) -> stella_match::Matched {
    stella_match::match_packages_with(db, pkgs, None, &stella_match::Options::default()).unwrap()
}

/// What serde_json writes, the reference for every byte.
fn reference<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

#[test]
fn a_package_matched_again_gives_the_same_findings_and_bytes() {
    let db = db();
    let first = run(
        &db,
        &[
            pkg("flask", "2.0.0", "/app/a"),
            pkg("requests", "2.0.0", "/app/a"),
            pkg("requests", "3.0.0", "/app/a"),
        ],
    );
    assert_eq!(first.findings.len(), 3, "{:#?}", first.findings);
    // the same packages again (new allocations, as in another request), plus flask at another
    // location: the memo answers for the first two, its finding is written from the memo
    let again = run(
        &db,
        &[
            pkg("flask", "2.0.0", "/app/a"),
            pkg("flask", "2.0.0", "/app/b"),
            pkg("requests", "2.0.0", "/app/a"),
        ],
    );
    assert_eq!(again.findings.len(), 5);
    let same: Vec<_> = again
        .findings
        .iter()
        .filter(|f| f.package.location.as_deref() == Some("/app/a"))
        .cloned()
        .collect();
    assert_eq!(same, first.findings);
    for m in [&first, &again] {
        assert_eq!(
            stella_json::to_vec(&m.findings).unwrap(),
            reference(&m.findings)
        );
    }
    // JSON written from the memo: twice the same bytes
    assert_eq!(
        stella_json::to_vec(&again.findings).unwrap(),
        stella_json::to_vec(&again.findings).unwrap()
    );
}

#[test]
fn a_changed_finding_is_written_as_it_is_now() {
    let db = db();
    let pkgs = [pkg("flask", "2.0.0", "/app/a")];
    run(&db, &pkgs);
    let mut m = run(&db, &pkgs);
    // warm the memo's JSON (kept from the second time a finding is written), then change
    // what a policy or VEX document changes
    stella_json::to_vec(&m.findings).unwrap();
    let before = stella_json::to_vec(&m.findings).unwrap();
    assert_eq!(before, reference(&m.findings));
    let original = m.findings.clone();
    m.findings[0].policy = Some(PolicyNote {
        action: "muted".into(),
        rule: None,
        message: None,
        reason: Some("not \"reachable\"".into()),
        until: Some("2027-01-01".into()),
        by: Some("user:ann".into()),
    });
    m.findings[1].severity = "low".into();
    m.findings[1].fixed_versions = Arc::new([]);
    let after = stella_json::to_vec(&m.findings).unwrap();
    assert_ne!(after, before);
    assert_eq!(after, reference(&m.findings));
    // and read back, a finding says what it said (the memo link is not part of it)
    let back: Vec<stella_match::Finding> = serde_json::from_slice(&after).unwrap();
    assert_eq!(stella_json::to_vec(&back).unwrap(), after);
    // the change is this finding's own (its shared part is copied on change): copies made
    // before, the memo and findings matched later still say what the match said, in the
    // same bytes
    assert_eq!(original[1].severity, "critical");
    let later = run(&db, &pkgs);
    assert_eq!(later.findings, original);
    assert_eq!(stella_json::to_vec(&later.findings).unwrap(), before);
    // a finding changed and changed back is equal again, and written as before
    m.findings[1].severity = "critical".into();
    m.findings[1].fixed_versions = original[1].fixed_versions.clone();
    m.findings[0].policy = None;
    assert_eq!(m.findings, original);
    assert_eq!(stella_json::to_vec(&m.findings).unwrap(), before);
}

#[test]
fn pretty_output_never_takes_the_memo_bytes() {
    let db = db();
    let pkgs = [pkg("flask", "2.0.0", "/app/a")];
    run(&db, &pkgs);
    let m = run(&db, &pkgs);
    stella_json::to_vec(&m.findings).unwrap();
    stella_json::to_vec(&m.findings).unwrap();
    let pretty = serde_json::to_string_pretty(&m.findings).unwrap();
    assert!(
        pretty.contains("\n    \"vulnerabilityId\": \"CVE-2023-0001\""),
        "{pretty}"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&pretty).unwrap(),
        serde_json::from_slice::<serde_json::Value>(&reference(&m.findings)).unwrap()
    );
}
