//! rpm's NDB package database (`Packages.db`, SUSE Linux Enterprise 15 and openSUSE), read as
//! rpm's own `lib/backend/ndb/rpmpkg.c` lays it out.
//!
//! A 32-byte little-endian header (`RpmP`, version 0, generation, slot page count), then slot
//! pages of 16-byte slots (`Slot`, package index, block offset, block count; offset 0 = free),
//! the first page starting after the header; blobs live at `block offset × 16`: a head
//! (`BlbS`, package index, generation, length), the header blob, zero padding to the block,
//! and a tail (Adler-32 of head, blob and padding, length, `BlbE`). Traps: every slot must
//! carry its magic; a blob must belong to the slot's package and fill exactly its blocks;
//! offsets and counts come from the file, so every one is checked before it is used.

const PAGE: usize = 4096;
const SLOT: usize = 16;
const BLK: usize = 16;
const HEAD: usize = 16;
const TAIL: usize = 12;

fn le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn magic(s: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*s)
}

/// RFC 1950's Adler-32.
pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

/// Every package header blob in slot order.
pub fn blobs(db: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if le(db, 0) != Some(magic(b"RpmP")) {
        return Err("not an rpm NDB database (no RpmP magic)".into());
    }
    if le(db, 4) != Some(0) {
        return Err(format!(
            "NDB version {} (only 0 exists)",
            le(db, 4).unwrap_or(0)
        ));
    }
    let slot_pages = le(db, 12).ok_or("short header")? as usize;
    if slot_pages == 0 || slot_pages > db.len() / PAGE {
        return Err(format!("{slot_pages} slot pages do not fit the file"));
    }
    let file_blks = db.len() / BLK;
    let min_blk = slot_pages * (PAGE / BLK);
    let mut out = Vec::new();
    for page in 0..slot_pages {
        let start = if page == 0 { 32 } else { 0 };
        for o in (start..PAGE).step_by(SLOT) {
            let at = page * PAGE + o;
            if le(db, at) != Some(magic(b"Slot")) {
                return Err(format!("slot at byte {at} has no Slot magic"));
            }
            let blkoff = le(db, at + 8).ok_or("short slot")? as usize;
            if blkoff == 0 {
                continue; // free
            }
            let pkgidx = le(db, at + 4).ok_or("short slot")?;
            let blkcnt = le(db, at + 12).ok_or("short slot")? as usize;
            if pkgidx == 0
                || blkcnt == 0
                || blkoff < min_blk
                || blkoff.saturating_add(blkcnt) > file_blks
            {
                return Err(format!("slot at byte {at} points outside the blob area"));
            }
            let blob = &db[blkoff * BLK..(blkoff + blkcnt) * BLK];
            if le(blob, 0) != Some(magic(b"BlbS")) || le(blob, 4) != Some(pkgidx) {
                return Err(format!(
                    "package {pkgidx}: blob head does not match its slot"
                ));
            }
            let len = le(blob, 12).ok_or("short blob")? as usize;
            if blkcnt != (HEAD + len + TAIL).div_ceil(BLK) {
                return Err(format!(
                    "package {pkgidx}: blob length {len} does not fill {blkcnt} blocks"
                ));
            }
            let tail = blob.len() - TAIL;
            if le(blob, tail + 4) != Some(len as u32) || le(blob, tail + 8) != Some(magic(b"BlbE"))
            {
                return Err(format!("package {pkgidx}: blob tail is damaged"));
            }
            if le(blob, tail) != Some(adler32(&blob[..tail])) {
                return Err(format!("package {pkgidx}: blob checksum mismatch"));
            }
            out.push(blob[HEAD..HEAD + len].to_vec());
        }
    }
    Ok(out)
}

/// Writes an NDB database of `blobs` as rpm does (for tests: Debian's rpm has no NDB backend).
pub fn write(blobs: &[Vec<u8>]) -> Vec<u8> {
    let slots_per_page = PAGE / SLOT;
    let pages = (blobs.len() + 2).div_ceil(slots_per_page).max(1);
    let mut db = vec![0u8; pages * PAGE];
    for i in 0..pages * slots_per_page {
        db[i * SLOT..i * SLOT + 4].copy_from_slice(b"Slot");
    }
    db[0..4].copy_from_slice(b"RpmP");
    db[4..8].copy_from_slice(&0u32.to_le_bytes());
    db[8..12].copy_from_slice(&1u32.to_le_bytes());
    db[12..16].copy_from_slice(&(pages as u32).to_le_bytes());
    db[16..20].copy_from_slice(&(blobs.len() as u32 + 1).to_le_bytes());
    db[20..32].fill(0);
    for (k, blob) in blobs.iter().enumerate() {
        let pkgidx = k as u32 + 1;
        let blkoff = db.len() / BLK;
        let blkcnt = (HEAD + blob.len() + TAIL).div_ceil(BLK);
        let mut b = Vec::with_capacity(blkcnt * BLK);
        b.extend_from_slice(b"BlbS");
        b.extend_from_slice(&pkgidx.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&(blob.len() as u32).to_le_bytes());
        b.extend_from_slice(blob);
        b.resize(blkcnt * BLK - TAIL, 0);
        let adl = adler32(&b);
        b.extend_from_slice(&adl.to_le_bytes());
        b.extend_from_slice(&(blob.len() as u32).to_le_bytes());
        b.extend_from_slice(b"BlbE");
        db.extend_from_slice(&b);
        let slot = (k + 2) * SLOT;
        db[slot + 4..slot + 8].copy_from_slice(&pkgidx.to_le_bytes());
        db[slot + 8..slot + 12].copy_from_slice(&(blkoff as u32).to_le_bytes());
        db[slot + 12..slot + 16].copy_from_slice(&(blkcnt as u32).to_le_bytes());
    }
    db
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        let blobs_in = vec![b"first header".to_vec(), vec![7u8; 5000]];
        let db = write(&blobs_in);
        assert_eq!(blobs(&db).unwrap_or_default(), blobs_in);
        let mut bad = db.clone();
        let n = bad.len();
        bad[n - 20] ^= 1;
        assert!(blobs(&bad).unwrap_err().contains("checksum"));
        assert!(blobs(&db[..db.len() - 16]).is_err());
        assert!(blobs(b"RpmQ").is_err());
    }
}
