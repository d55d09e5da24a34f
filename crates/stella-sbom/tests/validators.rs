//! Our output validates with the formats' reference validators (cyclonedx-python-lib,
//! spdx-tools), run through `scripts/validate-sbom.py`. `scripts/test` installs them and sets
//! `STELLA_REQUIRE_VALIDATORS=1`, so CI cannot skip this.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;

use stella_sbom::{OutputFormat, WriteOptions, read, write};

fn python() -> Option<String> {
    let py = std::env::var("STELLA_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import cyclonedx.validation.json, spdx_tools"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(py);
    }
    let msg = format!(
        "the validators are not importable with `{py}` (pip install 'cyclonedx-python-lib[validation]' spdx-tools)"
    );
    assert!(std::env::var("STELLA_REQUIRE_VALIDATORS").is_err(), "{msg}");
    eprintln!("SKIP: {msg}");
    None
}

fn inputs() -> Vec<(String, Vec<u8>)> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut v = vec![(
        "fixture".to_string(),
        std::fs::read(here.join("testdata/small-cyclonedx-1.6.json")).unwrap(),
    )];
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let shared = Path::new(&dir).join("sbom");
    let picks = [
        "cyclonedx/examples/SBOM/laravel-7.12.0/bom.1.4.json",
        "cyclonedx/examples/SBOM/proton-bridge/proton-bridge-v1.8.0.bom.xml",
        "cyclonedx/examples/SBOM/dropwizard-1.3.15/bom.json",
        "cyclonedx/conformance/1.6/valid-license-expression-1.6.json",
        "cyclonedx/conformance/1.6/valid-license-licensing-1.6.json",
        "cyclonedx/conformance/1.6/valid-dependency-1.6.json",
        "cyclonedx/conformance/1.6/valid-component-hashes-1.6.xml",
        "spdx/examples-2.3/SPDXJSONExample-v2.2.spdx.json",
        "spdx/examples-2.3/SPDXTagExample-v2.2.spdx",
        "spdx/examples-more/software/example8/spdx3.0/examplemaven-0.0.1.spdx3.json",
    ];
    if shared.is_dir() {
        for p in picks {
            v.push((p.replace('/', "_"), std::fs::read(shared.join(p)).unwrap()));
        }
    } else {
        eprintln!(
            "SKIP (partly): {} is absent; validating the local fixture only",
            shared.display()
        );
    }
    v
}

#[test]
fn written_documents_validate() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let opts = WriteOptions {
        timestamp: Some("2026-11-29T00:00:00Z".into()),
        ..WriteOptions::default()
    };
    let mut files = Vec::new();
    for (name, bytes) in inputs() {
        let r = read(&bytes, None).unwrap();
        for (f, ext) in [
            (OutputFormat::CycloneDxJson(6), "1.6.cdx.json"),
            (OutputFormat::CycloneDxJson(5), "1.5.cdx.json"),
            (OutputFormat::CycloneDxJson(4), "1.4.cdx.json"),
            (OutputFormat::CycloneDxXml(6), "1.6.cdx.xml"),
            (OutputFormat::CycloneDxXml(5), "1.5.cdx.xml"),
            (OutputFormat::CycloneDxXml(4), "1.4.cdx.xml"),
            (OutputFormat::SpdxJson, "spdx.json"),
            (OutputFormat::SpdxTagValue, "spdx"),
        ] {
            let p = dir.path().join(format!("{name}.{ext}"));
            std::fs::write(&p, write(&r.sbom, f, &opts)).unwrap();
            files.push(p);
        }
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/validate-sbom.py");
    let out = Command::new(py).arg(script).args(&files).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failures: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    eprintln!("{}", stdout.lines().last().unwrap_or(""));
    assert!(
        out.status.success() && failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
}
