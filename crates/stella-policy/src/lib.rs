//! Policies: YAML rules (`deny`, `warn`, `ignore`) and mutes with expiry, checked on load
//! with line-and-column errors, evaluated over a scan's findings into one verdict that gives
//! every reason.
//!
//! Traps: rules are tried in order and the first whose conditions all hold decides a finding
//! (so an `ignore` rule written first exempts findings from the `deny` rules after it); a mute
//! past its `until` day no longer applies and the verdict says that it expired; muted,
//! ignored and VEX `not_affected` findings stay in the report, marked, and never count.

pub mod glob;
pub mod history;
pub mod rego;

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use stella_match::{Finding, PolicyNote, severity_rank};
use stella_report::{Verdict, VerdictReason};

pub use glob::Glob;
pub use rego::RegoPolicy;
pub use stella_sbom::epoch_days;

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not a valid policy; `line` and `column` are 1-based when known.
    #[error("{source_name}{}: {message}", at(*line, *column))]
    Invalid {
        /// The file (or other source) it came from.
        source_name: String,
        /// Where.
        line: Option<usize>,
        /// Where.
        column: Option<usize>,
        /// What is wrong and what to do.
        message: String,
    },
}

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// What loading may demand.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Every mute must say `until` when it stops applying.
    pub require_mute_expiry: bool,
}

/// What a rule does with the findings it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Fails the verdict.
    Deny,
    /// Makes the verdict WARN (unless something fails it).
    Warn,
    /// Sets the finding aside, marked, for the rules after it and the verdict.
    Ignore,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Deny => "deny",
            Action::Warn => "warn",
            Action::Ignore => "ignore",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

impl Op {
    fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Ge => a >= b,
            Op::Gt => a > b,
        }
    }
}

/// `">= 7.5"`, `"critical"` (meaning `==`), `"< 30d"`: an operator and what follows it.
fn split_op(s: &str) -> (Op, &str) {
    let s = s.trim();
    for (p, op) in [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("!=", Op::Ne),
        ("==", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ] {
        if let Some(rest) = s.strip_prefix(p) {
            return (op, rest.trim());
        }
    }
    (Op::Eq, s)
}

/// A number given as YAML number or as a comparison string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumCmp {
    op: Op,
    value: f64,
}

impl<'de> Deserialize<'de> for NumCmp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(f64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(value) => Ok(NumCmp { op: Op::Ge, value }),
            Raw::S(s) => {
                let (op, rest) = split_op(&s);
                let value: f64 = rest.parse().map_err(|_| {
                    de::Error::custom(format!(
                        "`{s}` is not a comparison with a number (like \">= 7.0\")"
                    ))
                })?;
                Ok(NumCmp { op, value })
            }
        }
    }
}

/// A severity comparison: `">= high"`, `"critical"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeverityCmp {
    op: Op,
    rank: u8,
}

impl<'de> Deserialize<'de> for SeverityCmp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let (op, rest) = split_op(&s);
        let rank = severity_rank(&rest.to_ascii_lowercase()).ok_or_else(|| {
            de::Error::custom(format!(
                "`{rest}` is not a severity (critical, high, medium, low, none, unknown)"
            ))
        })?;
        Ok(SeverityCmp { op, rank })
    }
}

/// An age comparison in days: `">= 30d"`, `"< 7"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeCmp {
    op: Op,
    days: i64,
}

impl<'de> Deserialize<'de> for AgeCmp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let (op, rest) = split_op(&s);
        let days = rest
            .strip_suffix('d')
            .unwrap_or(rest)
            .trim()
            .parse()
            .map_err(|_| {
                de::Error::custom(format!("`{s}` is not an age in days (like \">= 30d\")"))
            })?;
        Ok(AgeCmp { op, days })
    }
}

/// One glob or several.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Globs(Vec<Glob>);

impl Globs {
    /// The patterns as written.
    pub fn patterns(&self) -> Vec<&str> {
        self.0.iter().map(Glob::as_str).collect()
    }

    fn any(&self, s: &str) -> bool {
        self.0.iter().any(|g| g.matches(s))
    }

    /// Whether a package pattern names the package `id` (a purl, or `name@version`): a
    /// pattern that names no version (`pkg:pypi/urllib3`) names every version of it, with
    /// any qualifiers, as people mean it.
    fn any_package(&self, id: &str) -> bool {
        self.any(id) || {
            let bare = unversioned(id);
            bare.len() < id.len() && self.any(bare)
        }
    }
}

/// A package id without its version, qualifiers and subpath (`pkg:npm/%40scope/x@1.0?a=b`
/// → `pkg:npm/%40scope/x`; `name@1.0` → `name`).
fn unversioned(id: &str) -> &str {
    let end = id.find(['?', '#']).unwrap_or(id.len());
    let head = &id[..end];
    let name_start = head.rfind('/').map_or(0, |i| i + 1);
    // a scoped npm name written as it is (`@babel/core@7`) keeps its leading `@`
    let from = name_start + usize::from(head[name_start..].starts_with('@'));
    match head[from..].find('@') {
        Some(at) => &id[..from + at],
        None => head,
    }
}

/// A condition's value: one string or a non-empty list of them.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    let v = match Raw::deserialize(d)? {
        Raw::One(s) => vec![s],
        Raw::Many(v) => v,
    };
    if v.is_empty() {
        return Err(de::Error::custom("an empty list matches nothing"));
    }
    Ok(v)
}

impl<'de> Deserialize<'de> for Globs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = one_or_many(d)?;
        v.iter()
            .map(|s| Glob::new(s).map_err(|e| de::Error::custom(format!("bad pattern: {e}"))))
            .collect::<Result<_, _>>()
            .map(Globs)
    }
}

/// A calendar day, `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    text: String,
    days: i64,
}

impl Day {
    /// The day as written (`YYYY-MM-DD`).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let days = (text.len() == 10)
            .then(|| epoch_days(&text))
            .flatten()
            .ok_or_else(|| de::Error::custom(format!("`{text}` is not a date (YYYY-MM-DD)")))?;
        Ok(Day { text, days })
    }
}

/// Where a package came from in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// A layer of the base image.
    Base,
    /// A layer the application added.
    Application,
}

/// A rule's conditions; all that are given must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct When {
    severity: Option<SeverityCmp>,
    cvss: Option<NumCmp>,
    epss: Option<NumCmp>,
    kev: Option<bool>,
    fix_available: Option<bool>,
    #[serde(alias = "vulnerabilities")]
    vulnerability: Option<Globs>,
    #[serde(alias = "packages")]
    package: Option<Globs>,
    #[serde(alias = "packageTypes")]
    package_type: Option<Globs>,
    layer: Option<Layer>,
    #[serde(alias = "images")]
    image: Option<Globs>,
    age: Option<AgeCmp>,
    /// A condition on the scan, not on a finding: the DB has no advisories for one of the
    /// scan's namespaces (`missing`), or its release is past its end of life (`eol`).
    coverage: Option<CoverageCond>,
}

/// What `coverage` asks for: `missing`, `eol`, or a list of them (any holds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct CoverageCond {
    missing: bool,
    eol: bool,
}

impl<'de> Deserialize<'de> for CoverageCond {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = one_or_many(d)?;
        let mut c = CoverageCond::default();
        for x in v {
            match x.trim() {
                "missing" => c.missing = true,
                "eol" | "end-of-life" => c.eol = true,
                other => {
                    return Err(de::Error::custom(format!(
                        "`{other}` is not a coverage condition (missing, eol)"
                    )));
                }
            }
        }
        Ok(c)
    }
}

impl When {
    /// Whether any condition is on a finding (all but `image` and `coverage`).
    fn on_findings(&self) -> bool {
        self.severity.is_some()
            || self.cvss.is_some()
            || self.epss.is_some()
            || self.kev.is_some()
            || self.fix_available.is_some()
            || self.vulnerability.is_some()
            || self.package.is_some()
            || self.package_type.is_some()
            || self.layer.is_some()
            || self.age.is_some()
    }
}

/// One rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Its name, unique in the policy.
    pub id: String,
    /// What it does.
    pub action: Action,
    #[serde(default)]
    when: When,
    /// The message template (`{vulnerabilityId}`, `{package}`, `{purl}`, `{severity}`,
    /// `{fixedVersion}`, `{rule}`).
    #[serde(default, deserialize_with = "template")]
    pub message: Option<String>,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
}

const PLACEHOLDERS: &[&str] = &[
    "vulnerabilityId",
    "package",
    "purl",
    "version",
    "severity",
    "fixedVersion",
    "rule",
];

fn template<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    let mut rest = s.as_str();
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        let j = after
            .find('}')
            .ok_or_else(|| de::Error::custom("a `{` in the message is never closed"))?;
        let name = &after[..j];
        if !PLACEHOLDERS.contains(&name) {
            return Err(de::Error::custom(format!(
                "unknown placeholder `{{{name}}}`; known: {}",
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        rest = &after[j + 1..];
    }
    Ok(Some(s))
}

/// A mute: one vulnerability (id or alias, patterns allowed), optionally in some packages,
/// set aside until a day, with a reason.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mute {
    /// The vulnerability.
    pub vulnerability: Globs,
    /// The packages (purl patterns); every package when absent.
    #[serde(default)]
    pub package: Option<Globs>,
    /// The day it stops applying (it holds before).
    #[serde(default)]
    pub until: Option<Day>,
    /// Why.
    pub reason: String,
    /// Who decided.
    #[serde(default)]
    pub by: Option<String>,
    /// When it was made.
    #[serde(default)]
    pub created: Option<String>,
}

/// A loaded, checked policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// `1`.
    pub version: u32,
    /// The rules, in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// The mutes.
    #[serde(default)]
    pub mutes: Vec<Mute>,
}

impl Policy {
    /// Loads and checks a YAML policy; `source_name` names it in errors.
    pub fn from_yaml(text: &str, source_name: &str, opts: &LoadOptions) -> Result<Policy, Error> {
        let invalid =
            |line: Option<usize>, column: Option<usize>, message: String| Error::Invalid {
                source_name: source_name.to_string(),
                line,
                column,
                message,
            };
        if text.len() > 4 << 20 {
            return Err(invalid(
                None,
                None,
                "larger than 4 MiB; is this a policy?".into(),
            ));
        }
        let p: Policy = serde_yaml::from_str(text).map_err(|e| {
            // serde_yaml prefixes the path (`rules[0].when`): keep it, it says where too
            let message = e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or("")
                .to_string();
            let (line, column) = match e.location() {
                Some(l) => value_at(text, l.line(), l.column(), &message),
                None => (None, None),
            };
            invalid(line, column, message)
        })?;
        if p.version != 1 {
            return Err(invalid(
                None,
                None,
                format!(
                    "policy version {} is not supported (this build reads version 1)",
                    p.version
                ),
            ));
        }
        let mut ids = BTreeSet::new();
        for (i, r) in p.rules.iter().enumerate() {
            if r.id.trim().is_empty() {
                return Err(invalid(None, None, format!("rules[{i}]: `id` is empty")));
            }
            if r.when.coverage.is_some() && r.when.on_findings() {
                return Err(invalid(
                    None,
                    None,
                    format!(
                        "rules[{i}] ({}): `coverage` is a condition on the scan, not on a finding; give it a rule of its own (with `image` at most)",
                        r.id
                    ),
                ));
            }
            if r.when.coverage.is_some() && r.action == Action::Ignore {
                return Err(invalid(
                    None,
                    None,
                    format!(
                        "rules[{i}] ({}): a `coverage` rule denies or warns; `ignore` has nothing to set aside",
                        r.id
                    ),
                ));
            }
            if !ids.insert(r.id.as_str()) {
                return Err(invalid(
                    None,
                    None,
                    format!(
                        "rules[{i}]: the id `{}` is used twice; rule ids must be unique",
                        r.id
                    ),
                ));
            }
        }
        for (i, m) in p.mutes.iter().enumerate() {
            if m.reason.trim().is_empty() {
                return Err(invalid(
                    None,
                    None,
                    format!("mutes[{i}]: `reason` is empty; say why"),
                ));
            }
            if opts.require_mute_expiry && m.until.is_none() {
                return Err(invalid(
                    None,
                    None,
                    format!(
                        "mutes[{i}] ({}): no `until`; this configuration demands that every mute expires",
                        m.vulnerability
                            .0
                            .iter()
                            .map(Glob::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        Ok(p)
    }
}

/// Where the value a message quotes (`` `2026-02-30` is not a date ``) is written: serde_yaml
/// places errors of a value's own checks at the start of the mapping that holds it, so the
/// quoted text is looked for from there on; the mapping's place when it is not found.
fn value_at(
    text: &str,
    line: usize,
    column: usize,
    message: &str,
) -> (Option<usize>, Option<usize>) {
    let quoted = message
        .split_once('`')
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(q, _)| q)
        .filter(|q| !q.is_empty());
    if let Some(q) = quoted {
        for (n, l) in text.lines().enumerate().skip(line.saturating_sub(1)) {
            if let Some(c) = l.find(q) {
                return (Some(n + 1), Some(l[..c].chars().count() + 1));
            }
        }
    }
    (Some(line), Some(column))
}

/// What evaluation knows beyond the findings.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Today (UTC), as days since 1970-01-01: a mute stops applying on its `until` day; ages
    /// count to it.
    pub today: i64,
    /// The image reference scanned (for `image` conditions).
    pub image: Option<String>,
    /// The base image's layers (diff ids), when known (for `layer` conditions): without
    /// them no package is in the base.
    pub base_layers: BTreeSet<String>,
    /// The scan's target, as the scan result writes it (`input.target` for Rego).
    pub target: serde_json::Value,
    /// What the SBOM held (`input.sbom` for Rego): `packages` and counts per `types`.
    pub sbom: serde_json::Value,
    /// Which of the scan's namespaces the DB covers (`coverage` conditions; `input.coverage`
    /// for Rego).
    pub coverage: Vec<stella_match::Coverage>,
}

fn package_id(f: &Finding) -> std::borrow::Cow<'_, str> {
    match &f.package.purl {
        Some(p) => std::borrow::Cow::Borrowed(p),
        None => std::borrow::Cow::Owned(format!("{}@{}", f.package.name, f.package.version)),
    }
}

/// Whether a vulnerability pattern names this finding (its id or one of its aliases).
fn names(g: &Globs, f: &Finding) -> bool {
    g.any(&f.vulnerability_id) || f.aliases.iter().any(|a| g.any(a))
}

impl When {
    fn holds(&self, f: &Finding, pkg: &str, ctx: &Context) -> bool {
        // a rule about the scan's coverage decides no finding
        if self.coverage.is_some() {
            return false;
        }
        if let Some(c) = self.severity
            && !c.op.holds(severity_rank(&f.severity).unwrap_or(0), c.rank)
        {
            return false;
        }
        if let Some(c) = self.cvss
            && !f.score.is_some_and(|s| c.op.holds(f64::from(s), c.value))
        {
            return false;
        }
        if let Some(c) = self.epss
            && !f.epss.is_some_and(|s| c.op.holds(f64::from(s), c.value))
        {
            return false;
        }
        if self.kev.is_some_and(|k| k != f.kev) {
            return false;
        }
        if self
            .fix_available
            .is_some_and(|want| want == f.fixed_versions.is_empty())
        {
            return false;
        }
        if let Some(g) = &self.vulnerability
            && !names(g, f)
        {
            return false;
        }
        if let Some(g) = &self.package
            && !g.any_package(pkg)
        {
            return false;
        }
        if let Some(g) = &self.package_type
            && !g.any(&f.package.kind)
        {
            return false;
        }
        if let Some(l) = self.layer {
            let in_base = f
                .package
                .layer
                .as_ref()
                .is_some_and(|x| ctx.base_layers.contains(x));
            if in_base != (l == Layer::Base) {
                return false;
            }
        }
        if let Some(g) = &self.image
            && !ctx.image.as_deref().is_some_and(|i| g.any(i))
        {
            return false;
        }
        if let Some(c) = self.age {
            let Some(p) = f.published.as_deref().and_then(epoch_days) else {
                return false;
            };
            if !c.op.holds(ctx.today - p, c.days) {
                return false;
            }
        }
        true
    }
}

fn fill(template: &str, rule: &str, f: &Finding) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(j) = after.find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        match &after[..j] {
            "vulnerabilityId" => out.push_str(&f.vulnerability_id),
            "package" => out.push_str(&f.package.name),
            "purl" => out.push_str(f.package.purl.as_deref().unwrap_or("")),
            "version" => out.push_str(&f.package.version),
            "severity" => out.push_str(&f.severity),
            "fixedVersion" => out.push_str(&f.fixed_versions.join(", ")),
            "rule" => out.push_str(rule),
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    out
}

/// Applies `policy` to the findings (marking muted and ignored ones, and the ones a rule
/// denied or warned about) and gives the verdict: any deny → FAIL, else any warn → WARN,
/// else PASS; every decision is a reason.
pub fn evaluate(policy: &Policy, findings: &mut [Finding], ctx: &Context) -> Verdict {
    // without Rego nothing can fail to evaluate
    evaluate_parts(Some(policy), &[], &rego::Runner::InProcess, findings, ctx).unwrap_or_else(|e| {
        Verdict {
            status: "FAIL".into(),
            reasons: vec![e.to_string()],
            details: Vec::new(),
        }
    })
}

/// A YAML policy and Rego policies, judged together: any deny from either fails.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// The YAML policy.
    pub yaml: Option<Policy>,
    /// Rego policies.
    pub rego: Vec<RegoPolicy>,
    /// How the Rego policies run.
    pub runner: rego::Runner,
}

fn is_set_aside(f: &Finding) -> bool {
    f.vex.is_some()
        || f.policy
            .as_ref()
            .is_some_and(|p| p.action == "muted" || p.action == "ignore")
}

/// Marks the findings a mute applies to; gives the mutes that expired, with their day.
fn apply_mutes(
    policy: &Policy,
    findings: &mut [Finding],
    ctx: &Context,
) -> BTreeSet<(usize, String)> {
    let mut expired = BTreeSet::new();
    // mutes naming exact ids are found by id; only those with wildcards are tried on every
    // finding
    let mut by_id: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    let mut wild = Vec::new();
    for (i, m) in policy.mutes.iter().enumerate() {
        if m.vulnerability.0.iter().all(Glob::is_literal) {
            for g in &m.vulnerability.0 {
                by_id.entry(g.as_str()).or_default().push(i);
            }
        } else {
            wild.push(i);
        }
    }
    let mut candidates: Vec<usize> = Vec::new();
    for f in findings.iter_mut().filter(|f| !is_set_aside(f)) {
        // the mutes that may name this finding, in policy order
        candidates.clear();
        for id in std::iter::once(&*f.vulnerability_id).chain(f.aliases.iter().map(String::as_str))
        {
            if let Some(v) = by_id.get(id) {
                candidates.extend_from_slice(v);
            }
        }
        candidates.extend_from_slice(&wild);
        candidates.sort_unstable();
        candidates.dedup();
        let pkg = package_id(f).into_owned();
        for &i in &candidates {
            let m = &policy.mutes[i];
            if !names(&m.vulnerability, f)
                || m.package.as_ref().is_some_and(|g| !g.any_package(&pkg))
            {
                continue;
            }
            if let Some(u) = &m.until
                && u.days <= ctx.today
            {
                expired.insert((i, u.text.clone()));
                continue;
            }
            f.policy = Some(PolicyNote {
                action: "muted".into(),
                rule: None,
                message: None,
                reason: Some(m.reason.clone()),
                until: m.until.as_ref().map(|u| u.text.clone()),
                by: m.by.clone(),
            });
            break;
        }
    }
    expired
}

/// A finding's key for Rego's `ignore`: `<vulnerabilityId>|<purl or name@version>`.
pub fn finding_key(f: &Finding) -> String {
    format!("{}|{}", f.vulnerability_id, package_id(f))
}

/// The input document Rego policies see: `target`, `sbom`, and the findings that count (not
/// set aside by VEX or a mute), each with its `key`.
fn rego_input(findings: &[Finding], ctx: &Context) -> Result<String, Error> {
    let bad = |e: serde_json::Error| Error::Invalid {
        source_name: "policy input".into(),
        line: None,
        column: None,
        message: e.to_string(),
    };
    // written straight out (no intermediate JSON tree): a finding is an object, so its key
    // goes in before the closing brace
    let mut out = Vec::with_capacity(1024 * findings.len() + 256);
    out.extend_from_slice(b"{\"target\":");
    serde_json::to_writer(&mut out, &ctx.target).map_err(bad)?;
    out.extend_from_slice(b",\"sbom\":");
    serde_json::to_writer(&mut out, &ctx.sbom).map_err(bad)?;
    out.extend_from_slice(b",\"coverage\":");
    serde_json::to_writer(&mut out, &ctx.coverage).map_err(bad)?;
    out.extend_from_slice(b",\"findings\":[");
    for (n, f) in findings.iter().filter(|f| !is_set_aside(f)).enumerate() {
        if n > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, f).map_err(bad)?;
        if out.last() == Some(&b'}') {
            out.pop();
            out.extend_from_slice(b",\"key\":");
            serde_json::to_writer(&mut out, &finding_key(f)).map_err(bad)?;
            out.push(b'}');
        }
    }
    out.extend_from_slice(b"]}");
    String::from_utf8(out).map_err(|e| Error::Invalid {
        source_name: "policy input".into(),
        line: None,
        column: None,
        message: e.to_string(),
    })
}

/// Applies every policy of the set: VEX-set-aside findings are left alone; YAML mutes apply
/// first; Rego policies then see the findings that still count (their `ignore` keys set
/// findings aside, their `deny`/`warn` messages are reasons); YAML rules judge what is left.
/// Any deny → FAIL, else any warn → WARN, else PASS. A Rego policy that fails to evaluate
/// (time limit, bad builtin call) is an error, never a verdict.
pub fn evaluate_set(
    set: &PolicySet,
    findings: &mut [Finding],
    ctx: &Context,
) -> Result<Verdict, Error> {
    evaluate_parts(set.yaml.as_ref(), &set.rego, &set.runner, findings, ctx)
}

fn evaluate_parts(
    yaml: Option<&Policy>,
    regos: &[RegoPolicy],
    runner: &rego::Runner,
    findings: &mut [Finding],
    ctx: &Context,
) -> Result<Verdict, Error> {
    for f in findings.iter_mut() {
        f.policy = None;
    }
    let mut details = Vec::new();
    let mut notes = Vec::new();
    let expired = match yaml {
        Some(p) => apply_mutes(p, findings, ctx),
        None => BTreeSet::new(),
    };
    if !regos.is_empty() {
        let input = rego_input(findings, ctx)?;
        for r in regos {
            let res = r.evaluate_with(&input, runner)?;
            let rule = format!("rego:{}", r.name());
            if !res.ignore.is_empty() {
                let keys: BTreeSet<&str> = res.ignore.iter().map(String::as_str).collect();
                for f in findings.iter_mut().filter(|f| !is_set_aside(f)) {
                    let hit = keys.contains(&*f.vulnerability_id)
                        || f.aliases.iter().any(|a| keys.contains(a.as_str()))
                        || keys.contains(finding_key(f).as_str());
                    if hit {
                        f.policy = Some(PolicyNote {
                            action: "ignore".into(),
                            rule: Some(rule.clone()),
                            message: None,
                            reason: None,
                            until: None,
                            by: None,
                        });
                    }
                }
            }
            for (action, list) in [("deny", &res.deny), ("warn", &res.warn)] {
                for m in list {
                    details.push(VerdictReason {
                        rule: rule.clone(),
                        action: action.into(),
                        vulnerability_id: m.vulnerability_id.clone().unwrap_or_default(),
                        package: m.package.clone().unwrap_or_default(),
                        message: m.msg.clone(),
                    });
                }
            }
        }
    }
    if let Some(policy) = yaml {
        for f in findings.iter_mut().filter(|f| !is_set_aside(f)) {
            let pkg = package_id(f).into_owned();
            let Some(rule) = policy.rules.iter().find(|r| r.when.holds(f, &pkg, ctx)) else {
                continue;
            };
            let message = match &rule.message {
                Some(t) => fill(t, &rule.id, f),
                None => format!(
                    "{} in {} {} ({})",
                    f.vulnerability_id, f.package.name, f.package.version, f.severity
                ),
            };
            if rule.action != Action::Ignore {
                details.push(VerdictReason {
                    rule: rule.id.clone(),
                    action: rule.action.name().to_string(),
                    vulnerability_id: f.vulnerability_id.to_string(),
                    package: pkg,
                    message: message.clone(),
                });
            }
            f.policy = Some(PolicyNote {
                action: rule.action.name().to_string(),
                rule: Some(rule.id.clone()),
                message: Some(message),
                reason: None,
                until: None,
                by: None,
            });
        }
        // rules about the scan's coverage: one decision per namespace they hold for
        for rule in policy.rules.iter().filter(|r| r.when.coverage.is_some()) {
            let Some(c) = rule.when.coverage else {
                continue;
            };
            if let Some(g) = &rule.when.image
                && !ctx.image.as_deref().is_some_and(|i| g.any(i))
            {
                continue;
            }
            for cov in &ctx.coverage {
                let why = if c.missing && cov.is_missing() {
                    format!(
                        "the DB has no advisories for {} ({} package(s) unchecked)",
                        cov.namespace, cov.packages
                    )
                } else if let (true, Some(d)) = (c.eol, &cov.end_of_life) {
                    format!("{} reached its end of life on {d}", cov.namespace)
                } else {
                    continue;
                };
                details.push(VerdictReason {
                    rule: rule.id.clone(),
                    action: rule.action.name().to_string(),
                    vulnerability_id: String::new(),
                    package: cov.namespace.clone(),
                    message: match &rule.message {
                        Some(t) => t.replace("{rule}", &rule.id),
                        None => why,
                    },
                });
            }
        }
        for (i, until) in &expired {
            let m = &policy.mutes[*i];
            notes.push(format!(
                "the mute of {} ({}) expired on {until} and no longer applies",
                m.vulnerability
                    .0
                    .iter()
                    .map(Glob::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                m.reason
            ));
        }
    }
    let count = |a: &str| details.iter().filter(|d| d.action == a).count();
    let (deny, warn) = (count("deny"), count("warn"));
    let status = if deny > 0 {
        "FAIL"
    } else if warn > 0 {
        "WARN"
    } else {
        "PASS"
    };
    let mut per_rule: std::collections::BTreeMap<(bool, &str, &str), usize> = Default::default();
    let mut on_scan = Vec::new();
    for d in &details {
        if d.vulnerability_id.is_empty() && !d.rule.starts_with("rego:") {
            // a decision about the scan (its coverage), said as it is
            on_scan.push((
                d.action != "deny",
                format!("rule `{}` ({}): {}", d.rule, d.action, d.message),
            ));
            continue;
        }
        // deny before warn, then by rule id
        *per_rule
            .entry((d.action != "deny", d.rule.as_str(), d.action.as_str()))
            .or_default() += 1;
    }
    on_scan.sort();
    let mut reasons: Vec<String> = on_scan.into_iter().map(|(_, r)| r).collect();
    reasons.extend(
        per_rule
            .iter()
            .map(|((_, r, a), n)| format!("rule `{r}` ({a}): {n} finding(s)")),
    );
    reasons.extend(notes);
    Ok(Verdict {
        status: status.into(),
        reasons,
        details,
    })
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests;
