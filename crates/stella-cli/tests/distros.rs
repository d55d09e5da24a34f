//! One distribution, many names: SBOMs of real producers (Syft, trivy-cdxgen) and of Trivy's
//! spellings for distributions we have no image of, matched in the namespace their advisories
//! use (Amazon Linux 1's `2018.03` is `amazon:1`, CentOS by Red Hat's data); every finding
//! rated by the release that matched it, never by another release's advisory; each advisory
//! listed once in `matchDetails.found`.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::Path;
use std::process::Command;

fn stella(args: &[&str], cache: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .env("STELLA_CACHE", cache)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn producers(file: &str) -> String {
    format!(
        "{}/../stella-sbom/testdata/producers/{file}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// An OSV record of a distribution's advisory (`Moderate: …` summaries carry its rating, as
/// AlmaLinux's and Red Hat's do).
fn osv(id: &str, cve: &str, ecosystem: &str, package: &str, fixed: &str, summary: &str) -> String {
    format!(
        r#"{{"schema_version":"1.6.0","id":"{id}","modified":"2024-01-01T00:00:00Z","published":"2024-01-01T00:00:00Z","summary":"{summary}","related":["{cve}"],"affected":[{{"package":{{"ecosystem":"{ecosystem}","name":"{package}"}},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]}}]}}"#
    )
}

fn import(dir: &Path, records: &[(&str, String)]) -> String {
    let feed = dir.join("feed");
    std::fs::create_dir_all(&feed).unwrap();
    for (name, r) in records {
        std::fs::write(feed.join(format!("{name}.json")), r).unwrap();
    }
    let db = dir.join("t.db");
    let (code, _, err) = stella(
        &[
            "db",
            "import",
            "--db",
            db.to_str().unwrap(),
            "--format",
            "osv",
            feed.to_str().unwrap(),
        ],
        &dir.join("cache"),
    );
    assert_eq!(code, 0, "{err}");
    db.to_str().unwrap().to_string()
}

/// A Trivy-style CycloneDX document: the OS as an `operating-system` component (Trivy writes
/// its family and OS name) and one package whose purl carries `distro=` as Trivy writes it.
fn trivy_sbom(os: Option<(&str, &str)>, purl: &str) -> String {
    let os = os.map_or(String::new(), |(name, version)| {
        format!(
            r#"{{"bom-ref":"os","type":"operating-system","name":"{name}","version":"{version}","properties":[{{"name":"aquasecurity:trivy:Class","value":"os-pkgs"}}]}},"#
        )
    });
    let name = purl
        .split('@')
        .next()
        .and_then(|n| n.rsplit('/').next())
        .unwrap();
    let version = purl
        .split('@')
        .nth(1)
        .and_then(|v| v.split('?').next())
        .unwrap();
    format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{os}{{"bom-ref":"p","type":"library","name":"{name}","version":"{version}","purl":"{purl}"}}]}}"#
    )
}

fn scan(sbom: &str, db: &str, dir: &Path) -> serde_json::Value {
    let f = dir.join("sbom.cdx.json");
    std::fs::write(&f, sbom).unwrap();
    let (code, out, err) = stella(
        &["scan", f.to_str().unwrap(), "--db", db, "-f", "json"],
        &dir.join("cache"),
    );
    assert!(code == 0 || code == 1, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn real_producers_sboms_name_the_os_their_advisories_are_keyed_by() {
    let dir = tempfile::tempdir().unwrap();
    let db = import(
        dir.path(),
        &[(
            "a",
            osv("X-1", "CVE-2099-1", "Alpine:v3.10", "musl", "9.9-r0", "x"),
        )],
    );
    for (file, ns, n) in [
        ("alpine-3.10.syft.cdx.json", "alpine:3.10", 14),
        ("alpine-3.10.syft.spdx.json", "alpine:3.10", 14),
        ("alpine-3.10.syft.json", "alpine:3.10", 14),
        // Trivy writes `distro=3.10.4`: the version alone, its OS component says Alpine
        ("alpine-3.10.trivy-cdxgen.cdx.json", "alpine:3.10", 14),
        ("debian-12.syft.cdx.json", "debian:12", 88),
        ("debian-12.trivy-cdxgen.cdx.json", "debian:12", 88),
    ] {
        let (code, out, err) = stella(
            &["scan", &producers(file), "--db", &db, "-f", "json"],
            &dir.path().join("cache"),
        );
        assert!(code == 0 || code == 1, "{file}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let cov = v["coverage"].as_array().unwrap();
        let os: Vec<&serde_json::Value> = cov
            .iter()
            .filter(|c| c["namespace"].as_str().unwrap().contains(':'))
            .collect();
        assert_eq!(os.len(), 1, "{file}: {cov:?}");
        assert_eq!(os[0]["namespace"], ns, "{file}");
        assert_eq!(os[0]["packages"], n, "{file}");
        if ns == "alpine:3.10" {
            // and the Alpine package is matched in it
            assert!(
                v["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["vulnerabilityId"] == "CVE-2099-1"),
                "{file}"
            );
        }
    }
}

#[test]
fn trivy_spellings_of_other_distributions_land_in_their_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let db = import(
        dir.path(),
        &[
            (
                "al1",
                osv("ALAS-1", "CVE-2099-11", "Amazon:1", "curl", "9.9", "x"),
            ),
            (
                "al2",
                osv("ALAS2-1", "CVE-2099-12", "Amazon:2", "curl", "9.9", "x"),
            ),
            (
                "rh7",
                osv("RHSA-1", "CVE-2099-13", "Red Hat:7", "curl", "9.9", "x"),
            ),
            (
                "alma8",
                osv("ALSA-8", "CVE-2099-14", "AlmaLinux:8", "curl", "9.9", "x"),
            ),
            (
                "mariner",
                osv(
                    "CBL-1",
                    "CVE-2099-15",
                    "CBL-Mariner:1.0",
                    "curl",
                    "9.9",
                    "x",
                ),
            ),
            (
                "apk",
                osv("X-2", "CVE-2099-16", "Alpine:v3.10", "musl", "9.9-r0", "x"),
            ),
        ],
    );
    for (os, purl, ns, cve) in [
        (
            Some(("amazon", "AMI release 2018.03")),
            "pkg:rpm/amazon/curl@7.61.1-12.93.amzn1?arch=x86_64&distro=amazon-AMI%20release%202018.03",
            "amazon:1",
            "CVE-2099-11",
        ),
        (
            Some(("amazon", "2 (Karoo)")),
            "pkg:rpm/amazon/curl@7.79.1-1.amzn2.0.1?arch=x86_64&distro=amazon-2%20%28Karoo%29",
            "amazon:2",
            "CVE-2099-12",
        ),
        // no OS component: the qualifier alone
        (
            None,
            "pkg:rpm/amazon/curl@7.79.1-1.amzn2.0.1?arch=x86_64&distro=amazon-2%20%28Karoo%29",
            "amazon:2",
            "CVE-2099-12",
        ),
        // CentOS has no advisories of its own: Red Hat's speak for it
        (
            Some(("centos", "7.9.2009")),
            "pkg:rpm/centos/curl@7.29.0-59.el7?arch=x86_64&distro=centos-7.9.2009",
            "redhat:7",
            "CVE-2099-13",
        ),
        (
            Some(("alma", "8.5")),
            "pkg:rpm/alma/curl@7.61.1-22.el8?arch=x86_64&distro=alma-8.5",
            "almalinux:8",
            "CVE-2099-14",
        ),
        (
            Some(("cbl-mariner", "1.0")),
            "pkg:rpm/cbl-mariner/curl@7.76.0-6.cm1?arch=x86_64&distro=cbl-mariner-1.0",
            "mariner:1.0",
            "CVE-2099-15",
        ),
        (
            None,
            "pkg:apk/alpine/musl@1.1.22-r3?arch=x86_64&distro=3.10.2",
            "alpine:3.10",
            "CVE-2099-16",
        ),
        // an OS component Stella cannot name gives way to the purls' qualifier
        (
            Some(("linux", "5")),
            "pkg:apk/alpine/musl@1.1.22-r3?arch=x86_64&distro=alpine-3.10.2",
            "alpine:3.10",
            "CVE-2099-16",
        ),
    ] {
        let v = scan(&trivy_sbom(os, purl), &db, dir.path());
        let fs = v["findings"].as_array().unwrap();
        assert_eq!(fs.len(), 1, "{purl}: {fs:?}");
        assert_eq!(fs[0]["vulnerabilityId"], cve, "{purl}");
        assert_eq!(
            fs[0]["matchDetails"]["searchedBy"]["namespace"], ns,
            "{purl}"
        );
    }
}

#[test]
fn a_finding_is_rated_by_the_release_that_matched_it() {
    let dir = tempfile::tempdir().unwrap();
    // one CVE, rated differently by AlmaLinux 8's and 9's advisories, and scored by PyPI's
    let pypi = r#"{"schema_version":"1.6.0","id":"PYSEC-2099-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2099-21"],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}],"affected":[{"package":{"ecosystem":"PyPI","name":"demo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0"}]}]}]}"#;
    let db = import(
        dir.path(),
        &[
            (
                "alma8",
                osv(
                    "ALSA-2099:8",
                    "CVE-2099-21",
                    "AlmaLinux:8",
                    "openssl",
                    "1:9.9-1.el8",
                    "Moderate: openssl security update",
                ),
            ),
            (
                "alma9",
                osv(
                    "ALSA-2099:9",
                    "CVE-2099-21",
                    "AlmaLinux:9",
                    "openssl",
                    "1:9.9-1.el9",
                    "Important: openssl security update",
                ),
            ),
            ("pypi", pypi.to_string()),
            // a CVE only a distribution rates: no other distribution's finding takes it
            (
                "alma9b",
                osv(
                    "ALSA-2099:10",
                    "CVE-2099-22",
                    "AlmaLinux:9",
                    "zlib",
                    "1:9.9-1.el9",
                    "Critical: zlib security update",
                ),
            ),
            (
                "rocky",
                osv(
                    "RLSA-1",
                    "CVE-2099-22",
                    "Rocky Linux:9",
                    "zlib",
                    "1:9.9-1.el9",
                    "zlib",
                ),
            ),
        ],
    );
    let rpm = |distro: &str, el: &str, name: &str| {
        trivy_sbom(
            None,
            &format!(
                "pkg:rpm/{}/{name}@1.0-1.{el}?arch=x86_64&epoch=1&distro={distro}",
                distro.split('-').next().unwrap()
            ),
        )
    };
    let one = |v: &serde_json::Value| v["findings"][0].clone();
    let f = one(&scan(
        &rpm("almalinux-9.4", "el9", "openssl"),
        &db,
        dir.path(),
    ));
    assert_eq!(
        (f["severity"].as_str(), f["severitySource"].as_str()),
        (Some("high"), Some("feed")),
        "{f}"
    );
    let f = one(&scan(
        &rpm("almalinux-8.10", "el8", "openssl"),
        &db,
        dir.path(),
    ));
    assert_eq!(
        (f["severity"].as_str(), f["severitySource"].as_str()),
        (Some("medium"), Some("feed")),
        "{f}"
    );
    // a language package: the flaw's own score, not a distribution's rating
    let f = one(&scan(
        &trivy_sbom(None, "pkg:pypi/demo@1.0"),
        &db,
        dir.path(),
    ));
    assert_eq!(
        (f["severity"].as_str(), f["severitySource"].as_str()),
        (Some("medium"), Some("feed")),
        "{f}"
    );
    // Rocky's statement carries no rating; AlmaLinux's `Critical` is not Rocky's to use
    let f = one(&scan(&rpm("rocky-9.3", "el9", "zlib"), &db, dir.path()));
    assert_eq!(f["vulnerabilityId"], "CVE-2099-22");
    assert_eq!(f["severity"], "unknown", "{f}");
}

#[test]
fn each_matched_advisory_is_listed_once() {
    let dir = tempfile::tempdir().unwrap();
    // one record naming the package twice (two ranges), as OSV allows
    let rec = r#"{"schema_version":"1.6.0","id":"GHSA-dup1-dup1-dup1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2099-31"],"affected":[{"package":{"ecosystem":"npm","name":"dup"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.5.0"}]}]},{"package":{"ecosystem":"npm","name":"dup"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"1.6.0"}]}]}]}"#;
    let db = import(dir.path(), &[("npm", rec.to_string())]);
    let v = scan(&trivy_sbom(None, "pkg:npm/dup@1.2.0"), &db, dir.path());
    let found = v["findings"][0]["matchDetails"]["found"]
        .as_array()
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["advisory"], "GHSA-dup1-dup1-dup1");
    assert_eq!(found[0]["ranges"].as_array().unwrap().len(), 2, "{found:?}");
}

/// `vulnerabilityId package@version` of every finding of a JSON scan.
fn keys(target: &str, db: &str, cache: &Path) -> std::collections::BTreeSet<String> {
    let (code, out, err) = stella(&["scan", target, "--db", db, "-f", "json"], cache);
    assert!(code == 0 || code == 1, "{target}: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}@{}",
                f["vulnerabilityId"].as_str().unwrap(),
                f["package"]["name"].as_str().unwrap(),
                f["package"]["version"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn the_debian_image_and_its_producers_sboms_find_the_same_vulnerabilities() {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let shared = Path::new(&dir);
    let image = shared.join("images/debian-bookworm-minbase.oci");
    if !image.is_dir() {
        eprintln!(
            "SKIP: {} is absent; set STELLA_SHARED_DATA",
            image.display()
        );
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    // the shared tracker data ends before this image's builds: one Debian 12 record per
    // source package the image has (fixed in a version above any), so every package matches
    // through its source name
    let syft: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(producers("debian-12.syft.cdx.json")).unwrap(),
    )
    .unwrap();
    let mut sources = std::collections::BTreeSet::new();
    for c in syft["components"].as_array().unwrap() {
        let Some(purl) = c["purl"].as_str() else {
            continue;
        };
        let upstream = purl
            .split(['?', '&'])
            .find_map(|q| q.strip_prefix("upstream="))
            .map(|u| u.split("%40").next().unwrap().to_string());
        sources.insert(upstream.unwrap_or_else(|| c["name"].as_str().unwrap().to_string()));
    }
    let records: Vec<(String, String)> = sources
        .iter()
        .enumerate()
        .map(|(i, src)| {
            (
                format!("r{i}"),
                osv(
                    &format!("DEB-{i}"),
                    &format!("CVE-2099-{}", 1000 + i),
                    "Debian:12",
                    src,
                    "99:0",
                    "x",
                ),
            )
        })
        .collect();
    let refs: Vec<(&str, String)> = records
        .iter()
        .map(|(n, r)| (n.as_str(), r.clone()))
        .collect();
    let db = import(work.path(), &refs);
    let db = db.as_str();
    let direct = keys(&format!("oci-dir:{}", image.display()), db, &cache);
    assert_eq!(direct.len(), 88, "every package matched once: {direct:?}");
    for file in ["debian-12.syft.cdx.json", "debian-12.trivy-cdxgen.cdx.json"] {
        let via = keys(&producers(file), db, &cache);
        assert_eq!(
            direct.symmetric_difference(&via).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "{file}"
        );
    }
}

#[test]
fn regional_catalogues_name_their_records_on_the_findings_of_the_cves_they_cover() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    // undici's GHSA record, as osv.dev has it (CVE-2026-22036), and a record of each of the
    // CVEs one JVNDB entry covers
    let ghsa = r#"{"schema_version":"1.6.0","id":"GHSA-g9mf-h72j-4rw9","modified":"2026-01-22T00:00:00Z","aliases":["CVE-2026-22036"],"affected":[{"package":{"ecosystem":"npm","name":"undici"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"6.23.0"}]}]}]}"#;
    let mut records = vec![("ghsa", ghsa.to_string())];
    for (i, cve) in ["CVE-2017-10852", "CVE-2017-10853"].iter().enumerate() {
        records.push((
            if i == 0 { "a" } else { "b" },
            format!(
                r#"{{"schema_version":"1.6.0","id":"GHSA-corg-a{i}aa-aaaa","modified":"2024-01-01T00:00:00Z","aliases":["{cve}"],"affected":[{{"package":{{"ecosystem":"npm","name":"corega-{i}"}},"ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{{"fixed":"9.9.9"}}]}}]}}]}}"#
            ),
        ));
    }
    let db = import(dir.path(), &records);
    let regional =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../stella-advisory/testdata/regional");
    for (format, file) in [
        ("euvd", "EUVD-2026-2422.json"),
        ("jvn", "jvn-overview-ja.xml"),
        ("cnnvd", "cnnvd-2017-excerpt.xml"),
        ("cnvd", "cnvd-2020-excerpt.xml"),
        ("bdu", "bdu-vulxml-layout.xml"),
    ] {
        let (code, _, err) = stella(
            &[
                "db",
                "import",
                "--db",
                &db,
                "--format",
                format,
                regional.join(file).to_str().unwrap(),
            ],
            &cache,
        );
        assert_eq!(code, 0, "{format}: {err}");
    }
    let v = scan(&trivy_sbom(None, "pkg:npm/undici@6.0.0"), &db, dir.path());
    let f = &v["findings"][0];
    assert_eq!(f["vulnerabilityId"], "CVE-2026-22036", "{f}");
    let aliases: Vec<&str> = f["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(aliases.contains(&"EUVD-2026-2422"), "{aliases:?}");
    // EUVD's vector scores it where nothing else does
    assert_eq!(f["severity"], "medium", "{f}");
    // one JVNDB entry covering two CVEs joins neither to the other
    for (i, cve) in ["CVE-2017-10852", "CVE-2017-10853"].iter().enumerate() {
        let v = scan(
            &trivy_sbom(None, &format!("pkg:npm/corega-{i}@1.0.0")),
            &db,
            dir.path(),
        );
        let fs = v["findings"].as_array().unwrap();
        assert_eq!(fs.len(), 1, "{fs:?}");
        assert_eq!(fs[0]["vulnerabilityId"], *cve);
        assert!(
            fs[0]["aliases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "JVNDB-2018-000024"),
            "{}",
            fs[0]
        );
        assert_eq!(fs[0]["severity"], "high", "JVN's CVSS 3.0 8.8");
    }
}
