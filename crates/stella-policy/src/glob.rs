//! Glob patterns for package URLs and image references: `*` (any run), `?` (one character),
//! `[abc]`, `[a-z]`, `[!x]`; everything else literal. Matching is iterative (no backtracking
//! blow-up on hostile patterns).

/// A checked pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    parts: Vec<Part>,
    /// The literal text before the first wildcard: a quick "no" for most strings.
    prefix: String,
    /// No wildcard at all: plain equality.
    exact: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    /// Parses a pattern; the error says what is wrong with it.
    pub fn new(text: &str) -> Result<Glob, String> {
        if text.is_empty() {
            return Err("an empty pattern matches nothing; use `*` for everything".into());
        }
        let mut parts = Vec::new();
        let mut it = text.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                '*' => {
                    if parts.last() != Some(&Part::Star) {
                        parts.push(Part::Star);
                    }
                }
                '?' => parts.push(Part::Any),
                '[' => {
                    let negated = it.next_if(|&c| c == '!' || c == '^').is_some();
                    let mut ranges = Vec::new();
                    let mut closed = false;
                    let mut first = true;
                    while let Some(c) = it.next() {
                        if c == ']' && !first {
                            closed = true;
                            break;
                        }
                        first = false;
                        if it.peek() == Some(&'-') {
                            it.next();
                            match it.next() {
                                Some(']') => {
                                    ranges.push((c, c));
                                    ranges.push(('-', '-'));
                                    closed = true;
                                    break;
                                }
                                Some(hi) if hi >= c => ranges.push((c, hi)),
                                Some(hi) => {
                                    return Err(format!("the range `{c}-{hi}` is backwards"));
                                }
                                None => break,
                            }
                        } else {
                            ranges.push((c, c));
                        }
                    }
                    if !closed {
                        return Err(format!("`[` without its `]` in `{text}`"));
                    }
                    parts.push(Part::Class { negated, ranges });
                }
                c => parts.push(Part::Lit(c)),
            }
        }
        let prefix: String = parts
            .iter()
            .map_while(|p| match p {
                Part::Lit(c) => Some(*c),
                _ => None,
            })
            .collect();
        let exact = prefix.chars().count() == parts.len();
        Ok(Glob {
            text: text.to_string(),
            parts,
            prefix,
            exact,
        })
    }

    /// Whether the pattern has no wildcard (it matches only itself).
    pub fn is_literal(&self) -> bool {
        self.exact
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `s` matches the whole pattern.
    pub fn matches(&self, s: &str) -> bool {
        if self.exact {
            return s == self.text;
        }
        if !s.starts_with(&self.prefix) {
            return false;
        }
        let p = &self.parts;
        // positions in `s` are byte offsets at character boundaries
        let (mut pi, mut si) = (0usize, 0usize);
        // the last `*` seen and where in `s` it was tried: on a mismatch, let it eat one more
        let mut back: Option<(usize, usize)> = None;
        while let Some(c) = s[si..].chars().next() {
            let step = match p.get(pi) {
                Some(Part::Star) => {
                    back = Some((pi, si));
                    pi += 1;
                    continue;
                }
                Some(Part::Any) => true,
                Some(Part::Lit(l)) => *l == c,
                Some(Part::Class { negated, ranges }) => {
                    ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
                }
                None => false,
            };
            if step {
                pi += 1;
                si += c.len_utf8();
            } else if let Some((bp, bs)) = back {
                let eaten = s[bs..].chars().next().map_or(1, char::len_utf8);
                pi = bp + 1;
                si = bs + eaten;
                back = Some((bp, si));
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|x| *x == Part::Star)
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;
    use proptest::prelude::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).unwrap().matches(s)
    }

    #[test]
    fn patterns() {
        assert!(m(
            "pkg:deb/debian/openssl*",
            "pkg:deb/debian/openssl@3.0.11-1?arch=amd64"
        ));
        assert!(!m(
            "pkg:deb/debian/openssl*",
            "pkg:deb/debian/libssl3@3.0.11-1"
        ));
        assert!(m("*", ""));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("CVE-202?-*", "CVE-2023-1234"));
        assert!(m("[a-c]x", "bx") && !m("[!a-c]x", "bx") && m("[!a-c]x", "dx"));
        assert!(m("[]]", "]") && m("[a-]", "-"));
        assert!(m(
            "registry.example.com/team/*",
            "registry.example.com/team/app:1.0"
        ));
        assert!(Glob::new("[abc").is_err());
        assert!(Glob::new("[z-a]").is_err());
        assert!(Glob::new("").is_err());
        // hostile pattern: linear-ish, not exponential
        let long = "a".repeat(2000);
        assert!(!m(&format!("{}b", "*a".repeat(50)), &long));
    }

    /// The reference: a plain recursive matcher for `*`, `?` and literals.
    fn reference(p: &[char], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('*', rest)) => (0..=s.len()).any(|i| reference(rest, &s[i..])),
            Some(('?', rest)) => !s.is_empty() && reference(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && reference(rest, &s[1..]),
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference(p in "[ab*?]{1,8}", s in "[ab]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let sc: Vec<char> = s.chars().collect();
            prop_assert_eq!(Glob::new(&p).unwrap().matches(&s), reference(&pc, &sc));
        }

        #[test]
        fn never_panics(p in "\\PC{0,20}", s in "\\PC{0,20}") {
            if let Ok(g) = Glob::new(&p) {
                let _ = g.matches(&s);
            }
        }
    }
}
