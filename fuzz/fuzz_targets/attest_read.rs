//! Evidence from outside on arbitrary bytes: attestations (DSSE envelopes, Sigstore bundles,
//! JSON lines), in-toto statements, X.509 certificates, Rekor entries, trusted roots, offline
//! kits and delta kits never panic, and nothing verifies that nobody signed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn key() -> &'static stella_attest::PublicKey {
    static K: OnceLock<stella_attest::PublicKey> = OnceLock::new();
    K.get_or_init(|| {
        stella_attest::SigningKey::generate(stella_attest::Algorithm::EcdsaP256)
            .expect("key")
            .public()
            .clone()
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(atts) = stella_attest::read_attestations(data) {
        for a in &atts {
            assert!(
                a.envelope.verify(std::slice::from_ref(key()), 1).is_err(),
                "an envelope nobody signed verified"
            );
            let _ = a.certificate_key();
            if let Ok(p) = a.envelope.payload_bytes() {
                let _ = stella_attest::Statement::parse(&p);
            }
            for e in &a.tlog_entries {
                let log = stella_attest::rekor::Log::from_key("fuzz", key().clone());
                assert!(stella_attest::rekor::verify_entry(e, &a.envelope, &[log]).is_err());
            }
        }
    }
    let _ = stella_attest::Statement::parse(data);
    let _ = stella_attest::Statement::predicate(data);
    let _ = stella_attest::PublicKey::from_spki_der(data);
    let _ = stella_attest::SigningKey::from_pkcs8_der(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = stella_attest::PublicKey::from_pem(text);
        let _ = stella_attest::SigningKey::from_pem(text);
    }
    if let Ok(c) = stella_attest::fulcio::Certificate::from_der(data) {
        let _ = c.public_key();
    }
    let _ = stella_attest::fulcio::Authority::from_trusted_root(data);
    let _ = stella_attest::rekor::Log::from_trusted_root(data);
    // a delta of arbitrary bytes over a small base rebuilds nothing it does not name
    let _ = stella_ouk::delta::apply(b"base", data);
    let _ = stella_ouk::delta::chunks(data);
    // an offline kit of arbitrary bytes: never trusted, never panics
    let dir = std::env::temp_dir().join(format!("stella-fuzz-kit-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_ok() {
        let kit = dir.join("kit.tar");
        if std::fs::write(&kit, data).is_ok() {
            assert!(stella_ouk::verify(&kit, std::slice::from_ref(key()), None).is_err());
        }
    }
});
