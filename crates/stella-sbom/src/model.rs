//! The format-neutral SBOM model every reader produces and every writer consumes.
//!
//! Collections are ordered (`Vec` in document order, `BTreeMap`/`BTreeSet` where order is
//! ours to choose) so that writers are deterministic.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Cpe, Purl, Read, SmallMap};

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
    pub hashes: SmallMap,
    /// Supplier or publisher.
    pub supplier: Option<String>,
    /// Source package name (distro packages).
    pub source_name: Option<String>,
    /// Source package version.
    pub source_version: Option<String>,
    /// Where it was found.
    pub locations: BTreeSet<Location>,
}

impl Component {
    /// Releases spare capacity of the small collections; readers call it once a component is
    /// complete, since a model holds many components with one or two entries each.
    pub fn shrink_to_fit(&mut self) {
        self.cpes.shrink_to_fit();
        self.licenses.shrink_to_fit();
        self.hashes.shrink_to_fit();
        if let Some(p) = &mut self.purl {
            p.qualifiers.shrink_to_fit();
        }
    }
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
    /// The document-local reference of the described subject, if it has one.
    pub target_ref: Option<String>,
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
    pub dependencies: BTreeMap<String, crate::SmallSet>,
}

impl Sbom {
    /// A stable 128-bit fingerprint of the content (FNV-1a over ids, names, versions, purls),
    /// used to derive serial numbers so the same content always gets the same serial.
    pub fn fingerprint(&self) -> u128 {
        let mut h1: u64 = 0xcbf2_9ce4_8422_2325;
        let mut h2: u64 = 0x6c62_272e_07bb_0142;
        let mut eat = |s: &str| {
            for b in s.bytes().chain(std::iter::once(0xff)) {
                h1 = (h1 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                h2 = (h2 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3 ^ 0x5bd1_e995);
            }
        };
        for c in &self.components {
            eat(&c.id);
            eat(&c.name);
            eat(c.version.as_deref().unwrap_or(""));
            if let Some(p) = &c.purl {
                eat(&p.ty);
                eat(p.namespace.as_deref().unwrap_or(""));
                eat(&p.name);
                eat(p.version.as_deref().unwrap_or(""));
                for (k, v) in &p.qualifiers {
                    eat(k);
                    eat(v);
                }
            }
        }
        for (k, v) in &self.dependencies {
            eat(k);
            for t in v {
                eat(t);
            }
        }
        (u128::from(h1) << 64) | u128::from(h2)
    }

    /// A UUID (version-4 layout) derived from [`Sbom::fingerprint`].
    pub fn derived_uuid(&self) -> String {
        let f = self.fingerprint().to_be_bytes();
        let hex: String = f.iter().map(|b| format!("{b:02x}")).collect();
        let variant = ['8', '9', 'a', 'b'][usize::from(f[8] & 3)];
        format!(
            "{}-{}-4{}-{variant}{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        )
    }

    /// Component by id.
    pub fn component(&self, id: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.id == id)
    }
}

/// Post-processing shared by every reader: unique ids, dangling references, sorted warnings.
pub(crate) fn finish(r: &mut Read) {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (i, c) in r.sbom.components.iter_mut().enumerate() {
        if c.id.is_empty() {
            c.id = format!("component-{i}");
        }
        if !seen.insert(c.id.clone()) {
            let new = format!("{}#{i}", c.id);
            r.warnings.push(Warning {
                at: format!("component `{}`", c.name),
                message: format!("duplicate reference `{}`; renamed to `{new}`", c.id),
            });
            seen.insert(new.clone());
            c.id = new;
        }
    }
    let mut known = seen;
    if let Some(t) = &r.sbom.metadata.target_ref {
        known.insert(t.clone());
    }
    let mut dangling = BTreeSet::new();
    for (from, tos) in &r.sbom.dependencies {
        for t in std::iter::once(from).chain(tos) {
            if !known.contains(t) {
                dangling.insert(t.clone());
            }
        }
    }
    for d in dangling {
        r.warnings.push(Warning {
            at: "dependencies".into(),
            message: format!("dangling reference `{d}` (no such component)"),
        });
    }
    r.warnings.sort();
    r.warnings.dedup();
}

/// A problem found while reading that did not stop the read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// Where (JSON pointer or line).
    pub at: String,
    /// What.
    pub message: String,
}
