//! `stella sbom TARGET` end to end: the shared images to every format, deterministic bytes,
//! the fragment cache, per-layer output, validated by the formats' reference validators, and
//! clear errors for targets that are not images.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn images() -> Option<PathBuf> {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let p = Path::new(&dir).join("images");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIP: {} is absent; set STELLA_SHARED_DATA", p.display());
        None
    }
}

fn stella(args: &[&str], cache: &Path) -> (i32, Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .env("STELLA_CACHE", cache)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn alpine_sbom_every_format_deterministic_and_cached() {
    let Some(dir) = images() else { return };
    let cache = tempfile::tempdir().unwrap();
    let t = dir.join("alpine-3.10.4.docker-archive.tar.gz");
    let t = t.to_str().unwrap();
    let (code, first, err) = stella(&["sbom", t], cache.path());
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("14 packages") && err.contains("(0 cached)"),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&first).unwrap();
    let comps = doc["components"].as_array().unwrap();
    assert_eq!(comps.len(), 15, "14 packages and the OS");
    assert!(
        comps
            .iter()
            .any(|c| c["purl"] == "pkg:apk/alpine/musl@1.1.22-r3?arch=x86_64&distro=alpine-3.10.4")
    );
    assert!(comps.iter().any(|c| c["purl"]
        == "pkg:apk/alpine/libcrypto1.1@1.1.1d-r2?arch=x86_64&distro=alpine-3.10.4&upstream=openssl"));
    // the second run reads the fragment from the cache and writes the same bytes
    let (code, second, err) = stella(&["sbom", t], cache.path());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("(1 cached)"), "{err}");
    assert_eq!(first, second);
    // the same layer in the OCI layout is the same fragment
    let oci = format!("oci-dir:{}", dir.join("alpine-3.10.4.oci").display());
    let (_, _, err) = stella(&["sbom", &oci], cache.path());
    assert!(err.contains("(1 cached)"), "{err}");
    // per-layer fragments
    let (code, out, _) = stella(&["sbom", t, "--per-layer"], cache.path());
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v["layers"][0]["fragment"]["locations"]["lib/apk/db/installed"]
            .as_array()
            .unwrap()
            .len(),
        14
    );
    // and the formats validate
    let py = std::env::var("STELLA_PYTHON").unwrap_or_else(|_| "python3".into());
    let have = Command::new(&py)
        .args(["-c", "import cyclonedx.validation.json, spdx_tools"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var("STELLA_REQUIRE_VALIDATORS").is_err(),
            "validators are required but not importable"
        );
        eprintln!("SKIP: validators not installed");
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (target, name) in [
        (t.to_string(), "alpine"),
        (
            format!(
                "oci-dir:{}",
                dir.join("debian-bookworm-minbase.oci").display()
            ),
            "debian",
        ),
    ] {
        for (fmt, ext) in [
            ("cyclonedx-json", "cdx.json"),
            ("cyclonedx-xml", "cdx.xml"),
            ("spdx-json", "spdx.json"),
            ("spdx-tag-value", "spdx"),
        ] {
            let p = out_dir.path().join(format!("{name}.{ext}"));
            let (code, _, err) = stella(
                &["sbom", &target, "-f", fmt, "-o", p.to_str().unwrap()],
                cache.path(),
            );
            assert_eq!(code, 0, "{err}");
            files.push(p);
        }
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/validate-sbom.py");
    let out = Command::new(py).arg(script).args(&files).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn targets_that_are_not_images_are_clear_errors() {
    let cache = tempfile::tempdir().unwrap();
    let (code, _, err) = stella(&["sbom", "/nonexistent/image.tar"], cache.path());
    assert_eq!(code, 2);
    assert!(err.contains("no such file"), "{err}");
    let (code, _, err) = stella(&["sbom", "registry:"], cache.path());
    assert_eq!(code, 2);
    assert!(err.contains("no image reference"), "{err}");
    let (code, _, err) = stella(&["sbom", "registry:Upper/Case:1"], cache.path());
    assert_eq!(code, 2);
    assert!(err.contains("lower-case"), "{err}");
    // plain HTTP is for this machine's registries only
    let (code, _, err) = stella(
        &["sbom", "registry:example.com/app:1", "--insecure"],
        cache.path(),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("only allowed for registries on this machine"),
        "{err}"
    );
    let f = cache.path().join("not-an-image.tar");
    std::fs::write(&f, b"hello").unwrap();
    let (code, _, err) = stella(&["sbom", f.to_str().unwrap()], cache.path());
    assert_eq!(code, 2);
    assert!(err.contains("not-an-image.tar"), "{err}");
    let (code, _, err) = stella(&["sbom", "dir:/tmp", "-f", "nope"], cache.path());
    assert_eq!(code, 2);
    assert!(err.contains("unknown output format"), "{err}");
}
