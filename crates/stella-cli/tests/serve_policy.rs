//! Core's policy routes end to end: versions recorded and rolled back, invalid policies refused
//! with their position while the active one stays, API mutes with expiry, Rego beside YAML,
//! export and import, all kept across a restart and deciding the verdicts of scans.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use common::*;

const DENY: &str = "version: 1\nrules:\n  - id: no-memcached-cve\n    action: deny\n    when: { vulnerability: CVE-2023-46853 }\n";
const WARN: &str = "version: 1\nrules:\n  - id: memcached-warn\n    action: warn\n    when: { vulnerability: CVE-2023-46853 }\n";

struct Api {
    url: String,
    auth: String,
}

impl Api {
    fn send(&self, method: &str, path: &str, ct: &str, body: &str) -> (u16, String) {
        let (code, _, text) = status_of(
            ureq::request(method, &format!("{}{path}", self.url))
                .set("Authorization", &self.auth)
                .set("Content-Type", ct)
                .send_string(body),
        );
        (code, text)
    }
    fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let (code, _, text) = status_of(
            ureq::get(&format!("{}{path}", self.url))
                .set("Authorization", &self.auth)
                .call(),
        );
        (code, serde_json::from_str(&text).unwrap_or_default())
    }
    fn verdict(&self) -> serde_json::Value {
        let (code, text) = self.send(
            "POST",
            "/api/v1/scan?wait=true",
            "application/json",
            &memcached_sbom(),
        );
        assert_eq!(code, 200, "{text}");
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    }
}

#[test]
fn policy_versions_mutes_and_rollback_decide_verdicts() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    let server = serve(&data, &db, &[]);
    let api = Api {
        url: server.url.clone(),
        auth: admin_bearer(&server),
    };
    let (code, _) = api.get("/api/v1/policy");
    assert_eq!(code, 404, "no policy yet");
    assert_eq!(
        api.verdict()["verdict"]["status"],
        "WARN",
        "findings without a policy warn"
    );

    // a scan-only token may not change the policy
    stop(server);
    let ci_secret = add_client(&data, "ci", &[]);
    let server = serve(&data, &db, &[]);
    let api = Api {
        url: server.url.clone(),
        auth: admin_bearer(&server),
    };
    let ci = Api {
        url: server.url.clone(),
        auth: format!("Bearer {}", token(&server.url, "ci", &ci_secret)),
    };
    let (code, _) = ci.send("PUT", "/api/v1/policy", "application/yaml", DENY);
    assert_eq!(code, 403);

    let (code, text) = api.send("PUT", "/api/v1/policy", "application/yaml", DENY);
    assert_eq!(code, 200, "{text}");
    let v = api.verdict();
    assert_eq!(v["verdict"]["status"], "FAIL");
    assert_eq!(v["verdict"]["details"][0]["rule"], "no-memcached-cve");

    // an invalid policy is refused with its position; the active one stays
    let (code, text) = api.send(
        "PUT",
        "/api/v1/policy",
        "application/yaml",
        "version: 1\nrules:\n  - id: x\n    action: explode\n",
    );
    assert_eq!(code, 422, "{text}");
    assert!(text.contains("line 4") || text.contains(":4:"), "{text}");
    let (_, active) = api.get("/api/v1/policy");
    assert_eq!(active["version"], 1);
    let (code, _) = api.send(
        "POST",
        "/api/v1/policy/validate",
        "application/yaml",
        "version: 2\n",
    );
    assert_eq!(code, 422);
    let (code, _) = api.send("POST", "/api/v1/policy/validate", "application/yaml", WARN);
    assert_eq!(code, 200);

    // a mute with a reason and an expiry sets the finding aside
    let (code, text) = api.send(
        "POST",
        "/api/v1/policy/mute",
        "application/json",
        r#"{"vulnerability":"CVE-2023-46853","package":"pkg:apk/alpine/memcached*","until":"2099-01-01","reason":"not reachable"}"#,
    );
    assert_eq!(code, 201, "{text}");
    let mute: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(mute["by"], "client:admin");
    let v = api.verdict();
    assert_ne!(v["verdict"]["status"], "FAIL", "{}", v["verdict"]);
    let muted = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["vulnerabilityId"] == "CVE-2023-46853")
        .unwrap();
    assert_eq!(muted["policy"]["action"], "muted");
    // a mute without a reason, or with an impossible day, is refused
    let (code, _) = api.send(
        "POST",
        "/api/v1/policy/mute",
        "application/json",
        r#"{"vulnerability":"CVE-1"}"#,
    );
    assert_eq!(code, 400);
    let (code, _) = api.send(
        "POST",
        "/api/v1/policy/mute",
        "application/json",
        r#"{"vulnerability":"CVE-1","until":"2026-02-30","reason":"x"}"#,
    );
    assert_eq!(code, 422);
    let id = mute["id"].as_str().unwrap();
    let (code, _) = api.send(
        "DELETE",
        &format!("/api/v1/policy/mute/{id}"),
        "text/plain",
        "",
    );
    assert_eq!(code, 204);
    let (code, _) = api.send(
        "DELETE",
        &format!("/api/v1/policy/mute/{id}"),
        "text/plain",
        "",
    );
    assert_eq!(code, 404);
    assert_eq!(api.verdict()["verdict"]["status"], "FAIL");

    // version 2 with Rego beside the YAML, then a roll-back to 1
    let body = serde_json::json!({
        "yaml": WARN,
        "rego": {"memcached.rego": "package stella.policy\nimport rego.v1\ndeny contains msg if {\n  some f in input.findings\n  f.vulnerabilityId == \"CVE-2099-1111\"\n  msg := \"no CVE-2099-1111\"\n}\n"},
        "comment": "warn on the old one, deny the new one in Rego",
    });
    let (code, text) = api.send(
        "PUT",
        "/api/v1/policy",
        "application/json",
        &body.to_string(),
    );
    assert_eq!(code, 200, "{text}");
    let v = api.verdict();
    assert_eq!(v["verdict"]["status"], "FAIL");
    assert!(
        v["verdict"].to_string().contains("no CVE-2099-1111"),
        "{}",
        v["verdict"]
    );
    let (_, h) = api.get("/api/v1/policy/history");
    assert_eq!(h["active"], 2);
    assert_eq!(h["versions"].as_array().unwrap().len(), 2);
    let (_, d) = api.get("/api/v1/policy/history?from=1&to=2");
    assert!(
        d["diff"].as_str().unwrap().contains("+    action: warn"),
        "{d}"
    );
    let (code, _) = api.send(
        "POST",
        "/api/v1/policy/activate",
        "application/json",
        r#"{"version":1}"#,
    );
    assert_eq!(code, 200);
    assert_eq!(api.get("/api/v1/policy").1["version"], 1);
    let (code, _) = api.send(
        "POST",
        "/api/v1/policy/activate",
        "application/json",
        r#"{"version":9}"#,
    );
    assert_eq!(code, 404);

    // export, and import into another Core
    let (_, export) = api.get("/api/v1/policy/export");
    stop(server);
    let server = serve(&data, &db, &[]);
    let api = Api {
        url: server.url.clone(),
        auth: admin_bearer(&server),
    };
    assert_eq!(
        api.get("/api/v1/policy").1["version"],
        1,
        "kept across a restart"
    );
    stop(server);
    let other = serve(&work.path().join("other"), &db, &[]);
    let api2 = Api {
        url: other.url.clone(),
        auth: admin_bearer(&other),
    };
    let (code, text) = api2.send(
        "POST",
        "/api/v1/policy/import",
        "application/json",
        &export.to_string(),
    );
    assert_eq!(code, 200, "{text}");
    assert_eq!(api2.get("/api/v1/policy").1["version"], 1);
    assert_eq!(api2.verdict()["verdict"]["status"], "FAIL");
    let (code, _) = api2.send(
        "POST",
        "/api/v1/policy/import",
        "application/json",
        r#"{"format":7,"versions":[],"activations":[]}"#,
    );
    assert_eq!(code, 422);
    stop(other);
}
