//! The format-neutral SBOM model every reader produces and every writer consumes.
//!
//! Collections are ordered (`Vec` in document order, `BTreeMap`/`BTreeSet` where order is
//! ours to choose) so that writers are deterministic.

use std::collections::{BTreeMap, BTreeSet, HashSet};

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
    /// The described subject's version, when the document says it (CycloneDX's
    /// `metadata.component.version`).
    pub target_version: Option<String>,
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

impl Metadata {
    /// What the document describes, as people name it: `name@version` (`name` alone without
    /// a version); `None` when the document does not say.
    pub fn subject(&self) -> Option<String> {
        let name = self
            .target
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())?;
        Some(
            match self
                .target_version
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
            {
                // an image reference already carries its tag (`alpine:3.19`)
                Some(v) if !name.ends_with(&format!(":{v}")) => format!("{name}@{v}"),
                _ => name.to_string(),
            },
        )
    }
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
    // the ids are borrowed, not copied: a server reads every SBOM it is sent, and a set of
    // owned ids was one allocation and a B-tree insert per component; only made-up ids (for
    // components without one, or renamed duplicates) are owned. std's keyed SipHash, not a
    // fixed-seed fast hash: the ids come from whoever sends the SBOM, and ids made to collide
    // would turn the set quadratic
    let mut seen: HashSet<&str> = HashSet::with_capacity(r.sbom.components.len());
    let mut made: HashSet<String> = HashSet::new();
    let mut renamed: Vec<(usize, String)> = Vec::new();
    for (i, c) in r.sbom.components.iter().enumerate() {
        let made_up = c.id.is_empty().then(|| format!("component-{i}"));
        let id = made_up.as_deref().unwrap_or(&c.id);
        if !seen.contains(id) && !made.contains(id) {
            match made_up {
                Some(m) => {
                    made.insert(m.clone());
                    renamed.push((i, m));
                }
                None => {
                    seen.insert(&c.id);
                }
            }
            continue;
        }
        let new = format!("{id}#{i}");
        r.warnings.push(Warning {
            at: format!("component `{}`", c.name),
            message: format!("duplicate reference `{id}`; renamed to `{new}`"),
        });
        made.insert(new.clone());
        renamed.push((i, new));
    }
    let known = |t: &str| {
        seen.contains(t) || made.contains(t) || r.sbom.metadata.target_ref.as_deref() == Some(t)
    };
    let mut dangling = BTreeSet::new();
    for (from, tos) in &r.sbom.dependencies {
        for t in std::iter::once(from).chain(tos) {
            if !known(t) {
                dangling.insert(t.clone());
            }
        }
    }
    for (i, id) in renamed {
        r.sbom.components[i].id = id;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The earlier, plainly written `finish` (a set of owned ids): the borrowed version must
    /// give the same ids and warnings for every document.
    fn oracle(r: &mut Read) {
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

    fn doc(ids: &[&str], deps: &[(&str, &str)], target: Option<&str>) -> Read {
        let mut sbom = Sbom::default();
        sbom.metadata.target_ref = target.map(str::to_string);
        for (i, id) in ids.iter().enumerate() {
            sbom.components.push(Component {
                id: id.to_string(),
                name: format!("n{i}"),
                ..Component::default()
            });
        }
        for (from, to) in deps {
            sbom.dependencies
                .entry(from.to_string())
                .or_default()
                .extend([to.to_string()]);
        }
        Read {
            sbom,
            format: crate::Format::CycloneDxJson,
            spec_version: "1.6".into(),
            warnings: Vec::new(),
        }
    }

    // ids that collide with made-up ones (`component-1`, `a#1`) on purpose
    const IDS: &[&str] = &[
        "",
        "a",
        "b",
        "a#1",
        "a#2",
        "component-0",
        "component-1",
        "x",
    ];

    #[test]
    fn made_up_and_renamed_ids_stay_unique() {
        let mut r = doc(
            &["", "component-0", "a", "a", "a#1"],
            &[("a#3", "component-0")],
            None,
        );
        finish(&mut r);
        let ids: Vec<&str> = r.sbom.components.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["component-0", "component-0#1", "a", "a#3", "a#1"]);
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    }

    proptest! {
        #[test]
        fn same_as_owned_ids(
            ids in proptest::collection::vec(proptest::sample::select(IDS), 0..12),
            deps in proptest::collection::vec(
                (proptest::sample::select(IDS), proptest::sample::select(IDS)), 0..6),
            target in proptest::option::of(proptest::sample::select(IDS)),
        ) {
            let mut a = doc(&ids, &deps, target);
            let mut b = doc(&ids, &deps, target);
            finish(&mut a);
            oracle(&mut b);
            prop_assert_eq!(a.sbom, b.sbom);
            prop_assert_eq!(a.warnings, b.warnings);
        }
    }
}
