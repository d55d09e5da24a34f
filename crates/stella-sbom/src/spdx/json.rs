//! SPDX 2.2 / 2.3 JSON: reader and 2.3 writer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    created, kind_from_purpose, license_expression, namespace, parse_license_field, parse_supplier,
    purpose, roots, spdx_ids,
};
use crate::cyclonedx::{add_cpe, add_hash, set_purl};
use crate::detect::Format;
use crate::hash::spdx_alg;
use crate::model::{Component, Metadata, Sbom, Warning};
use crate::{Read, ReadError, WriteOptions};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    spdx_version: Option<String>,
    #[serde(rename = "SPDXID")]
    spdx_id: Option<String>,
    name: Option<String>,
    document_namespace: Option<String>,
    creation_info: Option<CreationInfo>,
    #[serde(default)]
    packages: Vec<Package>,
    #[serde(default)]
    relationships: Vec<Relationship>,
    #[serde(default)]
    document_describes: Vec<String>,
    #[serde(default)]
    has_extracted_licensing_infos: Vec<Extracted>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extracted {
    license_id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct CreationInfo {
    created: Option<String>,
    #[serde(default)]
    creators: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: Option<String>,
    name: Option<String>,
    version_info: Option<String>,
    supplier: Option<String>,
    originator: Option<String>,
    license_declared: Option<String>,
    license_concluded: Option<String>,
    #[serde(default)]
    checksums: Vec<Checksum>,
    #[serde(default)]
    external_refs: Vec<ExternalRef>,
    primary_package_purpose: Option<String>,
    source_info: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: String,
    checksum_value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: Option<String>,
    reference_type: Option<String>,
    reference_locator: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: Option<String>,
    relationship_type: Option<String>,
    related_spdx_element: Option<String>,
}

/// Applies one external reference (purl, CPE) to a component.
pub(crate) fn apply_ref(
    c: &mut Component,
    at: &str,
    category: &str,
    ty: &str,
    locator: &str,
    warnings: &mut Vec<Warning>,
) {
    let _ = category;
    match ty {
        "purl" if c.purl.is_none() && c.raw_purl.is_none() => set_purl(c, at, locator, warnings),
        "cpe23Type" | "cpe22Type" | "cpe23" | "cpe22" => add_cpe(c, at, locator, warnings),
        _ => {}
    }
}

/// Reads SPDX 2.2/2.3 JSON.
pub fn read(bytes: &[u8]) -> Result<Read, ReadError> {
    let doc: Doc = match crate::from_json(bytes) {
        Ok(d) => d,
        Err(e) if e.is_data() => return Err(ReadError::json_shape::<Doc>(bytes, &e)),
        Err(e) => return Err(ReadError::from_json(&e)),
    };
    let spec_version = doc
        .spdx_version
        .ok_or_else(|| ReadError::invalid("/spdxVersion", "missing"))?;
    if !spec_version.starts_with("SPDX-2.") {
        return Err(ReadError::invalid(
            "/spdxVersion",
            format!("`{spec_version}` is not SPDX 2.x"),
        ));
    }
    let mut warnings = Vec::new();
    let mut md = Metadata {
        serial: doc.document_namespace,
        target: doc.name,
        ..Metadata::default()
    };
    if let Some(ci) = doc.creation_info {
        md.timestamp = ci.created;
        md.tools = ci
            .creators
            .iter()
            .filter_map(|c| c.strip_prefix("Tool:"))
            .map(|t| t.trim().to_string())
            .collect();
    }
    let names: BTreeMap<String, String> = doc
        .has_extracted_licensing_infos
        .into_iter()
        .filter_map(|e| Some((e.license_id?, e.name?)))
        .filter(|(_, n)| !n.is_empty() && n != "NOASSERTION")
        .collect();
    let mut comps = Vec::with_capacity(doc.packages.len());
    for (i, p) in doc.packages.into_iter().enumerate() {
        let at = format!("/packages/{i}");
        let mut c = Component {
            id: p.spdx_id.unwrap_or_default(),
            name: p.name.unwrap_or_default(),
            version: p
                .version_info
                .filter(|v| !v.is_empty() && v != "NOASSERTION"),
            supplier: p
                .supplier
                .as_deref()
                .and_then(parse_supplier)
                .or_else(|| p.originator.as_deref().and_then(parse_supplier)),
            kind: p
                .primary_package_purpose
                .as_deref()
                .map(kind_from_purpose)
                .unwrap_or_default(),
            ..Component::default()
        };
        if let Some(l) = p
            .license_declared
            .as_deref()
            .and_then(parse_license_field)
            .or_else(|| p.license_concluded.as_deref().and_then(parse_license_field))
        {
            c.licenses.push(super::named_license(l, &names));
        }
        for (j, h) in p.checksums.iter().enumerate() {
            add_hash(
                &mut c,
                &format!("{at}/checksums/{j}"),
                &h.algorithm,
                &h.checksum_value,
                &mut warnings,
            );
        }
        for (j, r) in p.external_refs.iter().enumerate() {
            if let (Some(t), Some(l)) = (&r.reference_type, &r.reference_locator) {
                apply_ref(
                    &mut c,
                    &format!("{at}/externalRefs/{j}"),
                    r.reference_category.as_deref().unwrap_or(""),
                    t,
                    l,
                    &mut warnings,
                );
            }
        }
        if let Some(si) = &p.source_info {
            parse_source_info(&mut c, si);
        }
        if c.name.is_empty() {
            warnings.push(Warning {
                at: at.clone(),
                message: "package without a name".into(),
            });
        }
        comps.push(c);
    }
    let doc_id = doc.spdx_id.unwrap_or_else(|| "SPDXRef-DOCUMENT".into());
    let mut sbom = Sbom {
        metadata: md,
        components: comps,
        dependencies: BTreeMap::new(),
    };
    let rels = doc.relationships.into_iter().filter_map(|r| {
        Some((
            r.spdx_element_id?,
            r.relationship_type?,
            r.related_spdx_element?,
        ))
    });
    super::apply_relationships(&doc_id, doc.document_describes, rels, &mut sbom);
    Ok(Read {
        sbom,
        format: Format::SpdxJson,
        spec_version,
        warnings,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutDoc<'a> {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: &'a str,
    document_namespace: String,
    creation_info: OutCreation,
    packages: LazyPackages<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    relationships: Vec<OutRel<'a>>,
    #[serde(skip_serializing_if = "LazyExtracted::is_empty")]
    has_extracted_licensing_infos: LazyExtracted<'a>,
}

/// Packages serialised one at a time; the licence references they need are collected as
/// they go and written after them.
struct LazyPackages<'a> {
    sbom: &'a Sbom,
    ids: &'a BTreeMap<String, String>,
    refs: &'a std::cell::RefCell<BTreeMap<String, String>>,
}

impl Serialize for LazyPackages<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.sbom
                .components
                .iter()
                .map(|c| out_package(c, self.ids, &mut self.refs.borrow_mut())),
        )
    }
}

/// `hasExtractedLicensingInfos`, from what the packages used.
struct LazyExtracted<'a>(&'a std::cell::RefCell<BTreeMap<String, String>>);

impl LazyExtracted<'_> {
    /// Checked after the packages were written, so it knows whether any needed a reference.
    fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
}

impl Serialize for LazyExtracted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let refs = self.0.borrow();
        s.collect_seq(refs.iter().map(|(id, text)| OutExtracted {
            license_id: id,
            extracted_text: text,
            name: text,
        }))
    }
}

#[derive(Serialize)]
struct OutCreation {
    created: String,
    creators: [String; 2],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutPackage<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<&'a str>,
    supplier: String,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<OutChecksum<'a>>,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<OutRef>,
    primary_package_purpose: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutChecksum<'a> {
    algorithm: &'static str,
    checksum_value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutRel<'a> {
    spdx_element_id: &'a str,
    relationship_type: &'static str,
    related_spdx_element: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutExtracted<'a> {
    license_id: &'a str,
    extracted_text: &'a str,
    name: &'a str,
}

fn out_package<'a>(
    c: &'a Component,
    ids: &'a BTreeMap<String, String>,
    refs: &mut BTreeMap<String, String>,
) -> OutPackage<'a> {
    let mut external_refs = Vec::new();
    if let Some(purl) = &c.purl {
        external_refs.push(OutRef {
            reference_category: "PACKAGE-MANAGER",
            reference_type: "purl",
            reference_locator: purl.to_string(),
        });
    }
    for cpe in &c.cpes {
        external_refs.push(OutRef {
            reference_category: "SECURITY",
            reference_type: "cpe23Type",
            reference_locator: cpe.to_string(),
        });
    }
    OutPackage {
        spdx_id: &ids[&c.id],
        name: &c.name,
        version_info: c.version.as_deref(),
        supplier: c
            .supplier
            .as_ref()
            .map_or("NOASSERTION".to_string(), |s| format!("Organization: {s}")),
        download_location: "NOASSERTION",
        files_analyzed: false,
        checksums: c
            .hashes
            .iter()
            .filter(|(a, d)| super::spdx_hash_ok(a, d))
            .map(|(a, d)| OutChecksum {
                algorithm: spdx_alg(a),
                checksum_value: d,
            })
            .collect(),
        license_concluded: "NOASSERTION",
        license_declared: license_expression(c, refs).unwrap_or_else(|| "NOASSERTION".into()),
        copyright_text: "NOASSERTION",
        external_refs,
        primary_package_purpose: purpose(c.kind),
        source_info: source_info(c),
    }
}

/// Writes SPDX 2.3 JSON.
pub fn write(sbom: &Sbom, opts: &WriteOptions) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + sbom.components.len() * 600);
    // Writing into a Vec cannot fail.
    let _ = write_to(sbom, opts, &mut out);
    out
}

/// Writes SPDX 2.3 JSON to `w`, streaming.
pub fn write_to(
    sbom: &Sbom,
    opts: &WriteOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let ids = spdx_ids(sbom);
    let version = opts
        .tool_version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    let refs = std::cell::RefCell::new(BTreeMap::new());
    let mut relationships = Vec::new();
    let described: Vec<&str> = match sbom
        .metadata
        .target_ref
        .as_ref()
        .filter(|r| ids.contains_key(*r))
    {
        Some(r) => vec![ids[r].as_str()],
        None => roots(sbom).iter().map(|c| ids[&c.id].as_str()).collect(),
    };
    for d in described {
        relationships.push(OutRel {
            spdx_element_id: "SPDXRef-DOCUMENT",
            relationship_type: "DESCRIBES",
            related_spdx_element: d,
        });
    }
    for (from, tos) in &sbom.dependencies {
        let Some(f) = ids.get(from) else { continue };
        for t in tos {
            if let Some(t) = ids.get(t) {
                relationships.push(OutRel {
                    spdx_element_id: f,
                    relationship_type: "DEPENDS_ON",
                    related_spdx_element: t,
                });
            }
        }
    }
    let doc = OutDoc {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: sbom.metadata.target.as_deref().unwrap_or("sbom"),
        document_namespace: namespace(sbom, opts),
        creation_info: OutCreation {
            created: created(sbom, opts),
            creators: [
                format!("Tool: stella-{version}"),
                "Organization: Stella Ops".to_string(),
            ],
        },
        packages: LazyPackages {
            sbom,
            ids: &ids,
            refs: &refs,
        },
        relationships,
        has_extracted_licensing_infos: LazyExtracted(&refs),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}

/// Source package and locations, as free text (SPDX 2.3 has no fields for them).
pub(crate) fn source_info(c: &Component) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(n) = &c.source_name {
        parts.push(format!(
            "source package {n}{}",
            c.source_version
                .as_ref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default()
        ));
    }
    for l in &c.locations {
        match &l.layer {
            Some(layer) => parts.push(format!("found in {} (layer {layer})", l.path)),
            None if !l.path.is_empty() => parts.push(format!("found in {}", l.path)),
            None => {}
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("; "))
    }
}

/// Reads back what [`source_info`] wrote (other tools' free text is ignored).
pub(crate) fn parse_source_info(c: &mut Component, s: &str) {
    for part in s.split("; ") {
        if let Some(rest) = part.strip_prefix("source package ") {
            let mut it = rest.splitn(2, ' ');
            c.source_name = it.next().map(str::to_string).filter(|x| !x.is_empty());
            c.source_version = it.next().map(str::to_string);
        } else if let Some(rest) = part.strip_prefix("found in ") {
            let (path, layer) = match rest
                .strip_suffix(')')
                .and_then(|r| r.rsplit_once(" (layer "))
            {
                Some((p, l)) => (p.to_string(), Some(l.to_string())),
                None => (rest.to_string(), None),
            };
            c.locations.insert(crate::Location { path, layer });
        }
    }
}
