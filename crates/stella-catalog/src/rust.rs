//! Rust binaries built with `cargo auditable`: the dependency list it embeds as zlib-compressed
//! JSON in the ELF section `.dep-v0`.
//!
//! Traps: the section is found by name through the section header string table; the JSON is
//! compressed and could be a bomb, so inflation is bounded; the crates of the workspace itself
//! have `source: local`, published ones `crates.io` or a registry or git URL.

use std::io::Read;

use serde::Deserialize;

use crate::{Cataloger, Kind, Package};

/// The cargo-auditable cataloger.
pub struct Auditable;

#[derive(Deserialize)]
struct Info {
    #[serde(default)]
    packages: Vec<Dep>,
}

#[derive(Deserialize)]
struct Dep {
    name: String,
    version: String,
    // `crates.io`, `git`, `local`, `registry`, `builtin`
    #[serde(default)]
    source: Option<String>,
}

/// The bytes of the ELF section called `name`.
pub fn elf_section<'a>(b: &'a [u8], name: &str) -> Option<&'a [u8]> {
    if b.get(..4)? != b"\x7fELF" {
        return None;
    }
    let is64 = *b.get(4)? == 2;
    let le = *b.get(5)? == 1;
    let rd = |at: usize, n: usize| -> Option<u64> {
        let s = b.get(at..at.checked_add(n)?)?;
        Some(if le {
            s.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x))
        } else {
            s.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x))
        })
    };
    let (shoff, shentsize, shnum, shstrndx) = if is64 {
        (rd(40, 8)?, rd(58, 2)?, rd(60, 2)?, rd(62, 2)?)
    } else {
        (rd(32, 4)?, rd(46, 2)?, rd(48, 2)?, rd(50, 2)?)
    };
    let sh = |i: u64| -> Option<(u64, u64, u64)> {
        let at = usize::try_from(shoff.checked_add(i.checked_mul(shentsize)?)?).ok()?;
        Some(if is64 {
            (rd(at, 4)?, rd(at + 24, 8)?, rd(at + 32, 8)?)
        } else {
            (rd(at, 4)?, rd(at + 16, 4)?, rd(at + 20, 4)?)
        })
    };
    let (_, str_off, str_size) = sh(shstrndx)?;
    let strtab = b.get(
        usize::try_from(str_off).ok()?..usize::try_from(str_off.checked_add(str_size)?).ok()?,
    )?;
    for i in 0..shnum.min(4096) {
        let (nm, off, size) = sh(i)?;
        let n = strtab.get(usize::try_from(nm).ok()?..)?;
        let end = n.iter().position(|&c| c == 0)?;
        if &n[..end] == name.as_bytes() {
            return b
                .get(usize::try_from(off).ok()?..usize::try_from(off.checked_add(size)?).ok()?);
        }
    }
    None
}

impl Cataloger for Auditable {
    fn name(&self) -> &'static str {
        "cargo-auditable"
    }

    fn wants(&self, _path: &str) -> bool {
        false
    }

    fn wants_file(&self, path: &str, mode: u32, size: u64) -> bool {
        crate::golang::GoBinary.wants_file(path, mode, size)
    }

    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
        let Some(sec) = elf_section(content, ".dep-v0") else {
            return Ok(Vec::new());
        };
        let mut json = Vec::new();
        flate2::read::ZlibDecoder::new(sec)
            .take(64 << 20)
            .read_to_end(&mut json)
            .map_err(|e| format!(".dep-v0 does not inflate: {e}"))?;
        let info: Info = serde_json::from_slice(&json)
            .map_err(|e| format!(".dep-v0 is not the auditable JSON: {e}"))?;
        Ok(info
            .packages
            .into_iter()
            .map(|d| Package {
                kind: Kind::Cargo,
                name: d.name,
                version: d.version,
                arch: None,
                source_name: None,
                source_version: None,
                module: None,
                licenses: Vec::new(),
                location: path.to_string(),
                layer: None,
                repository: match d.source.as_deref() {
                    None | Some("crates.io") => None,
                    Some("local") => Some("path".into()),
                    Some(other) => Some(other.to_string()),
                },
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// An ELF64 LE file with sections: null, `.shstrtab`, and `name` holding `data`.
    fn elf_with(name: &str, data: &[u8]) -> Vec<u8> {
        let mut shstr = b"\0.shstrtab\0".to_vec();
        let name_off = shstr.len() as u32;
        shstr.extend_from_slice(name.as_bytes());
        shstr.push(0);
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        let str_off = f.len() as u64;
        f.extend_from_slice(&shstr);
        let data_off = f.len() as u64;
        f.extend_from_slice(data);
        let shoff = f.len() as u64;
        let sh = |name: u32, off: u64, size: u64| {
            let mut h = vec![0u8; 64];
            h[..4].copy_from_slice(&name.to_le_bytes());
            h[24..32].copy_from_slice(&off.to_le_bytes());
            h[32..40].copy_from_slice(&size.to_le_bytes());
            h
        };
        f.extend(sh(0, 0, 0));
        f.extend(sh(1, str_off, shstr.len() as u64));
        f.extend(sh(name_off, data_off, data.len() as u64));
        f[40..48].copy_from_slice(&shoff.to_le_bytes());
        f[58..60].copy_from_slice(&64u16.to_le_bytes());
        f[60..62].copy_from_slice(&3u16.to_le_bytes());
        f[62..64].copy_from_slice(&1u16.to_le_bytes());
        f
    }

    #[test]
    fn auditable_section() {
        let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local"},{"name":"serde","version":"1.0.193","source":"crates.io","dependencies":[]}]}"#;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(json).unwrap_or_default();
        let bin = elf_with(".dep-v0", &z.finish().unwrap_or_default());
        let p = Auditable.parse("usr/bin/app", &bin).unwrap_or_default();
        let got: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, [("app", "0.1.0"), ("serde", "1.0.193")]);
        assert!(elf_section(&bin, ".missing").is_none());
        assert!(
            Auditable
                .parse("x", b"\x7fELF")
                .unwrap_or_default()
                .is_empty()
        );
    }
}
