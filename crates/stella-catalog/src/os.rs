//! Which operating system an image is: `/etc/os-release` (or `/usr/lib/os-release`, which
//! Debian links it to), then the older release files (`alpine-release`, `debian_version`,
//! `redhat-release`…).
//!
//! Traps: os-release values may be quoted with `"` or `'` and use shell escapes; Debian
//! testing/sid have no `VERSION_ID`; on Alpine `VERSION_ID` is the full version (`3.10.4`),
//! while namespaces use the major.minor release; distroless Debian images carry an os-release
//! too (`PRETTY_NAME="Distroless"`).

use serde::{Deserialize, Serialize};

/// The files this module reads, most authoritative first.
pub const FILES: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "etc/alpine-release",
    "etc/debian_version",
    "etc/redhat-release",
    "etc/centos-release",
    "etc/system-release",
];

/// An operating system as its release files describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OsInfo {
    /// `ID` (`debian`, `alpine`, `rhel`, `ubuntu`…).
    pub id: String,
    /// `VERSION_ID` (`12`, `3.10.4`, `9.3`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// `PRETTY_NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    /// `VERSION_CODENAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    /// `ID_LIKE`, split.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
}

impl OsInfo {
    /// The vulnerability-DB namespace of this OS (`debian:12`, `alpine:3.10`, `ubuntu:22.04`,
    /// `rhel` → `redhat:9`, `opensuse-leap:15.2`, `wolfi`…): the major release for the RPM
    /// and Debian families, major.minor for Alpine and the SUSE family, the id alone for
    /// rolling distributions, the whole `VERSION_ID` otherwise.
    pub fn namespace(&self) -> Option<String> {
        let id = self.id.as_str();
        if matches!(
            id,
            "wolfi"
                | "chainguard"
                | "minimos"
                | "arch"
                | "echo"
                | "bottlerocket"
                | "opensuse-tumbleweed"
        ) {
            return Some(id.to_string());
        }
        let Some(v) = self.version_id.as_deref() else {
            // Debian testing and unstable name no version, only a codename
            return match (id, self.codename.as_deref()) {
                ("debian", Some("trixie")) => Some("debian:13".into()),
                ("debian", Some("forky")) => Some("debian:14".into()),
                ("debian", Some("sid")) => Some("debian:unstable".into()),
                _ => None,
            };
        };
        let major = v.split('.').next().unwrap_or(v);
        let major_minor = {
            let mut it = v.split('.');
            match (it.next(), it.next()) {
                (Some(a), Some(b)) => format!("{a}.{b}"),
                _ => v.to_string(),
            }
        };
        Some(match id {
            "alpine" if v.contains("_alpha") => "alpine:edge".to_string(),
            "alpine" => format!("alpine:{major_minor}"),
            "debian" => format!("debian:{major}"),
            "rhel" | "redhat" => format!("redhat:{major}"),
            "almalinux" => format!("almalinux:{major}"),
            "rocky" => format!("rocky:{major}"),
            "ol" | "oracle" => format!("oracle:{major}"),
            "amzn" => format!("amazon:{major}"),
            "centos" | "fedora" => format!("{id}:{major}"),
            "opensuse-leap" | "opensuse" => format!("opensuse-leap:{major_minor}"),
            "sle-micro" | "sle-micro-rancher" => format!("sle-micro:{major_minor}"),
            "sl-micro" => format!("sl-micro:{major_minor}"),
            id => format!("{id}:{v}"),
        })
    }
}

/// Parses an os-release file.
pub fn parse_os_release(text: &str) -> Option<OsInfo> {
    let mut info = OsInfo::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = unquote(v.trim());
        match k.trim() {
            "ID" => info.id = v.to_ascii_lowercase(),
            "VERSION_ID" => info.version_id = Some(v).filter(|v| !v.is_empty()),
            "PRETTY_NAME" => info.pretty_name = Some(v).filter(|v| !v.is_empty()),
            "VERSION_CODENAME" => info.codename = Some(v).filter(|v| !v.is_empty()),
            "ID_LIKE" => info.id_like = v.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    (!info.id.is_empty()).then_some(info)
}

fn unquote(v: &str) -> String {
    let inner = if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        &v[1..v.len() - 1]
    } else {
        v
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What one release file says, when it says anything.
pub fn parse_file(path: &str, content: &[u8]) -> Option<OsInfo> {
    let text = String::from_utf8_lossy(content);
    let first = text.lines().next().unwrap_or("").trim().to_string();
    match path {
        "etc/os-release" | "usr/lib/os-release" => parse_os_release(&text),
        "etc/alpine-release" if !first.is_empty() => Some(OsInfo {
            id: "alpine".into(),
            version_id: Some(first),
            ..OsInfo::default()
        }),
        "etc/debian_version" if !first.is_empty() => Some(OsInfo {
            id: "debian".into(),
            // `12.5` → 12; `bookworm/sid` has no number
            version_id: first
                .split('.')
                .next()
                .filter(|m| m.bytes().all(|b| b.is_ascii_digit()))
                .map(|_| first.clone()),
            ..OsInfo::default()
        }),
        "etc/redhat-release" | "etc/centos-release" | "etc/system-release" if !first.is_empty() => {
            // `Red Hat Enterprise Linux release 9.3 (Plow)`, `CentOS Linux release 7.9.2009 (Core)`
            let lower = first.to_ascii_lowercase();
            let id = if lower.starts_with("red hat") {
                "rhel"
            } else if lower.starts_with("centos") {
                "centos"
            } else if lower.starts_with("rocky") {
                "rocky"
            } else if lower.starts_with("almalinux") {
                "almalinux"
            } else if lower.starts_with("oracle") {
                "ol"
            } else if lower.starts_with("amazon") {
                "amzn"
            } else if lower.starts_with("fedora") {
                "fedora"
            } else {
                return None;
            };
            let version = first
                .split_once(" release ")
                .map(|(_, r)| r.split_whitespace().next().unwrap_or("").to_string())
                .filter(|v| !v.is_empty());
            Some(OsInfo {
                id: id.into(),
                version_id: version,
                pretty_name: Some(first),
                ..OsInfo::default()
            })
        }
        _ => None,
    }
}

/// The OS an image is, from the release files it has (path → what it says): the first of
/// [`FILES`] that says something.
pub fn detect<'a>(found: impl Iterator<Item = (&'a str, &'a OsInfo)>) -> Option<OsInfo> {
    let found: Vec<(&str, &OsInfo)> = found.collect();
    FILES.iter().find_map(|f| {
        found
            .iter()
            .find(|(p, _)| p == f)
            .map(|(_, i)| (*i).clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release() {
        let deb = parse_os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        )
        .unwrap();
        assert_eq!(deb.id, "debian");
        assert_eq!(deb.version_id.as_deref(), Some("12"));
        assert_eq!(deb.namespace().as_deref(), Some("debian:12"));
        let alp =
            parse_os_release("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.10.4\n").unwrap();
        assert_eq!(alp.namespace().as_deref(), Some("alpine:3.10"));
        let rh = parse_file(
            "etc/redhat-release",
            b"Red Hat Enterprise Linux release 9.3 (Plow)\n",
        )
        .unwrap();
        assert_eq!(rh.namespace().as_deref(), Some("redhat:9"));
        assert_eq!(unquote(r#""a \"b\" c""#), "a \"b\" c");
        let sid =
            parse_os_release("ID=debian\nPRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\n").unwrap();
        assert_eq!(sid.namespace(), None);
    }
}
