//! Our CVSS base scores equal the ones NVD published, on every metric of the NVD fixtures.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

#[test]
fn scores_match_nvd() {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let root = Path::new(&dir).join("advisories/vuln-list-fixtures/nvd/testdata/happy");
    if !root.is_dir() {
        eprintln!("SKIP: {} is absent; set STELLA_SHARED_DATA", root.display());
        return;
    }
    let mut all = Vec::new();
    files(&root, &mut all);
    let mut checked = 0;
    for f in all {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let Some(metrics) = v.get("metrics").and_then(|m| m.as_object()) else {
            continue;
        };
        for (kind, list) in metrics {
            for m in list.as_array().into_iter().flatten() {
                let (Some(vector), Some(base)) = (
                    m.pointer("/cvssData/vectorString").and_then(|x| x.as_str()),
                    m.pointer("/cvssData/baseScore").and_then(|x| x.as_f64()),
                ) else {
                    continue;
                };
                let got = match kind.as_str() {
                    "cvssMetricV31" | "cvssMetricV30" => {
                        stella_advisory::cvss::v3_base(vector).unwrap()
                    }
                    "cvssMetricV2" => stella_advisory::cvss::v2_base(vector).unwrap(),
                    "cvssMetricV40" => stella_advisory::cvss4::v4_score(vector).unwrap(),
                    _ => continue,
                };
                assert_eq!(got, base, "{}: {vector}", f.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 5, "{checked}");
}
