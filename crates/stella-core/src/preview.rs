//! `POST /policy/preview?image=REF`: what a draft policy would decide for an image — its
//! stored input matched against the DB in use now, judged by the draft and by the active
//! policy side by side — so an editor shows the verdict before anything is saved.
//!
//! Traps: nothing is stored, audited as a scan or charged to the quota (a preview is not a
//! scan of record); it runs on the scan slots like any match, so typing in an editor cannot
//! crowd out real scans.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::Core;
use crate::auth::Caller;
use crate::problem::{Problem, internal};
use crate::scan::Job;

#[derive(Deserialize)]
pub(crate) struct PreviewParams {
    image: Option<String>,
}

/// `POST /policy/preview?image=REF` with a policy body as `/policy/validate` takes.
pub(crate) async fn preview(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<PreviewParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Read)?;
    let Some(image) = q.image.filter(|i| !i.is_empty()) else {
        return Err(Problem::bad_request(
            "Missing image",
            "say which stored image to preview the policy on: /api/v1/policy/preview?image=REF",
        ));
    };
    let b = crate::policy::policy_body(&headers, &body)?;
    let draft = core.draft_set(caller.tenant(), b)?;
    let c = core.clone();
    let v = core
        .scans
        .run(move || {
            let tenant = caller.tenant();
            let input =
                c.stored_input(tenant, &image, "to preview the policy on; scan it first")?;
            let _held = c.budget.reserve_blocking(input.len(), &c.stopping);
            let job = Job::for_stored(&input, &image)?;
            let db = c.db()?;
            let judge = |policy: Option<stella_policy::PolicySet>| {
                let (input, target) = c.input_of("preview", false, &job, None)?;
                stella_scan::scan(&db, input, target, &c.scan_options(policy))
                    .map_err(crate::scan::policy_failed)
            };
            let with_draft = judge(Some(draft))?;
            let active = c.active_policy(tenant)?.map(|p| (*p).clone());
            let with_active = judge(active)?;
            Ok::<_, Problem>(compare(&image, &with_draft, &with_active))
        })
        .await
        .map_err(internal)??;
    Ok(axum::Json(v).into_response())
}

/// The draft's verdict and decisions beside the active policy's, with what differs.
fn compare(
    image: &str,
    draft: &stella_report::Report,
    active: &stella_report::Report,
) -> serde_json::Value {
    let action = |f: &stella_match::Finding| {
        f.policy
            .as_ref()
            .map_or_else(|| "none".to_string(), |p| p.action.clone())
    };
    let key = |f: &stella_match::Finding| {
        format!(
            "{} {}@{}",
            f.vulnerability_id, f.package.name, f.package.version
        )
    };
    let before: std::collections::BTreeMap<String, String> = active
        .findings
        .iter()
        .map(|f| (key(f), action(f)))
        .collect();
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    let mut changed = Vec::new();
    for f in &draft.findings {
        let now = action(f);
        *counts.entry(now.clone()).or_default() += 1;
        let was = before
            .get(&key(f))
            .cloned()
            .unwrap_or_else(|| "none".into());
        if was != now {
            changed.push(serde_json::json!({
                "vulnerabilityId": &*f.vulnerability_id,
                "package": format!("{}@{}", f.package.name, f.package.version),
                "severity": &*f.severity,
                "was": was,
                "now": now,
                "rule": f.policy.as_ref().and_then(|p| p.rule.clone()),
            }));
        }
    }
    serde_json::json!({
        "image": image,
        "findings": draft.findings.len(),
        "draft": { "verdict": draft.verdict, "actions": counts },
        "active": { "verdict": active.verdict },
        "changed": changed,
    })
}
