//! The RPM database: `rpmdb.sqlite` (RHEL 9, Fedora, Alma, Rocky, Amazon Linux 2023, UBI)
//! under `var/lib/rpm/`, `usr/lib/sysimage/rpm/` or `usr/share/rpm/`, one package header per
//! row of its `Packages` table.
//!
//! Traps: a header blob is `il`, `dl` (big-endian), `il` index entries (tag, type, offset,
//! count) and `dl` bytes of data, every offset to be checked against the data; strings are
//! NUL-terminated, `I18NSTRING` is an array whose first entry is the C locale; the epoch is
//! absent more often than 0; `gpg-pubkey` entries are imported keys, not packages; the source
//! package comes from `SOURCERPM` (`openssl-3.0.7-27.el9.src.rpm`); modular builds name their
//! stream in `MODULARITYLABEL` (`nodejs:18:8090020231128:a75119d5`). Berkeley DB `Packages`
//! (RHEL and CentOS 7, Amazon Linux 2) is read through [`crate::bdb`], NDB (`Packages.db`,
//! SUSE) through [`crate::ndb`].

use crate::sqlite::{Db, Value};
use crate::{Cataloger, Kind, Package};

/// The rpm cataloger.
pub struct Rpm;

const DIRS: &[&str] = &["var/lib/rpm/", "usr/lib/sysimage/rpm/", "usr/share/rpm/"];

const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const LICENSE: u32 = 1014;
const ARCH: u32 = 1022;
const SOURCERPM: u32 = 1044;
const MODULARITYLABEL: u32 = 5096;

/// The fields of one header the catalog needs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// NAME
    pub name: String,
    /// VERSION
    pub version: String,
    /// RELEASE
    pub release: String,
    /// EPOCH
    pub epoch: Option<u32>,
    /// ARCH
    pub arch: Option<String>,
    /// SOURCERPM
    pub source_rpm: Option<String>,
    /// LICENSE
    pub license: Option<String>,
    /// MODULARITYLABEL
    pub module: Option<String>,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Parses a header blob as the rpm database stores it (no lead, no magic).
pub fn parse_header(b: &[u8]) -> Result<Header, String> {
    let il = be32(b, 0).ok_or("short header")? as usize;
    let dl = be32(b, 4).ok_or("short header")? as usize;
    if il == 0 || il > 100_000 || dl > 256 << 20 {
        return Err(format!("implausible header ({il} entries, {dl} bytes)"));
    }
    let data_start = 8 + il * 16;
    let data = b
        .get(data_start..data_start + dl)
        .ok_or("header data past the blob")?;
    let mut h = Header::default();
    let string = |off: usize| -> Result<String, String> {
        let s = data.get(off..).ok_or("string offset past the data")?;
        let end = s
            .iter()
            .position(|&c| c == 0)
            .ok_or("unterminated string")?;
        Ok(String::from_utf8_lossy(&s[..end]).into_owned())
    };
    for i in 0..il {
        let e = 8 + i * 16;
        let (tag, ty, off, count) = (
            be32(b, e).ok_or("short index")?,
            be32(b, e + 4).ok_or("short index")?,
            be32(b, e + 8).ok_or("short index")? as usize,
            be32(b, e + 12).ok_or("short index")?,
        );
        let text = || -> Result<Option<String>, String> {
            match ty {
                6 | 8 | 9 if count > 0 => Ok(Some(string(off)?)),
                _ => Ok(None),
            }
        };
        match tag {
            NAME => h.name = text()?.unwrap_or_default(),
            VERSION => h.version = text()?.unwrap_or_default(),
            RELEASE => h.release = text()?.unwrap_or_default(),
            EPOCH if ty == 4 && count > 0 => {
                h.epoch = Some(be32(data, off).ok_or("epoch past the data")?);
            }
            ARCH => h.arch = text()?,
            SOURCERPM => h.source_rpm = text()?,
            LICENSE => h.license = text()?,
            MODULARITYLABEL => h.module = text()?.filter(|m| !m.is_empty()),
            _ => {}
        }
    }
    if h.name.is_empty() || h.version.is_empty() {
        return Err("a header without NAME or VERSION".into());
    }
    Ok(h)
}

/// `openssl-3.0.7-27.el9.src.rpm` → (`openssl`, `3.0.7-27.el9`).
pub fn split_source_rpm(s: &str) -> Option<(String, String)> {
    let nvr = s
        .strip_suffix(".src.rpm")
        .or_else(|| s.strip_suffix(".nosrc.rpm"))?;
    let (nv, release) = nvr.rsplit_once('-')?;
    let (name, version) = nv.rsplit_once('-')?;
    (!name.is_empty()).then(|| (name.to_string(), format!("{version}-{release}")))
}

impl Header {
    /// As a package found at `location`: version `epoch:version-release` (epoch left out
    /// when absent), the source package and its version from SOURCERPM, the module stream.
    pub fn package(&self, location: &str) -> Package {
        let evr = |vr: &str| match self.epoch {
            Some(e) => format!("{e}:{vr}"),
            None => vr.to_string(),
        };
        let (source_name, source_version) =
            match self.source_rpm.as_deref().and_then(split_source_rpm) {
                Some((n, v)) => (Some(n), Some(evr(&v))),
                None => (None, None),
            };
        Package {
            kind: Kind::Rpm,
            name: self.name.clone(),
            version: evr(&format!("{}-{}", self.version, self.release)),
            arch: self.arch.clone().filter(|a| !a.is_empty()),
            source_name,
            source_version,
            licenses: self
                .license
                .iter()
                .filter(|l| !l.is_empty())
                .cloned()
                .collect(),
            module: self.module.as_deref().and_then(|m| {
                let mut it = m.split(':');
                Some(format!("{}:{}", it.next()?, it.next()?))
            }),
            location: location.to_string(),
            layer: None,
            repository: None,
        }
    }
}

impl Cataloger for Rpm {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn wants(&self, path: &str) -> bool {
        DIRS.iter().any(|d| {
            path.strip_prefix(d)
                .is_some_and(|n| matches!(n, "rpmdb.sqlite" | "Packages" | "Packages.db"))
        })
    }

    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
        if path.ends_with("/Packages.db") {
            if content.is_empty() {
                return Ok(Vec::new());
            }
            let mut out = Vec::new();
            for (i, blob) in crate::ndb::blobs(content)?.iter().enumerate() {
                let h = parse_header(blob).map_err(|e| format!("package header {}: {e}", i + 1))?;
                if h.name != "gpg-pubkey" {
                    out.push(h.package(path));
                }
            }
            return Ok(out);
        }
        if path.ends_with("/Packages") {
            if content.is_empty() {
                return Ok(Vec::new());
            }
            let mut out = Vec::new();
            // header instance 0 is rpm's own counter, not a package
            for (i, blob) in crate::bdb::values(content, &[0, 0, 0, 0])?
                .iter()
                .enumerate()
            {
                let h = parse_header(blob).map_err(|e| format!("package header {}: {e}", i + 1))?;
                if h.name != "gpg-pubkey" {
                    out.push(h.package(path));
                }
            }
            return Ok(out);
        }
        if content.is_empty() {
            return Ok(Vec::new());
        }
        let db = Db::new(content)?;
        let Some(root) = db.table_root("Packages")? else {
            return Err("no Packages table".into());
        };
        let mut out = Vec::new();
        for (rowid, row) in db.rows(root)? {
            let Some(Value::Blob(blob)) = row.get(1) else {
                continue;
            };
            let h = parse_header(blob).map_err(|e| format!("package header {rowid}: {e}"))?;
            if h.name == "gpg-pubkey" {
                continue;
            }
            out.push(h.package(path));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header blob of (tag, type, value) entries.
    fn blob(entries: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, ty, v) in entries {
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&ty.to_be_bytes());
            index.extend_from_slice(&(data.len() as u32).to_be_bytes());
            index.extend_from_slice(&1u32.to_be_bytes());
            data.extend_from_slice(v);
        }
        let mut b = (entries.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(&(data.len() as u32).to_be_bytes());
        b.extend(index);
        b.extend(data);
        b
    }

    #[test]
    fn headers() {
        let b = blob(&[
            (NAME, 6, b"openssl-libs\0"),
            (VERSION, 6, b"3.0.7\0"),
            (RELEASE, 6, b"27.el9\0"),
            (EPOCH, 4, &1u32.to_be_bytes()),
            (ARCH, 6, b"x86_64\0"),
            (SOURCERPM, 6, b"openssl-3.0.7-27.el9.src.rpm\0"),
            (MODULARITYLABEL, 6, b"nodejs:18:8090020231128:a75119d5\0"),
        ]);
        let p = parse_header(&b)
            .unwrap()
            .package("var/lib/rpm/rpmdb.sqlite");
        assert_eq!(p.version, "1:3.0.7-27.el9");
        assert_eq!(p.source_name.as_deref(), Some("openssl"));
        assert_eq!(p.source_version.as_deref(), Some("1:3.0.7-27.el9"));
        assert_eq!(p.module.as_deref(), Some("nodejs:18"));
        // offsets outside the data are errors, not panics
        let mut bad = b.clone();
        bad[8 + 8..8 + 12].copy_from_slice(&9999u32.to_be_bytes());
        assert!(parse_header(&bad).is_err());
        assert!(parse_header(&[0, 0, 0, 1]).is_err());
        assert_eq!(
            split_source_rpm("openssl-3.0.7-27.el9.src.rpm"),
            Some(("openssl".into(), "3.0.7-27.el9".into()))
        );
    }
}
