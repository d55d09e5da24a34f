//! `GET /vulnerabilities/{id}`: what the DB knows of one vulnerability — every source that
//! spoke of it, its aliases, each severity statement with its score, KEV and EPSS — for the
//! UI's finding page and for anyone asking "what is this CVE".

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::Core;
use crate::auth::Caller;
use crate::problem::{Problem, internal};

/// `GET /vulnerabilities/{id}`
pub(crate) async fn vulnerability(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Read)?;
    let shown: String = id.chars().take(80).collect();
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        return Err(Problem::not_found(
            "No such vulnerability",
            format!("`{shown}` is not a vulnerability id (CVE-2024-1234, GHSA-…, DSA-…)"),
        ));
    }
    let db = core.db()?;
    let v = tokio::task::spawn_blocking(move || db.vulnerability(&id).map(|v| (v, db)))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    let (Some(v), db) = v else {
        return Err(Problem::not_found(
            "No such vulnerability",
            format!(
                "the vulnerability DB has no record `{shown}` (records are keyed by their CVE when they have one; try that id)"
            ),
        ));
    };
    Ok(axum::Json(json(&v, &db)).into_response())
}

fn json(v: &stella_advisory::Vulnerability, db: &stella_advisory::Db) -> serde_json::Value {
    let severities: Vec<serde_json::Value> = v
        .severities
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let scored = stella_advisory::cvss::score(&s.value);
            let level = scored
                .map(|(_, l)| l)
                .or_else(|| stella_advisory::cvss::Level::parse(&s.value));
            serde_json::json!({
                "kind": s.kind,
                "value": s.value,
                "source": db.feed_name(s.feed),
                "distro": s.distro,
                "score": scored.map(|(x, _)| (x * 10.0).round() / 10.0),
                "level": level.map(|l| l.as_str()),
                "chosen": v.severity_from == Some(i as u16),
            })
        })
        .collect();
    let mut sources: Vec<&str> = v.feeds.iter().map(|f| db.feed_name(*f)).collect();
    sources.sort_unstable();
    sources.dedup();
    serde_json::json!({
        "id": v.id,
        "aliases": v.aliases,
        "summary": v.summary,
        "published": v.published,
        "modified": v.modified,
        "withdrawn": v.withdrawn,
        "severity": v.severity.as_str(),
        "score": v.score,
        "severities": severities,
        "kev": v.kev.as_ref().map(|k| serde_json::json!({
            "dateAdded": k.date_added, "dueDate": k.due_date, "ransomware": k.ransomware,
        })),
        "epss": v.epss.map(|e| serde_json::json!({ "score": e.score, "percentile": e.percentile })),
        "sources": sources,
        "db": { "built": db.manifest().built },
    })
}
