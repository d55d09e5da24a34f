//! Kits built, verified and imported; every way a kit can be wrong is refused with the
//! reason, and the installed DB stays exactly as it was.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};

use stella_advisory::DbBuilder;
use stella_advisory::import::import;
use stella_attest::{Algorithm, SigningKey};
use stella_ouk::{Build, Error, build, import_db, verify};

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../stella-advisory/testdata")
        .join(p)
}

fn db(dir: &Path, name: &str, built: &str) -> PathBuf {
    let p = dir.join(name);
    let mut b = DbBuilder::new();
    import(&mut b, None, &[fixture("alpine")], built).unwrap();
    b.write(&p, built).unwrap();
    p
}

/// An unsigned JWT-shaped token expiring at `exp` (the kit checks `exp`; Core verifies).
fn jwt(exp: u64) -> String {
    use base64::Engine as _;
    let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.c2ln",
        e(r#"{"alg":"EdDSA"}"#),
        e(&format!(r#"{{"sub":"ci","exp":{exp}}}"#))
    )
}

fn kit(dir: &Path, db: &Path, key: &SigningKey, installation: Option<&str>, name: &str) -> PathBuf {
    let out = dir.join(name);
    build(
        &Build {
            db,
            tokens: vec![("ci".into(), jwt(4_000_000_000))],
            installation: installation.map(str::to_string),
            created: "2026-12-07T00:00:00Z".into(),
            now: 1_800_000_000,
            base: None,
        },
        key,
        &out,
    )
    .unwrap();
    out
}

#[test]
fn kits_verify_and_install_atomically() {
    let d = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let trusted = [key.public().clone()];
    let newer = db(d.path(), "newer.db", "2026-12-07T00:00:00Z");
    let k = kit(d.path(), &newer, &key, None, "kit.tar");
    let v = verify(&k, &trusted, None).unwrap();
    assert_eq!(v.manifest.db.built, "2026-12-07T00:00:00Z");
    assert!(v.manifest.db.feeds.contains_key("alpine-secdb") || !v.manifest.db.feeds.is_empty());
    assert_eq!(v.manifest.tokens[0].member, "tokens/ci.jwt");
    assert_eq!(v.key, key.public().key_id());
    assert_eq!(stella_ouk::tokens(&k, &v).unwrap()[0].1, jwt(4_000_000_000));

    let installed = d.path().join("site").join("stella.db");
    std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
    let r = import_db(&k, &trusted, &installed, None, false).unwrap();
    assert!(r.changed && r.replaced.is_none());
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(&newer).unwrap()
    );
    // the same kit again: nothing to do
    let r = import_db(&k, &trusted, &installed, None, false).unwrap();
    assert!(!r.changed);
    assert_eq!(leftovers(installed.parent().unwrap()), ["stella.db"]);
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn wrong_kits_are_refused_and_nothing_installed_changes() {
    let d = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let other = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let trusted = [key.public().clone()];
    let older = db(d.path(), "older.db", "2026-12-01T00:00:00Z");
    let newer = db(d.path(), "newer.db", "2026-12-07T00:00:00Z");
    let site = d.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    let installed = site.join("stella.db");
    std::fs::copy(&newer, &installed).unwrap();
    let before = std::fs::read(&installed).unwrap();

    let good = kit(d.path(), &newer, &key, None, "good.tar");
    let bytes = std::fs::read(&good).unwrap();
    let write = |name: &str, b: &[u8]| {
        let p = d.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    // a byte of the DB member flipped (the DB starts after the manifest's 512-byte header
    // and its padded contents)
    let mut flipped = bytes.clone();
    let at = bytes.len() / 2;
    flipped[at] ^= 0x40;
    let tampered = write("tampered.tar", &flipped);
    let truncated = write("truncated.tar", &bytes[..bytes.len() * 2 / 3]);
    let mut extra = bytes.clone();
    extra.truncate(extra.len() - 1024); // drop the end-of-archive blocks
    let mut ab = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(4);
    // written into the header by hand: the tar crate itself refuses to make such a name
    h.as_old_mut().name[..14].copy_from_slice(b"../../etc/evil");
    h.set_cksum();
    ab.append(&h, &b"evil"[..]).unwrap();
    extra.extend(ab.into_inner().unwrap());
    let smuggled = write("smuggled.tar", &extra);
    let foreign = kit(d.path(), &newer, &other, None, "foreign.tar");
    let elsewhere = kit(d.path(), &newer, &key, Some("site-b"), "elsewhere.tar");
    let old = kit(d.path(), &older, &key, None, "old.tar");
    let mut nonkit = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(2);
    h.set_cksum();
    nonkit.append_data(&mut h, "README", &b"hi"[..]).unwrap();
    let nonkit = write("nonkit.tar", &nonkit.into_inner().unwrap());
    let empty = write("empty.tar", b"");

    let cases: [(&str, &PathBuf, Option<&str>, &str); 8] = [
        (
            "a changed DB",
            &tampered,
            None,
            "changed after the kit was signed",
        ),
        ("a truncated kit", &truncated, None, "truncated"),
        ("an unlisted member", &smuggled, None, "does not list"),
        ("another key", &foreign, None, "do not trust"),
        (
            "another installation",
            &elsewhere,
            Some("site-a"),
            "for installation `site-b`",
        ),
        ("an older kit", &old, None, "older kit"),
        ("not a kit", &nonkit, None, "not a Stella offline kit"),
        ("an empty file", &empty, None, "empty"),
    ];
    for (what, k, installation, says) in cases {
        let e = import_db(k, &trusted, &installed, installation, false).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(says), "{what}: {msg}");
        assert_eq!(
            std::fs::read(&installed).unwrap(),
            before,
            "{what} changed the installed DB"
        );
        assert_eq!(leftovers(&site), ["stella.db"], "{what} left files behind");
        assert!(!Path::new("/etc/evil").exists());
    }
    // forced, the older kit installs (a deliberate rollback)
    let r = import_db(&old, &trusted, &installed, None, true).unwrap();
    assert!(r.changed);
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(&older).unwrap()
    );
    // the kit for site-b installs at site-b
    assert!(import_db(&elsewhere, &trusted, &installed, Some("site-b"), false).is_ok());
}

#[test]
fn expired_tokens_never_go_into_a_kit() {
    let d = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let newer = db(d.path(), "newer.db", "2026-12-07T00:00:00Z");
    for (name, token, says) in [
        ("ci", jwt(1_700_000_000), "expired"),
        ("ci", "not-a-jwt".to_string(), "not a JWT"),
        ("../x", jwt(4_000_000_000), "not a token name"),
    ] {
        let e = build(
            &Build {
                db: &newer,
                tokens: vec![(name.into(), token)],
                installation: None,
                created: "2026-12-07T00:00:00Z".into(),
                now: 1_800_000_000,
                base: None,
            },
            &key,
            &d.path().join("k.tar"),
        )
        .unwrap_err();
        assert!(matches!(e, Error::Kit { .. }));
        assert!(e.to_string().contains(says), "{e}");
    }
}

fn db_of(dir: &Path, name: &str, feeds: &[&str], built: &str) -> PathBuf {
    let p = dir.join(name);
    let mut b = DbBuilder::new();
    let paths: Vec<PathBuf> = feeds.iter().map(|f| fixture(f)).collect();
    import(&mut b, None, &paths, built).unwrap();
    b.write(&p, built).unwrap();
    p
}

#[test]
fn delta_kits_carry_only_what_changed_and_rebuild_the_exact_db() {
    let d = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let trusted = [key.public().clone()];
    let old = db_of(
        d.path(),
        "old.db",
        &["alpine", "debian"],
        "2026-12-06T00:00:00Z",
    );
    let new = db_of(
        d.path(),
        "new.db",
        &["alpine", "debian", "osv"],
        "2026-12-07T00:00:00Z",
    );
    let mk = |base: Option<&Path>, name: &str| {
        let out = d.path().join(name);
        build(
            &Build {
                db: &new,
                tokens: Vec::new(),
                installation: None,
                created: "2026-12-07T00:00:00Z".into(),
                now: 1_800_000_000,
                base,
            },
            &key,
            &out,
        )
        .unwrap();
        out
    };
    let full = mk(None, "full.tar");
    let delta = mk(Some(&old), "delta.tar");
    let v = verify(&delta, &trusted, None).unwrap();
    assert_eq!(
        v.manifest.delta.as_ref().unwrap().base_built,
        "2026-12-06T00:00:00Z"
    );
    // (how much smaller a delta is, is measured on real data by `bench/run ouk`)
    assert!(v.members.contains_key(stella_ouk::DELTA_MEMBER));
    assert!(!v.members.contains_key(stella_ouk::DB_MEMBER));
    assert!(
        verify(&full, &trusted, None)
            .unwrap()
            .manifest
            .delta
            .is_none()
    );
    let site = d.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    let installed = site.join("stella.db");
    std::fs::copy(&old, &installed).unwrap();
    let r = import_db(&delta, &trusted, &installed, None, false).unwrap();
    assert!(r.changed);
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(&new).unwrap(),
        "byte for byte"
    );
    assert_eq!(leftovers(&site), ["stella.db"]);
    // again: already there
    assert!(
        !import_db(&delta, &trusted, &installed, None, false)
            .unwrap()
            .changed
    );

    // on another base, or on nothing: refused, nothing changes
    let other = db_of(d.path(), "other.db", &["alpine"], "2026-12-05T00:00:00Z");
    std::fs::copy(&other, &installed).unwrap();
    let e = import_db(&delta, &trusted, &installed, None, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("applies to the DB built 2026-12-06"), "{e}");
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(&other).unwrap()
    );
    let e = import_db(&delta, &trusted, &site.join("none.db"), None, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("import a full kit"), "{e}");
    assert_eq!(leftovers(&site), ["stella.db"]);
}
