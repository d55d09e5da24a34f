//! A read-only reader for the SQLite database file format, just enough to scan one table's
//! rows (the rpm database `rpmdb.sqlite` keeps each package header as a blob row).
//!
//! Written from the file-format specification (sqlite.org/fileformat2.html) rather than
//! linking SQLite, so that an image's database is parsed by bounded, fuzzable Rust. Traps:
//! page size 1 means 65,536; the first page's b-tree header starts after the 100-byte file
//! header; payloads larger than the page spill into a chain of overflow pages whose local part
//! follows the spec's `M`/`K`/`X` rule; `INTEGER PRIMARY KEY` columns are stored as the rowid
//! and appear as NULL in the record; a database in WAL mode may have recent rows only in its
//! `-wal` file (the caller warns); corrupt files must end in an error, never a loop, so every
//! page is visited at most once.

use std::collections::HashSet;

/// A SQLite file held in memory.
pub struct Db<'a> {
    bytes: &'a [u8],
    page_size: usize,
    usable: usize,
}

/// One column value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A float.
    Real(f64),
    /// Text.
    Text(String),
    /// A blob.
    Blob(Vec<u8>),
}

fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..9 {
        let c = *b.get(i)?;
        if i == 8 {
            return Some(((v << 8) | u64::from(c), 9));
        }
        v = (v << 7) | u64::from(c & 0x7f);
        if c & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn be(b: &[u8], at: usize, n: usize) -> Option<u64> {
    let s = b.get(at..at + n)?;
    Some(s.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
}

impl<'a> Db<'a> {
    /// Checks the header and returns a reader.
    pub fn new(bytes: &'a [u8]) -> Result<Self, String> {
        if bytes.len() < 100 || &bytes[..16] != b"SQLite format 3\0" {
            return Err("not a SQLite database".into());
        }
        let ps = be(bytes, 16, 2).unwrap_or(0) as usize;
        let page_size = if ps == 1 { 65536 } else { ps };
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(format!("bad page size {page_size}"));
        }
        let reserved = usize::from(bytes[20]);
        let usable = page_size
            .checked_sub(reserved)
            .filter(|u| *u >= 480)
            .ok_or("bad reserved space")?;
        Ok(Db {
            bytes,
            page_size,
            usable,
        })
    }

    /// Whether the file says it is in WAL mode.
    pub fn is_wal(&self) -> bool {
        self.bytes[18] == 2 || self.bytes[19] == 2
    }

    fn page(&self, n: u64) -> Result<&'a [u8], String> {
        let n = usize::try_from(n).map_err(|_| "page number out of range")?;
        if n == 0 {
            return Err("page 0 does not exist".into());
        }
        let start = (n - 1)
            .checked_mul(self.page_size)
            .ok_or("page number out of range")?;
        self.bytes
            .get(start..start + self.page_size)
            .ok_or_else(|| format!("page {n} is past the end of the file (truncated?)"))
    }

    /// Every row of the table b-tree rooted at `root`, as (rowid, values).
    pub fn rows(&self, root: u64) -> Result<Vec<(i64, Vec<Value>)>, String> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![root];
        while let Some(pn) = stack.pop() {
            if !seen.insert(pn) {
                return Err(format!(
                    "page {pn} is reached twice (a loop in a corrupt file)"
                ));
            }
            let page = self.page(pn)?;
            let h = if pn == 1 { 100 } else { 0 };
            let kind = *page.get(h).ok_or("short page")?;
            let ncells = be(page, h + 3, 2).ok_or("short page")? as usize;
            let (hdr, interior) = match kind {
                0x0d => (8, false),
                0x05 => (12, true),
                k => return Err(format!("page {pn}: not a table b-tree page (type {k:#x})")),
            };
            let mut children = Vec::new();
            for i in 0..ncells {
                let off = be(page, h + hdr + 2 * i, 2).ok_or("short cell pointer array")? as usize;
                let cell = page.get(off..).ok_or("cell pointer past the page")?;
                if interior {
                    children.push(be(cell, 0, 4).ok_or("short interior cell")?);
                } else {
                    let (plen, a) = varint(cell).ok_or("bad payload length")?;
                    let (rowid, b) = varint(&cell[a..]).ok_or("bad rowid")?;
                    let payload = self.payload(&cell[a + b..], plen, &mut seen)?;
                    out.push((rowid as i64, record(&payload)?));
                }
            }
            if interior {
                children.push(be(page, h + 8, 4).ok_or("no right-most pointer")?);
                // left to right, so rows come out in rowid order
                stack.extend(children.into_iter().rev());
            }
        }
        Ok(out)
    }

    fn payload(&self, local: &[u8], plen: u64, seen: &mut HashSet<u64>) -> Result<Vec<u8>, String> {
        let p = usize::try_from(plen).map_err(|_| "payload too large")?;
        if p > self.bytes.len() {
            return Err("payload larger than the file".into());
        }
        let u = self.usable;
        let x = u - 35;
        if p <= x {
            return local
                .get(..p)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| "payload past the page".to_string());
        }
        let m = ((u - 12) * 32 / 255) - 23;
        let k = m + ((p - m) % (u - 4));
        let here = if k <= x { k } else { m };
        let mut out = Vec::with_capacity(p);
        out.extend_from_slice(local.get(..here).ok_or("payload past the page")?);
        let mut next = be(local, here, 4).ok_or("no overflow pointer")?;
        while out.len() < p {
            if !seen.insert(next) {
                return Err(format!("overflow page {next} is reached twice"));
            }
            let page = self.page(next)?;
            let take = (p - out.len()).min(u - 4);
            out.extend_from_slice(page.get(4..4 + take).ok_or("short overflow page")?);
            next = be(page, 0, 4).ok_or("short overflow page")?;
        }
        Ok(out)
    }

    /// The root page of table `name` (case-insensitive), from `sqlite_master`.
    pub fn table_root(&self, name: &str) -> Result<Option<u64>, String> {
        for (_, row) in self.rows(1)? {
            if let (Some(Value::Text(ty)), Some(Value::Text(n)), Some(Value::Int(root))) =
                (row.first(), row.get(1), row.get(3))
                && ty == "table"
                && n.eq_ignore_ascii_case(name)
            {
                return Ok(Some(*root as u64));
            }
        }
        Ok(None)
    }
}

fn record(p: &[u8]) -> Result<Vec<Value>, String> {
    let (hlen, mut at) = varint(p).ok_or("bad record header")?;
    let hlen = usize::try_from(hlen).map_err(|_| "bad record header")?;
    if hlen > p.len() {
        return Err("record header past the payload".into());
    }
    let mut types = Vec::new();
    while at < hlen {
        let (t, n) = varint(&p[at..hlen]).ok_or("bad serial type")?;
        types.push(t);
        at += n;
    }
    let mut body = hlen;
    let mut out = Vec::with_capacity(types.len());
    for t in types {
        let int = |n: usize, body: usize| -> Result<i64, String> {
            let s = p.get(body..body + n).ok_or("value past the payload")?;
            let mut v: i64 = if s[0] & 0x80 != 0 { -1 } else { 0 };
            for &b in s {
                v = (v << 8) | i64::from(b);
            }
            Ok(v)
        };
        let (v, n) = match t {
            0 => (Value::Null, 0),
            1 => (Value::Int(int(1, body)?), 1),
            2 => (Value::Int(int(2, body)?), 2),
            3 => (Value::Int(int(3, body)?), 3),
            4 => (Value::Int(int(4, body)?), 4),
            5 => (Value::Int(int(6, body)?), 6),
            6 => (Value::Int(int(8, body)?), 8),
            7 => (
                Value::Real(f64::from_bits(
                    be(p, body, 8).ok_or("value past the payload")?,
                )),
                8,
            ),
            8 => (Value::Int(0), 0),
            9 => (Value::Int(1), 0),
            10 | 11 => return Err("reserved serial type".into()),
            t => {
                let n = usize::try_from((t - 12) / 2).map_err(|_| "value too large")?;
                let s = p.get(body..body + n).ok_or("value past the payload")?;
                if t % 2 == 0 {
                    (Value::Blob(s.to_vec()), n)
                } else {
                    (Value::Text(String::from_utf8_lossy(s).into_owned()), n)
                }
            }
        };
        out.push(v);
        body += n;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x7f]), Some((127, 1)));
        assert_eq!(varint(&[0x81, 0x00]), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9]), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x80]), None);
        assert!(Db::new(b"not sqlite").is_err());
    }
}
