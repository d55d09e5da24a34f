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
    /// Alpine secdb JSON (or YAML).
    AlpineSecdb,
    /// Debian security tracker `DSA`/`DLA`/`DTSA` list files.
    DebianTracker,
    /// The Debian security tracker's JSON document (`tracker/data/json`).
    DebianJson,
    /// vuln-list-debian: the tracker's annotations per CVE / advisory, in JSON.
    DebianVulnList,
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
    /// AlmaLinux errata (vuln-list JSON).
    Alma,
    /// Oracle Linux ELSA (OVAL, vuln-list JSON).
    Oracle,
    /// SUSE / openSUSE CVRF (vuln-list JSON).
    Suse,
    /// Red Hat CSAF VEX.
    RedHatCsaf,
    /// Bottlerocket advisories (vuln-list JSON).
    Bottlerocket,
    /// GitHub Security Advisories in the GraphQL shape (vuln-list JSON).
    GhsaGraphql,
    /// Red Hat Security Data API CVE documents.
    RedHatApi,
    /// Azure Linux / CBL-Mariner OVAL (vuln-list JSON).
    Azure,
    /// Photon OS CVE records (vuln-list JSON).
    Photon,
    /// Echo per-package documents (vuln-list JSON).
    Echo,
    /// Root.io's feed of patched packages.
    RootIo,
    /// GitLab's advisory database (Conan packages).
    Glad,
    /// Alpine per-package secfixes documents (vuln-list JSON).
    AlpinePackage,
    /// Arch Linux vulnerability groups (vuln-list JSON).
    Arch,
    /// The Node.js security WG database (core and npm).
    Nodejs,
    /// Wolfi per-package secfixes.
    Wolfi,
    /// Chainguard per-package secfixes.
    Chainguard,
    /// MinimOS per-package secfixes.
    Minimos,
    /// The RustSec advisory database in its native Markdown/TOML form.
    RustSec,
    /// ENISA's EU Vulnerability Database (API JSON).
    Euvd,
    /// Japan's JVN iPedia (MyJVN's JVNRSS).
    Jvn,
    /// China's CNNVD (its XML export).
    Cnnvd,
    /// China's CNVD (its XML export).
    Cnvd,
    /// Russia's FSTEC BDU (`vulxml.xml`).
    Bdu,
}

/// `--format` names and their formats, for parsing and for help texts.
pub const FORMAT_NAMES: &[(&str, FeedFormat)] = &[
    ("osv", FeedFormat::Osv),
    ("alpine-secdb", FeedFormat::AlpineSecdb),
    ("debian-tracker", FeedFormat::DebianTracker),
    ("debian-json", FeedFormat::DebianJson),
    ("debian-vuln-list", FeedFormat::DebianVulnList),
    ("nvd", FeedFormat::Nvd),
    ("amazon", FeedFormat::Amazon),
    ("ubuntu", FeedFormat::Ubuntu),
    ("rocky", FeedFormat::Rocky),
    ("alma", FeedFormat::Alma),
    ("oracle", FeedFormat::Oracle),
    ("suse", FeedFormat::Suse),
    ("redhat-csaf", FeedFormat::RedHatCsaf),
    ("bottlerocket", FeedFormat::Bottlerocket),
    ("ghsa-graphql", FeedFormat::GhsaGraphql),
    ("redhat-api", FeedFormat::RedHatApi),
    ("azure", FeedFormat::Azure),
    ("photon", FeedFormat::Photon),
    ("echo", FeedFormat::Echo),
    ("rootio", FeedFormat::RootIo),
    ("glad", FeedFormat::Glad),
    ("alpine-package", FeedFormat::AlpinePackage),
    ("arch", FeedFormat::Arch),
    ("nodejs", FeedFormat::Nodejs),
    ("wolfi", FeedFormat::Wolfi),
    ("chainguard", FeedFormat::Chainguard),
    ("minimos", FeedFormat::Minimos),
    ("rustsec", FeedFormat::RustSec),
    ("euvd", FeedFormat::Euvd),
    ("jvn", FeedFormat::Jvn),
    ("cnnvd", FeedFormat::Cnnvd),
    ("cnvd", FeedFormat::Cnvd),
    ("bdu", FeedFormat::Bdu),
    ("kev", FeedFormat::Kev),
    ("epss", FeedFormat::Epss),
];

impl FeedFormat {
    /// Parses a `--format` value.
    pub fn parse(s: &str) -> Option<FeedFormat> {
        let s = match s {
            "secdb" => "alpine-secdb",
            "debian" => "debian-tracker",
            "alas" => "amazon",
            "almalinux" => "alma",
            "csaf" | "redhat" => "redhat-csaf",
            "cvrf" => "suse",
            "jvn-rss" | "myjvn" => "jvn",
            "fstec" | "vulxml" => "bdu",
            other => other,
        };
        FORMAT_NAMES.iter().find(|(n, _)| *n == s).map(|(_, f)| *f)
    }

    /// The name of the feed a file of this format belongs to, when the format has one name.
    fn feed_name(self) -> Option<&'static str> {
        Some(match self {
            FeedFormat::Nvd => "nvd",
            FeedFormat::Amazon => "amazon",
            FeedFormat::Ubuntu => "ubuntu",
            FeedFormat::Rocky => "rocky",
            FeedFormat::Alma => "alma",
            FeedFormat::Oracle => "oracle",
            FeedFormat::Suse => "suse",
            FeedFormat::RedHatCsaf => "redhat-csaf",
            FeedFormat::Bottlerocket => "bottlerocket",
            FeedFormat::GhsaGraphql => "ghsa",
            FeedFormat::RedHatApi => "redhat-api",
            FeedFormat::Azure => "azure",
            FeedFormat::Photon => "photon",
            FeedFormat::Echo => "echo",
            FeedFormat::RootIo => "rootio",
            FeedFormat::Glad => "glad",
            FeedFormat::AlpinePackage => "alpine-vuln-list",
            FeedFormat::Arch => "arch",
            FeedFormat::Nodejs => "nodejs-security-wg",
            FeedFormat::Wolfi => "wolfi",
            FeedFormat::Chainguard => "chainguard",
            FeedFormat::Minimos => "minimos",
            FeedFormat::RustSec => "rustsec",
            FeedFormat::Euvd => "euvd",
            FeedFormat::Jvn => "jvn",
            FeedFormat::Cnnvd => "cnnvd",
            FeedFormat::Cnvd => "cnvd",
            FeedFormat::Bdu => "bdu",
            FeedFormat::DebianJson => "debian-json",
            FeedFormat::DebianVulnList => "debian-vuln-list",
            _ => return None,
        })
    }
}

/// Reads one advisory file of `fmt` (not KEV or EPSS, which annotate rather than advise).
fn read_advisories(
    fmt: FeedFormat,
    f: &Path,
    ctx: &mut Context,
    advs: &mut Vec<crate::model::Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    use crate::{debian_json, oracle, redhat, suse, vulnlist};
    match fmt {
        FeedFormat::Osv => osv::read_path(f, advs, problems),
        FeedFormat::AlpineSecdb => alpine::read_json(f, advs, problems),
        FeedFormat::DebianTracker => debian::read_list(f, advs, problems),
        FeedFormat::DebianJson => debian_json::read_tracker_document(f, advs, problems),
        FeedFormat::DebianVulnList => {
            debian_json::read_annotated(f, &mut ctx.debian, advs, problems)
        }
        FeedFormat::Nvd => nvd::read_path(f, advs, problems),
        FeedFormat::Amazon => vulnlist::read_amazon(f, advs, problems),
        FeedFormat::Ubuntu => vulnlist::read_ubuntu(f, advs, problems),
        FeedFormat::Rocky => vulnlist::read_rocky(f, advs, problems),
        FeedFormat::Alma => vulnlist::read_alma(f, advs, problems),
        FeedFormat::Bottlerocket => vulnlist::read_bottlerocket(f, advs, problems),
        FeedFormat::GhsaGraphql => crate::ghsa::read_ghsa(f, advs, problems),
        FeedFormat::RedHatApi => crate::redhat_api::read_redhat_api(f, advs, problems),
        FeedFormat::Azure => crate::azure::read_azure(f, &mut ctx.azure, advs, problems),
        FeedFormat::Photon => vulnlist::read_photon(f, advs, problems),
        FeedFormat::Arch => vulnlist::read_arch(f, advs, problems),
        FeedFormat::Nodejs => crate::nodejs::read_nodejs(f, advs, problems),
        FeedFormat::Echo => vulnlist::read_echo(f, advs, problems),
        FeedFormat::RootIo => crate::rootio::read_rootio(f, advs, problems),
        FeedFormat::Glad => crate::glad::read_glad(f, advs, problems),
        FeedFormat::AlpinePackage => alpine::read_package_secfixes(f, "alpine", advs, problems),
        FeedFormat::Oracle => oracle::read_oracle(f, advs, problems),
        FeedFormat::Suse => suse::read_suse(f, advs, problems),
        FeedFormat::RedHatCsaf => redhat::read_redhat_csaf(f, advs, problems),
        FeedFormat::Wolfi => alpine::read_package_secfixes(f, "wolfi", advs, problems),
        FeedFormat::Chainguard => alpine::read_package_secfixes(f, "chainguard", advs, problems),
        FeedFormat::Minimos => alpine::read_package_secfixes(f, "minimos", advs, problems),
        FeedFormat::RustSec => crate::rustsec::read_rustsec(f, advs, problems),
        FeedFormat::Euvd => crate::regional::read_euvd(f, advs, problems),
        FeedFormat::Jvn => crate::regional::read_jvn(f, advs, problems),
        FeedFormat::Cnnvd => crate::regional::read_cnnvd(f, advs, problems),
        FeedFormat::Cnvd => crate::regional::read_cnvd(f, advs, problems),
        FeedFormat::Bdu => crate::regional::read_bdu(f, advs, problems),
        FeedFormat::Kev | FeedFormat::Epss => Ok(()),
    }
}

/// State shared by the files of one import (what a mirror keeps beside its records).
#[derive(Default)]
struct Context {
    debian: crate::debian_json::Context,
    azure: crate::azure::Context,
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
    if crate::rustsec::is_advisory_path(path) && p.contains("/crates/") {
        return Some(FeedFormat::RustSec);
    }
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
    if name.ends_with(".json") {
        // the vuln-list mirrors' layouts name their feed in the path
        for (dir, fmt) in [
            ("/tracker/CVE/", FeedFormat::DebianVulnList),
            ("/tracker/DSA/", FeedFormat::DebianVulnList),
            ("/tracker/DLA/", FeedFormat::DebianVulnList),
            ("/tracker/DTSA/", FeedFormat::DebianVulnList),
            ("vuln-list/alma/", FeedFormat::Alma),
            ("/oval/oracle/", FeedFormat::Oracle),
            ("/cvrf/suse/", FeedFormat::Suse),
            ("/csaf-vex/", FeedFormat::RedHatCsaf),
            ("vuln-list/bottlerocket/", FeedFormat::Bottlerocket),
            ("vuln-list/wolfi/", FeedFormat::Wolfi),
            ("vuln-list/chainguard/", FeedFormat::Chainguard),
            ("vuln-list/minimos/", FeedFormat::Minimos),
            ("vuln-list/alpine/", FeedFormat::AlpinePackage),
            ("vuln-list-redhat/api/", FeedFormat::RedHatApi),
            ("vuln-list/photon/", FeedFormat::Photon),
            ("vuln-list/arch-linux/", FeedFormat::Arch),
            ("nodejs-security-wg/vuln/", FeedFormat::Nodejs),
            ("vuln-list/echo/", FeedFormat::Echo),
            ("vuln-list/rootio/", FeedFormat::RootIo),
            ("vuln-list/glad/", FeedFormat::Glad),
        ] {
            if p.contains(dir) {
                return Some(fmt);
            }
        }
        if (p.contains("vuln-list/azure/") || p.contains("vuln-list/mariner/"))
            && p.contains("/definitions/")
        {
            return Some(FeedFormat::Azure);
        }
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
        if head.contains("\"GhsaId\"") && head.contains("\"VulnerableVersionRange\"")
            || head.contains("\"Advisory\"") && head.contains("\"GhsaId\"")
        {
            return Some(FeedFormat::GhsaGraphql);
        }
        if head.contains("\"csaf_version\"") || head.contains("\"product_tree\"") {
            return Some(FeedFormat::RedHatCsaf);
        }
        if head.contains("\"releases\"")
            && head.contains("\"CVE-")
            && (head.contains("\"fixed_version\"") || head.contains("\"urgency\""))
        {
            return Some(FeedFormat::DebianJson);
        }
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
        // hidden entries (`.git`, `.github`) are a checkout's, not the feed's
        let mut entries: Vec<PathBuf> = fs_err::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
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
    let mut ctx = Context::default();
    for (f, fmt) in files {
        let forced = fmt.is_some();
        let Some(fmt) = fmt.or_else(|| guess(&f)) else {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let p = f.to_string_lossy().replace('\\', "/");
            // what mirrors keep beside the records, read as their context
            let context = name == "distributions.json"
                || p.contains("/tracker/source/")
                || p.contains("/tracker/updates-source/")
                || name == "nvr-to-cpe.json"
                || name == "repository-to-cpe.json"
                || name.ends_with(".podspec.json")
                || ((p.contains("vuln-list/azure/") || p.contains("vuln-list/mariner/"))
                    && ["tests.json", "objects.json", "states.json"].contains(&name.as_str()));
            let skip_quietly = context
                || name.ends_with(".md")
                || name.ends_with(".yaml")
                || name.ends_with(".yml")
                || name.starts_with("LICENSE")
                || p.contains("/LICENSES/")
                || name.ends_with(".toml");
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
            FeedFormat::DebianTracker => {
                // a list file is readable line by line; its bad lines are its problems
                debian::read_list(&f, &mut advs, &mut problems)?;
                advs.first()
                    .map(|a| a.feed.clone())
                    .unwrap_or_else(|| "debian".into())
            }
            fmt => {
                whole(
                    read_advisories(fmt, &f, &mut ctx, &mut advs, &mut problems),
                    &mut problems,
                )?;
                match fmt {
                    FeedFormat::Osv => f
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    FeedFormat::AlpineSecdb => {
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
                    other => other.feed_name().unwrap_or("unknown").to_string(),
                }
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
        fmt => read_advisories(fmt, file, &mut Context::default(), &mut advs, &mut problems),
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

/// Imports the files of one feed fetched in pieces (NVD's API pages: a full download, then the
/// records changed since) under one feed name: files in order, a record read again later
/// replacing the earlier one of the same id. Returns the records kept.
pub fn import_files_as(
    b: &mut DbBuilder,
    format: FeedFormat,
    files: &[std::path::PathBuf],
    feed: &str,
    now: &str,
) -> Result<u64, Error> {
    let mut by_id: BTreeMap<String, crate::model::Advisory> = BTreeMap::new();
    let mut problems: Vec<Problem> = Vec::new();
    for file in files {
        let mut advs = Vec::new();
        match read_advisories(
            format,
            file,
            &mut Context::default(),
            &mut advs,
            &mut problems,
        ) {
            Err(Error::Format { path, why }) => problems.push(Problem {
                file: path,
                message: why,
            }),
            other => other?,
        }
        for mut a in advs {
            a.feed = feed.to_string();
            by_id.insert(a.id.clone(), a);
        }
    }
    let n = by_id.len() as u64;
    let skipped = problems.len() as u64;
    b.problems.extend(problems);
    b.add_feed(feed, by_id.into_values().collect(), skipped, now);
    Ok(n)
}
