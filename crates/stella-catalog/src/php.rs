//! Installed PHP packages: Composer's `vendor/composer/installed.json` (Composer 1 writes a
//! list of packages, Composer 2 an object with `packages`).

use serde::Deserialize;
use serde_json::Value;

use crate::{Cataloger, Kind, Package};

/// The Composer installed.json cataloger.
pub struct Composer;

#[derive(Deserialize)]
struct Pkg {
    name: String,
    version: String,
    #[serde(default)]
    license: Option<Value>,
}

impl Cataloger for Composer {
    fn name(&self) -> &'static str {
        "composer-installed"
    }

    fn wants(&self, path: &str) -> bool {
        path == "vendor/composer/installed.json"
            || path.ends_with("/vendor/composer/installed.json")
    }

    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
        let v: Value = serde_json::from_slice(content).map_err(|e| format!("not JSON: {e}"))?;
        let list = match &v {
            Value::Array(_) => v.clone(),
            Value::Object(o) => o
                .get("packages")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
            _ => return Err("neither a list nor an object with `packages`".into()),
        };
        let pkgs: Vec<Pkg> =
            serde_json::from_value(list).map_err(|e| format!("unexpected package entry: {e}"))?;
        Ok(pkgs
            .into_iter()
            .filter(|p| !p.name.is_empty() && !p.version.is_empty())
            .map(|p| Package {
                kind: Kind::Composer,
                name: p.name.to_lowercase(),
                version: p.version,
                arch: None,
                source_name: None,
                source_version: None,
                module: None,
                licenses: match p.license {
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect(),
                    Some(Value::String(s)) => vec![s],
                    _ => Vec::new(),
                },
                location: path.to_string(),
                layer: None,
                repository: None,
            })
            .collect())
    }
}
