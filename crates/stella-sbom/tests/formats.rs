//! Reading every format, the real corpora when present, and read → write → read round trips.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use stella_sbom::{Format, OutputFormat, Sbom, WriteOptions, read, write};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name),
    )
    .unwrap()
}

fn shared(sub: &str) -> Option<PathBuf> {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let p = Path::new(&dir).join(sub);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} is absent; set STELLA_SHARED_DATA to run this test",
            p.display()
        );
        None
    }
}

fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, exts, out);
        } else if exts.iter().any(|x| p.to_string_lossy().ends_with(x)) {
            out.push(p);
        }
    }
    out.sort();
}

#[test]
fn reads_local_fixture_with_warnings() {
    let r = read(&fixture("small-cyclonedx-1.6.json"), None).unwrap();
    assert_eq!(
        (r.format, r.spec_version.as_str()),
        (Format::CycloneDxJson, "1.6")
    );
    let names: Vec<&str> = r.sbom.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["openssl", "libssl1.1", "bad"]);
    let ossl = &r.sbom.components[0];
    assert_eq!(
        ossl.purl.as_ref().unwrap().qualifiers["distro"],
        "alpine-3.10"
    );
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
    assert!(
        msgs.iter()
            .any(|m| m.contains("SHA-256 digest has 4 hex digits")),
        "{msgs:?}"
    );
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let e = read(b"{\"bomFormat\": \"CycloneDX\", \"specVer", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 1"), "{e}");
    assert!(read(&[0xff, 0xfe, b'{'], None).is_err());
    let deep = format!(
        "{{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":{}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let e = read(deep.as_bytes(), None).unwrap_err().to_string();
    assert!(e.contains("/components"), "{e}");
    // Unknown fields are skipped without recursion, however deep.
    let deep_unknown = format!(
        "{{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"x\":{}{}}}",
        "[".repeat(1_000_000),
        "]".repeat(1_000_000)
    );
    assert!(read(deep_unknown.as_bytes(), None).is_ok());
    let deep_components = format!(
        "{{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":[{}{}]}}",
        "{\"name\":\"a\",\"components\":[".repeat(10_000),
        "]}".repeat(10_000)
    );
    let e = read(deep_components.as_bytes(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("recursion limit"), "{e}");
    let e = read(
        b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":{}}",
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("/components:"), "{e}");
    let e = read(
        b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":[{\"name\":1}]}",
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("/components/0/name:"), "{e}");
    assert!(
        read(
            b"<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\"><components><component>",
            None
        )
        .is_err()
    );
    let xxe = b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\"/>";
    assert!(read(xxe, None).unwrap_err().to_string().contains("DOCTYPE"));
    assert!(
        read(
            b"SPDXVersion: SPDX-2.3\nPackageName: x\nPackageComment: <text>never closed\n",
            None
        )
        .is_err()
    );
    assert!(read(b"hello", None).is_err());
    // invalid UTF-8 inside a string: says where
    let mut bad =
        b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":[{\"name\":\""
            .to_vec();
    bad.extend_from_slice(&[0xff, 0xfe]);
    bad.extend_from_slice(b"\"}]}");
    let e = read(&bad, None).unwrap_err().to_string();
    assert!(e.contains("line 1, column"), "{e}");
    let e = read(b"<?xml version=\"1.0\"?><bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\"><components><component><name>\xff</name></component></components></bom>", None).unwrap_err().to_string();
    assert!(e.contains("invalid UTF-8") && e.contains("byte"), "{e}");
    let e = read(b"SPDXVersion: SPDX-2.3\nPackageName: \xff\n", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2") && e.contains("UTF-8"), "{e}");
    // 10,000-deep XML nesting
    let deep = format!(
        "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\">{}{}</bom>",
        "<x>".repeat(10_000),
        "</x>".repeat(10_000)
    );
    let e = read(deep.as_bytes(), None).unwrap_err().to_string();
    assert!(e.contains("nested deeper than 256"), "{e}");
}

#[test]
fn duplicate_refs_and_bad_purls_are_warnings_with_places() {
    let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
        {"bom-ref":"a","name":"one","purl":"pkg:npm/%4"},
        {"bom-ref":"a","name":"two"}],
        "dependencies":[{"ref":"a","dependsOn":["b"]}]}"#;
    let r = read(doc, None).unwrap();
    let msgs: Vec<String> = r
        .warnings
        .iter()
        .map(|w| format!("{}: {}", w.at, w.message))
        .collect();
    assert!(
        msgs.iter().any(|m| m.contains("duplicate reference `a`")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("/components/0/purl:") && m.contains("percent-escape")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("dangling reference `b`")),
        "{msgs:?}"
    );
    let ids: BTreeSet<&str> = r.sbom.components.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "ids stay unique: {ids:?}");
}

/// What must survive a round trip, independent of ids and of how each format spells things.
fn essence(s: &Sbom) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let comps = s
        .components
        .iter()
        .map(|c| {
            use stella_sbom::license::{License, classify};
            let mut lic: Vec<String> = c
                .licenses
                .iter()
                .flat_map(|l| match classify(l) {
                    // A free-text name is written as a LicenseRef where expressions need one.
                    License::Name(n) => vec![stella_sbom::license::license_ref(n)],
                    // SPDX 2 carries deprecated `-with-` ids as a LicenseRef of the same name.
                    _ => l
                        .split(|ch: char| ch.is_whitespace() || ch == '(' || ch == ')')
                        .filter(|t| !t.is_empty() && !["AND", "OR", "WITH"].contains(t))
                        .map(|t| {
                            t.strip_prefix("LicenseRef-")
                                .filter(|x| stella_sbom::license::is_spdx_id(x))
                                .unwrap_or(t)
                                .to_string()
                        })
                        .collect::<Vec<_>>(),
                })
                .collect();
            lic.sort();
            lic.dedup();
            // SPDX 2 cannot carry BLAKE3 digests shorter than 256 hex digits.
            let hashes: std::collections::BTreeMap<_, _> =
                c.hashes.iter().filter(|(a, _)| *a != "BLAKE3").collect();
            format!(
                "{}|{}|{}|{:?}|{:?}",
                c.name,
                c.version.as_deref().unwrap_or(""),
                c.purl.as_ref().map(ToString::to_string).unwrap_or_default(),
                lic,
                hashes
            )
        })
        .collect();
    let key = |id: &str| {
        s.component(id)
            .map(|c| format!("{}@{}", c.name, c.version.as_deref().unwrap_or("")))
            .unwrap_or_default()
    };
    let deps = s
        .dependencies
        .iter()
        .flat_map(|(f, ts)| ts.iter().map(move |t| (key(f), key(t))))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .collect();
    (comps, deps)
}

const OUTPUTS: [OutputFormat; 6] = [
    OutputFormat::CycloneDxJson(6),
    OutputFormat::CycloneDxJson(5),
    OutputFormat::CycloneDxJson(4),
    OutputFormat::CycloneDxXml(6),
    OutputFormat::SpdxJson,
    OutputFormat::SpdxTagValue,
];

fn round_trip(path: &Path, s: &Sbom) -> Vec<String> {
    let opts = WriteOptions {
        timestamp: Some("2026-11-29T00:00:00Z".into()),
        serial: None,
        tool_version: Some("0.0.0".into()),
    };
    let want = essence(s);
    let mut failures = Vec::new();
    for f in OUTPUTS {
        let out = write(s, f, &opts);
        if write(s, f, &opts) != out {
            failures.push(format!(
                "{}: {f:?} output is not deterministic",
                path.display()
            ));
        }
        match read(&out, None) {
            Ok(back) => {
                let got = essence(&back.sbom);
                if got != want {
                    let missing: Vec<_> = want.0.difference(&got.0).take(2).collect();
                    let extra: Vec<_> = got.0.difference(&want.0).take(2).collect();
                    failures.push(format!("{}: {f:?} changed components {missing:?} -> {extra:?} or dependencies ({} vs {})", path.display(), want.1.len(), got.1.len()));
                }
            }
            Err(e) => failures.push(format!(
                "{}: {f:?} output does not read back: {e}",
                path.display()
            )),
        }
    }
    failures
}

#[test]
fn round_trip_local_fixture() {
    let r = read(&fixture("small-cyclonedx-1.6.json"), None).unwrap();
    let f = round_trip(Path::new("small-cyclonedx-1.6.json"), &r.sbom);
    assert!(f.is_empty(), "{}", f.join("\n"));
}

#[test]
fn cyclonedx_conformance_corpus() {
    let Some(root) = shared("sbom/cyclonedx/conformance") else {
        return;
    };
    let mut all = Vec::new();
    files(&root, &[".json", ".xml"], &mut all);
    assert!(
        all.len() > 400,
        "expected the JSON and XML corpus, found {}",
        all.len()
    );
    let mut failures = Vec::new();
    let (mut valid, mut rejected) = (0, 0);
    for f in &all {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let got = read(&std::fs::read(f).unwrap(), None); // never panics, valid or not
        if name.starts_with("valid-") {
            valid += 1;
            match got {
                Ok(r) => failures.extend(round_trip(f, &r.sbom)),
                Err(e) => failures.push(format!("{}: {e}", f.display())),
            }
        } else if got.is_err() {
            rejected += 1;
        }
    }
    eprintln!(
        "conformance: {valid} valid documents read and round-tripped; {rejected} invalid ones rejected, the rest read with warnings"
    );
    assert!(valid > 200, "{valid}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn cyclonedx_examples() {
    let Some(root) = shared("sbom/cyclonedx/examples") else {
        return;
    };
    let mut all = Vec::new();
    files(&root, &[".json", ".xml"], &mut all);
    let mut failures = Vec::new();
    let mut n = 0;
    for f in &all {
        let bytes = std::fs::read(f).unwrap();
        let p = f.to_string_lossy();
        match read(&bytes, None) {
            Ok(r) => {
                n += 1;
                failures.extend(round_trip(f, &r.sbom));
            }
            // Two OBOM examples are genuinely invalid (shared/README.md).
            Err(e) if p.contains("OBOM") => {
                eprintln!("rejected (known invalid): {}: {e}", f.display())
            }
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    assert!(n > 50, "{n}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn spdx_examples() {
    let Some(root) = shared("sbom/spdx") else {
        return;
    };
    let mut all = Vec::new();
    files(&root, &[".json", ".spdx"], &mut all);
    all.retain(|p| !p.ends_with("spdx-2.3-schema.json"));
    let mut failures = Vec::new();
    let mut by_format = std::collections::BTreeMap::new();
    for f in &all {
        match read(&std::fs::read(f).unwrap(), None) {
            Ok(r) => {
                *by_format.entry(r.format).or_insert(0) += 1;
                if r.sbom.components.is_empty() && r.format != Format::Spdx3JsonLd {
                    eprintln!("note: {} has no packages", f.display());
                }
                failures.extend(round_trip(f, &r.sbom));
            }
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    eprintln!("spdx examples read: {by_format:?}");
    assert!(
        by_format.get(&Format::SpdxJson).copied().unwrap_or(0) >= 10,
        "{by_format:?}"
    );
    assert!(
        by_format.get(&Format::SpdxTagValue).copied().unwrap_or(0) >= 10,
        "{by_format:?}"
    );
    assert!(
        by_format.get(&Format::Spdx3JsonLd).copied().unwrap_or(0) >= 10,
        "{by_format:?}"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn xml_entity_and_character_references_are_resolved() {
    let x = br#"<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1">
  <components>
    <component type="library" bom-ref="a&amp;b">
      <name>fish &amp; chips &#x41;&#66;</name>
      <version>1.0 &lt;rc&gt;</version>
      <purl>pkg:npm/fish%26chips@1.0</purl>
    </component>
  </components>
</bom>"#;
    let r = read(x, None).unwrap();
    let c = &r.sbom.components[0];
    assert_eq!(c.name, "fish & chips AB");
    assert_eq!(c.version.as_deref(), Some("1.0 <rc>"));
    let bad = br#"<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><components><component type="library"><name>&nbsp;</name></component></components></bom>"#;
    let e = read(bad, None).unwrap_err().to_string();
    assert!(e.contains("nbsp"), "{e}");
}
