//! CycloneDX JSON and XML: readers for 1.0–1.7, writers for 1.4–1.6.
//!
//! Properties other tools use for what CycloneDX has no field for (the source package, the
//! layer, the file a package was found in) are read from syft (`syft:`), trivy
//! (`aquasecurity:trivy:`) and our own (`stella:`) names; we write our own.

pub mod json;
pub mod xml;

use std::collections::BTreeMap;

use crate::hash;
use crate::model::{Component, Location, Warning};
use crate::{Cpe, Purl};

/// Collects the properties of one component, then applies them all at once (indexes of
/// `…:location:N:…` pair paths with layers).
#[derive(Default)]
pub(crate) struct Props {
    source_name: Option<String>,
    source_version: Option<String>,
    rpm_source: Option<String>,
    locations: BTreeMap<usize, (Option<String>, Option<String>)>,
    raw_purl: Option<String>,
    layer_all: Option<String>,
    paths: Vec<String>,
}

impl Props {
    /// Records one `properties[]` entry.
    pub(crate) fn add(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        let v = || Some(value.to_string());
        match name {
            "stella:sourceName"
            | "syft:metadata:source"
            | "syft:metadata:originPackage"
            | "aquasecurity:trivy:SrcName" => {
                if self.source_name.is_none() {
                    self.source_name = v();
                }
            }
            "stella:sourceVersion"
            | "syft:metadata:sourceVersion"
            | "aquasecurity:trivy:SrcVersion" => {
                if self.source_version.is_none() {
                    self.source_version = v();
                }
            }
            "syft:metadata:sourceRpm" => self.rpm_source = v(),
            "stella:rawPurl" => self.raw_purl = v(),
            "aquasecurity:trivy:LayerDiffID" => self.layer_all = v(),
            "aquasecurity:trivy:FilePath" => self.paths.push(value.to_string()),
            _ => {
                let mut it = name.split(':');
                if let (Some("syft" | "stella"), Some("location"), Some(n), Some(field), None) =
                    (it.next(), it.next(), it.next(), it.next(), it.next())
                    && let Ok(n) = n.parse::<usize>()
                {
                    let e = self.locations.entry(n).or_default();
                    match field {
                        "path" => e.0 = v(),
                        "layerID" | "layer" => e.1 = v(),
                        _ => {}
                    }
                }
            }
        }
    }

    /// Applies what was collected.
    pub(crate) fn apply(self, c: &mut Component) {
        if c.source_name.is_none() {
            c.source_name = self.source_name.or_else(|| {
                // `openssl-1.1.1k-7.el8_6.src.rpm` → `openssl`
                let r = self.rpm_source?;
                let base = r
                    .trim_end_matches(".src.rpm")
                    .trim_end_matches(".nosrc.rpm");
                let mut parts = base.rsplitn(3, '-');
                let (_rel, _ver, name) = (parts.next(), parts.next(), parts.next());
                name.filter(|n| !n.is_empty()).map(str::to_string)
            });
        }
        if c.source_version.is_none() {
            c.source_version = self.source_version;
        }
        if c.purl.is_none() && c.raw_purl.is_none() {
            c.raw_purl = self.raw_purl;
        }
        for (_, (path, layer)) in self.locations {
            let path = path.unwrap_or_default();
            if !path.is_empty() || layer.is_some() {
                c.locations.insert(Location { path, layer });
            }
        }
        for p in self.paths {
            c.locations.insert(Location {
                path: p,
                layer: self.layer_all.clone(),
            });
        }
        if let Some(l) = self.layer_all
            && c.locations.is_empty()
        {
            c.locations.insert(Location {
                path: String::new(),
                layer: Some(l),
            });
        }
    }
}

/// Adds a hash after validation; problems become warnings.
pub(crate) fn add_hash(
    c: &mut Component,
    at: &str,
    alg: &str,
    content: &str,
    warnings: &mut Vec<Warning>,
) {
    add_hash_at(c, || at.to_string(), alg, content, warnings);
}

/// [`add_hash`] with the location computed only when there is something to report.
pub(crate) fn add_hash_at(
    c: &mut Component,
    at: impl FnOnce() -> String,
    alg: &str,
    content: &str,
    warnings: &mut Vec<Warning>,
) {
    match hash::normalize(alg, content) {
        Ok((a, d)) => {
            c.hashes.insert(a.to_string(), d);
        }
        Err(e) => warnings.push(Warning {
            at: at(),
            message: e,
        }),
    }
}

/// Sets the purl, or keeps the raw text with a warning.
pub(crate) fn set_purl(c: &mut Component, at: &str, p: &str, warnings: &mut Vec<Warning>) {
    set_purl_at(c, || at.to_string(), p, warnings);
}

/// [`set_purl`] with a lazily computed location.
pub(crate) fn set_purl_at(
    c: &mut Component,
    at: impl FnOnce() -> String,
    p: &str,
    warnings: &mut Vec<Warning>,
) {
    match Purl::parse(p) {
        Ok(p) => c.purl = Some(p),
        Err(e) => {
            warnings.push(Warning {
                at: at(),
                message: e.to_string(),
            });
            c.raw_purl = Some(p.to_string());
        }
    }
}

/// Adds a CPE, or warns.
pub(crate) fn add_cpe(c: &mut Component, at: &str, s: &str, warnings: &mut Vec<Warning>) {
    add_cpe_at(c, || at.to_string(), s, warnings);
}

/// [`add_cpe`] with a lazily computed location.
pub(crate) fn add_cpe_at(
    c: &mut Component,
    at: impl FnOnce() -> String,
    s: &str,
    warnings: &mut Vec<Warning>,
) {
    match Cpe::parse(s) {
        Ok(x) => {
            if !c.cpes.contains(&x) {
                c.cpes.push(x);
            }
        }
        Err(e) => warnings.push(Warning {
            at: at(),
            message: e.to_string(),
        }),
    }
}

/// The serial to write: option, else the document's own if it is a URN UUID, else derived.
pub(crate) fn serial(sbom: &crate::Sbom, opts: &crate::WriteOptions) -> String {
    if let Some(s) = &opts.serial {
        return s.clone();
    }
    if let Some(s) = &sbom.metadata.serial
        && is_urn_uuid(s)
    {
        return s.clone();
    }
    format!("urn:uuid:{}", sbom.derived_uuid())
}

fn is_urn_uuid(s: &str) -> bool {
    let Some(u) = s.strip_prefix("urn:uuid:") else {
        return false;
    };
    let parts: Vec<&str> = u.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12].iter().zip(&parts).all(|(n, p)| {
            p.len() == *n
                && p.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
        && matches!(parts[2].as_bytes()[0], b'1'..=b'5')
        && matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b')
}

/// Properties we write for what CycloneDX has no field for, sorted by name.
pub(crate) fn stella_properties(c: &Component) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(s) = &c.source_name {
        out.push(("stella:sourceName".to_string(), s.clone()));
    }
    if let Some(s) = &c.source_version {
        out.push(("stella:sourceVersion".to_string(), s.clone()));
    }
    for (i, l) in c.locations.iter().enumerate() {
        if !l.path.is_empty() {
            out.push((format!("stella:location:{i}:path"), l.path.clone()));
        }
        if let Some(layer) = &l.layer {
            out.push((format!("stella:location:{i}:layer"), layer.clone()));
        }
    }
    out
}
