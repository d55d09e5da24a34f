//! Just enough DER to frame and unframe the key structures the PKCS#8 / SPKI crates do not
//! build for us (SEC1 `EC PRIVATE KEY` into PKCS#8, a P-256 point into SPKI).

/// One TLV: its tag, its contents and what follows it; `None` when the bytes are not DER.
pub fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &d| (acc << 8) | usize::from(d));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// A TLV with `content`.
pub fn wrap(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// The AlgorithmIdentifier of an EC key on P-256 (id-ecPublicKey, prime256v1), DER.
pub const EC_P256_ALGORITHM: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07,
];

/// SPKI of an uncompressed P-256 point.
pub fn p256_spki(point: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(point);
    let mut body = EC_P256_ALGORITHM.to_vec();
    body.extend(wrap(0x03, &bits));
    wrap(0x30, &body)
}

/// PKCS#8 of a SEC1 `ECPrivateKey` on P-256, with the curve parameters moved out of the
/// inner structure (where OpenSSL's `ecparam -genkey` puts them and PKCS#8 readers refuse
/// them) into the algorithm identifier.
pub fn sec1_to_pkcs8(sec1: &[u8]) -> Option<Vec<u8>> {
    let (0x30, mut inner, _) = tlv(sec1)? else {
        return None;
    };
    let mut kept = Vec::new();
    while !inner.is_empty() {
        let (tag, content, rest) = tlv(inner)?;
        if tag == 0xa0 {
            // the curve, given again: it must be P-256's
            if content != &EC_P256_ALGORITHM[11..] {
                return None;
            }
        } else {
            kept.extend(wrap(tag, content));
        }
        inner = rest;
    }
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend_from_slice(EC_P256_ALGORITHM);
    body.extend(wrap(0x04, &wrap(0x30, &kept)));
    Some(wrap(0x30, &body))
}

/// The SubjectPublicKeyInfo (whole TLV) of an X.509 certificate's DER.
pub fn certificate_spki(cert: &[u8]) -> Option<&[u8]> {
    let (0x30, body, _) = tlv(cert)? else {
        return None;
    };
    let (0x30, mut tbs, _) = tlv(body)? else {
        return None;
    };
    // [0] version (optional), serial, signature algorithm, issuer, validity, subject
    if tbs.first() == Some(&0xa0) {
        tbs = tlv(tbs)?.2;
    }
    for _ in 0..5 {
        tbs = tlv(tbs)?.2;
    }
    let (0x30, _, rest) = tlv(tbs)? else {
        return None;
    };
    Some(&tbs[..tbs.len() - rest.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for n in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let content = vec![7u8; n];
            let w = wrap(0x04, &content);
            let (tag, c, rest) = tlv(&w).unwrap();
            assert_eq!((tag, c.len(), rest.len()), (4, n, 0));
        }
        assert!(tlv(&[0x30, 0x05, 1]).is_none(), "truncated");
        assert!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none(), "absurd length");
    }
}
