//! Azure Linux and CBL-Mariner OVAL, in the JSON layout of the `vuln-list` mirror
//! (`azure/<release>/definitions/<year>/….json` and `mariner/<release>/…`, with the release's
//! `tests/tests.json`, `objects/objects.json` and `states/states.json` beside them).
//!
//! Traps: a definition names its package and bounds only through test → object (name) and
//! test → state (EVR and operation: `less than` is the fix, `less than or equal` the last
//! affected build, `greater than` a lower bound); `Patchable: Not Applicable` definitions say
//! the CVE never or no longer applies and give nothing; `Criterion` is an object or a list;
//! epoch 0 is written out. Namespaces are the os-release `ID:VERSION_ID`: `azurelinux:3.0`,
//! `mariner:2.0`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;
use crate::model::{
    Advisory, Affected, Problem, Range, RangeEvent, RangeKind, Severity, Source, Status,
};

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Definition {
    metadata: Metadata,
    #[serde(default)]
    criteria: Option<Criteria>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    #[serde(default)]
    title: Option<String>,
    reference: Reference,
    #[serde(default)]
    patchable: Option<String>,
    #[serde(default)]
    advisory_date: Option<String>,
    #[serde(default)]
    severity: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Reference {
    #[serde(rename = "RefID")]
    ref_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Criteria {
    #[serde(default)]
    criterion: Option<OneOrMany<Criterion>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Criterion {
    #[serde(default)]
    test_ref: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Tests {
    #[serde(default, deserialize_with = "crate::null_default")]
    rpminfo_tests: Vec<Test>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Test {
    #[serde(rename = "ID")]
    id: String,
    object: Ref,
    #[serde(default)]
    state: Option<Ref>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ref {
    #[serde(default, alias = "StateRef")]
    object_ref: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Objects {
    #[serde(default, deserialize_with = "crate::null_default")]
    rpminfo_objects: Vec<Object>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Object {
    #[serde(rename = "ID")]
    id: String,
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct States {
    #[serde(default, deserialize_with = "crate::null_default")]
    rpminfo_state: Vec<State>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct State {
    #[serde(rename = "ID")]
    id: String,
    evr: Evr,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Evr {
    text: String,
    operation: String,
}

/// One release's tests, objects and states, by id.
struct Release {
    /// test id → (object id, state id)
    tests: HashMap<String, (String, String)>,
    objects: HashMap<String, String>,
    /// state id → (operation, evr)
    states: HashMap<String, (String, String)>,
}

/// What an import keeps across the definitions of one release directory.
#[derive(Default)]
pub struct Context {
    releases: HashMap<PathBuf, Result<Release, String>>,
}

fn load(root: &Path) -> Result<Release, String> {
    fn read<T: for<'de> Deserialize<'de>>(p: &Path) -> Result<T, String> {
        let bytes = fs_err::read(p).map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", p.display()))
    }
    let tests: Tests = read(&root.join("tests/tests.json"))?;
    let objects: Objects = read(&root.join("objects/objects.json"))?;
    let states: States = read(&root.join("states/states.json"))?;
    Ok(Release {
        tests: tests
            .rpminfo_tests
            .into_iter()
            .map(|t| {
                let state = t.state.map(|s| s.object_ref).unwrap_or_default();
                (t.id, (t.object.object_ref, state))
            })
            .collect(),
        objects: objects
            .rpminfo_objects
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect(),
        states: states
            .rpminfo_state
            .into_iter()
            .map(|s| (s.id, (s.evr.operation, s.evr.text)))
            .collect(),
    })
}

/// (namespace, release directory) of a definition path: `…/azure/3.0/definitions/2023/x.json`
/// → (`azurelinux:3.0`, `…/azure/3.0`).
fn release_of(path: &Path) -> Option<(String, PathBuf)> {
    let mut p = path.parent()?;
    while p.file_name()? != "definitions" {
        p = p.parent()?;
    }
    let root = p.parent()?;
    let version = root.file_name()?.to_str()?;
    let distro = root.parent()?.file_name()?.to_str()?;
    let id = match distro {
        "azure" => "azurelinux",
        "mariner" => "mariner",
        _ => return None,
    };
    Some((format!("{id}:{version}"), root.to_path_buf()))
}

fn evr(v: &str) -> &str {
    v.strip_prefix("0:").unwrap_or(v)
}

/// Reads one definition.
pub fn read_azure(
    path: &Path,
    ctx: &mut Context,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bad = |why: String| Error::Format {
        path: path.display().to_string(),
        why,
    };
    let (ns, root) = release_of(path).ok_or_else(|| {
        bad("not under `azure/<release>/definitions/` or `mariner/<release>/definitions/`".into())
    })?;
    let bytes = fs_err::read(path)?;
    let d: Definition = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let release = ctx
        .releases
        .entry(root.clone())
        .or_insert_with(|| load(&root))
        .as_ref()
        .map_err(|e| bad(format!("the release's OVAL tables cannot be read: {e}")))?;
    let id = d.metadata.reference.ref_id.trim().to_string();
    if id.is_empty() {
        return Err(bad("no `Reference.RefID`".into()));
    }
    if d.metadata.patchable.as_deref() == Some("Not Applicable") {
        return Ok(());
    }
    let mut adv = Advisory {
        id: id.clone(),
        source: Source::Distro,
        summary: d.metadata.title.clone(),
        published: d.metadata.advisory_date.clone(),
        ..Advisory::default()
    };
    if let Some(level) = d
        .metadata
        .severity
        .as_deref()
        .and_then(crate::cvss::Level::parse)
    {
        adv.severities.push(Severity {
            kind: "distro".into(),
            value: level.as_str().into(),
            source: "distro".into(),
        });
    }
    let criteria = match d.criteria.and_then(|c| c.criterion) {
        Some(OneOrMany::Many(v)) => v,
        Some(OneOrMany::One(c)) => vec![c],
        None => Vec::new(),
    };
    // package → (lower bound, upper bound)
    let mut bounds: std::collections::BTreeMap<String, (Option<String>, Option<RangeEvent>)> =
        std::collections::BTreeMap::new();
    for c in criteria {
        let Some((obj, state)) = release.tests.get(&c.test_ref) else {
            problems.push(Problem {
                file: path.display().to_string(),
                message: format!("{id}: test `{}` is not in tests.json", c.test_ref),
            });
            continue;
        };
        let (Some(name), Some((op, text))) = (release.objects.get(obj), release.states.get(state))
        else {
            problems.push(Problem {
                file: path.display().to_string(),
                message: format!("{id}: test `{}` names no package or version", c.test_ref),
            });
            continue;
        };
        let v = evr(text.trim()).to_string();
        let b = bounds.entry(name.clone()).or_default();
        match op.as_str() {
            "less than" => b.1 = Some(RangeEvent::Fixed(v)),
            "less than or equal" => b.1 = Some(RangeEvent::LastAffected(v)),
            "greater than" | "greater than or equal" => {
                // `> 0.0.0` only says "any version"
                if v.trim_end_matches(['0', '.']).is_empty() || v.starts_with("0.0.0") {
                    continue;
                }
                b.0 = Some(v);
            }
            other => problems.push(Problem {
                file: path.display().to_string(),
                message: format!("{id}: {name}: unknown operation `{other}`"),
            }),
        }
    }
    for (package, (lower, upper)) in bounds {
        let Some(upper) = upper else { continue };
        let mut events = vec![RangeEvent::Introduced(lower.unwrap_or_else(|| "0".into()))];
        events.push(upper);
        adv.affected.push(Affected {
            namespace: ns.clone(),
            package,
            ranges: vec![Range {
                kind: RangeKind::Ecosystem,
                events,
            }],
            versions: Vec::new(),
            status: Status::Affected,
            arches: Vec::new(),
            severity: None,
        });
    }
    out.push(adv);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases() {
        let (ns, root) =
            release_of(Path::new("x/vuln-list/azure/3.0/definitions/2023/1.json")).unwrap();
        assert_eq!(ns, "azurelinux:3.0");
        assert!(root.ends_with("azure/3.0"));
        assert_eq!(
            release_of(Path::new("v/mariner/2.0/definitions/2021/7412.json"))
                .unwrap()
                .0,
            "mariner:2.0"
        );
        assert!(release_of(Path::new("x/2.0/definitions/1.json")).is_none());
        assert_eq!(evr("0:1.20.7-1.azl3"), "1.20.7-1.azl3");
    }
}
