//! Bearer tokens and stored identity on arbitrary bytes: JWT verification, the keyring and
//! client directory readers, and layer fragments as Core receives them never panic, and no
//! forged token verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn keyring() -> &'static stella_auth::Keyring {
    static K: OnceLock<stella_auth::Keyring> = OnceLock::new();
    K.get_or_init(|| stella_auth::Keyring::generate(1_800_000_000).expect("keys"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(
            keyring()
                .verify(text, "https://core.example", 1_800_000_000)
                .is_err(),
            "a token nobody signed verified"
        );
    }
    let _ = stella_auth::Keyring::from_json(data);
    let _ = stella_auth::Directory::from_json(data);
    let _ = serde_json::from_slice::<stella_catalog::Fragment>(data);
});
