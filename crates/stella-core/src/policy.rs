//! The policy Core judges with: versions kept in the store (`stella_policy::history`), mutes
//! made through the API, and the `/policy` routes.
//!
//! Traps: a policy that does not load is refused (422 with line and column) and the active one
//! stays; API mutes live beside the versioned policy (a mute is not a new policy version) and
//! are merged into it for every scan; the set scans use is rebuilt on every change and swapped
//! whole, so a scan never sees half a change.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use stella_auth::Action;
use stella_policy::history::History;

use crate::auth::Caller;
use crate::problem::{Problem, internal};
use crate::{Core, Error};
use stella_store::Tenant;

const HISTORY_DOC: &str = "policy/history";
const MUTES_DOC: &str = "policy/mutes";

/// Where a tenant's policy history is stored (the default tenant's where it always was).
fn history_doc(tenant: &Tenant) -> String {
    if tenant.is_default() {
        HISTORY_DOC.to_string()
    } else {
        format!("tenants/{tenant}/{HISTORY_DOC}")
    }
}

/// Where a tenant's API mutes are stored.
fn mutes_doc(tenant: &Tenant) -> String {
    if tenant.is_default() {
        MUTES_DOC.to_string()
    } else {
        format!("tenants/{tenant}/{MUTES_DOC}")
    }
}

/// Every tenant's policy state, loaded on first use; each is swapped whole on a change.
#[derive(Debug, Default)]
pub(crate) struct Policies {
    pub(crate) states: std::sync::RwLock<std::collections::HashMap<Tenant, Arc<PolicyState>>>,
    /// One change at a time (they read, change and store a tenant's documents).
    pub(crate) changing: std::sync::Mutex<()>,
}

/// A mute made through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct MuteEntry {
    #[serde(default)]
    id: String,
    vulnerability: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    package: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until: Option<String>,
    reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<String>,
}

/// The policy state.
#[derive(Debug, Default)]
pub(crate) struct PolicyState {
    pub(crate) history: History,
    pub(crate) mutes: Vec<MuteEntry>,
    /// What scans use: the active version with the API mutes.
    pub(crate) effective: Option<Arc<stella_policy::PolicySet>>,
    /// Identifies what scans use (active version, mutes) the same way in every replica.
    pub(crate) fingerprint: [u8; 32],
}

/// SHA-256 of the active version's number (versions are never rewritten) and the mutes.
fn fingerprint(history: &History, mutes: &[MuteEntry]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(history.active().map_or(0, |v| v.version).to_le_bytes());
    h.update(serde_json::to_vec(mutes).unwrap_or_default());
    h.finalize().into()
}

fn invalid(e: impl std::fmt::Display) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid policy",
        format!("{e}; the active policy was not changed"),
    )
}

/// Where a policy error is, for editors: `{source, line, column, message}` (line and column
/// 1-based, when known).
fn located(e: &stella_policy::Error) -> serde_json::Value {
    let stella_policy::Error::Invalid {
        source_name,
        line,
        column,
        message,
    } = e;
    serde_json::json!({ "source": source_name, "line": line, "column": column, "message": message })
}

/// A policy that does not load: `422` with the detail and the error's place.
fn invalid_policy(e: &stella_policy::history::HistoryError) -> Problem {
    let p = invalid(e);
    match e {
        stella_policy::history::HistoryError::Invalid(inner) => p.extend("error", located(inner)),
        _ => p,
    }
}

/// The policy of a tenant that has set none (and of a Core started without `--fail-on`):
/// written down in docs/policy.md. A critical or high finding that has a fix, or one known to
/// be exploited, fails the build; every other finding warns.
pub const DEFAULT_POLICY: &str = "version: 1
rules:
  - id: fixable-critical-or-high
    description: A critical or high vulnerability with a fixed version available fails the build
    action: deny
    when: { severity: \">= high\", fixAvailable: true }
    message: \"{vulnerabilityId} ({severity}) in {package} {version} is fixed in {fixedVersion}\"
  - id: known-exploited
    description: A vulnerability in CISA's Known Exploited Vulnerabilities catalogue fails the build
    action: deny
    when: { kev: true }
  - id: everything-else
    description: Every other finding is reported and warns
    action: warn
";

/// Builds the set scans use; `runner` runs the Rego parts. With no active version, the
/// built-in [`DEFAULT_POLICY`] decides when `builtin` (Core has no `--fail-on` of its own).
fn effective(
    history: &History,
    mutes: &[MuteEntry],
    runner: &stella_policy::rego::Runner,
    builtin: bool,
) -> Result<Option<stella_policy::PolicySet>, String> {
    let opts = stella_policy::LoadOptions::default();
    let mut set = match history.active() {
        Some(v) => v.load(&opts).map_err(|e| e.to_string())?,
        None if builtin => stella_policy::PolicySet {
            yaml: Some(
                stella_policy::Policy::from_yaml(DEFAULT_POLICY, "the default policy", &opts)
                    .map_err(|e| e.to_string())?,
            ),
            ..Default::default()
        },
        None if mutes.is_empty() => return Ok(None),
        None => stella_policy::PolicySet::default(),
    };
    if !mutes.is_empty() {
        let extra = mutes_policy(mutes)?;
        match &mut set.yaml {
            Some(p) => p.mutes.extend(extra.mutes),
            None => set.yaml = Some(extra),
        }
    }
    set.runner = runner.clone();
    Ok(Some(set))
}

impl Core {
    /// A draft policy as scans would use it: its YAML and Rego with `tenant`'s API mutes and
    /// the Rego runner; a draft that does not load is a 422 with the error's line.
    pub(crate) fn draft_set(
        &self,
        tenant: &Tenant,
        body: PolicyBody,
    ) -> Result<stella_policy::PolicySet, Problem> {
        let v = stella_policy::history::Version {
            version: 0,
            author: String::new(),
            created: String::new(),
            comment: None,
            yaml: body.yaml,
            rego: body.rego,
        };
        let mut set = v
            .load(&stella_policy::LoadOptions::default())
            .map_err(|e| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid policy",
                    e.to_string(),
                )
                .extend("error", located(&e))
            })?;
        let state = self.policy_state(tenant)?;
        if !state.mutes.is_empty() {
            let extra = mutes_policy(&state.mutes).map_err(internal)?;
            match &mut set.yaml {
                Some(p) => p.mutes.extend(extra.mutes),
                None => set.yaml = Some(extra),
            }
        }
        set.runner = self.config.rego_runner.clone();
        Ok(set)
    }
}

/// Evaluates a policy on a sample scan before it is stored: one that errs, runs past its time
/// or memory limits or crashes its sandbox is refused now, instead of failing every scan
/// later.
fn trial(set: &stella_policy::PolicySet) -> Result<(), Problem> {
    if set.rego.is_empty() {
        // YAML rules are checked completely when they load
        return Ok(());
    }
    let ctx = stella_policy::Context {
        today: crate::auth::now_secs() as i64 / 86_400,
        image: Some("registry.example.com/sample:1".into()),
        base_layers: Default::default(),
        target: serde_json::json!({"kind": "image", "reference": "registry.example.com/sample:1"}),
        sbom: serde_json::json!({"packages": 0, "types": {}}),
        coverage: Vec::new(),
    };
    stella_policy::evaluate_set(set, &mut [], &ctx)
        .map(|_| ())
        .map_err(|e| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Policy does not run",
                format!("the policy loads but fails when evaluated on a sample scan: {e}; the active policy was not changed"),
            )
        })
}

/// The API mutes as a policy (so they are checked exactly as file mutes are).
fn mutes_policy(mutes: &[MuteEntry]) -> Result<stella_policy::Policy, String> {
    let list: Vec<serde_json::Value> = mutes
        .iter()
        .map(|m| {
            let mut v = serde_json::json!({ "vulnerability": m.vulnerability, "reason": m.reason });
            if let Some(p) = &m.package {
                v["package"] = p.clone().into();
            }
            if let Some(u) = &m.until {
                v["until"] = u.clone().into();
            }
            if let Some(b) = &m.by {
                v["by"] = b.clone().into();
            }
            if let Some(c) = &m.created {
                v["created"] = c.clone().into();
            }
            v
        })
        .collect();
    let doc = serde_json::json!({ "version": 1, "mutes": list });
    // JSON is YAML: the loader checks it like any policy file
    stella_policy::Policy::from_yaml(
        &doc.to_string(),
        "API mutes",
        &stella_policy::LoadOptions::default(),
    )
    .map_err(|e| e.to_string())
}

/// A stable id for a mute: its content, hashed (FNV-1a).
fn mute_id(m: &MuteEntry) -> String {
    let key = format!(
        "{}\0{}\0{}\0{}\0{}",
        m.vulnerability,
        m.package.as_deref().unwrap_or(""),
        m.until.as_deref().unwrap_or(""),
        m.reason,
        m.created.as_deref().unwrap_or("")
    );
    format!("m-{:016x}", stella_sbom::hash::Fnv64::of(key.as_bytes()))
}

impl Core {
    /// Loads the policy state from the store; `files` (from `stella serve --policy`) become a
    /// new version when they differ from the active one.
    pub(crate) fn load_policy(
        store: &stella_store::Store,
        tenant: &Tenant,
        files: &[(String, String)],
        runner: &stella_policy::rego::Runner,
        builtin: bool,
    ) -> Result<PolicyState, Error> {
        let bad = |m: String| Error::Io(format!("stored policy of the tenant `{tenant}`: {m}"));
        let mut history = match store.get_doc(&history_doc(tenant))? {
            Some(b) => serde_json::from_slice(&b).map_err(|e| bad(e.to_string()))?,
            None => History::default(),
        };
        let mutes: Vec<MuteEntry> = match store.get_doc(&mutes_doc(tenant))? {
            Some(b) => serde_json::from_slice(&b).map_err(|e| bad(e.to_string()))?,
            None => Vec::new(),
        };
        if !files.is_empty() {
            let mut yaml = None;
            let mut rego = BTreeMap::new();
            for (name, text) in files {
                if name.ends_with(".rego") {
                    rego.insert(name.clone(), text.clone());
                } else {
                    yaml = Some(text.clone());
                }
            }
            let same = history
                .active()
                .is_some_and(|v| v.yaml == yaml && v.rego == rego);
            if !same {
                history
                    .put(
                        "stella serve --policy",
                        &stella_sbom::now(),
                        Some("loaded from the command line"),
                        yaml.as_deref(),
                        rego,
                        &stella_policy::LoadOptions::default(),
                    )
                    .map_err(|e| Error::Io(e.to_string()))?;
                store.put_doc(&history_doc(tenant), history.export().as_bytes())?;
            }
        }
        let effective = effective(&history, &mutes, runner, builtin).map_err(bad)?;
        Ok(PolicyState {
            fingerprint: fingerprint(&history, &mutes),
            history,
            mutes,
            effective: effective.map(Arc::new),
        })
    }

    /// The set scans use now.
    /// Mutes (of the policy file and of the API) whose `until` is `day`: they stop applying
    /// today, which the scheduler reports.
    pub(crate) fn mutes_expiring(&self, tenant: &Tenant, day: &str) -> Vec<serde_json::Value> {
        let Ok(Some(set)) = self.active_policy(tenant) else {
            return Vec::new();
        };
        let Some(yaml) = &set.yaml else {
            return Vec::new();
        };
        yaml.mutes
            .iter()
            .filter(|m| {
                m.until
                    .as_ref()
                    .is_some_and(|u| u.as_str().starts_with(day))
            })
            .map(|m| {
                serde_json::json!({
                    "tenant": tenant.as_str(),
                    "vulnerability": m.vulnerability.patterns(),
                    "package": m.package.as_ref().map(|p| p.patterns()),
                    "until": m.until.as_ref().map(|u| u.as_str()),
                    "reason": m.reason,
                    "by": m.by,
                })
            })
            .collect()
    }

    /// The set `tenant`'s scans use now.
    pub(crate) fn active_policy(
        &self,
        tenant: &Tenant,
    ) -> Result<Option<Arc<stella_policy::PolicySet>>, Problem> {
        Ok(self.policy_state(tenant)?.effective.clone())
    }

    /// What identifies `tenant`'s policy in use (for reusing identical requests' results).
    pub(crate) fn policy_fingerprint(&self, tenant: &Tenant) -> Result<[u8; 32], Problem> {
        Ok(self.policy_state(tenant)?.fingerprint)
    }

    /// `tenant`'s policy state, loaded from the store on first use.
    pub(crate) fn policy_state(&self, tenant: &Tenant) -> Result<Arc<PolicyState>, Problem> {
        if let Some(s) = self.policy.states.read().map_err(internal)?.get(tenant) {
            return Ok(s.clone());
        }
        let state = Arc::new(
            Core::load_policy(
                &self.store,
                tenant,
                &[],
                &self.config.rego_runner,
                self.config.fail_on.is_none(),
            )
            .map_err(internal)?,
        );
        let mut all = self.policy.states.write().map_err(internal)?;
        Ok(all.entry(tenant.clone()).or_insert(state).clone())
    }

    /// Applies `change` to a copy of the state; stores and swaps it in only when the result
    /// loads.
    fn change_policy<T>(
        &self,
        caller: &Caller,
        action: &str,
        change: impl FnOnce(&mut History, &mut Vec<MuteEntry>) -> Result<T, Problem>,
    ) -> Result<T, Problem> {
        let tenant = caller.tenant();
        let _one = self.policy.changing.lock().map_err(internal)?;
        let state = self.policy_state(tenant)?;
        let mut history = state.history.clone();
        let mut mutes = state.mutes.clone();
        let out = change(&mut history, &mut mutes)?;
        let eff = effective(
            &history,
            &mutes,
            &self.config.rego_runner,
            self.config.fail_on.is_none(),
        )
        .map_err(invalid)?;
        if let Some(set) = &eff {
            trial(set)?;
        }
        self.store
            .put_doc(&history_doc(tenant), history.export().as_bytes())
            .map_err(crate::problem::store)?;
        self.store
            .put_doc(
                &mutes_doc(tenant),
                &serde_json::to_vec(&mutes).map_err(internal)?,
            )
            .map_err(crate::problem::store)?;
        let active = history.active().map_or(0, |v| v.version);
        let next = PolicyState {
            fingerprint: fingerprint(&history, &mutes),
            history,
            mutes,
            effective: eff.map(Arc::new),
        };
        self.policy
            .states
            .write()
            .map_err(internal)?
            .insert(tenant.clone(), Arc::new(next));
        self.audit(caller, action, &format!("active version {active}"));
        Ok(out)
    }
}

/// A policy in a request: YAML text, or `{yaml, rego: {name: text}, comment}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyBody {
    pub(crate) yaml: Option<String>,
    #[serde(default)]
    pub(crate) rego: BTreeMap<String, String>,
    comment: Option<String>,
}

pub(crate) fn policy_body(headers: &HeaderMap, body: &[u8]) -> Result<PolicyBody, Problem> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let text = std::str::from_utf8(body)
        .map_err(|_| Problem::bad_request("Bad policy", "the policy is not UTF-8 text"))?;
    if ct.starts_with("application/json") {
        let b: PolicyBody = serde_json::from_str(text).map_err(|e| {
            Problem::bad_request(
                "Bad request",
                format!("expected {{\"yaml\": \"…\", \"rego\": {{\"name.rego\": \"…\"}}, \"comment\": \"…\"}}: {e}"),
            )
        })?;
        if let Some(bad) = b
            .rego
            .keys()
            .find(|k| !k.ends_with(".rego") || k.contains('/'))
        {
            return Err(Problem::bad_request(
                "Bad request",
                format!("`{bad}`: Rego files are named NAME.rego"),
            ));
        }
        if b.yaml.is_none() && b.rego.is_empty() {
            return Err(Problem::bad_request(
                "Empty policy",
                "give `yaml`, `rego` or both",
            ));
        }
        Ok(b)
    } else {
        if text.trim().is_empty() {
            return Err(Problem::bad_request(
                "Empty policy",
                "send the YAML policy as the body (or JSON with yaml and rego)",
            ));
        }
        Ok(PolicyBody {
            yaml: Some(text.to_string()),
            rego: BTreeMap::new(),
            comment: None,
        })
    }
}

fn version_json(v: &stella_policy::history::Version) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// `GET /policy`
pub(crate) async fn get_policy(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    caller.require(Action::Read)?;
    let state = core.policy_state(caller.tenant())?;
    match state.history.active() {
        Some(v) => Ok(axum::Json(version_json(v)).into_response()),
        None if core.config.fail_on.is_none() => Err(Problem::not_found(
            "No policy",
            "no policy is set, so the built-in default decides (fixable critical and high findings and known-exploited ones fail, the rest warn; GET /api/v1/policy/default shows it); PUT one to /api/v1/policy",
        )),
        None => Err(Problem::not_found(
            "No policy",
            "no policy is set: verdicts follow Core's --fail-on; PUT one to /api/v1/policy",
        )),
    }
}

/// `GET /policy/default`: the built-in policy that decides while a tenant has set none.
pub(crate) async fn default_policy(
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    caller.require(Action::Read)?;
    Ok(([(header::CONTENT_TYPE, "application/yaml")], DEFAULT_POLICY).into_response())
}

/// `PUT /policy`: records a new version and makes it active.
pub(crate) async fn put_policy(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Action::Policy)?;
    let b = policy_body(&headers, &body)?;
    let who = caller.who();
    let v = core.change_policy(&caller, "policy.put", |h, _| {
        h.put(
            &who,
            &stella_sbom::now(),
            b.comment.as_deref(),
            b.yaml.as_deref(),
            b.rego,
            &stella_policy::LoadOptions::default(),
        )
        .map(version_json)
        .map_err(|e| invalid_policy(&e))
    })?;
    Ok((StatusCode::OK, axum::Json(v)).into_response())
}

/// `POST /policy/validate`: loads without recording.
pub(crate) async fn validate_policy(
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Action::Read)?;
    let b = policy_body(&headers, &body)?;
    let v = stella_policy::history::Version {
        version: 0,
        author: String::new(),
        created: String::new(),
        comment: None,
        yaml: b.yaml,
        rego: b.rego,
    };
    match v.load(&stella_policy::LoadOptions::default()) {
        Ok(_) => Ok(axum::Json(serde_json::json!({ "valid": true })).into_response()),
        Err(e) => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid policy",
            e.to_string(),
        )
        .extend("error", located(&e))),
    }
}

#[derive(Deserialize)]
pub(crate) struct HistoryParams {
    from: Option<u64>,
    to: Option<u64>,
}

/// `GET /policy/history` (with `?from=A&to=B`: the diff between two versions).
pub(crate) async fn history(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<HistoryParams>,
) -> Result<Response, Problem> {
    caller.require(Action::Read)?;
    let state = core.policy_state(caller.tenant())?;
    let h = &state.history;
    if let (Some(from), Some(to)) = (q.from, q.to) {
        let diff = h
            .diff(from, to)
            .map_err(|e| Problem::not_found("No such version", e.to_string()))?;
        return Ok(
            axum::Json(serde_json::json!({ "from": from, "to": to, "diff": diff })).into_response(),
        );
    }
    let versions: Vec<serde_json::Value> = h
        .versions
        .iter()
        .map(|v| {
            serde_json::json!({
                "version": v.version, "author": v.author, "created": v.created, "comment": v.comment,
            })
        })
        .collect();
    Ok(axum::Json(serde_json::json!({
        "active": h.active().map(|v| v.version),
        "versions": versions,
        "activations": h.activations,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActivateBody {
    version: u64,
}

/// `POST /policy/activate`: roll back (or forward) to a recorded version.
pub(crate) async fn activate(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Action::Policy)?;
    let b: ActivateBody = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request("Bad request", format!("expected {{\"version\": N}}: {e}"))
    })?;
    let who = caller.who();
    core.change_policy(&caller, "policy.activate", |h, _| {
        h.activate(b.version, &who, &stella_sbom::now())
            .map_err(|e| Problem::not_found("No such version", e.to_string()))
    })?;
    Ok(axum::Json(serde_json::json!({ "active": b.version })).into_response())
}

/// `POST /policy/mute`
pub(crate) async fn mute(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Action::Policy)?;
    let bad = |e: String| {
        Problem::bad_request(
            "Bad mute",
            format!(
                "expected {{\"vulnerability\": \"CVE-…\", \"package\": \"pkg:…\", \"until\": \"YYYY-MM-DD\", \"reason\": \"…\", \"scanId\": \"(optional: the scan it is made from)\"}}: {e}"
            ),
        )
    };
    let mut raw: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    // the scan the mute is made from (the UI sends it): what it mutes there is reported
    let from_scan = match raw.as_object_mut().and_then(|o| o.remove("scanId")) {
        Some(serde_json::Value::String(s)) => Some(s),
        None | Some(serde_json::Value::Null) => None,
        Some(_) => return Err(bad("`scanId` is a scan id".into())),
    };
    let mut m: MuteEntry = serde_json::from_value(raw).map_err(|e| bad(e.to_string()))?;
    if m.by.is_none() {
        m.by = Some(caller.who());
    }
    m.created = Some(stella_sbom::now());
    m.id = mute_id(&m);
    // checked alone first, so the error names the mute and not the whole policy
    mutes_policy(std::slice::from_ref(&m))
        .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid mute", e))?;
    let entry = m.clone();
    core.change_policy(&caller, "policy.mute", move |_, mutes| {
        mutes.push(entry);
        Ok(())
    })?;
    let reach = {
        let c = core.clone();
        let (m, caller) = (m.clone(), caller.clone());
        tokio::task::spawn_blocking(move || mute_reach(&c, &caller, &m, from_scan.as_deref()))
            .await
            .map_err(internal)??
    };
    let mut v = serde_json::to_value(&m).map_err(internal)?;
    v["matches"] = reach;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// At most this many latest scans are checked for what a new mute mutes (the rest are
/// reported as not checked).
const MUTE_REACH_SCANS: usize = 500;

/// What a mute mutes: in the scan it was made from, or in the latest scan of each of the
/// tenant's images. A mute that mutes nothing says so, with what to check.
fn mute_reach(
    core: &Core,
    caller: &Caller,
    m: &MuteEntry,
    from_scan: Option<&str>,
) -> Result<serde_json::Value, Problem> {
    let policy = mutes_policy(std::slice::from_ref(m))
        .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid mute", e))?;
    let tenant = caller.tenant();
    // the scan it was made from when that is a stored scan (a queued scan's page may name
    // its job), else the latest scan of each image; each read once
    let named = match from_scan {
        Some(id) => core
            .store
            .get_scan(tenant, id)
            .map_err(crate::problem::store)?,
        None => None,
    };
    let from_scan = from_scan.filter(|_| named.is_some());
    let ids: Vec<String> = match from_scan {
        Some(_) => Vec::new(),
        None => core
            .store
            .inputs(tenant)
            .map_err(crate::problem::store)?
            .into_iter()
            .map(|(_, id)| id)
            .collect(),
    };
    let today = crate::auth::now_secs() as i64 / 86_400;
    let (mut scans, mut findings, mut images) = (0usize, 0usize, Vec::new());
    let stored = named.into_iter().map(Ok).chain(
        ids.iter()
            .take(MUTE_REACH_SCANS)
            .filter_map(|id| core.store.get_scan(tenant, id).transpose()),
    );
    for bytes in stored {
        let bytes = bytes.map_err(crate::problem::store)?;
        let Ok(mut report) = serde_json::from_slice::<stella_report::Report>(&bytes) else {
            continue;
        };
        scans += 1;
        let ctx = stella_policy::Context {
            today,
            ..Default::default()
        };
        stella_policy::evaluate(&policy, &mut report.findings, &ctx);
        let n = report
            .findings
            .iter()
            .filter(|f| f.policy.as_ref().is_some_and(|p| p.action == "muted"))
            .count();
        if n > 0 {
            findings += n;
            images.push(report.target.reference.clone());
        }
    }
    images.sort();
    images.dedup();
    let mut v = serde_json::json!({
        "scans": scans,
        "findings": findings,
        "images": images,
    });
    if ids.len() > MUTE_REACH_SCANS {
        v["notChecked"] = (ids.len() - MUTE_REACH_SCANS).into();
    }
    if findings == 0 {
        v["warning"] = format!(
            "this mute matches no finding {}: check the vulnerability id and the package (a purl without a version names every version: `pkg:pypi/urllib3`)",
            if from_scan.is_some() { "of the scan it was made from" } else { "in the latest scan of any image" }
        )
        .into();
    }
    Ok(v)
}

/// `GET /policy/mutes`
pub(crate) async fn mutes(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    caller.require(Action::Read)?;
    let state = core.policy_state(caller.tenant())?;
    Ok(axum::Json(serde_json::json!({ "mutes": state.mutes })).into_response())
}

/// `DELETE /policy/mute/{id}`
pub(crate) async fn unmute(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    caller.require(Action::Policy)?;
    core.change_policy(&caller, "policy.unmute", |_, mutes| {
        let before = mutes.len();
        mutes.retain(|m| m.id != id);
        if mutes.len() == before {
            let shown: String = id.chars().take(40).collect();
            return Err(Problem::not_found(
                "No such mute",
                format!("no mute `{shown}`; list them with GET /api/v1/policy/mutes"),
            ));
        }
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /policy/export`: every version, the activations and the API mutes.
pub(crate) async fn export(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, Problem> {
    caller.require(Action::Read)?;
    let state = core.policy_state(caller.tenant())?;
    let mut v: serde_json::Value =
        serde_json::from_str(&state.history.export()).map_err(internal)?;
    v["mutes"] = serde_json::to_value(&state.mutes).map_err(internal)?;
    Ok(axum::Json(v).into_response())
}

/// `POST /policy/import`: replaces the history and mutes with an export (checked version by
/// version).
pub(crate) async fn import(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Action::Policy)?;
    let mut v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| Problem::bad_request("Bad export", format!("not JSON: {e}")))?;
    let imported_mutes: Vec<MuteEntry> = match v.as_object_mut().and_then(|o| o.remove("mutes")) {
        Some(m) => serde_json::from_value(m)
            .map_err(|e| Problem::bad_request("Bad export", format!("mutes: {e}")))?,
        None => Vec::new(),
    };
    let h =
        History::import(&v.to_string(), &stella_policy::LoadOptions::default()).map_err(invalid)?;
    let n = h.versions.len();
    core.change_policy(&caller, "policy.import", move |history, mutes| {
        *history = h;
        *mutes = imported_mutes;
        Ok(())
    })?;
    Ok(axum::Json(serde_json::json!({ "versions": n })).into_response())
}
