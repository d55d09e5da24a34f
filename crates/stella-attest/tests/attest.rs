//! Keys as openssl writes them, DSSE envelopes and their tampering, bundles, and a real
//! production npm provenance bundle with its Rekor entry.

#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

use std::path::PathBuf;
use std::process::Command;

use stella_attest::rekor::{Log, Logged, verify_entry};
use stella_attest::{
    Algorithm, Bundle, Envelope, IN_TOTO_PAYLOAD_TYPE, PublicKey, SigningKey, Statement, Subject,
    predicate, read_attestations,
};

fn td(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(p)
}

fn read(p: &str) -> String {
    std::fs::read_to_string(td(p)).unwrap()
}

const PAIRS: [(&str, &str, Algorithm); 3] = [
    ("ed25519.pem", "ed25519.pub.pem", Algorithm::Ed25519),
    ("p256.pem", "p256.pub.pem", Algorithm::EcdsaP256),
    ("p256-sec1.pem", "p256-sec1.pub.pem", Algorithm::EcdsaP256),
];

fn statement() -> Vec<u8> {
    Statement::encode(
        &[Subject::sha256("registry.example/app", &"ab".repeat(32))],
        predicate::CYCLONEDX,
        br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#,
    )
    .unwrap()
}

#[test]
fn openssl_keys_sign_and_verify() {
    for (private, public, alg) in PAIRS {
        let k = SigningKey::from_pem(&read(private)).unwrap();
        let p = PublicKey::from_pem(&read(public)).unwrap();
        assert_eq!(k.public(), &p, "{private}");
        assert_eq!(p.algorithm(), alg);
        assert_eq!(PublicKey::from_pem(&p.to_pem()).unwrap(), p);
        let again = SigningKey::from_pem(&k.to_pem().unwrap()).unwrap();
        assert_eq!(again.public(), &p, "{private} written and read back");
        let e = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement(), &[&k]).unwrap();
        let v = Envelope::from_json(e.to_json().as_bytes())
            .unwrap()
            .verify(std::slice::from_ref(&p), 1)
            .unwrap();
        assert_eq!(v.keys, [p.key_id()]);
        assert_eq!(v.payload, statement());
    }
}

fn openssl() -> bool {
    let ok = Command::new("openssl").arg("version").output().is_ok();
    if !ok {
        eprintln!("SKIPPED: openssl is not installed; the cross-check against it did not run");
    }
    ok
}

/// openssl is the oracle: it verifies what we sign, we verify what it signs, and it reads the
/// keys we generate.
#[test]
fn openssl_agrees_on_signatures_and_keys() {
    if !openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let msg = dir.path().join("msg");
    std::fs::write(&msg, b"DSSEv1 28 application/vnd.in-toto+json 2 {}").unwrap();
    for (private, public, alg) in PAIRS {
        let k = SigningKey::from_pem(&read(private)).unwrap();
        let sig = dir.path().join("sig");
        std::fs::write(&sig, k.sign(&std::fs::read(&msg).unwrap()).unwrap()).unwrap();
        let pubf = td(public);
        let args: Vec<&std::ffi::OsStr> = match alg {
            Algorithm::Ed25519 => ["pkeyutl", "-verify", "-pubin", "-inkey"]
                .iter()
                .map(std::ffi::OsStr::new)
                .chain([pubf.as_os_str()])
                .chain(["-rawin", "-in"].iter().map(std::ffi::OsStr::new))
                .chain([msg.as_os_str(), "-sigfile".as_ref(), sig.as_os_str()])
                .collect(),
            Algorithm::EcdsaP256 => ["dgst", "-sha256", "-verify"]
                .iter()
                .map(std::ffi::OsStr::new)
                .chain([pubf.as_os_str(), "-signature".as_ref(), sig.as_os_str()])
                .chain([msg.as_os_str()])
                .collect(),
        };
        let out = Command::new("openssl").args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl refused our {private} signature: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // and the other way round
        let theirs = dir.path().join("theirs");
        let sign: Vec<&std::ffi::OsStr> = match alg {
            Algorithm::Ed25519 => vec![
                "pkeyutl".as_ref(),
                "-sign".as_ref(),
                "-inkey".as_ref(),
                td(private).into_os_string().leak(),
                "-rawin".as_ref(),
                "-in".as_ref(),
                msg.as_os_str(),
                "-out".as_ref(),
                theirs.as_os_str(),
            ],
            Algorithm::EcdsaP256 => vec![
                "dgst".as_ref(),
                "-sha256".as_ref(),
                "-sign".as_ref(),
                td(private).into_os_string().leak(),
                "-out".as_ref(),
                theirs.as_os_str(),
                msg.as_os_str(),
            ],
        };
        let out = Command::new("openssl").args(&sign).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let p = PublicKey::from_pem(&read(public)).unwrap();
        assert!(
            p.verify(
                &std::fs::read(&msg).unwrap(),
                &std::fs::read(&theirs).unwrap()
            ),
            "openssl's {private} signature"
        );
    }
    for alg in [Algorithm::Ed25519, Algorithm::EcdsaP256] {
        let k = SigningKey::generate(alg).unwrap();
        let f = dir.path().join("gen.pem");
        std::fs::write(&f, k.to_pem().unwrap()).unwrap();
        let out = Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            PublicKey::from_pem(&String::from_utf8(out.stdout).unwrap()).unwrap(),
            *k.public(),
            "openssl derives the same public key from our {} key",
            alg.name()
        );
    }
}

#[test]
fn keys_we_cannot_use_are_refused_with_a_reason() {
    let cases = [
        ("p384.pem", "P-256"),
        ("rsa.pem", "not supported"),
        ("p256-enc.pem", "openssl pkey"),
        ("ed25519.pub.pem", "public key"),
    ];
    for (f, says) in cases {
        let e = SigningKey::from_pem(&read(f)).unwrap_err().to_string();
        assert!(e.contains(says), "{f}: {e}");
    }
    for bad in [
        "",
        "hello",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ] {
        assert!(SigningKey::from_pem(bad).is_err(), "{bad:?}");
        assert!(PublicKey::from_pem(bad).is_err(), "{bad:?}");
    }
    let e = SigningKey::from_pem(
        "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("cosign"), "{e}");
}

#[test]
fn tampered_or_untrusted_envelopes_are_refused() {
    let k = SigningKey::from_pem(&read("p256.pem")).unwrap();
    let other = SigningKey::from_pem(&read("ed25519.pem")).unwrap();
    let trusted = [k.public().clone()];
    let e = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement(), &[&k]).unwrap();
    assert!(e.verify(&trusted, 1).is_ok());

    let mut t = e.clone();
    t.payload_type = "text/plain".into();
    assert!(t.verify(&trusted, 1).is_err(), "payload type is signed");
    let mut t = e.clone();
    let mut p = t.payload_bytes().unwrap();
    p[20] ^= 1;
    t.payload = base64_std(&p);
    let msg = t.verify(&trusted, 1).unwrap_err().to_string();
    assert!(msg.contains("changed after signing"), "{msg}");
    let mut t = e.clone();
    t.signatures[0].sig = base64_std(&[0u8; 64]);
    assert!(t.verify(&trusted, 1).is_err());
    assert!(
        e.verify(&[other.public().clone()], 1).is_err(),
        "untrusted key"
    );
    assert!(e.verify(&[], 1).is_err(), "no key");

    // a lying key id is only a hint
    let mut t = e.clone();
    t.signatures[0].keyid = other.public().key_id().into();
    assert!(t.verify(&trusted, 1).is_ok());

    // thresholds count distinct trusted keys
    let both = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement(), &[&k, &other]).unwrap();
    let all = [k.public().clone(), other.public().clone()];
    assert_eq!(both.verify(&all, 2).unwrap().keys.len(), 2);
    let mut dup = e.clone();
    dup.signatures.push(dup.signatures[0].clone());
    assert!(dup.verify(&all, 2).is_err(), "one key twice is one key");

    for bad in [
        "",
        "{}",
        r#"{"payloadType":"x","payload":"e30=","signatures":[]}"#,
        "[1,2]",
    ] {
        assert!(Envelope::from_json(bad.as_bytes()).is_err(), "{bad}");
    }
}

fn base64_std(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn bundles_and_cosign_downloads_are_read() {
    let k = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let e = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement(), &[&k]).unwrap();
    let b = Bundle::new(e.clone(), k.public()).to_json();
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        v["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        v["verificationMaterial"]["publicKey"]["hint"],
        k.public().key_id()
    );
    let read = read_attestations(b.as_bytes()).unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].envelope, e);
    assert_eq!(read[0].key_hint.as_deref(), Some(k.public().key_id()));
    // `cosign download attestation`: one envelope per line
    let lines = format!("{}\n{}\n", e.to_json(), e.to_json());
    assert_eq!(read_attestations(lines.as_bytes()).unwrap().len(), 2);
    // a pretty-printed single envelope is one
    let pretty = serde_json::to_string_pretty(&e).unwrap();
    assert_eq!(read_attestations(pretty.as_bytes()).unwrap().len(), 1);
    let blob = r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"messageSignature":{"signature":"AA=="}}"#;
    let msg = read_attestations(blob.as_bytes()).unwrap_err().to_string();
    assert!(msg.contains("messageSignature"), "{msg}");
}

fn npm() -> (stella_attest::Attestation, Vec<Log>) {
    let bytes = std::fs::read(td("sigstore/npm-sigstore-3.1.0.sigstore.json")).unwrap();
    let mut a = read_attestations(&bytes).unwrap();
    let logs =
        Log::from_trusted_root(&std::fs::read(td("sigstore/trusted_root.json")).unwrap()).unwrap();
    (a.remove(0), logs)
}

/// npm's public provenance of `sigstore@3.1.0` (sigstore-python's test asset): the DSSE
/// signature verifies with the Fulcio certificate's key, the statement is SLSA provenance v1,
/// and its Rekor entry verifies offline — SET, inclusion proof, signed checkpoint.
#[test]
fn a_real_npm_provenance_bundle_verifies_offline() {
    let (a, logs) = npm();
    let key = a.certificate_key().unwrap().unwrap();
    assert_eq!(key.algorithm(), Algorithm::EcdsaP256);
    let v = a.envelope.verify(&[key], 1).unwrap();
    let st = Statement::parse(&v.payload).unwrap();
    assert_eq!(st.predicate_type, predicate::SLSA_PROVENANCE_V1);
    assert_eq!(st.subject[0].name, "pkg:npm/sigstore@3.1.0");
    assert!(st.subject[0].digest["sha512"].starts_with("669cd600"));
    let logged = verify_entry(&a.tlog_entries[0], &a.envelope, &logs).unwrap();
    assert_eq!(
        logged,
        Logged {
            log: "https://rekor.sigstore.dev".into(),
            log_index: 168_704_762,
            integrated_time: 1_738_701_347,
            proven: true,
        }
    );
}

#[test]
fn a_tampered_log_entry_is_refused() {
    let (a, logs) = npm();
    let entry = &a.tlog_entries[0];
    let mut proof = entry.clone();
    proof["inclusionProof"]["hashes"][3] = "wpOiaMzXug40cwGgv/RMrqSdTYlOoVFO2HH7dtM/2S8=".into();
    let mut time = entry.clone();
    time["integratedTime"] = "1738701348".into();
    let mut size = entry.clone();
    size["inclusionProof"]["treeSize"] = "46800507".into();
    let mut checkpoint = entry.clone();
    let cp = entry["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap();
    checkpoint["inclusionProof"]["checkpoint"]["envelope"] =
        cp.replace("46800506", "46800507").into();
    for (what, e, says) in [
        ("a proof hash", proof, "inclusion proof"),
        ("the integration time", time, "signed entry timestamp"),
        ("the tree size", size, "inclusion proof"),
        ("the checkpoint", checkpoint, "checkpoint"),
    ] {
        let msg = verify_entry(&e, &a.envelope, &logs)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(says), "{what}: {msg}");
    }
    // the entry must be this envelope's
    let k = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let other = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement(), &[&k]).unwrap();
    let msg = verify_entry(entry, &other, &logs).unwrap_err().to_string();
    assert!(msg.contains("another payload"), "{msg}");
    // and in a log the verifier trusts
    let untrusted = [Log::from_key("https://elsewhere", k.public().clone())];
    let msg = verify_entry(entry, &a.envelope, &untrusted)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("do not trust"), "{msg}");
}

#[test]
fn inclusion_proofs_follow_rfc_9162() {
    use sha2::Digest as _;
    use stella_attest::rekor::root_from_inclusion_proof;
    let leaf = |i: u8| -> [u8; 32] { sha2::Sha256::digest([0, i]).into() };
    let node = |l: [u8; 32], r: [u8; 32]| -> [u8; 32] {
        let mut h = sha2::Sha256::new();
        h.update([1]);
        h.update(l);
        h.update(r);
        h.finalize().into()
    };
    // a tree of 5 leaves: root = H(H(H(0,1),H(2,3)), 4)
    let (l0, l1, l2, l3, l4) = (leaf(0), leaf(1), leaf(2), leaf(3), leaf(4));
    let root = node(node(node(l0, l1), node(l2, l3)), l4);
    assert_eq!(
        root_from_inclusion_proof(2, 5, l2, &[l3, node(l0, l1), l4]),
        Some(root)
    );
    assert_eq!(
        root_from_inclusion_proof(4, 5, l4, &[node(node(l0, l1), node(l2, l3))]),
        Some(root)
    );
    assert_ne!(
        root_from_inclusion_proof(2, 5, l2, &[l3, node(l0, l1)]),
        Some(root),
        "short"
    );
    assert_eq!(
        root_from_inclusion_proof(5, 5, l4, &[]),
        None,
        "index past the tree"
    );
    assert_eq!(root_from_inclusion_proof(0, 1, l0, &[]), Some(l0));
}

const NPM_IDENTITY: &str =
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The npm bundle verified keyless, as cosign would: the log entry gives the signing time,
/// the Fulcio certificate chains to Sigstore's CA and was valid then, its identity is the
/// sigstore-js release workflow, and its key signed the envelope.
#[test]
fn a_real_keyless_bundle_verifies_against_fulcio_and_an_identity() {
    use stella_attest::fulcio::{Authority, Identity, verify_certificate};
    let (a, logs) = npm();
    let root = std::fs::read(td("sigstore/trusted_root.json")).unwrap();
    let cas = Authority::from_trusted_root(&root).unwrap();
    let logged = verify_entry(&a.tlog_entries[0], &a.envelope, &logs).unwrap();
    let cert = a.certificate.clone().unwrap();
    let id = Identity {
        subject: NPM_IDENTITY.into(),
        issuer: GITHUB_ISSUER.into(),
    };
    let key = verify_certificate(&cert, &cas, logged.integrated_time, &id).unwrap();
    assert!(a.envelope.verify(&[key], 1).is_ok());

    let refused = |id: &Identity, at: i64, cas: &[Authority]| {
        verify_certificate(&cert, cas, at, id)
            .unwrap_err()
            .to_string()
    };
    let other = Identity {
        subject: "https://github.com/someone/else/.github/workflows/release.yml@refs/heads/main"
            .into(),
        issuer: GITHUB_ISSUER.into(),
    };
    assert!(refused(&other, logged.integrated_time, &cas).contains("issued to"));
    let other_issuer = Identity {
        subject: NPM_IDENTITY.into(),
        issuer: "https://accounts.google.com".into(),
    };
    assert!(refused(&other_issuer, logged.integrated_time, &cas).contains("vouched for by"));
    // ten minutes of validity: a day later it proves nothing
    assert!(refused(&id, logged.integrated_time + 86_400, &cas).contains("valid from"));
    assert!(refused(&id, logged.integrated_time, &[]).contains("certificate authority"));
    // only the 2021 root alone: not the intermediate that issued it
    assert!(refused(&id, logged.integrated_time, &cas[..1]).contains("certificate authority"));
    // a changed certificate no longer chains
    let mut bad = cert.clone();
    let n = bad.len() - 200;
    bad[n] ^= 1;
    let e = verify_certificate(&bad, &cas, logged.integrated_time, &id);
    assert!(e.is_err());
}
