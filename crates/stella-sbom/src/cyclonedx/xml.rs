//! CycloneDX XML: a streaming reader for 1.0–1.7 and a writer for 1.4–1.6 that follows each
//! schema's element order. No DTDs or external entities are ever processed.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::{Props, add_cpe, add_hash, serial, set_purl, stella_properties};
use crate::detect::Format;
use crate::license::{License, classify};
use crate::model::{Component, ComponentKind, Metadata, Sbom, Warning};
use crate::{Read, ReadError, WriteOptions};

/// Maximum element nesting we accept (the schema needs far less).
const MAX_DEPTH: usize = 256;

fn attr(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

struct Building {
    comp: Component,
    props: Props,
    slot: usize,
    at: String,
}

/// Reads CycloneDX XML.
pub fn read(bytes: &[u8]) -> Result<Read, ReadError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ReadError::Xml {
        position: e.valid_up_to() as u64,
        message: "invalid UTF-8".into(),
    })?;
    let mut reader = Reader::from_str(text);
    // text is trimmed per element, not per piece: `a &amp; b` arrives as three events
    let mut path: Vec<String> = Vec::new();
    let mut spec_version = String::new();
    let mut md = Metadata::default();
    let mut out: Vec<Option<Component>> = Vec::new();
    let mut stack: Vec<Building> = Vec::new();
    let mut warnings: Vec<Warning> = Vec::new();
    let mut deps: std::collections::BTreeMap<String, crate::SmallSet> = Default::default();
    let mut dep_stack: Vec<String> = Vec::new();
    let mut tool = (String::new(), String::new());
    let mut text_buf = String::new();
    let mut hash_alg = String::new();
    let mut prop_name = String::new();
    let mut count = 0usize;
    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| ReadError::Xml {
            position: pos,
            message: e.to_string(),
        })?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let parent = path.last().map(String::as_str).unwrap_or("");
                let grand = if path.len() >= 2 {
                    path[path.len() - 2].as_str()
                } else {
                    ""
                };
                match name.as_str() {
                    "bom" if path.is_empty() => {
                        let ns = e
                            .attributes()
                            .flatten()
                            .find(|a| a.key.as_ref() == b"xmlns")
                            .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                            .unwrap_or_default();
                        spec_version = ns.rsplit('/').next().unwrap_or("").to_string();
                        if !ns.starts_with("http://cyclonedx.org/schema/bom/") {
                            return Err(ReadError::invalid("/bom", "not in a CycloneDX namespace"));
                        }
                        md.serial = attr(e, b"serialNumber");
                    }
                    "component"
                        if parent == "components" && (grand == "bom" || grand == "component") =>
                    {
                        let slot = out.len();
                        out.push(None);
                        count += 1;
                        let comp = Component {
                            id: attr(e, b"bom-ref").unwrap_or_default(),
                            kind: attr(e, b"type")
                                .map(|t| ComponentKind::from_cyclonedx(&t))
                                .unwrap_or_default(),
                            ..Component::default()
                        };
                        let building = Building {
                            comp,
                            props: Props::default(),
                            slot,
                            at: format!("component #{count}"),
                        };
                        if empty {
                            finish_component(building, &mut out, &mut warnings);
                        } else {
                            stack.push(building);
                        }
                    }
                    "component" if parent == "metadata" => {
                        md.target_ref = attr(e, b"bom-ref");
                    }
                    "hash" => hash_alg = attr(e, b"alg").unwrap_or_default(),
                    "property" => prop_name = attr(e, b"name").unwrap_or_default(),
                    "dependency" => {
                        let r = attr(e, b"ref").unwrap_or_default();
                        if let Some(parent_ref) = dep_stack.last() {
                            deps.entry(parent_ref.clone())
                                .or_default()
                                .insert(r.clone());
                        } else if !r.is_empty() {
                            deps.entry(r.clone()).or_default();
                        }
                        if !empty {
                            dep_stack.push(r);
                        }
                    }
                    _ => {}
                }
                if !empty {
                    path.push(name);
                    if path.len() > MAX_DEPTH {
                        return Err(ReadError::Xml {
                            position: pos,
                            message: format!("elements nested deeper than {MAX_DEPTH}"),
                        });
                    }
                }
                text_buf.clear();
            }
            Event::Text(t) => {
                let s = t.xml10_content().map_err(|e| ReadError::Xml {
                    position: pos,
                    message: e.to_string(),
                })?;
                text_buf.push_str(&s);
            }
            // entity and character references come as events of their own
            Event::GeneralRef(r) => {
                let bad = |why: String| ReadError::Xml {
                    position: pos,
                    message: why,
                };
                match r.resolve_char_ref().map_err(|e| bad(e.to_string()))? {
                    Some(c) => text_buf.push(c),
                    None => {
                        let name = r.decode().map_err(|e| bad(e.to_string()))?;
                        let v = quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| bad(format!("unknown entity `&{name};`")))?;
                        text_buf.push_str(v);
                    }
                }
            }
            Event::CData(t) => text_buf.push_str(&String::from_utf8_lossy(&t)),
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or("");
                let grand = if path.len() >= 2 {
                    path[path.len() - 2].as_str()
                } else {
                    ""
                };
                let value = text_buf.trim().to_string();
                text_buf.clear();
                match (grand, parent, name.as_str()) {
                    (_, "metadata", "timestamp") => md.timestamp = Some(value.clone()),
                    ("metadata", "component", "name") => md.target = Some(value.clone()),
                    ("metadata", "component", "version") => md.target_version = Some(value.clone()),
                    _ => {}
                }
                let in_tools = path.iter().any(|p| p == "tools");
                if in_tools && matches!(parent, "tool" | "component" | "service") {
                    match name.as_str() {
                        "name" => tool.0 = value.clone(),
                        "version" => tool.1 = value.clone(),
                        _ => {}
                    }
                }
                let in_comp = !stack.is_empty() && parent == "component" && grand == "components";
                if in_comp {
                    let b = stack.last_mut().expect("stack is not empty");
                    let c = &mut b.comp;
                    match name.as_str() {
                        "name" => c.name = value,
                        "group" => c.group = Some(value),
                        "version" => c.version = Some(value),
                        "publisher" if c.supplier.is_none() => c.supplier = Some(value),
                        "purl" => set_purl(c, &format!("{}/purl", b.at), &value, &mut warnings),
                        "cpe" => add_cpe(c, &format!("{}/cpe", b.at), &value, &mut warnings),
                        _ => {}
                    }
                } else if let Some(b) = stack.last_mut() {
                    let c = &mut b.comp;
                    match (grand, parent, name.as_str()) {
                        ("component", "supplier", "name") => c.supplier = Some(value),
                        ("licenses", "license", "id" | "name") => c.licenses.push(value),
                        ("component", "licenses", "expression") => c.licenses.push(value),
                        ("component", "hashes", "hash") => {
                            add_hash(
                                c,
                                &format!("{}/hashes", b.at),
                                &hash_alg,
                                &value,
                                &mut warnings,
                            );
                        }
                        ("component", "properties", "property") => b.props.add(&prop_name, &value),
                        ("occurrences", "occurrence", "location")
                            if !c.locations.iter().any(|l| l.path == value) =>
                        {
                            c.locations.insert(crate::Location {
                                path: value,
                                layer: None,
                            });
                        }
                        _ => {}
                    }
                }
                if in_tools && matches!(name.as_str(), "tool" | "component" | "service") {
                    let t = std::mem::take(&mut tool);
                    if !t.0.is_empty() {
                        md.tools.push(if t.1.is_empty() {
                            t.0
                        } else {
                            format!("{} {}", t.0, t.1)
                        });
                    }
                }
                if name == "component"
                    && parent == "components"
                    && (grand == "bom" || grand == "component")
                    && let Some(b) = stack.pop()
                {
                    finish_component(b, &mut out, &mut warnings);
                }
                if name == "dependency" {
                    dep_stack.pop();
                }
            }
            Event::DocType(_) => {
                return Err(ReadError::Xml {
                    position: pos,
                    message: "DOCTYPE declarations are not allowed".into(),
                });
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(ReadError::Xml {
            position: text.len() as u64,
            message: format!("unexpected end of document inside <{}>", path.join("><")),
        });
    }
    if spec_version.is_empty() {
        return Err(ReadError::invalid("/", "no <bom> root element"));
    }
    let sbom = Sbom {
        metadata: md,
        components: out.into_iter().flatten().collect(),
        dependencies: deps,
    };
    Ok(Read {
        sbom,
        format: Format::CycloneDxXml,
        spec_version,
        warnings,
    })
}

fn finish_component(b: Building, out: &mut [Option<Component>], warnings: &mut Vec<Warning>) {
    let Building {
        mut comp,
        props,
        slot,
        at,
    } = b;
    props.apply(&mut comp);
    if comp.name.is_empty() {
        warnings.push(Warning {
            at,
            message: "component without a name".into(),
        });
    }
    out[slot] = Some(comp);
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

/// Writes CycloneDX XML 1.`minor` (4, 5 or 6).
pub fn write(sbom: &Sbom, minor: u8, opts: &WriteOptions) -> Vec<u8> {
    let minor = minor.clamp(4, 6);
    let mut x = String::with_capacity(256 + sbom.components.len() * 512);
    let _ = writeln!(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        x,
        "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.{minor}\" serialNumber=\"{}\" version=\"1\">",
        esc(&serial(sbom, opts))
    );
    let ts = opts
        .timestamp
        .clone()
        .or_else(|| sbom.metadata.timestamp.clone())
        .unwrap_or_else(crate::time::now);
    let version = opts
        .tool_version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    let _ = writeln!(x, "  <metadata>\n    <timestamp>{}</timestamp>", esc(&ts));
    if minor >= 5 {
        let _ = writeln!(
            x,
            "    <tools>\n      <components>\n        <component type=\"application\">\n          <author>Stella Ops</author>\n          <name>stella</name>\n          <version>{}</version>\n        </component>\n      </components>\n    </tools>",
            esc(&version)
        );
    } else {
        let _ = writeln!(
            x,
            "    <tools>\n      <tool>\n        <vendor>Stella Ops</vendor>\n        <name>stella</name>\n        <version>{}</version>\n      </tool>\n    </tools>",
            esc(&version)
        );
    }
    if let Some(t) = &sbom.metadata.target {
        // A subject that is also a component (SPDX's described package) keeps its ref there.
        let r = sbom
            .metadata
            .target_ref
            .as_ref()
            .filter(|r| sbom.component(r).is_none())
            .map(|r| format!(" bom-ref=\"{}\"", esc(r)))
            .unwrap_or_default();
        let _ = writeln!(
            x,
            "    <component type=\"application\"{r}>\n      <name>{}</name>\n    </component>",
            esc(t)
        );
    }
    let _ = writeln!(x, "  </metadata>\n  <components>");
    for c in &sbom.components {
        component_xml(&mut x, c, minor);
    }
    let _ = writeln!(x, "  </components>");
    let known: BTreeSet<&str> = sbom
        .components
        .iter()
        .map(|c| c.id.as_str())
        .chain(sbom.metadata.target_ref.as_deref())
        .collect();
    let deps: Vec<_> = sbom
        .dependencies
        .iter()
        .filter(|(f, _)| known.contains(f.as_str()))
        .collect();
    if !deps.is_empty() {
        let _ = writeln!(x, "  <dependencies>");
        for (from, tos) in deps {
            let tos: Vec<_> = tos.iter().filter(|t| known.contains(t.as_str())).collect();
            if tos.is_empty() {
                let _ = writeln!(x, "    <dependency ref=\"{}\"/>", esc(from));
            } else {
                let _ = writeln!(x, "    <dependency ref=\"{}\">", esc(from));
                for t in tos {
                    let _ = writeln!(x, "      <dependency ref=\"{}\"/>", esc(t));
                }
                let _ = writeln!(x, "    </dependency>");
            }
        }
        let _ = writeln!(x, "  </dependencies>");
    }
    x.push_str("</bom>\n");
    x.into_bytes()
}

fn component_xml(x: &mut String, c: &Component, minor: u8) {
    let _ = writeln!(
        x,
        "    <component type=\"{}\" bom-ref=\"{}\">",
        c.kind.as_cyclonedx(),
        esc(&c.id)
    );
    if let Some(s) = &c.supplier {
        let _ = writeln!(
            x,
            "      <supplier>\n        <name>{}</name>\n      </supplier>",
            esc(s)
        );
    }
    if let Some(g) = &c.group {
        let _ = writeln!(x, "      <group>{}</group>", esc(g));
    }
    let _ = writeln!(x, "      <name>{}</name>", esc(&c.name));
    if let Some(v) = &c.version {
        let _ = writeln!(x, "      <version>{}</version>", esc(v));
    }
    if !c.hashes.is_empty() {
        let _ = writeln!(x, "      <hashes>");
        for (a, d) in &c.hashes {
            let _ = writeln!(x, "        <hash alg=\"{}\">{}</hash>", esc(a), esc(d));
        }
        let _ = writeln!(x, "      </hashes>");
    }
    if !c.licenses.is_empty() {
        let _ = writeln!(x, "      <licenses>");
        let classified: Vec<License<'_>> = c.licenses.iter().map(|l| classify(l)).collect();
        if classified
            .iter()
            .any(|l| matches!(l, License::Expression(_)))
        {
            if let Some(serde_json::Value::Array(a)) = super::json::licenses_json(&c.licenses) {
                let e = a
                    .first()
                    .and_then(|v| v.get("expression"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                let _ = writeln!(x, "        <expression>{}</expression>", esc(e));
            }
        } else {
            for l in classified {
                match l {
                    License::Id(i) => {
                        let _ = writeln!(
                            x,
                            "        <license>\n          <id>{}</id>\n        </license>",
                            esc(i)
                        );
                    }
                    License::Name(n) | License::Expression(n) => {
                        let _ = writeln!(
                            x,
                            "        <license>\n          <name>{}</name>\n        </license>",
                            esc(n)
                        );
                    }
                }
            }
        }
        let _ = writeln!(x, "      </licenses>");
    }
    if let Some(cpe) = c.cpes.first() {
        let _ = writeln!(x, "      <cpe>{}</cpe>", esc(&cpe.to_string()));
    }
    if let Some(p) = &c.purl {
        let _ = writeln!(x, "      <purl>{}</purl>", esc(&p.to_string()));
    }
    let mut props = stella_properties(c);
    if let (None, Some(raw)) = (&c.purl, &c.raw_purl) {
        // XML types purl as anyURI, which an unparsable purl may not be.
        props.push(("stella:rawPurl".into(), raw.clone()));
    }
    for extra in c.cpes.iter().skip(1) {
        props.push(("stella:cpe".into(), extra.to_string()));
    }
    if !props.is_empty() {
        let _ = writeln!(x, "      <properties>");
        for (n, v) in props {
            let _ = writeln!(
                x,
                "        <property name=\"{}\">{}</property>",
                esc(&n),
                esc(&v)
            );
        }
        let _ = writeln!(x, "      </properties>");
    }
    if minor >= 5 {
        let occ: Vec<_> = c.locations.iter().filter(|l| !l.path.is_empty()).collect();
        if !occ.is_empty() {
            let _ = writeln!(x, "      <evidence>\n        <occurrences>");
            for l in occ {
                let _ = writeln!(
                    x,
                    "          <occurrence>\n            <location>{}</location>\n          </occurrence>",
                    esc(&l.path)
                );
            }
            let _ = writeln!(x, "        </occurrences>\n      </evidence>");
        }
    }
    let _ = writeln!(x, "    </component>");
}
