//! Image targets (`docker-archive:`, `oci-dir:`, `oci-archive:`, `dir:`, or a bare path) and
//! the image they open: its layers, in order, with their digests, walked in parallel where
//! the storage allows it.
//!
//! Traps: `docker save` writes a plain tar whose layers can be read in place (by offset),
//! while a gzip-compressed archive can only be read front to back, so its layers are walked
//! in archive order in one pass; archive entry names may start with `./`; an archive may hold
//! several images (`PATH:TAG` picks one).

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::layer::{LayerDigests, Limits, Visitor, normalize_path, walk};
use crate::{Error, docker, oci, rootfs};

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A `docker save` archive, or an OCI layout packed in a tar (plain or gzip); optionally
    /// the tag of one of several images.
    Archive {
        /// The archive.
        path: PathBuf,
        /// `repo:tag` or tag to pick.
        tag: Option<String>,
    },
    /// An OCI image layout directory, optionally with the tag (`ref.name`) to pick.
    OciDir {
        /// The layout.
        path: PathBuf,
        /// The tag.
        tag: Option<String>,
    },
    /// A root filesystem directory (one layer).
    Dir(PathBuf),
    /// An image in a registry (`registry.example.com/team/app:1.2`), fetched by the
    /// `stella-registry` crate through [`Image::from_remote`].
    Registry(String),
}

/// Whether a file starts as an image archive does: gzip, zstd, bzip2 or xz, or a tar
/// header (`ustar` at byte 257, or an old-style header whose checksum holds). A file that
/// cannot be read is left for the opener to report.
fn looks_like_an_archive(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 512];
    let Ok(mut f) = std::fs::File::open(path) else {
        return true;
    };
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return true,
        }
    }
    let h = &head[..n];
    if h.starts_with(&[0x1f, 0x8b])
        || h.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || h.starts_with(b"BZh")
        || h.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0])
    {
        return true;
    }
    if n < 512 {
        return false;
    }
    if &h[257..262] == b"ustar" {
        return true;
    }
    // a v7 tar header: its checksum field (octal) is the sum of the header's bytes with the
    // field itself counted as spaces
    let field = std::str::from_utf8(&h[148..156]).unwrap_or("");
    let want = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8);
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    want == Ok(sum)
}

impl Target {
    /// Parses `docker-archive:PATH[:TAG]`, `oci-archive:PATH[:TAG]`, `oci-dir:PATH[:TAG]`,
    /// `dir:PATH`, or a bare path (a directory with an `oci-layout` file is an OCI layout,
    /// another directory a root filesystem, a file an archive).
    pub fn parse(s: &str) -> Result<Target, Error> {
        let bad = |why: &str| Error::Target {
            target: s.to_string(),
            why: why.to_string(),
        };
        let (scheme, rest) = match s.split_once(':') {
            Some((p, r))
                if matches!(
                    p,
                    "docker-archive"
                        | "oci-archive"
                        | "oci-dir"
                        | "oci"
                        | "dir"
                        | "registry"
                        | "docker"
                ) =>
            {
                (Some(p), r)
            }
            _ => (None, s),
        };
        // `PATH:TAG` when PATH exists and PATH:TAG does not; the tag may hold `:` and `/`
        // (`example/app:1`), so the shortest existing PATH wins
        let path_tag = |r: &str| -> (PathBuf, Option<String>) {
            if Path::new(r).exists() {
                return (PathBuf::from(r), None);
            }
            for (i, _) in r.match_indices(':') {
                if i > 0 && Path::new(&r[..i]).exists() {
                    return (PathBuf::from(&r[..i]), Some(r[i + 1..].to_string()));
                }
            }
            (PathBuf::from(r), None)
        };
        let t = match scheme {
            Some("registry" | "docker") => {
                if rest.is_empty() {
                    return Err(bad("no image reference after `registry:`"));
                }
                return Ok(Target::Registry(rest.to_string()));
            }
            Some("docker-archive" | "oci-archive") => {
                let (path, tag) = path_tag(rest);
                Target::Archive { path, tag }
            }
            Some("oci-dir" | "oci") => {
                let (path, tag) = path_tag(rest);
                Target::OciDir { path, tag }
            }
            Some("dir") => Target::Dir(PathBuf::from(rest)),
            _ => {
                let (path, tag) = path_tag(rest);
                if path.is_dir() {
                    if path.join("oci-layout").is_file() {
                        Target::OciDir { path, tag }
                    } else if tag.is_none() {
                        Target::Dir(path)
                    } else {
                        return Err(bad("a tag only names an image in an archive or OCI layout"));
                    }
                } else {
                    if !looks_like_an_archive(&path) {
                        return Err(bad(
                            "neither an image nor an SBOM: not a tar archive (`docker save`, an OCI archive, plain or compressed), not an OCI layout or a directory, and not JSON, XML or SPDX tag-value\nhint: scan an SBOM file, an image archive or directory, or `registry:REF`; name what it is with a prefix (sbom:, docker-archive:, oci-dir:, dir:) if it is one",
                        ));
                    }
                    Target::Archive { path, tag }
                }
            }
        };
        let p = match &t {
            Target::Archive { path, .. } | Target::OciDir { path, .. } | Target::Dir(path) => path,
            Target::Registry(_) => return Ok(t),
        };
        if !p.exists() {
            return Err(bad("no such file or directory"));
        }
        match &t {
            Target::OciDir { path, .. } | Target::Dir(path) if !path.is_dir() => {
                Err(bad("not a directory"))
            }
            Target::Archive { path, .. } if !path.is_file() => Err(bad("not a file")),
            _ => Ok(t),
        }
    }
}

/// Fetches blobs by digest from somewhere remote (a registry): the reader streams, it is
/// never held whole.
pub trait Blobs: Send + Sync {
    /// A reader of the blob `digest`.
    fn fetch(&self, digest: &str) -> Result<Box<dyn Read + Send>, Error>;
}

/// Where an image's files live.
pub(crate) enum Store {
    Remote(Box<dyn Blobs>),
    Dir(PathBuf),
    /// An uncompressed archive: entry name → (data offset, size).
    Tar {
        path: PathBuf,
        entries: HashMap<String, (u64, u64)>,
    },
    /// A compressed archive: small entries kept from the indexing pass.
    Packed {
        path: PathBuf,
        small: HashMap<String, Vec<u8>>,
        sizes: HashMap<String, u64>,
    },
}

/// Small files (JSON documents) are read whole up to this size.
const SMALL: u64 = 16 << 20;

impl Store {
    pub(crate) fn read_small(&self, name: &str) -> Result<Vec<u8>, Error> {
        let missing = || Error::Format {
            at: name.to_string(),
            why: "missing from the image".into(),
        };
        let too_big = |n: u64| Error::Format {
            at: name.to_string(),
            why: format!("{n} bytes is too big for a JSON document"),
        };
        match self {
            Store::Dir(root) => {
                let p = root.join(name);
                let meta = fs_err::metadata(&p).map_err(|_| missing())?;
                if meta.len() > SMALL {
                    return Err(too_big(meta.len()));
                }
                Ok(fs_err::read(p)?)
            }
            Store::Tar { path, entries } => {
                let &(off, size) = entries.get(name).ok_or_else(missing)?;
                if size > SMALL {
                    return Err(too_big(size));
                }
                let mut f = fs_err::File::open(path)?;
                f.seek(SeekFrom::Start(off))?;
                let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                f.take(size).read_to_end(&mut buf)?;
                Ok(buf)
            }
            Store::Remote(b) => {
                let mut buf = Vec::new();
                b.fetch(name)?.take(SMALL + 1).read_to_end(&mut buf)?;
                if buf.len() as u64 > SMALL {
                    return Err(too_big(buf.len() as u64));
                }
                Ok(buf)
            }
            Store::Packed { small, sizes, .. } => match small.get(name) {
                Some(b) => Ok(b.clone()),
                None => match sizes.get(name) {
                    Some(&n) => Err(too_big(n)),
                    None => Err(missing()),
                },
            },
        }
    }

    fn exists(&self, name: &str) -> bool {
        match self {
            Store::Dir(root) => root.join(name).is_file(),
            Store::Tar { entries, .. } => entries.contains_key(name),
            Store::Packed { sizes, .. } => sizes.contains_key(name),
            Store::Remote(_) => true,
        }
    }

    /// A reader of one file, for stores that can seek.
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send>, Error> {
        match self {
            Store::Dir(root) => Ok(Box::new(fs_err::File::open(root.join(name))?)),
            Store::Tar { path, entries } => {
                let &(off, size) = entries.get(name).ok_or_else(|| Error::Format {
                    at: name.to_string(),
                    why: "missing from the archive".into(),
                })?;
                let mut f = fs_err::File::open(path)?;
                f.seek(SeekFrom::Start(off))?;
                Ok(Box::new(f.take(size)))
            }
            Store::Remote(b) => b.fetch(name),
            Store::Packed { .. } => Err(Error::Format {
                at: name.to_string(),
                why: "a compressed archive can only be read front to back".into(),
            }),
        }
    }

    /// Indexes an archive (plain or gzip).
    fn index_archive(path: &Path) -> Result<Store, Error> {
        let mut f = fs_err::File::open(path)?;
        let mut magic = [0u8; 2];
        let n = f.read(&mut magic)?;
        f.seek(SeekFrom::Start(0))?;
        let at = path.display().to_string();
        let bad = |e: std::io::Error| Error::Layer {
            at: at.clone(),
            why: format!("not a readable tar archive: {e}"),
        };
        if n == 2 && magic == [0x1f, 0x8b] {
            let mut small = HashMap::new();
            let mut sizes = HashMap::new();
            let gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f));
            let mut ar = tar::Archive::new(gz);
            for e in ar.entries().map_err(bad)? {
                let mut e = e.map_err(bad)?;
                let Some(name) = entry_name(&e) else { continue };
                let size = e.header().size().unwrap_or(0);
                if !e.header().entry_type().is_file() {
                    continue;
                }
                if size <= 1 << 20 {
                    let mut buf = Vec::new();
                    e.read_to_end(&mut buf).map_err(bad)?;
                    small.insert(name.clone(), buf);
                }
                sizes.insert(name, size);
            }
            Ok(Store::Packed {
                path: path.to_path_buf(),
                small,
                sizes,
            })
        } else {
            let mut entries = HashMap::new();
            let mut ar = tar::Archive::new(std::io::BufReader::new(f));
            for e in ar.entries().map_err(bad)? {
                let e = e.map_err(bad)?;
                if !e.header().entry_type().is_file() {
                    continue;
                }
                let Some(name) = entry_name(&e) else { continue };
                entries.insert(
                    name,
                    (e.raw_file_position(), e.header().size().unwrap_or(0)),
                );
            }
            Ok(Store::Tar {
                path: path.to_path_buf(),
                entries,
            })
        }
    }
}

fn entry_name<R: Read>(e: &tar::Entry<'_, R>) -> Option<String> {
    let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
    normalize_path(&raw).ok().filter(|p| !p.is_empty())
}

/// What walking one layer gave: the visitor and the layer's digests, or why it failed.
pub type Walked<V> = Result<(V, LayerDigests), Error>;

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// The diffID (`sha256:` of the uncompressed tar), from the image config.
    pub diff_id: Option<String>,
    /// The blob digest, when the manifest names it.
    pub digest: Option<String>,
    /// The media type, when known.
    pub media_type: Option<String>,
    /// The blob size, when known.
    pub size: Option<u64>,
    /// The blob inside the store.
    pub(crate) blob: String,
}

/// An opened image: what it is and its layers, bottom first.
pub struct Image {
    /// What was opened.
    pub target: Target,
    /// A name for reports (`alpine:3.10.4`, the path…).
    pub name: String,
    /// The manifest digest (OCI layouts), or the config digest (docker archives): the
    /// image's identity.
    pub digest: Option<String>,
    /// The config digest.
    pub config_digest: Option<String>,
    /// `linux`…
    pub os: Option<String>,
    /// `amd64`…
    pub architecture: Option<String>,
    /// Tags the image carries.
    pub tags: Vec<String>,
    /// Layers, bottom first.
    pub layers: Vec<LayerInfo>,
    store: Store,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("name", &self.name)
            .field("digest", &self.digest)
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}

impl Image {
    /// An image whose manifest and config were fetched from a registry; its layers come from
    /// `blobs` as they are walked. `manifest_digest` names the manifest the bytes are.
    pub fn from_remote(
        reference: &str,
        manifest_digest: &str,
        manifest: &[u8],
        config: &[u8],
        blobs: Box<dyn Blobs>,
    ) -> Result<Image, Error> {
        let m: oci::Manifest = serde_json::from_slice(manifest).map_err(|e| Error::Format {
            at: format!("{reference} manifest"),
            why: format!("not an image manifest: {e}"),
        })?;
        let c: oci::ConfigFile = serde_json::from_slice(config).map_err(|e| Error::Format {
            at: format!("{reference} config"),
            why: format!("not an image config: {e}"),
        })?;
        let diff_ids = c
            .rootfs
            .as_ref()
            .map(|r| r.diff_ids.clone())
            .unwrap_or_default();
        if diff_ids.len() != m.layers.len() {
            return Err(Error::Format {
                at: reference.to_string(),
                why: format!(
                    "{} layers but the config lists {} diffIDs",
                    m.layers.len(),
                    diff_ids.len()
                ),
            });
        }
        let mut layers = Vec::new();
        for (k, d) in m.layers.iter().enumerate() {
            oci::blob_path(&d.digest)?;
            layers.push(LayerInfo {
                diff_id: diff_ids.get(k).cloned(),
                digest: Some(d.digest.clone()),
                media_type: Some(d.media_type.clone()),
                size: d.size,
                blob: d.digest.clone(),
            });
        }
        Ok(Image {
            target: Target::Registry(reference.to_string()),
            name: reference.to_string(),
            digest: Some(manifest_digest.to_string()),
            config_digest: m.config.as_ref().map(|d| d.digest.clone()),
            os: c.os,
            architecture: c.architecture,
            tags: Vec::new(),
            layers,
            store: Store::Remote(blobs),
        })
    }

    /// Opens a target. `platform` (`linux/arm64`) picks one image of a multi-platform index.
    pub fn open(target: &Target, platform: Option<&str>) -> Result<Image, Error> {
        match target {
            Target::Registry(r) => Err(Error::Target {
                target: r.clone(),
                why: "a registry image is opened with the registry client (stella-registry)".into(),
            }),
            Target::Dir(path) => Ok(Image {
                target: target.clone(),
                name: path.display().to_string(),
                digest: None,
                config_digest: None,
                os: None,
                architecture: None,
                tags: Vec::new(),
                layers: vec![LayerInfo {
                    diff_id: None,
                    digest: None,
                    media_type: None,
                    size: None,
                    blob: String::new(),
                }],
                store: Store::Dir(path.clone()),
            }),
            Target::OciDir { path, tag } => {
                if !path.join("oci-layout").is_file() {
                    return Err(Error::Target {
                        target: path.display().to_string(),
                        why: "not an OCI image layout (no `oci-layout` file)".into(),
                    });
                }
                let store = Store::Dir(path.clone());
                from_oci(target, store, tag.as_deref(), platform, path)
            }
            Target::Archive { path, tag } => {
                let store = Store::index_archive(path)?;
                if store.exists("manifest.json") {
                    docker::open(target, store, tag.as_deref(), path)
                } else if store.exists("index.json") {
                    from_oci(target, store, tag.as_deref(), platform, path)
                } else {
                    Err(Error::Target {
                        target: path.display().to_string(),
                        why: "neither a `docker save` archive (manifest.json) nor an OCI layout (index.json)".into(),
                    })
                }
            }
        }
    }

    /// Walks the layers `which` (indices into [`Image::layers`]) with a visitor from `make`
    /// each, checking digests; up to `threads` at once where the storage allows. Results come
    /// back in the order of `which`.
    pub fn walk_layers<V, F>(
        &self,
        which: &[usize],
        make: F,
        limits: Limits,
        threads: usize,
    ) -> Vec<(usize, Walked<V>)>
    where
        V: Visitor + Send,
        F: Fn(usize) -> V + Sync,
    {
        let one = |i: usize, r: &mut dyn Read, v: &mut V| -> Result<LayerDigests, Error> {
            let l = &self.layers[i];
            walk(
                r,
                &format!(
                    "layer {} ({})",
                    i + 1,
                    l.digest.as_deref().unwrap_or(&l.blob)
                ),
                l.digest.as_deref(),
                l.diff_id.as_deref(),
                limits,
                v,
            )
        };
        match &self.store {
            Store::Dir(root) if matches!(self.target, Target::Dir(_)) => which
                .iter()
                .map(|&i| {
                    let mut v = make(i);
                    let r = rootfs::walk(root, limits, &mut v).map(|d| (v, d));
                    (i, r)
                })
                .collect(),
            Store::Packed { path, .. } => {
                let mut out: Vec<(usize, Walked<V>)> = Vec::new();
                let mut pending: HashMap<&str, usize> = which
                    .iter()
                    .map(|&i| (self.layers[i].blob.as_str(), i))
                    .collect();
                let res = (|| -> Result<(), Error> {
                    let f = fs_err::File::open(path)?;
                    let gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f));
                    let mut ar = tar::Archive::new(gz);
                    let entries = ar.entries().map_err(|e| Error::Layer {
                        at: path.display().to_string(),
                        why: e.to_string(),
                    })?;
                    for e in entries {
                        let mut e = e.map_err(|e| Error::Layer {
                            at: path.display().to_string(),
                            why: e.to_string(),
                        })?;
                        let Some(name) = entry_name(&e) else { continue };
                        if let Some(i) = pending.remove(name.as_str()) {
                            let mut v = make(i);
                            let r = one(i, &mut e, &mut v).map(|d| (v, d));
                            out.push((i, r));
                        }
                    }
                    Ok(())
                })();
                if let Err(e) = res {
                    let msg = e.to_string();
                    for (_, i) in pending.drain() {
                        out.push((
                            i,
                            Err(Error::Layer {
                                at: path.display().to_string(),
                                why: msg.clone(),
                            }),
                        ));
                    }
                }
                for (_, i) in pending {
                    out.push((
                        i,
                        Err(Error::Format {
                            at: self.layers[i].blob.clone(),
                            why: "missing from the archive".into(),
                        }),
                    ));
                }
                let order: HashMap<usize, usize> =
                    which.iter().enumerate().map(|(k, &i)| (i, k)).collect();
                out.sort_by_key(|(i, _)| order.get(i).copied().unwrap_or(usize::MAX));
                out
            }
            store => {
                let next = AtomicUsize::new(0);
                let results: Mutex<Vec<Option<Walked<V>>>> =
                    Mutex::new((0..which.len()).map(|_| None).collect());
                let threads = threads.clamp(1, which.len().max(1));
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        s.spawn(|| {
                            loop {
                                let k = next.fetch_add(1, Ordering::Relaxed);
                                let Some(&i) = which.get(k) else { break };
                                let r = store.open(&self.layers[i].blob).and_then(|mut rd| {
                                    let mut v = make(i);
                                    one(i, &mut rd, &mut v).map(|d| (v, d))
                                });
                                if let Ok(mut g) = results.lock() {
                                    g[k] = Some(r);
                                }
                            }
                        });
                    }
                });
                let results = results.into_inner().unwrap_or_default();
                which
                    .iter()
                    .zip(results)
                    .map(|(&i, r)| {
                        (
                            i,
                            r.unwrap_or_else(|| {
                                Err(Error::Layer {
                                    at: format!("layer {}", i + 1),
                                    why: "was not walked".into(),
                                })
                            }),
                        )
                    })
                    .collect()
            }
        }
    }
}

fn from_oci(
    target: &Target,
    store: Store,
    tag: Option<&str>,
    platform: Option<&str>,
    path: &Path,
) -> Result<Image, Error> {
    let c = oci::choose(&store, tag, platform)?;
    let diff_ids = c
        .config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.clone())
        .unwrap_or_default();
    if !diff_ids.is_empty() && diff_ids.len() != c.manifest.layers.len() {
        return Err(Error::Format {
            at: c.manifest_digest.clone(),
            why: format!(
                "{} layers but the config lists {} diffIDs",
                c.manifest.layers.len(),
                diff_ids.len()
            ),
        });
    }
    let mut layers = Vec::new();
    for (k, d) in c.manifest.layers.iter().enumerate() {
        layers.push(LayerInfo {
            diff_id: diff_ids.get(k).cloned(),
            digest: Some(d.digest.clone()),
            media_type: Some(d.media_type.clone()),
            size: d.size,
            blob: oci::blob_path(&d.digest)?,
        });
    }
    let name = match &c.tag {
        Some(t) => format!("{}:{t}", path.display()),
        None => path.display().to_string(),
    };
    Ok(Image {
        target: target.clone(),
        name,
        digest: Some(c.manifest_digest),
        config_digest: c.config_digest,
        os: c.config.os,
        architecture: c.config.architecture,
        tags: c.tag.into_iter().collect(),
        layers,
        store,
    })
}

pub(crate) fn image_from_docker(
    target: &Target,
    store: Store,
    name: String,
    config_digest: Option<String>,
    config: oci::ConfigFile,
    tags: Vec<String>,
    layer_paths: Vec<String>,
) -> Result<Image, Error> {
    let diff_ids = config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.clone())
        .unwrap_or_default();
    if diff_ids.len() != layer_paths.len() {
        return Err(Error::Format {
            at: "manifest.json".into(),
            why: format!(
                "{} layers but the config lists {} diffIDs",
                layer_paths.len(),
                diff_ids.len()
            ),
        });
    }
    let mut layers = Vec::new();
    for (k, p) in layer_paths.into_iter().enumerate() {
        if !store.exists(&p) {
            return Err(Error::Format {
                at: p,
                why: "a layer named in manifest.json is missing from the archive".into(),
            });
        }
        // newer docker stores layers as OCI blobs, named by their digest
        let digest = p
            .strip_prefix("blobs/sha256/")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|h| format!("sha256:{h}"));
        layers.push(LayerInfo {
            diff_id: diff_ids.get(k).cloned(),
            digest,
            media_type: None,
            size: None,
            blob: p,
        });
    }
    Ok(Image {
        target: target.clone(),
        name,
        digest: config_digest.clone(),
        config_digest,
        os: config.os,
        architecture: config.architecture,
        tags,
        layers,
        store,
    })
}
