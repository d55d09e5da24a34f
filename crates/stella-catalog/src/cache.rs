//! The fragment cache: one JSON file per (cataloger set, diffID), written atomically, so an
//! image whose layers are all cached needs no cataloguing at all.
//!
//! Traps: a diffID becomes a file name, so anything but `sha256:<64 hex>` is refused; a cache
//! file that cannot be read back is a miss, never an error; two scans writing the same fragment
//! race harmlessly (rename is atomic, the content identical).

use std::path::{Path, PathBuf};

use crate::Fragment;

/// A fragment cache in a directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

fn cataloger_key() -> String {
    // the cataloger set as a short stable token
    let h = stella_sbom::hash::Fnv64::of(crate::CATALOGERS.as_bytes());
    format!("{h:016x}")
}

fn file_name(diff_id: &str) -> Option<String> {
    let hex = diff_id.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("{}.json", hex.to_ascii_lowercase()))
}

impl Cache {
    /// A cache under `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Cache { dir: dir.into() }
    }

    /// The default place: `$STELLA_CACHE`, else `$XDG_CACHE_HOME/stella`, else
    /// `~/.cache/stella`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("STELLA_CACHE").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(d));
        }
        if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            return Some(Path::new(&d).join("stella"));
        }
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache").join("stella"))
    }

    fn path(&self, diff_id: &str) -> Option<PathBuf> {
        Some(
            self.dir
                .join("fragments")
                .join(cataloger_key())
                .join(file_name(diff_id)?),
        )
    }

    /// The cached fragment of a layer, if any.
    pub fn get(&self, diff_id: &str) -> Option<Fragment> {
        let bytes = std::fs::read(self.path(diff_id)?).ok()?;
        let f: Fragment = serde_json::from_slice(&bytes).ok()?;
        (f.diff_id == diff_id && f.catalogers == crate::CATALOGERS).then_some(f)
    }

    /// Stores a fragment (layers without a diffID are not cached).
    pub fn put(&self, f: &Fragment) -> std::io::Result<()> {
        let Some(path) = self.path(&f.diff_id) else {
            return Ok(());
        };
        let dir = path.parent().unwrap_or(&self.dir);
        fs_err::create_dir_all(dir)?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            std::process::id()
        ));
        let bytes = serde_json::to_vec(f).map_err(std::io::Error::other)?;
        fs_err::write(&tmp, bytes)?;
        fs_err::rename(&tmp, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let c = Cache::new(dir.path());
        let id = format!("sha256:{}", "ab".repeat(32));
        let f = Fragment {
            diff_id: id.clone(),
            catalogers: crate::CATALOGERS.into(),
            ..Fragment::default()
        };
        c.put(&f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.get(&id), Some(f));
        assert!(c.get("sha256:../../x").is_none());
        assert!(file_name("sha256:../../etc/passwd").is_none());
        // a damaged cache file is a miss
        let p = c.path(&id).unwrap_or_default();
        std::fs::write(p, b"{").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.get(&id).is_none());
    }
}
