//! Dart / Flutter versions (`pub_semver`).
//!
//! Traps:
//! - Like SemVer 2.0, except build metadata *is* ordered: a version with a build sorts after
//!   the same version without (`1.0.0 < 1.0.0+1`), and builds compare like pre-releases
//!   (numeric parts numerically, and before alphanumeric parts).

use std::cmp::Ordering;
use std::fmt;

use crate::Error;
use crate::semver::{SemVer, cmp_prerelease};

/// A Pub version borrowing from its source string.
#[derive(Debug, Clone, Copy)]
pub struct PubVersion<'a>(SemVer<'a>);

impl<'a> PubVersion<'a> {
    /// Parses `MAJOR.MINOR.PATCH[-pre][+build]`.
    pub fn parse(s: &'a str) -> Result<Self, Error> {
        SemVer::parse_loose(s).map(PubVersion).map_err(|e| match e {
            Error::Invalid { version, why, .. } => Error::Invalid {
                scheme: "Pub",
                version,
                why,
            },
            e => e,
        })
    }
}

impl fmt::Display for PubVersion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Ord for PubVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0).then_with(|| {
            match (self.0.build().is_empty(), other.0.build().is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                // Both non-empty: same rule as pre-release identifiers.
                (false, false) => cmp_prerelease(self.0.build(), other.0.build()),
            }
        })
    }
}
impl PartialOrd for PubVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for PubVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for PubVersion<'_> {}
