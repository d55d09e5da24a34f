//! Container image sources for Stella Ops: `docker save` archives, OCI image layouts and root
//! filesystem directories, and a streaming walk over each layer that never unpacks it to disk.
//!
//! A layer is read once, front to back: the compressed blob is hashed (its digest), inflated
//! (gzip, zstd or none, told by its magic bytes), hashed again (its diffID) and read as a tar
//! stream whose entries are handed to a [`Visitor`] with normalised, root-relative paths. Only
//! the files a visitor asks for are held in memory, up to a size limit. Whiteouts become
//! [`EntryKind::Whiteout`] / [`EntryKind::Opaque`]; entries whose path leaves the image root are
//! refused and reported, never followed.

mod digest;
mod docker;
mod layer;
mod oci;
mod rootfs;
mod source;

pub use layer::{Entry, EntryKind, LayerDigests, Limits, Visitor, normalize_path};
pub use oci::host_platform;
pub use source::{Blobs, Image, LayerInfo, Target, Walked};

/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a file failed (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The target names no image we can read.
    #[error("{target}: {why}")]
    Target {
        /// The target as given.
        target: String,
        /// What is wrong.
        why: String,
    },
    /// The image's structure is wrong (missing manifest, bad JSON, missing blob…).
    #[error("{at}: {why}")]
    Format {
        /// Where (file, or entry inside an archive).
        at: String,
        /// What is wrong.
        why: String,
    },
    /// A layer's content does not match its digest: refused.
    #[error(
        "{at}: digest mismatch: expected {expected}, the content is {actual}\nhint: the image is damaged or was tampered with; fetch it again"
    )]
    Digest {
        /// The layer.
        at: String,
        /// What the manifest or config says.
        expected: String,
        /// What the content hashes to.
        actual: String,
    },
    /// A layer could not be read as a (compressed) tar stream.
    #[error("{at}: {why}\nhint: the layer is truncated or corrupt")]
    Layer {
        /// The layer.
        at: String,
        /// What went wrong.
        why: String,
    },
    /// The visitor gave up.
    #[error("{at}: {why}")]
    Visitor {
        /// The layer.
        at: String,
        /// Why.
        why: String,
    },
}

/// Walks one layer blob from any reader (a registry stream, a file), checking nothing but
/// its structure; the digests it computed are returned for the caller to compare.
pub fn walk_blob<R: std::io::Read>(
    blob: R,
    at: &str,
    limits: Limits,
    v: &mut dyn Visitor,
) -> Result<LayerDigests, Error> {
    layer::walk(blob, at, None, None, limits, v)
}
