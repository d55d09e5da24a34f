//! Keyless signatures: the Fulcio certificate of a Sigstore bundle checked offline — its chain
//! to a certificate authority of a Sigstore `trusted_root.json`, its validity at the time the
//! transparency log vouches the entry was made, and the identity it was issued to (subject
//! alternative name and OIDC issuer), which the verifier must name.

use base64::Engine as _;
use ring::signature as rs;
use serde::Deserialize;

use crate::der::tlv;
use crate::{Error, PublicKey};

fn err(why: impl Into<String>) -> Error {
    Error::Signature(format!("certificate: {}", why.into()))
}

const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_EC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
const OID_EKU: &[u8] = &[0x55, 0x1d, 0x25];
const OID_CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];
/// Fulcio's OIDC issuer extensions: v1 (the raw string) and v2 (a DER UTF8String).
const OID_FULCIO_ISSUER_V1: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01, 0x01];
const OID_FULCIO_ISSUER_V2: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01, 0x08];

/// What an X.509 certificate says, as far as verifying a Sigstore signature needs.
#[derive(Debug, Clone)]
pub struct Certificate {
    der: Vec<u8>,
    tbs: (usize, usize),
    sig_alg: Vec<u8>,
    signature: Vec<u8>,
    issuer: (usize, usize),
    subject: (usize, usize),
    /// Validity, Unix seconds.
    pub not_before: i64,
    /// Validity, Unix seconds.
    pub not_after: i64,
    spki: (usize, usize),
    is_ca: bool,
    code_signing: bool,
    /// URIs and e-mail addresses of the subject alternative name.
    pub identities: Vec<String>,
    /// The OIDC issuer Fulcio recorded.
    pub oidc_issuer: Option<String>,
    unknown_critical: Vec<Vec<u8>>,
}

fn span(whole: &[u8], part: &[u8]) -> (usize, usize) {
    let start = part.as_ptr() as usize - whole.as_ptr() as usize;
    (start, start + part.len())
}

/// A TLV: tag, contents, the whole TLV, what follows.
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// `tlv` returning the whole TLV too.
fn next(b: &[u8]) -> Option<Tlv<'_>> {
    let (tag, content, rest) = tlv(b)?;
    Some((tag, content, &b[..b.len() - rest.len()], rest))
}

fn time(tag: u8, s: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(s).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            // UTCTime: YY, 1950–2049 (RFC 5280 §4.1.2.5.1)
            let yy: i64 = s.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, s.get(2..)?)
        }
        0x18 => (s.get(..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    if rest.len() != 10 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |i: usize| -> i64 { rest[i..i + 2].parse().unwrap_or(99) };
    let (h, m, sec) = (n(4), n(6), n(8));
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = stella_sbom::epoch_days(&format!("{year:04}-{}-{}", &rest[..2], &rest[2..4]))?;
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

impl Certificate {
    /// Parses DER.
    pub fn from_der(der: &[u8]) -> Result<Certificate, Error> {
        Certificate::parse(der).ok_or_else(|| err("not an X.509 certificate (DER)"))
    }

    fn parse(der: &[u8]) -> Option<Certificate> {
        let (0x30, body, _, _) = next(der)? else {
            return None;
        };
        let (0x30, mut t, tbs_all, rest) = next(body)? else {
            return None;
        };
        let (0x30, alg, _, rest) = next(rest)? else {
            return None;
        };
        let (0x06, sig_alg, _) = tlv(alg)? else {
            return None;
        };
        let (0x03, bits, _) = tlv(rest)? else {
            return None;
        };
        let signature = bits.get(1..)?.to_vec();
        if t.first() == Some(&0xa0) {
            t = tlv(t)?.2;
        }
        let (_, _, _, t) = next(t)?; // serial
        let (_, _, _, t) = next(t)?; // signature algorithm
        let (0x30, _, issuer, t) = next(t)? else {
            return None;
        };
        let (0x30, validity, _, t) = next(t)? else {
            return None;
        };
        let (0x30, _, subject, t) = next(t)? else {
            return None;
        };
        let (0x30, _, spki, mut t) = next(t)? else {
            return None;
        };
        let (nb_tag, nb, rest) = tlv(validity)?;
        let (na_tag, na, _) = tlv(rest)?;
        let mut c = Certificate {
            der: der.to_vec(),
            tbs: span(der, tbs_all),
            sig_alg: sig_alg.to_vec(),
            signature,
            issuer: span(der, issuer),
            subject: span(der, subject),
            not_before: time(nb_tag, nb)?,
            not_after: time(na_tag, na)?,
            spki: span(der, spki),
            is_ca: false,
            code_signing: false,
            identities: Vec::new(),
            oidc_issuer: None,
            unknown_critical: Vec::new(),
        };
        while !t.is_empty() {
            let (tag, content, _, rest) = next(t)?;
            t = rest;
            if tag != 0xa3 {
                continue;
            }
            let (0x30, mut exts, _) = tlv(content)? else {
                return None;
            };
            while !exts.is_empty() {
                let (0x30, ext, _, rest) = next(exts)? else {
                    return None;
                };
                exts = rest;
                let (0x06, oid, mut e) = tlv(ext)? else {
                    return None;
                };
                let mut critical = false;
                if e.first() == Some(&0x01) {
                    let (_, v, r) = tlv(e)?;
                    critical = v == [0xff];
                    e = r;
                }
                let (0x04, value, _) = tlv(e)? else {
                    return None;
                };
                c.extension(oid, value, critical)?;
            }
        }
        Some(c)
    }

    fn extension(&mut self, oid: &[u8], value: &[u8], critical: bool) -> Option<()> {
        match oid {
            OID_BASIC_CONSTRAINTS => {
                let (0x30, bc, _) = tlv(value)? else {
                    return None;
                };
                self.is_ca = bc.first() == Some(&0x01) && tlv(bc)?.1 == [0xff];
            }
            OID_EKU => {
                let (0x30, mut list, _) = tlv(value)? else {
                    return None;
                };
                while !list.is_empty() {
                    let (_, o, rest) = tlv(list)?;
                    self.code_signing |= o == OID_CODE_SIGNING;
                    list = rest;
                }
            }
            OID_SAN => {
                let (0x30, mut names, _) = tlv(value)? else {
                    return None;
                };
                while !names.is_empty() {
                    let (tag, v, rest) = tlv(names)?;
                    // [1] rfc822Name, [6] uniformResourceIdentifier
                    if tag == 0x81 || tag == 0x86 {
                        self.identities.push(String::from_utf8(v.to_vec()).ok()?);
                    }
                    names = rest;
                }
            }
            OID_FULCIO_ISSUER_V2 => {
                let (_, v, _) = tlv(value)?;
                self.oidc_issuer = Some(String::from_utf8(v.to_vec()).ok()?);
            }
            OID_FULCIO_ISSUER_V1 if self.oidc_issuer.is_none() => {
                self.oidc_issuer = Some(String::from_utf8(value.to_vec()).ok()?);
            }
            OID_FULCIO_ISSUER_V1 => {}
            OID_KEY_USAGE => {}
            _ if critical => self.unknown_critical.push(oid.to_vec()),
            _ => {}
        }
        Some(())
    }

    fn part(&self, (a, b): (usize, usize)) -> &[u8] {
        &self.der[a..b]
    }

    /// The certified key, for verifying what it signed (Ed25519 or P-256).
    pub fn public_key(&self) -> Result<PublicKey, Error> {
        PublicKey::from_spki_der(self.part(self.spki))
    }

    /// Whether `issuer`'s key signed this certificate.
    fn signed_by(&self, issuer: &Certificate) -> bool {
        let Some((0x30, spki, _)) = tlv(issuer.part(issuer.spki)) else {
            return false;
        };
        let Some((0x30, alg, rest)) = tlv(spki) else {
            return false;
        };
        let Some((0x06, key_oid, params)) = tlv(alg) else {
            return false;
        };
        let Some((0x03, bits, _)) = tlv(rest) else {
            return false;
        };
        if key_oid != OID_EC_KEY {
            return false;
        }
        let curve = tlv(params).map(|(_, c, _)| c);
        let verifier: &dyn rs::VerificationAlgorithm = match (curve, self.sig_alg.as_slice()) {
            (Some(OID_P256), OID_ECDSA_SHA256) => &rs::ECDSA_P256_SHA256_ASN1,
            (Some(OID_P256), OID_ECDSA_SHA384) => &rs::ECDSA_P256_SHA384_ASN1,
            (Some(OID_P384), OID_ECDSA_SHA384) => &rs::ECDSA_P384_SHA384_ASN1,
            (Some(OID_P384), OID_ECDSA_SHA256) => &rs::ECDSA_P384_SHA256_ASN1,
            _ => return false,
        };
        bits.get(1..).is_some_and(|point| {
            rs::UnparsedPublicKey::new(verifier, point)
                .verify(self.part(self.tbs), &self.signature)
                .is_ok()
        })
    }
}

/// A certificate authority chain of a trusted root: intermediates first, the root last.
#[derive(Debug, Clone)]
pub struct Authority {
    /// Its URI (`https://fulcio.sigstore.dev`).
    pub uri: String,
    chain: Vec<Certificate>,
}

impl Authority {
    /// The certificate authorities of a Sigstore `trusted_root.json`.
    pub fn from_trusted_root(json: &[u8]) -> Result<Vec<Authority>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Root {
            #[serde(default)]
            certificate_authorities: Vec<Ca>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Ca {
            #[serde(default)]
            uri: String,
            cert_chain: Chain,
        }
        #[derive(Deserialize)]
        struct Chain {
            certificates: Vec<Raw>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            raw_bytes: String,
        }
        let root: Root = serde_json::from_slice(json)
            .map_err(|e| err(format!("not a Sigstore trusted root ({e})")))?;
        root.certificate_authorities
            .into_iter()
            .map(|ca| {
                let chain = ca
                    .cert_chain
                    .certificates
                    .iter()
                    .map(|c| {
                        let der = base64::engine::general_purpose::STANDARD
                            .decode(&c.raw_bytes)
                            .map_err(|_| err("a trusted root certificate is not base64"))?;
                        Certificate::from_der(&der)
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Authority { uri: ca.uri, chain })
            })
            .collect()
    }
}

/// Who a keyless signature must come from.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The subject alternative name (a workflow URI, an e-mail address), exactly.
    pub subject: String,
    /// The OIDC issuer (`https://token.actions.githubusercontent.com`), exactly.
    pub issuer: String,
}

/// Checks a leaf certificate: issued by one of `authorities` (every signature up the chain),
/// valid at `signed_at` (a time the transparency log vouched for), for code signing, to
/// `identity`. Returns the key it certifies.
pub fn verify_certificate(
    leaf_der: &[u8],
    authorities: &[Authority],
    signed_at: i64,
    identity: &Identity,
) -> Result<PublicKey, Error> {
    let leaf = Certificate::from_der(leaf_der)?;
    if !(leaf.not_before..=leaf.not_after).contains(&signed_at) {
        return Err(err(format!(
            "it was valid from {} to {}, not when the log recorded the signature ({})",
            stella_sbom::rfc3339(leaf.not_before),
            stella_sbom::rfc3339(leaf.not_after),
            stella_sbom::rfc3339(signed_at)
        )));
    }
    if !leaf.code_signing {
        return Err(err("it is not issued for code signing"));
    }
    if !leaf.unknown_critical.is_empty() {
        return Err(err("it carries a critical extension Stella does not know"));
    }
    let chained = authorities.iter().any(|a| {
        let mut child = &leaf;
        for ca in &a.chain {
            if child.part(child.issuer) != ca.part(ca.subject)
                || !ca.is_ca
                || !child.signed_by(ca)
                || !(ca.not_before..=ca.not_after).contains(&signed_at)
            {
                return false;
            }
            child = ca;
        }
        !a.chain.is_empty()
    });
    if !chained {
        return Err(err(
            "it was not issued by a certificate authority of the trusted root",
        ));
    }
    if !leaf.identities.iter().any(|i| i == &identity.subject) {
        return Err(err(format!(
            "it was issued to {}, not to {}",
            leaf.identities.join(", "),
            identity.subject
        )));
    }
    if leaf.oidc_issuer.as_deref() != Some(identity.issuer.as_str()) {
        return Err(err(format!(
            "its identity was vouched for by {}, not by {}",
            leaf.oidc_issuer.as_deref().unwrap_or("no OIDC issuer"),
            identity.issuer
        )));
    }
    leaf.public_key()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_rfc_5280_says() {
        assert_eq!(time(0x17, b"250204203547Z"), Some(1_738_701_347));
        assert_eq!(time(0x18, b"20250204203547Z"), Some(1_738_701_347));
        assert_eq!(time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(time(0x17, b"500101000000Z"), Some(-631_152_000));
        assert_eq!(time(0x17, b"251304203547Z"), None);
        assert_eq!(time(0x17, b"2502042035Z"), None);
        assert_eq!(stella_sbom::rfc3339(1_738_701_347), "2025-02-04T20:35:47Z");
    }
}
