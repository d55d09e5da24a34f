//! The RustSec advisory database in its native form (`crates/<crate>/RUSTSEC-*.md`: a TOML
//! block, then Markdown), read so that matching a `Cargo.lock` gives what `cargo-audit` gives.
//!
//! Traps: `patched`/`unaffected` are Cargo version requirements (a bare `1.2.3` means `^1.2.3`)
//! describing what is *not* affected; the affected ranges are their complement, computed the way
//! the `rustsec` crate computes them (an exclusive bound becomes the next version by SemVer
//! precedence, `1.2.3` → `1.2.4-0`; `^`/`~` upper bounds are `-0` pre-releases so they exclude
//! the next major's pre-releases). Requirements that overlap or use wildcards make the advisory
//! invalid there too. `informational` advisories (unmaintained, unsound, notice) are kept apart
//! from vulnerabilities, and the `rust/` collection (the toolchain) names no crate.

use std::cmp::Ordering;
use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::model::{Advisory, Affected, Problem, Range, RangeEvent, RangeKind, Severity, Source};

#[derive(Deserialize)]
struct Doc {
    advisory: Meta,
    #[serde(default)]
    versions: Option<Versions>,
}

#[derive(Deserialize)]
struct Meta {
    id: String,
    package: String,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    cvss: Option<String>,
    #[serde(default)]
    informational: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    // the V1 layout kept these in `[advisory]`
    #[serde(default)]
    patched_versions: Vec<String>,
    #[serde(default)]
    unaffected_versions: Vec<String>,
}

#[derive(Deserialize, Default)]
struct Versions {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

/// Whether `path` looks like a RustSec advisory file.
pub fn is_advisory_path(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.starts_with("RUSTSEC-") && (name.ends_with(".md") || name.ends_with(".toml"))
}

/// Reads one advisory file into `out`; the `rust/` collection and invalid advisories are
/// reported in `problems` (the latter with what is wrong) and skipped.
pub fn read_rustsec(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let text = fs_err::read_to_string(path)?;
    let p = path.to_string_lossy().replace('\\', "/");
    if p.contains("/rust/") && !p.contains("/crates/") {
        return Ok(());
    }
    let problem = |m: String| Problem {
        file: p.clone(),
        message: m,
    };
    match parse(&text) {
        Ok(a) => out.push(a),
        Err(why) => problems.push(problem(why)),
    }
    Ok(())
}

/// Parses the text of one advisory (`.md` with a TOML block, or a legacy `.toml`).
pub fn parse(text: &str) -> Result<Advisory, String> {
    let (toml_text, markdown) = match text.trim_start().strip_prefix("```toml") {
        Some(rest) => match rest.find("\n```") {
            Some(end) => (&rest[..end], &rest[end + 4..]),
            None => return Err("the ```toml block is not closed".into()),
        },
        None => (text, ""),
    };
    let doc: Doc = toml::from_str(toml_text).map_err(|e| format!("not a RustSec advisory: {e}"))?;
    let m = doc.advisory;
    let (patched, unaffected) = match doc.versions {
        Some(v) => (v.patched, v.unaffected),
        None => (m.patched_versions, m.unaffected_versions),
    };
    let ranges = affected_ranges(&patched, &unaffected).map_err(|e| format!("{}: {e}", m.id))?;
    let title = m.title.or_else(|| {
        markdown
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .map(|t| t.trim().to_string())
    });
    let mut adv = Advisory {
        id: m.id.clone(),
        feed: "rustsec".into(),
        source: Source::Osv,
        summary: title,
        published: m.date,
        withdrawn: m.withdrawn,
        informational: m.informational.filter(|s| !s.is_empty()),
        ..Advisory::default()
    };
    adv.aliases
        .extend(m.aliases.into_iter().filter(|a| *a != m.id));
    if let Some(v) = m.cvss.filter(|v| !v.is_empty()) {
        let kind = if v.starts_with("CVSS:4") {
            "CVSS_V4"
        } else {
            "CVSS_V3"
        };
        adv.severities.push(Severity {
            kind: kind.into(),
            value: v,
            source: "rustsec".into(),
        });
    }
    adv.affected.push(Affected {
        namespace: "crates.io".into(),
        package: crate::namespace::normalize_package("crates.io", &m.package),
        ranges: ranges
            .into_iter()
            .map(|(start, end)| Range {
                kind: RangeKind::Semver,
                events: std::iter::once(RangeEvent::Introduced(
                    start.map(|v| v.to_string()).unwrap_or_else(|| "0".into()),
                ))
                .chain(end.map(|v| RangeEvent::Fixed(v.to_string())))
                .collect(),
            })
            .collect(),
        versions: Vec::new(),
        status: crate::model::Status::Affected,
        arches: Vec::new(),
        severity: None,
    });
    Ok(adv)
}

/// A SemVer version ordered by precedence (build metadata dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ver {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<String>,
}

impl std::fmt::Display for Ver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre.join("."))?;
        }
        Ok(())
    }
}

impl Ord for Ver {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&o.pre) {
                        let c = match (a.parse::<u64>(), b.parse::<u64>()) {
                            (Ok(x), Ok(y)) => x.cmp(&y),
                            (Ok(_), Err(_)) => Ordering::Less,
                            (Err(_), Ok(_)) => Ordering::Greater,
                            (Err(_), Err(_)) => a.cmp(b),
                        };
                        if c != Ordering::Equal {
                            return c;
                        }
                    }
                    self.pre.len().cmp(&o.pre.len())
                }
            })
    }
}

impl PartialOrd for Ver {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ver {
    /// The lowest version above `self` by SemVer precedence.
    fn next(&self) -> Ver {
        let mut v = self.clone();
        if v.pre.is_empty() {
            v.patch += 1;
            v.pre = vec!["0".into()];
        } else {
            v.pre.push("0".into());
        }
        v
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Bound {
    Unbounded,
    Exclusive(Ver),
    Inclusive(Ver),
}

impl Bound {
    fn version(&self) -> Option<&Ver> {
        match self {
            Bound::Unbounded => None,
            Bound::Exclusive(v) | Bound::Inclusive(v) => Some(v),
        }
    }
}

/// `start <= end` for a range start and a range end.
fn start_le_end(start: &Bound, end: &Bound) -> bool {
    match (start.version(), end.version()) {
        (None, _) | (_, None) => true,
        (Some(a), Some(b)) => {
            a < b || (a == b && matches!((start, end), (Bound::Inclusive(_), Bound::Inclusive(_))))
        }
    }
}

/// One comparator of a requirement: operator, version fields as written.
struct Comparator {
    op: &'static str,
    major: u64,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: Vec<String>,
}

fn parse_comparator(s: &str) -> Result<Comparator, String> {
    let s = s.trim();
    let (op, rest) = [">=", "<=", ">", "<", "=", "~", "^"]
        .iter()
        .find_map(|op| s.strip_prefix(op).map(|r| (*op, r)))
        .unwrap_or(("^", s));
    let rest = rest.trim();
    let rest = rest.split_once('+').map(|(v, _)| v).unwrap_or(rest);
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, p.split('.').map(str::to_string).collect()),
        None => (rest, Vec::new()),
    };
    let mut parts = core.split('.');
    let num = |x: Option<&str>| -> Result<Option<u64>, String> {
        match x {
            None => Ok(None),
            Some(p) if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) => Err(format!(
                "`{s}`: `{p}` is not a version number (wildcards are not supported)"
            )),
            Some(p) => p
                .parse()
                .map(Some)
                .map_err(|_| format!("`{s}`: `{p}` is too large")),
        }
    };
    let major = num(parts.next())?.ok_or_else(|| format!("`{s}`: no version"))?;
    let minor = num(parts.next())?;
    let patch = num(parts.next())?;
    if parts.next().is_some() {
        return Err(format!("`{s}`: more than three version numbers"));
    }
    if !pre.is_empty() && patch.is_none() {
        return Err(format!("`{s}`: a pre-release needs a full version"));
    }
    Ok(Comparator {
        op,
        major,
        minor,
        patch,
        pre,
    })
}

/// The unaffected interval a requirement (`>= 1.2, < 1.4`, `^0.5.2`, `=1.0.0`) names.
fn unaffected_range(req: &str) -> Result<(Bound, Bound), String> {
    let comps: Vec<Comparator> = req
        .split(',')
        .map(parse_comparator)
        .collect::<Result<_, _>>()?;
    if comps.len() > 2 {
        return Err(format!("`{req}`: too many comparators"));
    }
    let (mut start, mut end) = (Bound::Unbounded, Bound::Unbounded);
    for c in &comps {
        let v = Ver {
            major: c.major,
            minor: c.minor.unwrap_or(0),
            patch: c.patch.unwrap_or(0),
            pre: c.pre.clone(),
        };
        let lower = |start: &mut Bound, b: Bound| {
            if *start != Bound::Unbounded {
                return Err(format!("`{req}`: more than one lower bound"));
            }
            *start = b;
            Ok(())
        };
        let upper = |end: &mut Bound, b: Bound| {
            if *end != Bound::Unbounded {
                return Err(format!("`{req}`: more than one upper bound"));
            }
            *end = b;
            Ok(())
        };
        match c.op {
            ">" => lower(&mut start, Bound::Exclusive(v))?,
            ">=" => lower(&mut start, Bound::Inclusive(v))?,
            "<" => upper(&mut end, Bound::Exclusive(v))?,
            "<=" => upper(&mut end, Bound::Inclusive(v))?,
            op => {
                if comps.len() != 1 {
                    return Err(format!("`{req}`: `{op}` must be alone in its requirement"));
                }
                let up = |major, minor, patch| Ver {
                    major,
                    minor,
                    patch,
                    pre: vec!["0".into()],
                };
                match op {
                    "=" => {
                        start = Bound::Inclusive(v.clone());
                        end = Bound::Inclusive(v);
                    }
                    "^" => {
                        let e = if c.major == 0 {
                            match (c.minor, c.patch) {
                                (Some(0), Some(p)) => up(0, 0, p + 1),
                                (Some(m), _) => up(0, m + 1, 0),
                                (None, _) => up(1, 0, 0),
                            }
                        } else {
                            up(c.major + 1, 0, 0)
                        };
                        start = Bound::Inclusive(v);
                        end = Bound::Exclusive(e);
                    }
                    _ => {
                        // `~`
                        let e = match c.minor {
                            None => up(c.major + 1, 0, 0),
                            Some(m) => up(c.major, m + 1, 0),
                        };
                        start = Bound::Inclusive(v);
                        end = Bound::Exclusive(e);
                    }
                }
            }
        }
    }
    if !start_le_end(&start, &end) {
        return Err(format!("`{req}`: the range is empty"));
    }
    Ok((start, end))
}

/// `[introduced, fixed)`; `None` is unbounded.
type Interval = (Option<Ver>, Option<Ver>);

/// The affected `[introduced, fixed)` intervals: the complement of every patched and
/// unaffected requirement.
fn affected_ranges(patched: &[String], unaffected: &[String]) -> Result<Vec<Interval>, String> {
    let mut ok: Vec<(Bound, Bound)> = unaffected
        .iter()
        .chain(patched)
        .map(|r| unaffected_range(r))
        .collect::<Result<_, _>>()?;
    if ok.is_empty() {
        return Ok(vec![(None, None)]);
    }
    for (i, a) in ok.iter().enumerate() {
        for b in &ok[i + 1..] {
            if start_le_end(&a.0, &b.1) && start_le_end(&b.0, &a.1) {
                return Err("overlapping version requirements".into());
            }
        }
    }
    ok.sort_by(|a, b| match (a.0.version(), b.0.version()) {
        (None, _) => Ordering::Less,
        (_, None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(y),
    });
    let mut out = Vec::new();
    match &ok[0].0 {
        Bound::Unbounded => {}
        Bound::Exclusive(v) => out.push((None, Some(v.next()))),
        Bound::Inclusive(v) => out.push((None, Some(v.clone()))),
    }
    for w in ok.windows(2) {
        let start = match &w[0].1 {
            Bound::Exclusive(v) => v.clone(),
            Bound::Inclusive(v) => v.next(),
            Bound::Unbounded => return Err("overlapping version requirements".into()),
        };
        let end = match &w[1].0 {
            Bound::Exclusive(v) => v.next(),
            Bound::Inclusive(v) => v.clone(),
            Bound::Unbounded => return Err("overlapping version requirements".into()),
        };
        out.push((Some(start), Some(end)));
    }
    match &ok[ok.len() - 1].1 {
        Bound::Unbounded => {}
        Bound::Exclusive(v) => out.push((Some(v.clone()), None)),
        Bound::Inclusive(v) => out.push((Some(v.next()), None)),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(p: &[&str], u: &[&str]) -> Vec<String> {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        affected_ranges(&s(p), &s(u))
            .unwrap()
            .into_iter()
            .map(|(a, b)| {
                format!(
                    "[{}, {})",
                    a.map(|v| v.to_string()).unwrap_or_else(|| "0".into()),
                    b.map(|v| v.to_string()).unwrap_or_else(|| "∞".into())
                )
            })
            .collect()
    }

    #[test]
    fn complements_like_the_rustsec_crate() {
        assert_eq!(ranges(&[], &[]), ["[0, ∞)"]);
        assert_eq!(ranges(&[">= 1.2.3"], &[]), ["[0, 1.2.3)"]);
        assert_eq!(ranges(&[">= 1.2.3"], &["< 0.1"]), ["[0.1.0, 1.2.3)"]);
        // `^` upper bounds exclude the next major's pre-releases
        assert_eq!(
            ranges(&["^0.5.2", ">= 0.6.1"], &[]),
            ["[0, 0.5.2)", "[0.6.0-0, 0.6.1)"]
        );
        assert_eq!(
            ranges(&["~1.2.3", ">= 1.4"], &[]),
            ["[0, 1.2.3)", "[1.3.0-0, 1.4.0)"]
        );
        assert_eq!(ranges(&["^0.0.3"], &[]), ["[0, 0.0.3)", "[0.0.4-0, ∞)"]);
        // exclusive bounds become the next version by precedence
        assert_eq!(ranges(&["> 1.2.3"], &["<= 0.9.0"]), ["[0.9.1-0, 1.2.4-0)"]);
        assert_eq!(ranges(&["=1.0.0"], &[]), ["[0, 1.0.0)", "[1.0.1-0, ∞)"]);
        assert_eq!(ranges(&[">= 2.0.0-alpha.3"], &[]), ["[0, 2.0.0-alpha.3)"]);
        assert_eq!(
            ranges(&[">= 0.3.1, < 0.4", ">= 0.4.2"], &[]),
            ["[0, 0.3.1)", "[0.4.0, 0.4.2)"]
        );
    }

    #[test]
    fn invalid_requirements_are_errors() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(affected_ranges(&s(&[">= 1.0", ">= 1.2"]), &[]).is_err());
        assert!(affected_ranges(&s(&["1.*"]), &[]).is_err());
        assert!(affected_ranges(&s(&["^1.0, < 1.5"]), &[]).is_err());
        assert!(affected_ranges(&s(&["> 1.0, < 1.0"]), &[]).is_err());
    }

    #[test]
    fn pre_release_successor() {
        let v = |s: &str| {
            parse_comparator(s).map(|c| Ver {
                major: c.major,
                minor: c.minor.unwrap_or(0),
                patch: c.patch.unwrap_or(0),
                pre: c.pre,
            })
        };
        let a = v("1.2.3-9").unwrap();
        assert_eq!(a.next().to_string(), "1.2.3-9.0");
        assert!(a.next() > a && a.next() < v("1.2.3-10").unwrap());
        assert!(v("1.2.3-alpha1").unwrap().next() < v("1.2.3-alpha2").unwrap());
    }

    #[test]
    fn reads_an_advisory() {
        let a = parse(
            "```toml\n[advisory]\nid = \"RUSTSEC-2021-0001\"\npackage = \"Foo_bar\"\ndate = \"2021-01-01\"\naliases = [\"CVE-2021-1\", \"GHSA-aaaa-bbbb-cccc\"]\ncvss = \"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"\n\n[versions]\npatched = [\">= 1.0.1\"]\nunaffected = [\"< 0.2\"]\n```\n\n# Use after free in foo\n\nDetails.\n",
        )
        .unwrap();
        assert_eq!(a.id, "RUSTSEC-2021-0001");
        assert_eq!(a.summary.as_deref(), Some("Use after free in foo"));
        assert_eq!(a.aliases.len(), 2);
        assert_eq!(a.severities[0].kind, "CVSS_V3");
        assert_eq!(a.affected[0].namespace, "crates.io");
        assert_eq!(
            a.affected[0].ranges[0].events,
            [
                RangeEvent::Introduced("0.2.0".into()),
                RangeEvent::Fixed("1.0.1".into())
            ]
        );
        assert!(a.informational.is_none());
        let b = parse("```toml\n[advisory]\nid = \"RUSTSEC-2022-0057\"\npackage = \"badge\"\ninformational = \"unmaintained\"\n\n[versions]\npatched = []\n```\n# badge is Unmaintained\n").unwrap();
        assert_eq!(b.informational.as_deref(), Some("unmaintained"));
        assert!(parse("```toml\n[advisory]\nid = 1\n```").is_err());
        assert!(parse("```toml\n[advisory]\n").is_err());
    }
}
