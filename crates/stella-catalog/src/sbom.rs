//! Composed packages as an SBOM model (any of stella-sbom's writers can then write it), with
//! Package URLs as the ecosystems' purl types define them.
//!
//! Traps: distro purls carry the distribution (`pkg:deb/debian/libc6@2.36-9?arch=amd64&
//! distro=debian-12`) and, when the source package differs, `upstream=`; PyPI names are
//! lower-cased with runs of `-_.` as `-`; npm scopes are the purl namespace; the same package
//! found at two locations is one component with two locations.

use std::collections::BTreeMap;

use stella_sbom::{Component, ComponentKind, Location, Metadata, Purl, Sbom};

use crate::{Composed, Kind, OsInfo, Package};

fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The Package URL of a package on `os`.
pub fn purl(p: &Package, os: Option<&OsInfo>) -> Option<Purl> {
    let distro = os.map(|o| match &o.version_id {
        Some(v) => format!("{}-{v}", o.id),
        None => o.id.clone(),
    });
    let purl = match p.kind {
        Kind::Rpm => {
            let ns = match os.map(|o| o.id.as_str()) {
                Some("rhel") | None => "redhat",
                Some(id) => id,
            };
            // the epoch is a qualifier; the version is version-release
            let (epoch, vr) = match p.version.split_once(':') {
                Some((e, vr)) if e.bytes().all(|b| b.is_ascii_digit()) => (Some(e), vr),
                _ => (None, p.version.as_str()),
            };
            let mut u = Purl::new("rpm", Some(ns), &p.name, Some(vr)).ok()?;
            if let Some(a) = &p.arch {
                u = u.with_qualifier("arch", a);
            }
            if let Some(e) = epoch {
                u = u.with_qualifier("epoch", e);
            }
            if let (Some(src), Some(sv)) = (&p.source_name, &p.source_version) {
                let sv = sv.split_once(':').map(|(_, v)| v).unwrap_or(sv);
                u = u.with_qualifier("upstream", &format!("{src}-{sv}.src.rpm"));
            }
            if let Some(d) = &distro {
                u = u.with_qualifier("distro", d);
            }
            u
        }
        Kind::Apk | Kind::Deb => {
            let ns = os.map(|o| o.id.as_str()).unwrap_or(match p.kind {
                Kind::Apk => "alpine",
                Kind::Deb => "debian",
                _ => "redhat",
            });
            let mut u = Purl::new(p.kind.purl_type(), Some(ns), &p.name, Some(&p.version)).ok()?;
            if let Some(a) = &p.arch {
                u = u.with_qualifier("arch", a);
            }
            if let Some(src) = p.source_name.as_deref().filter(|s| *s != p.name) {
                let upstream = match p.source_version.as_deref() {
                    Some(v) if v != p.version && p.kind == Kind::Deb => format!("{src}@{v}"),
                    _ => src.to_string(),
                };
                u = u.with_qualifier("upstream", &upstream);
            }
            if let Some(d) = &distro {
                u = u.with_qualifier("distro", d);
            }
            u
        }
        Kind::Python => Purl::new("pypi", None, &pep503(&p.name), Some(&p.version)).ok()?,
        Kind::Maven => match p.name.split_once(':') {
            Some((g, a)) => Purl::new("maven", Some(g), a, Some(&p.version)).ok()?,
            None => Purl::new("maven", None, &p.name, Some(&p.version)).ok()?,
        },
        Kind::Cargo => {
            let u = Purl::new("cargo", None, &p.name, Some(&p.version)).ok()?;
            // where it comes from when it is not crates.io: advisories for crates.io's crate of
            // that name do not apply
            match p.repository.as_deref() {
                None => u,
                Some("path") => u.with_qualifier("download_url", "file://."),
                Some(git) if git.starts_with("git+") => {
                    let (url, commit) = git.split_once('#').unwrap_or((git, ""));
                    let url = url.split('?').next().unwrap_or(url);
                    if commit.is_empty() {
                        u.with_qualifier("vcs_url", url)
                    } else {
                        u.with_qualifier("vcs_url", &format!("{url}@{commit}"))
                    }
                }
                Some(other) => u.with_qualifier(
                    "repository_url",
                    other
                        .strip_prefix("registry+")
                        .or_else(|| other.strip_prefix("sparse+"))
                        .unwrap_or(other),
                ),
            }
        }
        Kind::Gem | Kind::Nuget => {
            Purl::new(p.kind.purl_type(), None, &p.name, Some(&p.version)).ok()?
        }
        Kind::Composer => match p.name.split_once('/') {
            Some((vendor, name)) => {
                Purl::new("composer", Some(vendor), name, Some(&p.version)).ok()?
            }
            None => Purl::new("composer", None, &p.name, Some(&p.version)).ok()?,
        },
        Kind::Go => match p.name.rsplit_once('/') {
            Some((ns, name)) => Purl::new("golang", Some(ns), name, Some(&p.version)).ok()?,
            None => Purl::new("golang", None, &p.name, Some(&p.version)).ok()?,
        },
        Kind::Npm => match p.name.split_once('/') {
            Some((scope, name)) if scope.starts_with('@') => {
                Purl::new("npm", Some(scope), name, Some(&p.version)).ok()?
            }
            _ => Purl::new("npm", None, &p.name, Some(&p.version)).ok()?,
        },
    };
    Some(purl)
}

/// The SBOM of composed packages; `target` names the image.
pub fn to_sbom(c: &Composed, target: &str, tool_version: &str) -> Sbom {
    let os = c.os.as_ref();
    // one component per (purl or kind/name/version), with every location it was found at
    let mut by_key: BTreeMap<String, Component> = BTreeMap::new();
    for p in &c.packages {
        let u = purl(p, os);
        let key = u
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_else(|| format!("{:?}/{}@{}", p.kind, p.name, p.version));
        let (group, name) = match (p.kind, p.name.split_once(':')) {
            (Kind::Maven, Some((g, a))) => (Some(g.to_string()), a.to_string()),
            _ => (None, p.name.clone()),
        };
        let comp = by_key.entry(key.clone()).or_insert_with(|| Component {
            id: key.clone(),
            kind: ComponentKind::Library,
            group,
            name,
            version: Some(p.version.clone()),
            purl: u.clone(),
            licenses: p.licenses.clone(),
            source_name: p.source_name.clone(),
            source_version: p.source_version.clone(),
            ..Component::default()
        });
        comp.locations.insert(Location {
            path: format!("/{}", p.location),
            layer: p.layer.clone(),
        });
    }
    let mut components: Vec<Component> = Vec::with_capacity(by_key.len() + 1);
    if let Some(o) = os {
        components.push(Component {
            id: format!("os:{}", o.id),
            kind: ComponentKind::OperatingSystem,
            name: o.id.clone(),
            version: o.version_id.clone(),
            ..Component::default()
        });
    }
    components.extend(by_key.into_values());
    Sbom {
        metadata: Metadata {
            tools: vec![format!("stella {tool_version}")],
            target: Some(target.to_string()),
            os: os.map(|o| match &o.version_id {
                Some(v) => format!("{} {v}", o.id),
                None => o.id.clone(),
            }),
            ..Metadata::default()
        },
        components,
        dependencies: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        let deb = OsInfo {
            id: "debian".into(),
            version_id: Some("12".into()),
            ..OsInfo::default()
        };
        let p = Package {
            kind: Kind::Deb,
            name: "libc6".into(),
            version: "2.36-9+deb12u4".into(),
            arch: Some("amd64".into()),
            source_name: Some("glibc".into()),
            source_version: Some("2.36-9+deb12u4".into()),
            module: None,
            licenses: vec![],
            location: "var/lib/dpkg/status".into(),
            layer: None,
            repository: None,
        };
        assert_eq!(
            purl(&p, Some(&deb))
                .map(|u| u.to_string())
                .unwrap_or_default(),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"
        );
        let py = Package {
            kind: Kind::Python,
            name: "Foo_Bar".into(),
            version: "1.0".into(),
            source_name: None,
            source_version: None,
            module: None,
            arch: None,
            ..p.clone()
        };
        assert_eq!(
            purl(&py, None).map(|u| u.to_string()).unwrap_or_default(),
            "pkg:pypi/foo-bar@1.0"
        );
        let npm = Package {
            kind: Kind::Npm,
            name: "@babel/core".into(),
            version: "7.0.0".into(),
            ..py
        };
        assert_eq!(
            purl(&npm, None).map(|u| u.to_string()).unwrap_or_default(),
            "pkg:npm/%40babel/core@7.0.0"
        );
    }
}
