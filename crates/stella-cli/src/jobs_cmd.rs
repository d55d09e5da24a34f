//! `stella jobs`: the scheduler of a running Core from the command line.

use std::time::Duration;

use anyhow::{Context, bail};

use crate::cli::{JobsArgs, JobsCommand};
use crate::exit;

pub(crate) struct Api {
    agent: ureq::Agent,
    base: String,
    auth: String,
    tenant: Option<String>,
}

impl Api {
    pub(crate) fn new(a: &JobsArgs) -> anyhow::Result<Api> {
        let base = a.server.trim_end_matches('/').to_string();
        let token = crate::token_cmd::bearer_token(&base, a.token.as_deref(), "stella jobs")?;
        Ok(Api {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(10))
                .timeout_read(Duration::from_secs(60))
                .build(),
            base,
            auth: format!("Bearer {token}"),
            tenant: a.tenant.clone(),
        })
    }

    pub(crate) fn call(&self, method: &str, path: &str) -> anyhow::Result<serde_json::Value> {
        let text = self.send(method, path, None)?;
        if text.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(&text)
            .with_context(|| format!("{method} {}{path}: not JSON", self.base))
    }

    /// A request with an optional body (`content type`, bytes); the answer's text.
    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
    ) -> anyhow::Result<String> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .agent
            .request(method, &url)
            .set("Authorization", &self.auth);
        if let Some(t) = &self.tenant {
            req = req.set("X-Stella-Tenant", t);
        }
        let res = match body {
            Some((ct, b)) => req.set("Content-Type", ct).send_bytes(b),
            None => req.call(),
        };
        match res {
            Ok(r) => Ok(r.into_string()?),
            Err(ureq::Error::Status(code, r)) => {
                let body: serde_json::Value = r
                    .into_string()
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default();
                let detail = body["detail"].as_str().unwrap_or("").to_string();
                bail!(Refused {
                    status: code,
                    message: format!("{method} {url}: {code} {detail}"),
                })
            }
            Err(e) => Err(e).with_context(|| format!("{method} {url}")),
        }
    }
}

/// Core answered with an error status.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) status: u16,
    message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

fn print(v: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Runs `stella jobs …`.
pub fn run(cmd: JobsCommand) -> anyhow::Result<u8> {
    match cmd {
        JobsCommand::List(a) => {
            let v = Api::new(&a)?.call("GET", "/api/v1/jobs")?;
            for j in v["jobs"].as_array().into_iter().flatten() {
                let when = match (j["schedule"].as_str(), j["after"].as_str()) {
                    (Some(s), _) => format!("cron `{s}` (UTC)"),
                    (None, Some(after)) => format!("after {after}"),
                    _ => "on demand".into(),
                };
                let last = &j["lastRun"];
                println!(
                    "{:<7} {when}; next {}; last {} {}{}",
                    j["name"].as_str().unwrap_or("?"),
                    j["next"].as_str().unwrap_or("-"),
                    last["started"].as_str().unwrap_or("never"),
                    last["outcome"].as_str().unwrap_or(""),
                    if j["running"] == true {
                        " (running)"
                    } else {
                        ""
                    }
                );
            }
            Ok(exit::OK)
        }
        JobsCommand::Runs(a) => {
            let mut path = format!("/api/v1/jobs/runs?limit={}", a.limit);
            if let Some(j) = &a.job {
                path.push_str(&format!("&job={j}"));
            }
            print(&Api::new(&a.server)?.call("GET", &path)?)?;
            Ok(exit::OK)
        }
        JobsCommand::Criticals(a) => {
            print(&Api::new(&a)?.call("GET", "/api/v1/criticals")?)?;
            Ok(exit::OK)
        }
        JobsCommand::Run(a) => {
            let api = Api::new(&a.server)?;
            let runs = format!("/api/v1/jobs/runs?job={}&limit=1", a.name);
            let before = api.call("GET", &runs)?["runs"][0]["id"].clone();
            api.call("POST", &format!("/api/v1/jobs/{}/run", a.name))?;
            eprintln!("{}: started", a.name);
            if a.no_wait {
                return Ok(exit::OK);
            }
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let latest = api.call("GET", &runs)?["runs"][0].clone();
                if latest["id"] != before && latest["outcome"] != "running" {
                    print(&latest)?;
                    return Ok(if latest["outcome"] == "ok" {
                        exit::OK
                    } else {
                        exit::RETRYABLE
                    });
                }
            }
        }
    }
}
