//! OCI image layouts (a directory or a tar of one) and the JSON documents they hold: index,
//! manifest, config, as the OCI image spec defines them (Docker's v2 schema 2 manifests and
//! manifest lists have the same shape and are read the same way).
//!
//! Traps: an index may point at further indexes; several manifests are told apart by their
//! `org.opencontainers.image.ref.name` annotation (the tag) or their platform; a digest names
//! a blob path, so anything but `algorithm:hex` is refused (no `../` through a digest); small
//! blobs are checked against their digest before they are believed.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Error;
use crate::source::Store;

#[derive(Deserialize)]
pub(crate) struct Index {
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

#[derive(Deserialize, Clone, Debug)]
pub(crate) struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub platform: Option<Platform>,
}

#[derive(Deserialize, Clone, Debug)]
pub(crate) struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Manifest {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

#[derive(Deserialize, Default)]
pub(crate) struct ConfigFile {
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub rootfs: Option<RootFs>,
}

#[derive(Deserialize, Default)]
pub(crate) struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

const TAG: &str = "org.opencontainers.image.ref.name";

/// `sha256:abc…` → `blobs/sha256/abc…`, refusing anything that is not `algorithm:hex`.
pub(crate) fn blob_path(digest: &str) -> Result<String, Error> {
    let bad = || Error::Format {
        at: digest.to_string(),
        why: "not a digest (`algorithm:hex`)".into(),
    };
    let (alg, hex) = digest.split_once(':').ok_or_else(bad)?;
    let alg_ok = !alg.is_empty()
        && alg.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || b == b'+'
                || b == b'-'
                || b == b'_'
                || b == b'.'
        });
    let hex_ok = hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !alg_ok || !hex_ok || alg.contains("..") {
        return Err(bad());
    }
    Ok(format!("blobs/{alg}/{hex}"))
}

/// Reads a small blob and checks it against its digest (sha256 only; others are trusted as
/// the layout stores them).
pub(crate) fn read_blob(store: &Store, d: &Descriptor) -> Result<Vec<u8>, Error> {
    let path = blob_path(&d.digest)?;
    let bytes = store.read_small(&path)?;
    if d.digest.starts_with("sha256:") {
        let actual = crate::digest::sha256(&bytes);
        if actual != d.digest {
            return Err(Error::Digest {
                at: path,
                expected: d.digest.clone(),
                actual,
            });
        }
    }
    Ok(bytes)
}

fn json<T: for<'de> Deserialize<'de>>(bytes: &[u8], at: &str) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Format {
        at: at.to_string(),
        why: format!("not valid JSON of the expected shape: {e}"),
    })
}

fn is_index(media_type: &str) -> bool {
    media_type == "application/vnd.oci.image.index.v1+json"
        || media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
}

/// The platform this machine runs, in OCI terms (`linux/amd64`).
pub fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    format!("linux/{arch}")
}

fn platform_matches(p: &Platform, want: &str) -> bool {
    let mut parts = want.split('/');
    let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
    os == Some(p.os.as_str())
        && arch == Some(p.architecture.as_str())
        && variant.is_none_or(|v| p.variant.as_deref() == Some(v))
}

/// A chosen image manifest and its config.
pub(crate) struct Chosen {
    pub manifest_digest: String,
    pub manifest: Manifest,
    pub config_digest: Option<String>,
    pub config: ConfigFile,
    pub tag: Option<String>,
}

/// Resolves `index.json` of a layout to one image manifest, by tag and platform.
pub(crate) fn choose(
    store: &Store,
    tag: Option<&str>,
    platform: Option<&str>,
) -> Result<Chosen, Error> {
    let index: Index = json(&store.read_small("index.json")?, "index.json")?;
    // every image manifest reachable from the index, with the tag that named its branch
    let mut found: Vec<(Descriptor, Option<String>)> = Vec::new();
    let mut stack: Vec<(Descriptor, Option<String>, u8)> = index
        .manifests
        .into_iter()
        .map(|d| {
            let t = d.annotations.get(TAG).cloned();
            (d, t, 0)
        })
        .collect();
    while let Some((d, t, depth)) = stack.pop() {
        if depth > 4 {
            return Err(Error::Format {
                at: "index.json".into(),
                why: "indexes nest more than four deep".into(),
            });
        }
        if is_index(&d.media_type) {
            let bytes = read_blob(store, &d)?;
            let inner: Index = json(&bytes, &d.digest)?;
            for m in inner.manifests {
                let t2 = m.annotations.get(TAG).cloned().or_else(|| t.clone());
                stack.push((m, t2, depth + 1));
            }
        } else {
            found.push((d, t));
        }
    }
    found.reverse();
    if let Some(tag) = tag {
        found.retain(|(_, t)| t.as_deref() == Some(tag));
        if found.is_empty() {
            return Err(Error::Format {
                at: "index.json".into(),
                why: format!("no manifest is tagged `{tag}`"),
            });
        }
    }
    if found.len() > 1 {
        let want = platform.map(str::to_string).unwrap_or_else(host_platform);
        let matching: Vec<_> = found
            .iter()
            .filter(|(d, _)| {
                d.platform
                    .as_ref()
                    .is_some_and(|p| platform_matches(p, &want))
            })
            .cloned()
            .collect();
        if matching.len() == 1 || (!matching.is_empty() && platform.is_some()) {
            found = matching;
        } else if matching.is_empty() && platform.is_some() {
            return Err(Error::Format {
                at: "index.json".into(),
                why: format!("no manifest for platform `{want}`"),
            });
        }
    }
    let names: Vec<String> = found
        .iter()
        .map(|(d, t)| {
            let p = d
                .platform
                .as_ref()
                .map(|p| format!(" {}/{}", p.os, p.architecture))
                .unwrap_or_default();
            format!(
                "{}{}{p}",
                d.digest,
                t.as_ref().map(|t| format!(" ({t})")).unwrap_or_default()
            )
        })
        .collect();
    let (d, t) = match found.len() {
        0 => {
            return Err(Error::Format {
                at: "index.json".into(),
                why: "the index lists no image manifest".into(),
            });
        }
        1 => found.remove(0),
        _ => {
            return Err(Error::Format {
                at: "index.json".into(),
                why: format!(
                    "several images: {}\nhint: name one with `PATH:TAG` or `--platform OS/ARCH`",
                    names.join(", ")
                ),
            });
        }
    };
    let bytes = read_blob(store, &d)?;
    let manifest: Manifest = json(&bytes, &d.digest)?;
    if !manifest.manifests.is_empty() && manifest.layers.is_empty() {
        return Err(Error::Format {
            at: d.digest.clone(),
            why: format!(
                "an index where an image manifest was expected ({})",
                manifest.media_type
            ),
        });
    }
    let (config_digest, config) = match &manifest.config {
        Some(c) => {
            let bytes = read_blob(store, c)?;
            (Some(c.digest.clone()), json(&bytes, &c.digest)?)
        }
        None => (None, ConfigFile::default()),
    };
    Ok(Chosen {
        manifest_digest: d.digest.clone(),
        manifest,
        config_digest,
        config,
        tag: t,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_never_leave_the_blob_store() {
        assert_eq!(
            blob_path("sha256:45c111b4e1cb4fabd17782dd7a1c355935037073874a32854fe057848f16603d")
                .unwrap(),
            "blobs/sha256/45c111b4e1cb4fabd17782dd7a1c355935037073874a32854fe057848f16603d"
        );
        assert!(blob_path("sha256:../../etc/passwd").is_err());
        assert!(blob_path("../x:0123456789abcdef0123456789abcdef").is_err());
        assert!(blob_path("sha256").is_err());
    }
}
