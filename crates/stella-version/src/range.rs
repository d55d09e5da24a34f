//! OSV `affected[].ranges` evaluation, exactly as the OSV schema's `IsVulnerable` defines it.
//!
//! Traps:
//! - Events are evaluated in version order, not file order; `introduced: "0"` sorts first and a
//!   `limit` of `*` sorts last.
//! - `last_affected` is inclusive, `fixed` exclusive; several ranges and the explicit
//!   `versions` list are OR-ed.
//! - `limit` events bound the whole range: with any limit present, a version must be below one.
//! - `SEMVER` ranges use SemVer order whatever the ecosystem; `ECOSYSTEM` ranges the
//!   ecosystem's scheme.
//! - `GIT` ranges are about commits: they cannot be evaluated against a version string and
//!   give [`Affected::Unknown`], never "not affected".

use std::cmp::Ordering;

use crate::{Error, Parsed, Scheme};

/// The type of an OSV range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RangeType {
    /// `SEMVER`
    Semver,
    /// `ECOSYSTEM`
    Ecosystem,
    /// `GIT`
    Git,
}

impl RangeType {
    /// Parses the OSV `type` field.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "SEMVER" => Some(RangeType::Semver),
            "ECOSYSTEM" => Some(RangeType::Ecosystem),
            "GIT" => Some(RangeType::Git),
            _ => None,
        }
    }
}

/// One OSV range event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// `introduced`
    Introduced(String),
    /// `fixed`
    Fixed(String),
    /// `last_affected`
    LastAffected(String),
    /// `limit`
    Limit(String),
}

impl Event {
    /// The version the event names.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// One OSV range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsvRange {
    /// The range type.
    pub kind: RangeType,
    /// Its events, in file order.
    pub events: Vec<Event>,
}

/// The outcome of evaluating ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Affected {
    /// The version is inside a range or listed.
    Yes,
    /// The version is outside every evaluable range and no range was left unevaluated.
    No,
    /// Nothing matched, but some range could not be evaluated (the reason says which).
    Unknown(String),
}

fn is_zero(e: &Event) -> bool {
    matches!(e, Event::Introduced(v) if v == "0")
}
fn is_star_limit(e: &Event) -> bool {
    matches!(e, Event::Limit(v) if v == "*")
}

fn cmp_event(scheme: Scheme, a: &Event, b: &Event) -> Result<Ordering, Error> {
    Ok(
        match (is_zero(a), is_zero(b), is_star_limit(a), is_star_limit(b)) {
            (true, true, _, _) | (_, _, true, true) => Ordering::Equal,
            (true, _, _, _) | (_, _, _, true) => Ordering::Less,
            (_, true, _, _) | (_, _, true, _) => Ordering::Greater,
            _ => scheme.compare(a.version(), b.version())?,
        },
    )
}

/// A range made ready for evaluating many versions: its events validated and put in version
/// order once, so each evaluation parses the candidate once per event it has to pass and stops
/// at the first event above it.
#[derive(Debug, Clone)]
pub struct PreparedRange {
    scheme: Scheme,
    git: bool,
    limits: Vec<(Event, Parsed)>,
    events: Vec<(Event, Parsed)>,
    error: Option<Error>,
}

impl OsvRange {
    /// Prepares the range for [`PreparedRange::contains`], with `scheme` for `ECOSYSTEM`.
    pub fn prepare(&self, scheme: Scheme) -> PreparedRange {
        let scheme = match self.kind {
            RangeType::Semver => Scheme::Npm,
            _ => scheme,
        };
        let mut p = PreparedRange {
            scheme,
            git: self.kind == RangeType::Git,
            limits: Vec::new(),
            events: Vec::new(),
            error: None,
        };
        if p.git {
            return p;
        }
        let mut parsed = Vec::with_capacity(self.events.len());
        for e in &self.events {
            if is_zero(e) || is_star_limit(e) {
                parsed.push((e.clone(), Parsed::Text));
                continue;
            }
            match scheme.parse_owned(e.version()) {
                Ok(k) => parsed.push((e.clone(), k)),
                Err(err) => {
                    p.error = Some(err);
                    return p;
                }
            }
        }
        p.limits = parsed
            .iter()
            .filter(|(e, _)| matches!(e, Event::Limit(_)))
            .cloned()
            .collect();
        parsed.sort_by(|(a, ka), (b, kb)| {
            match (is_zero(a), is_zero(b), is_star_limit(a), is_star_limit(b)) {
                (true, true, _, _) | (_, _, true, true) => Ordering::Equal,
                (true, _, _, _) | (_, _, _, true) => Ordering::Less,
                (_, true, _, _) | (_, _, true, _) => Ordering::Greater,
                _ => scheme
                    .compare_parsed(a.version(), ka, b.version(), kb)
                    .unwrap_or(Ordering::Equal),
            }
        });
        p.events = parsed;
        p
    }
}

impl PreparedRange {
    /// The scheme the range compares with (`SEMVER` ranges: SemVer whatever the ecosystem).
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Whether the range is about commits (`GIT`), which a version cannot be checked against.
    pub fn is_git(&self) -> bool {
        self.git
    }

    /// Whether `version` lies in the range; the same answer as [`in_range`].
    pub fn contains(&self, version: &str) -> Result<bool, Error> {
        if self.git {
            return self.contains_parsed(version, &Parsed::Text);
        }
        let parsed = self.scheme.parse_owned(version)?;
        self.contains_parsed(version, &parsed)
    }

    /// [`PreparedRange::contains`] for a version already parsed by
    /// [`Scheme::parse_owned`] with [`PreparedRange::scheme`].
    pub fn contains_parsed(&self, version: &str, parsed: &Parsed) -> Result<bool, Error> {
        if self.git {
            return Err(Error::range(
                "GIT",
                "a GIT range cannot be evaluated on a version",
            ));
        }
        let scheme = self.scheme;
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if !self.limits.is_empty() {
            let mut below = false;
            for (l, k) in &self.limits {
                if is_star_limit(l)
                    || scheme.compare_parsed(version, parsed, l.version(), k)? == Ordering::Less
                {
                    below = true;
                    break;
                }
            }
            if !below {
                return Ok(false);
            }
        }
        let mut vulnerable = false;
        for (e, k) in &self.events {
            if is_zero(e) {
                vulnerable = true;
                continue;
            }
            if let Event::Limit(_) = e {
                continue;
            }
            let c = scheme.compare_parsed(version, parsed, e.version(), k)?;
            // events are in version order: none from here on can change the state
            if c == Ordering::Less {
                break;
            }
            match e {
                Event::Introduced(_) => vulnerable = true,
                Event::Fixed(_) => vulnerable = false,
                Event::LastAffected(_) if c == Ordering::Greater => vulnerable = false,
                _ => {}
            }
        }
        Ok(vulnerable)
    }
}

/// An explicit `versions` list made ready for many lookups: each listed version parsed once.
#[derive(Debug, Clone)]
pub struct PreparedVersions {
    scheme: Scheme,
    list: Vec<(String, Parsed)>,
}

impl PreparedVersions {
    /// Prepares `versions` of `scheme`; versions the scheme rejects can only match by text.
    pub fn new(scheme: Scheme, versions: &[String]) -> Self {
        PreparedVersions {
            scheme,
            list: versions
                .iter()
                .map(|v| {
                    let k = scheme.parse_owned(v).unwrap_or(Parsed::Text);
                    (v.clone(), k)
                })
                .collect(),
        }
    }

    /// Whether `version` (parsed by [`Scheme::parse_owned`] when it could be) is listed:
    /// the same text, or equal by the scheme.
    pub fn contains(&self, version: &str, parsed: Option<&Parsed>) -> bool {
        if self.list.iter().any(|(v, _)| v == version) {
            return true;
        }
        let text = Parsed::Text;
        let parsed = parsed.unwrap_or(&text);
        self.list.iter().any(|(v, k)| {
            self.scheme.compare_parsed(v, k, version, parsed).ok() == Some(Ordering::Equal)
        })
    }
}

/// A version to check against many statements, parsed once per scheme it is compared with.
pub struct Candidate<'a> {
    version: &'a str,
    parsed: std::cell::RefCell<Vec<(Scheme, Result<Parsed, Error>)>>,
}

impl<'a> Candidate<'a> {
    /// The installed version.
    pub fn new(version: &'a str) -> Self {
        Candidate {
            version,
            parsed: std::cell::RefCell::new(Vec::with_capacity(2)),
        }
    }

    /// Whether the candidate is a valid version of `scheme`.
    pub fn is_valid(&self, scheme: Scheme) -> bool {
        self.with(scheme, |p| p.is_ok())
    }

    /// Whether the candidate is below `other`, given `other`'s [`Scheme::parse_owned`] form
    /// (`None` when either does not parse).
    pub fn is_below_parsed(
        &self,
        scheme: Scheme,
        other: &str,
        theirs: &Option<Parsed>,
    ) -> Option<bool> {
        let theirs = theirs.as_ref()?;
        self.with(scheme, |p| {
            let ours = p.as_ref().ok()?;
            scheme
                .compare_parsed(self.version, ours, other, theirs)
                .ok()
                .map(|o| o == Ordering::Less)
        })
    }

    fn with<T>(&self, scheme: Scheme, f: impl FnOnce(&Result<Parsed, Error>) -> T) -> T {
        let mut p = self.parsed.borrow_mut();
        let i = match p.iter().position(|(s, _)| *s == scheme) {
            Some(i) => i,
            None => {
                p.push((scheme, scheme.parse_owned(self.version)));
                p.len() - 1
            }
        };
        f(&p[i].1)
    }
}

/// [`is_affected`] over prepared ranges. A range that cannot be evaluated does not hide a match
/// by another range or the `versions` list; without a match its error is returned.
pub fn is_affected_prepared(
    scheme: Scheme,
    version: &str,
    ranges: &[PreparedRange],
    versions: &PreparedVersions,
) -> Result<Affected, Error> {
    is_affected_candidate(scheme, &Candidate::new(version), ranges, versions)
}

/// [`is_affected_prepared`] for a [`Candidate`] that keeps its parsed forms between calls.
pub fn is_affected_candidate(
    scheme: Scheme,
    c: &Candidate<'_>,
    ranges: &[PreparedRange],
    versions: &PreparedVersions,
) -> Result<Affected, Error> {
    let version = c.version;
    let mut unknown = None;
    let mut error = None;
    for r in ranges {
        if r.git {
            unknown =
                Some("a GIT range (commit-based) cannot be evaluated on a version".to_string());
            continue;
        }
        let outcome = c.with(r.scheme, |p| match p {
            Ok(k) => r.contains_parsed(version, k),
            Err(e) => Err(e.clone()),
        });
        match outcome {
            Ok(true) => return Ok(Affected::Yes),
            Ok(false) => {}
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    if !versions.list.is_empty() && c.with(scheme, |p| versions.contains(version, p.as_ref().ok()))
    {
        return Ok(Affected::Yes);
    }
    if let Some(e) = error {
        return Err(e);
    }
    Ok(match unknown {
        Some(why) => Affected::Unknown(why),
        None => Affected::No,
    })
}

/// Whether `version` lies in `range` (a non-`GIT` range), with `scheme` for `ECOSYSTEM`.
pub fn in_range(scheme: Scheme, version: &str, range: &OsvRange) -> Result<bool, Error> {
    let scheme = match range.kind {
        RangeType::Semver => Scheme::Npm,
        RangeType::Ecosystem => scheme,
        RangeType::Git => {
            return Err(Error::range(
                "GIT",
                "a GIT range cannot be evaluated on a version",
            ));
        }
    };
    scheme.validate(version)?;
    for e in &range.events {
        if !is_zero(e) && !is_star_limit(e) {
            scheme.validate(e.version())?;
        }
    }
    // before limits
    let limits: Vec<&Event> = range
        .events
        .iter()
        .filter(|e| matches!(e, Event::Limit(_)))
        .collect();
    if !limits.is_empty() {
        let mut below = false;
        for l in limits {
            if is_star_limit(l) || scheme.compare(version, l.version())? == Ordering::Less {
                below = true;
                break;
            }
        }
        if !below {
            return Ok(false);
        }
    }
    let mut events: Vec<&Event> = range.events.iter().collect();
    // All versions were validated above, so comparisons cannot fail here.
    events.sort_by(|a, b| cmp_event(scheme, a, b).unwrap_or(Ordering::Equal));
    let mut vulnerable = false;
    for e in events {
        match e {
            Event::Introduced(v) => {
                if v == "0" || scheme.compare(version, v)? != Ordering::Less {
                    vulnerable = true;
                }
            }
            Event::Fixed(v) => {
                if scheme.compare(version, v)? != Ordering::Less {
                    vulnerable = false;
                }
            }
            Event::LastAffected(v) => {
                if scheme.compare(version, v)? == Ordering::Greater {
                    vulnerable = false;
                }
            }
            Event::Limit(_) => {}
        }
    }
    Ok(vulnerable)
}

/// OSV's `IsVulnerable` for one `affected[]` entry: explicit `versions` OR any range.
pub fn is_affected(
    scheme: Scheme,
    version: &str,
    ranges: &[OsvRange],
    versions: &[String],
) -> Result<Affected, Error> {
    if versions.iter().any(|v| v == version)
        || versions
            .iter()
            .any(|v| scheme.compare(v, version).ok() == Some(Ordering::Equal))
    {
        return Ok(Affected::Yes);
    }
    let mut unknown = None;
    for r in ranges {
        if r.kind == RangeType::Git {
            unknown =
                Some("a GIT range (commit-based) cannot be evaluated on a version".to_string());
            continue;
        }
        if in_range(scheme, version, r)? {
            return Ok(Affected::Yes);
        }
    }
    Ok(match unknown {
        Some(why) => Affected::Unknown(why),
        None => Affected::No,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(events: Vec<Event>) -> OsvRange {
        OsvRange {
            kind: RangeType::Ecosystem,
            events,
        }
    }
    use Event::*;

    #[test]
    fn osv_worked_examples() {
        let s = Scheme::SemVer;
        let simple = r(vec![Introduced("1.0.0".into()), Fixed("2.0.0".into())]);
        assert!(!in_range(s, "0.9.0", &simple).unwrap());
        assert!(in_range(s, "1.0.0", &simple).unwrap());
        assert!(in_range(s, "1.9.9", &simple).unwrap());
        assert!(!in_range(s, "2.0.0", &simple).unwrap());
        // out of order in the file, several intervals
        let multi = r(vec![
            Fixed("3.0.0".into()),
            Introduced("0".into()),
            Fixed("1.0.0".into()),
            Introduced("2.0.0".into()),
        ]);
        assert!(in_range(s, "0.5.0", &multi).unwrap());
        assert!(!in_range(s, "1.5.0", &multi).unwrap());
        assert!(in_range(s, "2.5.0", &multi).unwrap());
        assert!(!in_range(s, "3.0.0", &multi).unwrap());
        let last = r(vec![Introduced("0".into()), LastAffected("1.2.0".into())]);
        assert!(in_range(s, "1.2.0", &last).unwrap());
        assert!(!in_range(s, "1.2.1", &last).unwrap());
        let limited = r(vec![Introduced("1.0.0".into()), Limit("1.5.0".into())]);
        assert!(in_range(s, "1.4.0", &limited).unwrap());
        assert!(!in_range(s, "1.6.0", &limited).unwrap());
    }

    #[test]
    fn git_is_unknown_not_safe() {
        let g = OsvRange {
            kind: RangeType::Git,
            events: vec![Introduced("abc".into())],
        };
        let got = is_affected(Scheme::SemVer, "1.0.0", &[g], &[]).unwrap();
        assert!(matches!(got, Affected::Unknown(_)));
    }

    #[test]
    fn explicit_versions() {
        let got = is_affected(Scheme::Pep440, "1.0", &[], &["1.0.0".into()]).unwrap();
        assert_eq!(got, Affected::Yes);
    }
}
