//! Native version-constraint syntaxes: npm (node-semver), PEP 440 specifiers, Maven ranges,
//! RubyGems requirements, Composer constraints, and plain comparator lists (`>= 1.0, < 2.0`).
//!
//! Every syntax is desugared into one normal form, a union of intersections of simple
//! comparisons ([`Constraint`]), evaluated with the scheme's own order.
//! Traps worth knowing:
//! - node-semver: `^0.2.3` is `>=0.2.3 <0.3.0-0`, `~1.2` is `>=1.2.0 <1.3.0-0`, `1.2 - 2.3` is
//!   `>=1.2.0 <2.4.0-0`, and a pre-release only satisfies a range with a comparator on the same
//!   `major.minor.patch` that has a pre-release (unless pre-releases are included).
//! - PEP 440: `~=2.2.1` is `>=2.2.1, ==2.2.*`; `==1.1.*` matches `1.1.post1`; `==1.0` ignores
//!   the candidate's local version; `<V` excludes pre-releases of `V` and `>V` post-releases.
//! - Maven: `[1.0,2.0)` brackets are inclusive, parentheses exclusive; `(,1.0],[1.2,)` is a union.
//! - RubyGems: `~> 2.2` is `>= 2.2, < 3`; `~> 2.2.0` is `>= 2.2.0, < 2.3`.
//! - Composer: `^1.2` is `>=1.2 <2.0`, `~1.2` is `>=1.2 <2.0`, `~1.2.3` is `>=1.2.3 <1.3`;
//!   a space or comma means AND, `||` (or `|`) OR.

use std::cmp::Ordering;
use std::fmt;

use crate::semver::SemVer;
use crate::{Error, Scheme};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// PEP 440 `===`: string identity.
    Identical,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Identical => "===",
        }
    }
}

/// One comparison against a version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cmp {
    /// The operator.
    pub op: Op,
    /// The version compared with.
    pub version: String,
}

impl fmt::Display for Cmp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.op.symbol(), self.version)
    }
}

/// A union (OR) of intersections (AND) of comparisons; empty union = nothing, empty
/// intersection = everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// The scheme whose order is used.
    pub scheme: Scheme,
    /// OR of AND-sets.
    pub any_of: Vec<Vec<Cmp>>,
    /// Whether pre-releases may satisfy ranges that do not mention them (npm semantics off).
    pub include_prerelease: bool,
}

fn c(op: Op, v: impl Into<String>) -> Cmp {
    Cmp {
        op,
        version: v.into(),
    }
}

impl Constraint {
    /// Parses `s` in the native syntax of `scheme` (comparator lists for distro schemes).
    pub fn parse(scheme: Scheme, s: &str) -> Result<Self, Error> {
        let any_of = match scheme {
            Scheme::Npm | Scheme::SemVer | Scheme::Go | Scheme::Pub => npm::parse(s)?,
            Scheme::Pep440 => pep440::parse(s)?,
            Scheme::Maven => maven::parse(s)?,
            Scheme::RubyGems => gem::parse(s)?,
            Scheme::Packagist => composer::parse(s)?,
            _ => comparator_list(s)?,
        };
        Ok(Constraint {
            scheme,
            any_of,
            include_prerelease: true,
        })
    }

    /// Whether `version` satisfies the constraint.
    pub fn contains(&self, version: &str) -> Result<bool, Error> {
        self.scheme.validate(version)?;
        for set in &self.any_of {
            if self.set_contains(set, version)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn set_contains(&self, set: &[Cmp], version: &str) -> Result<bool, Error> {
        for cmp in set {
            if !eval(self.scheme, cmp, version)? {
                return Ok(false);
            }
        }
        if !self.include_prerelease && matches!(self.scheme, Scheme::Npm | Scheme::SemVer) {
            let v = SemVer::parse_loose(version)?;
            if v.is_prerelease() {
                // node-semver: only when some comparator shares the tuple and is a pre-release.
                let ok = set.iter().any(|cmp| {
                    SemVer::parse_loose(&cmp.version)
                        .is_ok_and(|cv| cv.is_prerelease() && cv.same_core(&v))
                });
                if !ok {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

fn eval(scheme: Scheme, cmp: &Cmp, version: &str) -> Result<bool, Error> {
    if cmp.op == Op::Identical {
        return Ok(cmp.version.eq_ignore_ascii_case(version));
    }
    if scheme == Scheme::Pep440 {
        return pep440::eval(cmp, version);
    }
    let o = if scheme == Scheme::Packagist {
        use crate::packagist::normalize;
        scheme.compare(&normalize(version), &normalize(&cmp.version))?
    } else {
        scheme.compare(version, &cmp.version)?
    };
    Ok(match cmp.op {
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        Op::Gt => o == Ordering::Greater,
        Op::Ge => o != Ordering::Less,
        Op::Eq => o == Ordering::Equal,
        Op::Ne => o != Ordering::Equal,
        Op::Identical => unreachable_identical(),
    })
}

fn unreachable_identical() -> bool {
    false
}

/// Splits a leading operator off `s`.
fn split_op(s: &str) -> (Option<Op>, &str) {
    let s = s.trim();
    for (sym, op) in [
        ("===", Op::Identical),
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("!=", Op::Ne),
        ("==", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ] {
        if let Some(rest) = s.strip_prefix(sym) {
            return (Some(op), rest.trim());
        }
    }
    (None, s)
}

/// `>= 1.0, < 2.0` (GHSA style), also `>=1.0 <2.0`; a bare version means `=`; `||` separates
/// alternatives.
pub fn comparator_list(s: &str) -> Result<Vec<Vec<Cmp>>, Error> {
    let mut out = Vec::new();
    for alt in s.split("||") {
        let mut set = Vec::new();
        let toks: Vec<&str> = alt
            .split([',', ' '])
            .filter(|t| !t.trim().is_empty())
            .collect();
        let mut i = 0;
        while i < toks.len() {
            let (op, mut v) = split_op(toks[i]);
            if op.is_some() && v.is_empty() {
                // operator and version separated by a space
                i += 1;
                v = toks
                    .get(i)
                    .copied()
                    .ok_or_else(|| Error::range(s, "operator without a version"))?;
            }
            if v == "*" {
                i += 1;
                continue;
            }
            set.push(c(op.unwrap_or(Op::Eq), v));
            i += 1;
        }
        out.push(set);
    }
    Ok(out)
}

/// node-semver range syntax.
pub mod npm {
    use super::*;

    /// A partial version: missing or wildcard parts are `None`.
    struct Partial<'a> {
        parts: [Option<u64>; 3],
        pre: &'a str,
    }

    fn partial<'a>(range: &str, s: &'a str) -> Result<Partial<'a>, Error> {
        let s = s.trim().trim_start_matches(['v', 'V', '=']).trim();
        let s = s.split('+').next().unwrap_or("");
        let (core, pre) = s.split_once('-').unwrap_or((s, ""));
        let mut parts = [None; 3];
        if core.is_empty() || core == "*" || core.eq_ignore_ascii_case("x") {
            return Ok(Partial { parts, pre: "" });
        }
        let mut n = 0;
        for (k, p) in core.split('.').enumerate() {
            if k >= 3 {
                return Err(Error::range(
                    range,
                    format!("`{s}` has more than three parts"),
                ));
            }
            n = k + 1;
            if p == "*" || p.eq_ignore_ascii_case("x") {
                break;
            }
            parts[k] = Some(
                p.parse()
                    .map_err(|_| Error::range(range, format!("`{p}` is not a number")))?,
            );
        }
        let _ = n;
        Ok(Partial { parts, pre })
    }

    fn full(p: &Partial<'_>) -> String {
        let [a, b, c] = p.parts;
        let mut s = format!("{}.{}.{}", a.unwrap_or(0), b.unwrap_or(0), c.unwrap_or(0));
        if !p.pre.is_empty() && p.parts.iter().all(Option::is_some) {
            s.push('-');
            s.push_str(p.pre);
        }
        s
    }

    fn comparator(range: &str, tok: &str, set: &mut Vec<Cmp>) -> Result<(), Error> {
        let tok = tok.trim();
        if let Some(rest) = tok.strip_prefix('^') {
            let p = partial(range, rest)?;
            let lo = full(&p);
            let hi = match p.parts {
                [None, _, _] => None,
                [Some(0), None, _] => Some("1.0.0-0".to_string()),
                [Some(0), Some(0), None] => Some("0.1.0-0".to_string()),
                [Some(0), Some(0), Some(z)] => Some(format!("0.0.{}-0", z + 1)),
                [Some(0), Some(y), _] => Some(format!("0.{}.0-0", y + 1)),
                [Some(x), _, _] => Some(format!("{}.0.0-0", x + 1)),
            };
            set.push(c(Op::Ge, lo));
            if let Some(h) = hi {
                set.push(c(Op::Lt, h));
            }
            return Ok(());
        }
        if let Some(rest) = tok.strip_prefix("~>").or_else(|| tok.strip_prefix('~')) {
            let p = partial(range, rest)?;
            let lo = full(&p);
            let hi = match p.parts {
                [None, _, _] => None,
                [Some(x), None, _] => Some(format!("{}.0.0-0", x + 1)),
                [Some(x), Some(y), _] => Some(format!("{x}.{}.0-0", y + 1)),
            };
            set.push(c(Op::Ge, lo));
            if let Some(h) = hi {
                set.push(c(Op::Lt, h));
            }
            return Ok(());
        }
        let (op, rest) = split_op(tok);
        let p = partial(range, rest)?;
        let complete = p.parts.iter().all(Option::is_some);
        let op = op.unwrap_or(Op::Eq);
        if complete {
            set.push(c(op, full(&p)));
            return Ok(());
        }
        // x-ranges
        let bump = |p: &Partial<'_>| -> Option<String> {
            match p.parts {
                [None, _, _] => None,
                [Some(x), None, _] => Some(format!("{}.0.0-0", x + 1)),
                [Some(x), Some(y), _] => Some(format!("{x}.{}.0-0", y + 1)),
            }
        };
        match op {
            Op::Eq => {
                if p.parts[0].is_some() {
                    set.push(c(Op::Ge, full(&p)));
                }
                if let Some(h) = bump(&p) {
                    set.push(c(Op::Lt, h));
                }
            }
            Op::Gt => match bump(&p) {
                Some(h) => set.push(c(Op::Ge, h.trim_end_matches("-0").to_string())),
                None => set.push(c(Op::Lt, "0.0.0-0")),
            },
            Op::Ge => set.push(c(Op::Ge, full(&p))),
            Op::Lt => {
                if p.parts[0].is_some() {
                    set.push(c(Op::Lt, format!("{}-0", full(&p))));
                } else {
                    set.push(c(Op::Lt, "0.0.0-0"));
                }
            }
            Op::Le => {
                if let Some(h) = bump(&p) {
                    set.push(c(Op::Lt, h));
                }
            }
            Op::Ne | Op::Identical => {
                return Err(Error::range(
                    range,
                    format!("`{tok}` is not a node-semver comparator"),
                ));
            }
        }
        Ok(())
    }

    /// Parses a node-semver range.
    pub fn parse(s: &str) -> Result<Vec<Vec<Cmp>>, Error> {
        let mut out = Vec::new();
        for alt in s.split("||") {
            let alt = alt.trim();
            let mut set = Vec::new();
            if let Some((a, b)) = alt.split_once(" - ") {
                let pa = partial(s, a)?;
                set.push(c(Op::Ge, full(&pa)));
                let pb = partial(s, b)?;
                match pb.parts {
                    [None, _, _] => {}
                    [Some(_), Some(_), Some(_)] => set.push(c(Op::Le, full(&pb))),
                    [Some(x), None, _] => set.push(c(Op::Lt, format!("{}.0.0-0", x + 1))),
                    [Some(x), Some(y), None] => set.push(c(Op::Lt, format!("{x}.{}.0-0", y + 1))),
                }
                out.push(set);
                continue;
            }
            // glue operators to their versions: ">= 1.2.3" → ">=1.2.3"
            let mut toks: Vec<String> = Vec::new();
            let mut pending = String::new();
            for t in alt.split_whitespace() {
                if t.chars()
                    .all(|ch| matches!(ch, '<' | '>' | '=' | '~' | '^'))
                {
                    pending.push_str(t);
                } else {
                    toks.push(format!("{pending}{t}"));
                    pending.clear();
                }
            }
            if !pending.is_empty() {
                return Err(Error::range(s, "an operator without a version"));
            }
            for t in toks {
                comparator(s, &t, &mut set)?;
            }
            out.push(set);
        }
        Ok(out)
    }
}

/// PEP 440 version specifiers.
pub mod pep440 {
    use super::*;
    use crate::pep440::Pep440Version;

    fn prefix_bounds(spec: &str, v: &str) -> Result<(String, String), Error> {
        let p = Pep440Version::parse(v)
            .map_err(|_| Error::range(spec, format!("`{v}.*` is not a valid prefix")))?;
        if p.pre.is_some() || p.post.is_some() || p.dev.is_some() || !p.local.is_empty() {
            return Err(Error::range(
                spec,
                "a `.*` prefix may only contain release numbers",
            ));
        }
        let epoch = if p.epoch != 0 {
            format!("{}!", p.epoch)
        } else {
            String::new()
        };
        let rel: Vec<String> = p.release.iter().map(u64::to_string).collect();
        let mut next = p.release.clone();
        if let Some(last) = next.last_mut() {
            *last += 1;
        }
        let nrel: Vec<String> = next.iter().map(u64::to_string).collect();
        Ok((
            format!("{epoch}{}.dev0", rel.join(".")),
            format!("{epoch}{}.dev0", nrel.join(".")),
        ))
    }

    /// Parses a comma-separated specifier set (an AND); `||` is accepted as OR for feeds that
    /// write alternatives.
    pub fn parse(s: &str) -> Result<Vec<Vec<Cmp>>, Error> {
        let mut out: Vec<Vec<Cmp>> = Vec::new();
        for alt in s.split("||") {
            // DNF expansion: each clause multiplies the alternatives.
            let mut sets: Vec<Vec<Cmp>> = vec![Vec::new()];
            for clause in alt.split(',').map(str::trim).filter(|x| !x.is_empty()) {
                let (op, rest, compat) = if let Some(r) = clause.strip_prefix("~=") {
                    (Op::Ge, r.trim(), true)
                } else {
                    let (op, r) = split_op(clause);
                    (op.unwrap_or(Op::Eq), r, false)
                };
                if rest.is_empty() {
                    return Err(Error::range(s, format!("`{clause}` has no version")));
                }
                let alternatives: Vec<Vec<Cmp>> = if compat {
                    let p = Pep440Version::parse(rest)?;
                    if p.release.len() < 2 {
                        return Err(Error::range(s, "`~=` needs at least two release numbers"));
                    }
                    let prefix: Vec<String> = p.release[..p.release.len() - 1]
                        .iter()
                        .map(u64::to_string)
                        .collect();
                    let epoch = if p.epoch != 0 {
                        format!("{}!", p.epoch)
                    } else {
                        String::new()
                    };
                    let (_, hi) = prefix_bounds(s, &format!("{epoch}{}", prefix.join(".")))?;
                    vec![vec![c(Op::Ge, rest), c(Op::Lt, hi)]]
                } else if let Some(base) = rest.strip_suffix(".*") {
                    let (lo, hi) = prefix_bounds(s, base)?;
                    match op {
                        Op::Eq => vec![vec![c(Op::Ge, lo), c(Op::Lt, hi)]],
                        Op::Ne => vec![vec![c(Op::Lt, lo)], vec![c(Op::Ge, hi)]],
                        _ => {
                            return Err(Error::range(s, "`.*` is only allowed with `==` and `!=`"));
                        }
                    }
                } else {
                    if op != Op::Identical {
                        Pep440Version::parse(rest)?;
                    }
                    vec![vec![c(op, rest)]]
                };
                let mut next = Vec::new();
                for set in &sets {
                    for a in &alternatives {
                        let mut n = set.clone();
                        n.extend(a.iter().cloned());
                        next.push(n);
                    }
                }
                sets = next;
            }
            out.extend(sets);
        }
        Ok(out)
    }

    fn base(v: &Pep440Version) -> Pep440Version {
        Pep440Version {
            pre: None,
            post: None,
            dev: None,
            local: Vec::new(),
            ..v.clone()
        }
    }

    /// Evaluates one comparison with PEP 440's special rules.
    pub fn eval(cmp: &Cmp, version: &str) -> Result<bool, Error> {
        let cand = Pep440Version::parse(version)?;
        let spec = Pep440Version::parse(&cmp.version)?;
        // A specifier without a local label ignores the candidate's.
        let cand_cmp = if spec.local.is_empty() {
            Pep440Version {
                local: Vec::new(),
                ..cand.clone()
            }
        } else {
            cand.clone()
        };
        let o = cand_cmp.cmp(&spec);
        Ok(match cmp.op {
            Op::Eq => o == Ordering::Equal,
            Op::Ne => o != Ordering::Equal,
            Op::Le => o != Ordering::Greater,
            Op::Ge => o != Ordering::Less,
            Op::Lt => {
                o == Ordering::Less
                    && !(!spec.is_prerelease()
                        && cand.is_prerelease()
                        && base(&cand) == base(&spec))
            }
            Op::Gt => {
                o == Ordering::Greater
                    && !(spec.post.is_none() && cand.post.is_some() && base(&cand) == base(&spec))
                    && (cand.local.is_empty() || base(&cand) != base(&spec))
            }
            Op::Identical => cmp.version.eq_ignore_ascii_case(version),
        })
    }
}

/// Maven version ranges.
pub mod maven {
    use super::*;

    /// Parses `[1.0,2.0)`, `(,1.0],[1.2,)`, `[1.0]` or a bare version (exact).
    pub fn parse(s: &str) -> Result<Vec<Vec<Cmp>>, Error> {
        let t = s.trim();
        if !t.starts_with(['[', '(']) {
            if t.is_empty() {
                return Err(Error::range(s, "empty range"));
            }
            return Ok(vec![vec![c(Op::Eq, t)]]);
        }
        let mut out = Vec::new();
        let mut rest = t;
        while !rest.is_empty() {
            let open = rest.as_bytes()[0];
            if open != b'[' && open != b'(' {
                return Err(Error::range(s, "expected `[` or `(`"));
            }
            let end = rest
                .find([']', ')'])
                .ok_or_else(|| Error::range(s, "unclosed range"))?;
            let close = rest.as_bytes()[end];
            let inner = &rest[1..end];
            let mut set = Vec::new();
            match inner.split_once(',') {
                None => {
                    if open != b'[' || close != b']' {
                        return Err(Error::range(s, "a single version must be written `[1.0]`"));
                    }
                    set.push(c(Op::Eq, inner.trim()));
                }
                Some((lo, hi)) => {
                    let (lo, hi) = (lo.trim(), hi.trim());
                    if hi.contains(',') {
                        return Err(Error::range(s, "a range has at most two bounds"));
                    }
                    if !lo.is_empty() {
                        set.push(c(if open == b'[' { Op::Ge } else { Op::Gt }, lo));
                    }
                    if !hi.is_empty() {
                        set.push(c(if close == b']' { Op::Le } else { Op::Lt }, hi));
                    }
                }
            }
            out.push(set);
            rest = rest[end + 1..]
                .trim_start()
                .trim_start_matches(',')
                .trim_start();
        }
        Ok(out)
    }
}

/// RubyGems requirements.
pub mod gem {
    use super::*;
    use crate::rubygems::GemVersion;

    /// Parses `~> 2.2, != 2.2.1`-style requirements (AND).
    pub fn parse(s: &str) -> Result<Vec<Vec<Cmp>>, Error> {
        let mut set = Vec::new();
        for clause in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            if let Some(v) = clause.strip_prefix("~>") {
                let v = v.trim();
                let g = GemVersion::parse(v)?;
                let mut nums = g.release_numbers();
                if nums.len() > 1 {
                    nums.pop();
                }
                let last = nums.pop().unwrap_or_else(|| "0".into());
                let bumped = last
                    .parse::<u128>()
                    .map_err(|_| Error::range(s, "number too large"))?
                    + 1;
                nums.push(bumped.to_string());
                set.push(c(Op::Ge, v));
                set.push(c(Op::Lt, nums.join(".")));
            } else {
                let (op, v) = split_op(clause);
                GemVersion::parse(v)?;
                set.push(c(op.unwrap_or(Op::Eq), v));
            }
        }
        Ok(vec![set])
    }
}

/// Composer constraints.
pub mod composer {
    use super::*;

    fn nums(v: &str) -> Vec<u64> {
        v.trim_start_matches(['v', 'V'])
            .split(['-', '+'])
            .next()
            .unwrap_or("")
            .split('.')
            .map_while(|p| p.parse().ok())
            .collect()
    }

    fn one(s: &str, tok: &str, set: &mut Vec<Cmp>) -> Result<(), Error> {
        if let Some(v) = tok.strip_prefix('^') {
            let n = nums(v);
            let hi = match n.as_slice() {
                [] => return Err(Error::range(s, format!("`{tok}` has no version"))),
                [0] => "1".to_string(),
                [0, 0, z, ..] => format!("0.0.{}", z + 1),
                [0, y, ..] => format!("0.{}", y + 1),
                [x, ..] => format!("{}", x + 1),
            };
            set.push(c(Op::Ge, v));
            set.push(c(Op::Lt, format!("{hi}.0.0-dev")));
        } else if let Some(v) = tok.strip_prefix('~') {
            let mut n = nums(v);
            if n.is_empty() {
                return Err(Error::range(s, format!("`{tok}` has no version")));
            }
            if n.len() > 1 {
                n.pop();
            }
            if let Some(l) = n.last_mut() {
                *l += 1;
            }
            let hi: Vec<String> = n.iter().map(u64::to_string).collect();
            set.push(c(Op::Ge, v));
            set.push(c(Op::Lt, format!("{}-dev", hi.join("."))));
        } else if tok.contains('*') || tok.ends_with(".x") {
            let base = tok.trim_end_matches(['*', 'x']).trim_end_matches('.');
            if base.is_empty() {
                return Ok(());
            }
            let mut n = nums(base);
            set.push(c(Op::Ge, format!("{base}-dev")));
            if let Some(l) = n.last_mut() {
                *l += 1;
            }
            let hi: Vec<String> = n.iter().map(u64::to_string).collect();
            set.push(c(Op::Lt, format!("{}-dev", hi.join("."))));
        } else {
            let (op, v) = split_op(tok);
            if v.is_empty() {
                return Err(Error::range(s, format!("`{tok}` has no version")));
            }
            set.push(c(op.unwrap_or(Op::Eq), v));
        }
        Ok(())
    }

    /// Parses a Composer constraint.
    pub fn parse(s: &str) -> Result<Vec<Vec<Cmp>>, Error> {
        let mut out = Vec::new();
        for alt in s.split("||").flat_map(|a| a.split('|')) {
            let alt = alt.trim();
            let mut set = Vec::new();
            if let Some((a, b)) = alt.split_once(" - ") {
                set.push(c(Op::Ge, a.trim()));
                set.push(c(Op::Le, b.trim()));
                out.push(set);
                continue;
            }
            let mut pending = String::new();
            for t in alt.split([' ', ',']).filter(|t| !t.is_empty()) {
                if t.chars()
                    .all(|ch| matches!(ch, '<' | '>' | '=' | '!' | '~' | '^'))
                {
                    pending.push_str(t);
                    continue;
                }
                let tok = format!("{pending}{t}");
                pending.clear();
                one(s, &tok, &mut set)?;
            }
            out.push(set);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yes(scheme: Scheme, range: &str, v: &str) -> bool {
        Constraint::parse(scheme, range)
            .unwrap()
            .contains(v)
            .unwrap()
    }

    #[test]
    fn npm_ranges() {
        let n = Scheme::Npm;
        assert!(yes(n, "^1.2.3", "1.9.0") && !yes(n, "^1.2.3", "2.0.0"));
        assert!(yes(n, "^0.2.3", "0.2.9") && !yes(n, "^0.2.3", "0.3.0"));
        assert!(yes(n, "^0.0.3", "0.0.3") && !yes(n, "^0.0.3", "0.0.4"));
        assert!(yes(n, "~1.2", "1.2.9") && !yes(n, "~1.2", "1.3.0"));
        assert!(yes(n, "1.2 - 2.3", "2.3.9") && !yes(n, "1.2 - 2.3", "2.4.0"));
        assert!(yes(n, "1.x || >=2.5.0", "2.6.0") && !yes(n, "1.x || >=2.5.0", "2.4.0"));
        assert!(yes(n, ">= 1.2.3 < 1.3", "1.2.5"));
        assert!(yes(n, ">1.2", "1.3.0") && !yes(n, ">1.2", "1.2.9"));
        assert!(yes(n, "<=1.2", "1.2.9") && !yes(n, "<=1.2", "1.3.0"));
        assert!(yes(n, "*", "0.0.1"));
        let mut strict = Constraint::parse(n, "^1.2.3").unwrap();
        strict.include_prerelease = false;
        assert!(!strict.contains("1.3.0-beta").unwrap());
        assert!(yes(n, "^1.2.3", "1.3.0-beta"));
    }

    #[test]
    fn pep440_specifiers() {
        let p = Scheme::Pep440;
        assert!(yes(p, "~=2.2.1", "2.2.5") && !yes(p, "~=2.2.1", "2.3.0"));
        assert!(yes(p, "~=2.2", "2.9") && !yes(p, "~=2.2", "3.0"));
        assert!(yes(p, "==1.1.*", "1.1.post1") && !yes(p, "==1.1.*", "1.2"));
        assert!(yes(p, "!=1.1.*", "1.2") && !yes(p, "!=1.1.*", "1.1.3"));
        assert!(yes(p, "==1.0", "1.0+local"));
        assert!(!yes(p, "<2.0", "2.0rc1") && yes(p, "<2.0rc2", "2.0rc1"));
        assert!(!yes(p, ">1.0", "1.0.post1") && yes(p, ">1.0.post0", "1.0.post1"));
        assert!(yes(p, ">=1.0, <2.0", "1.5"));
        assert!(yes(p, "===1.0", "1.0") && !yes(p, "===1.0", "1.0.0"));
    }

    #[test]
    fn maven_ranges() {
        let m = Scheme::Maven;
        assert!(yes(m, "[1.0,2.0)", "1.0") && !yes(m, "[1.0,2.0)", "2.0"));
        assert!(yes(m, "(,1.0],[1.2,)", "0.5") && !yes(m, "(,1.0],[1.2,)", "1.1"));
        assert!(yes(m, "[1.5]", "1.5.0"));
    }

    #[test]
    fn gem_and_composer() {
        assert!(yes(Scheme::RubyGems, "~> 2.2", "2.9") && !yes(Scheme::RubyGems, "~> 2.2", "3.0"));
        assert!(
            yes(Scheme::RubyGems, "~> 2.2.0", "2.2.9") && !yes(Scheme::RubyGems, "~> 2.2.0", "2.3")
        );
        let k = Scheme::Packagist;
        assert!(yes(k, "^1.2", "1.9") && !yes(k, "^1.2", "2.0"));
        assert!(yes(k, "~1.2.3", "1.2.9") && !yes(k, "~1.2.3", "1.3.0"));
        assert!(yes(k, ">=1.0 <1.1 || >=1.2", "1.3"));
        assert!(yes(k, "1.2.*", "1.2.7") && !yes(k, "1.2.*", "1.3.0"));
    }

    #[test]
    fn distro_lists() {
        assert!(yes(Scheme::Dpkg, ">= 1.0-1, < 1:0.5", "2.0-1"));
        assert!(!yes(Scheme::Apk, "< 1.1.1d-r0", "1.1.1d-r0"));
    }
}
