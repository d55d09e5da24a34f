//! SPDX 3.0 JSON-LD (`@graph` serialisation): packages, identifiers, hashes, licenses and
//! `dependsOn` relationships.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::cyclonedx::{add_cpe, add_hash, set_purl};
use crate::detect::Format;
use crate::model::{Component, ComponentKind, Metadata, Sbom, Warning};
use crate::{Read, ReadError};

fn id_of(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(_) => v
            .get("spdxId")
            .or_else(|| v.get("@id"))
            .and_then(Value::as_str),
        _ => None,
    }
}

fn kind(purpose: &str) -> ComponentKind {
    match purpose {
        "application" => ComponentKind::Application,
        "framework" => ComponentKind::Framework,
        "container" => ComponentKind::Container,
        "operatingSystem" => ComponentKind::OperatingSystem,
        "device" => ComponentKind::Device,
        "firmware" => ComponentKind::Firmware,
        "file" => ComponentKind::File,
        _ => ComponentKind::Library,
    }
}

/// Reads an SPDX 3.0 JSON-LD document.
pub fn read(bytes: &[u8]) -> Result<Read, ReadError> {
    let v: Value = crate::from_json(bytes).map_err(|e| ReadError::from_json(&e))?;
    let graph = v
        .get("@graph")
        .and_then(Value::as_array)
        .ok_or_else(|| ReadError::invalid("/@graph", "missing or not an array"))?;
    let mut by_id: BTreeMap<&str, &Value> = BTreeMap::new();
    for el in graph {
        if let Some(id) = id_of(el) {
            by_id.insert(id, el);
        }
        // Nested element objects (e.g. inline creationInfo) are reachable by id too.
        if let Some(ci) = el.get("creationInfo").filter(|c| c.is_object())
            && let Some(id) = id_of(ci)
        {
            by_id.insert(id, ci);
        }
    }
    let ty = |el: &Value| {
        el.get("type")
            .or_else(|| el.get("@type"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let name_of = |id: &str| {
        by_id
            .get(id)
            .and_then(|e| e.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut md = Metadata::default();
    let mut spec_version = String::new();
    let mut warnings = Vec::new();
    let mut comps = Vec::new();
    let mut licenses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut deps: BTreeMap<String, crate::SmallSet> = BTreeMap::new();
    for (i, el) in graph.iter().enumerate() {
        let at = format!("/@graph/{i}");
        let t = ty(el);
        match t.as_str() {
            "CreationInfo" if spec_version.is_empty() => {
                spec_version = el
                    .get("specVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                md.timestamp = el
                    .get("created")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                for tool in el
                    .get("createdUsing")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(n) = id_of(tool).and_then(name_of) {
                        md.tools.push(n);
                    }
                }
            }
            "SpdxDocument" => {
                md.target = el.get("name").and_then(Value::as_str).map(str::to_string);
                md.serial = id_of(el).map(str::to_string);
                if let Some(roots) = el.get("rootElement").and_then(Value::as_array)
                    && roots.len() == 1
                {
                    md.target_ref = id_of(&roots[0]).map(str::to_string);
                }
            }
            "software_Package" | "Package" => {
                let mut c = Component {
                    id: id_of(el).unwrap_or_default().to_string(),
                    name: el
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    version: el
                        .get("software_packageVersion")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    kind: el
                        .get("software_primaryPurpose")
                        .and_then(Value::as_str)
                        .map(kind)
                        .unwrap_or_default(),
                    supplier: el.get("suppliedBy").and_then(id_of).and_then(name_of),
                    ..Component::default()
                };
                if let Some(p) = el.get("software_packageUrl").and_then(Value::as_str) {
                    set_purl(
                        &mut c,
                        &format!("{at}/software_packageUrl"),
                        p,
                        &mut warnings,
                    );
                }
                for (j, x) in el
                    .get("externalIdentifier")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let (Some(kind), Some(ident)) = (
                        x.get("externalIdentifierType").and_then(Value::as_str),
                        x.get("identifier").and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    let at = format!("{at}/externalIdentifier/{j}");
                    match kind {
                        "packageUrl" if c.purl.is_none() => {
                            set_purl(&mut c, &at, ident, &mut warnings)
                        }
                        "cpe23" | "cpe22" => add_cpe(&mut c, &at, ident, &mut warnings),
                        _ => {}
                    }
                }
                for (j, h) in el
                    .get("verifiedUsing")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if let (Some(a), Some(d)) = (
                        h.get("algorithm").and_then(Value::as_str),
                        h.get("hashValue").and_then(Value::as_str),
                    ) {
                        add_hash(
                            &mut c,
                            &format!("{at}/verifiedUsing/{j}"),
                            a,
                            d,
                            &mut warnings,
                        );
                    }
                }
                comps.push(c);
            }
            "Relationship" | "LifecycleScopedRelationship" => {
                let (Some(from), Some(rt)) = (
                    el.get("from").and_then(id_of),
                    el.get("relationshipType").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let tos: Vec<&str> = el
                    .get("to")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(id_of)
                    .collect();
                match rt {
                    "dependsOn" => {
                        deps.entry(from.to_string())
                            .or_default()
                            .extend(tos.iter().map(|s| s.to_string()));
                    }
                    "hasDeclaredLicense" | "hasConcludedLicense" => {
                        for to in tos {
                            let text = by_id.get(to).and_then(|l| {
                                l.get("simplelicensing_licenseExpression")
                                    .and_then(Value::as_str)
                                    .map(str::to_string)
                                    .or_else(|| {
                                        to.rsplit('/')
                                            .next()
                                            .filter(|_| {
                                                to.starts_with("https://spdx.org/licenses/")
                                            })
                                            .map(str::to_string)
                                    })
                            });
                            let text = text.or_else(|| {
                                to.strip_prefix("https://spdx.org/licenses/")
                                    .map(str::to_string)
                            });
                            if let Some(tx) = text.filter(|t| t != "NOASSERTION" && t != "NONE") {
                                let e = licenses.entry(from.to_string()).or_default();
                                // Declared wins: it is what the package says about itself.
                                if rt == "hasDeclaredLicense" {
                                    e.insert(0, tx);
                                } else {
                                    e.push(tx);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if spec_version.is_empty() {
        if !v
            .get("@context")
            .and_then(Value::as_str)
            .is_some_and(|c| c.contains("spdx.org/rdf/3"))
        {
            return Err(ReadError::invalid("/@context", "not an SPDX 3 document"));
        }
        spec_version = "3.0".into();
    }
    for c in &mut comps {
        if let Some(ls) = licenses.get(&c.id)
            && let Some(first) = ls.first()
        {
            c.licenses.push(first.clone());
        }
        if c.name.is_empty() {
            warnings.push(Warning {
                at: c.id.clone(),
                message: "package without a name".into(),
            });
        }
    }
    let ids: BTreeSet<&str> = comps.iter().map(|c| c.id.as_str()).collect();
    deps.retain(|k, _| ids.contains(k.as_str()));
    for tos in deps.values_mut() {
        tos.retain(|t| ids.contains(t.as_str()));
    }
    let sbom = Sbom {
        metadata: md,
        components: comps,
        dependencies: deps,
    };
    Ok(Read {
        sbom,
        format: Format::Spdx3JsonLd,
        spec_version,
        warnings,
    })
}
