//! Lockfiles and pinned manifests of application directories: npm `package-lock.json`
//! (v1/v2/v3), `yarn.lock` (v1 and Berry), `pnpm-lock.yaml` (v5–v9), pip `requirements.txt`,
//! `poetry.lock`, `Pipfile.lock`, `uv.lock`, `go.mod`, `Cargo.lock`, `Gemfile.lock`,
//! `composer.lock` and NuGet `packages.lock.json`.
//!
//! Traps, per format: package-lock v1 nests `dependencies`, v2/v3 key `packages` by install
//! path (`node_modules/a/node_modules/b`, `""` is the project itself, `link` entries are
//! workspaces) and aliases carry their real `name`; yarn v1 keys are comma-separated
//! descriptors whose name ends at the *last* `@` (scopes start with one), Berry writes
//! `name@npm:range` keys and `workspace:` entries for the project; pnpm keys are `/name/1.0.0`
//! (v5), `/name@1.0.0` (v6) or `name@1.0.0` (v9) with peer suffixes `(…)` or `_…` to drop;
//! requirements only pin with `==`/`===` (extras, markers, hashes and continuation lines
//! aside; ranges are not versions); uv's project itself is `virtual` or `editable`; go.mod
//! `replace` directives win and the `module` itself has no version; Gemfile.lock lists gems
//! at four spaces and their dependencies at six; packages.lock.json `Project` entries are the
//! solution's own projects.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::{Cataloger, Kind, Package};

fn pkg(kind: Kind, name: &str, version: &str, location: &str) -> Package {
    Package {
        kind,
        name: name.to_string(),
        version: version.to_string(),
        arch: None,
        source_name: None,
        source_version: None,
        module: None,
        licenses: Vec::new(),
        location: location.to_string(),
        layer: None,
        repository: None,
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// All lockfile catalogers.
pub struct Lockfiles;

const NAMES: &[&str] = &[
    "package-lock.json",
    ".package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "requirements.txt",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "go.mod",
    "Cargo.lock",
    "Gemfile.lock",
    "composer.lock",
    "packages.lock.json",
];

impl Cataloger for Lockfiles {
    fn name(&self) -> &'static str {
        "lockfiles"
    }

    fn wants(&self, path: &str) -> bool {
        let n = file_name(path);
        NAMES.contains(&n) || (n.starts_with("requirements") && n.ends_with(".txt"))
    }

    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
        let text = String::from_utf8_lossy(content);
        let n = file_name(path);
        let mut out = match n {
            "package-lock.json" | ".package-lock.json" | "npm-shrinkwrap.json" => {
                package_lock(content, path)?
            }
            "yarn.lock" => yarn_lock(&text, path),
            "pnpm-lock.yaml" => pnpm_lock(content, path)?,
            "poetry.lock" | "uv.lock" => toml_packages(&text, path, Kind::Python)?,
            "Cargo.lock" => toml_packages(&text, path, Kind::Cargo)?,
            "Pipfile.lock" => pipfile_lock(content, path)?,
            "go.mod" => go_mod(&text, path),
            "Gemfile.lock" => gemfile_lock(&text, path),
            "composer.lock" => composer_lock(content, path)?,
            "packages.lock.json" => nuget_lock(content, path)?,
            _ => requirements(&text, path),
        };
        out.sort();
        out.dedup();
        Ok(out)
    }
}

fn package_lock(b: &[u8], path: &str) -> Result<Vec<Package>, String> {
    #[derive(Deserialize)]
    struct Lock {
        #[serde(default)]
        packages: BTreeMap<String, Entry>,
        #[serde(default)]
        dependencies: BTreeMap<String, V1>,
    }
    #[derive(Deserialize)]
    struct Entry {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        version: Option<String>,
        #[serde(default)]
        link: bool,
        #[serde(default)]
        dev: bool,
        #[serde(default)]
        license: Option<Value>,
    }
    #[derive(Deserialize)]
    struct V1 {
        #[serde(default)]
        version: Option<String>,
        #[serde(default)]
        dev: bool,
        #[serde(default)]
        dependencies: BTreeMap<String, V1>,
    }
    let lock: Lock = serde_json::from_slice(b).map_err(|e| format!("not a package-lock: {e}"))?;
    let mut out = Vec::new();
    if !lock.packages.is_empty() {
        for (key, e) in lock.packages {
            // the project itself, workspace links, and what only development needs
            if key.is_empty() || e.link || e.dev {
                continue;
            }
            let Some(version) = e.version else { continue };
            let name = e.name.unwrap_or_else(|| {
                key.rsplit_once("node_modules/")
                    .map(|(_, n)| n.to_string())
                    .unwrap_or(key.clone())
            });
            let mut p = pkg(Kind::Npm, &name, &version, path);
            if let Some(Value::String(l)) = e.license {
                p.licenses.push(l);
            }
            out.push(p);
        }
        return Ok(out);
    }
    fn walk(deps: &BTreeMap<String, V1>, path: &str, out: &mut Vec<Package>) {
        for (name, d) in deps {
            if d.dev {
                continue;
            }
            if let Some(v) = &d.version {
                // aliases: `npm:real-name@1.0.0`
                match v.strip_prefix("npm:").and_then(|a| a.rsplit_once('@')) {
                    Some((real, ver)) => out.push(pkg(Kind::Npm, real, ver, path)),
                    None if !v.starts_with("file:") && !v.contains("://") => {
                        out.push(pkg(Kind::Npm, name, v, path));
                    }
                    None => {}
                }
            }
            walk(&d.dependencies, path, out);
        }
    }
    walk(&lock.dependencies, path, &mut out);
    Ok(out)
}

/// `@scope/name@^1.0.0` → `@scope/name`.
fn npm_name(descriptor: &str) -> &str {
    let d = descriptor.trim().trim_matches('"');
    match d[1..].find('@') {
        Some(i) => &d[..i + 1],
        None => d,
    }
}

/// The package a registry tarball URL names (`…/something/-/something-1.0.0.tgz`,
/// `…/@scope/name/-/name-1.0.0.tgz`): an alias's real name.
fn tarball_name(url: &str) -> Option<&str> {
    let (before, _) = url.split_once("/-/")?;
    let path = before.split_once("://").map(|(_, r)| r).unwrap_or(before);
    let (_, path) = path.split_once('/')?;
    (!path.is_empty()).then_some(path)
}

fn yarn_lock(text: &str, path: &str) -> Vec<Package> {
    let mut out: Vec<Package> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            // a new block: `"a@^1", a@~1:` or `"a@npm:1.0.0":`
            let key = line.trim_end_matches(':');
            if key == "__metadata"
                || key.contains("@workspace:")
                || key.contains("@patch:") && key.contains("#")
            {
                current = None;
                continue;
            }
            let first = key.split(',').next().unwrap_or(key);
            current = Some(npm_name(first).to_string());
            continue;
        }
        let t = line.trim();
        let v = t
            .strip_prefix("version ")
            .or_else(|| t.strip_prefix("version: "))
            .map(|v| v.trim().trim_matches('"'));
        if let (Some(name), Some(v)) = (current.as_ref(), v)
            && line.starts_with("  ")
            && !line.starts_with("   ")
        {
            if v != "0.0.0-use.local" {
                out.push(pkg(Kind::Npm, name, v, path));
            }
            continue;
        }
        // v1 writes `resolved` after `version`: an alias resolves to another package
        if let Some(url) = t
            .strip_prefix("resolved ")
            .map(|u| u.trim().trim_matches('"'))
            && current.is_some()
            && let Some(real) = tarball_name(url)
            && let Some(last) = out.last_mut()
        {
            last.name = real.to_string();
            current = None;
        }
    }
    out
}

fn pnpm_lock(b: &[u8], path: &str) -> Result<Vec<Package>, String> {
    // pnpm 10+ may prepend a document for the package manager's own environment (`---`)
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_slice(b) {
        let v =
            serde_yaml::Value::deserialize(doc).map_err(|e| format!("not a pnpm lockfile: {e}"))?;
        out.extend(pnpm_document(&v, path));
    }
    Ok(out)
}

fn pnpm_document(v: &serde_yaml::Value, path: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let version: f64 = match v.get("lockfileVersion") {
        Some(serde_yaml::Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(serde_yaml::Value::String(s)) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    };
    let v5 = version < 6.0;
    // v5 also lists the direct dependencies at the top (`name: 1.0.0`)
    for section in ["dependencies", "optionalDependencies"] {
        if let Some(m) = v.get(section).and_then(|d| d.as_mapping()) {
            for (k, ver) in m {
                if let (Some(k), Some(ver)) = (k.as_str(), ver.as_str()) {
                    let ver = ver.split('_').next().unwrap_or(ver);
                    if !ver.contains(':') && ver.starts_with(|c: char| c.is_ascii_digit()) {
                        out.push(pkg(Kind::Npm, k, ver, path));
                    }
                }
            }
        }
    }
    let Some(pkgs) = v.get("packages").and_then(|p| p.as_mapping()) else {
        return out;
    };
    for (k, _) in pkgs {
        let Some(key) = k.as_str() else { continue };
        let key = key.trim_start_matches('/');
        // drop peer suffixes: `(peer@1)` (v6+) and `_peer@1` (v5)
        let key = key.split('(').next().unwrap_or(key);
        let (name, version) = if v5 {
            // `/name/1.0.0_peer@1` or `/@scope/name/1.0.0`
            let key = key.split('_').next().unwrap_or(key);
            match key.rsplit_once('/') {
                Some((n, v)) => (n, v),
                None => continue,
            }
        } else if let Some(i) = key.get(1..).and_then(|k| k.find('@')) {
            (&key[..i + 1], &key[i + 2..])
        } else {
            continue;
        };
        let version = version.split('_').next().unwrap_or(version);
        if name.is_empty() || version.is_empty() || version.contains(':') {
            continue;
        }
        out.push(pkg(Kind::Npm, name, version, path));
    }
    out
}

fn toml_packages(text: &str, path: &str, kind: Kind) -> Result<Vec<Package>, String> {
    #[derive(Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<P>,
    }
    #[derive(Deserialize)]
    struct P {
        name: String,
        #[serde(default)]
        version: Option<String>,
        #[serde(default)]
        source: Option<toml::Value>,
    }
    let lock: Lock = toml::from_str(text).map_err(|e| format!("not a lockfile: {e}"))?;
    Ok(lock
        .package
        .into_iter()
        .filter(|p| {
            // uv: the project itself
            !matches!(&p.source, Some(toml::Value::Table(t)) if t.contains_key("virtual") || t.contains_key("editable"))
        })
        .filter_map(|p| {
            let mut out = pkg(kind, &p.name, &p.version?, path);
            if kind == Kind::Cargo {
                out.repository = match &p.source {
                    // workspace members and path dependencies
                    None => Some("path".into()),
                    Some(toml::Value::String(s)) if is_crates_io(s) => None,
                    Some(toml::Value::String(s)) => Some(s.clone()),
                    Some(_) => None,
                };
            }
            Some(out)
        })
        .collect())
}

/// Whether a `Cargo.lock` source is crates.io (its git index or its sparse index).
fn is_crates_io(source: &str) -> bool {
    matches!(
        source.trim_end_matches('/'),
        "registry+https://github.com/rust-lang/crates.io-index" | "sparse+https://index.crates.io"
    )
}

fn pipfile_lock(b: &[u8], path: &str) -> Result<Vec<Package>, String> {
    let v: Value = serde_json::from_slice(b).map_err(|e| format!("not a Pipfile.lock: {e}"))?;
    let mut out = Vec::new();
    // `develop` is what only development needs
    for section in ["default"] {
        if let Some(m) = v.get(section).and_then(Value::as_object) {
            for (name, d) in m {
                if let Some(ver) = d.get("version").and_then(Value::as_str)
                    && let Some(ver) = ver.strip_prefix("==")
                {
                    out.push(pkg(Kind::Python, name, ver, path));
                }
            }
        }
    }
    Ok(out)
}

fn requirements(text: &str, path: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let mut joined = String::new();
    for raw in text.lines() {
        let line = raw.split(" #").next().unwrap_or(raw);
        if let Some(l) = line.trim_end().strip_suffix('\\') {
            joined.push_str(l);
            joined.push(' ');
            continue;
        }
        joined.push_str(line);
        let l = std::mem::take(&mut joined);
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with('-') {
            continue;
        }
        let spec = l.split(';').next().unwrap_or(l);
        let spec = spec.split(" --").next().unwrap_or(spec).trim();
        let Some((name, ver)) = spec.split_once("===").or_else(|| spec.split_once("==")) else {
            continue;
        };
        let name = name.split('[').next().unwrap_or(name).trim();
        let ver = ver.trim();
        if name.is_empty() || ver.is_empty() || ver.contains(['*', ',', ' ']) {
            continue;
        }
        out.push(pkg(Kind::Python, name, ver, path));
    }
    out
}

fn go_mod(text: &str, path: &str) -> Vec<Package> {
    let mut reqs: Vec<(String, String)> = Vec::new();
    let mut replaces: Vec<(String, Option<String>, String, String)> = Vec::new();
    let mut excludes: Vec<(String, String)> = Vec::new();
    let mut block: Option<&str> = None;
    for raw in text.lines() {
        let line = raw.split("//").next().unwrap_or(raw).trim();
        if line.is_empty() {
            continue;
        }
        if line == ")" {
            block = None;
            continue;
        }
        let (verb, rest) = match block {
            Some(b) => (b, line),
            None => match line.split_once(char::is_whitespace) {
                Some((v, r)) if r.trim() == "(" => {
                    block = Some(match v {
                        "require" => "require",
                        "replace" => "replace",
                        "exclude" => "exclude",
                        _ => "other",
                    });
                    continue;
                }
                Some((v, r)) => (v, r.trim()),
                None => continue,
            },
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        match verb {
            "require" if f.len() >= 2 => reqs.push((f[0].to_string(), f[1].to_string())),
            "exclude" if f.len() >= 2 => excludes.push((f[0].to_string(), f[1].to_string())),
            "replace" => {
                if let Some(arrow) = f.iter().position(|x| *x == "=>") {
                    let old = f[0].to_string();
                    let old_v = (arrow == 2).then(|| f[1].to_string());
                    let new = f.get(arrow + 1).map(|s| s.to_string()).unwrap_or_default();
                    let new_v = f.get(arrow + 2).map(|s| s.to_string()).unwrap_or_default();
                    replaces.push((old, old_v, new, new_v));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    reqs.retain(|r| !excludes.contains(r));
    for (m, v) in reqs {
        let r = replaces
            .iter()
            .rev()
            .find(|(old, ov, _, _)| *old == m && ov.as_ref().is_none_or(|ov| *ov == v));
        match r {
            // a local directory: no published version to speak of
            Some((_, _, new, nv))
                if nv.is_empty() || new.starts_with('.') || new.starts_with('/') => {}
            Some((_, _, new, nv)) => out.push(pkg(Kind::Go, new, nv, path)),
            None => out.push(pkg(Kind::Go, &m, &v, path)),
        }
    }
    out
}

fn gemfile_lock(text: &str, path: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let mut in_specs = false;
    for line in text.lines() {
        if !line.starts_with(' ') {
            in_specs = false;
            continue;
        }
        if line.trim() == "specs:" {
            in_specs = true;
            continue;
        }
        if in_specs && line.starts_with("    ") && !line.starts_with("     ") {
            let t = line.trim();
            if let Some((name, rest)) = t.split_once(" (") {
                let v = rest.trim_end_matches(')');
                // `nokogiri (1.15.4-x86_64-linux)`: the platform is not part of the version
                let v = v.split('-').next().unwrap_or(v);
                out.push(pkg(Kind::Gem, name, v, path));
            }
        }
    }
    out
}

fn composer_lock(b: &[u8], path: &str) -> Result<Vec<Package>, String> {
    let v: Value = serde_json::from_slice(b).map_err(|e| format!("not a composer.lock: {e}"))?;
    let mut out = Vec::new();
    // `packages-dev` is what only development needs
    for section in ["packages"] {
        for p in v
            .get(section)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(n), Some(ver)) = (
                p.get("name").and_then(Value::as_str),
                p.get("version").and_then(Value::as_str),
            ) {
                out.push(pkg(Kind::Composer, &n.to_lowercase(), ver, path));
            }
        }
    }
    Ok(out)
}

fn nuget_lock(b: &[u8], path: &str) -> Result<Vec<Package>, String> {
    let v: Value =
        serde_json::from_slice(b).map_err(|e| format!("not a packages.lock.json: {e}"))?;
    let mut out = Vec::new();
    for framework in v
        .get("dependencies")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
    {
        for (name, d) in framework.as_object().into_iter().flatten() {
            if d.get("type").and_then(Value::as_str) == Some("Project") {
                continue;
            }
            if let Some(ver) = d.get("resolved").and_then(Value::as_str) {
                out.push(pkg(Kind::Nuget, name, ver, path));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &[Package]) -> Vec<String> {
        p.iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect()
    }

    #[test]
    fn cargo_sources() {
        let lock = "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"b\"\nversion = \"1.0.0\"\nsource = \"sparse+https://index.crates.io/\"\n\n[[package]]\nname = \"c\"\nversion = \"0.2.0\"\nsource = \"git+https://github.com/x/c?branch=main#abc123\"\n\n[[package]]\nname = \"d\"\nversion = \"3.0.0\"\nsource = \"sparse+https://reg.example.com/index/\"\n";
        let p = toml_packages(lock, "Cargo.lock", Kind::Cargo).unwrap();
        let purls: Vec<String> = p
            .iter()
            .map(|p| crate::sbom::purl(p, None).unwrap().to_string())
            .collect();
        assert_eq!(
            purls,
            [
                "pkg:cargo/app@0.1.0?download_url=file://.",
                "pkg:cargo/a@1.0.0",
                "pkg:cargo/b@1.0.0",
                "pkg:cargo/c@0.2.0?vcs_url=git%2Bhttps://github.com/x/c%40abc123",
                "pkg:cargo/d@3.0.0?repository_url=https://reg.example.com/index/",
            ]
        );
    }

    #[test]
    fn small_formats() {
        let r = requirements(
            "# c\nflask==2.0.1\nrequests[security] == 2.31.0 ; python_version > '3'\nnumpy>=1.0\n-r other.txt\nurllib3==1.26.5 \\\n    --hash=sha256:abc\n",
            "requirements.txt",
        );
        assert_eq!(
            names(&r),
            ["flask@2.0.1", "requests@2.31.0", "urllib3@1.26.5"]
        );
        let g = go_mod(
            "module example.com/app\n\ngo 1.21\n\nrequire (\n\tgithub.com/a/b v1.0.0\n\tgolang.org/x/net v0.17.0 // indirect\n\tgithub.com/local/c v0.0.0\n)\nrequire github.com/d/e v2.0.0+incompatible\nreplace github.com/a/b => github.com/fork/b v1.0.1\nreplace github.com/local/c => ../c\n",
            "go.mod",
        );
        assert_eq!(
            names(&g),
            [
                "github.com/fork/b@v1.0.1",
                "golang.org/x/net@v0.17.0",
                "github.com/d/e@v2.0.0+incompatible"
            ]
        );
        let gl = gemfile_lock(
            "GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (2.2.8)\n    nokogiri (1.15.4-x86_64-linux)\n      racc (~> 1.4)\n\nPLATFORMS\n  ruby\n",
            "Gemfile.lock",
        );
        assert_eq!(names(&gl), ["rack@2.2.8", "nokogiri@1.15.4"]);
        assert_eq!(npm_name("\"@babel/core@^7.0.0\""), "@babel/core");
        assert_eq!(npm_name("ajv@npm:6.12.3"), "ajv");
    }
}
