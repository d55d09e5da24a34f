//! `stella scan TARGET --server URL`: the pipeline helper of DESIGN.md §2. Reads the image's
//! layer ids, asks Core which it lacks, catalogs and uploads only those (Delta-SBOM), queues
//! the scan, follows its progress (server-sent events) and reports Core's verdict as the exit
//! code.

use std::io::BufRead as _;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::cli::ScanArgs;
use crate::exit;

/// An HTTP failure, sorted by what the pipeline should do about it.
#[derive(Debug)]
enum Failure {
    /// 401/403: credentials.
    Auth(String),
    /// 429: quota, with the seconds until it resets.
    Quota(String, u64),
    /// 503/5xx: worth retrying later.
    Retryable(String),
    /// No answer at all (nothing listening, DNS, TLS, a timeout): worth retrying, and worth
    /// checking the URL.
    Unreachable(String),
    /// Anything else: the request was wrong.
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Auth(m)
            | Failure::Quota(m, _)
            | Failure::Retryable(m)
            | Failure::Unreachable(m)
            | Failure::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Failure {}

struct Client {
    agent: ureq::Agent,
    base: String,
    auth: String,
    /// `X-Stella-Tenant`, when given.
    tenant: Option<String>,
}

fn problem_detail(r: ureq::Response) -> String {
    let text = r.into_string().unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v["detail"]
                .as_str()
                .or(v["error_description"].as_str())
                .map(str::to_string)
        })
        .unwrap_or(text)
}

impl Client {
    fn call(&self, r: ureq::Request, body: Option<&[u8]>) -> Result<ureq::Response, Failure> {
        let url = r.url().to_string();
        let mut r = r.set("Authorization", &self.auth);
        if let Some(t) = &self.tenant {
            r = r.set("X-Stella-Tenant", t);
        }
        let res = match body {
            Some(b) => r.send_bytes(b),
            None => r.call(),
        };
        match res {
            Ok(resp) => Ok(resp),
            Err(ureq::Error::Status(code, resp)) => {
                let retry = resp
                    .header("Retry-After")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(60);
                let detail = format!("{url}: {code}: {}", problem_detail(resp));
                Err(match code {
                    401 | 403 => Failure::Auth(detail),
                    429 => Failure::Quota(detail, retry),
                    500.. => Failure::Retryable(detail),
                    _ => Failure::Other(detail),
                })
            }
            Err(e) => Err(Failure::Unreachable(format!("{url}: {e}"))),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn json(
        &self,
        r: ureq::Request,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, Failure> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let resp = self.call(r.set("Content-Type", "application/json"), Some(&bytes))?;
        serde_json::from_reader(resp.into_reader())
            .map_err(|e| Failure::Other(format!("the answer is not JSON: {e}")))
    }
}

/// Runs a scan against Core.
pub(crate) fn run(a: &ScanArgs) -> anyhow::Result<u8> {
    if !a.policy.is_empty() || !a.vex.is_empty() || a.ignore_file.is_some() || a.explain.is_some() {
        bail!(
            "--policy, --vex, --ignore-file and --explain judge local scans; with --server, Core's policy decides (manage it with the /api/v1/policy endpoints)"
        );
    }
    match scan(a) {
        Ok(code) => Ok(code),
        Err(e) => match e.downcast_ref::<Failure>() {
            Some(Failure::Auth(_)) => {
                eprintln!(
                    "error: {e:#}\nhint: get a token with `stella token get` and pass --token (or STELLA_TOKEN)"
                );
                Ok(exit::AUTH)
            }
            Some(Failure::Quota(..)) => {
                eprintln!("error: {e:#}\nhint: --quota-wait waits for the daily reset");
                Ok(exit::RETRYABLE)
            }
            Some(Failure::Retryable(_)) => {
                eprintln!("error: {e:#}");
                Ok(exit::RETRYABLE)
            }
            Some(Failure::Unreachable(_)) => {
                eprintln!(
                    "error: {e:#}\nhint: is Core running at {}? Check --server (or STELLA_SERVER); this is worth retrying",
                    a.server.as_deref().unwrap_or_default()
                );
                Ok(exit::RETRYABLE)
            }
            _ => Err(e),
        },
    }
}

fn scan(a: &ScanArgs) -> anyhow::Result<u8> {
    let server = a
        .server
        .as_deref()
        .unwrap_or_default()
        .trim_end_matches('/');
    let token =
        crate::token_cmd::bearer_token(server, a.token.as_deref(), "--server").map_err(|e| {
            match e.downcast_ref::<crate::token_cmd::Unreachable>() {
                Some(u) => Failure::Unreachable(u.0.clone()),
                None => Failure::Auth(format!("{e:#}")),
            }
        })?;
    let client = Client {
        agent: ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(120))
            .build(),
        base: server.to_string(),
        auth: format!("Bearer {token}"),
        tenant: a.tenant.clone(),
    };
    let progress = crate::progress::Progress::new();
    // what to send: an SBOM as it is, or an image by its layers
    let (body, hint, name): (Vec<u8>, Option<&str>, String) = if let Some(path) =
        crate::scan_cmd::sbom_target(&a.target)
    {
        progress.step(&format!("reading {path}"));
        let bytes = crate::sbom_cmd::read_input(std::path::Path::new(path), 512 << 20)?;
        // filed under --name, else the SBOM's own subject, else its file name: never under
        // the path it has on this machine (a read error is Core's to report, with its place)
        let name = match &a.name {
            Some(n) => n.clone(),
            // read here only for its subject (Core reads it again to scan it)
            None => match stella_sbom::read(&bytes, None) {
                Ok(r) => crate::scan_cmd::sbom_name(a, &r, std::path::Path::new(path)),
                Err(_) => String::new(),
            },
        };
        (bytes, None, name)
    } else {
        let target = stella_image::Target::parse(&a.target)?;
        progress.step(&format!("opening {}", a.target));
        let image = crate::scan_cmd::open_image(a, &target, &a.target)?;
        let layers: Option<Vec<String>> = image.layers.iter().map(|l| l.diff_id.clone()).collect();
        match layers.filter(|l| !l.is_empty()) {
            // a directory has no layer ids to ask about: its SBOM goes whole
            None => whole_sbom(a, &image, &progress)?,
            Some(layers) => {
                progress.step("asking Core which layers it lacks");
                let v = client.json(
                    client.agent.post(&client.url("/api/v1/layers/missing")),
                    &serde_json::json!({ "layers": layers }),
                )?;
                let missing: Vec<String> = serde_json::from_value(v["missing"].clone())
                    .context("Core's answer has no `missing` list")?;
                let todo: Vec<usize> = layers
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| missing.contains(d))
                    .map(|(i, _)| i)
                    .collect();
                eprintln!(
                    "{}: {} layer(s), {} new to Core",
                    image.name,
                    layers.len(),
                    todo.len()
                );
                if !todo.is_empty() {
                    progress.step(&format!("cataloguing {} layer(s)", todo.len()));
                    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                    let (fragments, _) = stella_catalog::catalog_layers(&image, &todo, threads)
                        .with_context(|| format!("cannot catalog {}", a.target))?;
                    for (k, (_, f)) in fragments.iter().enumerate() {
                        progress.step(&format!("uploading layer {}/{}", k + 1, fragments.len()));
                        let bytes = serde_json::to_vec(f)?;
                        client.call(
                            client
                                .agent
                                .put(&client.url(&format!("/api/v1/layers/{}/sbom", f.diff_id)))
                                .set("Content-Type", "application/json"),
                            Some(&bytes),
                        )?;
                    }
                }
                let body = serde_json::to_vec(&serde_json::json!({
                    "image": {
                        "reference": image.name,
                        "digest": image.digest,
                        "layers": layers,
                    }
                }))?;
                (
                    body,
                    None,
                    a.name.clone().unwrap_or_else(|| image.name.clone()),
                )
            }
        }
    };
    // queue it (waiting out a spent quota when asked, and a busy Core a few times)
    let mut busy_tries = 0;
    let queued = loop {
        progress.step("submitting the scan");
        let mut r = client
            .agent
            .post(&client.url("/api/v1/scan"))
            .set("Content-Type", "application/json");
        if !name.is_empty() {
            r = r.query("image", &name);
        }
        if let Some(h) = hint {
            r = r.set("X-Stella-Sbom-Type", h);
        }
        match client.call(r, Some(&body)) {
            Ok(resp) => break resp,
            Err(Failure::Quota(m, secs)) if a.quota_wait => {
                eprintln!("{m}\nwaiting {secs} s for the quota to reset (--quota-wait)");
                std::thread::sleep(Duration::from_secs(secs.max(1)));
            }
            Err(Failure::Retryable(m)) if busy_tries < 5 && m.contains(": 503:") => {
                busy_tries += 1;
                eprintln!("{m}; retrying in 5 s");
                std::thread::sleep(Duration::from_secs(5));
            }
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(w) = queued.header("X-Stella-Quota-Warning") {
        eprintln!("warning: {w}");
    }
    let location = queued
        .header("Location")
        .context("Core queued the scan without a Location")?
        .to_string();
    follow(&client, &location, &progress);
    // the result (the events may have ended early: poll until it is there)
    let started = std::time::Instant::now();
    let report: stella_report::Report = loop {
        let resp = client.call(client.agent.get(&client.url(&location)), None)?;
        if resp.status() == 200 {
            break serde_json::from_reader(resp.into_reader())
                .context("Core's scan result is not the scan-result JSON")?;
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!(Failure::Retryable(format!(
                "{location}: not done after an hour"
            )));
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    progress.done();
    let mut report = report;
    // a local --fail-on gate on top of Core's verdict: one verdict, shown as it decides
    if let Some(f) = &a.fail_on {
        stella_report::gate(&mut report.verdict, &report.findings, f);
    }
    let name = report.target.reference.clone();
    let code = crate::scan_cmd::render(a, &report, &name)?;
    // where people look at it next (the scan's page in Core's UI)
    if let Some(id) = location.rsplit('/').next().filter(|s| !s.is_empty()) {
        eprintln!("{name}: {}/ui/#/scans/{id}", client.base);
    }
    Ok(code)
}

/// Catalogs a target without layer ids (a directory) here and makes its CycloneDX SBOM.
fn whole_sbom(
    a: &ScanArgs,
    image: &stella_image::Image,
    progress: &crate::progress::Progress,
) -> anyhow::Result<(Vec<u8>, Option<&'static str>, String)> {
    progress.step(&format!("cataloguing {}", a.target));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cat = stella_catalog::catalog(image, None, threads)
        .with_context(|| format!("cannot catalog {}", a.target))?;
    let sbom = stella_catalog::sbom::to_sbom(&cat.composed, &image.name, env!("CARGO_PKG_VERSION"));
    let body = stella_sbom::write(
        &sbom,
        stella_sbom::OutputFormat::CycloneDxJson(6),
        &stella_sbom::WriteOptions {
            timestamp: None,
            serial: None,
            tool_version: None,
        },
    );
    eprintln!(
        "{}: no layer ids; its SBOM ({} packages) goes whole",
        image.name,
        cat.composed.packages.len()
    );
    Ok((
        body,
        Some("cyclonedx-json"),
        a.name.clone().unwrap_or_else(|| image.name.clone()),
    ))
}

/// Shows the scan's progress from its event stream until it is done or failed.
fn follow(client: &Client, location: &str, progress: &crate::progress::Progress) {
    let url = client.url(&format!("{location}/events"));
    let Ok(resp) = client.call(
        client.agent.get(&url).set("Accept", "text/event-stream"),
        None,
    ) else {
        return;
    };
    let reader = std::io::BufReader::new(resp.into_reader());
    let mut event = String::new();
    for line in reader.lines() {
        let Ok(line) = line else { return };
        if let Some(e) = line.strip_prefix("event:") {
            event = e.trim().to_string();
        } else if let Some(d) = line.strip_prefix("data:") {
            let v: serde_json::Value = serde_json::from_str(d.trim()).unwrap_or_default();
            match event.as_str() {
                "queued" => progress.step("queued at Core"),
                "running" => progress.step(&format!(
                    "Core: {}",
                    v["step"].as_str().unwrap_or("scanning")
                )),
                "done" | "failed" => return,
                _ => {}
            }
        }
    }
}
