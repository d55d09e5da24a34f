//! `docker save` archives: `manifest.json` lists each image's config and layer files.

use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::source::{Image, Store, Target, image_from_docker};

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default, deserialize_with = "null_default")]
    repo_tags: Vec<String>,
    #[serde(rename = "Layers", default, deserialize_with = "null_default")]
    layers: Vec<String>,
}

fn null_default<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Option::<Vec<String>>::deserialize(d).map(Option::unwrap_or_default)
}

pub(crate) fn open(
    target: &Target,
    store: Store,
    tag: Option<&str>,
    path: &Path,
) -> Result<Image, Error> {
    let bytes = store.read_small("manifest.json")?;
    let entries: Vec<Entry> = serde_json::from_slice(&bytes).map_err(|e| Error::Format {
        at: "manifest.json".into(),
        why: format!("not a docker save manifest: {e}"),
    })?;
    let matches = |e: &Entry, t: &str| {
        e.repo_tags
            .iter()
            .any(|rt| rt == t || rt.rsplit_once(':').is_some_and(|(_, x)| x == t))
    };
    let mut chosen: Vec<&Entry> = match tag {
        Some(t) => entries.iter().filter(|e| matches(e, t)).collect(),
        None => entries.iter().collect(),
    };
    let e = match chosen.len() {
        0 if tag.is_some() => {
            return Err(Error::Format {
                at: "manifest.json".into(),
                why: format!("no image is tagged `{}`", tag.unwrap_or_default()),
            });
        }
        0 => {
            return Err(Error::Format {
                at: "manifest.json".into(),
                why: "the archive lists no image".into(),
            });
        }
        1 => chosen.remove(0),
        _ => {
            let names: Vec<String> = chosen.iter().map(|e| e.repo_tags.join(" ")).collect();
            return Err(Error::Format {
                at: "manifest.json".into(),
                why: format!(
                    "several images ({})\nhint: name one with `PATH:TAG`",
                    names.join(", ")
                ),
            });
        }
    };
    let config_name = crate::layer::normalize_path(&e.config).map_err(|why| Error::Format {
        at: e.config.clone(),
        why: why.into(),
    })?;
    let config_bytes = store.read_small(&config_name)?;
    let config: crate::oci::ConfigFile =
        serde_json::from_slice(&config_bytes).map_err(|err| Error::Format {
            at: config_name.clone(),
            why: format!("not an image config: {err}"),
        })?;
    let config_digest = Some(crate::digest::sha256(&config_bytes));
    let mut layers = Vec::new();
    for l in &e.layers {
        layers.push(
            crate::layer::normalize_path(l).map_err(|why| Error::Format {
                at: l.clone(),
                why: why.into(),
            })?,
        );
    }
    let name = e
        .repo_tags
        .first()
        .cloned()
        .unwrap_or_else(|| path.display().to_string());
    image_from_docker(
        target,
        store,
        name,
        config_digest,
        config,
        e.repo_tags.clone(),
        layers,
    )
}
