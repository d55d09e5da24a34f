//! Every os-release and older release file among the shared package-database fixtures (Trivy's
//! OS analyzers' test data for ~30 distributions, Syft's Debian image) read and keyed as the
//! advisories of that distribution key it. Each fixture's expectation is stated here; a
//! fixture without one fails the test, so new fixtures are looked at.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use stella_catalog::os::parse_file;

fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let p = Path::new(&dir).join("pkgdb-fixtures");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} is absent; set STELLA_SHARED_DATA to read the real os-release fixtures",
            p.display()
        );
        None
    }
}

/// (fixture under `pkgdb-fixtures`, the image path it stands for, the namespace expected).
const CASES: &[(&str, &str, Option<&str>)] = &[
    ("activestate", "etc/os-release", Some("activestate:1.0")),
    ("alma", "etc/os-release", Some("almalinux:9")),
    ("alpine", "etc/os-release", Some("alpine:3.15")),
    ("azurelinux-3.0", "etc/os-release", Some("azurelinux:3.0")),
    ("bottlerocket", "etc/os-release", Some("bottlerocket")),
    ("centos", "etc/os-release", Some("centos:7")),
    ("centos-stream", "etc/os-release", Some("centos:8")),
    ("coreos", "etc/os-release", Some("coreos:3.15.4")),
    ("echo", "etc/os-release", Some("echo")),
    ("fedora", "etc/os-release", Some("fedora:42")),
    ("mariner-1.0", "etc/os-release", Some("mariner:1.0")),
    ("mariner-2.0", "etc/os-release", Some("mariner:2.0")),
    ("minimos", "etc/os-release", Some("minimos")),
    // no ID: not an OS Stella can name
    ("no-id", "etc/os-release", None),
    // Alpine without VERSION_ID: no branch to look up
    ("no-version", "etc/os-release", None),
    (
        "opensuseleap-15.2.1",
        "etc/os-release",
        Some("opensuse-leap:15.2"),
    ),
    (
        "opensuseleap-42.3",
        "etc/os-release",
        Some("opensuse-leap:42.3"),
    ),
    (
        "opensusetumbleweed",
        "etc/os-release",
        Some("opensuse-tumbleweed"),
    ),
    ("oracle", "etc/os-release", Some("oracle:8")),
    ("photon", "etc/os-release", Some("photon:4.0")),
    ("rhel", "etc/os-release", Some("redhat:9")),
    ("rocky", "etc/os-release", Some("rocky:9")),
    ("slemicro", "etc/os-release", Some("sle-micro:5.3")),
    ("slemicro-rancher", "etc/os-release", Some("sle-micro:5.4")),
    ("slemicro6.0", "etc/os-release", Some("sl-micro:6.0")),
    ("sles", "etc/os-release", Some("sles:15.3")),
    ("unknown", "etc/os-release", Some("unknown:4.3.2")),
    (
        "alma/almalinux-release",
        "etc/almalinux-release",
        Some("almalinux:8"),
    ),
    (
        "centos/centos-release",
        "etc/centos-release",
        Some("centos:7"),
    ),
    (
        "fedora_29/fedora-release",
        "etc/fedora-release",
        Some("fedora:29"),
    ),
    (
        "oracle_7/oracle-release",
        "etc/oracle-release",
        Some("oracle:7"),
    ),
    (
        "redhat_6/redhat-release",
        "etc/redhat-release",
        Some("redhat:6"),
    ),
    ("rocky/rocky-release", "etc/rocky-release", Some("rocky:8")),
    ("not_redhatbase/empty", "etc/redhat-release", None),
    (
        "debian_9/etc/debian_version",
        "etc/debian_version",
        Some("debian:9"),
    ),
    // a testing system's `buster/sid`: the release being prepared
    (
        "debian_sid/etc/debian_version",
        "etc/debian_version",
        Some("debian:10"),
    ),
    ("empty", "etc/debian_version", None),
    ("lsb-release", "etc/lsb-release", Some("ubuntu:18.04")),
    ("invalid", "etc/lsb-release", None),
    (
        "image-dpkg/etc/os-release",
        "etc/os-release",
        Some("debian:12"),
    ),
];

const DIRS: &[&str] = &[
    "trivy/pkg/fanal/analyzer/os/release/testdata",
    "trivy/pkg/fanal/analyzer/os/redhatbase/testdata",
    "trivy/pkg/fanal/analyzer/os/debian/testdata",
    "trivy/pkg/fanal/analyzer/os/ubuntu/testdata",
    "syft/syft/pkg/cataloger/debian/testdata",
];

#[test]
fn every_release_fixture_is_keyed_as_its_distributions_advisories_are() {
    let Some(root) = fixtures() else { return };
    let mut seen = 0;
    for dir in DIRS {
        let base = root.join(dir);
        let mut files = Vec::new();
        walk(&base, &mut files);
        for f in files {
            let rel = f
                .strip_prefix(&base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if rel.ends_with(".json") || dir.starts_with("syft") && !rel.ends_with("os-release") {
                continue; // Ubuntu Pro status files; Syft's package databases
            }
            let Some(&(_, path, want)) = CASES.iter().find(|(name, _, _)| *name == rel) else {
                panic!("{dir}/{rel}: no expectation; add it to CASES");
            };
            let got = parse_file(path, &std::fs::read(&f).unwrap()).and_then(|o| o.namespace());
            assert_eq!(got.as_deref(), want, "{dir}/{rel}");
            seen += 1;
        }
    }
    assert_eq!(seen, CASES.len(), "every case names a fixture that exists");
}

fn walk(d: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(d) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}
