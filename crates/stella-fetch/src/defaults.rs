//! The feed set Stella uses with no configuration, and how a configuration changes it: keep
//! the defaults, switch some off, point upstream URLs at a mirror.
//!
//! Every supported distribution's own data comes through osv.dev (which republishes Alpine's
//! secdb, Debian's tracker, Ubuntu's OVAL, Red Hat's CSAF, SUSE's CVRF… in one format), every
//! language ecosystem's through osv.dev too (GHSA's reviewed advisories included), NVD
//! through its CVE API 2.0, and CISA KEV and FIRST EPSS from their publishers.

use crate::{Config, Source};

/// osv.dev's per-ecosystem archives.
pub const OSV: &str = "https://osv-vulnerabilities.storage.googleapis.com";
/// NVD's CVE API 2.0.
pub const NVD: &str = "https://services.nvd.nist.gov/rest/json/cves/2.0";
/// CISA's Known Exploited Vulnerabilities catalogue.
pub const KEV: &str =
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";
/// FIRST's EPSS scores of the day.
pub const EPSS: &str = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz";

/// (source name, osv.dev ecosystem): the language ecosystems Stella catalogs, then the
/// distributions of its distribution table that osv.dev publishes.
const OSV_ECOSYSTEMS: &[(&str, &str)] = &[
    ("osv-pypi", "PyPI"),
    ("osv-npm", "npm"),
    ("osv-go", "Go"),
    ("osv-crates.io", "crates.io"),
    ("osv-maven", "Maven"),
    ("osv-rubygems", "RubyGems"),
    ("osv-nuget", "NuGet"),
    ("osv-packagist", "Packagist"),
    ("osv-pub", "Pub"),
    ("osv-hex", "Hex"),
    ("osv-alpine", "Alpine"),
    ("osv-debian", "Debian"),
    ("osv-ubuntu", "Ubuntu"),
    ("osv-redhat", "Red Hat"),
    ("osv-almalinux", "AlmaLinux"),
    ("osv-rocky", "Rocky Linux"),
    ("osv-suse", "SUSE"),
    ("osv-opensuse", "openSUSE"),
    ("osv-photon", "Photon OS"),
    ("osv-azurelinux", "Azure Linux"),
    ("osv-wolfi", "Wolfi"),
    ("osv-chainguard", "Chainguard"),
    ("osv-minimos", "MinimOS"),
    ("osv-echo", "Echo"),
    ("osv-openeuler", "openEuler"),
    ("osv-mageia", "Mageia"),
];

fn source(name: &str, url: String, format: &str) -> Source {
    Source {
        name: name.into(),
        url,
        format: format.into(),
        sha256: None,
    }
}

impl Config {
    /// The feeds used when nothing is configured (and what `"defaults": true` brings in).
    pub fn defaults() -> Config {
        let mut sources: Vec<Source> = OSV_ECOSYSTEMS
            .iter()
            .map(|(name, eco)| {
                source(
                    name,
                    format!("{OSV}/{}/all.zip", eco.replace(' ', "%20")),
                    "osv",
                )
            })
            .collect();
        sources.push(source("nvd", NVD.into(), "nvd-api"));
        sources.push(source("kev", KEV.into(), "kev"));
        sources.push(source("epss", EPSS.into(), "epss"));
        Config {
            sources,
            ..Config::default()
        }
    }

    /// The sources to fetch: the defaults first when asked for (a source of the same name in
    /// the file replaces the default one), those named in `disable` (or `extra_disable`, the
    /// command line's) left out, and every URL that starts with a `mirrors` key rewritten to
    /// its mirror. An unknown name to disable is an error, so a typo never leaves a feed on.
    pub fn resolve(&self, extra_disable: &[String]) -> Result<Config, String> {
        let mut sources: Vec<Source> = Vec::new();
        if self.defaults {
            for d in Config::defaults().sources {
                if !self.sources.iter().any(|s| s.name == d.name) {
                    sources.push(d);
                }
            }
        }
        sources.extend(self.sources.iter().cloned());
        let off: Vec<&String> = self.disable.iter().chain(extra_disable).collect();
        for name in &off {
            if !sources.iter().any(|s| &&s.name == name) {
                return Err(format!(
                    "no feed named `{name}` to disable; the feeds are: {}",
                    sources
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        sources.retain(|s| !off.contains(&&s.name));
        for s in &mut sources {
            // the longest matching prefix wins
            if let Some((from, to)) = self
                .mirrors
                .iter()
                .filter(|(from, _)| s.url.starts_with(from.as_str()))
                .max_by_key(|(from, _)| from.len())
            {
                s.url = format!(
                    "{}{}",
                    to.trim_end_matches('/'),
                    &s.url[from.trim_end_matches('/').len()..]
                );
            }
        }
        Ok(Config {
            sources,
            defaults: false,
            disable: Vec::new(),
            mirrors: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_languages_distributions_nvd_kev_and_epss() {
        let d = Config::defaults();
        let names: Vec<&str> = d.sources.iter().map(|s| s.name.as_str()).collect();
        for n in [
            "osv-pypi",
            "osv-debian",
            "osv-ubuntu",
            "osv-redhat",
            "nvd",
            "kev",
            "epss",
        ] {
            assert!(names.contains(&n), "{n}");
        }
        let rocky = d.sources.iter().find(|s| s.name == "osv-rocky").unwrap();
        assert_eq!(
            rocky.url,
            "https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip"
        );
        let mut seen = std::collections::BTreeSet::new();
        assert!(d.sources.iter().all(|s| seen.insert(&s.name)));
    }

    #[test]
    fn a_config_keeps_switches_off_and_mirrors_the_defaults() {
        let c: Config = serde_json::from_str(
            r#"{"defaults": true, "disable": ["osv-redhat"],
                "mirrors": {"https://osv-vulnerabilities.storage.googleapis.com": "http://mirror.internal/osv/",
                            "https://services.nvd.nist.gov": "http://mirror.internal/nvd"},
                "sources": [{"name": "kev", "url": "https://kev.internal/kev.json", "format": "kev"}]}"#,
        )
        .unwrap();
        let r = c.resolve(&["epss".to_string()]).unwrap();
        let get = |n: &str| r.sources.iter().find(|s| s.name == n);
        assert!(get("osv-redhat").is_none() && get("epss").is_none());
        assert_eq!(
            get("osv-pypi").unwrap().url,
            "http://mirror.internal/osv/PyPI/all.zip"
        );
        assert_eq!(
            get("nvd").unwrap().url,
            "http://mirror.internal/nvd/rest/json/cves/2.0"
        );
        assert_eq!(get("kev").unwrap().url, "https://kev.internal/kev.json");
        assert_eq!(r.sources.iter().filter(|s| s.name == "kev").count(), 1);
        let err = c.resolve(&["osv-pypy".to_string()]).unwrap_err();
        assert!(
            err.contains("osv-pypy") && err.contains("osv-pypi"),
            "{err}"
        );
        // without `defaults`, only the file's own sources
        let own: Config = serde_json::from_str(
            r#"{"sources": [{"name": "a", "url": "https://a/x.zip", "format": "osv"}]}"#,
        )
        .unwrap();
        assert_eq!(own.resolve(&[]).unwrap().sources.len(), 1);
    }
}
