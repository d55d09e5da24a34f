//! CycloneDX JSON reading: a local fixture, and the spec's conformance corpus when present.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::path::{Path, PathBuf};

use stella_sbom::cyclonedx::read_json;

#[test]
fn reads_local_fixture_with_warnings() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/small-cyclonedx-1.6.json");
    let r = read_json(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(r.spec_version, "1.6");
    let names: Vec<&str> = r.sbom.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["openssl", "libssl1.1", "bad"]);
    let ossl = &r.sbom.components[0];
    assert_eq!(
        ossl.purl.as_ref().unwrap().qualifiers["distro"],
        "alpine-3.10"
    );
    assert_eq!(ossl.hashes["SHA-256"], "ab12");
    assert_eq!(ossl.licenses, ["OpenSSL"]);
    assert_eq!(r.sbom.metadata.tools, ["syft 1.18.0"]);
    assert_eq!(
        r.sbom.components[2].raw_purl.as_deref(),
        Some("pkg:npm/%zz")
    );
    let msgs: Vec<String> = r
        .warnings
        .iter()
        .map(|w| format!("{}: {}", w.at, w.message))
        .collect();
    assert!(
        msgs.iter().any(|m| m.starts_with("/components/1/purl:")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("dangling reference `ghost`")),
        "{msgs:?}"
    );
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    assert!(read_json(b"{\"bomFormat\": \"CycloneDX\", \"specVer").is_err());
    assert!(read_json(&[0xff, 0xfe, b'{']).is_err());
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let e = read_json(deep.as_bytes()).unwrap_err().to_string();
    assert!(e.contains("line 1"), "{e}");
    assert!(read_json(b"{\"bomFormat\":\"SPDX\"}").is_err());
    assert!(
        read_json(b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":{}}")
            .is_err()
    );
}

fn shared() -> Option<PathBuf> {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let p = Path::new(&dir).join("sbom/cyclonedx/conformance");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} is absent; set STELLA_SHARED_DATA to run the conformance corpus",
            p.display()
        );
        None
    }
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

#[test]
fn conformance_corpus_json() {
    let Some(root) = shared() else { return };
    let mut files = Vec::new();
    json_files(&root, &mut files);
    files.sort();
    assert!(
        files.len() > 200,
        "expected the 269-file corpus, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    let mut valid = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(f).unwrap();
        let got = read_json(&bytes); // must never panic, valid or not
        if name.starts_with("valid-") {
            valid += 1;
            if let Err(e) = got {
                failures.push(format!("{}: {e}", f.display()));
            }
        }
    }
    assert!(valid > 100, "{valid}");
    assert!(
        failures.is_empty(),
        "{} valid documents failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
