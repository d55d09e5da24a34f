//! Per-layer fragments: what one layer's files say, as a layer walk visitor builds it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use stella_image::{Entry, EntryKind, Visitor};

use crate::{Cataloger, OsInfo, Package, os};

/// What one layer says: packages by location, release files, whiteouts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fragment {
    /// The layer's diffID (empty for a directory target).
    pub diff_id: String,
    /// The cataloger set that made it ([`crate::CATALOGERS`]).
    pub catalogers: String,
    /// Location → packages found there. An empty list records that the layer replaced the
    /// file with one that lists nothing (or with something that is not a file).
    pub locations: BTreeMap<String, Vec<Package>>,
    /// Release file → what it says (`None`: replaced by something that says nothing).
    pub os: BTreeMap<String, Option<OsInfo>>,
    /// Paths this layer deletes from the layers below.
    pub whiteouts: BTreeSet<String>,
    /// Directories whose lower-layer content this layer hides.
    pub opaque: BTreeSet<String>,
    /// Debian copyright files → (package, licenses they name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub copyrights: BTreeMap<String, (String, Vec<String>)>,
    /// Symbolic links under `usr/share/doc/` (Debian links a package's documentation to
    /// another package's): path → target as written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub doc_links: BTreeMap<String, String>,
    /// Files that could not be read (path: reason).
    pub warnings: Vec<String>,
}

/// Builds a [`Fragment`] during a layer walk.
pub struct FragmentBuilder<'a> {
    catalogers: &'a [Box<dyn Cataloger>],
    fragment: Fragment,
}

impl<'a> FragmentBuilder<'a> {
    /// A builder running `catalogers`.
    pub fn new(catalogers: &'a [Box<dyn Cataloger>]) -> Self {
        FragmentBuilder {
            catalogers,
            fragment: Fragment {
                catalogers: crate::CATALOGERS.to_string(),
                ..Fragment::default()
            },
        }
    }

    /// The fragment, stamped with the layer's diffID.
    pub fn finish(mut self, diff_id: &str) -> Fragment {
        self.fragment.diff_id = diff_id.to_string();
        self.fragment
    }

    fn wanted(&self, path: &str, mode: u32, size: u64) -> bool {
        os::FILES.contains(&path)
            || crate::dpkg::copyright_package(path).is_some()
            || self
                .catalogers
                .iter()
                .any(|c| c.wants_file(path, mode, size))
    }
}

impl Visitor for FragmentBuilder<'_> {
    fn wants(&mut self, path: &str, size: u64, mode: u32) -> bool {
        self.wanted(path, mode, size)
    }

    fn visit(&mut self, e: &Entry<'_>, content: Option<&[u8]>) {
        let f = &mut self.fragment;
        match e.kind {
            EntryKind::Whiteout => {
                f.whiteouts.insert(e.path.to_string());
                return;
            }
            EntryKind::Opaque => {
                f.opaque.insert(e.path.to_string());
                return;
            }
            EntryKind::Symlink(target) if e.path.starts_with("usr/share/doc/") => {
                f.doc_links.insert(e.path.to_string(), target.clone());
                return;
            }
            _ => {}
        }
        if let Some(pkg) = crate::dpkg::copyright_package(e.path) {
            let licenses = content
                .filter(|_| *e.kind == EntryKind::File)
                .map(crate::dpkg::copyright_licenses)
                .unwrap_or_default();
            f.copyrights
                .insert(e.path.to_string(), (pkg.to_string(), licenses));
            return;
        }
        let is_os = os::FILES.contains(&e.path);
        let cats: Vec<&Box<dyn Cataloger>> = self
            .catalogers
            .iter()
            .filter(|c| c.wants_file(e.path, e.mode, e.size))
            .collect();
        // a database named by path is a location even when it lists nothing
        let by_path = cats.iter().any(|c| c.wants(e.path));
        if !is_os && cats.is_empty() {
            return;
        }
        let Some(content) = content.filter(|_| *e.kind == EntryKind::File) else {
            // a symlink, directory or unreadable file where a wanted file was: whatever the
            // layers below said there no longer holds
            if is_os {
                f.os.insert(e.path.to_string(), None);
            }
            if by_path {
                f.locations.insert(e.path.to_string(), Vec::new());
            }
            return;
        };
        if is_os {
            f.os.insert(e.path.to_string(), os::parse_file(e.path, content));
        }
        if !cats.is_empty() {
            let mut found = Vec::new();
            for c in cats {
                match c.parse(e.path, content) {
                    Ok(p) => found.extend(p),
                    Err(why) => {
                        f.warnings
                            .push(format!("{}: {} cataloger: {why}", e.path, c.name()))
                    }
                }
            }
            if by_path || !found.is_empty() {
                f.locations.insert(e.path.to_string(), found);
            }
        }
    }

    fn refused(&mut self, path: &str, why: &str) {
        self.fragment.warnings.push(format!("{path}: {why}"));
    }
}
