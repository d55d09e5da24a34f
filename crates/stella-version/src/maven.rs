//! Maven versions, ordered like `org.apache.maven.artifact.versioning.ComparableVersion`.
//!
//! Traps:
//! - Items split on `.`, `-` and on every digit/letter transition; `-` (and a transition)
//!   opens a nested list, so `1-1 < 1.1` and `1.0-alpha` nests `alpha` one level down.
//! - Trailing "null" items (`0`, `""`, `final`, `ga`, `release`) are dropped before
//!   comparing, so `1.0.0 = 1 = 1-ga = 1.final`.
//! - Known qualifiers order `alpha < beta < milestone < rc = cr < snapshot < (release) < sp`;
//!   unknown qualifiers sort after `sp`, alphabetically; `a1`/`b1`/`m1` mean alpha/beta/milestone
//!   only when directly followed by a digit.
//! - Numbers beat qualifiers at the same position (`1.0.1 > 1.0-sp`), case is ignored, and
//!   numbers have no size limit.

use std::cmp::Ordering;
use std::fmt;

use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// Digits without leading zeros ("" is zero).
    Int(String),
    /// A qualifier, already mapped to its comparable form.
    Str(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_INDEX: &str = "5";

fn comparable_qualifier(q: &str) -> String {
    match QUALIFIERS.iter().position(|x| *x == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{q}", QUALIFIERS.len()),
    }
}

fn string_item(s: &str, followed_by_digit: bool) -> Item {
    let s = if followed_by_digit && s.len() == 1 {
        match s {
            "a" => "alpha",
            "b" => "beta",
            "m" => "milestone",
            other => other,
        }
    } else {
        s
    };
    let s = match s {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Str(comparable_qualifier(s))
}

fn parse_item(s: &str, is_digit: bool, followed_by_digit: bool) -> Item {
    if is_digit {
        Item::Int(s.trim_start_matches('0').to_string())
    } else {
        string_item(s, followed_by_digit)
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(s) => s.is_empty(),
            Item::Str(s) => s == RELEASE_INDEX,
            Item::List(l) => l.is_empty(),
        }
    }

    /// `self` compared with "nothing" at the same position.
    fn cmp_null(&self) -> Ordering {
        match self {
            Item::Int(s) => {
                if s.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            Item::Str(s) => s.as_str().cmp(RELEASE_INDEX),
            Item::List(l) => l.first().map_or(Ordering::Equal, Item::cmp_null),
        }
    }

    fn cmp_item(&self, other: &Item) -> Ordering {
        use Item::*;
        match (self, other) {
            (Int(a), Int(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Int(_), _) => Ordering::Greater,
            (Str(_), Int(_)) => Ordering::Less,
            (Str(a), Str(b)) => a.cmp(b),
            (Str(_), List(_)) => Ordering::Less,
            (List(_), Int(_)) => Ordering::Less,
            (List(_), Str(_)) => Ordering::Greater,
            (List(a), List(b)) => {
                let n = a.len().max(b.len());
                for k in 0..n {
                    let o = match (a.get(k), b.get(k)) {
                        (Some(l), Some(r)) => l.cmp_item(r),
                        (Some(l), None) => l.cmp_null(),
                        (None, Some(r)) => r.cmp_null().reverse(),
                        (None, None) => Ordering::Equal,
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            }
        }
    }
}

/// Drops null items from the end; a non-null list does not stop the scan (Maven's rule), so
/// `1.0-alpha` loses its `0` and equals `1-alpha`.
fn normalize(list: &mut Vec<Item>, is_root: bool) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
    // A hyphen list that lost its leading null (`1-ga-1`) is the inner list itself, as the
    // Maven version-order specification trims nulls "at each remaining hyphen".
    if !is_root
        && list.len() == 1
        && let Item::List(inner) = &list[0]
    {
        let inner = inner.clone();
        *list = inner;
    }
}

/// A parsed Maven version.
#[derive(Debug, Clone)]
pub struct MavenVersion {
    original: String,
    items: Vec<Item>,
}

/// Builder for nested lists: a path of open lists, innermost last.
struct Builder {
    stack: Vec<Vec<Item>>,
}

impl Builder {
    fn push(&mut self, item: Item) {
        if let Some(top) = self.stack.last_mut() {
            top.push(item);
        }
    }
    fn open(&mut self) {
        self.stack.push(Vec::new());
    }
    fn finish(mut self) -> Vec<Item> {
        while self.stack.len() > 1 {
            let mut inner = self.stack.pop().unwrap_or_default();
            normalize(&mut inner, false);
            self.push(Item::List(inner));
        }
        let mut root = self.stack.pop().unwrap_or_default();
        normalize(&mut root, true);
        root
    }
}

impl MavenVersion {
    /// Parses any non-empty string, as Maven does (every string is a version to Maven).
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.trim().is_empty() {
            return Err(Error::invalid("Maven", s, "the version is empty"));
        }
        let v = s.trim().to_ascii_lowercase();
        let b = v.as_bytes();
        let mut bl = Builder {
            stack: vec![Vec::new()],
        };
        let mut is_digit = false;
        let mut start = 0;
        for (i, &c) in b.iter().enumerate() {
            match c {
                b'.' | b'-' => {
                    if i == start {
                        bl.push(Item::Int(String::new()));
                    } else {
                        bl.push(parse_item(&v[start..i], is_digit, false));
                    }
                    start = i + 1;
                    if c == b'-' {
                        bl.open();
                    }
                }
                b'0'..=b'9' => {
                    if !is_digit && i > start {
                        bl.push(string_item(&v[start..i], true));
                        start = i;
                        bl.open();
                    }
                    is_digit = true;
                }
                _ => {
                    if is_digit && i > start {
                        bl.push(parse_item(&v[start..i], true, false));
                        start = i;
                        bl.open();
                    }
                    is_digit = false;
                }
            }
        }
        if b.len() > start {
            bl.push(parse_item(&v[start..], is_digit, false));
        }
        Ok(Self {
            original: s.trim().to_string(),
            items: bl.finish(),
        })
    }
}

impl fmt::Display for MavenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        Item::List(self.items.clone()).cmp_item(&Item::List(other.items.clone()))
    }
}
impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for MavenVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> MavenVersion {
        MavenVersion::parse(s).unwrap()
    }

    #[test]
    fn comparable_version_suite() {
        // The VERSIONS_QUALIFIER list of Maven's ComparableVersionTest.
        let q = [
            "1-alpha2snapshot",
            "1-alpha2",
            "1-alpha-123",
            "1-beta-2",
            "1-beta123",
            "1-m2",
            "1-m11",
            "1-rc",
            "1-cr2",
            "1-rc123",
            "1-SNAPSHOT",
            "1",
            "1-sp",
            "1-sp2",
            "1-sp123",
            "1-abc",
            "1-def",
            "1-pom-1",
            "1-1-snapshot",
            "1-1",
            "1-2",
            "1-123",
        ];
        for w in q.windows(2) {
            assert!(p(w[0]) < p(w[1]), "{w:?}");
        }
        for (a, b) in [
            ("1", "1.0"),
            ("1", "1.0.0"),
            ("1", "1-0"),
            ("1a", "1-a"),
            ("1a", "1.0-a"),
            ("1x", "1-x"),
            ("1.0-ga", "1"),
            ("1.final", "1"),
            ("1cr", "1rc"),
            ("1m3", "1milestone3"),
        ] {
            assert_eq!(p(a), p(b), "{a} = {b}");
        }
    }
}
