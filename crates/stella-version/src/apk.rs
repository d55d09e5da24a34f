//! Alpine package versions (`apk version -t`), also used by Wolfi and Chainguard.
//!
//! Grammar: `digit{.digit}...{letter}{_suffix{digits}}...{~hash}{-r#}`, tokenised left to right.
//! Traps:
//! - Suffix order is `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`,
//!   so `1.2_rc1 < 1.2 < 1.2_p1`; an unknown suffix makes the rest of the string invalid.
//! - A numeric component after a dot that starts with `0` compares as a *string*
//!   (`1.01 < 1.1`, `8.2.0015 < 8.2.002`), the first component always numerically.
//! - One lower-case letter may follow the numbers (`1.2.3b`); an upper-case letter is invalid.
//! - `-rN` is the package revision; a missing revision equals `-r0`.
//! - When all tokens so far are equal, the side that goes on is greater unless its next token
//!   is a pre-release suffix; a side whose next token is *invalid* sorts below one that ends.
//!   This is apk-tools 2.12+ behaviour; the 3.x-era tokenizer ordered invalid tails the other
//!   way (`1 > 1-ruff` now, `<` then).
//! - Invalid versions still get an order (apk accepts them in `apk version -t`), so parsing
//!   never fails on content; [`ApkVersion::is_valid`] says whether apk would accept it.
//!   apk releases disagree on invalid versions (2.x tokenises `1.2p3` and `0..1`, 3.x stops at
//!   them); when either side is invalid we use the lenient component model of the OSV
//!   tooling (numbers, letter, suffixes, `-rN`, then the unparsed rest; two invalid versions
//!   compare as strings), which the shared vectors pin down. Valid versions always use apk's
//!   own tokenizer.

use std::cmp::Ordering;
use std::fmt;

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffix ranks; `NONE` is the pivot between pre- and post-release suffixes.
const SUFFIX_NONE: u8 = 5;

fn suffix_value(s: &[u8]) -> Option<u8> {
    Some(match s {
        b"alpha" => 1,
        b"beta" => 2,
        b"pre" => 3,
        b"rc" => 4,
        b"cvs" => 6,
        b"svn" => 7,
        b"git" => 8,
        b"hg" => 9,
        b"p" => 10,
        _ => return None,
    })
}

#[derive(Clone, Copy)]
struct Token<'a> {
    tok: Tok,
    suffix: u8,
    value: &'a [u8],
}

struct Lexer<'a> {
    rest: &'a [u8],
    cur: Token<'a>,
}

impl<'a> Lexer<'a> {
    fn new(s: &'a [u8]) -> Self {
        let mut lx = Lexer {
            rest: s,
            cur: Token {
                tok: Tok::InitialDigit,
                suffix: 0,
                value: b"",
            },
        };
        lx.digits(Tok::InitialDigit);
        lx
    }

    fn digits(&mut self, tok: Tok) {
        let n = self.rest.iter().take_while(|c| c.is_ascii_digit()).count();
        self.cur.value = &self.rest[..n];
        self.rest = &self.rest[n..];
        self.cur.tok = if n == 0 { Tok::Invalid } else { tok };
    }

    fn advance(&mut self) {
        let prev = self.cur.tok;
        let Some(&c) = self.rest.first() else {
            self.cur.tok = Tok::End;
            return;
        };
        match c {
            b'a'..=b'z' if prev <= Tok::Digit => {
                self.cur.value = &self.rest[..1];
                self.cur.tok = Tok::Letter;
                self.rest = &self.rest[1..];
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if prev > Tok::Digit {
                        self.cur.tok = Tok::Invalid;
                        return;
                    }
                    self.rest = &self.rest[1..];
                }
                let next = match prev {
                    Tok::InitialDigit | Tok::Digit => Tok::Digit,
                    Tok::Suffix => Tok::SuffixNo,
                    _ => {
                        self.cur.tok = Tok::Invalid;
                        return;
                    }
                };
                self.digits(next);
            }
            b'_' if prev <= Tok::SuffixNo => {
                self.rest = &self.rest[1..];
                let n = self
                    .rest
                    .iter()
                    .take_while(|c| c.is_ascii_lowercase())
                    .count();
                self.cur.value = &self.rest[..n];
                self.rest = &self.rest[n..];
                match suffix_value(self.cur.value) {
                    Some(v) => {
                        self.cur.suffix = v;
                        self.cur.tok = Tok::Suffix;
                    }
                    None => self.cur.tok = Tok::Invalid,
                }
            }
            b'~' if prev < Tok::CommitHash => {
                self.rest = &self.rest[1..];
                let n = self
                    .rest
                    .iter()
                    .take_while(|c| c.is_ascii_hexdigit())
                    .count();
                self.cur.value = &self.rest[..n];
                self.rest = &self.rest[n..];
                self.cur.tok = if n == 0 {
                    Tok::Invalid
                } else {
                    Tok::CommitHash
                };
            }
            b'-' if prev < Tok::RevisionNo && self.rest.starts_with(b"-r") => {
                self.rest = &self.rest[2..];
                self.digits(Tok::RevisionNo);
            }
            _ => self.cur.tok = Tok::Invalid,
        }
    }
}

/// Compares two digit strings as unbounded non-negative integers.
fn cmp_numeric(a: &[u8], b: &[u8]) -> Ordering {
    let a = &a[a.iter().take_while(|&&c| c == b'0').count()..];
    let b = &b[b.iter().take_while(|&&c| c == b'0').count()..];
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn token_cmp(a: &Token<'_>, b: &Token<'_>) -> Ordering {
    match a.tok {
        Tok::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => {
            a.value.cmp(b.value)
        }
        Tok::Digit | Tok::InitialDigit | Tok::SuffixNo | Tok::RevisionNo => {
            cmp_numeric(a.value, b.value)
        }
        Tok::Letter => a.value.cmp(b.value),
        Tok::Suffix => a.suffix.cmp(&b.suffix),
        _ => a.value.cmp(b.value),
    }
}

fn valid(s: &str) -> bool {
    let mut lx = Lexer::new(s.as_bytes());
    while lx.cur.tok < Tok::End {
        lx.advance();
    }
    lx.cur.tok == Tok::End
}

/// An Alpine version borrowing from its source string (no allocation).
#[derive(Debug, Clone, Copy)]
pub struct ApkVersion<'a>(&'a str, bool);

impl<'a> ApkVersion<'a> {
    /// Accepts any non-empty string without white space, as `apk version -t` does.
    pub fn parse(s: &'a str) -> Result<Self, Error> {
        if s.is_empty() {
            return Err(Error::invalid("Alpine", s, "the version is empty"));
        }
        if s.bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(Error::invalid("Alpine", s, "it contains white space"));
        }
        Ok(Self(s, valid(s)))
    }

    /// Parses and also requires the version to be valid by apk's grammar.
    pub fn parse_strict(s: &'a str) -> Result<Self, Error> {
        let v = Self::parse(s)?;
        if !v.is_valid() {
            return Err(Error::invalid(
                "Alpine",
                s,
                "it does not follow `digit{.digit}{letter}{_suffix{N}}{~hash}{-rN}`",
            ));
        }
        Ok(v)
    }

    /// Whether apk's grammar accepts this version.
    pub fn is_valid(&self) -> bool {
        self.1
    }

    /// The version text.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

impl fmt::Display for ApkVersion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Ord for ApkVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        if !self.is_valid() || !other.is_valid() {
            return lenient::compare(self.0, other.0);
        }
        let mut a = Lexer::new(self.0.as_bytes());
        let mut b = Lexer::new(other.0.as_bytes());
        while a.cur.tok == b.cur.tok && a.cur.tok < Tok::End {
            match token_cmp(&a.cur, &b.cur) {
                Ordering::Equal => {}
                o => return o,
            }
            a.advance();
            b.advance();
        }
        let (ta, tb) = (a.cur, b.cur);
        if ta.tok == tb.tok {
            return Ordering::Equal;
        }
        if ta.tok == Tok::Suffix && ta.suffix < SUFFIX_NONE {
            return Ordering::Less;
        }
        if tb.tok == Tok::Suffix && tb.suffix < SUFFIX_NONE {
            return Ordering::Greater;
        }
        // The token kind that comes later in the grammar means "ended earlier", hence smaller.
        tb.tok.cmp(&ta.tok)
    }
}
impl PartialOrd for ApkVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for ApkVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ApkVersion<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        ApkVersion::parse(a)
            .unwrap()
            .cmp(&ApkVersion::parse(b).unwrap())
    }

    #[test]
    fn apk_tools_cases() {
        assert_eq!(cmp("1.1.1c-r0", "1.1.1d-r0"), Ordering::Less);
        assert_eq!(cmp("1.2_rc1", "1.2"), Ordering::Less);
        assert_eq!(cmp("1.2_p1", "1.2"), Ordering::Greater);
        assert_eq!(cmp("8.2.0015", "8.2.002"), Ordering::Less);
        assert_eq!(cmp("1.0-r0", "1.0"), Ordering::Greater);
        assert_eq!(cmp("2.34", "0.1.0_alpha"), Ordering::Greater);
        assert!(
            ApkVersion::parse("1.2.3_git20200101~abc123-r4")
                .unwrap()
                .is_valid()
        );
        assert!(!ApkVersion::parse("1.2A").unwrap().is_valid());
    }
}

/// The lenient model used when a version is not valid apk syntax.
mod lenient {
    use std::cmp::Ordering;

    use super::cmp_numeric;

    struct Parsed<'a> {
        original: &'a str,
        invalid: bool,
        components: Vec<&'a str>,
        letter: Option<u8>,
        suffixes: Vec<(u8, &'a str)>,
        build: Option<&'a str>,
        remainder: &'a str,
    }

    fn weight(s: &str) -> u8 {
        match s {
            "alpha" => 0,
            "beta" => 1,
            "pre" => 2,
            "rc" => 3,
            "cvs" => 5,
            "svn" => 6,
            "git" => 7,
            "hg" => 8,
            _ => 9, // "p"
        }
    }
    const NO_SUFFIX: u8 = 4;

    fn parse(s: &str) -> Parsed<'_> {
        let b = s.as_bytes();
        let mut i = 0;
        let mut components = Vec::new();
        // ((\d+)\.?)*
        loop {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                break;
            }
            components.push(&s[start..i]);
            if i < b.len() && b[i] == b'.' {
                i += 1;
                if !(i < b.len() && b[i].is_ascii_digit()) {
                    components.push(&s[i..i]);
                    break;
                }
            }
        }
        let mut letter = None;
        if i < b.len() && b[i].is_ascii_lowercase() {
            letter = Some(b[i]);
            i += 1;
        }
        let mut suffixes = Vec::new();
        'outer: while i < b.len() && b[i] == b'_' {
            for w in ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"] {
                if s[i + 1..].starts_with(w) {
                    let ns = i + 1 + w.len();
                    let mut ne = ns;
                    while ne < b.len() && b[ne].is_ascii_digit() {
                        ne += 1;
                    }
                    suffixes.push((weight(w), &s[ns..ne]));
                    i = ne;
                    continue 'outer;
                }
            }
            break;
        }
        if i < b.len() && b[i] == b'~' {
            let mut j = i + 1;
            while j < b.len() && matches!(b[j], b'0'..=b'9' | b'a'..=b'f') {
                j += 1;
            }
            if j > i + 1 {
                i = j;
            }
        }
        let mut build = None;
        let mut invalid = false;
        if i < b.len() {
            if s[i..].starts_with("-r") {
                let ns = i + 2;
                let mut ne = ns;
                while ne < b.len() && b[ne].is_ascii_digit() {
                    ne += 1;
                }
                build = Some(&s[ns..ne]);
                i = ne;
            } else {
                invalid = true;
            }
        }
        Parsed {
            original: s,
            invalid,
            components,
            letter,
            suffixes,
            build,
            remainder: &s[i..],
        }
    }

    fn cmp_component(a: (usize, &str), b: (usize, &str)) -> Ordering {
        if a.0 != 0 && b.0 != 0 && (a.1.starts_with('0') || b.1.starts_with('0')) {
            return a.1.cmp(b.1);
        }
        cmp_numeric(a.1.as_bytes(), b.1.as_bytes())
    }

    pub(super) fn compare(a: &str, b: &str) -> Ordering {
        let (v, w) = (parse(a), parse(b));
        if v.invalid && w.invalid {
            return v.original.cmp(w.original);
        }
        let n = v.components.len().max(w.components.len());
        for k in 0..n {
            let x = v.components.get(k).map_or((0, "0"), |c| (k, *c));
            let y = w.components.get(k).map_or((0, "0"), |c| (k, *c));
            let o = cmp_component(x, y);
            if o != Ordering::Equal {
                return o;
            }
        }
        let o = match (v.letter, w.letter) {
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (x, y) => x.cmp(&y),
        };
        if o != Ordering::Equal {
            return o;
        }
        let n = v.suffixes.len().max(w.suffixes.len());
        for k in 0..n {
            let x = v.suffixes.get(k).copied().unwrap_or((NO_SUFFIX, "0"));
            let y = w.suffixes.get(k).copied().unwrap_or((NO_SUFFIX, "0"));
            let o =
                x.0.cmp(&y.0)
                    .then_with(|| cmp_numeric(x.1.as_bytes(), y.1.as_bytes()));
            if o != Ordering::Equal {
                return o;
            }
        }
        if let (Some(x), Some(y)) = (v.build, w.build) {
            let o = cmp_numeric(x.as_bytes(), y.as_bytes());
            if o != Ordering::Equal {
                return o;
            }
        }
        match (v.remainder.is_empty(), w.remainder.is_empty()) {
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => Ordering::Equal,
        }
    }
}
