//! Syft's native JSON (`syft -o json`): artifacts with locations, layers, CPEs, licenses and
//! the source package from each cataloger's metadata.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::cyclonedx::{add_cpe, set_purl};
use crate::detect::Format;
use crate::model::{Component, Location, Metadata, Sbom, Warning};
use crate::{Read, ReadError};

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
}

/// Reads syft JSON (schema 1.x through 16.x).
pub fn read(bytes: &[u8]) -> Result<Read, ReadError> {
    let v: Value = crate::from_json(bytes).map_err(|e| ReadError::from_json(&e))?;
    let arts = v
        .get("artifacts")
        .and_then(Value::as_array)
        .ok_or_else(|| ReadError::invalid("/artifacts", "missing or not an array"))?;
    let spec_version = v
        .pointer("/schema/version")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut md = Metadata::default();
    if let Some(d) = v.get("descriptor") {
        let name = s(d, "name").unwrap_or_else(|| "syft".into());
        md.tools.push(match s(d, "version") {
            Some(ver) => format!("{name} {ver}"),
            None => name,
        });
        md.timestamp = d
            .pointer("/configuration/timestamp")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    if let Some(src) = v.get("source") {
        md.target = s(src, "name").or_else(|| {
            src.pointer("/metadata/userInput")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    }
    if let Some(d) = v.get("distro") {
        let id = s(d, "id").or_else(|| s(d, "name"));
        let ver = s(d, "versionID").or_else(|| s(d, "version"));
        md.os = id.map(|i| match ver {
            Some(v) => format!("{i} {v}"),
            None => i,
        });
    }
    let mut warnings: Vec<Warning> = Vec::new();
    let mut comps = Vec::with_capacity(arts.len());
    for (i, a) in arts.iter().enumerate() {
        let at = format!("/artifacts/{i}");
        let mut c = Component {
            id: s(a, "id").unwrap_or_default(),
            name: s(a, "name").unwrap_or_default(),
            version: s(a, "version"),
            ..Component::default()
        };
        if let Some(p) = s(a, "purl") {
            set_purl(&mut c, &format!("{at}/purl"), &p, &mut warnings);
        }
        for (j, cpe) in a
            .get("cpes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let text = cpe.as_str().map(str::to_string).or_else(|| s(cpe, "cpe"));
            if let Some(t) = text {
                add_cpe(&mut c, &format!("{at}/cpes/{j}"), &t, &mut warnings);
            }
        }
        for l in a
            .get("licenses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = l
                .as_str()
                .map(str::to_string)
                .or_else(|| s(l, "spdxExpression"))
                .or_else(|| s(l, "value"));
            if let Some(t) = text
                && !c.licenses.contains(&t)
            {
                c.licenses.push(t);
            }
        }
        for l in a
            .get("locations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(path) = s(l, "path").or_else(|| s(l, "accessPath")) {
                c.locations.insert(Location {
                    path,
                    layer: s(l, "layerID"),
                });
            }
        }
        if let Some(m) = a.get("metadata") {
            // dpkg: source/sourceVersion; apk: originPackage; rpm: sourceRpm.
            c.source_name = s(m, "source").or_else(|| s(m, "originPackage"));
            c.source_version = s(m, "sourceVersion");
            if c.source_name.is_none()
                && let Some(srpm) = s(m, "sourceRpm")
            {
                let base = srpm
                    .trim_end_matches(".src.rpm")
                    .trim_end_matches(".nosrc.rpm");
                let mut parts = base.rsplitn(3, '-');
                let (_r, _v, n) = (parts.next(), parts.next(), parts.next());
                c.source_name = n.filter(|n| !n.is_empty()).map(str::to_string);
            }
            c.supplier = s(m, "maintainer")
                .or_else(|| s(m, "vendor"))
                .or_else(|| s(m, "author"));
        }
        comps.push(c);
    }
    let ids: BTreeSet<String> = comps.iter().map(|c| c.id.clone()).collect();
    let mut deps: BTreeMap<String, crate::SmallSet> = BTreeMap::new();
    for r in v
        .get("artifactRelationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(parent), Some(child), Some(t)) = (s(r, "parent"), s(r, "child"), s(r, "type"))
        else {
            continue;
        };
        // syft: parent is a dependency of child.
        if t == "dependency-of" && ids.contains(&parent) && ids.contains(&child) {
            deps.entry(child).or_default().insert(parent);
        }
    }
    let sbom = Sbom {
        metadata: md,
        components: comps,
        dependencies: deps,
    };
    Ok(Read {
        sbom,
        format: Format::SyftJson,
        spec_version,
        warnings,
    })
}
