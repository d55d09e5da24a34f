//! Vulnerability feeds for Stella Ops: parsers for OSV, Alpine secdb, the Debian security
//! tracker, CISA KEV and FIRST EPSS; a merge that joins aliases and keeps every source's
//! statement with its provenance; and the compiled DB, one immutable file that is
//! memory-mapped on open and indexed by (namespace, package).

pub mod alpine;
pub mod azure;
pub mod comparators;
pub mod cvss;
pub mod cvss4;
pub mod db;
pub mod debian;
pub mod debian_json;
pub mod export;
pub mod ghsa;
pub mod glad;
pub mod import;
pub mod intervals;
pub mod kev;
pub mod merge;
pub mod model;
pub mod namespace;
pub mod nodejs;
pub mod nvd;
pub mod oracle;
pub mod osv;
pub mod redhat;
pub mod redhat_api;
pub mod regional;
pub mod rootio;
pub mod rustsec;
pub mod sign;
pub mod suse;
pub mod time;
pub mod vulnlist;

pub use db::{
    Db, DbBuilder, KevView, Manifest, PackageEntry, SeverityView, StoredSeverity, Vulnerability,
    VulnerabilityView,
};
pub use model::{Advisory, Affected, Problem, Range, RangeEvent, Severity, Source, Status};

/// Why a feed or a DB could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A whole file is not in the expected format.
    #[error("{path}: {why}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The compiled DB is damaged.
    #[error(
        "{path}: the vulnerability DB is damaged: {why}\nhint: rebuild it with `stella db import` or fetch it again with `stella db update`"
    )]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The compiled DB was written by a newer Stella.
    #[error(
        "{path}: the vulnerability DB has schema version {found}; this stella reads version {supported}\nhint: upgrade stella, or rebuild the DB with this version"
    )]
    NewerSchema {
        /// The file.
        path: String,
        /// Its schema version.
        found: u32,
        /// What we read.
        supported: u32,
    },
    /// The compiled DB was written by an older Stella, in a layout this one no longer reads.
    #[error(
        "{path}: the vulnerability DB was built by an older stella (schema version {found}; this one reads {supported})\nhint: fetch a current one with `stella db update --db {path}`, or rebuild it with `stella db import --fresh --db {path} FEEDS…`"
    )]
    OlderSchema {
        /// The file.
        path: String,
        /// Its schema version.
        found: u32,
        /// What we read.
        supported: u32,
    },
    /// A DB signature is missing, malformed, made with another key, or does not match.
    #[error("{path}: {why}")]
    Signature {
        /// The signature or key file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// Reads `null` as the empty value: feeds written by Go tools emit `null` for empty lists.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize as _;
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}
