//! CycloneDX JSON reading (1.2 to 1.7): nested components flattened, dependencies kept,
//! unknown fields ignored; problems that do not stop the read become warnings.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::model::{Component, ComponentKind, Metadata, Sbom, Warning};
use crate::{Cpe, Purl};

/// Why a document could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not JSON, truncated, or nested too deeply.
    #[error("not valid JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// JSON, but not a CycloneDX document.
    #[error("not a CycloneDX document: {0}")]
    NotCycloneDx(String),
    /// A structural error at a JSON pointer.
    #[error("{pointer}: {message}")]
    Invalid {
        /// Where.
        pointer: String,
        /// What.
        message: String,
    },
}

/// The result of a successful read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// The document.
    pub sbom: Sbom,
    /// Problems that did not stop the read.
    pub warnings: Vec<Warning>,
    /// `specVersion` as written.
    pub spec_version: String,
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// Reads a CycloneDX JSON document.
pub fn read_json(bytes: &[u8]) -> Result<Read, ReadError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| ReadError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if v.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(ReadError::NotCycloneDx(
            "`bomFormat` is not \"CycloneDX\"".into(),
        ));
    }
    let spec_version = s(&v, "specVersion").ok_or_else(|| ReadError::Invalid {
        pointer: "/specVersion".into(),
        message: "missing".into(),
    })?;
    let mut warnings = Vec::new();
    let mut sbom = Sbom::default();
    let mut seen = BTreeSet::new();
    let mut md = Metadata {
        serial: s(&v, "serialNumber"),
        ..Metadata::default()
    };
    if let Some(m) = v.get("metadata") {
        md.timestamp = s(m, "timestamp");
        match m.get("tools") {
            Some(Value::Array(tools)) => {
                for t in tools {
                    md.tools.push(tool_name(t));
                }
            }
            Some(Value::Object(o)) => {
                for key in ["components", "services"] {
                    for t in o.get(key).and_then(Value::as_array).into_iter().flatten() {
                        md.tools.push(tool_name(t));
                    }
                }
            }
            _ => {}
        }
        if let Some(c) = m.get("component") {
            md.target = s(c, "name");
            // The described subject is a valid dependency reference.
            if let Some(r) = s(c, "bom-ref") {
                seen.insert(r);
            }
        }
    }
    sbom.metadata = md;
    if let Some(list) = v.get("components") {
        let arr = list.as_array().ok_or_else(|| ReadError::Invalid {
            pointer: "/components".into(),
            message: "must be an array".into(),
        })?;
        for (i, c) in arr.iter().enumerate() {
            walk(
                c,
                &format!("/components/{i}"),
                &mut sbom.components,
                &mut seen,
                &mut warnings,
            );
        }
    }
    for (i, d) in v
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(r) = s(d, "ref") else {
            warnings.push(Warning {
                at: format!("/dependencies/{i}"),
                message: "dependency without `ref`".into(),
            });
            continue;
        };
        let entry = sbom.dependencies.entry(r).or_default();
        for (j, to) in d
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            match to.as_str() {
                Some(t) => {
                    entry.insert(t.to_string());
                }
                None => warnings.push(Warning {
                    at: format!("/dependencies/{i}/dependsOn/{j}"),
                    message: "not a string".into(),
                }),
            }
        }
    }
    for (from, tos) in &sbom.dependencies {
        for t in std::iter::once(from).chain(tos) {
            if !seen.contains(t) {
                warnings.push(Warning {
                    at: "/dependencies".into(),
                    message: format!("dangling reference `{t}`"),
                });
            }
        }
    }
    warnings.sort();
    warnings.dedup();
    Ok(Read {
        sbom,
        warnings,
        spec_version,
    })
}

fn tool_name(t: &Value) -> String {
    let name = s(t, "name").unwrap_or_default();
    match s(t, "version") {
        Some(v) => format!("{name} {v}"),
        None => name,
    }
}

fn walk(
    c: &Value,
    at: &str,
    out: &mut Vec<Component>,
    seen: &mut BTreeSet<String>,
    warnings: &mut Vec<Warning>,
) {
    let mut comp = Component {
        kind: c
            .get("type")
            .and_then(Value::as_str)
            .map(ComponentKind::from_cyclonedx)
            .unwrap_or_default(),
        name: s(c, "name").unwrap_or_default(),
        group: s(c, "group"),
        version: s(c, "version"),
        supplier: c
            .get("supplier")
            .and_then(|x| s(x, "name"))
            .or_else(|| s(c, "publisher")),
        ..Component::default()
    };
    if comp.name.is_empty() {
        warnings.push(Warning {
            at: at.into(),
            message: "component without a name".into(),
        });
    }
    comp.id = s(c, "bom-ref").unwrap_or_else(|| format!("component-{}", out.len()));
    if !seen.insert(comp.id.clone()) {
        warnings.push(Warning {
            at: format!("{at}/bom-ref"),
            message: format!("duplicate bom-ref `{}`", comp.id),
        });
    }
    if let Some(p) = s(c, "purl") {
        match Purl::parse(&p) {
            Ok(p) => comp.purl = Some(p),
            Err(e) => {
                warnings.push(Warning {
                    at: format!("{at}/purl"),
                    message: e.to_string(),
                });
                comp.raw_purl = Some(p);
            }
        }
    }
    if let Some(cpe) = s(c, "cpe") {
        match Cpe::parse(&cpe) {
            Ok(x) => comp.cpes.push(x),
            Err(e) => warnings.push(Warning {
                at: format!("{at}/cpe"),
                message: e.to_string(),
            }),
        }
    }
    for l in c
        .get("licenses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(e) = s(l, "expression") {
            comp.licenses.push(e);
        } else if let Some(lic) = l.get("license") {
            if let Some(x) = s(lic, "id").or_else(|| s(lic, "name")) {
                comp.licenses.push(x);
            }
        }
    }
    for h in c
        .get("hashes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(a), Some(d)) = (s(h, "alg"), s(h, "content")) {
            comp.hashes
                .insert(a.to_ascii_uppercase(), d.to_ascii_lowercase());
        }
    }
    let children = c
        .get("components")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    out.push(comp);
    for (i, child) in children.iter().enumerate() {
        walk(child, &format!("{at}/components/{i}"), out, seen, warnings);
    }
}
