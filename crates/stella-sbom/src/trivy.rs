//! Trivy's JSON report (`trivy … --format json`, schema 2): `Results[].Packages`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::cyclonedx::set_purl;
use crate::detect::Format;
use crate::model::{Component, Location, Metadata, Sbom, Warning};
use crate::{Read, ReadError};

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
}

/// `[epoch:]version[-release]` from trivy's split fields.
fn evr(epoch: Option<&Value>, version: Option<String>, release: Option<String>) -> Option<String> {
    let v = version?;
    let e = epoch.and_then(Value::as_u64).filter(|e| *e > 0);
    let mut out = match e {
        Some(e) => format!("{e}:{v}"),
        None => v,
    };
    if let Some(r) = release {
        out.push('-');
        out.push_str(&r);
    }
    Some(out)
}

/// Reads a trivy JSON report.
pub fn read(bytes: &[u8]) -> Result<Read, ReadError> {
    let v: Value = crate::from_json(bytes).map_err(|e| ReadError::from_json(&e))?;
    let spec_version = v
        .get("SchemaVersion")
        .map(|x| x.to_string())
        .ok_or_else(|| ReadError::invalid("/SchemaVersion", "missing"))?;
    let mut md = Metadata {
        target: s(&v, "ArtifactName"),
        timestamp: s(&v, "CreatedAt"),
        ..Metadata::default()
    };
    md.tools.push("trivy".into());
    if let Some(os) = v.pointer("/Metadata/OS") {
        md.os = s(os, "Family").map(|f| match s(os, "Name") {
            Some(n) => format!("{f} {n}"),
            None => f,
        });
    }
    let mut warnings: Vec<Warning> = Vec::new();
    let mut comps = Vec::new();
    let mut raw_deps: Vec<(String, Vec<String>)> = Vec::new();
    for (ri, r) in v
        .get("Results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let target = s(r, "Target");
        for (pi, p) in r
            .get("Packages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("/Results/{ri}/Packages/{pi}");
            let name = s(p, "Name").unwrap_or_default();
            let version = evr(p.get("Epoch"), s(p, "Version"), s(p, "Release"));
            let id = s(p, "ID")
                .or_else(|| {
                    p.pointer("/Identifier/UID")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| format!("{name}@{}", version.clone().unwrap_or_default()));
            let mut c = Component {
                id,
                name,
                version,
                source_name: s(p, "SrcName"),
                source_version: evr(p.get("SrcEpoch"), s(p, "SrcVersion"), s(p, "SrcRelease")),
                supplier: s(p, "Maintainer"),
                ..Component::default()
            };
            if let Some(purl) = p.pointer("/Identifier/PURL").and_then(Value::as_str) {
                set_purl(
                    &mut c,
                    &format!("{at}/Identifier/PURL"),
                    purl,
                    &mut warnings,
                );
            }
            for l in p
                .get("Licenses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                c.licenses.push(l.to_string());
            }
            let layer = p
                .pointer("/Layer/DiffID")
                .and_then(Value::as_str)
                .map(str::to_string);
            let path = s(p, "FilePath")
                .or_else(|| {
                    target
                        .clone()
                        .filter(|_| s(r, "Class").as_deref() == Some("lang-pkgs"))
                })
                .unwrap_or_default();
            if !path.is_empty() || layer.is_some() {
                c.locations.insert(Location { path, layer });
            }
            let dependson: Vec<String> = p
                .get("DependsOn")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            if !dependson.is_empty() {
                raw_deps.push((c.id.clone(), dependson));
            }
            comps.push(c);
        }
    }
    let ids: BTreeSet<String> = comps.iter().map(|c| c.id.clone()).collect();
    let mut deps: BTreeMap<String, crate::SmallSet> = BTreeMap::new();
    for (from, tos) in raw_deps {
        let e = deps.entry(from).or_default();
        e.extend(tos.into_iter().filter(|t| ids.contains(t)));
    }
    let sbom = Sbom {
        metadata: md,
        components: comps,
        dependencies: deps,
    };
    Ok(Read {
        sbom,
        format: Format::TrivyJson,
        spec_version,
        warnings,
    })
}
