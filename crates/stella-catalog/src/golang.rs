//! Go binaries: the module list Go embeds in every binary it builds (`go version -m`), read
//! from the build-info blob that follows the `\xff Go buildinf:` magic.
//!
//! Traps (after `debug/buildinfo` in Go's standard library): since Go 1.18 the version and
//! module strings follow the 32-byte header inline, each prefixed by a varint length; before
//! that the header holds two *pointers* to Go string headers, which must be translated from
//! virtual addresses to file offsets through the ELF program headers, in the byte order and
//! pointer size the header states; the module text is framed by 16 sentinel bytes on each
//! side; a `=>` line replaces the module before it; binaries built outside a module have no
//! module text; `(devel)` is the main module of a local build, not a version.

use crate::{Cataloger, Kind, Package};

/// The Go binary cataloger.
pub struct GoBinary;

const MAGIC: &[u8] = b"\xff Go buildinf:";

fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &c) in b.iter().enumerate().take(10) {
        v |= u64::from(c & 0x7f) << (7 * i);
        if c & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn inline_string(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (n, k) = uvarint(b)?;
    let n = usize::try_from(n).ok()?;
    let s = b.get(k..k.checked_add(n)?)?;
    Some((s, &b[k + n..]))
}

/// ELF virtual address → file offset, through the PT_LOAD segments.
struct Elf<'a> {
    bytes: &'a [u8],
    loads: Vec<(u64, u64, u64)>, // (vaddr, filesz, offset)
}

impl<'a> Elf<'a> {
    fn parse(b: &'a [u8]) -> Option<Elf<'a>> {
        if b.get(..4)? != b"\x7fELF" {
            return None;
        }
        let is64 = *b.get(4)? == 2;
        let le = *b.get(5)? == 1;
        let rd = |at: usize, n: usize| -> Option<u64> {
            let s = b.get(at..at + n)?;
            Some(if le {
                s.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x))
            } else {
                s.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x))
            })
        };
        let (phoff, phentsize, phnum) = if is64 {
            (rd(32, 8)?, rd(54, 2)?, rd(56, 2)?)
        } else {
            (rd(28, 4)?, rd(42, 2)?, rd(44, 2)?)
        };
        let mut loads = Vec::new();
        for i in 0..phnum.min(256) {
            let p = usize::try_from(phoff + i * phentsize).ok()?;
            if rd(p, 4)? != 1 {
                continue; // not PT_LOAD
            }
            let (off, vaddr, filesz) = if is64 {
                (rd(p + 8, 8)?, rd(p + 16, 8)?, rd(p + 32, 8)?)
            } else {
                (rd(p + 4, 4)?, rd(p + 8, 4)?, rd(p + 16, 4)?)
            };
            loads.push((vaddr, filesz, off));
        }
        Some(Elf { bytes: b, loads })
    }

    fn read(&self, addr: u64, n: u64) -> Option<&'a [u8]> {
        let end = addr.checked_add(n)?;
        let (vaddr, _, off) = self
            .loads
            .iter()
            .find(|(v, sz, _)| addr >= *v && v.checked_add(*sz).is_some_and(|e| end <= e))
            .copied()?;
        let start = usize::try_from(off + (addr - vaddr)).ok()?;
        self.bytes
            .get(start..start.checked_add(usize::try_from(n).ok()?)?)
    }
}

/// The Go version and module text of a binary, when it has build info.
pub fn build_info(b: &[u8]) -> Option<(String, String)> {
    // the blob is 16-byte aligned in the data segment
    let mut at = None;
    let mut from = 0;
    while let Some(i) = find(&b[from..], MAGIC) {
        let pos = from + i;
        if pos % 16 == 0 {
            at = Some(pos);
            break;
        }
        from = pos + 1;
    }
    let data = b.get(at?..)?;
    if data.len() < 32 {
        return None;
    }
    let ptr = usize::from(data[14]);
    let flags = data[15];
    let (vers, module) = if flags & 2 != 0 {
        let (v, rest) = inline_string(&data[32..])?;
        let (m, _) = inline_string(rest)?;
        (v.to_vec(), m.to_vec())
    } else {
        if ptr != 4 && ptr != 8 {
            return None;
        }
        let elf = Elf::parse(b)?;
        let big = flags & 1 != 0;
        let read_ptr = |s: &[u8]| -> Option<u64> {
            let s = s.get(..ptr)?;
            Some(if big {
                s.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x))
            } else {
                s.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x))
            })
        };
        let string = |addr: u64| -> Option<Vec<u8>> {
            let hdr = elf.read(addr, 2 * ptr as u64)?;
            let (p, n) = (read_ptr(hdr)?, read_ptr(&hdr[ptr..])?);
            if n > 64 << 20 {
                return None;
            }
            Some(elf.read(p, n)?.to_vec())
        };
        (
            string(read_ptr(data.get(16..)?)?)?,
            string(read_ptr(data.get(16 + ptr..)?)?).unwrap_or_default(),
        )
    };
    let module = if module.len() >= 33 && module[module.len() - 17] == b'\n' {
        module[16..module.len() - 16].to_vec()
    } else {
        Vec::new()
    };
    Some((
        String::from_utf8_lossy(&vers).into_owned(),
        String::from_utf8_lossy(&module).into_owned(),
    ))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..].iter().position(|&c| c == first) {
            None => return None,
            Some(k) => {
                i += k;
                if hay.get(i..i + needle.len()) == Some(needle) {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

/// `go1.21.5` → `1.21.5`; `go1.22rc1` stays as written minus `go`.
fn go_version(v: &str) -> String {
    v.trim().strip_prefix("go").unwrap_or(v.trim()).to_string()
}

/// The packages a binary's build info names: the standard library at the toolchain's
/// version, the main module (unless a `(devel)` build), and every dependency (replacements
/// applied).
pub fn packages(location: &str, vers: &str, module: &str) -> Vec<Package> {
    let pkg = |name: &str, version: &str| Package {
        kind: Kind::Go,
        name: name.to_string(),
        version: version.to_string(),
        arch: None,
        source_name: None,
        source_version: None,
        module: None,
        licenses: Vec::new(),
        location: location.to_string(),
        layer: None,
        repository: None,
    };
    let mut out = Vec::new();
    // toolchain versions may carry experiments (`go1.21.5 X:boringcrypto`)
    let v = vers.split_whitespace().next().unwrap_or("");
    if v.starts_with("go") {
        out.push(pkg("stdlib", &go_version(v)));
    }
    let ldflags = module
        .lines()
        .find_map(|l| l.strip_prefix("build\t-ldflags="))
        .unwrap_or("");
    for line in module.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["mod", path, version, ..] => {
                let v = match *version {
                    // a local build: the version its makers stamped in with `-X …version=`
                    "(devel)" | "" => ldflags_version(ldflags),
                    v => Some(v.to_string()),
                };
                if let Some(v) = v {
                    out.push(pkg(path, &v));
                }
            }
            ["dep", path, version, ..] => out.push(pkg(path, version)),
            ["=>", path, version, ..] => {
                // replaces the module just before (a local directory has no version)
                if let Some(last) = out.last_mut().filter(|p| p.name != "stdlib") {
                    if version.is_empty() {
                        out.pop();
                    } else {
                        last.name = path.to_string();
                        last.version = version.to_string();
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The version a build stamped with `-X <pkg>.version=1.2.3` (or `Version`, `gitVersion`),
/// as a module version (`v1.2.3`); only values that look like versions count.
fn ldflags_version(ldflags: &str) -> Option<String> {
    let unquoted = ldflags.replace(['\'', '"'], " ");
    let mut words = unquoted.split_whitespace();
    let mut found = None;
    while let Some(w) = words.next() {
        let flag = if w == "-X" {
            words.next()
        } else {
            w.strip_prefix("-X=")
        };
        let Some((key, value)) = flag.and_then(|f| f.split_once('=')) else {
            continue;
        };
        let name = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
        if !matches!(name.as_str(), "version" | "gitversion" | "buildversion") {
            continue;
        }
        let v = value.trim().trim_start_matches('v');
        let looks = v.split('.').count() >= 2
            && v.split(['.', '-', '+'])
                .next()
                .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()));
        if looks {
            found = Some(format!("v{v}"));
            if key.starts_with("main.") {
                break;
            }
        }
    }
    found
}

impl Cataloger for GoBinary {
    fn name(&self) -> &'static str {
        "go-binary"
    }

    fn wants(&self, _path: &str) -> bool {
        false
    }

    fn wants_file(&self, path: &str, mode: u32, size: u64) -> bool {
        mode & 0o111 != 0 && (1024..=512 << 20).contains(&size) && !path.ends_with(".so")
    }

    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
        if !content.starts_with(b"\x7fELF") {
            return Ok(Vec::new());
        }
        Ok(match build_info(content) {
            Some((vers, module)) => packages(path, &vers, &module),
            None => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentinel(text: &str) -> Vec<u8> {
        let mut m = vec![0x30u8; 16];
        m.extend_from_slice(text.as_bytes());
        m.extend_from_slice(&[0x31u8; 16]);
        m
    }

    #[test]
    fn inline_build_info() {
        let module = sentinel(
            "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/net\tv0.17.0\th1:x\ndep\tgithub.com/a/b\tv1.0.0\th1:y\n=>\tgithub.com/fork/b\tv1.0.1\th1:z\ndep\tgithub.com/local/c\tv0.0.0\n=>\t../c\t\t\nbuild\tGOOS=linux\n",
        );
        let mut blob = [0u8; 64];
        blob[..14].copy_from_slice(MAGIC);
        blob[14] = 8;
        blob[15] = 2;
        let mut data = blob[..32].to_vec();
        let v = b"go1.21.5";
        data.push(v.len() as u8);
        data.extend_from_slice(v);
        // a two-byte varint length
        data.push(((module.len() & 0x7f) | 0x80) as u8);
        data.push((module.len() >> 7) as u8);
        data.extend_from_slice(&module);
        let (vers, m) = build_info(&data).unwrap();
        let p = packages("usr/bin/app", &vers, &m);
        let got: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("stdlib", "1.21.5"),
                ("golang.org/x/net", "v0.17.0"),
                ("github.com/fork/b", "v1.0.1"),
            ]
        );
        assert!(build_info(b"no magic here").is_none());
        assert_eq!(
            ldflags_version(
                "-w -s -extldflags '-static' -X main.version=1.18.1 -X main.gitCommit=5e16e50"
            ),
            Some("v1.18.1".into())
        );
        assert_eq!(ldflags_version("-X main.version=dev"), None);
    }

    #[test]
    fn pointer_build_info_in_an_elf() {
        // ELF64 LE with one PT_LOAD mapping file offset 0 at vaddr 0x400000
        let mut f = vec![0u8; 0x400];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        f[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        f[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        f[64..68].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        f[72..80].copy_from_slice(&0u64.to_le_bytes()); // p_offset
        f[80..88].copy_from_slice(&0x40_0000u64.to_le_bytes()); // p_vaddr
        f[96..104].copy_from_slice(&0x400u64.to_le_bytes()); // p_filesz
        let base = 0x40_0000u64;
        // strings at 0x300 (version) and 0x320 (module), headers at 0x200 and 0x210
        let v = b"go1.16.15";
        f[0x300..0x300 + v.len()].copy_from_slice(v);
        let m = sentinel("path\tx\nmod\tx\tv1.2.3\t\n");
        f[0x320..0x320 + m.len()].copy_from_slice(&m);
        f[0x200..0x208].copy_from_slice(&(base + 0x300).to_le_bytes());
        f[0x208..0x210].copy_from_slice(&(v.len() as u64).to_le_bytes());
        f[0x210..0x218].copy_from_slice(&(base + 0x320).to_le_bytes());
        f[0x218..0x220].copy_from_slice(&(m.len() as u64).to_le_bytes());
        // the blob at 0x100 (16-aligned)
        f[0x100..0x10e].copy_from_slice(MAGIC);
        f[0x10e] = 8;
        f[0x10f] = 0;
        f[0x110..0x118].copy_from_slice(&(base + 0x200).to_le_bytes());
        f[0x118..0x120].copy_from_slice(&(base + 0x210).to_le_bytes());
        let p = GoBinary.parse("bin/x", &f).unwrap();
        let got: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, [("stdlib", "1.16.15"), ("x", "v1.2.3")]);
        // pointers outside every segment give nothing, not a panic
        f[0x110..0x118].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(GoBinary.parse("bin/x", &f).unwrap().is_empty());
    }
}
