//! Semantic Versioning 2.0.0, used by npm, crates.io, Go (see [`crate::golang`]) and others.
//!
//! Traps:
//! - Build metadata (`+...`) is ignored for precedence (`1.0.0+a = 1.0.0+b`).
//! - A pre-release sorts before its release (`1.0.0-rc.1 < 1.0.0`).
//! - Pre-release identifiers compare numerically when all digits, lexically (ASCII) otherwise,
//!   and numeric identifiers sort before alphanumeric ones; more identifiers win when all
//!   shared ones are equal (`1.0.0-alpha < 1.0.0-alpha.1`).
//! - Numbers may be arbitrarily large in the wild; they are compared without overflow.
//! - Strict parsing rejects leading zeros and missing components; [`SemVer::parse_loose`]
//!   accepts the `v` prefix, `=`, missing minor/patch and extra numeric components
//!   (`1.1.3.4`) that real-world data contains; missing components count as 0.

use std::cmp::Ordering;
use std::fmt;

use crate::Error;

/// A SemVer version borrowing from its source string (no allocation).
#[derive(Debug, Clone, Copy)]
pub struct SemVer<'a> {
    /// The dotted numeric core (`1.2.3`; loosely parsed versions may have 1 to N parts).
    core: &'a str,
    pre: &'a str,
    build: &'a str,
}

fn is_num(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn ident_ok(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Compares two digit strings as unbounded integers.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl<'a> SemVer<'a> {
    /// Strict SemVer 2.0.0.
    pub fn parse(s: &'a str) -> Result<Self, Error> {
        Self::parse_inner(s, false)
    }

    /// Accepts a leading `v` or `=`, and `1` or `1.2` as `1.0.0` / `1.2.0`.
    pub fn parse_loose(s: &'a str) -> Result<Self, Error> {
        let t = s.trim();
        let t = t.strip_prefix('=').unwrap_or(t).trim_start();
        let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
        Self::parse_inner(t, true).map_err(|e| match e {
            Error::Invalid { why, .. } => Error::Invalid {
                scheme: "SemVer",
                version: s.into(),
                why,
            },
            e => e,
        })
    }

    fn parse_inner(s: &'a str, loose: bool) -> Result<Self, Error> {
        let invalid = |why: &'static str| Error::invalid("SemVer", s, why);
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => (r, b),
            None => (s, ""),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, p),
            None => (rest, ""),
        };
        let count = core.split('.').count();
        if !loose && count != 3 {
            return Err(invalid("it needs exactly MAJOR.MINOR.PATCH"));
        }
        for n in core.split('.') {
            if !is_num(n) {
                return Err(invalid("a version component is not a number"));
            }
            if !loose && n.len() > 1 && n.starts_with('0') {
                return Err(invalid("a numeric component has a leading zero"));
            }
        }
        if rest.len() != core.len() {
            for id in pre.split('.') {
                if !ident_ok(id) {
                    return Err(invalid("an empty or invalid pre-release identifier"));
                }
                if !loose && is_num(id) && id.len() > 1 && id.starts_with('0') {
                    return Err(invalid(
                        "a numeric pre-release identifier has a leading zero",
                    ));
                }
            }
        }
        if s.len() != rest.len() {
            for id in build.split('.') {
                if !ident_ok(id) {
                    return Err(invalid("an empty or invalid build identifier"));
                }
            }
        }
        Ok(Self { core, pre, build })
    }

    /// The pre-release part without the `-` (empty when none).
    pub fn pre(&self) -> &'a str {
        self.pre
    }
    /// The build metadata without the `+` (empty when none).
    pub fn build(&self) -> &'a str {
        self.build
    }
    /// Whether this is a pre-release.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
    /// Major, minor and patch as text (missing parts are `0`).
    pub fn core(&self) -> [&'a str; 3] {
        let mut it = self.core.split('.');
        [
            it.next().unwrap_or("0"),
            it.next().unwrap_or("0"),
            it.next().unwrap_or("0"),
        ]
    }
    /// Whether major.minor.patch equal `other`'s.
    pub fn same_core(&self, other: &Self) -> bool {
        cmp_core(self, other) == Ordering::Equal
    }
}

fn cmp_core(a: &SemVer<'_>, b: &SemVer<'_>) -> Ordering {
    let (mut x, mut y) = (a.core.split('.'), b.core.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (p, q) => {
                let o = cmp_digits(p.unwrap_or("0"), q.unwrap_or("0"));
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// Compares dot-separated pre-release identifier lists by SemVer rule 11.
pub(crate) fn cmp_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut ia = a.split('.');
    let mut ib = b.split('.');
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (is_num(x), is_num(y)) {
                    (true, true) => cmp_digits(x, y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

impl fmt::Display for SemVer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.core)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

impl Ord for SemVer<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_core(self, other).then_with(|| cmp_prerelease(self.pre, other.pre))
    }
}
impl PartialOrd for SemVer<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for SemVer<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for SemVer<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_order() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ];
        for w in chain.windows(2) {
            assert!(
                SemVer::parse(w[0]).unwrap() < SemVer::parse(w[1]).unwrap(),
                "{w:?}"
            );
        }
        assert_eq!(
            SemVer::parse("1.0.0+a").unwrap(),
            SemVer::parse("1.0.0+b").unwrap()
        );
        for bad in [
            "1", "1.2", "01.2.3", "1.2.3-", "1.2.3+", "1.2.3-01", "a.b.c", "1.2.3.4",
        ] {
            assert!(SemVer::parse(bad).is_err(), "{bad}");
        }
        assert!(SemVer::parse_loose("v1.2").is_ok());
    }
}
