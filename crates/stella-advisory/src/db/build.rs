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
                if e.informational.is_some() {
                    adv.informational = e.informational.clone();
                }
                let (ids, rating) = db.statement_list(e.vulnerabilities)?;
                adv.aliases
                    .extend(ids.into_iter().filter(|v| *v != e.advisory));
                adv.affected.push(Affected {
                    namespace: ns.clone(),
                    package: pkg.clone(),
                    ranges: e.ranges,
                    versions: e.versions,
                    status: e.status,
                    arches: e.arches,
                    severity: rating.map(|r| r.text()),
                });
            }
        }
        // Which advisories speak about which record: by their id and the ids they list.
        let mut about: std::collections::HashMap<String, Vec<(String, String)>> =
            std::collections::HashMap::new();
        for (k, a) in &by_key {
            for id in std::iter::once(&a.id).chain(a.aliases.iter()) {
                about.entry(id.clone()).or_default().push(k.clone());
            }
        }
        let vulns = db.all_vulnerabilities()?;
        // Ids of distro advisories that were split over the CVEs they list: each CVE names
        // them among its aliases without being joined to them. Adopting such an id as an
        // alias would join those CVEs on re-import. They are the distro advisories seen in
        // package entries, and any alias shared by two records (a true alias would have
        // made them one record).
        let mut split_distro: std::collections::HashSet<String> = by_key
            .values()
            .filter(|a| {
                a.source == crate::model::Source::Distro
                    && !a.id.starts_with("CVE-")
                    && a.aliases.iter().any(|x| x.starts_with("CVE-"))
            })
            .map(|a| a.id.clone())
            .collect();
        let mut listed_by: BTreeMap<&str, Vec<&Vulnerability>> = BTreeMap::new();
        for v in &vulns {
            for al in &v.aliases {
                listed_by.entry(al.as_str()).or_default().push(v);
            }
        }
        for (al, vs) in &listed_by {
            // a regional catalogue's record names the CVEs it covers without being one of
            // them: it is brought back as its own advisory (below), never adopted as an alias
            if vs.len() > 1 || crate::regional::is_catalogue(al) {
                split_distro.insert((*al).to_string());
            }
        }
        let mut catalogues: BTreeMap<(String, String), Advisory> = BTreeMap::new();
        // Split distro advisories without package statements (a DSA whose fixes are all in
        // releases long gone) are not in any entry: bring them back from the records that
        // name them.
        for (al, vs) in &listed_by {
            if vs.len() < 2 || about.contains_key(*al) {
                continue;
            }
            let feed = vs
                .iter()
                .find(|v| !v.feeds.is_empty())
                .map(|v| first_feed(db, v))
                .unwrap_or_default();
            let a = Advisory {
                id: (*al).to_string(),
                feed: feed.clone(),
                source: crate::model::Source::Distro,
                aliases: vs.iter().map(|v| v.id.clone()).collect(),
                // the same date rule as for advisories seen in entries (below)
                published: vs.iter().filter_map(|v| v.published.clone()).max(),
                modified: vs.iter().filter_map(|v| v.modified.clone()).min(),
                feed_fixed: true,
                ..Advisory::default()
            };
            by_key.insert(((*al).to_string(), feed), a);
        }
        let mut summaries: Vec<(Option<String>, Vec<Key>)> = Vec::new();
        let mut undated: std::collections::HashSet<Key> = std::collections::HashSet::new();
        let mut severity_seen: std::collections::HashSet<Key> = std::collections::HashSet::new();
        let mut unmodified: std::collections::HashSet<Key> = std::collections::HashSet::new();
        for v in vulns {
            if let Some(k) = v.kev.clone() {
                b.kev.insert(v.id.clone(), k);
            }
            if let Some(e) = v.epss {
                b.epss.insert(v.id.clone(), e);
            }
            let mut keys = about.get(&v.id).cloned().unwrap_or_default();
            // the feeds some advisory of this record is brought back from
            let mut claimed: std::collections::BTreeSet<&str> =
                keys.iter().map(|k| k.1.as_str()).collect();
            // regional catalogues' records (no package statements): their feed is the one of
            // this record's feeds no package advisory of it came from
            for al in v
                .aliases
                .iter()
                .filter(|a| crate::regional::is_catalogue(a) && !about.contains_key(a.as_str()))
            {
                let Some(feed) = v
                    .feeds
                    .iter()
                    .map(|&f| db.feed_name(f))
                    .find(|f| !claimed.contains(f))
                else {
                    continue;
                };
                claimed.insert(feed);
                let a = catalogues
                    .entry((al.clone(), feed.to_string()))
                    .or_insert_with(|| Advisory {
                        id: al.clone(),
                        feed: feed.to_string(),
                        source: crate::model::Source::Nvd,
                        feed_fixed: true,
                        ..Advisory::default()
                    });
                a.aliases.insert(v.id.clone());
                for st in v
                    .severities
                    .iter()
                    .filter(|st| db.feed_name(st.feed) == feed)
                {
                    let sev = crate::model::Severity {
                        kind: st.kind.clone(),
                        value: st.value.clone(),
                        source: feed.to_string(),
                    };
                    if !a.severities.contains(&sev) {
                        a.severities.push(sev);
                    }
                }
            }
            if !keys.is_empty() {
                // Feeds that said something about this record without a package statement
                // (an OSV record carrying only a CVSS vector for a CVE a distribution's feed
                // lists): bring their advisory back, or the next import would lose what they
                // said (the finding's severity among it). Its ratings, aliases and dates are
                // given back below, as for every advisory of the record.
                let mut restored = Vec::new();
                for &f in &v.feeds {
                    let feed = db.feed_name(f);
                    if claimed.contains(feed) {
                        continue;
                    }
                    let distro = v.severities.iter().any(|s| s.feed == f && s.distro);
                    let k = (v.id.clone(), feed.to_string());
                    by_key.entry(k.clone()).or_insert_with(|| Advisory {
                        id: v.id.clone(),
                        feed: feed.to_string(),
                        source: if distro {
                            crate::model::Source::Distro
                        } else {
                            crate::model::Source::Osv
                        },
                        ..Advisory::default()
                    });
                    restored.push(k);
                }
                keys.extend(restored);
            }
            if keys.is_empty() {
                // A record with no package statements (withdrawn, or metadata only): keep it.
                let feed = first_feed(db, &v);
                let mut a = Advisory {
                    id: v.id.clone(),
                    feed: feed.clone(),
                    withdrawn: v.withdrawn.clone(),
                    summary: v.summary.clone(),
                    published: v.published.clone(),
                    modified: v.modified.clone(),
                    ..Advisory::default()
                };
                a.severities = v
                    .severities
                    .iter()
                    .map(|s| crate::model::Severity {
                        kind: s.kind.clone(),
                        value: s.value.clone(),
                        source: feed.clone(),
                    })
                    .collect();
                a.aliases.extend(
                    v.aliases
                        .iter()
                        .filter(|x| !split_distro.contains(x.as_str()))
                        .cloned(),
                );
                by_key.insert((v.id.clone(), feed), a);
            }
            // Ids only package-less advisories had (a DSA for a release long gone), on a
            // record no OSV/GHSA/NVD advisory carries back: bring those advisories back too.
            let adopted = keys.iter().any(|k| {
                by_key
                    .get(k)
                    .is_some_and(|a| a.source != crate::model::Source::Distro)
            });
            if !keys.is_empty() && !adopted {
                for al in &v.aliases {
                    if about.contains_key(al) || split_distro.contains(al.as_str()) {
                        continue;
                    }
                    let feed = first_feed(db, &v);
                    let a = Advisory {
                        id: al.clone(),
                        feed: feed.clone(),
                        source: crate::model::Source::Distro,
                        aliases: std::iter::once(v.id.clone()).collect(),
                        published: v.published.clone(),
                        modified: v.modified.clone(),
                        feed_fixed: true,
                        ..Advisory::default()
                    };
                    by_key.insert((al.clone(), feed), a);
                }
            }
            if !keys.is_empty() {
                let mut ks: Vec<(String, String)> = keys
                    .iter()
                    .filter(|k| by_key.contains_key(*k))
                    .cloned()
                    .collect();
                ks.sort_by(|x, y| summary_order(&by_key[x]).cmp(&summary_order(&by_key[y])));
                summaries.push((v.summary.clone(), ks));
            }
            for k in &keys {
                let Some(a) = by_key.get_mut(k) else { continue };
                // Package entries name only the merged id; the record's other ids (its GHSA,
                // PYSEC… aliases) live on the vulnerability. Distro advisories never join ids,
                // so they keep just the CVEs they listed.
                if a.source != crate::model::Source::Distro {
                    for al in v.aliases.iter().chain(std::iter::once(&v.id)) {
                        // A distro advisory listing CVEs is named among each CVE's aliases
                        // without being joined to it; adopting its id would join it.
                        if *al != a.id && !split_distro.contains(al.as_str()) {
                            a.aliases.insert(al.clone());
                        }
                    }
                }
                // A record holds the severities of all its advisories, by feed. An advisory
                // said at most what every one of its records holds from its feed; taking
                // exactly that intersection gives each record back the same union.
                let here: Vec<crate::model::Severity> = v
                    .severities
                    .iter()
                    .filter(|s| db.feed_name(s.feed) == a.feed)
                    .map(|s| crate::model::Severity {
                        kind: s.kind.clone(),
                        value: s.value.clone(),
                        source: a.feed.clone(),
                    })
                    .collect();
                if severity_seen.insert(k.clone()) {
                    a.severities = here;
                } else {
                    a.severities.retain(|s| here.contains(s));
                }
                // A record's dates are the earliest `published` and latest `modified` of its
                // advisories; giving each advisory the latest / earliest of its records' dates
                // gives every record its dates back on re-import. A record without a date
                // means none of its advisories had one.
                if v.published.is_none() {
                    undated.insert(k.clone());
                }
                if v.modified.is_none() {
                    unmodified.insert(k.clone());
                }
                a.published = a.published.take().max(v.published.clone());
                a.modified = match (a.modified.take(), v.modified.clone()) {
                    (Some(x), Some(y)) => Some(x.min(y)),
                    (x, y) => x.or(y),
                };
            }
        }
        for k in &undated {
            if let Some(a) = by_key.get_mut(k) {
                a.published = None;
            }
        }
        for k in &unmodified {
            if let Some(a) = by_key.get_mut(k) {
                a.modified = None;
            }
        }
        for (k, text) in summary_owners(&summaries) {
            if let Some(a) = by_key.get_mut(&k) {
                a.summary = Some(text);
            }
        }
        for (k, a) in catalogues {
            by_key.entry(k).or_insert(a);
        }
        for a in by_key.values_mut().filter(|a| a.withdrawn.is_none()) {
            a.feed_fixed = true;
        }
        b.advisories = by_key.into_values().collect();
        Ok(b)
    }

    /// The advisories collected so far (for exports).
    pub fn advisories(&self) -> &[Advisory] {
        &self.advisories
    }

    /// The KEV entries and EPSS scores collected so far (for exports).
    pub fn kev_epss(
        &self,
    ) -> (
        &BTreeMap<String, Kev>,
        &BTreeMap<String, Epss>,
        Option<&str>,
    ) {
        (&self.kev, &self.epss, self.epss_date.as_deref())
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
        let advisories = same_id_once(advisories);
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
        type List = (Vec<String>, Option<super::Rating>);
        let mut lists: Vec<List> = Vec::new();
        let mut list_of: std::collections::HashMap<List, u32> = std::collections::HashMap::new();
        for a in &advs {
            if a.withdrawn.is_some() {
                continue;
            }
            let ids: Vec<String> = m.records_for(a).into_iter().map(str::to_string).collect();
            // the distribution's rating: the statement's own (one release's), else its
            // advisory's
            let advisory_rating = (a.source == crate::model::Source::Distro)
                .then(|| super::rating_of(&a.severities))
                .flatten();
            for af in &a.affected {
                let rating = match af.severity.as_deref() {
                    _ if a.source != crate::model::Source::Distro => None,
                    Some(r) => super::Rating::parse(r),
                    None => advisory_rating.clone(),
                };
                let list = (ids.clone(), rating);
                let vulnerabilities = match list_of.get(&list) {
                    Some(&i) => i,
                    None => {
                        lists.push(list.clone());
                        list_of.insert(list, (lists.len() - 1) as u32);
                        (lists.len() - 1) as u32
                    }
                };
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
                        arches: af.arches.clone(),
                        informational: a.informational.clone(),
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
            by_pref.sort_by(|a, b| summary_order(a).cmp(&summary_order(b)));
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
                        distro: a.source == crate::model::Source::Distro,
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
            (v.severity, v.score, v.severity_from) = super::choose_severity(&v.severities);
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
            while !out.len().is_multiple_of(8) {
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

/// Which advisory's summary a record shows: a CVE's own wording (OSV, GHSA, NVD) before a
/// distribution's "pkg - security update"; then by id and feed, so the choice does not
/// depend on import order.
fn summary_order(a: &Advisory) -> (bool, crate::model::Source, &str, &str) {
    (
        a.source == crate::model::Source::Distro,
        a.source,
        a.id.as_str(),
        a.feed.as_str(),
    )
}

type Key = (String, String);

/// Works out which advisory each record's summary came from. The build shows the summary of
/// the first advisory (in `summary_order`) that has one; an advisory that comes first for two
/// records showing different summaries therefore had none, and the next one in line had it.
fn summary_owners(records: &[(Option<String>, Vec<Key>)]) -> BTreeMap<Key, String> {
    let mut empty: std::collections::HashSet<&Key> = std::collections::HashSet::new();
    for (text, members) in records {
        if text.is_none() {
            empty.extend(members.iter());
        }
    }
    loop {
        let mut owner: BTreeMap<&Key, &str> = BTreeMap::new();
        let mut changed = false;
        for (text, members) in records {
            let Some(text) = text else { continue };
            let Some(first) = members.iter().find(|k| !empty.contains(k)) else {
                continue;
            };
            match owner.get(first) {
                Some(t) if *t != text.as_str() => {
                    empty.insert(first);
                    changed = true;
                }
                _ => {
                    owner.insert(first, text);
                }
            }
        }
        if !changed {
            return owner
                .into_iter()
                .map(|(k, t)| (k.clone(), t.to_string()))
                .collect();
        }
    }
}

/// One advisory per id within a feed: mirrors carry the same erratum once per release
/// directory and architecture (vuln-list's Rocky tree), and an OSV directory may hold a record
/// twice. Their statements are joined; identical ones kept once.
fn same_id_once(advisories: Vec<Advisory>) -> Vec<Advisory> {
    let mut by_id: BTreeMap<String, Advisory> = BTreeMap::new();
    for a in advisories {
        match by_id.entry(a.id.clone()) {
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(a);
            }
            std::collections::btree_map::Entry::Occupied(mut e) => {
                let m = e.get_mut();
                m.aliases.extend(a.aliases);
                for af in a.affected {
                    if !m.affected.contains(&af) {
                        m.affected.push(af);
                    }
                }
                for sv in a.severities {
                    if !m.severities.contains(&sv) {
                        m.severities.push(sv);
                    }
                }
                m.summary = m.summary.take().or(a.summary);
                m.published = match (m.published.take(), a.published) {
                    (Some(x), Some(y)) => Some(x.min(y)),
                    (x, y) => x.or(y),
                };
                m.modified = m.modified.take().max(a.modified);
                // withdrawn only when every copy says so
                m.withdrawn = match (m.withdrawn.take(), a.withdrawn) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    _ => None,
                };
                m.feed_fixed |= a.feed_fixed;
            }
        }
    }
    by_id.into_values().collect()
}

/// The feed a rebuilt advisory is filed under when no package entry names one: the
/// record's first feed.
fn first_feed(db: &Db, v: &Vulnerability) -> String {
    v.feeds
        .first()
        .map(|f| db.feed_name(*f).to_string())
        .unwrap_or_default()
}
