//! Tenancy end to end: one team cannot see or change another's images, scans, history,
//! policy, mutes, layer fragments or audit trail — proven by walking every route of the
//! OpenAPI document as a foreign tenant with the first tenant's ids, then checking that the
//! first tenant's view is byte for byte what it was. Regression tests are named after the
//! attack they prevent.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use common::*;

struct Team {
    scanner: String,
    admin: String,
}

fn call(
    url: &str,
    method: &str,
    path: &str,
    auth: &str,
    tenant: Option<&str>,
    body: Option<(&str, &str)>,
) -> (u16, String) {
    let mut r = ureq::request(method, &format!("{url}{path}"))
        .set("Authorization", auth)
        .timeout(std::time::Duration::from_secs(10));
    if let Some(t) = tenant {
        r = r.set("X-Stella-Tenant", t);
    }
    let res = match body {
        Some((ct, b)) => r.set("Content-Type", ct).send_string(b),
        None => r.call(),
    };
    let (code, _, text) = status_of(res);
    (code, text)
}

fn json(url: &str, path: &str, auth: &str) -> serde_json::Value {
    let (code, text) = call(url, "GET", path, auth, None, None);
    assert_eq!(code, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Adds a client through the API as the installation admin; its bearer token.
fn client(
    url: &str,
    admin: &str,
    name: &str,
    scopes: &[&str],
    tenants: serde_json::Value,
) -> String {
    let body =
        serde_json::json!({"kind": "client", "name": name, "scopes": scopes, "tenants": tenants});
    let (code, text) = call(
        url,
        "POST",
        "/api/v1/principals",
        admin,
        None,
        Some(("application/json", &body.to_string())),
    );
    assert_eq!(code, 201, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    format!(
        "Bearer {}",
        token(url, name, v["clientSecret"].as_str().unwrap())
    )
}

fn team(url: &str, admin: &str, id: &str) -> Team {
    let (code, text) = call(
        url,
        "POST",
        "/api/v1/tenants",
        admin,
        None,
        Some((
            "application/json",
            &format!(r#"{{"id":"{id}","name":"Team {id}"}}"#),
        )),
    );
    assert_eq!(code, 201, "{text}");
    Team {
        scanner: client(
            url,
            admin,
            &format!("{id}-ci"),
            &["scan"],
            serde_json::json!({id: "scanner"}),
        ),
        admin: client(
            url,
            admin,
            &format!("{id}-admin"),
            &["scan", "policy:write", "admin"],
            serde_json::json!({id: "admin"}),
        ),
    }
}

/// Everything team A can see of itself, as its admin sees it.
fn view(url: &str, a: &Team, scan: &str, layer: &str) -> Vec<String> {
    let mut out = Vec::new();
    for path in [
        "/api/v1/scans?image=app:1".to_string(),
        format!("/api/v1/scans/{scan}"),
        "/api/v1/images".into(),
        "/api/v1/policy".into(),
        "/api/v1/policy/mutes".into(),
        "/api/v1/policy/history".into(),
        "/api/v1/policy/export".into(),
        "/api/v1/criticals".into(),
        "/api/v1/tenants/team-a/members".into(),
    ] {
        let (code, text) = call(url, "GET", &path, &a.admin, None, None);
        out.push(format!("{path} {code} {text}"));
    }
    // the audit log, without the reads just made (reads are not audited)
    let audit = json(url, "/api/v1/audit?limit=1000", &a.admin);
    out.push(format!(
        "audit {}",
        audit["entries"].as_array().unwrap().len()
    ));
    let (code, text) = call(
        url,
        "POST",
        "/api/v1/layers/missing",
        &a.scanner,
        None,
        Some(("application/json", &format!(r#"{{"layers":["{layer}"]}}"#))),
    );
    out.push(format!("missing {code} {text}"));
    out
}

/// A layer fragment as `stella sbom --per-layer` writes it (`note` tells two apart).
fn fragment(diff_id: &str, note: &str) -> String {
    serde_json::json!({
        "diff_id": diff_id,
        "catalogers": stella_catalog::CATALOGERS,
        "locations": {},
        "os": {},
        "whiteouts": [],
        "opaque": [],
        "warnings": [note],
    })
    .to_string()
}

#[test]
fn a_foreign_tenant_walking_every_route_sees_and_changes_nothing_of_another() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    let server = serve(&data, &db, &[]);
    let url = server.url.clone();
    let root = admin_bearer(&server);
    let a = team(&url, &root, "team-a");
    let b = team(&url, &root, "team-b");

    // team A: a scan under app:1, a queued scan, a layer fragment, a policy and a mute
    let (code, text) = call(
        &url,
        "POST",
        "/api/v1/scan?wait=true&image=app:1",
        &a.scanner,
        None,
        Some(("application/json", &memcached_sbom())),
    );
    assert_eq!(code, 200, "{text}");
    let first: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(first["findings"].as_array().unwrap().len(), 2);
    let (code, text) = call(
        &url,
        "POST",
        "/api/v1/scan?image=app:1",
        &a.scanner,
        None,
        Some(("application/json", &memcached_sbom())),
    );
    assert_eq!(code, 202, "{text}");
    let queued: serde_json::Value = serde_json::from_str(&text).unwrap();
    let scan = queued["id"].as_str().unwrap().to_string();
    wait_for(&url, &format!("/api/v1/scans/{scan}"), &a.scanner);
    let layer = format!("sha256:{}", "a".repeat(64));
    let (code, text) = call(
        &url,
        "PUT",
        &format!("/api/v1/layers/{layer}/sbom"),
        &a.scanner,
        None,
        Some(("application/json", &fragment(&layer, "memcached"))),
    );
    assert_eq!(code, 204, "{text}");
    let (code, text) = call(
        &url,
        "PUT",
        "/api/v1/policy",
        &a.admin,
        None,
        Some((
            "application/yaml",
            "version: 1\nrules:\n  - id: team-a-secret-rule\n    action: warn\n    when: { severity: \">= low\" }\n",
        )),
    );
    assert_eq!(code, 200, "{text}");
    let (code, text) = call(
        &url,
        "POST",
        "/api/v1/policy/mute",
        &a.admin,
        None,
        Some((
            "application/json",
            r#"{"vulnerability":"CVE-2023-46853","reason":"team-a-secret-reason"}"#,
        )),
    );
    assert_eq!(code, 201, "{text}");
    let mute_id = serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let before = view(&url, &a, &scan, &layer);
    assert!(before[0].contains(&scan), "{}", before[0]);

    // what must never show in an answer to team B
    let secrets = [
        scan.as_str(),
        first["scanId"].as_str().unwrap(),
        mute_id.as_str(),
        "team-a-secret-rule",
        "team-a-secret-reason",
        "team-a-ci",
    ];

    let openapi: serde_json::Value = serde_json::from_str(
        &ureq::get(&format!("{url}/openapi.json"))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    )
    .unwrap();
    let sbom = memcached_sbom();
    let empty_sbom = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[]}"#;
    let mut walked = 0;
    for (path, ops) in openapi["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let protected = ops[method].get("security").is_some();
            let concrete = path
                .replace(
                    "{id}",
                    match path.as_str() {
                        p if p.starts_with("/api/v1/policy/mute/") => &mute_id,
                        p if p.starts_with("/api/v1/tenants/") => "team-a",
                        _ => &scan,
                    },
                )
                .replace("{diffId}", &layer)
                .replace("{kind}", "client")
                .replace(
                    "{name}",
                    if path.contains("/jobs/") {
                        "rescan"
                    } else {
                        "team-a-ci"
                    },
                );
            let body: Option<(&str, String)> = match (method.as_str(), path.as_str()) {
                ("get" | "delete", _) => None,
                (_, p) if p.ends_with("/scan") => Some(("application/json", empty_sbom.to_string())),
                (_, "/api/v1/images/rescan") => Some(("application/json", r#"{"image":"app:1"}"#.into())),
                (_, "/api/v1/attest") => Some(("application/json", format!(r#"{{"scan":"{scan}"}}"#))),
                (_, p) if p.ends_with("/layers/missing") => {
                    Some(("application/json", format!(r#"{{"layers":["{layer}"]}}"#)))
                }
                (_, p) if p.ends_with("/sbom") => Some(("application/json", fragment(&layer, "busybox"))),
                (_, "/api/v1/policy") | (_, "/api/v1/policy/validate") => Some((
                    "application/yaml",
                    "version: 1\nrules:\n  - id: b\n    action: deny\n    when: { severity: \">= low\" }\n".into(),
                )),
                (_, "/api/v1/policy/activate") => Some(("application/json", r#"{"version":1}"#.into())),
                (_, "/api/v1/policy/mute") => Some((
                    "application/json",
                    r#"{"vulnerability":"CVE-2099-1111","reason":"b's own"}"#.into(),
                )),
                (_, "/api/v1/policy/import") => Some(("application/json", r#"{"versions":[],"activations":[]}"#.into())),
                (_, "/api/v1/tenants") => Some(("application/json", r#"{"id":"team-a"}"#.into())),
                (_, p) if p.contains("/members/") => Some(("application/json", r#"{"role":"admin"}"#.into())),
                (_, "/api/v1/principals") => Some((
                    "application/json",
                    r#"{"kind":"client","name":"b-sneaks","scopes":["scan"],"tenants":{"team-a":"admin"}}"#.into(),
                )),
                (_, "/connect/token") => Some((
                    "application/x-www-form-urlencoded",
                    "grant_type=client_credentials&client_id=team-a-ci&client_secret=guess".into(),
                )),
                _ => Some(("application/json", "{}".into())),
            };
            // the tenant-wide stream stays open by design and names only the caller's own
            // tenant's scans (serve_ui_api.rs reads it); it is no foreign scan's stream
            if path == "/api/v1/events" {
                continue;
            }
            let is_events = path.ends_with("/events");
            for (who, auth, tenant) in [
                ("team-b scanner", &b.scanner, None),
                ("team-b admin", &b.admin, None),
                ("team-b admin naming team-a", &b.admin, Some("team-a")),
            ] {
                let (code, text) = if is_events {
                    // an event stream of a foreign scan must not open at all
                    call(&url, "GET", &concrete, auth, tenant, None)
                } else {
                    call(
                        &url,
                        &method.to_uppercase(),
                        &concrete,
                        auth,
                        tenant,
                        body.as_ref().map(|(ct, b)| (*ct, b.as_str())),
                    )
                };
                walked += 1;
                assert!(
                    code != 500 && code != 0,
                    "{who} {method} {concrete}: {code} {text}"
                );
                // an error may repeat what the request said; anything else of A's is a leak
                // (B's own audit log records the ids B itself sent in refused requests)
                let said = |s: &str| {
                    concrete.contains(s)
                        || body.as_ref().is_some_and(|(_, b)| b.contains(s))
                        || (concrete == "/api/v1/audit"
                            && [scan.as_str(), mute_id.as_str(), "team-a-ci"].contains(&s))
                };
                for s in secrets.iter().copied().filter(|s| !said(s)) {
                    assert!(
                        !text.contains(s),
                        "{who} {method} {concrete} answered {code} with team A's `{s}`: {text}"
                    );
                }
                if protected && tenant.is_some() {
                    assert_eq!(code, 403, "{who} {method} {concrete}: {text}");
                }
                // routes that name team A's records by id answer as if they did not exist
                let names_a = concrete.contains(&scan)
                    || concrete.contains(&mute_id)
                    || concrete.contains("team-a")
                    || concrete.ends_with("/images/rescan")
                    || concrete == "/api/v1/attest";
                if protected && names_a {
                    assert!(
                        matches!(code, 403 | 404),
                        "{who} {method} {concrete}: {code} {text}"
                    );
                }
            }
        }
    }
    assert!(walked > 100, "every route walked three ways ({walked})");
    // the issue's attack on top: team B's empty SBOM under team A's image name, then the
    // nightly re-scan
    let (code, text) = call(
        &url,
        "POST",
        "/api/v1/scan?wait=true&image=app:1",
        &b.scanner,
        None,
        Some(("application/json", empty_sbom)),
    );
    assert_eq!(code, 200, "{text}");
    let _ = sbom;

    let after = view(&url, &a, &scan, &layer);
    for (x, y) in before.iter().zip(&after) {
        assert_eq!(x, y, "team A's view changed");
    }

    // the nightly re-scan matches each tenant's own input again: team A's app:1 keeps its
    // findings (before tenants, B's empty SBOM became A's input and A's diff said "fixed")
    let (code, text) = call(
        &url,
        "POST",
        "/api/v1/jobs/rescan/run",
        &root,
        None,
        Some(("application/json", "")),
    );
    assert_eq!(code, 202, "{text}");
    let mut run = serde_json::Value::Null;
    for _ in 0..300 {
        let runs = json(&url, "/api/v1/jobs/runs?job=rescan", &root);
        if let Some(r) = runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["outcome"] != "running")
        {
            run = r.clone();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(run["outcome"], "ok", "{run}");
    let history = json(&url, "/api/v1/scans?image=app:1", &a.scanner);
    let scans = history["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 3, "two scans and the re-scan: {history}");
    let latest = scans.last().unwrap()["id"].as_str().unwrap();
    let diff = json(&url, &format!("/api/v1/scans/{latest}/diff"), &a.scanner);
    assert_eq!(diff["fixed"].as_array().unwrap().len(), 0, "{diff}");
    let rescanned = json(&url, &format!("/api/v1/scans/{latest}"), &a.scanner);
    assert_eq!(rescanned["findings"].as_array().unwrap().len(), 2);

    // team B sees only its own app:1
    let imgs = json(&url, "/api/v1/images", &b.scanner);
    let list = imgs["images"].as_array().unwrap();
    assert!(
        list.iter()
            .all(|i| i["summary"]["high"].as_u64().unwrap_or(0) == 0),
        "{imgs}"
    );
    stop(server);
}

#[test]
fn roles_limit_what_members_do_and_removal_counts_at_once() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    let server = serve(&data, &db, &[]);
    let url = server.url.clone();
    let root = admin_bearer(&server);
    let a = team(&url, &root, "team-a");
    let all = ["scan", "policy:write", "admin"];
    let viewer = client(
        &url,
        &root,
        "viewer",
        &all,
        serde_json::json!({"team-a": "viewer"}),
    );
    let editor = client(
        &url,
        &root,
        "editor",
        &all,
        serde_json::json!({"team-a": "policy-editor"}),
    );
    let two = client(
        &url,
        &root,
        "two",
        &["scan"],
        serde_json::json!({"team-a": "scanner", "default": "viewer"}),
    );
    let scan_body = Some(("application/json", memcached_sbom()));
    let post = |auth: &str, tenant: Option<&str>| {
        let b = scan_body.as_ref().map(|(c, b)| (*c, b.as_str()));
        call(
            &url,
            "POST",
            "/api/v1/scan?wait=true&image=x:1",
            auth,
            tenant,
            b,
        )
        .0
    };
    // a viewer reads but does not scan; a policy editor changes policy but does not scan
    assert_eq!(post(&viewer, None), 403);
    assert_eq!(post(&editor, None), 403);
    assert_eq!(post(&a.scanner, None), 200);
    assert_eq!(
        call(&url, "GET", "/api/v1/images", &viewer, None, None).0,
        200
    );
    let pol = Some(("application/yaml", "version: 1\n"));
    assert_eq!(
        call(&url, "PUT", "/api/v1/policy", &viewer, None, pol).0,
        403
    );
    assert_eq!(
        call(&url, "PUT", "/api/v1/policy", &a.scanner, None, pol).0,
        403
    );
    assert_eq!(
        call(&url, "PUT", "/api/v1/policy", &editor, None, pol).0,
        200
    );
    // a tenant admin manages its tenant, not the installation
    assert_eq!(
        call(
            &url,
            "GET",
            "/api/v1/tenants/team-a/members",
            &a.admin,
            None,
            None
        )
        .0,
        200
    );
    assert_eq!(
        call(
            &url,
            "GET",
            "/api/v1/tenants/team-a/members",
            &editor,
            None,
            None
        )
        .0,
        403
    );
    assert_eq!(
        call(&url, "POST", "/api/v1/keys/rotate", &a.admin, None, None).0,
        403
    );
    assert_eq!(
        call(&url, "GET", "/api/v1/principals", &a.admin, None, None).0,
        403
    );
    assert_eq!(
        call(
            &url,
            "POST",
            "/api/v1/tenants",
            &a.admin,
            None,
            Some(("application/json", r#"{"id":"x"}"#))
        )
        .0,
        403
    );
    // a tenant's audit log holds its own entries only
    let audit = json(&url, "/api/v1/audit?limit=1000", &a.admin);
    let entries = audit["entries"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["tenant"] == "team-a"), "{audit}");
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "scan" && e["who"] == "client:team-a-ci")
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "policy.put" && e["who"] == "client:editor")
    );
    // refused attempts are audited too, in the tenant they were made in
    assert!(
        entries.iter().any(|e| e["action"] == "access"
            && e["outcome"] == "denied"
            && e["who"] == "client:viewer"
            && e["detail"]
                .as_str()
                .unwrap()
                .starts_with("POST /api/v1/scan")),
        "{audit}"
    );
    // two tenants: unnamed is ambiguous unless one is the default
    let (code, text) = call(&url, "GET", "/api/v1/images", &two, None, None);
    assert_eq!(code, 200, "the default tenant is chosen: {text}");
    assert_eq!(post(&two, None), 403, "a viewer in the default tenant");
    assert_eq!(post(&two, Some("team-a")), 200);
    assert_eq!(post(&two, Some("Team_A")), 400, "not a tenant id");
    assert_eq!(post(&two, Some("nope")), 403, "as if it existed");
    // a tenant admin takes a membership away: the next request already counts it
    let (code, text) = call(
        &url,
        "DELETE",
        "/api/v1/tenants/team-a/members/client/two",
        &a.admin,
        None,
        None,
    );
    assert_eq!(code, 204, "{text}");
    assert_eq!(post(&two, Some("team-a")), 403);
    let (code, text) = call(
        &url,
        "PUT",
        "/api/v1/tenants/team-a/members/client/two",
        &a.admin,
        None,
        Some(("application/json", r#"{"role":"viewer"}"#)),
    );
    assert_eq!(code, 200, "{text}");
    assert_eq!(post(&two, Some("team-a")), 403, "a viewer now");
    assert_eq!(
        call(&url, "GET", "/api/v1/images", &two, Some("team-a"), None).0,
        200
    );
    // the tenant list: the installation admin sees all, a member its own
    let mine = json(&url, "/api/v1/tenants", &a.scanner);
    assert_eq!(mine["tenants"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine["tenants"][0]["role"], "scanner");
    let every = json(&url, "/api/v1/tenants", &root);
    assert_eq!(every["tenants"].as_array().unwrap().len(), 2, "{every}");

    // the CLI names the tenant: `stella scan --server … --tenant ID`
    let sbom = work.path().join("app.cdx.json");
    std::fs::write(&sbom, memcached_sbom()).unwrap();
    let editor_and_scanner = client(
        &url,
        &root,
        "both",
        &["scan"],
        serde_json::json!({"team-a": "scanner", "default": "scanner"}),
    );
    let bare = editor_and_scanner.trim_start_matches("Bearer ");
    let run = |tenant: &str| {
        stella()
            .args(["scan"])
            .arg(&sbom)
            .args(["--server", &url, "--token", bare, "--tenant", tenant])
            .args(["--format", "json"])
            .output()
            .unwrap()
    };
    let out = run("team-a");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = |tenant: &str| {
        call(
            &url,
            "GET",
            "/api/v1/images",
            &editor_and_scanner,
            Some(tenant),
            None,
        )
        .1
    };
    assert!(
        listed("team-a").contains("app.cdx.json") || listed("team-a").contains("cli:1"),
        "{}",
        listed("team-a")
    );
    assert!(!listed("default").contains("cli:1") && !listed("default").contains("app.cdx.json"));
    let out = run("team-zz");
    assert_eq!(out.status.code(), Some(3), "not a member: an auth failure");
    stop(server);
}

#[test]
fn one_tenants_tokens_together_cannot_scan_past_the_tenants_daily_cap() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    let server = serve(&data, &db, &[]);
    let url = server.url.clone();
    let root = admin_bearer(&server);
    let a = team(&url, &root, "team-a");
    let b = team(&url, &root, "team-b");
    let json_body = |v: serde_json::Value| v.to_string();
    // only an installation admin sets the cap
    let cap = json_body(serde_json::json!({"dailyScans": 2}));
    let patch = |auth: &str, body: &str| {
        call(
            &url,
            "PATCH",
            "/api/v1/tenants/team-a",
            auth,
            None,
            Some(("application/json", body)),
        )
    };
    assert_eq!(patch(&a.admin, &cap).0, 403);
    assert_eq!(patch(&root, r#"{"dailyScans": -1}"#).0, 400);
    assert_eq!(patch(&root, r#"{"name": "x"}"#).0, 400);
    let (code, text) = patch(&root, &cap);
    assert_eq!(code, 200, "{text}");
    let second = client(
        &url,
        &root,
        "team-a-ci2",
        &["scan"],
        serde_json::json!({"team-a": "scanner"}),
    );
    let scan = |auth: &str, image: &str| {
        let sbom = memcached_sbom();
        call(
            &url,
            "POST",
            &format!("/api/v1/scan?wait=true&image={image}"),
            auth,
            None,
            Some(("application/json", &sbom)),
        )
    };
    assert_eq!(scan(&a.scanner, "x:1").0, 200);
    assert_eq!(scan(&second, "x:2").0, 200);
    // the third scan of the tenant's tokens, whichever token sends it, is refused
    let (code, text) = scan(&second, "x:3");
    assert_eq!(code, 429, "{text}");
    assert!(text.contains("tenant `team-a`"), "{text}");
    assert_eq!(scan(&a.scanner, "x:4").0, 429);
    // a queued scan is held to the cap too
    let sbom = memcached_sbom();
    let (code, _) = call(
        &url,
        "POST",
        "/api/v1/scan?image=x:5",
        &a.scanner,
        None,
        Some(("application/json", &sbom)),
    );
    assert_eq!(code, 429);
    let q = json(&url, "/api/v1/quota", &a.scanner);
    assert_eq!(q["tenant"]["limit"], 2, "{q}");
    assert_eq!(q["tenant"]["used"], 2, "{q}");
    assert_eq!(q["remaining"], 0, "{q}");
    assert_eq!(q["used"], 1, "the token's own count is its own: {q}");
    // another tenant is not held back
    assert_eq!(scan(&b.scanner, "x:1").0, 200);
    // lifted, the tenant scans again; the change is audited
    let (code, _) = patch(&root, r#"{"dailyScans": null}"#);
    assert_eq!(code, 200);
    assert_eq!(scan(&second, "x:3").0, 200);
    let tenants = json(&url, "/api/v1/tenants", &root);
    let t = tenants["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "team-a")
        .unwrap()
        .clone();
    assert!(t["dailyScans"].is_null(), "{t}");
    let audit = json(&url, "/api/v1/audit?limit=1000", &root);
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "tenant.quota"),
        "{audit}"
    );
}

#[test]
fn reaching_for_another_tenant_by_header_is_refused_and_audited() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    let server = serve(&data, &db, &[]);
    let url = server.url.clone();
    let root = admin_bearer(&server);
    team(&url, &root, "team-a");
    let b = team(&url, &root, "team-b");
    for t in ["team-a", "no-such-team"] {
        let (code, text) = call(&url, "GET", "/api/v1/images", &b.scanner, Some(t), None);
        assert_eq!(code, 403, "{text}");
    }
    let audit = json(&url, "/api/v1/audit?limit=1000", &root);
    let denied: Vec<&serde_json::Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "denied" && e["who"] == "client:team-b-ci")
        .collect();
    assert_eq!(denied.len(), 2, "{audit}");
    assert_eq!(denied[0]["detail"], "tenant team-a");
    assert_eq!(denied[1]["detail"], "tenant no-such-team");
    assert_eq!(denied[0]["address"], "127.0.0.1");
    // team A's own log does not carry another tenant's refused attempts
    let a_admin = client(
        &url,
        &root,
        "a-admin2",
        &["scan", "admin"],
        serde_json::json!({"team-a": "admin"}),
    );
    let a_log = json(&url, "/api/v1/audit?limit=1000", &a_admin);
    assert!(!a_log.to_string().contains("team-b-ci"), "{a_log}");
}
