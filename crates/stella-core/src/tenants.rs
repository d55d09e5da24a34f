//! Tenants and their members over the API: installation admins create and remove tenants,
//! a tenant's admins decide who belongs to it with which role.
//!
//! Traps: a tenant named in a path is the caller's own tenant or the caller administers the
//! installation, and a tenant that does not exist answers as one the caller is not in (nobody
//! learns which tenants exist); a change is stored before it takes effect, and memberships
//! count from the next request (every request reads them).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use stella_auth::{Action, Kind, Role};

use crate::Core;
use crate::auth::Caller;
use crate::identity::DIRECTORY_DOC;
use crate::problem::{Problem, internal};

fn invalid(e: stella_auth::Error) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid change",
        e.to_string(),
    )
}

/// `GET /tenants`: every tenant (installation admins) or the caller's own, with its role.
pub(crate) async fn list(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    let dir = core.principals.read().map_err(internal)?;
    let me = caller
        .claims()
        .and_then(|c| c.sub.split_once(':'))
        .and_then(|(k, n)| dir.get(Kind::parse(k)?, n));
    let mine: std::collections::BTreeMap<String, Role> = match me {
        Some(p) => p.memberships().into_iter().collect(),
        None => [(stella_auth::DEFAULT_TENANT.to_string(), caller.role())].into(),
    };
    let ids: Vec<String> = if caller.is_installation_admin() {
        dir.tenant_ids()
    } else {
        mine.keys().cloned().collect()
    };
    let list: Vec<serde_json::Value> = ids
        .iter()
        .filter_map(|id| {
            let t = dir.tenant(id)?;
            let members = dir.iter().filter(|p| p.role_in(id).is_some()).count();
            Some(serde_json::json!({
                "id": id,
                "name": t.name,
                "created": stella_sbom::rfc3339(t.created as i64),
                "role": mine.get(id).map(|r| r.as_str()),
                "members": members,
                "dailyScans": t.daily_scans,
            }))
        })
        .collect();
    Ok(axum::Json(serde_json::json!({
        "tenants": list,
        "current": caller.tenant().as_str(),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTenant {
    id: String,
    #[serde(default)]
    name: String,
    /// A daily cap over all the tenant's tokens.
    #[serde(default, rename = "dailyScans")]
    daily_scans: Option<u32>,
}

/// Stores a changed directory and swaps it in (the write lock is held by the caller).
fn store_directory(
    core: &Core,
    guard: &mut std::sync::RwLockWriteGuard<'_, stella_auth::Directory>,
    dir: stella_auth::Directory,
) -> Result<(), Problem> {
    core.store
        .put_doc(DIRECTORY_DOC, &dir.to_json())
        .map_err(crate::problem::store)?;
    **guard = dir;
    Ok(())
}

/// `POST /tenants` (installation admin): `{id, name}`.
pub(crate) async fn add(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    let req: NewTenant = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(
            "Bad request",
            format!("expected {{\"id\": \"team-a\", \"name\": \"Team A\"}}: {e}"),
        )
    })?;
    let mut guard = core.principals.write().map_err(internal)?;
    let mut dir = guard.clone();
    dir.add_tenant(&req.id, &req.name, crate::auth::now_secs())
        .map_err(|e| match e {
            stella_auth::Error::Invalid(m) if m.contains("exists already") => {
                Problem::new(StatusCode::CONFLICT, "Exists", m)
            }
            e => invalid(e),
        })?;
    dir.set_tenant_cap(&req.id, req.daily_scans);
    store_directory(&core, &mut guard, dir)?;
    drop(guard);
    core.audit_installation(&caller, "tenant.add", &req.id);
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({
            "id": req.id,
            "name": if req.name.is_empty() { &req.id } else { &req.name },
            "dailyScans": req.daily_scans,
        })),
    )
        .into_response())
}

/// `PATCH /tenants/{id}` (installation admin): `{"dailyScans": N}` sets the tenant's daily
/// cap over all its tokens, `{"dailyScans": null}` lifts it.
pub(crate) async fn update(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    let req: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(
            "Bad request",
            format!("expected {{\"dailyScans\": 1000}} or {{\"dailyScans\": null}}: {e}"),
        )
    })?;
    let obj = req
        .as_object()
        .filter(|o| o.keys().all(|k| k == "dailyScans"));
    let cap = match obj.and_then(|o| o.get("dailyScans")) {
        Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    Problem::bad_request(
                        "Bad request",
                        format!(
                            "`dailyScans` is a whole number of scans from 0 to {}, or null",
                            u32::MAX
                        ),
                    )
                })?,
        ),
        None => {
            return Err(Problem::bad_request(
                "Bad request",
                "expected {\"dailyScans\": N} (the only field that changes here) or {\"dailyScans\": null}",
            ));
        }
    };
    let mut guard = core.principals.write().map_err(internal)?;
    let mut dir = guard.clone();
    if !dir.set_tenant_cap(&id, cap) {
        return Err(Problem::not_found(
            "No such tenant",
            format!(
                "there is no tenant `{}`",
                id.chars().take(64).collect::<String>()
            ),
        ));
    }
    store_directory(&core, &mut guard, dir)?;
    drop(guard);
    let detail = match cap {
        Some(n) => format!("{id}: {n} scans a day"),
        None => format!("{id}: no daily cap"),
    };
    core.audit_installation(&caller, "tenant.quota", &detail);
    Ok(axum::Json(serde_json::json!({ "id": id, "dailyScans": cap })).into_response())
}

/// `DELETE /tenants/{id}` (installation admin): a tenant nobody belongs to any more.
pub(crate) async fn remove(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    let mut guard = core.principals.write().map_err(internal)?;
    let mut dir = guard.clone();
    if !dir.remove_tenant(&id).map_err(invalid)? {
        return Err(Problem::not_found(
            "No such tenant",
            format!(
                "there is no tenant `{}`",
                id.chars().take(64).collect::<String>()
            ),
        ));
    }
    store_directory(&core, &mut guard, dir)?;
    drop(guard);
    core.audit_installation(&caller, "tenant.remove", &id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The tenant a path names, when the caller may manage it: its own tenant as its admin, or
/// any tenant as an installation admin.
fn managed(caller: &Caller, id: &str) -> Result<(), Problem> {
    if caller.is_installation_admin() {
        return Ok(());
    }
    if caller.tenant().as_str() != id {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "Not a member",
            format!(
                "`{}` acts in the tenant `{}` here, not in `{}`; send X-Stella-Tenant: {} if it is one of yours",
                caller.who(),
                caller.tenant(),
                id.chars().take(64).collect::<String>(),
                id.chars().take(64).collect::<String>()
            ),
        ));
    }
    caller.require(Action::Manage)
}

/// `GET /tenants/{id}/members`
pub(crate) async fn members(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    managed(&caller, &id)?;
    let dir = core.principals.read().map_err(internal)?;
    if !dir.has_tenant(&id) {
        return Err(Problem::not_found(
            "No such tenant",
            format!("there is no tenant `{id}`"),
        ));
    }
    let list: Vec<serde_json::Value> = dir
        .iter()
        .filter_map(|p| {
            Some(serde_json::json!({
                "kind": p.kind.as_str(), "name": p.name, "role": p.role_in(&id)?.as_str(),
                "disabled": p.disabled,
            }))
        })
        .collect();
    Ok(axum::Json(serde_json::json!({ "tenant": id, "members": list })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleBody {
    role: String,
}

/// `PUT /tenants/{id}/members/{kind}/{name}` `{role}`: adds a principal or changes its role.
pub(crate) async fn put_member(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((id, kind, name)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, Problem> {
    managed(&caller, &id)?;
    let kind = Kind::parse(&kind)
        .ok_or_else(|| Problem::not_found("No such kind", "principals are `client` or `user`"))?;
    let b: RoleBody = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(
            "Bad request",
            format!("expected {{\"role\": \"scanner\"}}: {e}"),
        )
    })?;
    let role = Role::parse(&b.role).ok_or_else(|| {
        Problem::bad_request(
            "Bad role",
            format!(
                "`{}` is not a role (viewer, scanner, policy-editor, admin)",
                b.role
            ),
        )
    })?;
    change_member(&core, &caller, &id, kind, &name, Some(role))?;
    Ok(axum::Json(serde_json::json!({
        "tenant": id, "kind": kind.as_str(), "name": name, "role": role.as_str(),
    }))
    .into_response())
}

/// `DELETE /tenants/{id}/members/{kind}/{name}`: ends a membership.
pub(crate) async fn remove_member(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((id, kind, name)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    managed(&caller, &id)?;
    let kind = Kind::parse(&kind)
        .ok_or_else(|| Problem::not_found("No such kind", "principals are `client` or `user`"))?;
    change_member(&core, &caller, &id, kind, &name, None)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn change_member(
    core: &Core,
    caller: &Caller,
    tenant: &str,
    kind: Kind,
    name: &str,
    role: Option<Role>,
) -> Result<(), Problem> {
    let mut guard = core.principals.write().map_err(internal)?;
    let mut dir = guard.clone();
    let Some(p) = dir.get(kind, name) else {
        return Err(Problem::not_found(
            "No such principal",
            format!(
                "no {} `{}`",
                kind.as_str(),
                name.chars().take(64).collect::<String>()
            ),
        ));
    };
    if role.is_none() && p.role_in(tenant).is_none() {
        return Err(Problem::not_found(
            "Not a member",
            format!("`{}` does not belong to `{tenant}`", p.subject()),
        ));
    }
    let subject = p.subject();
    dir.set_role(kind, name, tenant, role).map_err(invalid)?;
    store_directory(core, &mut guard, dir)?;
    drop(guard);
    let detail = format!(
        "{subject} in {tenant}: {}",
        role.map_or("removed", Role::as_str)
    );
    let mut e = crate::Audit::by(caller, "tenant.member", &detail);
    e.tenant = Some(tenant);
    let t = stella_store::Tenant::new(tenant).map_err(internal)?;
    let _ = core.store.audit(Some(&t), &e.encode());
    Ok(())
}
