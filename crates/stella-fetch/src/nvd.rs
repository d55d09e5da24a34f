//! NVD's CVE API 2.0: the whole catalogue page by page the first time, then only the records
//! changed since (`lastModStartDate`/`lastModEndDate`), within NVD's published rate limits.
//!
//! Traps (NVD's "Start here" and API workflow pages): at most 2,000 records a page; without
//! an API key 5 requests per rolling 30 s window, 50 with one (`apiKey` header); a changed
//! range may span at most 120 days, so a feed last completed longer ago is fetched whole
//! again; NVD answers an overrun with 403 or 503, retried after a backoff; a run that fails
//! halfway keeps nothing of itself (the earlier pages stay complete to their time).

use std::collections::VecDeque;
use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::{Cached, Options, Outcome, Source, write_atomic};

/// The source format that selects this fetcher.
pub const FORMAT: &str = "nvd-api";

/// NVD's longest `lastMod` range.
const MAX_RANGE: u64 = 120 * 86_400;

/// Requests made within the rate-limit window, to wait before the next would overrun it.
struct Limiter {
    window: Duration,
    limit: usize,
    recent: VecDeque<Instant>,
}

impl Limiter {
    fn wait(&mut self) {
        if self.window.is_zero() {
            return;
        }
        while let Some(&first) = self.recent.front() {
            if first.elapsed() >= self.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() >= self.limit
            && let Some(&first) = self.recent.front()
        {
            std::thread::sleep(self.window.saturating_sub(first.elapsed()));
            self.recent.pop_front();
        }
        self.recent.push_back(Instant::now());
    }
}

fn rfc3339(secs: u64) -> String {
    // NVD reads `…T…Z` with milliseconds
    let t = stella_sbom::rfc3339(secs as i64);
    match t.strip_suffix('Z') {
        Some(base) => format!("{base}.000Z"),
        None => t,
    }
}

fn epoch_secs(t: &str) -> Option<u64> {
    let days = stella_sbom::epoch_days(t)?;
    let time = t.get(11..19)?;
    let mut hms = time.split(':').map(|x| x.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    Some(u64::try_from(days).ok()? * 86_400 + h * 3600 + m * 60 + s)
}

/// One page's request, retried on NVD's overrun answers and transient failures.
fn page(
    agent: &ureq::Agent,
    url: &str,
    opts: &Options,
    limiter: &mut Limiter,
) -> Result<Vec<u8>, String> {
    let mut delay = opts.backoff;
    let mut last = String::new();
    for k in 0..opts.attempts.max(1) {
        if k > 0 {
            std::thread::sleep(delay);
            delay = delay.saturating_mul(2);
        }
        limiter.wait();
        let mut req = agent.get(url);
        if let Some(key) = &opts.nvd_api_key {
            req = req.set("apiKey", key);
        }
        match req.call() {
            Ok(r) => {
                let mut body = Vec::new();
                match r
                    .into_reader()
                    .take(opts.max_bytes + 1)
                    .read_to_end(&mut body)
                {
                    Ok(_) if body.len() as u64 > opts.max_bytes => {
                        return Err(format!("a page larger than {} bytes", opts.max_bytes));
                    }
                    Ok(_) => return Ok(body),
                    Err(e) => last = format!("reading a page: {e}"),
                }
            }
            // NVD answers an overrun of its rate limit with 403 or 503
            Err(ureq::Error::Status(code, _)) if matches!(code, 403 | 429) || code >= 500 => {
                last = format!("HTTP {code}");
            }
            Err(ureq::Error::Status(code, r)) => {
                return Err(format!("HTTP {code} {}", r.status_text()));
            }
            Err(ureq::Error::Transport(t)) => last = t.to_string(),
        }
    }
    Err(format!("{last} (after {} attempts)", opts.attempts.max(1)))
}

/// Fetches the catalogue (or its changes since the last complete fetch) into a directory of
/// pages, `run-<time in ns>-<start index>.json`, which sort in the order they are to be read.
pub(crate) fn fetch(
    agent: &ureq::Agent,
    s: &Source,
    prev: Option<&Cached>,
    cache: &Path,
    opts: &Options,
    now: u64,
) -> (Outcome, Option<Cached>) {
    let dir = cache.join(&s.name);
    let failed = |error: String| {
        (
            Outcome::Failed {
                error,
                stale: prev.is_some(),
            },
            None,
        )
    };
    if let Err(e) = fs_err::create_dir_all(&dir) {
        return failed(format!("cannot create {}: {e}", dir.display()));
    }
    // changes since the last complete fetch, when it is recent enough to ask for them
    let since = prev
        .filter(|p| p.url == s.url && p.file == dir)
        .and_then(|p| p.complete_to.as_deref())
        .and_then(epoch_secs)
        .filter(|&t| t <= now && now - t < MAX_RANGE);
    let mut limiter = Limiter {
        window: opts.nvd_window,
        limit: if opts.nvd_api_key.is_some() { 50 } else { 5 },
        recent: VecDeque::new(),
    };
    let per = opts.nvd_page_size.clamp(1, 2000);
    let sep = if s.url.contains('?') { '&' } else { '?' };
    let range = since.map_or(String::new(), |t| {
        format!(
            "&lastModStartDate={}&lastModEndDate={}",
            rfc3339(t),
            rfc3339(now)
        )
    });
    // the run's pages sort after every earlier run's, even two runs in one second
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(u128::from(now) * 1_000_000_000, |d| d.as_nanos());
    let run = format!("run-{nanos:022}");
    let mut written = Vec::new();
    let mut bytes = 0u64;
    let mut start = 0u64;
    let mut total: u64;
    loop {
        let url = format!(
            "{}{sep}resultsPerPage={per}&startIndex={start}{range}",
            s.url
        );
        let body = match page(agent, &url, opts, &mut limiter) {
            Ok(b) => b,
            Err(e) => {
                for f in &written {
                    let _ = fs_err::remove_file(f);
                }
                return failed(format!("{e} at startIndex {start}"));
            }
        };
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Head {
            total_results: u64,
            #[serde(default)]
            vulnerabilities: Vec<serde::de::IgnoredAny>,
        }
        let head: Head = match serde_json::from_slice(&body) {
            Ok(h) => h,
            Err(e) => {
                for f in &written {
                    let _ = fs_err::remove_file(f);
                }
                return failed(format!(
                    "not an NVD API 2.0 page at startIndex {start}: {e}"
                ));
            }
        };
        total = head.total_results;
        let got = head.vulnerabilities.len() as u64;
        if got > 0 {
            let f = dir.join(format!("{run}-{start:08}.json"));
            if let Err(e) = write_atomic(&f, &body) {
                for f in &written {
                    let _ = fs_err::remove_file(f);
                }
                return failed(format!("cannot write {}: {e}", f.display()));
            }
            bytes += body.len() as u64;
            written.push(f);
        }
        start += got;
        if got == 0 || start >= total {
            break;
        }
    }
    // a whole fetch replaces every earlier page
    let mut pages: Vec<String> = Vec::new();
    if let Ok(rd) = fs_err::read_dir(&dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if since.is_none() && !name.starts_with(&run) {
                let _ = fs_err::remove_file(e.path());
            } else if name.ends_with(".json") {
                pages.push(name);
            }
        }
    }
    pages.sort();
    let listing = format!("{:x}", Sha256::digest(pages.join("\n").as_bytes()));
    let cached = Cached {
        file: dir,
        etag: None,
        last_modified: None,
        sha256: listing,
        url: s.url.clone(),
        fetched: now,
        complete_to: Some(stella_sbom::rfc3339(now as i64)),
    };
    let outcome = if since.is_some() && total == 0 {
        Outcome::NotModified
    } else {
        Outcome::Fetched(bytes)
    };
    (outcome, Some(cached))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_nvd_reads_them_and_read_back() {
        let t = 1_700_000_000;
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.000Z");
        assert_eq!(epoch_secs(&stella_sbom::rfc3339(t as i64)), Some(t));
        assert_eq!(epoch_secs("soon"), None);
    }

    #[test]
    fn the_limiter_holds_the_sixth_request_of_a_window() {
        let mut l = Limiter {
            window: Duration::from_millis(300),
            limit: 5,
            recent: VecDeque::new(),
        };
        let t = Instant::now();
        for _ in 0..5 {
            l.wait();
        }
        assert!(t.elapsed() < Duration::from_millis(200));
        l.wait();
        assert!(
            t.elapsed() >= Duration::from_millis(290),
            "{:?}",
            t.elapsed()
        );
    }
}
