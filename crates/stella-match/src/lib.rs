//! Matching installed packages against the compiled vulnerability DB: an explicit list of thin
//! matchers over one shared strategy, every finding carrying what was searched and what was
//! found.
//!
//! Traps: distro packages are looked up in the namespace of the detected release, by the name
//! the distro's feed uses (the *source* package for Debian, Ubuntu and Alpine; for RPM
//! distributions the binary name, the module stream key and the source name), and the
//! distro's own statement wins over OSV, GHSA and NVD (its fixed version is what counts, so
//! backported fixes are honoured, and its "not affected" silences the rest); a statement
//! limited to other architectures or, on Oracle Linux, to another build flavour (FIPS,
//! Ksplice) says nothing about this package; a version that cannot be compared is a warning,
//! never "not affected"; findings are sorted so the same inputs give the same bytes.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stella_advisory::cvss::Level;
use stella_advisory::db::PackageEntry;
use stella_advisory::{Db, Source, Status};
use stella_version::range::{
    Affected, Candidate, PreparedRange, PreparedVersions, is_affected_candidate,
    is_affected_prepared,
};

/// Why matching failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The DB could not be read.
    #[error(transparent)]
    Db(#[from] stella_advisory::Error),
}

/// The kind of an installed package, as matchers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Eco {
    /// apk (Alpine, Wolfi…)
    Apk,
    /// dpkg
    Deb,
    /// RPM
    Rpm,
    /// A language ecosystem, by DB namespace (`pypi`, `npm`, `go`, `maven`, `crates.io`…).
    Lang(&'static str),
}

fn unknown_eco() -> Eco {
    Eco::Lang("")
}

/// An installed package to match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pkg {
    /// Its kind (not in reports: a package read back from one is `Lang("")`).
    #[serde(skip, default = "unknown_eco")]
    pub eco: Eco,
    /// `deb`, `apk`, `rpm`, `pypi`… (the purl type), for reports.
    #[serde(rename = "type")]
    pub kind: String,
    /// Name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Source package (distro packages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// RPM module stream (`nodejs:18`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The layer that introduced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The file it was found in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A word from a small fixed vocabulary (severities, statuses, match kinds): no allocation
/// per finding when made here, an owned string when read back from JSON.
pub type Word = std::borrow::Cow<'static, str>;

/// What was searched (shared by a package's findings: one copy per package, not per finding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Searched {
    /// DB namespace.
    pub namespace: Arc<str>,
    /// Package key.
    pub name: Arc<str>,
    /// Version compared.
    pub version: Arc<str>,
}

/// What was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// The advisory that said it.
    pub advisory: String,
    /// Its feed.
    pub feed: String,
    /// The affected ranges, as `introduced/fixed…` text.
    pub ranges: Vec<String>,
}

/// How a finding was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchDetails {
    /// `distro`, `ecosystem` or `cpe`.
    #[serde(rename = "type")]
    pub kind: Word,
    /// What was searched.
    pub searched_by: Searched,
    /// What matched (shared by every finding the statement made).
    pub found: Arc<[Arc<Found>]>,
    /// `distro`, `osv`, `ghsa`, `nvd`: the precedence class that decided.
    pub source: Word,
}

/// One CVSS statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cvss {
    /// `CVSS_V3`…
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector.
    pub vector: String,
    /// Who said so.
    pub source: String,
}

/// What a match says about one vulnerability in one package, apart from the package itself
/// and what VEX and policy made of it. Findings reach these fields through `Deref`.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingData {
    /// The vulnerability record id (the CVE when there is one).
    pub vulnerability_id: Arc<str>,
    /// Other ids (shared by every finding of the vulnerability).
    pub aliases: Arc<[String]>,
    /// `critical`…`unknown`.
    pub severity: Word,
    /// The base score behind the severity.
    pub score: Option<f32>,
    /// The feed the severity came from.
    pub severity_source: Option<Arc<str>>,
    /// Every CVSS vector known (shared by every finding of the vulnerability).
    pub cvss: Arc<[Cvss]>,
    /// EPSS probability.
    pub epss: Option<f32>,
    /// In CISA's KEV catalogue.
    pub kev: bool,
    /// Versions that fix it.
    pub fixed_versions: Arc<[String]>,
    /// `fixed` (a fixed version exists) or `not-fixed`.
    pub status: Word,
    /// Summary (shared by every finding of the vulnerability).
    pub summary: Option<Arc<str>>,
    /// How it matched.
    pub match_details: MatchDetails,
    /// When the vulnerability was first published (policies judge its age by it).
    pub published: Option<Arc<str>>,
}

/// One vulnerability in one package: the match's [`FindingData`] (read through `Deref`;
/// shared with the matcher's memo and every finding made from it, copied on the first
/// change), the package, and what VEX and policy said. A finding made from the memo costs two
/// reference counts, not one per field: concurrent scans of similar images touch the same
/// memo entries, and every count they share bounces between cores.
#[derive(Clone)]
pub struct Finding {
    shared: Arc<Template>,
    /// The package.
    pub package: Arc<Pkg>,
    /// A VEX statement that says this finding does not apply (it stays in the report, marked,
    /// and does not count for the gate).
    pub vex: Option<VexNote>,
    /// What the policy made of this finding: a mute or a rule's action, with why.
    pub policy: Option<PolicyNote>,
}

impl Finding {
    /// A finding of `package`, with no VEX or policy note yet.
    pub fn new(data: FindingData, package: Arc<Pkg>) -> Finding {
        Finding {
            shared: Arc::new(Template::new(data, package.clone())),
            package,
            vex: None,
            policy: None,
        }
    }

    /// Whether the JSON the memo wrote for its finding is this finding's JSON: the same
    /// package, no VEX or policy note (the shared data is copied, without JSON, on change).
    fn as_memoised(&self) -> bool {
        self.vex.is_none()
            && self.policy.is_none()
            && Arc::ptr_eq(&self.package, &self.shared.package)
    }
}

impl std::ops::Deref for Finding {
    type Target = FindingData;
    fn deref(&self) -> &FindingData {
        &self.shared.data
    }
}

impl std::ops::DerefMut for Finding {
    /// Copies the shared data first unless this finding holds the only reference; either
    /// way the JSON kept for the data is forgotten.
    fn deref_mut(&mut self) -> &mut FindingData {
        let t = Arc::make_mut(&mut self.shared);
        t.json.take();
        *t.written.get_mut() = false;
        &mut t.data
    }
}

impl PartialEq for Finding {
    fn eq(&self, o: &Finding) -> bool {
        (Arc::ptr_eq(&self.shared, &o.shared) || self.shared.data == o.shared.data)
            && self.package == o.package
            && self.vex == o.vex
            && self.policy == o.policy
    }
}

impl std::fmt::Debug for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finding")
            .field("data", &self.shared.data)
            .field("package", &self.package)
            .field("vex", &self.vex)
            .field("policy", &self.policy)
            .finish()
    }
}

/// A finding as written: every field in report order (the shared data's fields around the
/// package and the VEX note).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Written<'a> {
    vulnerability_id: &'a str,
    aliases: &'a [String],
    severity: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity_source: Option<&'a str>,
    cvss: &'a [Cvss],
    #[serde(skip_serializing_if = "Option::is_none")]
    epss: Option<f32>,
    kev: bool,
    package: &'a Pkg,
    fixed_versions: &'a [String],
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    match_details: &'a MatchDetails,
    #[serde(skip_serializing_if = "Option::is_none")]
    vex: Option<&'a VexNote>,
    #[serde(skip_serializing_if = "Option::is_none")]
    published: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<&'a PolicyNote>,
}

impl<'a> Written<'a> {
    fn new(
        d: &'a FindingData,
        package: &'a Pkg,
        vex: Option<&'a VexNote>,
        policy: Option<&'a PolicyNote>,
    ) -> Written<'a> {
        Written {
            vulnerability_id: &d.vulnerability_id,
            aliases: &d.aliases,
            severity: &d.severity,
            score: d.score,
            severity_source: d.severity_source.as_deref(),
            cvss: &d.cvss,
            epss: d.epss,
            kev: d.kev,
            package,
            fixed_versions: &d.fixed_versions,
            status: &d.status,
            summary: d.summary.as_deref(),
            match_details: &d.match_details,
            vex,
            published: d.published.as_deref(),
            policy,
        }
    }
}

/// A finding as read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Read {
    vulnerability_id: Arc<str>,
    aliases: Arc<[String]>,
    severity: Word,
    #[serde(default)]
    score: Option<f32>,
    #[serde(default)]
    severity_source: Option<Arc<str>>,
    cvss: Arc<[Cvss]>,
    #[serde(default)]
    epss: Option<f32>,
    kev: bool,
    package: Arc<Pkg>,
    fixed_versions: Arc<[String]>,
    status: Word,
    #[serde(default)]
    summary: Option<Arc<str>>,
    match_details: MatchDetails,
    #[serde(default)]
    vex: Option<VexNote>,
    #[serde(default)]
    published: Option<Arc<str>>,
    #[serde(default)]
    policy: Option<PolicyNote>,
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = &self.shared;
        if self.as_memoised()
            && stella_json::writing()
            && t.worth_keeping()
            && let Some(json) = t.json()
        {
            return stella_json::write_raw(s, json);
        }
        Written::new(
            &t.data,
            &self.package,
            self.vex.as_ref(),
            self.policy.as_ref(),
        )
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Finding {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Finding, D::Error> {
        let r = Read::deserialize(d)?;
        let mut f = Finding::new(
            FindingData {
                vulnerability_id: r.vulnerability_id,
                aliases: r.aliases,
                severity: r.severity,
                score: r.score,
                severity_source: r.severity_source,
                cvss: r.cvss,
                epss: r.epss,
                kev: r.kev,
                fixed_versions: r.fixed_versions,
                status: r.status,
                summary: r.summary,
                match_details: r.match_details,
                published: r.published,
            },
            r.package,
        );
        f.vex = r.vex;
        f.policy = r.policy;
        Ok(f)
    }
}

/// A finding's shared part, kept in the memo: the data, the package it was made for, and its
/// compact JSON once written.
#[derive(Debug)]
struct Template {
    data: FindingData,
    package: Arc<Pkg>,
    json: std::sync::OnceLock<Box<str>>,
    /// Whether a finding made from it was written before: the JSON is kept from the second
    /// time on (a package seen once costs no more than without the memo).
    written: std::sync::atomic::AtomicBool,
}

/// A copy to change: without the JSON, which is no longer what it says.
impl Clone for Template {
    fn clone(&self) -> Template {
        Template::new(self.data.clone(), self.package.clone())
    }
}

impl Template {
    fn new(data: FindingData, package: Arc<Pkg>) -> Template {
        Template {
            data,
            package,
            json: std::sync::OnceLock::new(),
            written: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether its JSON is kept or worth keeping: from the second finding written on.
    fn worth_keeping(&self) -> bool {
        self.json.get().is_some()
            || self
                .written
                .swap(true, std::sync::atomic::Ordering::Relaxed)
    }

    /// The compact JSON of a finding made from it with its own package and no notes,
    /// written once.
    fn json(&self) -> Option<&str> {
        if let Some(j) = self.json.get() {
            return Some(j);
        }
        let mut v = Vec::with_capacity(1024);
        stella_json::to_writer(&mut v, &Written::new(&self.data, &self.package, None, None))
            .ok()?;
        let j = String::from_utf8(v).ok()?.into_boxed_str();
        Some(self.json.get_or_init(|| j))
    }
}

/// What a policy said about one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyNote {
    /// `muted`, `ignore`, `warn` or `deny`.
    pub action: String,
    /// The rule that decided (not for mutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The rule's message, filled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why it was muted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Until when the mute holds (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Who muted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// What a VEX document said about a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VexNote {
    /// `not_affected` or `fixed`.
    pub status: String,
    /// Why (OpenVEX justification or impact statement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// The document that said it.
    pub document: String,
}

/// The result of matching.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Matched {
    /// Findings, sorted.
    pub findings: Vec<Finding>,
    /// Packages or statements that could not be evaluated.
    pub warnings: Vec<String>,
    /// Informational advisories (unmaintained, unsound, notice) that apply: reported apart
    /// from findings, never counted for the gate.
    pub notices: Vec<Notice>,
}

/// What the DB holds for one namespace a scan's packages are looked up in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    /// The namespace (`debian:12`, `pypi`).
    pub namespace: String,
    /// The scan's packages looked up in it.
    pub packages: u64,
    /// `covered` (the DB has advisories for it) or `missing` (none: its packages' findings
    /// cannot be found, whatever they are).
    pub status: String,
    /// When the release stopped getting security support, if it has (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life: Option<String>,
}

impl Coverage {
    /// Whether the DB has no advisories for it.
    pub fn is_missing(&self) -> bool {
        self.status == "missing"
    }
}

/// The namespace a package's advisories are looked up in: its OS release's for distro
/// packages (none without a detected OS), its ecosystem's otherwise.
pub fn namespace_of<'a>(p: &Pkg, distro: Option<&'a str>) -> Option<&'a str> {
    match p.eco {
        Eco::Apk | Eco::Deb | Eco::Rpm => distro,
        Eco::Lang("") => None,
        Eco::Lang(ns) => Some(ns),
    }
}

/// Which namespaces `packages` are looked up in and whether `db` covers each, in namespace
/// order; a release past its end of life on `today` (days since the epoch) says so.
pub fn coverage(db: &Db, packages: &[Arc<Pkg>], distro: Option<&str>, today: i64) -> Vec<Coverage> {
    let mut per: std::collections::BTreeMap<&str, u64> = Default::default();
    for p in packages {
        if let Some(ns) = namespace_of(p, distro) {
            // a crate from a path, a git repository or another registry is not looked up
            if ns == "crates.io" && !from_crates_io(p.purl.as_deref()) {
                continue;
            }
            *per.entry(ns).or_default() += 1;
        }
    }
    let have = &db.manifest().namespaces;
    per.into_iter()
        .map(|(ns, n)| Coverage {
            namespace: ns.to_string(),
            packages: n,
            status: if have.get(ns).is_some_and(|&k| k > 0) {
                "covered"
            } else {
                "missing"
            }
            .into(),
            end_of_life: stella_advisory::namespace::ended_by(ns, today).map(str::to_string),
        })
        .collect()
}

/// An informational advisory that applies to a package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// The advisory (`RUSTSEC-2022-0057`).
    pub advisory: String,
    /// `unmaintained`, `unsound`, `notice`…
    pub kind: String,
    /// The package.
    pub package: Pkg,
    /// What it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Arc<str>>,
}

fn rank(l: Level) -> u8 {
    match l {
        Level::Critical => 5,
        Level::High => 4,
        Level::Medium => 3,
        Level::Low => 2,
        Level::None => 1,
        Level::Unknown => 0,
    }
}

/// A severity name (`critical`, `high`…) as a rank for gates.
pub fn severity_rank(s: &str) -> Option<u8> {
    Level::parse(s).map(rank).or(match s {
        "unknown" => Some(0),
        _ => None,
    })
}

fn range_text(r: &stella_advisory::Range) -> String {
    use stella_advisory::RangeEvent::*;
    r.events
        .iter()
        .map(|e| match e {
            Introduced(v) => format!(">={v}"),
            Fixed(v) => format!("<{v}"),
            LastAffected(v) => format!("<={v}"),
            Limit(v) => format!("<{v} (limit)"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The DB keys a package is looked up by.
fn keys(p: &Pkg, ns: &str) -> Vec<String> {
    let mut k = Vec::new();
    match p.eco {
        Eco::Apk | Eco::Deb => {
            k.push(p.source_name.clone().unwrap_or_else(|| p.name.clone()));
            if p.eco == Eco::Apk {
                k.push(p.name.clone());
            }
        }
        Eco::Rpm => {
            if let Some(m) = &p.module {
                k.push(format!("{m}::{}", p.name));
            }
            k.push(p.name.clone());
            if let Some(s) = &p.source_name {
                k.push(s.clone());
            }
        }
        Eco::Lang(_) => k.push(stella_advisory::namespace::normalize_package(ns, &p.name)),
    }
    // at most three keys: keep the first of each
    let mut i = 1;
    while i < k.len() {
        if k[..i].contains(&k[i]) {
            k.remove(i);
        } else {
            i += 1;
        }
    }
    k
}

/// One statement of the DB, decoded once with its ranges ready to evaluate.
struct Stmt {
    vulns: Vec<String>,
    entry: PackageEntry,
    /// The distribution's rating of this statement, when it has one.
    rating: Option<stella_advisory::db::Rating>,
    osv: Vec<PreparedRange>,
    versions: PreparedVersions,
    /// Versions the statement's ranges start *after* (NVD's `versionStartExcluding`, stored
    /// as an `introduced` event with a leading `>`): not affected by it.
    excluded: Vec<String>,
    /// What findings say this statement found, made when first needed.
    found: std::cell::OnceCell<Arc<Found>>,
    /// The fixed versions, parsed, made when first needed.
    fixes: std::cell::OnceCell<Vec<(String, Option<stella_version::Parsed>)>>,
}

impl Stmt {
    fn new(vulns: Vec<String>, mut entry: PackageEntry, scheme: stella_version::Scheme) -> Stmt {
        let mut excluded = Vec::new();
        for r in &mut entry.ranges {
            for e in &mut r.events {
                if let stella_advisory::RangeEvent::Introduced(v) = e
                    && let Some(after) = v.strip_prefix('>')
                {
                    let after = after.to_string();
                    excluded.push(after.clone());
                    *v = after;
                }
            }
        }
        // commit (GIT) ranges only matter when nothing else says which versions
        let versioned = entry
            .ranges
            .iter()
            .any(|r| r.kind != stella_advisory::model::RangeKind::Git)
            || !entry.versions.is_empty();
        let osv = entry
            .ranges
            .iter()
            .filter(|r| !versioned || r.kind != stella_advisory::model::RangeKind::Git)
            .filter_map(|r| r.to_osv())
            .map(|r| r.prepare(scheme))
            .collect();
        let versions = PreparedVersions::new(scheme, &entry.versions);
        Stmt {
            vulns,
            entry,
            rating: None,
            osv,
            versions,
            excluded,
            found: std::cell::OnceCell::new(),
            fixes: std::cell::OnceCell::new(),
        }
    }

    /// The versions that fix it, each parsed once.
    fn fixes(&self, scheme: stella_version::Scheme) -> &[(String, Option<stella_version::Parsed>)] {
        self.fixes.get_or_init(|| {
            let mut v: Vec<&str> = self
                .entry
                .ranges
                .iter()
                .flat_map(|r| r.fixed_versions())
                .collect();
            v.sort_unstable();
            v.dedup();
            v.into_iter()
                .map(|f| (f.to_string(), scheme.parse_owned(f).ok()))
                .collect()
        })
    }

    /// Whether `version` is a start the ranges exclude.
    fn excludes(&self, scheme: stella_version::Scheme, version: &str) -> bool {
        self.excluded.iter().any(|x| {
            x == version || scheme.compare(x, version).ok() == Some(std::cmp::Ordering::Equal)
        })
    }

    /// What a finding says this statement found.
    fn found(&self, db: &Db) -> Arc<Found> {
        let e = &self.entry;
        self.found
            .get_or_init(|| {
                Arc::new(Found {
                    advisory: e.advisory.clone(),
                    feed: db.feed_name(e.feed).to_string(),
                    ranges: e
                        .ranges
                        .iter()
                        .map(range_text)
                        .chain(e.versions.iter().map(|v| format!("={v}")))
                        .collect(),
                })
            })
            .clone()
    }
}

/// CPE candidates for language packages (see [`Options::cpe`]).
mod cpe {
    /// The `target_sw` values NVD writes for software of an ecosystem.
    fn target_software(eco: &str) -> &'static [&'static str] {
        match eco {
            "npm" => &["node.js", "nodejs"],
            "pypi" => &["python"],
            "rubygems" => &["ruby", "rails"],
            "maven" => &["java"],
            "go" => &["go", "golang"],
            "crates.io" => &["rust"],
            "nuget" => &[".net", "asp.net"],
            "packagist" => &["php"],
            _ => &[],
        }
    }

    /// The DB keys (`vendor:product`, and `vendor:product:target_sw` for the ecosystem's
    /// target software) a package may be listed under in NVD: products from the name (and
    /// the Maven group's last part), vendors from the product, `<product>_project`, the npm
    /// scope, the Maven group's parts and the Go module's owner.
    pub fn candidates(eco: &str, name: &str) -> Vec<String> {
        let name = name.to_ascii_lowercase();
        let mut products = Vec::new();
        let mut vendors = Vec::new();
        match eco {
            "maven" => {
                let (group, artifact) = name.split_once(':').unwrap_or(("", &name));
                products.push(artifact.to_string());
                if let Some(last) = group.rsplit('.').next().filter(|l| !l.is_empty()) {
                    products.push(last.to_string());
                }
                vendors.extend(
                    group
                        .split('.')
                        .filter(|p| !matches!(*p, "org" | "com" | "io" | "net" | "github" | ""))
                        .map(str::to_string),
                );
            }
            "npm" => match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
                Some((scope, n)) => {
                    products.push(n.to_string());
                    vendors.push(scope.to_string());
                }
                None => products.push(name.clone()),
            },
            "go" => {
                let parts: Vec<&str> = name.split('/').collect();
                products.extend(parts.last().map(|s| s.to_string()));
                if parts.len() >= 2 {
                    vendors.push(parts[1].to_string());
                }
            }
            "pypi" => {
                products.push(name.clone());
                if let Some(n) = name.strip_prefix("python-") {
                    products.push(n.to_string());
                }
            }
            _ => products.push(name.clone()),
        }
        let mut more = Vec::new();
        for p in &products {
            if p.contains('-') {
                more.push(p.replace('-', "_"));
            }
            if p.contains('_') {
                more.push(p.replace('_', "-"));
            }
        }
        products.extend(more);
        for p in &products {
            vendors.push(p.clone());
            vendors.push(format!("{p}_project"));
        }
        let mut keys = Vec::new();
        for v in &vendors {
            for p in &products {
                keys.push(format!("{v}:{p}"));
                for sw in target_software(eco) {
                    keys.push(format!("{v}:{p}:{sw}"));
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        keys.retain(|k| seen.insert(k.clone()));
        keys
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn candidates() {
            let c = super::candidates("maven", "org.apache.logging.log4j:log4j-core");
            assert!(c.contains(&"apache:log4j".to_string()), "{c:?}");
            assert!(c.contains(&"apache:log4j:java".to_string()));
            let c = super::candidates("npm", "@hapi/hoek");
            assert!(c.contains(&"hapi:hoek:node.js".to_string()), "{c:?}");
            let c = super::candidates("pypi", "PyYAML");
            assert!(
                c.contains(&"pyyaml_project:pyyaml:python".to_string()),
                "{c:?}"
            );
            let c = super::candidates("go", "github.com/gin-gonic/gin");
            assert!(c.contains(&"gin-gonic:gin".to_string()), "{c:?}");
        }
    }
}

/// What every finding of one vulnerability repeats, read from the DB once.
struct VulnInfo {
    published: Option<Arc<str>>,
    severity: Level,
    score: Option<f32>,
    severity_source: Option<Arc<str>>,
    /// The chosen severity is a distribution's rating of its own builds (it speaks for that
    /// distribution's findings only, which carry their statement's rating instead).
    severity_by_distro: bool,
    cvss: Arc<[Cvss]>,
    epss: Option<f32>,
    kev: bool,
    aliases: Arc<[String]>,
    summary: Option<Arc<str>>,
}

fn vuln_info(db: &Db, v: Option<stella_advisory::VulnerabilityView<'_>>) -> VulnInfo {
    match v {
        Some(v) => VulnInfo {
            published: v.published.map(Arc::from),
            severity: v.severity,
            score: v.score,
            severity_source: v
                .severity_from
                .and_then(|i| v.severities.get(usize::from(i)))
                .map(|s| Arc::from(db.feed_name(s.feed))),
            severity_by_distro: v
                .severity_from
                .and_then(|i| v.severities.get(usize::from(i)))
                .is_some_and(|s| s.distro),
            cvss: v
                .severities
                .iter()
                .filter(|s| s.kind.starts_with("CVSS_"))
                .map(|s| Cvss {
                    kind: s.kind.to_string(),
                    vector: s.value.to_string(),
                    source: db.feed_name(s.feed).to_string(),
                })
                .collect(),
            epss: v.epss.as_ref().map(|e| e.score),
            kev: v.kev.is_some(),
            aliases: v.aliases.iter().map(|a| a.to_string()).collect(),
            summary: v.summary.map(Arc::from),
        },
        None => VulnInfo {
            published: None,
            severity: Level::Unknown,
            score: None,
            severity_source: None,
            severity_by_distro: false,
            cvss: Arc::new([]),
            epss: None,
            kev: false,
            aliases: Arc::new([]),
            summary: None,
        },
    }
}

/// Whether a cargo package's purl (if any) says it comes from crates.io: no
/// `repository_url` other than crates.io's, no `vcs_url`, no `download_url`.
fn from_crates_io(purl: Option<&str>) -> bool {
    let Some(q) = purl.and_then(|p| p.split_once('?')).map(|(_, q)| q) else {
        return true;
    };
    q.split('#').next().unwrap_or(q).split('&').all(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "vcs_url" | "download_url" => false,
            "repository_url" => {
                let v = v.replace("%3A", ":").replace("%2F", "/");
                let v = v.trim_end_matches('/');
                v.ends_with("crates.io-index")
                    || v.ends_with("index.crates.io")
                    || v.ends_with("crates.io")
            }
            _ => true,
        }
    })
}

/// The Root.io namespace (`rootio:debian:12`) when the image's distro packages include
/// Root.io's patched builds: `.root.io` in a Debian, Ubuntu or RPM version, a release
/// `-r<d>007<d>` in an Alpine one (the markers Trivy detects them by).
fn rootio_namespace(distro: &str, packages: &[Arc<Pkg>]) -> Option<String> {
    let family = distro.split(':').next().unwrap_or("");
    let marked = |p: &Pkg| match p.eco {
        Eco::Deb | Eco::Rpm => p.version.contains(".root.io"),
        Eco::Apk => p.version.rsplit_once("-r").is_some_and(|(_, r)| {
            let b = r.as_bytes();
            b.windows(5)
                .any(|w| w[0].is_ascii_digit() && &w[1..4] == b"007" && w[4].is_ascii_digit())
        }),
        Eco::Lang(_) => false,
    };
    (matches!(family, "debian" | "ubuntu" | "alpine" | "rocky")
        && packages.iter().any(|p| marked(p)))
    .then(|| format!("rootio:{distro}"))
}

/// The Seal Security namespace of a distro package Seal rebuilt (its name or source name
/// starts with `seal-`): `seal:alpine`, `seal:debian` (Debian and Ubuntu), `seal:redhat:<N>`
/// (RPM distributions, `N` from the release's `elN`), as Trivy routes them.
fn seal_namespace(distro: &str, p: &Pkg) -> Option<String> {
    let sealed = |n: &str| n.get(..5).is_some_and(|x| x.eq_ignore_ascii_case("seal-"));
    if !sealed(&p.name) && !p.source_name.as_deref().is_some_and(sealed) {
        return None;
    }
    match distro.split(':').next().unwrap_or("") {
        "alpine" => Some("seal:alpine".into()),
        "debian" | "ubuntu" => Some("seal:debian".into()),
        "redhat" | "centos" | "oracle" | "mariner" | "azurelinux" => {
            let release = p.version.rsplit_once('-').map_or("", |(_, r)| r);
            let (_, el) = release.split_once("el")?;
            let n = el.split(['_', '+', '.']).next().unwrap_or("");
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| format!("seal:redhat:{n}"))
        }
        _ => None,
    }
}

/// A (namespace, key)'s statements, decoded once.
type Statements = std::rc::Rc<Vec<Stmt>>;

/// Statements read and prepared per (namespace, key): packages repeat across an image (one
/// name, many versions, many locations).
type Lookups = foldhash::HashMap<String, foldhash::HashMap<String, Statements>>;

/// The statements of `ns`/`key`, from the cache (`cache_ns` names the entry: CPE statements
/// are prepared with the scheme of the package they were read for) or read now.
fn statements(
    db: &Db,
    lookups: &mut Lookups,
    cache_ns: &str,
    ns: &str,
    key: &str,
    scheme: stella_version::Scheme,
) -> Result<Statements, Error> {
    if let Some(s) = lookups.get(cache_ns).and_then(|m| m.get(key)) {
        return Ok(s.clone());
    }
    let mut v = Vec::new();
    for e in db.package(ns, key)? {
        let (vulns, rating) = db.statement_list(e.vulnerabilities)?;
        let mut st = Stmt::new(vulns, e, scheme);
        st.rating = rating;
        v.push(st);
    }
    let v = std::rc::Rc::new(v);
    lookups
        .entry(cache_ns.to_string())
        .or_default()
        .insert(key.to_string(), v.clone());
    Ok(v)
}

/// What one package matched: memoised per DB, as packages recur across scans (one base
/// image under many applications, one lock file scanned again and again).
#[derive(Debug)]
struct PkgMatch {
    /// The match's inputs, compared in full on a hit (the memo is found by their hash).
    key: OwnedKey,
    /// (severity rank, sort key of the vulnerability id, finding): each finding's `package`
    /// is the first package matched, replaced by the package at hand on reuse.
    findings: Vec<(u8, IdKey, Arc<Template>)>,
    warnings: Vec<String>,
    /// (advisory, kind, summary) of informational advisories.
    notices: Vec<(String, String, Option<Arc<str>>)>,
}

/// A vulnerability id's sort key: its first 16 bytes (zero-padded, big-endian) and its length.
/// Sorting a scan's findings compared ids through two pointers each (cold memory: the memo's
/// findings); keys of ids up to 16 bytes (CVE and PYSEC ids) order them exactly on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IdKey {
    prefix: u128,
    len: usize,
}

impl IdKey {
    fn new(id: &str) -> IdKey {
        let b = id.as_bytes();
        let mut p = [0u8; 16];
        let n = b.len().min(16);
        p[..n].copy_from_slice(&b[..n]);
        IdKey {
            prefix: u128::from_be_bytes(p),
            len: b.len(),
        }
    }

    /// The order of the ids the keys were made from; `full` compares the ids themselves,
    /// needed only when the first 16 bytes are equal and one is longer. (Equal padded
    /// prefixes of two ids of at most 16 bytes mean the shorter is a prefix of the longer.)
    fn cmp(&self, o: &IdKey, full: impl FnOnce() -> std::cmp::Ordering) -> std::cmp::Ordering {
        self.prefix.cmp(&o.prefix).then_with(|| {
            if self.len <= 16 && o.len <= 16 {
                self.len.cmp(&o.len)
            } else {
                full()
            }
        })
    }
}

/// Everything the match of one package depends on, besides the DB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key<'a> {
    ns: &'a str,
    kind: &'static str,
    eco: Eco,
    name: &'a str,
    version: &'a str,
    source_name: Option<&'a str>,
    module: Option<&'a str>,
    arch: Option<&'a str>,
    rootio: Option<&'a str>,
    cpe: bool,
}

/// A [`Key`] kept in the memo: its text fields in one allocation, each as a length (or
/// `u32::MAX` for none) and its bytes.
#[derive(Debug)]
struct OwnedKey {
    kind: &'static str,
    eco: Eco,
    cpe: bool,
    text: Box<[u8]>,
}

impl Key<'_> {
    fn hash64(&self) -> u64 {
        use std::hash::BuildHasher;
        foldhash::fast::FixedState::with_seed(0x5e11a).hash_one(self)
    }

    /// The text fields, in one order.
    fn texts(&self) -> [Option<&str>; 7] {
        [
            Some(self.ns),
            Some(self.name),
            Some(self.version),
            self.source_name,
            self.module,
            self.arch,
            self.rootio,
        ]
    }

    fn owned(&self) -> OwnedKey {
        let texts = self.texts();
        let mut text = Vec::with_capacity(
            texts
                .iter()
                .map(|t| 4 + t.map_or(0, str::len))
                .sum::<usize>(),
        );
        for t in texts {
            match t {
                Some(t) => {
                    text.extend_from_slice(&(t.len() as u32).to_le_bytes());
                    text.extend_from_slice(t.as_bytes());
                }
                None => text.extend_from_slice(&u32::MAX.to_le_bytes()),
            }
        }
        OwnedKey {
            kind: self.kind,
            eco: self.eco,
            cpe: self.cpe,
            text: text.into_boxed_slice(),
        }
    }
}

impl OwnedKey {
    fn is(&self, k: &Key<'_>) -> bool {
        if self.eco != k.eco || self.kind != k.kind || self.cpe != k.cpe {
            return false;
        }
        let mut rest = &self.text[..];
        for t in k.texts() {
            let Some((len, after)) = rest.split_first_chunk::<4>() else {
                return false;
            };
            let len = u32::from_le_bytes(*len);
            match t {
                None if len == u32::MAX => rest = after,
                Some(t) if len as usize == t.len() && after.starts_with(t.as_bytes()) => {
                    rest = &after[t.len()..];
                }
                _ => return false,
            }
        }
        rest.is_empty()
    }
}

/// Package results of one DB, across scans, in two generations (a hit in the old one moves
/// to the young one; a full young one becomes the old one), so the packages in use stay and
/// the memory stays bounded: a generation holds at most [`Memo::PACKAGES`] packages and
/// [`Memo::FINDINGS`] findings (a finding with its JSON is about 1.5 KB, so both generations
/// stay under 50 MB however many vulnerabilities the packages have).
#[derive(Debug, Default)]
struct Memo {
    gens: std::sync::Mutex<Gens>,
}

#[derive(Debug, Default)]
struct Gens {
    young: foldhash::HashMap<u64, Arc<PkgMatch>>,
    /// Findings held by `young`.
    young_findings: usize,
    old: foldhash::HashMap<u64, Arc<PkgMatch>>,
}

impl Memo {
    /// Packages per generation: a few thousand images' worth of distinct packages.
    const PACKAGES: usize = 16_384;
    /// Findings per generation.
    const FINDINGS: usize = 16_384;

    fn get(&self, k: &Key<'_>, h: u64) -> Option<Arc<PkgMatch>> {
        let mut g = self.gens.lock().ok()?;
        if let Some(e) = g.young.get(&h) {
            return e.key.is(k).then(|| e.clone());
        }
        let e = g.old.remove(&h)?;
        if !e.key.is(k) {
            return None;
        }
        g.insert(h, e.clone());
        Some(e)
    }

    fn put(&self, h: u64, e: Arc<PkgMatch>) {
        if let Ok(mut g) = self.gens.lock() {
            g.insert(h, e);
        }
    }
}

impl Gens {
    fn insert(&mut self, h: u64, e: Arc<PkgMatch>) {
        if self.young.len() >= Memo::PACKAGES
            || self.young_findings + e.findings.len() > Memo::FINDINGS
        {
            self.old = std::mem::take(&mut self.young);
            self.young_findings = 0;
        }
        self.young_findings += e.findings.len();
        if let Some(was) = self.young.insert(h, e) {
            self.young_findings -= was.findings.len();
        }
    }
}

/// Caches of one scan, for the packages the memo does not know.
#[derive(Default)]
struct Scratch {
    /// packages repeat across an image (one name, many versions, many locations): each
    /// (namespace, key) is read and decoded once
    lookups: Lookups,
    vulns: foldhash::HashMap<String, VulnInfo>,
}

/// What one worker found in its share of the packages.
struct Part<'a> {
    out: Matched,
    /// Findings to make: they are large, so they are made once, in report order, after
    /// sorting these.
    found_all: Vec<Hit<'a>>,
}

/// A finding to make: (severity rank, the id's sort key, package position, the memo's
/// finding, the package — none when the memo's own equals it).
type Hit<'a> = (u8, IdKey, u32, Arc<Template>, Option<&'a Arc<Pkg>>);

/// Matches a share of the packages (`(position in report order, package)`).
fn match_part<'a>(
    db: &Db,
    part: &[(usize, &'a Arc<Pkg>)],
    distro: Option<&str>,
    rootio: Option<&str>,
    opts: &Options,
) -> Result<Part<'a>, Error> {
    let mut out = Matched::default();
    let mut found_all = Vec::new();
    let mut scratch = Scratch::default();
    let memo = db.derived(Memo::default);
    for &(pi, p) in part {
        let (ns, kind): (std::borrow::Cow<'_, str>, _) = match p.eco {
            Eco::Apk | Eco::Deb | Eco::Rpm => match distro {
                // Seal Security's rebuilds (`seal-zlib`) answer to Seal's data alone
                Some(d) => (seal_namespace(d, p).map_or(d.into(), Into::into), "distro"),
                None => {
                    out.warnings.push(format!(
                        "{} {}: no operating system detected, so its distro advisories cannot be looked up",
                        p.name, p.version
                    ));
                    continue;
                }
            },
            Eco::Lang(ns) => (ns.into(), "ecosystem"),
        };
        // a crate from a path, a git repository or another registry is not crates.io's crate
        // of that name (cargo-audit passes them over the same way)
        if ns == "crates.io" && !from_crates_io(p.purl.as_deref()) {
            continue;
        }
        let Some(scheme) = stella_advisory::namespace::scheme(&ns) else {
            out.warnings.push(format!(
                "{} {}: no version scheme for namespace `{ns}`",
                p.name, p.version
            ));
            continue;
        };
        let distro_pkg = matches!(p.eco, Eco::Apk | Eco::Deb | Eco::Rpm);
        let rootio = rootio.filter(|_| distro_pkg);
        let key = Key {
            ns: &ns,
            kind,
            eco: p.eco,
            name: &p.name,
            version: &p.version,
            source_name: p.source_name.as_deref(),
            module: p.module.as_deref(),
            arch: p.arch.as_deref(),
            rootio,
            cpe: opts.cpe,
        };
        let h = key.hash64();
        let m = match memo.and_then(|m| m.get(&key, h)) {
            Some(m) => m,
            None => {
                let m = Arc::new(match_one(db, &mut scratch, p, &key, scheme)?);
                if let Some(memo) = memo {
                    memo.put(h, m.clone());
                }
                m
            }
        };
        out.warnings.extend(m.warnings.iter().cloned());
        out.notices
            .extend(m.notices.iter().map(|(advisory, kind, summary)| Notice {
                advisory: advisory.clone(),
                kind: kind.clone(),
                package: Pkg::clone(p),
                summary: summary.clone(),
            }));
        // a package equal to the memo's (the same image again, a shared base layer) shares the
        // memo's copy: its findings then equal the memo's without comparing it field by field
        // for each finding when written
        let own = m
            .findings
            .first()
            .is_some_and(|(_, _, t)| *t.package != **p)
            .then_some(p);
        for (r, id, t) in &m.findings {
            found_all.push((*r, *id, pi as u32, t.clone(), own));
        }
    }
    Ok(Part { out, found_all })
}

/// Matches one package, as `key` says (its versions compare by `scheme`).
fn match_one(
    db: &Db,
    scratch: &mut Scratch,
    p: &Arc<Pkg>,
    key: &Key<'_>,
    scheme: stella_version::Scheme,
) -> Result<PkgMatch, Error> {
    let mut res = PkgMatch {
        key: key.owned(),
        findings: Vec::new(),
        warnings: Vec::new(),
        notices: Vec::new(),
    };
    let (ns, kind, rootio) = (key.ns, key.kind, key.rootio);
    // the installed version, parsed once for every statement it is checked against
    let candidate = Candidate::new(&p.version);
    if !candidate.is_valid(scheme) {
        res.warnings.push(format!(
            "{} {}: the version is not a valid {} version; not matched (not \"not affected\")",
            p.name,
            p.version,
            scheme.name()
        ));
        return Ok(res);
    }
    // one copy of the package for all its findings, made with the first
    let mut ns = ns.to_string();
    let mut kind = kind;
    let mut keys_of = keys(p, &ns);
    let mut held: Vec<Statements> = Vec::with_capacity(keys_of.len());
    for pass in 0..2 {
        if pass == 1 {
            // the ecosystem's own data says nothing of this package: NVD's CPE
            // configurations, when asked for, compared with the package's scheme
            let Eco::Lang(eco) = p.eco else { break };
            if !key.cpe || held.iter().any(|h| !h.is_empty()) {
                break;
            }
            keys_of = cpe::candidates(eco, &p.name);
            if keys_of.is_empty() {
                break;
            }
            held.clear();
            ns = "cpe".to_string();
            kind = "cpe";
        }
        // CPE statements are prepared with the scheme of the package they are read for
        let cache_ns = if ns == "cpe" {
            format!("cpe/{}", scheme.name())
        } else {
            ns.clone()
        };
        for key in &keys_of {
            held.push(statements(
                db,
                &mut scratch.lookups,
                &cache_ns,
                &ns,
                key,
                scheme,
            )?);
        }
    }
    // an image patched by Root.io: its feed's statement about a vulnerability replaces
    // the distribution's for every distro package (as Trivy does); held from `root_from`
    let root_from = held.len();
    let distro_pkg = matches!(p.eco, Eco::Apk | Eco::Deb | Eco::Rpm);
    if let Some(rns) = rootio.filter(|_| distro_pkg) {
        let n = keys_of.len();
        for i in 0..n {
            let key = keys_of[i].clone();
            held.push(statements(
                db,
                &mut scratch.lookups,
                rns,
                rns,
                &key,
                scheme,
            )?);
            keys_of.push(key);
        }
    }
    // (vulnerability id, key, statement), grouped by id in key and statement order
    let mut cands: Vec<(&str, usize, usize)> = Vec::new();
    for (k, statements) in held.iter().enumerate() {
        for (i, st) in statements.iter().enumerate() {
            for v in &st.vulns {
                cands.push((v.as_str(), k, i));
            }
        }
    }
    cands.sort_unstable();
    // what the findings of this package say was searched, made with its first finding
    let mut searched_ns: Option<Arc<str>> = None;
    let mut searched_rootio: Option<Arc<str>> = None;
    let mut searched_version: Option<Arc<str>> = None;
    let mut searched_keys: Vec<(usize, Arc<str>)> = Vec::new();
    // buffers reused by every vulnerability of this package (most are checked and
    // dropped: three allocations each were a large share of matching)
    let mut all: Vec<(&String, &Stmt)> = Vec::new();
    let mut entries: Vec<(&String, &Stmt)> = Vec::new();
    let mut hit: Vec<(&String, &Stmt)> = Vec::new();
    for group in cands.chunk_by(|a, b| a.0 == b.0) {
        let vid = group[0].0;
        let by_rootio = group.iter().any(|&(_, k, _)| k >= root_from);
        all.clear();
        all.extend(
            group
                .iter()
                .filter(|&&(_, k, _)| !by_rootio || k >= root_from)
                .map(|&(_, k, i)| (&keys_of[k], &held[k][i])),
        );
        // the distribution's own statement wins for its packages
        let best = all
            .iter()
            .map(|(_, st)| st.entry.source)
            .min()
            .unwrap_or(Source::Nvd);
        entries.clear();
        entries.extend(
            all.iter()
                .copied()
                .filter(|(_, st)| !distro_pkg || st.entry.source == best)
                .filter(|(_, st)| {
                    st.entry.arches.is_empty()
                        || p.arch
                            .as_ref()
                            .is_some_and(|a| st.entry.arches.iter().any(|x| x == a))
                })
                .filter(|(_, st)| {
                    // Oracle Linux: a FIPS or Ksplice build's fix speaks for that flavour only
                    !ns.starts_with("oracle:")
                        || st
                            .entry
                            .ranges
                            .iter()
                            .flat_map(|r| r.fixed_versions())
                            .all(|f| {
                                stella_advisory::oracle::flavor(f)
                                    == stella_advisory::oracle::flavor(&p.version)
                            })
                }),
        );
        if entries.is_empty()
            || entries
                .iter()
                .any(|(_, st)| st.entry.status == Status::NotAffected)
        {
            continue;
        }
        hit.clear();
        for (key, st) in &entries {
            match is_affected_candidate(scheme, &candidate, &st.osv, &st.versions) {
                Ok(Affected::Yes) if st.excludes(scheme, &p.version) => {}
                Ok(Affected::Yes) => hit.push((key, *st)),
                Ok(Affected::No) => {}
                Ok(Affected::Unknown(why)) => res
                    .warnings
                    .push(format!("{} {} / {vid}: {why}", p.name, p.version)),
                Err(e) => res
                    .warnings
                    .push(format!("{} {} / {vid}: {e}", p.name, p.version)),
            }
        }
        if hit.is_empty() {
            continue;
        }
        if !scratch.vulns.contains_key(vid) {
            let info = vuln_info(db, db.vulnerability_view(vid).ok().flatten());
            scratch.vulns.insert(vid.to_string(), info);
        }
        let info = &scratch.vulns[vid];
        let (severity, score, sev_src) = rate(db, info, &hit, distro_pkg);
        let (cvss, epss, kev, aliases, summary) = (
            info.cvss.clone(),
            info.epss,
            info.kev,
            info.aliases.clone(),
            info.summary.clone(),
        );
        // unmaintained / unsound crates are worth knowing, but they are not vulnerabilities
        // (a record can join an informational advisory and a vulnerability: each is
        // reported for what it is)
        if hit.iter().any(|(_, st)| st.entry.informational.is_some()) {
            let mut seen = std::collections::BTreeSet::new();
            for (_, st) in hit
                .iter()
                .filter(|(_, st)| st.entry.informational.is_some())
            {
                let e = &st.entry;
                if seen.insert(&e.advisory) {
                    res.notices.push((
                        e.advisory.clone(),
                        e.informational.clone().unwrap_or_default(),
                        summary.clone(),
                    ));
                }
            }
            hit.retain(|(_, st)| st.entry.informational.is_none());
            if hit.is_empty() {
                continue;
            }
        }
        // a fix on another release line (2.2.21 for an installed 3.2.0) is no upgrade
        // path: only fixes above the installed version are offered
        let mut fixed: Vec<String> = hit
            .iter()
            .flat_map(|(_, st)| st.fixes(scheme).iter())
            .filter(|(v, k)| candidate.is_below_parsed(scheme, v, k) != Some(false))
            .map(|(v, _)| v.clone())
            .collect();
        // one statement's fixes are sorted and unique already
        if hit.len() > 1 {
            fixed.sort();
            fixed.dedup();
        }
        let (key0, _) = hit[0];
        res.findings.push((
            rank(severity),
            IdKey::new(vid),
            Arc::new(Template::new(
                FindingData {
                    vulnerability_id: Arc::from(vid),
                    aliases,
                    severity: Word::Borrowed(severity.as_str()),
                    score,
                    severity_source: sev_src,
                    cvss,
                    epss,
                    kev,
                    status: Word::Borrowed(if fixed.is_empty() {
                        "not-fixed"
                    } else {
                        "fixed"
                    }),
                    fixed_versions: fixed.into(),
                    summary,
                    match_details: MatchDetails {
                        kind: Word::Borrowed(kind),
                        searched_by: Searched {
                            namespace: match rootio {
                                Some(r) if by_rootio => {
                                    searched_rootio.get_or_insert_with(|| Arc::from(r)).clone()
                                }
                                _ => searched_ns
                                    .get_or_insert_with(|| Arc::from(ns.as_str()))
                                    .clone(),
                            },
                            name: {
                                let at = key0 as *const String as usize;
                                match searched_keys.iter().find(|(k, _)| *k == at) {
                                    Some((_, a)) => a.clone(),
                                    None => {
                                        let a: Arc<str> = Arc::from(key0.as_str());
                                        searched_keys.push((at, a.clone()));
                                        a
                                    }
                                }
                            },
                            version: searched_version
                                .get_or_insert_with(|| Arc::from(p.version.as_str()))
                                .clone(),
                        },
                        found: found_once(db, &hit),
                        source: Word::Borrowed(hit[0].1.entry.source.name()),
                    },
                    published: info.published.clone(),
                },
                p.clone(),
            )),
        ));
    }
    Ok(res)
}

/// What a finding's statements found, each advisory of a feed once: an advisory that names
/// a package under two keys (binary and source name) or twice in one record is one entry,
/// its ranges joined.
fn found_once(db: &Db, hit: &[(&String, &Stmt)]) -> Arc<[Arc<Found>]> {
    let mut out: Vec<Arc<Found>> = Vec::with_capacity(hit.len());
    for (_, st) in hit {
        let f = st.found(db);
        match out
            .iter_mut()
            .find(|o| o.advisory == f.advisory && o.feed == f.feed)
        {
            Some(o) if Arc::ptr_eq(o, &f) || o.ranges == f.ranges => {}
            Some(o) => {
                let mut joined = (**o).clone();
                for r in &f.ranges {
                    if !joined.ranges.contains(r) {
                        joined.ranges.push(r.clone());
                    }
                }
                *o = Arc::new(joined);
            }
            None => out.push(f),
        }
    }
    out.into()
}

/// A finding's severity, by the precedence `docs/vulnerability-db.md` writes down: a distro
/// package's finding takes the rating its matched statements carry (the highest, when two
/// advisories of its release rate it), else the flaw's own score (NVD, GHSA, OSV); never
/// another distribution's or another release's rating. Language findings take the flaw's.
fn rate(
    db: &Db,
    info: &VulnInfo,
    hit: &[(&String, &Stmt)],
    distro_pkg: bool,
) -> (Level, Option<f32>, Option<Arc<str>>) {
    if distro_pkg {
        let mut best: Option<(Level, Option<f32>, u16)> = None;
        for (_, st) in hit {
            if let Some((l, s)) = st.rating.as_ref().and_then(|r| r.level())
                && best.is_none_or(|(b, _, _)| rank(l) > rank(b))
            {
                best = Some((l, s, st.entry.feed));
            }
        }
        if let Some((l, s, feed)) = best {
            return (l, s, Some(Arc::from(db.feed_name(feed))));
        }
    }
    if info.severity_by_distro {
        return (Level::Unknown, None, None);
    }
    (info.severity, info.score, info.severity_source.clone())
}

/// Matches `packages`; `distro` is the DB namespace of the detected OS (`debian:12`).
pub fn match_packages(db: &Db, packages: &[Pkg], distro: Option<&str>) -> Result<Matched, Error> {
    let shared: Vec<Arc<Pkg>> = packages.iter().cloned().map(Arc::new).collect();
    match_packages_with(db, &shared, distro, &Options::default())
}

/// What matching may do beyond the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Match language packages the DB has no ecosystem statement about against NVD's CPE
    /// configurations (off by default: guessed CPEs are the peers' main source of false
    /// positives).
    pub cpe: bool,
}

/// [`match_packages`] with [`Options`], for packages already shared (findings keep a
/// reference to their package, not a copy).
pub fn match_packages_with(
    db: &Db,
    packages: &[Arc<Pkg>],
    distro: Option<&str>,
    opts: &Options,
) -> Result<Matched, Error> {
    // packages are visited in report order (name, version, location; stable), so a
    // finding's sort key needs only the visit position
    let mut visit: Vec<&Arc<Pkg>> = packages.iter().collect();
    visit.sort_by(|a, b| {
        (&a.name, &a.version, &a.location).cmp(&(&b.name, &b.version, &b.location))
    });
    let visit: Vec<(usize, &Arc<Pkg>)> = visit.into_iter().enumerate().collect();
    let rootio = distro.and_then(|d| rootio_namespace(d, packages));
    // (splitting the packages over two threads was tried: slower, as each worker repeats
    // the DB decoding and faults in its own heap)
    let Part {
        mut out,
        mut found_all,
    } = match_part(db, &visit, distro, rootio.as_deref(), opts)?;
    // order: severity, then vulnerability id, then package name, version and location (the
    // visit position); unique keys (one finding per vulnerability and package), so the
    // unstable sort is deterministic
    found_all.sort_unstable_by(|(ra, ia, pa, ta, _), (rb, ib, pb, tb, _)| {
        rb.cmp(ra)
            .then_with(|| {
                ia.cmp(ib, || {
                    ta.data.vulnerability_id.cmp(&tb.data.vulnerability_id)
                })
            })
            .then_with(|| pa.cmp(pb))
    });
    out.findings = found_all
        .into_iter()
        .map(|(_, _, _, t, p)| Finding {
            package: p.unwrap_or(&t.package).clone(),
            shared: t,
            vex: None,
            policy: None,
        })
        .collect();
    out.notices.sort_by(|a, b| {
        (
            &a.advisory,
            &a.package.name,
            &a.package.version,
            &a.package.location,
        )
            .cmp(&(
                &b.advisory,
                &b.package.name,
                &b.package.version,
                &b.package.location,
            ))
    });
    out.warnings.sort();
    out.warnings.dedup();
    Ok(out)
}

/// Why `id` (a vulnerability id or alias) did or did not match each package: one paragraph
/// per package the DB has a statement about, each statement with its verdict.
pub fn explain(
    db: &Db,
    packages: &[Pkg],
    distro: Option<&str>,
    id: &str,
) -> Result<Vec<String>, Error> {
    let record = db
        .vulnerability(id)?
        .map(|v| v.id)
        .unwrap_or_else(|| id.to_string());
    // the verdict per package is the matcher's own, so `--explain` never disagrees with a scan
    let shared: Vec<Arc<Pkg>> = packages.iter().cloned().map(Arc::new).collect();
    let matched = match_packages_with(db, &shared, distro, &Options::default())?;
    let matches = |p: &Pkg| {
        matched.findings.iter().any(|f| {
            (*f.vulnerability_id == *record
                || &*f.vulnerability_id == id
                || f.aliases.iter().any(|a| a == id))
                && *f.package == *p
        })
    };
    let rootio = distro.and_then(|d| rootio_namespace(d, &shared));
    let mut out = Vec::new();
    for p in packages {
        let ns = match p.eco {
            Eco::Apk | Eco::Deb | Eco::Rpm => match distro {
                Some(d) => seal_namespace(d, p).unwrap_or_else(|| d.to_string()),
                None => continue,
            },
            Eco::Lang(ns) => ns.to_string(),
        };
        let Some(scheme) = stella_advisory::namespace::scheme(&ns) else {
            continue;
        };
        let mut lines = Vec::new();
        let distro_pkg = matches!(p.eco, Eco::Apk | Eco::Deb | Eco::Rpm);
        let mut spaces = vec![ns.clone()];
        if let Some(r) = rootio.as_ref().filter(|_| distro_pkg) {
            spaces.push(r.clone());
        }
        let mut stmts: Vec<(String, String, PackageEntry)> = Vec::new();
        for space in &spaces {
            for key in keys(p, &ns) {
                for e in db.package(space, &key)? {
                    let vulns = db.vulnerability_list(e.vulnerabilities)?;
                    if vulns.iter().any(|v| *v == record || v == id) {
                        stmts.push((space.clone(), key.clone(), e));
                    }
                }
            }
        }
        if stmts.is_empty() {
            continue;
        }
        let by_rootio = rootio
            .as_ref()
            .is_some_and(|r| stmts.iter().any(|(space, ..)| space == r));
        let best = stmts
            .iter()
            .map(|(_, _, e)| e.source)
            .min()
            .unwrap_or(Source::Nvd);
        for (space, key, e) in &stmts {
            let ns = space;
            let st = Stmt::new(Vec::new(), e.clone(), scheme);
            let ranges: Vec<String> = e.ranges.iter().map(range_text).collect();
            let head = format!(
                "  {} in {ns}/{key} from {} ({:?}): {}",
                e.advisory,
                db.feed_name(e.feed),
                e.source,
                if e.status == Status::NotAffected {
                    "not affected".to_string()
                } else {
                    ranges.join(", ")
                }
            );
            let verdict = if by_rootio && rootio.as_ref() != Some(space) {
                "ignored: Root.io's statement replaces the distribution's in this image".to_string()
            } else if distro_pkg && e.source != best {
                format!("ignored: the {:?} feed's statement takes precedence", best)
            } else if !e.arches.is_empty()
                && !p
                    .arch
                    .as_ref()
                    .is_some_and(|a| e.arches.iter().any(|x| x == a))
            {
                format!("ignored: for {} only", e.arches.join(", "))
            } else if e.status == Status::NotAffected {
                "the distribution says this package is not affected".to_string()
            } else {
                match is_affected_prepared(scheme, &p.version, &st.osv, &st.versions) {
                    Ok(Affected::Yes) if st.excludes(scheme, &p.version) => {
                        format!(
                            "{} is where the range starts, exclusively: not affected",
                            p.version
                        )
                    }
                    Ok(Affected::Yes) => format!("{} is inside: affected", p.version),
                    Ok(Affected::No) => format!("{} is outside: not affected", p.version),
                    Ok(Affected::Unknown(why)) => format!("cannot tell: {why}"),
                    Err(err) => format!("cannot tell: {err}"),
                }
            };
            lines.push(format!("{head}\n    → {verdict}"));
        }
        out.push(format!(
            "{} {} ({}): {}\n{}",
            p.name,
            p.version,
            p.kind,
            if matches(p) {
                "MATCHES"
            } else {
                "does not match"
            },
            lines.join("\n")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod memo_tests {
    use super::*;

    fn template() -> Arc<Template> {
        Arc::new(Template::new(
            FindingData {
                vulnerability_id: "CVE-1".into(),
                aliases: Arc::new([]),
                severity: Word::Borrowed("high"),
                score: None,
                severity_source: None,
                cvss: Arc::new([]),
                epss: None,
                kev: false,
                fixed_versions: Arc::new([]),
                status: Word::Borrowed("not-fixed"),
                summary: None,
                match_details: MatchDetails {
                    kind: Word::Borrowed("ecosystem"),
                    searched_by: Searched {
                        namespace: Arc::from("pypi"),
                        name: Arc::from("x"),
                        version: Arc::from("1"),
                    },
                    found: Arc::new([]),
                    source: Word::Borrowed("osv"),
                },
                published: None,
            },
            Arc::new(Pkg {
                eco: Eco::Lang("pypi"),
                kind: "pypi".into(),
                name: "x".into(),
                version: "1".into(),
                purl: None,
                source_name: None,
                arch: None,
                module: None,
                layer: None,
                location: None,
            }),
        ))
    }

    fn entry(findings: usize) -> Arc<PkgMatch> {
        let t = template();
        Arc::new(PkgMatch {
            key: key().owned(),
            findings: (0..findings)
                .map(|_| (4, IdKey::new("CVE-1"), t.clone()))
                .collect(),
            warnings: Vec::new(),
            notices: Vec::new(),
        })
    }

    fn key() -> Key<'static> {
        Key {
            ns: "debian:12",
            kind: "distro",
            eco: Eco::Deb,
            name: "ab",
            version: "c",
            source_name: None,
            module: None,
            arch: Some("amd64"),
            rootio: None,
            cpe: false,
        }
    }

    #[test]
    fn a_finding_changed_in_place_forgets_the_json_kept_for_it() {
        // made on its own, the finding holds the only reference to its shared part, so a
        // change is made in place, not on a copy
        let t = template();
        let mut f = Finding::new(t.data.clone(), t.package.clone());
        let first = stella_json::to_vec(&f).unwrap();
        assert_eq!(stella_json::to_vec(&f).unwrap(), first);
        assert!(
            f.shared.json.get().is_some(),
            "kept from the second time on"
        );
        f.severity = Word::Borrowed("low");
        let after = stella_json::to_vec(&f).unwrap();
        assert_eq!(after, serde_json::to_vec(&f).unwrap());
        assert_ne!(after, first);
        assert_eq!(stella_json::to_vec(&f).unwrap(), after);
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        /// Ids around the 16-byte prefix, with NULs and shared beginnings: the keys order
        /// them as the ids themselves.
        #[test]
        fn id_keys_order_as_the_ids(
            ids in proptest::collection::vec(
                ("(GHSA-00a0-0000-0|CVE-2021-30000|CVE-2021-3|)", "[0a\\x00]{0,8}")
                    .prop_map(|(a, b)| a + &b),
                2..40,
            )
        ) {
            let mut by_key = ids.clone();
            by_key.sort_by(|a, b| IdKey::new(a).cmp(&IdKey::new(b), || a.cmp(b)));
            let mut by_id = ids;
            by_id.sort();
            proptest::prop_assert_eq!(by_key, by_id);
        }
    }

    #[test]
    fn a_kept_key_is_only_its_own() {
        let k = key();
        let owned = k.owned();
        assert!(owned.is(&k));
        // the same bytes split otherwise, none against empty, any field different
        for other in [
            Key {
                name: "a",
                version: "bc",
                ..k
            },
            Key {
                source_name: Some(""),
                ..k
            },
            Key { arch: None, ..k },
            Key {
                arch: Some("arm64"),
                ..k
            },
            Key {
                rootio: Some("rootio:debian:12"),
                ..k
            },
            Key {
                ns: "debian:11",
                ..k
            },
            Key { eco: Eco::Apk, ..k },
            Key { kind: "cpe", ..k },
            Key { cpe: true, ..k },
        ] {
            assert!(!owned.is(&other), "{other:?}");
        }
    }

    #[test]
    fn generations_hold_a_bounded_number_of_packages_and_findings() {
        let mut g = Gens::default();
        for h in 0..Memo::PACKAGES as u64 {
            g.insert(h, entry(0));
        }
        assert_eq!((g.young.len(), g.old.len()), (Memo::PACKAGES, 0));
        g.insert(u64::MAX, entry(0));
        assert_eq!((g.young.len(), g.old.len()), (1, Memo::PACKAGES));
        // findings count too: a package with many findings moves the young generation on
        let mut g = Gens::default();
        g.insert(1, entry(Memo::FINDINGS - 10));
        g.insert(2, entry(10));
        assert_eq!((g.young.len(), g.young_findings), (2, Memo::FINDINGS));
        g.insert(3, entry(1));
        assert_eq!((g.young.len(), g.old.len(), g.young_findings), (1, 2, 1));
        // replacing an entry does not count its findings twice
        g.insert(3, entry(5));
        assert_eq!(g.young_findings, 5);
    }
}
