//! Signed evidence: DSSE envelopes over in-toto Statement v1 (SBOM, scan result and SLSA
//! provenance predicates), signed with Ed25519 or ECDSA P-256 keys as `openssl` writes them,
//! and wrapped as Sigstore bundles (v0.3) for tools that expect one.
//!
//! Traps: what a signature covers is the DSSE pre-authentication encoding of the payload type
//! and the payload bytes — never a re-serialisation of parsed JSON — so verification works on
//! the bytes exactly as they arrived; a signature's `keyid` is a hint, never a reason to trust
//! (every trusted key is tried); a statement is only looked at after a signature verified.

mod bundle;
mod der;
mod dsse;
pub mod fulcio;
mod key;
pub mod predicate;
pub mod rekor;
mod statement;

pub use bundle::{Attestation, BUNDLE_V03, Bundle, read_attestations};
pub use dsse::{Envelope, Signature, Verified, pae};
pub use key::{Algorithm, PublicKey, SigningKey};
pub use statement::{IN_TOTO_PAYLOAD_TYPE, STATEMENT_V01, STATEMENT_V1, Statement, Subject};

/// What went wrong, said so that the caller can tell people what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key file or key bytes could not be used.
    #[error("key: {0}")]
    Key(String),
    /// An envelope or bundle is not well-formed.
    #[error("envelope: {0}")]
    Envelope(String),
    /// No signature verified with any trusted key.
    #[error("signature: {0}")]
    Signature(String),
    /// The signed statement is not what it has to be.
    #[error("statement: {0}")]
    Statement(String),
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[usize::from(b >> 4)] as char);
        s.push(D[usize::from(b & 15)] as char);
    }
    s
}

/// `sha256` hex of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(bytes))
}
