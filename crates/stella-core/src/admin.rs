//! Managing who may call a running Core (admin scope): clients and users, and key rotation —
//! what `stella token` does on a stopped Core's data directory.
//!
//! Traps: secrets are shown once, in the answer that creates them, and kept only as argon2
//! hashes; argon2 runs on the blocking pool; a change is stored before it takes effect, and
//! the directory in memory is replaced only when the store took it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use stella_auth::Kind;

use crate::Core;
use crate::auth::Caller;
use crate::identity::{DIRECTORY_DOC, KEYRING_DOC};
use crate::problem::{Problem, internal};

fn parse_kind(s: &str) -> Result<Kind, Problem> {
    Kind::parse(s).ok_or_else(|| {
        Problem::not_found(
            "No such kind",
            "principals are `client` or `user`: /api/v1/principals/client/NAME",
        )
    })
}

/// `GET /principals`
pub(crate) async fn list(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    let dir = core.principals.read().map_err(internal)?;
    let list: Vec<serde_json::Value> = dir
        .iter()
        .map(|p| {
            serde_json::json!({
                "kind": p.kind.as_str(),
                "name": p.name,
                "scopes": p.scopes,
                "tier": p.tier,
                "maxScansPerDay": p.max_scans_per_day,
                "tid": p.tid,
                "created": stella_sbom::rfc3339(p.created as i64),
                "disabled": p.disabled,
                "tenants": p.memberships().into_iter().map(|(t, r)| (t, r.as_str())).collect::<std::collections::BTreeMap<_, _>>(),
                "installationAdmin": p.is_installation_admin(),
            })
        })
        .collect();
    Ok(axum::Json(serde_json::json!({ "principals": list })).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewPrincipal {
    kind: String,
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
    tier: Option<String>,
    max_scans_per_day: Option<u32>,
    /// Users only: the password (12+ characters).
    password: Option<String>,
    /// Tenant id → role (`viewer`, `scanner`, `policy-editor`, `admin`); default: the
    /// default tenant, as an admin limited by the scopes.
    tenants: Option<std::collections::BTreeMap<String, String>>,
    /// Whether it administers the installation (default: whether it has the `admin` scope
    /// and no tenants were given).
    installation_admin: Option<bool>,
}

/// `POST /principals`: a client (its secret is in the answer, once) or a user.
pub(crate) async fn add(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    let req: NewPrincipal = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(
            "Bad request",
            format!("expected {{\"kind\": \"client\"|\"user\", \"name\", \"scopes\", \"tier\", \"maxScansPerDay\", \"password\" (users), \"tenants\": {{\"ID\": \"ROLE\"}}, \"installationAdmin\"}}: {e}"),
        )
    })?;
    let Some(kind) = Kind::parse(&req.kind) else {
        return Err(Problem::bad_request(
            "Bad kind",
            format!("`{}`: use client or user", req.kind),
        ));
    };
    if kind == Kind::User && req.password.is_none() {
        return Err(Problem::bad_request(
            "No password",
            "a user needs a password",
        ));
    }
    if kind == Kind::Client && req.password.is_some() {
        return Err(Problem::bad_request(
            "Unexpected password",
            "clients get a generated secret; leave out password",
        ));
    }
    let scopes = if req.scopes.is_empty() {
        vec!["scan".to_string()]
    } else {
        req.scopes.clone()
    };
    let tenants = match &req.tenants {
        None => None,
        Some(t) => {
            let mut out = std::collections::BTreeMap::new();
            for (id, role) in t {
                let role = stella_auth::Role::parse(role).ok_or_else(|| {
                    Problem::bad_request(
                        "Bad role",
                        format!("`{role}` is not a role (viewer, scanner, policy-editor, admin)"),
                    )
                })?;
                out.insert(id.clone(), role);
            }
            Some(out)
        }
    };
    let install = req
        .installation_admin
        .unwrap_or(tenants.is_none() && scopes.iter().any(|s| s == "admin"));
    let c = core.clone();
    let name = req.name.clone();
    let secret = tokio::task::spawn_blocking(move || {
        // the write lock for the whole change: two admins adding at once both land
        let mut guard = c.principals.write().map_err(internal)?;
        let mut dir = guard.clone();
        let secret = dir
            .add(
                kind,
                &req.name,
                req.password.as_deref(),
                &scopes,
                req.tier.as_deref().unwrap_or("Free"),
                req.max_scans_per_day.unwrap_or(333),
                crate::auth::now_secs(),
            )
            .map_err(|e| match e {
                stella_auth::Error::Invalid(m) if m.contains("exists already") => {
                    Problem::new(StatusCode::CONFLICT, "Exists", m)
                }
                other => Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid principal",
                    other.to_string(),
                ),
            })?;
        let unprocessable = |e: stella_auth::Error| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid principal",
                e.to_string(),
            )
        };
        if let Some(t) = &tenants {
            dir.set_memberships(kind, &req.name, t)
                .map_err(unprocessable)?;
        }
        dir.set_installation_admin(kind, &req.name, install)
            .map_err(unprocessable)?;
        c.store
            .put_doc(DIRECTORY_DOC, &dir.to_json())
            .map_err(crate::problem::store)?;
        *guard = dir;
        Ok::<_, Problem>(secret)
    })
    .await
    .map_err(internal)??;
    core.audit_installation(&caller, "principal.add", &name);
    let mut v = serde_json::json!({ "kind": kind.as_str(), "name": name });
    if kind == Kind::Client {
        v["clientSecret"] = secret.into();
    }
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// `DELETE /principals/{kind}/{name}`
pub(crate) async fn remove(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    let kind = parse_kind(&kind)?;
    let mut guard = core.principals.write().map_err(internal)?;
    let mut dir = guard.clone();
    if !dir.remove(kind, &name) {
        let shown: String = name.chars().take(64).collect();
        return Err(Problem::not_found(
            "No such principal",
            format!("no {} `{shown}`", kind.as_str()),
        ));
    }
    core.store
        .put_doc(DIRECTORY_DOC, &dir.to_json())
        .map_err(crate::problem::store)?;
    *guard = dir;
    drop(guard);
    core.audit_installation(&caller, "principal.remove", &name);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /principals/{kind}/{name}/unlock`: forgets the failed logins of a principal, from
/// every address (counts of an address over all names stay until they expire).
pub(crate) async fn unlock(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    let kind = parse_kind(&kind)?;
    if core
        .principals
        .read()
        .map_err(internal)?
        .get(kind, &name)
        .is_none()
    {
        return Err(Problem::not_found(
            "No such principal",
            format!(
                "no {} `{}`",
                kind.as_str(),
                name.chars().take(64).collect::<String>()
            ),
        ));
    }
    let subject = format!("{}:{name}", kind.as_str());
    core.store
        .login_reset_principal(&subject)
        .map_err(crate::problem::store)?;
    core.audit_installation(&caller, "principal.unlock", &subject);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
pub(crate) struct RotateParams {
    /// Also drop every earlier key: the tokens they signed stop counting at once.
    revoke: Option<bool>,
}

/// `POST /keys/rotate[?revoke=true]`: a new key signs from now on; earlier tokens stay valid.
pub(crate) async fn rotate(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<RotateParams>,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    let revoke = q.revoke.unwrap_or(false);
    let mut guard = core.keys.write().map_err(internal)?;
    let mut keys = guard.clone();
    keys.rotate(crate::auth::now_secs()).map_err(internal)?;
    let revoked = if revoke { keys.revoke_retired() } else { 0 };
    core.store
        .put_doc(
            KEYRING_DOC,
            &crate::identity::seal_keyring(&core.kek, &keys).map_err(internal)?,
        )
        .map_err(crate::problem::store)?;
    let kid = keys
        .keys()
        .last()
        .map(|k| k.kid.clone())
        .unwrap_or_default();
    *guard = keys;
    drop(guard);
    if revoke {
        // tokens verified lately must be checked again against the keys left
        core.verified.clear();
    }
    let detail = if revoke {
        format!("{kid} (earlier keys revoked: {revoked})")
    } else {
        kid.clone()
    };
    core.audit_installation(&caller, "key.rotate", &detail);
    Ok(axum::Json(serde_json::json!({ "kid": kid, "revoked": revoked })).into_response())
}
