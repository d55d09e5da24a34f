//! Native constraints as OSV ranges: `vulnerable` minus `patched` (the Node.js security WG
//! states both as node-semver ranges) computed on intervals, then written as events.
//!
//! Traps: an upper bound that came from a patched range's start is a *fix*; one that came from
//! the vulnerable range's end (`8.x` ends before `9.0.0-0`) is only a limit; OSV cannot say
//! "after v, exclusive" at the start of a range, so such a piece is refused rather than
//! widened to include `v`; `!=` makes no interval.

use std::cmp::Ordering;

use stella_version::Scheme;
use stella_version::constraint::{Cmp, Constraint, Op};

use crate::model::{Range, RangeEvent, RangeKind};

#[derive(Debug, Clone, PartialEq)]
struct Bound {
    v: String,
    inclusive: bool,
    /// An upper bound that is the start of a patched range.
    fix: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Interval {
    lo: Option<Bound>,
    hi: Option<Bound>,
}

fn cmp(s: Scheme, a: &str, b: &str) -> Result<Ordering, String> {
    s.compare(a, b).map_err(|e| e.to_string())
}

fn from_and(s: Scheme, cmps: &[Cmp]) -> Result<Interval, String> {
    let mut iv = Interval { lo: None, hi: None };
    for c in cmps {
        let (lo, hi) = match c.op {
            Op::Ge | Op::Gt => (Some(c.op == Op::Ge), None),
            Op::Le | Op::Lt => (None, Some(c.op == Op::Le)),
            Op::Eq => (Some(true), Some(true)),
            Op::Ne | Op::Identical => return Err(format!("`{c}` makes no interval")),
        };
        if let Some(inclusive) = lo {
            let b = Bound {
                v: c.version.clone(),
                inclusive,
                fix: false,
            };
            iv.lo = Some(match iv.lo.take() {
                None => b,
                Some(old) => match cmp(s, &b.v, &old.v)? {
                    Ordering::Greater => b,
                    Ordering::Less => old,
                    Ordering::Equal if !b.inclusive => b,
                    Ordering::Equal => old,
                },
            });
        }
        if let Some(inclusive) = hi {
            let b = Bound {
                v: c.version.clone(),
                inclusive,
                fix: false,
            };
            iv.hi = Some(match iv.hi.take() {
                None => b,
                Some(old) => match cmp(s, &b.v, &old.v)? {
                    Ordering::Less => b,
                    Ordering::Greater => old,
                    Ordering::Equal if !b.inclusive => b,
                    Ordering::Equal => old,
                },
            });
        }
    }
    Ok(iv)
}

fn is_empty(s: Scheme, iv: &Interval) -> Result<bool, String> {
    Ok(match (&iv.lo, &iv.hi) {
        (Some(l), Some(h)) => match cmp(s, &l.v, &h.v)? {
            Ordering::Greater => true,
            Ordering::Equal => !(l.inclusive && h.inclusive),
            Ordering::Less => false,
        },
        _ => false,
    })
}

/// `a` minus `b`.
fn subtract(s: Scheme, a: &Interval, b: &Interval) -> Result<Vec<Interval>, String> {
    let mut out = Vec::new();
    // the part of `a` below `b`
    if let Some(bl) = &b.lo {
        let piece = Interval {
            lo: a.lo.clone(),
            hi: Some(min_hi(
                s,
                a.hi.clone(),
                Bound {
                    v: bl.v.clone(),
                    inclusive: !bl.inclusive,
                    fix: true,
                },
            )?),
        };
        if !is_empty(s, &piece)? {
            out.push(piece);
        }
    }
    // the part of `a` above `b`
    if let Some(bh) = &b.hi {
        let piece = Interval {
            lo: Some(max_lo(
                s,
                a.lo.clone(),
                Bound {
                    v: bh.v.clone(),
                    inclusive: !bh.inclusive,
                    fix: false,
                },
            )?),
            hi: a.hi.clone(),
        };
        if !is_empty(s, &piece)? {
            out.push(piece);
        }
    }
    Ok(out)
}

fn min_hi(s: Scheme, a: Option<Bound>, b: Bound) -> Result<Bound, String> {
    Ok(match a {
        None => b,
        Some(a) => match cmp(s, &a.v, &b.v)? {
            Ordering::Less => a,
            Ordering::Greater => b,
            Ordering::Equal if !b.inclusive => b,
            Ordering::Equal => a,
        },
    })
}

fn max_lo(s: Scheme, a: Option<Bound>, b: Bound) -> Result<Bound, String> {
    Ok(match a {
        None => b,
        Some(a) => match cmp(s, &a.v, &b.v)? {
            Ordering::Greater => a,
            Ordering::Less => b,
            Ordering::Equal if !b.inclusive => b,
            Ordering::Equal => a,
        },
    })
}

/// The versions in `vulnerable` and not in `patched` (both in `scheme`'s native syntax; an
/// empty `patched` subtracts nothing), as OSV ranges.
pub fn affected_ranges(
    scheme: Scheme,
    vulnerable: &str,
    patched: &str,
) -> Result<Vec<Range>, String> {
    let v = Constraint::parse(scheme, vulnerable).map_err(|e| e.to_string())?;
    let mut pieces = Vec::new();
    for and in &v.any_of {
        let iv = from_and(scheme, and)?;
        if !is_empty(scheme, &iv)? {
            pieces.push(iv);
        }
    }
    if !patched.trim().is_empty() {
        let p = Constraint::parse(scheme, patched).map_err(|e| e.to_string())?;
        for and in &p.any_of {
            let cut = from_and(scheme, and)?;
            let mut next = Vec::new();
            for piece in &pieces {
                next.extend(subtract(scheme, piece, &cut)?);
            }
            pieces = next;
        }
    }
    let mut ranges = Vec::new();
    for iv in pieces {
        let introduced = match iv.lo {
            None => "0".to_string(),
            Some(b) if b.inclusive => b.v,
            Some(b) => {
                return Err(format!(
                    "a range starting after `{}` cannot be written",
                    b.v
                ));
            }
        };
        let mut events = vec![RangeEvent::Introduced(introduced)];
        match iv.hi {
            None => {}
            Some(b) if b.inclusive => events.push(RangeEvent::LastAffected(b.v)),
            Some(b) if b.fix => events.push(RangeEvent::Fixed(b.v)),
            Some(b) => events.push(RangeEvent::Limit(b.v)),
        }
        ranges.push(Range {
            kind: RangeKind::Ecosystem,
            events,
        });
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stella_version::range::{Affected, is_affected};

    fn check(vulnerable: &str, patched: &str, cases: &[(&str, bool)]) {
        let ranges = affected_ranges(Scheme::Npm, vulnerable, patched).unwrap();
        let osv: Vec<_> = ranges.iter().map(|r| r.to_osv().unwrap()).collect();
        let v = Constraint::parse(Scheme::Npm, vulnerable).unwrap();
        let p = Constraint::parse(Scheme::Npm, patched).unwrap();
        for (ver, want) in cases {
            // the ranges say what the two constraints say
            let direct = v.contains(ver).unwrap() && !p.contains(ver).unwrap();
            assert_eq!(direct, *want, "constraints on {ver}");
            let got = is_affected(Scheme::Npm, ver, &osv, &[]).unwrap() == Affected::Yes;
            assert_eq!(got, *want, "{ver} in {ranges:?}");
        }
    }

    #[test]
    fn vulnerable_minus_patched() {
        check(
            "6.x || 4.x || 5.x",
            "^6.7.0 || ^4.6.0",
            &[
                ("4.5.9", true),
                ("4.6.0", false),
                ("4.9.1", false),
                ("5.12.0", true),
                ("6.6.9", true),
                ("6.7.0", false),
                ("7.0.0", false),
                ("3.9.9", false),
            ],
        );
        let r = affected_ranges(Scheme::Npm, "<=1.5.1", ">=1.5.2").unwrap();
        assert_eq!(
            r[0].events,
            [
                RangeEvent::Introduced("0".into()),
                RangeEvent::LastAffected("1.5.1".into())
            ]
        );
        let r = affected_ranges(Scheme::Npm, "6.x", "^6.7.0").unwrap();
        assert_eq!(r[0].fixed_versions().collect::<Vec<_>>(), ["6.7.0"]);
        check(
            "*",
            ">=2.0.0 <3.0.0 || >=3.1.0",
            &[
                ("1.0.0", true),
                ("2.5.0", false),
                ("3.0.5", true),
                ("3.1.0", false),
            ],
        );
        assert!(affected_ranges(Scheme::Npm, "*", "<=1.0.0").is_err());
    }
}
