//! .NET applications' dependency manifests, `*.deps.json`: the `libraries` of type `package`
//! are NuGet packages (`Newtonsoft.Json/13.0.1`); `project` entries are the app's own
//! assemblies and `referenceassembly` entries are framework stubs, neither a package.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{Cataloger, Kind, Package};

/// The deps.json cataloger.
pub struct DepsJson;

#[derive(Deserialize)]
struct Deps {
    #[serde(default)]
    libraries: BTreeMap<String, Library>,
}

#[derive(Deserialize)]
struct Library {
    #[serde(rename = "type", default)]
    kind: String,
}

impl Cataloger for DepsJson {
    fn name(&self) -> &'static str {
        "dotnet-deps"
    }

    fn wants(&self, path: &str) -> bool {
        path.ends_with(".deps.json")
    }

    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
        let d: Deps =
            serde_json::from_slice(content).map_err(|e| format!("not a deps.json: {e}"))?;
        Ok(d.libraries
            .into_iter()
            .filter(|(_, l)| l.kind == "package")
            .filter_map(|(k, _)| {
                let (name, version) = k.split_once('/')?;
                Some(Package {
                    kind: Kind::Nuget,
                    name: name.to_string(),
                    version: version.to_string(),
                    arch: None,
                    source_name: None,
                    source_version: None,
                    module: None,
                    licenses: Vec::new(),
                    location: path.to_string(),
                    layer: None,
                    repository: None,
                })
            })
            .collect())
    }
}
