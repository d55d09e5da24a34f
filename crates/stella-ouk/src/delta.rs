//! Delta kits: the new DB as content-defined chunks, shipping only the chunks the installed
//! DB does not already have — exact by construction (the rebuilt file must hash to the
//! target's digest) and independent of the DB's layout.
//!
//! Chunk boundaries come from a gear rolling hash (as FastCDC), so an insertion or change
//! moves only the boundaries near it and every other chunk of the old DB is found again by
//! its hash.

use std::collections::HashMap;

use sha2::{Digest as _, Sha256};

const MIN: usize = 256;
const MAX: usize = 8192;
/// Average chunk ≈ MIN + 1 KiB.
const MASK: u64 = (1 << 10) - 1;
const MAGIC: &[u8] = b"STELLA-DELTA1\n";

const fn gear() -> [u64; 256] {
    // splitmix64: a fixed table both sides compute alike
    let mut t = [0u64; 256];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut i = 0;
    while i < 256 {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        t[i] = z ^ (z >> 31);
        i += 1;
    }
    t
}
static GEAR: [u64; 256] = gear();

/// Chunk boundaries of `data`: `(start, end)` pairs covering it.
pub fn chunks(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(data.len() / 1024 + 1);
    let mut start = 0;
    while start < data.len() {
        let end = (start + MAX).min(data.len());
        let mut cut = end;
        let mut h: u64 = 0;
        let mut i = start + MIN.min(end - start);
        while i < end {
            h = (h << 1).wrapping_add(GEAR[usize::from(data[i])]);
            if h & MASK == 0 {
                cut = i + 1;
                break;
            }
            i += 1;
        }
        out.push((start, cut));
        start = cut;
    }
    out
}

fn id(b: &[u8]) -> [u8; 16] {
    let d = Sha256::digest(b);
    let mut o = [0u8; 16];
    o.copy_from_slice(&d[..16]);
    o
}

/// The delta that rebuilds `new` from `old`.
pub fn diff(old: &[u8], new: &[u8]) -> Vec<u8> {
    let have: std::collections::HashSet<[u8; 16]> =
        chunks(old).iter().map(|&(a, b)| id(&old[a..b])).collect();
    let mut recipe = Vec::new();
    let mut fresh: Vec<&[u8]> = Vec::new();
    let mut sent = std::collections::HashSet::new();
    for (a, b) in chunks(new) {
        let c = &new[a..b];
        let h = id(c);
        recipe.push(h);
        if !have.contains(&h) && sent.insert(h) {
            fresh.push(c);
        }
    }
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&Sha256::digest(old));
    out.extend_from_slice(&(new.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(new));
    out.extend_from_slice(&(recipe.len() as u32).to_le_bytes());
    for h in &recipe {
        out.extend_from_slice(h);
    }
    out.extend_from_slice(&(fresh.len() as u32).to_le_bytes());
    for c in fresh {
        out.extend_from_slice(&(c.len() as u32).to_le_bytes());
        out.extend_from_slice(c);
    }
    out
}

/// What a delta applies to: the SHA-256 of the old DB file, hex.
pub fn base(delta: &[u8]) -> Option<String> {
    delta
        .strip_prefix(MAGIC)
        .and_then(|r| r.get(..32))
        .map(stella_attest::hex)
}

/// Rebuilds the new DB from `old` and `delta`; `None` when the delta is damaged, is for
/// another base, or does not rebuild the file it names.
pub fn apply(old: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    let mut r = delta.strip_prefix(MAGIC)?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (a, b) = (r.get(..n)?, r.get(n..)?);
        r = b;
        Some(a)
    };
    if take(32)? != Sha256::digest(old).as_slice() {
        return None;
    }
    let len = u64::from_le_bytes(take(8)?.try_into().ok()?);
    let target: [u8; 32] = take(32)?.try_into().ok()?;
    let n = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    let recipe: Vec<[u8; 16]> = (0..n)
        .map(|_| take(16).and_then(|h| h.try_into().ok()))
        .collect::<Option<_>>()?;
    let mut pieces: HashMap<[u8; 16], &[u8]> = chunks(old)
        .into_iter()
        .map(|(a, b)| (id(&old[a..b]), &old[a..b]))
        .collect();
    let m = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    for _ in 0..m {
        let l = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let c = take(l)?;
        pieces.insert(id(c), c);
    }
    if len > (old.len() as u64 + delta.len() as u64) * 64 {
        return None;
    }
    let mut out = Vec::with_capacity(len as usize);
    for h in &recipe {
        out.extend_from_slice(pieces.get(h)?);
    }
    (out.len() as u64 == len && Sha256::digest(&out).as_slice() == target).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 251) as u8
            })
            .collect()
    }

    #[test]
    fn a_small_change_ships_little_and_rebuilds_exactly() {
        let old = data(1 << 20, 7);
        let mut new = old.clone();
        new.splice(
            300_000..300_010,
            b"inserted, longer than before".iter().copied(),
        );
        new[700_000] ^= 1;
        let d = diff(&old, &new);
        assert!(
            d.len() < 40_000,
            "delta of {} bytes for two small edits",
            d.len()
        );
        assert_eq!(apply(&old, &d).unwrap(), new);
        assert_eq!(base(&d).unwrap(), stella_attest::sha256_hex(&old));
        // another base, or a damaged delta, rebuilds nothing
        assert!(apply(&new, &d).is_none());
        let mut bad = d.clone();
        let k = bad.len() - 100;
        bad[k] ^= 1;
        assert!(apply(&old, &bad).is_none());
        assert!(apply(&old, &d[..d.len() - 1]).is_none());
        assert!(apply(&old, b"nonsense").is_none());
    }

    #[test]
    fn chunks_cover_the_input() {
        for n in [0usize, 1, 255, 256, 5000, 100_000] {
            let d = data(n, 3);
            let c = chunks(&d);
            assert_eq!(c.iter().map(|(a, b)| b - a).sum::<usize>(), n);
            assert!(c.iter().all(|(a, b)| b - a <= MAX && b > a));
        }
    }
}
