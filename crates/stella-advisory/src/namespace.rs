//! Namespaces (distro releases and ecosystems) and package-name normalisation per ecosystem.
//!
//! Traps: PyPI names compare after PEP 503 normalisation (`Foo.Bar_baz` is `foo-bar-baz`);
//! npm names are lower-case (scopes included); Maven is `group:artifact`; Go module paths and
//! crates.io names are kept as written; distro packages are *source* packages.

/// The namespace of an OSV ecosystem string (`AlmaLinux:9` → `almalinux:9`,
/// `Alpine:v3.18` → `alpine:3.18`, `PyPI` → `pypi`). `None` when the ecosystem is empty.
pub fn from_osv_ecosystem(eco: &str) -> Option<String> {
    let eco = eco.trim();
    if eco.is_empty() {
        return None;
    }
    let (base, release) = match eco.split_once(':') {
        Some((b, r)) => (b, Some(r)),
        None => (eco, None),
    };
    // Seal Security's patched builds: `Seal:<ecosystem>` (`Seal:Red Hat:6`, `Seal:npm`)
    if base.eq_ignore_ascii_case("seal")
        && let Some(inner) = release.and_then(from_osv_ecosystem)
    {
        return Some(format!("seal:{inner}"));
    }
    // Root.io's patched builds: `Root:Alpine:3.18`, `Root:PyPI`, as their other feed names them
    if base.eq_ignore_ascii_case("root")
        && let Some(inner) = release.and_then(from_osv_ecosystem)
    {
        return Some(format!("rootio:{inner}"));
    }
    let release = release.map(str::trim).filter(|r| !r.is_empty());
    // names osv.dev publishes that carry more than `Distro:release`
    if let Some(r) = release {
        match base.to_ascii_lowercase().as_str() {
            // `Ubuntu:22.04:LTS`, `Ubuntu:24.10`: the release is the first part; Ubuntu Pro's
            // ESM fixes (`Ubuntu:Pro:18.04:LTS`) are only in Pro's archive: their own namespace
            "ubuntu" => {
                let mut parts = r.split(':').map(str::trim);
                return match parts.next() {
                    Some(p) if p.eq_ignore_ascii_case("pro") => parts
                        .find(|v| v.starts_with(|c: char| c.is_ascii_digit()))
                        .map(|v| format!("ubuntu-pro:{v}")),
                    Some(v) if !v.is_empty() => Some(format!("ubuntu:{}", v.to_ascii_lowercase())),
                    _ => Some("ubuntu".into()),
                };
            }
            // the product's marketing name, as SUSE's CVRF names it (`SUSE:Linux Enterprise
            // Server 15 SP5` → `sles:15.5`, `openSUSE:Leap 15.5` → `opensuse-leap:15.5`)
            "suse" | "opensuse" => {
                if let Some(ns) = crate::suse::namespace(&format!("{base} {r}")) {
                    return Some(ns);
                }
            }
            // a Red Hat CPE stream: RHEL's own (`enterprise_linux:9::appstream`) is what its
            // images install; the extended-support streams (`rhel_eus:9.2::baseos`) keep theirs
            "red hat" => {
                let mut parts = r.split(':');
                if parts.next() == Some("enterprise_linux")
                    && let Some(v) = parts.next()
                    && let Some(major) = v
                        .split('.')
                        .next()
                        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Some(format!("redhat:{major}"));
                }
            }
            _ => {}
        }
    }
    // a distribution of the table: its release keyed as its images key it (`Azure Linux:3`
    // → `azurelinux:3.0`, `openEuler:22.03-LTS-SP1` → `openeuler:22.03-lts-sp1`)
    if let Some(d) = stella_distro::identify(base)
        && !base.eq_ignore_ascii_case("red hat")
    {
        if d.release == stella_distro::Release::Rolling {
            return Some(d.namespace.to_string());
        }
        if let Some(ns) = release.and_then(|r| d.namespace_for(Some(r))) {
            return Some(ns);
        }
    }
    let base = match base.to_ascii_lowercase().as_str() {
        "rocky linux" => "rocky".to_string(),
        "red hat" => "redhat".to_string(),
        "photon os" => "photon".to_string(),
        other => other.replace(' ', "-"),
    };
    Some(match release {
        Some(r) => {
            let r = r
                .strip_prefix('v')
                .filter(|x| x.starts_with(|c: char| c.is_ascii_digit()))
                .unwrap_or(r);
            format!("{base}:{}", r.to_ascii_lowercase())
        }
        None => base,
    })
}

/// Vendors whose rebuilds of another ecosystem's packages have their own namespaces
/// (`seal:pypi`, `rootio:debian:12`): their fixes only speak for their builds.
pub const VENDOR_REBUILDS: &[&str] = &["seal", "rootio"];

/// The ecosystem part of a namespace (`debian:12` → `debian`; a vendor's rebuilds of
/// another ecosystem, `seal:pypi`, are that ecosystem).
pub fn ecosystem(namespace: &str) -> &str {
    let ns = VENDOR_REBUILDS
        .iter()
        .find_map(|v| namespace.strip_prefix(v).and_then(|r| r.strip_prefix(':')))
        .unwrap_or(namespace);
    ns.split(':').next().unwrap_or(ns)
}

/// The version scheme for a namespace.
pub fn scheme(namespace: &str) -> Option<stella_version::Scheme> {
    stella_version::Scheme::for_ecosystem(ecosystem(namespace))
}

/// The DB key of an RPM built in a module stream: `module:stream::name` (the RPM header's
/// `MODULARITYLABEL` names module and stream), so that a fix in one stream never speaks for
/// another; the plain name otherwise.
pub fn modular_package(module: Option<(&str, &str)>, name: &str) -> String {
    match module {
        Some((m, s)) if !m.trim().is_empty() => format!("{}:{}::{}", m.trim(), s.trim(), name),
        _ => name.to_string(),
    }
}

/// A package name normalised for its namespace.
pub fn normalize_package(namespace: &str, name: &str) -> String {
    let name = name.trim();
    match ecosystem(namespace) {
        "pypi" => {
            // PEP 503: lower-case, runs of `-`, `_`, `.` become one `-`.
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
                    if c.is_ascii() {
                        out.push(c.to_ascii_lowercase());
                    } else {
                        out.extend(c.to_lowercase());
                    }
                }
            }
            out
        }
        "npm" | "nuget" | "packagist" | "composer" | "hex" | "pub" => name.to_lowercase(),
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_names_with_more_than_a_release_become_the_namespaces_images_produce() {
        for (osv, ns) in [
            ("Ubuntu:22.04:LTS", Some("ubuntu:22.04")),
            ("Ubuntu:24.10", Some("ubuntu:24.10")),
            ("Ubuntu:Pro:18.04:LTS", Some("ubuntu-pro:18.04")),
            ("openSUSE:Leap 15.5", Some("opensuse-leap:15.5")),
            ("openSUSE:Leap Micro 5.5", Some("opensuse-leap-micro:5.5")),
            ("openSUSE:Tumbleweed", Some("opensuse-tumbleweed")),
            ("Mageia:9", Some("mageia:9")),
            ("Alpine:v3.20", Some("alpine:3.20")),
        ] {
            assert_eq!(from_osv_ecosystem(osv).as_deref(), ns, "{osv}");
        }
        assert!(scheme("ubuntu:22.04") == Some(stella_version::Scheme::Dpkg));
        assert!(scheme("opensuse-leap:15.5") == Some(stella_version::Scheme::Rpm));
    }

    /// Every ecosystem osv.dev documents: a distribution's records land in the namespace an
    /// image of that distribution is matched in (its os-release read through the same
    /// distribution table); the rest are the ecosystems the matcher names.
    #[test]
    fn every_documented_osv_ecosystem_lands_where_images_look() {
        // (OSV ecosystem as records spell it, os-release ID and VERSION_ID of such an image)
        let distros: &[(&str, &str, Option<&str>)] = &[
            ("AlmaLinux:9", "almalinux", Some("9.4")),
            ("Alpaquita:23", "alpaquita", Some("23")),
            ("Alpaquita:stream", "alpaquita", Some("stream")),
            ("Alpine:v3.20", "alpine", Some("3.20.3")),
            ("Azure Linux:3", "azurelinux", Some("3.0")),
            ("Chainguard", "chainguard", None),
            ("CleanStart", "cleanstart", None),
            ("Debian:12", "debian", Some("12")),
            ("Echo", "echo", Some("1")),
            ("Mageia:9", "mageia", Some("9")),
            ("MinimOS", "minimos", Some("20241031")),
            (
                "openEuler:22.03-LTS-SP1",
                "openEuler",
                Some("22.03-LTS-SP1"),
            ),
            ("openEuler:24.03-LTS", "openEuler", Some("24.03-LTS")),
            ("openSUSE:Leap 15.5", "opensuse-leap", Some("15.5")),
            (
                "openSUSE:Leap Micro 5.5",
                "opensuse-leap-micro",
                Some("5.5"),
            ),
            (
                "openSUSE:Tumbleweed",
                "opensuse-tumbleweed",
                Some("20240101"),
            ),
            ("Photon OS:5.0", "photon", Some("5.0")),
            ("Red Hat:enterprise_linux:9::appstream", "rhel", Some("9.4")),
            ("Red Hat:enterprise_linux:8::baseos", "rhel", Some("8.10")),
            ("Rocky Linux:9", "rocky", Some("9.3")),
            ("SUSE:Linux Enterprise Server 15 SP5", "sles", Some("15.5")),
            (
                "SUSE:Linux Enterprise Module for Basesystem 15 SP5",
                "sles",
                Some("15.5"),
            ),
            ("SUSE:Linux Enterprise Micro 5.5", "sle-micro", Some("5.5")),
            ("SUSE:Linux Micro 6.0", "sl-micro", Some("6.0")),
            ("Ubuntu:22.04:LTS", "ubuntu", Some("22.04")),
            ("Ubuntu:24.10", "ubuntu", Some("24.10")),
            ("Wolfi", "wolfi", None),
        ];
        // language and other ecosystems: the namespace the matcher looks packages up in
        let others: &[(&str, &str)] = &[
            ("Android", "android"),
            ("Bioconductor", "bioconductor"),
            ("Bitnami", "bitnami"),
            ("ConanCenter", "conancenter"),
            ("CRAN", "cran"),
            ("crates.io", "crates.io"),
            ("GHC", "ghc"),
            ("GitHub Actions", "github-actions"),
            ("Go", "go"),
            ("Hackage", "hackage"),
            ("Hex", "hex"),
            ("Julia", "julia"),
            ("Kubernetes", "kubernetes"),
            ("Linux", "linux"),
            ("Maven", "maven"),
            ("npm", "npm"),
            ("NuGet", "nuget"),
            ("opam", "opam"),
            ("OSS-Fuzz", "oss-fuzz"),
            ("Packagist", "packagist"),
            ("Pub", "pub"),
            ("PyPI", "pypi"),
            ("RubyGems", "rubygems"),
            ("SwiftURL", "swifturl"),
            ("VSCode", "vscode"),
            // vendors' own builds, not an OS an image names in its os-release
            (
                "BellSoft Hardened Containers",
                "bellsoft-hardened-containers",
            ),
            ("Docker Hardened Images", "docker-hardened-images"),
            ("TuxCare", "tuxcare"),
            ("FreeBSD", "freebsd"),
            ("Root", "root"),
        ];
        for (eco, id, version) in distros {
            assert_eq!(
                from_osv_ecosystem(eco),
                stella_distro::namespace(id, *version),
                "{eco}"
            );
            assert!(from_osv_ecosystem(eco).is_some(), "{eco}");
        }
        for (eco, ns) in others {
            assert_eq!(from_osv_ecosystem(eco).as_deref(), Some(*ns), "{eco}");
        }
        assert_eq!(
            from_osv_ecosystem("Root:Debian:12").as_deref(),
            Some("rootio:debian:12")
        );
        assert_eq!(
            from_osv_ecosystem("Root:PyPI").as_deref(),
            Some("rootio:pypi")
        );
        // the documented list (ossf/osv-schema ecosystems.json): every name is covered above
        for name in include_str!("../testdata/osv-ecosystems.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let known = distros
                .iter()
                .any(|(e, _, _)| e.split(':').next() == Some(name))
                || others.iter().any(|(e, _)| *e == name);
            assert!(known, "osv.dev ecosystem {name} has no expectation here");
        }
    }

    #[test]
    fn namespaces() {
        assert_eq!(
            from_osv_ecosystem("AlmaLinux:9").as_deref(),
            Some("almalinux:9")
        );
        assert_eq!(
            from_osv_ecosystem("Alpine:v3.18").as_deref(),
            Some("alpine:3.18")
        );
        assert_eq!(
            from_osv_ecosystem("Debian:12").as_deref(),
            Some("debian:12")
        );
        assert_eq!(from_osv_ecosystem("PyPI").as_deref(), Some("pypi"));
        assert_eq!(
            from_osv_ecosystem("crates.io").as_deref(),
            Some("crates.io")
        );
        assert_eq!(
            from_osv_ecosystem("Rocky Linux:8").as_deref(),
            Some("rocky:8")
        );
        assert_eq!(normalize_package("pypi", "Foo.Bar__baz"), "foo-bar-baz");
        assert_eq!(normalize_package("npm", "@Scope/Pkg"), "@scope/pkg");
        assert_eq!(
            normalize_package("go", "github.com/Foo/bar"),
            "github.com/Foo/bar"
        );
        assert!(scheme("almalinux:9") == Some(stella_version::Scheme::Rpm));
        assert_eq!(
            from_osv_ecosystem("Seal:Red Hat:6").as_deref(),
            Some("seal:redhat:6")
        );
        assert_eq!(
            from_osv_ecosystem("Seal:PyPI").as_deref(),
            Some("seal:pypi")
        );
        assert!(scheme("seal:redhat:6") == Some(stella_version::Scheme::Rpm));
        assert_eq!(
            normalize_package("seal:pypi", "Seal_Requests"),
            "seal-requests"
        );
        assert!(scheme("rootio:debian:12") == Some(stella_version::Scheme::Dpkg));
    }
}

/// When a release's security support ended, as its maintainers publish it (the date the
/// distribution's own advisories stop): Alpine's branch end of main-repository support,
/// Debian's end of LTS (the security tracker covers LTS), Ubuntu's end of standard support
/// (Ubuntu Pro / ESM may carry fixes beyond it). Sources: alpinelinux.org/releases,
/// wiki.debian.org/LTS, ubuntu.com/about/release-cycle (as endoflife.date collects them).
/// Releases not listed are unknown here (no claim either way).
const END_OF_LIFE: &[(&str, &str)] = &[
    ("alpine:3.10", "2021-05-01"),
    ("alpine:3.11", "2021-11-01"),
    ("alpine:3.12", "2022-05-01"),
    ("alpine:3.13", "2022-11-01"),
    ("alpine:3.14", "2023-05-01"),
    ("alpine:3.15", "2023-11-01"),
    ("alpine:3.16", "2024-05-23"),
    ("alpine:3.17", "2024-11-22"),
    ("alpine:3.18", "2025-05-09"),
    ("alpine:3.19", "2025-11-01"),
    ("alpine:3.20", "2026-04-01"),
    ("alpine:3.21", "2026-11-01"),
    ("alpine:3.22", "2027-05-01"),
    ("alpine:3.23", "2027-11-01"),
    ("debian:7", "2018-05-31"),
    ("debian:8", "2020-06-30"),
    ("debian:9", "2022-06-30"),
    ("debian:10", "2024-06-30"),
    ("debian:11", "2026-08-31"),
    ("debian:12", "2028-06-30"),
    ("debian:13", "2030-06-30"),
    ("ubuntu:14.04", "2019-04-30"),
    ("ubuntu:16.04", "2021-04-30"),
    ("ubuntu:18.04", "2023-05-31"),
    ("ubuntu:20.04", "2025-05-31"),
    ("ubuntu:22.04", "2027-06-30"),
    ("ubuntu:24.04", "2029-05-31"),
];

/// When the release a namespace names stopped getting security support (`YYYY-MM-DD`),
/// if Stella knows it. Alpine branches before 3.10 ended before 3.10 did.
pub fn end_of_life(namespace: &str) -> Option<&'static str> {
    if let Some(&(_, d)) = END_OF_LIFE.iter().find(|(ns, _)| *ns == namespace) {
        return Some(d);
    }
    let minor = namespace.strip_prefix("alpine:3.")?;
    let n: u32 = minor.parse().ok()?;
    (n < 10).then_some("2021-05-01")
}

/// [`end_of_life`] when that day is `today` (days since the epoch) or before it.
pub fn ended_by(namespace: &str, today: i64) -> Option<&'static str> {
    end_of_life(namespace).filter(|d| stella_sbom::epoch_days(d).is_some_and(|e| e <= today))
}

#[cfg(test)]
mod end_of_life_tests {
    use super::end_of_life;

    #[test]
    fn releases_past_their_support_are_known_and_others_are_not_guessed() {
        assert_eq!(end_of_life("alpine:3.17"), Some("2024-11-22"));
        assert_eq!(end_of_life("alpine:3.4"), Some("2021-05-01"));
        assert_eq!(end_of_life("debian:11"), Some("2026-08-31"));
        assert_eq!(end_of_life("alpine:edge"), None);
        assert_eq!(end_of_life("alpine:3.100"), None);
        assert_eq!(end_of_life("pypi"), None);
        assert_eq!(end_of_life("wolfi"), None);
    }
}
