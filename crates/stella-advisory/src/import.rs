//! Importing feed files into a [`DbBuilder`]: by explicit format, or detected from the path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::model::Problem;
use crate::{DbBuilder, Error, alpine, debian, kev, nvd, osv};

/// Feed formats `stella db import` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    /// OSV JSON: a file, a directory, or an `all.zip`.
    Osv,
    /// Alpine secdb JSON.
    AlpineSecdb,
    /// Debian security tracker `DSA`/`DLA`/`DTSA` list files.
    DebianTracker,
    /// CISA KEV (JSON or CSV).
    Kev,
    /// FIRST EPSS CSV.
    Epss,
    /// NVD CVE API 2.0 JSON (items, API pages, yearly files).
    Nvd,
    /// Amazon Linux ALAS advisories (vuln-list JSON).
    Amazon,
    /// Ubuntu CVE tracker entries (vuln-list JSON).
    Ubuntu,
    /// Rocky Linux errata (vuln-list JSON).
    Rocky,
}

impl FeedFormat {
    /// Parses a `--format` value.
    pub fn parse(s: &str) -> Option<FeedFormat> {
        Some(match s {
            "osv" => FeedFormat::Osv,
            "alpine-secdb" | "secdb" => FeedFormat::AlpineSecdb,
            "debian-tracker" | "debian" => FeedFormat::DebianTracker,
            "kev" => FeedFormat::Kev,
            "epss" => FeedFormat::Epss,
            "nvd" => FeedFormat::Nvd,
            "amazon" | "alas" => FeedFormat::Amazon,
            "ubuntu" => FeedFormat::Ubuntu,
            "rocky" => FeedFormat::Rocky,
            _ => return None,
        })
    }
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Report {
    /// Feed name → records read.
    pub feeds: BTreeMap<String, u64>,
    /// Files passed over because no importer handles them yet (path, why).
    pub unsupported: Vec<(PathBuf, String)>,
}

/// Guesses a file's format from its path.
pub fn guess(path: &Path) -> Option<FeedFormat> {
    let p = path.to_string_lossy().replace('\\', "/");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.ends_with(".zip") || p.contains("/osv/") && name.ends_with(".json") {
        return Some(FeedFormat::Osv);
    }
    if p.contains("alpine-secdb")
        && (name.ends_with(".json") || name.ends_with(".yaml") || name.ends_with(".yml"))
    {
        return Some(FeedFormat::AlpineSecdb);
    }
    if name == "list" && ["/DSA/", "/DLA/", "/DTSA/"].iter().any(|d| p.contains(d)) {
        return Some(FeedFormat::DebianTracker);
    }
    if p.contains("vuln-list/amazon/") && name.ends_with(".json") {
        return Some(FeedFormat::Amazon);
    }
    if p.contains("vuln-list/ubuntu/") && name.ends_with(".json") {
        return Some(FeedFormat::Ubuntu);
    }
    if p.contains("vuln-list/rocky/") && name.ends_with(".json") {
        return Some(FeedFormat::Rocky);
    }
    if name.starts_with("known_exploited_vulnerabilities") && name.ends_with(".json") {
        return Some(FeedFormat::Kev);
    }
    if name.starts_with("epss") && name.ends_with(".csv") {
        return Some(FeedFormat::Epss);
    }
    if name.ends_with(".json") {
        // Decide by content: the first few KiB name the format.
        use std::io::Read as _;
        let mut head = vec![0u8; 4096];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut head))
            .unwrap_or(0);
        let head = String::from_utf8_lossy(&head[..n]);
        if head.contains("\"Candidate\"") && head.contains("\"Patches\"") {
            return Some(FeedFormat::Ubuntu);
        }
        if head.contains("\"id\": \"ALAS") {
            return Some(FeedFormat::Amazon);
        }
        if head.contains("\"distroversion\"") && head.contains("\"packages\"") {
            return Some(FeedFormat::AlpineSecdb);
        }
        if head.contains("\"NVD_CVE\"")
            || (head.contains("\"descriptions\"") && head.contains("\"sourceIdentifier\""))
        {
            return Some(FeedFormat::Nvd);
        }
        if head.contains("\"cveID\"") && head.contains("\"vulnerabilities\"") {
            return Some(FeedFormat::Kev);
        }
        if head.contains("\"id\"")
            && (head.contains("\"affected\"")
                || head.contains("\"schema_version\"")
                || head.contains("\"modified\""))
        {
            return Some(FeedFormat::Osv);
        }
    }
    None
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = fs_err::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            walk(&e, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Imports `paths` (files or directories) into `b`. With `format` every file is read as that
/// format; without, formats are guessed per file and files no importer handles are reported.
pub fn import(
    b: &mut DbBuilder,
    format: Option<FeedFormat>,
    paths: &[PathBuf],
    now: &str,
) -> Result<Report, Error> {
    let mut report = Report::default();
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: no such file or directory", p.display()),
            )));
        }
        // An OSV directory is one feed of many files.
        if format == Some(FeedFormat::Osv) && p.is_dir() {
            files.push((p.clone(), Some(FeedFormat::Osv)));
            continue;
        }
        let mut found = Vec::new();
        walk(p, &mut found)?;
        files.extend(found.into_iter().map(|f| (f, format)));
    }
    let mut per_feed: BTreeMap<String, (Vec<crate::model::Advisory>, u64)> = BTreeMap::new();
    let mut kev_all = BTreeMap::new();
    let mut epss_all = BTreeMap::new();
    let (mut any_kev, mut any_epss, mut epss_date) = (false, false, None);
    for (f, fmt) in files {
        let forced = fmt.is_some();
        let Some(fmt) = fmt.or_else(|| guess(&f)) else {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let skip_quietly = name.ends_with(".md")
                || name.ends_with(".yaml")
                || name.ends_with(".yml")
                || name == "LICENSE";
            if !skip_quietly {
                report
                    .unsupported
                    .push((f.clone(), "no importer for this file yet".into()));
            }
            continue;
        };
        // secdb publishes each release as JSON and YAML with the same content: read one.
        if !forced
            && fmt == FeedFormat::AlpineSecdb
            && f.extension().is_some_and(|e| e == "yaml" || e == "yml")
            && f.with_extension("json").exists()
        {
            continue;
        }
        let mut advs = Vec::new();
        let mut problems: Vec<Problem> = Vec::new();
        // A file that cannot be read at all is reported and skipped: one bad feed never
        // discards the others.
        let whole = |r: Result<(), Error>, problems: &mut Vec<Problem>| match r {
            Err(Error::Format { path, why }) => {
                problems.push(Problem {
                    file: path,
                    message: why,
                });
                Ok(())
            }
            other => other,
        };
        let feed = match fmt {
            FeedFormat::Osv => {
                whole(osv::read_path(&f, &mut advs, &mut problems), &mut problems)?;
                f.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }
            FeedFormat::AlpineSecdb => {
                whole(
                    alpine::read_json(&f, &mut advs, &mut problems),
                    &mut problems,
                )?;
                let rel = f
                    .parent()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                format!(
                    "alpine-secdb:{rel}/{}",
                    f.file_stem()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                )
            }
            FeedFormat::Nvd => {
                whole(nvd::read_path(&f, &mut advs, &mut problems), &mut problems)?;
                "nvd".to_string()
            }
            FeedFormat::Amazon => {
                whole(
                    crate::vulnlist::read_amazon(&f, &mut advs, &mut problems),
                    &mut problems,
                )?;
                "amazon".to_string()
            }
            FeedFormat::Ubuntu => {
                whole(
                    crate::vulnlist::read_ubuntu(&f, &mut advs, &mut problems),
                    &mut problems,
                )?;
                "ubuntu".to_string()
            }
            FeedFormat::Rocky => {
                whole(
                    crate::vulnlist::read_rocky(&f, &mut advs, &mut problems),
                    &mut problems,
                )?;
                "rocky".to_string()
            }
            FeedFormat::DebianTracker => {
                debian::read_list(&f, &mut advs, &mut problems)?;
                advs.first()
                    .map(|a| a.feed.clone())
                    .unwrap_or_else(|| "debian".into())
            }
            FeedFormat::Kev => {
                whole(
                    kev::read_kev(&f, &mut kev_all, &mut problems),
                    &mut problems,
                )?;
                any_kev = true;
                b.problems.extend(problems);
                continue;
            }
            FeedFormat::Epss => {
                epss_date = kev::read_epss(&f, &mut epss_all, &mut problems)?.or(epss_date);
                any_epss = true;
                b.problems.extend(problems);
                continue;
            }
        };
        let skipped = problems.len() as u64;
        per_feed.entry(feed.clone()).or_default().1 += skipped;
        for mut a in advs {
            if !a.feed_fixed {
                a.feed = feed.clone();
            }
            *report.feeds.entry(a.feed.clone()).or_default() += 1;
            per_feed.entry(a.feed.clone()).or_default().0.push(a);
        }
        b.problems.extend(problems);
    }
    // A feed spread over many files (NVD's one file per CVE) is added once, whole.
    for (feed, (advs, skipped)) in per_feed {
        b.add_feed(&feed, advs, skipped, now);
    }
    if any_kev {
        report.feeds.insert("kev".into(), kev_all.len() as u64);
        b.set_kev(kev_all, now);
    }
    if any_epss {
        report.feeds.insert("epss".into(), epss_all.len() as u64);
        b.set_epss(epss_all, epss_date, now);
    }
    Ok(report)
}

/// Imports one file of a known format under a feed name chosen by the caller (`stella db
/// update` names feeds after its sources). Returns the records read.
pub fn import_file_as(
    b: &mut DbBuilder,
    format: FeedFormat,
    file: &Path,
    feed: &str,
    now: &str,
) -> Result<u64, Error> {
    let mut advs = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    let r = match format {
        FeedFormat::Osv => osv::read_path(file, &mut advs, &mut problems),
        FeedFormat::AlpineSecdb => alpine::read_json(file, &mut advs, &mut problems),
        FeedFormat::DebianTracker => debian::read_list(file, &mut advs, &mut problems),
        FeedFormat::Nvd => nvd::read_path(file, &mut advs, &mut problems),
        FeedFormat::Amazon => crate::vulnlist::read_amazon(file, &mut advs, &mut problems),
        FeedFormat::Ubuntu => crate::vulnlist::read_ubuntu(file, &mut advs, &mut problems),
        FeedFormat::Rocky => crate::vulnlist::read_rocky(file, &mut advs, &mut problems),
        FeedFormat::Kev => {
            let mut kev = BTreeMap::new();
            kev::read_kev(file, &mut kev, &mut problems)?;
            let n = kev.len() as u64;
            b.problems.extend(problems);
            b.set_kev(kev, now);
            return Ok(n);
        }
        FeedFormat::Epss => {
            let mut epss = BTreeMap::new();
            let date = kev::read_epss(file, &mut epss, &mut problems)?;
            let n = epss.len() as u64;
            b.problems.extend(problems);
            b.set_epss(epss, date, now);
            return Ok(n);
        }
    };
    match r {
        Err(Error::Format { path, why }) => problems.push(Problem {
            file: path,
            message: why,
        }),
        other => other?,
    }
    for a in &mut advs {
        a.feed = feed.to_string();
    }
    let n = advs.len() as u64;
    let skipped = problems.len() as u64;
    b.problems.extend(problems);
    b.add_feed(feed, advs, skipped, now);
    Ok(n)
}
