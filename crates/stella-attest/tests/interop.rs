//! The reference implementations agree with us: `securesystemslib` and `in-toto` (PyPI) verify
//! Stella's envelopes and `in-toto-attestation` validates its statements; we verify theirs.

#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

use std::path::PathBuf;
use std::process::Command;

use stella_attest::{
    Envelope, IN_TOTO_PAYLOAD_TYPE, PublicKey, SigningKey, Statement, Subject, predicate,
};

fn td(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(p)
}

fn python_ready() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import securesystemslib.dsse, in_toto.models.metadata, in_toto_attestation.v1.statement, cryptography",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("STELLA_REQUIRE_VALIDATORS").is_none(),
            "securesystemslib / in-toto / in-toto-attestation are required (scripts/test installs them)"
        );
        eprintln!(
            "SKIPPED: pip install 'securesystemslib[crypto]' in-toto in-toto-attestation to run the interoperability test"
        );
    }
    ok
}

fn py(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new("python3")
        .arg(td("interop.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "interop.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn reference_implementations_verify_ours_and_we_verify_theirs() {
    if !python_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sbom = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","name":"openssl","version":"3.0.11-1~deb12u2","purl":"pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64"}]}"#;
    let subject = [Subject::sha256(
        "registry.example/app",
        "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b",
    )];
    let statement = Statement::encode(&subject, predicate::CYCLONEDX, sbom).unwrap();
    for (private, public) in [
        ("ed25519.pem", "ed25519.pub.pem"),
        ("p256.pem", "p256.pub.pem"),
        ("p256-sec1.pem", "p256-sec1.pub.pem"),
    ] {
        let k = SigningKey::from_pem(&std::fs::read_to_string(td(private)).unwrap()).unwrap();
        let e = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement, &[&k]).unwrap();
        let f = dir.path().join("ours.json");
        std::fs::write(&f, e.to_json()).unwrap();
        let said = py(&["verify".as_ref(), f.as_os_str(), td(public).as_os_str()]);
        assert_eq!(said.trim(), predicate::CYCLONEDX, "{private}");

        // theirs, verified by us
        let st = dir.path().join("statement.json");
        std::fs::write(&st, &statement).unwrap();
        let theirs = dir.path().join("theirs.json");
        py(&[
            "sign".as_ref(),
            st.as_os_str(),
            td(private).as_os_str(),
            theirs.as_os_str(),
        ]);
        let e = Envelope::from_json(&std::fs::read(&theirs).unwrap()).unwrap();
        let p = PublicKey::from_pem(&std::fs::read_to_string(td(public)).unwrap()).unwrap();
        let v = e.verify(&[p], 1).unwrap();
        assert_eq!(v.payload, statement, "{private}");
        assert!(Statement::parse(&v.payload).unwrap().covers(
            Some("registry.example/app"),
            "6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"
        ));
        // and a tampered copy of ours is refused by them too
        let mut bad = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement, &[&k]).unwrap();
        bad.payload_type = "application/json".into();
        std::fs::write(&f, bad.to_json()).unwrap();
        let out = Command::new("python3")
            .arg(td("interop.py"))
            .args(["verify".as_ref(), f.as_os_str(), td(public).as_os_str()])
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "securesystemslib accepted a tampered envelope"
        );
    }
}
