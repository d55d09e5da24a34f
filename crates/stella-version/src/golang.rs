//! Go module versions (`golang.org/x/mod/semver` order).
//!
//! Traps:
//! - Canonical versions have a `v` prefix; OSV data writes them without, so both are accepted.
//! - `+incompatible` (a v2+ module without a go.mod) is build metadata: ignored for order.
//! - Pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`, `v1.2.4-0.2019...`) are ordinary
//!   pre-releases and sort correctly by SemVer rules, before the release they precede.
//! - `v1` and `v1.2` are shorthands for `v1.0.0` and `v1.2.0`.

use crate::Error;
use crate::semver::SemVer;

/// Parses a Go module version.
pub fn parse(s: &str) -> Result<SemVer<'_>, Error> {
    SemVer::parse_loose(s).map_err(|e| match e {
        Error::Invalid { version, why, .. } => Error::Invalid {
            scheme: "Go",
            version,
            why,
        },
        e => e,
    })
}
