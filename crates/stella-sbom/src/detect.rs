//! Which SBOM format a document is, from its first bytes and a few keys.

use crate::ReadError;

/// The formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// CycloneDX JSON (1.2–1.7).
    CycloneDxJson,
    /// CycloneDX XML (1.0–1.7).
    CycloneDxXml,
    /// SPDX 2.2 / 2.3 JSON.
    SpdxJson,
    /// SPDX 2.x tag-value.
    SpdxTagValue,
    /// SPDX 3.0 JSON-LD.
    Spdx3JsonLd,
    /// Syft's native JSON.
    SyftJson,
    /// Trivy's JSON report (`Results[].Packages`).
    TrivyJson,
}

impl Format {
    /// The type-hint names (`X-Stella-Sbom-Type`, `--input-format`).
    pub fn from_hint(s: &str) -> Option<Format> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "cyclonedx-json" | "cyclonedx" | "cdx-json" => Format::CycloneDxJson,
            "cyclonedx-xml" | "cdx-xml" => Format::CycloneDxXml,
            "spdx-json" => Format::SpdxJson,
            "spdx-tag-value" | "spdx-tv" | "spdx" => Format::SpdxTagValue,
            "spdx3-json" | "spdx-3-json" | "spdx3" => Format::Spdx3JsonLd,
            "syft-json" | "syft" => Format::SyftJson,
            "trivy-json-v2" | "trivy-json" | "trivy" => Format::TrivyJson,
            _ => return None,
        })
    }

    /// The canonical hint name.
    pub fn name(self) -> &'static str {
        match self {
            Format::CycloneDxJson => "cyclonedx-json",
            Format::CycloneDxXml => "cyclonedx-xml",
            Format::SpdxJson => "spdx-json",
            Format::SpdxTagValue => "spdx-tag-value",
            Format::Spdx3JsonLd => "spdx3-json",
            Format::SyftJson => "syft-json",
            Format::TrivyJson => "trivy-json-v2",
        }
    }
}

/// Detects the format from the content: the first 64 KiB usually decide; JSON whose
/// distinguishing keys come later (writers that sort keys) is scanned whole.
pub fn detect(bytes: &[u8]) -> Result<Format, ReadError> {
    match detect_in(&bytes[..bytes.len().min(64 * 1024)]) {
        Err(ReadError::Unrecognised(_)) if bytes.len() > 64 * 1024 => detect_in(bytes),
        r => r,
    }
}

fn detect_in(head: &[u8]) -> Result<Format, ReadError> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    // the keys are ASCII: searched in the bytes (SIMD), without a UTF-8 copy of the head
    let has = |k: &str| memchr::memmem::find(head, k.as_bytes()).is_some();
    let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'{') {
        if has("\"bomFormat\"") && has("CycloneDX") {
            return Ok(Format::CycloneDxJson);
        }
        if has("\"spdxVersion\"") {
            return Ok(Format::SpdxJson);
        }
        if has("\"@context\"") && has("spdx.org/rdf/3") {
            return Ok(Format::Spdx3JsonLd);
        }
        if has("\"artifacts\"") && (has("\"descriptor\"") || has("\"artifactRelationships\"")) {
            return Ok(Format::SyftJson);
        }
        if has("\"SchemaVersion\"") && (has("\"Results\"") || has("\"ArtifactName\"")) {
            return Ok(Format::TrivyJson);
        }
        return Err(ReadError::Unrecognised(
            "a JSON document that is not CycloneDX, SPDX, syft or trivy JSON\nhint: pass the format \
             explicitly (cyclonedx-json, spdx-json, spdx3-json, syft-json, trivy-json-v2)"
                .into(),
        ));
    }
    if first == Some(b'<') {
        if has("cyclonedx.org/schema/bom") {
            return Ok(Format::CycloneDxXml);
        }
        return Err(ReadError::Unrecognised(
            "an XML document that is not CycloneDX (SPDX RDF/XML is not supported; convert it to SPDX JSON)".into(),
        ));
    }
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start();
    if t.starts_with("SPDXVersion:") || text.lines().any(|l| l.starts_with("SPDXVersion:")) {
        return Ok(Format::SpdxTagValue);
    }
    Err(ReadError::Unrecognised(
        "not an SBOM we recognise (CycloneDX JSON/XML, SPDX JSON/tag-value/3.0, syft JSON, trivy JSON)".into(),
    ))
}
