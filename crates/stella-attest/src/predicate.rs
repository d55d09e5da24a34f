//! The predicates Stella signs: SBOMs (the predicate types cosign writes for CycloneDX and
//! SPDX), Stella's scan result (`docs/schemas/scan-result-v1.json`) and SLSA provenance v1.

use serde::Deserialize;
use serde_json::{Value, json};

/// `cosign attest --type cyclonedx`.
pub const CYCLONEDX: &str = "https://cyclonedx.org/bom";
/// `cosign attest --type spdxjson`.
pub const SPDX: &str = "https://spdx.dev/Document";
/// SLSA provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// Stella's scan result and verdict.
pub const SCAN_RESULT_V1: &str = "https://stella-ops.org/attestation/scan-result/v1";
/// cosign's vulnerability scan predicate (read, not written).
pub const COSIGN_VULN_V1: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";
/// The build type of Stella's SLSA provenance.
pub const STELLA_BUILD_TYPE: &str = "https://stella-ops.org/attestation/build-type/scan/v1";

/// The short names of predicate types (`sbom`, `vuln`, `slsa`) as the CLI takes them.
pub fn short_name(predicate_type: &str) -> &'static str {
    match predicate_type {
        CYCLONEDX | SPDX => "sbom",
        SCAN_RESULT_V1 | COSIGN_VULN_V1 => "vuln",
        SLSA_PROVENANCE_V1 => "slsa",
        _ => "other",
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SbomProbe {
    #[serde(default)]
    bom_format: Option<String>,
    #[serde(default)]
    spdx_version: Option<String>,
}

/// The predicate type of an SBOM's JSON: CycloneDX or SPDX; `None` for anything else.
pub fn sbom_type(json: &[u8]) -> Option<&'static str> {
    let p: SbomProbe = serde_json::from_slice(json).ok()?;
    if p.bom_format.as_deref() == Some("CycloneDX") {
        Some(CYCLONEDX)
    } else if p.spdx_version.is_some_and(|v| v.starts_with("SPDX-")) {
        Some(SPDX)
    } else {
        None
    }
}

/// What a scan-result predicate says about the scan that made it.
#[derive(Debug, Clone, Default)]
pub struct ScanContext {
    /// Stella's version.
    pub scanner_version: String,
    /// `sha256:` digest of the DB the scan matched against.
    pub db_digest: Option<String>,
    /// `sha256:` digest of the policy that decided the verdict.
    pub policy_digest: Option<String>,
}

/// Stella's scan-result predicate over a scan report (Stella's JSON report format): the
/// verdict and counts up front, for policy engines that read only them, and the whole report.
pub fn scan_result(report: &Value, ctx: &ScanContext) -> Value {
    let mut db = json!({});
    if let Some(d) = &ctx.db_digest {
        db["digest"] = json!(d);
    }
    if let Some(b) = report.pointer("/db/built") {
        db["built"] = b.clone();
    }
    let mut p = json!({
        "scanner": {
            "uri": "https://stella-ops.org/stella",
            "version": ctx.scanner_version,
            "db": db,
        },
        "verdict": report.get("verdict").cloned().unwrap_or(Value::Null),
        "summary": report.get("summary").cloned().unwrap_or(Value::Null),
        "metadata": {
            "scanId": report.get("scanId").cloned().unwrap_or(Value::Null),
            "scanFinishedOn": report.get("createdAt").cloned().unwrap_or(Value::Null),
        },
        "result": report,
    });
    if let Some(d) = &ctx.policy_digest {
        p["policy"] = json!({ "digest": d });
    }
    p
}

/// One resolved dependency of a provenance: a name and its `sha256` digest.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// Its name (`stella-db`, `policy`, a file name).
    pub name: String,
    /// Its URI, when it has one.
    pub uri: Option<String>,
    /// `sha256` hex (a `sha256:` prefix is taken off).
    pub sha256: String,
}

/// SLSA provenance v1 for something Stella produced: `stella` as the builder, what it was
/// asked (`external`), and the DB and policy it resolved as dependencies.
pub fn slsa_provenance(
    builder_version: &str,
    external: Value,
    dependencies: &[Dependency],
    started: Option<&str>,
    finished: Option<&str>,
) -> Value {
    let deps: Vec<Value> = dependencies
        .iter()
        .map(|d| {
            let mut v = json!({
                "name": d.name,
                "digest": { "sha256": d.sha256.strip_prefix("sha256:").unwrap_or(&d.sha256) },
            });
            if let Some(u) = &d.uri {
                v["uri"] = json!(u);
            }
            v
        })
        .collect();
    let mut metadata = json!({});
    if let Some(s) = started {
        metadata["startedOn"] = json!(s);
    }
    if let Some(f) = finished {
        metadata["finishedOn"] = json!(f);
    }
    json!({
        "buildDefinition": {
            "buildType": STELLA_BUILD_TYPE,
            "externalParameters": external,
            "resolvedDependencies": deps,
        },
        "runDetails": {
            "builder": {
                "id": "https://stella-ops.org/stella",
                "version": { "stella": builder_version },
            },
            "metadata": metadata,
        },
    })
}

/// The subject of a Stella scan report: its target's repository and digest (the tag is
/// dropped: the digest says more).
pub fn report_subject(report: &Value) -> Option<crate::Subject> {
    let t = report.get("target")?;
    let d = t.get("digest")?.as_str()?;
    let hex = d.strip_prefix("sha256:")?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let name = t.get("reference").and_then(|r| r.as_str()).unwrap_or("");
    Some(crate::Subject::sha256(repository(name), hex))
}

/// An image reference without its tag or digest, as cosign names subjects
/// (`registry:5000/team/app:1.4@sha256:…` → `registry:5000/team/app`).
pub fn repository(reference: &str) -> &str {
    let name = reference.split('@').next().unwrap_or(reference);
    match (name.rfind(':'), name.rfind('/')) {
        (Some(c), Some(s)) if c > s => &name[..c],
        (Some(c), None) => &name[..c],
        _ => name,
    }
}

/// The statement of a scan report's scan-result attestation — what `stella scan --attest`,
/// `stella attest sign --type vuln` and Core's `POST /api/v1/attest` sign. `subject` defaults
/// to the report's target.
pub fn scan_statement(
    report: &Value,
    subject: Option<crate::Subject>,
    ctx: &ScanContext,
) -> Result<Vec<u8>, crate::Error> {
    if report.get("verdict").is_none() || report.get("findings").is_none() {
        return Err(crate::Error::Statement(
            "this is not a Stella scan report (no verdict or findings)".into(),
        ));
    }
    let Some(subject) = subject.or_else(|| report_subject(report)) else {
        return Err(crate::Error::Statement(
            "the report's target has no digest to name it by (an SBOM or a directory)".into(),
        ));
    };
    let p = scan_result(report, ctx);
    crate::Statement::encode(
        &[subject],
        SCAN_RESULT_V1,
        &serde_json::to_vec(&p).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_lose_tags_and_digests_but_keep_ports() {
        for (r, want) in [
            ("registry.example/shop:1.4", "registry.example/shop"),
            ("localhost:5000/team/app:1", "localhost:5000/team/app"),
            ("localhost:5000/team/app", "localhost:5000/team/app"),
            ("alpine:3.20@sha256:abc", "alpine"),
            ("alpine", "alpine"),
        ] {
            assert_eq!(repository(r), want, "{r}");
        }
    }
}
