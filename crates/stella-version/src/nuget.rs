//! NuGet versions (`NuGet.Versioning.NuGetVersion`).
//!
//! Traps:
//! - Up to four numeric parts; missing parts are 0 (`1.0 = 1.0.0.0`).
//! - Release labels compare like SemVer 2.0 but case-insensitively (`1.0.0-BETA = 1.0.0-beta`).
//! - Build metadata after `+` is ignored (`1.0.0 = 1.0.0+abc`).
//! - NuGet normalises leading zeros away (`01.0 = 1.0`).

use std::cmp::Ordering;
use std::fmt;

use crate::Error;
use crate::semver::cmp_digits;

/// A parsed NuGet version.
#[derive(Debug, Clone)]
pub struct NuGetVersion {
    original: String,
    parts: [String; 4],
    pre: Vec<String>,
}

impl NuGetVersion {
    /// Parses `N[.N[.N[.N]]][-label[.label]][+metadata]`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::invalid("NuGet", s, why);
        let t = s.trim();
        let (rest, meta) = match t.split_once('+') {
            Some((r, m)) => (r, Some(m)),
            None => (t, None),
        };
        if let Some(m) = meta
            && (m.is_empty() || m.split('.').any(|x| x.is_empty()))
        {
            return Err(invalid("empty build metadata"));
        }
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let nums: Vec<&str> = core.split('.').collect();
        if nums.is_empty() || nums.len() > 4 {
            return Err(invalid("it needs one to four numeric parts"));
        }
        let mut parts: [String; 4] = Default::default();
        for (k, n) in nums.iter().enumerate() {
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid("a numeric part is not a number"));
            }
            parts[k] = n.trim_start_matches('0').to_string();
        }
        let pre = match pre {
            None => Vec::new(),
            Some(p) => {
                let labels: Vec<String> = p.split('.').map(str::to_ascii_lowercase).collect();
                if labels.iter().any(|l| {
                    l.is_empty() || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                }) {
                    return Err(invalid("an empty or invalid release label"));
                }
                labels
            }
        };
        Ok(Self {
            original: t.to_string(),
            parts,
            pre,
        })
    }

    /// Whether the version has a release label.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

impl fmt::Display for NuGetVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl Ord for NuGetVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for k in 0..4 {
            let o = cmp_digits(&self.parts[k], &other.parts[k]);
            if o != Ordering::Equal {
                return o;
            }
        }
        crate::semver::cmp_prerelease(&self.pre.join("."), &other.pre.join("."))
    }
}
impl PartialOrd for NuGetVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for NuGetVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for NuGetVersion {}
