//! `POST /api/v1/ouk`: an Offline Update Kit uploaded to a running Core — verified against
//! the kit keys Core was started with, its DB swapped in atomically, scans served throughout.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};

use crate::Core;
use crate::auth::Caller;
use crate::problem::{Problem, internal};

#[derive(serde::Deserialize)]
pub(crate) struct OukQuery {
    /// Install a kit older than the DB in use (a deliberate rollback).
    force: Option<bool>,
}

/// Verifies and installs the kit in the body (installation admin).
pub(crate) async fn import(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<OukQuery>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    if core.config.kit_keys.is_empty() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "No kit keys",
            "this Core trusts no kit signing key; start it with --kit-key PUBLIC.pem (docs/air-gap.md)",
        ));
    }
    let c = core.clone();
    let force = q.force.unwrap_or(false);
    let r = tokio::task::spawn_blocking(move || {
        let keys = c
            .config
            .kit_keys
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| internal(format!("{}: {e}", p.display())))?;
                stella_attest::PublicKey::from_pem(&text)
                    .map_err(|e| internal(format!("{}: {e}", p.display())))
            })
            .collect::<Result<Vec<_>, Problem>>()?;
        // the upload goes to a file of its own in the data directory, gone afterwards
        let tmp = c
            .config
            .data
            .join(format!(".ouk-upload-{}.tar", crate::unique_suffix()));
        std::fs::write(&tmp, &body).map_err(internal)?;
        let result = stella_ouk::import_db(
            &tmp,
            &keys,
            &c.config.db,
            c.config.installation.as_deref(),
            force,
        );
        let _ = std::fs::remove_file(&tmp);
        let imported = result.map_err(|e| {
            let why = e.to_string();
            let why = why
                .split_once(": ")
                .map_or(why.as_str(), |(_, w)| w)
                .to_string();
            match e {
                stella_ouk::Error::Refused { .. } => Problem::new(
                    StatusCode::CONFLICT,
                    "Kit refused",
                    format!("{why}; the DB in use stays"),
                ),
                stella_ouk::Error::Io { .. } => internal(why),
                _ => Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Kit refused",
                    format!("{why}; the DB in use stays"),
                ),
            }
        })?;
        // loaded now, not at the file watch's next look
        let (digest, built) = c.install_db(&c.config.db).map_err(internal)?;
        Ok::<_, Problem>((imported, digest, built))
    })
    .await
    .map_err(internal)??;
    let (imported, digest, built) = r;
    core.audit_installation(
        &caller,
        "ouk.import",
        &format!(
            "{digest} built {built} signed by {}{}",
            imported.verified.key.get(..16).unwrap_or(""),
            if imported.changed {
                ""
            } else {
                " (already installed)"
            }
        ),
    );
    Ok(axum::Json(serde_json::json!({
        "built": built,
        "digest": digest,
        "changed": imported.changed,
        "previous": imported.replaced,
        "signedBy": imported.verified.key,
        "created": imported.verified.manifest.created,
    }))
    .into_response())
}
