//! VEX documents read into one statement model and applied to findings: OpenVEX (0.0.1 and
//! 0.2.0), CycloneDX VEX (JSON, any 1.x) and CSAF 2.0 VEX.
//!
//! Traps: products are named by Package URL; a purl without a version speaks for every
//! version, qualifiers are ignored (a statement about `pkg:deb/debian/openssl@3.0.11-1` holds
//! whatever the `arch`). CycloneDX points at components by `bom-ref`, which is resolved
//! through the document's own components (or is a purl itself). CSAF names products by id:
//! ids come from the product tree's branches and full product names (`purl` helpers) and from
//! relationships (`default_component_of`: the component's purl). When several statements
//! apply to one finding the last one read wins (a newer document given later corrects an
//! older one), so `affected` after `not_affected` keeps the finding in the gate.

use std::collections::BTreeMap;

use serde_json::Value;
use stella_match::{Finding, VexNote};
use stella_sbom::Purl;

/// Why a VEX document could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not JSON at all.
    #[error("{document}: not JSON: {source}")]
    NotJson {
        /// The document.
        document: String,
        /// The parser's complaint.
        source: serde_json::Error,
    },
    /// JSON, but none of the VEX formats.
    #[error(
        "{document}: not a VEX document (OpenVEX, CycloneDX VEX or CSAF VEX JSON expected){why}"
    )]
    UnknownFormat {
        /// The document.
        document: String,
        /// What it looked like instead.
        why: String,
    },
}

/// What a statement says about the products it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Not affected: the finding is set aside.
    NotAffected,
    /// Fixed in the named product: the finding is set aside.
    Fixed,
    /// Affected: the finding stays.
    Affected,
    /// Still being looked at: the finding stays.
    UnderInvestigation,
}

impl Status {
    /// The OpenVEX spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotAffected => "not_affected",
            Status::Fixed => "fixed",
            Status::Affected => "affected",
            Status::UnderInvestigation => "under_investigation",
        }
    }
}

/// One statement: a vulnerability, the products it is about, and what it says.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The vulnerability id.
    pub vulnerability: String,
    /// Other ids the document gives for it.
    pub aliases: Vec<String>,
    /// The products (packages) it speaks for.
    pub products: Vec<Purl>,
    /// What it says.
    pub status: Status,
    /// Why (a justification label or an impact statement).
    pub justification: Option<String>,
    /// The document it came from.
    pub document: String,
}

/// Reads a VEX document of any supported format; `document` names it in errors and notes.
pub fn read(bytes: &[u8], document: &str) -> Result<Vec<Statement>, Error> {
    let v: Value = serde_json::from_slice(bytes).map_err(|source| Error::NotJson {
        document: document.to_string(),
        source,
    })?;
    if v.get("@context")
        .and_then(Value::as_str)
        .is_some_and(|c| c.contains("openvex"))
    {
        return Ok(openvex(&v, document));
    }
    if v.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return Ok(cyclonedx(&v, document));
    }
    if v.pointer("/document/csaf_version").is_some() {
        return Ok(csaf(&v, document));
    }
    let why = if v.get("spdxVersion").is_some() {
        ": it is an SPDX document".to_string()
    } else {
        String::new()
    };
    Err(Error::UnknownFormat {
        document: document.to_string(),
        why,
    })
}

fn purls<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<Purl> {
    let mut out: Vec<Purl> = ids
        .into_iter()
        .filter_map(|i| Purl::parse(i).ok())
        .collect();
    out.sort_by_key(|p| p.to_string());
    out.dedup_by_key(|p| p.to_string());
    out
}

fn openvex(v: &Value, document: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    for st in v
        .get("statements")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (vuln, aliases) = match st.get("vulnerability") {
            Some(Value::String(s)) => (s.clone(), Vec::new()),
            Some(o) => (
                o.get("name")
                    .or_else(|| o.get("@id"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                o.get("aliases")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect(),
            ),
            None => continue,
        };
        let mut ids: Vec<&str> = Vec::new();
        for p in st
            .get("products")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match p {
                Value::String(s) => ids.push(s),
                o => {
                    ids.extend(o.get("@id").and_then(Value::as_str));
                    ids.extend(o.pointer("/identifiers/purl").and_then(Value::as_str));
                    for sc in o
                        .get("subcomponents")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        ids.extend(sc.get("@id").and_then(Value::as_str));
                        ids.extend(sc.pointer("/identifiers/purl").and_then(Value::as_str));
                    }
                }
            }
        }
        let status = match st.get("status").and_then(Value::as_str) {
            Some("not_affected") => Status::NotAffected,
            Some("fixed") => Status::Fixed,
            Some("affected") => Status::Affected,
            _ => Status::UnderInvestigation,
        };
        out.push(Statement {
            vulnerability: vuln,
            aliases,
            products: purls(ids),
            status,
            justification: st
                .get("justification")
                .or_else(|| st.get("impact_statement"))
                .and_then(Value::as_str)
                .map(str::to_string),
            document: document.to_string(),
        });
    }
    out
}

/// Components by bom-ref (nested components included) → purl.
fn cdx_refs<'a>(components: &'a [Value], out: &mut BTreeMap<&'a str, &'a str>) {
    for c in components {
        if let (Some(r), Some(p)) = (
            c.get("bom-ref").and_then(Value::as_str),
            c.get("purl").and_then(Value::as_str),
        ) {
            out.insert(r, p);
        }
        if let Some(inner) = c.get("components").and_then(Value::as_array) {
            cdx_refs(inner, out);
        }
    }
}

fn cyclonedx(v: &Value, document: &str) -> Vec<Statement> {
    let mut refs = BTreeMap::new();
    if let Some(c) = v.get("components").and_then(Value::as_array) {
        cdx_refs(c, &mut refs);
    }
    if let Some(c) = v.pointer("/metadata/component") {
        cdx_refs(std::slice::from_ref(c), &mut refs);
    }
    let mut out = Vec::new();
    for vu in v
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(id) = vu.get("id").and_then(Value::as_str) else {
            continue;
        };
        let status = match vu.pointer("/analysis/state").and_then(Value::as_str) {
            Some("not_affected") | Some("false_positive") => Status::NotAffected,
            Some("resolved") | Some("resolved_with_pedigree") => Status::Fixed,
            Some("exploitable") => Status::Affected,
            _ => Status::UnderInvestigation,
        };
        let ids: Vec<&str> = vu
            .get("affects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("ref").and_then(Value::as_str))
            .map(|r| {
                // a BOM-Link (`urn:cdx:serial/version#bom-ref`) names a ref of this document
                let r = r.rsplit_once('#').map(|(_, x)| x).unwrap_or(r);
                refs.get(r).copied().unwrap_or(r)
            })
            .collect();
        out.push(Statement {
            vulnerability: id.to_string(),
            aliases: vu
                .get("references")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
                .collect(),
            products: purls(ids),
            status,
            justification: vu
                .pointer("/analysis/justification")
                .or_else(|| vu.pointer("/analysis/detail"))
                .and_then(Value::as_str)
                .map(str::to_string),
            document: document.to_string(),
        });
    }
    out
}

/// CSAF product ids → purls, from the product tree.
fn csaf_products(tree: &Value) -> BTreeMap<String, Vec<String>> {
    fn product(p: &Value, out: &mut BTreeMap<String, Vec<String>>) {
        let Some(id) = p.get("product_id").and_then(Value::as_str) else {
            return;
        };
        let helper = p.get("product_identification_helper");
        let mut ps: Vec<String> = helper
            .and_then(|h| h.get("purl"))
            .and_then(Value::as_str)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default();
        // CSAF 2.1 lists several
        ps.extend(
            helper
                .and_then(|h| h.get("purls"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_string)),
        );
        out.entry(id.to_string()).or_default().extend(ps);
    }
    fn branches(b: &Value, out: &mut BTreeMap<String, Vec<String>>) {
        for br in b.as_array().into_iter().flatten() {
            if let Some(p) = br.get("product") {
                product(p, out);
            }
            if let Some(inner) = br.get("branches") {
                branches(inner, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    if let Some(b) = tree.get("branches") {
        branches(b, &mut out);
    }
    for p in tree
        .get("full_product_names")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        product(p, &mut out);
    }
    // a component installed on a platform is a product of its own: it is the component
    for r in tree
        .get("relationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(full), Some(comp)) = (
            r.pointer("/full_product_name/product_id")
                .and_then(Value::as_str),
            r.get("product_reference").and_then(Value::as_str),
        ) else {
            continue;
        };
        let purls = out.get(comp).cloned().unwrap_or_default();
        out.entry(full.to_string()).or_default().extend(purls);
    }
    out
}

fn csaf(v: &Value, document: &str) -> Vec<Statement> {
    let products = v.get("product_tree").map(csaf_products).unwrap_or_default();
    let mut out = Vec::new();
    for vu in v
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut names: Vec<String> = vu
            .get("cve")
            .and_then(Value::as_str)
            .map(|c| vec![c.to_string()])
            .unwrap_or_default();
        names.extend(
            vu.get("ids")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| i.get("text").and_then(Value::as_str).map(str::to_string)),
        );
        let Some(name) = names.first().cloned() else {
            continue;
        };
        // flags and impact threats say why, per product
        let mut why: BTreeMap<&str, String> = BTreeMap::new();
        for f in vu
            .get("flags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(label) = f.get("label").and_then(Value::as_str) {
                for id in f
                    .get("product_ids")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    why.insert(id, label.to_string());
                }
            }
        }
        for t in vu
            .get("threats")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|t| t.get("category").and_then(Value::as_str) == Some("impact"))
        {
            if let Some(d) = t.get("details").and_then(Value::as_str) {
                for id in t
                    .get("product_ids")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    why.entry(id).or_insert_with(|| d.to_string());
                }
            }
        }
        for (key, status) in [
            ("known_not_affected", Status::NotAffected),
            ("fixed", Status::Fixed),
            ("first_fixed", Status::Fixed),
            ("known_affected", Status::Affected),
            ("first_affected", Status::Affected),
            ("last_affected", Status::Affected),
            ("under_investigation", Status::UnderInvestigation),
        ] {
            // one statement per justification, so each finding keeps its own reason
            let mut by_why: BTreeMap<Option<String>, Vec<&str>> = BTreeMap::new();
            for id in vu
                .pointer(&format!("/product_status/{key}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let ps = products.get(id).map(Vec::as_slice).unwrap_or_default();
                by_why
                    .entry(why.get(id).cloned())
                    .or_default()
                    .extend(ps.iter().map(String::as_str));
            }
            for (justification, ids) in by_why {
                if ids.is_empty() {
                    continue;
                }
                out.push(Statement {
                    vulnerability: name.clone(),
                    aliases: names[1..].to_vec(),
                    products: purls(ids),
                    status,
                    justification,
                    document: document.to_string(),
                });
            }
        }
    }
    out
}

/// Whether a statement's product purl names the package with purl `purl` (type, namespace
/// case-insensitively, name, and the version when the product gives one).
pub fn product_matches(product: &Purl, purl: &Purl) -> bool {
    product.ty == purl.ty
        && product.namespace.as_deref().map(str::to_ascii_lowercase)
            == purl.namespace.as_deref().map(str::to_ascii_lowercase)
        && product.name == purl.name
        && product
            .version
            .as_ref()
            .is_none_or(|v| Some(v) == purl.version.as_ref())
}

/// Marks the findings the statements set aside (`not_affected`, `fixed`); the last statement
/// that applies to a finding decides.
pub fn apply(statements: &[Statement], findings: &mut [Finding]) {
    if statements.is_empty() {
        return;
    }
    for f in findings {
        let Some(purl) = f.package.purl.as_deref().and_then(|p| Purl::parse(p).ok()) else {
            continue;
        };
        // by id, or one side's id among the other's aliases; never alias to alias (a DSA
        // lists several CVEs, and one CVE's statement must not speak for the others)
        let names_it = |st: &Statement| {
            *st.vulnerability == *f.vulnerability_id
                || f.aliases.contains(&st.vulnerability)
                || st.aliases.iter().any(|a| **a == *f.vulnerability_id)
        };
        let last = statements
            .iter()
            .rfind(|st| names_it(st) && st.products.iter().any(|p| product_matches(p, &purl)));
        f.vex = match last {
            Some(st) if matches!(st.status, Status::NotAffected | Status::Fixed) => Some(VexNote {
                status: st.status.as_str().to_string(),
                justification: st.justification.clone(),
                document: st.document.clone(),
            }),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_formats() {
        let ovx = br#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[
            {"vulnerability":{"name":"CVE-1","aliases":["GHSA-x"]},"products":[{"@id":"pkg:oci/app","subcomponents":[{"@id":"pkg:pypi/django@4.2"}]}],"status":"not_affected","justification":"component_not_present"}]}"#;
        let s = read(ovx, "a.json").unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].products.len(), 2);
        assert_eq!(s[0].aliases, ["GHSA-x"]);
        let cdx = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"bom-ref":"c1","name":"django","purl":"pkg:pypi/django@4.2"}],
            "vulnerabilities":[{"id":"CVE-1","analysis":{"state":"not_affected","justification":"code_not_reachable"},"affects":[{"ref":"urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#c1"}]},
                               {"id":"CVE-2","analysis":{"state":"exploitable"},"affects":[{"ref":"pkg:npm/lodash@4.17.20"}]}]}"#;
        let s = read(cdx, "b.json").unwrap();
        assert_eq!(s[0].products[0].to_string(), "pkg:pypi/django@4.2");
        assert_eq!(s[0].status, Status::NotAffected);
        assert_eq!(s[1].products[0].name, "lodash");
        assert_eq!(s[1].status, Status::Affected);
        let csaf = br#"{"document":{"csaf_version":"2.0","category":"csaf_vex"},
            "product_tree":{"branches":[{"category":"vendor","name":"x","branches":[{"category":"product_version","name":"openssl 3.0.11","product":{"product_id":"openssl-3","product_identification_helper":{"purl":"pkg:deb/debian/openssl@3.0.11-1"}}}]}],
              "relationships":[{"category":"default_component_of","product_reference":"openssl-3","relates_to_product_reference":"img","full_product_name":{"name":"openssl in img","product_id":"img:openssl-3"}}]},
            "vulnerabilities":[{"cve":"CVE-2023-1","product_status":{"known_not_affected":["img:openssl-3"]},"flags":[{"label":"vulnerable_code_not_present","product_ids":["img:openssl-3"]}]}]}"#;
        let s = read(csaf, "c.json").unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].vulnerability, "CVE-2023-1");
        assert_eq!(
            s[0].products[0].to_string(),
            "pkg:deb/debian/openssl@3.0.11-1"
        );
        assert_eq!(
            s[0].justification.as_deref(),
            Some("vulnerable_code_not_present")
        );
        assert!(matches!(
            read(b"{\"spdxVersion\":\"SPDX-2.3\"}", "d.json"),
            Err(Error::UnknownFormat { .. })
        ));
        assert!(matches!(read(b"not json", "e"), Err(Error::NotJson { .. })));
    }

    #[test]
    fn products_match_by_identity_and_version_when_given() {
        let p = |s: &str| Purl::parse(s).unwrap();
        let installed = p("pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12");
        assert!(product_matches(&p("pkg:deb/debian/openssl"), &installed));
        assert!(product_matches(
            &p("pkg:deb/Debian/openssl@3.0.11-1"),
            &installed
        ));
        assert!(!product_matches(
            &p("pkg:deb/debian/openssl@3.0.13-1"),
            &installed
        ));
        assert!(!product_matches(&p("pkg:deb/ubuntu/openssl"), &installed));
        assert!(!product_matches(&p("pkg:rpm/debian/openssl"), &installed));
    }
}
