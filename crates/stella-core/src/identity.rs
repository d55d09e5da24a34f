//! The stored identity — signing keys, clients and users — as `stella token …` manages it on
//! a stopped Core's data directory (the store is locked while Core runs).

use std::path::{Path, PathBuf};

use stella_auth::{Directory, Kek, Keyring, Kind};

use crate::Error;

/// Where the keyring, the directory and the issuer live in the store.
pub(crate) const KEYRING_DOC: &str = "auth/keyring";
pub(crate) const DIRECTORY_DOC: &str = "auth/directory";
pub(crate) const ISSUER_DOC: &str = "auth/issuer";

/// A data directory's identity, opened for administration.
#[derive(Debug)]
pub struct Admin {
    store: stella_store::Store,
    kek: Kek,
    /// Signing keys.
    pub keys: Keyring,
    /// Clients and users.
    pub directory: Directory,
}

fn locked(data: &Path, e: stella_store::Error) -> Error {
    let m = e.to_string();
    if m.contains("already open") || m.contains("lock") {
        Error::Io(format!(
            "{}: the store is in use (is `stella serve` running on it?); stop Core first, or use its API as an admin (/api/v1/principals, /api/v1/keys/rotate, /api/v1/token/offline)",
            data.display()
        ))
    } else {
        Error::Store(e)
    }
}

impl Admin {
    /// Opens the identity of `data` (creating a keyring when there is none), or with
    /// `scaled`, the identity Core replicas share in PostgreSQL (while they run: they follow
    /// changes within a second).
    pub fn open(data: &Path, scaled: Option<&stella_store::ScaledOptions>) -> Result<Admin, Error> {
        let store = match scaled {
            Some(o) => stella_store::Store::scaled(o)?,
            None => stella_store::Store::open(data, 10_000).map_err(|e| locked(data, e))?,
        };
        let kek = resolve_kek(
            data,
            std::env::var_os("STELLA_KEK_FILE")
                .map(PathBuf::from)
                .as_deref(),
        )?;
        let (keys, directory) = load(&store, &kek)?;
        Ok(Admin {
            store,
            kek,
            keys,
            directory,
        })
    }

    /// Stores the keyring and directory, with an audit entry.
    pub fn save(&self, action: &str, detail: &str) -> Result<(), Error> {
        self.store
            .put_doc(KEYRING_DOC, &seal_keyring(&self.kek, &self.keys)?)?;
        self.store
            .put_doc(DIRECTORY_DOC, &self.directory.to_json())?;
        self.store.audit(
            None,
            &crate::Audit::of("stella token", action, detail).encode(),
        )?;
        Ok(())
    }

    /// The issuer Core last ran with (`iss` of the tokens it accepts).
    pub fn issuer(&self) -> Result<Option<String>, Error> {
        Ok(self
            .store
            .get_doc(ISSUER_DOC)?
            .and_then(|b| String::from_utf8(b).ok()))
    }

    /// Mints a token for a client or user of this directory.
    pub fn mint(
        &self,
        kind: Kind,
        name: &str,
        issuer: &str,
        lifetime_secs: u64,
    ) -> Result<(String, stella_auth::Claims), Error> {
        let p = self.directory.get(kind, name).ok_or_else(|| {
            Error::Io(format!(
                "no {} `{name}`; see `stella token list`",
                kind.as_str()
            ))
        })?;
        let claims = p.claims(issuer, crate::auth::now_secs(), lifetime_secs, None)?;
        let jwt = self.keys.sign(&claims)?;
        self.store.audit(
            None,
            &crate::audit_entry(
                "stella token",
                "token.offline",
                &format!("{} until {}", p.subject(), claims.exp),
            ),
        )?;
        Ok((jwt, claims))
    }
}

/// The key-encryption key the signing keys are sealed under: `--kek-file` (or
/// `STELLA_KEK_FILE`), else `STELLA_KEK` (the key itself), else `DATA/kek.key`, made on the
/// first start (readable by the owner only). Keep it apart from the store in production: a
/// copy of the store without it holds no key that can mint tokens.
pub fn resolve_kek(data: &Path, file: Option<&Path>) -> Result<Kek, Error> {
    let read = |p: &Path| -> Result<Kek, Error> {
        let text = std::fs::read_to_string(p).map_err(|e| {
            Error::Io(format!(
                "{}: cannot read the key-encryption key: {e}",
                p.display()
            ))
        })?;
        check_private(p)?;
        Kek::parse(&text).map_err(|e| Error::Io(format!("{}: {e}", p.display())))
    };
    if let Some(f) = file {
        return read(f);
    }
    if let Ok(v) = std::env::var("STELLA_KEK")
        && !v.trim().is_empty()
    {
        return Kek::parse(&v).map_err(|e| Error::Io(format!("STELLA_KEK: {e}")));
    }
    let path = data.join("kek.key");
    if path.exists() {
        return read(&path);
    }
    let k = Kek::generate()?;
    write_private(&path, &k.encode())
        .map_err(|e| Error::Io(format!("{}: cannot write: {e}", path.display())))?;
    Ok(k)
}

/// Refuses a secret file that others may read.
fn check_private(p: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(p)
            .map_err(|e| Error::Io(format!("{}: {e}", p.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::Io(format!(
                "{}: other users may read this key (mode {:o}); run `chmod 600 {}`",
                p.display(),
                mode & 0o777,
                p.display()
            )));
        }
    }
    Ok(())
}

/// The keyring as stored: sealed under the KEK.
pub(crate) fn seal_keyring(kek: &Kek, keys: &Keyring) -> Result<Vec<u8>, Error> {
    Ok(kek.seal(KEYRING_DOC, &keys.to_json())?)
}

/// A stored keyring (sealed, or in the clear as versions before 2026-12 kept it).
fn open_keyring(kek: &Kek, stored: &[u8]) -> Result<(Keyring, bool), Error> {
    if Kek::is_sealed(stored) {
        Ok((Keyring::from_json(&kek.open(KEYRING_DOC, stored)?)?, false))
    } else {
        Ok((Keyring::from_json(stored)?, true))
    }
}

pub(crate) fn load(store: &stella_store::Store, kek: &Kek) -> Result<(Keyring, Directory), Error> {
    let (keys, dir) = load_stored(store, kek)?;
    Ok((keys, dir.unwrap_or_default()))
}

/// The keyring (created when there is none) and the stored directory, if one is stored.
fn load_stored(
    store: &stella_store::Store,
    kek: &Kek,
) -> Result<(Keyring, Option<Directory>), Error> {
    let keys = match store.get_doc(KEYRING_DOC)? {
        Some(b) => {
            let (keys, clear) = open_keyring(kek, &b)?;
            if clear {
                // kept in the clear by an earlier version: sealed from now on
                store.put_doc(KEYRING_DOC, &seal_keyring(kek, &keys)?)?;
            }
            keys
        }
        None => {
            let k = Keyring::generate(crate::auth::now_secs())?;
            // replicas starting together: the keyring stored first is everyone's
            if store.create_doc(KEYRING_DOC, &seal_keyring(kek, &k)?)? {
                k
            } else {
                let b = store
                    .get_doc(KEYRING_DOC)?
                    .ok_or_else(|| Error::Io("the stored keyring vanished".into()))?;
                open_keyring(kek, &b)?.0
            }
        }
    };
    let dir = match store.get_doc(DIRECTORY_DOC)? {
        Some(b) => Some(Directory::from_json(&b)?),
        None => None,
    };
    Ok((keys, dir))
}

/// The keyring and client directory from the store, created on the first start: a new
/// signing key and, when nobody may log in yet, an `admin` client whose secret is written to
/// `DATA/admin.secret` (readable by the owner only). Records the issuer for `stella token`.
pub(crate) fn load_identity(
    store: &stella_store::Store,
    kek: &Kek,
    data: &Path,
    issuer: &str,
) -> Result<(Keyring, Directory, Option<PathBuf>), Error> {
    let (keys, stored_dir) = load_stored(store, kek)?;
    // whether a directory is stored comes from the same read as the directory: read again
    // later, another replica's first admin created in between looked like "every principal
    // was removed", and was overwritten by a second admin
    let stored = stored_dir.is_some();
    let mut dir = stored_dir.unwrap_or_default();
    // a worker (no issuer) leaves the replicas' issuer as it is
    if !issuer.is_empty() {
        store.put_doc(ISSUER_DOC, issuer.as_bytes())?;
    }
    let mut bootstrap = None;
    // a worker never creates the first admin: it could tell nobody its secret
    if dir.is_empty() && !issuer.is_empty() {
        let secret = dir.add(
            Kind::Client,
            "admin",
            None,
            &["admin".to_string()],
            "Free",
            333,
            crate::auth::now_secs(),
        )?;
        let path = data.join("admin.secret");
        write_private(&path, &secret)
            .map_err(|e| Error::Io(format!("{}: cannot write: {e}", path.display())))?;
        let first = if stored {
            // every principal was removed: a new admin, so someone can log in again
            store.put_doc(DIRECTORY_DOC, &dir.to_json())?;
            true
        } else {
            store.create_doc(DIRECTORY_DOC, &dir.to_json())?
        };
        if first {
            store.audit(
                None,
                &crate::audit_entry("stella", "client.add", "client:admin (first start)"),
            )?;
            bootstrap = Some(path);
        } else {
            // another replica created the first admin at the same time: its secret is the one
            let _ = std::fs::remove_file(&path);
            dir = load(store, kek)?.1;
        }
    }
    Ok((keys, dir, bootstrap))
}

/// Writes a secret readable by the owner only.
fn write_private(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(secret.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stella_store::servers::{PostgresServer, RedisServer, available};

    #[test]
    fn replicas_starting_together_agree_on_one_keyring_and_one_admin() {
        if !available("replicas_starting_together_agree_on_one_keyring_and_one_admin") {
            return;
        }
        let redis = RedisServer::start().unwrap();
        let pg = PostgresServer::start().unwrap();
        let o = stella_store::ScaledOptions::new(&redis.url(), &pg.url(), 10);
        // a worker (no issuer) starting first creates nobody: it could tell no one the secret
        let w = tempfile::tempdir().unwrap();
        let store = stella_store::Store::scaled(&o).unwrap();
        let kek = Kek::generate().unwrap();
        let (_, dir, boot) = load_identity(&store, &kek, w.path(), "").unwrap();
        assert!(boot.is_none() && dir.is_empty());
        let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
        let started: Vec<_> = std::thread::scope(|s| {
            let hs: Vec<_> = dirs
                .iter()
                .map(|d| {
                    let o = o.clone();
                    let kek = kek.clone();
                    s.spawn(move || {
                        let store = stella_store::Store::scaled(&o).unwrap();
                        let (keys, dir, boot) =
                            load_identity(&store, &kek, d.path(), "http://stella.test").unwrap();
                        (keys.jwks(), dir.to_json(), boot)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(started.iter().all(|s| s.0 == started[0].0), "one keyring");
        assert!(started.iter().all(|s| s.1 == started[0].1), "one directory");
        let boots: Vec<_> = started.iter().filter_map(|s| s.2.clone()).collect();
        assert_eq!(boots.len(), 1, "one replica created the admin: {boots:?}");
        let files = dirs
            .iter()
            .filter(|d| d.path().join("admin.secret").exists())
            .count();
        assert_eq!(files, 1, "and only it holds a secret file");
        // the keyring is sealed: PostgreSQL's readers see no seed
        let stored = store.get_doc(KEYRING_DOC).unwrap().unwrap();
        assert!(Kek::is_sealed(&stored));
        let keys = load(&store, &kek).unwrap().0;
        assert!(
            !String::from_utf8_lossy(&stored)
                .contains(&String::from_utf8_lossy(&keys.to_json())[..40])
        );
        // a replica with another KEK is told which one the keyring needs
        let e = load(&store, &Kek::generate().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("STELLA_KEK"), "{e}");
    }

    #[test]
    fn signing_keys_are_sealed_at_rest_and_clear_ones_sealed_on_start() {
        let d = tempfile::tempdir().unwrap();
        let store = stella_store::Store::open(d.path(), 10).unwrap();
        // a keyring an earlier version stored in the clear
        let clear = Keyring::generate(1).unwrap();
        store.put_doc(KEYRING_DOC, &clear.to_json()).unwrap();
        let kek = resolve_kek(d.path(), None).unwrap();
        let (keys, _, _) = load_identity(&store, &kek, d.path(), "http://x").unwrap();
        assert_eq!(keys.jwks(), clear.jwks(), "the same keys");
        let stored = store.get_doc(KEYRING_DOC).unwrap().unwrap();
        assert!(Kek::is_sealed(&stored), "sealed from now on");
        let seed_json = String::from_utf8(clear.to_json()).unwrap();
        assert!(!String::from_utf8_lossy(&stored).contains(&seed_json[seed_json.len() / 2..]));
        // the default KEK is a private file, read again on the next start
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(d.path().join("kek.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
        assert_eq!(
            resolve_kek(d.path(), None).unwrap().fingerprint(),
            kek.fingerprint()
        );
        // a KEK file others may read is refused
        let f = d.path().join("open.key");
        std::fs::write(&f, Kek::generate().unwrap().encode()).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = resolve_kek(d.path(), Some(&f)).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
    }
}
