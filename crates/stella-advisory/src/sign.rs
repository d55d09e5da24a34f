//! Detached Ed25519 signatures of a compiled DB (`<db>.sig`), so an air-gapped site can tell
//! a DB its vendor built from one anybody built.
//!
//! The signed message is `stella-db-v1 sha256:<content digest>`: the digest already covers every
//! byte after the header, and the prefix keeps the signature from meaning anything else. Keys
//! are the PEM files `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` write.

use std::path::Path;

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::{Db, Error};
use stella_sbom::hash::hex;

/// The `.sig` file written beside a DB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbSignature {
    /// Always `ed25519`.
    pub algorithm: String,
    /// `sha256:<hex>` of the DB content, as in its header.
    pub digest: String,
    /// First 16 hex digits of the SHA-256 of the public key (DER), to tell keys apart.
    pub key_id: String,
    /// The signature, 64 bytes in hex.
    pub signature: String,
}

/// The exact bytes that are signed for a DB with content digest `digest_hex`.
pub fn message(digest_hex: &str) -> Vec<u8> {
    format!("stella-db-v1 sha256:{digest_hex}").into_bytes()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn key_id(key: &VerifyingKey) -> String {
    let der = key
        .to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default();
    hex(&sha2::Sha256::digest(der)[..8])
}

fn sig_err(path: &Path, why: impl Into<String>) -> Error {
    Error::Signature {
        path: path.display().to_string(),
        why: why.into(),
    }
}

fn key_err(path: &Path, why: String) -> Error {
    Error::Format {
        path: path.display().to_string(),
        why,
    }
}

/// Reads an Ed25519 private key (PKCS#8 PEM).
pub fn read_private_key(path: &Path) -> Result<SigningKey, Error> {
    let pem = fs_err::read_to_string(path)?;
    // A bad key file is bad input, not a failed signature check.
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
        key_err(
            path,
            format!(
                "not an Ed25519 private key in PKCS#8 PEM ({e})\nhint: make one with `openssl genpkey -algorithm ed25519 -out key.pem`"
            ),
        )
    })
}

/// Reads an Ed25519 public key (SPKI PEM).
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, Error> {
    let pem = fs_err::read_to_string(path)?;
    VerifyingKey::from_public_key_pem(&pem).map_err(|e| {
        key_err(
            path,
            format!(
                "not an Ed25519 public key in PEM ({e})\nhint: derive it with `openssl pkey -in key.pem -pubout -out key.pub`"
            ),
        )
    })
}

/// Signs `db` (after checking its content digest: a damaged DB is never signed).
pub fn sign(db: &Db, key: &SigningKey) -> Result<DbSignature, Error> {
    db.verify()?;
    let digest = db.digest();
    let sig = key.sign(&message(&digest));
    Ok(DbSignature {
        algorithm: "ed25519".into(),
        digest: format!("sha256:{digest}"),
        key_id: key_id(&key.verifying_key()),
        signature: hex(&sig.to_bytes()),
    })
}

/// Reads a `.sig` file.
pub fn read_signature(path: &Path) -> Result<DbSignature, Error> {
    let bytes = fs_err::read(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| sig_err(path, format!("not a Stella DB signature file: {e}")))
}

/// Checks that `sig` (read from `sig_path`) is `key`'s signature of `db`, and that the DB
/// content still matches its digest.
pub fn verify(
    db: &Db,
    sig: &DbSignature,
    sig_path: &Path,
    key: &VerifyingKey,
) -> Result<(), Error> {
    if sig.algorithm != "ed25519" {
        return Err(sig_err(
            sig_path,
            format!("unsupported signature algorithm `{}`", sig.algorithm),
        ));
    }
    let digest = db.digest();
    if sig.digest != format!("sha256:{digest}") {
        return Err(sig_err(
            sig_path,
            format!(
                "signs DB {} but this DB is sha256:{digest}\nhint: the DB was rebuilt or replaced after signing; fetch the matching pair",
                sig.digest
            ),
        ));
    }
    let expected = key_id(key);
    if sig.key_id != expected {
        return Err(sig_err(
            sig_path,
            format!(
                "made with key {} but the trusted key is {expected}",
                sig.key_id
            ),
        ));
    }
    let bytes: [u8; 64] = unhex(&sig.signature)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| sig_err(sig_path, "the signature is not 64 bytes of hex"))?;
    key.verify_strict(
        &message(&digest),
        &ed25519_dalek::Signature::from_bytes(&bytes),
    )
    .map_err(|_| {
        sig_err(
            sig_path,
            "the signature does not verify with the trusted key",
        )
    })?;
    db.verify()
}

/// Where a DB's signature lives: `<db>.sig`.
pub fn sig_path(db_path: &Path) -> std::path::PathBuf {
    let mut s = db_path.as_os_str().to_owned();
    s.push(".sig");
    s.into()
}
