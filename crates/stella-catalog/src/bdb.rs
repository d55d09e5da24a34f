//! A read-only reader of Berkeley DB *hash* databases, enough for rpm's `Packages` (RHEL and
//! CentOS 7, Amazon Linux 2): every value stored, in page order.
//!
//! Written from Berkeley DB's on-disk layout (`dbinc/db_page.h`): a metadata page with the
//! magic `0x061561` in either byte order and the page size, then 26-byte page headers whose
//! last byte is the page type; hash pages hold key/value items through an offset index, a
//! value being inline (`H_KEYDATA`) or on a chain of overflow pages (`H_OFFPAGE`). Traps:
//! the byte order is the creating machine's; inline item lengths follow from the neighbouring
//! offsets; overflow chains must end, and at the advertised length.

use std::collections::HashSet;

const P_HASH_UNSORTED: u8 = 2;
const P_HASH: u8 = 13;
const P_OVERFLOW: u8 = 7;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
const HDR: usize = 26;

/// Every (key, value) of a hash database whose key is not `skip_key`.
pub fn values(b: &[u8], skip_key: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if b.len() < 512 {
        return Err("too short for a Berkeley DB file".into());
    }
    let le = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
    let swapped = match le {
        0x0006_1561 => false,
        0x6115_0600 => true,
        _ => return Err("not a Berkeley DB hash database".into()),
    };
    let u32_at = |p: &[u8], at: usize| -> Option<u32> {
        let s: [u8; 4] = p.get(at..at + 4)?.try_into().ok()?;
        Some(if swapped {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    };
    let u16_at = |p: &[u8], at: usize| -> Option<u16> {
        let s: [u8; 2] = p.get(at..at + 2)?.try_into().ok()?;
        Some(if swapped {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    };
    let page_size = u32_at(b, 20).ok_or("short metadata page")? as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(format!("bad page size {page_size}"));
    }
    let pages = b.len() / page_size;
    let page = |n: usize| b.get(n * page_size..(n + 1) * page_size);
    let mut out = Vec::new();
    for n in 1..pages {
        let Some(p) = page(n) else { break };
        if p[25] != P_HASH && p[25] != P_HASH_UNSORTED {
            continue;
        }
        let entries = usize::from(u16_at(p, 20).ok_or("short page")?);
        let mut offsets = Vec::with_capacity(entries);
        for i in 0..entries {
            offsets.push(usize::from(
                u16_at(p, HDR + 2 * i).ok_or("short item index")?,
            ));
        }
        // items come in pairs: key, value, key, value…
        for i in (1..entries).step_by(2) {
            let key = match p
                .get(offsets[i - 1]..)
                .and_then(|k| k.first().map(|t| (*t, k)))
            {
                Some((H_KEYDATA, k)) => {
                    let end = if i == 1 { page_size } else { offsets[i - 2] };
                    k.get(1..end.saturating_sub(offsets[i - 1])).unwrap_or(&[])
                }
                _ => &[],
            };
            if key == skip_key {
                continue;
            }
            let off = offsets[i];
            let item = p.get(off..).ok_or("item offset past the page")?;
            match item.first().copied() {
                Some(H_KEYDATA) => {
                    let end = offsets[i - 1];
                    let v = p.get(off + 1..end).ok_or("bad inline item")?;
                    out.push(v.to_vec());
                }
                Some(H_OFFPAGE) => {
                    let mut next = u32_at(item, 4).ok_or("short off-page item")? as usize;
                    let total = u32_at(item, 8).ok_or("short off-page item")? as usize;
                    if total > b.len() {
                        return Err("an off-page item longer than the file".into());
                    }
                    let mut v = Vec::with_capacity(total);
                    let mut seen = HashSet::new();
                    while v.len() < total {
                        if next == 0 || !seen.insert(next) {
                            return Err(format!("overflow chain broken at page {next}"));
                        }
                        let op = page(next)
                            .ok_or_else(|| format!("overflow page {next} past the end"))?;
                        if op[25] != P_OVERFLOW {
                            return Err(format!("page {next} is not an overflow page"));
                        }
                        let used = usize::from(u16_at(op, 22).ok_or("short overflow page")?);
                        let chunk = op
                            .get(HDR..HDR + used)
                            .ok_or("overflow length past the page")?;
                        v.extend_from_slice(&chunk[..chunk.len().min(total - v.len())]);
                        next = u32_at(op, 16).ok_or("short overflow page")? as usize;
                    }
                    out.push(v);
                }
                _ => {} // duplicates and the like: not used by rpm's Packages
            }
        }
    }
    Ok(out)
}
