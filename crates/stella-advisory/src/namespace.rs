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
    let base = match base.to_ascii_lowercase().as_str() {
        "rocky linux" => "rocky".to_string(),
        "red hat" => "redhat".to_string(),
        "photon os" => "photon".to_string(),
        other => other.replace(' ', "-"),
    };
    Some(match release.map(str::trim).filter(|r| !r.is_empty()) {
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
