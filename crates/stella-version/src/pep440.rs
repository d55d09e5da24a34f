//! Python versions per PEP 440 (PyPI), with the normalisations `packaging` applies.
//!
//! Traps:
//! - Epochs (`1!1.0 > 2.0`); trailing zeros in the release do not count (`1.0 = 1.0.0`).
//! - Order within one release: `.devN < aN < bN < rcN < (final) < .postN`, and a dev release
//!   of a pre or post release sorts before it (`1.0a1.dev1 < 1.0a1`).
//! - Spellings normalise: `alpha`→`a`, `beta`→`b`, `c`/`pre`/`preview`→`rc`, `rev`/`r`→`post`,
//!   `1.0-1` is `1.0.post1`; separators `-_.` are optional; case does not matter; a leading `v`
//!   is allowed; an implicit number is 0 (`1.0a = 1.0a0`).
//! - Local versions (`+ubuntu1`) sort after the same public version; numeric local segments
//!   beat alphanumeric ones.
//! - Versions that are not PEP 440 (`0.9-doduo`, old setuptools-era releases still on PyPI)
//!   are "legacy" versions: [`PypiVersion`] orders them as `packaging` < 22 did, with
//!   setuptools' key, and always before every PEP 440 version.

use std::cmp::Ordering;
use std::fmt;

use crate::Error;

/// Pre-release kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PreKind {
    /// `a`
    Alpha,
    /// `b`
    Beta,
    /// `rc`
    Rc,
}

/// One local-version segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalSeg {
    /// All digits.
    Num(u64),
    /// Anything else (lower-cased).
    Str(String),
}

impl Ord for LocalSeg {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (LocalSeg::Num(a), LocalSeg::Num(b)) => a.cmp(b),
            (LocalSeg::Num(_), LocalSeg::Str(_)) => Ordering::Greater,
            (LocalSeg::Str(_), LocalSeg::Num(_)) => Ordering::Less,
            (LocalSeg::Str(a), LocalSeg::Str(b)) => a.cmp(b),
        }
    }
}
impl PartialOrd for LocalSeg {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A parsed, normalised PEP 440 version.
#[derive(Debug, Clone)]
pub struct Pep440Version {
    /// Epoch (0 when absent).
    pub epoch: u64,
    /// Release numbers as written.
    pub release: Vec<u64>,
    /// Pre-release.
    pub pre: Option<(PreKind, u64)>,
    /// Post-release number.
    pub post: Option<u64>,
    /// Dev-release number.
    pub dev: Option<u64>,
    /// Local version segments.
    pub local: Vec<LocalSeg>,
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat_sep(&mut self) -> bool {
        if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn number(&mut self) -> Option<Result<u64, ()>> {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        if start == self.i {
            return None;
        }
        let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("0");
        Some(digits.parse::<u64>().map_err(|_| ()))
    }
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        // Longest match first, so `preview` wins over `pre`.
        let mut best: Option<(usize, usize)> = None;
        for (k, w) in words.iter().enumerate() {
            if self.s[self.i..].starts_with(w.as_bytes()) && best.is_none_or(|(_, l)| w.len() > l) {
                best = Some((k, w.len()));
            }
        }
        let (k, l) = best?;
        self.i += l;
        Some(k)
    }
}

impl Pep440Version {
    /// Parses and normalises a version; rejects anything `packaging.version.Version` rejects.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::invalid("PyPI", input, why);
        let lower = input.trim().to_ascii_lowercase();
        let mut c = Cursor {
            s: lower.as_bytes(),
            i: 0,
        };
        if c.peek() == Some(b'v') {
            c.i += 1;
        }
        let too_big = |_| invalid("a number is too large");
        let first = c
            .number()
            .ok_or_else(|| invalid("it does not start with a number"))?;
        let first = first.map_err(too_big)?;
        let (epoch, mut release) = if c.peek() == Some(b'!') {
            c.i += 1;
            let n = c
                .number()
                .ok_or_else(|| invalid("no release after the epoch"))?;
            (first, vec![n.map_err(too_big)?])
        } else {
            (0, vec![first])
        };
        while c.peek() == Some(b'.') && matches!(c.s.get(c.i + 1), Some(b'0'..=b'9')) {
            c.i += 1;
            release.push(c.number().unwrap_or(Ok(0)).map_err(too_big)?);
        }
        let mut v = Pep440Version {
            epoch,
            release,
            pre: None,
            post: None,
            dev: None,
            local: Vec::new(),
        };

        // pre-release
        let save = c.i;
        c.eat_sep();
        let pre_words = ["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"];
        if let Some(k) = c.word(&pre_words) {
            let kind = match k {
                0 | 1 => PreKind::Alpha,
                2 | 3 => PreKind::Beta,
                _ => PreKind::Rc,
            };
            let save_n = c.i;
            c.eat_sep();
            let n = match c.number() {
                Some(n) => n.map_err(too_big)?,
                None => {
                    c.i = save_n;
                    0
                }
            };
            v.pre = Some((kind, n));
        } else {
            c.i = save;
        }

        // post-release
        let save = c.i;
        if c.peek() == Some(b'-') && matches!(c.s.get(c.i + 1), Some(b'0'..=b'9')) {
            c.i += 1;
            v.post = Some(c.number().unwrap_or(Ok(0)).map_err(too_big)?);
        } else {
            c.eat_sep();
            if c.word(&["post", "rev", "r"]).is_some() {
                let save_n = c.i;
                c.eat_sep();
                let n = match c.number() {
                    Some(n) => n.map_err(too_big)?,
                    None => {
                        c.i = save_n;
                        0
                    }
                };
                v.post = Some(n);
            } else {
                c.i = save;
            }
        }

        // dev-release
        let save = c.i;
        c.eat_sep();
        if c.word(&["dev"]).is_some() {
            let save_n = c.i;
            c.eat_sep();
            let n = match c.number() {
                Some(n) => n.map_err(too_big)?,
                None => {
                    c.i = save_n;
                    0
                }
            };
            v.dev = Some(n);
        } else {
            c.i = save;
        }

        // local
        if c.peek() == Some(b'+') {
            c.i += 1;
            let local = &lower[c.i..];
            if local.is_empty() {
                return Err(invalid("the local version after `+` is empty"));
            }
            for seg in local.split(['.', '-', '_']) {
                if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(invalid("invalid local version segment"));
                }
                v.local.push(if seg.bytes().all(|b| b.is_ascii_digit()) {
                    LocalSeg::Num(seg.parse().map_err(|_| invalid("a number is too large"))?)
                } else {
                    LocalSeg::Str(seg.to_string())
                });
            }
            c.i = lower.len();
        }
        if c.i != lower.len() {
            return Err(invalid(
                "unexpected text; see PEP 440 for the version grammar",
            ));
        }
        Ok(v)
    }

    /// Whether this is a pre-release or dev release.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// The public version (without the local part) compares equal to `other`'s.
    pub fn public_eq(&self, other: &Self) -> bool {
        self.key_public(other) == Ordering::Equal
    }

    fn release_cmp(&self, other: &Self) -> Ordering {
        let n = self.release.len().max(other.release.len());
        for k in 0..n {
            let a = self.release.get(k).copied().unwrap_or(0);
            let b = other.release.get(k).copied().unwrap_or(0);
            if a != b {
                return a.cmp(&b);
            }
        }
        Ordering::Equal
    }

    /// Sort key of the pre-release slot: dev-only releases sort below every pre-release.
    fn pre_key(&self) -> (i8, Option<(PreKind, u64)>) {
        match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (-1, None),
            (None, _, _) => (1, None),
            (Some(p), _, _) => (0, Some(p)),
        }
    }

    fn key_public(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.release_cmp(other))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| match (self.post, other.post) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(&b),
            })
            .then_with(|| match (self.dev, other.dev) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(&b),
            })
    }
}

impl fmt::Display for Pep440Version {
    /// The normalised form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}!", self.epoch)?;
        }
        let rel: Vec<String> = self.release.iter().map(u64::to_string).collect();
        f.write_str(&rel.join("."))?;
        if let Some((k, n)) = self.pre {
            let k = match k {
                PreKind::Alpha => "a",
                PreKind::Beta => "b",
                PreKind::Rc => "rc",
            };
            write!(f, "{k}{n}")?;
        }
        if let Some(n) = self.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = self.dev {
            write!(f, ".dev{n}")?;
        }
        if !self.local.is_empty() {
            let segs: Vec<String> = self
                .local
                .iter()
                .map(|s| match s {
                    LocalSeg::Num(n) => n.to_string(),
                    LocalSeg::Str(s) => s.clone(),
                })
                .collect();
            write!(f, "+{}", segs.join("."))?;
        }
        Ok(())
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key_public(other)
            .then_with(|| self.local.cmp(&other.local))
    }
}
impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Pep440Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Pep440Version {}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pep440Version {
        Pep440Version::parse(s).unwrap()
    }

    #[test]
    fn pep440_examples() {
        let chain = [
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ];
        for w in chain.windows(2) {
            assert!(p(w[0]) < p(w[1]), "{w:?}");
        }
        assert_eq!(p("1.0-1"), p("1.0.post1"));
        assert_eq!(p("1.0ALPHA"), p("1.0a0"));
        assert_eq!(p("v1.0.preview-2"), p("1.0rc2"));
        assert_eq!(p("1!1.0").to_string(), "1!1.0");
        assert_eq!(p("1.0-r4_dev").to_string(), "1.0.post4.dev0");
        for bad in ["", "abc", "1.0+", "1.0+a..b", "1.0 junk", "1.0a1b2"] {
            assert!(Pep440Version::parse(bad).is_err(), "{bad}");
        }
    }
}

/// A PyPI version: PEP 440, or a legacy version ordered the setuptools way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PypiVersion {
    /// A valid PEP 440 version.
    Pep440(Pep440Version),
    /// Anything else, kept as its comparison key.
    Legacy(Vec<String>),
}

/// `packaging.version.LegacyVersion`'s key: numbers zero-padded to 8, words prefixed `*`,
/// `pre`/`preview`/`rc` → `c`, `dev` → `@`, `-` → `final-`; trailing zeros dropped per run.
fn legacy_key(s: &str) -> Vec<String> {
    let lower = s.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut raw: Vec<String> = Vec::new();
    let mut i = 0;
    let mut other = String::new();
    while i < b.len() {
        let c = b[i];
        let tok = if c.is_ascii_digit() {
            let st = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            Some(lower[st..i].to_string())
        } else if c.is_ascii_lowercase() {
            let st = i;
            while i < b.len() && b[i].is_ascii_lowercase() {
                i += 1;
            }
            Some(lower[st..i].to_string())
        } else if c == b'.' || c == b'-' {
            i += 1;
            Some((c as char).to_string())
        } else {
            // `re.split` keeps unmatched text between separators as its own piece.
            let ch = lower[i..].chars().next().unwrap_or('?');
            other.push(ch);
            i += ch.len_utf8();
            None
        };
        if let Some(t) = tok {
            if !other.is_empty() {
                raw.push(std::mem::take(&mut other));
            }
            raw.push(t);
        }
    }
    if !other.is_empty() {
        raw.push(other);
    }
    let mut parts: Vec<String> = Vec::new();
    let mapped = raw.into_iter().map(|p| match p.as_str() {
        "pre" | "preview" | "rc" => "c".to_string(),
        "-" => "final-".to_string(),
        "dev" => "@".to_string(),
        _ => p,
    });
    let push = |part: String, parts: &mut Vec<String>| {
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|l| l == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|l| l == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    };
    for p in mapped {
        if p.is_empty() || p == "." {
            continue;
        }
        let part = if p.as_bytes()[0].is_ascii_digit() {
            format!("{p:0>8}")
        } else {
            format!("*{p}")
        };
        push(part, &mut parts);
    }
    push("*final".to_string(), &mut parts);
    parts
}

impl PypiVersion {
    /// Parses as PEP 440, falling back to a legacy version; only empty input is an error.
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.trim().is_empty() {
            return Err(Error::invalid("PyPI", s, "the version is empty"));
        }
        Ok(match Pep440Version::parse(s) {
            Ok(v) => PypiVersion::Pep440(v),
            Err(_) => PypiVersion::Legacy(legacy_key(s.trim())),
        })
    }
}

impl Ord for PypiVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PypiVersion::Pep440(a), PypiVersion::Pep440(b)) => a.cmp(b),
            (PypiVersion::Legacy(_), PypiVersion::Pep440(_)) => Ordering::Less,
            (PypiVersion::Pep440(_), PypiVersion::Legacy(_)) => Ordering::Greater,
            (PypiVersion::Legacy(a), PypiVersion::Legacy(b)) => a.cmp(b),
        }
    }
}
impl PartialOrd for PypiVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
