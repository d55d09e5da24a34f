//! `stella attest keygen|sign|verify` and `stella scan --attest` end to end: what is signed
//! verifies, anything changed, unexpected or untrusted is refused with exit 1 and a reason.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn run(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = stella().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$(std::ffi::OsStr::new(&$a)),*] };
}

fn keygen(dir: &Path, name: &str, alg: &str) -> (PathBuf, PathBuf) {
    let prefix = dir.join(name);
    let (code, _, err) = run(args![
        "attest",
        "keygen",
        "--algorithm",
        alg,
        "-o",
        prefix.as_os_str()
    ]);
    assert_eq!(code, 0, "{err}");
    (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pub")),
    )
}

const IMAGE: &str =
    "registry.example/shop@sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

#[test]
fn sboms_are_signed_and_verified_and_changes_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, public) = keygen(d, "team", "ecdsa-p256");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the private key is the owner's alone");
    }
    let (code, _, err) = run(args!["attest", "keygen", "-o", d.join("team").as_os_str()]);
    assert_eq!(code, 2, "never overwritten");
    assert!(err.contains("already exists"), "{err}");

    let sbom = d.join("sbom.json");
    std::fs::write(&sbom, memcached_sbom()).unwrap();
    // the SBOM names no image: the subject must be given
    let (code, _, err) = run(args![
        "attest",
        "sign",
        "--type",
        "sbom",
        "--key",
        key.as_os_str(),
        sbom.as_os_str()
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--subject"), "{err}");

    let att = d.join("sbom.intoto.jsonl");
    let (code, _, err) = run(args![
        "attest",
        "sign",
        "--type",
        "sbom",
        "--key",
        key.as_os_str(),
        "--subject",
        IMAGE,
        "-o",
        att.as_os_str(),
        sbom.as_os_str()
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(args![
        "attest",
        "verify",
        "--key",
        public.as_os_str(),
        "--type",
        "sbom",
        "--subject",
        IMAGE,
        att.as_os_str()
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("verified") && out.contains("https://cyclonedx.org/bom"),
        "{out}"
    );
    assert!(out.contains("registry.example/shop sha256:6c3c62"), "{out}");

    // the predicate comes back byte for byte as the SBOM's JSON
    let pred = d.join("pred.json");
    let (code, _, _) = run(args![
        "attest",
        "verify",
        "--key",
        public.as_os_str(),
        "--predicate-out",
        pred.as_os_str(),
        att.as_os_str()
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(&pred).unwrap()).unwrap(),
        serde_json::from_str::<serde_json::Value>(&memcached_sbom()).unwrap()
    );

    // wrong expectations, another key, a changed envelope: exit 1 with the reason
    let (_, other_pub) = keygen(d, "other", "ed25519");
    let mut tampered: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&att).unwrap()).unwrap();
    tampered["payloadType"] = "application/json".into();
    let bad = d.join("tampered.json");
    std::fs::write(&bad, tampered.to_string()).unwrap();
    let other_image = IMAGE.replace("6c3c", "7c3c");
    for (what, a, says) in [
        (
            "another type",
            vec![
                "--key".into(),
                public.clone().into_os_string(),
                "--type".into(),
                "vuln".into(),
                att.clone().into_os_string(),
            ],
            "not vuln",
        ),
        (
            "another subject",
            vec![
                "--key".into(),
                public.clone().into_os_string(),
                "--subject".into(),
                other_image.into(),
                att.clone().into_os_string(),
            ],
            "no subject",
        ),
        (
            "another key",
            vec![
                "--key".into(),
                other_pub.clone().into_os_string(),
                att.clone().into_os_string(),
            ],
            "do not trust",
        ),
        (
            "a changed envelope",
            vec![
                "--key".into(),
                public.clone().into_os_string(),
                bad.clone().into_os_string(),
            ],
            "changed after signing",
        ),
    ] {
        let mut all: Vec<std::ffi::OsString> = vec!["attest".into(), "verify".into()];
        all.extend(a);
        let out = stella().args(&all).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{what}: {text}");
        assert!(
            text.contains("NOT verified") && text.contains(says),
            "{what}: {text}"
        );
    }

    // a Sigstore bundle when the output's name says so
    let bundle = d.join("sbom.sigstore.json");
    let (code, _, err) = run(args![
        "attest",
        "sign",
        "--type",
        "sbom",
        "--key",
        key.as_os_str(),
        "--subject",
        IMAGE,
        "-o",
        bundle.as_os_str(),
        sbom.as_os_str()
    ]);
    assert_eq!(code, 0, "{err}");
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(
        b["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let (code, out, _) = run(args![
        "attest",
        "verify",
        "--key",
        public.as_os_str(),
        "-f",
        "json",
        bundle.as_os_str()
    ]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["verified"], true);
    assert_eq!(v[0]["tlogNote"], "no transparency-log entry");
    // --require-tlog: a bundle without a log entry is not enough
    let (code, _, _) = run(args![
        "attest",
        "verify",
        "--key",
        public.as_os_str(),
        "--require-tlog",
        bundle.as_os_str()
    ]);
    assert_eq!(code, 1);
}

#[test]
fn scan_attest_signs_the_verdict_beside_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = secdb_db(d);
    let (key, public) = keygen(d, "ci", "ed25519");
    let sbom = d.join("sbom.json");
    std::fs::write(&sbom, memcached_sbom()).unwrap();
    let report = d.join("report.json");
    // no place to put it: refused before scanning
    let (code, _, err) = run(args![
        "scan",
        "--db",
        db.as_os_str(),
        "--attest",
        key.as_os_str(),
        sbom.as_os_str()
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--output"), "{err}");
    let (code, _, err) = run(args![
        "scan",
        "--db",
        db.as_os_str(),
        "-f",
        "json",
        "-o",
        report.as_os_str(),
        "--attest",
        key.as_os_str(),
        "--fail-on",
        "high",
        sbom.as_os_str()
    ]);
    assert!(code == 0 || code == 1, "{err}");
    let att = d.join("report.json.intoto.jsonl");
    assert!(err.contains("signed scan result"), "{err}");
    let pred = d.join("pred.json");
    let (code, out, err) = run(args![
        "attest",
        "verify",
        "--key",
        public.as_os_str(),
        "--type",
        "vuln",
        "--artifact",
        sbom.as_os_str(),
        "--predicate-out",
        pred.as_os_str(),
        att.as_os_str()
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&pred).unwrap()).unwrap();
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(
        p["verdict"], r["verdict"],
        "the signed verdict is the printed one"
    );
    assert_eq!(p["result"]["findings"], r["findings"]);
    assert_eq!(p["scanner"]["uri"], "https://stella-ops.org/stella");
    let digest = stella_advisory::Db::open(&db).unwrap().digest();
    assert_eq!(p["scanner"]["db"]["digest"], format!("sha256:{digest}"));
    assert!(
        p["result"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.to_string().contains("CVE-2023-46853"))
    );
    check_predicate_schema(&pred);
}

/// The predicate follows docs/attestation-scan-result.schema.json (Python's `jsonschema`,
/// with the scan-result schema it refers to).
fn check_predicate_schema(pred: &Path) {
    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let have = std::process::Command::new("python3")
        .args(["-c", "import jsonschema, referencing"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var_os("STELLA_REQUIRE_VALIDATORS").is_none(),
            "python jsonschema is required but not importable"
        );
        eprintln!("SKIP (partly): python jsonschema not installed");
        return;
    }
    let script = "import json,sys,jsonschema,referencing\nfrom referencing.jsonschema import DRAFT202012\nload=lambda p: json.load(open(p))\nbase=load(sys.argv[2])\nreg=referencing.Registry().with_resource(base['$id'], DRAFT202012.create_resource(base))\nv=jsonschema.Draft202012Validator(load(sys.argv[1]), registry=reg)\nerrs=[f'{list(e.absolute_path)}: {e.message}' for e in v.iter_errors(load(sys.argv[3]))]\nprint('\\n'.join(errs[:10]))\nsys.exit(1 if errs else 0)";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(docs.join("attestation-scan-result.schema.json"))
        .arg(docs.join("scan-result.schema.json"))
        .arg(pred)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the predicate does not follow its schema:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn provenance_names_the_db_and_policy_it_used() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = secdb_db(d);
    let (key, public) = keygen(d, "ci", "ecdsa-p256");
    let artifact = d.join("report.sarif");
    std::fs::write(&artifact, "{}").unwrap();
    let policy = d.join("policy.yaml");
    std::fs::write(&policy, "version: 1\nrules: []\n").unwrap();
    let att = d.join("prov.json");
    let (code, _, err) = run(args![
        "attest",
        "sign",
        "--type",
        "slsa",
        "--key",
        key.as_os_str(),
        "--db",
        db.as_os_str(),
        "--policy",
        policy.as_os_str(),
        "-o",
        att.as_os_str(),
        artifact.as_os_str()
    ]);
    assert_eq!(code, 0, "{err}");
    let pred = d.join("pred.json");
    let (code, out, _) = run(args![
        "attest",
        "verify",
        "--key",
        public.as_os_str(),
        "--type",
        "slsa",
        "--artifact",
        artifact.as_os_str(),
        "--predicate-out",
        pred.as_os_str(),
        att.as_os_str()
    ]);
    assert_eq!(code, 0, "{out}");
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&pred).unwrap()).unwrap();
    let deps = p["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .unwrap();
    let digest = stella_advisory::Db::open(&db).unwrap().digest();
    assert_eq!(deps[0]["name"], "stella-db");
    assert_eq!(deps[0]["digest"]["sha256"], digest);
    assert_eq!(deps[1]["name"], "policy");
    assert_eq!(
        deps[1]["digest"]["sha256"],
        stella_attest::sha256_hex(&std::fs::read(&policy).unwrap())
    );
    assert_eq!(
        p["runDetails"]["builder"]["id"],
        "https://stella-ops.org/stella"
    );
}

#[test]
fn a_keyless_bundle_verifies_only_for_the_identity_named() {
    let td = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../stella-attest/testdata/sigstore");
    let bundle = td.join("npm-sigstore-3.1.0.sigstore.json");
    let root = td.join("trusted_root.json");
    // its certificate alone is no reason to trust it
    let (code, out, _) = run(args![
        "attest",
        "verify",
        "--trusted-root",
        root.as_os_str(),
        bundle.as_os_str()
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--certificate-identity"), "{out}");
    let identity =
        "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main";
    let issuer = "https://token.actions.githubusercontent.com";
    let (code, out, err) = run(args![
        "attest",
        "verify",
        "--trusted-root",
        root.as_os_str(),
        "--certificate-identity",
        identity,
        "--certificate-oidc-issuer",
        issuer,
        "--type",
        "slsa",
        "--require-tlog",
        bundle.as_os_str()
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("identity   https://github.com/sigstore/sigstore-js"),
        "{out}"
    );
    assert!(
        out.contains(
            "https://rekor.sigstore.dev entry 168704762 at 2025-02-04T20:35:47Z (inclusion proven)"
        ),
        "{out}"
    );
    assert!(
        out.contains("pkg:npm/sigstore@3.1.0 sha512:669cd600"),
        "{out}"
    );
    let (code, out, _) = run(args![
        "attest",
        "verify",
        "--trusted-root",
        root.as_os_str(),
        "--certificate-identity",
        "https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main",
        "--certificate-oidc-issuer",
        issuer,
        bundle.as_os_str()
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not to https://github.com/evil/fork"), "{out}");
}
