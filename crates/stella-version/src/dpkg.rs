//! Debian package versions (`dpkg --compare-versions`), also used by Ubuntu.
//!
//! Traps:
//! - `[epoch:]upstream[-revision]`: the epoch is everything before the *first* `:`, the revision
//!   everything after the *last* `-`; `1.2-3-4` has upstream `1.2-3` and revision `4`.
//! - A missing epoch is `0`; a missing revision compares like `0` (`1.0 = 1.0-0`).
//! - `~` sorts before everything, even the end of the string (`1.0~rc1 < 1.0`).
//! - Letters sort before non-letters (`1.0a < 1.0+`), and digit runs compare numerically
//!   ignoring leading zeros (`1.01 = 1.1`).
//! - Strings are compared piecewise: a non-digit run, then a digit run, alternately.

use std::cmp::Ordering;
use std::fmt;

use crate::Error;

/// A parsed Debian version borrowing from its source string (no allocation).
#[derive(Debug, Clone, Copy)]
pub struct DpkgVersion<'a> {
    epoch: u64,
    upstream: &'a str,
    revision: &'a str,
    has_epoch: bool,
}

impl<'a> DpkgVersion<'a> {
    /// Parses a version the way `dpkg` does, rejecting what dpkg rejects.
    pub fn parse(s: &'a str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::invalid("Debian", s, why);
        if s.is_empty() {
            return Err(invalid("the version is empty"));
        }
        if s.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(invalid("it contains white space"));
        }
        let (epoch, has_epoch, rest) = match s.split_once(':') {
            Some((e, rest)) => {
                if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid("the epoch is not a number"));
                }
                let epoch: u64 = e.parse().map_err(|_| invalid("the epoch is too large"))?;
                if epoch > i32::MAX as u64 {
                    return Err(invalid("the epoch is too large"));
                }
                (epoch, true, rest)
            }
            None => (0, false, s),
        };
        let (upstream, revision) = match rest.rfind('-') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(invalid("nothing after the epoch"));
        }
        if rest.ends_with('-') {
            return Err(invalid("the revision after `-` is empty"));
        }
        // dpkg only warns when the upstream version does not start with a digit and still
        // compares it, so we accept it too.
        let ok_up =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'~' | b'-' | b':');
        if !upstream.bytes().all(ok_up) {
            return Err(invalid("invalid character in the upstream version"));
        }
        let ok_rev = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'~');
        if !revision.bytes().all(ok_rev) {
            return Err(invalid("invalid character in the revision"));
        }
        Ok(Self {
            epoch,
            upstream,
            revision,
            has_epoch,
        })
    }

    /// The epoch (0 when absent).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
    /// The upstream part.
    pub fn upstream(&self) -> &'a str {
        self.upstream
    }
    /// The Debian revision (empty when absent).
    pub fn revision(&self) -> &'a str {
        self.revision
    }
}

impl fmt::Display for DpkgVersion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.has_epoch {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(self.upstream)?;
        if !self.revision.is_empty() {
            write!(f, "-{}", self.revision)?;
        }
        Ok(())
    }
}

impl Ord for DpkgVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}
impl PartialOrd for DpkgVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for DpkgVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for DpkgVersion<'_> {}

/// The weight dpkg gives a character in a non-digit run; the end of the string weighs 0.
#[inline]
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(b'~') => -1,
        Some(c) => c as i32 + 256,
    }
}

/// dpkg's `verrevcmp`: alternate non-digit runs (by `order`) and digit runs (numerically).
pub(crate) fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        DpkgVersion::parse(a)
            .unwrap()
            .cmp(&DpkgVersion::parse(b).unwrap())
    }

    #[test]
    fn dpkg_suite_cases() {
        // From dpkg's own t-version tests.
        assert_eq!(cmp("1.0", "1.0-0"), Ordering::Equal);
        assert_eq!(cmp("1:0", "0:1"), Ordering::Greater);
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0~", "1.0~~"), Ordering::Greater);
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert_eq!(cmp("1.01", "1.1"), Ordering::Equal);
        assert_eq!(
            cmp("2.7.4+reloaded2-13ubuntu1", "2.7.4+reloaded2-13+deb9u1"),
            Ordering::Less
        );
        assert_eq!(cmp("0-1", "0-1~"), Ordering::Greater);
        assert_eq!(cmp("1.2-3-4", "1.2-3-3"), Ordering::Greater);
    }

    #[test]
    fn rejects_what_dpkg_rejects() {
        for bad in ["", "a:1", "1:", "1.0-", "1 0", "1.0-a_b", "-1:1", "1.0$"] {
            assert!(DpkgVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
