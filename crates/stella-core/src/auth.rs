//! Identity at the edge: bearer tokens checked on every protected route (and the quota
//! headers added to every answer, see `quota`), the OAuth2 token endpoint with its login
//! throttling, discovery and JWKS, offline tokens.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stella_auth::{Action, Claims, Kind, Role, Scope};
use stella_store::Tenant;

use crate::Core;
use crate::problem::{Problem, internal};
use crate::quota::{Admitted, Used};

thread_local! {
    /// The audit entry of a request refused while its caller was being worked out (set and
    /// taken on the same thread, with no await between).
    static REFUSED: std::cell::RefCell<Option<Vec<u8>>> = const { std::cell::RefCell::new(None) };
}

/// Anonymous callers (when enabled) get this many scans per day and address.
pub const ANONYMOUS_LIMIT: u32 = 33;

/// Who is calling, in which tenant, with what right there.
#[derive(Debug, Clone)]
pub struct Caller {
    who: Who,
    tenant: Tenant,
    /// The caller's role in `tenant` (an installation admin is an admin in every tenant).
    role: Role,
    installation_admin: bool,
    /// The client's address, for the audit log.
    address: Option<String>,
    /// `tenant`'s daily cap over all its tokens, if it has one.
    pub(crate) tenant_cap: Option<u32>,
}

/// The identity behind a request.
#[derive(Debug, Clone)]
pub enum Who {
    /// A verified token.
    Token(Arc<Claims>),
    /// No token, anonymous access enabled: counted per client address.
    Anonymous(String),
}

impl Caller {
    /// The quota account.
    pub fn tid(&self) -> String {
        match &self.who {
            Who::Token(c) => c.tid.clone(),
            Who::Anonymous(ip) => format!("anonymous:{ip}"),
        }
    }

    /// The tenant's quota counter: token ids are hex and anonymous ones start
    /// `anonymous:`, so no token's counter takes this key.
    pub fn tenant_key(&self) -> String {
        format!("tenant:{}", self.tenant.as_str())
    }

    /// The quotas an admission of this caller charges: the token's, then the tenant's cap.
    pub(crate) fn quotas<'a>(
        &self,
        tid: &'a str,
        tenant_key: &'a str,
    ) -> Vec<stella_store::Quota<'a>> {
        let mut q = vec![stella_store::Quota::new(tid, self.limit())];
        if let Some(cap) = self.tenant_cap {
            q.push(stella_store::Quota::new(tenant_key, cap));
        }
        q
    }

    /// Scans per UTC day.
    pub fn limit(&self) -> u32 {
        match &self.who {
            Who::Token(c) => c.max_scans_per_day,
            Who::Anonymous(_) => ANONYMOUS_LIMIT,
        }
    }

    /// Who, for the audit log.
    pub fn who(&self) -> String {
        match &self.who {
            Who::Token(c) => c.sub.clone(),
            Who::Anonymous(ip) => format!("anonymous@{ip}"),
        }
    }

    /// The token's claims (none for anonymous callers).
    pub fn claims(&self) -> Option<&Claims> {
        match &self.who {
            Who::Token(c) => Some(c),
            Who::Anonymous(_) => None,
        }
    }

    /// The tenant this request acts in.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// The caller's role in its tenant.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The client's address.
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// Whether the token grants `scope` (anonymous callers hold `scan` only).
    fn has_scope(&self, scope: Scope) -> bool {
        match &self.who {
            Who::Token(c) => c.has_scope(scope.as_str()),
            Who::Anonymous(_) => scope == Scope::Scan,
        }
    }

    /// Whether the caller administers the installation (and its token says so).
    pub fn is_installation_admin(&self) -> bool {
        self.installation_admin && self.has_scope(Scope::Admin)
    }

    /// Refuses with 403 unless the caller's role in its tenant allows `action` and its token
    /// holds the scope the action needs.
    pub fn require(&self, action: Action) -> Result<(), Problem> {
        if !self.role.allows(action) {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "Not allowed in this tenant",
                format!(
                    "`{}` is {} in the tenant `{}`, which may not {}; ask the tenant's admin for another role",
                    self.who(),
                    article(self.role.as_str()),
                    self.tenant,
                    match action {
                        Action::Read => "read",
                        Action::Scan => "scan",
                        Action::Policy => "change the policy or mutes",
                        Action::Manage => "manage the tenant",
                    }
                ),
            ));
        }
        match Role::scope_for(action) {
            Some(scope) if !self.has_scope(scope) => Err(insufficient(scope)),
            _ => Ok(()),
        }
    }

    /// Refuses with 403 unless the caller administers the installation.
    pub fn require_installation_admin(&self) -> Result<(), Problem> {
        if !self.has_scope(Scope::Admin) {
            return Err(insufficient(Scope::Admin));
        }
        if !self.installation_admin {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "Installation admins only",
                format!(
                    "`{}` does not administer this installation (tenants, keys, feeds and jobs are theirs)",
                    self.who()
                ),
            ));
        }
        Ok(())
    }
}

fn article(role: &str) -> String {
    if role.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {role}")
    } else {
        format!("a {role}")
    }
}

fn insufficient(scope: Scope) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "Insufficient scope",
        format!(
            "this needs the scope `{}`; ask an admin for a client that has it",
            scope.as_str()
        ),
    )
    .with(
        header::WWW_AUTHENTICATE,
        format!(
            "Bearer realm=\"stella\", error=\"insufficient_scope\", scope=\"{}\"",
            scope.as_str()
        ),
    )
}

fn unauthorized(detail: String, error: Option<&str>) -> Problem {
    let challenge = match error {
        Some(e) => format!(
            "Bearer realm=\"stella\", error=\"{e}\", error_description=\"{}\"",
            detail.replace(['"', '\\'], "'")
        ),
        None => "Bearer realm=\"stella\"".to_string(),
    };
    Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail)
        .with(header::WWW_AUTHENTICATE, challenge)
}

/// The tenant a request names: `X-Stella-Tenant`, else `?tenant=` (for event streams, which
/// browsers open without headers).
fn asked_tenant(headers: &HeaderMap, query: Option<&str>) -> Result<Option<Tenant>, Problem> {
    let from_query = || {
        query.and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "tenant")
                .map(|(_, v)| v.into_owned())
        })
    };
    let raw = match headers.get("x-stella-tenant") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| Problem::bad_request("Bad tenant", "X-Stella-Tenant is not text"))?
                .trim()
                .to_string(),
        ),
        None => from_query(),
    };
    raw.map(|t| Tenant::new(&t).map_err(|e| Problem::bad_request("Bad tenant", e.to_string())))
        .transpose()
}

/// The same answer whether the tenant does not exist or the caller is not in it: nobody
/// learns which tenants exist by asking.
fn not_member(who: &str, tenant: Option<&Tenant>) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "Not a member",
        format!(
            "{} do not belong to the tenant `{}`; ask its admin to add you, or name one of yours",
            if who.contains(':') {
                format!("`{who}`")
            } else {
                who.to_string()
            },
            tenant.map_or("?", Tenant::as_str)
        ),
    )
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Milliseconds since the epoch.
pub(crate) fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `YYYY-MM-DD` (UTC) of `secs`, and the next UTC midnight in seconds.
pub fn utc_day(secs: u64) -> (String, u64) {
    let day = stella_sbom::rfc3339(secs as i64)[..10].to_string();
    (day, (secs / 86_400 + 1) * 86_400)
}

impl Core {
    fn caller(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        peer: Option<SocketAddr>,
    ) -> Result<Caller, Problem> {
        let address = peer.map(|p| p.ip().to_string());
        let asked = asked_tenant(headers, query)?;
        let Some(h) = headers.get(header::AUTHORIZATION) else {
            if self.config.anonymous {
                if asked.as_ref().is_some_and(|t| !t.is_default()) {
                    return Err(not_member("anonymous callers", asked.as_ref()));
                }
                let ip = address.clone().unwrap_or_else(|| "unknown".to_string());
                let tenant = Tenant::default_tenant();
                return Ok(Caller {
                    who: Who::Anonymous(ip),
                    tenant_cap: self.tenant_cap(&tenant),
                    tenant,
                    role: Role::Scanner,
                    installation_admin: false,
                    address,
                });
            }
            return Err(unauthorized(
                "this route needs a bearer token: get one from POST /connect/token (client_credentials) and send `Authorization: Bearer TOKEN`".into(),
                None,
            ));
        };
        let token = h
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .ok_or_else(|| {
                unauthorized(
                    "the Authorization header must be `Bearer TOKEN`".into(),
                    Some("invalid_request"),
                )
            })?;
        let now = now_secs();
        let claims = match self.verified.get(token, now) {
            Some(c) => c,
            None => {
                let keys = self.keys.read().map_err(internal)?;
                let claims = keys
                    .verify(token, &self.config.issuer, now)
                    .map_err(|e| unauthorized(e.to_string(), Some("invalid_token")))?;
                let claims = Arc::new(claims);
                self.verified.put(token, claims.clone(), now);
                claims
            }
        };
        let asked_name = asked.as_ref().map(|t| t.as_str().to_string());
        let (tenant, role, installation_admin, tenant_cap) = match self.membership(&claims, asked) {
            Ok(m) => m,
            Err(p) => {
                if p.status == StatusCode::FORBIDDEN {
                    // a token reaching for a tenant it is not in: evidence for the
                    // installation's admins (the tenant may not exist, so not in its log)
                    self.refused_membership(&claims.sub, address.as_deref(), asked_name);
                }
                return Err(p);
            }
        };
        Ok(Caller {
            who: Who::Token(claims),
            tenant_cap,
            tenant,
            role,
            installation_admin,
            address,
        })
    }

    /// The installation-wide audit entry of a refused tenant (the tenant may not exist, so
    /// not in its log), kept until the middleware can write it off the request's thread.
    fn refused_membership(&self, who: &str, address: Option<&str>, tenant: Option<String>) {
        let detail = format!("tenant {}", tenant.as_deref().unwrap_or("?"));
        let entry = crate::Audit {
            who: who.to_string(),
            tenant: None,
            address,
            action: "access",
            detail: &detail,
            outcome: "denied",
        }
        .encode();
        REFUSED.with(|r| *r.borrow_mut() = Some(entry));
    }

    fn tenant_cap(&self, tenant: &Tenant) -> Option<u32> {
        self.principals.read().ok()?.tenant_cap(tenant.as_str())
    }

    /// A token counts only while its client or user does: removing (or disabling) one ends
    /// its tokens at once, and a principal added again under the same name does not revive
    /// tokens issued before it existed. Answers the tenant the token acts in (the one asked
    /// for, else its only one, else the default one), its role there and whether it
    /// administers the installation; a role taken away counts at once as well.
    fn membership(
        &self,
        claims: &Claims,
        asked: Option<Tenant>,
    ) -> Result<(Tenant, Role, bool, Option<u32>), Problem> {
        let (kind, name) = claims.sub.split_once(':').unwrap_or(("", ""));
        let gone = || {
            unauthorized(
                format!(
                    "`{}` was removed or disabled; its tokens no longer count (get a new one if it was added again)",
                    claims.sub.chars().take(80).collect::<String>()
                ),
                Some("invalid_token"),
            )
        };
        let Some(kind) = Kind::parse(kind) else {
            return Err(gone());
        };
        let principals = self.principals.read().map_err(internal)?;
        let p = match principals.get(kind, name) {
            Some(p) if !p.disabled && p.created <= claims.iat => p,
            _ => return Err(gone()),
        };
        let install = p.is_installation_admin();
        let tenant = match asked {
            Some(t) => t,
            None => match p.only_tenant() {
                Some(only) => Tenant::new(only).map_err(internal)?,
                None if p.role_in(stella_auth::DEFAULT_TENANT).is_some() => {
                    Tenant::default_tenant()
                }
                None if install => Tenant::default_tenant(),
                None => {
                    let m = p.memberships();
                    return Err(Problem::bad_request(
                        "Which tenant?",
                        format!(
                            "`{}` belongs to several tenants ({}); say which with the header `X-Stella-Tenant: ID` (`stella … --tenant ID`)",
                            claims.sub,
                            m.iter()
                                .map(|(t, _)| t.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            },
        };
        if !principals.has_tenant(tenant.as_str()) {
            return Err(not_member(&claims.sub, Some(&tenant)));
        }
        let role = match p.role_in(tenant.as_str()) {
            Some(r) => r,
            None if install => Role::Admin,
            None => return Err(not_member(&claims.sub, Some(&tenant))),
        };
        // the tenant's daily cap, read under the same lock
        let cap = principals.tenant_cap(tenant.as_str());
        Ok((tenant, role, install, cap))
    }
}

/// Tokens whose signature was checked in the last few minutes: a pipeline sends the same
/// token with every request, and an Ed25519 verification costs more than answering
/// `/layers/missing`. An entry is used only while the token has not expired (no leeway:
/// tokens near their expiry are checked in full again) and for at most
/// [`Verified::TTL_SECS`]; signatures never change, and keys are retired only long after
/// every token they signed has expired, so a cached verdict cannot go stale in between —
/// unless keys are revoked, which clears it (here and, on reload, in every replica).
#[derive(Debug, Default)]
pub(crate) struct Verified(std::sync::Mutex<std::collections::HashMap<Box<str>, VerifiedAt>>);

/// A token's claims and when its signature was checked.
type VerifiedAt = (Arc<Claims>, u64);

impl Verified {
    const TTL_SECS: u64 = 300;
    const MAX: usize = 4096;

    /// Forgets every token checked lately (keys were revoked).
    pub(crate) fn clear(&self) {
        if let Ok(mut m) = self.0.lock() {
            m.clear();
        }
    }

    fn get(&self, token: &str, now: u64) -> Option<Arc<Claims>> {
        let m = self.0.lock().ok()?;
        let (claims, at) = m.get(token)?;
        (now < claims.exp && now < at + Self::TTL_SECS).then(|| claims.clone())
    }

    fn put(&self, token: &str, claims: Arc<Claims>, now: u64) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= Self::MAX {
                m.retain(|_, (c, at)| now < c.exp && now < *at + Self::TTL_SECS);
                if m.len() >= Self::MAX {
                    m.clear();
                }
            }
            m.insert(token.into(), (claims, now));
        }
    }
}

/// Checks the bearer token (or admits an anonymous caller), then adds the quota headers to
/// whatever the route answers.
pub(crate) async fn authenticate(
    State(core): State<Arc<Core>>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let caller = match core.caller(req.headers(), req.uri().query(), peer) {
        Ok(c) => c,
        Err(p) => {
            if let Some(entry) = REFUSED.with(|r| r.borrow_mut().take()) {
                let c = core.clone();
                let _ = tokio::task::spawn_blocking(move || c.store.audit(None, &entry)).await;
            }
            return p.into_response();
        }
    };
    req.extensions_mut().insert(caller.clone());
    let what = format!("{} {}", req.method(), req.uri().path());
    let mut resp = next.run(req).await;
    if resp.status() == StatusCode::FORBIDDEN {
        // a refused attempt is evidence too: audited in the caller's own tenant
        let mut e = crate::Audit::by(&caller, "access", &what);
        e.outcome = "denied";
        let c = core.clone();
        let (t, entry) = (caller.tenant().clone(), e.encode());
        let _ = tokio::task::spawn_blocking(move || c.store.audit(Some(&t), &entry)).await;
    }
    resp.extensions_mut().insert(caller.clone());
    if resp.headers().contains_key("x-stella-quota-remaining") {
        return resp;
    }
    let used = match resp.extensions().get::<Admitted>() {
        Some(a) => a.0,
        None => core.quota_used(&caller).unwrap_or(Used::of(&caller, 0, 0)),
    };
    core.quota_headers(&caller, used, resp.headers_mut());
    resp
}

/// An OAuth2 error (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    let mut r = (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        serde_json::json!({ "error": error, "error_description": description.into() }).to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"stella\""),
        );
    }
    r
}

/// How failed logins slow down further tries: per principal and address (a guesser slows
/// itself down), per address (one address guessing many names), and per principal from every
/// address (a distributed guess) — the last with a short cap, so nobody can lock a victim out
/// for long from elsewhere. Counts are forgotten an hour after the last failure and on a good
/// login; an admin lifts them at once (`POST /principals/{kind}/{name}/unlock`).
const THROTTLES: [Throttle; 3] = [
    Throttle {
        free: 5,
        cap_secs: 900,
    },
    Throttle {
        free: 20,
        cap_secs: 900,
    },
    Throttle {
        free: 100,
        cap_secs: 60,
    },
];
const THROTTLE_WINDOW_SECS: u64 = 3600;

struct Throttle {
    /// Failures allowed before any wait.
    free: u32,
    /// The longest wait.
    cap_secs: u64,
}

impl Throttle {
    /// Seconds to wait after `n` failures: 1, 2, 4… after the free ones, up to the cap.
    fn wait(&self, n: u32) -> u64 {
        if n < self.free {
            return 0;
        }
        1u64.checked_shl(n - self.free)
            .unwrap_or(u64::MAX)
            .min(self.cap_secs)
    }
}

/// The throttle keys of a login: principal at address, address, principal.
pub(crate) fn throttle_keys(subject: &str, address: &str) -> [String; 3] {
    [
        format!("{subject}@{address}"),
        format!("@{address}"),
        subject.to_string(),
    ]
}

impl Core {
    /// Seconds the caller must wait before trying `subject` from `address` again (0: may try).
    fn login_wait(&self, subject: &str, address: &str, now: u64) -> u64 {
        throttle_keys(subject, address)
            .iter()
            .zip(THROTTLES.iter())
            .map(|(k, t)| match self.store.login_failures(k) {
                // times are whole seconds: the failure happened somewhere in second `last`,
                // so the wait runs from its end — a 1 s back-off is never 0 s because the
                // next guess fell into the next second
                Ok((n, last)) => match t.wait(n) {
                    0 => 0,
                    w => (last + 1 + w).saturating_sub(now),
                },
                // the store is down: the login itself will fail on it too
                Err(_) => 0,
            })
            .max()
            .unwrap_or(0)
    }

    fn login_outcome(&self, subject: &str, address: &str, ok: bool, now: u64) {
        let keys = throttle_keys(subject, address);
        for k in &keys {
            let r = if ok {
                // a good login forgets its own failures, not the address's other guesses
                if k.starts_with('@') {
                    continue;
                }
                self.store.login_reset(k)
            } else {
                self.store
                    .login_failed(k, now, THROTTLE_WINDOW_SECS)
                    .map(|_| ())
            };
            if let Err(e) = r {
                tracing::warn!(target: "stella::auth", error = %e, "cannot count the login");
            }
        }
    }

    /// Records a login attempt in the installation's audit log.
    fn audit_login(&self, subject: &str, address: &str, outcome: &str, detail: &str) {
        let e = crate::Audit {
            who: subject.to_string(),
            tenant: None,
            address: Some(address),
            action: "login",
            detail,
            outcome,
        };
        let _ = self.store.audit(None, &e.encode());
    }
}

/// `POST /connect/token`: `client_credentials` (secret in HTTP Basic or the form) and
/// `password`.
pub(crate) async fn token(
    State(core): State<Arc<Core>>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (id, secret) = s.split_once(':')?;
            Some((
                form_urlencoded::parse(format!("a={id}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())?,
                form_urlencoded::parse(format!("a={secret}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())?,
            ))
        });
    let (kind, name, secret) = match get("grant_type") {
        Some("client_credentials") => {
            let (id, secret) = match (&basic, get("client_id"), get("client_secret")) {
                (Some((i, s)), _, _) => (i.clone(), s.clone()),
                (None, Some(i), Some(s)) => (i.to_string(), s.to_string()),
                _ => {
                    return oauth_error(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        "send the client id and secret with HTTP Basic or as client_id and client_secret",
                    );
                }
            };
            (Kind::Client, id, secret)
        }
        Some("password") => match (get("username"), get("password")) {
            (Some(u), Some(p)) => (Kind::User, u.to_string(), p.to_string()),
            _ => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "the password grant needs username and password",
                );
            }
        },
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("`{other}`: Core issues tokens for client_credentials and password"),
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send grant_type (client_credentials or password) as application/x-www-form-urlencoded",
            );
        }
    };
    let scope = get("scope").map(str::to_string);
    let subject = format!(
        "{}:{}",
        kind.as_str(),
        name.chars().take(128).collect::<String>()
    );
    let now = now_secs();
    let wait = core.login_wait(&subject, &address, now);
    if wait > 0 {
        core.audit_login(
            &subject,
            &address,
            "denied",
            &format!("throttled for {wait} s"),
        );
        let mut r = oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            format!(
                "too many failed logins for `{subject}` from {address}; try again in {wait} s (an admin can lift it: POST /api/v1/principals/{}/{}/unlock)",
                kind.as_str(),
                name.chars().take(128).collect::<String>()
            ),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let c = core.clone();
    let (subj, addr) = (subject.clone(), address.clone());
    // argon2 is deliberately slow: never on the async workers
    let issued = tokio::task::spawn_blocking(move || {
        let dir = c.principals.read().map_err(|e| e.to_string())?;
        let p = match dir.authenticate(kind, &name, &secret) {
            Ok(p) => p.clone(),
            Err(e) => {
                drop(dir);
                c.login_outcome(&subj, &addr, false, now);
                c.audit_login(&subj, &addr, "failed", &e.to_string());
                return Ok(Err(e));
            }
        };
        drop(dir);
        c.login_outcome(&subj, &addr, true, now);
        c.audit_login(&subj, &addr, "ok", "token issued");
        let claims = match p.claims(
            &c.config.issuer,
            now_secs(),
            stella_auth::ONLINE_SECS,
            scope.as_deref(),
        ) {
            Ok(cl) => cl,
            Err(e) => return Ok(Err(e)),
        };
        let jwt = c
            .keys
            .read()
            .map_err(|e| e.to_string())?
            .sign(&claims)
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(Ok((jwt, claims)))
    })
    .await;
    match issued {
        Ok(Ok(Ok((jwt, claims)))) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            serde_json::json!({
                "access_token": jwt,
                "token_type": "Bearer",
                "expires_in": claims.exp - claims.iat,
                "scope": claims.scope,
            })
            .to_string(),
        )
            .into_response(),
        Ok(Ok(Err(stella_auth::Error::UnknownScope(s)))) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!("unknown scope `{s}` (scan, policy:write, admin)"),
        ),
        Ok(Ok(Err(stella_auth::Error::Invalid(m)))) => {
            oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", m)
        }
        Ok(Ok(Err(e))) => match kind {
            Kind::Client => oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", e.to_string()),
            Kind::User => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", e.to_string()),
        },
        Ok(Err(e)) => internal(e).into_response(),
        Err(e) => internal(e).into_response(),
    }
}

/// `GET /.well-known/openid-configuration`
pub(crate) async fn discovery(State(core): State<Arc<Core>>) -> Response {
    let iss = core.config.issuer.trim_end_matches('/');
    axum::Json(serde_json::json!({
        "issuer": core.config.issuer,
        "token_endpoint": format!("{iss}/connect/token"),
        "jwks_uri": format!("{iss}/jwks"),
        "grant_types_supported": ["client_credentials", "password"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["scan", "policy:write", "admin"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "claims_supported": ["iss", "sub", "tid", "tier", "maxScansPerDay", "scope", "iat", "exp", "jti"],
    }))
    .into_response()
}

/// `GET /jwks`
pub(crate) async fn jwks(State(core): State<Arc<Core>>) -> Result<Response, Problem> {
    let set = core.keys.read().map_err(internal)?.jwks();
    Ok((
        [
            (header::CONTENT_TYPE, "application/jwk-set+json"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        set.to_string(),
    )
        .into_response())
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OfflineRequest {
    expires_days: Option<u64>,
    client_id: Option<String>,
}

/// `POST /token/offline` (admin): a long-lived token for an air-gapped site.
pub(crate) async fn offline_token(
    State(core): State<Arc<Core>>,
    axum::Extension(caller): axum::Extension<Caller>,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require_installation_admin()?;
    let req: OfflineRequest = if body.is_empty() {
        OfflineRequest {
            expires_days: None,
            client_id: None,
        }
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Problem::bad_request(
                "Bad request",
                format!("expected {{\"expiresDays\": 1–90, \"clientId\": \"…\"}}: {e}"),
            )
        })?
    };
    let days = req.expires_days.unwrap_or(30);
    if !(1..=90).contains(&days) {
        return Err(Problem::bad_request(
            "Bad lifetime",
            format!("expiresDays is {days}; offline tokens live 1 to 90 days"),
        ));
    }
    let Some(me) = caller.claims() else {
        return Err(internal("an anonymous caller passed the admin check"));
    };
    let dir = core.principals.read().map_err(internal)?;
    let p = match &req.client_id {
        Some(id) => dir.get(Kind::Client, id),
        None => {
            // the caller's own subject: `client:NAME` or `user:NAME`
            me.sub
                .split_once(':')
                .and_then(|(k, n)| Some((Kind::parse(k)?, n)))
                .and_then(|(kind, name)| dir.get(kind, name))
        }
    }
    .cloned()
    .ok_or_else(|| {
        Problem::not_found(
            "No such client",
            format!(
                "no client `{}`; list them with `stella token list`",
                req.client_id.as_deref().unwrap_or(&me.sub)
            ),
        )
    })?;
    drop(dir);
    let claims = p
        .claims(&core.config.issuer, now_secs(), days * 86_400, None)
        .map_err(internal)?;
    let jwt = core
        .keys
        .read()
        .map_err(internal)?
        .sign(&claims)
        .map_err(internal)?;
    core.audit_installation(
        &caller,
        "token.offline",
        &format!("{} for {days} days", p.subject()),
    );
    Ok(axum::Json(serde_json::json!({
        "jwt": jwt,
        "expires": stella_sbom::rfc3339(claims.exp as i64),
        "sub": claims.sub,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_midnights() {
        assert_eq!(utc_day(0), ("1970-01-01".into(), 86_400));
        assert_eq!(utc_day(86_399), ("1970-01-01".into(), 86_400));
        assert_eq!(utc_day(86_400), ("1970-01-02".into(), 172_800));
    }
}
