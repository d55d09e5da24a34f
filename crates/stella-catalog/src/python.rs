//! Installed Python distributions: `*.dist-info/METADATA` (wheels) and `*.egg-info/PKG-INFO`
//! (or an `*.egg-info` file), core metadata as PEP 566 / PEP 639 define it.
//!
//! Traps: headers end at the first blank line (the description follows); `License-Expression`
//! (PEP 639) beats `License`, which is often a whole license text or `UNKNOWN` and then beats
//! nothing; license classifiers are the last resort; names are normalised (PEP 503) in purls
//! only.

use crate::{Cataloger, Kind, Package};

/// The Python cataloger.
pub struct Python;

impl Cataloger for Python {
    fn name(&self) -> &'static str {
        "python"
    }

    fn wants(&self, path: &str) -> bool {
        path.ends_with(".dist-info/METADATA")
            || path.ends_with(".egg-info/PKG-INFO")
            || (path.ends_with(".egg-info") && path.contains("-packages/"))
    }

    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
        let text = String::from_utf8_lossy(content);
        let mut name = None;
        let mut version = None;
        let mut expression = None;
        let mut license = None;
        let mut classifiers = Vec::new();
        for line in text.lines() {
            if line.trim().is_empty() {
                break;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            match k.trim() {
                "Name" => name = Some(v.to_string()),
                "Version" => version = Some(v.to_string()),
                "License-Expression" => expression = Some(v.to_string()),
                "License" => license = Some(v.to_string()),
                "Classifier" => {
                    if let Some(l) = v.strip_prefix("License :: ") {
                        let l = l.rsplit(" :: ").next().unwrap_or(l).trim();
                        if l != "OSI Approved" {
                            classifiers.push(l.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            return Ok(Vec::new());
        };
        let license = license.filter(|l| {
            !l.is_empty()
                && !l.eq_ignore_ascii_case("UNKNOWN")
                && l.len() < 100
                && !l.contains('\n')
        });
        let licenses = match (expression, license) {
            (Some(e), _) => vec![e],
            (None, Some(l)) => vec![l],
            (None, None) => classifiers,
        };
        Ok(vec![Package {
            kind: Kind::Python,
            name,
            version,
            arch: None,
            source_name: None,
            source_version: None,
            module: None,
            licenses,
            location: path.to_string(),
            layer: None,
            repository: None,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata() {
        let m = "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\nClassifier: License :: OSI Approved :: Apache Software License\n\nLicense: not a header\n";
        let p = Python
            .parse(
                "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
                m.as_bytes(),
            )
            .unwrap();
        assert_eq!(p[0].name, "requests");
        assert_eq!(p[0].licenses, ["Apache 2.0"]);
        let c = Python
            .parse("x.dist-info/METADATA", b"Name: a\nVersion: 1\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: MIT License\n")
            .unwrap();
        assert_eq!(c[0].licenses, ["MIT License"]);
    }
}
