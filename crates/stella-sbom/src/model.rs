//! The format-neutral SBOM model every reader produces and every writer consumes.
//!
//! Collections are ordered (`Vec` in document order, `BTreeMap`/`BTreeSet` where order is
//! ours to choose) so that writers are deterministic.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Cpe, Purl};

/// What kind of thing a component is (CycloneDX `type`, SPDX `primaryPackagePurpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ComponentKind {
    /// A library (the default).
    #[default]
    Library,
    /// An application.
    Application,
    /// A framework.
    Framework,
    /// An operating system.
    OperatingSystem,
    /// A container image.
    Container,
    /// A file.
    File,
    /// Firmware.
    Firmware,
    /// A device.
    Device,
    /// Anything else, as written.
    Other,
}

impl ComponentKind {
    /// The CycloneDX spelling.
    pub fn as_cyclonedx(self) -> &'static str {
        match self {
            ComponentKind::Library => "library",
            ComponentKind::Application => "application",
            ComponentKind::Framework => "framework",
            ComponentKind::OperatingSystem => "operating-system",
            ComponentKind::Container => "container",
            ComponentKind::File => "file",
            ComponentKind::Firmware => "firmware",
            ComponentKind::Device => "device",
            ComponentKind::Other => "library",
        }
    }

    /// From the CycloneDX spelling.
    pub fn from_cyclonedx(s: &str) -> Self {
        match s {
            "library" => ComponentKind::Library,
            "application" => ComponentKind::Application,
            "framework" => ComponentKind::Framework,
            "operating-system" => ComponentKind::OperatingSystem,
            "container" => ComponentKind::Container,
            "file" => ComponentKind::File,
            "firmware" => ComponentKind::Firmware,
            "device" => ComponentKind::Device,
            _ => ComponentKind::Other,
        }
    }
}

/// Where a component was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Path inside the image or directory.
    pub path: String,
    /// The layer (diffID) that introduced it, when known.
    pub layer: Option<String>,
}

/// One component (package).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Component {
    /// The document-local reference (`bom-ref`, `SPDXID`); unique within a document.
    pub id: String,
    /// Kind.
    pub kind: ComponentKind,
    /// Name.
    pub name: String,
    /// Group / namespace (Maven groupId, npm scope…), when the format carries it apart.
    pub group: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Package URL.
    pub purl: Option<Purl>,
    /// The purl text as written when it did not parse (kept, reported as a warning).
    pub raw_purl: Option<String>,
    /// CPE names.
    pub cpes: Vec<Cpe>,
    /// License expressions or ids, in document order.
    pub licenses: Vec<String>,
    /// Hashes: algorithm (upper-case, e.g. `SHA-256`) → hex digest.
    pub hashes: BTreeMap<String, String>,
    /// Supplier or publisher.
    pub supplier: Option<String>,
    /// Source package name (distro packages).
    pub source_name: Option<String>,
    /// Source package version.
    pub source_version: Option<String>,
    /// Where it was found.
    pub locations: BTreeSet<Location>,
}

/// Document metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// Tools that produced the document (`name version`).
    pub tools: Vec<String>,
    /// Creation time (RFC 3339) as written.
    pub timestamp: Option<String>,
    /// Serial number / document namespace.
    pub serial: Option<String>,
    /// The described subject (image reference, directory…).
    pub target: Option<String>,
    /// Detected OS (`debian 12`, `alpine 3.19.1`).
    pub os: Option<String>,
}

/// A whole SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sbom {
    /// Metadata.
    pub metadata: Metadata,
    /// Components in document order.
    pub components: Vec<Component>,
    /// `from` depends on each of `to` (by component id).
    pub dependencies: BTreeMap<String, BTreeSet<String>>,
}

/// A problem found while reading that did not stop the read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// Where (JSON pointer or line).
    pub at: String,
    /// What.
    pub message: String,
}
