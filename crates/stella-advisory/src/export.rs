//! Writing a DB back out as OSV records (plus KEV and EPSS files), so that importing the
//! export gives a DB with the same content: the round trip `stella db export` promises.

use std::path::Path;

use serde_json::{Value, json};

use crate::model::{RangeEvent, Source, Status};
use crate::{Db, DbBuilder, Error};

fn source_name(s: Source) -> &'static str {
    match s {
        Source::Distro => "Distro",
        Source::Osv => "Osv",
        Source::Ghsa => "Ghsa",
        Source::Nvd => "Nvd",
    }
}

/// The OSV ecosystem string of a namespace (`almalinux:9` → `AlmaLinux:9`); namespaces
/// without an OSV ecosystem (`cpe`) are written as they are.
fn ecosystem(ns: &str) -> String {
    let (base, rel) = match ns.split_once(':') {
        Some((b, r)) => (b, Some(r)),
        None => (ns, None),
    };
    let base = match base {
        "alpine" => "Alpine",
        "debian" => "Debian",
        "ubuntu" => "Ubuntu",
        "almalinux" => "AlmaLinux",
        "rocky" => "Rocky Linux",
        "redhat" => "Red Hat",
        "pypi" => "PyPI",
        "go" => "Go",
        "maven" => "Maven",
        "rubygems" => "RubyGems",
        "nuget" => "NuGet",
        "packagist" => "Packagist",
        "pub" => "Pub",
        "hackage" => "Hackage",
        "cran" => "CRAN",
        other => other,
    };
    match rel {
        Some(r) if base == "Alpine" => format!("{base}:v{r}"),
        Some(r) => format!("{base}:{r}"),
        None => base.to_string(),
    }
}

fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Exports `db` into directory `dir` (created): one OSV JSON file per advisory and feed,
/// `known_exploited_vulnerabilities.json` and `epss.csv`. Returns the number of records.
pub fn export_osv(db: &Db, dir: &Path) -> Result<usize, Error> {
    let b = DbBuilder::from_db(db)?;
    let osv_dir = dir.join("osv");
    fs_err::create_dir_all(&osv_dir)?;
    let mut n = 0;
    for a in b.advisories() {
        let mut affected = Vec::new();
        for af in &a.affected {
            let ranges: Vec<Value> = af
                .ranges
                .iter()
                .map(|r| {
                    let events: Vec<Value> = r
                        .events
                        .iter()
                        .map(|e| match e {
                            RangeEvent::Introduced(v) => json!({ "introduced": v }),
                            RangeEvent::Fixed(v) => json!({ "fixed": v }),
                            RangeEvent::LastAffected(v) => json!({ "last_affected": v }),
                            RangeEvent::Limit(v) => json!({ "limit": v }),
                        })
                        .collect();
                    json!({ "type": r.kind.as_str(), "events": events })
                })
                .collect();
            let mut o = json!({
                "package": { "ecosystem": ecosystem(&af.namespace), "name": af.package },
                "ranges": ranges,
                "versions": af.versions,
            });
            if af.status == Status::NotAffected {
                // OSV has no "not affected": an empty range list says no version is.
                o["ranges"] = json!([]);
                o["database_specific"] = json!({ "stella": { "status": "not_affected" } });
            }
            if !af.arches.is_empty() {
                o["database_specific"]["stella"]["arches"] = json!(af.arches);
            }
            // where RustSec's own OSV export says it
            if let Some(kind) = &a.informational {
                o["database_specific"]["informational"] = json!(kind);
            }
            affected.push(o);
        }
        let severities: Vec<Value> = a
            .severities
            .iter()
            .map(|s| json!({ "type": s.kind, "score": s.value }))
            .collect();
        let mut rec = json!({
            "schema_version": "1.6.0",
            "id": a.id,
            "aliases": a.aliases,
            "affected": affected,
            "severity": severities,
            "database_specific": { "stella": { "feed": a.feed, "source": source_name(a.source) } },
        });
        for (k, v) in [
            ("summary", &a.summary),
            ("published", &a.published),
            ("modified", &a.modified),
            ("withdrawn", &a.withdrawn),
        ] {
            if let Some(v) = v {
                rec[k] = json!(v);
            }
        }
        let name = format!("{}--{}.json", file_safe(&a.feed), file_safe(&a.id));
        fs_err::write(
            osv_dir.join(name),
            serde_json::to_vec_pretty(&rec).unwrap_or_default(),
        )?;
        n += 1;
    }
    let (kev, epss, date) = b.kev_epss();
    if !kev.is_empty() {
        let vulns: Vec<Value> = kev
            .iter()
            .map(|(cve, k)| {
                json!({ "cveID": cve, "dateAdded": k.date_added, "dueDate": k.due_date,
                        "knownRansomwareCampaignUse": if k.ransomware { "Known" } else { "Unknown" } })
            })
            .collect();
        fs_err::write(
            dir.join("known_exploited_vulnerabilities.json"),
            serde_json::to_vec_pretty(&json!({ "vulnerabilities": vulns })).unwrap_or_default(),
        )?;
    }
    if !epss.is_empty() {
        let mut s = format!(
            "#model_version:export,score_date:{}\ncve,epss,percentile\n",
            date.unwrap_or("")
        );
        for (cve, e) in epss {
            s.push_str(&format!("{cve},{},{}\n", e.score, e.percentile));
        }
        fs_err::write(dir.join("epss.csv"), s)?;
    }
    Ok(n)
}
