//! Walking one layer: blob → digest → inflate → diffID → tar entries → visitor.
//!
//! Traps: the whole blob must be read for its digest to mean anything, even past the tar
//! trailer; gzip layers may hold several members; `..` in an entry path must never climb out
//! of the image root (such entries are refused and reported); `./`, `/` and repeated slashes
//! are the same path; a hard link names an earlier entry of the same layer; whiteouts are the
//! `.wh.` files of the OCI image spec (`.wh..wh..opq` makes its directory opaque).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

use crate::Error;
use crate::digest::Hashing;

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link to the target as written.
    Symlink(String),
    /// A hard link to an earlier entry (normalised path).
    Hardlink(String),
    /// `path` (and everything under it) is deleted from the layers below.
    Whiteout,
    /// Directory `path` hides everything the layers below put in it.
    Opaque,
    /// Devices, FIFOs and the like.
    Other,
}

/// One entry of a layer.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Normalised path relative to the image root (`etc/os-release`; no leading `/`).
    pub path: &'a str,
    /// Its kind.
    pub kind: &'a EntryKind,
    /// Size in bytes (regular files).
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
}

/// What a layer walk reports to.
pub trait Visitor {
    /// Whether the content of the regular file at `path` (of `size` bytes, permission bits
    /// `mode`) is wanted.
    fn wants(&mut self, path: &str, size: u64, mode: u32) -> bool;
    /// One entry; `content` is the file's bytes when [`Visitor::wants`] said so and it fits
    /// the [`Limits`].
    fn visit(&mut self, entry: &Entry<'_>, content: Option<&[u8]>);
    /// An entry that was refused (its path leaves the image root, or it is too big).
    fn refused(&mut self, path: &str, why: &str) {
        let _ = (path, why);
    }
}

/// Bounds on what a walk holds in memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest file whose content is handed to a visitor.
    pub max_file: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file: 256 << 20,
        }
    }
}

/// The digests a walk computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDigests {
    /// `sha256:` of the blob as stored.
    pub blob: String,
    /// `sha256:` of the uncompressed tar stream (the diffID).
    pub diff_id: String,
    /// Bytes stored.
    pub compressed: u64,
    /// Bytes uncompressed.
    pub uncompressed: u64,
}

/// `./usr//lib/../lib/x` → `usr/lib/x`; `Err` when the path climbs out of the root.
pub fn normalize_path(raw: &str) -> Result<String, &'static str> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in raw.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("the path leaves the image root");
                }
            }
            s => parts.push(s),
        }
    }
    Ok(parts.join("/"))
}

enum Compression {
    Gzip,
    Zstd,
    None,
}

fn sniff(head: &[u8]) -> Result<Compression, String> {
    Ok(match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        [0xfd, b'7', b'z', b'X', b'Z', ..] => {
            return Err("xz-compressed layers are not supported".into());
        }
        [b'B', b'Z', b'h', ..] => return Err("bzip2-compressed layers are not supported".into()),
        _ => Compression::None,
    })
}

/// Walks the layer blob `blob` (named `at` in errors), checking its digest and diffID against
/// the expected ones when given.
pub(crate) fn walk<R: Read>(
    blob: R,
    at: &str,
    expect_blob: Option<&str>,
    expect_diff_id: Option<&str>,
    limits: Limits,
    v: &mut dyn Visitor,
) -> Result<LayerDigests, Error> {
    let layer_err = |why: String| Error::Layer {
        at: at.to_string(),
        why,
    };
    let mut outer = BufReader::with_capacity(256 << 10, Hashing::new(blob));
    let head = outer.fill_buf()?.to_vec();
    let compression = sniff(&head).map_err(layer_err)?;
    let (diff_id, uncompressed) = match compression {
        Compression::Gzip => {
            let d = flate2::bufread::MultiGzDecoder::new(&mut outer);
            read_tar(d, limits, v).map_err(layer_err)?
        }
        Compression::Zstd => {
            let d = ruzstd::decoding::StreamingDecoder::new(&mut outer)
                .map_err(|e| layer_err(format!("not a zstd stream: {e}")))?;
            read_tar(d, limits, v).map_err(layer_err)?
        }
        Compression::None => read_tar(&mut outer, limits, v).map_err(layer_err)?,
    };
    // whatever follows the compressed stream is still part of the blob
    std::io::copy(&mut outer, &mut std::io::sink())?;
    let (blob_digest, compressed) = outer.into_inner().finish();
    if let Some(want) = expect_blob
        && want != blob_digest
    {
        return Err(Error::Digest {
            at: at.to_string(),
            expected: want.to_string(),
            actual: blob_digest,
        });
    }
    if let Some(want) = expect_diff_id
        && want != diff_id
    {
        return Err(Error::Digest {
            at: format!("{at} (uncompressed)"),
            expected: want.to_string(),
            actual: diff_id,
        });
    }
    Ok(LayerDigests {
        blob: blob_digest,
        diff_id,
        compressed,
        uncompressed,
    })
}

/// Wanted files up to this size are kept, so that a hard link to one can be read…
const KEEP_FOR_LINKS: usize = 4 << 20;
/// …up to this much in all: memory stays bounded whatever the layer holds.
const KEEP_TOTAL: usize = 8 << 20;

fn read_tar<R: Read>(
    stream: R,
    limits: Limits,
    v: &mut dyn Visitor,
) -> Result<(String, u64), String> {
    let mut archive = tar::Archive::new(Hashing::new(stream));
    let mut kept: HashMap<String, Vec<u8>> = HashMap::new();
    let mut kept_bytes = 0usize;
    {
        let entries = archive.entries().map_err(|e| e.to_string())?;
        for entry in entries {
            let mut entry = entry.map_err(|e| format!("bad tar entry: {e}"))?;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let path = match normalize_path(&raw) {
                Ok(p) => p,
                Err(why) => {
                    v.refused(&raw, why);
                    continue;
                }
            };
            let header = entry.header();
            let size = header.size().unwrap_or(0);
            let mode = header.mode().unwrap_or(0);
            let ty = header.entry_type();
            let name = path.rsplit('/').next().unwrap_or("");
            let parent = path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
            if let Some(hidden) = name.strip_prefix(".wh.") {
                let (kind, target) = if hidden == ".wh..opq" {
                    (EntryKind::Opaque, parent.to_string())
                } else if hidden.starts_with(".wh.") {
                    // aufs bookkeeping (`.wh..wh.plnk`), not a deletion
                    continue;
                } else if parent.is_empty() {
                    (EntryKind::Whiteout, hidden.to_string())
                } else {
                    (EntryKind::Whiteout, format!("{parent}/{hidden}"))
                };
                v.visit(
                    &Entry {
                        path: &target,
                        kind: &kind,
                        size: 0,
                        mode,
                    },
                    None,
                );
                continue;
            }
            if path.is_empty() {
                continue;
            }
            let link = || {
                entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .unwrap_or_default()
            };
            let kind = if ty.is_file() || ty.is_contiguous() {
                EntryKind::File
            } else if ty.is_dir() {
                EntryKind::Dir
            } else if ty.is_symlink() {
                EntryKind::Symlink(link())
            } else if ty.is_hard_link() {
                match normalize_path(&link()) {
                    Ok(t) => EntryKind::Hardlink(t),
                    Err(why) => {
                        v.refused(&raw, &format!("hard link target: {why}"));
                        continue;
                    }
                }
            } else if ty.is_pax_global_extensions() || ty.is_pax_local_extensions() {
                continue;
            } else {
                EntryKind::Other
            };
            let e = Entry {
                path: &path,
                kind: &kind,
                size,
                mode,
            };
            match &kind {
                EntryKind::File if v.wants(&path, size, mode) => {
                    if size > limits.max_file {
                        v.refused(
                            &path,
                            &format!("{size} bytes is over the {}-byte limit", limits.max_file),
                        );
                        v.visit(&e, None);
                        continue;
                    }
                    let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                    entry
                        .read_to_end(&mut buf)
                        .map_err(|err| format!("{path}: {err}"))?;
                    v.visit(&e, Some(&buf));
                    if buf.len() <= KEEP_FOR_LINKS && kept_bytes + buf.len() <= KEEP_TOTAL {
                        kept_bytes += buf.len();
                        kept.insert(path.clone(), buf);
                    }
                }
                EntryKind::Hardlink(target) if v.wants(&path, size, mode) => {
                    let content = kept.get(target).cloned();
                    v.visit(
                        &Entry {
                            kind: &EntryKind::File,
                            ..e
                        },
                        content.as_deref(),
                    );
                }
                _ => v.visit(&e, None),
            }
        }
    }
    let mut inner = archive.into_inner();
    std::io::copy(&mut inner, &mut std::io::sink()).map_err(|e| e.to_string())?;
    Ok(inner.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(normalize_path("./usr//lib/../lib/x").unwrap(), "usr/lib/x");
        assert_eq!(normalize_path("/etc/os-release").unwrap(), "etc/os-release");
        assert_eq!(normalize_path("./").unwrap(), "");
        assert!(normalize_path("../etc/passwd").is_err());
        assert!(normalize_path("a/../../b").is_err());
    }
}
