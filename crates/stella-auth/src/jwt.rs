//! JWTs: the keyring that signs and verifies them, and the claims of DESIGN.md §4.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::Error;

/// Online tokens live 12 hours.
pub const ONLINE_SECS: u64 = 12 * 3600;
/// Offline tokens live 30 days unless asked otherwise.
pub const OFFLINE_SECS: u64 = 30 * 86_400;
/// No token lives longer than 90 days; a retired key is kept that long.
pub const MAX_LIFETIME_SECS: u64 = 90 * 86_400;
/// Clocks of different machines disagree a little.
const LEEWAY_SECS: u64 = 60;
/// Longer tokens are refused before any work.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// What a token says (DESIGN.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    /// The server that issued it.
    pub iss: String,
    /// The client or user (`client:ID`, `user:NAME`).
    pub sub: String,
    /// The quota account: scans are counted per `tid` and UTC day.
    pub tid: String,
    /// The plan (`Free`, …).
    pub tier: String,
    /// The daily scan limit.
    pub max_scans_per_day: u32,
    /// Space-separated scopes.
    pub scope: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// The token's own id.
    pub jti: String,
    /// An offline token (made for air-gapped sites, long-lived).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offline: bool,
}

impl Claims {
    /// Whether the token grants `scope` (`admin` grants every scope).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope
            .split(' ')
            .any(|s| s == scope || s == crate::Scope::Admin.as_str())
    }
}

/// One signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// Its id (the JWT header's `kid`).
    pub kid: String,
    /// Created (seconds since the epoch).
    pub created: u64,
    /// Rotated out at (seconds since the epoch): still verifies, no longer signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<u64>,
    /// The Ed25519 seed, base64url.
    seed: String,
}

impl Key {
    fn signing(&self) -> Result<SigningKey, Error> {
        let b = B64
            .decode(&self.seed)
            .map_err(|e| Error::Invalid(format!("key {}: bad seed: {e}", self.kid)))?;
        let seed: [u8; 32] = b
            .try_into()
            .map_err(|_| Error::Invalid(format!("key {}: the seed is not 32 bytes", self.kid)))?;
        Ok(SigningKey::from_bytes(&seed))
    }
}

/// The keys Core signs with: the newest signs, all verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyring {
    /// Oldest first; the last one signs.
    keys: Vec<Key>,
    /// Verifying keys by kid, derived on load.
    #[serde(skip)]
    verifying: Vec<(String, VerifyingKey)>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crit: Option<serde_json::Value>,
}

impl Keyring {
    /// A keyring with one new key.
    pub fn generate(now: u64) -> Result<Keyring, Error> {
        let mut k = Keyring {
            keys: Vec::new(),
            verifying: Vec::new(),
        };
        k.push_new(now)?;
        Ok(k)
    }

    fn push_new(&mut self, now: u64) -> Result<(), Error> {
        let seed = crate::random_bytes::<32>()?;
        let key = Key {
            kid: crate::random_hex::<8>()?,
            created: now,
            retired: None,
            seed: B64.encode(seed),
        };
        self.verifying.push((
            key.kid.clone(),
            SigningKey::from_bytes(&seed).verifying_key(),
        ));
        self.keys.push(key);
        Ok(())
    }

    /// Reads a stored keyring.
    pub fn from_json(bytes: &[u8]) -> Result<Keyring, Error> {
        let mut k: Keyring = serde_json::from_slice(bytes)
            .map_err(|e| Error::Invalid(format!("the stored keyring is unreadable: {e}")))?;
        if k.keys.is_empty() {
            return Err(Error::Invalid("the stored keyring has no key".into()));
        }
        k.verifying = k
            .keys
            .iter()
            .map(|key| Ok((key.kid.clone(), key.signing()?.verifying_key())))
            .collect::<Result<_, Error>>()?;
        Ok(k)
    }

    /// The keyring as stored (private: keep the data directory private).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Starts signing with a new key. Earlier keys keep verifying until every token they can
    /// have signed has expired, then are dropped.
    pub fn rotate(&mut self, now: u64) -> Result<(), Error> {
        for k in &mut self.keys {
            k.retired.get_or_insert(now);
        }
        self.keys.retain(|k| {
            k.retired
                .is_none_or(|r| r + MAX_LIFETIME_SECS + LEEWAY_SECS > now)
        });
        self.verifying
            .retain(|(kid, _)| self.keys.iter().any(|k| &k.kid == kid));
        self.push_new(now)
    }

    /// Drops every retired key at once: the tokens they signed stop verifying now (a key
    /// that may have leaked). Answers how many were dropped.
    pub fn revoke_retired(&mut self) -> usize {
        let before = self.keys.len();
        self.keys.retain(|k| k.retired.is_none());
        self.verifying
            .retain(|(kid, _)| self.keys.iter().any(|k| &k.kid == kid));
        before - self.keys.len()
    }

    /// The keys, oldest first.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The JSON Web Key Set of the verifying keys (RFC 8037 OKP keys).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .verifying
            .iter()
            .map(|(kid, v)| {
                serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "alg": "EdDSA",
                    "use": "sig",
                    "kid": kid,
                    "x": B64.encode(v.as_bytes()),
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Signs `claims` with the newest key.
    pub fn sign(&self, claims: &Claims) -> Result<String, Error> {
        let key = self
            .keys
            .last()
            .ok_or_else(|| Error::Invalid("the keyring has no key".into()))?;
        let header = Header {
            alg: "EdDSA".into(),
            typ: Some("JWT".into()),
            kid: Some(key.kid.clone()),
            crit: None,
        };
        let h = serde_json::to_vec(&header).map_err(|e| Error::Invalid(e.to_string()))?;
        let c = serde_json::to_vec(claims).map_err(|e| Error::Invalid(e.to_string()))?;
        let mut jwt = B64.encode(h);
        jwt.push('.');
        jwt.push_str(&B64.encode(c));
        let sig = key.signing()?.sign(jwt.as_bytes());
        jwt.push('.');
        jwt.push_str(&B64.encode(sig.to_bytes()));
        Ok(jwt)
    }

    /// Checks a token: algorithm, key, signature, issuer, lifetime. `now` in seconds.
    pub fn verify(&self, token: &str, issuer: &str, now: u64) -> Result<Claims, Error> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::Malformed(format!(
                "longer than {MAX_TOKEN_LEN} bytes"
            )));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Malformed("not three segments".into()));
        };
        let seg = |name: &str, x: &str| {
            B64.decode(x)
                .map_err(|e| Error::Malformed(format!("{name}: {e}")))
        };
        let header: Header = serde_json::from_slice(&seg("header", h)?)
            .map_err(|e| Error::Malformed(format!("header: {e}")))?;
        if header.alg != "EdDSA" {
            return Err(Error::Algorithm(header.alg));
        }
        if header.crit.is_some() {
            return Err(Error::Malformed(
                "the header has `crit` extensions this server does not understand".into(),
            ));
        }
        let kid = header.kid.unwrap_or_default();
        let Some((_, key)) = self.verifying.iter().find(|(k, _)| *k == kid) else {
            return Err(Error::UnknownKey(kid));
        };
        let sig: [u8; 64] = seg("signature", s)?
            .try_into()
            .map_err(|_| Error::Signature)?;
        let signed = &token[..h.len() + 1 + c.len()];
        key.verify_strict(signed.as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| Error::Signature)?;
        let claims: Claims = serde_json::from_slice(&seg("claims", c)?)
            .map_err(|e| Error::Malformed(format!("claims: {e}")))?;
        if claims.iss != issuer {
            return Err(Error::Issuer(claims.iss));
        }
        if claims.exp + LEEWAY_SECS <= now {
            return Err(Error::Expired(claims.exp));
        }
        if claims.iat > now + LEEWAY_SECS {
            return Err(Error::NotYetValid(claims.iat));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: u64) -> Claims {
        Claims {
            iss: "https://core.example".into(),
            sub: "client:ci".into(),
            tid: "t1".into(),
            tier: "Free".into(),
            max_scans_per_day: 333,
            scope: "scan".into(),
            iat: now,
            exp: now + ONLINE_SECS,
            jti: "j1".into(),
            offline: false,
        }
    }

    const NOW: u64 = 1_800_000_000;
    const ISS: &str = "https://core.example";

    #[test]
    fn signs_and_verifies() {
        let k = Keyring::generate(NOW).unwrap();
        let t = k.sign(&claims(NOW)).unwrap();
        assert_eq!(k.verify(&t, ISS, NOW + 10).unwrap(), claims(NOW));
        // the keyring survives storage
        let k2 = Keyring::from_json(&k.to_json()).unwrap();
        assert_eq!(k2.verify(&t, ISS, NOW).unwrap(), claims(NOW));
    }

    #[test]
    fn refuses_alg_none_and_other_algorithms() {
        let k = Keyring::generate(NOW).unwrap();
        let t = k.sign(&claims(NOW)).unwrap();
        let body = t.split('.').nth(1).unwrap();
        for alg in ["none", "HS256", "RS256", "EdDSA "] {
            let h = B64.encode(format!(
                r#"{{"alg":"{alg}","typ":"JWT","kid":"{}"}}"#,
                k.keys[0].kid
            ));
            for forged in [format!("{h}.{body}."), format!("{h}.{body}.AAAA")] {
                assert_eq!(
                    k.verify(&forged, ISS, NOW),
                    Err(Error::Algorithm(alg.into())),
                    "{forged}"
                );
            }
        }
    }

    #[test]
    fn refuses_tampering_expiry_issuer_and_foreign_keys() {
        let k = Keyring::generate(NOW).unwrap();
        let t = k.sign(&claims(NOW)).unwrap();
        // a claim changed after signing
        let mut c = claims(NOW);
        c.max_scans_per_day = 1_000_000;
        let forged_body = B64.encode(serde_json::to_vec(&c).unwrap());
        let mut p: Vec<&str> = t.split('.').collect();
        p[1] = &forged_body;
        assert_eq!(k.verify(&p.join("."), ISS, NOW), Err(Error::Signature));
        // expiry (with a minute's leeway)
        assert!(k.verify(&t, ISS, NOW + ONLINE_SECS + 30).is_ok());
        assert_eq!(
            k.verify(&t, ISS, NOW + ONLINE_SECS + 61),
            Err(Error::Expired(NOW + ONLINE_SECS))
        );
        // issued in the future
        assert_eq!(k.verify(&t, ISS, NOW - 3600), Err(Error::NotYetValid(NOW)));
        // another server
        assert_eq!(
            k.verify(&t, "https://other", NOW),
            Err(Error::Issuer(ISS.into()))
        );
        // another server's key with our kid is still a wrong signature; an unknown kid is named
        let other = Keyring::generate(NOW).unwrap();
        let t2 = other.sign(&claims(NOW)).unwrap();
        assert_eq!(
            k.verify(&t2, ISS, NOW),
            Err(Error::UnknownKey(other.keys[0].kid.clone()))
        );
        let mut o2 = other.clone();
        o2.keys[0].kid = k.keys[0].kid.clone();
        let t3 = o2.sign(&claims(NOW)).unwrap();
        assert_eq!(k.verify(&t3, ISS, NOW), Err(Error::Signature));
        // garbage
        for g in ["", "a.b", "a.b.c.d", "!!!.???.***", &"x".repeat(9000)] {
            assert!(
                matches!(k.verify(g, ISS, NOW), Err(Error::Malformed(_))),
                "{g}"
            );
        }
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_until_they_expire() {
        let mut k = Keyring::generate(NOW).unwrap();
        let old = k.sign(&claims(NOW)).unwrap();
        k.rotate(NOW + 100).unwrap();
        let new = k.sign(&claims(NOW + 100)).unwrap();
        assert_ne!(
            old.split('.').next(),
            new.split('.').next(),
            "a new kid signs"
        );
        assert!(k.verify(&old, ISS, NOW + 200).is_ok());
        assert!(k.verify(&new, ISS, NOW + 200).is_ok());
        assert_eq!(k.jwks()["keys"].as_array().unwrap().len(), 2);
        // long after: the retired key is dropped at the next rotation
        k.rotate(NOW + 100 + MAX_LIFETIME_SECS + 3600).unwrap();
        assert_eq!(k.keys().len(), 2);
        assert!(matches!(
            k.verify(&old, ISS, NOW),
            Err(Error::UnknownKey(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_tokens_never_panic(s in "[A-Za-z0-9_.\\-]{0,300}") {
            let k = Keyring::generate(NOW).unwrap();
            proptest::prop_assert!(k.verify(&s, ISS, NOW).is_err());
        }
    }
}
