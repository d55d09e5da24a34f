//! The advisory model every feed parser produces and the compiled DB stores.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use stella_version::range::{Event, OsvRange, RangeType};

/// Which feed a record came from (also the precedence class in merges).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Source {
    /// A distribution's own tracker (Alpine secdb, Debian security tracker, distro OSV feeds).
    Distro,
    /// OSV data from an ecosystem's advisory database (PyPA, RustSec, Go vulndb, GHSA-in-OSV).
    #[default]
    Osv,
    /// GitHub Security Advisories.
    Ghsa,
    /// NVD.
    Nvd,
}

impl Source {
    /// Lower-case name (`distro`, `osv`, `ghsa`, `nvd`).
    pub fn name(self) -> &'static str {
        match self {
            Source::Distro => "distro",
            Source::Osv => "osv",
            Source::Ghsa => "ghsa",
            Source::Nvd => "nvd",
        }
    }
}

/// A severity statement from one source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Severity {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, or a named scale (`Ubuntu`, `distro`).
    pub kind: String,
    /// The vector or the level as written.
    pub value: String,
    /// Who said so (`nvd`, `osv:PyPI`, `alpine`…).
    pub source: String,
}

/// Whether a package in a namespace is affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Affected within `ranges` / `versions`.
    Affected,
    /// The distribution says this package is not affected.
    NotAffected,
}

/// One range event, serialisable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RangeEvent {
    /// `introduced`
    Introduced(String),
    /// `fixed`
    Fixed(String),
    /// `last_affected`
    LastAffected(String),
    /// `limit`
    Limit(String),
}

/// The type of a range (stored as one byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RangeKind {
    /// `SEMVER`
    Semver,
    /// `ECOSYSTEM`
    Ecosystem,
    /// `GIT`
    Git,
}

impl RangeKind {
    /// From the OSV `type` string.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "SEMVER" => RangeKind::Semver,
            "ECOSYSTEM" => RangeKind::Ecosystem,
            "GIT" => RangeKind::Git,
            _ => return None,
        })
    }
    /// The OSV spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RangeKind::Semver => "SEMVER",
            RangeKind::Ecosystem => "ECOSYSTEM",
            RangeKind::Git => "GIT",
        }
    }
}

/// One affected range.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Range {
    /// The range type.
    pub kind: RangeKind,
    /// Events in file order.
    pub events: Vec<RangeEvent>,
}

impl Range {
    /// `introduced: 0, fixed: v` — what distro trackers state.
    pub fn fixed_in(v: &str) -> Self {
        Range {
            kind: RangeKind::Ecosystem,
            events: vec![
                RangeEvent::Introduced("0".into()),
                RangeEvent::Fixed(v.to_string()),
            ],
        }
    }

    /// The `stella-version` form, for evaluation.
    pub fn to_osv(&self) -> Option<OsvRange> {
        Some(OsvRange {
            kind: RangeType::parse(self.kind.as_str())?,
            events: self
                .events
                .iter()
                .map(|e| match e {
                    RangeEvent::Introduced(v) => Event::Introduced(v.clone()),
                    RangeEvent::Fixed(v) => Event::Fixed(v.clone()),
                    RangeEvent::LastAffected(v) => Event::LastAffected(v.clone()),
                    RangeEvent::Limit(v) => Event::Limit(v.clone()),
                })
                .collect(),
        })
    }

    /// The `fixed` versions this range names.
    pub fn fixed_versions(&self) -> impl Iterator<Item = &str> {
        self.events.iter().filter_map(|e| match e {
            RangeEvent::Fixed(v) => Some(v.as_str()),
            _ => None,
        })
    }
}

/// What one advisory says about one package in one namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Affected {
    /// `alpine:3.10`, `debian:12`, `almalinux:9`, `pypi`, `go`, `crates.io`…
    pub namespace: String,
    /// The package name, normalised for the namespace (distro: the *source* package).
    pub package: String,
    /// Affected ranges.
    pub ranges: Vec<Range>,
    /// Explicitly affected versions.
    pub versions: Vec<String>,
    /// Affected or not.
    pub status: Status,
    /// The architectures this statement is limited to (`x86_64`, `aarch64`); empty for all.
    /// Oracle Linux, for one, fixes the same CVE in different builds per architecture.
    #[serde(default)]
    pub arches: Vec<String>,
    /// The distribution's rating for this release when it rates releases apart (Debian's
    /// per-release urgency); the advisory's own severity otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
}

/// One advisory from one feed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Advisory {
    /// The feed's id (`CVE-…`, `GHSA-…`, `ALSA-…`, `DSA-…`).
    pub id: String,
    /// The feed it came from (`osv:almalinux9.zip`, `alpine-secdb`, `debian-dsa`…).
    pub feed: String,
    /// Its precedence class.
    pub source: Source,
    /// Other ids for the same vulnerability.
    pub aliases: BTreeSet<String>,
    /// One-line summary.
    pub summary: Option<String>,
    /// Publication time (RFC 3339).
    pub published: Option<String>,
    /// Last modification (RFC 3339).
    pub modified: Option<String>,
    /// Set when the advisory was withdrawn.
    pub withdrawn: Option<String>,
    /// Severity statements.
    pub severities: Vec<Severity>,
    /// Affected packages.
    pub affected: Vec<Affected>,
    /// Set for advisories that are not vulnerabilities (RustSec's `unmaintained`, `unsound`,
    /// `notice`): they are reported apart and never fail a gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub informational: Option<String>,
    /// Set when the record names its own feed (a Stella export), which then wins over the
    /// name of the file it was read from.
    #[serde(skip)]
    pub feed_fixed: bool,
}

/// A warning about one record that was skipped or partly read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// File (and entry inside an archive).
    pub file: String,
    /// What is wrong.
    pub message: String,
}
