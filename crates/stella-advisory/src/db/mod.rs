//! The compiled vulnerability DB: one immutable file, memory-mapped on open.
//!
//! Layout (little-endian):
//! ```text
//! 0   "STELLADB"            magic
//! 8   u32 schema version
//! 12  u32 section count
//! 16  [u8; 32] SHA-256 of every byte after the header (the content digest)
//! 48  16 reserved bytes
//! 64  sections: (u32 kind, u32 0, u64 offset, u64 length) each
//!     then the sections' bytes
//! ```
//! Sections: the manifest (JSON), the package index and its keys and records, the
//! vulnerability index and its keys and records. An index is a sorted array of fixed-size
//! entries `(u32 key offset, u32 key length, u64 record offset, u32 record length, u32 0)`
//! searched in place, so a lookup touches a handful of pages and opening costs nothing.
//! Records are `postcard`-encoded.
//!
//! Opening checks the structure (magic, version, every section inside the file), which
//! catches truncation; [`Db::verify`] checks the digest of the whole content.

mod build;
mod read;

pub use build::DbBuilder;
pub use read::Db;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kev::{Epss, Kev};
use crate::model::{Range, Source, Status};

/// The schema this build reads and writes.
pub const SCHEMA_VERSION: u32 = 4;
const MAGIC: &[u8; 8] = b"STELLADB";
const HEADER: usize = 64;
const SECTION: usize = 24;
const ENTRY: usize = 24;

/// Section kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
enum Kind {
    Manifest = 1,
    PkgIndex = 2,
    PkgKeys = 3,
    PkgRecords = 4,
    VulnIndex = 5,
    VulnKeys = 6,
    VulnRecords = 7,
    ListIndex = 8,
    Lists = 9,
}

/// What one advisory says about one (namespace, package): a record of the package index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageEntry {
    /// The vulnerability records this statement is about (a DSA or ALSA covers several CVEs),
    /// as an index into the DB's shared lists (see [`Db::vulnerability_list`]): one advisory's
    /// list is stored once however many packages it names. The list also carries the
    /// distribution's rating of the statement (see [`Db::statement_list`]).
    pub vulnerabilities: u32,
    /// The advisory that said it (`DSA-5380-1`, `GHSA-…`, or the CVE itself).
    pub advisory: String,
    /// The feed, as an index into [`Manifest::feed_names`] (see [`Db::feed_name`]).
    pub feed: u16,
    /// Precedence class.
    pub source: Source,
    /// Affected or not.
    pub status: Status,
    /// Affected ranges.
    pub ranges: Vec<Range>,
    /// Explicitly affected versions.
    pub versions: Vec<String>,
    /// The architectures the statement is limited to; empty for all.
    pub arches: Vec<String>,
    /// Set when the advisory is informational (`unmaintained`, `unsound`, `notice`).
    pub informational: Option<String>,
}

/// A distribution's rating of one statement (its advisory's severity for that release): what
/// a distro finding is rated by, so one release's rating never speaks for another's. Stored
/// with the statement's vulnerability list, once per advisory rather than per package.
///
/// A named level (`important`, `low`; stored as the
/// level, one byte, as most statements carry one) or a CVSS vector of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rating {
    /// A named level.
    Level(crate::cvss::Level),
    /// A CVSS vector (`CVSS:3.1/AV:N/…`).
    Vector(String),
}

impl Rating {
    /// A rating as importers state it: a level name (`important`) or a CVSS vector.
    pub fn parse(s: &str) -> Option<Rating> {
        let s = s.trim();
        if let Some(l) = crate::cvss::Level::parse(s) {
            return Some(Rating::Level(l));
        }
        crate::cvss::score(s).map(|_| Rating::Vector(s.to_string()))
    }

    /// The text [`Rating::parse`] reads back.
    pub fn text(&self) -> String {
        match self {
            Rating::Level(l) => l.as_str().to_string(),
            Rating::Vector(v) => v.clone(),
        }
    }

    /// The level (and base score, for a vector) it stands for; `None` when it says nothing
    /// Stella can read.
    pub fn level(&self) -> Option<(crate::cvss::Level, Option<f32>)> {
        match self {
            Rating::Level(l) => Some((*l, None)),
            Rating::Vector(v) => crate::cvss::score(v).map(|(s, l)| (l, Some(s as f32))),
        }
    }
}

/// A vulnerability record of the vulnerability index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    /// Its id.
    pub id: String,
    /// Other ids.
    pub aliases: Vec<String>,
    /// A one-line summary from the highest-precedence source that has one.
    pub summary: Option<String>,
    /// Earliest publication.
    pub published: Option<String>,
    /// Latest modification.
    pub modified: Option<String>,
    /// Set when every contributing advisory was withdrawn.
    pub withdrawn: Option<String>,
    /// Every severity statement; its feed is an index into [`Manifest::feed_names`].
    pub severities: Vec<StoredSeverity>,
    /// The one severity chosen from them (see [`choose_severity`]).
    pub severity: crate::cvss::Level,
    /// The base score behind it, when it came from a CVSS vector.
    pub score: Option<f32>,
    /// The statement it came from (an index into `severities`).
    pub severity_from: Option<u16>,
    /// CISA KEV entry.
    pub kev: Option<Kev>,
    /// EPSS score.
    pub epss: Option<Epss>,
    /// Feeds that contributed, as indices into [`Manifest::feed_names`].
    pub feeds: Vec<u16>,
}

/// A vulnerability record read in place: the same encoding as [`Vulnerability`], its
/// strings borrowed from the mapped file (matching reads one per finding's vulnerability and
/// needs only a few of its fields).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VulnerabilityView<'a> {
    /// Its id.
    pub id: &'a str,
    /// Other ids.
    #[serde(borrow)]
    pub aliases: Vec<&'a str>,
    /// See [`Vulnerability::summary`].
    pub summary: Option<&'a str>,
    /// Earliest publication.
    pub published: Option<&'a str>,
    /// Latest modification.
    pub modified: Option<&'a str>,
    /// Set when every contributing advisory was withdrawn.
    pub withdrawn: Option<&'a str>,
    /// Every severity statement.
    #[serde(borrow)]
    pub severities: Vec<SeverityView<'a>>,
    /// See [`Vulnerability::severity`].
    pub severity: crate::cvss::Level,
    /// See [`Vulnerability::score`].
    pub score: Option<f32>,
    /// See [`Vulnerability::severity_from`].
    pub severity_from: Option<u16>,
    /// CISA KEV entry.
    #[serde(borrow)]
    pub kev: Option<KevView<'a>>,
    /// EPSS score.
    pub epss: Option<Epss>,
    /// Contributing feeds.
    pub feeds: Vec<u16>,
}

/// [`StoredSeverity`] read in place.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SeverityView<'a> {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, or a named scale.
    pub kind: &'a str,
    /// The vector or level.
    pub value: &'a str,
    /// The feed that said it.
    pub feed: u16,
    /// See [`StoredSeverity::distro`].
    pub distro: bool,
}

/// [`Kev`] read in place.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KevView<'a> {
    /// See [`Kev::date_added`].
    pub date_added: &'a str,
    /// See [`Kev::due_date`].
    pub due_date: Option<&'a str>,
    /// See [`Kev::ransomware`].
    pub ransomware: bool,
}

/// A severity statement as stored.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StoredSeverity {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, or a named scale.
    pub kind: String,
    /// The vector or level.
    pub value: String,
    /// The feed that said it.
    pub feed: u16,
    /// Said by a distribution about its own builds (it rates them, not the flaw itself).
    pub distro: bool,
}

/// Per-feed statistics in the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedInfo {
    /// Advisories read.
    pub records: u64,
    /// Records skipped as malformed.
    pub skipped: u64,
    /// Newest `modified` (or publication) time seen, as written.
    pub newest: Option<String>,
    /// When the feed was imported (RFC 3339).
    pub imported: String,
}

/// The DB's manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Schema version.
    pub schema_version: u32,
    /// Build time (RFC 3339).
    pub built: String,
    /// Per feed.
    pub feeds: BTreeMap<String, FeedInfo>,
    /// Feed names in the order package entries refer to them.
    pub feed_names: Vec<String>,
    /// Packages per namespace.
    pub namespaces: BTreeMap<String, u64>,
    /// Vulnerability records.
    pub vulnerabilities: u64,
    /// (namespace, package) keys.
    pub packages: u64,
    /// KEV entries attached.
    pub kev: u64,
    /// EPSS scores attached.
    pub epss: u64,
    /// EPSS score date, when known.
    pub epss_date: Option<String>,
}

/// The index key of a (namespace, package).
fn key(namespace: &str, package: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(namespace.len() + package.len() + 1);
    k.extend_from_slice(namespace.as_bytes());
    k.push(0);
    k.extend_from_slice(package.as_bytes());
    k
}

/// Chooses one severity: v3.1, then v3.0, then v4.0, then v2 (v3.x first because policies and
/// peers are calibrated on it; a v4-only record is still scored), from statements about the
/// flaw itself (NVD, GHSA, the ecosystems' databases) before any distribution's rating of its
/// own builds; a named level (`Important`, `HIGH`) when no vector can be scored.
pub fn choose_severity(sevs: &[StoredSeverity]) -> (crate::cvss::Level, Option<f32>, Option<u16>) {
    use crate::cvss::{Level, score};
    let rank = |s: &StoredSeverity| -> Option<(u8, u8)> {
        let v = s.value.trim();
        let version = if v.starts_with("CVSS:3.1") {
            5
        } else if v.starts_with("CVSS:3.0") {
            4
        } else if v.starts_with("CVSS:4.0") {
            3
        } else if s.kind == "CVSS_V2" || v.starts_with("AV:") || v.starts_with("(AV:") {
            2
        } else {
            return None;
        };
        Some((u8::from(!s.distro), version))
    };
    // best first; a vector that does not parse gives way to the next one
    let mut ranked: Vec<((u8, u8), usize)> = sevs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| rank(s).map(|r| (r, i)))
        .collect();
    ranked.sort_by_key(|(r, i)| (std::cmp::Reverse(*r), *i));
    let named = |distro: bool| {
        sevs.iter()
            .enumerate()
            .filter(|(_, s)| s.distro == distro)
            .find_map(|(i, s)| Level::parse(&s.value).map(|l| (l, None, Some(i as u16))))
    };
    for (r, i) in ranked {
        if r.0 == 0
            && let Some(n) = named(false)
        {
            // the flaw's own named rating before a distribution's vector
            return n;
        }
        if let Some((sc, level)) = score(&sevs[i].value) {
            return (level, Some(sc as f32), Some(i as u16));
        }
    }
    named(false)
        .or_else(|| named(true))
        .unwrap_or((Level::Unknown, None, None))
}

/// A distribution advisory's rating of its builds, from what it states: its named level
/// first (Red Hat's `Important`, an ALAS `medium`: what the distribution publishes and peers
/// show), else its best-scoring CVSS vector.
pub fn rating_of(severities: &[crate::model::Severity]) -> Option<Rating> {
    if let Some(l) = severities
        .iter()
        .filter(|s| !s.kind.starts_with("CVSS_"))
        .find_map(|s| crate::cvss::Level::parse(&s.value))
    {
        return Some(Rating::Level(l));
    }
    let stored: Vec<StoredSeverity> = severities
        .iter()
        .map(|s| StoredSeverity {
            kind: s.kind.clone(),
            value: s.value.clone(),
            feed: 0,
            distro: false,
        })
        .collect();
    match choose_severity(&stored) {
        (_, Some(_), Some(i)) => Some(Rating::Vector(stored[usize::from(i)].value.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_reads_the_record_encoding() {
        let full = Vulnerability {
            id: "CVE-1".into(),
            aliases: vec!["GHSA-a".into(), "DSA-1".into()],
            summary: Some("s".into()),
            published: Some("2020-01-01".into()),
            modified: Some("2021-01-01".into()),
            withdrawn: Some("2022-01-01".into()),
            severities: vec![StoredSeverity {
                kind: "CVSS_V3".into(),
                value: "CVSS:3.1/AV:N".into(),
                feed: 3,
                distro: true,
            }],
            severity: crate::cvss::Level::High,
            score: Some(7.5),
            severity_from: Some(0),
            kev: Some(Kev {
                date_added: "2023-01-01".into(),
                due_date: Some("2023-02-01".into()),
                ransomware: true,
            }),
            epss: Some(Epss {
                score: 0.5,
                percentile: 0.9,
            }),
            feeds: vec![1, 3],
        };
        let bytes = postcard::to_allocvec(&full).unwrap();
        let v: VulnerabilityView<'_> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(
            (
                v.id,
                v.aliases.clone(),
                v.summary,
                v.published,
                v.modified,
                v.withdrawn
            ),
            (
                "CVE-1",
                vec!["GHSA-a", "DSA-1"],
                Some("s"),
                Some("2020-01-01"),
                Some("2021-01-01"),
                Some("2022-01-01")
            )
        );
        assert_eq!(
            v.severities,
            [SeverityView {
                kind: "CVSS_V3",
                value: "CVSS:3.1/AV:N",
                feed: 3,
                distro: true
            }]
        );
        assert_eq!(
            (v.severity, v.score, v.severity_from),
            (full.severity, full.score, full.severity_from)
        );
        assert_eq!(
            v.kev,
            Some(KevView {
                date_added: "2023-01-01",
                due_date: Some("2023-02-01"),
                ransomware: true
            })
        );
        assert_eq!((v.epss, &v.feeds), (full.epss, &full.feeds));
        let none = Vulnerability {
            aliases: vec![],
            summary: None,
            kev: None,
            epss: None,
            ..full
        };
        let bytes = postcard::to_allocvec(&none).unwrap();
        let v: VulnerabilityView<'_> = postcard::from_bytes(&bytes).unwrap();
        assert!(v.aliases.is_empty() && v.summary.is_none() && v.kev.is_none());
        assert_eq!(v.feeds, [1, 3]);
    }
}
