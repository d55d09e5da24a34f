//! Core's identity: who may call it and for how much. EdDSA (Ed25519) JWTs signed by a
//! keyring Core persists, clients and users whose secrets are kept as argon2 hashes, and the
//! scopes a token carries.
//!
//! Traps: a token's header is attacker-controlled, so the algorithm is never taken from it
//! (`alg` must be `EdDSA`, anything else — `none` above all — is refused before any key is
//! looked at); signatures are checked with `verify_strict` (no malleable or small-order keys);
//! an unknown client id still costs one argon2 verification, so timing does not tell which ids
//! exist; a rotated-out key keeps verifying until every token it signed has expired.

mod jwt;
mod kek;
mod principals;
mod tenants;

pub use jwt::{Claims, Key, Keyring, MAX_LIFETIME_SECS, OFFLINE_SECS, ONLINE_SECS};
pub use kek::Kek;
pub use principals::{Directory, Kind, Principal, Scope, hash_secret, verify_secret};
pub use tenants::{Action, DEFAULT_TENANT, Role, TenantInfo, valid_tenant_id};

/// Why a token or a credential was refused, or a keyring/directory could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not three base64url segments of JSON.
    #[error("the token is not a JWT (three base64url segments of JSON): {0}")]
    Malformed(String),
    /// The header names an algorithm other than EdDSA.
    #[error("the token's algorithm `{0}` is not accepted (only EdDSA)")]
    Algorithm(String),
    /// No key of the keyring has this id.
    #[error("the token was signed by a key this server does not know (kid `{0}`)")]
    UnknownKey(String),
    /// The signature does not match.
    #[error("the token's signature is not valid")]
    Signature,
    /// `exp` has passed.
    #[error("the token expired at {0} (seconds since the epoch); get a new one")]
    Expired(u64),
    /// `iat` lies in the future.
    #[error("the token was issued in the future (iat {0}); check the clocks")]
    NotYetValid(u64),
    /// `iss` is another server's.
    #[error("the token was issued by `{0}`, not by this server")]
    Issuer(String),
    /// Unknown client or user, or a wrong secret.
    #[error("unknown client or wrong secret")]
    Credentials,
    /// A principal that is disabled.
    #[error("`{0}` is disabled")]
    Disabled(String),
    /// A scope name Core does not know.
    #[error("unknown scope `{0}` (scopes: scan, policy:write, admin)")]
    UnknownScope(String),
    /// A stored keyring or directory could not be read, or a value is out of range.
    #[error("{0}")]
    Invalid(String),
    /// The operating system gave no randomness.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::Random(e.to_string()))?;
    Ok(b)
}

/// A random identifier: `n` bytes as lowercase hex.
pub fn random_hex<const N: usize>() -> Result<String, Error> {
    use std::fmt::Write as _;
    let b = random_bytes::<N>()?;
    let mut s = String::with_capacity(2 * N);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    Ok(s)
}
