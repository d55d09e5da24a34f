//! The SBOM side of Stella Ops: a format-neutral model, Package URLs, CPE 2.3, and readers
//! and writers for every SBOM format people exchange.
//!
//! Reading never panics: a document is either read (possibly with [`Warning`]s that name
//! where the problem is) or rejected with a [`ReadError`] that says what and where.
//! Writing is deterministic: the same model and [`WriteOptions`] give the same bytes.

pub mod cpe;
pub mod cyclonedx;
pub mod detect;
pub mod hash;
pub mod license;
pub mod model;
pub mod purl;
pub mod small_map;
pub mod spdx;
pub mod syft;
mod time;
pub mod trivy;

pub use cpe::Cpe;
pub use detect::{Format, detect};
pub use model::{Component, ComponentKind, Location, Metadata, Sbom, Warning};
pub use purl::Purl;
pub use small_map::{SmallMap, SmallSet};
pub use time::{civil, epoch_days, now, rfc3339};

/// Why a document could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Not well-formed JSON (also: truncated, invalid UTF-8, nested too deeply).
    #[error("not valid JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// Not well-formed XML.
    #[error("not valid XML at byte {position}: {message}")]
    Xml {
        /// Byte offset.
        position: u64,
        /// What the parser said.
        message: String,
    },
    /// A structural problem at a place in the document (a JSON pointer or `line N`).
    #[error("{at}: {message}")]
    Invalid {
        /// Where: a JSON pointer, an XML path or `line N`.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// The content is not a format we read.
    #[error("{0}")]
    Unrecognised(String),
    /// The document is larger than the configured limit.
    #[error("the document is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

impl ReadError {
    pub(crate) fn invalid(at: impl Into<String>, message: impl Into<String>) -> Self {
        ReadError::Invalid {
            at: at.into(),
            message: message.into(),
        }
    }
    /// Re-reads `bytes` as `T` to find where a shape error is, as a JSON pointer.
    pub(crate) fn json_shape<'de, T: serde::Deserialize<'de>>(
        bytes: &'de [u8],
        e: &serde_json::Error,
    ) -> Self {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let at = match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(pe) => pointer(pe.path()),
            Ok(_) => "/".to_string(),
        };
        ReadError::invalid(at, e.to_string())
    }
    pub(crate) fn from_json(e: &serde_json::Error) -> Self {
        ReadError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}

/// Parses JSON with one UTF-8 check of the whole document (ASCII runs are checked many bytes
/// at a time) instead of one per string: 5 % of reading a CycloneDX document. Invalid UTF-8
/// is parsed as bytes, so its error says where, as before.
pub(crate) fn from_json<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// A serde path as an RFC 6901 JSON pointer.
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        out.push('/');
        match seg {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => out.push_str(variant),
            Segment::Unknown => out.push('?'),
        }
    }
    if out.is_empty() { "/".into() } else { out }
}

/// A document that was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// The content.
    pub sbom: Sbom,
    /// The format it was read as.
    pub format: Format,
    /// The specification version it declared (`1.6`, `SPDX-2.3`, `16.0.0`…).
    pub spec_version: String,
    /// Problems that did not stop the read, sorted.
    pub warnings: Vec<Warning>,
}

/// Reads a document, detecting its format unless `hint` says which it is.
pub fn read(bytes: &[u8], hint: Option<Format>) -> Result<Read, ReadError> {
    let format = match hint {
        Some(f) => f,
        None => detect(bytes)?,
    };
    let mut r = match format {
        Format::CycloneDxJson => cyclonedx::json::read(bytes)?,
        Format::CycloneDxXml => cyclonedx::xml::read(bytes)?,
        Format::SpdxJson => spdx::json::read(bytes)?,
        Format::SpdxTagValue => spdx::tagvalue::read(bytes)?,
        Format::Spdx3JsonLd => spdx::v3::read(bytes)?,
        Format::SyftJson => syft::read(bytes)?,
        Format::TrivyJson => trivy::read(bytes)?,
    };
    model::finish(&mut r);
    Ok(r)
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutputFormat {
    /// CycloneDX JSON of the given minor version (4, 5, 6).
    CycloneDxJson(u8),
    /// CycloneDX XML of the given minor version (4, 5, 6).
    CycloneDxXml(u8),
    /// SPDX 2.3 JSON.
    SpdxJson,
    /// SPDX 2.3 tag-value.
    SpdxTagValue,
}

impl OutputFormat {
    /// Parses a CLI name: `cyclonedx-json` (1.6), `cyclonedx-json@1.5`, `cyclonedx-xml`,
    /// `spdx-json`, `spdx-tag-value`.
    pub fn parse(s: &str) -> Option<Self> {
        let (name, ver) = match s.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (s, None),
        };
        let minor = match ver {
            None | Some("1.6") => 6,
            Some("1.5") => 5,
            Some("1.4") => 4,
            Some(_) => return None,
        };
        Some(match name {
            "cyclonedx-json" | "cyclonedx" | "cdx-json" => OutputFormat::CycloneDxJson(minor),
            "cyclonedx-xml" | "cdx-xml" => OutputFormat::CycloneDxXml(minor),
            "spdx-json" if ver.is_none() => OutputFormat::SpdxJson,
            "spdx-tag-value" | "spdx-tv" | "spdx" if ver.is_none() => OutputFormat::SpdxTagValue,
            _ => return None,
        })
    }
}

/// What a writer may not decide by itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Creation time (RFC 3339). Default: the document's own, else now.
    pub timestamp: Option<String>,
    /// Serial number (`urn:uuid:…`) / SPDX namespace. Default: the document's own, else one
    /// derived from the content (so the same content gets the same serial).
    pub serial: Option<String>,
    /// The writing tool's version.
    pub tool_version: Option<String>,
}

/// Writes `sbom` in `format` to `w` (JSON formats stream; XML and tag-value are built first).
pub fn write_to(
    sbom: &Sbom,
    format: OutputFormat,
    opts: &WriteOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::CycloneDxJson(m) => cyclonedx::json::write_to(sbom, m, opts, w),
        OutputFormat::SpdxJson => spdx::json::write_to(sbom, opts, w),
        other => w.write_all(&write(sbom, other, opts)),
    }
}

/// Writes `sbom` in `format`.
pub fn write(sbom: &Sbom, format: OutputFormat, opts: &WriteOptions) -> Vec<u8> {
    match format {
        OutputFormat::CycloneDxJson(m) => cyclonedx::json::write(sbom, m, opts),
        OutputFormat::CycloneDxXml(m) => cyclonedx::xml::write(sbom, m, opts),
        OutputFormat::SpdxJson => spdx::json::write(sbom, opts),
        OutputFormat::SpdxTagValue => spdx::tagvalue::write(sbom, opts),
    }
}
