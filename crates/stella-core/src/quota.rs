//! The daily scan quota: admitting a scan against the token's limit and its tenant's cap in
//! one store step, the headers every answer carries, and `GET /quota`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Core;
use crate::auth::{Caller, now_secs, utc_day};
use crate::problem::Problem;

impl Core {
    /// Quota headers for `caller` as `used` stands: the token's limit, and what is left of
    /// it or of the tenant's cap, whichever is less.
    pub(crate) fn quota_headers(&self, caller: &Caller, used: Used, h: &mut HeaderMap) {
        let limit = caller.limit();
        let (_, reset) = utc_day(now_secs());
        let mut put = |name: &'static str, v: String| {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(HeaderName::from_static(name), v);
            }
        };
        put("x-stella-quota-limit", limit.to_string());
        put("x-stella-quota-remaining", used.remaining.to_string());
        put("x-stella-reset", stella_sbom::rfc3339(reset as i64));
        if let Some(cap) = caller.tenant_cap {
            put("x-stella-tenant-quota-limit", cap.to_string());
        }
        if used.token >= warning_threshold(limit) {
            put(
                "x-stella-quota-warning",
                format!(
                    "{} of {limit} scans used today; the quota resets at midnight UTC",
                    used.token
                ),
            );
        } else if let Some(cap) = caller
            .tenant_cap
            .filter(|&c| used.tenant >= warning_threshold(c))
        {
            put(
                "x-stella-quota-warning",
                format!(
                    "{} of the tenant's {cap} scans used today; the quota resets at midnight UTC",
                    used.tenant
                ),
            );
        }
    }

    /// What `caller` has used today, read from the store.
    pub(crate) fn quota_used(&self, caller: &Caller) -> Result<Used, stella_store::Error> {
        let day = utc_day(now_secs()).0;
        let token = self.store.quota_used(&caller.tid(), &day)?;
        let tenant = match caller.tenant_cap {
            Some(_) => self.store.quota_used(&caller.tenant_key(), &day)?,
            None => 0,
        };
        Ok(Used::of(caller, token, tenant))
    }

    /// Admits one scan for `caller`, or the 429 that says when to come back. The count is
    /// written with the scan's result; a caller that stores nothing after admission calls
    /// [`Core::settle_quota`].
    pub(crate) fn admit(&self, caller: &Caller) -> Result<Admitted, Problem> {
        let now = now_secs();
        let (day, reset) = utc_day(now);
        let (tid, tkey) = (caller.tid(), caller.tenant_key());
        let quotas = caller.quotas(&tid, &tkey);
        let a = self
            .store
            .admit_all_deferred(&quotas, &day)
            .map_err(crate::problem::store)?;
        self.admission(caller, a, now, reset)
    }

    /// A store's answer as Core gives it: admitted, or the 429 of the quota used up.
    fn admission(
        &self,
        caller: &Caller,
        a: stella_store::Admission,
        now: u64,
        reset: u64,
    ) -> Result<Admitted, Problem> {
        let used = Used {
            token: a.used,
            tenant: 0,
            remaining: a.remaining,
        };
        if a.admitted {
            return Ok(Admitted(used));
        }
        crate::metrics::QUOTA_REJECTIONS.inc();
        let by_tenant = a.exhausted == Some(1);
        let whose = if by_tenant {
            format!(
                "the daily limit of the tenant `{}` over all its tokens ({})",
                caller.tenant(),
                caller.tenant_cap.unwrap_or(0)
            )
        } else {
            format!("{} scans used today, the daily limit of this token", a.used)
        };
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Quota exhausted",
            format!(
                "{whose}; the quota resets at {} (retry after that, or `stella scan --quota-wait`)",
                stella_sbom::rfc3339(reset as i64)
            ),
        )
        .with(header::RETRY_AFTER, (reset - now).max(1).to_string());
        let mut h = HeaderMap::new();
        self.quota_headers(
            caller,
            Used {
                remaining: 0,
                ..used
            },
            &mut h,
        );
        for (k, v) in &h {
            p = p.with(k.clone(), v.to_str().unwrap_or_default());
        }
        Err(p)
    }
}

impl Core {
    /// Admits one scan for `caller` and queues its job `id` in one atomic step, or the 429
    /// (quota) or 503 (queue full) that says when to come back.
    pub(crate) fn admit_and_enqueue(
        &self,
        caller: &Caller,
        id: &str,
        payload: &[u8],
    ) -> Result<Admitted, Problem> {
        let now = now_secs();
        let (day, reset) = utc_day(now);
        let (tid, tkey) = (caller.tid(), caller.tenant_key());
        let quotas = caller.quotas(&tid, &tkey);
        let a = match self
            .store
            .admit_and_enqueue(&quotas, &day, caller.tenant(), id, payload)
        {
            Ok(a) => a,
            Err(stella_store::Error::QueueFull(n)) => {
                crate::metrics::QUEUE_REJECTIONS.inc();
                return Err(crate::scan::busy(n));
            }
            Err(e) => return Err(crate::problem::store(e)),
        };
        self.admission(caller, a, now, reset)
    }

    /// Makes admitted counts durable when no result follows the admission (a scan that
    /// failed after it, a job the queue refused).
    pub(crate) fn settle_quota(&self) {
        if let Err(e) = self.store.flush() {
            tracing::warn!(target: "stella::quota", error = %e, "cannot write the quota counts");
        }
    }
}

/// The warning starts at 200 of 333 (DESIGN.md §4), proportionally for other limits.
fn warning_threshold(limit: u32) -> u32 {
    ((u64::from(limit) * 200).div_ceil(333)) as u32
}

/// Marks a response whose scan was admitted: the quota headers then need no store read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admitted(pub Used);

/// Scans used today: the token's, the tenant's (when it has a cap) and what is left.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Used {
    pub token: u32,
    pub tenant: u32,
    /// The least of what the token and the tenant's cap have left.
    pub remaining: u32,
}

impl Used {
    pub(crate) fn of(caller: &Caller, token: u32, tenant: u32) -> Used {
        let mut remaining = caller.limit().saturating_sub(token);
        if let Some(cap) = caller.tenant_cap {
            remaining = remaining.min(cap.saturating_sub(tenant));
        }
        Used {
            token,
            tenant,
            remaining,
        }
    }
}

/// `GET /quota`
pub(crate) async fn quota(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    let (_, reset) = utc_day(now_secs());
    let used = core.quota_used(&caller).map_err(crate::problem::store)?;
    let limit = caller.limit();
    let mut body = serde_json::json!({
        "limit": limit,
        "used": used.token,
        "remaining": used.remaining,
        "resetAt": stella_sbom::rfc3339(reset as i64),
    });
    if let Some(cap) = caller.tenant_cap {
        body["tenant"] = serde_json::json!({
            "id": caller.tenant().as_str(),
            "limit": cap,
            "used": used.tenant,
            "remaining": cap.saturating_sub(used.tenant),
        });
    }
    Ok(axum::Json(body).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_warning_starts_at_200_of_333() {
        assert_eq!(super::warning_threshold(333), 200);
        assert_eq!(super::warning_threshold(33), 20);
    }
}
