//! Sigstore bundles (v0.3 JSON written; v0.1–v0.3 read) around a DSSE envelope, and reading
//! whatever form an attestation arrives in: a bare envelope, a bundle, or cosign's
//! one-envelope-per-line download.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::{Envelope, Error, PublicKey};

/// The media type of a v0.3 bundle.
pub const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// A Sigstore bundle carrying a DSSE envelope signed with a key (no certificate, no log
/// entry unless one was recorded).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// [`BUNDLE_V03`].
    pub media_type: String,
    /// How to find the key.
    pub verification_material: Material,
    /// The envelope.
    pub dsse_envelope: Envelope,
}

/// A bundle's verification material, as Stella writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Material {
    /// The signing key's hint (its id).
    pub public_key: KeyHint,
    /// Transparency-log entries (none unless uploaded to a log).
    #[serde(default)]
    pub tlog_entries: Vec<serde_json::Value>,
}

/// `publicKey.hint`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyHint {
    /// The key's id.
    pub hint: String,
}

impl Bundle {
    /// A v0.3 bundle around `envelope`, hinting at `key`.
    pub fn new(envelope: Envelope, key: &PublicKey) -> Bundle {
        Bundle {
            media_type: BUNDLE_V03.to_string(),
            verification_material: Material {
                public_key: KeyHint {
                    hint: key.key_id().to_string(),
                },
                tlog_entries: Vec::new(),
            },
            dsse_envelope: envelope,
        }
    }

    /// Its JSON, one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnyBundle {
    media_type: String,
    #[serde(default)]
    verification_material: AnyMaterial,
    #[serde(default)]
    dsse_envelope: Option<Envelope>,
    #[serde(default)]
    message_signature: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AnyMaterial {
    #[serde(default)]
    public_key: Option<KeyHint>,
    // v0.3
    #[serde(default)]
    certificate: Option<RawBytes>,
    // v0.1, v0.2
    #[serde(default)]
    x509_certificate_chain: Option<Chain>,
    #[serde(default)]
    tlog_entries: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct Chain {
    #[serde(default)]
    certificates: Vec<RawBytes>,
}

/// An envelope as it arrived, with what its bundle (if any) said about how to verify it.
#[derive(Debug, Clone)]
pub struct Attestation {
    /// The envelope.
    pub envelope: Envelope,
    /// The bundle's public-key hint.
    pub key_hint: Option<String>,
    /// The signing certificate's DER (keyless signing), leaf first.
    pub certificate: Option<Vec<u8>>,
    /// The bundle's transparency-log entries.
    pub tlog_entries: Vec<serde_json::Value>,
}

impl Attestation {
    /// The public key of the signing certificate (not a statement of trust: the certificate's
    /// chain and identity are the caller's to check).
    pub fn certificate_key(&self) -> Result<Option<PublicKey>, Error> {
        let Some(cert) = &self.certificate else {
            return Ok(None);
        };
        let spki = crate::der::certificate_spki(cert)
            .ok_or_else(|| Error::Envelope("the bundle's certificate is not X.509 DER".into()))?;
        PublicKey::from_spki_der(spki).map(Some)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    media_type: Option<String>,
}

/// Every attestation in `bytes`: a DSSE envelope, a Sigstore bundle (any version) holding one,
/// or several of either one per line (what `cosign download attestation` prints).
pub fn read_attestations(bytes: &[u8]) -> Result<Vec<Attestation>, Error> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::Envelope("the file is not UTF-8 JSON".into()))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() > 1 && lines.iter().all(|l| l.trim_start().starts_with('{')) {
        // JSON lines, unless the whole text is one pretty-printed document
        if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
            return lines.iter().map(|l| one(l.as_bytes())).collect();
        }
    }
    Ok(vec![one(bytes)?])
}

fn one(bytes: &[u8]) -> Result<Attestation, Error> {
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| {
        Error::Envelope(format!(
            "not JSON ({e}); expected a DSSE envelope or a Sigstore bundle"
        ))
    })?;
    match probe.media_type {
        Some(m) if m.starts_with("application/vnd.dev.sigstore.bundle") => {
            let b: AnyBundle = serde_json::from_slice(bytes)
                .map_err(|e| Error::Envelope(format!("a damaged Sigstore bundle ({e})")))?;
            let m = b.verification_material;
            let certificate = match (m.certificate, m.x509_certificate_chain) {
                (Some(c), _) => Some(c.raw_bytes),
                (None, Some(ch)) => ch.certificates.into_iter().next().map(|c| c.raw_bytes),
                (None, None) => None,
            }
            .map(|c| {
                base64::engine::general_purpose::STANDARD
                    .decode(c)
                    .map_err(|_| Error::Envelope("the bundle's certificate is not base64".into()))
            })
            .transpose()?;
            match (b.dsse_envelope, b.message_signature) {
                (Some(e), _) if !e.signatures.is_empty() => Ok(Attestation {
                    envelope: e,
                    key_hint: m.public_key.map(|k| k.hint),
                    certificate,
                    tlog_entries: m.tlog_entries,
                }),
                (Some(_), _) => Err(Error::Envelope(
                    "the bundle's envelope carries no signature".into(),
                )),
                (None, Some(_)) => Err(Error::Envelope(format!(
                    "the bundle ({}) signs a blob (messageSignature), not an attestation",
                    b.media_type
                ))),
                (None, None) => Err(Error::Envelope(
                    "the bundle carries neither dsseEnvelope nor messageSignature".into(),
                )),
            }
        }
        _ => Envelope::from_json(bytes).map(|envelope| Attestation {
            envelope,
            key_hint: None,
            certificate: None,
            tlog_entries: Vec::new(),
        }),
    }
}
