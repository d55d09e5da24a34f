//! SBOMs written by other tools read into the same packages, with their source packages,
//! layers and files.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use stella_sbom::{Format, read};

fn load(name: &str) -> stella_sbom::Read {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/producers")
        .join(name);
    read(&std::fs::read(&p).unwrap(), None).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn apk_set(r: &stella_sbom::Read) -> BTreeSet<(String, String)> {
    r.sbom
        .components
        .iter()
        .filter(|c| c.purl.as_ref().is_some_and(|p| p.ty == "apk"))
        .map(|c| (c.name.clone(), c.version.clone().unwrap_or_default()))
        .collect()
}

#[test]
fn syft_and_trivy_agree_on_alpine_3_10() {
    let files = [
        ("alpine-3.10.syft.json", Format::SyftJson),
        ("alpine-3.10.syft.cdx.json", Format::CycloneDxJson),
        ("alpine-3.10.syft.cdx.xml", Format::CycloneDxXml),
        ("alpine-3.10.syft.spdx.json", Format::SpdxJson),
        ("alpine-3.10.syft.spdx", Format::SpdxTagValue),
        ("alpine-3.10.trivy-cdxgen.cdx.json", Format::CycloneDxJson),
    ];
    let reference = apk_set(&load(files[0].0));
    assert_eq!(reference.len(), 14, "{reference:?}");
    assert!(
        reference.contains(&("libcrypto1.1".to_string(), "1.1.1d-r2".to_string())),
        "{reference:?}"
    );
    for (f, fmt) in files {
        let r = load(f);
        assert_eq!(r.format, fmt, "{f}");
        assert_eq!(apk_set(&r), reference, "{f}");
        assert!(r.warnings.is_empty(), "{f}: {:?}", r.warnings);
    }
}

#[test]
fn source_packages_and_layers_come_through() {
    for f in [
        "alpine-3.10.syft.json",
        "alpine-3.10.syft.cdx.json",
        "alpine-3.10.syft.cdx.xml",
        "alpine-3.10.trivy-cdxgen.cdx.json",
    ] {
        let r = load(f);
        let c = r
            .sbom
            .components
            .iter()
            .find(|c| c.name == "libssl1.1")
            .unwrap();
        assert_eq!(c.source_name.as_deref(), Some("openssl"), "{f}");
    }
    let r = load("alpine-3.10.syft.json");
    let c = r.sbom.components.iter().find(|c| c.name == "musl").unwrap();
    let loc = c.locations.iter().next().unwrap();
    assert_eq!(loc.path, "/lib/apk/db/installed");
    assert!(
        loc.layer
            .as_deref()
            .is_some_and(|l| l.starts_with("sha256:")),
        "{loc:?}"
    );
    assert_eq!(r.sbom.metadata.os.as_deref(), Some("alpine 3.10.4"));
}

#[test]
fn trivy_report_joins_epoch_version_release() {
    let r = load("trivy-report.json");
    assert_eq!(r.format, Format::TrivyJson);
    let ossl = r
        .sbom
        .components
        .iter()
        .find(|c| c.name == "openssl-libs")
        .unwrap();
    assert_eq!(ossl.version.as_deref(), Some("1:1.1.1k-12.el8_9"));
    assert_eq!(ossl.source_name.as_deref(), Some("openssl"));
    assert_eq!(ossl.source_version.as_deref(), Some("1:1.1.1k-12.el8_9"));
    assert_eq!(ossl.purl.as_ref().unwrap().qualifiers["epoch"], "1");
    assert!(ossl.locations.iter().any(|l| l.layer.as_deref()
        == Some("sha256:03901b4a2ea88eeaad62dbe59b072b28b6efa00491962b8741081c5df50c65e0")));
    assert_eq!(
        r.sbom.dependencies[&ossl.id].iter().collect::<Vec<_>>(),
        ["glibc@2.28-251.el8_10.2.x86_64"]
    );
    let dj = r
        .sbom
        .components
        .iter()
        .find(|c| c.name == "django")
        .unwrap();
    assert_eq!(
        dj.locations.iter().next().unwrap().path,
        "app/requirements.txt"
    );
    assert_eq!(r.sbom.metadata.os.as_deref(), Some("rocky 8.10"));
}
