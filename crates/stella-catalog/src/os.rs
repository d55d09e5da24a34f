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
    "etc/rocky-release",
    "etc/almalinux-release",
    "etc/oracle-release",
    "etc/fedora-release",
    "etc/openEuler-release",
    "etc/system-release",
    "etc/lsb-release",
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
    /// `rhel` → `redhat:9`, `amzn` 2018.03 → `amazon:1`, `wolfi`…), as the distribution
    /// table keys its release; Debian testing and unstable by their codename.
    pub fn namespace(&self) -> Option<String> {
        let version = self.version_id.as_deref().or(match self.id.as_str() {
            "debian" | "ubuntu" => self.codename.as_deref(),
            _ => None,
        });
        stella_distro::namespace(&self.id, version)
    }
}

/// Parses an os-release file.
pub fn parse_os_release(text: &str) -> Option<OsInfo> {
    let mut info = OsInfo::default();
    let mut version: Option<String> = None;
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
            "VERSION" => version = Some(v),
            "ID_LIKE" => info.id_like = v.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    // openEuler's VERSION_ID drops the LTS and service pack (`VERSION="22.03 (LTS-SP1)"`)
    // that its advisories key by: `22.03-LTS-SP1`, as its openEuler-release names it
    if info.id == "openeuler"
        && let Some((num, rest)) = version.as_deref().and_then(|v| v.split_once('('))
    {
        let tag = rest.trim_end().trim_end_matches(')').trim();
        if !tag.is_empty() {
            info.version_id = Some(format!("{}-{tag}", num.trim()));
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
            // `12.5` → 12; a testing system's `bookworm/sid` names the release it prepares
            version_id: Some(first),
            ..OsInfo::default()
        }),
        // Ubuntu's older release file: `DISTRIB_ID=Ubuntu`, `DISTRIB_RELEASE=18.04`
        "etc/lsb-release" => {
            let mut id = None;
            let mut version = None;
            let mut codename = None;
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    let v = unquote(v.trim());
                    match k.trim() {
                        "DISTRIB_ID" => id = Some(v.to_ascii_lowercase()),
                        "DISTRIB_RELEASE" => version = Some(v),
                        "DISTRIB_CODENAME" => codename = Some(v),
                        _ => {}
                    }
                }
            }
            Some(OsInfo {
                id: id.filter(|i| !i.is_empty())?,
                version_id: version.filter(|v| !v.is_empty()),
                codename: codename.filter(|v| !v.is_empty()),
                ..OsInfo::default()
            })
        }
        "etc/redhat-release"
        | "etc/centos-release"
        | "etc/rocky-release"
        | "etc/almalinux-release"
        | "etc/oracle-release"
        | "etc/fedora-release"
        | "etc/openEuler-release"
        | "etc/system-release"
            if !first.is_empty() =>
        {
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
            } else if lower.starts_with("openeuler") {
                "openeuler"
            } else {
                return None;
            };
            let version = first
                .split_once(" release ")
                .map(|(_, r)| {
                    let mut words = r.split_whitespace();
                    let v = words.next().unwrap_or("").to_string();
                    // `openEuler release 22.03 (LTS-SP1)`: the LTS and service pack key its
                    // advisories
                    match words.next() {
                        Some(tag) if id == "openeuler" && tag.starts_with('(') => {
                            format!("{v}-{}", tag.trim_matches(['(', ')']))
                        }
                        _ => v,
                    }
                })
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

    #[test]
    fn releases_keyed_differently_by_their_advisories() {
        // openEuler's advisories key the LTS and service pack VERSION_ID leaves out
        let oe = parse_os_release(
            "NAME=\"openEuler\"\nVERSION=\"22.03 (LTS-SP1)\"\nID=\"openEuler\"\nVERSION_ID=\"22.03\"\n",
        )
        .unwrap();
        assert_eq!(oe.namespace().as_deref(), Some("openeuler:22.03-lts-sp1"));
        let oe = parse_file("etc/openEuler-release", b"openEuler release 24.03 (LTS)\n").unwrap();
        assert_eq!(oe.namespace().as_deref(), Some("openeuler:24.03-lts"));
        // Amazon Linux 1: an AMI date in os-release, `1` in its advisories
        let al1 =
            parse_os_release("NAME=\"Amazon Linux AMI\"\nID=\"amzn\"\nVERSION_ID=\"2018.03\"\n")
                .unwrap();
        assert_eq!(al1.namespace().as_deref(), Some("amazon:1"));
        let al1 = parse_file("etc/system-release", b"Amazon Linux AMI release 2018.03\n").unwrap();
        assert_eq!(al1.namespace().as_deref(), Some("amazon:1"));
        let al2 = parse_file("etc/system-release", b"Amazon Linux release 2 (Karoo)\n").unwrap();
        assert_eq!(al2.namespace().as_deref(), Some("amazon:2"));
        let trixie = parse_os_release("ID=debian\nVERSION_CODENAME=trixie\n").unwrap();
        assert_eq!(trixie.namespace().as_deref(), Some("debian:13"));
    }
}
