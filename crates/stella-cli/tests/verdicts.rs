//! What a scan tells people is the truth: a namespace the DB does not cover or a release past
//! its end of life is said loudly in every format (and a policy can fail on it), the verdict
//! printed is the one that decided the exit code, and an unreachable Core is a retryable
//! error that names the URL. Regression tests named after the lie they prevent.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use common::*;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = stella()
        .args(args)
        .env_remove("STELLA_TOKEN")
        .env_remove("STELLA_SERVER")
        .env_remove("STELLA_DB")
        .env_remove("STELLA_CLIENT_ID")
        .env_remove("STELLA_CLIENT_SECRET")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A Debian 12 image's SBOM: a release the test DB (Alpine 3.17 only) has nothing for.
fn debian12_sbom() -> String {
    let purl = "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12";
    format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{{"type":"library","bom-ref":"a","name":"openssl","version":"3.0.11-1~deb12u2","purl":"{purl}"}}]}}"#
    )
}

#[test]
fn a_release_without_advisory_data_is_not_a_silent_pass() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let sbom = work.path().join("debian12.cdx.json");
    std::fs::write(&sbom, debian12_sbom()).unwrap();
    let (db, sbom) = (db.to_str().unwrap(), sbom.to_str().unwrap());
    let (code, out, err) = run(&["scan", sbom, "--db", db, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["coverage"],
        serde_json::json!([{"namespace": "debian:12", "packages": 1, "status": "missing"}])
    );
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("debian:12: the vulnerability DB has no advisories"),
        "{warnings}"
    );
    assert!(
        err.contains("warning: debian:12: the vulnerability DB has no advisories"),
        "{err}"
    );
    // the table says it too, and SARIF carries it as a notification
    let (_, _, err) = run(&["scan", sbom, "--db", db]);
    assert!(err.contains("were not checked at all"), "{err}");
    let (_, out, _) = run(&["scan", sbom, "--db", db, "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap();
    let notes = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert!(
        notes[0]["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("debian:12:"),
        "{notes}"
    );
    // a policy can refuse to pass what was not checked
    let policy = work.path().join("coverage.yaml");
    std::fs::write(
        &policy,
        "version: 1\nrules:\n  - id: no-blind-spots\n    action: deny\n    when: { coverage: missing }\n",
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    let (code, out, _) = run(&[
        "scan", sbom, "--db", db, "--policy", policy, "--format", "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"]["status"], "FAIL");
    assert_eq!(
        v["verdict"]["reasons"][0],
        "rule `no-blind-spots` (deny): the DB has no advisories for debian:12 (1 package(s) unchecked)"
    );
    // the covered release passes the same policy (its end of life is another condition)
    let memcached = work.path().join("memcached.cdx.json");
    std::fs::write(&memcached, memcached_sbom()).unwrap();
    let memcached = memcached.to_str().unwrap();
    let (code, out, _) = run(&[
        "scan", memcached, "--db", db, "--policy", policy, "--format", "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, 0, "{out}");
    assert_eq!(v["coverage"][0]["status"], "covered");
    // a mistaken condition is refused with its place
    std::fs::write(
        work.path().join("bad.yaml"),
        "version: 1\nrules:\n  - id: x\n    action: deny\n    when: { coverage: missing, severity: high }\n",
    )
    .unwrap();
    let (code, _, err) = run(&[
        "scan",
        memcached,
        "--db",
        db,
        "--policy",
        work.path().join("bad.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`coverage` is a condition on the scan"),
        "{err}"
    );
}

#[test]
fn an_end_of_life_release_is_said_and_a_policy_can_warn_on_it() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let sbom = work.path().join("memcached.cdx.json");
    std::fs::write(&sbom, memcached_sbom()).unwrap();
    let policy = work.path().join("eol.yaml");
    std::fs::write(
        &policy,
        "version: 1\nrules:\n  - id: supported-releases\n    action: warn\n    when: { coverage: eol }\n",
    )
    .unwrap();
    let (code, out, err) = run(&[
        "scan",
        sbom.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Alpine 3.17's main repository support ended on 2024-11-22 (alpinelinux.org/releases)
    assert_eq!(v["coverage"][0]["endOfLife"], "2024-11-22");
    assert!(
        err.contains("alpine:3.17: this release reached its end of life on 2024-11-22"),
        "{err}"
    );
    assert_eq!(v["verdict"]["status"], "WARN");
    assert!(
        v["verdict"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("alpine:3.17 reached its end of life on 2024-11-22"),
        "{}",
        v["verdict"]
    );
}

/// An SBOM of one PyPI package the advisory of [`urllib3_db`] affects.
const URLLIB3_SBOM: &str = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","bom-ref":"u","name":"urllib3","version":"1.26.0","purl":"pkg:pypi/urllib3@1.26.0"}]}"#;

/// An OSV advisory with a CVSS vector (high), for a PyPI package.
fn urllib3_db(work: &std::path::Path) -> std::path::PathBuf {
    let dir = work.join("osv");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("PYSEC-2099-1.json"),
        r#"{"schema_version":"1.6.0","id":"PYSEC-2099-1","modified":"2026-01-01T00:00:00Z","aliases":["CVE-2099-4242"],
            "summary":"test advisory","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
            "affected":[{"package":{"ecosystem":"PyPI","name":"urllib3"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.26.5"}]}]}]}"#,
    )
    .unwrap();
    let db = work.join("osv.db");
    let out = stella()
        .args(["db", "import", "--format", "osv", "--db"])
        .arg(&db)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

#[test]
fn the_verdict_printed_is_the_verdict_that_decided_the_exit_code() {
    let work = tempfile::tempdir().unwrap();
    let db = urllib3_db(work.path());
    let data = work.path().join("data");
    // Core's policy only warns; the local gate is what fails
    let warn = work.path().join("warn.yaml");
    std::fs::write(
        &warn,
        "version: 1\nrules:\n  - id: report\n    action: warn\n",
    )
    .unwrap();
    let server = serve(&data, &db, &["--policy", warn.to_str().unwrap()]);
    let token = admin_bearer(&server);
    let token = token.trim_start_matches("Bearer ");
    let sbom = work.path().join("py.cdx.json");
    std::fs::write(&sbom, URLLIB3_SBOM).unwrap();
    let sbom = sbom.to_str().unwrap();
    let remote = |extra: &[&str]| {
        let mut args = vec!["scan", sbom, "--server", &server.url, "--token", token];
        args.extend_from_slice(extra);
        run(&args)
    };
    // Core's policy warns; the local gate fails it: one verdict, FAIL, everywhere
    let (code, out, err) = remote(&["--fail-on", "medium", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"]["status"], "FAIL", "{}", v["verdict"]);
    assert!(
        v["verdict"]["reasons"]
            .to_string()
            .contains("--fail-on medium: 1 finding(s) at or above medium"),
        "{}",
        v["verdict"]
    );
    assert!(err.contains("verdict FAIL"), "{err}");
    let (code, out, _) = remote(&["--fail-on", "medium"]);
    assert_eq!(code, 1);
    assert!(out.contains("FAIL") && !out.contains("PASS"), "{out}");
    let (code, out, _) = remote(&["--fail-on", "medium", "--format", "sarif"]);
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
        "7.5"
    );
    // without the gate, Core's verdict alone, and the exit code agrees with it
    let (code, out, _) = remote(&["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_ne!(v["verdict"]["status"], "FAIL");
    assert_eq!(code, 0);
    // a gate above the findings leaves the verdict as Core gave it
    let (code, out, _) = remote(&["--fail-on", "critical", "--format", "json"]);
    let w: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(w["verdict"], v["verdict"]);
    assert_eq!(code, 0);
    stop(server);
}

#[test]
fn an_unreachable_core_is_retryable_and_names_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let work = tempfile::tempdir().unwrap();
    let sbom = work.path().join("m.cdx.json");
    std::fs::write(&sbom, memcached_sbom()).unwrap();
    let sbom = sbom.to_str().unwrap();
    // with a token, and with client credentials (the token endpoint is down too)
    let (code, _, err) = run(&["scan", sbom, "--server", &url, "--token", "x.y.z"]);
    assert_eq!(code, 10, "{err}");
    assert!(err.contains(&format!("is Core running at {url}?")), "{err}");
    let out = stella()
        .args(["scan", sbom, "--server", &url])
        .env("STELLA_CLIENT_ID", "ci")
        .env("STELLA_CLIENT_SECRET", "s")
        .env_remove("STELLA_TOKEN")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{err}");
    assert!(!err.contains("get a token"), "{err}");
    // neither a DB nor a server: the error names both
    let (code, _, err) = run(&["scan", sbom]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--db") && err.contains("--server"), "{err}");
}

#[test]
fn a_mute_of_a_package_without_a_version_mutes_it_and_one_that_mutes_nothing_says_so() {
    let work = tempfile::tempdir().unwrap();
    let db = urllib3_db(work.path());
    let data = work.path().join("data");
    let policy = work.path().join("gate.yaml");
    std::fs::write(
        &policy,
        "version: 1\nrules:\n  - id: no-high\n    action: deny\n    when: { severity: \">= high\" }\n",
    )
    .unwrap();
    let server = serve(&data, &db, &["--policy", policy.to_str().unwrap()]);
    let url = server.url.clone();
    let auth = admin_bearer(&server);
    let sbom = URLLIB3_SBOM;
    let scan = || {
        let r = ureq::post(&format!("{url}/api/v1/scan?wait=true&image=py/app:1"))
            .set("Authorization", &auth)
            .send_string(sbom)
            .unwrap();
        // the stored scan's id: the last part of Content-Location
        let stored = r
            .header("Content-Location")
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let mut v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
        v["stored"] = stored.into();
        v
    };
    let first = scan();
    assert_eq!(first["verdict"]["status"], "FAIL");
    let mute = |body: serde_json::Value| {
        let (code, _, text) = status_of(
            ureq::post(&format!("{url}/api/v1/policy/mute"))
                .set("Authorization", &auth)
                .set("Content-Type", "application/json")
                .send_string(&body.to_string()),
        );
        assert_eq!(code, 201, "{text}");
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    // a mistyped mute is stored, and the answer says it mutes nothing
    let typo = mute(serde_json::json!({
        "vulnerability": "CVE-2099-4243", "package": "pkg:pypi/urllib3", "reason": "typo",
        "scanId": first["stored"],
    }));
    assert_eq!(typo["matches"]["findings"], 0, "{typo}");
    assert!(
        typo["matches"]["warning"]
            .as_str()
            .unwrap()
            .contains("matches no finding of the scan it was made from"),
        "{typo}"
    );
    // the natural input: the package's purl without a version
    let made = mute(serde_json::json!({
        "vulnerability": "CVE-2099-4242", "package": "pkg:pypi/urllib3", "reason": "not reachable",
    }));
    assert_eq!(made["matches"]["findings"], 1, "{made}");
    assert_eq!(made["matches"]["images"][0], "py/app:1", "{made}");
    assert!(made["matches"]["warning"].is_null(), "{made}");
    // and the next build passes
    let next = scan();
    assert_ne!(next["verdict"]["status"], "FAIL", "{}", next["verdict"]);
    assert_eq!(next["findings"][0]["policy"]["action"], "muted");
    stop(server);
}

#[test]
fn updating_feeds_that_are_not_configured_is_a_usage_error_not_a_retry() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    let server = serve(&data, &db, &[]);
    let auth = admin_bearer(&server);
    let (code, _, text) = status_of(
        ureq::post(&format!("{}/api/v1/jobs/feeds/run", server.url))
            .set("Authorization", &auth)
            .call(),
    );
    assert_eq!(code, 409, "{text}");
    assert!(
        text.contains("--feeds FILE") && text.contains("--feeds off"),
        "{text}"
    );
    let token = auth.trim_start_matches("Bearer ");
    let (code, _, err) = run(&[
        "jobs",
        "run",
        "feeds",
        "--server",
        &server.url,
        "--token",
        token,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("No feeds configured") || err.contains("--feeds off"),
        "{err}"
    );
    stop(server);
}

#[test]
fn an_sbom_is_filed_under_its_own_subject_not_the_callers_path() {
    let work = tempfile::tempdir().unwrap();
    let db = urllib3_db(work.path());
    let data = work.path().join("data");
    let server = serve(&data, &db, &[]);
    let auth = admin_bearer(&server);
    let token = auth.trim_start_matches("Bearer ");
    let sbom = work.path().join("deep").join("build-42.cdx.json");
    std::fs::create_dir_all(sbom.parent().unwrap()).unwrap();
    std::fs::write(
        &sbom,
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"metadata":{"component":{"type":"application","name":"payments-api","version":"2.1.0"}},"components":[{"type":"library","bom-ref":"u","name":"urllib3","version":"1.26.0","purl":"pkg:pypi/urllib3@1.26.0"}]}"#,
    )
    .unwrap();
    let sbom = sbom.to_str().unwrap();
    let (code, out, err) = run(&[
        "scan",
        sbom,
        "--server",
        &server.url,
        "--token",
        token,
        "--format",
        "json",
    ]);
    // Core's default policy fails the fixable high
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["target"]["reference"], "payments-api@2.1.0");
    // a link to the scan's page
    assert!(
        err.contains(&format!("payments-api@2.1.0: {}/ui/#/scans/", server.url)),
        "{err}"
    );
    // --name names it
    let (code, _, err) = run(&[
        "scan",
        sbom,
        "--server",
        &server.url,
        "--token",
        token,
        "--name",
        "team/payments:2.1",
    ]);
    assert_eq!(code, 1, "{err}");
    let (_, _, images) = status_of(
        ureq::get(&format!("{}/api/v1/images", server.url))
            .set("Authorization", &auth)
            .call(),
    );
    assert!(
        images.contains("payments-api@2.1.0") && images.contains("team/payments:2.1"),
        "{images}"
    );
    assert!(
        !images.contains("build-42"),
        "not under the caller's path: {images}"
    );
    // a local scan names it the same way
    let (_, out, _) = run(&[
        "scan",
        sbom,
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["target"]["reference"], "payments-api@2.1.0");
    stop(server);
}

#[test]
fn a_text_file_is_neither_an_image_nor_an_sbom_not_a_truncated_layer() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let text = work.path().join("notes.txt");
    std::fs::write(&text, "hello\nthis is not an image\n").unwrap();
    let (code, _, err) = run(&["scan", text.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("neither an image nor an SBOM"), "{err}");
    assert!(!err.contains("truncated"), "{err}");
}

#[test]
fn the_cli_pushes_pulls_mutes_and_unmutes_at_core_as_the_ui_does() {
    let work = tempfile::tempdir().unwrap();
    let db = urllib3_db(work.path());
    let data = work.path().join("data");
    let server = serve(&data, &db, &[]);
    let auth = admin_bearer(&server);
    let token = auth.trim_start_matches("Bearer ").to_string();
    let at = |args: &[&str]| {
        let mut v: Vec<&str> = args.to_vec();
        v.extend(["--server", &server.url, "--token", &token]);
        run(&v)
    };
    // no policy yet: pull shows the built-in default
    let (code, out, err) = at(&["policy", "pull"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("fixable-critical-or-high"), "{out}");
    assert!(err.contains("built-in default"), "{err}");
    // a bad policy is refused here, with its place, before it reaches Core
    let bad = work.path().join("bad.yaml");
    std::fs::write(&bad, "version: 1\nrules:\n  - id: x\n    action: denyy\n").unwrap();
    let (code, _, err) = at(&["policy", "push", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.yaml:4"), "{err}");
    let gate = work.path().join("gate.yaml");
    let text = "version: 1\nrules:\n  - id: no-high\n    action: deny\n    when: { severity: \">= high\" }\n";
    std::fs::write(&gate, text).unwrap();
    let (code, _, err) = at(&[
        "policy",
        "push",
        gate.to_str().unwrap(),
        "--comment",
        "gate highs",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("policy version 1 is active"), "{err}");
    let out_dir = work.path().join("pulled");
    let (code, _, err) = at(&["policy", "pull", "-o", out_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(out_dir.join("policy.yaml")).unwrap(),
        text
    );
    // scan, mute through the CLI, scan again
    let sbom = work.path().join("py.cdx.json");
    std::fs::write(&sbom, URLLIB3_SBOM).unwrap();
    let sbom = sbom.to_str().unwrap();
    assert_eq!(at(&["scan", sbom, "--name", "py:1"]).0, 1);
    let (code, id, err) = at(&[
        "policy",
        "mute",
        "CVE-2099-4242",
        "--package",
        "pkg:pypi/urllib3",
        "--reason",
        "not reachable",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("muted: 1 finding(s)"), "{err}");
    let id = id.trim().to_string();
    let (_, list, _) = at(&["policy", "mutes"]);
    assert!(
        list.contains(&id) && list.contains("pkg:pypi/urllib3") && list.contains("not reachable"),
        "{list}"
    );
    assert_eq!(at(&["scan", sbom, "--name", "py:1"]).0, 0);
    let (code, _, err) = at(&["policy", "unmute", &id]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = at(&["policy", "unmute", &id]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("stella policy mutes"), "{err}");
    assert_eq!(at(&["scan", sbom, "--name", "py:1"]).0, 1);
    stop(server);
}

#[test]
fn worker_help_offers_only_what_a_worker_uses_and_db_import_lists_every_format() {
    let (code, out, _) = run(&["worker", "--help"]);
    assert_eq!(code, 0);
    for shown in ["--redis", "--postgres", "--workers", "--lease-secs", "--db"] {
        assert!(out.contains(shown), "{shown}: {out}");
    }
    for hidden in [
        "--listen",
        "--feeds",
        "--tls-cert",
        "--webhook",
        "--anonymous",
        "--rescan-cron",
    ] {
        assert!(!out.contains(hidden), "{hidden}: {out}");
    }
    let (_, out, _) = run(&["db", "import", "--help"]);
    for f in [
        "osv",
        "alpine-secdb",
        "nvd",
        "redhat-csaf",
        "ghsa-graphql",
        "kev",
        "epss",
    ] {
        assert!(out.contains(f), "{f}: {out}");
    }
}

#[test]
fn policy_validate_over_a_scan_lists_mutes_and_rules_that_match_nothing() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let sbom = work.path().join("m.cdx.json");
    std::fs::write(&sbom, memcached_sbom()).unwrap();
    let scan = work.path().join("scan.json");
    let (code, _, err) = run(&[
        "scan",
        sbom.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "-f",
        "json",
        "-o",
        scan.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let policy = work.path().join("p.yaml");
    std::fs::write(
        &policy,
        "version: 1\nrules:\n  - id: typo-rule\n    action: deny\n    when: { vulnerability: CVE-2023-4685 }\n  - id: real\n    action: warn\n    when: { vulnerability: CVE-2099-1111 }\nmutes:\n  - vulnerability: CVE-2023-46853\n    package: pkg:apk/alpine/memcached\n    reason: not reachable\n  - vulnerability: CVE-2023-46835\n    reason: a typo\n",
    )
    .unwrap();
    let (code, _, err) = run(&[
        "policy",
        "validate",
        policy.to_str().unwrap(),
        "--scan",
        scan.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 2, "{err}");
    assert!(
        warnings[0].contains("mutes[1] (CVE-2023-46835) matches no finding"),
        "{err}"
    );
    assert!(
        warnings[1].contains("rule `typo-rule` (deny) decides no finding"),
        "{err}"
    );
}
