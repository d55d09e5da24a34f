//! Version schemes of every ecosystem Stella Ops scans, OSV affected ranges and purl `vers`.
//!
//! Each scheme lives in its own module whose documentation opens with the scheme's traps.
//! [`Scheme`] picks one by OSV ecosystem name; [`Scheme::compare`] orders two version strings.
//! The distro and SemVer schemes parse without allocating (the parsed form borrows the input).

pub mod apk;
pub mod constraint;
pub mod dpkg;
pub mod generic;
pub mod golang;
pub mod maven;
pub mod nuget;
pub mod numeric;
pub mod packagist;
pub mod pacman;
pub mod pep440;
pub mod pub_dart;
pub mod range;
pub mod rpm;
pub mod rubygems;
pub mod semver;
pub mod vers;

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A version parsed once to be compared many times (see [`Scheme::parse_owned`]).
#[derive(Debug, Clone)]
pub enum Parsed {
    /// PEP 440 (or legacy) version.
    Pep440(pep440::PypiVersion),
    /// Maven ComparableVersion.
    Maven(maven::MavenVersion),
    /// RubyGems version.
    RubyGems(rubygems::GemVersion),
    /// NuGet version.
    NuGet(nuget::NuGetVersion),
    /// Packagist version.
    Packagist(packagist::PackagistVersion),
    /// Compared by its text (the scheme's parse is cheap).
    Text,
}

/// Why a version, range or ecosystem could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A version that its scheme does not accept.
    #[error("invalid {scheme} version `{version}`: {why}")]
    Invalid {
        /// The scheme's name.
        scheme: &'static str,
        /// The rejected text.
        version: String,
        /// Why it was rejected.
        why: String,
    },
    /// An ecosystem name we do not know.
    #[error("unknown ecosystem `{0}`; use an OSV ecosystem name such as `Debian`, `PyPI` or `npm`")]
    UnknownEcosystem(String),
    /// A range or constraint that cannot be parsed.
    #[error("invalid range `{range}`: {why}")]
    InvalidRange {
        /// The rejected text.
        range: String,
        /// Why it was rejected.
        why: String,
    },
}

impl Error {
    pub(crate) fn invalid(scheme: &'static str, version: &str, why: &str) -> Self {
        Error::Invalid {
            scheme,
            version: version.to_string(),
            why: why.to_string(),
        }
    }
    pub(crate) fn range(range: &str, why: impl Into<String>) -> Self {
        Error::InvalidRange {
            range: range.to_string(),
            why: why.into(),
        }
    }
}

/// A version-ordering scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Debian and Ubuntu (`dpkg`).
    Dpkg,
    /// RPM distributions (`rpmvercmp` on EVR).
    Rpm,
    /// Alpine, Wolfi, Chainguard (`apk`).
    Apk,
    /// SemVer 2.0.0 order, loosely parsed (`v` prefix, 1..N components) as real data needs.
    SemVer,
    /// npm (SemVer, loosely parsed).
    Npm,
    /// Go modules.
    Go,
    /// PyPI (PEP 440).
    Pep440,
    /// Maven `ComparableVersion`.
    Maven,
    /// RubyGems `Gem::Version`.
    RubyGems,
    /// NuGet.
    NuGet,
    /// Packagist / Composer.
    Packagist,
    /// Dart / Flutter pub.
    Pub,
    /// Haskell Hackage (PVP).
    Hackage,
    /// R CRAN.
    Cran,
    /// Arch Linux pacman.
    Pacman,
    /// Fallback for everything else.
    Generic,
}

impl Scheme {
    /// All schemes.
    pub const ALL: [Scheme; 16] = [
        Scheme::Dpkg,
        Scheme::Rpm,
        Scheme::Apk,
        Scheme::SemVer,
        Scheme::Npm,
        Scheme::Go,
        Scheme::Pep440,
        Scheme::Maven,
        Scheme::RubyGems,
        Scheme::NuGet,
        Scheme::Packagist,
        Scheme::Pub,
        Scheme::Hackage,
        Scheme::Cran,
        Scheme::Pacman,
        Scheme::Generic,
    ];

    /// The scheme of an OSV ecosystem name (`Debian`, `Debian:12`, `Alpine:v3.18`, `PyPI`…),
    /// case-insensitive. `None` for ecosystems without a version order of their own
    /// (the caller may fall back to [`Scheme::Generic`] and say so).
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        Some(match base.as_str() {
            "debian" | "ubuntu" | "ubuntu-pro" | "deb" | "dpkg" | "echo" | "linux mint" => {
                Scheme::Dpkg
            }
            "alpine"
            | "alpaquita"
            | "bellsoft hardened containers"
            | "wolfi"
            | "chainguard"
            | "apk"
            | "minimos" => Scheme::Apk,
            "red hat" | "redhat" | "rhel" | "almalinux" | "rocky linux" | "rocky" | "suse"
            | "opensuse" | "mageia" | "openeuler" | "oracle" | "oracle linux" | "amazon"
            | "amazon linux" | "photon os" | "photon" | "azure linux" | "cbl-mariner"
            | "mariner" | "fedora" | "centos" | "rpm" => Scheme::Rpm,
            // os-release IDs of the SUSE family and other RPM systems
            "sles"
            | "sle-micro"
            | "sl-micro"
            | "opensuse-leap"
            | "opensuse-leap-micro"
            | "opensuse-tumbleweed"
            | "bottlerocket"
            | "azurelinux" => Scheme::Rpm,
            "semver" | "crates.io" | "cargo" | "hex" | "swifturl" | "bitnami"
            | "github actions" | "github-actions" | "cocoapods" | "julia" | "kubernetes"
            | "conan" => Scheme::SemVer,
            "npm" | "nodejs" => Scheme::Npm,
            "go" | "golang" => Scheme::Go,
            "pypi" | "python" | "pep440" => Scheme::Pep440,
            "maven" => Scheme::Maven,
            "rubygems" | "gem" => Scheme::RubyGems,
            "nuget" => Scheme::NuGet,
            "packagist" | "composer" => Scheme::Packagist,
            "pub" => Scheme::Pub,
            "hackage" | "ghc" => Scheme::Hackage,
            "cran" => Scheme::Cran,
            "arch" | "arch linux" | "archlinux" | "alpm" | "pacman" => Scheme::Pacman,
            "generic" => Scheme::Generic,
            _ => return None,
        })
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Rpm => "rpm",
            Scheme::Apk => "apk",
            Scheme::SemVer => "semver",
            Scheme::Npm => "npm",
            Scheme::Go => "go",
            Scheme::Pep440 => "pep440",
            Scheme::Maven => "maven",
            Scheme::RubyGems => "rubygems",
            Scheme::NuGet => "nuget",
            Scheme::Packagist => "packagist",
            Scheme::Pub => "pub",
            Scheme::Hackage => "hackage",
            Scheme::Cran => "cran",
            Scheme::Pacman => "pacman",
            Scheme::Generic => "generic",
        }
    }

    /// Checks that `v` is a version of this scheme.
    pub fn validate(self, v: &str) -> Result<(), Error> {
        match self {
            Scheme::Dpkg => dpkg::DpkgVersion::parse(v).map(drop),
            Scheme::Rpm => rpm::RpmVersion::parse(v).map(drop),
            Scheme::Apk => apk::ApkVersion::parse(v).map(drop),
            Scheme::SemVer => semver::SemVer::parse_loose(v).map(drop),
            Scheme::Npm => semver::SemVer::parse_loose(v).map(drop),
            Scheme::Go => golang::parse(v).map(drop),
            Scheme::Pep440 => pep440::PypiVersion::parse(v).map(drop),
            Scheme::Maven => maven::MavenVersion::parse(v).map(drop),
            Scheme::RubyGems => rubygems::GemVersion::parse(v).map(drop),
            Scheme::NuGet => nuget::NuGetVersion::parse(v).map(drop),
            Scheme::Packagist => packagist::PackagistVersion::parse(v).map(drop),
            Scheme::Pub => pub_dart::PubVersion::parse(v).map(drop),
            Scheme::Hackage => numeric::NumericVersion::parse_hackage(v).map(drop),
            Scheme::Cran => numeric::NumericVersion::parse_cran(v).map(drop),
            Scheme::Pacman => pacman::PacmanVersion::parse(v).map(drop),
            Scheme::Generic => generic::compare(v, v).map(drop),
        }
    }

    /// Parses `v` once for many comparisons ([`Scheme::compare_parsed`]): schemes whose
    /// parse allocates keep the parsed form; the others only validate and compare by text
    /// (their parse borrows and is cheap to repeat).
    pub fn parse_owned(self, v: &str) -> Result<Parsed, Error> {
        Ok(match self {
            Scheme::Pep440 => Parsed::Pep440(pep440::PypiVersion::parse(v)?),
            Scheme::Maven => Parsed::Maven(maven::MavenVersion::parse(v)?),
            Scheme::RubyGems => Parsed::RubyGems(rubygems::GemVersion::parse(v)?),
            Scheme::NuGet => Parsed::NuGet(nuget::NuGetVersion::parse(v)?),
            Scheme::Packagist => Parsed::Packagist(packagist::PackagistVersion::parse(v)?),
            _ => {
                self.validate(v)?;
                Parsed::Text
            }
        })
    }

    /// Orders `a` and `b` given their [`Scheme::parse_owned`] forms; the same answer as
    /// [`Scheme::compare`].
    pub fn compare_parsed(
        self,
        a: &str,
        pa: &Parsed,
        b: &str,
        pb: &Parsed,
    ) -> Result<Ordering, Error> {
        Ok(match (pa, pb) {
            (Parsed::Pep440(x), Parsed::Pep440(y)) => x.cmp(y),
            (Parsed::Maven(x), Parsed::Maven(y)) => x.cmp(y),
            (Parsed::RubyGems(x), Parsed::RubyGems(y)) => x.cmp(y),
            (Parsed::NuGet(x), Parsed::NuGet(y)) => x.cmp(y),
            (Parsed::Packagist(x), Parsed::Packagist(y)) => x.cmp(y),
            _ => return self.compare(a, b),
        })
    }

    /// Orders two versions of this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, Error> {
        fn both<T: Ord, E>(a: Result<T, E>, b: Result<T, E>) -> Result<Ordering, E> {
            Ok(a?.cmp(&b?))
        }
        match self {
            Scheme::Dpkg => both(dpkg::DpkgVersion::parse(a), dpkg::DpkgVersion::parse(b)),
            Scheme::Rpm => both(rpm::RpmVersion::parse(a), rpm::RpmVersion::parse(b)),
            Scheme::Apk => both(apk::ApkVersion::parse(a), apk::ApkVersion::parse(b)),
            Scheme::SemVer => both(
                semver::SemVer::parse_loose(a),
                semver::SemVer::parse_loose(b),
            ),
            Scheme::Npm => both(
                semver::SemVer::parse_loose(a),
                semver::SemVer::parse_loose(b),
            ),
            Scheme::Go => both(golang::parse(a), golang::parse(b)),
            Scheme::Pep440 => both(pep440::PypiVersion::parse(a), pep440::PypiVersion::parse(b)),
            Scheme::Maven => both(maven::MavenVersion::parse(a), maven::MavenVersion::parse(b)),
            Scheme::RubyGems => both(
                rubygems::GemVersion::parse(a),
                rubygems::GemVersion::parse(b),
            ),
            Scheme::NuGet => both(nuget::NuGetVersion::parse(a), nuget::NuGetVersion::parse(b)),
            Scheme::Packagist => both(
                packagist::PackagistVersion::parse(a),
                packagist::PackagistVersion::parse(b),
            ),
            Scheme::Pub => both(
                pub_dart::PubVersion::parse(a),
                pub_dart::PubVersion::parse(b),
            ),
            Scheme::Hackage => both(
                numeric::NumericVersion::parse_hackage(a),
                numeric::NumericVersion::parse_hackage(b),
            ),
            Scheme::Cran => both(
                numeric::NumericVersion::parse_cran(a),
                numeric::NumericVersion::parse_cran(b),
            ),
            Scheme::Pacman => both(
                pacman::PacmanVersion::parse(a),
                pacman::PacmanVersion::parse(b),
            ),
            Scheme::Generic => generic::compare(a, b),
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheme {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Scheme::ALL
            .iter()
            .copied()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .or_else(|| Scheme::for_ecosystem(s))
            .ok_or_else(|| Error::UnknownEcosystem(s.to_string()))
    }
}

/// One line of a version-vector file: `A < B`, `A = B` or `A > B`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorCase {
    /// 1-based line number.
    pub line: usize,
    /// Left version.
    pub a: String,
    /// Expected order of `a` relative to `b`.
    pub expected: Ordering,
    /// Right version.
    pub b: String,
}

/// Parses a vector file (`#` and `//` start comment lines; blank lines are skipped).
pub fn parse_vectors(text: &str) -> Result<Vec<VectorCase>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [a, op, b] = parts[..] else {
            return Err(format!("line {}: expected `A <op> B`, got `{line}`", i + 1));
        };
        let expected = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => {
                return Err(format!(
                    "line {}: unknown operator `{op}` (use <, = or >)",
                    i + 1
                ));
            }
        };
        out.push(VectorCase {
            line: i + 1,
            a: a.to_string(),
            expected,
            b: b.to_string(),
        });
    }
    Ok(out)
}
