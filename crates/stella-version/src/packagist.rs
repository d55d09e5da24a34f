//! Packagist / Composer versions, ordered like PHP's `version_compare` after Composer's
//! normalisation.
//!
//! Traps:
//! - `-`, `_` and `+` are separators, and a boundary between digits and letters is one too
//!   (`1.0rc1` is `1.0.rc.1`); a leading `v` is dropped.
//! - Special words order `dev < alpha = a < beta = b < RC = rc < (number) < pl = p`, matched by
//!   *prefix* (`1.0-patch` is a `p`); any other word sorts before `dev`.
//! - When one side runs out, a remaining number makes it greater, a remaining word is compared
//!   with "a number" (`1.0 > 1.0rc1`, `1.0 < 1.0pl1`).

use std::cmp::Ordering;
use std::fmt;

use crate::Error;
use crate::semver::cmp_digits;

/// A Composer version.
#[derive(Debug, Clone)]
pub struct PackagistVersion {
    original: String,
    parts: Vec<String>,
}

fn canonicalize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<u8> = None;
    for c in s.bytes() {
        let special = matches!(c, b'-' | b'_' | b'+' | b'.');
        if special {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev = None;
            continue;
        }
        if !c.is_ascii_alphanumeric() && c != b'#' {
            // PHP turns any other punctuation into a separator as well.
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev = None;
            continue;
        }
        if let Some(p) = prev
            && p.is_ascii_digit() != c.is_ascii_digit()
            && !cur.is_empty()
        {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c as char);
        prev = Some(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Order of PHP's special forms; `#` stands for "a number".
fn special_order(form: &str) -> i32 {
    const FORMS: [(&str, i32); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| form.starts_with(name))
        .map_or(-1, |&(_, o)| o)
}

fn is_num(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn cmp_part(a: &str, b: &str) -> Ordering {
    match (is_num(a), is_num(b)) {
        (true, true) => cmp_digits(a, b),
        (false, false) => special_order(a).cmp(&special_order(b)),
        (true, false) => special_order("#").cmp(&special_order(b)),
        (false, true) => special_order(a).cmp(&special_order("#")),
    }
}

impl PackagistVersion {
    /// Parses any non-empty version string.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        if t.is_empty() {
            return Err(Error::invalid("Packagist", s, "the version is empty"));
        }
        let t2 = t
            .strip_prefix(['v', 'V'])
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()));
        let parts = canonicalize(t2.unwrap_or(t));
        if parts.is_empty() {
            return Err(Error::invalid("Packagist", s, "no version parts"));
        }
        Ok(Self {
            original: t.to_string(),
            parts,
        })
    }
}

/// Composer's normalisation for constraint matching: the numeric release is padded to four
/// parts (`2.0` → `2.0.0.0`, `1.2-beta` → `1.2.0.0-beta`), so that bounds like `2.0.0.0-dev`
/// order the way Composer's `VersionParser` intends.
pub fn normalize(v: &str) -> String {
    let t = v.trim();
    let t = t
        .strip_prefix(['v', 'V'])
        .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(t);
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, rest) = t.split_at(end);
    let num = num.trim_end_matches('.');
    let mut parts: Vec<&str> = num.split('.').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() || parts.len() > 4 {
        return t.to_string();
    }
    while parts.len() < 4 {
        parts.push("0");
    }
    let rest = rest.trim_start_matches('.');
    if rest.is_empty() {
        parts.join(".")
    } else if rest.starts_with(['-', '+', '_']) {
        format!("{}{rest}", parts.join("."))
    } else {
        format!("{}-{rest}", parts.join("."))
    }
}

impl fmt::Display for PackagistVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// PHP's loop: equal prefixes, then a leftover number wins and a leftover word is compared,
/// with everything after it, against "a number" (`#N#`).
fn cmp_parts(a: &[String], b: &[String]) -> Ordering {
    let n = a.len().min(b.len());
    for k in 0..n {
        let o = cmp_part(&a[k], &b[k]);
        if o != Ordering::Equal {
            return o;
        }
    }
    let number = ["#N#".to_string()];
    match a.len().cmp(&b.len()) {
        Ordering::Equal => Ordering::Equal,
        Ordering::Greater if is_num(&a[n]) => Ordering::Greater,
        Ordering::Greater => cmp_parts(&a[n..], &number),
        Ordering::Less if is_num(&b[n]) => Ordering::Less,
        Ordering::Less => cmp_parts(&number, &b[n..]),
    }
}

impl Ord for PackagistVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_parts(&self.parts, &other.parts)
    }
}
impl PartialOrd for PackagistVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for PackagistVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for PackagistVersion {}
