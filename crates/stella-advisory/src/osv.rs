//! OSV JSON: one record, a directory of records, or osv.dev's per-ecosystem `all.zip`.
//!
//! A malformed record is reported with its file and reason and skipped; the rest imports.

use std::io::Read as _;
use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::model::{
    Advisory, Affected, Problem, Range, RangeEvent, RangeKind, Severity, Source, Status,
};
use crate::namespace::{from_osv_ecosystem, normalize_package};

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
    summary: Option<String>,
    details: Option<String>,
    published: Option<String>,
    modified: Option<String>,
    withdrawn: Option<String>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
    #[serde(default)]
    affected: Vec<OsvAffected>,
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OsvSeverity {
    #[serde(rename = "type")]
    ty: String,
    score: String,
}

#[derive(Deserialize)]
struct OsvAffected {
    package: Option<OsvPackage>,
    #[serde(default)]
    ranges: Vec<OsvRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OsvPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct OsvRange {
    // Required by the schema; the Kubernetes CVE feed leaves it out of ECOSYSTEM ranges.
    #[serde(rename = "type", default = "ecosystem_range")]
    ty: String,
    #[serde(default)]
    events: Vec<serde_json::Map<String, serde_json::Value>>,
}

fn ecosystem_range() -> String {
    "ECOSYSTEM".into()
}

/// Whether a distro feed: its advisories take precedence for distro packages.
fn is_distro(namespace: &str) -> bool {
    crate::namespace::scheme(namespace).is_some_and(|s| {
        matches!(
            s,
            stella_version::Scheme::Dpkg
                | stella_version::Scheme::Rpm
                | stella_version::Scheme::Apk
        )
    })
}

/// Parses one OSV record. `feed` names where it came from.
pub fn parse_record(bytes: &[u8], feed: &str) -> Result<Advisory, String> {
    let r: Record = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if r.id.trim().is_empty() {
        return Err("empty `id`".into());
    }
    let source_label = feed.to_string();
    let mut adv = Advisory {
        id: r.id.clone(),
        feed: feed.to_string(),
        source: Source::Osv,
        summary: r.summary.or_else(|| {
            r.details
                .map(|d| d.lines().next().unwrap_or("").chars().take(200).collect())
        }),
        published: r.published,
        modified: r.modified,
        withdrawn: r.withdrawn,
        ..Advisory::default()
    };
    // `related` ids of distro advisories are the CVEs they fix: treat them as aliases.
    adv.aliases
        .extend(r.aliases.into_iter().filter(|a| *a != r.id));
    let mut any_distro = false;
    for s in r.severity {
        adv.severities.push(Severity {
            kind: s.ty,
            value: s.score,
            source: source_label.clone(),
        });
    }
    for (i, a) in r.affected.into_iter().enumerate() {
        let Some(pkg) = a.package else { continue };
        let Some(ns) = from_osv_ecosystem(&pkg.ecosystem) else {
            return Err(format!("affected[{i}] has an empty ecosystem"));
        };
        any_distro |= is_distro(&ns);
        for s in a.severity {
            adv.severities.push(Severity {
                kind: s.ty,
                value: s.score,
                source: source_label.clone(),
            });
        }
        let mut ranges = Vec::new();
        for (j, rg) in a.ranges.into_iter().enumerate() {
            let mut events = Vec::new();
            for ev in rg.events {
                for (k, v) in ev {
                    let Some(v) = v.as_str().map(str::to_string) else {
                        return Err(format!(
                            "affected[{i}].ranges[{j}]: event `{k}` is not a string"
                        ));
                    };
                    events.push(match k.as_str() {
                        "introduced" => RangeEvent::Introduced(v),
                        "fixed" => RangeEvent::Fixed(v),
                        "last_affected" => RangeEvent::LastAffected(v),
                        "limit" => RangeEvent::Limit(v),
                        other => {
                            return Err(format!(
                                "affected[{i}].ranges[{j}]: unknown event `{other}`"
                            ));
                        }
                    });
                }
            }
            let Some(kind) = crate::model::RangeKind::parse(&rg.ty) else {
                return Err(format!(
                    "affected[{i}].ranges[{j}]: unknown range type `{}`",
                    rg.ty
                ));
            };
            ranges.push(Range { kind, events });
        }
        // GitHub's records for advisories without a patched version say `introduced: 0` and
        // keep the advisory's own bound aside (`"< 3.5.3.1"`); GitHub, and the peers reading
        // its feed, treat versions past that bound as not known to be affected.
        if let Some(bound) = a
            .database_specific
            .as_ref()
            .and_then(|d| d.get("last_known_affected_version_range"))
            .and_then(|v| v.as_str())
            .and_then(upper_bound)
        {
            for r in ranges.iter_mut().filter(|r| r.kind != RangeKind::Git) {
                let open = !r.events.iter().any(|e| {
                    matches!(
                        e,
                        RangeEvent::Fixed(_) | RangeEvent::LastAffected(_) | RangeEvent::Limit(_)
                    )
                });
                if open {
                    r.events.push(bound.clone());
                }
            }
        }
        // RustSec's unmaintained / unsound / notice advisories are not vulnerabilities
        if let Some(kind) = a
            .database_specific
            .as_ref()
            .and_then(|d| d.get("informational"))
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
        {
            adv.informational = Some(kind.to_string());
        }
        // A Stella export marks a distribution's "not affected" statement this way.
        let not_affected = a
            .database_specific
            .as_ref()
            .and_then(|d| d.pointer("/stella/status"))
            .and_then(|v| v.as_str())
            == Some("not_affected");
        let arches: Vec<String> = a
            .database_specific
            .as_ref()
            .and_then(|d| d.pointer("/stella/arches"))
            .and_then(|v| v.as_array())
            .map(|v| {
                v.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        adv.affected.push(Affected {
            package: normalize_package(&ns, &pkg.name),
            namespace: ns,
            ranges,
            versions: a.versions,
            status: if not_affected {
                Status::NotAffected
            } else {
                Status::Affected
            },
            arches,
            severity: None,
        });
    }
    // A Stella export already lists every severity it had; reading one from its summary
    // again would add a statement the exported DB never made.
    let stella_export = r
        .database_specific
        .as_ref()
        .is_some_and(|d| d.get("stella").is_some());
    if any_distro {
        adv.source = Source::Distro;
        // Red Hat-style summaries state the distribution's rating: "Moderate: thunderbird …".
        if let Some(level) = adv
            .summary
            .as_deref()
            .and_then(|s| s.split_once(':'))
            .and_then(|(l, _)| crate::cvss::Level::parse(l))
            .filter(|_| !stella_export)
        {
            adv.severities.push(Severity {
                kind: "distro".into(),
                value: level.as_str().into(),
                source: source_label.clone(),
            });
        }
        adv.aliases
            .extend(r.related.into_iter().filter(|a| a.starts_with("CVE-")));
    }
    // A Stella export says which feed and precedence class the record came from.
    if let Some(st) = r.database_specific.as_ref().and_then(|d| d.get("stella")) {
        if let Some(f) = st.get("feed").and_then(|x| x.as_str()) {
            adv.feed = f.to_string();
            adv.feed_fixed = true;
        }
        adv.source = match st.get("source").and_then(|x| x.as_str()) {
            Some("Distro") => Source::Distro,
            Some("Ghsa") => Source::Ghsa,
            Some("Nvd") => Source::Nvd,
            Some("Osv") => Source::Osv,
            _ => adv.source,
        };
        for s in &mut adv.severities {
            s.source = adv.feed.clone();
        }
    }
    Ok(adv)
}

/// The upper end of a GitHub version range (`">= 1.0, < 2.0"` → limit 2.0, `"<= 1.4"` →
/// last affected 1.4).
fn upper_bound(range: &str) -> Option<RangeEvent> {
    range.split(',').map(str::trim).find_map(|part| {
        if let Some(v) = part.strip_prefix("<=") {
            Some(RangeEvent::LastAffected(v.trim().to_string()))
        } else {
            part.strip_prefix('<')
                .map(|v| RangeEvent::Limit(v.trim().to_string()))
        }
        .filter(|e| match e {
            RangeEvent::LastAffected(v) | RangeEvent::Limit(v) => !v.is_empty(),
            _ => false,
        })
    })
}

/// Reads OSV records from a `.zip`, a directory (recursively, `*.json`), or one `.json` file.
pub fn read_path(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let feed = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if path.is_dir() {
        let mut files = Vec::new();
        collect_json(path, &mut files)?;
        files.sort();
        for f in files {
            let bytes = fs_err::read(&f)?;
            push(&bytes, &feed, &f.display().to_string(), out, problems);
        }
        return Ok(());
    }
    let bytes = fs_err::read(path)?;
    if bytes.starts_with(b"PK") {
        let mut z =
            zip::ZipArchive::new(std::io::Cursor::new(&bytes)).map_err(|e| Error::Format {
                path: path.display().to_string(),
                why: format!("not a readable zip: {e}"),
            })?;
        let mut buf = Vec::new();
        for i in 0..z.len() {
            let mut entry = match z.by_index(i) {
                Ok(e) => e,
                Err(e) => {
                    problems.push(Problem {
                        file: format!("{}[{i}]", path.display()),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            if !entry.is_file() || !entry.name().ends_with(".json") {
                continue;
            }
            let name = format!("{}:{}", path.display(), entry.name());
            buf.clear();
            if let Err(e) = entry.read_to_end(&mut buf) {
                problems.push(Problem {
                    file: name,
                    message: e.to_string(),
                });
                continue;
            }
            push(&buf, &feed, &name, out, problems);
        }
        return Ok(());
    }
    push(&bytes, &feed, &path.display().to_string(), out, problems);
    Ok(())
}

fn push(
    bytes: &[u8],
    feed: &str,
    name: &str,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) {
    match parse_record(bytes, feed) {
        Ok(a) => out.push(a),
        Err(e) => problems.push(Problem {
            file: name.to_string(),
            message: e,
        }),
    }
}

fn collect_json(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), Error> {
    for e in fs_err::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            collect_json(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod bound_tests {
    use super::upper_bound;
    use crate::model::RangeEvent;

    #[test]
    fn github_range_bounds() {
        assert_eq!(
            upper_bound("< 3.5.3.1"),
            Some(RangeEvent::Limit("3.5.3.1".into()))
        );
        assert_eq!(
            upper_bound(">= 1.0, <= 1.4"),
            Some(RangeEvent::LastAffected("1.4".into()))
        );
        assert_eq!(upper_bound(">= 1.0"), None);
        assert_eq!(upper_bound("= 1.0"), None);
        assert_eq!(upper_bound("<"), None);
    }
}
