//! CycloneDX JSON: a typed, borrowing reader (fast on large documents) and a writer for
//! specification versions 1.4, 1.5 and 1.6.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Props, add_cpe_at, add_hash_at, serial, set_purl_at, stella_properties};
use crate::detect::Format;
use crate::license::{License, classify};
use crate::model::{Component, ComponentKind, Metadata, Sbom, Warning};
use crate::{Cpe, Read, ReadError, WriteOptions};

/// A string borrowed from the document when it holds no escapes. serde's `borrow` reaches
/// only a bare `Cow<str>` field: inside an `Option` or a `Vec`, `Cow`'s own impl always
/// copies, which cost an allocation per field of every component.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct S<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for S<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(V).map(S)
    }
}

impl S<'_> {
    fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl std::fmt::Display for S<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for S<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

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
    #[serde(default)]
    components: CompList,
    #[serde(default)]
    dependencies: DepMap,
    #[serde(skip)]
    _p: std::marker::PhantomData<&'a ()>,
}

/// Components converted to the model one at a time while parsing, so the parsed form of the
/// whole array never exists at once (memory stays near the model's own size).
#[derive(Default)]
struct CompList {
    comps: Vec<Component>,
    warnings: Vec<Warning>,
}

impl<'de> Deserialize<'de> for CompList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = CompList;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of components")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<CompList, A::Error> {
                let mut list = CompList::default();
                let mut i = 0usize;
                while let Some(c) = seq.next_element::<Comp<'de>>()? {
                    walk(
                        c,
                        &At {
                            parent: None,
                            index: i,
                        },
                        &mut list.comps,
                        &mut list.warnings,
                    );
                    i += 1;
                }
                // a shrink copies the whole array: only worth it when much is unused
                if list.comps.capacity() - list.comps.len() > list.comps.len() / 4 {
                    list.comps.shrink_to_fit();
                }
                Ok(list)
            }
        }
        d.deserialize_seq(V)
    }
}

/// `dependencies[]` folded straight into the model's map.
#[derive(Default)]
struct DepMap(BTreeMap<String, crate::SmallSet>);

impl<'de> Deserialize<'de> for DepMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = DepMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of dependencies")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<DepMap, A::Error> {
                let mut m: BTreeMap<String, crate::SmallSet> = BTreeMap::new();
                while let Some(d) = seq.next_element::<Dep<'de>>()? {
                    let e = m.entry(d.r.into_owned()).or_default();
                    for t in d.depends_on.unwrap_or_default() {
                        e.insert(t.into_owned());
                    }
                }
                for v in m.values_mut() {
                    v.shrink_to_fit();
                }
                Ok(DepMap(m))
            }
        }
        d.deserialize_seq(V)
    }
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
    let bom: Bom<'_> = match crate::from_json(bytes) {
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
        .map(S::into_owned)
        .ok_or_else(|| ReadError::invalid("/specVersion", "missing"))?;
    let CompList {
        comps,
        mut warnings,
    } = bom.components;
    let mut sbom = Sbom {
        components: comps,
        dependencies: bom.dependencies.0,
        ..Sbom::default()
    };
    let mut md = Metadata {
        serial: bom.serial_number.map(S::into_owned),
        ..Metadata::default()
    };
    if let Some(m) = bom.metadata {
        md.timestamp = m.timestamp.map(S::into_owned);
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
            md.target = c.name.map(S::into_owned);
            md.target_version = c.version.map(S::into_owned);
            md.target_ref = c.bom_ref.map(S::into_owned);
        }
    }
    sbom.metadata = md;
    warnings.shrink_to_fit();
    Ok(Read {
        sbom,
        format: Format::CycloneDxJson,
        spec_version,
        warnings,
    })
}

/// Where a component is, as a JSON pointer built only when a warning needs it.
struct At<'p> {
    parent: Option<&'p At<'p>>,
    index: usize,
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.parent {
            Some(p) => write!(f, "{p}/components/{}", self.index),
            None => write!(f, "/components/{}", self.index),
        }
    }
}

fn walk(c: Comp<'_>, at: &At<'_>, out: &mut Vec<Component>, warnings: &mut Vec<Warning>) {
    let mut comp = Component {
        id: c.bom_ref.map(S::into_owned).unwrap_or_default(),
        kind: c
            .ty
            .as_deref()
            .map(ComponentKind::from_cyclonedx)
            .unwrap_or_default(),
        name: c.name.map(S::into_owned).unwrap_or_default(),
        group: c.group.map(S::into_owned),
        version: c.version.map(S::into_owned),
        supplier: c
            .supplier
            .and_then(|s| s.name)
            .or(c.publisher)
            .map(S::into_owned),
        ..Component::default()
    };
    if comp.name.is_empty() {
        warnings.push(Warning {
            at: at.to_string(),
            message: "component without a name".into(),
        });
    }
    if let Some(p) = c.purl {
        set_purl_at(&mut comp, || format!("{at}/purl"), &p, warnings);
    }
    if let Some(x) = c.cpe {
        add_cpe_at(&mut comp, || format!("{at}/cpe"), &x, warnings);
    }
    for l in c.licenses.unwrap_or_default() {
        if let Some(e) = l.expression {
            comp.licenses.push(e.into_owned());
        } else if let Some(x) = l.license.and_then(|o| o.id.or(o.name)) {
            comp.licenses.push(x.into_owned());
        }
    }
    for (j, h) in c.hashes.unwrap_or_default().into_iter().enumerate() {
        add_hash_at(
            &mut comp,
            || format!("{at}/hashes/{j}"),
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
        if let Some(l) = o.location
            && !comp.locations.iter().any(|x| x.path == *l)
        {
            comp.locations.insert(crate::Location {
                path: l.into_owned(),
                layer: None,
            });
        }
    }
    comp.shrink_to_fit();
    out.push(comp);
    for (i, child) in c.components.unwrap_or_default().into_iter().enumerate() {
        walk(
            child,
            &At {
                parent: Some(at),
                index: i,
            },
            out,
            warnings,
        );
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

#[derive(Serialize)]
struct OutBom<'a> {
    #[serde(rename = "$schema")]
    schema: String,
    #[serde(rename = "bomFormat")]
    bom_format: &'static str,
    #[serde(rename = "specVersion")]
    spec_version: String,
    #[serde(rename = "serialNumber")]
    serial_number: String,
    version: u32,
    metadata: OutMeta<'a>,
    components: Lazy<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dependencies: Vec<OutDep<'a>>,
}

/// Components serialised one at a time from the model, never all at once.
struct Lazy<'a> {
    comps: &'a [Component],
    minor: u8,
}

impl Serialize for Lazy<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.comps.iter().map(|c| out_component(c, self.minor)))
    }
}

#[derive(Serialize)]
struct OutMeta<'a> {
    timestamp: String,
    tools: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    component: Option<Value>,
    #[serde(skip)]
    _p: std::marker::PhantomData<&'a ()>,
}

#[derive(Serialize)]
struct OutComp<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<OutName<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<OutHash<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<OutLicense<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpe: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<OutProp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<OutEvidence<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum OutLicense<'a> {
    License { license: OutLicenseObj<'a> },
    Expression { expression: String },
}

#[derive(Serialize)]
enum OutLicenseObj<'a> {
    #[serde(rename = "id")]
    Id(&'a str),
    #[serde(rename = "name")]
    Name(&'a str),
}

/// The `licenses` array: license objects, or exactly one expression (the schema's oneOf).
fn out_licenses(ls: &[String]) -> Vec<OutLicense<'_>> {
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
        return vec![OutLicense::Expression {
            expression: parts.join(" AND "),
        }];
    }
    classified
        .into_iter()
        .map(|l| match l {
            License::Id(i) => OutLicense::License {
                license: OutLicenseObj::Id(i),
            },
            License::Name(n) | License::Expression(n) => OutLicense::License {
                license: OutLicenseObj::Name(n),
            },
        })
        .collect()
}

#[derive(Serialize)]
struct OutName<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct OutHash<'a> {
    alg: &'a str,
    content: &'a str,
}

#[derive(Serialize)]
struct OutProp {
    name: String,
    value: String,
}

#[derive(Serialize)]
struct OutEvidence<'a> {
    occurrences: Vec<OutOccurrence<'a>>,
}

#[derive(Serialize)]
struct OutOccurrence<'a> {
    location: &'a str,
}

#[derive(Serialize)]
struct OutDep<'a> {
    #[serde(rename = "ref")]
    r: &'a str,
    #[serde(rename = "dependsOn")]
    depends_on: Vec<&'a str>,
}

fn out_component(c: &Component, minor: u8) -> OutComp<'_> {
    let mut properties: Vec<OutProp> = stella_properties(c)
        .into_iter()
        .map(|(name, value)| OutProp { name, value })
        .collect();
    for extra in c.cpes.iter().skip(1) {
        properties.push(OutProp {
            name: "stella:cpe".into(),
            value: extra.to_string(),
        });
    }
    let evidence = if minor >= 5 {
        let occurrences: Vec<OutOccurrence<'_>> = c
            .locations
            .iter()
            .filter(|l| !l.path.is_empty())
            .map(|l| OutOccurrence { location: &l.path })
            .collect();
        (!occurrences.is_empty()).then_some(OutEvidence { occurrences })
    } else {
        None
    };
    OutComp {
        ty: c.kind.as_cyclonedx(),
        bom_ref: &c.id,
        supplier: c.supplier.as_deref().map(|name| OutName { name }),
        group: c.group.as_deref(),
        name: &c.name,
        version: c.version.as_deref(),
        hashes: c
            .hashes
            .iter()
            .map(|(alg, content)| OutHash { alg, content })
            .collect(),
        licenses: out_licenses(&c.licenses),
        cpe: c.cpes.first().map(Cpe::as_str),
        purl: c
            .purl
            .as_ref()
            .map(|p| Cow::Owned(p.to_string()))
            .or_else(|| c.raw_purl.as_deref().map(Cow::Borrowed)),
        properties,
        evidence,
    }
}

/// Writes CycloneDX JSON 1.`minor` (4, 5 or 6).
pub fn write(sbom: &Sbom, minor: u8, opts: &WriteOptions) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + sbom.components.len() * 400);
    // Writing into a Vec cannot fail.
    let _ = write_to(sbom, minor, opts, &mut out);
    out
}

/// Writes CycloneDX JSON 1.`minor` to `w`, streaming.
pub fn write_to(
    sbom: &Sbom,
    minor: u8,
    opts: &WriteOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let minor = minor.clamp(4, 6);
    let ts = opts
        .timestamp
        .clone()
        .or_else(|| sbom.metadata.timestamp.clone())
        .unwrap_or_else(crate::time::now);
    let version = opts
        .tool_version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    let tools = if minor >= 5 {
        json!({ "components": [ { "type": "application", "author": "Stella Ops", "name": "stella", "version": version } ] })
    } else {
        json!([ { "vendor": "Stella Ops", "name": "stella", "version": version } ])
    };
    let component = sbom.metadata.target.as_ref().map(|t| {
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
        Value::Object(c)
    });
    let known: BTreeSet<&str> = sbom
        .components
        .iter()
        .map(|c| c.id.as_str())
        .chain(sbom.metadata.target_ref.as_deref())
        .collect();
    let dependencies: Vec<OutDep<'_>> = sbom
        .dependencies
        .iter()
        .filter(|(from, _)| known.contains(from.as_str()))
        .map(|(from, tos)| OutDep {
            r: from,
            depends_on: tos
                .iter()
                .map(String::as_str)
                .filter(|t| known.contains(t))
                .collect(),
        })
        .collect();
    let bom = OutBom {
        schema: format!("http://cyclonedx.org/schema/bom-1.{minor}.schema.json"),
        bom_format: "CycloneDX",
        spec_version: format!("1.{minor}"),
        serial_number: serial(sbom, opts),
        version: 1,
        metadata: OutMeta {
            timestamp: ts,
            tools,
            component,
            _p: std::marker::PhantomData,
        },
        components: Lazy {
            comps: &sbom.components,
            minor,
        },
        dependencies,
    };
    serde_json::to_writer_pretty(&mut *w, &bom).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}
