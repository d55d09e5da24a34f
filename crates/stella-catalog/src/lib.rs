//! Catalogers for Stella Ops: what packages an image's files say are installed, found layer by
//! layer, and the composition of per-layer fragments into the image's package list.
//!
//! A cataloger names the files it reads ([`Cataloger::wants`]) and parses one file at a time
//! ([`Cataloger::parse`]); a layer walk hands it only those files. What one layer's files say
//! is a [`Fragment`]: packages by the location they were found in, plus the layer's whiteouts.
//! [`compose`] replays fragments bottom to top exactly as the layers' filesystems stack, so the
//! result equals cataloguing the squashed image, and every package keeps the layer that
//! introduced it. Fragments depend only on a layer's content and the cataloger set, so they are
//! cached by `(diffID, CATALOGERS)`.

pub mod apk;
pub mod bdb;
pub mod cache;
pub mod compose;
pub mod dotnet;
pub mod dpkg;
pub mod fragment;
pub mod golang;
pub mod java;
pub mod lockfiles;
pub mod ndb;
pub mod npm;
pub mod os;
pub mod php;
pub mod python;
pub mod rpm;
pub mod ruby;
pub mod rust;
pub mod sbom;
pub mod sqlite;

pub use compose::{Composed, compose};
pub use fragment::{Fragment, FragmentBuilder};
pub use os::OsInfo;

use serde::{Deserialize, Serialize};

/// The cataloger set and its version: part of every fragment's cache key, so a changed
/// cataloger invalidates exactly the fragments it would change.
pub const CATALOGERS: &str = "os@2,apk@1,dpkg@3,rpm@3,python@1,npm@1,go-binary@1,java@1,gemspec@1,composer@1,dotnet@1,cargo-auditable@1,lockfiles@1";

/// The kind of a package (its ecosystem).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Alpine / Wolfi apk.
    Apk,
    /// Debian / Ubuntu dpkg.
    Deb,
    /// RPM.
    Rpm,
    /// Python (installed distributions).
    Python,
    /// npm (installed packages).
    Npm,
    /// Go modules (from binaries' build info).
    Go,
    /// Maven artifacts (from Java archives).
    Maven,
    /// Ruby gems.
    Gem,
    /// PHP Composer packages.
    Composer,
    /// NuGet packages.
    Nuget,
    /// Rust crates.
    Cargo,
}

impl Kind {
    /// The purl type.
    pub fn purl_type(self) -> &'static str {
        match self {
            Kind::Apk => "apk",
            Kind::Deb => "deb",
            Kind::Rpm => "rpm",
            Kind::Python => "pypi",
            Kind::Npm => "npm",
            Kind::Go => "golang",
            Kind::Maven => "maven",
            Kind::Gem => "gem",
            Kind::Composer => "composer",
            Kind::Nuget => "nuget",
            Kind::Cargo => "cargo",
        }
    }
}

/// One package as a cataloger found it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    /// Its ecosystem.
    pub kind: Kind,
    /// Name as the package database writes it.
    pub name: String,
    /// Version as written (`epoch:version-release` for distro packages).
    pub version: String,
    /// Architecture (`x86_64`, `amd64`, `all`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Source package name (distro packages), when it differs or is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Source package version, when it differs or is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// The module stream an RPM was built for (`nodejs:18`), from its `MODULARITYLABEL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// License expressions or names as declared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// The file it was found in (image path, no leading `/`).
    pub location: String,
    /// The layer (diffID) that introduced it; set by [`compose`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Where it comes from when that is not the ecosystem's public registry: another
    /// registry's index (`registry+URL`), a git repository (`git+URL#commit`), or `path` for a
    /// workspace member or path dependency. Advisories of the public registry do not apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

/// A cataloger: which files it reads and how.
pub trait Cataloger: Sync {
    /// Its name (`dpkg`).
    fn name(&self) -> &'static str;
    /// Whether the file at `path` (image path, no leading `/`) is one it reads, by name.
    fn wants(&self, path: &str) -> bool;
    /// Whether it reads the regular file at `path` with permission bits `mode` and `size`
    /// bytes: catalogers of binaries look at executables wherever they are. Only what
    /// [`Cataloger::wants`] names by path is a *location* a later layer can replace with
    /// nothing; a binary that yields no package leaves no trace in the fragment.
    fn wants_file(&self, path: &str, mode: u32, size: u64) -> bool {
        let _ = (mode, size);
        self.wants(path)
    }
    /// The packages one file lists; `Err` says why the file could not be read.
    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String>;
}

/// Every cataloger of [`CATALOGERS`].
pub fn all() -> Vec<Box<dyn Cataloger>> {
    vec![
        Box::new(apk::Apk),
        Box::new(dpkg::Dpkg),
        Box::new(rpm::Rpm),
        Box::new(python::Python),
        Box::new(npm::Npm),
        Box::new(golang::GoBinary),
        Box::new(java::Java),
        Box::new(ruby::Gemspec),
        Box::new(php::Composer),
        Box::new(dotnet::DepsJson),
        Box::new(rust::Auditable),
        Box::new(lockfiles::Lockfiles),
    ]
}

/// Why an image could not be catalogued.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image could not be read.
    #[error(transparent)]
    Image(#[from] stella_image::Error),
}

/// An image catalogued: one fragment per layer (bottom first) and their composition.
#[derive(Debug, Clone)]
pub struct Catalogued {
    /// Fragments, bottom layer first.
    pub fragments: Vec<Fragment>,
    /// The composition.
    pub composed: Composed,
    /// Layers whose fragment came from the cache.
    pub cached: usize,
    /// Bytes of layer content read (compressed), for reports.
    pub bytes_read: u64,
}

/// Catalogs the layers of `image` at `indices` (bottom = 0), `threads` at a time: each
/// layer's fragment with its index, and the compressed bytes read. Delta-SBOM clients call
/// this for the layers their server lacks.
pub fn catalog_layers(
    image: &stella_image::Image,
    indices: &[usize],
    threads: usize,
) -> Result<(Vec<(usize, Fragment)>, u64), Error> {
    catalog_layers_with(image, indices, threads, &all())
}

fn catalog_layers_with(
    image: &stella_image::Image,
    indices: &[usize],
    threads: usize,
    catalogers: &[Box<dyn Cataloger>],
) -> Result<(Vec<(usize, Fragment)>, u64), Error> {
    let mut bytes_read = 0;
    let mut out = Vec::with_capacity(indices.len());
    let results = image.walk_layers(
        indices,
        |_| FragmentBuilder::new(catalogers),
        stella_image::Limits::default(),
        threads,
    );
    for (i, r) in results {
        let (builder, digests) = r?;
        bytes_read += digests.compressed;
        out.push((i, builder.finish(&digests.diff_id)));
    }
    Ok((out, bytes_read))
}

/// Catalogs every layer of `image` that `cache` does not already hold, `threads` layers at a
/// time, and composes the fragments. A layer that cannot be read fails the whole image: a
/// partial package list would silently hide vulnerabilities.
pub fn catalog(
    image: &stella_image::Image,
    cache: Option<&cache::Cache>,
    threads: usize,
) -> Result<Catalogued, Error> {
    let catalogers = all();
    let mut fragments: Vec<Option<Fragment>> = vec![None; image.layers.len()];
    let mut todo = Vec::new();
    for (i, l) in image.layers.iter().enumerate() {
        match (cache, &l.diff_id) {
            (Some(c), Some(d)) => match c.get(d) {
                Some(f) => fragments[i] = Some(f),
                None => todo.push(i),
            },
            _ => todo.push(i),
        }
    }
    let cached = image.layers.len() - todo.len();
    let (made, bytes_read) = catalog_layers_with(image, &todo, threads, &catalogers)?;
    for (i, f) in made {
        if let Some(c) = cache {
            // a cache that cannot be written only costs the next scan time
            let _ = c.put(&f);
        }
        fragments[i] = Some(f);
    }
    let fragments: Vec<Fragment> = fragments.into_iter().flatten().collect();
    let composed = compose(&fragments);
    Ok(Catalogued {
        fragments,
        composed,
        cached,
        bytes_read,
    })
}
