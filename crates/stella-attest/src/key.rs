//! Signing and verifying keys: Ed25519 and ECDSA P-256, read from and written as the PEM
//! files `openssl genpkey` / `openssl pkey -pubout` (and cosign's public keys) are.

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePublicKey};
use ring::rand::SystemRandom;
use ring::signature::{self as rs, KeyPair as _};

use crate::{Error, der, sha256_hex};

const OID_ED25519: &str = "1.3.101.112";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";

/// A signature algorithm Stella signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// Ed25519 (RFC 8032), pure: the whole message is signed.
    Ed25519,
    /// ECDSA on P-256 with SHA-256, ASN.1 DER signatures (as cosign writes them).
    EcdsaP256,
}

impl Algorithm {
    /// Its name on the command line and in documents (`ed25519`, `ecdsa-p256`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256 => "ecdsa-p256",
        }
    }

    /// The algorithm called `s` (`ed25519`; `ecdsa-p256`, `p256`, `ecdsa`).
    pub fn parse(s: &str) -> Option<Algorithm> {
        match s.to_ascii_lowercase().as_str() {
            "ed25519" | "eddsa" => Some(Algorithm::Ed25519),
            "ecdsa-p256" | "p256" | "p-256" | "ecdsa" | "es256" => Some(Algorithm::EcdsaP256),
            _ => None,
        }
    }
}

enum Secret {
    // ring signs (its SHA-512 is twice as fast as the sha2 crate's here, and Ed25519 hashes
    // the whole message twice); dalek reads and writes the PKCS#8 framing
    Ed25519(rs::Ed25519KeyPair, Box<ed25519_dalek::SigningKey>),
    P256(rs::EcdsaKeyPair, Vec<u8>),
}

/// A private key that signs.
pub struct SigningKey {
    secret: Secret,
    public: PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKey({} {})",
            self.public.alg.name(),
            self.public.id
        )
    }
}

/// A public key that verifies.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    alg: Algorithm,
    /// The raw key: 32 bytes (Ed25519) or an uncompressed SEC1 point (P-256).
    raw: Vec<u8>,
    spki: Vec<u8>,
    id: String,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({} {})", self.alg.name(), self.id)
    }
}

fn key_err(why: impl Into<String>) -> Error {
    Error::Key(why.into())
}

fn pem_decode(text: &str) -> Result<(String, Vec<u8>), Error> {
    // a file may carry comments or several blocks: take the first PEM block
    let start = text
        .find("-----BEGIN ")
        .ok_or_else(|| key_err("no PEM block (`-----BEGIN …-----`) found"))?;
    let rest = &text[start..];
    let end = rest
        .find("-----END ")
        .and_then(|e| rest[e + 9..].find("-----").map(|d| e + 9 + d + 5))
        .ok_or_else(|| key_err("the PEM block has no `-----END …-----` line"))?;
    let (label, der) = pem_rfc7468::decode_vec(rest[..end].trim().as_bytes())
        .map_err(|e| key_err(format!("the PEM block is damaged ({e})")))?;
    Ok((label.to_string(), der))
}

/// An EC key's curve must be P-256.
fn p256_only(alg: &spki::AlgorithmIdentifierRef<'_>) -> Result<(), Error> {
    let curve = alg.parameters_oid().map(|o| o.to_string());
    if curve.as_deref() != Ok(OID_P256) {
        return Err(key_err(format!(
            "the EC key is on curve {}; only P-256 (prime256v1) is supported",
            curve.unwrap_or_else(|_| "(unnamed)".into())
        )));
    }
    Ok(())
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap_or_default()
}

impl SigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate(alg: Algorithm) -> Result<SigningKey, Error> {
        match alg {
            Algorithm::Ed25519 => {
                let mut seed = [0u8; 32];
                ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut seed)
                    .map_err(|_| key_err("the operating system gave no random bytes"))?;
                SigningKey::ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            Algorithm::EcdsaP256 => {
                let doc = rs::EcdsaKeyPair::generate_pkcs8(
                    &rs::ECDSA_P256_SHA256_ASN1_SIGNING,
                    &SystemRandom::new(),
                )
                .map_err(|_| key_err("could not generate a P-256 key"))?;
                SigningKey::p256(doc.as_ref())
            }
        }
    }

    fn ed25519(k: ed25519_dalek::SigningKey) -> Result<SigningKey, Error> {
        let public =
            PublicKey::from_raw(Algorithm::Ed25519, k.verifying_key().to_bytes().to_vec())?;
        let pair = rs::Ed25519KeyPair::from_seed_unchecked(&k.to_bytes())
            .map_err(|e| key_err(format!("the Ed25519 private key is not usable ({e})")))?;
        Ok(SigningKey {
            secret: Secret::Ed25519(pair, Box::new(k)),
            public,
        })
    }

    fn p256(pkcs8: &[u8]) -> Result<SigningKey, Error> {
        let pair = rs::EcdsaKeyPair::from_pkcs8(
            &rs::ECDSA_P256_SHA256_ASN1_SIGNING,
            pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|e| key_err(format!("the P-256 private key is not usable ({e})")))?;
        let public =
            PublicKey::from_raw(Algorithm::EcdsaP256, pair.public_key().as_ref().to_vec())?;
        Ok(SigningKey {
            secret: Secret::P256(pair, pkcs8.to_vec()),
            public,
        })
    }

    /// A private key from PEM: PKCS#8 `PRIVATE KEY` (Ed25519 or P-256, as `openssl genpkey`
    /// writes) or SEC1 `EC PRIVATE KEY` (as `openssl ecparam -genkey` writes).
    pub fn from_pem(text: &str) -> Result<SigningKey, Error> {
        let (label, der) = pem_decode(text)?;
        match label.as_str() {
            "PRIVATE KEY" => SigningKey::from_pkcs8_der(&der),
            "EC PRIVATE KEY" => {
                let pkcs8 = der::sec1_to_pkcs8(&der).ok_or_else(|| {
                    key_err("the EC PRIVATE KEY is not a P-256 key (only P-256 is supported)")
                })?;
                SigningKey::p256(&pkcs8)
            }
            "ENCRYPTED PRIVATE KEY" => Err(key_err(
                "the private key is encrypted; write an unencrypted copy where only the signer \
                 can read it (`openssl pkey -in KEY -out KEY.plain`)",
            )),
            l if l.contains("SIGSTORE") || l.contains("COSIGN") => Err(key_err(format!(
                "a cosign-encrypted key ({l}) is not read; export it unencrypted with \
                 `openssl` from the key cosign was given, or generate one with `stella attest keygen`"
            ))),
            "PUBLIC KEY" => Err(key_err(
                "this is a public key; signing needs the private key",
            )),
            l => Err(key_err(format!(
                "a PEM `{l}` block is not a private key (expected `PRIVATE KEY` or `EC PRIVATE KEY`)"
            ))),
        }
    }

    /// A private key from PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, Error> {
        let info = pkcs8::PrivateKeyInfo::try_from(der)
            .map_err(|e| key_err(format!("not a PKCS#8 private key ({e})")))?;
        let oid = info.algorithm.oid.to_string();
        if oid == OID_ED25519 {
            let k = ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map_err(|e| key_err(format!("the Ed25519 private key is damaged ({e})")))?;
            return SigningKey::ed25519(k);
        }
        if oid == OID_EC {
            p256_only(&info.algorithm)?;
            return SigningKey::p256(der);
        }
        Err(key_err(format!(
            "a key of algorithm {oid} is not supported (use Ed25519 or ECDSA P-256)"
        )))
    }

    /// PKCS#8 PEM, as `openssl genpkey` writes it.
    pub fn to_pem(&self) -> Result<String, Error> {
        match &self.secret {
            Secret::Ed25519(_, k) => {
                // PKCS#8 v1, as openssl writes it: OpenSSL 3.0 cannot read the v2 form
                // (with the public key) that dalek writes
                let mut body = vec![0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
                body.extend(der::wrap(0x04, &der::wrap(0x04, &k.to_bytes())));
                Ok(pem_encode("PRIVATE KEY", &der::wrap(0x30, &body)))
            }
            Secret::P256(_, pkcs8) => Ok(pem_encode("PRIVATE KEY", pkcs8)),
        }
    }

    /// Its public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// A signature of `msg`: 64 bytes (Ed25519) or ASN.1 DER (ECDSA).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.secret {
            Secret::Ed25519(k, _) => Ok(k.sign(msg).as_ref().to_vec()),
            Secret::P256(k, _) => k
                .sign(&SystemRandom::new(), msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::Signature("ECDSA signing failed".into())),
        }
    }
}

impl PublicKey {
    fn from_raw(alg: Algorithm, raw: Vec<u8>) -> Result<PublicKey, Error> {
        let spki = match alg {
            Algorithm::Ed25519 => {
                let bytes: [u8; 32] = raw
                    .as_slice()
                    .try_into()
                    .map_err(|_| key_err("an Ed25519 public key is 32 bytes"))?;
                let k = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                    .map_err(|_| key_err("the Ed25519 public key is not a curve point"))?;
                k.to_public_key_der()
                    .map_err(|e| key_err(format!("could not encode the key ({e})")))?
                    .as_bytes()
                    .to_vec()
            }
            Algorithm::EcdsaP256 => {
                if raw.len() != 65 || raw[0] != 4 {
                    return Err(key_err(
                        "a P-256 public key must be an uncompressed point (65 bytes, 0x04 …)",
                    ));
                }
                der::p256_spki(&raw)
            }
        };
        let id = sha256_hex(&spki);
        Ok(PublicKey { alg, raw, spki, id })
    }

    /// A public key from PEM: SPKI `PUBLIC KEY` (as `openssl pkey -pubout` and cosign write).
    /// A private key's PEM is accepted too (its public half is used).
    pub fn from_pem(text: &str) -> Result<PublicKey, Error> {
        let (label, der) = pem_decode(text)?;
        match label.as_str() {
            "PUBLIC KEY" => PublicKey::from_spki_der(&der),
            "PRIVATE KEY" | "EC PRIVATE KEY" => Ok(SigningKey::from_pem(text)?.public),
            l => Err(key_err(format!(
                "a PEM `{l}` block is not a public key (expected `PUBLIC KEY`)"
            ))),
        }
    }

    /// A public key from SPKI DER.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, Error> {
        let info = spki::SubjectPublicKeyInfoRef::try_from(der)
            .map_err(|e| key_err(format!("not a SubjectPublicKeyInfo ({e})")))?;
        let oid = info.algorithm.oid.to_string();
        let raw = info
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| key_err("the public key bit string has unused bits"))?
            .to_vec();
        if oid == OID_ED25519 {
            return PublicKey::from_raw(Algorithm::Ed25519, raw);
        }
        if oid == OID_EC {
            p256_only(&info.algorithm)?;
            return PublicKey::from_raw(Algorithm::EcdsaP256, raw);
        }
        Err(key_err(format!(
            "a key of algorithm {oid} is not supported (use Ed25519 or ECDSA P-256)"
        )))
    }

    /// SPKI PEM, as `openssl pkey -pubout` writes it.
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.spki)
    }

    /// SPKI DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Its id: the SHA-256 of its SPKI DER, in hex (what Stella writes as a DSSE `keyid` and
    /// a bundle's public-key hint).
    pub fn key_id(&self) -> &str {
        &self.id
    }

    /// Whether `sig` is this key's signature of `msg`. Ed25519 signatures with a
    /// non-canonical `S` are refused; ECDSA takes DER signatures and, as some signers write
    /// them, the fixed 64-byte form.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self.alg {
            Algorithm::Ed25519 => rs::UnparsedPublicKey::new(&rs::ED25519, &self.raw)
                .verify(msg, sig)
                .is_ok(),
            Algorithm::EcdsaP256 => {
                let alg: &dyn rs::VerificationAlgorithm = if sig.len() == 64 {
                    &rs::ECDSA_P256_SHA256_FIXED
                } else {
                    &rs::ECDSA_P256_SHA256_ASN1
                };
                rs::UnparsedPublicKey::new(alg, &self.raw)
                    .verify(msg, sig)
                    .is_ok()
            }
        }
    }
}
