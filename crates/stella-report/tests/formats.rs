//! Snapshots of the human-facing formats for a small report: an OS finding set aside by VEX,
//! another OS finding, a PyPI finding from a lockfile, a notice.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use stella_match::{
    Eco, Finding, FindingData, Found, MatchDetails, Notice, Pkg, Searched, VexNote,
};
use stella_report::{DbInfo, Os, Report, Target, Verdict};

fn pkg(kind: &str, name: &str, version: &str, location: &str) -> Pkg {
    Pkg {
        eco: if kind == "pypi" {
            Eco::Lang("pypi")
        } else {
            Eco::Apk
        },
        kind: kind.into(),
        name: name.into(),
        version: version.into(),
        purl: Some(format!("pkg:{kind}/{name}@{version}")),
        source_name: None,
        arch: None,
        module: None,
        layer: Some("sha256:0123456789abcdef".into()),
        location: Some(location.into()),
    }
}

fn finding(id: &str, sev: &str, p: &Pkg, fixed: &[&str], vex: bool) -> Finding {
    let data = FindingData {
        vulnerability_id: id.into(),
        aliases: Vec::new().into(),
        severity: sev.to_string().into(),
        score: None,
        severity_source: None,
        cvss: Vec::new().into(),
        epss: None,
        kev: false,
        fixed_versions: fixed.iter().map(|s| s.to_string()).collect(),
        status: if fixed.is_empty() {
            "not-fixed"
        } else {
            "fixed"
        }
        .into(),
        summary: Some(format!("{id} <summary> & more").into()),
        match_details: MatchDetails {
            kind: "ecosystem".into(),
            searched_by: Searched {
                namespace: "ns".into(),
                name: p.name.as_str().into(),
                version: p.version.as_str().into(),
            },
            found: vec![Arc::new(Found {
                advisory: id.into(),
                feed: "feed".into(),
                ranges: vec![">=0 <9".into()],
            })]
            .into(),
            source: "osv".into(),
        },
        published: None,
    };
    let mut f = Finding::new(data, Arc::new(p.clone()));
    f.vex = vex.then(|| VexNote {
        status: "not_affected".into(),
        justification: Some("vulnerable_code_not_in_execute_path".into()),
        document: "vex.json".into(),
    });
    f
}

fn report() -> Report {
    let ssl = pkg("apk", "libssl1.1", "1.1.1c-r0", "/lib/apk/db/installed");
    let dj = pkg("pypi", "django", "3.2.0", "/app/requirements.txt");
    let findings = vec![
        finding("CVE-2019-1549", "high", &ssl, &["1.1.1d-r0"], false),
        finding("CVE-2021-31542", "critical", &dj, &["3.2.1"], false),
        finding("CVE-2019-1547", "medium", &ssl, &["1.1.1d-r0"], true),
    ];
    let summary = stella_report::summarize(&findings);
    let verdict: Verdict = stella_report::verdict(&findings, Some("critical"));
    Report {
        schema_version: "1".into(),
        scan_id: stella_report::scan_id("app", &findings),
        created_at: "2026-11-29T00:00:00Z".into(),
        target: Target {
            kind: "image".into(),
            reference: "app:1".into(),
            digest: None,
            os: Some(Os {
                family: "alpine".into(),
                version: Some("3.10.2".into()),
            }),
        },
        db: DbInfo {
            built: "2026-11-28T00:00:00Z".into(),
            sources: vec!["alpine-secdb".into()],
        },
        findings,
        summary,
        verdict,
        warnings: vec!["a warning".into()],
        ignored: Vec::new(),
        notices: vec![Notice {
            advisory: "RUSTSEC-2020-0036".into(),
            kind: "unmaintained".into(),
            package: pkg("cargo", "failure", "0.1.8", "/app/Cargo.lock"),
            summary: None,
        }],
        coverage: vec![stella_match::Coverage {
            namespace: "alpine:3.17".into(),
            packages: 3,
            status: "covered".into(),
            end_of_life: Some("2024-11-22".into()),
        }],
    }
}

#[test]
fn table_groups_by_where_packages_were_found() {
    insta::assert_snapshot!(stella_report::table(&report()));
}

#[test]
fn table_colours_severities_on_a_terminal() {
    let t = stella_report::table_with(&report(), true);
    assert!(t.contains("\x1b[1;31mCRITICAL\x1b[0m"), "{t}");
    assert!(t.contains("\x1b[31mHIGH\x1b[0m"), "{t}");
    // colour codes do not count for the columns
    let plain = stella_report::table(&report());
    let strip = |s: &str| {
        let mut o = String::new();
        let mut esc = false;
        for c in s.chars() {
            match (esc, c) {
                (false, '\x1b') => esc = true,
                (true, 'm') => esc = false,
                (true, _) => {}
                (false, c) => o.push(c),
            }
        }
        o
    };
    assert_eq!(strip(&t), plain);
}

#[test]
fn junit_and_html() {
    let r = report();
    insta::assert_snapshot!(String::from_utf8(stella_report::junit(&r, Some("critical"))).unwrap());
    let page = String::from_utf8(stella_report::html(&r, "0.1.0")).unwrap();
    assert!(page.contains("&lt;summary&gt; &amp; more"), "escaped");
    assert!(!page.contains("<summary>"));
    assert!(page.contains("class=\"FAIL\""));
}
