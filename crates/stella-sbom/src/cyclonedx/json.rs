//! CycloneDX JSON: a typed, borrowing reader (fast on large documents) and a writer for
//! specification versions 1.4, 1.5 and 1.6.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Props, add_cpe, add_hash, serial, set_purl, stella_properties};
use crate::detect::Format;
use crate::license::{License, classify};
use crate::model::{Component, ComponentKind, Metadata, Sbom, Warning};
use crate::{Read, ReadError, WriteOptions};

type S<'a> = Cow<'a, str>;

#[derive(Deserialize)]
struct Bom<'a> {
    #[serde(rename = "bomFormat", borrow)]
    bom_format: Option<S<'a>>,
    #[serde(rename = "specVersion", borrow)]
    spec_version: Option<S<'a>>,
    #[serde(rename = "serialNumber", borrow)]
    serial_number: Option<S<'a>>,
    #[serde(borrow)]
    metadata: Option<Meta<'a>>,
    #[serde(borrow)]
    components: Option<Vec<Comp<'a>>>,
    #[serde(borrow)]
    dependencies: Option<Vec<Dep<'a>>>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(borrow)]
    timestamp: Option<S<'a>>,
    tools: Option<Tools<'a>>,
    #[serde(borrow)]
    component: Option<Box<Comp<'a>>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Tools<'a> {
    Legacy(#[serde(borrow)] Vec<Tool<'a>>),
    Modern {
        #[serde(borrow, default)]
        components: Vec<Tool<'a>>,
        #[serde(borrow, default)]
        services: Vec<Tool<'a>>,
    },
}

#[derive(Deserialize)]
struct Tool<'a> {
    #[serde(borrow)]
    name: Option<S<'a>>,
    #[serde(borrow)]
    version: Option<S<'a>>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow)]
    name: Option<S<'a>>,
}

#[derive(Deserialize)]
struct Comp<'a> {
    #[serde(rename = "type", borrow)]
    ty: Option<S<'a>>,
    #[serde(rename = "bom-ref", borrow)]
    bom_ref: Option<S<'a>>,
    #[serde(borrow)]
    supplier: Option<Named<'a>>,
    #[serde(borrow)]
    publisher: Option<S<'a>>,
    #[serde(borrow)]
    group: Option<S<'a>>,
    #[serde(borrow)]
    name: Option<S<'a>>,
    #[serde(borrow)]
    version: Option<S<'a>>,
    #[serde(borrow)]
    licenses: Option<Vec<LicenseChoice<'a>>>,
    #[serde(borrow)]
    hashes: Option<Vec<Hash<'a>>>,
    #[serde(borrow)]
    cpe: Option<S<'a>>,
    #[serde(borrow)]
    purl: Option<S<'a>>,
    #[serde(borrow)]
    properties: Option<Vec<Property<'a>>>,
    #[serde(borrow)]
    components: Option<Vec<Comp<'a>>>,
    #[serde(borrow)]
    evidence: Option<Evidence<'a>>,
}

#[derive(Deserialize)]
struct LicenseChoice<'a> {
    #[serde(borrow)]
    license: Option<LicenseObj<'a>>,
    #[serde(borrow)]
    expression: Option<S<'a>>,
}

#[derive(Deserialize)]
struct LicenseObj<'a> {
    #[serde(borrow)]
    id: Option<S<'a>>,
    #[serde(borrow)]
    name: Option<S<'a>>,
}

#[derive(Deserialize)]
struct Hash<'a> {
    #[serde(borrow)]
    alg: S<'a>,
    #[serde(borrow)]
    content: S<'a>,
}

#[derive(Deserialize)]
struct Property<'a> {
    #[serde(borrow)]
    name: Option<S<'a>>,
    #[serde(borrow)]
    value: Option<S<'a>>,
}

#[derive(Deserialize)]
struct Evidence<'a> {
    #[serde(borrow)]
    occurrences: Option<Vec<Occurrence<'a>>>,
}

#[derive(Deserialize)]
struct Occurrence<'a> {
    #[serde(borrow)]
    location: Option<S<'a>>,
}

#[derive(Deserialize)]
struct Dep<'a> {
    #[serde(rename = "ref", borrow)]
    r: S<'a>,
    #[serde(rename = "dependsOn", borrow)]
    depends_on: Option<Vec<S<'a>>>,
}

/// Reads CycloneDX JSON 1.2–1.7.
pub fn read(bytes: &[u8]) -> Result<Read, ReadError> {
    let bom: Bom<'_> = match serde_json::from_slice(bytes) {
        Ok(b) => b,
        // Only now pay for the path: which field had the wrong shape.
        Err(e) if e.is_data() => return Err(ReadError::json_shape::<Bom<'_>>(bytes, &e)),
        Err(e) => return Err(ReadError::from_json(&e)),
    };
    if bom.bom_format.as_deref() != Some("CycloneDX") {
        return Err(ReadError::invalid("/bomFormat", "must be \"CycloneDX\""));
    }
    let spec_version = bom
        .spec_version
        .map(Cow::into_owned)
        .ok_or_else(|| ReadError::invalid("/specVersion", "missing"))?;
    let mut warnings = Vec::new();
    let mut sbom = Sbom::default();
    let mut md = Metadata {
        serial: bom.serial_number.map(Cow::into_owned),
        ..Metadata::default()
    };
    if let Some(m) = bom.metadata {
        md.timestamp = m.timestamp.map(Cow::into_owned);
        let tools: Vec<Tool<'_>> = match m.tools {
            Some(Tools::Legacy(t)) => t,
            Some(Tools::Modern {
                mut components,
                services,
            }) => {
                components.extend(services);
                components
            }
            None => Vec::new(),
        };
        for t in tools {
            let name = t.name.unwrap_or_default();
            md.tools.push(match t.version {
                Some(v) => format!("{name} {v}"),
                None => name.into_owned(),
            });
        }
        if let Some(c) = m.component {
            md.target = c.name.map(Cow::into_owned);
            md.target_ref = c.bom_ref.map(Cow::into_owned);
        }
    }
    sbom.metadata = md;
    let mut out = Vec::new();
    for (i, c) in bom.components.unwrap_or_default().into_iter().enumerate() {
        walk(c, &format!("/components/{i}"), &mut out, &mut warnings);
    }
    sbom.components = out;
    for d in bom.dependencies.unwrap_or_default() {
        let e = sbom.dependencies.entry(d.r.into_owned()).or_default();
        for t in d.depends_on.unwrap_or_default() {
            e.insert(t.into_owned());
        }
    }
    Ok(Read {
        sbom,
        format: Format::CycloneDxJson,
        spec_version,
        warnings,
    })
}

fn walk(c: Comp<'_>, at: &str, out: &mut Vec<Component>, warnings: &mut Vec<Warning>) {
    let mut comp = Component {
        id: c.bom_ref.map(Cow::into_owned).unwrap_or_default(),
        kind: c
            .ty
            .as_deref()
            .map(ComponentKind::from_cyclonedx)
            .unwrap_or_default(),
        name: c.name.map(Cow::into_owned).unwrap_or_default(),
        group: c.group.map(Cow::into_owned),
        version: c.version.map(Cow::into_owned),
        supplier: c
            .supplier
            .and_then(|s| s.name)
            .or(c.publisher)
            .map(Cow::into_owned),
        ..Component::default()
    };
    if comp.name.is_empty() {
        warnings.push(Warning {
            at: at.to_string(),
            message: "component without a name".into(),
        });
    }
    if let Some(p) = c.purl {
        set_purl(&mut comp, &format!("{at}/purl"), &p, warnings);
    }
    if let Some(x) = c.cpe {
        add_cpe(&mut comp, &format!("{at}/cpe"), &x, warnings);
    }
    for l in c.licenses.unwrap_or_default() {
        if let Some(e) = l.expression {
            comp.licenses.push(e.into_owned());
        } else if let Some(x) = l.license.and_then(|o| o.id.or(o.name)) {
            comp.licenses.push(x.into_owned());
        }
    }
    for (j, h) in c.hashes.unwrap_or_default().into_iter().enumerate() {
        add_hash(
            &mut comp,
            &format!("{at}/hashes/{j}"),
            &h.alg,
            &h.content,
            warnings,
        );
    }
    let mut props = Props::default();
    for p in c.properties.unwrap_or_default() {
        if let (Some(n), Some(v)) = (p.name, p.value) {
            props.add(&n, &v);
        }
    }
    props.apply(&mut comp);
    for o in c.evidence.and_then(|e| e.occurrences).unwrap_or_default() {
        if let Some(l) = o.location {
            if !comp.locations.iter().any(|x| x.path == *l) {
                comp.locations.insert(crate::Location {
                    path: l.into_owned(),
                    layer: None,
                });
            }
        }
    }
    out.push(comp);
    for (i, child) in c.components.unwrap_or_default().into_iter().enumerate() {
        walk(child, &format!("{at}/components/{i}"), out, warnings);
    }
}

/// The `licenses` array for one component, valid for the schema's oneOf (license objects,
/// or exactly one expression).
pub(crate) fn licenses_json(ls: &[String]) -> Option<Value> {
    if ls.is_empty() {
        return None;
    }
    let classified: Vec<License<'_>> = ls.iter().map(|l| classify(l)).collect();
    if classified
        .iter()
        .any(|l| matches!(l, License::Expression(_)))
    {
        let parts: Vec<String> = classified
            .iter()
            .map(|l| match l {
                License::Id(i) => (*i).to_string(),
                License::Expression(e) if classified.len() > 1 => format!("({e})"),
                License::Expression(e) => (*e).to_string(),
                License::Name(n) => license_ref(n),
            })
            .collect();
        return Some(json!([{ "expression": parts.join(" AND ") }]));
    }
    let arr: Vec<Value> = classified
        .iter()
        .map(|l| match l {
            License::Id(i) => json!({ "license": { "id": i } }),
            License::Name(n) => json!({ "license": { "name": n } }),
            License::Expression(_) => Value::Null,
        })
        .collect();
    Some(Value::Array(arr))
}

pub(crate) use crate::license::license_ref;

fn component_json(c: &Component, minor: u8) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), json!(c.kind.as_cyclonedx()));
    o.insert("bom-ref".into(), json!(c.id));
    if let Some(s) = &c.supplier {
        o.insert("supplier".into(), json!({ "name": s }));
    }
    if let Some(g) = &c.group {
        o.insert("group".into(), json!(g));
    }
    o.insert("name".into(), json!(c.name));
    if let Some(v) = &c.version {
        o.insert("version".into(), json!(v));
    }
    if !c.hashes.is_empty() {
        let h: Vec<Value> = c
            .hashes
            .iter()
            .map(|(a, d)| json!({ "alg": a, "content": d }))
            .collect();
        o.insert("hashes".into(), Value::Array(h));
    }
    if let Some(l) = licenses_json(&c.licenses) {
        o.insert("licenses".into(), l);
    }
    if let Some(cpe) = c.cpes.first() {
        o.insert("cpe".into(), json!(cpe.to_string()));
    }
    if let Some(p) = &c.purl {
        o.insert("purl".into(), json!(p.to_string()));
    } else if let Some(p) = &c.raw_purl {
        o.insert("purl".into(), json!(p));
    }
    let mut props: Vec<Value> = stella_properties(c)
        .into_iter()
        .map(|(n, v)| json!({ "name": n, "value": v }))
        .collect();
    for extra in c.cpes.iter().skip(1) {
        props.push(json!({ "name": "stella:cpe", "value": extra.to_string() }));
    }
    if !props.is_empty() {
        o.insert("properties".into(), Value::Array(props));
    }
    if minor >= 5 {
        let occ: Vec<Value> = c
            .locations
            .iter()
            .filter(|l| !l.path.is_empty())
            .map(|l| json!({ "location": l.path }))
            .collect();
        if !occ.is_empty() {
            o.insert("evidence".into(), json!({ "occurrences": occ }));
        }
    }
    Value::Object(o)
}

/// Writes CycloneDX JSON 1.`minor` (4, 5 or 6).
pub fn write(sbom: &Sbom, minor: u8, opts: &WriteOptions) -> Vec<u8> {
    let minor = minor.clamp(4, 6);
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        json!(format!(
            "http://cyclonedx.org/schema/bom-1.{minor}.schema.json"
        )),
    );
    root.insert("bomFormat".into(), json!("CycloneDX"));
    root.insert("specVersion".into(), json!(format!("1.{minor}")));
    root.insert("serialNumber".into(), json!(serial(sbom, opts)));
    root.insert("version".into(), json!(1));
    let mut md = Map::new();
    let ts = opts
        .timestamp
        .clone()
        .or_else(|| sbom.metadata.timestamp.clone())
        .unwrap_or_else(crate::time::now);
    md.insert("timestamp".into(), json!(ts));
    let version = opts
        .tool_version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    if minor >= 5 {
        md.insert(
            "tools".into(),
            json!({ "components": [ { "type": "application", "author": "Stella Ops", "name": "stella", "version": version } ] }),
        );
    } else {
        md.insert(
            "tools".into(),
            json!([ { "vendor": "Stella Ops", "name": "stella", "version": version } ]),
        );
    }
    if let Some(t) = &sbom.metadata.target {
        let mut c = Map::new();
        c.insert("type".into(), json!("application"));
        // A subject that is also a component (SPDX's described package) keeps its ref there.
        if let Some(r) = sbom
            .metadata
            .target_ref
            .as_ref()
            .filter(|r| sbom.component(r).is_none())
        {
            c.insert("bom-ref".into(), json!(r));
        }
        c.insert("name".into(), json!(t));
        md.insert("component".into(), Value::Object(c));
    }
    root.insert("metadata".into(), Value::Object(md));
    let comps: Vec<Value> = sbom
        .components
        .iter()
        .map(|c| component_json(c, minor))
        .collect();
    root.insert("components".into(), Value::Array(comps));
    let known: BTreeSet<&str> = sbom
        .components
        .iter()
        .map(|c| c.id.as_str())
        .chain(sbom.metadata.target_ref.as_deref())
        .collect();
    let deps: Vec<Value> = sbom
        .dependencies
        .iter()
        .filter(|(from, _)| known.contains(from.as_str()))
        .map(|(from, tos)| {
            let tos: Vec<&String> = tos.iter().filter(|t| known.contains(t.as_str())).collect();
            json!({ "ref": from, "dependsOn": tos })
        })
        .collect();
    if !deps.is_empty() {
        root.insert("dependencies".into(), Value::Array(deps));
    }
    let mut out = serde_json::to_vec_pretty(&Value::Object(root)).unwrap_or_default();
    out.push(b'\n');
    out
}
