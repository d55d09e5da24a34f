//! Downloading feed files: conditional requests (ETag, If-Modified-Since), retries with
//! exponential backoff on transient failures, optional SHA-256 checks, and atomic writes
//! into a cache directory, so one feed that is down never discards what the others bring.
//!
//! This is the only crate below the apps that talks to the network; the advisory crate only
//! reads the files it leaves.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod defaults;
mod nvd;

pub use defaults::{EPSS, KEV, NVD, OSV};

/// One feed to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// A stable name (also the cached file's name).
    pub name: String,
    /// Where to get it (`https://…`, or `http://` on loopback for tests and mirrors).
    pub url: String,
    /// Its feed format (`osv`, `alpine-secdb`, `debian-tracker`, `kev`, `epss`, `nvd`).
    pub format: String,
    /// Expected SHA-256 (hex), when known.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// The feeds configuration file: `{"sources": [...]}`, optionally with `"defaults": true`
/// (the default feeds too), `"disable": [names]` and `"mirrors": {upstream prefix: mirror}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Sources in order.
    #[serde(default)]
    pub sources: Vec<Source>,
    /// Also fetch [`Config::defaults`] (a source of the same name here replaces one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub defaults: bool,
    /// Names of sources not to fetch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disable: Vec<String>,
    /// URL prefixes rewritten to a mirror's (air-gapped sites, internal caches).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mirrors: BTreeMap<String, String>,
}

/// What we remember about a cached file, for conditional requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cached {
    /// The cached file.
    pub file: PathBuf,
    /// The server's ETag.
    pub etag: Option<String>,
    /// The server's Last-Modified.
    pub last_modified: Option<String>,
    /// SHA-256 of the cached file.
    pub sha256: String,
    /// The URL it came from: validators from another URL say nothing about this one.
    #[serde(default)]
    pub url: String,
    /// When it was fetched (seconds since the epoch).
    pub fetched: u64,
    /// For a feed fetched in pieces (NVD's API): the time (RFC 3339) up to which its records
    /// are complete, where the next fetch asks for changes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_to: Option<String>,
}

/// What happened to one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Downloaded anew (bytes).
    Fetched(u64),
    /// The server said nothing changed; the cached file stays.
    NotModified,
    /// It failed; `stale` says whether an earlier copy is still there to use.
    Failed {
        /// What went wrong.
        error: String,
        /// Whether a previously fetched copy remains usable.
        stale: bool,
    },
}

/// Why fetching could not even start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// File-system trouble in the cache directory.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A broken configuration file.
    #[error("{path}: {why}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// Knobs, mostly for tests.
#[derive(Debug, Clone)]
pub struct Options {
    /// Attempts per source (at least 1).
    pub attempts: u32,
    /// First backoff; doubles after each failed attempt.
    pub backoff: Duration,
    /// Refuse bodies larger than this.
    pub max_bytes: u64,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// NVD's API key (`NVD_API_KEY`): raises its rate limit from 5 to 50 requests per window.
    pub nvd_api_key: Option<String>,
    /// NVD's rate-limit window (30 s, as NVD publishes it; a mirror without limits may set 0).
    pub nvd_window: Duration,
    /// Records per NVD page (NVD's maximum, 2,000).
    pub nvd_page_size: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            attempts: 4,
            backoff: Duration::from_millis(500),
            max_bytes: 2 << 30,
            connect_timeout: Duration::from_secs(15),
            timeout: Duration::from_secs(600),
            nvd_api_key: None,
            nvd_window: Duration::from_secs(30),
            nvd_page_size: 2000,
        }
    }
}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = fs_err::read_to_string(path)?;
        let c: Config = serde_json::from_str(&text).map_err(|e| Error::Config {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        let mut seen = std::collections::BTreeSet::new();
        for s in &c.sources {
            if s.name.is_empty() || s.name.contains(['/', '\\']) || s.name.starts_with('.') {
                return Err(Error::Config {
                    path: path.display().to_string(),
                    why: format!("source name `{}` must be a plain file name", s.name),
                });
            }
            if !seen.insert(&s.name) {
                return Err(Error::Config {
                    path: path.display().to_string(),
                    why: format!("source `{}` appears twice", s.name),
                });
            }
            if !(s.url.starts_with("https://") || s.url.starts_with("http://")) {
                return Err(Error::Config {
                    path: path.display().to_string(),
                    why: format!("source `{}`: only http(s) URLs are supported", s.name),
                });
            }
        }
        for (from, to) in &c.mirrors {
            if !(to.starts_with("https://") || to.starts_with("http://")) {
                return Err(Error::Config {
                    path: path.display().to_string(),
                    why: format!("mirror of `{from}`: `{to}` is not an http(s) URL"),
                });
            }
        }
        if c.sources.is_empty() && !c.defaults {
            return Err(Error::Config {
                path: path.display().to_string(),
                why: "no sources: list some, or set \"defaults\": true for the default feeds"
                    .into(),
            });
        }
        Ok(c)
    }
}

const STATE: &str = "state.json";

fn load_state(cache: &Path) -> BTreeMap<String, Cached> {
    fs_err::read(cache.join(STATE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let r = (|| {
        use std::io::Write as _;
        let mut f = fs_err::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs_err::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = fs_err::remove_file(&tmp);
    }
    r
}

/// The cached file name for a source: its name plus the URL's extension (`.zip`, `.json`…).
fn file_name(s: &Source) -> String {
    let last = s.url.rsplit('/').next().unwrap_or("");
    let last = last.split(['?', '#']).next().unwrap_or("");
    match last.rsplit_once('.') {
        Some((_, ext))
            if !ext.is_empty()
                && ext.len() <= 5
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            format!("{}.{ext}", s.name)
        }
        _ => s.name.clone(),
    }
}

enum Attempt {
    Done(Outcome, Option<Cached>),
    Retry(String),
}

fn attempt(
    agent: &ureq::Agent,
    s: &Source,
    prev: Option<&Cached>,
    cache: &Path,
    opts: &Options,
    now: u64,
) -> Attempt {
    let mut req = agent.get(&s.url);
    if let Some(p) = prev.filter(|p| p.file.exists() && p.url == s.url) {
        if let Some(e) = &p.etag {
            req = req.set("If-None-Match", e);
        }
        if let Some(lm) = &p.last_modified {
            req = req.set("If-Modified-Since", lm);
        }
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(code, _)) if code == 429 || code >= 500 => {
            return Attempt::Retry(format!("HTTP {code}"));
        }
        Err(ureq::Error::Status(code, r)) => {
            return Attempt::Done(
                Outcome::Failed {
                    error: format!("HTTP {code} {}", r.status_text()),
                    stale: prev.is_some(),
                },
                None,
            );
        }
        Err(ureq::Error::Transport(t)) => return Attempt::Retry(t.to_string()),
    };
    if resp.status() == 304 {
        return Attempt::Done(Outcome::NotModified, None);
    }
    let etag = resp.header("ETag").map(str::to_string);
    let last_modified = resp.header("Last-Modified").map(str::to_string);
    let declared: Option<u64> = resp.header("Content-Length").and_then(|v| v.parse().ok());
    let mut body = Vec::new();
    if let Err(e) = resp
        .into_reader()
        .take(opts.max_bytes + 1)
        .read_to_end(&mut body)
    {
        return Attempt::Retry(format!("reading the body: {e}"));
    }
    if body.len() as u64 > opts.max_bytes {
        return Attempt::Done(
            Outcome::Failed {
                error: format!("larger than {} bytes", opts.max_bytes),
                stale: prev.is_some(),
            },
            None,
        );
    }
    if let Some(n) = declared
        && n != body.len() as u64
    {
        return Attempt::Retry(format!("truncated: got {} of {n} bytes", body.len()));
    }
    let sha = format!("{:x}", Sha256::digest(&body));
    if let Some(want) = &s.sha256
        && !want.eq_ignore_ascii_case(&sha)
    {
        return Attempt::Done(
            Outcome::Failed {
                error: format!("checksum mismatch: expected sha256 {want}, got {sha}"),
                stale: prev.is_some(),
            },
            None,
        );
    }
    let file = cache.join(file_name(s));
    if let Err(e) = write_atomic(&file, &body) {
        return Attempt::Done(
            Outcome::Failed {
                error: format!("cannot write {}: {e}", file.display()),
                stale: prev.is_some(),
            },
            None,
        );
    }
    Attempt::Done(
        Outcome::Fetched(body.len() as u64),
        Some(Cached {
            file,
            etag,
            last_modified,
            sha256: sha,
            url: s.url.clone(),
            fetched: now,
            complete_to: None,
        }),
    )
}

/// Fetches every source into `cache`; returns each source's outcome and the cached file to
/// import (the new one, the unchanged one, or a stale earlier one), in configuration order.
pub fn fetch_all(
    config: &Config,
    cache: &Path,
    opts: &Options,
) -> Result<Vec<(Source, Outcome, Option<PathBuf>)>, Error> {
    fs_err::create_dir_all(cache)?;
    let mut state = load_state(cache);
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(opts.connect_timeout)
        .timeout(opts.timeout)
        .build();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut out = Vec::new();
    for s in &config.sources {
        let prev = state.get(&s.name).cloned().filter(|p| p.file.exists());
        let mut outcome = None;
        let mut delay = opts.backoff;
        let mut last_error = String::new();
        // NVD's API: pages, incremental, rate-limited, its own retries
        if s.format == nvd::FORMAT {
            let (o, cached) = nvd::fetch(&agent, s, prev.as_ref(), cache, opts, now);
            if let Some(c) = cached {
                state.insert(s.name.clone(), c);
            }
            let file = state
                .get(&s.name)
                .map(|c| c.file.clone())
                .filter(|f| f.exists());
            out.push((s.clone(), o, file));
            continue;
        }
        for k in 0..opts.attempts.max(1) {
            if k > 0 {
                std::thread::sleep(delay);
                delay = delay.saturating_mul(2);
            }
            match attempt(&agent, s, prev.as_ref(), cache, opts, now) {
                Attempt::Done(o, cached) => {
                    if let Some(c) = cached {
                        state.insert(s.name.clone(), c);
                    }
                    outcome = Some(o);
                    break;
                }
                Attempt::Retry(e) => last_error = e,
            }
        }
        let outcome = outcome.unwrap_or(Outcome::Failed {
            error: format!("{last_error} (after {} attempts)", opts.attempts.max(1)),
            stale: prev.is_some(),
        });
        let file = state
            .get(&s.name)
            .map(|c| c.file.clone())
            .filter(|f| f.exists());
        out.push((s.clone(), outcome, file));
    }
    write_atomic(
        &cache.join(STATE),
        &serde_json::to_vec_pretty(&state).unwrap_or_default(),
    )?;
    Ok(out)
}
