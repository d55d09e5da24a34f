//! Hash algorithm names across formats, and digest validation.

/// The canonical (CycloneDX) spelling of a hash algorithm, or `None` when unknown.
/// Accepts SPDX (`SHA256`, `SHA1`, `BLAKE2b-256`), CycloneDX and syft spellings.
pub fn canonical_alg(alg: &str) -> Option<&'static str> {
    let a: String = alg
        .trim()
        .to_ascii_uppercase()
        .chars()
        .filter(|c| *c != '_')
        .collect();
    Some(match a.as_str() {
        "MD5" => "MD5",
        "SHA1" | "SHA-1" => "SHA-1",
        "SHA256" | "SHA-256" => "SHA-256",
        "SHA384" | "SHA-384" => "SHA-384",
        "SHA512" | "SHA-512" => "SHA-512",
        "SHA3-256" | "SHA3256" => "SHA3-256",
        "SHA3-384" | "SHA3384" => "SHA3-384",
        "SHA3-512" | "SHA3512" => "SHA3-512",
        "BLAKE2B-256" | "BLAKE2B256" => "BLAKE2b-256",
        "BLAKE2B-384" | "BLAKE2B384" => "BLAKE2b-384",
        "BLAKE2B-512" | "BLAKE2B512" => "BLAKE2b-512",
        "BLAKE3" => "BLAKE3",
        _ => return None,
    })
}

/// Expected hex length of a digest, when fixed.
fn hex_len(alg: &str) -> Option<usize> {
    Some(match alg {
        "MD5" => 32,
        "SHA-1" => 40,
        "SHA-256" | "SHA3-256" | "BLAKE2b-256" => 64,
        "SHA-384" | "SHA3-384" | "BLAKE2b-384" => 96,
        "SHA-512" | "SHA3-512" | "BLAKE2b-512" => 128,
        _ => return None,
    })
}

/// Normalises `(alg, digest)`: canonical algorithm, lower-case hex. `Err` says why it is unusable.
pub fn normalize(alg: &str, digest: &str) -> Result<(&'static str, String), String> {
    let a = canonical_alg(alg).ok_or_else(|| format!("unknown hash algorithm `{alg}`"))?;
    let d = digest.trim().to_ascii_lowercase();
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{a} digest `{digest}` is not hexadecimal"));
    }
    if let Some(n) = hex_len(a)
        && d.len() != n
    {
        return Err(format!(
            "{a} digest has {} hex digits, expected {n}",
            d.len()
        ));
    }
    Ok((a, d))
}

/// The SPDX 2.x spelling of a canonical algorithm.
pub fn spdx_alg(canonical: &str) -> &'static str {
    match canonical {
        "MD5" => "MD5",
        "SHA-1" => "SHA1",
        "SHA-256" => "SHA256",
        "SHA-384" => "SHA384",
        "SHA-512" => "SHA512",
        "SHA3-256" => "SHA3-256",
        "SHA3-384" => "SHA3-384",
        "SHA3-512" => "SHA3-512",
        "BLAKE2b-256" => "BLAKE2b-256",
        "BLAKE2b-384" => "BLAKE2b-384",
        "BLAKE2b-512" => "BLAKE2b-512",
        _ => "BLAKE3",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        assert_eq!(
            normalize("SHA256", &"AB".repeat(32)).unwrap(),
            ("SHA-256", "ab".repeat(32))
        );
        assert!(normalize("SHA-256", "abcd").is_err());
        assert!(normalize("CRC32", "abcd").is_err());
        assert_eq!(spdx_alg("SHA-1"), "SHA1");
    }
}

/// Lowercase hexadecimal of `bytes` (digests, MACs, cache keys).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * bytes.len());
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// FNV-1a (64-bit), fed piece by piece: the project's short content-derived identifiers
/// (scan ids, serials, cache keys). Not for anything an attacker may choose to collide.
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64::with_seed(0)
    }
}

impl Fnv64 {
    /// The standard offset basis, XORed with `seed` (0 for plain FNV-1a).
    pub fn with_seed(seed: u64) -> Fnv64 {
        Fnv64(0xcbf2_9ce4_8422_2325 ^ seed)
    }

    /// Feeds bytes.
    pub fn write(&mut self, bytes: &[u8]) -> &mut Self {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self
    }

    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }

    /// FNV-1a of `bytes`.
    pub fn of(bytes: &[u8]) -> u64 {
        Fnv64::default().write(bytes).finish()
    }
}

#[cfg(test)]
mod fnv_tests {
    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(super::hex(&[]), "");
    }

    use super::Fnv64;

    #[test]
    fn known_values() {
        // the published FNV-1a 64 test vectors
        assert_eq!(Fnv64::of(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(Fnv64::of(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(Fnv64::of(b"foobar"), 0x8594_4171_f739_67e8);
        let mut h = Fnv64::default();
        h.write(b"foo").write(b"bar");
        assert_eq!(h.finish(), Fnv64::of(b"foobar"));
    }
}
