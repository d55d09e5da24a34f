//! SPDX 2.2 / 2.3 JSON: reader and 2.3 writer.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    created, dependency_direction, kind_from_purpose, license_expression, namespace,
    parse_license_field, parse_supplier, purpose, roots, spdx_ids,
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
    let doc: Doc = match serde_json::from_slice(bytes) {
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
    let ids: BTreeSet<String> = comps.iter().map(|c| c.id.clone()).collect();
    let doc_id = doc.spdx_id.unwrap_or_else(|| "SPDXRef-DOCUMENT".into());
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut described: Vec<String> = doc.document_describes;
    for r in doc.relationships {
        let (Some(a), Some(t), Some(b)) = (
            r.spdx_element_id,
            r.relationship_type,
            r.related_spdx_element,
        ) else {
            continue;
        };
        if t == "DESCRIBES" && a == doc_id {
            described.push(b);
            continue;
        }
        if t == "DESCRIBED_BY" && b == doc_id {
            described.push(a);
            continue;
        }
        if let Some(forward) = dependency_direction(&t) {
            let (from, to) = if forward { (a, b) } else { (b, a) };
            if ids.contains(&from) && ids.contains(&to) {
                deps.entry(from).or_default().insert(to);
            }
        }
    }
    if described.len() == 1 && ids.contains(&described[0]) {
        md.target_ref = Some(described[0].clone());
    }
    let sbom = Sbom {
        metadata: md,
        components: comps,
        dependencies: deps,
    };
    Ok(Read {
        sbom,
        format: Format::SpdxJson,
        spec_version,
        warnings,
    })
}

/// Writes SPDX 2.3 JSON.
pub fn write(sbom: &Sbom, opts: &WriteOptions) -> Vec<u8> {
    let ids = spdx_ids(sbom);
    let version = opts
        .tool_version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    let mut refs = BTreeMap::new();
    let mut packages = Vec::with_capacity(sbom.components.len());
    for c in &sbom.components {
        let mut p = Map::new();
        p.insert("SPDXID".into(), json!(ids[&c.id]));
        p.insert("name".into(), json!(c.name));
        if let Some(v) = &c.version {
            p.insert("versionInfo".into(), json!(v));
        }
        p.insert(
            "supplier".into(),
            json!(
                c.supplier
                    .as_ref()
                    .map_or("NOASSERTION".to_string(), |s| format!("Organization: {s}"))
            ),
        );
        p.insert("downloadLocation".into(), json!("NOASSERTION"));
        p.insert("filesAnalyzed".into(), json!(false));
        if !c.hashes.is_empty() {
            let cs: Vec<Value> = c
                .hashes
                .iter()
                .filter(|(a, d)| super::spdx_hash_ok(a, d))
                .map(|(a, d)| json!({ "algorithm": spdx_alg(a), "checksumValue": d }))
                .collect();
            p.insert("checksums".into(), Value::Array(cs));
        }
        p.insert("licenseConcluded".into(), json!("NOASSERTION"));
        p.insert(
            "licenseDeclared".into(),
            json!(license_expression(c, &mut refs).unwrap_or_else(|| "NOASSERTION".into())),
        );
        p.insert("copyrightText".into(), json!("NOASSERTION"));
        let mut ext = Vec::new();
        if let Some(purl) = c.purl.as_ref().map(ToString::to_string) {
            ext.push(json!({ "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl }));
        }
        for cpe in &c.cpes {
            ext.push(json!({ "referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": cpe.to_string() }));
        }
        if !ext.is_empty() {
            p.insert("externalRefs".into(), Value::Array(ext));
        }
        p.insert("primaryPackagePurpose".into(), json!(purpose(c.kind)));
        if let Some(s) = source_info(c) {
            p.insert("sourceInfo".into(), json!(s));
        }
        packages.push(Value::Object(p));
    }
    let mut rels = Vec::new();
    let described: Vec<&str> = match sbom
        .metadata
        .target_ref
        .as_ref()
        .filter(|r| ids.contains_key(*r))
    {
        Some(r) => vec![ids[r].as_str()],
        None => roots(sbom).iter().map(|c| ids[&c.id].as_str()).collect(),
    };
    for d in &described {
        rels.push(json!({ "spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": d }));
    }
    for (from, tos) in &sbom.dependencies {
        let Some(f) = ids.get(from) else { continue };
        for t in tos {
            if let Some(t) = ids.get(t) {
                rels.push(json!({ "spdxElementId": f, "relationshipType": "DEPENDS_ON", "relatedSpdxElement": t }));
            }
        }
    }
    let mut doc = Map::new();
    doc.insert("spdxVersion".into(), json!("SPDX-2.3"));
    doc.insert("dataLicense".into(), json!("CC0-1.0"));
    doc.insert("SPDXID".into(), json!("SPDXRef-DOCUMENT"));
    doc.insert(
        "name".into(),
        json!(
            sbom.metadata
                .target
                .clone()
                .unwrap_or_else(|| "sbom".into())
        ),
    );
    doc.insert("documentNamespace".into(), json!(namespace(sbom, opts)));
    doc.insert(
        "creationInfo".into(),
        json!({ "created": created(sbom, opts), "creators": [format!("Tool: stella-{version}"), "Organization: Stella Ops"] }),
    );
    doc.insert("packages".into(), Value::Array(packages));
    if !rels.is_empty() {
        doc.insert("relationships".into(), Value::Array(rels));
    }
    if !refs.is_empty() {
        let ex: Vec<Value> = refs
            .iter()
            .map(|(id, text)| json!({ "licenseId": id, "extractedText": text, "name": text }))
            .collect();
        doc.insert("hasExtractedLicensingInfos".into(), Value::Array(ex));
    }
    let mut out = serde_json::to_vec_pretty(&Value::Object(doc)).unwrap_or_default();
    out.push(b'\n');
    out
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
