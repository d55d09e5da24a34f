//! Composing per-layer fragments into the image's packages (DESIGN §2): layers replayed bottom
//! to top, each first deleting what its whiteouts and opaque directories hide, then replacing
//! the locations it contains.
//!
//! Traps: deletions of a layer apply to the layers *below* it only, so they run before its own
//! additions; a whiteout of a directory deletes everything under it; a package that an upper
//! layer's rewrite of the same database still lists keeps the layer that introduced it.

use std::collections::BTreeMap;

use crate::{Fragment, OsInfo, Package, os};

/// The image's packages after composition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Composed {
    /// Packages, sorted (kind, name, version, location).
    pub packages: Vec<Package>,
    /// The detected OS.
    pub os: Option<OsInfo>,
    /// Warnings of every fragment, prefixed with its layer.
    pub warnings: Vec<String>,
}

fn under(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

fn delete<V>(map: &mut BTreeMap<String, V>, f: &Fragment) {
    map.retain(|path, _| {
        !f.opaque.iter().any(|d| under(path, d))
            && !f.whiteouts.iter().any(|w| path == w || under(path, w))
    });
}

/// Where `path` leads through the recorded symbolic links, inside the image root only: an
/// absolute target starts at the root, and `..` at the root stays there (as in a chroot);
/// at most 40 links are followed, so a loop ends.
pub fn resolve(links: &BTreeMap<String, String>, path: &str) -> Option<String> {
    let mut cur = path.to_string();
    for _ in 0..40 {
        let Some(t) = links.get(&cur) else {
            return (cur != path).then_some(cur);
        };
        let base = if t.starts_with('/') {
            String::new()
        } else {
            cur.rsplit_once('/')
                .map(|(d, _)| d.to_string())
                .unwrap_or_default()
        };
        let mut parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
        for seg in t.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                s => parts.push(s),
            }
        }
        cur = parts.join("/");
    }
    None
}

/// Composes fragments, bottom layer first.
pub fn compose(fragments: &[Fragment]) -> Composed {
    let mut locations: BTreeMap<String, Vec<Package>> = BTreeMap::new();
    let mut release: BTreeMap<String, OsInfo> = BTreeMap::new();
    let mut copyrights: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut links: BTreeMap<String, String> = BTreeMap::new();
    let mut warnings = Vec::new();
    for (k, f) in fragments.iter().enumerate() {
        delete(&mut locations, f);
        delete(&mut release, f);
        delete(&mut copyrights, f);
        delete(&mut links, f);
        for (p, t) in &f.doc_links {
            links.insert(p.clone(), t.clone());
        }
        for (file, c) in &f.copyrights {
            copyrights.insert(file.clone(), c.clone());
        }
        for (loc, pkgs) in &f.locations {
            let before = locations.remove(loc).unwrap_or_default();
            let layer = (!f.diff_id.is_empty()).then(|| f.diff_id.clone());
            let now: Vec<Package> = pkgs
                .iter()
                .map(|p| {
                    let kept = before.iter().find(|b| {
                        b.kind == p.kind
                            && b.name == p.name
                            && b.version == p.version
                            && b.arch == p.arch
                    });
                    Package {
                        layer: kept.and_then(|b| b.layer.clone()).or_else(|| layer.clone()),
                        ..p.clone()
                    }
                })
                .collect();
            if !now.is_empty() {
                locations.insert(loc.clone(), now);
            }
        }
        for (file, info) in &f.os {
            match info {
                Some(i) => {
                    release.insert(file.clone(), i.clone());
                }
                None => {
                    release.remove(file);
                }
            }
        }
        warnings.extend(f.warnings.iter().map(|w| format!("layer {}: {w}", k + 1)));
    }
    let mut packages: Vec<Package> = locations.into_values().flatten().collect();
    // Debian keeps licenses beside the package database, one copyright file per package
    let by_pkg: BTreeMap<&str, &Vec<String>> =
        copyrights.values().map(|(p, l)| (p.as_str(), l)).collect();
    let by_file: BTreeMap<&str, &Vec<String>> = copyrights
        .iter()
        .map(|(f, (_, l))| (f.as_str(), l))
        .collect();
    for p in packages
        .iter_mut()
        .filter(|p| p.kind == crate::Kind::Deb && p.licenses.is_empty())
    {
        if let Some(l) = by_pkg.get(p.name.as_str()) {
            p.licenses = (*l).clone();
        } else if let Some(l) = resolve(&links, &format!("usr/share/doc/{}", p.name))
            .and_then(|dir| by_file.get(format!("{dir}/copyright").as_str()).copied())
        {
            p.licenses = l.clone();
        }
    }
    packages.sort_by(|a, b| {
        (a.kind, &a.name, &a.version, &a.location).cmp(&(b.kind, &b.name, &b.version, &b.location))
    });
    Composed {
        packages,
        os: os::detect(release.iter().map(|(p, i)| (p.as_str(), i))),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    fn pkg(name: &str, v: &str) -> Package {
        Package {
            kind: Kind::Deb,
            name: name.into(),
            version: v.into(),
            arch: None,
            source_name: None,
            source_version: None,
            licenses: vec![],
            module: None,
            location: "var/lib/dpkg/status".into(),
            layer: None,
            repository: None,
        }
    }

    #[test]
    fn upper_layers_replace_and_delete() {
        let status = "var/lib/dpkg/status".to_string();
        let mut l1 = Fragment {
            diff_id: "sha256:1".into(),
            ..Fragment::default()
        };
        l1.locations
            .insert(status.clone(), vec![pkg("a", "1"), pkg("b", "1")]);
        l1.locations.insert(
            "usr/lib/python3/x.dist-info/METADATA".into(),
            vec![Package {
                kind: Kind::Python,
                location: "usr/lib/python3/x.dist-info/METADATA".into(),
                ..pkg("x", "1")
            }],
        );
        let mut l2 = Fragment {
            diff_id: "sha256:2".into(),
            ..Fragment::default()
        };
        // the upper layer upgrades b, removes a, adds c, and deletes python's directory
        l2.locations
            .insert(status.clone(), vec![pkg("b", "2"), pkg("c", "1")]);
        l2.whiteouts.insert("usr/lib/python3".into());
        let c = compose(&[l1.clone(), l2]);
        let got: Vec<(&str, &str, &str)> = c
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.layer.as_deref().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(got, [("b", "2", "sha256:2"), ("c", "1", "sha256:2")]);
        // a rewrite that keeps a package keeps its layer
        let mut l3 = Fragment {
            diff_id: "sha256:3".into(),
            ..Fragment::default()
        };
        l3.locations.insert(
            status.clone(),
            vec![pkg("a", "1"), pkg("b", "1"), pkg("d", "1")],
        );
        let c = compose(&[l1.clone(), l3]);
        let layers: Vec<&str> = c
            .packages
            .iter()
            .map(|p| p.layer.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(layers, ["sha256:1", "sha256:1", "sha256:3", "sha256:1"]);
        // an opaque directory hides the lower layer's content, not the layer's own
        let mut l4 = Fragment {
            diff_id: "sha256:4".into(),
            ..Fragment::default()
        };
        l4.opaque.insert("var/lib/dpkg".into());
        let c = compose(&[l1, l4]);
        assert_eq!(c.packages.len(), 1);
        assert!(under("a/b", "a") && !under("ab", "a") && !under("a", "a"));
        // links resolve inside the root only, and loops end
        let links: BTreeMap<String, String> = [
            ("usr/share/doc/a", "b"),
            ("usr/share/doc/up", "../../../../../../etc"),
            ("usr/share/doc/abs", "/usr/share/doc/b"),
            ("usr/share/doc/l1", "l2"),
            ("usr/share/doc/l2", "l1"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(
            resolve(&links, "usr/share/doc/a").as_deref(),
            Some("usr/share/doc/b")
        );
        assert_eq!(resolve(&links, "usr/share/doc/up").as_deref(), Some("etc"));
        assert_eq!(
            resolve(&links, "usr/share/doc/abs").as_deref(),
            Some("usr/share/doc/b")
        );
        assert_eq!(resolve(&links, "usr/share/doc/l1"), None);
        assert_eq!(resolve(&links, "usr/share/doc/none"), None);
    }
}
