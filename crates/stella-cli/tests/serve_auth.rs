//! `stella serve` identity and quota end to end: the OAuth2 token endpoint, bearer tokens
//! refused for every way they can be wrong, scopes, offline tokens, key rotation, anonymous
//! access, and the daily quota admitting exactly its limit under parallel load.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::*;

fn get_with(url: &str, path: &str, auth: Option<&str>) -> ureq::Response {
    let mut r = ureq::get(&format!("{url}{path}"));
    if let Some(a) = auth {
        r = r.set("Authorization", a);
    }
    response(r.call())
}

#[test]
fn tokens_scopes_and_keys() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    let server = serve(&data, &db, &[]);
    let url = server.url.clone();
    let admin_secret = std::fs::read_to_string(data.join("admin.secret")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data.join("admin.secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the admin secret is private");
    }

    // discovery and keys
    let d: serde_json::Value = serde_json::from_str(
        &get_with(&url, "/.well-known/openid-configuration", None)
            .into_string()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(d["issuer"], url.as_str());
    assert_eq!(d["token_endpoint"], format!("{url}/connect/token"));
    let jwks: serde_json::Value =
        serde_json::from_str(&get_with(&url, "/jwks", None).into_string().unwrap()).unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");

    // the token endpoint: form and HTTP Basic; wrong secrets and grants refused per RFC 6749
    let t = token(&url, "admin", admin_secret.trim());
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{}", admin_secret.trim()));
    let r = response(
        ureq::post(&format!("{url}/connect/token"))
            .set("Authorization", &format!("Basic {basic}"))
            .send_form(&[("grant_type", "client_credentials"), ("scope", "scan")]),
    );
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
    assert_eq!(v["scope"], "scan");
    assert_eq!(v["expires_in"], 12 * 3600);
    for (form, code, error) in [
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "admin"),
                ("client_secret", "nope"),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "ghost"),
                ("client_secret", "nope"),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![("grant_type", "authorization_code")],
            400,
            "unsupported_grant_type",
        ),
        (vec![], 400, "invalid_request"),
        (
            vec![("grant_type", "password"), ("username", "ann")],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "admin"),
                ("client_secret", admin_secret.trim()),
                ("scope", "root"),
            ],
            400,
            "invalid_scope",
        ),
    ] {
        let r = response(ureq::post(&format!("{url}/connect/token")).send_form(&form));
        assert_eq!(r.status(), code, "{form:?}");
        let v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
        assert_eq!(v["error"], error, "{form:?}");
    }

    // claims of DESIGN.md §4
    let claims: serde_json::Value =
        serde_json::from_slice(&B64.decode(t.split('.').nth(1).unwrap()).unwrap()).unwrap();
    for k in [
        "iss",
        "sub",
        "tid",
        "tier",
        "maxScansPerDay",
        "scope",
        "iat",
        "exp",
        "jti",
    ] {
        assert!(!claims[k].is_null(), "claim {k} in {claims}");
    }
    assert_eq!(claims["maxScansPerDay"], 333);
    assert_eq!(claims["tier"], "Free");

    // every way a bearer token can be wrong is a 401 problem with a Bearer challenge
    let header = B64.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = t.split('.').nth(1).unwrap();
    let mut tampered: Vec<&str> = t.split('.').collect();
    let fat = B64.encode(
        String::from_utf8(B64.decode(body).unwrap())
            .unwrap()
            .replace("333", "99999"),
    );
    tampered[1] = &fat;
    let tampered = tampered.join(".");
    let foreign = stella_auth::Keyring::generate(0)
        .unwrap()
        .sign(&serde_json::from_value(claims.clone()).unwrap())
        .unwrap();
    for (auth, why) in [
        (None, "needs a bearer token"),
        (Some("Basic abc".to_string()), "must be `Bearer TOKEN`"),
        (Some("Bearer garbage".to_string()), "not a JWT"),
        (Some(format!("Bearer {header}.{body}.")), "algorithm `none`"),
        (Some(format!("Bearer {tampered}")), "signature is not valid"),
        (Some(format!("Bearer {foreign}")), "does not know"),
    ] {
        let r = get_with(&url, "/api/v1/quota", auth.as_deref());
        assert_eq!(r.status(), 401, "{auth:?}");
        assert!(r.header("WWW-Authenticate").unwrap().starts_with("Bearer"));
        assert_eq!(r.content_type(), "application/problem+json");
        let text = r.into_string().unwrap();
        assert!(text.contains(why), "{auth:?}: {text}");
    }
    let admin = format!("Bearer {t}");
    let q = get_with(&url, "/api/v1/quota", Some(&admin));
    assert_eq!(q.status(), 200);
    assert_eq!(q.header("X-Stella-Quota-Remaining"), Some("333"));
    assert!(q.header("X-Stella-Reset").unwrap().ends_with("T00:00:00Z"));

    // offline tokens: admin only, 1–90 days
    let r = response(
        ureq::post(&format!("{url}/api/v1/token/offline"))
            .set("Authorization", &admin)
            .send_string(r#"{"expiresDays": 91}"#),
    );
    assert_eq!(r.status(), 400);
    let r = response(
        ureq::post(&format!("{url}/api/v1/token/offline"))
            .set("Authorization", &admin)
            .send_string(r#"{"expiresDays": 60}"#),
    );
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
    let offline = v["jwt"].as_str().unwrap().to_string();
    assert_eq!(
        get_with(&url, "/api/v1/quota", Some(&format!("Bearer {offline}"))).status(),
        200
    );
    stop(server);

    // a scan-only client may not mint offline tokens (403 insufficient_scope); a limit of its own
    let ci_secret = add_client(
        &data,
        "ci",
        &["--scope", "scan", "--max-scans-per-day", "5"],
    );
    let listed = stella()
        .args(["token", "list", "--data"])
        .arg(&data)
        .args(store_flags(&data))
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("ci") && listed.contains("admin"),
        "{listed}"
    );
    assert!(!listed.contains(&ci_secret), "secrets are never listed");
    // an expired token, signed with the server's own key
    let admin_store = admin_store(&data);
    let mut old: stella_auth::Claims = serde_json::from_value(claims.clone()).unwrap();
    old.iat -= 20 * 3600;
    old.exp = old.iat + 12 * 3600;
    let expired = admin_store.keys.sign(&old).unwrap();
    drop(admin_store);
    // rotation keeps earlier tokens valid
    let out = stella()
        .args(["token", "rotate-key", "--data"])
        .arg(&data)
        .args(store_flags(&data))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // the issuer defaults to the listening URL: pin it so tokens of the first run stay this
    // server's
    let server = serve(&data, &db, &["--issuer", &url]);
    let url2 = server.url.clone();
    let ci = format!("Bearer {}", token(&url2, "ci", &ci_secret));
    let r = response(
        ureq::post(&format!("{url2}/api/v1/token/offline"))
            .set("Authorization", &ci)
            .send_string("{}"),
    );
    assert_eq!(r.status(), 403);
    assert!(
        r.header("WWW-Authenticate")
            .unwrap()
            .contains("insufficient_scope")
    );
    let r = get_with(&url2, "/api/v1/quota", Some(&format!("Bearer {expired}")));
    assert_eq!(r.status(), 401);
    assert!(r.into_string().unwrap().contains("expired"));
    assert_eq!(
        get_with(&server.url, "/api/v1/quota", Some(&admin)).status(),
        200,
        "a token signed before the rotation is still valid"
    );
    let jwks: serde_json::Value =
        serde_json::from_str(&get_with(&server.url, "/jwks", None).into_string().unwrap()).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    let fresh = token(&server.url, "admin", admin_secret.trim());
    assert_ne!(
        fresh.split('.').next(),
        t.split('.').next(),
        "the new key signs"
    );
    stop(server);
}

#[test]
fn quota_admits_exactly_the_limit_under_parallel_load() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    drop(serve(&data, &db, &[]));
    let secret = add_client(&data, "ci", &["--max-scans-per-day", "7"]);
    let server = serve(&data, &db, &[]);
    let url = server.url.clone();
    let auth = format!("Bearer {}", token(&url, "ci", &secret));
    let sbom = memcached_sbom();
    // (status, Retry-After, X-Stella-Quota-Remaining, X-Stella-Quota-Warning)
    type Answer = (u16, Option<String>, Option<String>, Option<String>);
    let results: Vec<Answer> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..20)
            .map(|_| {
                s.spawn(|| {
                    let r = response(
                        ureq::post(&format!("{url}/api/v1/scan?wait=true"))
                            .set("Authorization", &auth)
                            .send_string(&sbom),
                    );
                    (
                        r.status(),
                        r.header("Retry-After").map(str::to_string),
                        r.header("X-Stella-Quota-Remaining").map(str::to_string),
                        r.header("X-Stella-Quota-Warning").map(str::to_string),
                    )
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let limited: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert_eq!((ok, limited.len()), (7, 13), "{results:?}");
    for r in &limited {
        let secs: u64 = r.1.as_deref().unwrap().parse().unwrap();
        assert!(
            (1..=86_400).contains(&secs),
            "Retry-After is the time to UTC midnight"
        );
        assert_eq!(r.2.as_deref(), Some("0"));
        assert!(r.3.is_some(), "the warning shows at the limit");
    }
    let mut remaining: Vec<String> = results
        .iter()
        .filter(|r| r.0 == 200)
        .map(|r| r.2.clone().unwrap())
        .collect();
    remaining.sort();
    assert_eq!(
        remaining,
        ["0", "1", "2", "3", "4", "5", "6"],
        "each admitted scan sees its own count"
    );
    let q: serde_json::Value = serde_json::from_str(
        &get_with(&url, "/api/v1/quota", Some(&auth))
            .into_string()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (
            q["limit"].as_u64(),
            q["used"].as_u64(),
            q["remaining"].as_u64()
        ),
        (Some(7), Some(7), Some(0))
    );
    // the seed's unversioned alias answers the same
    assert_eq!(get_with(&url, "/quota", Some(&auth)).status(), 200);
    stop(server);
    // a restart keeps the count
    let server = serve(&data, &db, &[]);
    let auth = format!("Bearer {}", token(&server.url, "ci", &secret));
    let r = response(
        ureq::post(&format!("{}/scan?wait=true", server.url))
            .set("Authorization", &auth)
            .send_string(&sbom),
    );
    assert_eq!(r.status(), 429);
    stop(server);
}

#[test]
fn anonymous_access_when_enabled() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    let server = serve(&data, &db, &["--anonymous"]);
    let r = response(
        ureq::post(&format!("{}/scan?wait=true", server.url)).send_string(&memcached_sbom()),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("X-Stella-Quota-Remaining"), Some("32"));
    // but nothing beyond scanning
    let r = response(ureq::post(&format!("{}/api/v1/token/offline", server.url)).send_string("{}"));
    assert_eq!(r.status(), 403);
    stop(server);
}

#[test]
fn people_log_in_with_passwords_and_admins_read_the_audit_log() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    drop(serve(&data, &db, &[]));
    let mut child = stella()
        .args(["token", "add-user", "ann", "--scope", "scan", "--data"])
        .arg(&data)
        .args(store_flags(&data))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"correct horse battery\n")
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = serve(&data, &db, &[]);
    let url = server.url.clone();
    let login = |password: &str| {
        response(ureq::post(&format!("{url}/connect/token")).send_form(&[
            ("grant_type", "password"),
            ("username", "ann"),
            ("password", password),
        ]))
    };
    let r = login("wrong horse battery");
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
    assert_eq!(v["error"], "invalid_grant");
    let r = login("correct horse battery");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
    let ann = format!("Bearer {}", v["access_token"].as_str().unwrap());
    let claims: serde_json::Value = serde_json::from_slice(
        &B64.decode(
            v["access_token"]
                .as_str()
                .unwrap()
                .split('.')
                .nth(1)
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "user:ann");
    let r = response(
        ureq::post(&format!("{url}/api/v1/scan?wait=true&image=ann/app:1"))
            .set("Authorization", &ann)
            .send_string(&memcached_sbom()),
    );
    assert_eq!(r.status(), 200);
    // the audit log: admins only; it names who scanned and who was added
    assert_eq!(get_with(&url, "/api/v1/audit", Some(&ann)).status(), 403);
    let admin = admin_bearer(&server);
    let r = get_with(&url, "/api/v1/audit?limit=1000", Some(&admin));
    assert_eq!(r.status(), 200);
    let log: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
    let entries = log["entries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["who"] == "user:ann" && e["action"] == "scan"),
        "{log}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "principal.add" && e["detail"] == "ann"),
        "{log}"
    );
    let first = entries[0]["seq"].as_u64().unwrap();
    let r = get_with(
        &url,
        &format!("/api/v1/audit?from={}&limit=1", first + 1),
        Some(&admin),
    );
    let page: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    assert_eq!(page["next"], first + 2);
    stop(server);
}

#[test]
fn admins_manage_clients_and_keys_of_a_running_core() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let server = serve(&work.path().join("data"), &db, &[]);
    let url = server.url.clone();
    let admin = admin_bearer(&server);
    // the CLI cannot open a running Core's embedded store, and says what to do instead
    // (a shared store it opens beside the replicas: the scaled pass lists it)
    let out = stella()
        .args(["token", "list", "--data"])
        .arg(&server.data)
        .args(store_flags(&server.data))
        .output()
        .unwrap();
    if scaled() {
        assert!(out.status.success(), "{out:?}");
    } else {
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("in use") && err.contains("/api/v1/principals"),
            "{err}"
        );
    }
    let post = |path: &str, auth: &str, body: &str| {
        response(
            ureq::post(&format!("{url}{path}"))
                .set("Authorization", auth)
                .send_string(body),
        )
    };
    let r = post(
        "/api/v1/principals",
        &admin,
        r#"{"kind":"client","name":"ci","scopes":["scan"],"maxScansPerDay":5}"#,
    );
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
    let secret = v["clientSecret"].as_str().unwrap().to_string();
    let ci = format!("Bearer {}", token(&url, "ci", &secret));
    let q: serde_json::Value = serde_json::from_str(
        &get_with(&url, "/api/v1/quota", Some(&ci))
            .into_string()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(q["limit"], 5);
    // the same name again, a bad scope, a short password, a scan-only caller
    assert_eq!(
        post(
            "/api/v1/principals",
            &admin,
            r#"{"kind":"client","name":"ci"}"#
        )
        .status(),
        409
    );
    assert_eq!(
        post(
            "/api/v1/principals",
            &admin,
            r#"{"kind":"client","name":"x","scopes":["root"]}"#
        )
        .status(),
        422
    );
    assert_eq!(
        post(
            "/api/v1/principals",
            &admin,
            r#"{"kind":"user","name":"bob","password":"short"}"#
        )
        .status(),
        422
    );
    assert_eq!(
        post("/api/v1/principals", &ci, r#"{"kind":"client","name":"y"}"#).status(),
        403
    );
    // listed without secrets
    let list = get_with(&url, "/api/v1/principals", Some(&admin))
        .into_string()
        .unwrap();
    assert!(
        list.contains("\"ci\"") && !list.contains(&secret) && !list.contains("argon2"),
        "{list}"
    );
    // rotation: the old token still works, a new key appears
    let r = post("/api/v1/keys/rotate", &admin, "");
    assert_eq!(r.status(), 200);
    assert_eq!(get_with(&url, "/api/v1/quota", Some(&ci)).status(), 200);
    let jwks: serde_json::Value =
        serde_json::from_str(&get_with(&url, "/jwks", None).into_string().unwrap()).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    // removal: no more tokens
    let r = response(
        ureq::delete(&format!("{url}/api/v1/principals/client/ci"))
            .set("Authorization", &admin)
            .call(),
    );
    assert_eq!(r.status(), 204);
    let r = response(ureq::post(&format!("{url}/connect/token")).send_form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "ci"),
        ("client_secret", &secret),
    ]));
    assert_eq!(r.status(), 401);
    // and the token it holds stops counting at once, even from the verified-token cache
    let (code, ct, text) = status_of(
        ureq::get(&format!("{url}/api/v1/quota"))
            .set("Authorization", &ci)
            .call(),
    );
    assert_eq!(
        (code, ct.as_str()),
        (401, "application/problem+json"),
        "{text}"
    );
    assert!(text.contains("removed or disabled"), "{text}");
    // added again under the same name: the old token stays dead, a new one works
    // (iat and creation times are whole seconds: a second apart, as any real re-add is)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = post(
        "/api/v1/principals",
        &admin,
        r#"{"kind":"client","name":"ci","scopes":["scan"]}"#,
    );
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
    let again = v["clientSecret"].as_str().unwrap().to_string();
    let (code, _, _) = status_of(
        ureq::get(&format!("{url}/api/v1/quota"))
            .set("Authorization", &ci)
            .call(),
    );
    assert_eq!(code, 401, "a token from before the client existed again");
    let fresh = format!("Bearer {}", token(&url, "ci", &again));
    assert_eq!(get_with(&url, "/api/v1/quota", Some(&fresh)).status(), 200);
    stop(server);
}
