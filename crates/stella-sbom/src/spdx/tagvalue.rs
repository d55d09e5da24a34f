//! SPDX 2.x tag-value: reader and 2.3 writer.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::json::{apply_ref, parse_source_info, source_info};
use super::{
    created, kind_from_purpose, license_expression, namespace, parse_license_field, parse_supplier,
    purpose, roots, spdx_ids,
};
use crate::cyclonedx::add_hash;
use crate::detect::Format;
use crate::hash::spdx_alg;
use crate::model::{Component, Metadata, Sbom, Warning};
use crate::{Read, ReadError, WriteOptions};

#[derive(PartialEq)]
enum Section {
    Document,
    Package,
    Other,
}

/// Reads SPDX 2.x tag-value.
pub fn read(bytes: &[u8]) -> Result<Read, ReadError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        ReadError::invalid(format!("line {line}"), "invalid UTF-8")
    })?;
    let mut md = Metadata::default();
    let mut spec_version = String::new();
    let mut comps: Vec<Component> = Vec::new();
    let mut warnings = Vec::new();
    let mut rels: Vec<(String, String, String, usize)> = Vec::new();
    let mut section = Section::Document;
    let mut doc_id = "SPDXRef-DOCUMENT".to_string();
    let mut declared: Option<String> = None;
    let mut concluded: Option<String> = None;
    let mut lines = text.lines().enumerate();
    let mut license_names: BTreeMap<String, String> = BTreeMap::new();
    let mut current_license: Option<String> = None;
    let flush = |comps: &mut Vec<Component>,
                 declared: &mut Option<String>,
                 concluded: &mut Option<String>| {
        if let Some(c) = comps.last_mut()
            && let Some(l) = declared.take().or(concluded.take())
        {
            c.licenses.push(l);
        }
        *declared = None;
        *concluded = None;
    };
    while let Some((i, raw)) = lines.next() {
        let lineno = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((tag, value)) = line.split_once(':') else {
            return Err(ReadError::invalid(
                format!("line {lineno}"),
                format!(
                    "expected `Tag: value`, got `{}`",
                    line.chars().take(60).collect::<String>()
                ),
            ));
        };
        let tag = tag.trim();
        let mut value = value.trim().to_string();
        if value.starts_with("<text>") {
            let mut v = value.trim_start_matches("<text>").to_string();
            let mut closed = v.contains("</text>");
            while !closed {
                let Some((_, next)) = lines.next() else {
                    return Err(ReadError::invalid(
                        format!("line {lineno}"),
                        "`<text>` is never closed with `</text>`",
                    ));
                };
                v.push('\n');
                v.push_str(next);
                closed = next.contains("</text>");
            }
            value = v.split("</text>").next().unwrap_or("").to_string();
        }
        let at = format!("line {lineno}");
        match tag {
            "SPDXVersion" => spec_version = value,
            "DocumentName" => md.target = Some(value),
            "DocumentNamespace" => md.serial = Some(value),
            "Created" => md.timestamp = Some(value),
            "Creator" => {
                if let Some(t) = value.strip_prefix("Tool:") {
                    md.tools.push(t.trim().to_string());
                }
            }
            "PackageName" => {
                flush(&mut comps, &mut declared, &mut concluded);
                section = Section::Package;
                comps.push(Component {
                    name: value,
                    ..Component::default()
                });
            }
            "FileName" | "SnippetSPDXID" | "LicenseID" => {
                flush(&mut comps, &mut declared, &mut concluded);
                section = Section::Other;
                current_license = (tag == "LicenseID").then(|| value.clone());
            }
            "LicenseName" => {
                if let Some(id) = &current_license
                    && !value.is_empty()
                    && value != "NOASSERTION"
                {
                    license_names.insert(id.clone(), value);
                }
            }
            "SPDXID" => match section {
                Section::Document => doc_id = value,
                Section::Package => {
                    if let Some(c) = comps.last_mut() {
                        c.id = value;
                    }
                }
                Section::Other => {}
            },
            "Relationship" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                if parts.len() == 3 {
                    rels.push((
                        parts[0].to_string(),
                        parts[1].to_string(),
                        parts[2].to_string(),
                        lineno,
                    ));
                } else {
                    warnings.push(Warning {
                        at,
                        message: format!("malformed relationship `{value}`"),
                    });
                }
            }
            _ if section == Section::Package => {
                let Some(c) = comps.last_mut() else { continue };
                match tag {
                    "PackageVersion" => c.version = Some(value),
                    "PackageSupplier" => c.supplier = parse_supplier(&value),
                    "PackageOriginator" if c.supplier.is_none() => {
                        c.supplier = parse_supplier(&value)
                    }
                    "PackageLicenseDeclared" => declared = parse_license_field(&value),
                    "PackageLicenseConcluded" => concluded = parse_license_field(&value),
                    "PackageChecksum" => match value.split_once(':') {
                        Some((alg, d)) => add_hash(c, &at, alg.trim(), d.trim(), &mut warnings),
                        None => warnings.push(Warning {
                            at,
                            message: format!("malformed checksum `{value}`"),
                        }),
                    },
                    "ExternalRef" => {
                        let parts: Vec<&str> = value.split_whitespace().collect();
                        if parts.len() >= 3 {
                            apply_ref(c, &at, parts[0], parts[1], parts[2], &mut warnings);
                        } else {
                            warnings.push(Warning {
                                at,
                                message: format!("malformed external reference `{value}`"),
                            });
                        }
                    }
                    "PrimaryPackagePurpose" => c.kind = kind_from_purpose(&value),
                    "PackageSourceInfo" => parse_source_info(c, &value),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    flush(&mut comps, &mut declared, &mut concluded);
    for c in &mut comps {
        for l in &mut c.licenses {
            *l = super::named_license(std::mem::take(l), &license_names);
        }
    }
    if spec_version.is_empty() {
        return Err(ReadError::invalid("line 1", "no `SPDXVersion:` tag"));
    }
    let mut sbom = Sbom {
        metadata: md,
        components: comps,
        dependencies: BTreeMap::new(),
    };
    super::apply_relationships(
        &doc_id,
        Vec::new(),
        rels.into_iter().map(|(a, t, b, _)| (a, t, b)),
        &mut sbom,
    );
    Ok(Read {
        sbom,
        format: Format::SpdxTagValue,
        spec_version,
        warnings,
    })
}

fn one_line(s: &str) -> String {
    if s.contains('\n') {
        format!("<text>{s}</text>")
    } else {
        s.to_string()
    }
}

/// Writes SPDX 2.3 tag-value.
pub fn write(sbom: &Sbom, opts: &WriteOptions) -> Vec<u8> {
    let ids = spdx_ids(sbom);
    let version = opts
        .tool_version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    let mut x = String::new();
    let _ = writeln!(
        x,
        "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT"
    );
    let _ = writeln!(
        x,
        "DocumentName: {}",
        one_line(sbom.metadata.target.as_deref().unwrap_or("sbom"))
    );
    let _ = writeln!(x, "DocumentNamespace: {}", namespace(sbom, opts));
    let _ = writeln!(
        x,
        "Creator: Tool: stella-{version}\nCreator: Organization: Stella Ops"
    );
    let _ = writeln!(x, "Created: {}", created(sbom, opts));
    let described: Vec<&str> = match sbom
        .metadata
        .target_ref
        .as_ref()
        .filter(|r| ids.contains_key(*r))
    {
        Some(r) => vec![ids[r].as_str()],
        None => roots(sbom).iter().map(|c| ids[&c.id].as_str()).collect(),
    };
    let mut refs = BTreeMap::new();
    for c in &sbom.components {
        let _ = writeln!(x, "\nPackageName: {}", one_line(&c.name));
        let _ = writeln!(x, "SPDXID: {}", ids[&c.id]);
        if let Some(v) = &c.version {
            let _ = writeln!(x, "PackageVersion: {}", one_line(v));
        }
        let _ = writeln!(
            x,
            "PackageSupplier: {}",
            c.supplier
                .as_ref()
                .map_or("NOASSERTION".to_string(), |s| format!(
                    "Organization: {}",
                    one_line(s)
                ))
        );
        let _ = writeln!(
            x,
            "PackageDownloadLocation: NOASSERTION\nFilesAnalyzed: false"
        );
        for (a, d) in c.hashes.iter().filter(|(a, d)| super::spdx_hash_ok(a, d)) {
            let _ = writeln!(x, "PackageChecksum: {}: {d}", spdx_alg(a));
        }
        if let Some(s) = source_info(c) {
            let _ = writeln!(x, "PackageSourceInfo: {}", one_line(&s));
        }
        let _ = writeln!(x, "PackageLicenseConcluded: NOASSERTION");
        let _ = writeln!(
            x,
            "PackageLicenseDeclared: {}",
            license_expression(c, &mut refs).unwrap_or_else(|| "NOASSERTION".into())
        );
        let _ = writeln!(x, "PackageCopyrightText: NOASSERTION");
        if let Some(p) = &c.purl {
            let _ = writeln!(x, "ExternalRef: PACKAGE-MANAGER purl {p}");
        }
        for cpe in &c.cpes {
            let _ = writeln!(x, "ExternalRef: SECURITY cpe23Type {cpe}");
        }
        let _ = writeln!(x, "PrimaryPackagePurpose: {}", purpose(c.kind));
    }
    if !described.is_empty() || !sbom.dependencies.is_empty() {
        x.push('\n');
    }
    for d in described {
        let _ = writeln!(x, "Relationship: SPDXRef-DOCUMENT DESCRIBES {d}");
    }
    for (from, tos) in &sbom.dependencies {
        let Some(f) = ids.get(from) else { continue };
        for t in tos {
            if let Some(t) = ids.get(t) {
                let _ = writeln!(x, "Relationship: {f} DEPENDS_ON {t}");
            }
        }
    }
    for (id, text) in &refs {
        let _ = writeln!(
            x,
            "\nLicenseID: {id}\nExtractedText: <text>{text}</text>\nLicenseName: {}",
            one_line(text)
        );
    }
    x.into_bytes()
}
