//! End-to-end tests of the `stella` binary.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::process::Command;

fn stella(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .output()
        .expect("run stella");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn compare_prints_the_order() {
    assert_eq!(
        stella(&[
            "version",
            "compare",
            "--ecosystem",
            "Debian",
            "1:1.0",
            "2.0"
        ])
        .1,
        ">\n"
    );
    assert_eq!(
        stella(&[
            "version",
            "compare",
            "-e",
            "Alpine",
            "1.1.1c-r0",
            "1.1.1d-r0"
        ])
        .1,
        "<\n"
    );
    assert_eq!(
        stella(&["version", "compare", "-e", "PyPI", "1.0", "1.0.0"]).1,
        "=\n"
    );
    assert_eq!(
        stella(&[
            "version",
            "compare",
            "-e",
            "Red Hat",
            "0:1.0-1.el9",
            "1.0-1.el9_2"
        ])
        .1,
        "<\n"
    );
}

#[test]
fn bad_input_is_exit_2_with_a_hint() {
    let (code, _, err) = stella(&["version", "compare", "-e", "Cobol", "1", "2"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown ecosystem `Cobol`") && err.contains("hint:"),
        "{err}"
    );
    let (code, _, err) = stella(&["version", "compare", "-e", "Debian", "1:", "2"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid Debian version `1:`"), "{err}");
}

#[test]
fn check_counts_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("v.txt");
    std::fs::write(
        &f,
        "# comment\n// other\n\n1.0 < 2.0\n2.0 < 1.0\n1.0 = 1.0\n",
    )
    .unwrap();
    let (code, out, _) = stella(&[
        "version",
        "compare",
        "-e",
        "semver",
        "--check",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.ends_with("2 passed, 1 failed\n"), "{out}");
    assert!(out.contains(":5: 2.0 < 1.0 (got >)"), "{out}");
}

#[test]
fn check_shared_vectors_when_present() {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let vectors = std::path::Path::new(&dir).join("version-vectors");
    if !vectors.is_dir() {
        eprintln!(
            "SKIP: {} is absent; set STELLA_SHARED_DATA to run this test",
            vectors.display()
        );
        return;
    }
    for (file, eco) in [
        ("alpine", "Alpine"),
        ("cran", "CRAN"),
        ("debian", "Debian"),
        ("hackage", "Hackage"),
        ("maven", "Maven"),
        ("nuget", "NuGet"),
        ("packagist", "Packagist"),
        ("pub", "Pub"),
        ("pypi", "PyPI"),
        ("redhat", "Red Hat"),
        ("rubygems", "RubyGems"),
        ("semver", "semver"),
    ] {
        let p = vectors.join(format!("{file}-versions.txt"));
        let (code, out, err) = stella(&[
            "version",
            "compare",
            "-e",
            eco,
            "--check",
            p.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{file}: {out}{err}");
        assert!(out.trim_end().ends_with(" 0 failed"), "{out}");
    }
}

fn fixture(rel: &str) -> String {
    format!(
        "{}/../stella-sbom/testdata/{rel}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn sbom_convert_every_format_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    for (fmt, head) in [
        ("cyclonedx-json", "{"),
        ("cyclonedx-json@1.4", "{"),
        ("cyclonedx-xml", "<?xml"),
        ("cyclonedx-xml@1.5", "<?xml"),
        ("spdx-json", "{"),
        ("spdx-tag-value", "SPDXVersion: SPDX-2.3"),
    ] {
        let out = dir.path().join(format!("out-{fmt}"));
        let (code, stdout, err) = stella(&[
            "sbom",
            "convert",
            &fixture("producers/alpine-3.10.syft.json"),
            "--format",
            fmt,
            "--output",
            out.to_str().unwrap(),
            "--timestamp",
            "2026-11-29T00:00:00Z",
        ]);
        assert_eq!(code, 0, "{fmt}: {err}");
        assert!(stdout.is_empty(), "data goes to the file, not stdout");
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.starts_with(head), "{fmt}: {}", &text[..40]);
        // and it converts back
        let (code, back, err) = stella(&[
            "sbom",
            "convert",
            out.to_str().unwrap(),
            "-f",
            "cyclonedx-json",
        ]);
        assert_eq!(code, 0, "{fmt} back: {err}");
        assert_eq!(back.matches("\"bom-ref\"").count(), 14, "{fmt}");
    }
    // no temporary files left beside the output
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 6, "{left:?}");
}

#[test]
fn sbom_convert_is_deterministic_and_honours_source_date_epoch() {
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_stella"))
            .args([
                "sbom",
                "convert",
                &fixture("producers/alpine-3.10.syft.json"),
                "-f",
                "spdx-json",
            ])
            .env("SOURCE_DATE_EPOCH", "1795910400")
            .output()
            .unwrap()
    };
    let (a, b) = (run(), run());
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert!(String::from_utf8_lossy(&a.stdout).contains("\"created\": \"2026-11-29T00:00:00Z\""));
}

#[test]
fn sbom_convert_bad_input_says_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":[{\"name\":7}]}",
    )
    .unwrap();
    let (code, out, err) = stella(&["sbom", "convert", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("bad.json") && err.contains("/components/0/name"),
        "{err}"
    );
    std::fs::write(&bad, "{\"bomFormat\":\"CycloneDX\",\"specVer").unwrap();
    let (code, _, err) = stella(&["sbom", "convert", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("line 1, column"), "{err}");
    let (code, _, err) = stella(&["sbom", "convert", bad.to_str().unwrap(), "--max-size", "10"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("over the 10-byte limit") && err.contains("hint:"),
        "{err}"
    );
    let (code, _, err) = stella(&["sbom", "convert", bad.to_str().unwrap(), "-f", "pdf"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown output format `pdf`"), "{err}");
    let (code, _, err) = stella(&["sbom", "convert", "/nonexistent/x.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.json"), "{err}");
    // a failed conversion never leaves or truncates the output file
    let out = dir.path().join("keep.json");
    std::fs::write(&out, "precious").unwrap();
    let (code, _, _) = stella(&[
        "sbom",
        "convert",
        bad.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious");
}

#[test]
fn sbom_convert_prints_warnings_on_stderr() {
    let (code, out, err) = stella(&["sbom", "convert", &fixture("small-cyclonedx-1.6.json")]);
    assert_eq!(code, 0);
    assert!(out.starts_with('{'));
    assert!(
        err.contains("warning:") && err.contains("dangling reference `ghost`"),
        "{err}"
    );
}

#[test]
fn sbom_convert_refuses_a_1_gb_document_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(1 << 30).unwrap(); // sparse: costs no disk
    let (code, _, err) = stella(&["sbom", "convert", big.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("1073741824 bytes, over the 536870912-byte limit"),
        "{err}"
    );
}

fn advisory_fixture(rel: &str) -> String {
    format!(
        "{}/../stella-advisory/testdata/{rel}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn db_import_info_query() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let db_s = db.to_str().unwrap();
    let (code, _, err) = stella(&[
        "db",
        "import",
        "--db",
        db_s,
        &advisory_fixture("alpine"),
        &advisory_fixture("debian"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("wrote") && err.contains("vulnerabilities"),
        "{err}"
    );
    let (code, out, _) = stella(&["db", "info", "--db", db_s, "--json", "--verify"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["namespaces"]["alpine:3.10"].as_u64().unwrap() >= 2,
        "{out}"
    );
    assert!(v["digest"].as_str().unwrap().starts_with("sha256:"));
    let (code, out, _) = stella(&["db", "info", "--db", db_s]);
    assert_eq!(code, 0);
    assert!(
        out.contains("alpine:3.10") && out.contains("debian:11"),
        "{out}"
    );
    let (code, out, _) = stella(&[
        "db",
        "query",
        "--db",
        db_s,
        "--namespace",
        "alpine:3.10",
        "--package",
        "openssl",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("CVE-2019-1547") && out.contains("1.1.1d-r0"),
        "{out}"
    );
    let (code, _, err) = stella(&[
        "db",
        "query",
        "--db",
        db_s,
        "--namespace",
        "alpine:3.10",
        "--package",
        "nope",
    ]);
    assert_eq!(code, 4, "{err}");
    // adding to an existing DB keeps what it had
    let (code, _, err) = stella(&[
        "db",
        "import",
        "--db",
        db_s,
        "--format",
        "osv",
        &advisory_fixture("osv"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("unknown range type `WEIRD`") && err.contains("(skipped)"),
        "{err}"
    );
    let (_, out, _) = stella(&[
        "db",
        "query",
        "--db",
        db_s,
        "--namespace",
        "alpine:3.10",
        "--package",
        "openssl",
    ]);
    assert!(out.contains("CVE-2019-1547"), "{out}");
    let (_, out, _) = stella(&[
        "db",
        "query",
        "--db",
        db_s,
        "--namespace",
        "pypi",
        "--package",
        "example-pkg",
    ]);
    assert!(out.contains("CVE-2024-0001"), "{out}");
}

#[test]
fn db_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    std::fs::write(&db, b"garbage").unwrap();
    let (code, _, err) = stella(&["db", "info", "--db", db.to_str().unwrap()]);
    assert_eq!(code, 2, "a damaged DB is bad input");
    assert!(err.contains("damaged") && err.contains("hint:"), "{err}");
    let (code, _, err) = stella(&[
        "db",
        "import",
        "--db",
        dir.path().join("n.db").to_str().unwrap(),
        "--format",
        "nvd2",
        "x",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown feed format `nvd2`"), "{err}");
    let (code, _, err) = stella(&["db", "info", "--db", "/nonexistent/v.db"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/v.db"), "{err}");
}

#[test]
fn db_export_reimports_to_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let out = dir.path().join("export");
    let (a_s, b_s, out_s) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let (code, _, err) = stella(&[
        "db",
        "import",
        "--db",
        a_s,
        &advisory_fixture("alpine"),
        &advisory_fixture("debian"),
        &advisory_fixture("osv/GHSA-example.json"),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = stella(&["db", "export", "--db", a_s, "-o", out_s]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("exported"), "{err}");
    // a second export into the same place would mix two DBs
    let (code, _, err) = stella(&["db", "export", "--db", a_s, "-o", out_s]);
    assert_eq!(code, 2);
    assert!(err.contains("not empty"), "{err}");
    let (code, _, err) = stella(&["db", "import", "--db", b_s, out_s]);
    assert_eq!(code, 0, "{err}");
    for (ns, pkg) in [
        ("alpine:3.10", "openssl"),
        ("debian:11", "examplepkg"),
        ("pypi", "example-pkg"),
    ] {
        let q = |db: &str| {
            stella(&[
                "db",
                "query",
                "--db",
                db,
                "--namespace",
                ns,
                "--package",
                pkg,
            ])
        };
        let (qa, qb) = (q(a_s), q(b_s));
        assert_eq!(qa.0, 0, "{}", qa.2);
        assert!(!qa.1.trim().is_empty());
        assert_eq!(qa.1, qb.1, "{ns}/{pkg}");
    }
}

#[test]
fn closed_stdout_is_not_a_crash() {
    use std::io::Read as _;
    // far more output than a pipe buffers, so the writer must meet the closed end
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.cdx.json");
    let comps: Vec<serde_json::Value> = (0..5000)
        .map(|i| {
            serde_json::json!({"type": "library", "name": format!("pkg{i}"), "version": "1.0",
                               "purl": format!("pkg:npm/pkg{i}@1.0")})
        })
        .collect();
    let doc = serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                                 "components": comps});
    std::fs::write(&big, serde_json::to_vec(&doc).unwrap()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args([
            "sbom",
            "convert",
            big.to_str().unwrap(),
            "-f",
            "spdx-tag-value",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // read one byte, then hang up
    let mut stdout = child.stdout.take().unwrap();
    let mut one = [0u8; 1];
    let _ = stdout.read(&mut one);
    drop(stdout);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    // no panic, no "error: Broken pipe": the reader left, there is no one to tell
    assert!(err.is_empty(), "{err}");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn db_sign_with_openssl_keys_and_verify_both_ways() {
    let openssl = |args: &[&str]| Command::new("openssl").args(args).output();
    if openssl(&["version"]).is_err() {
        eprintln!("SKIP: openssl is not installed; the interop check needs it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    for (k, p) in [("key.pem", "key.pub"), ("other.pem", "other.pub")] {
        assert!(
            openssl(&["genpkey", "-algorithm", "ed25519", "-out", &d(k)])
                .unwrap()
                .status
                .success()
        );
        assert!(
            openssl(&["pkey", "-in", &d(k), "-pubout", "-out", &d(p)])
                .unwrap()
                .status
                .success()
        );
    }
    let db = d("v.db");
    let (code, _, err) = stella(&["db", "import", "--db", &db, &advisory_fixture("alpine")]);
    assert_eq!(code, 0, "{err}");
    // asking for a signature that is not there
    let (code, _, err) = stella(&["db", "info", "--db", &db, "--pubkey", &d("key.pub")]);
    assert_eq!(code, 2, "bad input");
    assert!(err.contains("no signature"), "{err}");
    // a public key is not a signing key
    let (code, _, err) = stella(&["db", "sign", "--db", &db, "--key", &d("key.pub")]);
    assert_eq!(code, 2);
    assert!(err.contains("not an Ed25519 private key"), "{err}");
    let (code, _, err) = stella(&["db", "sign", "--db", &db, "--key", &d("key.pem")]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = stella(&["db", "info", "--db", &db, "--pubkey", &d("key.pub")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("signature:       valid"), "{out}");
    let (code, _, err) = stella(&["db", "info", "--db", &db, "--pubkey", &d("other.pub")]);
    assert_eq!(code, 2);
    assert!(err.contains("trusted key"), "{err}");
    // openssl agrees the signature is over `stella-db-v1 sha256:<digest>`
    let sig: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{db}.sig")).unwrap()).unwrap();
    let hex = sig["signature"].as_str().unwrap();
    let raw: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    std::fs::write(d("sig.bin"), raw).unwrap();
    std::fs::write(
        d("msg"),
        format!("stella-db-v1 {}", sig["digest"].as_str().unwrap()),
    )
    .unwrap();
    let v = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        &d("key.pub"),
        "-rawin",
        "-in",
        &d("msg"),
        "-sigfile",
        &d("sig.bin"),
    ])
    .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}
