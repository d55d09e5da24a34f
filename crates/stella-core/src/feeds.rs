//! Merging feeds into a new DB (`stella db update` and Core's nightly feed job): fetch every
//! source (conditional requests, retries), import what is usable, write the DB beside the old
//! one and rename it into place, so a reader never sees half a file and a failed merge
//! leaves the old DB as it was.

use std::path::Path;

use serde::Serialize;
use sha2::Digest as _;

/// What happened to one source.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceOutcome {
    /// The source's name.
    pub name: String,
    /// `fetched`, `not-modified` or `failed`.
    pub outcome: &'static str,
    /// Bytes downloaded (fetched only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether an earlier copy was used instead (failed only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<bool>,
}

/// A finished merge.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Merged {
    /// Per source, in configuration order.
    pub sources: Vec<SourceOutcome>,
    /// Files skipped while importing (file: why).
    pub problems: Vec<String>,
    /// Vulnerabilities in the new DB.
    pub vulnerabilities: u64,
    /// Packages in the new DB.
    pub packages: u64,
    /// Namespaces in the new DB.
    pub namespaces: usize,
    /// Every source answered "not modified" and the DB is the one built from them: it was
    /// left as it was, not rebuilt.
    pub unchanged: bool,
}

impl SourceOutcome {
    /// How fetching `name` went.
    fn of(name: &str, outcome: &stella_fetch::Outcome) -> SourceOutcome {
        let (outcome, bytes, error, stale) = match outcome {
            stella_fetch::Outcome::Fetched(n) => ("fetched", Some(*n), None, None),
            stella_fetch::Outcome::NotModified => ("not-modified", None, None, None),
            stella_fetch::Outcome::Failed { error, stale } => {
                ("failed", None, Some(error.clone()), Some(*stale))
            }
        };
        SourceOutcome {
            name: name.to_string(),
            outcome,
            bytes,
            error,
            stale,
        }
    }
}

impl Merged {
    /// Sources that failed.
    pub fn failed(&self) -> usize {
        self.sources
            .iter()
            .filter(|s| s.outcome == "failed")
            .count()
    }
}

/// Why no DB was written.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A source names a format Stella does not import.
    #[error("feed `{name}`: unknown format `{format}` (use one of {known})")]
    Format {
        /// The source.
        name: String,
        /// Its format.
        format: String,
        /// The formats there are.
        known: String,
    },
    /// Fetching could not start (the cache directory).
    #[error("fetching: {0}")]
    Fetch(#[from] stella_fetch::Error),
    /// Importing or writing the DB.
    #[error(transparent)]
    Db(#[from] stella_advisory::Error),
    /// Nothing usable at all: the old DB stays.
    #[error("no feed could be fetched and none was fetched before ({0}); the DB is unchanged")]
    NothingUsable(String),
    /// Renaming the new DB into place.
    #[error("cannot put the new DB in place at {path}: {why}")]
    Io {
        /// The DB path.
        path: String,
        /// The system's reason.
        why: String,
    },
}

/// Fetches `config`'s sources into `cache` and writes a DB of them to `db` (atomically).
pub fn merge(
    config: &stella_fetch::Config,
    db: &Path,
    cache: &Path,
    opts: &stella_fetch::Options,
) -> Result<Merged, MergeError> {
    use stella_advisory::import::FeedFormat;
    let mut formats = Vec::new();
    for s in &config.sources {
        // NVD's API arrives as pages of its API 2.0 format
        let format = if s.format == "nvd-api" {
            "nvd"
        } else {
            s.format.as_str()
        };
        let f = FeedFormat::parse(format).ok_or_else(|| MergeError::Format {
            name: s.name.clone(),
            format: s.format.clone(),
            known: stella_advisory::import::FORMAT_NAMES
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        formats.push(f);
    }
    let results = stella_fetch::fetch_all(config, cache, opts)?;
    // nothing new anywhere and the DB is the one these files made: keep it
    let inputs = fingerprint(&results);
    let built = cache.join(BUILT);
    let unchanged = results
        .iter()
        .all(|(_, o, f)| *o == stella_fetch::Outcome::NotModified && f.is_some())
        && std::fs::read_to_string(&built)
            .ok()
            .and_then(|t| serde_json::from_str::<Built>(&t).ok())
            .is_some_and(|b| {
                b.inputs == inputs
                    && stella_advisory::Db::open(db).is_ok_and(|d| d.digest() == b.db_digest)
            });
    if unchanged && let Ok(d) = stella_advisory::Db::open(db) {
        let m = d.manifest();
        return Ok(Merged {
            sources: results
                .iter()
                .map(|(s, o, _)| SourceOutcome::of(&s.name, o))
                .collect(),
            problems: Vec::new(),
            vulnerabilities: m.vulnerabilities,
            packages: m.packages,
            namespaces: m.namespaces.len(),
            unchanged: true,
        });
    }
    let stamp = stella_sbom::now();
    let mut b = stella_advisory::DbBuilder::new();
    let mut sources = Vec::new();
    let mut usable = 0;
    for ((s, outcome, file), fmt) in results.iter().zip(formats) {
        sources.push(SourceOutcome::of(&s.name, outcome));
        if let Some(f) = file {
            usable += 1;
            if f.is_dir() {
                let mut pages: Vec<std::path::PathBuf> = std::fs::read_dir(f)
                    .map_err(|e| MergeError::Io {
                        path: f.display().to_string(),
                        why: e.to_string(),
                    })?
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect();
                pages.sort();
                stella_advisory::import::import_files_as(&mut b, fmt, &pages, &s.name, &stamp)?;
            } else {
                stella_advisory::import::import_file_as(&mut b, fmt, f, &s.name, &stamp)?;
            }
        }
    }
    if usable == 0 {
        let why = sources
            .iter()
            .filter_map(|s| s.error.as_ref().map(|e| format!("{}: {e}", s.name)))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(MergeError::NothingUsable(why));
    }
    let problems = b
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.file, p.message))
        .collect();
    let mut tmp = db.as_os_str().to_owned();
    tmp.push(format!(".new-{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    let m = match b.write(&tmp, &stamp) {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    std::fs::rename(&tmp, db).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        MergeError::Io {
            path: db.display().to_string(),
            why: e.to_string(),
        }
    })?;
    if let Ok(d) = stella_advisory::Db::open(db) {
        let record = Built {
            inputs,
            db_digest: d.digest(),
        };
        // only an optimisation: a record that cannot be written means a rebuild next time
        let _ = std::fs::write(&built, serde_json::to_vec(&record).unwrap_or_default());
    }
    Ok(Merged {
        sources,
        problems,
        vulnerabilities: m.vulnerabilities,
        packages: m.packages,
        namespaces: m.namespaces.len(),
        unchanged: false,
    })
}

/// Which inputs the DB was last built from, and which DB that was.
const BUILT: &str = "built.json";

#[derive(Serialize, serde::Deserialize)]
struct Built {
    inputs: String,
    db_digest: String,
}

/// The inputs of a merge: every source's name, format, URL and cached file (size and time;
/// for a directory of pages, each page's).
fn fingerprint(
    results: &[(
        stella_fetch::Source,
        stella_fetch::Outcome,
        Option<std::path::PathBuf>,
    )],
) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    let stamp = |p: &Path, out: &mut String| {
        if let Ok(m) = std::fs::metadata(p) {
            let t = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            let _ = write!(out, "{}:{}:{t};", p.display(), m.len());
        }
    };
    for (s, _, f) in results {
        let _ = write!(text, "{}|{}|{}|", s.name, s.format, s.url);
        if let Some(f) = f {
            if f.is_dir() {
                let mut pages: Vec<_> = std::fs::read_dir(f)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .collect();
                pages.sort();
                for p in pages {
                    stamp(&p, &mut text);
                }
            } else {
                stamp(f, &mut text);
            }
        }
        text.push('\n');
    }
    format!("{:x}", sha2::Sha256::digest(text.as_bytes()))
}

/// The source format of a DB built elsewhere (another Stella Core, a mirror, an offline kit):
/// it replaces the whole DB, so it is the only source of its configuration.
pub const PREBUILT: &str = "stella-db";

/// Whether `config` names one prebuilt DB rather than feeds to merge.
pub fn is_prebuilt(config: &stella_fetch::Config) -> bool {
    config.sources.iter().any(|s| s.format == PREBUILT)
}

/// A prebuilt DB fetched and checked, ready to be put in place.
#[derive(Debug)]
pub struct Prebuilt {
    /// The source, as it went.
    pub source: SourceOutcome,
    /// The DB file in the fetch cache (structure and digest verified; signature too when a
    /// key was given).
    pub file: std::path::PathBuf,
    /// Its detached signature, when one was fetched this time.
    pub signature: Option<std::path::PathBuf>,
    /// The key id that signed it, when the signature was checked.
    pub key_id: Option<String>,
    /// Its content digest.
    pub digest: String,
}

/// Why a prebuilt DB was not taken.
#[derive(Debug, thiserror::Error)]
pub enum PrebuiltError {
    /// The configuration mixes a prebuilt DB with other sources.
    #[error(
        "a `{PREBUILT}` source replaces the whole DB, so it must be the only source (put feed sources in another configuration)"
    )]
    NotAlone,
    /// Fetching failed (the DB in use stays).
    #[error("{name}: {error}; the DB in use stays")]
    Fetch {
        /// The source.
        name: String,
        /// Why.
        error: String,
    },
    /// The fetched file is no good DB, or its signature does not hold.
    #[error("the DB fetched from {url} is refused: {error}")]
    Refused {
        /// Where it came from.
        url: String,
        /// Why.
        error: String,
    },
}

/// Fetches a DB built elsewhere and its `.sig` into `cache`, checks its structure and digest
/// and, with `pubkey`, its Ed25519 signature (a missing signature is then refused too).
pub fn fetch_prebuilt(
    config: &stella_fetch::Config,
    cache: &Path,
    opts: &stella_fetch::Options,
    pubkey: Option<&Path>,
) -> Result<Prebuilt, PrebuiltError> {
    let [s] = config.sources.as_slice() else {
        return Err(PrebuiltError::NotAlone);
    };
    let sig = stella_fetch::Source {
        name: format!("{}.sig", s.name),
        url: format!("{}.sig", s.url),
        format: "signature".into(),
        sha256: None,
    };
    let both = stella_fetch::Config {
        sources: vec![s.clone(), sig],
        ..stella_fetch::Config::default()
    };
    let fetch_err = |error: String| PrebuiltError::Fetch {
        name: s.name.clone(),
        error,
    };
    let results =
        stella_fetch::fetch_all(&both, cache, opts).map_err(|e| fetch_err(e.to_string()))?;
    let (outcome, file) = (&results[0].1, &results[0].2);
    // a signature that failed to download this time must not vouch for a new DB
    let signature = results[1]
        .2
        .clone()
        .filter(|_| !matches!(results[1].1, stella_fetch::Outcome::Failed { .. }));
    if let stella_fetch::Outcome::Failed { error, .. } = outcome {
        return Err(fetch_err(error.clone()));
    }
    let source = SourceOutcome::of(&s.name, outcome);
    let Some(file) = file.clone() else {
        return Err(fetch_err("nothing was fetched".into()));
    };
    let refused = |error: String| PrebuiltError::Refused {
        url: s.url.clone(),
        error,
    };
    let db = stella_advisory::Db::open(&file).map_err(|e| refused(e.to_string()))?;
    db.verify().map_err(|e| refused(e.to_string()))?;
    let key_id = match (pubkey, &signature) {
        (Some(pubkey), Some(sig_path)) => {
            let key = stella_advisory::sign::read_public_key(pubkey)
                .map_err(|e| refused(e.to_string()))?;
            let sig = stella_advisory::sign::read_signature(sig_path)
                .map_err(|e| refused(e.to_string()))?;
            stella_advisory::sign::verify(&db, &sig, sig_path, &key)
                .map_err(|e| refused(e.to_string()))?;
            Some(sig.key_id)
        }
        (Some(_), None) => {
            return Err(refused(
                "no signature could be fetched, and a public key asks for one".into(),
            ));
        }
        (None, _) => None,
    };
    Ok(Prebuilt {
        source,
        digest: db.digest(),
        file,
        signature,
        key_id,
    })
}
