//! RubyGems versions (`Gem::Version`).
//!
//! Traps:
//! - Segments are runs of digits or letters (`1.0.a10` is `1, 0, "a", 10`); a letter segment
//!   makes the version a pre-release and sorts before any number (`1.0.a < 1.0`).
//! - `-` means `.pre.` (`1.0-1` is `1.0.pre.1`).
//! - Trailing zeros of the numeric part and of the pre-release part are dropped before
//!   comparing (`1.0 = 1`, `1.0.a = 1.a`).

use std::cmp::Ordering;
use std::fmt;

use crate::Error;
use crate::semver::cmp_digits;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Num(String),
    Str(String),
}

/// A parsed RubyGems version.
#[derive(Debug, Clone)]
pub struct GemVersion {
    original: String,
    /// Segments as written (for `~>` bumps).
    segments: Vec<Seg>,
    /// Segments with trailing zeros dropped (for ordering).
    canonical: Vec<Seg>,
}

fn is_zero(s: &Seg) -> bool {
    matches!(s, Seg::Num(n) if n.is_empty())
}

impl GemVersion {
    /// Parses what `Gem::Version.correct?` accepts.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::invalid("RubyGems", s, why);
        let t = s.trim();
        let t = if t.is_empty() { "0" } else { t };
        if !t.as_bytes()[0].is_ascii_digit() {
            return Err(invalid("it must start with a number"));
        }
        let (main, pre) = match t.split_once('-') {
            Some((m, p)) => (m, Some(p)),
            None => (t, None),
        };
        // Gem::Version itself wants `1.beta`, but real gems and advisories also write `1beta`;
        // segments are runs of digits or letters either way.
        if !main
            .split('.')
            .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(invalid(
                "malformed version; expected digits and letters separated by dots",
            ));
        }
        if let Some(p) = pre
            && p.split('.')
                .any(|x| x.is_empty() || !x.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err(invalid("malformed pre-release after `-`"));
        }
        let full = match pre {
            Some(p) => format!("{main}.pre.{}", p.replace('-', ".pre.")),
            None => main.to_string(),
        };
        let mut segs = Vec::new();
        let b = full.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let start = i;
            if b[i].is_ascii_digit() {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                segs.push(Seg::Num(full[start..i].trim_start_matches('0').to_string()));
            } else if b[i].is_ascii_alphabetic() {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                segs.push(Seg::Str(full[start..i].to_string()));
            } else {
                i += 1;
            }
        }
        // Gem::Version#canonical_segments: drop trailing zeros of both halves.
        let segments = segs.clone();
        let split = segs
            .iter()
            .position(|s| matches!(s, Seg::Str(_)))
            .unwrap_or(segs.len());
        let mut numeric: Vec<Seg> = segs[..split].to_vec();
        let mut string: Vec<Seg> = segs[split..].to_vec();
        while numeric.last().is_some_and(is_zero) {
            numeric.pop();
        }
        while string.last().is_some_and(is_zero) {
            string.pop();
        }
        numeric.extend(string);
        Ok(Self {
            original: t.to_string(),
            segments,
            canonical: numeric,
        })
    }

    /// Whether the version contains a letter.
    pub fn is_prerelease(&self) -> bool {
        self.canonical.iter().any(|s| matches!(s, Seg::Str(_)))
    }

    /// The numeric segments as written, before the first letter (for `~>` bumps).
    pub fn release_numbers(&self) -> Vec<String> {
        self.segments
            .iter()
            .take_while(|s| matches!(s, Seg::Num(_)))
            .map(|s| match s {
                Seg::Num(n) if n.is_empty() => "0".to_string(),
                Seg::Num(n) => n.clone(),
                Seg::Str(x) => x.clone(),
            })
            .collect()
    }
}

impl fmt::Display for GemVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl Ord for GemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Seg::Num(String::new());
        let n = self.canonical.len().max(other.canonical.len());
        for k in 0..n {
            let a = self.canonical.get(k).unwrap_or(&zero);
            let b = other.canonical.get(k).unwrap_or(&zero);
            let o = match (a, b) {
                (Seg::Num(x), Seg::Num(y)) => cmp_digits(x, y),
                (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
                (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
                (Seg::Str(x), Seg::Str(y)) => x.cmp(y),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}
impl PartialOrd for GemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for GemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for GemVersion {}
