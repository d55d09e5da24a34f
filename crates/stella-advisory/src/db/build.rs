//! Building the compiled DB from feeds (and from an existing DB, for incremental imports).

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{
    ENTRY, FeedInfo, HEADER, Kind, MAGIC, Manifest, PackageEntry, SCHEMA_VERSION, SECTION,
    StoredSeverity, Vulnerability, key,
};
use crate::kev::{Epss, Kev};
use crate::merge::merge;
use crate::model::{Advisory, Affected, Problem, Range};
use crate::{Db, Error};

/// Collects feeds, then writes one DB file.
#[derive(Debug, Default)]
pub struct DbBuilder {
    advisories: Vec<Advisory>,
    feeds: BTreeMap<String, FeedInfo>,
    kev: BTreeMap<String, Kev>,
    epss: BTreeMap<String, Epss>,
    epss_date: Option<String>,
    /// Problems met while reading feeds.
    pub problems: Vec<Problem>,
}

impl DbBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts from an existing DB's content (incremental import): feeds imported again later
    /// replace their earlier records.
    pub fn from_db(db: &Db) -> Result<Self, Error> {
        let mut b = DbBuilder::new();
        b.feeds = db.manifest().feeds.clone();
        b.epss_date = db.manifest().epss_date.clone();
        let mut by_key: BTreeMap<(String, String), Advisory> = BTreeMap::new();
        for (ns, pkg, entries) in db.all_packages()? {
            for e in entries {
                let feed = db.feed_name(e.feed).to_string();
                let adv = by_key
                    .entry((e.advisory.clone(), feed.clone()))
                    .or_insert_with(|| Advisory {
                        id: e.advisory.clone(),
                        feed,
                        source: e.source,
                        ..Advisory::default()
                    });
                adv.aliases.extend(
                    db.vulnerability_list(e.vulnerabilities)?
                        .into_iter()
                        .filter(|v| *v != e.advisory),
                );
                adv.affected.push(Affected {
                    namespace: ns.clone(),
                    package: pkg.clone(),
                    ranges: e.ranges,
                    versions: e.versions,
                    status: e.status,
                });
            }
        }
        for v in db.all_vulnerabilities()? {
            if let Some(k) = v.kev {
                b.kev.insert(v.id.clone(), k);
            }
            if let Some(e) = v.epss {
                b.epss.insert(v.id.clone(), e);
            }
            for a in by_key
                .values_mut()
                .filter(|a| a.id == v.id || a.aliases.contains(&v.id))
            {
                a.summary = a.summary.take().or_else(|| v.summary.clone());
                a.severities
                    .extend(v.severities.iter().map(|s| crate::model::Severity {
                        kind: s.kind.clone(),
                        value: s.value.clone(),
                        source: db.feed_name(s.feed).to_string(),
                    }));
                a.published = a.published.take().or_else(|| v.published.clone());
                a.modified = a.modified.take().or_else(|| v.modified.clone());
            }
        }
        b.advisories = by_key.into_values().collect();
        Ok(b)
    }

    /// Adds advisories read from `feed`, replacing what an earlier import of the same feed gave.
    pub fn add_feed(
        &mut self,
        feed: &str,
        advisories: Vec<Advisory>,
        skipped: u64,
        imported: &str,
    ) {
        self.advisories.retain(|a| a.feed != feed);
        let newest = advisories
            .iter()
            .filter_map(|a| a.modified.clone().or_else(|| a.published.clone()))
            .max();
        self.feeds.insert(
            feed.to_string(),
            FeedInfo {
                records: advisories.len() as u64,
                skipped,
                newest,
                imported: imported.to_string(),
            },
        );
        self.advisories.extend(advisories);
    }

    /// Sets the KEV catalogue.
    pub fn set_kev(&mut self, kev: BTreeMap<String, Kev>, imported: &str) {
        self.feeds.insert(
            "kev".into(),
            FeedInfo {
                records: kev.len() as u64,
                skipped: 0,
                newest: kev.values().map(|k| k.date_added.clone()).max(),
                imported: imported.into(),
            },
        );
        self.kev = kev;
    }

    /// Sets the EPSS scores.
    pub fn set_epss(&mut self, epss: BTreeMap<String, Epss>, date: Option<String>, imported: &str) {
        self.feeds.insert(
            "epss".into(),
            FeedInfo {
                records: epss.len() as u64,
                skipped: 0,
                newest: date.clone(),
                imported: imported.into(),
            },
        );
        self.epss = epss;
        self.epss_date = date;
    }

    /// Writes the DB to `path` atomically (a temporary file beside it, then a rename), so a
    /// reader never sees a half-written DB.
    pub fn write(self, path: &Path, built: &str) -> Result<Manifest, Error> {
        let (bytes, manifest) = self.build(built)?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            std::process::id()
        ));
        let res = (|| -> Result<(), Error> {
            use std::io::Write as _;
            let mut f = fs_err::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            fs_err::rename(&tmp, path)?;
            Ok(())
        })();
        if res.is_err() {
            let _ = fs_err::remove_file(&tmp);
        }
        res.map(|()| manifest)
    }

    /// The DB bytes and manifest.
    pub fn build(self, built: &str) -> Result<(Vec<u8>, Manifest), Error> {
        let mut advs = self.advisories;
        // Input order must not change the output: the same content gives the same file.
        advs.sort_by(|a, b| (&a.feed, &a.id, a.source).cmp(&(&b.feed, &b.id, b.source)));
        let m = merge(&advs);
        let feed_names: Vec<String> = {
            let mut f: Vec<String> = advs.iter().map(|a| a.feed.clone()).collect();
            f.sort();
            f.dedup();
            f
        };
        let feed_idx: BTreeMap<&str, u16> = feed_names
            .iter()
            .enumerate()
            .map(|(i, f)| (f.as_str(), i as u16))
            .collect();
        let mut packages: BTreeMap<Vec<u8>, Vec<PackageEntry>> = BTreeMap::new();
        let mut lists: Vec<Vec<String>> = Vec::new();
        let mut list_of: std::collections::HashMap<Vec<String>, u32> =
            std::collections::HashMap::new();
        for a in &advs {
            if a.withdrawn.is_some() {
                continue;
            }
            let ids: Vec<String> = m.records_for(a).into_iter().map(str::to_string).collect();
            let vulnerabilities = *list_of.entry(ids.clone()).or_insert_with(|| {
                lists.push(ids);
                (lists.len() - 1) as u32
            });
            for af in &a.affected {
                packages
                    .entry(key(&af.namespace, &af.package))
                    .or_default()
                    .push(PackageEntry {
                        vulnerabilities,
                        advisory: a.id.clone(),
                        feed: feed_idx.get(a.feed.as_str()).copied().unwrap_or(0),
                        source: a.source,
                        status: af.status,
                        ranges: af.ranges.clone(),
                        versions: extra_versions(af),
                    });
            }
        }
        let mut vulns: Vec<Vulnerability> = Vec::with_capacity(m.vulns.len());
        let mut kev_n = 0;
        let mut epss_n = 0;
        for g in &m.vulns {
            let members: Vec<&Advisory> = g.members.iter().map(|&k| &advs[k]).collect();
            // Summaries: a CVE's own wording (OSV, NVD) before a distro's "pkg - security update".
            let mut by_pref = members.clone();
            by_pref.sort_by_key(|a| (a.source == crate::model::Source::Distro, a.source));
            let mut v = Vulnerability {
                id: g.id.clone(),
                aliases: g.aliases.iter().cloned().collect(),
                summary: by_pref
                    .iter()
                    .find_map(|a| a.summary.clone().filter(|s| !s.trim().is_empty())),
                published: members.iter().filter_map(|a| a.published.clone()).min(),
                modified: members.iter().filter_map(|a| a.modified.clone()).max(),
                withdrawn: if members.iter().all(|a| a.withdrawn.is_some()) {
                    members.iter().filter_map(|a| a.withdrawn.clone()).max()
                } else {
                    None
                },
                severities: Vec::new(),
                severity: crate::cvss::Level::Unknown,
                score: None,
                severity_from: None,
                kev: None,
                epss: None,
                feeds: Vec::new(),
            };
            let cves: Vec<&String> = std::iter::once(&g.id)
                .chain(g.aliases.iter())
                .filter(|x| x.starts_with("CVE-"))
                .collect();
            v.kev = cves.iter().find_map(|c| self.kev.get(*c).cloned());
            v.epss = cves.iter().find_map(|c| self.epss.get(*c).copied());
            kev_n += u64::from(v.kev.is_some());
            epss_n += u64::from(v.epss.is_some());
            for a in &members {
                let fi = feed_idx.get(a.feed.as_str()).copied().unwrap_or(0);
                for s in &a.severities {
                    let st = StoredSeverity {
                        kind: s.kind.clone(),
                        value: s.value.clone(),
                        feed: fi,
                    };
                    if !v.severities.contains(&st) {
                        v.severities.push(st);
                    }
                }
                if !v.feeds.contains(&fi) {
                    v.feeds.push(fi);
                }
            }
            v.severities.sort();
            v.feeds.sort();
            let distro_feeds: std::collections::BTreeSet<u16> = members
                .iter()
                .filter(|a| a.source == crate::model::Source::Distro)
                .filter_map(|a| feed_idx.get(a.feed.as_str()).copied())
                .collect();
            (v.severity, v.score, v.severity_from) =
                super::choose_severity(&v.severities, |f| distro_feeds.contains(&f));
            vulns.push(v);
        }
        let mut namespaces: BTreeMap<String, u64> = BTreeMap::new();
        for k in packages.keys() {
            let ns = k.split(|b| *b == 0).next().unwrap_or_default();
            *namespaces
                .entry(String::from_utf8_lossy(ns).into_owned())
                .or_default() += 1;
        }
        let manifest = Manifest {
            schema_version: SCHEMA_VERSION,
            built: built.to_string(),
            feeds: self.feeds,
            feed_names,
            namespaces,
            vulnerabilities: vulns.len() as u64,
            packages: packages.len() as u64,
            kev: kev_n,
            epss: epss_n,
            epss_date: self.epss_date,
        };
        let encode_err = |e: postcard::Error| Error::Format {
            path: "<db>".into(),
            why: format!("cannot encode a record: {e}"),
        };

        let mut pkg_index = Vec::with_capacity(packages.len() * ENTRY);
        let mut pkg_keys = Vec::new();
        let mut pkg_records = Vec::new();
        for (k, mut entries) in packages {
            entries.sort_by(|a, b| {
                (a.source, &a.advisory, a.feed, a.vulnerabilities).cmp(&(
                    b.source,
                    &b.advisory,
                    b.feed,
                    b.vulnerabilities,
                ))
            });
            let rec = postcard::to_stdvec(&entries).map_err(encode_err)?;
            push_entry(
                &mut pkg_index,
                pkg_keys.len(),
                k.len(),
                pkg_records.len(),
                rec.len(),
            );
            pkg_keys.extend_from_slice(&k);
            pkg_records.extend_from_slice(&rec);
        }
        let mut vuln_index = Vec::with_capacity(vulns.len() * ENTRY);
        let mut vuln_keys = Vec::new();
        let mut vuln_records = Vec::new();
        for v in &vulns {
            let rec = postcard::to_stdvec(v).map_err(encode_err)?;
            push_entry(
                &mut vuln_index,
                vuln_keys.len(),
                v.id.len(),
                vuln_records.len(),
                rec.len(),
            );
            vuln_keys.extend_from_slice(v.id.as_bytes());
            vuln_records.extend_from_slice(&rec);
        }
        let mut list_index = Vec::with_capacity(lists.len() * 16);
        let mut list_bytes = Vec::new();
        for l in &lists {
            let rec = postcard::to_stdvec(l).map_err(encode_err)?;
            list_index.extend_from_slice(&(list_bytes.len() as u64).to_le_bytes());
            list_index.extend_from_slice(&(rec.len() as u32).to_le_bytes());
            list_index.extend_from_slice(&0u32.to_le_bytes());
            list_bytes.extend_from_slice(&rec);
        }
        let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Format {
            path: "<db>".into(),
            why: e.to_string(),
        })?;
        let sections: [(Kind, &[u8]); 9] = [
            (Kind::Manifest, &manifest_json),
            (Kind::PkgIndex, &pkg_index),
            (Kind::PkgKeys, &pkg_keys),
            (Kind::PkgRecords, &pkg_records),
            (Kind::VulnIndex, &vuln_index),
            (Kind::VulnKeys, &vuln_keys),
            (Kind::VulnRecords, &vuln_records),
            (Kind::ListIndex, &list_index),
            (Kind::Lists, &list_bytes),
        ];
        let mut out = vec![0u8; HEADER + sections.len() * SECTION];
        out[..8].copy_from_slice(MAGIC);
        out[8..12].copy_from_slice(&SCHEMA_VERSION.to_le_bytes());
        out[12..16].copy_from_slice(&(sections.len() as u32).to_le_bytes());
        for (i, (kind, data)) in sections.iter().enumerate() {
            // Sections start on 8-byte boundaries.
            while out.len() % 8 != 0 {
                out.push(0);
            }
            let off = out.len() as u64;
            let at = HEADER + i * SECTION;
            out[at..at + 4].copy_from_slice(&(*kind as u32).to_le_bytes());
            out[at + 8..at + 16].copy_from_slice(&off.to_le_bytes());
            out[at + 16..at + 24].copy_from_slice(&(data.len() as u64).to_le_bytes());
            out.extend_from_slice(data);
        }
        let digest = Sha256::digest(&out[HEADER..]);
        out[16..48].copy_from_slice(&digest);
        Ok((out, manifest))
    }
}

/// The explicitly listed versions that the ranges do not already cover. OSV feeds enumerate
/// every version inside their ranges; keeping only the rest makes the DB a fraction of the
/// size and changes no answer (`versions` and `ranges` are OR-ed).
fn extra_versions(af: &Affected) -> Vec<String> {
    let Some(scheme) = crate::namespace::scheme(&af.namespace) else {
        return af.versions.clone();
    };
    let ranges: Vec<_> = af
        .ranges
        .iter()
        .filter_map(Range::to_osv)
        .filter(|r| r.kind != stella_version::range::RangeType::Git)
        .collect();
    if ranges.is_empty() {
        return af.versions.clone();
    }
    af.versions
        .iter()
        .filter(|v| {
            !ranges
                .iter()
                .any(|r| stella_version::range::in_range(scheme, v, r).unwrap_or(false))
        })
        .cloned()
        .collect()
}

fn push_entry(index: &mut Vec<u8>, key_off: usize, key_len: usize, rec_off: usize, rec_len: usize) {
    index.extend_from_slice(&(key_off as u32).to_le_bytes());
    index.extend_from_slice(&(key_len as u32).to_le_bytes());
    index.extend_from_slice(&(rec_off as u64).to_le_bytes());
    index.extend_from_slice(&(rec_len as u32).to_le_bytes());
    index.extend_from_slice(&0u32.to_le_bytes());
}
