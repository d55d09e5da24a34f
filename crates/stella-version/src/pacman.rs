//! Arch Linux (pacman / libalpm) versions: `alpm_pkg_vercmp`.
//!
//! Traps (each pinned by pacman's own `vercmptest`):
//! - `[epoch:]version[-release]`; a missing epoch is `0`, and a release is compared only when
//!   *both* sides have one (`1.5 = 1.5-1`), so equality is not transitive.
//! - Like rpm, only alphanumeric runs count and digits beat letters, but the *length* of the
//!   separator run matters (`2.0a < 2.0.a`, `2___a > 2_a`) and there is no `~` or `^`.
//! - When one side runs out: a remaining alpha run loses to the end (`1.5b < 1.5`), a remaining
//!   numeric or dotted-alpha part wins (`1.5.1 > 1.5`, `1.5.a > 1.5`).

use std::cmp::Ordering;

use crate::Error;

/// A parsed pacman version borrowing from its source string.
#[derive(Debug, Clone, Copy)]
pub struct PacmanVersion<'a> {
    epoch: &'a str,
    version: &'a str,
    release: Option<&'a str>,
}

impl<'a> PacmanVersion<'a> {
    /// Parses `[epoch:]version[-release]` as libalpm's `parseEVR` does.
    pub fn parse(s: &'a str) -> Result<Self, Error> {
        if s.is_empty() {
            return Err(Error::invalid("pacman", s, "the version is empty"));
        }
        if s.bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(Error::invalid(
                "pacman",
                s,
                "it contains white space or control characters",
            ));
        }
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = if s.as_bytes().get(digits) == Some(&b':') {
            // `:1.0` has an empty epoch, which libalpm reads as 0
            (&s[..digits], &s[digits + 1..])
        } else {
            ("0", s)
        };
        let (version, release) = match rest.rfind('-') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        Ok(Self {
            epoch: if epoch.is_empty() { "0" } else { epoch },
            version,
            release,
        })
    }
}

/// libalpm's `rpmvercmp` (which differs from rpm's: separator lengths, no `~`/`^`).
pub fn segment_cmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (si, sj) = (i, j);
        while i < a.len() && !a[i].is_ascii_alphanumeric() {
            i += 1;
        }
        while j < b.len() && !b[j].is_ascii_alphanumeric() {
            j += 1;
        }
        if i >= a.len() || j >= b.len() {
            break;
        }
        if i - si != j - sj {
            return (i - si).cmp(&(j - sj));
        }
        let (pi, pj) = (i, j);
        let isnum = a[i].is_ascii_digit();
        if isnum {
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
        } else {
            while i < a.len() && a[i].is_ascii_alphabetic() {
                i += 1;
            }
            while j < b.len() && b[j].is_ascii_alphabetic() {
                j += 1;
            }
        }
        let (x, y) = (&a[pi..i], &b[pj..j]);
        if y.is_empty() {
            // different types: numbers beat letters
            return if isnum {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if isnum {
            let x = trim_zeros(x);
            let y = trim_zeros(y);
            x.len().cmp(&y.len()).then_with(|| x.cmp(y))
        } else {
            x.cmp(y)
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    let (rest_a, rest_b) = (&a[i.min(a.len())..], &b[j.min(b.len())..]);
    if rest_a.is_empty() && rest_b.is_empty() {
        return Ordering::Equal;
    }
    // "we never want a remaining alpha string to beat an empty string"
    let a_alpha = rest_a.first().is_some_and(u8::is_ascii_alphabetic);
    let b_alpha = rest_b.first().is_some_and(u8::is_ascii_alphabetic);
    if (rest_a.is_empty() && !b_alpha) || a_alpha {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let z = s.iter().take_while(|&&c| c == b'0').count();
    &s[z..]
}

impl PartialEq for PacmanVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PacmanVersion<'_> {}

impl PartialOrd for PacmanVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PacmanVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        segment_cmp(self.epoch, other.epoch)
            .then_with(|| segment_cmp(self.version, other.version))
            .then_with(|| match (self.release, other.release) {
                (Some(a), Some(b)) => segment_cmp(a, b),
                _ => Ordering::Equal,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pacman's `test/util/vercmptest.sh`, each case also run mirrored.
    #[test]
    fn vercmptest() {
        let cases: &[(&str, &str, i8)] = &[
            ("1.5.0", "1.5.0", 0),
            ("1.5.1", "1.5.0", 1),
            ("1.5.1", "1.5", 1),
            ("1.5.0-1", "1.5.0-1", 0),
            ("1.5.0-1", "1.5.0-2", -1),
            ("1.5.0-1", "1.5.1-1", -1),
            ("1.5.0-2", "1.5.1-1", -1),
            ("1.5-1", "1.5.1-1", -1),
            ("1.5-2", "1.5.1-1", -1),
            ("1.5-2", "1.5.1-2", -1),
            ("1.5", "1.5-1", 0),
            ("1.5-1", "1.5", 0),
            ("1.1-1", "1.1", 0),
            ("1.0-1", "1.1", -1),
            ("1.1-1", "1.0", 1),
            ("1.5b-1", "1.5-1", -1),
            ("1.5b", "1.5", -1),
            ("1.5b-1", "1.5", -1),
            ("1.5b", "1.5.1", -1),
            ("1.0a", "1.0alpha", -1),
            ("1.0alpha", "1.0b", -1),
            ("1.0b", "1.0beta", -1),
            ("1.0beta", "1.0rc", -1),
            ("1.0rc", "1.0", -1),
            ("1.5.a", "1.5", 1),
            ("1.5.b", "1.5.a", 1),
            ("1.5.1", "1.5.b", 1),
            ("1.5.b-1", "1.5.b", 0),
            ("1.5-1", "1.5.b", -1),
            ("2.0", "2_0", 0),
            ("2.0_a", "2_0.a", 0),
            ("2.0a", "2.0.a", -1),
            ("2___a", "2_a", 1),
            ("0:1.0", "0:1.0", 0),
            ("0:1.0", "0:1.1", -1),
            ("1:1.0", "0:1.0", 1),
            ("1:1.0", "0:1.1", 1),
            ("1:1.0", "2:1.1", -1),
            ("1:1.0", "0:1.0-1", 1),
            ("1:1.0-1", "0:1.1-1", 1),
            ("0:1.0", "1.0", 0),
            ("0:1.0", "1.1", -1),
            ("0:1.1", "1.0", 1),
            ("1:1.0", "1.0", 1),
            ("1:1.0", "1.1", 1),
            ("1:1.1", "1.1", 1),
        ];
        for &(a, b, want) in cases {
            let want = want.cmp(&0);
            let (x, y) = (
                PacmanVersion::parse(a).unwrap(),
                PacmanVersion::parse(b).unwrap(),
            );
            assert_eq!(x.cmp(&y), want, "{a} vs {b}");
            assert_eq!(y.cmp(&x), want.reverse(), "{b} vs {a}");
        }
    }
}
