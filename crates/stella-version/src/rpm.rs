//! RPM versions (`rpmvercmp` and EVR), used by Red Hat, AlmaLinux, Rocky, Fedora, SUSE, Oracle,
//! Amazon and Photon.
//!
//! Traps:
//! - `[epoch:]version[-release]`: the epoch is the leading digits before `:`; the release starts
//!   after the *last* `-`. A missing epoch is `0` (`1.0 = 0:1.0`).
//! - Only alphanumeric runs count; every other character is a separator, and separators are not
//!   compared (`1.0 = 1_0`), but a run of digits always beats a run of letters (`1.0 > 1.a`).
//! - Digit runs compare numerically (leading zeros dropped, longer wins), letter runs with
//!   `strcmp` (upper case before lower case).
//! - `~` sorts before everything, even the end (`1.0~rc1 < 1.0`); `^` sorts after the end but
//!   before anything else (`1.0 < 1.0^git1 < 1.0.1`).
//! - Release suffixes such as `.el9_2` or `.module+el8.4.0+1234+abcd` are ordinary runs.
//! - A version without a release sorts before the same version with one (`1 < 1-0`), matching
//!   how advisories write ranges against full EVRs.

use std::cmp::Ordering;
use std::fmt;

use crate::Error;

/// A parsed RPM EVR borrowing from its source string (no allocation).
#[derive(Debug, Clone, Copy)]
pub struct RpmVersion<'a> {
    epoch: Option<&'a str>,
    version: &'a str,
    release: Option<&'a str>,
}

impl<'a> RpmVersion<'a> {
    /// Parses `[epoch:]version[-release]` as rpm's `parseEVR` does.
    pub fn parse(s: &'a str) -> Result<Self, Error> {
        if s.is_empty() {
            return Err(Error::invalid("RPM", s, "the version is empty"));
        }
        if s.bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(Error::invalid(
                "RPM",
                s,
                "it contains white space or control characters",
            ));
        }
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = if s.as_bytes().get(digits) == Some(&b':') {
            (Some(&s[..digits]), &s[digits + 1..])
        } else {
            (None, s)
        };
        let (version, release) = match rest.rfind('-') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        Ok(Self {
            epoch,
            version,
            release,
        })
    }

    /// The epoch digits, if written.
    pub fn epoch(&self) -> Option<&'a str> {
        self.epoch
    }
    /// The version part.
    pub fn version(&self) -> &'a str {
        self.version
    }
    /// The release part, if written.
    pub fn release(&self) -> Option<&'a str> {
        self.release
    }
}

impl fmt::Display for RpmVersion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = self.epoch {
            write!(f, "{e}:")?;
        }
        f.write_str(self.version)?;
        if let Some(r) = self.release {
            write!(f, "-{r}")?;
        }
        Ok(())
    }
}

impl Ord for RpmVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let e1 = self.epoch.filter(|e| !e.is_empty()).unwrap_or("0");
        let e2 = other.epoch.filter(|e| !e.is_empty()).unwrap_or("0");
        rpmvercmp(e1.as_bytes(), e2.as_bytes())
            .then_with(|| rpmvercmp(self.version.as_bytes(), other.version.as_bytes()))
            .then_with(|| match (self.release, other.release) {
                (Some(a), Some(b)) => rpmvercmp(a.as_bytes(), b.as_bytes()),
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
    }
}
impl PartialOrd for RpmVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for RpmVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for RpmVersion<'_> {}

#[inline]
fn is_sep(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

/// rpm's `rpmvercmp` on one EVR component.
pub fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        while i < a.len() && is_sep(a[i]) {
            i += 1;
        }
        while j < b.len() && is_sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else { break };
        let isnum = ca.is_ascii_digit();
        let class = |c: &u8| {
            if isnum {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let ea = i + a[i..].iter().take_while(|c| class(c)).count();
        let eb = j + b[j..].iter().take_while(|c| class(c)).count();
        if eb == j {
            return if isnum {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut sa, mut sb) = (&a[i..ea], &b[j..eb]);
        if isnum {
            while let [b'0', rest @ ..] = sa {
                sa = rest;
            }
            while let [b'0', rest @ ..] = sb {
                sb = rest;
            }
            match sa.len().cmp(&sb.len()) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match sa.cmp(sb) {
            Ordering::Equal => {}
            o => return o,
        }
        i = ea;
        j = eb;
    }
    let (ra, rb) = (i < a.len(), j < b.len());
    match (ra, rb) {
        (false, false) => Ordering::Equal,
        (false, true) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_upstream_rpmvercmp_cases() {
        // From rpm's tests/rpmvercmp.at.
        let cases: &[(&str, &str, i8)] = &[
            ("1.0", "1.0", 0),
            ("1.0", "2.0", -1),
            ("2.0.1", "2.0", 1),
            ("2.0.1a", "2.0.1", 1),
            ("5.5p1", "5.5p2", -1),
            ("5.5p10", "5.5p1", 1),
            ("10xyz", "10.1xyz", -1),
            ("xyz10", "xyz10.1", -1),
            ("xyz.4", "8", -1),
            ("8", "xyz.4", 1),
            ("1b.fc17", "1.fc17", -1),
            ("1.0~rc1", "1.0", -1),
            ("1.0~rc1~git123", "1.0~rc1", -1),
            ("1.0^", "1.0", 1),
            ("1.0^git1", "1.0", 1),
            ("1.0^git1", "1.01", -1),
            ("1.0^20160101", "1.0.1", -1),
            ("1.0^20160101^git1", "1.0^20160101", 1),
            ("1.0~rc1^git1", "1.0~rc1", 1),
            ("1.0^git1~pre", "1.0^git1", -1),
            ("1.0^git1~pre", "1.0", 1),
            ("1_0", "1.0", 0),
            ("1.0a", "1.0+", 1),
            ("2_0", "2_0", 0),
            ("2.0", "2_0", 0),
            ("a", "a", 0),
            ("a+", "a+", 0),
            ("a+", "a_", 0),
            ("+a", "+_", 1),
            ("+_", "_+", 0),
        ];
        for &(a, b, want) in cases {
            let got = rpmvercmp(a.as_bytes(), b.as_bytes());
            assert_eq!(got as i8, want, "{a} vs {b}");
        }
    }

    #[test]
    fn evr() {
        let p = |s| RpmVersion::parse(s).unwrap();
        assert!(p("1:1.0-1") > p("2.0-1"));
        assert_eq!(p("0:1.0-1"), p("1.0-1"));
        assert!(p("3.10.0-229.el7") < p("3.10.0-229.1.2.ael7b"));
        assert!(p("2.1-1.el9_2") > p("2.1-1.el9"));
    }
}
