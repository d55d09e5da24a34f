//! Installed npm packages: `node_modules/<name>/package.json` and
//! `node_modules/@scope/<name>/package.json`, at any depth of nesting.
//!
//! Traps: a package's own files may contain further `package.json` files (fixtures, sub-path
//! exports) that are not packages, so only the manifest directly under a `node_modules/`
//! entry counts; `license` may be a string, an object `{type}` or the deprecated `licenses`
//! array; private workspace manifests without a version are not installed packages.

use serde::Deserialize;
use serde_json::Value;

use crate::{Cataloger, Kind, Package};

/// The npm cataloger.
pub struct Npm;

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    license: Option<Value>,
    #[serde(default)]
    licenses: Option<Value>,
}

fn license_names(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
        Value::Object(o) => {
            if let Some(Value::String(t)) = o.get("type") {
                out.push(t.trim().to_string());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| license_names(x, out)),
        _ => {}
    }
}

impl Cataloger for Npm {
    fn name(&self) -> &'static str {
        "npm"
    }

    fn wants(&self, path: &str) -> bool {
        let Some(dir) = path.strip_suffix("/package.json") else {
            return false;
        };
        let Some((before, pkg)) = dir.rsplit_once("node_modules/") else {
            return false;
        };
        let _ = before;
        match pkg.split_once('/') {
            None => !pkg.is_empty() && !pkg.starts_with('.'),
            Some((scope, name)) => {
                scope.starts_with('@') && !name.is_empty() && !name.contains('/')
            }
        }
    }

    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
        let m: Manifest =
            serde_json::from_slice(content).map_err(|e| format!("not a package.json: {e}"))?;
        let (Some(name), Some(version)) = (m.name, m.version) else {
            return Ok(Vec::new());
        };
        if name.trim().is_empty() || version.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut licenses = Vec::new();
        if let Some(l) = &m.license {
            license_names(l, &mut licenses);
        } else if let Some(l) = &m.licenses {
            license_names(l, &mut licenses);
        }
        Ok(vec![Package {
            kind: Kind::Npm,
            name: name.trim().to_string(),
            version: version.trim().to_string(),
            arch: None,
            source_name: None,
            source_version: None,
            module: None,
            licenses,
            location: path.to_string(),
            layer: None,
            repository: None,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests() {
        assert!(Npm.wants("usr/lib/node_modules/npm/package.json"));
        assert!(Npm.wants("app/node_modules/@babel/core/package.json"));
        assert!(Npm.wants("app/node_modules/a/node_modules/b/package.json"));
        assert!(!Npm.wants("app/node_modules/a/lib/package.json"));
        assert!(!Npm.wants("app/package.json"));
        let p = Npm
            .parse(
                "n/node_modules/x/package.json",
                br#"{"name":"x","version":"1.0.0","license":{"type":"MIT"}}"#,
            )
            .unwrap();
        assert_eq!(p[0].licenses, ["MIT"]);
    }
}
