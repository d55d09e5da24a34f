//! SPDX: 2.2/2.3 JSON and tag-value (read and write 2.3), 3.0 JSON-LD (read).
//!
//! Shared here: SPDX identifiers, supplier strings, the license expression we write (with
//! `LicenseRef-` entries for free-text licenses), and relationship mapping.

pub mod json;
pub mod tagvalue;
pub mod v3;

use std::collections::{BTreeMap, BTreeSet};

use crate::license::{License, classify};
use crate::model::{Component, ComponentKind, Sbom};

/// `Organization: X` / `Person: X` / `NOASSERTION` → the name.
pub(crate) fn parse_supplier(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() || t == "NOASSERTION" || t == "NONE" {
        return None;
    }
    let name = t
        .strip_prefix("Organization:")
        .or_else(|| t.strip_prefix("Person:"))
        .or_else(|| t.strip_prefix("Tool:"))
        .unwrap_or(t);
    // Drop a trailing "(email)".
    let name = match name.rfind(" (") {
        Some(i) if name.ends_with(')') => &name[..i],
        _ => name,
    };
    Some(name.trim().to_string()).filter(|n| !n.is_empty())
}

/// A license field (`licenseDeclared`, `licenseConcluded`) → licenses, `None` for no assertion.
pub(crate) fn parse_license_field(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() || t == "NOASSERTION" || t == "NONE" {
        None
    } else {
        Some(t.to_string())
    }
}

/// `primaryPackagePurpose` → kind.
pub(crate) fn kind_from_purpose(s: &str) -> ComponentKind {
    match s {
        "APPLICATION" => ComponentKind::Application,
        "FRAMEWORK" => ComponentKind::Framework,
        "CONTAINER" => ComponentKind::Container,
        "OPERATING-SYSTEM" | "OPERATING_SYSTEM" => ComponentKind::OperatingSystem,
        "DEVICE" => ComponentKind::Device,
        "FIRMWARE" => ComponentKind::Firmware,
        "FILE" => ComponentKind::File,
        _ => ComponentKind::Library,
    }
}

pub(crate) fn purpose(k: ComponentKind) -> &'static str {
    match k {
        ComponentKind::Application => "APPLICATION",
        ComponentKind::Framework => "FRAMEWORK",
        ComponentKind::Container => "CONTAINER",
        ComponentKind::OperatingSystem => "OPERATING-SYSTEM",
        ComponentKind::Device => "DEVICE",
        ComponentKind::Firmware => "FIRMWARE",
        ComponentKind::File => "FILE",
        ComponentKind::Library | ComponentKind::Other => "LIBRARY",
    }
}

/// Relationship types that mean "A depends on B" (`true`) or "A is a dependency of B" (`false`).
pub(crate) fn dependency_direction(rel: &str) -> Option<bool> {
    match rel {
        "DEPENDS_ON" => Some(true),
        "DEPENDENCY_OF"
        | "DEV_DEPENDENCY_OF"
        | "BUILD_DEPENDENCY_OF"
        | "OPTIONAL_DEPENDENCY_OF"
        | "PROVIDED_DEPENDENCY_OF"
        | "TEST_DEPENDENCY_OF"
        | "RUNTIME_DEPENDENCY_OF" => Some(false),
        _ => None,
    }
}

/// Assigns every component a valid, unique SPDX identifier (`SPDXRef-[A-Za-z0-9.-]+`).
pub(crate) fn spdx_ids(sbom: &Sbom) -> BTreeMap<String, String> {
    let mut used = BTreeSet::new();
    used.insert("SPDXRef-DOCUMENT".to_string());
    let mut map = BTreeMap::new();
    for c in &sbom.components {
        let base = if c.id.starts_with("SPDXRef-")
            && c.id.len() > 8
            && c.id[8..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            c.id.clone()
        } else {
            let s: String = format!("{}-{}", c.name, c.version.as_deref().unwrap_or(""))
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' {
                        ch
                    } else {
                        '-'
                    }
                })
                .collect();
            format!("SPDXRef-Package-{}", s.trim_matches('-'))
        };
        let mut id = base.clone();
        let mut n = 2;
        while !used.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        map.insert(c.id.clone(), id);
    }
    map
}

/// The license expression to write, plus `LicenseRef-` definitions (id → text) it needs.
pub(crate) fn license_expression(
    c: &Component,
    refs: &mut BTreeMap<String, String>,
) -> Option<String> {
    if c.licenses.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for l in &c.licenses {
        match classify(l) {
            License::Id(i) => parts.push(spdx_token(i, refs)),
            License::Expression(e) => {
                let spaced = e.replace('(', " ( ").replace(')', " ) ");
                let mut toks = Vec::new();
                for tok in spaced.split_whitespace() {
                    if tok.starts_with("LicenseRef-") {
                        refs.entry(tok.to_string())
                            .or_insert_with(|| tok.trim_start_matches("LicenseRef-").to_string());
                        toks.push(tok.to_string());
                    } else if matches!(classify(tok.trim_end_matches('+')), License::Id(_)) {
                        toks.push(spdx_token(tok, refs));
                    } else {
                        toks.push(tok.to_string());
                    }
                }
                let e = toks.join(" ").replace("( ", "(").replace(" )", ")");
                parts.push(if c.licenses.len() > 1 {
                    format!("({e})")
                } else {
                    e
                });
            }
            License::Name(n) => {
                let r = crate::cyclonedx::json::license_ref(n);
                refs.insert(r.clone(), n.to_string());
                parts.push(r);
            }
        }
    }
    Some(parts.join(" AND "))
}

/// A license id as SPDX 2 tools accept it: the deprecated `X-with-Y-exception` ids are
/// parsed as exceptions by spdx-tools, so they travel as a `LicenseRef-` of the same name.
fn spdx_token(id: &str, refs: &mut BTreeMap<String, String>) -> String {
    if id.to_ascii_lowercase().contains("-with-") {
        let r = crate::license::license_ref(id);
        refs.insert(r.clone(), id.to_string());
        r
    } else {
        id.to_string()
    }
}

/// Packages no other package depends on: what the document describes when there is no target.
pub(crate) fn roots(sbom: &Sbom) -> Vec<&Component> {
    let depended: BTreeSet<&str> = sbom
        .dependencies
        .values()
        .flatten()
        .map(String::as_str)
        .collect();
    let r: Vec<&Component> = sbom
        .components
        .iter()
        .filter(|c| !depended.contains(c.id.as_str()))
        .collect();
    if r.is_empty() {
        sbom.components.iter().take(1).collect()
    } else {
        r
    }
}

/// The document namespace to write.
pub(crate) fn namespace(sbom: &Sbom, opts: &crate::WriteOptions) -> String {
    if let Some(s) = &opts.serial {
        return if s.contains("://") {
            s.clone()
        } else {
            format!(
                "https://stella-ops.invalid/spdxdocs/{}",
                s.trim_start_matches("urn:uuid:")
            )
        };
    }
    if let Some(s) = &sbom.metadata.serial
        && s.contains("://")
        && !s.contains('#')
    {
        return s.clone();
    }
    let name = sbom.metadata.target.as_deref().unwrap_or("sbom");
    let safe: String = name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' {
                ch
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "https://stella-ops.invalid/spdxdocs/{safe}-{}",
        sbom.derived_uuid()
    )
}

/// The creation time to write, always `YYYY-MM-DDThh:mm:ssZ` as SPDX requires.
pub(crate) fn created(sbom: &Sbom, opts: &crate::WriteOptions) -> String {
    let t = opts
        .timestamp
        .clone()
        .or_else(|| sbom.metadata.timestamp.clone())
        .unwrap_or_else(crate::time::now);
    if t.len() >= 19 && t.is_char_boundary(19) && t.as_bytes()[10] == b'T' {
        format!("{}Z", &t[..19])
    } else {
        crate::time::now()
    }
}

/// A lone `LicenseRef-x` that we made from a free-text name (the extracted-licence entry's
/// name maps back to exactly that id) is that name again; other tools' refs stay as written.
pub(crate) fn named_license(l: String, names: &BTreeMap<String, String>) -> String {
    match names.get(l.trim()) {
        Some(n) if crate::license::license_ref(n) == l.trim() && !n.is_empty() => n.clone(),
        _ => l,
    }
}

/// SPDX 2.3 wants BLAKE3 digests of at least 256 hex digits (spdx-tools enforces it); a
/// shorter one cannot be written there.
pub(crate) fn spdx_hash_ok(alg: &str, digest: &str) -> bool {
    alg != "BLAKE3" || digest.len() >= 256
}

/// Turns relationships `(a, type, b)` into the dependency graph (between packages only) and
/// the document's subject (when it describes exactly one package).
pub(crate) fn apply_relationships(
    doc_id: &str,
    mut described: Vec<String>,
    rels: impl IntoIterator<Item = (String, String, String)>,
    sbom: &mut Sbom,
) {
    let ids: BTreeSet<String> = sbom.components.iter().map(|c| c.id.clone()).collect();
    for (a, t, b) in rels {
        if t == "DESCRIBES" && a == doc_id {
            described.push(b);
        } else if t == "DESCRIBED_BY" && b == doc_id {
            described.push(a);
        } else if let Some(forward) = dependency_direction(&t) {
            let (from, to) = if forward { (a, b) } else { (b, a) };
            if ids.contains(&from) && ids.contains(&to) {
                sbom.dependencies.entry(from).or_default().insert(to);
            }
        }
    }
    if described.len() == 1 && ids.contains(&described[0]) {
        sbom.metadata.target_ref = Some(described[0].clone());
    }
}
