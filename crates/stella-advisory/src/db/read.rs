//! Opening and querying the compiled DB in place.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{
    ENTRY, HEADER, Kind, MAGIC, Manifest, PackageEntry, SCHEMA_VERSION, SECTION, Vulnerability, key,
};
use crate::Error;

/// The bytes of a DB: a read-only memory map, or an owned buffer (tests, fresh builds).
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// An open DB.
pub struct Db {
    path: PathBuf,
    bytes: Bytes,
    sections: [(usize, usize); 16],
    manifest: Manifest,
    /// Whether [`Db::prefault`] has run: once per mapping is enough (Core scans many times).
    prefaulted: std::sync::atomic::AtomicBool,
    /// What a reader derived from this DB and keeps for as long as it (the matcher's memo of
    /// package results): dropped with the DB, so a replaced DB never answers with old data.
    derived: std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.path)
            .field("len", &self.bytes.len())
            .finish()
    }
}

#[allow(unsafe_code)]
fn map(file: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the file is opened read-only, and Stella never changes a DB file in place:
    // updates write a new file and rename it over the old one, so the mapped pages cannot
    // change underneath us (a replaced file stays alive until this mapping is dropped).
    unsafe { memmap2::Mmap::map(file) }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

impl Db {
    /// Maps the file and checks its structure; does not read the content (see [`Db::verify`]).
    pub fn open(path: &Path) -> Result<Db, Error> {
        let file = fs_err::File::open(path)?;
        let mapped = map(file.file()).map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("cannot map {}: {e}", path.display()),
            ))
        })?;
        Self::from_bytes_inner(path, Bytes::Mapped(mapped))
    }

    /// Opens DB bytes held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Db, Error> {
        Self::from_bytes_inner(Path::new("<memory>"), Bytes::Owned(bytes))
    }

    fn from_bytes_inner(path: &Path, bytes: Bytes) -> Result<Db, Error> {
        let corrupt = |why: String| Error::Corrupt {
            path: path.display().to_string(),
            why,
        };
        let b = &*bytes;
        if b.len() < HEADER || &b[..8] != MAGIC {
            return Err(corrupt("not a Stella vulnerability DB (bad magic)".into()));
        }
        let version = u32_at(b, 8);
        if version > SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                path: path.display().to_string(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version != SCHEMA_VERSION {
            return Err(Error::OlderSchema {
                path: path.display().to_string(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let count = u32_at(b, 12) as usize;
        if count > 64 || HEADER + count * SECTION > b.len() {
            return Err(corrupt("the section table is truncated".into()));
        }
        let mut sections = [(0usize, 0usize); 16];
        for i in 0..count {
            let at = HEADER + i * SECTION;
            let kind = u32_at(b, at) as usize;
            let off = u64_at(b, at + 8);
            let len = u64_at(b, at + 16);
            let end = off
                .checked_add(len)
                .ok_or_else(|| corrupt("a section overflows".into()))?;
            if end > b.len() as u64 {
                return Err(corrupt(format!(
                    "the file is truncated (section {kind} ends at byte {end}, the file has {})",
                    b.len()
                )));
            }
            if kind < sections.len() {
                sections[kind] = (off as usize, len as usize);
            }
        }
        for k in [
            Kind::Manifest,
            Kind::PkgIndex,
            Kind::PkgKeys,
            Kind::PkgRecords,
            Kind::VulnIndex,
            Kind::VulnKeys,
            Kind::VulnRecords,
        ] {
            if sections[k as usize] == (0, 0) && k == Kind::Manifest {
                return Err(corrupt("no manifest".into()));
            }
        }
        let (mo, ml) = sections[Kind::Manifest as usize];
        let manifest: Manifest = serde_json::from_slice(&b[mo..mo + ml])
            .map_err(|e| corrupt(format!("unreadable manifest: {e}")))?;
        for k in [Kind::PkgIndex, Kind::VulnIndex] {
            if sections[k as usize].1 % ENTRY != 0 {
                return Err(corrupt("an index has a partial entry".into()));
            }
        }
        Ok(Db {
            path: path.to_path_buf(),
            bytes,
            sections,
            manifest,
            prefaulted: std::sync::atomic::AtomicBool::new(false),
            derived: std::sync::OnceLock::new(),
        })
    }

    /// Maps the vulnerability lists into the process now, in one call, instead of page by
    /// page on first touch: worth it before matching many packages, whose statements' lists
    /// land all over that section. Once per mapping: later calls do nothing. A hint: failure
    /// is ignored (old kernels have no `MADV_POPULATE_READ`).
    pub fn prefault(&self) {
        if self
            .prefaulted
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        #[cfg(target_os = "linux")]
        if let Bytes::Mapped(m) = &self.bytes {
            for k in [
                Kind::PkgIndex,
                Kind::PkgKeys,
                Kind::VulnIndex,
                Kind::VulnKeys,
                Kind::ListIndex,
                Kind::Lists,
            ] {
                let (o, l) = self.sections[k as usize];
                // the advice wants a page-aligned start
                let start = o & !4095;
                let _ = m.advise_range(memmap2::Advice::PopulateRead, start, l + (o - start));
            }
        }
    }

    /// The data a reader derives from this DB and keeps with it, made by `init` on first use.
    /// One slot per DB: `None` when it already holds another type.
    pub fn derived<T: std::any::Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> Option<&T> {
        self.derived
            .get_or_init(|| Box::new(init()))
            .downcast_ref::<T>()
    }

    /// Drops what readers derived ([`Db::derived`]): they start again as with a new DB.
    pub fn forget_derived(&mut self) {
        self.derived.take();
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The name of a feed index used in [`PackageEntry::feed`].
    pub fn feed_name(&self, idx: u16) -> &str {
        self.manifest
            .feed_names
            .get(usize::from(idx))
            .map_or("?", String::as_str)
    }

    /// The file's size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the DB has no bytes (never true for an opened DB).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The content digest recorded in the header, hex.
    pub fn digest(&self) -> String {
        stella_sbom::hash::hex(&self.bytes[16..48])
    }

    /// Recomputes the content digest and compares it with the header's.
    pub fn verify(&self) -> Result<(), Error> {
        let got = Sha256::digest(&self.bytes[HEADER..]);
        if got.as_slice() != &self.bytes[16..48] {
            return Err(Error::Corrupt {
                path: self.path.display().to_string(),
                why: "the content digest does not match".into(),
            });
        }
        Ok(())
    }

    fn section(&self, k: Kind) -> &[u8] {
        let (o, l) = self.sections[k as usize];
        &self.bytes[o..o + l]
    }

    fn entry(&self, index: Kind, keys: Kind, records: Kind, i: usize) -> Option<(&[u8], &[u8])> {
        let idx = self.section(index);
        let at = i * ENTRY;
        let ko = u32_at(idx, at) as usize;
        let kl = u32_at(idx, at + 4) as usize;
        let ro = u64_at(idx, at + 8) as usize;
        let rl = u32_at(idx, at + 16) as usize;
        let k = self.section(keys).get(ko..ko.checked_add(kl)?)?;
        let r = self.section(records).get(ro..ro.checked_add(rl)?)?;
        Some((k, r))
    }

    fn find(&self, index: Kind, keys: Kind, records: Kind, want: &[u8]) -> Option<&[u8]> {
        let n = self.section(index).len() / ENTRY;
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (k, r) = self.entry(index, keys, records, mid)?;
            match k.cmp(want) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(r),
            }
        }
        None
    }

    /// The encoded record of a (namespace, package), found by binary search in place.
    pub fn package_record(&self, namespace: &str, package: &str) -> Option<&[u8]> {
        self.find(
            Kind::PkgIndex,
            Kind::PkgKeys,
            Kind::PkgRecords,
            &key(namespace, package),
        )
    }

    /// What every feed says about a (namespace, package), most authoritative source first.
    pub fn package(&self, namespace: &str, package: &str) -> Result<Vec<PackageEntry>, Error> {
        match self.package_record(namespace, package) {
            None => Ok(Vec::new()),
            Some(r) => postcard::from_bytes(r)
                .map_err(|e| self.bad(format!("package record of {namespace}/{package}: {e}"))),
        }
    }

    /// The vulnerability ids of a [`PackageEntry::vulnerabilities`] list.
    pub fn vulnerability_list(&self, idx: u32) -> Result<Vec<String>, Error> {
        self.statement_list(idx).map(|(v, _)| v)
    }

    /// A shared list with the distribution's rating of the statements that refer to it.
    pub fn statement_list(&self, idx: u32) -> Result<(Vec<String>, Option<super::Rating>), Error> {
        let index = self.section(Kind::ListIndex);
        let at = idx as usize * 16;
        if at + 16 > index.len() {
            return Err(self.bad(format!("list {idx} is outside the list index")));
        }
        let off = u64_at(index, at) as usize;
        let len = u32_at(index, at + 8) as usize;
        let bytes = self
            .section(Kind::Lists)
            .get(off..off + len)
            .ok_or_else(|| self.bad(format!("list {idx} points outside the file")))?;
        postcard::from_bytes(bytes).map_err(|e| self.bad(format!("list {idx}: {e}")))
    }

    /// A vulnerability record by id.
    pub fn vulnerability(&self, id: &str) -> Result<Option<Vulnerability>, Error> {
        match self.find(
            Kind::VulnIndex,
            Kind::VulnKeys,
            Kind::VulnRecords,
            id.as_bytes(),
        ) {
            None => Ok(None),
            Some(r) => postcard::from_bytes(r)
                .map(Some)
                .map_err(|e| self.bad(format!("vulnerability record {id}: {e}"))),
        }
    }

    /// The record of a vulnerability id, read in place (see [`super::VulnerabilityView`]).
    pub fn vulnerability_view(
        &self,
        id: &str,
    ) -> Result<Option<super::VulnerabilityView<'_>>, Error> {
        match self.find(
            Kind::VulnIndex,
            Kind::VulnKeys,
            Kind::VulnRecords,
            id.as_bytes(),
        ) {
            None => Ok(None),
            Some(r) => postcard::from_bytes(r)
                .map(Some)
                .map_err(|e| self.bad(format!("vulnerability record {id}: {e}"))),
        }
    }

    fn bad(&self, why: String) -> Error {
        Error::Corrupt {
            path: self.path.display().to_string(),
            why,
        }
    }

    /// Every (namespace, package) with its entries, in key order.
    pub fn all_packages(&self) -> Result<Vec<(String, String, Vec<PackageEntry>)>, Error> {
        let n = self.section(Kind::PkgIndex).len() / ENTRY;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (k, r) = self
                .entry(Kind::PkgIndex, Kind::PkgKeys, Kind::PkgRecords, i)
                .ok_or_else(|| {
                    self.bad(format!("package index entry {i} points outside the file"))
                })?;
            let k = String::from_utf8_lossy(k);
            let (ns, pkg) = k
                .split_once('\0')
                .ok_or_else(|| self.bad(format!("package key {i} has no namespace")))?;
            let entries: Vec<PackageEntry> = postcard::from_bytes(r)
                .map_err(|e| self.bad(format!("package record {i}: {e}")))?;
            out.push((ns.to_string(), pkg.to_string(), entries));
        }
        Ok(out)
    }

    /// Every vulnerability record, in id order.
    pub fn all_vulnerabilities(&self) -> Result<Vec<Vulnerability>, Error> {
        let n = self.section(Kind::VulnIndex).len() / ENTRY;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (_, r) = self
                .entry(Kind::VulnIndex, Kind::VulnKeys, Kind::VulnRecords, i)
                .ok_or_else(|| {
                    self.bad(format!(
                        "vulnerability index entry {i} points outside the file"
                    ))
                })?;
            out.push(
                postcard::from_bytes(r)
                    .map_err(|e| self.bad(format!("vulnerability record {i}: {e}")))?,
            );
        }
        Ok(out)
    }
}
