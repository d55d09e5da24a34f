//! Schemathesis (PyPI) against a running Core: every operation of docs/openapi.json fuzzed
//! from the document itself (examples, coverage, random and stateful phases), checking that no
//! answer is a 5xx and that every status, content type, header and body is the documented one.
//! scripts/test installs schemathesis; without it this test skips loudly (and fails when
//! STELLA_REQUIRE_VALIDATORS=1, as in CI).

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::process::Command;

use common::*;

#[test]
fn core_conforms_to_its_openapi_document() {
    let st = ["st", "schemathesis"].into_iter().find(|t| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(st) = st else {
        assert!(
            std::env::var_os("STELLA_REQUIRE_VALIDATORS").is_none(),
            "schemathesis is required (pip install schemathesis)"
        );
        eprintln!("SKIP: schemathesis is not installed (pip install schemathesis)");
        return;
    };
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
    let seed = std::env::var("STELLA_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261130".into());
    let out = Command::new(st)
        .current_dir(work.path())
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
    stop(server);
}
