//! Purely numeric dotted versions: Hackage (Haskell PVP) and CRAN (R `package_version`).
//!
//! Traps:
//! - Components compare numerically, and a longer version beats its prefix
//!   (`1.0 < 1.0.0` on Hackage; trailing zeros are *not* insignificant).
//! - CRAN accepts `-` as a separator too (`0.1-0 = 0.01.0`) and leading zeros (`0.01 = 0.1`).
//! - Letters are invalid in both.

use std::cmp::Ordering;
use std::fmt;

use crate::Error;
use crate::semver::cmp_digits;

/// A dotted numeric version.
#[derive(Debug, Clone)]
pub struct NumericVersion {
    original: String,
    parts: Vec<String>,
}

impl NumericVersion {
    /// Hackage: `N(.N)*`.
    pub fn parse_hackage(s: &str) -> Result<Self, Error> {
        Self::parse_with(s, "Hackage", &['.'])
    }

    /// CRAN: at least two components separated by `.` or `-`.
    pub fn parse_cran(s: &str) -> Result<Self, Error> {
        Self::parse_with(s, "CRAN", &['.', '-'])
    }

    fn parse_with(s: &str, scheme: &'static str, seps: &[char]) -> Result<Self, Error> {
        let t = s.trim();
        let parts: Vec<&str> = t.split(seps).collect();
        if t.is_empty()
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Error::invalid(
                scheme,
                s,
                "it must be numbers separated by dots",
            ));
        }
        Ok(Self {
            original: t.to_string(),
            parts: parts
                .iter()
                .map(|p| p.trim_start_matches('0').to_string())
                .collect(),
        })
    }
}

impl fmt::Display for NumericVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl Ord for NumericVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.parts.iter().zip(&other.parts) {
            let o = cmp_digits(a, b);
            if o != Ordering::Equal {
                return o;
            }
        }
        self.parts.len().cmp(&other.parts.len())
    }
}
impl PartialOrd for NumericVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for NumericVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for NumericVersion {}
