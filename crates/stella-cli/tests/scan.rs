//! `stella scan` end to end: a DB built from the shared advisories, images built here with old
//! packages, findings with match details, deterministic JSON, and the gate's exit codes.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn advisories() -> Option<PathBuf> {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let p = Path::new(&dir).join("advisories");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIP: {} is absent; set STELLA_SHARED_DATA", p.display());
        None
    }
}

fn stella(args: &[&str], cache: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .env("STELLA_CACHE", cache)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Checks a scan result against docs/scan-result.schema.json with Python's `jsonschema`.
fn check_schema(json: &str) {
    let schema =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/scan-result.schema.json");
    let py = std::env::var("STELLA_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import json,sys,jsonschema\ns=json.load(open(sys.argv[1]))\nerrs=[f'{list(e.absolute_path)}: {e.message}' for e in jsonschema.Draft202012Validator(s).iter_errors(json.load(sys.stdin))]\nprint('\\n'.join(errs[:10]))\nsys.exit(1 if errs else 0)";
    let have = Command::new(&py)
        .args(["-c", "import jsonschema"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var("STELLA_REQUIRE_VALIDATORS").is_err(),
            "jsonschema is required but not importable"
        );
        eprintln!("SKIP (partly): python jsonschema not installed");
        return;
    }
    let mut child = Command::new(&py)
        .args(["-c", script])
        .arg(&schema)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "scan result does not follow the schema:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Alpine's secdb for 3.17 with memcached fixed upstream in 1.6.22-r0 (CVE-2023-46853) and
/// 1.6.30-r0 (a made-up CVE-2099-1111); returns its directory.
fn memcached_secdb(work: &Path) -> PathBuf {
    let secdb = work.join("secdb/v3.17");
    std::fs::create_dir_all(&secdb).unwrap();
    std::fs::write(
        secdb.join("main.json"),
        r#"{"distroversion":"v3.17","reponame":"main","archs":["x86_64"],"packages":[
            {"pkg":{"name":"memcached","secfixes":{"1.6.22-r0":["CVE-2023-46853"],"1.6.30-r0":["CVE-2099-1111"]}}}]}"#,
    )
    .unwrap();
    secdb
}

/// A minimal CycloneDX 1.6 document around these component objects.
fn cyclonedx(components: &[String]) -> String {
    format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{}]}}"#,
        components.join(",")
    )
}

/// `vulnerabilityId name@version` of every finding of a JSON scan of `target`.
fn finding_keys(target: &str, db: &str, cache: &Path) -> std::collections::BTreeSet<String> {
    let (code, out, err) = stella(&["scan", target, "--db", db, "-f", "json"], cache);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}@{}",
                f["vulnerabilityId"].as_str().unwrap(),
                f["package"]["name"].as_str().unwrap(),
                f["package"]["version"].as_str().unwrap()
            )
        })
        .collect()
}

fn rootfs(dir: &Path, files: &[(&str, &str)]) {
    for (p, c) in files {
        let f = dir.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, c).unwrap();
    }
}

#[test]
fn scans_find_distro_and_language_vulnerabilities_and_gate() {
    let Some(adv) = advisories() else { return };
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let db = work.path().join("v.db");
    let db_s = db.to_str().unwrap();
    let (code, _, err) = stella(
        &[
            "db",
            "import",
            "--db",
            db_s,
            adv.join("alpine-secdb").to_str().unwrap(),
            adv.join("debian-tracker/DSA").to_str().unwrap(),
            adv.join("osv/pypi-pypa.zip").to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    // Alpine 3.10 with openssl 1.1.1c-r0: the secdb fixed three CVEs in 1.1.1d-r0, and the
    // binary packages match through their origin
    let alpine = work.path().join("alpine");
    rootfs(
        &alpine,
        &[
            (
                "etc/os-release",
                "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.10.2\n",
            ),
            (
                "lib/apk/db/installed",
                "P:libcrypto1.1\nV:1.1.1c-r0\nA:x86_64\no:openssl\n\nP:libssl1.1\nV:1.1.1c-r0\nA:x86_64\no:openssl\n\nP:musl\nV:1.1.22-r3\nA:x86_64\no:musl\n",
            ),
        ],
    );
    let t = format!("dir:{}", alpine.display());
    let (code, out, err) = stella(&["scan", &t, "--db", db_s, "-f", "json"], &cache);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut got: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["vulnerabilityId"].as_str().unwrap().to_string(),
                f["package"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String)> = ["CVE-2019-1547", "CVE-2019-1549", "CVE-2019-1563"]
        .iter()
        .flat_map(|c| {
            ["libcrypto1.1", "libssl1.1"]
                .iter()
                .map(move |p| (c.to_string(), p.to_string()))
        })
        .collect();
    assert_eq!(got, want);
    let f = &v["findings"][0];
    assert_eq!(f["fixedVersions"][0], "1.1.1d-r0");
    assert_eq!(f["matchDetails"]["searchedBy"]["namespace"], "alpine:3.10");
    assert_eq!(f["matchDetails"]["searchedBy"]["name"], "openssl");
    assert_eq!(f["matchDetails"]["type"], "distro");
    assert_eq!(v["target"]["os"]["family"], "alpine");
    // the same inputs give the same bytes
    let (_, again, _) = stella(&["scan", &t, "--db", db_s, "-f", "json"], &cache);
    assert_eq!(out, again);
    // scanning an SBOM of the image, ours or Syft's, finds the same
    let pairs = |json: &str| {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let mut p: Vec<(String, String)> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["vulnerabilityId"].as_str().unwrap().to_string(),
                    f["package"]["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        p.sort();
        p
    };
    let ours = work.path().join("alpine.cdx.json");
    let (code, _, err) = stella(&["sbom", &t, "-o", ours.to_str().unwrap()], &cache);
    assert_eq!(code, 0, "{err}");
    let s = format!("sbom:{}", ours.display());
    let (code, from_sbom, err) = stella(&["scan", &s, "--db", db_s, "-f", "json"], &cache);
    assert_eq!(code, 0, "{err}");
    assert_eq!(pairs(&from_sbom), want);
    let syft = Command::new("syft")
        .args(["-q", "-o", "syft-json"])
        .arg(&t)
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output();
    match syft {
        Ok(o) if o.status.success() => {
            let p = work.path().join("alpine.syft.json");
            std::fs::write(&p, o.stdout).unwrap();
            let s = format!("sbom:{}", p.display());
            let (code, from_syft, err) = stella(&["scan", &s, "--db", db_s, "-f", "json"], &cache);
            assert_eq!(code, 0, "{err}");
            assert_eq!(pairs(&from_syft), want, "Syft's SBOM of the same image");
        }
        _ => eprintln!("SKIP (partly): syft is not installed; our own SBOM was scanned"),
    }
    // an ignore file: a live entry silences (and is reported), an expired one no longer does
    let ign = work.path().join("ignore.yaml");
    std::fs::write(
        &ign,
        "ignore:\n  - id: CVE-2019-1547\n    purl: pkg:apk/alpine/libssl1.1\n    reason: not reachable\n    expires: 2099-01-01\n  - id: CVE-2019-1549\n    expires: 2020-01-01\n",
    )
    .unwrap();
    let (code, out, err) = stella(
        &[
            "scan",
            &t,
            "--db",
            db_s,
            "-f",
            "json",
            "--ignore-file",
            ign.to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    check_schema(&out);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 5);
    assert_eq!(v["ignored"][0]["package"], "libssl1.1@1.1.1c-r0");
    assert_eq!(v["ignored"][0]["reason"], "not reachable");
    assert!(err.contains("expired on 2020-01-01"), "{err}");
    // --explain says why, statement by statement
    let (code, out, err) = stella(
        &["scan", &t, "--db", db_s, "--explain", "CVE-2019-1547"],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("libssl1.1 1.1.1c-r0 (apk): MATCHES"), "{out}");
    assert!(
        out.contains("alpine:3.10/openssl") && out.contains("inside: affected"),
        "{out}"
    );
    // an OpenVEX statement keeps the finding in the report, marked, and out of the counts
    let vex = work.path().join("vex.json");
    std::fs::write(
        &vex,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"t","timestamp":"2024-01-01T00:00:00Z","version":1,
           "statements":[{"vulnerability":{"name":"CVE-2019-1547"},"products":[{"@id":"pkg:oci/app","subcomponents":[{"@id":"pkg:apk/alpine/libssl1.1@1.1.1c-r0"}]}],
                          "status":"not_affected","justification":"vulnerable_code_not_in_execute_path"},
                         {"vulnerability":{"name":"CVE-2019-1549"},"products":[{"@id":"pkg:apk/alpine/libssl1.1@9.9"}],"status":"not_affected"}]}"#,
    )
    .unwrap();
    let (code, out, err) = stella(
        &[
            "scan",
            &t,
            "--db",
            db_s,
            "-f",
            "json",
            "--vex",
            vex.to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    check_schema(&out);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let fs = v["findings"].as_array().unwrap();
    assert_eq!(fs.len(), 6);
    let vexed: Vec<_> = fs.iter().filter(|f| !f["vex"].is_null()).collect();
    assert_eq!(vexed.len(), 1, "{out}");
    assert_eq!(vexed[0]["vulnerabilityId"], "CVE-2019-1547");
    assert_eq!(vexed[0]["package"]["name"], "libssl1.1");
    assert_eq!(vexed[0]["vex"]["status"], "not_affected");
    // a statement about another version of the package does not apply
    assert!(
        fs.iter()
            .any(|f| f["vulnerabilityId"] == "CVE-2019-1549" && f["vex"].is_null())
    );
    // the exchange formats: CycloneDX VDR and VEX, SPDX (validated by the formats' own
    // validators), OpenVEX, HTML
    let vex_s = vex.to_str().unwrap();
    let mut files = Vec::new();
    for (fmt, name) in [
        ("cyclonedx", "vdr.cdx.json"),
        ("cyclonedx-vex", "vex.cdx.json"),
        ("spdx", "scan.spdx.json"),
        ("openvex", "scan.openvex.json"),
        ("html", "scan.html"),
    ] {
        let p = work.path().join(name);
        let (code, _, err) = stella(
            &[
                "scan",
                &t,
                "--db",
                db_s,
                "--vex",
                vex_s,
                "-f",
                fmt,
                "-o",
                p.to_str().unwrap(),
            ],
            &cache,
        );
        assert_eq!(code, 0, "{fmt}: {err}");
        files.push(p);
    }
    let vdr: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let vulns = vdr["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 3, "one per id");
    let v1547 = vulns.iter().find(|v| v["id"] == "CVE-2019-1547").unwrap();
    assert_eq!(v1547["affects"].as_array().unwrap().len(), 2, "{v1547}");
    assert_eq!(v1547["recommendation"], "Upgrade to 1.1.1d-r0");
    assert_eq!(vdr["components"].as_array().unwrap().len(), 2);
    let cvex: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[1]).unwrap()).unwrap();
    let states: Vec<String> = cvex["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            format!(
                "{} {}",
                v["id"].as_str().unwrap(),
                v["analysis"]["state"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        states.contains(&"CVE-2019-1547 not_affected".to_string()),
        "{states:?}"
    );
    assert!(
        states.contains(&"CVE-2019-1547 in_triage".to_string()),
        "{states:?}"
    );
    let ovex: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[3]).unwrap()).unwrap();
    assert_eq!(ovex["@context"], "https://openvex.dev/ns/v0.2.0");
    let sts = ovex["statements"].as_array().unwrap();
    assert!(
        sts.iter()
            .all(|s| s["status"] != "affected" || s["action_statement"].is_string())
    );
    assert!(sts.iter().any(|s| s["status"] == "not_affected"
        && s["justification"] == "vulnerable_code_not_in_execute_path"));
    // what we write as OpenVEX reads back as VEX
    let (code, out, err) = stella(
        &[
            "scan",
            &t,
            "--db",
            db_s,
            "-f",
            "json",
            "--vex",
            files[3].to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["summary"]["unknown"].as_u64().unwrap()
            + v["summary"]["medium"].as_u64().unwrap()
            + v["summary"]["high"].as_u64().unwrap()
            + v["summary"]["low"].as_u64().unwrap()
            + v["summary"]["critical"].as_u64().unwrap(),
        5
    );
    // and so does our CycloneDX VEX: `in_triage` keeps findings, `not_affected` sets aside
    let (code, out, err) = stella(
        &[
            "scan",
            &t,
            "--db",
            db_s,
            "-f",
            "json",
            "--vex",
            files[1].to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let marked: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["vex"].is_null())
        .map(|f| {
            format!(
                "{} {}",
                f["vulnerabilityId"].as_str().unwrap(),
                f["package"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(marked, ["CVE-2019-1547 libssl1.1"]);
    let page = std::fs::read_to_string(&files[4]).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("CVE-2019-1563"));
    assert!(!page.contains("<script") && !page.contains("src=\"http"));
    let py = std::env::var("STELLA_PYTHON").unwrap_or_else(|_| "python3".into());
    let have = Command::new(&py)
        .args(["-c", "import cyclonedx.validation.json, spdx_tools"])
        .status()
        .is_ok_and(|s| s.success());
    if have {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/validate-sbom.py");
        let out = Command::new(&py)
            .arg(script)
            .args(&files[..3])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        assert!(
            std::env::var("STELLA_REQUIRE_VALIDATORS").is_err(),
            "validators are required but not importable"
        );
        eprintln!("SKIP (partly): validators not installed");
    }
    // a document that is not OpenVEX is refused, not silently ignored
    let (code, _, err) = stella(
        &["scan", &t, "--db", db_s, "--vex", ign.to_str().unwrap()],
        &cache,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not JSON") || err.contains("OpenVEX"), "{err}");
    // SARIF and JUnit carry the same findings
    let (code, out, err) = stella(&["scan", &t, "--db", db_s, "-f", "sarif"], &cache);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["runs"][0]["results"].as_array().unwrap().len(), 6);
    assert_eq!(
        v["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "lib/apk/db/installed"
    );
    let (code, out, err) = stella(&["scan", &t, "--db", db_s, "-f", "junit"], &cache);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("<?xml") && out.contains("tests=\"6\" failures=\"6\""),
        "{out}"
    );
    assert_eq!(out.matches("<testcase ").count(), 6);
    // a DB older than --db-max-age warns
    let late = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(["scan", &t, "--db", db_s])
        .env("STELLA_CACHE", &cache)
        .env("SOURCE_DATE_EPOCH", "1710000000")
        .output()
        .unwrap();
    let late_err = String::from_utf8_lossy(&late.stderr);
    assert!(
        late_err.contains("days ago") && late_err.contains("stella db update"),
        "{late_err}"
    );
    // Debian 11 with an old openssl: the DSAs that fixed it, by source package
    let debian = work.path().join("debian");
    rootfs(
        &debian,
        &[
            ("etc/os-release", "ID=debian\nVERSION_ID=\"11\"\n"),
            (
                "var/lib/dpkg/status",
                "Package: libssl1.1\nStatus: install ok installed\nVersion: 1.1.1n-0+deb11u2\nArchitecture: amd64\nSource: openssl\n\nPackage: openssl\nStatus: install ok installed\nVersion: 1.1.1n-0+deb11u5\nArchitecture: amd64\n",
            ),
        ],
    );
    let (code, out, err) = stella(
        &[
            "scan",
            &format!("dir:{}", debian.display()),
            "--db",
            db_s,
            "-f",
            "json",
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let fs = v["findings"].as_array().unwrap();
    assert!(
        fs.iter().any(|f| f["package"]["name"] == "libssl1.1"
            && f["matchDetails"]["found"][0]["advisory"] == "DSA-5169-1"),
        "{out}"
    );
    // the openssl package at +deb11u5 is past every DSA here
    assert!(
        !fs.iter().any(|f| f["package"]["name"] == "openssl"),
        "{out}"
    );
    // a Python requirements file with an old Django: language findings with severities, and
    // the gate fails
    let app = work.path().join("app");
    rootfs(&app, &[("srv/requirements.txt", "django==2.2.0\n")]);
    let ta = format!("dir:{}", app.display());
    let (code, out, err) = stella(&["scan", &ta, "--db", db_s], &cache);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("django") && out.contains("Verdict: WARN"),
        "{out}"
    );
    assert!(
        !err.contains("GIT range"),
        "commit ranges beside version ranges are no warning: {err}"
    );
    // fixes are offered only above the installed version: CVE-2021-31542 was fixed in
    // 2.2.21, 3.1.9 and 3.2.1, and all three are upgrades from 2.2.0; from 3.2.0 only 3.2.1
    for (installed, want) in [
        ("2.2.0", vec!["2.2.21", "3.1.9", "3.2.1"]),
        ("3.2.0", vec!["3.2.1"]),
    ] {
        let app = work.path().join(format!("app-{installed}"));
        rootfs(
            &app,
            &[("srv/requirements.txt", &format!("django=={installed}\n"))],
        );
        let ta = format!("dir:{}", app.display());
        let (_, out, err) = stella(&["scan", &ta, "--db", db_s, "-f", "json"], &cache);
        let v: serde_json::Value = serde_json::from_str(&out).expect(&err);
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| {
                f["vulnerabilityId"] == "CVE-2021-31542"
                    || f["aliases"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a == "CVE-2021-31542")
            })
            .unwrap_or_else(|| panic!("{out}"));
        assert_eq!(f["fixedVersions"], serde_json::json!(want), "{installed}");
    }
    // bad input
    let (code, _, err) = stella(&["scan", &ta, "--db", "/nonexistent.db"], &cache);
    assert_eq!(code, 2);
    assert!(err.contains("stella db update"), "{err}");
    let (code, _, err) = stella(&["scan", &ta, "--db", db_s, "--fail-on", "severe"], &cache);
    assert_eq!(code, 2);
    assert!(err.contains("unknown severity"), "{err}");
}

/// AlmaLinux rpm packages with old EVRs against AlmaLinux's OSV data, in an rpmdb.sqlite made
/// with Debian's rpm; the advisories rate them Important, so `--fail-on high` fails.
#[test]
fn almalinux_rpm_packages_and_the_gate() {
    let Some(adv) = advisories() else { return };
    let have = |t: &str| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("rpm") || !have("rpmbuild") {
        eprintln!("SKIP: rpm and rpmbuild are not installed");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let db = work.path().join("alma.db");
    let db_s = db.to_str().unwrap();
    let zip = adv.join("osv/almalinux8.zip");
    let (code, _, err) = stella(
        &["db", "import", "--db", db_s, zip.to_str().unwrap()],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let root = work.path().join("root");
    rootfs(
        &root,
        &[(
            "etc/os-release",
            "NAME=\"AlmaLinux\"\nID=\"almalinux\"\nVERSION_ID=\"8.6\"\n",
        )],
    );
    let top = work.path().join("build");
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    std::fs::write(
        top.join("SPECS/o.spec"),
        "Name: openssl-libs\nEpoch: 1\nVersion: 1.1.1k\nRelease: 5.el8\nSummary: t\nLicense: OpenSSL\nBuildArch: noarch\n%description\nt\n%files\n",
    )
    .unwrap();
    let ok = Command::new("rpmbuild")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .arg("-bb")
        .arg(top.join("SPECS/o.spec"))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dbpath = root.join("var/lib/rpm");
    std::fs::create_dir_all(&dbpath).unwrap();
    let ok = Command::new("rpm")
        .arg("--dbpath")
        .arg(&dbpath)
        .args(["-i", "--justdb", "--nodeps", "--noscripts"])
        .arg(top.join("RPMS/noarch/openssl-libs-1.1.1k-5.el8.noarch.rpm"))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let t = format!("dir:{}", root.display());
    let (code, out, err) = stella(
        &["scan", &t, "--db", db_s, "--fail-on", "high", "-f", "json"],
        &cache,
    );
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let fs = v["findings"].as_array().unwrap();
    assert!(
        fs.iter().any(
            |f| f["matchDetails"]["found"][0]["advisory"] == "ALSA-2022:1065"
                && f["fixedVersions"][0] == "1:1.1.1k-6.el8_5"
                && f["severity"] == "high"
        ),
        "{out}"
    );
    assert_eq!(v["verdict"]["status"], "FAIL");
    assert_eq!(
        fs[0]["matchDetails"]["searchedBy"]["namespace"],
        "almalinux:8"
    );
    // without the gate the same findings only warn
    let (code, _, _) = stella(&["scan", &t, "--db", db_s], &cache);
    assert_eq!(code, 0);
}

#[test]
fn go_and_rust_lockfiles_against_their_osv_data() {
    let Some(adv) = advisories() else { return };
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let db = work.path().join("v.db");
    let db_s = db.to_str().unwrap();
    let (code, _, err) = stella(
        &[
            "db",
            "import",
            "--db",
            db_s,
            adv.join("osv/go-vulndb.zip").to_str().unwrap(),
            adv.join("osv/crates.io-rustsec.zip").to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let proj = work.path().join("proj");
    rootfs(
        &proj,
        &[
            (
                "app/go.mod",
                "module example.com/app\n\ngo 1.21\n\nrequire (\n\tgolang.org/x/text v0.3.5\n\tgolang.org/x/net v0.17.0 // indirect\n)\n",
            ),
            (
                "svc/Cargo.lock",
                "version = 3\n\n[[package]]\nname = \"svc\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"time\"\nversion = \"0.1.43\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"failure\"\nversion = \"0.1.8\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"hyper\"\nversion = \"0.14.9\"\nsource = \"git+https://github.com/example/hyper#abcdef\"\n",
            ),
        ],
    );
    let t = format!("dir:{}", proj.display());
    let (code, out, err) = stella(&["scan", &t, "--db", db_s, "-f", "json"], &cache);
    assert!(code == 0 || code == 1, "{err}");
    check_schema(&out);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let found: std::collections::BTreeSet<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}@{}",
                f["vulnerabilityId"].as_str().unwrap(),
                f["package"]["name"].as_str().unwrap(),
                f["package"]["version"].as_str().unwrap()
            )
        })
        .collect();
    // x/text 0.3.5: fixed in 0.3.7 (GO-2021-0113) and 0.3.8 (GO-2022-1059), not before
    // 0.3.3 (GO-2020-0015); ids are the CVEs the Go records alias
    for id in ["CVE-2021-38561", "CVE-2022-32149"] {
        assert!(
            found.contains(&format!("{id} golang.org/x/text@v0.3.5")),
            "{found:?}"
        );
    }
    assert!(
        !found.iter().any(|f| f.contains("CVE-2020-14040")),
        "{found:?}"
    );
    // x/net 0.17.0: CVE-2023-45288 (HTTP/2 CONTINUATION flood, fixed in 0.23.0)
    assert!(
        found.contains("CVE-2023-45288 golang.org/x/net@v0.17.0"),
        "{found:?}"
    );
    assert!(found.contains("CVE-2020-26235 time@0.1.43"), "{found:?}");
    // time 0.1.43 is affected by RUSTSEC-2020-0071; smallvec 1.6.1 is the fix of RUSTSEC-2021-0003
    assert!(found.iter().any(|f| f.contains("time@0.1.43")), "{found:?}");
    assert!(!found.iter().any(|f| f.contains("smallvec")), "{found:?}");
    // a git dependency is not crates.io's hyper; unmaintained `failure` is a notice
    assert!(!found.iter().any(|f| f.contains("hyper")), "{found:?}");
    assert!(!found.iter().any(|f| f.contains("failure")), "{found:?}");
    let notices: Vec<&str> = v["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["advisory"].as_str().unwrap())
        .collect();
    assert!(notices.contains(&"RUSTSEC-2020-0036"), "{notices:?}");
    // progress on a terminal (util-linux `script` gives one), plain lines in CI
    if Command::new("script").arg("--version").output().is_ok() {
        let out_file = work.path().join("out.json");
        let cmd = format!(
            "{} scan {t} --db {db_s} -f json -o {}",
            env!("CARGO_BIN_EXE_stella"),
            out_file.display()
        );
        for ci in [false, true] {
            let mut c = Command::new("script");
            c.args(["-qec", &cmd, "/dev/null"])
                .env("STELLA_CACHE", &cache)
                .env_remove("STELLA_NO_PROGRESS");
            if ci {
                c.env("CI", "true");
            } else {
                c.env_remove("CI");
            }
            let o = c.output().unwrap();
            let tty = String::from_utf8_lossy(&o.stdout);
            // a terminal rewrites one line; CI gets plain lines (no cursor tricks)
            assert!(
                tty.contains("matching 7 package(s) against the DB"),
                "CI={ci}: {tty}"
            );
            assert_eq!(tty.contains("\x1b[2K"), !ci, "CI={ci}: {tty}");
            assert_eq!(
                tty.contains("stella: matching 7 package(s) against the DB ("),
                ci,
                "CI={ci}: {tty}"
            );
        }
    } else {
        eprintln!("SKIP (partly): no `script` to give stella a terminal");
    }
}

#[test]
fn the_shared_images_are_clean_against_the_shared_advisories() {
    // Their packages are newer than every fix the shared (frozen) feeds know for their
    // releases: a finding here would be a false positive.
    let Some(adv) = advisories() else { return };
    let images = adv.parent().unwrap().join("images");
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let db = work.path().join("v.db");
    let db_s = db.to_str().unwrap();
    let (code, _, err) = stella(
        &["db", "import", "--db", db_s, adv.to_str().unwrap()],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    for (target, family, packages) in [
        (
            "docker-archive:alpine-3.10.4.docker-archive.tar.gz",
            "alpine",
            14,
        ),
        (
            "docker-archive:alpine-3.11.docker-archive.tar.gz",
            "alpine",
            14,
        ),
        ("oci-dir:debian-bookworm-minbase.oci", "debian", 88),
    ] {
        let (kind, file) = target.split_once(':').unwrap();
        let t = format!("{kind}:{}", images.join(file).display());
        let (code, out, err) = stella(
            &["scan", &t, "--db", db_s, "-f", "json", "--fail-on", "low"],
            &cache,
        );
        assert_eq!(code, 0, "{target}: {err}");
        check_schema(&out);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["target"]["os"]["family"], family, "{target}");
        assert_eq!(v["verdict"]["status"], "PASS", "{target}: {out}");
        // the only warnings: a release past its end of life; every namespace is covered
        let warnings: Vec<&str> = v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        for c in v["coverage"].as_array().unwrap() {
            assert_eq!(c["status"], "covered", "{target}: {c}");
            let eol = c["endOfLife"].as_str();
            assert_eq!(
                warnings
                    .iter()
                    .filter(|w| w.contains("reached its end of life"))
                    .count(),
                usize::from(eol.is_some()),
                "{target}: {warnings:?}"
            );
        }
        assert_eq!(
            warnings.len(),
            v["coverage"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["endOfLife"].is_string())
                .count(),
            "{target}: {warnings:?}"
        );
        let (code, listed, err) = stella(&["sbom", &t, "-f", "cyclonedx-json"], &cache);
        assert_eq!(code, 0, "{err}");
        let bom: serde_json::Value = serde_json::from_str(&listed).unwrap();
        let n = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["type"] == "library")
            .count();
        assert_eq!(n, packages, "{target}: the packages that were matched");
    }
}

/// An NVD API 2.0 record with one vulnerable CPE match.
fn nvd_record(id: &str, criteria: &str, range: &str) -> String {
    format!(
        r#"{{"id":"{id}","sourceIdentifier":"cve@mitre.org","published":"2021-12-10T10:15:09.143","lastModified":"2023-04-03T20:15:08.330","vulnStatus":"Analyzed",
  "descriptions":[{{"lang":"en","value":"{id} test record"}}],
  "metrics":{{"cvssMetricV31":[{{"source":"nvd@nist.gov","type":"Primary","cvssData":{{"version":"3.1","vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H","baseScore":10.0,"baseSeverity":"CRITICAL"}}}}]}},
  "configurations":[{{"nodes":[{{"operator":"OR","negate":false,"cpeMatch":[{{"vulnerable":true,"criteria":"{criteria}",{range}"matchCriteriaId":"00000000-0000-0000-0000-000000000000"}}]}}]}}]}}"#
    )
}

#[test]
fn cpe_matching_is_off_by_default_and_exact_when_on() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let nvd = work.path().join("nvd");
    std::fs::create_dir_all(&nvd).unwrap();
    for (id, criteria, range) in [
        (
            "CVE-2021-44228",
            "cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*",
            r#""versionStartIncluding":"2.13.0","versionEndExcluding":"2.15.0","#,
        ),
        // starts *after* 1.2.0: 1.2.0 itself is not affected
        (
            "CVE-2099-0001",
            "cpe:2.3:a:example_project:example:*:*:*:*:*:python:*:*",
            r#""versionStartExcluding":"1.2.0","versionEndIncluding":"1.4.0","#,
        ),
        // for Windows builds only: never a PyPI package's
        (
            "CVE-2099-0002",
            "cpe:2.3:a:example_project:example:*:*:*:*:*:windows:*:*",
            r#""versionEndExcluding":"9.0","#,
        ),
    ] {
        std::fs::write(
            nvd.join(format!("{id}.json")),
            nvd_record(id, criteria, range),
        )
        .unwrap();
    }
    let db = work.path().join("v.db");
    let db_s = db.to_str().unwrap();
    let (code, _, err) = stella(
        &[
            "db",
            "import",
            "--format",
            "nvd",
            "--db",
            db_s,
            nvd.to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let sbom = work.path().join("app.cdx.json");
    let comp = |n: &str, purl: &str| {
        format!(r#"{{"type":"library","bom-ref":"{purl}","name":"{n}","purl":"{purl}"}}"#)
    };
    let comps = [
        comp(
            "log4j-core",
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        ),
        comp(
            "log4j-core",
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.15.0",
        ),
        comp("example", "pkg:pypi/example@1.2.0"),
        comp("example", "pkg:pypi/example@1.3.0"),
    ];
    std::fs::write(&sbom, cyclonedx(&comps)).unwrap();
    let t = format!("sbom:{}", sbom.display());
    let (code, out, err) = stella(&["scan", &t, "--db", db_s, "-f", "json"], &cache);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 0, "off by default");
    let with_cpe = |target: &str| {
        let args = [
            "scan",
            target,
            "--db",
            db_s,
            "-f",
            "json",
            "--cpe",
            "--fail-on",
            "critical",
        ];
        stella(&args, &cache)
    };
    let (code, out, err) = with_cpe(&t);
    assert_eq!(code, 1, "{err}");
    check_schema(&out);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // a bare path to an SBOM file is scanned as one, as `sbom:PATH` is
    let (code, out2, err) = with_cpe(sbom.to_str().unwrap());
    assert_eq!(code, 1, "{err}");
    let v2: serde_json::Value = serde_json::from_str(&out2).unwrap();
    assert_eq!(v2["findings"], v["findings"]);
    assert_eq!(v2["target"]["kind"], "sbom");
    // JSON that is no SBOM is said to be so (not read as a broken image archive)
    let other = work.path().join("config.json");
    std::fs::write(&other, r#"{"architecture":"amd64"}"#).unwrap();
    let (code, _, err) = stella(&["scan", other.to_str().unwrap(), "--db", db_s], &cache);
    assert_ne!(code, 0);
    assert!(err.contains("not CycloneDX, SPDX"), "{err}");
    assert!(!err.contains("tar"), "{err}");
    let found: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}@{} {} {}",
                f["vulnerabilityId"].as_str().unwrap(),
                f["package"]["name"].as_str().unwrap(),
                f["package"]["version"].as_str().unwrap(),
                f["matchDetails"]["type"].as_str().unwrap(),
                f["matchDetails"]["searchedBy"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            "CVE-2021-44228 org.apache.logging.log4j:log4j-core@2.14.1 cpe apache:log4j",
            "CVE-2099-0001 example@1.3.0 cpe example_project:example:python",
        ]
    );
}

#[test]
fn a_cyclonedx_py_sbom_scans_like_the_requirements_it_describes() {
    let Some(adv) = advisories() else { return };
    if Command::new("cyclonedx-py")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: cyclonedx-py is not installed (pip install cyclonedx-bom)");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let db = work.path().join("v.db");
    let db_s = db.to_str().unwrap();
    let (code, _, err) = stella(
        &[
            "db",
            "import",
            "--db",
            db_s,
            adv.join("osv/pypi-pypa.zip").to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let app = work.path().join("app");
    rootfs(
        &app,
        &[(
            "requirements.txt",
            "django==3.2.0\nrequests==2.19.1\nurllib3==1.24.1\n",
        )],
    );
    let bom = work.path().join("bom.json");
    let out = Command::new("cyclonedx-py")
        .args(["requirements", "requirements.txt", "-o"])
        .arg(&bom)
        .current_dir(&app)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys = |target: &str| finding_keys(target, db_s, &cache);
    let from_dir = keys(&format!("dir:{}", app.display()));
    let from_bom = keys(&format!("sbom:{}", bom.display()));
    assert!(from_dir.len() > 20, "{from_dir:?}");
    assert!(
        from_dir.iter().any(|k| k.contains("urllib3@1.24.1")),
        "{from_dir:?}"
    );
    assert_eq!(from_dir, from_bom);
}

#[test]
fn root_io_statements_replace_the_distros_in_a_root_io_image() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let secdb = memcached_secdb(work.path());
    // Root.io's feed (the shape of vuln-list/rootio/cve_feed.json): its 1.6.17-r00071 build
    // carries the fix for CVE-2023-46853 only
    let rootio = work.path().join("vuln-list/rootio");
    std::fs::create_dir_all(&rootio).unwrap();
    std::fs::write(
        rootio.join("cve_feed.json"),
        r#"{"alpine":[{"distroversion":"3.17","packages":[{"pkg":{"name":"memcached","cves":{
            "CVE-2023-46853":{"vulnerable_ranges":["<1.6.17-r00071"],"fixed_versions":["1.6.17-r00071"],"severity":"HIGH"}}}}]}]}"#,
    )
    .unwrap();
    let db = work.path().join("v.db");
    let db_s = db.to_str().unwrap();
    for (format, dir) in [("alpine-secdb", &secdb), ("rootio", &rootio)] {
        let (code, _, err) = stella(
            &[
                "db",
                "import",
                "--format",
                format,
                "--db",
                db_s,
                dir.to_str().unwrap(),
            ],
            &cache,
        );
        assert_eq!(code, 0, "{format}: {err}");
    }
    let scan = |versions: &[(&str, &str)]| -> Vec<(String, String, String)> {
        let comps: Vec<String> = versions
            .iter()
            .map(|(n, v)| {
                let purl = format!("pkg:apk/alpine/{n}@{v}?arch=x86_64&distro=alpine-3.17.3");
                format!(r#"{{"type":"library","bom-ref":"{purl}","name":"{n}","version":"{v}","purl":"{purl}"}}"#)
            })
            .collect();
        let sbom = work.path().join("img.cdx.json");
        std::fs::write(&sbom, cyclonedx(&comps)).unwrap();
        let t = format!("sbom:{}", sbom.display());
        let (code, out, err) = stella(&["scan", &t, "--db", db_s, "-f", "json"], &cache);
        assert_eq!(code, 0, "{err}");
        check_schema(&out);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    format!(
                        "{} {}",
                        f["package"]["name"].as_str().unwrap(),
                        f["vulnerabilityId"].as_str().unwrap()
                    ),
                    f["matchDetails"]["searchedBy"]["namespace"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    f["fixedVersions"][0].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let t = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    // a plain Alpine image: the distribution's data
    let mut got = scan(&[("memcached", "1.6.17-r0")]);
    got.sort();
    assert_eq!(
        got,
        [
            t("memcached CVE-2023-46853", "alpine:3.17", "1.6.22-r0"),
            t("memcached CVE-2099-1111", "alpine:3.17", "1.6.30-r0")
        ]
    );
    // Root.io's build: its fix counts for the CVE it speaks of, Alpine's data for the rest
    let mut got = scan(&[("memcached", "1.6.17-r00071")]);
    got.sort();
    assert_eq!(
        got,
        [t("memcached CVE-2099-1111", "alpine:3.17", "1.6.30-r0")]
    );
    // a Root.io image whose memcached is not yet Root.io's build: Root.io's range decides
    let mut got = scan(&[("memcached", "1.6.17-r0"), ("musl", "1.2.3-r10071")]);
    got.sort();
    assert_eq!(
        got,
        [
            t(
                "memcached CVE-2023-46853",
                "rootio:alpine:3.17",
                "1.6.17-r00071"
            ),
            t("memcached CVE-2099-1111", "alpine:3.17", "1.6.30-r0")
        ]
    );
    // --explain tells the same story
    let sbom = format!("sbom:{}", work.path().join("img.cdx.json").display());
    let (code, out, err) = stella(
        &["scan", &sbom, "--db", db_s, "--explain", "CVE-2023-46853"],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("memcached 1.6.17-r0 (apk): MATCHES"), "{out}");
    assert!(out.contains("in rootio:alpine:3.17/memcached"), "{out}");
    assert!(
        out.contains("ignored: Root.io's statement replaces the distribution's"),
        "{out}"
    );
}

#[test]
fn seal_rebuilds_are_matched_against_seal_data_alone() {
    let Some(adv) = advisories() else { return };
    let seal = adv.join("vuln-list-fixtures/seal/testdata/happy/vuln-list/seal");
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let db = work.path().join("v.db");
    let db_s = db.to_str().unwrap();
    let (code, _, err) = stella(
        &[
            "db",
            "import",
            "--format",
            "osv",
            "--db",
            db_s,
            seal.to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let scan = |purls: &[&str]| -> Vec<(String, String)> {
        let comps: Vec<String> = purls
            .iter()
            .map(|purl| {
                format!(r#"{{"type":"library","bom-ref":"{purl}","name":"x","purl":"{purl}"}}"#)
            })
            .collect();
        let sbom = work.path().join("img.cdx.json");
        std::fs::write(&sbom, cyclonedx(&comps)).unwrap();
        let t = format!("sbom:{}", sbom.display());
        let (code, out, err) = stella(&["scan", &t, "--db", db_s, "-f", "json"], &cache);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let mut got: Vec<(String, String)> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    format!(
                        "{}@{} {}",
                        f["package"]["name"].as_str().unwrap(),
                        f["package"]["version"].as_str().unwrap(),
                        f["vulnerabilityId"].as_str().unwrap()
                    ),
                    f["matchDetails"]["searchedBy"]["namespace"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        got.sort();
        got
    };
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        scan(&[
            "pkg:apk/alpine/seal-zlib@1.2.8-r3?distro=alpine-3.17.3",
            "pkg:apk/alpine/seal-zlib@1.2.8-r25341999?distro=alpine-3.17.3",
        ]),
        [s("seal-zlib@1.2.8-r3 CVE-2023-6992", "seal:alpine")]
    );
    assert_eq!(
        scan(&[
            "pkg:deb/debian/seal-wget@1.21-1%2Bdeb11u1%2Bsp1?distro=debian-11",
            "pkg:deb/debian/seal-wget@1.21-1%2Bdeb11u1%2Bsp999?distro=debian-11",
        ]),
        [s(
            "seal-wget@1.21-1+deb11u1+sp1 CVE-2024-10524",
            "seal:debian"
        )]
    );
    // the Red Hat release comes from the package's `elN`, not from the image
    assert_eq!(
        scan(&[
            "pkg:rpm/centos/seal-expat@2.1.0-15.el7_9%2Bsp1?distro=centos-7",
            "pkg:rpm/centos/seal-expat@2.0.1-15.el6_10%2Bsp1?distro=centos-7",
            "pkg:rpm/centos/seal-expat@2.1.0-15.el7_9%2Bsp999?distro=centos-7",
        ]),
        [
            s(
                "seal-expat@2.0.1-15.el6_10+sp1 CVE-2022-22822",
                "seal:redhat:6"
            ),
            s(
                "seal-expat@2.1.0-15.el7_9+sp1 CVE-2022-22822",
                "seal:redhat:7"
            ),
        ]
    );
}

#[test]
fn a_policy_decides_the_verdict_and_a_mute_lets_the_next_build_pass() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let secdb = memcached_secdb(work.path());
    let db = work.path().join("v.db");
    let db_s = db.to_str().unwrap();
    let (code, _, err) = stella(
        &[
            "db",
            "import",
            "--format",
            "alpine-secdb",
            "--db",
            db_s,
            secdb.to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let purl = "pkg:apk/alpine/memcached@1.6.17-r0?arch=x86_64&distro=alpine-3.17.3";
    let sbom = work.path().join("img.cdx.json");
    std::fs::write(
        &sbom,
        cyclonedx(&[format!(
            r#"{{"type":"library","bom-ref":"a","name":"memcached","version":"1.6.17-r0","purl":"{purl}"}}"#
        )]),
    )
    .unwrap();
    let t = format!("sbom:{}", sbom.display());
    let policy = work.path().join("policy.yaml");
    let write_policy = |mutes: &str| {
        std::fs::write(
            &policy,
            format!(
                r#"version: 1
rules:
  - id: fixable
    action: deny
    when: {{ fixAvailable: true, package: "pkg:apk/alpine/memcached@*" }}
    message: "{{vulnerabilityId}} in {{package}}: upgrade to {{fixedVersion}}"
{mutes}"#
            ),
        )
        .unwrap();
    };
    write_policy("");
    let p = policy.to_str().unwrap();
    let (code, out, err) = stella(
        &["scan", &t, "--db", db_s, "--policy", p, "-f", "json"],
        &cache,
    );
    assert_eq!(code, 1, "a deny fails the build: {err}");
    check_schema(&out);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"]["status"], "FAIL");
    assert_eq!(v["verdict"]["details"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["verdict"]["details"][0]["message"],
        "CVE-2023-46853 in memcached: upgrade to 1.6.22-r0"
    );
    // S-2: the developer mutes both CVEs, with a reason and an expiry; the next build passes
    write_policy(
        "mutes:\n  - vulnerability: [CVE-2023-46853, CVE-2099-1111]\n    until: 2999-12-31\n    reason: not reachable\n    by: dev@example.com\n",
    );
    let (code, out, err) = stella(
        &["scan", &t, "--db", db_s, "--policy", p, "-f", "json"],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    check_schema(&out);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"]["status"], "PASS");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2, "muted findings stay in the report");
    assert!(
        f.iter()
            .all(|x| x["policy"]["action"] == "muted" && x["policy"]["by"] == "dev@example.com")
    );
    assert_eq!(
        v["summary"]["high"].as_u64().unwrap_or(0) + v["summary"]["unknown"].as_u64().unwrap_or(0),
        0
    );
    let (code, table, _) = stella(&["scan", &t, "--db", db_s, "--policy", p], &cache);
    assert_eq!(code, 0);
    // the reason is a footnote, so the severity column stays narrow
    assert!(table.contains("(muted [1])"), "{table}");
    assert!(
        table.contains(": muted until 2999-12-31: not reachable"),
        "{table}"
    );
    let header = table.lines().find(|l| l.starts_with("SEVERITY")).unwrap();
    assert!(
        header.find("VULNERABILITY").unwrap() < 25,
        "the severity column stays narrow: {table}"
    );
    // `policy eval` judges a stored result the same way, and says when a mute has expired
    let scan_json = work.path().join("scan.json");
    std::fs::write(&scan_json, &out).unwrap();
    let sj = scan_json.to_str().unwrap();
    let (code, out, _) = stella(&["policy", "eval", "--policy", p, "--findings", sj], &cache);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("verdict: PASS"), "{out}");
    let (code, out, _) = stella(
        &[
            "policy",
            "eval",
            "--policy",
            p,
            "--findings",
            sj,
            "--today",
            "3000-01-01",
        ],
        &cache,
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("expired on 2999-12-31"), "{out}");
    // golden cases: the same result judged today and after the mute expires
    let cases = work.path().join("cases");
    std::fs::create_dir_all(&cases).unwrap();
    for name in ["muted", "expired"] {
        std::fs::copy(&scan_json, cases.join(format!("{name}.scan.json"))).unwrap();
    }
    std::fs::write(
        cases.join("muted.expect.yaml"),
        "status: PASS\ntoday: 2026-11-29\nmuted: [CVE-2023-46853, CVE-2099-1111]\ndeny: []\n",
    )
    .unwrap();
    std::fs::write(
        cases.join("expired.expect.yaml"),
        "status: FAIL\ntoday: 3000-01-01\ndeny: [fixable]\nmuted: []\n",
    )
    .unwrap();
    let c = cases.to_str().unwrap();
    let (code, out, err) = stella(&["policy", "test", p, "--cases", c], &cache);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 passed, 0 failed"), "{out}");
    std::fs::write(
        cases.join("expired.expect.yaml"),
        "status: WARN\ntoday: 3000-01-01\n",
    )
    .unwrap();
    let (code, out, _) = stella(&["policy", "test", p, "--cases", c], &cache);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL  expired: status FAIL (expected WARN)"),
        "{out}"
    );
    // validate: a valid file, and a broken one named with its line and column
    let (code, out, _) = stella(&["policy", "validate", p], &cache);
    assert_eq!(code, 0);
    assert!(out.contains("valid (1 rule(s), 1 mute(s))"), "{out}");
    let (code, _, err) = stella(&["policy", "validate", "--require-mute-expiry", p], &cache);
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        &policy,
        "version: 1\nrules:\n  - id: x\n    action: deny\n    when: { severty: high }\n",
    )
    .unwrap();
    let (code, _, err) = stella(&["policy", "validate", p], &cache);
    assert_eq!(code, 2);
    assert!(
        err.contains("policy.yaml:5:") && err.contains("unknown field `severty`"),
        "{err}"
    );
    // a policy that fails to load stops the scan (it never judges with half a policy)
    let (code, _, err) = stella(&["scan", &t, "--db", db_s, "--policy", p], &cache);
    assert_eq!(code, 2, "{err}");
    // Rego beside YAML: any deny from either fails; the input carries the SBOM summary
    std::fs::write(
        &policy,
        "version: 1\nrules:\n  - {id: note, action: warn}\n",
    )
    .unwrap();
    let rego = work.path().join("gate.rego");
    std::fs::write(
        &rego,
        r#"package stella.policy

deny contains msg if {
    some f in input.findings
    f.fixedVersions[_] == "1.6.22-r0"
    msg := sprintf("%s: upgrade %s (%d package(s) scanned)", [f.vulnerabilityId, f.package.name, input.sbom.packages])
}

ignore contains "CVE-2099-1111"
"#,
    )
    .unwrap();
    let r = rego.to_str().unwrap();
    let (code, out, err) = stella(
        &[
            "scan", &t, "--db", db_s, "--policy", p, "--policy", r, "-f", "json",
        ],
        &cache,
    );
    assert_eq!(code, 1, "{err}");
    check_schema(&out);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let details = v["verdict"]["details"].as_array().unwrap();
    assert!(
        details.iter().any(|d| d["rule"] == format!("rego:{r}")
            && d["message"] == "CVE-2023-46853: upgrade memcached (1 package(s) scanned)"),
        "{details:?}"
    );
    let ignored = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["vulnerabilityId"] == "CVE-2099-1111")
        .unwrap();
    assert_eq!(ignored["policy"]["action"], "ignore");
    let (code, out, _) = stella(&["policy", "validate", r], &cache);
    assert_eq!(code, 0);
    assert!(out.contains("valid Rego"), "{out}");
    // a Rego policy that explodes is stopped in its sandbox: an error naming it, exit 2, and
    // this process unharmed
    std::fs::write(
        &rego,
        "package stella.policy\ndeny contains n if { n := count(numbers.range(1, 100000000000)) }\n",
    )
    .unwrap();
    let (code, _, err) = stella(&["scan", &t, "--db", db_s, "--policy", r], &cache);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("gate.rego") && err.contains("memory"), "{err}");
    std::fs::write(&rego, "package other\n").unwrap();
    let (code, _, err) = stella(&["policy", "validate", r], &cache);
    assert_eq!(code, 2);
    assert!(err.contains("package stella.policy"), "{err}");
}

#[test]
fn the_policy_examples_match_the_policy_schema() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let py = std::env::var("STELLA_PYTHON").unwrap_or_else(|_| "python3".into());
    let have = Command::new(&py)
        .args(["-c", "import jsonschema, yaml"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var("STELLA_REQUIRE_VALIDATORS").is_err(),
            "python jsonschema and yaml are required but not importable"
        );
        eprintln!("SKIP: python jsonschema/yaml not installed");
        return;
    }
    // every YAML example of docs/policy.md validates; a misspelt key does not
    let script = r#"import json, re, sys, yaml, jsonschema
s = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator(s)
blocks = re.findall(r"```yaml\n(.*?)```", open(sys.argv[2]).read(), re.S)
assert len(blocks) >= 2, "no examples"
for b in blocks:
    errs = [e.message for e in v.iter_errors(json.loads(json.dumps(yaml.safe_load(b), default=str)))]
    assert not errs, (errs, b)
bad = {"version": 1, "rules": [{"id": "a", "action": "deny", "when": {"severty": "high"}}]}
assert list(v.iter_errors(bad)), "a misspelt key passed"
print("ok", len(blocks))
"#;
    let out = Command::new(&py)
        .args(["-c", script])
        .arg(root.join("docs/policy.schema.json"))
        .arg(root.join("docs/policy.md"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn policies_tell_base_image_layers_from_the_applications() {
    let Some(adv) = advisories() else { return };
    let image = adv
        .parent()
        .unwrap()
        .join("images/alpine-3.10.4.docker-archive.tar.gz");
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    // a made-up advisory so that the image has a finding
    let secdb = work.path().join("secdb/v3.10");
    std::fs::create_dir_all(&secdb).unwrap();
    std::fs::write(
        secdb.join("main.json"),
        r#"{"distroversion":"v3.10","reponame":"main","archs":["x86_64"],"packages":[
            {"pkg":{"name":"busybox","secfixes":{"9.9.9-r0":["CVE-2099-0001"]}}}]}"#,
    )
    .unwrap();
    let db = work.path().join("v.db");
    let db_s = db.to_str().unwrap();
    let (code, _, err) = stella(
        &[
            "db",
            "import",
            "--format",
            "alpine-secdb",
            "--db",
            db_s,
            secdb.to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let t = format!("docker-archive:{}", image.display());
    let verdict = |layer: &str, base: Option<&str>| -> String {
        let policy = work.path().join(format!("{layer}.yaml"));
        std::fs::write(
            &policy,
            format!(
                "version: 1\nrules:\n  - {{id: {layer}, action: deny, when: {{layer: {layer}}}}}\n"
            ),
        )
        .unwrap();
        let p = policy.to_str().unwrap();
        let mut args = vec!["scan", &t, "--db", db_s, "--policy", p, "-f", "json"];
        if let Some(b) = base {
            args.extend(["--base-image", b]);
        }
        let (_, out, err) = stella(&args, &cache);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{err}"));
        v["verdict"]["status"].as_str().unwrap().to_string()
    };
    // built on itself: every package comes from the base image's layers
    assert_eq!(verdict("base", Some(&t)), "FAIL");
    assert_eq!(verdict("application", Some(&t)), "PASS");
    // no base image given: nothing is known to be the base's
    assert_eq!(verdict("base", None), "PASS");
    assert_eq!(verdict("application", None), "FAIL");
}

/// An OSV record for one npm package, affected below `fixed`.
fn npm_osv(id: &str, alias: &str, package: &str, fixed: &str) -> String {
    format!(
        r#"{{"schema_version":"1.6.0","id":"{id}","aliases":["{alias}"],"modified":"2024-01-01T00:00:00Z","published":"2023-01-01T00:00:00Z","summary":"{id} test record",
  "affected":[{{"package":{{"ecosystem":"npm","name":"{package}"}},"ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]}}]}}"#
    )
}

#[test]
fn a_cyclonedx_npm_sbom_scans_like_the_lockfile_it_describes() {
    if Command::new("cyclonedx-npm")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("STELLA_REQUIRE_VALIDATORS").is_err(),
            "cyclonedx-npm is required but not installed (npm install -g @cyclonedx/cyclonedx-npm)"
        );
        eprintln!("SKIP: cyclonedx-npm is not installed (npm install -g @cyclonedx/cyclonedx-npm)");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    // the GitHub advisories of these packages (facts: ids, aliases, fixed versions)
    let osv = work.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    for (id, alias, package, fixed) in [
        ("GHSA-35jh-r3h4-6jhm", "CVE-2021-23337", "lodash", "4.17.21"),
        ("GHSA-xvch-5gv4-984h", "CVE-2021-44906", "minimist", "1.2.6"),
        (
            "GHSA-67hx-6x53-jw92",
            "CVE-2023-45133",
            "@babel/traverse",
            "7.23.2",
        ),
        // a dev dependency: neither side reports it
        ("GHSA-0000-test-0001", "CVE-2099-0002", "left-pad", "9.0.0"),
    ] {
        std::fs::write(
            osv.join(format!("{id}.json")),
            npm_osv(id, alias, package, fixed),
        )
        .unwrap();
    }
    let db = work.path().join("v.db");
    let db_s = db.to_str().unwrap();
    let (code, _, err) = stella(
        &[
            "db",
            "import",
            "--format",
            "osv",
            "--db",
            db_s,
            osv.to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let app = work.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/npm-lock");
    for f in ["package.json", "package-lock.json"] {
        std::fs::copy(fixture.join(f), app.join(f)).unwrap();
    }
    let bom = work.path().join("bom.json");
    let out = Command::new("cyclonedx-npm")
        .args([
            "--package-lock-only",
            "--omit",
            "dev",
            "--output-format",
            "JSON",
            "--output-file",
        ])
        .arg(&bom)
        .current_dir(&app)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys = |target: &str| finding_keys(target, db_s, &cache);
    let from_dir = keys(&format!("dir:{}", app.display()));
    let from_bom = keys(&format!("sbom:{}", bom.display()));
    let want: std::collections::BTreeSet<String> = [
        // findings are named by the CVE when there is one
        "CVE-2021-23337 lodash@4.17.20",
        "CVE-2021-44906 minimist@1.2.5",
        "CVE-2023-45133 @babel/traverse@7.22.0",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(from_dir, want);
    assert_eq!(from_bom, want);
}
