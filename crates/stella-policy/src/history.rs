//! Policy versions with their history (who, when, why, what changed), one active; export and
//! import. Core keeps a [`History`] in its store; the rules are here.
//!
//! Traps: a version is checked before it is recorded, so a policy that fails to load never
//! becomes active and the last good one stays; versions are never rewritten or removed
//! (activating an old one records who did it); imports are checked version by version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, LoadOptions, Policy, PolicySet, RegoPolicy};

/// One recorded version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    /// 1, 2, 3… in the order recorded.
    pub version: u64,
    /// Who recorded it (a token's subject, a user).
    pub author: String,
    /// When (RFC 3339).
    pub created: String,
    /// Why, as the author said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The YAML policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    /// Rego policies by file name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rego: BTreeMap<String, String>,
}

/// One entry of the activity log: which version became active, by whom, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activation {
    /// The version.
    pub version: u64,
    /// Who.
    pub author: String,
    /// When (RFC 3339).
    pub at: String,
}

/// Every version and which is active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// Format of the export (`1`).
    #[serde(default = "one")]
    pub format: u32,
    /// The versions, oldest first.
    pub versions: Vec<Version>,
    /// Activations, oldest first; the last one names the active version.
    pub activations: Vec<Activation>,
}

fn one() -> u32 {
    1
}

impl Default for History {
    fn default() -> Self {
        History {
            format: 1,
            versions: Vec::new(),
            activations: Vec::new(),
        }
    }
}

/// Why a history operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The policy does not load: it was not recorded.
    #[error("the policy was not recorded: {0}")]
    Invalid(#[from] Error),
    /// No such version.
    #[error("there is no policy version {0}")]
    NoSuchVersion(u64),
    /// An export that cannot be imported.
    #[error("not a policy export: {0}")]
    BadExport(String),
}

impl Version {
    /// The version loaded and checked.
    pub fn load(&self, opts: &LoadOptions) -> Result<PolicySet, Error> {
        let mut set = PolicySet::default();
        if let Some(y) = &self.yaml {
            set.yaml = Some(Policy::from_yaml(
                y,
                &format!("policy version {}", self.version),
                opts,
            )?);
        }
        for (name, text) in &self.rego {
            set.rego.push(RegoPolicy::new(text, name)?);
        }
        Ok(set)
    }
}

impl History {
    /// The active version.
    pub fn active(&self) -> Option<&Version> {
        let v = self.activations.last()?.version;
        self.get(v)
    }

    /// One version.
    pub fn get(&self, version: u64) -> Option<&Version> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// Checks and records a new version and makes it active; a policy that does not load is
    /// refused and the active one stays.
    pub fn put(
        &mut self,
        author: &str,
        created: &str,
        comment: Option<&str>,
        yaml: Option<&str>,
        rego: BTreeMap<String, String>,
        opts: &LoadOptions,
    ) -> Result<&Version, HistoryError> {
        let v = Version {
            version: self.versions.last().map_or(1, |v| v.version + 1),
            author: author.to_string(),
            created: created.to_string(),
            comment: comment.map(str::to_string),
            yaml: yaml.map(str::to_string),
            rego,
        };
        v.load(opts)?;
        self.activations.push(Activation {
            version: v.version,
            author: author.to_string(),
            at: created.to_string(),
        });
        self.versions.push(v);
        Ok(self.versions.last().unwrap_or_else(|| unreachable!()))
    }

    /// Makes an earlier version active again (a roll-back), recording who did it.
    pub fn activate(&mut self, version: u64, author: &str, at: &str) -> Result<(), HistoryError> {
        if self.get(version).is_none() {
            return Err(HistoryError::NoSuchVersion(version));
        }
        self.activations.push(Activation {
            version,
            author: author.to_string(),
            at: at.to_string(),
        });
        Ok(())
    }

    /// What changed from one version to another, as a unified-style line diff of each file.
    pub fn diff(&self, from: u64, to: u64) -> Result<String, HistoryError> {
        let a = self.get(from).ok_or(HistoryError::NoSuchVersion(from))?;
        let b = self.get(to).ok_or(HistoryError::NoSuchVersion(to))?;
        let mut out = String::new();
        let files = |v: &Version| -> BTreeMap<String, String> {
            let mut m = v.rego.clone();
            if let Some(y) = &v.yaml {
                m.insert("policy.yaml".into(), y.clone());
            }
            m
        };
        let (fa, fb) = (files(a), files(b));
        let names: std::collections::BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
        for name in names {
            let x = fa.get(name).map_or("", String::as_str);
            let y = fb.get(name).map_or("", String::as_str);
            if x != y {
                out.push_str(&format!(
                    "--- {name} (version {from})\n+++ {name} (version {to})\n"
                ));
                out.push_str(&line_diff(x, y));
            }
        }
        Ok(out)
    }

    /// The whole history as JSON, for backup or another Core.
    pub fn export(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads an export, checking every version loads.
    pub fn import(json: &str, opts: &LoadOptions) -> Result<History, HistoryError> {
        let h: History =
            serde_json::from_str(json).map_err(|e| HistoryError::BadExport(e.to_string()))?;
        if h.format != 1 {
            return Err(HistoryError::BadExport(format!(
                "format {} (this build reads format 1)",
                h.format
            )));
        }
        let mut last = 0;
        for v in &h.versions {
            if v.version <= last {
                return Err(HistoryError::BadExport(format!(
                    "version {} comes after version {last}",
                    v.version
                )));
            }
            last = v.version;
            v.load(opts)?;
        }
        for a in &h.activations {
            if h.get(a.version).is_none() {
                return Err(HistoryError::NoSuchVersion(a.version));
            }
        }
        Ok(h)
    }
}

/// A line diff (longest common subsequence): ` ` kept, `-` removed, `+` added.
fn line_diff(a: &str, b: &str) -> String {
    let x: Vec<&str> = a.lines().collect();
    let y: Vec<&str> = b.lines().collect();
    // policies are small; past this, say the file was replaced rather than spend quadratic time
    if x.len() * y.len() > 4_000_000 {
        let mut out = String::new();
        for l in &x {
            out.push_str(&format!("-{l}\n"));
        }
        for l in &y {
            out.push_str(&format!("+{l}\n"));
        }
        return out;
    }
    let (n, m) = (x.len(), y.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if x[i] == y[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < n || j < m {
        if i < n && j < m && x[i] == y[j] {
            out.push_str(&format!(" {}\n", x[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+{}\n", y[j]));
            j += 1;
        } else {
            out.push_str(&format!("-{}\n", x[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "version: 1\nrules:\n  - {id: a, action: deny, when: {kev: true}}\n";
    const BETTER: &str = "version: 1\nrules:\n  - {id: a, action: deny, when: {kev: true}}\n  - {id: b, action: warn}\n";

    #[test]
    fn versions_activations_diff_export_import() {
        let o = LoadOptions::default();
        let mut h = History::default();
        assert!(h.active().is_none());
        h.put(
            "alice",
            "2026-11-01T00:00:00Z",
            Some("first"),
            Some(GOOD),
            BTreeMap::new(),
            &o,
        )
        .unwrap();
        h.put(
            "bob",
            "2026-11-02T00:00:00Z",
            None,
            Some(BETTER),
            BTreeMap::new(),
            &o,
        )
        .unwrap();
        assert_eq!(h.active().unwrap().version, 2);
        // a broken policy is refused; the last good one stays active
        let e = h
            .put(
                "eve",
                "2026-11-03T00:00:00Z",
                None,
                Some("version: 1\nrules: [{id: x}]\n"),
                BTreeMap::new(),
                &o,
            )
            .unwrap_err();
        assert!(e.to_string().contains("missing field `action`"), "{e}");
        let mut rego = BTreeMap::new();
        rego.insert("x.rego".to_string(), "package other\n".to_string());
        assert!(h.put("eve", "t", None, None, rego, &o).is_err());
        assert_eq!((h.active().unwrap().version, h.versions.len()), (2, 2));
        // roll back, recorded
        h.activate(1, "carol", "2026-11-04T00:00:00Z").unwrap();
        assert_eq!(h.active().unwrap().author, "alice");
        assert_eq!(h.activations.last().unwrap().author, "carol");
        assert!(matches!(
            h.activate(9, "c", "t"),
            Err(HistoryError::NoSuchVersion(9))
        ));
        let d = h.diff(1, 2).unwrap();
        assert!(d.contains("+  - {id: b, action: warn}\n"), "{d}");
        assert!(d.contains("   - {id: a, action: deny"), "{d}");
        let back = History::import(&h.export(), &o).unwrap();
        assert_eq!(back, h);
        assert!(History::import("{\"versions\": 3}", &o).is_err());
        let mut bad = h.clone();
        bad.versions[1].yaml = Some("version: 7\n".into());
        assert!(History::import(&bad.export(), &o).is_err());
    }
}
