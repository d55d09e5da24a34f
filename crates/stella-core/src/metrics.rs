//! Prometheus metrics (text exposition format 0.0.4): counters, gauges and latency
//! histograms kept in atomics, so recording costs a few nanoseconds and needs no lock.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A monotonically increasing count.
#[derive(Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    const fn new() -> Counter {
        Counter(AtomicU64::new(0))
    }
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Relaxed);
    }
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }
    /// The count.
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// Upper bounds of the latency buckets, in seconds.
const BOUNDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BOUNDS.len()],
    count: AtomicU64,
    /// Sum in microseconds.
    sum_us: AtomicU64,
}

impl Histogram {
    const fn new() -> Histogram {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; BOUNDS.len()],
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, d: std::time::Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = BOUNDS.iter().position(|b| s <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(d.as_micros() as u64, Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cum = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (b, n) in BOUNDS.iter().zip(&self.buckets) {
            cum += n.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cum}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(
            out,
            "{name}_sum{braces} {}",
            self.sum_us.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// Route families whose latency is recorded apart.
pub const ROUTES: [&str; 7] = [
    "scan", "scans", "layers", "quota", "token", "policy", "other",
];

/// Request latency per route family.
pub static REQUESTS: [Histogram; ROUTES.len()] = [const { Histogram::new() }; ROUTES.len()];
/// Responses by status class (1xx…5xx).
pub static STATUS: [Counter; 5] = [const { Counter::new() }; 5];
/// Scans completed.
pub static SCANS: Counter = Counter::new();
/// Scans by verdict: PASS, WARN, FAIL.
pub static VERDICTS: [Counter; 4] = [const { Counter::new() }; 4];
/// Scan time (matching and policy, without the queue).
pub static SCAN_SECONDS: Histogram = Histogram::new();
/// Requests refused for quota.
pub static QUOTA_REJECTIONS: Counter = Counter::new();
/// Requests refused because the queue was full.
pub static QUEUE_REJECTIONS: Counter = Counter::new();
/// Store commits: from asking for the write transaction until it is durable.
pub static COMMIT_SECONDS: Histogram = Histogram::new();
/// Writes committed (grouped: several per commit under load).
pub static COMMITTED_WRITES: Counter = Counter::new();
/// When a slow commit was last reported (seconds since the epoch).
static SLOW_COMMIT_REPORTED: AtomicU64 = AtomicU64::new(0);

/// A commit this slow is reported in the log (at most once a minute): every scan waiting
/// for it waits that long too.
const SLOW_COMMIT: std::time::Duration = std::time::Duration::from_millis(250);

/// Records one store commit (the store calls it, see `Backend::observe_commits`).
pub fn committed(d: std::time::Duration, writes: usize) {
    COMMIT_SECONDS.observe(d);
    COMMITTED_WRITES.add(writes as u64);
    if d >= SLOW_COMMIT {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |t| t.as_secs());
        let last = SLOW_COMMIT_REPORTED.load(Relaxed);
        if now >= last + 60
            && SLOW_COMMIT_REPORTED
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            tracing::warn!(
                target: "stella::store",
                ms = d.as_millis() as u64,
                writes,
                "a store commit was slow: the data directory's disk is slow or busy, and scans wait for their results to be durable (see stella_store_commit_duration_seconds)"
            );
        }
    }
}

/// Counts a finished scan and its verdict (PASS, WARN, FAIL, ERROR).
pub fn scanned(verdict: &str) {
    SCANS.inc();
    let i = match verdict {
        "PASS" => 0,
        "WARN" => 1,
        "ERROR" => 3,
        _ => 2,
    };
    VERDICTS[i].inc();
}

/// The route family of a path.
pub fn family(path: &str) -> usize {
    let p = path.strip_prefix("/api/v1").unwrap_or(path);
    let f = if p == "/scan" {
        "scan"
    } else if p.starts_with("/scans") {
        "scans"
    } else if p.starts_with("/layers") {
        "layers"
    } else if p == "/quota" {
        "quota"
    } else if p.starts_with("/connect") || p.starts_with("/token") {
        "token"
    } else if p.starts_with("/policy") {
        "policy"
    } else {
        "other"
    };
    ROUTES
        .iter()
        .position(|r| *r == f)
        .unwrap_or(ROUTES.len() - 1)
}

/// A metric of one sample: its HELP and TYPE lines, then its value.
fn single(o: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        o,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// The exposition, with the gauges the caller reads at scrape time.
/// The store's commit figures only where the store reports them (the embedded one).
pub fn render(
    queue_depth: u64,
    db_age_seconds: Option<u64>,
    store_commits: bool,
    scan_memory_reserved: u64,
) -> String {
    let mut o = String::with_capacity(8192);
    o.push_str("# HELP stella_http_request_duration_seconds Time to answer a request, by route family.\n# TYPE stella_http_request_duration_seconds histogram\n");
    for (r, h) in ROUTES.iter().zip(&REQUESTS) {
        h.write(
            &mut o,
            "stella_http_request_duration_seconds",
            &format!("route=\"{r}\""),
        );
    }
    o.push_str("# HELP stella_http_responses_total Responses by status class.\n# TYPE stella_http_responses_total counter\n");
    for (i, c) in STATUS.iter().enumerate() {
        let _ = writeln!(
            o,
            "stella_http_responses_total{{class=\"{}xx\"}} {}",
            i + 1,
            c.get()
        );
    }
    single(
        &mut o,
        "stella_scans_total",
        "counter",
        "Scans completed.",
        SCANS.get(),
    );
    o.push_str("# HELP stella_scan_verdicts_total Scans by verdict.\n# TYPE stella_scan_verdicts_total counter\n");
    for (v, c) in ["PASS", "WARN", "FAIL", "ERROR"].iter().zip(&VERDICTS) {
        let _ = writeln!(
            o,
            "stella_scan_verdicts_total{{verdict=\"{v}\"}} {}",
            c.get()
        );
    }
    o.push_str("# HELP stella_scan_duration_seconds Time to match and judge one SBOM.\n# TYPE stella_scan_duration_seconds histogram\n");
    SCAN_SECONDS.write(&mut o, "stella_scan_duration_seconds", "");
    single(
        &mut o,
        "stella_quota_rejections_total",
        "counter",
        "Scans refused because the token's daily quota was used up.",
        QUOTA_REJECTIONS.get(),
    );
    single(
        &mut o,
        "stella_queue_rejections_total",
        "counter",
        "Scans refused because the job queue was full.",
        QUEUE_REJECTIONS.get(),
    );
    single(
        &mut o,
        "stella_queue_depth",
        "gauge",
        "Jobs waiting or running.",
        queue_depth,
    );
    single(
        &mut o,
        "stella_scan_memory_reserved_bytes",
        "gauge",
        "Memory the scans running now have reserved (`stella serve --scan-memory-mib` bounds it).",
        scan_memory_reserved,
    );
    if store_commits {
        o.push_str("# HELP stella_store_commit_duration_seconds Time of one store commit, from asking for the write transaction until it is durable (embedded store; writes waiting together share one commit).\n# TYPE stella_store_commit_duration_seconds histogram\n");
        COMMIT_SECONDS.write(&mut o, "stella_store_commit_duration_seconds", "");
        single(
            &mut o,
            "stella_store_committed_writes_total",
            "counter",
            "Writes committed (over the commit count: the mean group size).",
            COMMITTED_WRITES.get(),
        );
    }
    if let Some(age) = db_age_seconds {
        single(
            &mut o,
            "stella_db_age_seconds",
            "gauge",
            "Age of the vulnerability DB (since it was built).",
            age,
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let h = Histogram::new();
        h.observe(std::time::Duration::from_micros(300));
        h.observe(std::time::Duration::from_millis(3));
        h.observe(std::time::Duration::from_secs(60));
        let mut s = String::new();
        h.write(&mut s, "x", "");
        assert!(s.contains("x_bucket{le=\"0.0005\"} 1\n"), "{s}");
        assert!(s.contains("x_bucket{le=\"0.005\"} 2\n"), "{s}");
        assert!(s.contains("x_bucket{le=\"10\"} 2\n"), "{s}");
        assert!(s.contains("x_bucket{le=\"+Inf\"} 3\n"), "{s}");
        assert!(s.contains("x_count 3\n"), "{s}");
        assert_eq!(family("/api/v1/scan"), 0);
        assert_eq!(family("/scans/x"), 1);
        assert_eq!(family("/healthz"), ROUTES.len() - 1);
    }

    #[test]
    fn slow_commits_are_counted_and_reported_at_most_once_a_minute() {
        // other tests' stores commit too: only lower bounds on the shared counts
        let (commits, writes) = (COMMIT_SECONDS.count.load(Relaxed), COMMITTED_WRITES.get());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        // reported 30 s ago: not again
        SLOW_COMMIT_REPORTED.store(now - 30, Relaxed);
        committed(std::time::Duration::from_millis(300), 3);
        assert_eq!(SLOW_COMMIT_REPORTED.load(Relaxed), now - 30);
        // reported over a minute ago: again, now
        SLOW_COMMIT_REPORTED.store(now - 61, Relaxed);
        committed(std::time::Duration::from_millis(400), 2);
        assert!(SLOW_COMMIT_REPORTED.load(Relaxed) >= now);
        assert!(COMMIT_SECONDS.count.load(Relaxed) >= commits + 2);
        assert!(COMMITTED_WRITES.get() >= writes + 5);
        assert!(!render(0, None, false, 0).contains("stella_store_commit"));
        let text = render(0, None, true, 0);
        assert!(
            text.contains("# TYPE stella_store_commit_duration_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains("stella_store_committed_writes_total "),
            "{text}"
        );
    }
}
