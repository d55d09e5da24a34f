//! Joining advisories from many feeds into vulnerability records.
//!
//! Traps:
//! - A distro advisory (DSA, ALSA…) lists the CVEs it *fixes*; those are different
//!   vulnerabilities, so it contributes to each CVE's record and never joins them. So does a
//!   regional catalogue's record (EUVD, JVNDB, CNNVD, CNVD, BDU) for the CVEs it covers.
//! - OSV aliases (GHSA ↔ CVE ↔ PYSEC) name the *same* vulnerability and are joined
//!   transitively; the record's id is its CVE when it has exactly one, else the smallest id.
//! - Every source's statement about a package is kept with its provenance; precedence is
//!   applied when matching (distro feeds over OSV/GHSA over NVD for distro packages; OSV/GHSA
//!   over NVD for language packages), so nothing is lost at build time.
//! - Withdrawn advisories stay in the vulnerability table, marked, but affect no package.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::{Advisory, Source};

/// A vulnerability after merging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    /// The record id (CVE when there is one).
    pub id: String,
    /// Every other id it is known by.
    pub aliases: BTreeSet<String>,
    /// Indices of the advisories that speak about it.
    pub members: Vec<usize>,
}

/// The merge: vulnerability records and, for every id seen, the record it belongs to.
#[derive(Debug, Default)]
pub struct Merge {
    /// Records sorted by id.
    pub vulns: Vec<Merged>,
    /// Any id or alias → index into `vulns`.
    pub record_of: HashMap<String, usize>,
}

impl Merge {
    /// The record ids an advisory's package statements belong to.
    pub fn records_for(&self, a: &Advisory) -> Vec<&str> {
        let mut out: Vec<&str> = splits(a)
            .unwrap_or_else(|| vec![a.id.as_str()])
            .into_iter()
            .filter_map(|id| self.record_of.get(id).map(|&k| self.vulns[k].id.as_str()))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The CVEs a distro advisory fixes (or a regional catalogue's record covers), when it is one
/// that lists CVEs.
fn splits(a: &Advisory) -> Option<Vec<&str>> {
    if (a.source != Source::Distro && !crate::regional::is_catalogue(&a.id))
        || a.id.starts_with("CVE-")
    {
        return None;
    }
    let cves: Vec<&str> = a
        .aliases
        .iter()
        .map(String::as_str)
        .filter(|x| x.starts_with("CVE-"))
        .collect();
    (!cves.is_empty()).then_some(cves)
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Merges advisories into vulnerability records.
pub fn merge(advs: &[Advisory]) -> Merge {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    // Every id a record can be found by.
    for a in advs {
        let ids: Vec<&str> = match splits(a) {
            Some(cves) => cves,
            None => std::iter::once(a.id.as_str())
                .chain(a.aliases.iter().map(String::as_str))
                .collect(),
        };
        for id in ids {
            if !index.contains_key(id) {
                index.insert(id, names.len());
                names.push(id);
            }
        }
    }
    let mut parent: Vec<usize> = (0..names.len()).collect();
    for a in advs {
        if splits(a).is_some() {
            continue;
        }
        let me = index[a.id.as_str()];
        for al in &a.aliases {
            let j = index[al.as_str()];
            let (ra, rb) = (find(&mut parent, me), find(&mut parent, j));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let mut groups: BTreeMap<usize, (BTreeSet<&str>, Vec<usize>)> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        groups
            .entry(find(&mut parent, i))
            .or_default()
            .0
            .insert(name);
    }
    let mut extra_aliases: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for (k, a) in advs.iter().enumerate() {
        match splits(a) {
            Some(cves) => {
                for c in cves {
                    let root = find(&mut parent, index[c]);
                    let g = groups.entry(root).or_default();
                    if !g.1.contains(&k) {
                        g.1.push(k);
                    }
                    extra_aliases.entry(root).or_default().insert(a.id.clone());
                }
            }
            None => {
                let root = find(&mut parent, index[a.id.as_str()]);
                groups.entry(root).or_default().1.push(k);
            }
        }
    }
    let mut vulns = Vec::with_capacity(groups.len());
    for (root, (ids, members)) in groups {
        if members.is_empty() {
            continue;
        }
        let cves: Vec<&&str> = ids.iter().filter(|x| x.starts_with("CVE-")).collect();
        let id = match cves.as_slice() {
            [one] => (**one).to_string(),
            _ => ids.iter().next().map(|s| s.to_string()).unwrap_or_default(),
        };
        let mut aliases: BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
        aliases.extend(extra_aliases.remove(&root).unwrap_or_default());
        aliases.remove(&id);
        vulns.push((
            root,
            Merged {
                id,
                aliases,
                members,
            },
        ));
    }
    vulns.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    let mut record_of = HashMap::with_capacity(names.len());
    let root_to_idx: HashMap<usize, usize> = vulns
        .iter()
        .enumerate()
        .map(|(i, (root, _))| (*root, i))
        .collect();
    for (i, name) in names.iter().enumerate() {
        if let Some(&k) = root_to_idx.get(&find(&mut parent, i)) {
            record_of.insert(name.to_string(), k);
        }
    }
    Merge {
        vulns: vulns.into_iter().map(|(_, m)| m).collect(),
        record_of,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Affected, Range, Status};

    fn adv(id: &str, aliases: &[&str], source: Source) -> Advisory {
        Advisory {
            id: id.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            source,
            feed: "t".into(),
            affected: vec![Affected {
                namespace: "pypi".into(),
                package: "x".into(),
                ranges: vec![Range::fixed_in("1.0")],
                versions: vec![],
                status: Status::Affected,
                arches: vec![],
                severity: None,
            }],
            ..Advisory::default()
        }
    }

    #[test]
    fn joins_true_aliases_and_splits_distro_advisories() {
        let advs = vec![
            adv("GHSA-aaaa", &["CVE-2024-1"], Source::Osv),
            adv("PYSEC-1", &["GHSA-aaaa"], Source::Osv),
            adv("DSA-1-1", &["CVE-2024-1", "CVE-2024-2"], Source::Distro),
            adv("ALSA-9", &[], Source::Distro),
        ];
        let m = merge(&advs);
        let ids: Vec<&str> = m.vulns.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["ALSA-9", "CVE-2024-1", "CVE-2024-2"]);
        assert_eq!(
            m.vulns[1].aliases,
            BTreeSet::from(["DSA-1-1".into(), "GHSA-aaaa".into(), "PYSEC-1".into()])
        );
        assert_eq!(m.vulns[1].members, [0, 1, 2]);
        assert_eq!(m.records_for(&advs[2]), ["CVE-2024-1", "CVE-2024-2"]);
        assert_eq!(m.records_for(&advs[1]), ["CVE-2024-1"]);
    }
}
