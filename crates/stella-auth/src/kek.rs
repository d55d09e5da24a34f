//! The key-encryption key (KEK): what keeps Core's signing keys secret at rest. The keyring is
//! stored sealed (XChaCha20-Poly1305, a random 24-byte nonce per seal, the document's name as
//! associated data), so a copy of the store or a reader of the PostgreSQL table holds no key
//! that can mint tokens.
//!
//! Traps: the KEK itself must live elsewhere than the store (a file outside the data
//! directory, the environment, later a KMS plug-in); a sealed document names the KEK it was
//! sealed under by a fingerprint, so a wrong KEK is told apart from a damaged document.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::Error;

/// A key-encryption key: 32 random bytes.
#[derive(Clone)]
pub struct Kek([u8; 32]);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kek({})", self.fingerprint())
    }
}

/// A sealed document as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Sealed {
    /// Always `xchacha20poly1305`.
    sealed: String,
    /// The KEK's fingerprint.
    kek: String,
    nonce: String,
    ciphertext: String,
}

impl Kek {
    /// A new random KEK.
    pub fn generate() -> Result<Kek, Error> {
        Ok(Kek(crate::random_bytes::<32>()?))
    }

    /// Reads a KEK written by [`Kek::encode`]: 64 hex digits or 44 base64 characters (one
    /// line; surrounding white space ignored).
    pub fn parse(text: &str) -> Result<Kek, Error> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| Error::Invalid(e.to_string()))?
        } else {
            B64.decode(t).map_err(|_| {
                Error::Invalid(
                    "a key-encryption key is 32 bytes as 64 hex digits or base64 (make one with `openssl rand -hex 32`)".into(),
                )
            })?
        };
        let k: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::Invalid(
                "a key-encryption key is 32 bytes (`openssl rand -hex 32` makes one)".into(),
            )
        })?;
        Ok(Kek(k))
    }

    /// The KEK as 64 hex digits.
    pub fn encode(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A short public name of the KEK (SHA-256 of a label and the key, 16 hex digits).
    pub fn fingerprint(&self) -> String {
        let mut h = sha2::Sha256::new();
        h.update(b"stella kek fingerprint\0");
        h.update(self.0);
        h.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Seals `plain` as document `name` (the name is bound to the ciphertext: a sealed
    /// keyring cannot be moved under another document's name).
    pub fn seal(&self, name: &str, plain: &[u8]) -> Result<Vec<u8>, Error> {
        let nonce = crate::random_bytes::<24>()?;
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| Error::Invalid("sealing failed".into()))?;
        let s = Sealed {
            sealed: "xchacha20poly1305".into(),
            kek: self.fingerprint(),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(ct),
        };
        serde_json::to_vec(&s).map_err(|e| Error::Invalid(e.to_string()))
    }

    /// Whether stored bytes are a sealed document (older stores kept the keyring in the
    /// clear).
    pub fn is_sealed(stored: &[u8]) -> bool {
        serde_json::from_slice::<Sealed>(stored).is_ok()
    }

    /// Opens a document sealed by [`Kek::seal`] under `name`.
    pub fn open(&self, name: &str, stored: &[u8]) -> Result<Vec<u8>, Error> {
        let s: Sealed = serde_json::from_slice(stored)
            .map_err(|e| Error::Invalid(format!("`{name}` is not a sealed document: {e}")))?;
        if s.sealed != "xchacha20poly1305" {
            return Err(Error::Invalid(format!(
                "`{name}` is sealed with `{}`, which this version cannot open",
                s.sealed
            )));
        }
        if s.kek != self.fingerprint() {
            return Err(Error::Invalid(format!(
                "`{name}` was sealed under the key-encryption key {}, not under this one ({}); start with the key-encryption key it was made with (--kek-file or STELLA_KEK; every replica needs the same one)",
                s.kek,
                self.fingerprint()
            )));
        }
        let nonce = B64
            .decode(&s.nonce)
            .ok()
            .filter(|n| n.len() == 24)
            .ok_or_else(|| Error::Invalid(format!("`{name}`: a damaged nonce")))?;
        let ct = B64
            .decode(&s.ciphertext)
            .map_err(|_| Error::Invalid(format!("`{name}`: a damaged ciphertext")))?;
        XChaCha20Poly1305::new((&self.0).into())
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| {
                Error::Invalid(format!(
                    "`{name}` does not open: it was changed or damaged since it was sealed"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_documents_open_only_with_their_kek_and_name() {
        let k = Kek::generate().unwrap();
        let sealed = k.seal("auth/keyring", b"seeds").unwrap();
        assert!(Kek::is_sealed(&sealed));
        assert!(!Kek::is_sealed(b"{\"keys\":[]}"));
        assert!(!String::from_utf8_lossy(&sealed).contains("seeds"));
        assert_eq!(k.open("auth/keyring", &sealed).unwrap(), b"seeds");
        // two seals of the same text differ (random nonces)
        assert_ne!(sealed, k.seal("auth/keyring", b"seeds").unwrap());
        let other = Kek::generate().unwrap();
        let e = other.open("auth/keyring", &sealed).unwrap_err().to_string();
        assert!(e.contains("--kek-file"), "{e}");
        assert!(k.open("other/doc", &sealed).is_err(), "the name is bound");
        // a flipped ciphertext byte is refused
        let mut v: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        let mut ct = B64.decode(v["ciphertext"].as_str().unwrap()).unwrap();
        ct[0] ^= 1;
        v["ciphertext"] = B64.encode(ct).into();
        let e = k
            .open("auth/keyring", &serde_json::to_vec(&v).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("changed or damaged"), "{e}");
        // encodings round-trip
        assert_eq!(Kek::parse(&k.encode()).unwrap().0, k.0);
        assert_eq!(Kek::parse(&B64.encode(k.0)).unwrap().0, k.0);
        assert!(Kek::parse("abc").is_err());
        assert!(
            !format!("{k:?}").contains(&k.encode()),
            "Debug never shows the key"
        );
    }
}
