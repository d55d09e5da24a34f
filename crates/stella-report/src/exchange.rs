//! Findings in the formats other tools exchange: CycloneDX 1.6 with vulnerabilities (VDR) and
//! as VEX, OpenVEX 0.2.0, and SPDX 2.3 with security references.
//!
//! Traps: CycloneDX states an analysis per vulnerability, not per affected component, so the
//! VEX form groups findings by (vulnerability, state); OpenVEX `affected` statements must say
//! what to do and `not_affected` ones why; SPDX has no vulnerability objects before 3.0, only
//! `SECURITY` external references on packages.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stella_match::Finding;

use crate::Report;

/// Where people read about a vulnerability id.
pub fn advisory_url(id: &str) -> String {
    if id.starts_with("CVE-") {
        format!("https://nvd.nist.gov/vuln/detail/{id}")
    } else if id.starts_with("GHSA-") {
        format!("https://github.com/advisories/{id}")
    } else if id.starts_with("RUSTSEC-") {
        format!("https://rustsec.org/advisories/{id}.html")
    } else {
        format!("https://osv.dev/vulnerability/{id}")
    }
}

/// The component reference of a finding's package: its purl, else `name@version`.
fn bom_ref(f: &Finding) -> String {
    f.package
        .purl
        .clone()
        .unwrap_or_else(|| format!("{}@{}", f.package.name, f.package.version))
}

/// FNV-1a, for identifiers derived from the content.
fn fnv(data: &[u8], seed: u64) -> u64 {
    stella_sbom::hash::Fnv64::with_seed(seed)
        .write(data)
        .finish()
}

/// A name-based (version 5 layout) UUID from the report, so the same scan gets the same id.
fn uuid(r: &Report, kind: &str) -> String {
    let seed = format!("{kind}:{}:{}", r.scan_id, r.target.reference);
    let (a, b) = (fnv(seed.as_bytes(), 1), fnv(seed.as_bytes(), 2));
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-5{}-{}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        ["8", "9", "a", "b"][usize::from(hex.as_bytes()[16] % 4)],
        &hex[17..20],
        &hex[20..32]
    )
}

fn cdx_method(kind: &str, vector: &str) -> &'static str {
    match kind {
        "CVSS_V2" => "CVSSv2",
        "CVSS_V4" => "CVSSv4",
        _ if vector.starts_with("CVSS:3.0") => "CVSSv3",
        _ => "CVSSv31",
    }
}

/// OpenVEX justification → CycloneDX analysis justification.
fn cdx_justification(j: &str) -> Option<&'static str> {
    Some(match j {
        "component_not_present" | "vulnerable_code_not_present" => "code_not_present",
        "vulnerable_code_not_in_execute_path" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" => "requires_environment",
        "inline_mitigations_already_exist" => "protected_by_mitigating_control",
        _ => return None,
    })
}

fn cdx_vulnerability(fs: &[&Finding], analysis: Option<Value>) -> Value {
    let f = fs[0];
    let mut ratings: Vec<Value> = f
        .cvss
        .iter()
        .map(|c| {
            json!({
                "source": { "name": c.source },
                "method": cdx_method(&c.kind, &c.vector),
                "vector": c.vector,
            })
        })
        .collect();
    let sev = match &*f.severity {
        s @ ("critical" | "high" | "medium" | "low" | "none") => s,
        _ => "unknown",
    };
    let mut summary = json!({ "severity": sev });
    if let Some(s) = f.score {
        summary["score"] = json!(s);
    }
    if let Some(src) = &f.severity_source {
        summary["source"] = json!({ "name": src });
    }
    ratings.insert(0, summary);
    let mut affects: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut fixed: Vec<String> = Vec::new();
    for x in fs {
        affects
            .entry(bom_ref(x))
            .or_default()
            .push(x.package.version.clone());
        fixed.extend(x.fixed_versions.iter().cloned());
    }
    fixed.sort();
    fixed.dedup();
    let mut v = json!({
        "bom-ref": format!("vuln:{}", f.vulnerability_id),
        "id": f.vulnerability_id,
        "source": { "name": f.match_details.found.first().map(|x| x.feed.clone()).unwrap_or_default(),
                    "url": advisory_url(&f.vulnerability_id) },
        "ratings": ratings,
        "affects": affects.into_iter().map(|(r, mut vs)| {
            vs.sort();
            vs.dedup();
            json!({ "ref": r, "versions": vs.into_iter().map(|v| json!({ "version": v, "status": "affected" })).collect::<Vec<_>>() })
        }).collect::<Vec<_>>(),
    });
    if !f.aliases.is_empty() {
        v["references"] = json!(
            f.aliases
                .iter()
                .map(|a| json!({ "id": a, "source": { "url": advisory_url(a) } }))
                .collect::<Vec<_>>()
        );
    }
    if let Some(s) = &f.summary {
        v["description"] = json!(s);
    }
    if !fixed.is_empty() {
        v["recommendation"] = json!(format!("Upgrade to {}", fixed.join(" or ")));
    }
    if let Some(a) = analysis {
        v["analysis"] = a;
    }
    v
}

fn cdx_document(r: &Report, tool_version: &str, vulnerabilities: Vec<Value>) -> Vec<u8> {
    let mut components: BTreeMap<String, Value> = BTreeMap::new();
    for f in &r.findings {
        components.entry(bom_ref(f)).or_insert_with(|| {
            let mut c = json!({
                "type": "library",
                "bom-ref": bom_ref(f),
                "name": f.package.name,
                "version": f.package.version,
            });
            if let Some(p) = &f.package.purl {
                c["purl"] = json!(p);
            }
            c
        });
    }
    let kind = match r.target.kind.as_str() {
        "image" => "container",
        "directory" => "file",
        _ => "application",
    };
    let doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", uuid(r, "cyclonedx")),
        "version": 1,
        "metadata": {
            "timestamp": r.created_at,
            "tools": { "components": [{ "type": "application", "name": "stella", "version": tool_version }] },
            "component": { "type": kind, "bom-ref": "target", "name": r.target.reference },
        },
        "components": components.into_values().collect::<Vec<_>>(),
        "vulnerabilities": vulnerabilities,
    });
    let mut v = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    v.push(b'\n');
    v
}

/// CycloneDX 1.6 vulnerability disclosure report: the affected components and one
/// vulnerability per id with its ratings, aliases, fix and affected versions.
pub fn cyclonedx_vdr(r: &Report, tool_version: &str) -> Vec<u8> {
    let mut by_id: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &r.findings {
        by_id.entry(&f.vulnerability_id).or_default().push(f);
    }
    let vulns = by_id
        .values()
        .map(|fs| cdx_vulnerability(fs, None))
        .collect();
    cdx_document(r, tool_version, vulns)
}

/// CycloneDX 1.6 VEX: the VDR with an analysis on every vulnerability: `in_triage` for what
/// the scan found, `not_affected` / `resolved` where a VEX statement said so.
pub fn cyclonedx_vex(r: &Report, tool_version: &str) -> Vec<u8> {
    let mut groups: BTreeMap<(&str, Option<&str>), Vec<&Finding>> = BTreeMap::new();
    for f in &r.findings {
        groups
            .entry((
                &f.vulnerability_id,
                f.vex.as_ref().map(|v| v.status.as_str()),
            ))
            .or_default()
            .push(f);
    }
    let vulns = groups
        .iter()
        .map(|((_, status), fs)| {
            let analysis = match (status, &fs[0].vex) {
                (Some(s), Some(v)) => {
                    let mut a = json!({
                        "state": if *s == "fixed" { "resolved" } else { "not_affected" },
                        "detail": format!("VEX {s} ({})", v.document),
                    });
                    if let Some(j) = v.justification.as_deref().and_then(cdx_justification) {
                        a["justification"] = json!(j);
                    }
                    a
                }
                _ => json!({ "state": "in_triage" }),
            };
            cdx_vulnerability(fs, Some(analysis))
        })
        .collect();
    cdx_document(r, tool_version, vulns)
}

/// OpenVEX 0.2.0: one statement per vulnerability and status, the target as the product and
/// the affected packages as its subcomponents.
pub fn openvex(r: &Report, tool_version: &str) -> Vec<u8> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Finding>> = BTreeMap::new();
    for f in &r.findings {
        let status = f
            .vex
            .as_ref()
            .map(|v| v.status.as_str())
            .unwrap_or("affected");
        groups
            .entry((&f.vulnerability_id, status))
            .or_default()
            .push(f);
    }
    let product = match &r.target.digest {
        Some(d) => format!("{}@{d}", r.target.reference),
        None => r.target.reference.clone(),
    };
    let statements: Vec<Value> = groups
        .iter()
        .map(|((id, status), fs)| {
            let mut subs: Vec<String> = fs.iter().map(|f| bom_ref(f)).collect();
            subs.sort();
            subs.dedup();
            let mut st = json!({
                "vulnerability": { "name": id, "aliases": fs[0].aliases },
                "products": [{ "@id": product, "subcomponents": subs.iter().map(|s| json!({ "@id": s })).collect::<Vec<_>>() }],
                "status": status,
            });
            match *status {
                "affected" => {
                    let mut fixed: Vec<&str> = fs
                        .iter()
                        .flat_map(|f| f.fixed_versions.iter().map(String::as_str))
                        .collect();
                    fixed.sort();
                    fixed.dedup();
                    st["action_statement"] = json!(if fixed.is_empty() {
                        "No fixed version is known yet; assess exposure and watch for an update".to_string()
                    } else {
                        format!("Upgrade to {}", fixed.join(" or "))
                    });
                }
                "not_affected" => {
                    let v = fs[0].vex.as_ref();
                    match v.and_then(|v| v.justification.clone()) {
                        Some(j) if cdx_justification(&j).is_some() => {
                            st["justification"] = json!(j)
                        }
                        Some(j) => st["impact_statement"] = json!(j),
                        None => {
                            st["impact_statement"] = json!(format!(
                                "as stated in {}",
                                v.map(|v| v.document.as_str()).unwrap_or("a VEX document")
                            ))
                        }
                    }
                }
                _ => {}
            }
            st
        })
        .collect();
    let doc = json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("urn:uuid:{}", uuid(r, "openvex")),
        "author": "stella",
        "timestamp": r.created_at,
        "version": 1,
        "tooling": format!("stella {tool_version}"),
        "statements": statements,
    });
    let mut v = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    v.push(b'\n');
    v
}

/// SPDX 2.3 JSON: the affected packages, each with its purl and one `SECURITY` `advisory`
/// reference per vulnerability found in it.
pub fn spdx(r: &Report, tool_version: &str) -> Vec<u8> {
    let mut pkgs: BTreeMap<String, (&Finding, Vec<&str>)> = BTreeMap::new();
    for f in &r.findings {
        let e = pkgs.entry(bom_ref(f)).or_insert((f, Vec::new()));
        e.1.push(&f.vulnerability_id);
    }
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    for (i, (_, (f, ids))) in pkgs.iter_mut().enumerate() {
        ids.sort();
        ids.dedup();
        let id = format!("SPDXRef-Package-{i}");
        let mut refs: Vec<Value> = Vec::new();
        if let Some(p) = &f.package.purl {
            refs.push(json!({ "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p }));
        }
        for v in ids.iter() {
            refs.push(json!({
                "referenceCategory": "SECURITY",
                "referenceType": "advisory",
                "referenceLocator": advisory_url(v),
                "comment": format!("{v} (found by stella)"),
            }));
        }
        packages.push(json!({
            "SPDXID": id,
            "name": f.package.name,
            "versionInfo": f.package.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "externalRefs": refs,
        }));
        relationships.push(json!({
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": id,
        }));
    }
    let doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("stella scan of {}", r.target.reference),
        "documentNamespace": format!("https://stella-ops.invalid/spdx/{}", uuid(r, "spdx")),
        "creationInfo": { "created": r.created_at, "creators": [format!("Tool: stella-{tool_version}")] },
        "packages": packages,
        "relationships": relationships,
    });
    let mut v = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    v.push(b'\n');
    v
}
