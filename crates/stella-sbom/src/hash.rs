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
