//! DSSE envelopes (secure-systems-lab/dsse v1): the pre-authentication encoding, signing with
//! one or more keys, and verification against the keys a caller trusts.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};

use crate::{Error, PublicKey, SigningKey};

/// A DSSE envelope, as JSON (`payloadType`, base64 `payload`, `signatures`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// What the payload is (`application/vnd.in-toto+json` for attestations).
    pub payload_type: String,
    /// The payload, base64.
    pub payload: String,
    /// One signature per signing key.
    pub signatures: Vec<Signature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// A hint of which key signed (Stella writes the key's id); never trusted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    /// The signature over the PAE, base64.
    pub sig: String,
}

/// What verified: the payload exactly as signed and the ids of the keys whose signatures
/// held.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The payload type.
    pub payload_type: String,
    /// The payload's bytes.
    pub payload: Vec<u8>,
    /// Ids of the trusted keys that signed it, sorted.
    pub keys: Vec<String>,
}

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Base64 as DSSE allows it: standard or URL-safe alphabet, padded or not.
fn unbase64(s: &str) -> Option<Vec<u8>> {
    STD.decode(s).or_else(|_| URL.decode(s)).ok()
}

/// The pre-authentication encoding: `DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// `payload` signed by every key of `keys`.
    pub fn sign(
        payload_type: &str,
        payload: &[u8],
        keys: &[&SigningKey],
    ) -> Result<Envelope, Error> {
        if keys.is_empty() {
            return Err(Error::Signature("no signing key given".into()));
        }
        let msg = pae(payload_type, payload);
        let signatures = keys
            .iter()
            .map(|k| {
                Ok(Signature {
                    keyid: k.public().key_id().to_string(),
                    sig: base64::engine::general_purpose::STANDARD.encode(k.sign(&msg)?),
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Envelope {
            payload_type: payload_type.to_string(),
            payload: base64::engine::general_purpose::STANDARD.encode(payload),
            signatures,
        })
    }

    /// An envelope from its JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Envelope, Error> {
        let e: Envelope = serde_json::from_slice(bytes).map_err(|e| {
            Error::Envelope(format!(
                "not a DSSE envelope ({e}); expected JSON with payloadType, payload and signatures"
            ))
        })?;
        if e.signatures.is_empty() {
            return Err(Error::Envelope("the envelope carries no signature".into()));
        }
        Ok(e)
    }

    /// Its JSON, one line. Written by hand: base64 needs no escaping, and serde's escape scan
    /// of a large payload cost as much as its hashing.
    pub fn to_json(&self) -> String {
        // whether a string needs JSON escapes (a fold, not an early exit, so it vectorises)
        let escapes = |s: &str| {
            s.bytes().fold(false, |acc, c| {
                acc | (c == b'"') | (c == b'\\') | (c < 0x20)
            })
        };
        if escapes(&self.payload) {
            return serde_json::to_string(self).unwrap_or_default();
        }
        let mut out = String::with_capacity(self.payload.len() + 256);
        out.push_str("{\"payloadType\":");
        out.push_str(&serde_json::to_string(&self.payload_type).unwrap_or_default());
        out.push_str(",\"payload\":\"");
        out.push_str(&self.payload);
        out.push_str("\",\"signatures\":");
        out.push_str(&serde_json::to_string(&self.signatures).unwrap_or_default());
        out.push('}');
        out
    }

    /// The payload's bytes (not verified).
    pub fn payload_bytes(&self) -> Result<Vec<u8>, Error> {
        unbase64(&self.payload).ok_or_else(|| Error::Envelope("the payload is not base64".into()))
    }

    /// Verifies the envelope against `trusted` keys: at least `threshold` distinct trusted keys
    /// must have signed it. Every trusted key is tried for every signature (a `keyid` only
    /// orders the tries), so a lying hint costs time, never a wrong answer.
    pub fn verify(&self, trusted: &[PublicKey], threshold: usize) -> Result<Verified, Error> {
        if trusted.is_empty() {
            return Err(Error::Signature(
                "no trusted key given to verify with (--key PUBLIC.pem)".into(),
            ));
        }
        let payload = self.payload_bytes()?;
        let msg = pae(&self.payload_type, &payload);
        let mut keys: Vec<String> = Vec::new();
        for s in &self.signatures {
            let Some(sig) = unbase64(&s.sig) else {
                continue;
            };
            let hinted = trusted.iter().filter(|k| k.key_id() == s.keyid);
            let others = trusted.iter().filter(|k| k.key_id() != s.keyid);
            if let Some(k) = hinted.chain(others).find(|k| k.verify(&msg, &sig)) {
                keys.push(k.key_id().to_string());
            }
        }
        keys.sort();
        keys.dedup();
        if keys.len() < threshold.max(1) {
            let ids: Vec<&str> = trusted.iter().map(|k| &k.key_id()[..16]).collect();
            return Err(Error::Signature(format!(
                "{} of {} signature(s) verified with the trusted key(s) {} ({} needed): the \
                 envelope was changed after signing, or signed by a key you do not trust",
                keys.len(),
                self.signatures.len(),
                ids.join(", "),
                threshold.max(1)
            )));
        }
        Ok(Verified {
            payload_type: self.payload_type.clone(),
            payload,
            keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DSSE specification's own example (protocol.md, "Test Vectors"
    /// in secure-systems-lab/dsse).
    #[test]
    fn pae_is_the_specifications() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn base64_of_either_alphabet() {
        assert_eq!(unbase64("aGk/Pz8=").unwrap(), b"hi???");
        assert_eq!(unbase64("aGk_Pz8").unwrap(), b"hi???");
        assert!(unbase64("not base64!").is_none());
    }
}
