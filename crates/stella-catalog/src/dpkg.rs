//! Debian's package database: `var/lib/dpkg/status` and, in distroless images, one file per
//! package under `var/lib/dpkg/status.d/`.
//!
//! Traps: paragraphs are RFC 822-like with continuation lines (leading space or tab); only
//! packages whose `Status` says their files are on disk count (`config-files` and
//! `not-installed` leave nothing to be vulnerable); `Source: glibc (2.36-9+deb12u4)` names
//! the source package *and* its version when the binary's version differs (binNMUs), and
//! without a version the source version is the binary's; `status.d/*.md5sums` are not
//! package records.

use crate::{Cataloger, Kind, Package};

/// The dpkg cataloger.
pub struct Dpkg;

impl Cataloger for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn wants(&self, path: &str) -> bool {
        path == "var/lib/dpkg/status"
            || path
                .strip_prefix("var/lib/dpkg/status.d/")
                .is_some_and(|n| !n.is_empty() && !n.contains('/') && !n.ends_with(".md5sums"))
    }

    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
        let text = String::from_utf8_lossy(content);
        let mut out = Vec::new();
        for para in paragraphs(&text) {
            let get = |k: &str| {
                para.iter()
                    .find(|(f, _)| f.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v.trim())
            };
            let (Some(name), Some(version)) = (get("Package"), get("Version")) else {
                continue;
            };
            if let Some(status) = get("Status") {
                let state = status.split_whitespace().last().unwrap_or("");
                if matches!(state, "not-installed" | "config-files") {
                    continue;
                }
            }
            let (source_name, source_version) = match get("Source") {
                Some(src) if !src.is_empty() => match src.split_once('(') {
                    Some((n, v)) => (
                        Some(n.trim().to_string()),
                        Some(v.trim_end_matches(')').trim().to_string()),
                    ),
                    None => (Some(src.to_string()), Some(version.to_string())),
                },
                _ => (None, None),
            };
            out.push(Package {
                kind: Kind::Deb,
                name: name.to_string(),
                version: version.to_string(),
                arch: get("Architecture").map(str::to_string),
                source_name,
                source_version,
                licenses: Vec::new(),
                module: None,
                location: path.to_string(),
                layer: None,
                repository: None,
            });
        }
        Ok(out)
    }
}

/// Splits control-file text into paragraphs of (field, value) with continuation lines joined.
pub fn paragraphs(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, v)) = cur.last_mut() {
                v.push('\n');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The Debian copyright file of a package (`usr/share/doc/<package>/copyright`), by path.
pub fn copyright_package(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("usr/share/doc/")?;
    let (pkg, file) = rest.split_once('/')?;
    (file == "copyright" && !pkg.is_empty()).then_some(pkg)
}

/// The licenses a copyright file names: the `License:` short names of a machine-readable
/// (DEP-5) file, or the `/usr/share/common-licenses/NAME` files a free-form one points to.
pub fn copyright_licenses(content: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(content);
    let mut out: Vec<String> = Vec::new();
    let mut push = |l: &str| {
        let l = l.trim().trim_end_matches(['.', ',', ';']);
        if !l.is_empty() && l.len() < 120 && !out.iter().any(|x| x == l) {
            out.push(l.to_string());
        }
    };
    let dep5 = text.starts_with("Format:");
    for line in text.lines() {
        if dep5 {
            if let Some(v) = line.strip_prefix("License:") {
                push(v);
            }
        } else if let Some(i) = line.find("/usr/share/common-licenses/") {
            let rest = &line[i + "/usr/share/common-licenses/".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'))
                .collect();
            push(name.trim_end_matches('.'));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copyright_files() {
        assert_eq!(
            copyright_package("usr/share/doc/libc6/copyright"),
            Some("libc6")
        );
        assert_eq!(copyright_package("usr/share/doc/libc6/changelog.gz"), None);
        let dep5 = b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: x\nLicense: GPL-2+\n\nFiles: a/*\nLicense: BSD-3-clause\n\nLicense: GPL-2+\n This program is free software\n";
        assert_eq!(copyright_licenses(dep5), ["GPL-2+", "BSD-3-clause"]);
        let free = b"On Debian systems the full text is in /usr/share/common-licenses/GPL-3.\n";
        assert_eq!(copyright_licenses(free), ["GPL-3"]);
    }

    #[test]
    fn status_file() {
        let s = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\nDescription: GNU C Library\n shared libraries\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nSource: bash (5.2.15-2)\nArchitecture: amd64\n";
        let p = Dpkg.parse("var/lib/dpkg/status", s.as_bytes()).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].source_name.as_deref(), Some("glibc"));
        assert_eq!(p[0].source_version.as_deref(), Some("2.36-9+deb12u4"));
        assert_eq!(p[1].source_version.as_deref(), Some("5.2.15-2"));
        assert!(Dpkg.wants("var/lib/dpkg/status.d/base-files"));
        assert!(!Dpkg.wants("var/lib/dpkg/status.d/base-files.md5sums"));
        assert!(!Dpkg.wants("var/lib/dpkg/status-old"));
    }
}
