//! Schemathesis (PyPI) against a running Core: every operation of docs/openapi.json fuzzed
//! from the document itself (examples, coverage, random and stateful phases), checking that no
//! answer is a 5xx and that every status, content type, header and body is the documented one.
//! scripts/test installs schemathesis; without it this test skips loudly (and fails when
//! STELLA_REQUIRE_VALIDATORS=1, as in CI).

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::process::Command;

use common::*;

/// The schemathesis command, when installed (else the test skips, or fails in CI).
fn schemathesis() -> Option<&'static str> {
    let st = ["st", "schemathesis"].into_iter().find(|t| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if st.is_none() {
        assert!(
            std::env::var_os("STELLA_REQUIRE_VALIDATORS").is_none(),
            "schemathesis is required (pip install schemathesis)"
        );
        eprintln!("SKIP: schemathesis is not installed (pip install schemathesis)");
    }
    st
}

#[test]
fn core_conforms_to_its_openapi_document() {
    let Some(st) = schemathesis() else { return };
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    drop(serve(&data, &db, &[]));
    // a client whose quota the fuzzer cannot exhaust, with every scope
    let secret = add_client(
        &data,
        "fuzz",
        &["--scope", "admin", "--max-scans-per-day", "1000000"],
    );
    let server = serve(&data, &db, &["--log-format", "text"]);
    let token = token(&server.url, "fuzz", &secret);
    fuzz(st, work.path(), &server, &token);
    stop(server);
}

/// The same document and the same fuzzing against a replica on Redis and PostgreSQL.
#[test]
fn scaled_core_conforms_to_its_openapi_document() {
    let Some(st) = schemathesis() else { return };
    if !stella_store::servers::available("scaled_core_conforms_to_its_openapi_document") {
        return;
    }
    let redis = stella_store::servers::RedisServer::start().unwrap();
    let pg = stella_store::servers::PostgresServer::start().unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let server = serve(
        &work.path().join("data"),
        &db,
        &[
            "--log-format",
            "text",
            "--redis",
            &redis.url(),
            "--postgres",
            &pg.url(),
        ],
    );
    let (code, _, text) = status_of(
        ureq::post(&format!("{}/api/v1/principals", server.url))
            .set("Authorization", &admin_bearer(&server))
            .set("Content-Type", "application/json")
            .send_string(
                r#"{"kind":"client","name":"fuzz","scopes":["admin"],"maxScansPerDay":1000000}"#,
            ),
    );
    assert_eq!(code, 201, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let token = token(&server.url, "fuzz", v["clientSecret"].as_str().unwrap());
    fuzz(st, work.path(), &server, &token);
    stop(server);
}

fn fuzz(st: &str, work: &std::path::Path, server: &Server, token: &str) {
    let seed = std::env::var("STELLA_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261130".into());
    let out = Command::new(st)
        .current_dir(work)
        .args([
            "run",
            &format!("{}/openapi.json", server.url),
            "--header",
            &format!("Authorization: Bearer {token}"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance",
            "--max-examples",
            "25",
            "--seed",
            &seed,
            "--request-timeout",
            "30",
            "--no-color",
        ])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // the summary, always: what was generated and how it went
    let summary: String = text
        .lines()
        .skip_while(|l| !l.contains("SUMMARY"))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("{summary}");
    assert!(
        out.status.success(),
        "schemathesis found failures (seed {seed}):\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("generated"), "{text}");
}
