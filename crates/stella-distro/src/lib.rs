//! One identity for every Linux distribution Stella scans: its os-release ids, the names other
//! producers give it, how its release is keyed for advisories, and which advisory namespaces
//! speak for it and in what order. Catalogers, SBOM readers and importers all ask this table,
//! so a distribution named three ways by three sources is one namespace.
//!
//! Traps: os-release spells some releases differently from their advisories (Amazon Linux 1
//! is `VERSION_ID="2018.03"`, its advisories say `1`; openEuler's `VERSION_ID` drops the
//! `LTS-SP1` its advisories key by); rebuilds without a security feed of their own are
//! scanned with their upstream's (CentOS with Red Hat's, as peers do); Trivy's purls write
//! `distro=3.10.2` for Alpine (no id), `amazon-2 (Karoo)`, `alma-8.5`, `cbl-mariner-1.0`;
//! SUSE renamed SLE Micro to SUSE Linux Micro at 6.0.

mod table;

pub use table::DISTROS;

/// Which package database a distribution's packages live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packages {
    /// `lib/apk/db/installed`.
    Apk,
    /// `var/lib/dpkg/status`.
    Deb,
    /// An rpmdb (BerkeleyDB, NDB or SQLite).
    Rpm,
    /// Another format Stella does not catalog (pacman, Bottlerocket's own).
    Other,
}

/// How a release is keyed in advisories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// No release: one namespace for every version (Wolfi, Tumbleweed).
    Rolling,
    /// The major version (`9.3` → `9`).
    Major,
    /// Debian: the major version from 4 (etch) on; major.minor before it, when each point
    /// release was its own release (woody 3.0, sarge 3.1).
    Debian,
    /// Major.minor (`3.10.4` → `3.10`; a bare `15` stays `15`).
    MajorMinor,
    /// Major.minor with a bare major padded (`3` → `3.0`), as Azure Linux and Photon key them.
    MajorDotMinor,
    /// The whole version (Ubuntu's `YY.MM`).
    Whole,
    /// Alpine branches: major.minor; a pre-release (`3.21.0_alpha20240807`) is `edge`.
    Alpine,
    /// Amazon Linux: `2`, `2022`, `2023` as they are; every Amazon Linux 1 release
    /// (`2018.03`, `AMI release 2017.09`) is `1`.
    Amazon,
    /// openEuler LTS releases with their service pack (`22.03 (LTS-SP1)` or
    /// `22.03-LTS-SP1` → `22.03-lts-sp1`).
    OpenEuler,
}

/// One distribution.
#[derive(Debug)]
pub struct Distro {
    /// The namespace family of its advisories (`redhat`, `amazon`, `opensuse-leap`).
    pub namespace: &'static str,
    /// What people call it.
    pub name: &'static str,
    /// `ID` values of its `/etc/os-release`.
    pub os_release_ids: &'static [&'static str],
    /// Names other producers write for it (lower case): Trivy's OS families, Syft's and
    /// cdxgen's names, `PRETTY_NAME` stems, osv.dev's ecosystem name.
    pub aliases: &'static [&'static str],
    /// Its osv.dev ecosystem name, when osv.dev publishes it.
    pub osv: Option<&'static str>,
    /// How its release is keyed.
    pub release: Release,
    /// Namespace families whose advisories speak for it when its own has none, in order
    /// (CentOS: Red Hat's).
    pub fallback: &'static [&'static str],
    /// Where its packages are recorded.
    pub packages: Packages,
    /// Release names that stand for release numbers (`bookworm` → `12`).
    pub codenames: &'static [(&'static str, &'static str)],
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The distribution `name` names: an os-release `ID`, a namespace family, an alias another
/// producer uses, or its osv.dev ecosystem name (case-insensitive).
pub fn identify(name: &str) -> Option<&'static Distro> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    DISTROS.iter().find(|d| {
        eq(d.namespace, name)
            || d.os_release_ids.iter().any(|i| eq(i, name))
            || d.aliases.iter().any(|a| eq(a, name))
            || d.osv.is_some_and(|o| eq(o, name))
    })
}

/// The release number a codename stands for in `family`'s advisories (`debian`, `woody` →
/// `3.0`; `ubuntu`, `jammy` → `22.04`).
pub fn release_of_codename(family: &str, codename: &str) -> Option<&'static str> {
    by_namespace(family)?
        .codenames
        .iter()
        .find(|(c, _)| eq(c, codename.trim()))
        .map(|&(_, n)| n)
}

/// The distribution whose advisories a namespace family holds (`redhat` in `redhat:9`).
pub fn by_namespace(family: &str) -> Option<&'static Distro> {
    DISTROS.iter().find(|d| d.namespace == family)
}

fn first_token(v: &str) -> &str {
    v.split_whitespace().next().unwrap_or("")
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl Distro {
    /// The release `version` keys in this distribution's advisories; `None` when it names no
    /// release this distribution has. Codenames are understood (`bookworm`, `jammy`).
    pub fn release_key(&self, version: &str) -> Option<String> {
        let v = version.trim();
        let v = v
            .strip_prefix(['v', 'V'])
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(v);
        if self.release == Release::Rolling {
            return None;
        }
        let v = match self.release {
            Release::Amazon => v
                .split_whitespace()
                .find(|t| t.starts_with(|c: char| c.is_ascii_digit()))
                .unwrap_or(v),
            _ => v,
        };
        if !v.starts_with(|c: char| c.is_ascii_digit()) {
            return self.codename(v);
        }
        let tok = first_token(v);
        let mut parts = tok.split(['.', '-', '_', '+', '~']);
        let major = parts.next().unwrap_or("");
        if !is_number(major) {
            return None;
        }
        let minor = tok
            .strip_prefix(major)
            .and_then(|r| r.strip_prefix('.'))
            .map(|r| r.split(|c: char| !c.is_ascii_digit()).next().unwrap_or(""))
            .filter(|m| !m.is_empty());
        Some(match self.release {
            Release::Rolling => unreachable!("handled above"),
            Release::Major => major.to_string(),
            Release::Debian => match minor {
                Some(m) if major.parse::<u32>().is_ok_and(|n| n < 4) => format!("{major}.{m}"),
                _ => major.to_string(),
            },
            Release::MajorMinor => match minor {
                Some(m) => format!("{major}.{m}"),
                None => major.to_string(),
            },
            Release::MajorDotMinor => format!("{major}.{}", minor.unwrap_or("0")),
            Release::Whole => tok.to_ascii_lowercase(),
            Release::Alpine if tok.contains("_alpha") => "edge".to_string(),
            Release::Alpine => match minor {
                Some(m) => format!("{major}.{m}"),
                None => return None,
            },
            // Amazon Linux 1 releases are AMI dates (2011.09 … 2018.03); 2 and 2022 on are
            // their own (`2023.6.20241010` is 2023)
            Release::Amazon => match major.parse::<u32>() {
                Ok(2) => "2".to_string(),
                Ok(n) if n >= 2022 => n.to_string(),
                _ => "1".to_string(),
            },
            Release::OpenEuler => {
                // `22.03 (LTS-SP1)` as os-release's VERSION says it, or `22.03-LTS-SP1`
                let base = match minor {
                    Some(m) => format!("{major}.{m}"),
                    None => major.to_string(),
                };
                let rest: String = v[tok.len()..]
                    .trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .to_string();
                let tail = tok
                    .strip_prefix(base.as_str())
                    .unwrap_or("")
                    .trim_start_matches('-');
                let suffix = if !tail.is_empty() {
                    tail.to_string()
                } else {
                    rest
                };
                if suffix.is_empty() {
                    base
                } else {
                    format!("{base}-{}", suffix.to_ascii_lowercase())
                }
            }
        })
    }

    fn codename(&self, v: &str) -> Option<String> {
        // `trixie/sid` (a testing system's debian_version) names the release being prepared
        let name = v.split('/').next().unwrap_or(v).trim();
        if let Some(&(_, n)) = self.codenames.iter().find(|(c, _)| eq(c, name)) {
            return Some(n.to_string());
        }
        (self.release == Release::Alpine && eq(name, "edge")).then(|| "edge".into())
    }

    /// The namespace of this distribution at `version` (`None`: the version is unknown or
    /// names no release; rolling distributions need none).
    pub fn namespace_for(&'static self, version: Option<&str>) -> Option<String> {
        if self.release == Release::Rolling {
            return Some(self.namespace.to_string());
        }
        let key = self.release_key(version?)?;
        // SLE Micro is SUSE Linux Micro from 6.0 on (its advisories moved with the name)
        if self.namespace == "sle-micro"
            && key
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok())
                .is_some_and(|m| m >= 6)
        {
            return Some(format!("sl-micro:{key}"));
        }
        Some(format!("{}:{key}", self.namespace))
    }
}

/// The advisory namespace of an OS named `id` (an os-release `ID` or any alias) at `version`:
/// `amzn` 2018.03 → `amazon:1`, `rhel` 9.3 → `redhat:9`, `wolfi` → `wolfi`. A distribution
/// not in the table keeps `id:version` (lower-case id), so its coverage can be reported.
pub fn namespace(id: &str, version: Option<&str>) -> Option<String> {
    match identify(id) {
        Some(d) => d.namespace_for(version),
        None => {
            let id = id.trim().to_ascii_lowercase();
            let v = version.map(str::trim).filter(|v| !v.is_empty())?;
            (!id.is_empty()).then(|| format!("{id}:{v}"))
        }
    }
}

/// The namespaces looked up for an image whose own namespace is `own`, in order: its own,
/// then those of the distributions whose advisories speak for it (`centos:7` →
/// `centos:7`, `redhat:7`). The first the DB has data for is the one matched.
pub fn lookup_order(own: &str) -> Vec<String> {
    let mut out = vec![own.to_string()];
    let (family, release) = match own.split_once(':') {
        Some((f, r)) => (f, Some(r)),
        None => (own, None),
    };
    if let Some(d) = by_namespace(family) {
        for f in d.fallback {
            out.push(match release {
                Some(r) => format!("{f}:{r}"),
                None => f.to_string(),
            });
        }
    }
    out
}

/// An OS as another producer's purl `distro=` qualifier names it, with the purl's namespace
/// (`pkg:apk/alpine/…`) for forms that carry no id: `debian-12`, `alpine-3.19.1`, `3.10.2`
/// (Trivy's Alpine), `amazon-2 (Karoo)`, `alma-8.5`, `cbl-mariner-1.0`, `opensuse.leap-15.1`,
/// `jessie` (a codename). Returns (os id, version); the id is the distribution's first
/// os-release id when it is known.
pub fn from_qualifier(
    distro: &str,
    purl_namespace: Option<&str>,
) -> Option<(String, Option<String>)> {
    let d = distro.trim();
    if d.is_empty() {
        return None;
    }
    let id_of = |x: &'static Distro| {
        x.os_release_ids
            .first()
            .copied()
            .unwrap_or(x.namespace)
            .to_string()
    };
    // the longest known name followed by `-` or the end
    let mut best: Option<(&'static Distro, usize)> = None;
    for x in DISTROS {
        let names = std::iter::once(x.namespace)
            .chain(x.os_release_ids.iter().copied())
            .chain(x.aliases.iter().copied());
        for n in names {
            let Some(head) = d.get(..n.len()) else {
                continue;
            };
            if !eq(head, n) {
                continue;
            }
            let rest = &d[n.len()..];
            if (rest.is_empty() || rest.starts_with('-')) && best.is_none_or(|(_, l)| n.len() > l) {
                best = Some((x, n.len()));
            }
        }
    }
    if let Some((x, l)) = best {
        let v = d[l..].trim_start_matches('-').trim();
        return Some((id_of(x), (!v.is_empty()).then(|| v.to_string())));
    }
    let ns = purl_namespace.and_then(identify);
    if d.starts_with(|c: char| c.is_ascii_digit()) {
        // a version alone: the purl's namespace says which distribution
        return ns.map(|x| (id_of(x), Some(d.to_string())));
    }
    // a codename alone (`distro=jessie`): the purl's namespace's, or any distribution's
    let by_codename = |x: &&'static Distro| x.codenames.iter().any(|(c, _)| eq(c, d));
    if let Some(x) = ns
        .filter(by_codename)
        .or_else(|| DISTROS.iter().find(by_codename))
    {
        return Some((id_of(x), Some(d.to_string())));
    }
    // an unknown distribution: `name-version`
    let (id, v) = d.rsplit_once('-').unwrap_or((d, ""));
    (!id.is_empty()).then(|| (id.to_string(), (!v.is_empty()).then(|| v.to_string())))
}

#[cfg(test)]
mod tests;
