//! Core's Attestor: a signing key it keeps (sealed under the KEK, rotated like its token
//! keys, public halves published) and `POST /api/v1/attest`, which signs a stored scan
//! result of the caller's tenant as an in-toto attestation.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};
use stella_attest::{Algorithm, Bundle, Envelope, IN_TOTO_PAYLOAD_TYPE, SigningKey, predicate};

use crate::auth::Caller;
use crate::problem::{Problem, internal};
use crate::{Core, scan::check_id};

/// Where the attestation keys live in the store (sealed).
const ATTEST_KEYS_DOC: &str = "attest/keys";

#[derive(Serialize, Deserialize)]
struct StoredKey {
    /// PKCS#8 PEM.
    pem: String,
    /// Unix seconds.
    created: u64,
}

#[derive(Serialize, Deserialize, Default)]
struct StoredKeys {
    /// Oldest first; the last one signs.
    keys: Vec<StoredKey>,
}

impl Core {
    /// The attestation keys, created (one ECDSA P-256 key) on first use. Read from the store
    /// each time: a rotation by any replica counts at once, and signing is not a hot path.
    fn attest_keys(&self) -> Result<Vec<(SigningKey, u64)>, Problem> {
        let stored = match self
            .store
            .get_doc(ATTEST_KEYS_DOC)
            .map_err(crate::problem::store)?
        {
            Some(b) => b,
            None => {
                let first = new_keys(StoredKeys::default())?;
                let sealed = self.seal_keys(&first)?;
                // replicas creating it together: the one stored first is everyone's
                if !self
                    .store
                    .create_doc(ATTEST_KEYS_DOC, &sealed)
                    .map_err(crate::problem::store)?
                {
                    self.store
                        .get_doc(ATTEST_KEYS_DOC)
                        .map_err(crate::problem::store)?
                        .ok_or_else(|| internal("the stored attestation keys vanished"))?
                } else {
                    sealed
                }
            }
        };
        let plain = self.kek.open(ATTEST_KEYS_DOC, &stored).map_err(internal)?;
        let keys: StoredKeys = serde_json::from_slice(&plain).map_err(internal)?;
        keys.keys
            .iter()
            .map(|k| Ok((SigningKey::from_pem(&k.pem).map_err(internal)?, k.created)))
            .collect()
    }

    fn seal_keys(&self, keys: &StoredKeys) -> Result<Vec<u8>, Problem> {
        self.kek
            .seal(
                ATTEST_KEYS_DOC,
                &serde_json::to_vec(keys).map_err(internal)?,
            )
            .map_err(internal)
    }
}

fn new_keys(mut keys: StoredKeys) -> Result<StoredKeys, Problem> {
    let k = SigningKey::generate(Algorithm::EcdsaP256).map_err(internal)?;
    keys.keys.push(StoredKey {
        pem: k.to_pem().map_err(internal)?,
        created: crate::auth::now_secs(),
    });
    Ok(keys)
}

fn key_json(k: &SigningKey, created: u64, active: bool) -> serde_json::Value {
    serde_json::json!({
        "keyId": k.public().key_id(),
        "algorithm": k.public().algorithm().name(),
        "publicKey": k.public().to_pem(),
        "created": stella_sbom::rfc3339(created as i64),
        "active": active,
    })
}

/// `GET /api/v1/attest/keys` (public): the keys Core's attestations verify with, newest last.
pub(crate) async fn keys(State(core): State<Arc<Core>>) -> Result<Response, Problem> {
    let c = core.clone();
    let keys = tokio::task::spawn_blocking(move || c.attest_keys())
        .await
        .map_err(internal)??;
    let n = keys.len();
    let list: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, (k, created))| key_json(k, *created, i + 1 == n))
        .collect();
    Ok((
        [(header::CACHE_CONTROL, "max-age=300")],
        axum::Json(serde_json::json!({ "keys": list })),
    )
        .into_response())
}

/// `POST /api/v1/attest/keys/rotate` (installation admin): sign with a new key from now on;
/// earlier keys stay published, so what they signed keeps verifying.
pub(crate) async fn rotate(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    let c = core.clone();
    let key = tokio::task::spawn_blocking(move || {
        // the current set (created if need be), then one more key
        let current = c.attest_keys()?;
        let stored = StoredKeys {
            keys: current
                .iter()
                .map(|(k, created)| {
                    Ok(StoredKey {
                        pem: k.to_pem().map_err(internal)?,
                        created: *created,
                    })
                })
                .collect::<Result<_, Problem>>()?,
        };
        let next = new_keys(stored)?;
        c.store
            .put_doc(ATTEST_KEYS_DOC, &c.seal_keys(&next)?)
            .map_err(crate::problem::store)?;
        let last = next.keys.last().ok_or_else(|| internal("no key"))?;
        let k = SigningKey::from_pem(&last.pem).map_err(internal)?;
        Ok::<_, Problem>(key_json(&k, last.created, true))
    })
    .await
    .map_err(internal)??;
    core.audit_installation(
        &caller,
        "attest.key.rotate",
        key["keyId"].as_str().unwrap_or(""),
    );
    Ok(axum::Json(key).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AttestRequest {
    /// The stored scan to sign.
    scan: String,
    /// `vuln` (the scan result and verdict) or `slsa` (provenance of the scan result).
    #[serde(default = "vuln", rename = "type")]
    kind: String,
}

fn vuln() -> String {
    "vuln".into()
}

#[derive(Deserialize)]
pub(crate) struct AttestQuery {
    /// `dsse` (default) or `bundle`.
    format: Option<String>,
}

/// `POST /api/v1/attest`: Core's signature over a stored scan of the caller's tenant — its
/// scan-result predicate (`vuln`) or SLSA provenance of the result (`slsa`) — as a DSSE
/// envelope or a Sigstore bundle (`?format=bundle`).
pub(crate) async fn attest(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<AttestQuery>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    caller.require(stella_auth::Action::Scan)?;
    let req: AttestRequest = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(
            "Not an attestation request",
            format!("{e}; send {{\"scan\": \"<scan id>\", \"type\": \"vuln\"|\"slsa\"}}"),
        )
    })?;
    check_id(&req.scan)?;
    let bundle = match q.format.as_deref() {
        None | Some("dsse") => false,
        Some("bundle") => true,
        Some(f) => {
            return Err(Problem::bad_request(
                "Unknown format",
                format!("`{f}`: use dsse or bundle"),
            ));
        }
    };
    if !matches!(req.kind.as_str(), "vuln" | "slsa") {
        return Err(Problem::bad_request(
            "Unknown attestation type",
            format!(
                "`{}`: Core signs `vuln` (a scan result) and `slsa` (its provenance); sign SBOMs with `stella attest sign --type sbom`",
                req.kind
            ),
        ));
    }
    let c = core.clone();
    let tenant = caller.tenant().clone();
    let id = req.scan.clone();
    let kind = req.kind.clone();
    let (text, key_id, subject) = tokio::task::spawn_blocking(move || {
        let Some(stored) = c.store.get_scan(&tenant, &id).map_err(crate::problem::store)? else {
            return Err(Problem::not_found(
                "No such scan",
                format!("there is no stored scan `{id}` in this tenant"),
            ));
        };
        let report: serde_json::Value = serde_json::from_slice(&stored).map_err(internal)?;
        // the DB's digest only when the DB loaded now is the one the scan used
        let db = c.db.read().map_err(internal)?.clone();
        let db_digest = (report.pointer("/db/built").and_then(|b| b.as_str())
            == Some(db.manifest().built.as_str()))
        .then(|| format!("sha256:{}", db.digest()));
        let (statement, subject) = if kind == "vuln" {
            let ctx = predicate::ScanContext {
                scanner_version: env!("CARGO_PKG_VERSION").to_string(),
                db_digest,
                policy_digest: None,
            };
            let subject = predicate::report_subject(&report).ok_or_else(|| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Nothing to name the attestation by",
                    "the report's target has no digest to name it by (an SBOM or a directory): scans of SBOMs without an image digest are signed by the CLI (`stella attest sign --type vuln --subject NAME@sha256:HEX`)",
                )
            })?;
            let st = predicate::scan_statement(&report, Some(subject.clone()), &ctx)
                .map_err(internal)?;
            (st, subject)
        } else {
            let subject = stella_attest::Subject::sha256(
                &format!("stella-scan-{id}.json"),
                &stella_attest::sha256_hex(&stored),
            );
            let mut deps = Vec::new();
            if let Some(d) = &db_digest {
                deps.push(predicate::Dependency {
                    name: "stella-db".into(),
                    uri: None,
                    sha256: d.clone(),
                });
            }
            let p = predicate::slsa_provenance(
                env!("CARGO_PKG_VERSION"),
                serde_json::json!({
                    "target": report.get("target").cloned().unwrap_or_default(),
                    "scanId": id,
                }),
                &deps,
                None,
                report.get("createdAt").and_then(|t| t.as_str()),
            );
            let st = stella_attest::Statement::encode(
                std::slice::from_ref(&subject),
                predicate::SLSA_PROVENANCE_V1,
                &serde_json::to_vec(&p).map_err(internal)?,
            )
            .map_err(internal)?;
            (st, subject)
        };
        let keys = c.attest_keys()?;
        let (key, _) = keys.last().ok_or_else(|| internal("no attestation key"))?;
        let e = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement, &[key]).map_err(internal)?;
        let subject = format!(
            "{}@sha256:{}",
            subject.name,
            subject.digest.get("sha256").cloned().unwrap_or_default()
        );
        let text = if bundle {
            Bundle::new(e, key.public()).to_json()
        } else {
            e.to_json()
        };
        Ok((text, key.public().key_id().to_string(), subject))
    })
    .await
    .map_err(internal)??;
    core.audit(
        &caller,
        "attest",
        &format!(
            "{} of scan {} ({subject}) with key {}",
            req.kind,
            req.scan,
            &key_id[..16]
        ),
    );
    let ct = if bundle {
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    } else {
        "application/vnd.dsse.envelope.v1+json"
    };
    Ok(([(header::CONTENT_TYPE, ct)], text).into_response())
}
