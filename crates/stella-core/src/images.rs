//! The image views of the UI and its dashboard: every image with its latest verdict, matching
//! an image's stored input again, and the numbers the dashboard charts.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::Core;
use crate::auth::Caller;
use crate::problem::{Problem, internal};
use crate::scan::Job;

/// `GET /images`: every image with a stored scan, its latest scan, when, and how many.
pub(crate) async fn images(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Read)?;
    let c = core.clone();
    let list = tokio::task::spawn_blocking(move || {
        let out: Vec<serde_json::Value> = c
            .latest(caller.tenant())?
            .into_iter()
            .map(|l| {
                let head = l.head.unwrap_or_default();
                serde_json::json!({
                    "image": l.image,
                    "latestScanId": l.id,
                    "createdAt": l.created,
                    "scans": l.history.len(),
                    "verdict": head.status,
                    "summary": head.summary,
                })
            })
            .collect();
        Ok::<_, Problem>(out)
    })
    .await
    .map_err(internal)??;
    Ok(axum::Json(serde_json::json!({ "images": list })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RescanBody {
    image: String,
}

/// `POST /images/rescan`: matches an image's latest scan input again against the DB and the
/// policy in use now (a mute just made, a fresh feed), without cataloguing again; a scan like
/// any other (quota, history, audit).
pub(crate) async fn rescan_image(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    axum::Json(body): axum::Json<RescanBody>,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Scan)?;
    let key = format!("scan-{}", crate::unique_suffix());
    let c = core.clone();
    let k = key.clone();
    let (json, admitted) = core
        .scans
        .run(move || {
            let input = c.stored_input(
                caller.tenant(),
                &body.image,
                "to match again; scan it first (POST /api/v1/scan?image=REF)",
            )?;
            let _held = c.budget.reserve_blocking(input.len(), &c.stopping);
            let mut job = Job::for_stored(&input, &body.image)?;
            // a re-scan is the caller's, in the caller's tenant
            job.tenant = caller.tenant().as_str().to_string();
            job.who = caller.who();
            let admitted = c.admit(&caller)?;
            let (json, _, _) = c
                .execute_and_store(&k, &job, None)
                .inspect_err(|_| c.settle_quota())?;
            Ok::<_, Problem>((json, admitted))
        })
        .await
        .map_err(internal)??;
    Ok(crate::scan::stored_result(json, &key, admitted))
}

/// What the dashboard shows of a stored result: its counts and verdict (the findings are
/// skipped while reading).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(crate) struct Headline {
    #[serde(default)]
    pub(crate) summary: std::collections::BTreeMap<String, u64>,
    #[serde(default, skip_serializing)]
    verdict: Option<VerdictOnly>,
    #[serde(default, skip_deserializing)]
    pub(crate) status: String,
    /// Which result it is (set by the caller that needs to tell them apart).
    #[serde(skip)]
    id: String,
    /// Its known-exploited and likely-exploited findings (KEV, or EPSS ≥ 10 %), riskiest
    /// first, at most [`HOT`]: the dashboard's "fix these first".
    #[serde(
        default,
        rename = "findings",
        deserialize_with = "hot",
        skip_serializing
    )]
    hot: Vec<Hot>,
}

/// How many hot findings a headline keeps.
const HOT: usize = 20;

/// A finding the dashboard lists first.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Hot {
    vulnerability_id: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    kev: bool,
    #[serde(default)]
    epss: Option<f64>,
    package: HotPackage,
    #[serde(default, skip_serializing)]
    policy: Option<HotPolicy>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(crate) struct HotPackage {
    name: String,
    #[serde(default)]
    version: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct HotPolicy {
    action: String,
}

impl Hot {
    fn rank(&self) -> (bool, i64) {
        (self.kev, (self.epss.unwrap_or(0.0) * 1e6) as i64)
    }
}

/// Keeps the hot findings of a result's list while reading it (muted ones are not hot).
fn hot<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Hot>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<Hot>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of findings")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Hot>, A::Error> {
            let mut out: Vec<Hot> = Vec::new();
            while let Some(f) = seq.next_element::<Hot>()? {
                let muted = f
                    .policy
                    .as_ref()
                    .is_some_and(|p| p.action == "muted" || p.action == "ignore");
                if !muted && (f.kev || f.epss.is_some_and(|e| e >= 0.1)) {
                    out.push(f);
                }
            }
            out.sort_by(|a, b| {
                b.rank()
                    .cmp(&a.rank())
                    .then_with(|| a.vulnerability_id.cmp(&b.vulnerability_id))
            });
            out.truncate(HOT);
            Ok(out)
        }
    }
    d.deserialize_seq(V)
}

#[derive(Debug, Clone, Default, Deserialize)]
struct VerdictOnly {
    status: String,
}

#[derive(Deserialize)]
pub(crate) struct StatsParams {
    days: Option<u32>,
}

/// `GET /stats`: scans per UTC day, findings by severity and verdicts over every image's
/// latest scan, and the most vulnerable images — the dashboard's charts. Results are
/// immutable, so each one's headline is read once and kept.
pub(crate) async fn stats(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<StatsParams>,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Read)?;
    let days = q.days.unwrap_or(30).clamp(1, 366);
    let c = core.clone();
    let v = tokio::task::spawn_blocking(move || {
        let today = crate::auth::now_secs() as i64 / 86_400;
        let mut per_day: std::collections::BTreeMap<String, u64> = (0..i64::from(days))
            .map(|d| (stella_sbom::rfc3339((today - d) * 86_400)[..10].to_string(), 0))
            .collect();
        let mut severity: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
        let mut verdicts: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
        let mut images = Vec::new();
        // open findings per day: each image counts with its latest scan as of that day's end
        let day_list: Vec<String> = per_day.keys().cloned().collect();
        let mut risk: Vec<(u64, std::collections::BTreeMap<String, u64>)> =
            vec![(0, Default::default()); day_list.len()];
        for l in c.latest(caller.tenant())? {
            for (created, _) in &l.history {
                if let Some(n) = created.get(..10).and_then(|d| per_day.get_mut(d)) {
                    *n += 1;
                }
            }
            let mut at = 0;
            let mut current: Option<&str> = None;
            let mut head: Option<Headline> = None;
            for (i, day) in day_list.iter().enumerate() {
                while let Some((created, id)) = l.history.get(at)
                    && created.get(..10).is_some_and(|d| d <= day.as_str())
                {
                    current = Some(id);
                    at += 1;
                }
                let Some(id) = current else { continue };
                if head.as_ref().is_none_or(|h| h.id != id) {
                    head = c.headline(caller.tenant(), id)?.map(|mut h| {
                        h.id = id.to_string();
                        h
                    });
                }
                if let Some(h) = &head {
                    risk[i].0 += 1;
                    for (k, n) in &h.summary {
                        *risk[i].1.entry(k.clone()).or_default() += n;
                    }
                }
            }
            let Some(head) = l.head else { continue };
            for (k, n) in &head.summary {
                *severity.entry(k.clone()).or_default() += n;
            }
            *verdicts.entry(head.status.clone()).or_default() += 1;
            images.push((l.image, l.id, l.created, head));
        }
        let count = |h: &Headline, k: &str| h.summary.get(k).copied().unwrap_or(0);
        images.sort_by(|a, b| {
            let key = |h: &Headline| {
                (count(h, "critical"), count(h, "high"), h.summary.values().sum::<u64>())
            };
            key(&b.3).cmp(&key(&a.3)).then_with(|| a.0.cmp(&b.0))
        });
        let mut hot: Vec<(&Hot, &str, &str)> = images
            .iter()
            .flat_map(|(image, id, _, h)| h.hot.iter().map(move |x| (x, image.as_str(), id.as_str())))
            .collect();
        hot.sort_by(|a, b| {
            b.0.rank()
                .cmp(&a.0.rank())
                .then_with(|| a.0.vulnerability_id.cmp(&b.0.vulnerability_id))
                .then_with(|| a.1.cmp(b.1))
        });
        let hot: Vec<serde_json::Value> = hot
            .into_iter()
            .take(HOT)
            .map(|(x, image, id)| {
                let mut v = serde_json::to_value(x).unwrap_or_default();
                v["image"] = image.into();
                v["scanId"] = id.into();
                v
            })
            .collect();
        let top: Vec<serde_json::Value> = images
            .iter()
            .take(10)
            .map(|(image, id, created, h)| {
                serde_json::json!({
                    "image": image, "scanId": id, "createdAt": created,
                    "summary": h.summary, "verdict": h.status,
                })
            })
            .collect();
        Ok::<_, Problem>(serde_json::json!({
            "days": per_day.into_iter().map(|(day, scans)| serde_json::json!({"day": day, "scans": scans})).collect::<Vec<_>>(),
            "risk": day_list.iter().zip(&risk).map(|(day, (n, by))| serde_json::json!({"day": day, "images": n, "severity": by})).collect::<Vec<_>>(),
            "severity": severity,
            "verdicts": verdicts,
            "images": images.len(),
            "mostVulnerable": top,
            "hot": hot,
        }))
    })
    .await
    .map_err(internal)??;
    Ok(axum::Json(v).into_response())
}

/// An image as the UI lists it: its latest scan, every scan, and the latest's headline.
struct Latest {
    image: String,
    id: String,
    /// `(created, id)`, oldest first.
    history: Vec<(String, String)>,
    created: Option<String>,
    head: Option<Headline>,
}

impl Core {
    /// The latest stored scan input of `image` (what a re-scan or a policy preview matches
    /// again); none is a 404 that says what it was wanted `for_what`.
    pub(crate) fn stored_input(
        &self,
        tenant: &stella_store::Tenant,
        image: &str,
        for_what: &str,
    ) -> Result<Vec<u8>, Problem> {
        match self
            .store
            .input(tenant, image)
            .map_err(crate::problem::store)?
        {
            Some((_, input)) => Ok(input),
            None => Err(Problem::not_found(
                "No stored scan",
                format!("there is no stored scan of `{image}` {for_what}"),
            )),
        }
    }

    /// Every image with a stored scan input, in name order.
    fn latest(&self, tenant: &stella_store::Tenant) -> Result<Vec<Latest>, Problem> {
        let mut out = Vec::new();
        for (image, id) in self.store.inputs(tenant).map_err(crate::problem::store)? {
            let history = self
                .store
                .scans_of(tenant, &image)
                .map_err(crate::problem::store)?;
            let created = history
                .iter()
                .find(|(_, i)| *i == id)
                .map(|(c, _)| c.clone());
            let head = self.headline(tenant, &id)?;
            out.push(Latest {
                image,
                id,
                history,
                created,
                head,
            });
        }
        Ok(out)
    }

    /// A stored result's counts and verdict, read once per result (results never change).
    pub(crate) fn headline(
        &self,
        tenant: &stella_store::Tenant,
        id: &str,
    ) -> Result<Option<Headline>, Problem> {
        // keyed by tenant too: the same scan id in two tenants is two results
        let key = format!("{tenant}/{id}");
        if let Some(h) = self
            .headlines
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return Ok(Some(h));
        }
        let Some(json) = self
            .store
            .get_scan(tenant, id)
            .map_err(crate::problem::store)?
        else {
            return Ok(None);
        };
        let mut h: Headline = serde_json::from_slice(&json).map_err(internal)?;
        h.status = h.verdict.take().map(|v| v.status).unwrap_or_default();
        if let Ok(mut m) = self.headlines.lock() {
            // bounded: one entry per image's latest scan is what the dashboard needs
            if m.len() >= 20_000 {
                m.clear();
            }
            m.insert(key, h.clone());
        }
        Ok(Some(h))
    }
}
