//! Java archives (`.jar`, `.war`, `.ear`, Jenkins `.hpi`/`.jpi`…), including the archives
//! nested in them (`WEB-INF/lib/`, `BOOT-INF/lib/`): Maven coordinates from
//! `META-INF/maven/<group>/<artifact>/pom.properties` (or its `pom.xml`), else from
//! `META-INF/MANIFEST.MF`, else from the file name.
//!
//! Traps: `.properties` separate keys with `=`, `:` or blanks, whichever comes first;
//! manifests continue long values on lines starting with one space; one archive may carry the
//! poms of everything shaded into it, each its own package; a `pom.xml` may inherit its group
//! and version from `<parent>`; manifest versions can hold dates (`1.3 2244 October 5 2005`);
//! an archive is untrusted input: nesting depth, entry counts and inflated sizes are bounded
//! so a zip bomb costs a warning, not the machine.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};

use crate::{Cataloger, Kind, Package};

/// The Java archive cataloger.
pub struct Java;

const EXTENSIONS: &[&str] = &[
    ".jar", ".war", ".ear", ".par", ".sar", ".nar", ".jpi", ".hpi", ".lpkg",
];
const MAX_DEPTH: usize = 4;
const MAX_ENTRIES: usize = 100_000;
/// Inflated bytes read from one top-level archive, nested archives included.
const MAX_INFLATED: u64 = 1 << 30;
/// The largest nested archive or metadata file read.
const MAX_ENTRY: u64 = 256 << 20;

fn is_archive(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    EXTENSIONS.iter().any(|e| l.ends_with(e))
}

/// Maven coordinates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Gav {
    group: String,
    artifact: String,
    version: String,
}

/// Java `.properties` (the subset pom.properties use).
fn properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let cut = line.find(['=', ':', ' ', '\t']).unwrap_or(line.len());
        let key = line[..cut].trim().to_string();
        let mut rest = line[cut..].trim_start();
        if rest.starts_with('=') || rest.starts_with(':') {
            rest = rest[1..].trim_start();
        }
        out.push((key, rest.trim_end().to_string()));
    }
    out
}

fn pom_properties(text: &str) -> Option<Gav> {
    let p = properties(text);
    let get = |k: &str| p.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    let g = Gav {
        group: get("groupId")?,
        artifact: get("artifactId")?,
        version: get("version")?,
    };
    (!g.artifact.is_empty() && !g.version.is_empty()).then_some(g)
}

/// `groupId`, `artifactId`, `version` of a pom.xml's `<project>`, the parent's group and
/// version filling in what it leaves out.
fn pom_xml(text: &str) -> Option<Gav> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let (mut g, mut a, mut v, mut pg, mut pv) = (None, None, None, None, None);
    // an element's text arrives in pieces (text, then each entity reference on its own)
    let mut text = String::new();
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => {
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                text.clear();
            }
            Ok(Event::Text(t)) => text.push_str(&t.xml10_content().ok()?),
            Ok(Event::CData(t)) => text.push_str(&t.xml10_content().ok()?),
            Ok(Event::GeneralRef(r)) => match r.resolve_char_ref().ok()? {
                Some(c) => text.push(c),
                None => text.push_str(quick_xml::escape::resolve_predefined_entity(
                    &r.decode().ok()?,
                )?),
            },
            Ok(Event::End(_)) => {
                let text = std::mem::take(&mut text).trim().to_string();
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                match p.as_slice() {
                    ["project", "groupId"] => g = Some(text),
                    ["project", "artifactId"] => a = Some(text),
                    ["project", "version"] => v = Some(text),
                    ["project", "parent", "groupId"] => pg = Some(text),
                    ["project", "parent", "version"] => pv = Some(text),
                    _ => {}
                }
                path.pop();
            }
            Ok(Event::Eof) => break,
            Err(_) => return None,
            _ => {}
        }
    }
    let g = Gav {
        group: g.or(pg)?,
        artifact: a?,
        version: v.or(pv)?,
    };
    // `${project.version}` and friends are not versions
    (!g.version.contains("${") && !g.group.contains("${")).then_some(g)
}

/// The main section of a manifest, continuation lines joined.
fn manifest(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            if !out.is_empty() {
                break; // per-entry sections follow
            }
            continue;
        }
        if let Some(cont) = line.strip_prefix(' ') {
            if let Some((_, v)) = out.last_mut() {
                v.push_str(cont);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// `commons-lang3-3.12.0.jar` → (`commons-lang3`, `3.12.0`).
fn from_file_name(name: &str) -> (String, Option<String>) {
    let stem = name.rsplit('/').next().unwrap_or(name);
    let stem = stem.rsplit_once('.').map(|(s, _)| s).unwrap_or(stem);
    let b = stem.as_bytes();
    for i in 0..b.len().saturating_sub(1) {
        if b[i] == b'-' && b[i + 1].is_ascii_digit() {
            return (stem[..i].to_string(), Some(stem[i + 1..].to_string()));
        }
    }
    (stem.to_string(), None)
}

struct Budget {
    inflated: u64,
}

fn read_entry<R: Read>(r: R, declared: u64, budget: &mut Budget) -> Result<Vec<u8>, String> {
    if declared > MAX_ENTRY {
        return Err(format!("an entry of {declared} bytes is over the limit"));
    }
    let mut buf = Vec::with_capacity(usize::try_from(declared.min(16 << 20)).unwrap_or(0));
    let cap = MAX_ENTRY.min(MAX_INFLATED.saturating_sub(budget.inflated));
    r.take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    if buf.len() as u64 > cap {
        return Err("inflates past the limit (a zip bomb?)".into());
    }
    budget.inflated += buf.len() as u64;
    Ok(buf)
}

fn walk(
    name: &str,
    bytes: &[u8],
    depth: usize,
    budget: &mut Budget,
    out: &mut Vec<Gav>,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("{name}: not a zip archive: {e}"))?;
    if z.len() > MAX_ENTRIES {
        return Err(format!("{name}: {} entries is over the limit", z.len()));
    }
    let mut poms: Vec<Gav> = Vec::new();
    let mut pom_dirs_with_properties: BTreeSet<String> = BTreeSet::new();
    let mut pom_xmls: Vec<(String, Vec<u8>)> = Vec::new();
    let mut manifest_text = None;
    let mut nested: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..z.len() {
        let mut e = match z.by_index(i) {
            Ok(e) => e,
            Err(err) => {
                warnings.push(format!("{name}: entry {i}: {err}"));
                continue;
            }
        };
        if e.is_dir() {
            continue;
        }
        let en = e.name().to_string();
        let size = e.size();
        let meta = en.starts_with("META-INF/maven/");
        if meta && en.ends_with("/pom.properties") {
            let b = read_entry(&mut e, size, budget)?;
            if let Some(g) = pom_properties(&String::from_utf8_lossy(&b)) {
                poms.push(g);
            }
            pom_dirs_with_properties.insert(en.trim_end_matches("pom.properties").to_string());
        } else if meta && en.ends_with("/pom.xml") {
            pom_xmls.push((
                en.trim_end_matches("pom.xml").to_string(),
                read_entry(&mut e, size, budget)?,
            ));
        } else if en.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
            manifest_text =
                Some(String::from_utf8_lossy(&read_entry(&mut e, size, budget)?).into_owned());
        } else if is_archive(&en) && depth < MAX_DEPTH {
            match read_entry(&mut e, size, budget) {
                Ok(b) => nested.push((en, b)),
                Err(w) => warnings.push(format!("{name}!{en}: {w}")),
            }
        }
    }
    for (dir, b) in pom_xmls {
        if !pom_dirs_with_properties.contains(&dir)
            && let Some(g) = pom_xml(&String::from_utf8_lossy(&b))
        {
            poms.push(g);
        }
    }
    if poms.is_empty() {
        let m = manifest_text.as_deref().map(manifest).unwrap_or_default();
        let get = |k: &str| {
            m.iter()
                .find(|(x, _)| x.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let (file_name, file_version) = from_file_name(name);
        let symbolic = get("Bundle-SymbolicName")
            .map(|s| s.split(';').next().unwrap_or("").trim().to_string());
        let artifact = get("Implementation-Title")
            .or_else(|| {
                symbolic
                    .as_ref()
                    .map(|s| s.rsplit('.').next().unwrap_or(s).to_string())
            })
            .filter(|t| !t.contains(' '))
            .unwrap_or(file_name);
        let version = get("Implementation-Version")
            .or_else(|| get("Bundle-Version"))
            .or_else(|| get("Specification-Version"))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
            .or(file_version);
        let group = get("Implementation-Vendor-Id").or_else(|| {
            symbolic
                .as_ref()
                .and_then(|s| s.rsplit_once('.').map(|(g, _)| g.to_string()))
        });
        if let Some(version) = version.filter(|v| !v.is_empty()) {
            out.push(Gav {
                group: group.unwrap_or_default(),
                artifact,
                version,
            });
        }
    }
    out.extend(poms);
    for (en, b) in nested {
        if let Err(w) = walk(
            &format!("{name}!{en}"),
            &b,
            depth + 1,
            budget,
            out,
            warnings,
        ) {
            warnings.push(w);
        }
    }
    Ok(())
}

impl Cataloger for Java {
    fn name(&self) -> &'static str {
        "java"
    }

    fn wants(&self, path: &str) -> bool {
        is_archive(path)
    }

    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
        let mut found = Vec::new();
        let mut warnings = Vec::new();
        let mut budget = Budget { inflated: 0 };
        walk(path, content, 0, &mut budget, &mut found, &mut warnings)?;
        if let Some(w) = warnings.first() {
            // the packages found are kept; the first problem is reported
            if found.is_empty() {
                return Err(w.clone());
            }
        }
        found.sort();
        found.dedup();
        Ok(found
            .into_iter()
            .map(|g| Package {
                kind: Kind::Maven,
                name: if g.group.is_empty() {
                    g.artifact
                } else {
                    format!("{}:{}", g.group, g.artifact)
                },
                version: g.version,
                arch: None,
                source_name: None,
                source_version: None,
                module: None,
                licenses: Vec::new(),
                location: path.to_string(),
                layer: None,
                repository: None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_formats() {
        let g = pom_properties(
            "#x\ngroupId:org.anchore\nartifactId: example-java-app-maven\nversion:   0.1.0",
        )
        .unwrap();
        assert_eq!(
            (g.group.as_str(), g.artifact.as_str(), g.version.as_str()),
            ("org.anchore", "example-java-app-maven", "0.1.0")
        );
        let g = pom_properties(
            "groupId=org.anchore\nartifactId= example-java:app-maven\nversion=   0.1.0:something",
        )
        .unwrap();
        assert_eq!(g.artifact, "example-java:app-maven");
        assert_eq!(g.version, "0.1.0:something");
        let m = manifest(
            "Manifest-Version: 1.0\nPlugin-ScmUrl: https://github.com/jenkinsci/plugin-pom/example-jenkins\n -plugin\n\nName: x\n",
        );
        assert_eq!(
            m[1].1,
            "https://github.com/jenkinsci/plugin-pom/example-jenkins-plugin"
        );
        assert_eq!(m.len(), 2);
        assert_eq!(
            from_file_name("lib/commons-lang3-3.12.0.jar"),
            ("commons-lang3".into(), Some("3.12.0".into()))
        );
        let x = pom_xml("<project><parent><groupId>p.g</groupId><version>9</version></parent><artifactId>a</artifactId><dependencies><dependency><groupId>no</groupId></dependency></dependencies></project>").unwrap();
        assert_eq!((x.group.as_str(), x.version.as_str()), ("p.g", "9"));
        // references arrive as events of their own: the text is put back together
        let x = pom_xml("<project>\n <groupId> a&amp;b&#x2E;c </groupId><artifactId>x</artifactId><version><![CDATA[1.0]]>-&#49;</version></project>").unwrap();
        assert_eq!(
            (x.group.as_str(), x.artifact.as_str(), x.version.as_str()),
            ("a&b.c", "x", "1.0-1")
        );
    }
}
