//! Every input that made a fuzzer find a bug, replayed through every parser
//! (`testdata/fuzz-regressions/`, one file per finding, named after the bug).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use stella_sbom::{Cpe, OutputFormat, Purl, WriteOptions, read, write};

#[test]
fn fuzz_findings_stay_fixed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/fuzz-regressions");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let data = std::fs::read(&p).unwrap();
        n += 1;
        if let Ok(s) = std::str::from_utf8(&data) {
            if let Ok(purl) = Purl::parse(s) {
                let canon = purl.to_string();
                assert_eq!(
                    Purl::parse(&canon).unwrap().to_string(),
                    canon,
                    "{}",
                    p.display()
                );
            }
            if let Ok(c) = Cpe::parse(s) {
                assert_eq!(Cpe::parse(&c.to_string()).unwrap(), c, "{}", p.display());
            }
        }
        if let Ok(r) = read(&data, None) {
            for f in [
                OutputFormat::CycloneDxJson(6),
                OutputFormat::CycloneDxXml(6),
                OutputFormat::SpdxJson,
                OutputFormat::SpdxTagValue,
            ] {
                let out = write(&r.sbom, f, &WriteOptions::default());
                assert!(read(&out, None).is_ok(), "{}: {f:?}", p.display());
            }
        }
    }
    assert!(n > 0);
}
